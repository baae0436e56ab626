//! The preflight as a CloudFormation Lambda Hook: a resource operation on an `AWS::ECS::Service`
//! judged by the same `preflight::judge` as the `preflight` command, answered in the hook's
//! response shape. It never fails the invocation: with `FailureMode: FAIL` an error or a
//! time-out would block the stack, so whatever cannot be judged (unreadable, unusable, out of
//! time) lets the operation proceed with a SKIPPED annotation that says why.

use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::app::preflight::judge;
use crate::domain::hook::{self, parse_hook_request, HookVerdict, Subject};
use crate::facts::deadline::Budgeted;
use crate::ports::FactReader;
use crate::render::hook::hook_response;

/// Hooks wait 30 seconds for the function; the judgement keeps to 25, whatever the
/// invocation's own deadline.
pub const HOOK_BUDGET: Duration = Duration::from_secs(25);

/// Answers one hook invocation (`payload`) at `at`, reading through `reader` until the earlier
/// of `deadline` and [`HOOK_BUDGET`] from now.
pub async fn answer_hook<R: FactReader>(
    payload: &Value,
    reader: &R,
    region: Option<&str>,
    deadline: Option<Instant>,
    at: OffsetDateTime,
) -> Value {
    let token = hook::client_request_token(payload);
    let verdict = decide(payload, reader, region, deadline, at).await;
    info!(
        hook_status = if verdict.failed { "FAILED" } else { "SUCCESS" },
        message = %verdict.message,
        "hook answered"
    );
    hook_response(&token, &verdict)
}

async fn decide<R: FactReader>(
    payload: &Value,
    reader: &R,
    region: Option<&str>,
    deadline: Option<Instant>,
    at: OffsetDateTime,
) -> HookVerdict {
    let read = parse_hook_request(payload).and_then(|r| Ok((r.subject()?, r)));
    let (plan, request) = match read {
        Ok((Subject::Service(plan), request)) => (plan, request),
        Ok((Subject::NotJudged(why), _)) => return HookVerdict::proceed(&why, None),
        Err(unusable) => {
            warn!(error = %unusable, "hook request not judged");
            return HookVerdict::unjudged(&unusable.to_string());
        }
    };
    let budget = Instant::now() + HOOK_BUDGET;
    let deadline = deadline.map_or(budget, |d| d.min(budget));
    let reader = Budgeted::new(reader, deadline, Duration::ZERO);
    match judge(&plan, None, region, &reader, at).await {
        Ok(mut evaluation) => {
            if let Some(tag) = request.ignore_tag() {
                evaluation.suppress(tag);
            }
            hook::verdict(&evaluation)
        }
        Err(e) => {
            warn!(error = %e, "hook could not read what it needs");
            HookVerdict::unjudged(&e.to_string())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::app::preflight::tests::world;
    use crate::domain::rules::fixture;
    use crate::facts::fake::FakeAws;
    use serde_json::json;

    /// A hook request for the fixture's service (the guide's resource-operation shape).
    pub(crate) fn request(point: &str, load_balancers: Value) -> Value {
        json!({
            "clientRequestToken": "token-7",
            "awsAccountId": "111122223333",
            "stackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/web/abc",
            "hookTypeName": "Private::EcsInboundGuard::Preflight",
            "actionInvocationPoint": point,
            "requestData": {
                "targetName": "AWS::ECS::Service",
                "targetType": "RESOURCE",
                "targetLogicalId": "Web",
                "targetModel": {"resourceProperties": {
                    "Cluster": "arn:cluster/prod",
                    "ServiceName": "web",
                    "TaskDefinition": "arn:td",
                    "LaunchType": "EC2",
                    "LoadBalancers": load_balancers,
                    "NetworkConfiguration": {"AwsvpcConfiguration": {
                        "Subnets": ["subnet-task"], "SecurityGroups": ["sg-task"]}}
                }}
            }
        })
    }

    /// The hook's answer to a `point` request for the fixture's service, in `aws`.
    async fn answer(aws: &FakeAws, point: &str) -> Value {
        let at = OffsetDateTime::from_unix_timestamp(1_767_323_045).unwrap();
        answer_hook(&request(point, json!([])), aws, None, None, at).await
    }

    #[tokio::test(start_paused = true)]
    async fn the_seed_trap_fails_the_operation_with_its_fix_in_three_read_round_trips() {
        let aws = world(&fixture::seed());
        let start = tokio::time::Instant::now();
        let r = answer(&aws, "CREATE_PRE_PROVISION").await;
        let trips = start.elapsed().as_millis() / 100;
        eprintln!(
            "hook, seed service: {} calls, {trips} read round trips",
            aws.calls().len()
        );
        assert!(trips <= 3, "{trips} round trips");
        assert_eq!(r["hookStatus"], "FAILED", "{r:#}");
        assert_eq!(r["errorCode"], "NonCompliant");
        assert_eq!(r["clientRequestToken"], "token-7");
        let message = r["message"].as_str().unwrap();
        assert!(
            message.starts_with("AWSVPC_EC2_PUBLIC_NO_INBOUND: "),
            "{message}"
        );
        assert!(message.contains(" Fix: "), "{message}");
    }

    #[tokio::test]
    async fn a_deletion_proceeds_without_a_read() {
        let aws = world(&fixture::seed());
        let r = answer(&aws, "DELETE_PRE_PROVISION").await;
        assert_eq!(r["hookStatus"], "SUCCESS", "{r:#}");
        assert!(aws.calls().is_empty(), "{:?}", aws.calls());
    }

    #[tokio::test]
    async fn an_unreadable_fact_lets_the_operation_proceed_and_says_what() {
        let aws = world(&fixture::seed()).failing(
            crate::domain::api::EC2_DESCRIBE_SUBNETS,
            crate::ports::ReadError::Failed {
                api: crate::domain::api::EC2_DESCRIBE_SUBNETS,
                message: "Throttling: Rate exceeded".into(),
            },
        );
        let r = answer(&aws, "CREATE_PRE_PROVISION").await;
        assert_eq!(r["hookStatus"], "SUCCESS", "{r:#}");
        let skipped = &r["annotations"][0];
        assert_eq!(skipped["status"], "SKIPPED");
        assert!(
            skipped["statusMessage"]
                .as_str()
                .unwrap()
                .contains(crate::domain::api::EC2_DESCRIBE_SUBNETS),
            "{r:#}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_account_is_answered_within_the_hooks_budget() {
        let aws = world(&fixture::seed()).with_latency(Duration::from_secs(40));
        let start = tokio::time::Instant::now();
        let r = answer(&aws, "CREATE_PRE_PROVISION").await;
        assert!(start.elapsed() <= HOOK_BUDGET, "{:?}", start.elapsed());
        assert_eq!(r["hookStatus"], "SUCCESS", "{r:#}");
        assert_eq!(
            r["annotations"][0]["annotationName"], "CHECK_INCOMPLETE",
            "{r:#}"
        );
    }
}
