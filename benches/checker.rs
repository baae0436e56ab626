//! Benchmark harness (not a test): AWS calls and sequential round trips per check, warm checks,
//! a 500-task deploy through one warm Lambda, Lambda init time, first-check latency, peak RSS
//! and binary size. Runs against moto through the counting, latency-injecting proxy.
//!
//! Run: `./scripts/bench.sh` (= `cargo bench --bench checker`); prints a Markdown table.
#![recursion_limit = "256"]

use ecs_inbound_guard_test_support::{harness, runtime_api, world};

use std::time::{Duration, Instant};

use harness::{http_request, moto, Proxy};
use runtime_api::{spawn_lambda, spawn_lambda_with, Outcome, RuntimeApi};
use serde_json::{json, Value};
use world::{
    build, clients, dedup_table, route_through_nat, second_task, LbSpec, Nat, Scenario, Subnet, Svc,
};

const LATENCY_MS: u64 = 100;
const REPEAT: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn set_latency(proxy: &Proxy, ms: u64) {
    http_request(
        &proxy.endpoint,
        "POST",
        "/__proxy/latency",
        &json!({ "ms": ms }).to_string(),
    );
}

fn reset(proxy: &Proxy) {
    http_request(&proxy.endpoint, "POST", "/__proxy/reset", "");
}

/// One cold check through the CLI process (fresh clients, empty cache): (calls, elapsed).
fn cold_check(proxy: &Proxy, event: &Value, topic: &str) -> (u64, Duration) {
    reset(proxy);
    let start = Instant::now();
    let (code, _, stderr) = harness::run_cli(
        &proxy.endpoint,
        &["check", "--event", "-", "--publish", "--topic-arn", topic],
        Some(&event.to_string()),
    );
    let elapsed = start.elapsed();
    assert_eq!(code, 0, "{stderr}");
    (proxy.stats()["total"].as_u64().unwrap(), elapsed)
}

/// Calls and sequential round trips: (time with latency − time without) / latency.
fn calls_and_round_trips(proxy: &Proxy, event: &Value, topic: &str) -> (u64, f64) {
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    let mut calls = 0;
    for _ in 0..REPEAT {
        set_latency(proxy, 0);
        let (c, t) = cold_check(proxy, event, topic);
        calls = c;
        fast.push(t);
        set_latency(proxy, LATENCY_MS);
        slow.push(cold_check(proxy, event, topic).1);
    }
    set_latency(proxy, 0);
    let extra = median(slow).saturating_sub(median(fast));
    (calls, extra.as_secs_f64() / (LATENCY_MS as f64 / 1000.0))
}

/// A warm check in a Lambda process: the second event after the first: (calls, elapsed).
fn warm_check(
    proxy: &Proxy,
    first: &Value,
    second: &Value,
    topic: &str,
    latency: u64,
) -> (u64, Duration) {
    set_latency(proxy, latency);
    let api = RuntimeApi::start(vec![first.clone()]);
    let _lambda = spawn_lambda(&api, &proxy.endpoint, Some(topic));
    let Outcome::Response(_) = api.next_outcome() else {
        panic!("first check failed")
    };
    // The second event is handed out only now, so no call of it is counted with the first.
    reset(proxy);
    set_latency(proxy, latency);
    let start = Instant::now();
    api.push(second.clone());
    let Outcome::Response(_) = api.next_outcome() else {
        panic!("warm check failed")
    };
    let elapsed = start.elapsed();
    let calls = proxy.stats()["total"].as_u64().unwrap();
    set_latency(proxy, 0);
    (calls, elapsed)
}

