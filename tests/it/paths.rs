//! Inbound path analysis against moto: a valid ALB and NLB path, and one broken hop at a time.

use ecs_inbound_guard::domain::evaluation::Evaluation;
use ecs_inbound_guard::domain::verdict::{Severity, Status};
use serde_json::{json, Value};

use crate::harness::{run_cli, Proxy};
use crate::verdicts::check;
use crate::world::{
    build, clients, received, route_through_nat, LbAcl, LbSpec, Nat, Scenario, Subnet,
};

async fn evaluate(scenario: Scenario) -> (Evaluation, Vec<Value>) {
    let c = clients().await;
    let built = build(&c, &scenario).await;
    let report = check(&built, built.event.clone())
        .await
        .expect("evaluation");
    let e = report.evaluation;
    let alerts = received(
        &c,
        &built.queue_url,
        if e.compliance == Status::NonCompliant {
            2
        } else {
            0
        },
    )
    .await;
    (e, alerts)
}

fn rules(e: &Evaluation) -> Vec<(&'static str, Severity)> {
    e.findings.iter().map(|f| (f.rule, f.severity)).collect()
}

#[tokio::test]
async fn valid_alb_path_is_compliant_with_no_findings() {
    let (e, alerts) = evaluate(Scenario::behind(LbSpec::valid_alb())).await;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert!(e.findings.is_empty(), "{:?}", rules(&e));
    assert!(alerts.is_empty());
}

#[tokio::test]
async fn valid_nlb_path_without_security_groups_is_compliant() {
    let (e, _) = evaluate(Scenario::behind(LbSpec::valid_nlb())).await;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert!(e.findings.is_empty(), "{:?}", rules(&e));
}

#[tokio::test]
async fn alb_path_from_a_public_task_subnet_is_compliant_with_the_egress_advisory() {
    let (e, alerts) = evaluate(Scenario {
        subnet: Subnet::PublicExplicit,
        ..Scenario::behind(LbSpec::valid_alb())
    })
    .await;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert_eq!(
        rules(&e),
        [("AWSVPC_EC2_PUBLIC_NO_EGRESS", Severity::Medium)]
    );
    assert!(alerts.is_empty(), "advisories alone do not alert");
}

/// Each broken hop gives its finding as the first (HIGH) one, a NON_COMPLIANT verdict, and
/// an alert that names it.
async fn assert_broken(spec: LbSpec, rule: &str, text: &str) {
    let (e, alerts) = evaluate(Scenario::behind(spec)).await;
    assert_eq!(e.compliance, Status::NonCompliant, "{rule}: {e:#?}");
    let first = &e.findings[0];
    assert_eq!(
        (first.rule, first.severity),
        (rule, Severity::High),
        "{:?}",
        rules(&e)
    );
    assert!(first.message.contains(text), "{rule}: {}", first.message);
    assert!(
        e.annotation.starts_with(rule),
        "the annotation names the first broken hop: {}",
        e.annotation
    );
    assert_eq!(alerts.len(), 1, "{rule}");
    let body = alerts[0]["Message"].as_str().unwrap();
    assert!(
        body.contains(rule) && body.contains(&first.remediation),
        "{body}"
    );
}

#[tokio::test]
async fn instance_target_group() {
    assert_broken(
        LbSpec {
            target_type_ip: false,
            ..LbSpec::valid_alb()
        },
        "LB_TARGET_TYPE_NOT_IP",
        "target type `instance`",
    )
    .await;
}

#[tokio::test]
async fn lb_mapping_to_an_unmapped_port() {
    assert_broken(
        LbSpec {
            mapping_port: 8080,
            ..LbSpec::valid_alb()
        },
        "LB_CONTAINER_PORT_NOT_MAPPED",
        "web:8080",
    )
    .await;
}

