//! The SNS alert for an evaluation: subject, the `MessageStructure=json` parts (e-mail text,
//! the Evaluation JSON, the AWS Chatbot card), filter-policy attributes, all fitted into SNS's
//! size limit.

use serde_json::Value;

use crate::domain::delivery::{should_alert, CheckReport};
use crate::domain::evaluation::Evaluation;
use crate::domain::text::{one_line, truncate_chars};
use crate::domain::verdict::{Finding, Severity};
use crate::render::chatbot::chatbot_notification;
use crate::render::text::{headline, names, text_body};

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
    /// Plain text body (default and e-mail subscribers).
    pub body: String,
    /// The `MessageStructure=json` payload: `default`/`email` = text, `sqs`/`lambda` = the
    /// Evaluation JSON, `https` = an AWS Chatbot custom notification. At most 256 KB.
    pub message_json: String,
    /// Filter-policy attributes: `rule`, `severity`, `cluster`, `service`.
    pub attributes: Vec<MessageAttribute>,
}

/// SNS's limit for a published message: 262,144 bytes of message plus message attributes
/// (the default maximum; topics configured lower are not supported).
pub const SNS_MAX_BYTES: usize = 262_144;
/// Headroom for the request's own framing of the attributes.
const ATTRIBUTE_OVERHEAD_BYTES: usize = 64;
/// An attribute value (cluster, service name) is cut to this many characters.
const MAX_ATTRIBUTE_CHARS: usize = 256;
/// A finding message longer than this is cut in alerts (the Evaluation keeps it whole).
const MAX_FINDING_CHARS: usize = 2000;
/// Names, ARNs and other context values are cut to this many characters before findings are
/// dropped: real ones are far shorter, so only hostile input loses anything.
const MAX_VALUE_CHARS: usize = 1024;

/// The alert at `min` severity, or `None` when nothing should be published.
pub fn alert_at(evaluation: &Evaluation, min: Severity) -> Option<Alert> {
    if !should_alert(evaluation, min) {
        return None;
    }
    let (what, cluster) = names(evaluation);
    let subject = truncate_chars(
        &one_line(&format!("{}: {what} in {cluster}", headline(evaluation))),
        MAX_SUBJECT_CHARS,
    );
    let findings: Vec<&Finding> = evaluation.published_findings(Severity::Info).collect();
    let mut rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .min()
        .unwrap_or(Severity::Info);
    let ctx = evaluation.context.clone().unwrap_or_default();
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
    for (name, value) in [
        ("account", ctx.account),
        ("cluster", ctx.cluster),
        ("service", ctx.service),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            attributes.push(MessageAttribute {
                name,
                data_type: "String",
                value: truncate_chars(&one_line(&v), MAX_ATTRIBUTE_CHARS),
            });
        }
    }
    let attribute_bytes: usize = attributes
        .iter()
        .map(|a| a.name.len() + a.data_type.len() + a.value.len() + ATTRIBUTE_OVERHEAD_BYTES)
        .sum();
    let (body, message_json) = fit(evaluation, SNS_MAX_BYTES - attribute_bytes);
    Some(Alert {
        subject,
        body,
        message_json,
        attributes,
    })
}

/// Cuts every user-facing string of the evaluation to `max` characters.
fn cap_strings(e: &mut Evaluation, max: usize) {
    let cap = |s: &mut String| {
        if s.chars().count() > max {
            *s = format!("{}...", truncate_chars(s, max));
        }
    };
    cap(&mut e.resource_id);
    cap(&mut e.annotation);
    e.event_id.iter_mut().for_each(cap);
    e.suppressed.iter_mut().flatten().for_each(cap);
    for f in &mut e.findings {
        cap(&mut f.message);
        cap(&mut f.remediation);
    }
    if let Some(stop) = e.stop.as_mut() {
        for value in [
            &mut stop.stopped_reason,
            &mut stop.stop_code,
            &mut stop.stopped_task,
            &mut stop.deployment_id,
            &mut stop.event_reason,
        ] {
            value.iter_mut().for_each(cap);
        }
    }
    if let Some(c) = e.context.as_mut() {
        for value in [
            &mut c.cluster,
            &mut c.cluster_arn,
            &mut c.service,
            &mut c.task_definition,
            &mut c.launch_type,
            &mut c.network_mode,
            &mut c.started_by,
            &mut c.eni,
            &mut c.subnet,
            &mut c.vpc,
            &mut c.route_table,
            &mut c.private_ip,
            &mut c.host_instance_id,
            &mut c.host_public_ip,
        ] {
            value.iter_mut().for_each(cap);
        }
        c.ports.iter_mut().for_each(cap);
        c.ports.truncate(max.max(1));
    }
}

