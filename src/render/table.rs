//! The audit table for humans: one line per service, the worst status coloured on a terminal.

use std::io::{self, Write};

use crate::domain::audit::AuditReport;
use crate::domain::verdict::Status;

/// Writes the audit as a table, coloured when `color` (ANSI), to `out`.
pub fn write_table(report: &AuditReport, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let paint = |s: Status| -> String {
        let text = s.as_str();
        if !color {
            return text.to_string();
        }
        let code = match s {
            Status::NonCompliant => "31",
            Status::InsufficientData => "33",
            Status::Compliant => "32",
            Status::NotApplicable => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let cw = report
        .services
        .iter()
        .map(|s| s.cluster.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let sw = report
        .services
        .iter()
        .map(|s| s.service.len())
        .max()
        .unwrap_or(0)
        .max(7);
    writeln!(
        out,
        "{:<cw$}  {:<sw$}  {:<17}  {:>5}  {:<17}  RULES",
        "CLUSTER", "SERVICE", "LAUNCH TYPE", "TASKS", "COMPLIANCE"
    )?;
    for s in &report.services {
        let pad = 17usize.saturating_sub(s.compliance.as_str().len());
        writeln!(
            out,
            "{:<cw$}  {:<sw$}  {:<17}  {:>5}  {}{}  {}",
            s.cluster,
            s.service,
            s.launch_type,
            s.tasks,
            paint(s.compliance),
            " ".repeat(pad),
            if s.rules.is_empty() {
                "-".to_string()
            } else {
                s.rules.join(", ")
            }
        )?;
    }
    let m = &report.summary;
    writeln!(
        out,
        "\n{} tasks: {} non-compliant, {} insufficient data, {} compliant, {} not applicable",
        m.tasks, m.non_compliant, m.insufficient_data, m.compliant, m.not_applicable
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::tests::e;
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;

    #[test]
    fn table_goes_to_the_writer_with_optional_colour() {
        let r = AuditReport::new(vec![e(Some("web"), Status::NonCompliant)]);
        let mut plain = Vec::new();
        write_table(&r, &mut plain, false).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert!(
            plain.contains("prod")
                && plain.contains("web")
                && plain.contains("NON_COMPLIANT")
                && plain.contains(RULE.id)
        );
        assert!(!plain.contains('\x1b'));
        let mut colored = Vec::new();
        write_table(&r, &mut colored, true).unwrap();
        assert!(String::from_utf8(colored)
            .unwrap()
            .contains("\x1b[31mNON_COMPLIANT"));
    }
}
