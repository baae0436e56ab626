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
    // Account and region columns when the audit spans accounts (the tasks' ARNs name them).
    let scoped = report.services.iter().any(|s| s.account.is_some());
    let width = |f: fn(&crate::domain::audit::ServiceSummary) -> usize, min: usize| {
        report.services.iter().map(f).max().unwrap_or(0).max(min)
    };
    let cw = width(|s| s.cluster.len(), 7);
    let sw = width(|s| s.service.len(), 7);
    let rw = width(|s| s.region.as_deref().map_or(1, str::len), 6);
    if scoped {
        write!(out, "{:<12}  {:<rw$}  ", "ACCOUNT", "REGION")?;
    }
    writeln!(
        out,
        "{:<cw$}  {:<sw$}  {:<17}  {:>5}  {:<17}  RULES",
        "CLUSTER", "SERVICE", "LAUNCH TYPE", "TASKS", "COMPLIANCE"
    )?;
    for s in &report.services {
        if scoped {
            write!(
                out,
                "{:<12}  {:<rw$}  ",
                s.account.as_deref().unwrap_or("-"),
                s.region.as_deref().unwrap_or("-")
            )?;
        }
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
