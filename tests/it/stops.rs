//! Why did it stop, against moto: the network facts of a stop diagnosis (routes, security
//! groups, NACLs, VPC endpoints, VPC DNS attributes, the container instance's subnet) come from
//! real EC2/ELB/ECS calls; the stop itself is the event ECS would send. moto keeps no stop
//! codes, target-health reasons or deployment network configurations: the fake-reader tests
//! (`app::check::tests::stops`) cover those.

use aws_sdk_ec2::types::{AttributeBooleanValue, VpcEndpointType};
use ecs_inbound_guard::domain::verdict::{Severity, Status};
use serde_json::{json, Value};

use crate::verdicts::check;
use crate::world::{
    build, clients, main_route_table, received, route_through_nat, subnet_with_own_table, unique,
    Built, Clients, LbSpec, Nat, Scenario, Subnet, Svc,
};

const PULL_TIMEOUT: &str = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref: dial tcp 10.0.1.9:443: i/o timeout";
const ECR_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2";

/// The world's event, turned into the STOPPED event ECS sends for `reason`.
fn stopped(built: &Built, reason: &str) -> Value {
    let mut event = built.event.clone();
    let detail = &mut event["detail"];
    detail["lastStatus"] = json!("STOPPED");
    detail["desiredStatus"] = json!("STOPPED");
    detail["stoppedReason"] = json!(reason);
    detail["stopCode"] = json!("TaskFailedToStart");
    detail["stoppedAt"] = json!("2025-05-02T10:20:31.000Z");
    event
}

fn fargate_private() -> Scenario {
    Scenario {
        launch_type: "FARGATE",
        subnet: Subnet::Private,
        host_public_ip: false,
        ..Scenario::seed()
    }
}

fn rules(
    report: &ecs_inbound_guard::domain::delivery::CheckReport,
) -> Vec<(&'static str, Severity)> {
    report
        .evaluation
        .findings
        .iter()
        .map(|f| (f.rule, f.severity))
        .collect()
}

