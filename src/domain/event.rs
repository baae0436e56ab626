//! Parsing of the Lambda/CLI input: an EventBridge envelope carrying an *ECS Task State Change*.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde_json::Value;
use thiserror::Error;

use super::org::ResourceScope;
use super::stop_reason::{
    classify_stop, StopCause, StopKind, DEPLOYMENT_STATE_CHANGE, SERVICE_ACTION,
};
use super::task::TaskDetail;
use super::text::truncate_chars;

/// The EventBridge `detail-type` this checker evaluates.
pub const TASK_STATE_CHANGE: &str = "ECS Task State Change";
/// Config resource type of task evaluations.
pub const TASK_RESOURCE_TYPE: &str = "AWS::ECS::Task";

/// Input that cannot be evaluated at all (as opposed to input that is out of scope).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputError {
    /// The bytes are not JSON.
    #[error("input is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not an EventBridge envelope (`detail-type`, `source`, `detail`).
    #[error("input is not an EventBridge event: {0}")]
    NotEventBridge(String),
    /// An ECS Task State Change whose `detail` lacks a required field or has a wrong type.
    #[error("malformed ECS Task State Change event: {0}")]
    MalformedTaskEvent(String),
}

/// What the input turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// An ECS Task State Change for a task that is RUNNING: to be evaluated.
    RunningTask(Box<TaskEvent>),
    /// A STOPPED task whose reason is diagnosed (health-check kill, start failure).
    StoppedTask(Box<StoppedTask>),
    /// A failed deployment or a service whose tasks keep failing to start.
    Service(Box<ServiceEvent>),
    /// Anything else that is well formed: NOT_APPLICABLE without any AWS call.
    OutOfScope(OutOfScope),
}

impl Trigger {
    /// Where the trigger's facts live (`None` for an out-of-scope event, which reads nothing).
    pub fn scope(&self) -> Option<ResourceScope> {
        match self {
            Trigger::OutOfScope(_) => None,
            Trigger::RunningTask(event) => Some(event.scope()),
            Trigger::StoppedTask(stop) => Some(stop.event.scope()),
            Trigger::Service(event) => Some(ResourceScope::of(
                Some(&event.service_arn),
                event.account.as_deref(),
                event.region.as_deref(),
            )),
        }
    }
}

impl TaskEvent {
    /// The task's account and region: its ARN's, else the envelope's.
    pub fn scope(&self) -> ResourceScope {
        ResourceScope::of(
            Some(&self.task.task_arn),
            self.account.as_deref(),
            self.region.as_deref(),
        )
    }
}

/// A well-formed event this checker does not evaluate, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfScope {
    /// `resources[0]`, the task ARN, or the event id, in that order.
    pub resource_id: String,
    /// The EventBridge event id, when present.
    pub event_id: Option<String>,
    /// A short explanation, used as the Config annotation.
    pub reason: String,
    /// `AWS::ECS::Task` for task events (e.g. a STOPPED task), else `AWS::Events::Event`.
    pub resource_type: &'static str,
}

/// The envelope fields of a task event plus its typed detail.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEvent {
    /// EventBridge event id.
    pub event_id: Option<String>,
    /// The envelope's account (the task ARN's is trusted over it).
    pub account: Option<String>,
    /// Region of the event; the facts are read there.
    pub region: Option<String>,
    /// The typed `detail`.
    pub task: TaskDetail,
}

/// A STOPPED task whose reason this checker diagnoses.
#[derive(Debug, Clone, PartialEq)]
pub struct StoppedTask {
    /// The task, as its state-change event (or DescribeTasks) tells it.
    pub event: TaskEvent,
    /// `stoppedReason`.
    pub stopped_reason: String,
    /// `stopCode`, when present.
    pub stop_code: Option<String>,
    /// The diagnosis' starting point.
    pub cause: StopCause,
}

impl StoppedTask {
    /// What happened.
    pub fn kind(&self) -> StopKind {
        match self.cause {
            StopCause::HealthCheck { .. } => StopKind::HealthCheckKill,
            StopCause::StartFailure { .. } => StopKind::StartFailure,
        }
    }
}

