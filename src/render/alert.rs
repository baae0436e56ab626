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

fn headline(evaluation: &Evaluation) -> &'static str {
    if let Some(stop) = &evaluation.stop {
        return stop.kind.headline();
    }
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

/// The human text of an evaluation: what, why, how to fix, and the IDs.
pub fn text_body(evaluation: &Evaluation) -> String {
    let ctx = evaluation.context.clone().unwrap_or_default();
    let mut body = String::new();
    let what = match (&evaluation.stop, evaluation.compliance) {
        (Some(stop), _) => stop.kind.headline(),
        (None, Status::NonCompliant) => "an ECS task has no valid inbound path",
        (None, _) => "an ECS task's network setup needs attention",
    };
    body.push_str(&format!(
        "ecs-inbound-guard: {what} ({}).\n\n",
        evaluation.compliance.as_str()
    ));
    if let Some(stop) = &evaluation.stop {
        for (label, value) in [
            ("Stop reason", &stop.stopped_reason),
            ("Stop code", &stop.stop_code),
            ("Stopped task", &stop.stopped_task),
            ("Deployment", &stop.deployment_id),
            ("ECS said", &stop.event_reason),
        ] {
            if let Some(v) = value {
                body.push_str(&format!("{label}: {}\n", one_line(v)));
            }
        }
        body.push('\n');
    }
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
    let rows: [(&str, Option<String>); 14] = [
        (
            if evaluation.resource_type == crate::domain::stop::SERVICE_RESOURCE_TYPE {
                "Service ARN"
            } else {
                "Task ARN"
            },
            Some(evaluation.resource_id.clone()),
        ),
        ("Account", ctx.account.clone()),
        ("Region", ctx.region.clone()),
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
            stop: None,
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
            a.message_json.len() <= SNS_MAX_BYTES,
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
