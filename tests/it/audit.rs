//! `audit` and `check --task` against tasks started with moto's run_task.

use serde_json::{json, Value};

use crate::harness::{moto, run_cli, Proxy};
use crate::world::{build, clients, run_tasks, Scenario, Subnet};

#[tokio::test]
async fn audit_reports_per_service_with_linter_exit_codes_and_batched_reads() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let arns = run_tasks(&c, &built, 3).await;
    assert_eq!(arns.len(), 3);
    let proxy = Proxy::start();
    let (code, out, stderr) = run_cli(
        &proxy.endpoint,
        &["audit", "--cluster", &built.cluster, "--format", "json"],
        None,
    );
    assert_eq!(code, 1, "NON_COMPLIANT tasks exit 1: {stderr}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["evaluations"].as_array().unwrap().len(),
        3,
        "{report:#}"
    );
    let services = report["services"].as_array().unwrap();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["service"], built.service.as_deref().unwrap());
    assert_eq!(services[0]["compliance"], "NON_COMPLIANT");
    assert_eq!(services[0]["tasks"], 3);
    assert!(services[0]["rules"]
        .as_array()
        .unwrap()
        .contains(&json!("AWSVPC_EC2_PUBLIC_NO_INBOUND")));
    assert_eq!(report["summary"]["nonCompliant"], 3);
    let calls = &proxy.stats()["by_action"];
    for (action, most) in [
        ("ListTasks", 1),
        ("DescribeTasks", 1),
        ("DescribeNetworkInterfaces", 1),
        ("DescribeTaskDefinition", 1),
        ("DescribeServices", 1),
        ("DescribeRouteTables", 1),
    ] {
        assert!(
            calls[action].as_u64().unwrap_or(0) <= most,
            "{action}: {calls}"
        );
    }

    let (code, table, _) = run_cli(moto(), &["audit", "--cluster", &built.cluster], None);
    assert_eq!(code, 1);
    assert!(
        table.contains("NON_COMPLIANT") && table.contains(built.service.as_deref().unwrap()),
        "{table}"
    );
    assert!(
        !table.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    let (code, out, stderr) = run_cli(
        moto(),
        &["check", "--task", &arns[0], "--cluster", &built.cluster],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["resourceId"], arns[0].as_str());
    assert_eq!(e["compliance"], "NON_COMPLIANT");
}

#[tokio::test]
async fn audit_of_a_compliant_cluster_exits_0_and_usage_errors_exit_2() {
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
    run_tasks(&c, &built, 2).await;
    let (code, out, stderr) = run_cli(
        moto(),
        &["audit", "--cluster", &built.cluster, "--format", "json"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["compliant"], 2, "{report:#}");
    let (code, _, _) = run_cli(moto(), &["audit"], None);
    assert_eq!(code, 2, "no cluster named");
    let (code, _, _) = run_cli(moto(), &["check", "--task", "arn:x"], None);
    assert_eq!(code, 2, "--task needs --cluster");
    let (code, out, stderr) = run_cli(moto(), &["audit", "--cluster", "no-such-cluster"], None);
    assert_eq!(code, 2, "{out}");
    assert!(
        stderr.contains("no-such-cluster") && stderr.contains("ClusterNotFoundException"),
        "{stderr}"
    );
}

#[test]
fn audit_refuses_accounts_and_role_names_iam_would_refuse_before_any_call() {
    let proxy = Proxy::start();
    for args in [
        vec![
            "audit",
            "--all-clusters",
            "--account",
            "111111111111:role/x",
            "--role-name",
            "r",
        ],
        vec![
            "audit",
            "--all-clusters",
            "--account",
            "1111",
            "--role-name",
            "r",
        ],
        vec![
            "audit",
            "--all-clusters",
            "--account",
            "111111111111",
            "--role-name",
            "bad role:name",
        ],
    ] {
        let (code, _, stderr) = run_cli(&proxy.endpoint, &args, None);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("invalid value"), "{args:?}: {stderr}");
    }
    assert_eq!(proxy.stats()["total"], 0, "nothing reached AWS");
}
