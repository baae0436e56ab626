//! Every row of the verdict table, end to end: moto world → event → checker → SNS → SQS.

use ecs_inbound_guard::adapters::clients::ClientFactory;
use ecs_inbound_guard::adapters::sns::SnsAlerts;
use ecs_inbound_guard::app::check::{Alerting, CheckError};
use ecs_inbound_guard::app::checker::Checker;
use ecs_inbound_guard::app::AwsChecker;
use ecs_inbound_guard::domain::delivery::CheckReport;
use ecs_inbound_guard::domain::event::parse_trigger;
use ecs_inbound_guard::domain::verdict::{Severity, Status};
use serde_json::{json, Value};

use crate::world::{build, clients, received, Built, Clients, Scenario, Subnet, Svc};

const RULE: &str = "AWSVPC_EC2_PUBLIC_NO_INBOUND";

pub async fn check(built: &Built, event: Value) -> Result<CheckReport, CheckError> {
    let clients = ClientFactory::new(None, None, std::time::Duration::from_secs(60));
    let sns = SnsAlerts::new(
        clients.sns_for_topic(&built.topic_arn).await,
        &built.topic_arn,
    );
    let alerting = Alerting {
        publisher: &sns,
        dedup: None,
        min_severity: Severity::High,
    };
    let checker: AwsChecker = Checker {
        source: &clients,
        alerting: Some(alerting),
        export: None,
        on_checked: |_, _| {},
    };
    checker.check(&parse_trigger(event)?, None).await
}

async fn verdict(c: &Clients, scenario: Scenario) -> (Built, CheckReport) {
    let built = build(c, &scenario).await;
    let evaluation = check(&built, built.event.clone())
        .await
        .expect("evaluation");
    (built, evaluation)
}

async fn assert_no_alert(c: &Clients, built: &Built, report: &CheckReport) {
    assert!(!report.alert.published, "{report:?}");
    assert!(
        received(c, &built.queue_url, 0).await.is_empty(),
        "unexpected alert"
    );
}

#[tokio::test]
async fn seed_public_subnet_public_host_no_lb_is_non_compliant_and_alerts() {
    let c = clients().await;
    let (built, report) = verdict(&c, Scenario::seed()).await;
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    let rules: Vec<&str> = e.findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        [RULE, "AWSVPC_EC2_PUBLIC_NO_EGRESS"],
        "the HIGH finding first, then the advisory"
    );
    let f = &e.findings[0];
    assert_eq!(f.rule, RULE);
    let host = built.host_ip.as_deref().unwrap();
    assert!(
        f.message
            .contains(&format!("`curl {host}:3000` cannot reach this task")),
        "{}",
        f.message
    );
    assert!(f.message.contains(&built.eni_id) && f.message.contains(&built.private_ip));
    assert!(f.remediation.contains("target type `ip`"));
    assert!(report.alert.published && report.alert.message_id.is_some());
    let ctx = e.context.as_ref().unwrap();
    assert_eq!(ctx.host_public_ip.as_deref(), Some(host));
    assert_eq!(ctx.vpc.as_deref(), Some(built.vpc_id.as_str()));
    assert_eq!(ctx.subnet.as_deref(), Some(built.subnet_id.as_str()));
    assert_eq!(
        ctx.host_instance_id.as_deref(),
        Some(built.instance_id.as_str())
    );

    // The alert as a subscriber receives it.
    let messages = received(&c, &built.queue_url, 2).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    let service = built.service.as_deref().unwrap();
    assert_eq!(
        m["Subject"],
        format!("ECS task unreachable: {service} in {}", built.cluster)
    );
    // SQS subscribers get the Evaluation JSON (MessageStructure=json, key `sqs`).
    let delivered: serde_json::Value =
        serde_json::from_str(m["Message"].as_str().unwrap()).unwrap();
    assert_eq!(delivered["resourceId"], e.resource_id.as_str());
    assert_eq!(delivered["findings"][0]["rule"], RULE);
    assert_eq!(delivered["context"]["hostPublicIp"], host);
    assert_eq!(delivered["context"]["eni"], built.eni_id.as_str());
    let attrs = &m["MessageAttributes"];
    assert_eq!(attrs["rule"]["Type"], "String.Array");
    assert_eq!(
        attrs["rule"]["Value"],
        format!("[\"AWSVPC_EC2_PUBLIC_NO_EGRESS\",\"{RULE}\"]")
    );
    assert_eq!(attrs["severity"]["Value"], "HIGH");
    assert_eq!(attrs["cluster"]["Value"], built.cluster.as_str());
    assert_eq!(attrs["service"]["Value"], service);
}

