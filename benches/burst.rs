//! The deploy-burst benchmark (not a test): the real Lambda binary in its deployed shape —
//! the environment, batch size, batching window, poller cap and visibility timeout all read from
//! `template.yaml` with its default parameters — fed SQS batch events exactly as Lambda's SQS
//! poller sends them, while a deploy's task events arrive within 60 s, against moto behind the
//! counting proxy with latency injected on every call. Every request the function's processes
//! send from cold execution environments counts (STS, SNS, DynamoDB and retries included).
//! EC2's documented request buckets are then simulated over the recorded call times.
//!
//! Run: `./scripts/bench.sh` (= `cargo bench --bench checker` and `--bench burst`).
#![recursion_limit = "256"]

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{InstanceNetworkInterfaceSpecification, InstanceType};
use ecs_inbound_guard_test_support::cfn::{sqs_batch, Template, ACCOUNT, REGION, STACK};
use ecs_inbound_guard_test_support::harness::{http_request, moto, Proxy};
use ecs_inbound_guard_test_support::runtime_api::{spawn_lambda_with, Outcome, RuntimeApi};
use ecs_inbound_guard_test_support::world::{
    build, clients, dedup_table, received, second_task, Built, Clients, LbSpec, Scenario, Subnet,
    Svc,
};
use serde_json::{json, Value};

/// Latency added to every AWS call.
const LATENCY_MS: u64 = 30;
/// The deploy's events arrive within this window.
const ARRIVALS: Duration = Duration::from_secs(60);
/// A run that has not drained its queue by then is reported as such.
const GIVE_UP: Duration = Duration::from_secs(1200);

/// EC2's request actions this function calls (each has its own bucket per account and region).
const EC2_ACTIONS: [&str; 9] = [
    "DescribeNetworkInterfaces",
    "DescribeRouteTables",
    "DescribeInstances",
    "DescribeNetworkAcls",
    "DescribeSecurityGroups",
    "DescribeSubnets",
    "DescribeVpcEndpoints",
    "DescribeVpcAttribute",
    "GetManagedPrefixListEntries",
];
/// Charged to the 50 + 10/s bucket to be safe (unfiltered, unpaginated calls fall there).
const SMALL_BUCKET: [&str; 2] = ["DescribeNetworkInterfaces", "DescribeSecurityGroups"];

/// The deployed shape, from the template's defaults.
struct Shape {
    environment: Vec<(String, String)>,
    batch_size: usize,
    window: Duration,
    pollers: usize,
    visibility: Duration,
}

fn number(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

fn deployed_shape(topic_arn: &str, table: &str) -> Shape {
    let template = Template::load();
    let function_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-checker");
    let stack = template.stack(
        &[],
        &[
            ("AlertTopic", topic_arn),
            ("DedupTable", table),
            ("CheckerFunction", &function_arn),
            ("EventsQueue.Arn", "events"),
            ("EventsDeadLetterQueue.Arn", "dlq"),
        ],
    );
    let source = &stack.property("CheckerFunction", "Events")["EcsEvents"]["Properties"];
    Shape {
        environment: stack.function_environment("CheckerFunction"),
        batch_size: number(&source["BatchSize"]) as usize,
        window: Duration::from_secs(number(&source["MaximumBatchingWindowInSeconds"])),
        pollers: number(&source["ScalingConfig"]["MaximumConcurrency"]) as usize,
        visibility: Duration::from_secs(number(
            &stack.property("EventsQueue", "VisibilityTimeout"),
        )),
    }
}

/// `n` more container instances in the host's subnet, registered in the world's cluster.
async fn container_instances(c: &Clients, built: &Built, n: usize, public: bool) -> Vec<String> {
    let mut arns = vec![built.container_instance_arn.clone()];
    if n <= 1 {
        return arns;
    }
    let host = c
        .ec2
        .describe_instances()
        .instance_ids(&built.instance_id)
        .send()
        .await
        .unwrap();
    let subnet = host.reservations()[0].instances()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    let reservation = c
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(n as i32 - 1)
        .max_count(n as i32 - 1)
        .instance_type(InstanceType::C5Large)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&subnet)
                .associate_public_ip_address(public)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for instance in reservation.instances() {
        let arn = c
            .ecs
            .register_container_instance()
            .cluster(&built.cluster)
            .instance_identity_document(
                json!({"instanceId": instance.instance_id().unwrap(), "region": REGION})
                    .to_string(),
            )
            .send()
            .await
            .unwrap()
            .container_instance()
            .unwrap()
            .container_instance_arn()
            .unwrap()
            .to_string();
        arns.push(arn);
    }
    arns
}

