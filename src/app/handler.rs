//! The Lambda handler, in the library so that it is tested in-process: a batch of queued ECS
//! events, an EventBridge ECS event, an AWS Config rule invocation or a CloudFormation Lambda
//! Hook invocation in, the printed document out. A failed invocation
//! carries a meaningful `errorType` (Lambda retries it, then keeps the event on the failure
//! destination: nothing is lost silently).

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;
use thiserror::Error;
use tracing::{debug, error, info, instrument};

use crate::adapters::clients::ClientFactory;
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
use crate::domain::config_rule::{parse_config_invocation, ConfigRequest, WorkItem};
use crate::domain::delivery::CheckReport;
use crate::domain::event::parse_trigger;
use crate::domain::invocation::{classify, Invocation};
use crate::domain::queue::QueuedEvent;
use crate::domain::verdict::Severity;
use crate::facts::deadline::Budgeted;
use crate::ports::{
    AlertDedup, AlertPublish, EvaluationsPut, FindingsImport, OpenFindings, ReadError,
    ReaderSource, WorkDispatch,
};
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

/// The outside world of the Lambda app, shaped as the app uses it: where readers come from
/// and where verdicts go. [`AwsPorts`] are the AWS adapters; the in-memory fakes are another
/// set (`facts::fake`), so that the dispatch of every payload is tested without AWS.
pub trait LambdaPorts {
    /// Readers, one per resource scope (own account, or a member account's role).
    type Source: ReaderSource + Debug;
    /// Publishes alerts (SNS).
    type Publisher: AlertPublish + Sync + Debug;
    /// Claims the alerts' dedup keys (DynamoDB).
    type Dedup: AlertDedup + Sync + Debug;
    /// Imports findings into the owning account's Security Hub.
    type Hub: FindingsImport + Debug;
    /// Keeps the open Security Hub findings (DynamoDB).
    type Open: OpenFindings + Debug;
    /// Reports evaluations to AWS Config.
    type Evaluations: EvaluationsPut + Sync + Debug;
    /// Hands a scheduled Config scan's shares to other invocations (Lambda Invoke).
    type FanOut: WorkDispatch + Debug;
}

/// The AWS adapters: what the deployed function uses.
#[derive(Debug)]
pub struct AwsPorts;

impl LambdaPorts for AwsPorts {
    type Source = ClientFactory;
    type Publisher = SnsAlerts;
    type Dedup = DynamoDedup;
    type Hub = SecurityHubFindings;
    type Open = DynamoDedup;
    type Evaluations = ConfigEvaluations;
    type FanOut = LambdaDispatch;
}

/// Everything the function keeps between invocations: readers (and their fact caches), where
/// alerts, findings and Config evaluations go, and the alert policy.
#[derive(Debug)]
pub struct LambdaApp<P: LambdaPorts = AwsPorts> {
    /// Readers per scope, kept for the life of the execution environment.
    pub source: Arc<P::Source>,
    /// The alerts' topic.
    pub publisher: P::Publisher,
    /// The alerts' dedup: a key this environment completed is not claimed again.
    pub dedup: Option<RememberingDedup<P::Dedup>>,
    /// The Security Hub import, when the export is on.
    pub hub: Option<P::Hub>,
    /// The open Security Hub findings (the dedup table).
    pub open_findings: Option<P::Open>,
    /// AWS Config's PutEvaluations.
    pub config_evaluations: P::Evaluations,
    /// The scheduled scan's fan-out, when on.
    pub fan_out: Option<P::FanOut>,
    /// The function's own region (the hook's services are judged there).
    pub region: Option<String>,
    /// Lowest severity that is published or exported.
    pub min_severity: Severity,
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

impl LambdaApp<AwsPorts> {
    /// Builds every client during init (not on the first event), without calling AWS.
    pub async fn init(settings: &LambdaSettings, clients: ClientFactory) -> Self {
        let clients = Arc::new(clients);
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
        let region = clients.sdk_config().await.region().map(|r| r.to_string());
        // The default scope's readers are built now; no connection is warmed up: that took
        // AWS calls with invented ids, which CloudTrail records as client errors. The first
        // check opens its connections in its first wave, concurrently.
        clients.own_reader().await;
        LambdaApp {
            hub: alerts
                .findings
                .security_hub
                .then(|| SecurityHubFindings::new(Arc::clone(&clients))),
            source: clients,
            publisher,
            dedup,
            open_findings,
            config_evaluations,
            fan_out,
            region,
            min_severity: alerts.findings.min_severity,
        }
    }
}

impl<P: LambdaPorts> LambdaApp<P> {
    /// Handles one invocation.
    #[instrument(skip_all, fields(request_id = %event.context.request_id, cold_start))]
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let cold_start = COLD.swap(false, Ordering::Relaxed);
        tracing::Span::current().record("cold_start", cold_start);
        let deadline = invocation_deadline(&event.context);
        let result = match classify(&event.payload) {
            // Never an invocation error: a failed hook invocation would block the stack.
            // Each branch boxed: the judgements' futures are large, the handler's stays small.
            Invocation::Hook => Ok(Box::pin(self.handle_hook(&event.payload, deadline)).await),
            Invocation::Batch(messages) => {
                Ok(Box::pin(self.handle_batch(messages, deadline)).await)
            }
            Invocation::Work(item) => {
                // Refused before any AWS call when it is not this function's own.
                let item = item
                    .map_err(|e| e.to_string())
                    .and_then(|item| {
                        item.belongs_to(&event.context.invoked_function_arn)
                            .map(|()| item)
                    })
                    .map_err(HandlerError::InvalidInput)?;
                Box::pin(self.handle_work(&item, deadline)).await
            }
            Invocation::Config => Box::pin(self.handle_config(event.payload, deadline)).await,
            Invocation::Event => Box::pin(self.handle_event(event.payload, deadline)).await,
        };
        if let Err(e) = &result {
            error!(error_type = e.error_type(), error = %e, "invocation failed");
        }
        result
    }

