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

/// Replaces control characters (newlines included) with spaces.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
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
        assert_eq!(list(["a", "b"]), "a, b");
        assert_eq!(
            rfc3339(OffsetDateTime::from_unix_timestamp(0).unwrap()),
            "1970-01-01T00:00:00Z"
        );
    }
}
