//! The preflight as a CloudFormation Lambda Hook (#24), as deployed: the real Lambda binary,
//! started with the environment `template.yaml` gives it when `EnablePreflightHook` is on, under
//! a local Runtime API, answering hook requests in the guide's shape
//! (`tests/fixtures/hook/`) whose service properties come from moto worlds.

use serde_json::{json, Value};

use crate::cfn::{Template, ACCOUNT, REGION, STACK};
use crate::harness::{moto, repo_root};
use crate::runtime_api::{spawn_lambda_with, Outcome, RuntimeApi};
use crate::world::{
    build, clients, dedup_table, route_through_nat, Built, Clients, LbSpec, Nat, Scenario,
};

fn fixture(name: &str) -> Value {
    let path = repo_root().join("tests/fixtures/hook").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The world's service as CloudFormation would send it: its properties in the template's
/// spelling (PascalCase, numbers as strings), `overrides` on top.
async fn request(c: &Clients, built: &Built, token: &str, overrides: Value) -> Value {
    let name = built.service.as_deref().unwrap();
    let described = c
        .ecs
        .describe_services()
        .cluster(&built.cluster)
        .services(name)
        .send()
        .await
        .unwrap();
    let service = &described.services()[0];
    let load_balancers: Vec<Value> = service
        .load_balancers()
        .iter()
        .map(|lb| {
            json!({
                "TargetGroupArn": lb.target_group_arn(),
                "ContainerName": lb.container_name(),
                "ContainerPort": lb.container_port().map(|p| p.to_string()),
            })
        })
        .collect();
    let mut payload = fixture("create-service.json");
    payload["clientRequestToken"] = json!(token);
    let properties = &mut payload["requestData"]["targetModel"]["resourceProperties"];
    *properties = json!({
        "Cluster": built.cluster,
        "ServiceName": name,
        "TaskDefinition": service.task_definition(),
        "LaunchType": "EC2",
        "DesiredCount": "2",
        "LoadBalancers": load_balancers,
        "NetworkConfiguration": {"AwsvpcConfiguration": {
            "Subnets": [built.subnet_id], "SecurityGroups": [built.task_sg], "AssignPublicIp": "DISABLED"}}
    });
    for (k, v) in overrides.as_object().unwrap() {
        properties[k] = v.clone();
    }
    payload
}

fn annotation<'a>(response: &'a Value, rule: &str) -> &'a Value {
    response["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["annotationName"] == rule)
        .unwrap_or_else(|| panic!("no {rule} annotation: {response:#}"))
}

#[tokio::test]
async fn the_deployed_hook_fails_conflicts_skips_what_may_not_be_there_yet_and_passes_deletes() {
    let c = clients().await;
    let seed = build(&c, &Scenario::seed()).await;
    let open = build(&c, &Scenario::behind(LbSpec::valid_alb())).await;
    route_through_nat(&c, &open, Nat::Working).await;
    let closed = build(
        &c,
        &Scenario::behind(LbSpec {
            task_sg_admits_lb: false,
            ..LbSpec::valid_alb()
        }),
    )
    .await;
    route_through_nat(&c, &closed, Nat::Working).await;
    let requests = vec![
        request(&c, &seed, "seed", json!({})).await,
        // Fargate in the seed's public subnet without a public IP.
        request(&c, &seed, "fargate", json!({"LaunchType": "FARGATE"})).await,
        request(&c, &open, "open", json!({})).await,
        request(&c, &closed, "closed", json!({})).await,
        fixture("delete-service.json"),
        // A port CloudFormation itself would refuse: not judged, never an invocation error.
        request(
            &c,
            &open,
            "unusable",
            json!({"LoadBalancers": [{"ContainerName": "web", "ContainerPort": "http"}]}),
        )
        .await,
    ];
    let template = Template::load();
    let table = dedup_table().await;
    let function_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-checker");
    let stack = template.stack(
        &[
            ("EnablePreflightHook", "true"),
            ("PreflightFailureMode", "FAIL"),
        ],
        &[
            ("AlertTopic", seed.topic_arn.as_str()),
            ("DedupTable", table.as_str()),
            ("CheckerFunction", function_arn.as_str()),
        ],
    );
    let env = stack.function_environment("CheckerFunction");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let api = RuntimeApi::start(requests);
    let mut lambda = spawn_lambda_with(&api, moto(), None, &env);
    let mut next = || match api.next_outcome_of(&mut lambda) {
        Outcome::Response(r) => r,
        other => panic!("a hook invocation never fails: {other:?}"),
    };

    let r = next();
    assert_eq!(r["hookStatus"], "FAILED", "{r:#}");
    assert_eq!(r["errorCode"], "NonCompliant");
    assert_eq!(r["clientRequestToken"], "seed");
    let message = r["message"].as_str().unwrap();
    assert!(
        message.starts_with("AWSVPC_EC2_PUBLIC_NO_INBOUND: ") && message.contains(" Fix: "),
        "{message}"
    );
    assert_eq!(
        annotation(&r, "AWSVPC_EC2_PUBLIC_NO_INBOUND")["status"],
        "FAILED"
    );
    assert_eq!(
        annotation(&r, "AWSVPC_EC2_PUBLIC_NO_INBOUND")["severityLevel"],
        "HIGH"
    );

    let r = next();
    assert_eq!(r["hookStatus"], "FAILED", "{r:#}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .starts_with("FARGATE_PUBLIC_SUBNET_NO_PUBLIC_IP: "),
        "{r:#}"
    );

    let r = next();
    assert_eq!(r["hookStatus"], "SUCCESS", "{r:#}");
    assert_eq!(annotation(&r, "SG_BLOCKS_LB_TRAFFIC")["status"], "PASSED");
    assert_eq!(annotation(&r, "LB_NO_LISTENER")["status"], "PASSED");
    assert!(
        r["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "PASSED"),
        "{r:#}"
    );

    // The task group's ingress rule may be created in parallel with the service: not there
    // yet, so SKIPPED — the `preflight` command calls the same world NON_COMPLIANT.
    let r = next();
    assert_eq!(r["hookStatus"], "SUCCESS", "{r:#}");
    let skipped = annotation(&r, "SG_BLOCKS_LB_TRAFFIC");
    assert_eq!(skipped["status"], "SKIPPED");
    assert_eq!(skipped["severityLevel"], "HIGH");
    assert!(
        skipped["statusMessage"]
            .as_str()
            .unwrap()
            .contains("may not be there yet"),
        "{skipped:#}"
    );

    let r = next();
    assert_eq!(r["hookStatus"], "SUCCESS", "{r:#}");
    assert_eq!(
        r["clientRequestToken"],
        "0c5a2b3e-9d1f-4e59-8f57-2d7b6c1e0a11"
    );

    let r = next();
    assert_eq!(r["hookStatus"], "SUCCESS", "{r:#}");
    let skipped = annotation(&r, "CHECK_INCOMPLETE");
    assert_eq!(skipped["status"], "SKIPPED");
    assert!(
        skipped["statusMessage"]
            .as_str()
            .unwrap()
            .contains("containerPort must be an integer"),
        "{r:#}"
    );
}
