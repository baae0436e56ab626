//! The real Lambda binary, run as a process against a local Runtime API and moto.

use serde_json::json;

use crate::harness::{moto, Proxy};
use crate::runtime_api::{spawn_lambda, spawn_lambda_with, Outcome, RuntimeApi};
use crate::world::{build, clients, received, Scenario};

#[tokio::test]
async fn lambda_alerts_on_the_seed_event_and_returns_the_evaluation() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let api = RuntimeApi::start(vec![built.event.clone(), built.event.clone()]);
    let lambda = spawn_lambda(&api, moto(), Some(&built.topic_arn));
    for _ in 0..2 {
        let Outcome::Response(e) = api.next_outcome() else {
            panic!("expected a response")
        };
        assert_eq!(e["compliance"], "NON_COMPLIANT", "{e:#}");
        assert_eq!(e["findings"][0]["rule"], "AWSVPC_EC2_PUBLIC_NO_INBOUND");
        assert_eq!(e["alert"]["published"], true);
    }
    assert_eq!(
        received(&c, &built.queue_url, 2).await.len(),
        2,
        "one alert per invocation (dedup comes later)"
    );
    let init = api
        .init_duration(&lambda)
        .expect("the runtime polled /next");
    eprintln!("init (process start -> first /next): {init:?}");
    // Structured logs and EMF metrics on stdout.
    let log = std::fs::read_to_string(&lambda.log).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let emf: Vec<_> = lines
        .iter()
        .filter(|l| l.get("_aws").is_some() && l.get("Evaluations").is_some())
        .collect();
    assert_eq!(emf.len(), 2, "one EMF totals line per evaluation: {log}");
    assert_eq!(emf[0]["NonCompliant"], 1);
    let logged_verdict = lines.iter().any(|l| {
        l["fields"]["verdict"] == "NON_COMPLIANT"
            && l["spans"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|s| s["cold_start"] == true && s["request_id"].is_string())
            })
    });
    assert!(logged_verdict, "{log}");
}

#[tokio::test]
async fn lambda_fails_the_invocation_when_the_alert_cannot_be_published() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "Publish", "status": 500, "code": "InternalError"}]));
    let api = RuntimeApi::start(vec![built.event.clone()]);
    let _lambda = spawn_lambda(&api, &proxy.endpoint, Some(&built.topic_arn));
    let Outcome::Error(err) = api.next_outcome() else {
        panic!("expected an invocation error")
    };
    assert_eq!(err["errorType"], "PublishFailed", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("publishing the alert failed"),
        "{err}"
    );
    assert!(received(&c, &built.queue_url, 0).await.is_empty());
    // The SDK retried the 500 before the invocation failed.
    assert!(proxy.stats()["by_action"]["Publish"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn lambda_reports_malformed_events_as_errors_and_other_events_as_not_applicable() {
    moto();
    let other = json!({"version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ecs", "detail": {}});
    // Lambda's Invoke API refuses payloads that are not JSON, so malformed input reaches the
    // function as JSON that is not the event it expects.
    let bad_detail = json!({"version": "0", "id": "e2", "detail-type": "ECS Task State Change",
        "source": "aws.ecs", "detail": {"taskArn": 42, "lastStatus": "RUNNING"}});
    let api = RuntimeApi::start(vec![json!({"hello": "world"}), bad_detail, other]);
    let _lambda = spawn_lambda(
        &api,
        moto(),
        Some("arn:aws:sns:us-east-1:123456789012:unused"),
    );
    let Outcome::Error(err) = api.next_outcome() else {
        panic!("expected an error")
    };
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("not an EventBridge event"),
        "{err}"
    );
    assert_eq!(err["errorType"], "InvalidInput", "{err}");
    let Outcome::Error(err) = api.next_outcome() else {
        panic!("expected an error")
    };
    assert_eq!(err["errorType"], "InvalidInput", "{err}");
    assert!(
        err["errorMessage"].as_str().unwrap().contains("taskArn"),
        "{err}"
    );
    let Outcome::Response(e) = api.next_outcome() else {
        panic!("expected a response")
    };
    assert_eq!(e["compliance"], "NOT_APPLICABLE");
    assert_eq!(e["resourceId"], "e1");
}

#[tokio::test]
async fn lambda_fails_with_aws_read_failed_when_ec2_keeps_answering_503() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "DescribeNetworkInterfaces", "status": 503, "code": "ServiceUnavailable"}]));
    let api = RuntimeApi::start(vec![built.event.clone()]);
    let _lambda = spawn_lambda_with(&api, &proxy.endpoint, Some(&built.topic_arn), &[]);
    let Outcome::Error(err) = api.next_outcome() else {
        panic!("expected an invocation error")
    };
    assert_eq!(err["errorType"], "AwsReadFailed", "{err}");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("ec2:DescribeNetworkInterfaces"),
        "{err}"
    );
    // The SDK retried before the invocation failed, and no alert went out.
    assert!(
        proxy.stats()["by_action"]["DescribeNetworkInterfaces"]
            .as_u64()
            .unwrap()
            >= 2
    );
    assert!(received(&c, &built.queue_url, 0).await.is_empty());
}

