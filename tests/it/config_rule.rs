//! AWS Config rule mode: the Lambda process evaluates services and calls PutEvaluations.
//! moto accepts PutEvaluations only in TestMode and cannot read evaluations back, so the proxy
//! records the request the SDK sends and answers it like Config does.

use serde_json::{json, Value};

use crate::harness::Proxy;
use crate::runtime_api::{spawn_lambda, Outcome, RuntimeApi};
use crate::world::{build, clients, Built, Scenario, Subnet};

fn change(built: &Built, left_scope: bool) -> Value {
    let service = built.service.as_deref().unwrap();
    let arn = format!(
        "arn:aws:ecs:us-east-1:123456789012:service/{}/{service}",
        built.cluster
    );
    let ci = json!({"resourceType": "AWS::ECS::Service", "resourceId": arn, "ARN": arn, "resourceName": service,
        "configurationItemCaptureTime": "2025-05-02T10:15:42.000Z",
        "configuration": {"Cluster": built.cluster, "ServiceName": service}});
    json!({"invokingEvent": json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": ci}).to_string(),
        "ruleParameters": "{}", "resultToken": "token-123", "eventLeftScope": left_scope,
        "configRuleName": "ecs-inbound-guard", "accountId": "123456789012", "version": "1.0"})
}

fn put_requests(proxy: &Proxy) -> Vec<Value> {
    proxy.stats()["requests"]["PutEvaluations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|b| serde_json::from_str(b.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn config_change_notification_reports_the_service_with_put_evaluations() {
    let c = clients().await;
    let bad = build(&c, &Scenario::seed()).await;
    crate::world::run_tasks(&c, &bad, 2).await;
    let proxy = Proxy::start();
    proxy.faults(
        json!([{"action": "PutEvaluations", "status": 200, "body": {"FailedEvaluations": []}}]),
    );
    let api = RuntimeApi::start(vec![change(&bad, false), change(&bad, true)]);
    let _lambda = spawn_lambda(&api, &proxy.endpoint, Some(&bad.topic_arn));
    let Outcome::Response(first) = api.next_outcome() else {
        panic!("config invocation failed")
    };
    assert_eq!(
        first["configEvaluations"][0]["complianceType"], "NON_COMPLIANT",
        "{first:#}"
    );
    let Outcome::Response(second) = api.next_outcome() else {
        panic!("config invocation failed")
    };
    assert_eq!(
        second["configEvaluations"][0]["complianceType"], "NOT_APPLICABLE",
        "eventLeftScope"
    );

    let requests = put_requests(&proxy);
    assert_eq!(requests.len(), 2);
    let sent = &requests[0];
    assert_eq!(sent["ResultToken"], "token-123");
    let evaluation = &sent["Evaluations"][0];
    assert_eq!(evaluation["ComplianceResourceType"], "AWS::ECS::Service");
    assert_eq!(evaluation["ComplianceType"], "NON_COMPLIANT");
    assert!(evaluation["ComplianceResourceId"]
        .as_str()
        .unwrap()
        .ends_with(bad.service.as_deref().unwrap()));
    let annotation = evaluation["Annotation"].as_str().unwrap();
    assert!(
        annotation.starts_with("AWSVPC_EC2_PUBLIC_NO_INBOUND") && annotation.chars().count() <= 256,
        "{annotation}"
    );
    assert!(evaluation["OrderingTimestamp"].is_number(), "{evaluation}");
    assert_eq!(
        requests[1]["Evaluations"][0]["ComplianceType"],
        "NOT_APPLICABLE"
    );
}

#[tokio::test]
async fn compliant_service_and_a_service_without_tasks() {
    let c = clients().await;
    let good = build(
        &c,
        &Scenario {
            subnet: Subnet::Private,
            host_public_ip: false,
            ..Scenario::seed()
        },
    )
    .await;
    crate::world::run_tasks(&c, &good, 1).await;
    let idle = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(
        json!([{"action": "PutEvaluations", "status": 200, "body": {"FailedEvaluations": []}}]),
    );
    let api = RuntimeApi::start(vec![change(&good, false), change(&idle, false)]);
    let _lambda = spawn_lambda(&api, &proxy.endpoint, Some(&good.topic_arn));
    let Outcome::Response(first) = api.next_outcome() else {
        panic!()
    };
    assert_eq!(
        first["configEvaluations"][0]["complianceType"], "COMPLIANT",
        "{first:#}"
    );
    let Outcome::Response(second) = api.next_outcome() else {
        panic!()
    };
    assert_eq!(
        second["configEvaluations"][0]["complianceType"],
        "NOT_APPLICABLE"
    );
    assert!(second["configEvaluations"][0]["annotation"]
        .as_str()
        .unwrap()
        .contains("no running tasks"));
}

#[tokio::test]
async fn rejected_put_evaluations_fail_the_invocation() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(
        json!([{"action": "PutEvaluations", "status": 400, "code": "InvalidResultTokenException"}]),
    );
    let api = RuntimeApi::start(vec![change(&built, false)]);
    let _lambda = spawn_lambda(&api, &proxy.endpoint, Some(&built.topic_arn));
    let Outcome::Error(err) = api.next_outcome() else {
        panic!("expected an error")
    };
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("config:PutEvaluations"),
        "{err}"
    );
}

#[tokio::test]
async fn scheduled_notification_evaluates_every_service_in_batches() {
    let c = clients().await;
    let bad = build(&c, &Scenario::seed()).await;
    crate::world::run_tasks(&c, &bad, 1).await;
    let proxy = Proxy::start();
    proxy.faults(
        json!([{"action": "PutEvaluations", "status": 200, "body": {"FailedEvaluations": []}}]),
    );
    let scheduled = json!({"invokingEvent": json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2025-05-02T10:00:00.000Z"}).to_string(),
        "resultToken": "token-s", "eventLeftScope": false, "configRuleName": "ecs-inbound-guard", "accountId": "123456789012"});
    let api = RuntimeApi::start(vec![scheduled]);
    let _lambda = spawn_lambda(&api, &proxy.endpoint, Some(&bad.topic_arn));
    let Outcome::Response(out) = api.next_outcome() else {
        panic!("scheduled invocation failed")
    };
    let evaluations = out["configEvaluations"].as_array().unwrap();
    let mine = evaluations
        .iter()
        .find(|e| {
            e["complianceResourceId"]
                .as_str()
                .unwrap()
                .ends_with(&format!(
                    "{}/{}",
                    bad.cluster,
                    bad.service.as_deref().unwrap()
                ))
        })
        .expect("the service is evaluated");
    assert_eq!(mine["complianceType"], "NON_COMPLIANT");
    let requests = put_requests(&proxy);
    assert!(!requests.is_empty());
    let sent: usize = requests
        .iter()
        .map(|r| r["Evaluations"].as_array().unwrap().len())
        .sum();
    assert_eq!(sent, evaluations.len());
    assert!(requests
        .iter()
        .all(|r| r["Evaluations"].as_array().unwrap().len() <= 100));
}
