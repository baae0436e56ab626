//! The path drawn (#25): `--format markdown` (a Mermaid chart and the findings) and
//! `--format html` (one self-contained page) of `check` and `audit`, on moto worlds.

use crate::harness::{moto, run_cli};
use crate::world::{build, clients, run_tasks, LbSpec, Scenario, Subnet, Svc};

fn alb() -> Scenario {
    Scenario {
        service: Svc::Lb(LbSpec {
            task_sg_admits_lb: false,
            ..LbSpec::valid_alb()
        }),
        subnet: Subnet::Private,
        host_public_ip: false,
        ..Scenario::seed()
    }
}

#[tokio::test]
async fn check_draws_the_seed_path_in_mermaid_with_the_blocked_hop_named() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let event = built.event.to_string();
    let (code, md, stderr) = run_cli(
        moto(),
        &["check", "--event", "-", "--format", "markdown"],
        Some(&event),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(md.contains("NON_COMPLIANT"), "{md}");
    assert!(md.contains("```mermaid\nflowchart LR\n"), "{md}");
    let host_ip = built.host_ip.as_deref().unwrap();
    assert!(
        md.contains(&format!(
            "{{{{\"Public IP<br/>{host_ip}<br/>BLOCKED<br/>AWSVPC_EC2_PUBLIC_NO_INBOUND\"}}}}:::blocked"
        )),
        "the blocked hop is a hexagon with its status and rule: {md}"
    );
    assert!(md.contains(&built.eni_id), "{md}");
    assert!(
        md.contains("| HIGH | `AWSVPC_EC2_PUBLIC_NO_INBOUND` |"),
        "{md}"
    );
}

#[tokio::test]
async fn check_and_audit_write_one_self_contained_page_with_the_blocked_hop_marked() {
    let c = clients().await;
    let built = build(&c, &alb()).await;
    let event = built.event.to_string();
    let (code, page, stderr) = run_cli(
        moto(),
        &["check", "--event", "-", "--format", "html"],
        Some(&event),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("default-src 'none'"));
    assert!(
        page.contains("data-hop=\"TaskSecurityGroups\" data-status=\"blocked\""),
        "{page}"
    );
    assert!(page.contains("SG_BLOCKS_LB_TRAFFIC"));
    for banned in ["<script", "src=", "href="] {
        assert!(!page.contains(banned), "{banned}");
    }

    run_tasks(&c, &built, 2).await;
    let (code, page, stderr) = run_cli(
        moto(),
        &["audit", "--cluster", &built.cluster, "--format", "html"],
        None,
    );
    assert_eq!(code, 1, "NON_COMPLIANT: {stderr}");
    assert!(page.contains("<table class=\"summary\">"), "{page}");
    assert!(page.contains("data-status=\"blocked\""), "{page}");
    let (code, md, _) = run_cli(
        moto(),
        &["audit", "--cluster", &built.cluster, "--format", "markdown"],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        md.contains("| Cluster | Service |") && md.contains("```mermaid"),
        "{md}"
    );
}
