//! Composition helpers shared by the CLI and the Lambda: parse, pick the regional reader,
//! check, alert. Both entry points call [`run_check`].

use serde_json::Value;
use tracing::instrument;

use crate::adapters::aws::RegionalFacts;
use crate::check::{check_and_alert, CheckError};
use crate::domain::evaluation::Evaluation;
use crate::domain::event::{parse_trigger, Trigger};
use crate::domain::rules::Severity;
use crate::ports::AlertPublish;

/// Parses `input`, reads facts in the event's region and publishes the alert when needed.
#[instrument(skip_all)]
pub async fn run_check<P: AlertPublish>(
    input: Value,
    facts: &RegionalFacts,
    publisher: Option<&P>,
    min_severity: Severity,
) -> Result<Evaluation, CheckError> {
    let trigger = parse_trigger(input)?;
    run_trigger(&trigger, facts, publisher, min_severity).await
}

/// Checks an already parsed trigger in its region and publishes the alert when needed.
#[instrument(skip_all)]
pub async fn run_trigger<P: AlertPublish>(
    trigger: &Trigger,
    facts: &RegionalFacts,
    publisher: Option<&P>,
    min_severity: Severity,
) -> Result<Evaluation, CheckError> {
    let region = match trigger {
        Trigger::RunningTask(event) => event.region.as_deref(),
        Trigger::OutOfScope(_) => None,
    };
    let reader = facts.for_region(region);
    check_and_alert(trigger, reader.as_ref(), publisher, min_severity).await
}
