//! Fargate tasks get the whole inbound-path check (issue: every awsvpc task). moto ignores
//! `assignPublicIp`, so a task ENI gets its public IP from `allocate_address` +
//! `associate_address(NetworkInterfaceId)`; the event is sent as ECS sends it for Fargate
//! (`launchType` FARGATE, a platform version, no container instance).

use ecs_inbound_guard::domain::verdict::{Severity, Status};
use serde_json::json;

use crate::verdicts::check;
use crate::world::{build, clients, received, Built, Clients, LbSpec, Scenario, Subnet, Svc};

fn fargate(subnet: Subnet) -> Scenario {
    Scenario {
        launch_type: "FARGATE",
        subnet,
        host_public_ip: false,
        ..Scenario::seed()
    }
}

/// Gives the task ENI a public IP, as `assignPublicIp: ENABLED` does.
async fn public_ip(c: &Clients, built: &Built) -> String {
    let address = c.ec2.allocate_address().send().await.unwrap();
    c.ec2
        .associate_address()
        .allocation_id(address.allocation_id().unwrap())
        .network_interface_id(&built.eni_id)
        .send()
        .await
        .unwrap();
    address.public_ip().unwrap().to_string()
}

async fn open_to(c: &Clients, built: &Built, cidr: &str) {
    c.ec2
        .authorize_security_group_ingress()
        .group_id(&built.task_sg)
        .ip_protocol("tcp")
        .from_port(3000)
        .to_port(3000)
        .cidr_ip(cidr)
        .send()
        .await
        .unwrap();
}

fn rules(e: &ecs_inbound_guard::domain::evaluation::Evaluation) -> Vec<(&'static str, Severity)> {
    e.findings.iter().map(|f| (f.rule, f.severity)).collect()
}

#[tokio::test]
async fn fargate_in_a_public_subnet_without_public_ip_or_load_balancer_is_non_compliant() {
    let c = clients().await;
    let built = build(&c, &fargate(Subnet::PublicExplicit)).await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(
        rules(e),
        [("FARGATE_PUBLIC_SUBNET_NO_PUBLIC_IP", Severity::High)],
        "{e:#?}"
    );
    assert!(e.findings[0].message.contains("assignPublicIp DISABLED"));
    assert!(report.alert.published);
    assert_eq!(received(&c, &built.queue_url, 2).await.len(), 1);
}

#[tokio::test]
async fn fargate_with_a_public_ip_and_an_open_security_group_is_compliant() {
    let c = clients().await;
    let built = build(&c, &fargate(Subnet::PublicExplicit)).await;
    let ip = public_ip(&c, &built).await;
    open_to(&c, &built, "0.0.0.0/0").await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert!(e.findings.is_empty(), "{e:#?}");
    assert!(e.annotation.contains(&ip), "{}", e.annotation);
    assert!(!report.alert.published);
}

#[tokio::test]
async fn fargate_with_a_public_ip_and_private_sources_only_is_compliant_with_an_advisory() {
    let c = clients().await;
    let built = build(&c, &fargate(Subnet::PublicExplicit)).await;
    public_ip(&c, &built).await;
    open_to(&c, &built, "10.0.0.0/8").await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert_eq!(rules(e), [("TASK_PUBLIC_IP_SG_CLOSED", Severity::Info)]);
}

#[tokio::test]
async fn a_public_ip_in_a_subnet_without_an_internet_gateway_route_is_non_compliant() {
    let c = clients().await;
    let built = build(&c, &fargate(Subnet::Private)).await;
    public_ip(&c, &built).await;
    open_to(&c, &built, "0.0.0.0/0").await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(rules(e), [("TASK_PUBLIC_IP_NO_IGW_ROUTE", Severity::High)]);
}

#[tokio::test]
async fn fargate_behind_a_valid_alb_is_compliant_and_silent() {
    let c = clients().await;
    let scenario = Scenario {
        service: Svc::Lb(LbSpec::valid_alb()),
        ..fargate(Subnet::Private)
    };
    let built = build(&c, &scenario).await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert!(received(&c, &built.queue_url, 0).await.is_empty());
}

#[tokio::test]
async fn fargate_behind_an_alb_whose_task_group_blocks_it_is_non_compliant() {
    let c = clients().await;
    let scenario = Scenario {
        service: Svc::Lb(LbSpec {
            task_sg_admits_lb: false,
            ..LbSpec::valid_alb()
        }),
        ..fargate(Subnet::Private)
    };
    let built = build(&c, &scenario).await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(e.findings[0].rule, "SG_BLOCKS_LB_TRAFFIC", "{e:#?}");
}

