//! One self-contained HTML file: a summary table and, per task or service, its path drawn left
//! to right in inline SVG, each hop marked open, blocked, unknown or not applicable in words and
//! in shape (a blocked hop has a thick solid border and a cross, an unknown one a dashed border),
//! with the blocking finding and its fix beside it. Nothing is fetched (no script, no external
//! style, font or image; a Content-Security-Policy of `default-src 'none'` says so): it works
//! offline and as an e-mail attachment. Every name from AWS is escaped.

use std::fmt::Write as _;

use crate::domain::audit::AuditReport;
use crate::domain::evaluation::Evaluation;
use crate::domain::path::{Direction, HopStatus, PathHop};
use crate::render::markdown::subject;

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The first `max` characters, with an ellipsis when cut (the full text is in the tooltip).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1a1a1a}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}
.status-NON_COMPLIANT{font-weight:bold}.path{overflow-x:auto}
svg text{font:12px system-ui,sans-serif}
.hop rect{fill:#fff;stroke:#555;stroke-width:1.5}
.hop.open rect{fill:#e8f5e9;stroke:#1b5e20}
.hop.blocked rect{fill:#ffebee;stroke:#b71c1c;stroke-width:4}
.hop.unknown rect{fill:#fff8e1;stroke:#8d6e00;stroke-dasharray:6 4}
.hop.na rect{fill:#f5f5f5;stroke:#9e9e9e;stroke-dasharray:2 3}
.hop .state{font-weight:bold}
svg text.rule{font-size:10px}
.arrow{stroke:#555;stroke-width:1.5;fill:none}
.path svg{max-width:100%;height:auto}
";

const BOX_W: usize = 204;
const BOX_H: usize = 84;
const GAP: usize = 34;

fn status_class(s: HopStatus) -> &'static str {
    match s {
        HopStatus::Open => "open",
        HopStatus::Blocked => "blocked",
        HopStatus::Unknown => "unknown",
        HopStatus::NotApplicable => "na",
    }
}

/// One hop as an SVG group: box, label, component, status (with a cross when blocked), rule.
fn hop_svg(out: &mut String, i: usize, hop: &PathHop) {
    let x = 10 + i * (BOX_W + GAP);
    let class = status_class(hop.status);
    let mut title = format!("{}: {}", hop.label, hop.status.label());
    if let Some(c) = &hop.component {
        let _ = write!(title, " ({c})");
    }
    let _ = write!(
        out,
        "<g class=\"hop {class}\" data-hop=\"{}\" data-status=\"{}\"><title>{}</title>\
         <rect x=\"{x}\" y=\"10\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\"/>",
        escape(&format!("{:?}", hop.hop)),
        hop.status.label(),
        escape(&title)
    );
    let tx = x + 8;
    let mut label = hop.label.to_string();
    if hop.direction == Direction::Outbound {
        label.push_str(" (out)");
    }
    let lines = [
        Some((escape(&clip(&label, 28)), "")),
        hop.component.as_ref().map(|c| (escape(&clip(c, 28)), "")),
        Some((
            format!(
                "{}{}",
                if hop.status == HopStatus::Blocked {
                    "✕ "
                } else {
                    ""
                },
                hop.status.label().to_uppercase()
            ),
            " class=\"state\"",
        )),
        hop.finding
            .map(|r| (escape(&clip(r, 32)), " class=\"rule\"")),
    ];
    for (n, (text, attr)) in lines.into_iter().flatten().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{tx}\" y=\"{}\"{attr}>{text}</text>",
            30 + n * 17
        );
    }
    out.push_str("</g>");
    if i > 0 {
        let (from, to) = (x - GAP + 2, x - 4);
        let y = 10 + BOX_H / 2;
        let _ = write!(
            out,
            "<path class=\"arrow\" d=\"M{from} {y} L{to} {y} M{} {} L{to} {y} L{} {}\"/>",
            to - 6,
            y - 5,
            to - 6,
            y + 5
        );
    }
}

/// The path as an inline SVG drawing, left to right.
pub fn path_svg(path: &[PathHop]) -> String {
    let width = 20 + path.len() * (BOX_W + GAP);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"network path\" \
         width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\">",
        BOX_H + 20,
        BOX_H + 20
    );
    for (i, hop) in path.iter().enumerate() {
        hop_svg(&mut out, i, hop);
    }
    out.push_str("</svg>");
    out
}

/// One Evaluation's section: heading, verdict, path, findings with their fixes.
fn section(out: &mut String, e: &Evaluation) {
    let _ = write!(
        out,
        "<section class=\"evaluation\"><h2>{} — <span class=\"status-{}\">{}</span></h2><p>{}</p>",
        escape(&subject(e)),
        e.compliance.as_str(),
        e.compliance.as_str(),
        escape(&e.annotation)
    );
    if !e.path.is_empty() {
        let _ = write!(out, "<div class=\"path\">{}</div>", path_svg(&e.path));
    }
    if !e.findings.is_empty() {
        out.push_str("<table class=\"findings\"><tr><th>Severity</th><th>Rule</th><th>What and why</th><th>Fix</th></tr>");
        for f in &e.findings {
            let _ = write!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                f.severity.as_str(),
                escape(f.rule),
                escape(&f.message),
                escape(&f.remediation)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>{body}</body></html>\n",
        escape(title),
        escape(title)
    )
}

/// One check's verdict as an HTML page.
pub fn evaluation_page(e: &Evaluation) -> String {
    let mut body = String::new();
    section(&mut body, e);
    document(&format!("ecs-inbound-guard: {}", subject(e)), &body)
}

/// An audit as an HTML page: the summary table, then each service's worst task with its path.
pub fn audit_page(report: &AuditReport) -> String {
    let mut body = format!(
        "<p>{} tasks: {} non-compliant, {} insufficient data, {} compliant, {} not applicable</p>\
         <table class=\"summary\"><tr><th>Cluster</th><th>Service</th><th>Launch type</th><th>Tasks</th><th>Compliance</th><th>Rules</th></tr>",
        report.summary.tasks,
        report.summary.non_compliant,
        report.summary.insufficient_data,
        report.summary.compliant,
        report.summary.not_applicable
    );
    for s in &report.services {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"status-{}\">{}</td><td>{}</td></tr>",
            escape(&s.cluster),
            escape(&s.service),
            escape(&s.launch_type),
            s.tasks,
            s.compliance.as_str(),
            s.compliance.as_str(),
            escape(&s.rules.join(", "))
        );
    }
    body.push_str("</table>");
    for s in &report.services {
        if let Some(e) = report.worst_of(s) {
            section(&mut body, e);
        }
    }
    document("ecs-inbound-guard audit", &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hop::Hop;
    use crate::domain::verdict::Status;

    #[test]
    fn names_from_aws_are_escaped_everywhere() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        let hop = PathHop {
            hop: Hop::TaskSecurityGroups,
            label: Hop::TaskSecurityGroups.label(),
            component: Some("sg-1\"><script>x</script>".into()),
            direction: Direction::Inbound,
            status: HopStatus::Blocked,
            finding: Some("SG_BLOCKS_LB_TRAFFIC"),
        };
        let svg = path_svg(&[hop]);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("data-status=\"blocked\""), "{svg}");
        assert!(
            svg.contains("✕ BLOCKED"),
            "the state is written, not only coloured: {svg}"
        );
    }

    #[test]
    fn a_page_fetches_nothing_and_runs_nothing() {
        let e = crate::render::sample_evaluation(Status::NonCompliant, Some("web"), "prod");
        let page = evaluation_page(&e);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("default-src 'none'"));
        for banned in ["<script", "src=", "href=", "@import", "url("] {
            assert!(!page.contains(banned), "{banned} in the page");
        }
        assert!(clip("abcdefghij", 5).ends_with('…'));
    }
}