#[test]
fn lambda_without_a_topic_fails_at_init() {
    let api = RuntimeApi::start(vec![]);
    let mut lambda = spawn_lambda(&api, moto(), None);
    let status = lambda.child.wait().unwrap();
    assert!(
        !status.success(),
        "Lambda reports a runtime that exits during init as an init error"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(lambda.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("ALERT_TOPIC_ARN"), "{stderr}");
}

#[tokio::test]
async fn warm_lambda_checks_a_second_task_of_the_same_service_with_one_call() {
    use crate::world::{second_task, LbSpec, Subnet, Svc};
    let c = clients().await;
    let scenario = Scenario {
        service: Svc::Lb(LbSpec::valid_alb()),
        subnet: Subnet::Private,
        host_public_ip: false,
        ..Scenario::seed()
    };
    let built = build(&c, &scenario).await;
    let second = second_task(&c, &built).await;
    let proxy = Proxy::start();
    let api = RuntimeApi::start(vec![built.event.clone()]);
    let _lambda = spawn_lambda_with(&api, &proxy.endpoint, Some(&built.topic_arn), &[]);
    let Outcome::Response(first) = api.next_outcome() else {
        panic!("expected a response")
    };
    assert_eq!(first["compliance"], "COMPLIANT", "{first:#}");
    let cold = proxy.stats()["total"].as_u64().unwrap();
    api.push(second);
    let Outcome::Response(warm) = api.next_outcome() else {
        panic!("expected a response")
    };
    assert_eq!(warm["compliance"], "COMPLIANT", "{warm:#}");
    let stats = proxy.stats();
    let warm_calls = stats["total"].as_u64().unwrap() - cold;
    eprintln!(
        "cold check: {cold} calls, warm check: {warm_calls} calls ({})",
        stats["by_action"]
    );
    assert_eq!(
        warm_calls, 1,
        "the warm check reads only its task's ENI: {}",
        stats["by_action"]
    );
    assert_eq!(
        stats["by_action"]["DescribeNetworkInterfaces"], 2,
        "ENIs are never cached"
    );
}

#[test]
fn init_makes_no_aws_call() {
    let proxy = Proxy::start();
    let api = RuntimeApi::start(vec![]);
    let lambda = spawn_lambda(
        &api,
        &proxy.endpoint,
        Some("arn:aws:sns:us-east-1:123456789012:t"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while api.init_duration(&lambda).is_none() {
        assert!(std::time::Instant::now() < deadline, "init did not finish");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Give a stray call time to arrive: init is over, nothing may follow before an event.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let stats = proxy.stats();
    assert_eq!(
        stats["total"], 0,
        "no call before the first event (no warm-up with invented ids): {stats}"
    );
}

#[tokio::test]
async fn the_function_survives_a_payload_that_is_not_utf8_at_trace_level() {
    moto();
    let api = RuntimeApi::start(vec![]);
    let _lambda = spawn_lambda_with(
        &api,
        moto(),
        Some("arn:aws:sns:us-east-1:123456789012:unused"),
        &[("RUST_LOG", "trace")],
    );
    api.push_raw(b"{\"detail-type\": \"\xff\xfe\"}".to_vec());
    let Outcome::Error(_) = api.next_outcome() else {
        panic!("a payload that is not UTF-8 is an invocation error")
    };
    // The process is still there: the next event gets its verdict.
    api.push(json!({"version": "0", "id": "e3", "detail-type": "Other", "source": "aws.ecs", "detail": {}}));
    let Outcome::Response(e) = api.next_outcome() else {
        panic!("expected a response")
    };
    assert_eq!(e["compliance"], "NOT_APPLICABLE");
}