    /// The check use case, delivering to this function's topic, table and Security Hub.
    #[allow(clippy::type_complexity)]
    fn checker(
        &self,
    ) -> Checker<'_, P::Source, P::Publisher, RememberingDedup<P::Dedup>, P::Hub, P::Open> {
        Checker {
            source: &*self.source,
            alerting: Some(Alerting {
                publisher: &self.publisher,
                dedup: self.dedup.as_ref(),
                min_severity: self.min_severity,
            }),
            export: self.hub.as_ref().map(|hub| Exporting {
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
        let report = self.checker().check(&trigger, deadline).await?;
        serde_json::to_value(&report).map_err(|e| HandlerError::InvalidInput(e.to_string()))
    }

    /// A batch from the queue: every message checked, one alert per deploy, and the messages
    /// to retry handed back (`batchItemFailures`); the batch itself never fails, so a message
    /// that keeps failing reaches the dead-letter queue on its own.
    async fn handle_batch(&self, messages: Vec<QueuedEvent>, deadline: Option<Instant>) -> Value {
        let count = messages.len();
        let outcome = self.checker().run_batch(messages, deadline).await;
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
        let reader = self.source.own_reader().await;
        answer_hook(
            payload,
            reader.as_ref(),
            self.region.as_deref(),
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
        let reader = self.source.own_reader().await;
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
        let reader = self.source.own_reader().await;
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

/// The dispatch of every payload the function receives, through the generic app on the
/// in-memory fakes: the same `handle` the binary runs, without AWS.
#[cfg(test)]
mod dispatch {
    use serde_json::{json, Value};

    use super::*;
    use crate::domain::api;
    use crate::domain::config_rule::work_payload;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::domain::task::TaskDetail;
    use crate::facts::fake::{
        FakeAws, FakeDedup, FakeDispatch, FakeEvaluations, FakeHub, FakeOpenFindings,
        FakePublisher, FakeSource,
    };

    #[derive(Debug)]
    struct FakePorts;

    impl LambdaPorts for FakePorts {
        type Source = FakeSource;
        type Publisher = FakePublisher;
        type Dedup = FakeDedup;
        type Hub = FakeHub;
        type Open = FakeOpenFindings;
        type Evaluations = FakeEvaluations;
        type FanOut = FakeDispatch;
    }

    const ACCOUNT: &str = "123456789012";
    const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/prod";
    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:guard";

    /// The seed's world, with two running tasks of its service `web`.
    fn seed() -> FakeAws {
        let task = |arn: &str| TaskDetail {
            task_arn: arn.into(),
            group: Some("service:web".into()),
            cluster_arn: Some(CLUSTER.into()),
            ..fixture::running_event().0.task
        };
        FakeAws::from_facts(&fixture::seed(), CONTAINER_INSTANCE, "10.0.3.7")
            .with_tasks(vec![task("t1"), task("t2")])
    }

    /// The app as `init` builds it (alerts with dedup, no export, no fan-out), over `aws`.
    fn app(aws: FakeAws) -> LambdaApp<FakePorts> {
        LambdaApp {
            source: Arc::new(FakeSource::new(aws)),
            publisher: FakePublisher::default(),
            dedup: Some(RememberingDedup::new(
                FakeDedup::default(),
                Duration::from_secs(3600),
            )),
            hub: None,
            open_findings: None,
            config_evaluations: FakeEvaluations::default(),
            fan_out: None,
            region: Some("us-east-1".into()),
            min_severity: Severity::High,
        }
    }

    fn calls(app: &LambdaApp<FakePorts>) -> Vec<&'static str> {
        app.source.reader.inner().calls()
    }

    async fn invoke(app: &LambdaApp<FakePorts>, payload: Value) -> Result<Value, HandlerError> {
        let mut context = Context::default();
        context.invoked_function_arn = FUNCTION.into();
        app.handle(LambdaEvent::new(payload, context)).await
    }

    /// The seed task's RUNNING event, as EventBridge sends it.
    fn running() -> Value {
        crate::app::checker::tests::events("aws", "us-east-1", "prod", "web", "x").remove(0)
    }

    fn config(message: Value) -> Value {
        json!({"invokingEvent": message.to_string(), "ruleParameters": "{}", "resultToken": "tok",
            "eventLeftScope": false, "configRuleName": "ecs-inbound-guard", "accountId": ACCOUNT})
    }

    fn sqs(bodies: &[(&str, String)]) -> Value {
        let records: Vec<Value> = bodies
            .iter()
            .map(|(id, body)| {
                json!({"messageId": id, "receiptHandle": "r", "body": body,
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {}})
            })
            .collect();
        json!({ "Records": records })
    }

    #[tokio::test]
    async fn an_eventbridge_event_alerts_once_per_deploy() {
        let app = app(seed());
        let first = invoke(&app, running()).await.unwrap();
        assert_eq!(first["compliance"], "NON_COMPLIANT", "{first:#}");
        assert_eq!(first["alert"]["published"], true, "{first:#}");
        let again = invoke(&app, running()).await.unwrap();
        assert_eq!(again["alert"]["deduplicated"], true, "{again:#}");
        assert_eq!(app.publisher.published.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_alert_that_cannot_be_published_fails_the_invocation_and_frees_its_claim() {
        let mut app = app(seed());
        app.publisher.fail = true;
        let error = invoke(&app, running()).await.unwrap_err();
        assert_eq!(error.error_type(), "PublishFailed", "{error}");
        let log = app
            .dedup
            .as_ref()
            .unwrap()
            .inner()
            .log
            .lock()
            .unwrap()
            .clone();
        assert!(log.last().unwrap().starts_with("release "), "{log:?}");
    }

    #[tokio::test]
    async fn a_queue_batch_alerts_once_and_hands_back_only_what_to_retry() {
        let app = app(seed());
        let batch = sqs(&[("m1", running().to_string()), ("m2", running().to_string())]);
        let out = invoke(&app, batch.clone()).await.unwrap();
        assert_eq!(out, json!({"batchItemFailures": []}));
        assert_eq!(app.publisher.published.lock().unwrap().len(), 1);

        let mut failing = self::app(seed());
        failing.publisher.fail = true;
        let out = invoke(&failing, batch).await.unwrap();
        let ids: Vec<&str> = out["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["m1", "m2"], "{out:#}");
    }

    #[tokio::test]
    async fn a_hook_invocation_is_judged_and_never_an_invocation_error() {
        let create = crate::app::hook::tests::request("CREATE_PRE_PROVISION", json!([]));
        let app = app(crate::app::preflight::tests::world(&fixture::seed()));
        let out = invoke(&app, create.clone()).await.unwrap();
        assert_eq!(out["hookStatus"], "FAILED", "{out:#}");
        assert!(
            app.publisher.published.lock().unwrap().is_empty(),
            "a hook never alerts"
        );

        let unreadable = self::app(
            crate::app::preflight::tests::world(&fixture::seed()).failing(
                api::EC2_DESCRIBE_SUBNETS,
                ReadError::Failed {
                    api: api::EC2_DESCRIBE_SUBNETS,
                    message: "Throttling".into(),
                },
            ),
        );
        let out = invoke(&unreadable, create).await.unwrap();
        assert_eq!(out["hookStatus"], "SUCCESS", "{out:#}");
    }

    #[tokio::test]
    async fn a_config_change_is_evaluated_and_reported_to_config() {
        let app = app(seed());
        let item = json!({"resourceType": "AWS::ECS::Service",
            "resourceId": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
            "ARN": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
            "configurationItemCaptureTime": "2026-01-01T00:00:00.000Z",
            "configurationItemStatus": "OK",
            "configuration": {"Cluster": CLUSTER, "ServiceName": "web"}});
        let out = invoke(
            &app,
            config(json!({"messageType": "ConfigurationItemChangeNotification",
            "configurationItem": item})),
        )
        .await
        .unwrap();
        let reported = app.config_evaluations.0.lock().unwrap().clone();
        assert_eq!(reported.len(), 1, "{out:#}");
        assert_eq!(reported[0].compliance_type, "NON_COMPLIANT", "{reported:?}");
        assert_eq!(
            out["configEvaluations"][0]["complianceType"],
            "NON_COMPLIANT"
        );
        assert!(
            app.publisher.published.lock().unwrap().is_empty(),
            "Config mode never alerts"
        );
    }

    #[tokio::test]
    async fn a_scheduled_scan_fans_out_when_on_and_is_evaluated_here_when_off() {
        let scheduled = config(json!({"messageType": "ScheduledNotification",
            "notificationCreationTime": "2026-01-01T00:00:00.000Z"}));
        let mut fanning = app(seed());
        fanning.fan_out = Some(FakeDispatch::default());
        let out = invoke(&fanning, scheduled.clone()).await.unwrap();
        assert_eq!(out, json!({"workItems": 1}));
        assert_eq!(fanning.fan_out.as_ref().unwrap().0.lock().unwrap().len(), 1);
        assert!(fanning.config_evaluations.0.lock().unwrap().is_empty());

        let alone = app(seed());
        let out = invoke(&alone, scheduled).await.unwrap();
        assert_eq!(
            out["configEvaluations"].as_array().unwrap().len(),
            1,
            "{out:#}"
        );
        assert_eq!(alone.config_evaluations.0.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_work_item_is_run_only_for_this_functions_account_and_region() {
        let item = |cluster: &str| {
            work_payload(&WorkItem {
                cluster: cluster.into(),
                services: vec!["web".into()],
                result_token: "tok".into(),
                time: None,
            })
        };
        let app = app(seed());
        let out = invoke(&app, item(CLUSTER)).await.unwrap();
        assert_eq!(
            out["configEvaluations"][0]["complianceType"], "NON_COMPLIANT",
            "{out:#}"
        );

        let other = self::app(seed());
        let forged = item("arn:aws:ecs:us-east-1:999999999999:cluster/prod");
        let error = invoke(&other, forged).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidInput", "{error}");
        assert!(
            calls(&other).is_empty(),
            "refused before any read: {:?}",
            calls(&other)
        );
    }

    #[tokio::test]
    async fn the_security_hub_export_gets_the_findings_of_an_alerted_task() {
        let mut app = app(seed());
        app.hub = Some(FakeHub::default());
        app.open_findings = Some(FakeOpenFindings::default());
        invoke(&app, running()).await.unwrap();
        let batches = app.hub.as_ref().unwrap().batches.lock().unwrap().clone();
        assert_eq!(batches.len(), 1, "{batches:?}");
        assert!(!batches[0].is_empty());
    }

    #[tokio::test]
    async fn a_payload_of_no_known_shape_is_invalid_input_without_a_read() {
        let app = app(seed());
        for payload in [
            json!({"hello": "world"}),
            json!({"invokingEvent": "{not json", "resultToken": "t"}),
            json!({ crate::domain::config_rule::WORK_ITEM_KEY: {"cluster": 7} }),
        ] {
            let error = invoke(&app, payload.clone()).await.unwrap_err();
            assert_eq!(error.error_type(), "InvalidInput", "{payload}: {error}");
        }
        assert!(calls(&app).is_empty(), "{:?}", calls(&app));
    }
}