/// A deploy of `tasks` tasks of the world's service, placed round-robin on `instances`.
async fn deploy(c: &Clients, built: &Built, tasks: usize, instances: &[String]) -> Vec<Value> {
    let mut events = Vec::with_capacity(tasks);
    for i in 0..tasks {
        let mut event = second_task(c, built).await;
        let arn = format!("{}-{i}", built.event["detail"]["taskArn"].as_str().unwrap());
        event["detail"]["taskArn"] = json!(arn);
        event["resources"] = json!([arn]);
        event["detail"]["containerInstanceArn"] = json!(instances[i % instances.len()]);
        events.push(event);
    }
    events
}

/// A small deterministic generator (the arrival order must not change between runs).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The queue as Lambda's poller sees it: each message visible from a time on.
struct Queue {
    visible: Mutex<VecDeque<(Instant, usize)>>,
    done: AtomicUsize,
    total: usize,
}

impl Queue {
    fn take_visible(&self, max: usize) -> Vec<usize> {
        let now = Instant::now();
        let mut visible = self.visible.lock().unwrap();
        let mut taken = Vec::new();
        let mut i = 0;
        while i < visible.len() && taken.len() < max {
            if visible[i].0 <= now {
                taken.push(visible.remove(i).unwrap().1);
            } else {
                i += 1;
            }
        }
        taken
    }

    fn finished(&self) -> bool {
        self.done.load(Ordering::SeqCst) >= self.total
    }
}

