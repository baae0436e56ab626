//! What an invocation of the function carries, told apart by its shape: one entry point serves
//! five event sources (the queue, EventBridge, AWS Config, the function's own fan-out and
//! CloudFormation's hooks), and none of them says which it is.

use serde_json::Value;

use crate::domain::config_rule::{is_config_invocation, work_item, WorkItem};
use crate::domain::event::InputError;
use crate::domain::hook::is_hook_invocation;
use crate::domain::queue::{queued_events, QueuedEvent};

/// One invocation's payload, by source.
#[derive(Debug)]
pub enum Invocation {
    /// A CloudFormation Lambda Hook request: answered, never failed.
    Hook,
    /// A batch of the queue's messages, each body an EventBridge event (the deployed shape).
    Batch(Vec<QueuedEvent>),
    /// A share of a scheduled Config scan that the function handed to itself.
    Work(Result<WorkItem, InputError>),
    /// An AWS Config custom-rule invocation.
    Config,
    /// Anything else is read as one EventBridge event (and refused there when it is not).
    Event,
}

/// The source of `payload`. The shapes do not overlap (a hook request has `requestData`, a
/// batch `Records` from `aws:sqs`, a work item its own key, Config `invokingEvent` and
/// `resultToken`); a queue's bodies are only ever read as EventBridge events.
pub fn classify(payload: &Value) -> Invocation {
    if is_hook_invocation(payload) {
        Invocation::Hook
    } else if let Some(messages) = queued_events(payload) {
        Invocation::Batch(messages)
    } else if let Some(item) = work_item(payload) {
        Invocation::Work(item)
    } else if is_config_invocation(payload) {
        Invocation::Config
    } else {
        Invocation::Event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::config_rule::{work_payload, WORK_ITEM_KEY};
    use serde_json::json;

    fn kind(payload: &Value) -> &'static str {
        match classify(payload) {
            Invocation::Hook => "hook",
            Invocation::Batch(_) => "batch",
            Invocation::Work(Ok(_)) => "work",
            Invocation::Work(Err(_)) => "malformed work",
            Invocation::Config => "config",
            Invocation::Event => "event",
        }
    }

    #[test]
    fn each_source_is_told_apart_by_its_shape() {
        let work = work_payload(&WorkItem {
            cluster: "arn:aws:ecs:us-east-1:1:cluster/prod".into(),
            services: vec!["web".into()],
            result_token: "t".into(),
            time: None,
        });
        let cases = [
            (
                json!({"actionInvocationPoint": "CREATE_PRE_PROVISION", "requestData": {}}),
                "hook",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": "{}"}]}),
                "batch",
            ),
            (work, "work"),
            (json!({ WORK_ITEM_KEY: 1 }), "malformed work"),
            (json!({"invokingEvent": "{}", "resultToken": "t"}), "config"),
            (
                json!({"source": "aws.ecs", "detail-type": "ECS Task State Change"}),
                "event",
            ),
            // Near misses are events, refused as such by the event parser.
            (
                json!({"actionInvocationPoint": "CREATE_PRE_PROVISION", "requestData": "x"}),
                "event",
            ),
            (json!({"Records": []}), "event"),
            (
                json!({"Records": [{"eventSource": "aws:s3", "messageId": "m"}]}),
                "event",
            ),
            (json!({"invokingEvent": "{}"}), "event"),
            (json!([1, 2]), "event"),
        ];
        for (payload, want) in cases {
            assert_eq!(kind(&payload), want, "{payload}");
        }
    }

    #[test]
    fn a_batch_keeps_its_message_ids() {
        let batch = json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "m1", "body": "a"},
            {"eventSource": "aws:sqs", "messageId": "m2", "body": "b"}]});
        let Invocation::Batch(messages) = classify(&batch) else {
            panic!("not a batch")
        };
        let ids: Vec<_> = messages.iter().map(|m| m.message_id.as_str()).collect();
        assert_eq!(ids, ["m1", "m2"]);
    }
}
