//! The Lambda handler, in the library so that it is tested in-process: a batch of queued ECS
//! events, an EventBridge ECS event, an AWS Config rule invocation or a CloudFormation Lambda
//! Hook invocation in, the printed document out. A failed invocation
//! carries a meaningful `errorType` (Lambda retries it, then keeps the event on the failure
//! destination: nothing is lost silently).

use std::sync::atomic::{AtomicBool, Ordering};

use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;
use thiserror::Error;
use tracing::{debug, error, info, instrument};

use crate::adapters::clients::{ClientFactory, Scope};
use crate::adapters::config_service::ConfigEvaluations;
use crate::adapters::dynamodb::DynamoDedup;
use crate::adapters::lambda::LambdaDispatch;
use crate::adapters::securityhub::SecurityHubFindings;
use crate::adapters::sns::SnsAlerts;
use crate::app::batch::RememberingDedup;
use crate::app::check::{Alerting, CheckError};
use crate::app::checker::{alert_reserve, Checker};
use crate::app::config_rule::{dispatch_scan, run_config_rule, run_work_item};
use crate::app::export::{ExportReport, Exporting};
use crate::app::hook::answer_hook;
use crate::app::settings::LambdaSettings;
use crate::app::AwsChecker;
use crate::domain::config_rule::{
    is_config_invocation, parse_config_invocation, work_item, ConfigRequest, WorkItem,
};
use crate::domain::delivery::CheckReport;
use crate::domain::event::parse_trigger;
use crate::domain::hook::is_hook_invocation;
use crate::domain::queue::{queued_events, QueuedEvent};
use crate::domain::verdict::Severity;
use crate::facts::deadline::Budgeted;
use crate::ports::ReadError;
use crate::render::metrics::emf_lines;
use crate::render::metrics::export_emf_line;

static COLD: AtomicBool = AtomicBool::new(true);

/// Why an invocation failed; the variant name is the Lambda `errorType`.
#[derive(Debug, Error)]
pub enum HandlerError {
    /// The payload is not an event this function understands (not retried usefully).
    #[error("{0}")]
    InvalidInput(String),
    /// AWS kept failing after the SDK's retries (throttling, 5xx, timeouts, connection).
    #[error("{0}")]
    AwsReadFailed(String),
    /// The alert of a NON_COMPLIANT task could not be published.
    #[error("{0}")]
    PublishFailed(String),
    /// AWS Config did not take the evaluations.
    #[error("{0}")]
    ConfigReportFailed(String),
    /// The invocation's time budget ran out before the check could finish; nothing was
    /// published half-way (Lambda retries the event).
    #[error("{0}")]
    TimeBudgetExceeded(String),
}

impl HandlerError {
    /// The Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::InvalidInput(_) => "InvalidInput",
            HandlerError::AwsReadFailed(_) => "AwsReadFailed",
            HandlerError::PublishFailed(_) => "PublishFailed",
            HandlerError::ConfigReportFailed(_) => "ConfigReportFailed",
            HandlerError::TimeBudgetExceeded(_) => "TimeBudgetExceeded",
        }
    }
}