#[tokio::test]
async fn target_group_in_another_vpc() {
    assert_broken(
        LbSpec {
            tg_in_other_vpc: true,
            ..LbSpec::valid_alb()
        },
        "LB_VPC_MISMATCH",
        "not in the task's VPC",
    )
    .await;
}

#[tokio::test]
async fn no_listener_forwards_to_the_target_group() {
    assert_broken(
        LbSpec {
            listener: false,
            ..LbSpec::valid_alb()
        },
        "LB_NO_LISTENER",
        "No listener forwards",
    )
    .await;
}

#[tokio::test]
async fn internet_facing_lb_in_private_subnets() {
    assert_broken(
        LbSpec {
            lb_subnets_public: false,
            ..LbSpec::valid_alb()
        },
        "LB_SUBNETS_NOT_PUBLIC",
        "has no public subnet",
    )
    .await;
}

#[tokio::test]
async fn lb_security_group_closed_to_clients() {
    assert_broken(
        LbSpec {
            lb_sg_admits_clients: false,
            ..LbSpec::valid_alb()
        },
        "LB_SG_BLOCKS_LISTENER",
        "port 80",
    )
    .await;
}

#[tokio::test]
async fn lb_security_group_without_egress() {
    assert_broken(
        LbSpec {
            lb_sg_egress: false,
            ..LbSpec::valid_alb()
        },
        "LB_SG_BLOCKS_EGRESS",
        "-> 3000/tcp",
    )
    .await;
}

#[tokio::test]
async fn task_security_group_does_not_admit_the_lb() {
    assert_broken(
        LbSpec {
            task_sg_admits_lb: false,
            ..LbSpec::valid_alb()
        },
        "SG_BLOCKS_LB_TRAFFIC",
        "3000/tcp",
    )
    .await;
}

#[tokio::test]
async fn task_security_group_does_not_admit_the_nlb_subnets() {
    assert_broken(
        LbSpec {
            task_sg_admits_lb: false,
            ..LbSpec::valid_nlb()
        },
        "SG_BLOCKS_LB_TRAFFIC",
        "subnets",
    )
    .await;
}

#[tokio::test]
async fn network_acl_denies_the_port() {
    assert_broken(
        LbSpec {
            nacl_denies_port: true,
            ..LbSpec::valid_alb()
        },
        "NACL_BLOCKS_INBOUND",
        "rule 50",
    )
    .await;
}

#[tokio::test]
async fn the_load_balancer_subnets_acl_admits_the_vpc_only() {
    assert_broken(
        LbSpec {
            lb_acl: LbAcl::ClientsFromVpcOnly,
            ..LbSpec::valid_alb()
        },
        "LB_NACL_BLOCKS_CLIENTS",
        "inbound 80/tcp from the internet (0.0.0.0/0)",
    )
    .await;
}

#[tokio::test]
async fn the_nlb_subnets_acl_admits_the_vpc_only() {
    assert_broken(
        LbSpec {
            lb_acl: LbAcl::ClientsFromVpcOnly,
            ..LbSpec::valid_nlb()
        },
        "LB_NACL_BLOCKS_CLIENTS",
        "inbound 80/tcp from the internet",
    )
    .await;
}

#[tokio::test]
async fn the_load_balancer_subnets_acl_closes_the_container_port() {
    assert_broken(
        LbSpec {
            lb_acl: LbAcl::TargetPortClosed,
            ..LbSpec::valid_alb()
        },
        "LB_NACL_BLOCKS_TARGETS",
        "outbound 3000/tcp to",
    )
    .await;
}

#[tokio::test]
async fn a_load_balancer_subnets_acl_used_as_a_blocklist_is_compliant() {
    let (e, alerts) = evaluate(Scenario::behind(LbSpec {
        lb_acl: LbAcl::Blocklist,
        ..LbSpec::valid_alb()
    }))
    .await;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert!(e.findings.is_empty(), "{:?}", rules(&e));
    assert!(alerts.is_empty());
}

