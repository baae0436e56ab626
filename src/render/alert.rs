//! The SNS alert for an evaluation: subject, e-mail text, the Evaluation JSON, the AWS Chatbot
//! card, filter-policy attributes, all fitted into SNS's size limit.

use serde_json::Value;

use crate::domain::delivery::{should_alert, CheckReport};
use crate::domain::evaluation::Evaluation;
use crate::domain::text::{one_line, truncate_chars};
use crate::domain::verdict::{Finding, Severity, Status};

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

/// SNS's message size limit (message and attributes), with room for the attributes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 - 4 * 1024;
/// A finding message longer than this is cut in alerts (the Evaluation keeps it whole).
const MAX_FINDING_CHARS: usize = 2000;

fn headline(evaluation: &Evaluation) -> &'static str {
    if evaluation.compliance == Status::NonCompliant {
        "ECS task unreachable"
    } else {
        "ECS task network advisory"
    }
}

fn names(evaluation: &Evaluation) -> (String, String) {
    let ctx = evaluation.context.clone().unwrap_or_default();
    let task_id = evaluation
        .resource_id
        .rsplit('/')
        .next()
        .unwrap_or(&evaluation.resource_id)
        .to_string();
    let what = ctx.service.unwrap_or_else(|| format!("task {task_id}"));
    let cluster = ctx.cluster.unwrap_or_else(|| "unknown cluster".into());
    (what, cluster)
}

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
    for (name, value) in [("cluster", ctx.cluster), ("service", ctx.service)] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            attributes.push(MessageAttribute {
                name,
                data_type: "String",
                value: one_line(&v),
            });
        }
    }
    let (body, message_json) = fit(evaluation);
    Some(Alert {
        subject,
        body,
        message_json,
        attributes,
    })
}

/// Builds text and JSON message, dropping findings (with a note) until it fits SNS's limit.
fn fit(evaluation: &Evaluation) -> (String, String) {
    let mut trimmed = evaluation.clone();
    for f in &mut trimmed.findings {
        if f.message.chars().count() > MAX_FINDING_CHARS {
            f.message = format!("{}... (cut)", truncate_chars(&f.message, MAX_FINDING_CHARS));
        }
    }
    let total = trimmed.findings.len();
    loop {
        let dropped = total - trimmed.findings.len();
        let mut body = text_body(&trimmed);
        if dropped > 0 {
            body.push_str(&format!("\n({dropped} more findings left out to fit the SNS size limit; run `ecs-inbound-guard check` for all.)\n"));
        }
        // The JSON subscribers get the printed document: the Evaluation with its (unsent) alert state.
        let evaluation_json =
            serde_json::to_string(&CheckReport::unsent(trimmed.clone())).unwrap_or_default();
        let message = serde_json::json!({
            "default": body,
            "email": body,
            "sqs": evaluation_json,
            "lambda": evaluation_json,
            "https": chatbot_notification(&trimmed).to_string(),
        })
        .to_string();
        if message.len() <= MAX_MESSAGE_BYTES || trimmed.findings.len() <= 1 {
            if message.len() <= MAX_MESSAGE_BYTES {
                return (body, message);
            }
            // One finding that is still too large: keep the text only.
            let body = truncate_chars(&body, MAX_MESSAGE_BYTES / 8);
            let message = serde_json::json!({"default": body, "email": body, "sqs": body, "lambda": body, "https": body}).to_string();
            return (body, message);
        }
        // Drop findings in proportion to the excess (one serialisation per round, not per finding).
        let len = trimmed.findings.len();
        let keep = (len * MAX_MESSAGE_BYTES / message.len()).clamp(1, len - 1);
        trimmed.findings.truncate(keep);
    }
}