impl From<CheckError> for HandlerError {
    fn from(e: CheckError) -> Self {
        let message = e.to_string();
        match e {
            CheckError::Input(_) => HandlerError::InvalidInput(message),
            CheckError::Publish { .. } => HandlerError::PublishFailed(message),
            // Config refused the report, or kept failing (a refused result token included).
            CheckError::Aws(ReadError::Failed { api, .. }) if api.starts_with("config:") => {
                HandlerError::ConfigReportFailed(message)
            }
            CheckError::Aws(ReadError::Unreadable(u)) if u.api.starts_with("config:") => {
                HandlerError::ConfigReportFailed(message)
            }
            CheckError::Aws(ReadError::OutOfTime { .. }) | CheckError::NotStarted => {
                HandlerError::TimeBudgetExceeded(message)
            }
            CheckError::Aws(_) => HandlerError::AwsReadFailed(message),
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// The invocation's deadline from the Lambda context. `None` when the runtime gave none, or a
/// value that cannot be a time (local emulators such as `cargo lambda watch` send a duration,
/// e.g. 600000): a real deadline is never a day in the past.
fn invocation_deadline(context: &Context) -> Option<Instant> {
    let now = SystemTime::now();
    let deadline = context.deadline();
    if context.deadline == 0 || deadline + Duration::from_secs(86_400) < now {
        debug!(
            deadline_ms = context.deadline,
            "no usable deadline: no time budget"
        );
        return None;
    }
    let left = deadline.duration_since(now).unwrap_or_default();
    debug!(
        deadline_ms = context.deadline,
        left_ms = left.as_millis() as u64,
        "time budget"
    );
    Some(Instant::now() + left)
}

fn epoch_millis() -> u128 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// Everything the function keeps between invocations: clients, fact caches, alerting.
#[derive(Debug)]
pub struct LambdaApp {
    clients: ClientFactory,
    publisher: SnsAlerts,
    /// The DynamoDB dedup table: the open Security Hub findings.
    open_findings: Option<DynamoDedup>,
    /// The alerts' dedup: a key this environment completed is not claimed again.
    dedup: Option<RememberingDedup<DynamoDedup>>,
    min_severity: Severity,
    security_hub: bool,
    config_evaluations: ConfigEvaluations,
    fan_out: Option<LambdaDispatch>,
}

/// CloudWatch Embedded Metric Format: raw JSON lines on stdout become metrics.
fn emit_metrics(report: &CheckReport, exported: &ExportReport) {
    let now = epoch_millis();
    if *exported != ExportReport::default() {
        println!(
            "{}",
            export_emf_line(exported.imported, exported.failed, now)
        );
    }
    for line in emf_lines(&report.evaluation, now) {
        println!("{line}");
    }
}

impl LambdaApp {
    /// Builds every client during init (not on the first event), without calling AWS.
    pub async fn init(settings: &LambdaSettings, clients: ClientFactory) -> Self {
        let alerts = &settings.alerts;
        let topic_arn = alerts.topic_arn.clone().unwrap_or_default();
        let publisher = alerts.publisher(&clients, &topic_arn).await;
        let open_findings = alerts.findings.dedup(&clients).await;
        let dedup = alerts
            .findings
            .dedup(&clients)
            .await
            .map(|store| RememberingDedup::new(store, alerts.findings.dedup_ttl()));
        let config_evaluations = ConfigEvaluations::new(clients.config_service().await);
        // The scheduled Config scan fans out to asynchronous invocations of this function.
        let fan_out = match (settings.config_fan_out, settings.function_name.as_deref()) {
            (true, Some(name)) if !name.is_empty() => {
                Some(LambdaDispatch::new(clients.lambda().await, name))
            }
            _ => None,
        };
        // The default scope's readers are built now; no connection is warmed up: that took
        // AWS calls with invented ids, which CloudTrail records as client errors. The first
        // check opens its connections in its first wave, concurrently.
        clients.reader(&Scope::default()).await;
        LambdaApp {
            clients,
            publisher,
            open_findings,
            dedup,
            min_severity: alerts.findings.min_severity,
            security_hub: alerts.findings.security_hub,
            config_evaluations,
            fan_out,
        }
    }

    /// Handles one invocation.
    #[instrument(skip_all, fields(request_id = %event.context.request_id, cold_start))]
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let cold_start = COLD.swap(false, Ordering::Relaxed);
        tracing::Span::current().record("cold_start", cold_start);
        let deadline = invocation_deadline(&event.context);
        // The deployed shape first: a batch from the queue (its bodies are only ever read as
        // EventBridge events, never as work items or Config invocations).
        let result = if is_hook_invocation(&event.payload) {
            // Never an invocation error: a failed hook invocation would block the stack.
            // Boxed like the other branches: the judgement's future is large.
            Ok(Box::pin(self.handle_hook(&event.payload, deadline)).await)
        } else if let Some(messages) = queued_events(&event.payload) {
            // Boxed, like the other branches' large futures: the handler's own future stays small.
            Ok(Box::pin(self.handle_batch(messages, deadline)).await)
        } else if let Some(item) = work_item(&event.payload) {
            match item {
                Ok(item) => match item.belongs_to(&event.context.invoked_function_arn) {
                    Ok(()) => self.handle_work(&item, deadline).await,
                    // Refused before any AWS call.
                    Err(why) => Err(HandlerError::InvalidInput(why)),
                },
                Err(e) => Err(HandlerError::InvalidInput(e.to_string())),
            }
        } else if is_config_invocation(&event.payload) {
            self.handle_config(event.payload, deadline).await
        } else {
            Box::pin(self.handle_event(event.payload, deadline)).await
        };
        if let Err(e) = &result {
            error!(error_type = e.error_type(), error = %e, "invocation failed");
        }
        result
    }

    /// The check use case, delivering to this function's topic, table and Security Hub.
    fn checker<'a>(&'a self, hub: &'a SecurityHubFindings<'a>) -> AwsChecker<'a> {
        Checker {
            source: &self.clients,
            alerting: Some(Alerting {
                publisher: &self.publisher,
                dedup: self.dedup.as_ref(),
                min_severity: self.min_severity,
            }),
            export: self.security_hub.then_some(Exporting {
                import: hub,
                open: self.open_findings.as_ref(),
                min_severity: self.min_severity,
            }),
            on_checked: emit_metrics,
        }
    }

    async fn handle_event(
        &self,
        payload: Value,
        deadline: Option<Instant>,
    ) -> Result<Value, HandlerError> {
        let trigger = parse_trigger(payload).map_err(CheckError::from)?;
        let hub = SecurityHubFindings::new(&self.clients);
        let report = self.checker(&hub).check(&trigger, deadline).await?;
        serde_json::to_value(&report).map_err(|e| HandlerError::InvalidInput(e.to_string()))
    }

