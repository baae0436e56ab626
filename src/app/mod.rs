//! Use cases and their composition: [`check`] (a trigger → an Evaluation → the alert),
//! [`audit`] (every running task of a cluster), [`config_rule`] (AWS Config custom-rule mode).
//! The CLI and the Lambda both come through [`run_check`] / [`run_trigger`].

pub mod audit;
pub mod batch;
pub mod check;
pub mod config_rule;
pub mod export;
pub mod handler;
pub mod settings;

use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;
use tracing::{instrument, warn};

use crate::adapters::clients::{ClientFactory, Refused, OPERATION_TIMEOUT};
use crate::adapters::dynamodb::DynamoDedup;
use crate::adapters::securityhub::SecurityHubFindings;
use crate::adapters::sns::SnsAlerts;
use crate::domain::delivery::CheckReport;
use crate::domain::diagnosis::stop_verdict_before_reading;
use crate::domain::evaluation::{verdict_before_reading, Evaluation};
use crate::domain::event::{parse_trigger, Trigger};
use crate::domain::refusal::{verdict_without_access, NoAccess};
use crate::facts::deadline::Budgeted;
use check::{check_and_alert, Alerting, CheckError};
use export::{export_findings, ExportReport, Exporting};

/// Alerting through SNS with optional DynamoDB dedup: what the CLI and the Lambda use.
pub type SnsAlerting<'a> = Alerting<'a, SnsAlerts, DynamoDedup>;

/// Security Hub export with the open pairs in the DynamoDB table: what the CLI and the Lambda use.
pub type SecurityHubExport<'a> = Exporting<'a, SecurityHubFindings<'a>, DynamoDedup>;

/// Exports a report's findings to Security Hub, unless the invocation's time is nearly out
/// (an export is never worth a killed invocation: it is skipped with a warning).
pub async fn export_report(
    report: &CheckReport,
    export: &SecurityHubExport<'_>,
    deadline: Option<Instant>,
) -> ExportReport {
    let enough = deadline
        .is_none_or(|d| d.saturating_duration_since(Instant::now()) > 2 * OPERATION_TIMEOUT);
    if !enough {
        warn!("no time left for the Security Hub export: skipped");
        return ExportReport::default();
    }
    export_findings(&report.evaluation, export).await
}

/// What the alert may still need once the reads are done: two AWS operations (SNS Publish,
/// then DynamoDB UpdateItem to complete the claim), each within its operation timeout, + 2 s.
pub fn alert_reserve() -> Duration {
    2 * OPERATION_TIMEOUT + Duration::from_secs(2)
}

/// Parses `input`, reads facts in the event's region and publishes the alert when needed,
/// within `deadline` when one is given.
#[instrument(skip_all)]
pub async fn run_check(
    input: Value,
    clients: &ClientFactory,
    alerting: Option<&SnsAlerting<'_>>,
    deadline: Option<Instant>,
) -> Result<CheckReport, CheckError> {
    let trigger = parse_trigger(input)?;
    run_trigger(&trigger, clients, alerting, deadline).await
}

/// Checks an already parsed trigger in its region and publishes the alert when needed. An
/// out-of-scope trigger needs no AWS at all: no client is built for it.
#[instrument(skip_all)]
pub async fn run_trigger(
    trigger: &Trigger,
    clients: &ClientFactory,
    alerting: Option<&SnsAlerting<'_>>,
    deadline: Option<Instant>,
) -> Result<CheckReport, CheckError> {
    let now = OffsetDateTime::now_utc();
    let decided = match trigger {
        Trigger::OutOfScope(o) => {
            return Ok(CheckReport::unsent(Evaluation::out_of_scope(o, now)));
        }
        Trigger::RunningTask(event) => verdict_before_reading(event, now),
        Trigger::StoppedTask(stop) => stop_verdict_before_reading(stop, now),
        Trigger::Service(_) => None,
    };
    match decided {
        Some(evaluation) => Ok(CheckReport::unsent(evaluation)),
        None => {
            // The resource's own account and region (its ARN's): own credentials, or the
            // member account's role in organisation mode.
            let scope = trigger.scope().unwrap_or_default();
            let no_access = match clients.reader_for(&scope).await {
                Ok(reader) => Ok(reader),
                Err(Refused::NotEnrolled(account)) => {
                    warn!(%account, "event from an account that is not enrolled: not read");
                    Err(NoAccess::NotEnrolled(account))
                }
                Err(Refused::Denied(u)) => {
                    warn!(reason = %u, "member role not assumable");
                    Err(NoAccess::Denied(u))
                }
                Err(Refused::Failed(e)) => return Err(CheckError::Aws(e)),
            };
            let reader = match no_access {
                Ok(reader) => reader,
                Err(why) => {
                    return Ok(CheckReport::unsent(verdict_without_access(
                        trigger, &why, now,
                    )))
                }
            };
            match deadline {
                None => check_and_alert(trigger, reader.as_ref(), alerting).await,
                Some(deadline) => {
                    // Keep what the alert needs (half the budget when that is shorter, e.g.
                    // the 3 s Lambda default); a check that does not publish keeps nothing.
                    let half = deadline.saturating_duration_since(Instant::now()) / 2;
                    let reserve = alerting.map_or(Duration::ZERO, |_| alert_reserve().min(half));
                    let budgeted = Budgeted::new(reader.as_ref(), deadline, reserve);
                    check_and_alert(trigger, &budgeted, alerting).await
                }
            }
        }
    }
}