#[tokio::test]
async fn internal_lb_only_is_compliant_with_info() {
    let (e, alerts) = evaluate(Scenario::behind(LbSpec {
        internal: true,
        lb_subnets_public: false,
        ..LbSpec::valid_alb()
    }))
    .await;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert_eq!(rules(&e), [("LB_INTERNAL_ONLY", Severity::Info)]);
    assert!(alerts.is_empty());
}

#[tokio::test]
async fn unregistered_target_is_info_only() {
    let (e, alerts) = evaluate(Scenario::behind(LbSpec {
        register_target: false,
        ..LbSpec::valid_alb()
    }))
    .await;
    assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
    assert_eq!(rules(&e), [("TARGET_NOT_REGISTERED", Severity::Info)]);
    assert!(alerts.is_empty());
}

#[tokio::test]
async fn elbv2_access_denied_is_insufficient_data_naming_the_permission() {
    let c = clients().await;
    let built = build(&c, &Scenario::behind(LbSpec::valid_alb())).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "DescribeTargetGroups", "status": 400, "code": "AccessDenied", "message": "not authorized to perform elasticloadbalancing:DescribeTargetGroups"}]));
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &["check", "--event", "-"],
        Some(&built.event.to_string()),
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "INSUFFICIENT_DATA", "{e:#}");
    assert!(
        e["annotation"]
            .as_str()
            .unwrap()
            .contains("elasticloadbalancing:DescribeTargetGroups"),
        "{e:#}"
    );
    // One CHECK_INCOMPLETE for the denied action, not one per load-balancer rule.
    let incomplete: Vec<&Value> = e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "CHECK_INCOMPLETE")
        .collect();
    assert_eq!(incomplete.len(), 1, "{e:#}");
    assert!(incomplete[0]["message"]
        .as_str()
        .unwrap()
        .contains("elasticloadbalancing:DescribeTargetGroups"));
}

#[tokio::test]
async fn alb_check_makes_few_calls_in_few_waves() {
    let c = clients().await;
    let built = build(&c, &Scenario::behind(LbSpec::valid_alb())).await;
    let proxy = Proxy::start();
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &["check", "--event", "-"],
        Some(&built.event.to_string()),
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "COMPLIANT");
    let stats = proxy.stats();
    let total = stats["total"].as_u64().unwrap();
    eprintln!("ALB check: {total} calls: {}", stats["by_action"]);
    assert!(total <= 16, "{total} calls: {}", stats["by_action"]);
    for (action, count) in stats["by_action"].as_object().unwrap() {
        assert_eq!(count, 1, "{action} read more than once");
    }
    // The listener's default action forwards to the task's group: no rule is read.
    assert!(
        stats["by_action"].get("DescribeRules").is_none(),
        "{}",
        stats["by_action"]
    );
}

#[tokio::test]
async fn a_task_behind_an_alb_whose_nat_leads_nowhere_gets_the_advisory() {
    let c = clients().await;
    for (nat, want) in [
        (Nat::Working, None),
        (Nat::InAPrivateSubnet, Some("whose route table")),
        (Nat::Deleted, Some("is deleted")),
    ] {
        let built = build(&c, &Scenario::behind(LbSpec::valid_alb())).await;
        let nat_id = route_through_nat(&c, &built, nat).await;
        let e = check(&built, built.event.clone())
            .await
            .expect("evaluation")
            .evaluation;
        assert_eq!(e.compliance, Status::Compliant, "{nat:?}: {e:#?}");
        match want {
            None => assert!(e.findings.is_empty(), "{nat:?}: {:?}", rules(&e)),
            Some(text) => {
                assert_eq!(
                    rules(&e),
                    [("TASK_NAT_LEADS_NOWHERE", Severity::Medium)],
                    "{nat:?}"
                );
                let message = &e.findings[0].message;
                assert!(
                    message.contains(&format!("to {nat_id}, which leads nowhere"))
                        && message.contains(text),
                    "{nat:?}: {message}"
                );
            }
        }
    }
}
