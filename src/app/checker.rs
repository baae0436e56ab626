//! The one check use case: a trigger → the reader of its resource's scope → facts → verdict →
//! the alert (once per dedup key) → the Security Hub export → metrics. Every trigger that gets
//! an alert comes through here: the Lambda (a bare event, each message of a queue batch) and
//! `check --event`. Generic over where readers come from ([`ReaderSource`]), so the Lambda's
//! dispatch is tested with the in-memory fake as well as against moto.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tracing::{info, instrument, warn};

use crate::adapters::clients::OPERATION_TIMEOUT;
use crate::app::check::{check_trigger, deliver, Alerting, CheckError};
use crate::app::export::{export_findings, ExportReport, Exporting};
use crate::domain::delivery::CheckReport;
use crate::domain::diagnosis::stop_verdict_before_reading;
use crate::domain::evaluation::Evaluation;
use crate::domain::event::Trigger;
use crate::domain::refusal::{verdict_without_access, NoAccess};
use crate::facts::deadline::Budgeted;
use crate::ports::{AlertDedup, AlertPublish, FindingsImport, OpenFindings, ReaderSource, Refused};

/// What the alert may still need once the reads are done: two AWS operations (SNS Publish,
/// then DynamoDB UpdateItem to complete the claim), each within its operation timeout, + 2 s.
pub fn alert_reserve() -> Duration {
    2 * OPERATION_TIMEOUT + Duration::from_secs(2)
}

/// Told of every report once it is delivered and exported (the Lambda writes its CloudWatch
/// EMF metrics and log line; the CLI prints instead).
pub type OnChecked = fn(&CheckReport, &ExportReport);

/// A verdict, and whether it may alert: one decided without reading AWS (out of scope, no
/// ENI, a refused account) never does.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The verdict.
    pub evaluation: Evaluation,
    /// Whether the alert policy applies to it.
    pub alertable: bool,
}

impl Evaluated {
    fn unread(evaluation: Evaluation) -> Self {
        Evaluated {
            evaluation,
            alertable: false,
        }
    }
}

/// The check use case and what it delivers to.
#[derive(Debug)]
pub struct Checker<'a, S, P, D, I, O> {
    /// Where each scope's reader comes from.
    pub source: &'a S,
    /// The alert's publisher and dedup store (`None`: evaluate only).
    pub alerting: Option<Alerting<'a, P, D>>,
    /// The Security Hub export (`None`: off).
    pub export: Option<Exporting<'a, I, O>>,
    /// Told of each finished report.
    pub on_checked: OnChecked,
}

impl<S, P, D, I, O> Checker<'_, S, P, D, I, O>
where
    S: ReaderSource,
    P: AlertPublish + Sync,
    D: AlertDedup + Sync,
    I: FindingsImport + Sync,
    O: OpenFindings + Sync,
{
    /// The whole use case for one trigger, within `deadline` when one is given.
    #[instrument(skip_all)]
    pub async fn check(
        &self,
        trigger: &Trigger,
        deadline: Option<Instant>,
    ) -> Result<CheckReport, CheckError> {
        let evaluated = self.evaluate(trigger, deadline).await?;
        let report = self.deliver(evaluated).await?;
        self.record(&report, deadline).await;
        Ok(report)
    }

    /// The verdict, without the alert: the reads keep back the time the alert needs.
    pub async fn evaluate(
        &self,
        trigger: &Trigger,
        deadline: Option<Instant>,
    ) -> Result<Evaluated, CheckError> {
        let now = OffsetDateTime::now_utc();
        if let Some(evaluation) = verdict_before_reading(trigger, now) {
            return Ok(Evaluated::unread(evaluation));
        }
        // The resource's own account and region (its ARN's): own credentials, or the member
        // account's role in organisation mode.
        let scope = trigger.scope().unwrap_or_default();
        let reader = match self.source.reader_for(&scope).await {
            Ok(reader) => reader,
            Err(refused) => {
                let why = no_access(refused)?;
                return Ok(Evaluated::unread(verdict_without_access(
                    trigger, &why, now,
                )));
            }
        };
        let evaluation = match deadline {
            None => check_trigger(trigger, reader.as_ref()).await?,
            Some(deadline) => {
                // Keep what the alert needs (half the budget when that is shorter, e.g. the
                // 3 s Lambda default); a check that does not publish keeps nothing.
                let half = deadline.saturating_duration_since(Instant::now()) / 2;
                let reserve = match self.alerting {
                    Some(_) => alert_reserve().min(half),
                    None => Duration::ZERO,
                };
                let budgeted = Budgeted::new(reader.as_ref(), deadline, reserve);
                check_trigger(trigger, &budgeted).await?
            }
        };
        info!(
            resource_id = %evaluation.resource_id,
            compliance = evaluation.compliance.as_str(),
            "evaluated"
        );
        Ok(Evaluated {
            evaluation,
            alertable: true,
        })
    }

    /// The alert of an evaluation when the policy says so, once per dedup key.
    pub async fn deliver(&self, evaluated: Evaluated) -> Result<CheckReport, CheckError> {
        match &self.alerting {
            Some(alerting) if evaluated.alertable => deliver(evaluated.evaluation, alerting).await,
            _ => Ok(CheckReport::unsent(evaluated.evaluation)),
        }
    }

    /// After delivery: the Security Hub export (never failing the check; skipped with a
    /// warning when the invocation's time is nearly out), then [`Checker::on_checked`].
    pub async fn record(&self, report: &CheckReport, deadline: Option<Instant>) {
        let mut exported = ExportReport::default();
        if let Some(export) = &self.export {
            let enough = deadline.is_none_or(|d| {
                d.saturating_duration_since(Instant::now()) > 2 * OPERATION_TIMEOUT
            });
            if enough {
                exported = export_findings(&report.evaluation, export).await;
            } else {
                warn!("no time left for the Security Hub export: skipped");
            }
        }
        (self.on_checked)(report, &exported);
        info!(
            resource_id = %report.evaluation.resource_id,
            verdict = report.evaluation.compliance.as_str(),
            published = report.alert.published,
            "evaluation"
        );
    }
}

/// A verdict that needs no AWS read (out of scope, too old, no ENI...), if any.
fn verdict_before_reading(trigger: &Trigger, now: OffsetDateTime) -> Option<Evaluation> {
    match trigger {
        Trigger::OutOfScope(o) => Some(Evaluation::out_of_scope(o, now)),
        Trigger::RunningTask(event) => {
            crate::domain::evaluation::verdict_before_reading(event, now)
        }
        Trigger::StoppedTask(stop) => stop_verdict_before_reading(stop, now),
        Trigger::Service(_) => None,
    }
}

/// A refused scope as the verdict's reason; a refusal that may pass (AssumeRole kept failing)
/// fails the check, so it is retried.
fn no_access(refused: Refused) -> Result<NoAccess, CheckError> {
    match refused {
        Refused::NotEnrolled(account) => {
            warn!(%account, "event from an account that is not enrolled: not read");
            Ok(NoAccess::NotEnrolled(account))
        }
        Refused::Denied(u) => {
            warn!(reason = %u, "member role not assumable");
            Ok(NoAccess::Denied(u))
        }
        Refused::Failed(e) => Err(CheckError::Aws(e)),
    }
}