/// A service-level event: a failed deployment or tasks that keep failing to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEvent {
    /// EventBridge event id.
    pub event_id: Option<String>,
    /// Region of the event.
    pub region: Option<String>,
    /// The envelope's account (the service ARN's is trusted over it).
    pub account: Option<String>,
    /// DeploymentFailed or TaskStartImpaired.
    pub kind: StopKind,
    /// The service ARN (`resources[0]`).
    pub service_arn: String,
    /// The cluster: `detail.clusterArn`, else the cluster named in a long service ARN.
    pub cluster: Option<String>,
    /// The service name (last part of the ARN).
    pub service_name: String,
    /// `detail.deploymentId` (deployment events).
    pub deployment_id: Option<String>,
    /// `detail.reason`, when present.
    pub reason: Option<String>,
}

impl ServiceEvent {
    /// Builds one from a service ARN: `arn:...:service/CLUSTER/NAME` (long) or `service/NAME`.
    pub fn names(service_arn: &str) -> (Option<String>, String) {
        let path = service_arn
            .split_once(":service/")
            .map_or(service_arn, |(_, p)| p);
        match path.split_once('/') {
            Some((cluster, name)) => (Some(cluster.to_string()), name.to_string()),
            None => (None, path.to_string()),
        }
    }
}

/// The trigger for a task read from the ECS API (audit, `check --task`, Config mode): a RUNNING
/// task is evaluated, any other is out of scope, exactly as its state-change event would be.
pub fn task_trigger(task: TaskDetail, region: Option<&str>) -> Trigger {
    let region = region.map(str::to_string);
    match task.last_status.as_deref() {
        Some("RUNNING") => Trigger::RunningTask(Box::new(TaskEvent {
            event_id: None,
            account: None,
            region,
            task,
        })),
        Some("STOPPED") => stopped(TaskEvent {
            event_id: None,
            account: None,
            region,
            task,
        }),
        other => Trigger::OutOfScope(OutOfScope {
            resource_id: task.task_arn.clone(),
            event_id: None,
            reason: not_running(other),
            resource_type: TASK_RESOURCE_TYPE,
        }),
    }
}

/// A STOPPED task: diagnosed when its reason is one this checker knows, else out of scope.
fn stopped(event: TaskEvent) -> Trigger {
    let t = &event.task;
    match classify_stop(t.stopped_reason.as_deref(), t.stop_code.as_deref()) {
        Some(cause) => Trigger::StoppedTask(Box::new(StoppedTask {
            stopped_reason: t.stopped_reason.clone().unwrap_or_default(),
            stop_code: t.stop_code.clone(),
            cause,
            event,
        })),
        None => Trigger::OutOfScope(OutOfScope {
            resource_id: t.task_arn.clone(),
            event_id: event.event_id.clone(),
            reason: not_running(Some("STOPPED")),
            resource_type: TASK_RESOURCE_TYPE,
        }),
    }
}

fn not_running(last_status: Option<&str>) -> String {
    format!(
        "task is {}, not RUNNING",
        truncate_chars(last_status.unwrap_or("of unknown status"), 40)
    )
}

/// The UTF-8 byte-order mark several SDKs' sample events start with.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses raw input bytes (CLI) into a [`Trigger`]; one leading UTF-8 byte-order mark is
/// skipped.
pub fn parse_trigger_bytes(input: &[u8]) -> Result<Trigger, InputError> {
    let input = input.strip_prefix(UTF8_BOM).unwrap_or(input);
    let value: Value =
        serde_json::from_slice(input).map_err(|e| InputError::NotJson(e.to_string()))?;
    parse_trigger(value)
}

