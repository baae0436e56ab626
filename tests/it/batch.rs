//! The deployed shape: the Lambda binary fed SQS batches exactly as Lambda's poller sends
//! them, against moto behind the counting proxy: bulk reads, one alert per deploy, a failed
//! message handed back alone.

use serde_json::{json, Value};

use crate::cfn::sqs_batch;
use crate::harness::Proxy;
use crate::runtime_api::{spawn_lambda_with, Outcome, RuntimeApi};
use crate::world::{
    build, clients, received, second_task, Built, Clients, LbSpec, Scenario, Subnet, Svc,
};

/// `n` task events of the world's service (one deploy), each with its own ENI.
async fn deploy(c: &Clients, built: &Built, n: usize) -> Vec<Value> {
    let mut events = vec![built.event.clone()];
    for i in 1..n {
        let mut event = second_task(c, built).await;
        let arn = format!("{}{i}", event["detail"]["taskArn"].as_str().unwrap());
        event["detail"]["taskArn"] = json!(arn);
        event["resources"] = json!([arn]);
        events.push(event);
    }
    events
}

/// The seed's broken service (EC2, public subnet, no load balancer) and a compliant one behind
/// an ALB, each in its own cluster.
async fn two_deploys(c: &Clients) -> (Built, Built) {
    let seed = build(c, &Scenario::seed()).await;
    let alb = Scenario {
        service: Svc::Lb(LbSpec::valid_alb()),
        subnet: Subnet::Private,
        host_public_ip: false,
        ..Scenario::seed()
    };
    (seed, build(c, &alb).await)
}

fn calls(stats: &Value, action: &str) -> u64 {
    stats["by_action"][action].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_batch_of_two_deploys_reads_in_bulk_and_alerts_once_for_the_broken_one() {
    let c = clients().await;
    let (seed, alb) = two_deploys(&c).await;
    let mut events = deploy(&c, &seed, 12).await;
    events.extend(deploy(&c, &alb, 12).await);
    let mut batch = sqs_batch(&events);
    // One message that is no ECS event: handed back alone (then the dead-letter queue).
    let records = batch["Records"].as_array_mut().unwrap();
    let mut poison = records[0].clone();
    poison["messageId"] = json!("poison");
    poison["body"] = json!("not an event");
    records.push(poison);

    let proxy = Proxy::start();
    let api = RuntimeApi::start(vec![batch]);
    let mut lambda = spawn_lambda_with(&api, &proxy.endpoint, Some(&seed.topic_arn), &[]);
    let Outcome::Response(response) = api.next_outcome_of(&mut lambda) else {
        panic!("the batch itself never fails")
    };
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "poison"}]})
    );
    let stats = proxy.stats();
    eprintln!(
        "24 tasks of two deploys in one batch: {}",
        stats["by_action"]
    );
    assert_eq!(
        calls(&stats, "DescribeNetworkInterfaces"),
        1,
        "24 ENIs in one call"
    );
    // Hosts only for the deploy without a load balancer (no rule needs the ALB tasks' hosts),
    // and that small cluster's all at once, for the batches to come.
    for action in [
        "ListContainerInstances",
        "DescribeContainerInstances",
        "DescribeInstances",
    ] {
        assert_eq!(calls(&stats, action), 1, "{action}");
    }
    assert_eq!(
        calls(&stats, "DescribeTaskDefinition"),
        2,
        "once per deploy"
    );
    assert_eq!(calls(&stats, "DescribeServices"), 2, "once per deploy");
    assert_eq!(
        calls(&stats, "Publish"),
        1,
        "one alert: the broken deploy's"
    );
    assert!(
        stats["total"].as_u64().unwrap() <= 30,
        "{} calls for 24 tasks",
        stats["total"]
    );
    assert_eq!(received(&c, &seed.queue_url, 2).await.len(), 1);
    // Every task's Evaluation is a log line of its own.
    let log = std::fs::read_to_string(&lambda.log).unwrap();
    let evaluations: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("messageId").is_some())
        .collect();
    assert_eq!(evaluations.len(), 24, "{log}");
    let non_compliant = evaluations
        .iter()
        .filter(|e| e["report"]["compliance"] == "NON_COMPLIANT")
        .count();
    assert_eq!(non_compliant, 12);
    let deduplicated = evaluations
        .iter()
        .filter(|e| e["report"]["alert"]["deduplicated"] == true)
        .count();
    assert_eq!(deduplicated, 11, "the deploy's other tasks share its alert");
}

#[tokio::test]
async fn an_alert_that_cannot_be_published_hands_back_its_deploys_messages_only() {
    let c = clients().await;
    let (seed, alb) = two_deploys(&c).await;
    let mut events = deploy(&c, &seed, 3).await;
    events.extend(deploy(&c, &alb, 2).await);
    let batch = sqs_batch(&events);
    let ids: Vec<Value> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messageId"].clone())
        .collect();
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "Publish", "status": 500, "code": "InternalError"}]));
    let api = RuntimeApi::start(vec![batch.clone()]);
    let mut lambda = spawn_lambda_with(&api, &proxy.endpoint, Some(&seed.topic_arn), &[]);
    let Outcome::Response(response) = api.next_outcome_of(&mut lambda) else {
        panic!("the batch itself never fails")
    };
    let failed: Vec<Value> = ids[..3]
        .iter()
        .map(|id| json!({"itemIdentifier": id}))
        .collect();
    assert_eq!(
        response,
        json!({ "batchItemFailures": failed }),
        "the broken deploy's three messages come back; the compliant ones are done"
    );
    assert!(received(&c, &seed.queue_url, 0).await.is_empty());
}
