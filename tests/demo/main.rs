//! The seed scenario end to end, for humans: a moto world like the article's (EC2 host with a
//! public IP in a public subnet, awsvpc task mapping port 3000, service without a load
//! balancer), the task event through the CLI with `--publish`, and the alert as a subscriber
//! (an SQS queue on the topic) receives it. Run with `./scripts/demo.sh`; it is also a test.
#![recursion_limit = "256"]

use ecs_inbound_guard_test_support::{harness, world};

use std::process::ExitCode;

use world::{build, clients, received, Scenario};

#[tokio::main]
async fn main() -> ExitCode {
    let endpoint = harness::moto();
    let c = clients().await;
    // `--seed-world FILE`: only build the seed world and write its event and topic to FILE
    // (scripts/local-invoke.sh sends them to the function under `cargo lambda watch`).
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--seed-world") {
        let built = build(&c, &Scenario::seed()).await;
        let out = serde_json::json!({"event": built.event, "topicArn": built.topic_arn});
        std::fs::write(&args[i + 1], out.to_string()).unwrap();
        return ExitCode::SUCCESS;
    }
    // `--picture FILE`: the seed world's verdict as the HTML page, screenshotted in headless
    // Chromium to FILE (scripts/picture.sh makes the README's picture this way).
    if let Some(i) = args.iter().position(|a| a == "--picture") {
        return picture(endpoint, &c, &args[i + 1]).await;
    }
    println!("== moto (AWS emulator) at {endpoint}");
    let built = build(&c, &Scenario::seed()).await;
    let host = built.host_ip.clone().unwrap_or_default();
    println!("== The article's setup, built in moto");
    println!(
        "   VPC {}  public subnet {} (0.0.0.0/0 -> internet gateway)",
        built.vpc_id, built.subnet_id
    );
    println!(
        "   EC2 container instance {} with public IP {host}",
        built.instance_id
    );
    println!(
        "   awsvpc task ENI {} with private IP {} (no public IP)",
        built.eni_id, built.private_ip
    );
    println!(
        "   ECS service {} in cluster {}, port 3000, no load balancer",
        built.service.as_deref().unwrap_or("-"),
        built.cluster
    );
    println!("   `curl http://{host}:3000` would time out. Let's see why.\n");

    let event_file = std::env::temp_dir().join(world::unique("seed-event") + ".json");
    std::fs::write(
        &event_file,
        serde_json::to_string_pretty(&built.event).unwrap(),
    )
    .unwrap();
    let args = [
        "check",
        "--event",
        event_file.to_str().unwrap(),
        "--publish",
        "--topic-arn",
        &built.topic_arn,
    ];
    println!("== ecs-inbound-guard {}", args.join(" "));
    let (code, stdout, stderr) = harness::run_cli(endpoint, &args, None);
    println!("{stdout}");
    if code != 0 {
        eprintln!("the checker failed (exit {code}): {stderr}");
        return ExitCode::FAILURE;
    }
    let evaluation: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    println!("== The alert, as the topic's subscriber received it");
    let messages = received(&c, &built.queue_url, 2).await;
    for m in &messages {
        println!("Subject: {}", m["Subject"].as_str().unwrap_or_default());
        println!("Attributes: {}", m["MessageAttributes"]);
        println!("(SQS subscribers get the Evaluation JSON; e-mail subscribers get this text:)\n");
    }
    let text_args = [
        "check",
        "--event",
        event_file.to_str().unwrap(),
        "--format",
        "text",
    ];
    std::fs::write(
        &event_file,
        serde_json::to_string_pretty(&built.event).unwrap(),
    )
    .unwrap();
    let (_, text, _) = harness::run_cli(endpoint, &text_args, None);
    let _ = std::fs::remove_file(&event_file);
    println!("{text}");
    let ok = evaluation["compliance"] == "NON_COMPLIANT" && messages.len() == 1;
    println!(
        "== demo {}",
        if ok {
            "passed: NON_COMPLIANT, one alert delivered"
        } else {
            "FAILED"
        }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Builds the seed world, writes its `check --format html` page under `target/picture/` and
/// screenshots it with `scripts/browser-check.py` to `shot`.
async fn picture(endpoint: &str, c: &world::Clients, shot: &str) -> ExitCode {
    let built = build(c, &Scenario::seed()).await;
    let event = built.event.to_string();
    let (code, page, stderr) = harness::run_cli(
        endpoint,
        &["check", "--event", "-", "--format", "html"],
        Some(&event),
    );
    if code != 0 {
        eprintln!("the checker failed (exit {code}): {stderr}");
        return ExitCode::FAILURE;
    }
    let root = harness::repo_root();
    let dir = root.join("target/picture");
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("demo.html");
    std::fs::write(&html, page).unwrap();
    let status = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/browser-check.py"))
        .arg(&html)
        .arg(root.join(shot))
        .status()
        .expect("run scripts/browser-check.py");
    if status.success() {
        println!("== wrote {shot} from {}", html.display());
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
