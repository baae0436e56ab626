//! The deployed shape's trigger: EventBridge puts each ECS event on an SQS queue, and Lambda's
//! SQS poller hands the function a batch of messages, each body one EventBridge event. This
//! module reads that envelope and groups a batch's events by what their checks share.

use serde_json::Value;

use crate::domain::event::Trigger;
use crate::domain::task::TaskDetail;

/// One queued event: the SQS message id (what a partial batch failure names) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    /// `messageId`.
    pub message_id: String,
    /// `body`: the EventBridge event as text.
    pub body: String,
}

/// The messages of an SQS batch event (`Records`, each `eventSource` `aws:sqs`); `None` for
/// any other payload. A record without a message id cannot be reported back and is left out
/// (Lambda's poller always sends one).
pub fn queued_events(payload: &Value) -> Option<Vec<QueuedEvent>> {
    let records = payload.get("Records")?.as_array()?;
    let from_sqs = !records.is_empty()
        && records
            .iter()
            .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"));
    if !from_sqs {
        return None;
    }
    Some(
        records
            .iter()
            .filter_map(|r| {
                Some(QueuedEvent {
                    message_id: r.get("messageId")?.as_str()?.to_string(),
                    body: r
                        .get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
            })
            .collect(),
    )
}

/// What a batch's checks share: the same account, region, cluster, service and deployment
/// read the same task definition, service, subnets, groups and load-balancer path. Events
/// with the same key are checked one after the other's facts are cached.
pub fn group_key(trigger: &Trigger) -> String {
    let scope = trigger.scope().unwrap_or_default();
    let of_task = |task: &TaskDetail| {
        format!(
            "{}|{}|{}",
            task.cluster_arn.as_deref().unwrap_or_default(),
            task.group.as_deref().unwrap_or(&task.task_arn),
            task.started_by.as_deref().unwrap_or_default()
        )
    };
    let rest = match trigger {
        Trigger::RunningTask(event) => of_task(&event.task),
        Trigger::StoppedTask(stop) => of_task(&stop.event.task),
        Trigger::Service(event) => event.service_arn.clone(),
        Trigger::OutOfScope(_) => String::new(),
    };
    format!(
        "{}|{}|{rest}",
        scope.account.unwrap_or_default(),
        scope.region.unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::parse_trigger;
    use serde_json::json;

    fn task_event(task: &str, group: &str, started_by: &str) -> Value {
        json!({"version": "0", "id": task, "detail-type": "ECS Task State Change",
            "source": "aws.ecs", "account": "111122223333", "region": "us-east-1",
            "detail": {"taskArn": format!("arn:aws:ecs:us-east-1:111122223333:task/prod/{task}"),
                "clusterArn": "arn:aws:ecs:us-east-1:111122223333:cluster/prod",
                "group": group, "startedBy": started_by,
                "lastStatus": "RUNNING", "desiredStatus": "RUNNING"}})
    }

    #[test]
    fn an_sqs_batch_gives_its_messages_and_nothing_else_is_one() {
        let batch = json!({"Records": [
            {"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"},
            {"messageId": "m2", "body": "x", "eventSource": "aws:sqs"},
            {"body": "no id", "eventSource": "aws:sqs"}]});
        let messages = queued_events(&batch).unwrap();
        assert_eq!(
            messages
                .iter()
                .map(|m| m.message_id.as_str())
                .collect::<Vec<_>>(),
            ["m1", "m2"]
        );
        assert_eq!(messages[1].body, "x");
        for other in [
            json!({"Records": []}),
            json!({"Records": [{"messageId": "m", "eventSource": "aws:sns"}]}),
            json!({"detail-type": "ECS Task State Change"}),
            json!([1]),
        ] {
            assert!(queued_events(&other).is_none(), "{other}");
        }
    }

    #[test]
    fn tasks_of_one_service_and_deployment_share_a_group() {
        let key = |v: Value| group_key(&parse_trigger(v).unwrap());
        let a = key(task_event("a", "service:web", "ecs-svc/1"));
        assert_eq!(a, key(task_event("b", "service:web", "ecs-svc/1")));
        assert_ne!(a, key(task_event("c", "service:web", "ecs-svc/2")));
        assert_ne!(a, key(task_event("d", "service:api", "ecs-svc/1")));
    }
}