    /// A batch from the queue: every message checked, one alert per deploy, and the messages
    /// to retry handed back (`batchItemFailures`); the batch itself never fails, so a message
    /// that keeps failing reaches the dead-letter queue on its own.
    async fn handle_batch(&self, messages: Vec<QueuedEvent>, deadline: Option<Instant>) -> Value {
        let count = messages.len();
        let hub = SecurityHubFindings::new(&self.clients);
        let outcome = self.checker(&hub).run_batch(messages, deadline).await;
        for (message_id, report) in &outcome.reports {
            // The batch response carries only the failures: each Evaluation is a log line.
            println!(
                "{}",
                serde_json::json!({"messageId": message_id, "report": report})
            );
        }
        info!(
            messages = count,
            failed = outcome.failed.len(),
            "batch checked"
        );
        let failures: Vec<Value> = outcome
            .failed
            .iter()
            .map(|id| serde_json::json!({ "itemIdentifier": id }))
            .collect();
        serde_json::json!({ "batchItemFailures": failures })
    }

    /// A CloudFormation Lambda Hook invocation: the service operation judged before it runs.
    async fn handle_hook(&self, payload: &Value, deadline: Option<Instant>) -> Value {
        let reader = self.clients.reader(&Scope::default()).await;
        let region = self
            .clients
            .sdk_config()
            .await
            .region()
            .map(|r| r.to_string());
        answer_hook(
            payload,
            reader.as_ref(),
            region.as_deref(),
            deadline,
            time::OffsetDateTime::now_utc(),
        )
        .await
    }

    /// AWS Config custom-rule invocation: evaluate the services and PutEvaluations.
    async fn handle_config(
        &self,
        payload: Value,
        deadline: Option<Instant>,
    ) -> Result<Value, HandlerError> {
        let invocation = parse_config_invocation(payload)
            .map_err(|e| HandlerError::InvalidInput(e.to_string()))?;
        let reader = self.clients.reader(&Scope::default()).await;
        if let (ConfigRequest::Scheduled { .. }, Some(dispatch)) =
            (&invocation.request, self.fan_out.as_ref())
        {
            let items = dispatch_scan(&invocation, reader.as_ref(), dispatch).await?;
            return Ok(serde_json::json!({ "workItems": items.len() }));
        }
        let evaluations = match deadline {
            Some(deadline) => {
                let reader = Budgeted::new(reader.as_ref(), deadline, alert_reserve());
                run_config_rule(&invocation, &reader, &self.config_evaluations).await?
            }
            None => run_config_rule(&invocation, reader.as_ref(), &self.config_evaluations).await?,
        };
        info!(count = evaluations.len(), "reported to AWS Config");
        Ok(serde_json::json!({ "configEvaluations": evaluations }))
    }

    /// One share of a fanned-out scheduled scan, within the invocation's time: the reads keep
    /// back what PutEvaluations needs.
    async fn handle_work(
        &self,
        item: &WorkItem,
        deadline: Option<Instant>,
    ) -> Result<Value, HandlerError> {
        let reader = self.clients.reader(&Scope::default()).await;
        let evaluations = match deadline {
            Some(deadline) => {
                let reader = Budgeted::new(reader.as_ref(), deadline, alert_reserve());
                run_work_item(item, &reader, &self.config_evaluations).await?
            }
            None => run_work_item(item, reader.as_ref(), &self.config_evaluations).await?,
        };
        info!(
            count = evaluations.len(),
            "work item reported to AWS Config"
        );
        Ok(serde_json::json!({ "configEvaluations": evaluations }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::InputError;

    #[test]
    fn check_errors_map_to_meaningful_error_types() {
        let cases = [
            (
                CheckError::Input(InputError::NotJson("x".into())),
                "InvalidInput",
            ),
            (
                CheckError::Aws(ReadError::Failed {
                    api: crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
                    message: "503".into(),
                }),
                "AwsReadFailed",
            ),
            (
                CheckError::Aws(ReadError::Failed {
                    api: crate::domain::api::CONFIG_PUT_EVALUATIONS,
                    message: "rejected".into(),
                }),
                "ConfigReportFailed",
            ),
            (
                CheckError::Aws(ReadError::Unreadable(crate::domain::facts::Unreadable {
                    api: crate::domain::api::CONFIG_PUT_EVALUATIONS,
                    reason: "InvalidResultTokenException: the token expired".into(),
                })),
                "ConfigReportFailed",
            ),
            (CheckError::NotStarted, "TimeBudgetExceeded"),
        ];
        for (error, want) in cases {
            let diagnostic = Diagnostic::from(HandlerError::from(error));
            assert_eq!(diagnostic.error_type, want);
            assert!(!diagnostic.error_message.is_empty());
        }
    }

    #[test]
    fn a_deadline_that_cannot_be_a_time_is_no_deadline() {
        let mut context = Context::default();
        assert!(invocation_deadline(&context).is_none(), "none given");
        context.deadline = 600_000; // cargo lambda watch sends a duration
        assert!(invocation_deadline(&context).is_none());
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        context.deadline = now_ms + 30_000;
        let left = invocation_deadline(&context).unwrap() - Instant::now();
        assert!(left > Duration::from_secs(28) && left <= Duration::from_secs(30));
        context.deadline = now_ms - 1_000;
        let spent = invocation_deadline(&context).unwrap();
        assert!(spent <= Instant::now(), "a spent budget stays spent");
    }
}
