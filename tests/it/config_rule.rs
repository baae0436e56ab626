//! AWS Config rule mode: the Lambda process evaluates services and calls PutEvaluations.
//! moto accepts PutEvaluations only in TestMode and cannot read evaluations back, so the proxy
//! records the request the SDK sends and answers it like Config does.

use ecs_inbound_guard::ports::ReaderSource;
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
    // The scan reads every service of the shared moto account (all the tests' worlds) within
    // the invocation's deadline: this test is about batching PutEvaluations, not the budget.
    let _lambda = crate::runtime_api::spawn_lambda_with(
        &api,
        &proxy.endpoint,
        Some(&bad.topic_arn),
        &[("API_CALLS_PER_SECOND", "100"), ("API_BURST", "100")],
    );
    let out = match api.next_outcome() {
        Outcome::Response(out) => out,
        Outcome::Error(e) => panic!("scheduled invocation failed: {e}"),
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

fn scheduled() -> Value {
    json!({"invokingEvent": json!({"messageType": "ScheduledNotification",
            "notificationCreationTime": "2025-05-02T10:00:00.000Z"}).to_string(),
        "ruleParameters": "{}", "resultToken": "secret-token-777", "eventLeftScope": false,
        "configRuleName": "ecs-inbound-guard", "accountId": "123456789012", "version": "1.0"})
}

/// The fan-out end to end through the Lambda process: the scheduled invocation dispatches
/// asynchronous invocations of the function itself (the proxy answers Invoke like Lambda does
/// for InvocationType Event, and records the payloads); a work item sent back to the function
/// is evaluated and reported with the scan's token. The token is never logged.
#[tokio::test]
async fn a_scheduled_scan_fans_out_and_a_work_item_reports_its_services() {
    let c = clients().await;
    let bad = build(&c, &Scenario::seed()).await;
    crate::world::run_tasks(&c, &bad, 1).await;
    let proxy = Proxy::start();
    proxy.faults(json!([
        {"action": "PutEvaluations", "status": 200, "body": {"FailedEvaluations": []}},
        {"action": "Invoke", "status": 202, "body": {}}
    ]));
    let api = RuntimeApi::start(vec![scheduled()]);
    let lambda = crate::runtime_api::spawn_lambda_with(
        &api,
        &proxy.endpoint,
        Some(&bad.topic_arn),
        &[("CONFIG_FAN_OUT", "true")],
    );
    let Outcome::Response(dispatched) = api.next_outcome() else {
        panic!("scheduled invocation failed")
    };
    let count = dispatched["workItems"].as_u64().unwrap();
    assert!(count >= 1, "{dispatched:#}");
    let stats = proxy.stats();
    assert_eq!(stats["by_action"]["Invoke"], count);
    assert!(
        stats["by_action"]["PutEvaluations"].is_null(),
        "the dispatcher reports nothing"
    );
    // The work item of this test's cluster, sent back to the function as Lambda would.
    let payloads: Vec<Value> = stats["requests"]["Invoke"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| serde_json::from_str(b.as_str().unwrap()).unwrap())
        .collect();
    let work = payloads
        .iter()
        .find(|p| {
            p["ecsInboundGuardConfigWork"]["cluster"]
                .as_str()
                .is_some_and(|c| c.ends_with(&format!("/{}", bad.cluster)))
        })
        .unwrap_or_else(|| panic!("no work item for {}: {payloads:#?}", bad.cluster))
        .clone();
    assert_eq!(
        work["ecsInboundGuardConfigWork"]["resultToken"],
        "secret-token-777"
    );
    assert!(
        work["ecsInboundGuardConfigWork"]["services"]
            .as_array()
            .unwrap()
            .len()
            <= 25
    );
    api.push(work);
    let Outcome::Response(worked) = api.next_outcome() else {
        panic!("work item failed")
    };
    let evaluations = worked["configEvaluations"].as_array().unwrap();
    assert_eq!(evaluations.len(), 1, "{worked:#}");
    assert_eq!(evaluations[0]["complianceType"], "NON_COMPLIANT");
    let puts = put_requests(&proxy);
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0]["ResultToken"], "secret-token-777");
    let log = std::fs::read_to_string(&lambda.log).unwrap();
    assert!(
        !log.contains("secret-token-777"),
        "the token is never logged"
    );
}

/// A scheduled scan of a 500-service account: 20 work items of 25 services, the cluster and
/// services listed with the member account's credentials.
#[tokio::test]
async fn a_500_service_account_is_cut_into_20_work_items() {
    use ecs_inbound_guard::adapters::clients::ClientFactory;
    use ecs_inbound_guard::app::config_rule::dispatch_scan;
    use ecs_inbound_guard::domain::config_rule::{
        parse_config_invocation, WorkItem, SERVICES_PER_WORK_ITEM,
    };
    use ecs_inbound_guard::domain::org::{Enrollment, ResourceScope};
    use ecs_inbound_guard::ports::{ReadError, WorkDispatch};

    struct Recorder(std::sync::Mutex<Vec<WorkItem>>);
    impl WorkDispatch for Recorder {
        async fn dispatch(&self, item: &WorkItem) -> Result<(), ReadError> {
            self.0.lock().unwrap().push(item.clone());
            Ok(())
        }
    }

    let account = "777777777777";
    let member = crate::world::clients_in(account).await;
    let cluster = crate::world::unique("big");
    member
        .ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let td = member
        .ecs
        .register_task_definition()
        .family(crate::world::unique("web"))
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("web:1")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();
    for chunk in (0..500).collect::<Vec<_>>().chunks(50) {
        let creates = chunk.iter().map(|i| {
            member
                .ecs
                .create_service()
                .cluster(&cluster)
                .service_name(format!("svc-{i:03}"))
                .task_definition(&td)
                .desired_count(0)
                .send()
        });
        for created in futures_util::future::join_all(creates).await {
            created.unwrap();
        }
    }
    let clients = ClientFactory::new(None, None, std::time::Duration::from_secs(60))
        .with_enrollment(Enrollment {
            home_account: Some(crate::world::DEFAULT_ACCOUNT.into()),
            member_role: Some("ecs-inbound-guard-reader".into()),
            allowed_accounts: vec![],
        });
    let reader = clients
        .reader_for(&ResourceScope {
            account: Some(account.into()),
            region: Some("us-east-1".into()),
            partition: "aws".into(),
        })
        .await
        .unwrap();
    let scan = parse_config_invocation(scheduled()).unwrap();
    let recorder = Recorder(std::sync::Mutex::new(vec![]));
    let items = dispatch_scan(&scan, reader.as_ref(), &recorder)
        .await
        .unwrap();
    assert_eq!(items.len(), 500 / SERVICES_PER_WORK_ITEM);
    assert_eq!(recorder.0.lock().unwrap().len(), 20);
    let services: usize = items.iter().map(|i| i.services.len()).sum();
    assert_eq!(services, 500);
}