#[tokio::test]
async fn standalone_task_in_public_subnet_is_non_compliant_without_service_attribute() {
    let c = clients().await;
    let (built, report) = verdict(
        &c,
        Scenario {
            service: Svc::Standalone,
            ..Scenario::seed()
        },
    )
    .await;
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant);
    assert!(e.findings[0].message.contains("standalone task"));
    let m = &received(&c, &built.queue_url, 2).await[0];
    assert!(m["MessageAttributes"].get("service").is_none(), "{m}");
    assert!(m["Subject"]
        .as_str()
        .unwrap()
        .starts_with("ECS task unreachable: task "));
}

#[tokio::test]
async fn main_route_table_fallback_makes_the_subnet_public() {
    let c = clients().await;
    let (_, report) = verdict(
        &c,
        Scenario {
            subnet: Subnet::PublicViaMain,
            host_public_ip: false,
            ..Scenario::seed()
        },
    )
    .await;
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    let f = &e.findings[0];
    assert!(
        f.message.contains("public address on port 3000"),
        "{}",
        f.message
    );
    assert!(f.message.contains("0.0.0.0/0 -> igw-"), "{}", f.message);
}

#[tokio::test]
async fn private_subnet_private_host_no_lb_is_compliant() {
    let c = clients().await;
    let (built, report) = verdict(
        &c,
        Scenario {
            subnet: Subnet::Private,
            host_public_ip: false,
            ..Scenario::seed()
        },
    )
    .await;
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert!(e.annotation.contains("by design"));
    assert_no_alert(&c, &built, &report).await;
}

#[tokio::test]
async fn private_subnet_public_host_is_non_compliant() {
    let c = clients().await;
    let (built, report) = verdict(
        &c,
        Scenario {
            subnet: Subnet::Private,
            ..Scenario::seed()
        },
    )
    .await;
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert!(e.findings[0]
        .message
        .contains(built.host_ip.as_deref().unwrap()));
}

#[tokio::test]
async fn bridge_mode_is_not_applicable() {
    let c = clients().await;
    let built = build(
        &c,
        &Scenario {
            network_mode: Some("bridge"),
            ..Scenario::seed()
        },
    )
    .await;
    let mut event = built.event.clone();
    event["detail"]["attachments"] = json!([]);
    let report = check(&built, event).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NotApplicable);
    assert!(e.annotation.contains("bridge"));
    assert_no_alert(&c, &built, &report).await;
}

#[tokio::test]
async fn no_port_mappings_is_not_applicable() {
    let c = clients().await;
    let (built, report) = verdict(
        &c,
        Scenario {
            ports: vec![],
            ..Scenario::seed()
        },
    )
    .await;
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NotApplicable);
    assert!(e.annotation.contains("maps no container port"));
    assert_no_alert(&c, &built, &report).await;
}

#[tokio::test]
async fn stopped_task_is_not_applicable() {
    let c = clients().await;
    let (built, report) = verdict(
        &c,
        Scenario {
            last_status: "STOPPED",
            ..Scenario::seed()
        },
    )
    .await;
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NotApplicable);
    assert_eq!(
        e.resource_id,
        built.event["detail"]["taskArn"].as_str().unwrap()
    );
    assert_no_alert(&c, &built, &report).await;
}

#[tokio::test]
async fn other_event_type_is_not_applicable() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let mut event = built.event.clone();
    event["detail-type"] = json!("ECS Container Instance State Change");
    let report = check(&built, event).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NotApplicable);
    assert_eq!(e.resource_id, built.event["resources"][0].as_str().unwrap());
}