/// The human text of an evaluation: what, why, how to fix, and the IDs.
pub fn text_body(evaluation: &Evaluation) -> String {
    let ctx = evaluation.context.clone().unwrap_or_default();
    let mut body = String::new();
    body.push_str(&format!(
        "ecs-inbound-guard: {} ({}).\n\n",
        if evaluation.compliance == Status::NonCompliant {
            "an ECS task has no valid inbound path"
        } else {
            "an ECS task's network setup needs attention"
        },
        evaluation.compliance.as_str()
    ));
    if evaluation.findings.is_empty() {
        body.push_str(&format!("{}\n\n", one_line(&evaluation.annotation)));
    }
    for f in &evaluation.findings {
        body.push_str(&format!("[{}] {}\n", f.severity.as_str(), f.rule));
        // Messages carry user-controlled names (tags, resource names): one line each, so a
        // newline in a name cannot forge a line of its own.
        body.push_str(&format!("What and why: {}\n", one_line(&f.message)));
        body.push_str(&format!("How to fix:   {}\n\n", one_line(&f.remediation)));
    }
    if let Some(s) = &evaluation.suppressed {
        body.push_str(&format!(
            "Suppressed by tag ecs-inbound-guard:ignore: {}\n\n",
            one_line(&s.join(", "))
        ));
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
    body
}

/// Text for the chat clients AWS Chatbot renders to (Slack, Microsoft Teams, Amazon Chime):
/// one line; `&`, `<` and `>` as the entities Slack's markup needs (they display as the
/// characters; Slack has no backslash escape); `@here`, `@channel` and `@everyone` broken with a
/// zero-width space so a name cannot notify a channel (`<!here>` is already inert once `<` is an
/// entity).
pub fn chat_text(s: &str) -> String {
    let mut out = one_line(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    for mention in ["@here", "@channel", "@everyone"] {
        out = out.replace(mention, &mention.replacen('@', "@\u{200B}", 1));
    }
    out
}

/// A user-controlled identifier as a code span: a backtick inside it cannot close the span.
pub fn chat_code(s: &str) -> String {
    format!("`{}`", chat_text(&s.replace('`', "'")))
}

/// An AWS Chatbot (Amazon Q Developer in chat applications) custom notification.
pub fn chatbot_notification(evaluation: &Evaluation) -> Value {
    let (what, cluster) = names(evaluation);
    let ctx = evaluation.context.clone().unwrap_or_default();
    let mut description = format!(
        "*{}* for {} in {}\n",
        evaluation.compliance.as_str(),
        chat_code(&what),
        chat_code(&cluster)
    );
    for f in &evaluation.findings {
        description.push_str(&format!(
            "• *{}* `{}`: {}\n",
            f.severity.as_str(),
            f.rule,
            chat_text(&f.message)
        ));
    }
    let next_steps: Vec<String> = evaluation
        .findings
        .iter()
        .map(|f| format!("{}: {}", f.rule, chat_text(&f.remediation)))
        .collect();
    let mut keywords: Vec<String> = evaluation
        .findings
        .iter()
        .map(|f| f.rule.to_string())
        .collect();
    keywords.push(evaluation.compliance.as_str().to_string());
    let thread = match (&ctx.service, &ctx.cluster_arn, &ctx.started_by) {
        (Some(service), Some(cluster_arn), started_by) => format!(
            "{}/{}#{}",
            cluster_arn.replace(":cluster/", ":service/"),
            service,
            started_by.as_deref().unwrap_or("")
        ),
        _ => evaluation.resource_id.clone(),
    };
    let related: Vec<String> = [
        Some(&evaluation.resource_id),
        ctx.eni.as_ref(),
        ctx.subnet.as_ref(),
        ctx.task_definition.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|r| one_line(r))
    .collect();
    let title = format!("{}: {what} in {cluster}", headline(evaluation));
    let mut card = serde_json::json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": truncate_chars(&chat_text(&title), 250),
            "description": description,
            "nextSteps": next_steps,
            "keywords": keywords,
        },
        "metadata": {
            "threadId": one_line(&thread),
            "summary": truncate_chars(&chat_text(&evaluation.annotation), 250),
            "eventType": "ecs-inbound-guard evaluation",
            "relatedResources": related,
            "additionalContext": {"compliance": evaluation.compliance.as_str()},
        }
    });
    // Chatbot takes an absent id, not a null one.
    if let Some(id) = &evaluation.event_id {
        card["id"] = Value::String(one_line(id));
    }
    card
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluation::TaskContext;
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;
    use serde_json::Value;

    fn evaluation(compliance: Status, service: Option<&str>, cluster: &str) -> Evaluation {
        Evaluation {
            resource_type: "AWS::ECS::Task",
            resource_id: "arn:aws:ecs:us-east-1:1:task/prod/abc".into(),
            compliance,
            annotation: String::new(),
            evaluated_at: "2025-01-01T00:00:00Z".into(),
            event_id: Some("ev".into()),
            findings: vec![RULE.finding("curl fails".into())],
            suppressed: None,
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
        // Without a HIGH finding a task is never NON_COMPLIANT; CHECK_INCOMPLETE never alerts.
        let incomplete =
            crate::domain::rules::check_incomplete::finding(&crate::domain::facts::Unreadable {
                api: "ec2:DescribeNetworkInterfaces",
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
            a.message_json.len() <= MAX_MESSAGE_BYTES,
            "{}",
            a.message_json.len()
        );
        assert!(a.body.contains("more findings left out"));
    }

    #[test]
    fn markdown_is_escaped_and_min_severity_decides() {
        assert_eq!(
            chat_text("a <b> & c\n@here <!channel>"),
            "a &lt;b&gt; &amp; c @\u{200B}here &lt;!channel&gt;"
        );
        assert_eq!(chat_code("we`b"), "`we'b`");
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
    fn the_chatbot_card_escapes_names_for_slack_and_keeps_the_product_text() {
        let mut e = evaluation(Status::NonCompliant, Some("web<script>"), "prod\n@channel");
        e.event_id = None;
        e.findings = vec![RULE.finding("`curl 1.2.3.4:3000` cannot reach it -> fix".into())];
        let card = chatbot_notification(&e);
        assert!(card.get("id").is_none(), "no null id: {card}");
        let title = card["content"]["title"].as_str().unwrap();
        assert!(title.contains("web&lt;script&gt;"), "{title}");
        assert!(!title.contains('<') && !title.contains('\n'), "{title}");
        let description = card["content"]["description"].as_str().unwrap();
        assert!(
            description.contains("for `web&lt;script&gt;` in `prod @\u{200B}channel`"),
            "{description}"
        );
        assert!(
            description.contains("`curl 1.2.3.4:3000` cannot reach it -&gt; fix"),
            "{description}"
        );
        assert!(
            !description.contains('\\'),
            "no backslash escapes: {description}"
        );
    }

    #[test]
    fn a_newline_in_a_name_cannot_forge_a_line_of_the_e_mail() {
        let mut e = evaluation(Status::NonCompliant, Some("web"), "prod");
        e.findings = vec![RULE.finding("service x\n[HIGH] FAKE_RULE\nWhat and why: ok".into())];
        let body = text_body(&e);
        assert!(
            !body.lines().any(|l| l.starts_with("[HIGH] FAKE_RULE")),
            "{body}"
        );
    }
}
