//! Delivery state: what happened to the alert of an evaluation (published, message id, dedup).
//! Kept apart from the verdict: the rules and the [`Evaluation`] never see it; the use case
//! fills it in after publishing. The JSON is the Evaluation's fields plus `alert`.

use serde::Serialize;

use super::evaluation::Evaluation;
use super::verdict::Severity;

/// Whether `evaluation` is published at `min` severity: some finding at `min` or above that is
/// neither CHECK_INCOMPLETE nor suppressed. With the default (HIGH) that is exactly the
/// NON_COMPLIANT evaluations.
pub fn should_alert(evaluation: &Evaluation, min: Severity) -> bool {
    evaluation.published_findings(min).next().is_some()
}

/// The dedup key of an alert: one per (service, deployment, published rule ids) for service
/// tasks (all tasks of a deploy share `startedBy`), one per task ARN for standalone tasks.
pub fn dedup_key(evaluation: &Evaluation, min: Severity) -> String {
    let ctx = evaluation.context.clone().unwrap_or_default();
    if let Some(stop) = &evaluation.stop {
        // Every stop of one deployment shares one key, whatever rule fired: a service cycling
        // through 50 failing tasks alerts once. The cluster by name: deployment events name
        // the service ARN only, task events the cluster ARN.
        let cluster = ctx.cluster.or(ctx.cluster_arn).unwrap_or_default();
        return match (&ctx.service, &stop.deployment_id) {
            (Some(service), Some(deployment)) => {
                format!("stopped#{cluster}#{service}#{deployment}")
            }
            (Some(service), None) => format!("stopped#{cluster}#{service}#"),
            (None, _) => format!(
                "stopped#{cluster}#{}#{}",
                ctx.task_definition.unwrap_or_default(),
                ctx.started_by.unwrap_or_default()
            ),
        };
    }
    let mut rules: Vec<&str> = evaluation.published_findings(min).map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    match (&ctx.service, &ctx.started_by) {
        (Some(service), Some(deployment)) => format!(
            "service#{}#{service}#{deployment}#{}",
            ctx.cluster_arn.or(ctx.cluster).unwrap_or_default(),
            rules.join(",")
        ),
        _ => format!("task#{}#{}", evaluation.resource_id, rules.join(",")),
    }
}

/// Whether an alert was published for an evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    /// True once SNS accepted the message.
    pub published: bool,
    /// SNS message id.
    pub message_id: Option<String>,
    /// The dedup key, when alert deduplication is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// True when the alert was not sent because this deploy (or task) already alerted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deduplicated: bool,
}

/// An evaluation with its delivery state: the document the CLI prints and the Lambda returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The verdict.
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// Alert publication state.
    pub alert: AlertState,
}

impl CheckReport {
    /// An evaluation whose alert was not (yet) published.
    pub fn unsent(evaluation: Evaluation) -> Self {
        CheckReport {
            evaluation,
            alert: AlertState::default(),
        }
    }
}