/// One poller with its own execution environment (a Lambda process): gathers a batch until it
/// is full or its window has passed, invokes, hands failed messages back (visible again after
/// the visibility timeout).
fn poll(shape: &Shape, events: &[Value], queue: &Queue, api: &RuntimeApi, start: Instant) {
    let mut lambda = spawn_lambda_with(
        api,
        &proxy_endpoint(),
        None,
        &shape
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    while !queue.finished() && start.elapsed() < GIVE_UP {
        let mut batch: Vec<usize> = Vec::new();
        let mut opened: Option<Instant> = None;
        loop {
            batch.extend(queue.take_visible(shape.batch_size - batch.len()));
            if !batch.is_empty() && opened.is_none() {
                opened = Some(Instant::now());
            }
            let full = batch.len() >= shape.batch_size;
            let window_over = opened.is_some_and(|at| at.elapsed() >= shape.window);
            if full || window_over || queue.finished() || start.elapsed() >= GIVE_UP {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if batch.is_empty() {
            continue;
        }
        let bodies: Vec<Value> = batch.iter().map(|&i| events[i].clone()).collect();
        let mut payload = sqs_batch(&bodies);
        for (record, id) in payload["Records"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(&batch)
        {
            record["messageId"] = json!(id.to_string());
        }
        api.push(payload);
        let failed: Vec<usize> = match api.next_outcome_of(&mut lambda) {
            Outcome::Response(r) => r["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap().parse().unwrap())
                .collect(),
            Outcome::Error(_) => batch.clone(),
        };
        let again = Instant::now() + shape.visibility;
        let mut visible = queue.visible.lock().unwrap();
        for &id in &failed {
            visible.push_back((again, id));
        }
        queue
            .done
            .fetch_add(batch.len() - failed.len(), Ordering::SeqCst);
    }
}

static PROXY_ENDPOINT: Mutex<String> = Mutex::new(String::new());

fn proxy_endpoint() -> String {
    PROXY_ENDPOINT.lock().unwrap().clone()
}

/// Simulates one of EC2's token buckets over our calls while other callers draw `others`
/// tokens a second from it: how many of our calls it would have refused.
fn refused(times: &[f64], size: f64, refill: f64, others: f64) -> usize {
    let (mut tokens, mut last, mut refused) = (size, 0.0, 0);
    for &t in times {
        tokens = (tokens + (refill - others) * (t - last)).clamp(0.0, size);
        last = t;
        if tokens >= 1.0 {
            tokens -= 1.0;
        } else {
            refused += 1;
        }
    }
    refused
}

struct Run {
    rows: Vec<(String, String)>,
}

/// One burst: `services` worlds (every other one broken: the seed; the rest behind an ALB),
/// `tasks` events each, arriving within 60 s, while others draw `others` calls/s from each of
/// EC2's buckets.
async fn burst(
    c: &Clients,
    label: &str,
    services: usize,
    tasks: usize,
    instances: usize,
    others: f64,
) -> Run {
    let mut worlds = Vec::new();
    let mut events = Vec::new();
    let per_world = instances.div_ceil(services).max(1);
    for i in 0..services {
        let broken = i % 2 == 0;
        let scenario = if broken {
            Scenario::seed()
        } else {
            Scenario {
                service: Svc::Lb(LbSpec::valid_alb()),
                subnet: Subnet::Private,
                host_public_ip: false,
                ..Scenario::seed()
            }
        };
        let built = build(c, &scenario).await;
        let hosts = container_instances(c, &built, per_world, broken).await;
        events.extend(deploy(c, &built, tasks, &hosts).await);
        worlds.push((built, broken));
    }
    // Arrival times within the window, in a fixed shuffled order.
    let mut rng = Lcg(20);
    let mut arrivals: Vec<(f64, usize)> = (0..events.len())
        .map(|i| (rng.next() * ARRIVALS.as_secs_f64(), i))
        .collect();
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let topic = &worlds[0].0;
    let table = dedup_table().await;
    let shape = deployed_shape(&topic.topic_arn, &table);

    let proxy = Proxy::start();
    http_request(
        &proxy.endpoint,
        "POST",
        "/__proxy/latency",
        &json!({ "ms": LATENCY_MS }).to_string(),
    );
    *PROXY_ENDPOINT.lock().unwrap() = proxy.endpoint.clone();
    http_request(&proxy.endpoint, "POST", "/__proxy/reset", "");
    let start = Instant::now();
    let queue = Arc::new(Queue {
        visible: Mutex::new(
            arrivals
                .iter()
                .map(|(t, i)| (start + Duration::from_secs_f64(*t), *i))
                .collect(),
        ),
        done: AtomicUsize::new(0),
        total: events.len(),
    });
    let events = Arc::new(events);
    let shape = Arc::new(shape);
    let pollers: Vec<_> = (0..shape.pollers)
        .map(|_| {
            let (queue, events, shape) = (queue.clone(), events.clone(), shape.clone());
            std::thread::spawn(move || {
                let api = RuntimeApi::start(vec![]);
                poll(&shape, &events, &queue, &api, start);
            })
        })
        .collect();
    for poller in pollers {
        poller.join().unwrap();
    }
    let drained = start.elapsed();
    let stats = proxy.stats();

    // Calls, per API and per second.
    let timeline: Vec<(f64, String)> = stats["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_f64().unwrap(), e[1].as_str().unwrap().to_string()))
        .collect();
    let mut per_second: BTreeMap<(&str, u64), usize> = BTreeMap::new();
    for (t, action) in &timeline {
        *per_second.entry((action.as_str(), *t as u64)).or_default() += 1;
    }
    let mut peaks: BTreeMap<&str, usize> = BTreeMap::new();
    for ((action, _), n) in &per_second {
        let peak = peaks.entry(action).or_default();
        *peak = (*peak).max(*n);
    }
    let mut all_per_second: BTreeMap<u64, usize> = BTreeMap::new();
    for (t, _) in &timeline {
        *all_per_second.entry(*t as u64).or_default() += 1;
    }
    let ec2_calls = timeline
        .iter()
        .filter(|(_, a)| EC2_ACTIONS.contains(&a.as_str()))
        .count();
    let (mut refused_safe, mut refused_documented) = (0, 0);
    for action in EC2_ACTIONS {
        let times: Vec<f64> = timeline
            .iter()
            .filter(|(_, a)| a == action)
            .map(|(t, _)| *t)
            .collect();
        refused_documented += refused(&times, 100.0, 20.0, others);
        refused_safe += if SMALL_BUCKET.contains(&action) {
            refused(&times, 50.0, 10.0, others)
        } else {
            refused(&times, 100.0, 20.0, others)
        };
    }
    // Alerts, per service, and how long after the first event the first went out.
    let mut alerts: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        let batch = received(c, &topic.queue_url, 1).await;
        if batch.is_empty() {
            break;
        }
        for message in batch {
            let subject = message["Subject"].as_str().unwrap_or_default().to_string();
            *alerts.entry(subject).or_default() += 1;
        }
    }
    let per_service = |broken: bool| {
        worlds
            .iter()
            .filter(|(_, b)| *b == broken)
            .map(|(w, _)| {
                let name = w.service.as_deref().unwrap();
                alerts
                    .iter()
                    .filter(|(s, _)| s.contains(name))
                    .map(|(_, n)| n)
                    .sum::<usize>()
            })
            .collect::<Vec<_>>()
    };
    let first_publish = timeline
        .iter()
        .find(|(_, a)| a == "Publish")
        .map(|(t, _)| *t);
    let first_arrival = arrivals[0].0;
    let done = queue.done.load(Ordering::SeqCst);

    let l = label;
    let summary = |v: Vec<usize>| {
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for n in v {
            *counts.entry(n).or_default() += 1;
        }
        counts
            .iter()
            .map(|(alerts, services)| format!("{services} × {alerts}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows = vec![
        (format!("{l}: messages checked / queued"), format!("{done} / {}", events.len())),
        (format!("{l}: queue drained after"), format!("{:.0} s", drained.as_secs_f64())),
        (format!("{l}: AWS calls in all"), stats["total"].to_string()),
        (format!("{l}: EC2 calls"), ec2_calls.to_string()),
        (format!("{l}: calls by API"), stats["by_action"].to_string()),
        (
            format!("{l}: peak calls/s, all APIs / per API"),
            format!(
                "{} / {}",
                all_per_second.values().max().unwrap_or(&0),
                serde_json::to_string(&peaks).unwrap()
            ),
        ),
        (
            format!("{l}: calls EC2's buckets would refuse (others at {others}/s)"),
            format!("{refused_documented} with 100 + 20/s for every action; {refused_safe} charging DescribeNetworkInterfaces and DescribeSecurityGroups to 50 + 10/s"),
        ),
        (
            format!("{l}: alerts per broken service (services × alerts)"),
            summary(per_service(true)),
        ),
        (
            format!("{l}: alerts per compliant service"),
            summary(per_service(false)),
        ),
        (
            format!("{l}: first alert after the first event"),
            first_publish.map_or("none".into(), |t| format!("{:.1} s", t - first_arrival)),
        ),
    ];
    Run { rows }
}

#[tokio::main]
async fn main() {
    moto();
    let c = clients().await;
    let mut rows = Vec::new();
    let large = std::env::args().any(|a| a == "--large")
        || std::env::var("BURST_LARGE").is_ok_and(|v| v == "1");
    rows.extend(
        burst(&c, "500 tasks, 2 services", 2, 250, 25, 0.0)
            .await
            .rows,
    );
    if large {
        rows.extend(
            burst(&c, "5,000 tasks, 50 services", 50, 100, 50, 10.0)
                .await
                .rows,
        );
    }
    println!(
        "\n| measure (template defaults, {LATENCY_MS} ms per call, events within {} s) | value |\n|---|---|",
        ARRIVALS.as_secs()
    );
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
