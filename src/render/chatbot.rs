//! The AWS Chatbot (Amazon Q Developer in chat applications) custom notification, and the
//! escaping of user-controlled names for the chat clients it renders to.

use serde_json::Value;

use crate::domain::evaluation::Evaluation;
use crate::domain::org::service_arn;
use crate::domain::text::{one_line, truncate_chars};
use crate::render::text::{headline, names};

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
            "{}#{}",
            service_arn(cluster_arn, service),
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
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;
    use crate::domain::verdict::Status;
    use crate::render::sample_evaluation as evaluation;

    #[test]
    fn markdown_and_mentions_are_escaped() {
        assert_eq!(
            chat_text("a <b> & c\n@here <!channel>"),
            "a &lt;b&gt; &amp; c @\u{200B}here &lt;!channel&gt;"
        );
        assert_eq!(chat_code("we`b"), "`we'b`");
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
}
