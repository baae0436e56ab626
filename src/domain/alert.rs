//! The SNS alert for a NON_COMPLIANT evaluation: subject, e-mail-readable body, attributes.

use super::evaluation::Evaluation;
use super::event::truncate_chars;
use super::rules::{Severity, Status};

/// SNS's subject limit is 100 characters; we stay below it.
pub const MAX_SUBJECT_CHARS: usize = 99;

/// A message attribute for SNS subscription filter policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    /// Attribute name.
    pub name: &'static str,
    /// `String` or `String.Array`.
    pub data_type: &'static str,
    /// Value (a JSON array for `String.Array`).
    pub value: String,
}

/// A ready-to-publish alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// One line, < 100 characters, no control characters.
    pub subject: String,
    /// Plain text body.
    pub body: String,
    /// Filter-policy attributes: `rule`, `severity`, `cluster`, `service`.
    pub attributes: Vec<MessageAttribute>,
}

/// Replaces control characters (newlines included) with spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The alert for an evaluation, or `None` when nothing should be published
/// (only NON_COMPLIANT evaluations alert; CHECK_INCOMPLETE never does).
pub fn alert_for(evaluation: &Evaluation) -> Option<Alert> {
    if evaluation.compliance != Status::NonCompliant {
        return None;
    }
    let findings: Vec<_> = evaluation.published_findings(Severity::Info).collect();
    if findings.is_empty() {
        return None;
    }
    let ctx = evaluation.context.clone().unwrap_or_default();
    let task_id = evaluation
        .resource_id
        .rsplit('/')
        .next()
        .unwrap_or(&evaluation.resource_id);
    let what = ctx
        .service
        .clone()
        .unwrap_or_else(|| format!("task {task_id}"));
    let cluster = ctx
        .cluster
        .clone()
        .unwrap_or_else(|| "unknown cluster".into());
    let subject = truncate_chars(
        &one_line(&format!("ECS task unreachable: {what} in {cluster}")),
        MAX_SUBJECT_CHARS,
    );

    let mut body = String::new();
    body.push_str(&format!(
        "ecs-inbound-guard: an ECS task has no valid inbound path ({}).\n\n",
        evaluation.compliance.as_str()
    ));
    for f in &findings {
        body.push_str(&format!("[{}] {}\n", f.severity.as_str(), f.rule));
        body.push_str(&format!("What and why: {}\n", f.message));
        body.push_str(&format!("How to fix:   {}\n\n", f.remediation));
    }
    body.push_str("Resources\n");
    let rows: [(&str, Option<String>); 12] = [
        ("Task ARN", Some(evaluation.resource_id.clone())),
        ("Cluster", ctx.cluster.clone()),
        ("Service", ctx.service.clone()),
        ("Task definition", ctx.task_definition.clone()),
        ("Started by", ctx.started_by.clone()),
        ("ENI", ctx.eni.clone()),
        ("Subnet", ctx.subnet.clone()),
        ("Route table", ctx.route_table.clone()),
        ("VPC", ctx.vpc.clone()),
        ("Private IP", ctx.private_ip.clone()),
        ("Host instance", ctx.host_instance_id.clone()),
        ("Host public IP", ctx.host_public_ip.clone()),
    ];
    for (label, value) in rows {
        if let Some(v) = value {
            body.push_str(&format!("  {label:<16} {}\n", one_line(&v)));
        }
    }
    if let Some(id) = &evaluation.event_id {
        body.push_str(&format!("  {:<16} {}\n", "Event id", one_line(id)));
    }
    body.push_str(&format!(
        "  {:<16} {}\n",
        "Evaluated at", evaluation.evaluated_at
    ));

    let mut rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .min()
        .unwrap_or(Severity::Info);
    let mut attributes = vec![
        MessageAttribute {
            name: "rule",
            data_type: "String.Array",
            value: serde_json::to_string(&rules).unwrap_or_else(|_| "[]".into()),
        },
        MessageAttribute {
            name: "severity",
            data_type: "String",
            value: worst.as_str().to_string(),
        },
    ];
    for (name, value) in [("cluster", ctx.cluster), ("service", ctx.service)] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            attributes.push(MessageAttribute {
                name,
                data_type: "String",
                value: v,
            });
        }
    }
    Some(Alert {
        subject,
        body,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluation::{AlertState, TaskContext};
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;

    fn evaluation(compliance: Status, service: Option<&str>, cluster: &str) -> Evaluation {
        Evaluation {
            resource_type: "AWS::ECS::Task",
            resource_id: "arn:aws:ecs:us-east-1:1:task/prod/abc".into(),
            compliance,
            annotation: String::new(),
            evaluated_at: "2025-01-01T00:00:00Z".into(),
            event_id: Some("ev".into()),
            findings: vec![RULE.finding("curl fails".into())],
            alert: AlertState::default(),
            context: Some(TaskContext {
                cluster: Some(cluster.into()),
                service: service.map(Into::into),
                eni: Some("eni-1".into()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn only_non_compliant_alerts() {
        for s in [
            Status::Compliant,
            Status::NotApplicable,
            Status::InsufficientData,
        ] {
            assert!(
                alert_for(&evaluation(s, Some("web"), "prod")).is_none(),
                "{s:?}"
            );
        }
        assert!(alert_for(&evaluation(Status::NonCompliant, Some("web"), "prod")).is_some());
    }

    #[test]
    fn subject_is_one_short_line() {
        let long = format!("clu\nster{}", "x".repeat(200));
        let a = alert_for(&evaluation(Status::NonCompliant, Some("web"), &long)).unwrap();
        assert!(a.subject.chars().count() < 100);
        assert!(!a.subject.chars().any(char::is_control));
        assert!(a
            .subject
            .starts_with("ECS task unreachable: web in clu ster"));
    }

    #[test]
    fn body_names_task_arn_rule_fix_and_ids() {
        let a = alert_for(&evaluation(Status::NonCompliant, Some("web"), "prod")).unwrap();
        for text in [
            "arn:aws:ecs:us-east-1:1:task/prod/abc",
            "AWSVPC_EC2_PUBLIC_NO_INBOUND",
            "How to fix",
            "eni-1",
        ] {
            assert!(a.body.contains(text), "{text}");
        }
    }

    #[test]
    fn attributes_omit_service_for_standalone_tasks() {
        let a = alert_for(&evaluation(Status::NonCompliant, None, "prod")).unwrap();
        let names: Vec<_> = a.attributes.iter().map(|m| m.name).collect();
        assert_eq!(names, ["rule", "severity", "cluster"]);
        assert_eq!(a.attributes[0].value, r#"["AWSVPC_EC2_PUBLIC_NO_INBOUND"]"#);
        assert!(a.subject.contains("task abc"));
        let a = alert_for(&evaluation(Status::NonCompliant, Some("web"), "prod")).unwrap();
        assert!(a
            .attributes
            .iter()
            .any(|m| m.name == "service" && m.value == "web"));
    }
}
