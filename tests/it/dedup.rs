//! One alert per deploy: the Lambda with a DynamoDB dedup table (moto), as a process.

use serde_json::{json, Value};

use crate::harness::{moto, Proxy};
use crate::runtime_api::{spawn_lambda_with, Outcome, RuntimeApi};
use crate::world::{build, clients, dedup_table, received, second_task, Clients, Scenario};

async fn drain(c: &Clients, queue: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let batch = received(c, queue, 1).await;
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

#[tokio::test]
async fn twenty_tasks_of_one_deploy_alert_once_and_a_new_deploy_alerts_again() {
    moto();
    let c = clients().await;
    let table = dedup_table().await;
    let built = build(&c, &Scenario::seed()).await;
    let mut events = vec![built.event.clone()];
    for _ in 1..20 {
        events.push(second_task(&c, &built).await);
    }
    events.push(built.event.clone()); // a redelivered event
    let mut next_deploy = second_task(&c, &built).await;
    next_deploy["detail"]["startedBy"] = json!("ecs-svc/9999999999999999999");
    events.push(next_deploy);
    let count = events.len();
    let api = RuntimeApi::start(events);
    let _lambda = spawn_lambda_with(
        &api,
        moto(),
        Some(&built.topic_arn),
        &[("DEDUP_TABLE_NAME", &table)],
    );
    let mut published = Vec::new();
    let mut deduplicated = 0;
    for i in 0..count {
        let Outcome::Response(e) = api.next_outcome() else {
            panic!("invocation {i} failed")
        };
        assert_eq!(e["compliance"], "NON_COMPLIANT");
        if e["alert"]["published"] == true {
            published.push(i);
        }
        if e["alert"]["deduplicated"] == true {
            deduplicated += 1;
        }
    }
    assert_eq!(
        published,
        [0, count - 1],
        "the first task of each deploy alerts"
    );
    assert_eq!(deduplicated, count - 2);
    assert_eq!(drain(&c, &built.queue_url).await.len(), 2);
}

#[tokio::test]
async fn a_failed_publish_releases_the_claim_so_the_retry_alerts() {
    let c = clients().await;
    let table = dedup_table().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy
        .faults(json!([{"action": "Publish", "status": 500, "code": "InternalError", "times": 4}]));
    // Lambda's own retry delivers the same event again.
    let api = RuntimeApi::start(vec![built.event.clone(), built.event.clone()]);
    let _lambda = spawn_lambda_with(
        &api,
        &proxy.endpoint,
        Some(&built.topic_arn),
        &[("DEDUP_TABLE_NAME", &table)],
    );
    let Outcome::Error(_) = api.next_outcome() else {
        panic!("the first invocation must fail")
    };
    let Outcome::Response(e) = api.next_outcome() else {
        panic!("the retry must succeed")
    };
    assert_eq!(e["alert"]["published"], true, "{e:#}");
    assert_eq!(
        drain(&c, &built.queue_url).await.len(),
        1,
        "exactly one alert, none lost"
    );
}

#[tokio::test]
async fn an_unreachable_dedup_table_still_alerts() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let api = RuntimeApi::start(vec![built.event.clone()]);
    let _lambda = spawn_lambda_with(
        &api,
        moto(),
        Some(&built.topic_arn),
        &[("DEDUP_TABLE_NAME", "no-such-table")],
    );
    let Outcome::Response(e) = api.next_outcome() else {
        panic!("expected a response")
    };
    assert_eq!(e["alert"]["published"], true, "at-least-once: {e:#}");
    assert_eq!(drain(&c, &built.queue_url).await.len(), 1);
}