/// Parses a JSON value (Lambda payload) into a [`Trigger`], in the documented order of
/// judgement: envelope → detail-type → taskArn → lastStatus → typed detail.
pub fn parse_trigger(value: Value) -> Result<Trigger, InputError> {
    if !value.is_object() {
        return Err(InputError::NotEventBridge("expected a JSON object".into()));
    }
    let envelope: EventBridgeEvent<Value> =
        serde_json::from_value(value).map_err(|e| InputError::NotEventBridge(e.to_string()))?;
    let resource0 = envelope
        .resources
        .as_ref()
        .and_then(|r| r.first().cloned())
        .filter(|r| !r.is_empty());
    let fallback_id = || {
        resource0
            .clone()
            .or_else(|| envelope.id.clone())
            .unwrap_or_else(|| "unknown".to_string())
    };

    if envelope.detail_type == DEPLOYMENT_STATE_CHANGE || envelope.detail_type == SERVICE_ACTION {
        if let Some(event) = service_event(&envelope, resource0.as_deref()) {
            return Ok(Trigger::Service(Box::new(event)));
        }
    }
    if envelope.detail_type != TASK_STATE_CHANGE {
        let what = match envelope.detail_type.as_str() {
            DEPLOYMENT_STATE_CHANGE | SERVICE_ACTION => {
                "is not SERVICE_DEPLOYMENT_FAILED or SERVICE_TASK_START_IMPAIRED for a service"
            }
            _ => "is not an ECS Task State Change",
        };
        return Ok(Trigger::OutOfScope(OutOfScope {
            resource_id: fallback_id(),
            event_id: envelope.id.clone(),
            reason: format!(
                "event type '{}' from '{}' {what}",
                truncate_chars(&envelope.detail_type, 80),
                truncate_chars(&envelope.source, 40)
            ),
            resource_type: "AWS::Events::Event",
        }));
    }

    let detail = envelope
        .detail
        .as_object()
        .ok_or_else(|| InputError::MalformedTaskEvent("`detail` is not an object".into()))?;
    let task_arn = match detail.get("taskArn") {
        Some(Value::String(arn)) if !arn.is_empty() => arn.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(InputError::MalformedTaskEvent(
                "`detail.taskArn` is missing".into(),
            ))
        }
        Some(_) => {
            return Err(InputError::MalformedTaskEvent(
                "`detail.taskArn` is not a string".into(),
            ))
        }
    };
    let last_status = detail.get("lastStatus").and_then(Value::as_str);
    let text = |field: &str| detail.get(field).and_then(Value::as_str);
    let diagnosed_stop = last_status == Some("STOPPED")
        && classify_stop(text("stoppedReason"), text("stopCode")).is_some();
    if last_status != Some("RUNNING") && !diagnosed_stop {
        return Ok(Trigger::OutOfScope(OutOfScope {
            resource_id: task_arn,
            event_id: envelope.id.clone(),
            reason: not_running(last_status),
            resource_type: TASK_RESOURCE_TYPE,
        }));
    }
    let task: TaskDetail = serde_json::from_value(envelope.detail)
        .map_err(|e| InputError::MalformedTaskEvent(e.to_string()))?;
    let event = TaskEvent {
        event_id: envelope.id,
        account: envelope.account.filter(|a| !a.is_empty()),
        region: envelope.region.filter(|r| !r.is_empty()),
        task,
    };
    if diagnosed_stop {
        return Ok(stopped(event));
    }
    Ok(Trigger::RunningTask(Box::new(event)))
}

