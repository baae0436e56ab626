//! The one check use case: a trigger → the reader of its resource's scope → facts → verdict →
//! the alert (once per dedup key) → the Security Hub export → metrics. Every trigger that gets
//! an alert comes through here: the Lambda (a bare event, each message of a queue batch) and
//! `check --event`. Generic over where readers come from ([`ReaderSource`]), so the Lambda's
//! dispatch is tested with the in-memory fake as well as against moto.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tracing::{info, instrument, warn};

use crate::adapters::clients::OPERATION_TIMEOUT;
use crate::app::check::{deliver, read_and_evaluate, verdict_before_reading, Alerting, CheckError};
use crate::app::export::{export_findings, ExportReport, Exporting};
use crate::domain::delivery::CheckReport;
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
            None => read_and_evaluate(trigger, reader.as_ref()).await?,
            Some(deadline) => {
                // Keep what the alert needs (half the budget when that is shorter, e.g. the
                // 3 s Lambda default); a check that does not publish keeps nothing.
                let half = deadline.saturating_duration_since(Instant::now()) / 2;
                let reserve = match self.alerting {
                    Some(_) => alert_reserve().min(half),
                    None => Duration::ZERO,
                };
                let budgeted = Budgeted::new(reader.as_ref(), deadline, reserve);
                read_and_evaluate(trigger, &budgeted).await?
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

#[cfg(test)]
pub(crate) mod tests {
    //! Hostile identifiers through the whole use case, for every trigger (issue #23): names at
    //! AWS's length limits, other partitions, Unicode controls, line separators and
    //! bidirectional overrides. On the fake account, a capped number of cases.
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;
    use crate::app::check::tests::checker;
    use crate::domain::event::parse_trigger;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::domain::security_hub::{export_plan, OpenRules, MAX_FINDING_ID_CHARS};
    use crate::domain::verdict::Severity;
    use crate::facts::fake::{FakeAws, FakeDedup, FakePublisher, FakeSource};
    use crate::render::sns::SNS_MAX_BYTES;

    fn hostile() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9_-]{1,255}",
            Just("\u{202E}gnp.exe\u{2028}[HIGH] FAKE\u{2029}@channel <!here>".to_string()),
            "[\\u{0}-\\u{1f}\\u{2028}\\u{2029}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}a-z`*_<>&\"]{1,64}",
            Just("é".repeat(1024)),
        ]
    }

    fn partition() -> impl Strategy<Value = (&'static str, &'static str)> {
        prop::sample::select(vec![
            ("aws", "us-east-1"),
            ("aws-cn", "cn-north-1"),
            ("aws-us-gov", "us-gov-west-1"),
        ])
    }

    /// One event of each kind, naming `cluster`, `service` and `reason`.
    pub(crate) fn events(
        p: &str,
        region: &str,
        cluster: &str,
        service: &str,
        reason: &str,
    ) -> Vec<Value> {
        let account = "123456789012";
        let cluster_arn = format!("arn:{p}:ecs:{region}:{account}:cluster/{cluster}");
        let task_arn = format!("arn:{p}:ecs:{region}:{account}:task/{cluster}/abc");
        // The running task is the fake world's service (`web`), so its verdict is made and its
        // alert names the hostile cluster; the stops carry the hostile reason.
        let task = |status: &str, group: &str, stopped: String| {
            json!({"taskArn": task_arn, "clusterArn": cluster_arn, "taskDefinitionArn": "arn:td",
                "group": group, "startedBy": "ecs-svc/1", "launchType": "EC2",
                "lastStatus": status, "desiredStatus": status, "stoppedReason": stopped,
                "stopCode": "TaskFailedToStart", "containerInstanceArn": CONTAINER_INSTANCE,
                "attachments": [{"type": "eni", "details": [
                    {"name": "networkInterfaceId", "value": "eni-1"},
                    {"name": "subnetId", "value": "subnet-task"},
                    {"name": "privateIPv4Address", "value": "10.0.3.7"}]}]})
        };
        let envelope = |detail_type: &str, resource: &str, detail: Value| {
            json!({"version": "0", "id": "e", "detail-type": detail_type, "source": "aws.ecs",
                "account": account, "region": region, "resources": [resource], "detail": detail})
        };
        let service_arn = format!("arn:{p}:ecs:{region}:{account}:service/{cluster}/{service}");
        vec![
            envelope(
                "ECS Task State Change",
                &task_arn,
                task("RUNNING", "service:web", String::new()),
            ),
            envelope(
                "ECS Task State Change",
                &task_arn,
                task(
                    "STOPPED",
                    &format!("service:{service}"),
                    format!("CannotPullContainerError: {reason}"),
                ),
            ),
            envelope(
                "ECS Task State Change",
                &task_arn,
                task(
                    "STOPPED",
                    "service:web",
                    format!("Task failed ELB health checks in (target-group {reason})"),
                ),
            ),
            envelope(
                "ECS Deployment State Change",
                &service_arn,
                json!({"eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED",
                    "deploymentId": "ecs-svc/1", "reason": reason}),
            ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn hostile_identifiers_give_a_verdict_an_alert_that_fits_and_ids_within_limits(
            cluster in hostile(), service in hostile(), reason in hostile(), (p, region) in partition()
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            for event in events(p, region, &cluster, &service, &reason) {
                let Ok(trigger) = parse_trigger(event) else { continue };
                let source = FakeSource::new(FakeAws::from_facts(&fixture::seed(), CONTAINER_INSTANCE, "10.0.3.7"));
                let (publisher, dedup) = (FakePublisher::default(), FakeDedup::default());
                let alerting = Alerting { publisher: &publisher, dedup: Some(&dedup), min_severity: Severity::Low };
                let report = runtime.block_on(checker(&source, alerting).check(&trigger, None));
                let Ok(report) = report else { continue };
                for alert in publisher.published.lock().unwrap().iter() {
                    prop_assert!(alert.message_json.len() <= SNS_MAX_BYTES);
                    let parts: Value = serde_json::from_str(&alert.message_json).unwrap();
                    for part in ["sqs", "lambda", "https"] {
                        prop_assert!(parts[part].is_string(), "part {} kept", part);
                    }
                    let breaks = |c: char| c.is_control() || ('\u{2028}'..='\u{202E}').contains(&c);
                    prop_assert!(!alert.subject.chars().any(breaks), "subject {:?}", alert.subject);
                    prop_assert!(!alert.body.lines().any(|l| l.starts_with("[HIGH] FAKE")), "forged line");
                }
                if let Some(plan) = export_plan(&report.evaluation, Severity::Low, &OpenRules::new(), "2026-01-01T00:00:00Z") {
                    for f in plan.findings {
                        prop_assert!(f.id.chars().count() <= MAX_FINDING_ID_CHARS, "{}", f.id.len());
                    }
                }
            }
        }
    }
}
