//! `preflight` against moto (#24): the rules judged on a service before it deploys — an
//! existing service (its subnets and groups stand in for the task ENI) or a create-service input,
//! with its task definition or a what-if one from a file.

use serde_json::{json, Value};

use crate::harness::{moto, run_cli};
use crate::world::{
    build, clients, create_subnet, route_through_nat, Built, LbSpec, Nat, Scenario, Subnet,
};

/// A JSON file, deleted when dropped.
struct JsonFile(tempfile::NamedTempFile);

impl JsonFile {
    fn new(value: &Value) -> Self {
        let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
        std::io::Write::write_all(&mut file, value.to_string().as_bytes()).unwrap();
        JsonFile(file)
    }

    fn arg(&self) -> &str {
        self.0.path().to_str().unwrap()
    }
}

fn preflight_existing(built: &Built, extra: &[&str]) -> (i32, Value, String) {
    let service = built.service.as_deref().unwrap();
    let mut args = vec![
        "preflight",
        "--cluster",
        &built.cluster,
        "--service",
        service,
    ];
    args.extend_from_slice(extra);
    let (code, out, stderr) = run_cli(moto(), &args, None);
    let evaluation = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, evaluation, stderr)
}

fn rules(e: &Value) -> Vec<String> {
    e["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| f["rule"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_seed_trap_is_caught_before_the_deploy() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let (code, e, stderr) = preflight_existing(&built, &[]);
    assert_eq!(code, 1, "NON_COMPLIANT exits 1: {stderr}");
    assert_eq!(e["resourceType"], "AWS::ECS::Service");
    assert_eq!(e["compliance"], "NON_COMPLIANT", "{e:#}");
    assert_eq!(rules(&e)[0], "AWSVPC_EC2_PUBLIC_NO_INBOUND", "{e:#}");
    let path: Vec<&str> = e["path"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["status"] == "blocked")
        .map(|h| h["hop"].as_str().unwrap())
        .collect();
    assert!(path.contains(&"publicIp"), "{path:?}");
}

#[tokio::test]
async fn an_alb_service_is_judged_hop_by_hop_open_and_closed() {
    let c = clients().await;
    let open = build(&c, &Scenario::behind(LbSpec::valid_alb())).await;
    // Its container instances pull images through a NAT gateway (the world's private subnets
    // have no way out otherwise, and preflight would say a task cannot start).
    route_through_nat(&c, &open, Nat::Working).await;
    let (code, e, stderr) = preflight_existing(&open, &[]);
    assert_eq!(code, 0, "{stderr} {e:#}");
    assert_eq!(e["compliance"], "COMPLIANT", "{e:#}");
    assert!(rules(&e).is_empty(), "{e:#}");

    let closed = build(
        &c,
        &Scenario::behind(LbSpec {
            task_sg_admits_lb: false,
            ..LbSpec::valid_alb()
        }),
    )
    .await;
    route_through_nat(&c, &closed, Nat::Working).await;
    let (code, e, _) = preflight_existing(&closed, &["--format", "json"]);
    assert_eq!(code, 1);
    assert_eq!(rules(&e), ["SG_BLOCKS_LB_TRAFFIC"], "{e:#}");

    // A what-if task definition whose port no longer matches the load balancer's mapping.
    let td = JsonFile::new(&json!({
        "family": "web",
        "networkMode": "awsvpc",
        "containerDefinitions": [{"name": "web", "image": "web:2", "portMappings": [{"containerPort": "8080"}]}]
    }));
    let (code, e, stderr) = preflight_existing(&open, &["--task-definition-file", td.arg()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        rules(&e).contains(&"LB_CONTAINER_PORT_NOT_MAPPED".to_string()),
        "{e:#}"
    );
}

#[tokio::test]
async fn a_service_definition_file_is_judged_per_subnet() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let task_definition = built.event["detail"]["taskDefinitionArn"].as_str().unwrap();
    let definition = |launch: &str, public_ip: &str| {
        JsonFile::new(&json!({
            "cluster": built.cluster,
            "serviceName": "web-next",
            "taskDefinition": task_definition,
            "launchType": launch,
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": [built.subnet_id], "securityGroups": [built.task_sg], "assignPublicIp": public_ip}}
        }))
    };
    // Fargate in the public subnet without a public IP: unreachable, and says so before it runs.
    let file = definition("FARGATE", "DISABLED");
    let (code, out, stderr) = run_cli(
        moto(),
        &["preflight", "--service-definition", file.arg()],
        None,
    );
    assert_eq!(code, 1, "{stderr}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rules(&e)[0], "FARGATE_PUBLIC_SUBNET_NO_PUBLIC_IP", "{e:#}");
    // The same with a public IP: its group admits nothing from the internet, COMPLIANT.
    let file = definition("FARGATE", "ENABLED");
    let (code, out, stderr) = run_cli(
        moto(),
        &[
            "preflight",
            "--service-definition",
            file.arg(),
            "--format",
            "markdown",
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        out.contains("COMPLIANT") && out.contains("```mermaid"),
        "{out}"
    );
    let (code, page, _) = run_cli(
        moto(),
        &[
            "preflight",
            "--service-definition",
            file.arg(),
            "--format",
            "html",
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("data-status"),
        "{page}"
    );
}

#[tokio::test]
async fn a_fargate_service_in_a_private_subnet_without_a_way_out_would_never_start() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let private = create_subnet(&c, &built.vpc_id, "us-east-1a", "10.0.70.0/24").await;
    let task_definition = built.event["detail"]["taskDefinitionArn"].as_str().unwrap();
    let file = JsonFile::new(&json!({
        "cluster": built.cluster,
        "serviceName": "worker",
        "taskDefinition": task_definition,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": [private], "securityGroups": [built.task_sg], "assignPublicIp": "DISABLED"}}
    }));
    let (code, out, stderr) = run_cli(
        moto(),
        &["preflight", "--service-definition", file.arg()],
        None,
    );
    assert_eq!(code, 1, "{stderr}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["compliance"], "NON_COMPLIANT", "{e:#}");
    assert_eq!(rules(&e), ["IMAGE_PULL_NO_EGRESS"], "{e:#}");
    let message = e["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("A task of this plan would not start") && message.contains(&private),
        "{message}"
    );
    // With a NAT gateway that leads out, it starts.
    route_through_nat(&c, &built, Nat::Working).await;
    let (code, out, stderr) = run_cli(
        moto(),
        &["preflight", "--service-definition", file.arg()],
        None,
    );
    assert_eq!(code, 0, "{stderr} {out}");
}

#[tokio::test]
async fn bad_input_exits_2_with_one_line_and_no_panic() {
    let not_json = {
        let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
        std::io::Write::write_all(&mut file, b"{ not json").unwrap();
        file
    };
    let no_name = JsonFile::new(&json!({"cluster": "prod"}));
    let bad_port = JsonFile::new(
        &json!({"containerDefinitions": [{"name": "w", "portMappings": [{"containerPort": "http"}]}]}),
    );
    let service = JsonFile::new(&json!({"serviceName": "web"}));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "preflight",
                "--service-definition",
                not_json.path().to_str().unwrap(),
            ],
            "is not JSON",
        ),
        (
            vec!["preflight", "--service-definition", no_name.arg()],
            "serviceName is required",
        ),
        (
            vec![
                "preflight",
                "--service-definition",
                service.arg(),
                "--task-definition-file",
                bad_port.arg(),
            ],
            "containerPort must be an integer",
        ),
        (
            vec!["preflight", "--service-definition", "/no/such/file.json"],
            "cannot read",
        ),
        (vec!["preflight", "--cluster", "prod"], "--service"),
    ];
    for (args, want) in cases {
        let (code, out, stderr) = run_cli(moto(), &args, None);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn an_ec2_service_in_a_private_subnet_without_a_load_balancer_is_compliant_by_design() {
    let c = clients().await;
    let private = build(
        &c,
        &Scenario {
            subnet: Subnet::Private,
            host_public_ip: false,
            ..Scenario::seed()
        },
    )
    .await;
    // Its hosts pull through a NAT gateway; without one a task would not start.
    let (code, e, _) = preflight_existing(&private, &[]);
    assert_eq!(code, 1, "{e:#}");
    assert_eq!(rules(&e), ["IMAGE_PULL_NO_EGRESS"], "{e:#}");
    route_through_nat(&c, &private, Nat::Working).await;
    let (code, e, stderr) = preflight_existing(&private, &[]);
    assert_eq!(code, 0, "{stderr} {e:#}");
    assert_eq!(e["compliance"], "COMPLIANT", "{e:#}");
    assert!(
        e["annotation"]
            .as_str()
            .unwrap()
            .contains("reachable from inside the VPC by design"),
        "{e:#}"
    );
}

#[tokio::test]
async fn a_service_that_leaves_placement_to_the_cluster_runs_where_its_default_strategy_puts_it() {
    use aws_sdk_ecs::types::CapacityProviderStrategyItem;
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let task_definition = built.event["detail"]["taskDefinitionArn"].as_str().unwrap();
    // No launch type, no strategy: the cluster decides.
    let file = JsonFile::new(&json!({
        "cluster": built.cluster,
        "serviceName": "web-default",
        "taskDefinition": task_definition,
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": [built.subnet_id], "securityGroups": [built.task_sg], "assignPublicIp": "DISABLED"}}
    }));
    let judged = || {
        let (code, out, stderr) = run_cli(
            moto(),
            &["preflight", "--service-definition", file.arg()],
            None,
        );
        let e: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        (code, e, stderr)
    };
    // Without a default strategy: the EC2 launch type, the seed trap.
    let (code, e, stderr) = judged();
    assert_eq!(code, 1, "{stderr} {e:#}");
    assert_eq!(rules(&e)[0], "AWSVPC_EC2_PUBLIC_NO_INBOUND", "{e:#}");
    // Fargate by default: the trap's Fargate twin.
    c.ecs
        .put_cluster_capacity_providers()
        .cluster(&built.cluster)
        .capacity_providers("FARGATE")
        .default_capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE")
                .weight(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (code, e, stderr) = judged();
    assert_eq!(code, 1, "{stderr} {e:#}");
    assert_eq!(rules(&e)[0], "FARGATE_PUBLIC_SUBNET_NO_PUBLIC_IP", "{e:#}");
}
