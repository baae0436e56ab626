//! Benchmark harness (not a test): AWS calls and sequential round trips per check, warm checks,
//! a 500-task deploy through one warm Lambda, Lambda init time, first-check latency, peak RSS
//! and binary size. Runs against moto through the counting, latency-injecting proxy.
//!
//! Run: `./scripts/bench.sh` (= `cargo bench --bench checker`); prints a Markdown table.
#![recursion_limit = "256"]
#![allow(dead_code)]

#[path = "../tests/it/harness.rs"]
mod harness;
#[path = "../tests/it/runtime_api.rs"]
mod runtime_api;
#[path = "../tests/it/world.rs"]
mod world;

use std::time::{Duration, Instant};

use ecs_inbound_guard::adapters::aws::{load_sdk_config, RegionalFacts};
use ecs_inbound_guard::adapters::sns::SnsAlerts;
use ecs_inbound_guard::app::run_check;
use ecs_inbound_guard::check::Alerting;
use ecs_inbound_guard::domain::rules::Severity;
use harness::{http_request, moto, Proxy};
use runtime_api::{spawn_lambda, Outcome, RuntimeApi};
use serde_json::{json, Value};
use world::{build, clients, second_task, LbSpec, Scenario, Subnet, Svc};

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

async fn facts_via(proxy: &Proxy) -> RegionalFacts {
    let config = load_sdk_config(None, None)
        .await
        .to_builder()
        .endpoint_url(&proxy.endpoint)
        .build();
    RegionalFacts::new(config)
}

/// One cold check (fresh clients and cache): (calls, elapsed).
async fn cold_check(proxy: &Proxy, event: &Value, topic: &str) -> (u64, Duration) {
    let facts = facts_via(proxy).await;
    let sns = SnsAlerts::new(facts.config(), topic);
    reset(proxy);
    let start = Instant::now();
    run_check(
        event.clone(),
        &facts,
        Some(&Alerting {
            publisher: &sns,
            dedup: None,
            min_severity: Severity::High,
        }),
    )
    .await
    .expect("check");
    (proxy.stats()["total"].as_u64().unwrap(), start.elapsed())
}

/// Calls and sequential round trips: (time with latency − time without) / latency.
async fn calls_and_round_trips(proxy: &Proxy, event: &Value, topic: &str) -> (u64, f64) {
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    let mut calls = 0;
    for _ in 0..REPEAT {
        set_latency(proxy, 0);
        let (c, t) = cold_check(proxy, event, topic).await;
        calls = c;
        fast.push(t);
        set_latency(proxy, LATENCY_MS);
        slow.push(cold_check(proxy, event, topic).await.1);
    }
    set_latency(proxy, 0);
    let extra = median(slow).saturating_sub(median(fast));
    (calls, extra.as_secs_f64() / (LATENCY_MS as f64 / 1000.0))
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
    let (calls, trips) = calls_and_round_trips(&proxy, &seed.event, &seed.topic_arn).await;
    rows.push((
        "seed task (cold): AWS calls incl. SNS Publish".into(),
        calls.to_string(),
    ));
    rows.push((
        "seed task (cold): sequential round trips incl. Publish".into(),
        format!("{trips:.1}"),
    ));
    let (calls, trips) = calls_and_round_trips(&proxy, &alb.event, &alb.topic_arn).await;
    rows.push((
        "task behind an ALB (cold): AWS calls".into(),
        calls.to_string(),
    ));
    rows.push((
        "task behind an ALB (cold): sequential round trips".into(),
        format!("{trips:.1}"),
    ));

    // 2. Warm: a second task of the same service through the same cache.
    let second = second_task(&c, &alb).await;
    for latency in [0, LATENCY_MS] {
        set_latency(&proxy, latency);
        let facts = facts_via(&proxy).await;
        let sns = SnsAlerts::new(facts.config(), &alb.topic_arn);
        run_check(
            alb.event.clone(),
            &facts,
            Some(&Alerting {
                publisher: &sns,
                dedup: None,
                min_severity: Severity::High,
            }),
        )
        .await
        .unwrap();
        reset(&proxy);
        let start = Instant::now();
        run_check(
            second.clone(),
            &facts,
            Some(&Alerting {
                publisher: &sns,
                dedup: None,
                min_severity: Severity::High,
            }),
        )
        .await
        .unwrap();
        let elapsed = start.elapsed();
        if latency == 0 {
            rows.push((
                "second task of the same ALB service (warm): AWS calls".into(),
                proxy.stats()["total"].to_string(),
            ));
            rows.push((
                "warm check wall time (no injected latency)".into(),
                format!("{:.1} ms", elapsed.as_secs_f64() * 1e3),
            ));
        } else {
            rows.push((
                "warm check wall time at +100 ms/call".into(),
                format!("{:.0} ms", elapsed.as_secs_f64() * 1e3),
            ));
        }
    }
    set_latency(&proxy, 0);

    // 3. A 500-task deploy of the seed service through one warm Lambda process.
    let mut events = vec![seed.event.clone()];
    for _ in 1..500 {
        events.push(second_task(&c, &seed).await);
    }
    reset(&proxy);
    let api = RuntimeApi::start(events);
    let lambda = spawn_lambda(&api, &proxy.endpoint, Some(&seed.topic_arn));
    let start = Instant::now();
    let mut alerts = 0;
    for _ in 0..500 {
        if let Outcome::Response(e) = api.next_outcome() {
            alerts += usize::from(e["alert"]["published"] == true);
        }
    }
    let elapsed = start.elapsed();
    let stats = proxy.stats();
    let publishes = stats["by_action"]["Publish"].as_u64().unwrap_or(0);
    rows.push((
        "500-task deploy: AWS read calls in total".into(),
        (stats["total"].as_u64().unwrap() - publishes).to_string(),
    ));
    rows.push((
        "500-task deploy: EC2 Describe* calls (burst 100)".into(),
        stats["by_action"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| {
                k.starts_with("Describe")
                    && !k.contains("TaskDefinition")
                    && !k.contains("Services")
                    && !k.contains("ContainerInstances")
            })
            .map(|(_, v)| v.as_u64().unwrap())
            .sum::<u64>()
            .to_string(),
    ));
    rows.push((
        "500-task deploy: alerts published (no dedup yet)".into(),
        alerts.to_string(),
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

    // 4. Cold start: process start → first /next, and the first check's latency.
    let mut inits = Vec::new();
    let mut firsts = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..10 {
        let api = RuntimeApi::start(vec![seed.event.clone()]);
        let lambda = spawn_lambda(&api, moto(), Some(&seed.topic_arn));
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

    // 5. Binary sizes.
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