#[tokio::test]
async fn malformed_input_is_an_error() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    for bad in [
        json!({"hello": "world"}),
        json!({"detail-type": "ECS Task State Change", "source": "aws.ecs", "detail": {"lastStatus": "RUNNING"}}),
    ] {
        assert!(matches!(
            check(&built, bad).await,
            Err(CheckError::Input(_))
        ));
    }
}

#[tokio::test]
async fn deleted_eni_is_insufficient_data_never_compliant() {
    let c = clients().await;
    let built = build(
        &c,
        &Scenario {
            subnet: Subnet::Private,
            host_public_ip: false,
            ..Scenario::seed()
        },
    )
    .await;
    c.ec2
        .delete_network_interface()
        .network_interface_id(&built.eni_id)
        .send()
        .await
        .unwrap();
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::InsufficientData, "{e:#?}");
    assert_eq!(e.findings[0].rule, "CHECK_INCOMPLETE");
    assert!(e.findings[0].message.contains(&built.eni_id));
    assert_no_alert(&c, &built, &report).await;
}

#[tokio::test]
async fn deleted_service_is_insufficient_data_not_no_lb() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    c.ecs
        .delete_service()
        .cluster(&built.cluster)
        .service(built.service.as_deref().unwrap())
        .force(true)
        .send()
        .await
        .unwrap();
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::InsufficientData, "{e:#?}");
    let incomplete = e
        .findings
        .iter()
        .find(|f| f.rule == "CHECK_INCOMPLETE")
        .unwrap();
    assert!(
        incomplete.message.contains("ecs:DescribeServices"),
        "{incomplete:?}"
    );
    assert_no_alert(&c, &built, &report).await;
}

#[tokio::test]
async fn gone_container_instance_in_public_subnet_is_non_compliant_without_host_ip() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    c.ecs
        .deregister_container_instance()
        .cluster(&built.cluster)
        .container_instance(&built.container_instance_arn)
        .force(true)
        .send()
        .await
        .unwrap();
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    let message = &e.findings[0].message;
    assert!(
        !message.contains(built.host_ip.as_deref().unwrap())
            && message.contains("public address on port 3000"),
        "{message}"
    );
}

#[tokio::test]
async fn gone_container_instance_in_private_subnet_is_insufficient_data() {
    let c = clients().await;
    let built = build(
        &c,
        &Scenario {
            subnet: Subnet::Private,
            host_public_ip: false,
            ..Scenario::seed()
        },
    )
    .await;
    c.ecs
        .deregister_container_instance()
        .cluster(&built.cluster)
        .container_instance(&built.container_instance_arn)
        .force(true)
        .send()
        .await
        .unwrap();
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::InsufficientData, "{e:#?}");
    assert!(e.findings[0].message.contains("container instance"));
}

#[tokio::test]
async fn running_awsvpc_task_without_eni_attachment_is_insufficient_data() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let mut event = built.event.clone();
    event["detail"]["attachments"] = json!([]);
    let report = check(&built, event).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::InsufficientData, "{e:#?}");
    assert!(e.annotation.contains("no ENI attachment"));
}

#[tokio::test]
async fn ignore_tag_on_the_service_suppresses_the_alert_but_not_the_verdict() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let service_arn = format!(
        "arn:aws:ecs:us-east-1:123456789012:service/{}/{}",
        built.cluster,
        built.service.as_deref().unwrap()
    );
    c.ecs
        .tag_resource()
        .resource_arn(&service_arn)
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("ecs-inbound-guard:ignore")
                .value("AWSVPC_EC2_PUBLIC_NO_INBOUND, AWSVPC_EC2_PUBLIC_NO_EGRESS")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "still reported");
    assert_eq!(
        e.suppressed.as_deref(),
        Some(
            &[
                "AWSVPC_EC2_PUBLIC_NO_EGRESS".to_string(),
                "AWSVPC_EC2_PUBLIC_NO_INBOUND".to_string()
            ][..]
        )
    );
    assert_no_alert(&c, &built, &report).await;
}
