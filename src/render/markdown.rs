//! Markdown for GitHub job summaries and pull-request comments: the verdict, the path as a
//! Mermaid flowchart (each hop's status written in its label and drawn in its own shape, not
//! told by colour alone) and the findings table. Every name from AWS is untrusted: Mermaid
//! labels take entity codes, table cells escape HTML and the cell separator.

use std::fmt::Write as _;

use crate::domain::evaluation::Evaluation;
use crate::domain::path::{Direction, HopStatus, PathHop};

/// A Mermaid label: entity codes for what would end the label or start markup.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '#' => out.push_str("#35;"),
            '`' => out.push_str("#96;"),
            '|' => out.push_str("#124;"),
            '[' | ']' | '{' | '}' | '(' | ')' => {
                let _ = write!(out, "#{};", u32::from(c));
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown table cell: HTML escaped, the separator and line breaks neutralised.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The node of one hop: its shape tells the status as its label does.
fn node(id: usize, hop: &PathHop) -> String {
    let mut label = hop.label.to_string();
    if hop.direction == Direction::Outbound {
        label.push_str(" (out)");
    }
    let mut text = mermaid_text(&label);
    if let Some(c) = &hop.component {
        let _ = write!(text, "<br/>{}", mermaid_text(c));
    }
    let _ = write!(text, "<br/>{}", hop.status.label().to_uppercase());
    if let Some(rule) = hop.finding {
        let _ = write!(text, "<br/>{}", mermaid_text(rule));
    }
    let (open, close, class) = match hop.status {
        HopStatus::Open => ("[\"", "\"]", "open"),
        HopStatus::Blocked => ("{{\"", "\"}}", "blocked"),
        HopStatus::Unknown => ("([\"", "\"])", "unknown"),
        HopStatus::NotApplicable => ("[/\"", "\"/]", "na"),
    };
    format!("  h{id}{open}{text}{close}:::{class}")
}

/// The Mermaid flowchart of a path, left to right.
pub fn mermaid(path: &[PathHop]) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, hop) in path.iter().enumerate() {
        out.push_str(&node(i, hop));
        out.push('\n');
    }
    for i in 1..path.len() {
        let _ = writeln!(out, "  h{} --> h{i}", i - 1);
    }
    out.push_str(
        "  classDef open fill:#e8f5e9,stroke:#1b5e20\n  \
         classDef blocked fill:#ffebee,stroke:#b71c1c,stroke-width:3px\n  \
         classDef unknown fill:#fff8e1,stroke:#8d6e00,stroke-dasharray:4 3\n  \
         classDef na fill:#f5f5f5,stroke:#757575\n",
    );
    out
}

/// The findings of an Evaluation as a Markdown table (empty when there are none).
pub fn findings_table(e: &Evaluation) -> String {
    if e.findings.is_empty() {
        return String::new();
    }
    let mut out = String::from("| Severity | Rule | What and why | Fix |\n|---|---|---|---|\n");
    for f in &e.findings {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} |",
            f.severity.as_str(),
            f.rule,
            cell(&f.message),
            cell(&f.remediation)
        );
    }
    out
}

/// What the Evaluation is about, in a heading's words.
pub fn subject(e: &Evaluation) -> String {
    let ctx = e.context.as_ref();
    let service = ctx.and_then(|c| c.service.as_deref());
    let cluster = ctx.and_then(|c| c.cluster.as_deref());
    match (service, cluster) {
        (Some(s), Some(c)) => format!("service {s} in {c}"),
        (None, Some(c)) => format!("a task in {c}"),
        _ => e.resource_id.clone(),
    }
}

/// One Evaluation as Markdown: the verdict, the path and the findings.
pub fn evaluation(e: &Evaluation) -> String {
    let mut out = format!(
        "### ecs-inbound-guard: {} — {}\n\n{}\n\n",
        e.compliance.as_str(),
        cell(&subject(e)),
        cell(&e.annotation)
    );
    let _ = writeln!(out, "Resource: {}\n", cell(&e.resource_id));
    if !e.path.is_empty() {
        let _ = write!(out, "```mermaid\n{}```\n\n", mermaid(&e.path));
    }
    out.push_str(&findings_table(e));
    out
}

/// An audit as Markdown: the summary table, then each service's worst task with its path.
pub fn audit(report: &crate::domain::audit::AuditReport) -> String {
    let s = &report.summary;
    let mut out = format!(
        "## ecs-inbound-guard audit\n\n{} tasks: {} non-compliant, {} insufficient data, {} compliant, {} not applicable\n\n\
         | Cluster | Service | Launch type | Tasks | Compliance | Rules |\n|---|---|---|---|---|---|\n",
        s.tasks, s.non_compliant, s.insufficient_data, s.compliant, s.not_applicable
    );
    for svc in &report.services {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&svc.cluster),
            cell(&svc.service),
            cell(&svc.launch_type),
            svc.tasks,
            svc.compliance.as_str(),
            cell(&svc.rules.join(", "))
        );
    }
    for svc in &report.services {
        if let Some(e) = report.worst_of(svc) {
            out.push('\n');
            out.push_str(&evaluation(e));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hop::Hop;

    fn hop(hop: Hop, component: &str, status: HopStatus, finding: Option<&'static str>) -> PathHop {
        PathHop {
            hop,
            label: hop.label(),
            component: Some(component.into()),
            direction: Direction::Inbound,
            status,
            finding,
        }
    }

    #[test]
    fn the_chart_draws_every_hop_with_its_status_in_words_and_shape() {
        let path = vec![
            hop(Hop::Internet, "0.0.0.0/0", HopStatus::Open, None),
            hop(
                Hop::PublicIp,
                "203.0.113.10",
                HopStatus::Blocked,
                Some("AWSVPC_EC2_PUBLIC_NO_INBOUND"),
            ),
            hop(Hop::TaskSecurityGroups, "sg-1", HopStatus::Unknown, None),
            hop(Hop::TaskEni, "eni-1", HopStatus::NotApplicable, None),
        ];
        let chart = mermaid(&path);
        assert!(chart.starts_with("flowchart LR\n"), "{chart}");
        assert!(
            chart.contains("h0[\"Internet<br/>0.0.0.0/0<br/>OPEN\"]:::open"),
            "{chart}"
        );
        assert!(
            chart.contains("h1{{\"Public IP<br/>203.0.113.10<br/>BLOCKED<br/>AWSVPC_EC2_PUBLIC_NO_INBOUND\"}}:::blocked"),
            "{chart}"
        );
        assert!(chart.contains("h2([\""), "unknown is a stadium: {chart}");
        assert!(
            chart.contains("h3[/\""),
            "not applicable is a slant: {chart}"
        );
        assert!(
            chart.contains("h0 --> h1\n  h1 --> h2\n  h2 --> h3\n"),
            "{chart}"
        );
    }

    #[test]
    fn names_from_aws_cannot_break_out_of_a_label_or_a_cell() {
        let hostile = "web\"] --> x[\"<script>|`#`";
        let label = mermaid_text(hostile);
        for bad in ['"', '<', '>', '[', ']', '`', '|'] {
            assert!(!label.contains(bad), "{bad} left in {label}");
        }
        let c = cell("a | b <img src=x> *bold* `code`\nnext");
        assert_eq!(
            c,
            "a &#124; b &lt;img src=x&gt; \\*bold\\* &#96;code&#96; next"
        );
    }
}
