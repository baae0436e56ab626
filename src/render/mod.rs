//! Renderers: an Evaluation (or an audit) turned into bytes for a reader — the SNS alert with its
//! e-mail text and AWS Chatbot card, the audit table, CloudWatch EMF metric lines. Kept apart
//! from the verdict, as a linter keeps its reporters apart from its rules.

pub mod chatbot;
pub mod hook;
pub mod html;
pub mod markdown;
pub mod metrics;
pub mod sns;
pub mod table;
pub mod text;

/// An evaluation for the renderers' tests: one finding of the seed rule.
#[cfg(test)]
pub(crate) fn sample_evaluation(
    compliance: crate::domain::verdict::Status,
    service: Option<&str>,
    cluster: &str,
) -> crate::domain::evaluation::Evaluation {
    use crate::domain::evaluation::{Evaluation, TaskContext};
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;
    Evaluation {
        resource_type: "AWS::ECS::Task",
        resource_id: "arn:aws:ecs:us-east-1:1:task/prod/abc".into(),
        compliance,
        annotation: String::new(),
        evaluated_at: "2025-01-01T00:00:00Z".into(),
        event_id: Some("ev".into()),
        findings: vec![RULE.finding("curl fails".into())],
        suppressed: None,
        path: vec![],
        context: Some(TaskContext {
            cluster: Some(cluster.into()),
            service: service.map(Into::into),
            eni: Some("eni-1".into()),
            ..Default::default()
        }),
        stop: None,
        passed: vec![],
    }
}