/// The text and the `MessageStructure=json` message of `e`; JSON parts are always valid JSON,
/// marked `"truncated": true` when anything was cut or left out.
fn render_parts(e: &Evaluation, dropped: usize, truncated: bool) -> (String, String) {
    let mut body = text_body(e);
    if dropped > 0 {
        body.push_str(&format!("\n({dropped} more findings left out to fit the SNS size limit; run `ecs-inbound-guard check` for all.)\n"));
    }
    if truncated {
        body.push_str("\n(Parts of this alert were cut to fit the SNS size limit.)\n");
    }
    // The JSON subscribers get the printed document: the Evaluation with its (unsent) alert state.
    let mut document = serde_json::to_value(CheckReport::unsent(e.clone())).unwrap_or(Value::Null);
    if truncated {
        document["truncated"] = Value::Bool(true);
    }
    let evaluation_json = document.to_string();
    let message = serde_json::json!({
        "default": body,
        "email": body,
        "sqs": evaluation_json,
        "lambda": evaluation_json,
        "https": chatbot_notification(e).to_string(),
    })
    .to_string();
    (body, message)
}

/// Builds the text and the JSON message within `budget` bytes: finding messages cut at 2,000
/// characters, then oversized names and values cut, then findings left out (with a note), then
/// every string halved until it fits. Sizes are bytes, as SNS counts them.
fn fit(evaluation: &Evaluation, budget: usize) -> (String, String) {
    let mut trimmed = evaluation.clone();
    let mut truncated = false;
    for f in &mut trimmed.findings {
        if f.message.chars().count() > MAX_FINDING_CHARS {
            f.message = format!("{}... (cut)", truncate_chars(&f.message, MAX_FINDING_CHARS));
            truncated = true;
        }
    }
    let total = trimmed.findings.len();
    let mut max_chars = MAX_VALUE_CHARS;
    let mut capped = false;
    loop {
        let dropped = total - trimmed.findings.len();
        let (body, message) = render_parts(&trimmed, dropped, truncated);
        if message.len() <= budget {
            return (body, message);
        }
        truncated = true;
        if !capped {
            cap_strings(&mut trimmed, MAX_VALUE_CHARS);
            capped = true;
        } else if trimmed.findings.len() > 1 {
            // Drop findings in proportion to the excess (one serialisation per round).
            let len = trimmed.findings.len();
            let keep = (len * budget / message.len()).clamp(1, len - 1);
            trimmed.findings.truncate(keep);
        } else if max_chars > 8 {
            max_chars /= 2;
            cap_strings(&mut trimmed, max_chars);
        } else {
            // Unreachable in practice (every string is 8 characters): a minimal valid message.
            let body = truncate_chars(&body, 1000);
            let message = serde_json::json!({"default": body, "email": body}).to_string();
            return (body, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;
    use crate::domain::verdict::Status;
    use crate::render::sample_evaluation as evaluation;
    use serde_json::Value;

    #[test]
    fn only_non_compliant_alerts() {
        // Without a HIGH finding a task is never NON_COMPLIANT; CHECK_INCOMPLETE never alerts.
        let incomplete =
            crate::domain::rules::check_incomplete::finding(&crate::domain::facts::Unreadable {
                api: crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
                reason: "AccessDenied".into(),
            });
        for s in [
            Status::Compliant,
            Status::NotApplicable,
            Status::InsufficientData,
        ] {
            let mut e = evaluation(s, Some("web"), "prod");
            e.findings = vec![incomplete.clone()];
            for min in [
                Severity::High,
                Severity::Medium,
                Severity::Low,
                Severity::Info,
            ] {
                assert!(alert_at(&e, min).is_none(), "{s:?} at {min:?}");
            }
        }
        assert!(alert_at(
            &evaluation(Status::NonCompliant, Some("web"), "prod"),
            Severity::High
        )
        .is_some());
    }

    #[test]
    fn subject_is_one_short_line() {
        let long = format!("clu\nster{}", "x".repeat(200));
        let a = alert_at(
            &evaluation(Status::NonCompliant, Some("web"), &long),
            Severity::High,
        )
        .unwrap();
        assert!(a.subject.chars().count() < 100);
        assert!(!a.subject.chars().any(char::is_control));
        assert!(a
            .subject
            .starts_with("ECS task unreachable: web in clu ster"));
    }

    #[test]
    fn body_names_task_arn_rule_fix_and_ids() {
        let a = alert_at(
            &evaluation(Status::NonCompliant, Some("web"), "prod"),
            Severity::High,
        )
        .unwrap();
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
    fn message_json_has_a_part_for_each_subscriber() {
        let a = alert_at(
            &evaluation(Status::NonCompliant, Some("web"), "prod"),
            Severity::High,
        )
        .unwrap();
        let m: Value = serde_json::from_str(&a.message_json).unwrap();
        assert_eq!(m["default"], a.body);
        assert_eq!(m["email"], a.body);
        let e: Value = serde_json::from_str(m["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(e["compliance"], "NON_COMPLIANT");
        assert_eq!(m["lambda"], m["sqs"]);
        let chat: Value = serde_json::from_str(m["https"].as_str().unwrap()).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(chat["content"]["textType"], "client-markdown");
        assert!(chat["content"]["nextSteps"].as_array().unwrap().len() == 1);
        assert!(chat["metadata"]["threadId"].is_string());
    }

    #[test]
    fn huge_evaluations_are_cut_to_fit_sns() {
        let mut e = evaluation(Status::NonCompliant, Some("web"), "prod");
        for i in 0..400 {
            e.findings
                .push(RULE.finding(format!("{i} {}", "y".repeat(5000))));
        }
        let a = alert_at(&e, Severity::High).unwrap();
        assert!(
            a.message_json.len() <= SNS_MAX_BYTES,
            "{}",
            a.message_json.len()
        );
        assert!(a.body.contains("more findings left out"));
    }

    #[test]
    fn min_severity_and_suppression_decide() {
        let mut e = evaluation(Status::Compliant, Some("web"), "prod");
        e.findings = vec![
            crate::domain::rules::awsvpc_ec2_public_no_egress::RULE.finding("no egress".into())
        ];
        assert!(alert_at(&e, Severity::High).is_none());
        let a = alert_at(&e, Severity::Medium).unwrap();
        assert!(a.subject.starts_with("ECS task network advisory"));
        e.suppressed = Some(vec!["AWSVPC_EC2_PUBLIC_NO_EGRESS".into()]);
        assert!(
            alert_at(&e, Severity::Info).is_none(),
            "suppressed rules never alert"
        );
    }

    #[test]
    fn attributes_omit_service_for_standalone_tasks() {
        let a = alert_at(
            &evaluation(Status::NonCompliant, None, "prod"),
            Severity::High,
        )
        .unwrap();
        let names: Vec<_> = a.attributes.iter().map(|m| m.name).collect();
        assert_eq!(names, ["rule", "severity", "cluster"]);
        assert_eq!(a.attributes[0].value, r#"["AWSVPC_EC2_PUBLIC_NO_INBOUND"]"#);
        assert!(a.subject.contains("task abc"));
        let a = alert_at(
            &evaluation(Status::NonCompliant, Some("web"), "prod"),
            Severity::High,
        )
        .unwrap();
        assert!(a
            .attributes
            .iter()
            .any(|m| m.name == "service" && m.value == "web"));
    }

    #[test]
    fn a_huge_stop_reason_is_cut_and_the_json_parts_and_the_fix_survive() {
        let huge = "pull access denied ".repeat(4_000); // ~76 KB
        let mut e = evaluation(Status::NonCompliant, Some("web"), "prod");
        e.annotation = huge.clone();
        e.findings = vec![RULE.finding(format!("the task stopped: {huge}"))];
        e.stop = Some(crate::domain::stop::StopContext {
            kind: crate::domain::stop_reason::StopKind::StartFailure,
            stopped_reason: Some(huge.clone()),
            stop_code: Some("TaskFailedToStart".into()),
            stopped_task: Some("arn:task/prod/1".into()),
            deployment_id: Some("ecs-svc/1".into()),
            event_reason: Some(huge),
        });
        let a = alert_at(&e, Severity::High).unwrap();
        assert!(a.message_json.len() <= SNS_MAX_BYTES);
        let m: Value = serde_json::from_str(&a.message_json).unwrap();
        for part in ["sqs", "lambda", "https"] {
            assert!(
                m[part].is_string(),
                "the {part} part survives: {}",
                &a.message_json[..200]
            );
        }
        let sqs: Value = serde_json::from_str(m["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(sqs["findings"][0]["rule"], RULE.id);
        assert!(a.body.contains("How to fix:"), "the e-mail keeps the fix");
        assert!(a.body.contains(&RULE.remediation[..40]));
    }

    #[test]
    fn hostile_names_still_fit_sns_in_bytes_with_valid_json_parts() {
        for name in [
            "é".repeat(300_000),
            "\"".repeat(300_000),
            "\u{1}".repeat(100_000),
        ] {
            let mut e = evaluation(Status::NonCompliant, Some(&name), &name);
            e.findings
                .push(RULE.finding(format!("service {name} is broken")));
            let a = alert_at(&e, Severity::High).unwrap();
            let attributes: usize = a
                .attributes
                .iter()
                .map(|m| m.name.len() + m.data_type.len() + m.value.len())
                .sum();
            let total = a.message_json.len() + attributes;
            assert!(total <= SNS_MAX_BYTES, "{total} bytes");
            let m: Value = serde_json::from_str(&a.message_json).unwrap();
            for part in ["sqs", "lambda", "https"] {
                let inner: Result<Value, _> = serde_json::from_str(m[part].as_str().unwrap());
                assert!(inner.is_ok(), "{part} is valid JSON");
            }
            let sqs: Value = serde_json::from_str(m["sqs"].as_str().unwrap()).unwrap();
            assert_eq!(sqs["truncated"], true);
            assert_eq!(sqs["compliance"], "NON_COMPLIANT");
            assert!(a.subject.chars().count() < 100);
            assert!(!a.subject.chars().any(char::is_control));
        }
        // A normal alert is not marked truncated.
        let a = alert_at(
            &evaluation(Status::NonCompliant, Some("web"), "prod"),
            Severity::High,
        )
        .unwrap();
        let m: Value = serde_json::from_str(&a.message_json).unwrap();
        let sqs: Value = serde_json::from_str(m["sqs"].as_str().unwrap()).unwrap();
        assert!(sqs.get("truncated").is_none());
    }
}