/// A `SERVICE_DEPLOYMENT_FAILED` or `SERVICE_TASK_START_IMPAIRED` event naming a service ARN;
/// `None` for every other service event.
fn service_event(
    envelope: &EventBridgeEvent<Value>,
    resource0: Option<&str>,
) -> Option<ServiceEvent> {
    let detail = envelope.detail.as_object()?;
    let text = |field: &str| {
        detail
            .get(field)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let kind = match (envelope.detail_type.as_str(), text("eventName").as_deref()) {
        (DEPLOYMENT_STATE_CHANGE, Some("SERVICE_DEPLOYMENT_FAILED")) => StopKind::DeploymentFailed,
        (SERVICE_ACTION, Some("SERVICE_TASK_START_IMPAIRED")) => StopKind::TaskStartImpaired,
        _ => return None,
    };
    let service_arn = resource0.filter(|r| r.contains(":service/"))?.to_string();
    let (cluster_in_arn, service_name) = ServiceEvent::names(&service_arn);
    Some(ServiceEvent {
        event_id: envelope.id.clone(),
        region: envelope.region.clone().filter(|r| !r.is_empty()),
        account: envelope.account.clone().filter(|a| !a.is_empty()),
        kind,
        cluster: text("clusterArn").or(cluster_in_arn),
        service_name,
        deployment_id: text("deploymentId"),
        reason: text("reason").map(|r| truncate_chars(&r, 1000)),
        service_arn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::task::EniAttachment;
    use serde_json::json;

    #[test]
    fn service_names_come_from_long_and_short_arns() {
        assert_eq!(
            ServiceEvent::names("arn:aws:ecs:us-east-1:1:service/prod/web"),
            (Some("prod".into()), "web".into())
        );
        assert_eq!(
            ServiceEvent::names("arn:aws:ecs:us-east-1:1:service/web"),
            (None, "web".into())
        );
    }

    fn envelope(detail_type: &str, detail: Value) -> Value {
        json!({"version":"0","id":"ev-1","detail-type":detail_type,"source":"aws.ecs",
               "account":"111122223333","time":"2025-05-02T10:15:42Z","region":"us-east-1",
               "resources":["arn:aws:ecs:us-east-1:111122223333:task/prod/abc"],"detail":detail})
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(matches!(
            parse_trigger_bytes(b"{not json"),
            Err(InputError::NotJson(_))
        ));
    }

    #[test]
    fn json_without_envelope_is_an_error() {
        for input in [
            json!({"taskArn": "x"}),
            json!([1, 2]),
            json!("s"),
            json!(null),
        ] {
            assert!(
                matches!(
                    parse_trigger(input.clone()),
                    Err(InputError::NotEventBridge(_))
                ),
                "{input}"
            );
        }
    }

    #[test]
    fn other_detail_type_is_out_of_scope_with_resource0() {
        let t = parse_trigger(envelope(
            "EC2 Instance State-change Notification",
            json!({}),
        ))
        .unwrap();
        match t {
            Trigger::OutOfScope(o) => {
                assert_eq!(
                    o.resource_id,
                    "arn:aws:ecs:us-east-1:111122223333:task/prod/abc"
                );
                assert!(o.reason.contains("not an ECS Task State Change"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn other_detail_type_without_resources_uses_event_id() {
        let mut v = envelope("Scheduled Event", json!({}));
        v.as_object_mut().unwrap().remove("resources");
        match parse_trigger(v).unwrap() {
            Trigger::OutOfScope(o) => assert_eq!(o.resource_id, "ev-1"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn task_event_without_task_arn_is_an_error() {
        for detail in [
            json!({"lastStatus":"RUNNING"}),
            json!({"taskArn": 5}),
            json!("x"),
        ] {
            assert!(matches!(
                parse_trigger(envelope(TASK_STATE_CHANGE, detail)),
                Err(InputError::MalformedTaskEvent(_))
            ));
        }
    }

    #[test]
    fn stopped_task_is_out_of_scope_before_other_validation() {
        // `containers` has the wrong type, but a STOPPED task is never validated further.
        let t = parse_trigger(envelope(
            TASK_STATE_CHANGE,
            json!({"taskArn":"arn:t","lastStatus":"STOPPED","containers":"oops"}),
        ))
        .unwrap();
        match t {
            Trigger::OutOfScope(o) => {
                assert_eq!(o.resource_id, "arn:t");
                assert!(o.reason.contains("STOPPED"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn running_task_with_wrong_field_type_is_an_error() {
        let r = parse_trigger(envelope(
            TASK_STATE_CHANGE,
            json!({"taskArn":"arn:t","lastStatus":"RUNNING","containers":"oops"}),
        ));
        assert!(matches!(r, Err(InputError::MalformedTaskEvent(_))));
    }

    #[test]
    fn eni_attachment_accepts_both_type_spellings_and_ignores_unknown_fields() {
        for kind in ["eni", "ElasticNetworkInterface"] {
            let t = parse_trigger(envelope(
                TASK_STATE_CHANGE,
                json!({"taskArn":"arn:t","lastStatus":"RUNNING","unknownField":{"a":1},
                       "attachments":[{"id":"att-1","type":kind,"status":"ATTACHED","details":[
                         {"name":"subnetId","value":"subnet-1"},
                         {"name":"networkInterfaceId","value":"eni-1"},
                         {"name":"privateIPv4Address","value":"10.0.1.5"}]}]}),
            ))
            .unwrap();
            let Trigger::RunningTask(ev) = t else {
                panic!("not a task")
            };
            assert_eq!(
                ev.task.eni_attachment(),
                Some(EniAttachment {
                    network_interface_id: "eni-1".into(),
                    subnet_id: Some("subnet-1".into()),
                    private_ipv4_address: Some("10.0.1.5".into()),
                })
            );
        }
    }

    #[test]
    fn one_leading_byte_order_mark_is_skipped() {
        let event =
            br#"{"version":"0","id":"e1","detail-type":"Other","source":"aws.ecs","detail":{}}"#;
        let with_bom = [UTF8_BOM, event.as_slice()].concat();
        assert!(matches!(
            parse_trigger_bytes(&with_bom),
            Ok(Trigger::OutOfScope(_))
        ));
        let two_boms = [UTF8_BOM, UTF8_BOM, event.as_slice()].concat();
        assert!(matches!(
            parse_trigger_bytes(&two_boms),
            Err(InputError::NotJson(_))
        ));
    }
}
