//! Composition helpers shared by the CLI and the Lambda: parse, pick the regional reader,
//! check, alert. Both entry points call [`run_check`].

use serde_json::Value;
use tracing::instrument;

use crate::adapters::aws::RegionalFacts;
use crate::adapters::dynamodb::DynamoDedup;
use crate::adapters::sns::SnsAlerts;
use crate::check::{check_and_alert, Alerting, CheckError};
use crate::domain::evaluation::Evaluation;
use crate::domain::event::{parse_trigger, Trigger};

/// Alerting through SNS with optional DynamoDB dedup: what the CLI and the Lambda use.
pub type SnsAlerting<'a> = Alerting<'a, SnsAlerts, DynamoDedup>;

/// Parses `input`, reads facts in the event's region and publishes the alert when needed.
#[instrument(skip_all)]
pub async fn run_check(
    input: Value,
    facts: &RegionalFacts,
    alerting: Option<&SnsAlerting<'_>>,
) -> Result<Evaluation, CheckError> {
    let trigger = parse_trigger(input)?;
    run_trigger(&trigger, facts, alerting).await
}

/// Checks an already parsed trigger in its region and publishes the alert when needed.
#[instrument(skip_all)]
pub async fn run_trigger(
    trigger: &Trigger,
    facts: &RegionalFacts,
    alerting: Option<&SnsAlerting<'_>>,
) -> Result<Evaluation, CheckError> {
    let region = match trigger {
        Trigger::RunningTask(event) => event.region.as_deref(),
        Trigger::OutOfScope(_) => None,
    };
    let reader = facts.for_region(region);
    check_and_alert(trigger, reader.as_ref(), alerting).await
}