#[tokio::test]
async fn a_fargate_spot_task_without_launch_type_is_checked_as_fargate() {
    let c = clients().await;
    let built = build(&c, &fargate(Subnet::PublicExplicit)).await;
    let mut event = built.event.clone();
    let detail = event["detail"].as_object_mut().unwrap();
    detail.remove("launchType");
    detail.remove("platformVersion");
    detail.insert("capacityProviderName".into(), json!("FARGATE_SPOT"));
    let report = check(&built, event).await.unwrap();
    assert_eq!(
        report.evaluation.findings[0].rule,
        "FARGATE_PUBLIC_SUBNET_NO_PUBLIC_IP"
    );
}

#[tokio::test]
async fn a_running_task_being_stopped_is_not_applicable_without_an_aws_call() {
    let c = clients().await;
    let built = build(&c, &fargate(Subnet::PublicExplicit)).await;
    let mut event = built.event.clone();
    event["detail"]["desiredStatus"] = json!("STOPPED");
    // The proxy would count any call; a fresh process with a bogus endpoint would fail one.
    let (code, stdout, stderr) = crate::harness::run_cli(
        "http://127.0.0.1:9",
        &["check", "--event", "-"],
        Some(&event.to_string()),
    );
    assert_eq!(code, 0, "{stderr}");
    let e: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NOT_APPLICABLE");
    assert!(e["annotation"].as_str().unwrap().contains("being stopped"));
}

#[tokio::test]
async fn an_alb_restricted_to_one_public_range_is_compliant_and_names_it() {
    let c = clients().await;
    let scenario = Scenario {
        service: Svc::Lb(LbSpec {
            client_cidr: "203.0.113.0/24",
            ..LbSpec::valid_alb()
        }),
        ..fargate(Subnet::Private)
    };
    let built = build(&c, &scenario).await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert_eq!(rules(e), [("LB_RESTRICTED_SOURCES", Severity::Info)]);
    assert!(e.findings[0].message.contains("203.0.113.0/24"));
}

#[tokio::test]
async fn an_alb_admitting_private_ranges_only_is_non_compliant() {
    let c = clients().await;
    let scenario = Scenario {
        service: Svc::Lb(LbSpec {
            client_cidr: "10.0.0.0/8",
            ..LbSpec::valid_alb()
        }),
        ..fargate(Subnet::Private)
    };
    let built = build(&c, &scenario).await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(e.findings[0].rule, "LB_SG_BLOCKS_LISTENER", "{e:#?}");
    assert!(e.findings[0].message.contains("from any public source"));
}

#[tokio::test]
async fn a_load_balancer_admitting_a_prefix_list_is_checked_with_its_entries() {
    let c = clients().await;
    let scenario = Scenario {
        service: Svc::Lb(LbSpec {
            client_cidr: "198.51.100.0/24",
            clients_by_prefix_list: true,
            ..LbSpec::valid_alb()
        }),
        ..fargate(Subnet::Private)
    };
    let built = build(&c, &scenario).await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert_eq!(rules(e), [("LB_RESTRICTED_SOURCES", Severity::Info)]);
    assert!(e.findings[0].message.contains("198.51.100.0/24"), "{e:#?}");
}

#[tokio::test]
async fn a_managed_instances_task_is_checked_like_an_ec2_task() {
    let c = clients().await;
    let scenario = Scenario {
        launch_type: "MANAGED_INSTANCES",
        ..Scenario::seed()
    };
    let built = build(&c, &scenario).await;
    let report = check(&built, built.event.clone()).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(
        rules(e),
        [
            ("AWSVPC_EC2_PUBLIC_NO_INBOUND", Severity::High),
            ("AWSVPC_EC2_PUBLIC_NO_EGRESS", Severity::Medium)
        ]
    );
    assert_eq!(
        e.context.as_ref().unwrap().launch_type.as_deref(),
        Some("MANAGED_INSTANCES")
    );
}

#[tokio::test]
async fn a_task_that_maps_only_a_port_range_is_checked_and_named_by_its_range() {
    use aws_sdk_ecs::types::{ContainerDefinition, NetworkMode, PortMapping};
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let td = c
        .ecs
        .register_task_definition()
        .family(crate::world::unique("ranged"))
        .network_mode(NetworkMode::Awsvpc)
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("web:1")
                .memory(128)
                .port_mappings(
                    PortMapping::builder()
                        .container_port_range("7000-7010")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut event = built.event.clone();
    event["detail"]["taskDefinitionArn"] =
        json!(td.task_definition().unwrap().task_definition_arn().unwrap());
    let report = check(&built, event).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(e.findings[0].rule, "AWSVPC_EC2_PUBLIC_NO_INBOUND");
    assert!(e.findings[0].message.contains("7000-7010/tcp"), "{e:#?}");
}
