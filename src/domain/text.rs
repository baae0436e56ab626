//! Text primitives shared by the verdict and its renderers: cutting at a character boundary,
//! one-line text, list joining and the RFC 3339 timestamp spelling.

use time::OffsetDateTime;

/// The first `max` characters of `s` (never splits a UTF-8 character).
pub fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `s` cut to `max` characters, ending in "..." when cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}...", truncate_chars(s, max.saturating_sub(3)))
    }
}

/// Replaces what could break a line or reorder its text with spaces: control characters
/// (newlines included), the Unicode line and paragraph separators (U+2028, U+2029, which mail
/// and chat clients render as line breaks) and the bidirectional embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069), which could make a name read backwards.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if breaks_the_line(c) { ' ' } else { c })
        .collect()
}

fn breaks_the_line(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Joins items with ", " for a message.
pub fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The RFC 3339 spelling of a time given by the caller (the domain reads no clock).
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("ab", 5), "ab");
        assert_eq!(ellipsize("abcdef", 5), "ab...");
        assert_eq!(ellipsize("abc", 5), "abc");
        assert_eq!(one_line("a\nb\tc"), "a b c");
        assert_eq!(
            one_line("web\u{2028}[HIGH] x\u{2029}y \u{202E}lanigiro\u{2066}z\u{2069}"),
            "web [HIGH] x y  lanigiro z "
        );
        assert_eq!(list(["a", "b"]), "a, b");
        assert_eq!(
            rfc3339(OffsetDateTime::from_unix_timestamp(0).unwrap()),
            "1970-01-01T00:00:00Z"
        );
    }
}
