//! The Lambda handler in-process (the binary is tested as a process in `lambda.rs`): the same
//! app the function builds at init, against moto.

use std::time::Duration;

use clap::Parser;
use ecs_inbound_guard::adapters::clients::ClientFactory;
use ecs_inbound_guard::app::handler::LambdaApp;
use ecs_inbound_guard::app::settings::LambdaSettings;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::json;

use crate::world::{build, clients, received, Scenario};

async fn app(topic_arn: &str) -> LambdaApp {
    let settings =
        LambdaSettings::try_parse_from(["ecs-inbound-guard-lambda", "--topic-arn", topic_arn])
            .unwrap();
    LambdaApp::init(
        &settings,
        ClientFactory::new(None, None, Duration::from_secs(60)),
    )
    .await
}

#[tokio::test]
async fn the_handler_alerts_on_the_seed_and_names_its_error_types() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let app = app(&built.topic_arn).await;

    let report = app
        .handle(LambdaEvent::new(built.event.clone(), Context::default()))
        .await
        .unwrap();
    assert_eq!(report["compliance"], "NON_COMPLIANT", "{report:#}");
    assert_eq!(report["alert"]["published"], true, "{report:#}");
    assert_eq!(received(&c, &built.queue_url, 2).await.len(), 1);

    let error = app
        .handle(LambdaEvent::new(
            json!({"hello": "world"}),
            Context::default(),
        ))
        .await
        .unwrap_err();
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "InvalidInput");
    assert!(diagnostic
        .error_message
        .contains("not an EventBridge event"));

    let config = json!({"invokingEvent": "{not json", "ruleParameters": "{}",
        "resultToken": "t", "eventLeftScope": false, "configRuleName": "r", "accountId": "1"});
    let error = app
        .handle(LambdaEvent::new(config, Context::default()))
        .await
        .unwrap_err();
    assert_eq!(Diagnostic::from(error).error_type, "InvalidInput");
}

#[tokio::test]
async fn an_invocation_whose_time_is_spent_fails_cleanly_before_reading() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let app = app(&built.topic_arn).await;
    // The invocation's time is already spent (a redelivery that waited too long in a queue).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut context = Context::default();
    context.deadline = now_ms - 1_000;
    let start = std::time::Instant::now();
    let error = app
        .handle(LambdaEvent::new(built.event.clone(), context))
        .await
        .unwrap_err();
    let diagnostic = Diagnostic::from(error);
    assert_eq!(
        diagnostic.error_type, "TimeBudgetExceeded",
        "{diagnostic:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        received(&c, &built.queue_url, 0).await.is_empty(),
        "no alert"
    );
}

#[tokio::test]
async fn a_config_work_item_whose_time_is_spent_fails_cleanly_before_reading() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let app = app(&built.topic_arn).await;
    let cluster_arn = built.event["detail"]["clusterArn"].clone();
    let work = json!({"ecsInboundGuardConfigWork": {"cluster": cluster_arn,
        "services": [built.service.clone().unwrap()], "resultToken": "token",
        "time": "2025-05-02T10:00:00.000Z"}});
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut context = Context::default();
    context.deadline = now_ms - 1_000;
    context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:checker".into();
    let start = std::time::Instant::now();
    let error = app
        .handle(LambdaEvent::new(work, context))
        .await
        .unwrap_err();
    let diagnostic = Diagnostic::from(error);
    assert_eq!(
        diagnostic.error_type, "TimeBudgetExceeded",
        "{diagnostic:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_work_item_for_another_accounts_or_regions_cluster_is_refused_before_any_call() {
    let app = app("arn:aws:sns:us-east-1:123456789012:unused").await;
    for cluster in [
        "arn:aws:ecs:us-east-1:999999999999:cluster/prod",
        "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
        "prod",
    ] {
        let work = json!({"ecsInboundGuardConfigWork": {"cluster": cluster,
            "services": ["web"], "resultToken": "token", "time": "2025-05-02T10:00:00.000Z"}});
        let mut context = Context::default();
        context.invoked_function_arn =
            "arn:aws:lambda:us-east-1:123456789012:function:checker".into();
        let error = app
            .handle(LambdaEvent::new(work, context))
            .await
            .unwrap_err();
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "InvalidInput", "{cluster}");
        assert!(
            diagnostic.error_message.contains("account"),
            "{cluster}: {diagnostic:?}"
        );
    }
}