/// One fan-out work item of 25 services with 2 tasks each, evaluated by the Lambda through
/// the latency-injecting proxy: (calls, wall time).
async fn config_worker(c: &world::Clients, proxy: &Proxy, seed: &world::Built) -> (u64, Duration) {
    use aws_sdk_ecs::types::{AwsVpcConfiguration, LaunchType, NetworkConfiguration};
    world::prepare_run_task(c, &seed.vpc_id).await;
    let td = seed.event["detail"]["taskDefinitionArn"].as_str().unwrap();
    let mut services = Vec::new();
    for i in 0..25 {
        let name = format!("{}-w{i}", world::unique("svc"));
        c.ecs
            .create_service()
            .cluster(&seed.cluster)
            .service_name(&name)
            .task_definition(td)
            .desired_count(2)
            .send()
            .await
            .unwrap();
        c.ecs
            .run_task()
            .cluster(&seed.cluster)
            .task_definition(td)
            .count(2)
            .launch_type(LaunchType::Ec2)
            .started_by("ecs-svc/1")
            .group(format!("service:{name}"))
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets(&seed.subnet_id)
                            .security_groups(&seed.task_sg)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        services.push(name);
    }
    let cluster_arn = seed.event["detail"]["clusterArn"].as_str().unwrap();
    let work = json!({"ecsInboundGuardConfigWork": {"cluster": cluster_arn, "services": services,
        "resultToken": "bench", "time": "2025-05-02T10:00:00.000Z"}});
    // (A reset clears the proxy's faults: the canned PutEvaluations answer comes after it.)
    reset(proxy);
    http_request(
        &proxy.endpoint,
        "POST",
        "/__proxy/faults",
        &json!([{"action": "PutEvaluations", "status": 200, "body": {"FailedEvaluations": []}}])
            .to_string(),
    );
    set_latency(proxy, LATENCY_MS);
    let api = RuntimeApi::start(vec![]);
    let _lambda = spawn_lambda_with(&api, &proxy.endpoint, Some(&seed.topic_arn), &[]);
    let start = Instant::now();
    api.push(work);
    let out = match api.next_outcome() {
        Outcome::Response(out) => out,
        Outcome::Error(e) => panic!("worker failed: {e}"),
    };
    let elapsed = start.elapsed();
    assert_eq!(
        out["configEvaluations"].as_array().unwrap().len(),
        25,
        "{out:#}"
    );
    set_latency(proxy, 0);
    let calls = proxy.stats()["total"].as_u64().unwrap();
    http_request(&proxy.endpoint, "POST", "/__proxy/faults", "[]");
    (calls, elapsed)
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    moto();
    let c = clients().await;
    let proxy = Proxy::start();
    let mut rows: Vec<(String, String)> = Vec::new();

    // 1. Calls and round trips per cold check.
    let seed = build(&c, &Scenario::seed()).await;
    let alb_scenario = Scenario {
        service: Svc::Lb(LbSpec::valid_alb()),
        subnet: Subnet::Private,
        host_public_ip: false,
        ..Scenario::seed()
    };
    let alb = build(&c, &alb_scenario).await;
    let (calls, trips) = calls_and_round_trips(&proxy, &seed.event, &seed.topic_arn);
    rows.push((
        "seed task (cold): AWS calls incl. SNS Publish".into(),
        calls.to_string(),
    ));
    rows.push((
        "seed task (cold): sequential round trips incl. Publish".into(),
        format!("{trips:.1}"),
    ));
    let (calls, trips) = calls_and_round_trips(&proxy, &alb.event, &alb.topic_arn);
    rows.push((
        "task behind an ALB (cold): AWS calls".into(),
        calls.to_string(),
    ));
    rows.push((
        "task behind an ALB (cold): sequential round trips".into(),
        format!("{trips:.1}"),
    ));

    // The production shape: a private subnet whose 0.0.0.0/0 leads to a NAT gateway.
    let nat_alb = build(&c, &alb_scenario).await;
    route_through_nat(&c, &nat_alb, Nat::Working).await;
    let (calls, trips) = calls_and_round_trips(&proxy, &nat_alb.event, &nat_alb.topic_arn);
    rows.push((
        "task behind an ALB, subnet routed to a NAT gateway (cold): AWS calls".into(),
        calls.to_string(),
    ));
    rows.push((
        "task behind an ALB, subnet routed to a NAT gateway (cold): sequential round trips".into(),
        format!("{trips:.1}"),
    ));

    // 2. Warm: a second task of the same service in the same Lambda process.
    let second = second_task(&c, &alb).await;
    let (calls, fast) = warm_check(&proxy, &alb.event, &second, &alb.topic_arn, 0);
    let (_, slow) = warm_check(&proxy, &alb.event, &second, &alb.topic_arn, LATENCY_MS);
    rows.push((
        "second task of the same ALB service (warm): AWS calls".into(),
        calls.to_string(),
    ));
    rows.push((
        "warm check: sequential round trips".into(),
        format!(
            "{:.1}",
            slow.saturating_sub(fast).as_secs_f64() / (LATENCY_MS as f64 / 1000.0)
        ),
    ));
    rows.push((
        "warm check wall time (local moto, no injected latency)".into(),
        format!("{:.1} ms", fast.as_secs_f64() * 1e3),
    ));

    // 3. A 500-task deploy of the seed service through one warm Lambda process.
    let mut events = vec![seed.event.clone()];
    for _ in 1..500 {
        events.push(second_task(&c, &seed).await);
    }
    reset(&proxy);
    let table = dedup_table().await;
    let api = RuntimeApi::start(events);
    let lambda = spawn_lambda_with(
        &api,
        &proxy.endpoint,
        Some(&seed.topic_arn),
        &[("DEDUP_TABLE_NAME", &table)],
    );
    let start = Instant::now();
    let mut alerts = 0;
    for _ in 0..500 {
        if let Outcome::Response(e) = api.next_outcome() {
            alerts += usize::from(e["alert"]["published"] == true);
        }
    }
    let elapsed = start.elapsed();
    let stats = proxy.stats();
    let count = |action: &str| stats["by_action"][action].as_u64().unwrap_or(0);
    let publishes = count("Publish");
    let dedup_calls = count("PutItem") + count("UpdateItem") + count("DeleteItem");
    rows.push((
        "500-task deploy: AWS read calls in total".into(),
        (stats["total"].as_u64().unwrap() - publishes - dedup_calls).to_string(),
    ));
    rows.push((
        "500-task deploy: DynamoDB dedup calls".into(),
        dedup_calls.to_string(),
    ));
    rows.push((
        "500-task deploy: EC2 Describe* calls (burst 100)".into(),
        stats["by_action"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| {
                [
                    "DescribeNetworkInterfaces",
                    "DescribeRouteTables",
                    "DescribeInstances",
                    "DescribeNetworkAcls",
                    "DescribeSecurityGroups",
                    "DescribeSubnets",
                ]
                .contains(&k.as_str())
            })
            .map(|(_, v)| v.as_u64().unwrap())
            .sum::<u64>()
            .to_string(),
    ));
    rows.push((
        "500-task deploy: alerts published (dedup on)".into(),
        format!("{alerts} (SNS Publish calls: {publishes})"),
    ));
    rows.push((
        "500-task deploy: wall time (one process, sequential)".into(),
        format!("{:.1} s", elapsed.as_secs_f64()),
    ));
    rows.push((
        "Lambda peak RSS after 500 checks (VmHWM)".into(),
        format!(
            "{:.1} MB",
            rss_kb(lambda.child.id(), "VmHWM:") as f64 / 1024.0
        ),
    ));
    drop(lambda);

    // 4. Cold start: process start → first /next (init makes no AWS call), and the first
    //    check's latency.
    {
        let mut inits = Vec::new();
        let mut firsts = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..10 {
            let api = RuntimeApi::start(vec![seed.event.clone()]);
            let lambda = spawn_lambda_with(&api, moto(), Some(&seed.topic_arn), &[]);
            let Outcome::Response(_) = api.next_outcome() else {
                panic!("lambda failed")
            };
            let init = api.init_duration(&lambda).unwrap();
            inits.push(init);
            firsts.push(lambda.started.elapsed().saturating_sub(init));
            rss.push(rss_kb(lambda.child.id(), "VmHWM:"));
        }
        rows.push((
            "Lambda init (process start → first /next), median of 10".into(),
            format!("{:.1} ms", median(inits).as_secs_f64() * 1e3),
        ));
        rows.push((
            "first check after init (seed, local moto), median".into(),
            format!("{:.0} ms", median(firsts).as_secs_f64() * 1e3),
        ));
        rss.sort();
        rows.push((
            "peak RSS for one cold check (VmHWM), median".into(),
            format!("{:.1} MB", rss[rss.len() / 2] as f64 / 1024.0),
        ));
    }

    // 5. Audit throughput: a 1,000-task cluster started with run_task.
    let audited = build(&c, &Scenario::seed()).await;
    world::prepare_run_task(&c, &audited.vpc_id).await;
    // A tiny task definition, so that moto's placement fits 1,000 tasks on one instance.
    let td = c
        .ecs
        .register_task_definition()
        .family(world::unique("tiny"))
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("web")
                .memory(2)
                .port_mappings(
                    aws_sdk_ecs::types::PortMapping::builder()
                        .container_port(3000)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();
    for _ in 0..100 {
        c.ecs
            .run_task()
            .cluster(&audited.cluster)
            .task_definition(&td)
            .count(10)
            .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
            .started_by("ecs-svc/1")
            .group(format!("service:{}", audited.service.as_deref().unwrap()))
            .network_configuration(
                aws_sdk_ecs::types::NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                            .subnets(&audited.subnet_id)
                            .security_groups(&audited.task_sg)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    reset(&proxy);
    let start = Instant::now();
    let (code, out, stderr) = harness::run_cli(
        &proxy.endpoint,
        &["audit", "--cluster", &audited.cluster, "--format", "json"],
        None,
    );
    let elapsed = start.elapsed();
    assert!(code <= 1, "{stderr}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let tasks = report["summary"]["tasks"].as_u64().unwrap();
    let calls = proxy.stats()["total"].as_u64().unwrap();
    rows.push((
        format!("audit of a {tasks}-task cluster: AWS calls (per 100 tasks)"),
        format!("{calls} ({:.1})", calls as f64 * 100.0 / tasks as f64),
    ));
    rows.push((
        "audit of that cluster: wall time".into(),
        format!("{:.1} s", elapsed.as_secs_f64()),
    ));
    // The same audit drawn: one HTML page (the reads are the same; the difference in wall
    // time is the rendering).
    let start = Instant::now();
    let (code, page, stderr) = harness::run_cli(
        &proxy.endpoint,
        &["audit", "--cluster", &audited.cluster, "--format", "html"],
        None,
    );
    let html_elapsed = start.elapsed();
    assert!(code <= 1, "{stderr}");
    rows.push((
        format!(
            "audit of that cluster as --format html: page size / wall time (json: {:.1} s)",
            elapsed.as_secs_f64()
        ),
        format!("{} bytes / {:.1} s", page.len(), html_elapsed.as_secs_f64()),
    ));

    // 6. A Config scan worker: one work item of 25 services (2 running tasks each, every
    //    service in the same cluster), through the Lambda with 100 ms added to every AWS call.
    let (calls, elapsed) = config_worker(&c, &proxy, &seed).await;
    rows.push((
        "Config scan worker, 25 services / 50 tasks: AWS calls".into(),
        calls.to_string(),
    ));
    rows.push((
        format!(
            "Config scan worker at +{LATENCY_MS} ms per call: wall time (function timeout 30 s)"
        ),
        format!("{:.1} s", elapsed.as_secs_f64()),
    ));

    // 7. Binary sizes.
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ecs-inbound-guard-lambda"));
    rows.push((
        format!(
            "Lambda binary size ({}, this build)",
            std::env::consts::ARCH
        ),
        format!(
            "{:.1} MB",
            std::fs::metadata(&exe).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
        ),
    ));

    println!("\n| measure | value |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