/// Registers a task definition pulling `image` and points the event at it.
async fn with_image(c: &Clients, event: &mut Value, image: &str) {
    let td = c
        .ecs
        .register_task_definition()
        .family(unique("web"))
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image(image)
                .memory(512)
                .port_mappings(
                    aws_sdk_ecs::types::PortMapping::builder()
                        .container_port(3000)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    event["detail"]["taskDefinitionArn"] =
        json!(td.task_definition().unwrap().task_definition_arn().unwrap());
}

/// ecr.api, ecr.dkr (interface, private DNS, a group admitting 443 from the task's) and the S3
/// gateway on the subnet's (main) route table; DNS hostnames on.
async fn ecr_endpoints(c: &Clients, built: &Built) {
    let sg = c
        .ec2
        .create_security_group()
        .group_name(unique("endpoints"))
        .description("endpoints")
        .vpc_id(&built.vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    c.ec2
        .authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .user_id_group_pairs(
                    aws_sdk_ec2::types::UserIdGroupPair::builder()
                        .group_id(&built.task_sg)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    for service in ["ecr.api", "ecr.dkr"] {
        c.ec2
            .create_vpc_endpoint()
            .vpc_id(&built.vpc_id)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name(format!("com.amazonaws.us-east-1.{service}"))
            .subnet_ids(&built.subnet_id)
            .security_group_ids(&sg)
            .private_dns_enabled(true)
            .send()
            .await
            .unwrap();
    }
    c.ec2
        .create_vpc_endpoint()
        .vpc_id(&built.vpc_id)
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .service_name("com.amazonaws.us-east-1.s3")
        .route_table_ids(main_route_table(c, &built.vpc_id).await)
        .send()
        .await
        .unwrap();
    dns(c, built, "hostnames", true).await;
}

async fn dns(c: &Clients, built: &Built, which: &str, on: bool) {
    let value = AttributeBooleanValue::builder().value(on).build();
    let req = c.ec2.modify_vpc_attribute().vpc_id(&built.vpc_id);
    let req = match which {
        "hostnames" => req.enable_dns_hostnames(value),
        _ => req.enable_dns_support(value),
    };
    req.send().await.unwrap();
}

#[tokio::test]
async fn a_fargate_pull_from_a_private_subnet_without_nat_names_the_missing_hop() {
    let c = clients().await;
    let built = build(&c, &fargate_private()).await;
    let report = check(&built, stopped(&built, PULL_TIMEOUT)).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(rules(&report), [("IMAGE_PULL_NO_EGRESS", Severity::High)]);
    let message = &e.findings[0].message;
    assert!(
        message.contains(&format!("the task ENI in subnet {}", built.subnet_id)),
        "{message}"
    );
    // The world's image is on Docker Hub: endpoints could not serve it.
    assert!(
        message.contains("image web:1.4.2 is not in Amazon ECR"),
        "{message}"
    );
    assert!(report.alert.published);
    let got = received(&c, &built.queue_url, 2).await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0]["Subject"]
            .as_str()
            .unwrap()
            .starts_with("ECS task failed to start"),
        "{}",
        got[0]
    );
}

#[tokio::test]
async fn ecr_endpoints_with_private_dns_serve_the_pull_unless_dns_is_off() {
    let c = clients().await;
    let built = build(&c, &fargate_private()).await;
    ecr_endpoints(&c, &built).await;
    let mut event = stopped(&built, PULL_TIMEOUT);
    with_image(&c, &mut event, ECR_IMAGE).await;
    let report = check(&built, event.clone()).await.unwrap();
    assert_eq!(
        report.evaluation.compliance,
        Status::Compliant,
        "{:#?}",
        report.evaluation
    );
    assert!(rules(&report).is_empty(), "{:#?}", report.evaluation);
    assert!(!report.alert.published);

    dns(&c, &built, "hostnames", false).await;
    let report = check(&built, event.clone()).await.unwrap();
    assert_eq!(
        rules(&report),
        [("IMAGE_PULL_DNS_DISABLED", Severity::High)]
    );
    assert!(report.evaluation.findings[0]
        .message
        .contains("enableDnsHostnames off"));

    dns(&c, &built, "support", false).await;
    let report = check(&built, event).await.unwrap();
    assert_eq!(
        rules(&report),
        [("IMAGE_PULL_DNS_DISABLED", Severity::High)]
    );
    assert!(report.evaluation.findings[0]
        .message
        .contains("enableDnsSupport off"));
}

#[tokio::test]
async fn a_permission_reason_is_not_a_network_cause_and_still_alerts() {
    let c = clients().await;
    let built = build(&c, &fargate_private()).await;
    let reason = "ResourceInitializationError: unable to pull secrets or registry auth: AccessDeniedException: User is not authorized to perform: ecr:GetAuthorizationToken";
    let report = check(&built, stopped(&built, reason)).await.unwrap();
    assert_eq!(report.evaluation.compliance, Status::Compliant);
    assert_eq!(rules(&report), [("IMAGE_PULL_NOT_NETWORK", Severity::Info)]);
    // A stop with any finding is alerted whatever the severity floor.
    assert!(report.alert.published);
}

#[tokio::test]
async fn an_ec2_pull_is_diagnosed_on_the_container_instance_subnet() {
    let c = clients().await;
    // The task ENI's subnet is public; the instance sits in the other, private subnet.
    let built = build(
        &c,
        &Scenario {
            subnet: Subnet::PublicExplicit,
            host_public_ip: false,
            ..Scenario::seed()
        },
    )
    .await;
    let report = check(&built, stopped(&built, PULL_TIMEOUT)).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(rules(&report), [("IMAGE_PULL_NO_EGRESS", Severity::High)]);
    let message = &e.findings[0].message;
    assert!(
        message.contains(&format!("container instance {}", built.instance_id)),
        "{message}"
    );
    assert!(
        !message.contains(&built.subnet_id),
        "the task subnet does not matter: {message}"
    );
}

async fn target_group_of(c: &Clients, built: &Built) -> String {
    let out = c
        .ecs
        .describe_services()
        .cluster(&built.cluster)
        .services(built.service.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    out.services()[0].load_balancers()[0]
        .target_group_arn()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_health_check_kill_is_blamed_on_the_closed_task_group_or_on_the_application() {
    let c = clients().await;
    for (admits, want) in [
        (false, ("HEALTH_CHECK_BLOCKED", Severity::High)),
        (true, ("HEALTH_CHECK_APP_FAILED", Severity::Medium)),
    ] {
        let spec = LbSpec {
            task_sg_admits_lb: admits,
            ..LbSpec::valid_alb()
        };
        let built = build(
            &c,
            &Scenario {
                subnet: Subnet::Private,
                host_public_ip: false,
                service: Svc::Lb(spec),
                ..Scenario::seed()
            },
        )
        .await;
        let tg = target_group_of(&c, &built).await;
        let reason = format!("Task failed ELB health checks in (target-group {tg})");
        let mut event = stopped(&built, &reason);
        event["detail"]["stopCode"] = json!("ServiceSchedulerInitiated");
        let report = check(&built, event).await.unwrap();
        assert_eq!(rules(&report), [want], "{:#?}", report.evaluation);
        assert!(report.alert.published);
        if !admits {
            let message = &report.evaluation.findings[0].message;
            assert!(message.contains(&built.task_sg), "{message}");
            assert!(message.contains("--port 3000"), "{message}");
        }
    }
}

#[tokio::test]
async fn a_failed_deployment_is_diagnosed_through_the_task_ecs_stopped() {
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
    let service_arn = format!(
        "arn:aws:ecs:us-east-1:123456789012:service/{}/{}",
        built.cluster,
        built.service.as_deref().unwrap()
    );
    let event = json!({"version": "0", "id": unique("event"), "detail-type": "ECS Deployment State Change",
        "source": "aws.ecs", "account": "123456789012", "time": "2025-05-02T10:31:14Z", "region": "us-east-1",
        "resources": [service_arn],
        "detail": {"eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED",
                   "deploymentId": "ecs-svc/1234567890123456789",
                   "reason": "ECS deployment circuit breaker: tasks failed to start."}});
    // Nothing stopped yet: no stopped task to diagnose is INSUFFICIENT_DATA, not a guess.
    let report = check(&built, event.clone()).await.unwrap();
    assert_eq!(
        report.evaluation.compliance,
        Status::InsufficientData,
        "{:#?}",
        report.evaluation
    );
    assert!(!report.alert.published);

    let tasks = crate::world::run_tasks(&c, &built, 1).await;
    c.ecs
        .stop_task()
        .cluster(&built.cluster)
        .task(&tasks[0])
        .reason(PULL_TIMEOUT)
        .send()
        .await
        .unwrap();
    let report = check(&built, event).await.unwrap();
    let e = &report.evaluation;
    assert_eq!(e.resource_type, "AWS::ECS::Service");
    assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
    assert_eq!(rules(&report), [("IMAGE_PULL_NO_EGRESS", Severity::High)]);
    assert!(e.findings[0]
        .message
        .contains(&format!("container instance {}", built.instance_id)));
    let stop = e.stop.as_ref().unwrap();
    assert_eq!(stop.stopped_task.as_deref(), Some(tasks[0].as_str()));
    assert!(report.alert.published);
    let got = received(&c, &built.queue_url, 2).await;
    assert!(
        got[0]["Subject"]
            .as_str()
            .unwrap()
            .starts_with("ECS deployment failed"),
        "{}",
        got[0]
    );
}

/// The real Lambda binary (local Runtime API) diagnoses a stop and alerts once per deployment.
#[tokio::test]
async fn the_lambda_diagnoses_a_stop_and_alerts_once_per_deployment() {
    use crate::runtime_api::{spawn_lambda_with, Outcome, RuntimeApi};
    let c = clients().await;
    let built = build(&c, &fargate_private()).await;
    let table = crate::world::dedup_table().await;
    let first = stopped(&built, PULL_TIMEOUT);
    // Another task of the same deployment failing the same way.
    let mut second = first.clone();
    let arn = format!("{}-2", first["detail"]["taskArn"].as_str().unwrap());
    second["id"] = json!(unique("event"));
    second["resources"] = json!([arn]);
    second["detail"]["taskArn"] = json!(arn);
    let api = RuntimeApi::start(vec![first, second]);
    let _lambda = spawn_lambda_with(
        &api,
        crate::harness::moto(),
        Some(&built.topic_arn),
        &[("DEDUP_TABLE_NAME", table.as_str())],
    );
    let Outcome::Response(e) = api.next_outcome() else {
        panic!("stop diagnosis failed")
    };
    assert_eq!(e["compliance"], "NON_COMPLIANT", "{e:#}");
    assert_eq!(e["findings"][0]["rule"], "IMAGE_PULL_NO_EGRESS");
    assert_eq!(e["stop"]["kind"], "START_FAILURE");
    assert_eq!(e["alert"]["published"], true);
    let Outcome::Response(e) = api.next_outcome() else {
        panic!("stop diagnosis failed")
    };
    assert_eq!(e["alert"]["deduplicated"], true, "{e:#}");
    let got = received(&c, &built.queue_url, 2).await;
    assert_eq!(got.len(), 1, "one alert per deployment");
}

#[tokio::test]
async fn a_pull_through_a_nat_gateway_is_judged_by_where_the_nat_gateway_leads() {
    let cases = [
        (Nat::Working, None),
        (Nat::InAPrivateSubnet, Some("whose route table")),
        (Nat::Private, Some("is private (ConnectivityType private)")),
        (Nat::Deleted, Some("is deleted")),
    ];
    let c = clients().await;
    for (nat, want) in cases {
        let built = build(&c, &fargate_private()).await;
        let nat_id = route_through_nat(&c, &built, nat).await;
        let report = check(&built, stopped(&built, PULL_TIMEOUT)).await.unwrap();
        let e = &report.evaluation;
        match want {
            None => {
                assert_eq!(e.compliance, Status::Compliant, "{nat:?}: {e:#?}");
                assert!(rules(&report).is_empty(), "{nat:?}: {e:#?}");
            }
            Some(text) => {
                assert_eq!(
                    rules(&report),
                    [("IMAGE_PULL_NO_EGRESS", Severity::High)],
                    "{nat:?}"
                );
                let message = &e.findings[0].message;
                assert!(
                    message.contains(&format!("NAT gateway {nat_id}")) && message.contains(text),
                    "{nat:?}: {message}"
                );
            }
        }
    }
}

/// Sends the world's (main) route table's 0.0.0.0/0 to a NAT instance in a public subnet: a
/// public IP, its group admitting 443 from the task's, source/destination check as given.
async fn route_through_nat_instance(c: &Clients, built: &Built, source_dest_check: bool) -> String {
    use aws_sdk_ec2::types::{
        InstanceNetworkInterfaceSpecification, IpPermission, UserIdGroupPair,
    };
    let subnet = subnet_with_own_table(c, &built.vpc_id, "10.0.60.0/24", true).await;
    let nat_sg = c
        .ec2
        .create_security_group()
        .group_name(unique("nat"))
        .description("nat")
        .vpc_id(&built.vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    c.ec2
        .authorize_security_group_ingress()
        .group_id(&nat_sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&built.task_sg).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let reservation = c
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&subnet)
                .associate_public_ip_address(true)
                .groups(&nat_sg)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let nat = reservation.instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    c.ec2
        .modify_instance_attribute()
        .instance_id(&nat)
        .source_dest_check(
            AttributeBooleanValue::builder()
                .value(source_dest_check)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.ec2
        .create_route()
        .route_table_id(main_route_table(c, &built.vpc_id).await)
        .destination_cidr_block("0.0.0.0/0")
        .instance_id(&nat)
        .send()
        .await
        .unwrap();
    nat
}

#[tokio::test]
async fn a_pull_through_a_nat_instance_needs_its_source_destination_check_off() {
    let c = clients().await;
    for source_dest_check in [false, true] {
        let built = build(&c, &fargate_private()).await;
        let nat = route_through_nat_instance(&c, &built, source_dest_check).await;
        let report = check(&built, stopped(&built, PULL_TIMEOUT)).await.unwrap();
        let e = &report.evaluation;
        if source_dest_check {
            assert_eq!(
                rules(&report),
                [("IMAGE_PULL_NO_EGRESS", Severity::High)],
                "{e:#?}"
            );
            let message = &e.findings[0].message;
            assert!(
                message.contains(&format!(
                    "NAT instance {nat} has source/destination check on"
                )),
                "{message}"
            );
        } else {
            assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
            assert!(rules(&report).is_empty(), "{e:#?}");
        }
    }
}
