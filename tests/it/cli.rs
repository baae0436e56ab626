//! The CLI as a process: exit codes, stdin, publishing, and AWS faults through the proxy.

use serde_json::{json, Value};

use crate::harness::{moto, run_cli, run_cli_into_closed_pipe, Proxy};
use crate::world::{build, clients, received, Scenario, Subnet};

/// An event written to a temporary file, deleted when dropped.
struct EventFile(tempfile::NamedTempFile);

impl EventFile {
    fn arg(&self) -> &str {
        self.0.path().to_str().unwrap()
    }
}

fn write_event(event: &Value) -> EventFile {
    let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::io::Write::write_all(&mut file, event.to_string().as_bytes()).unwrap();
    EventFile(file)
}

#[tokio::test]
async fn check_prints_the_evaluation_and_publishes_with_topic() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let file = write_event(&built.event);
    let (code, stdout, stderr) = run_cli(
        moto(),
        &[
            "check",
            "--event",
            file.arg(),
            "--publish",
            "--topic-arn",
            &built.topic_arn,
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NON_COMPLIANT");
    assert_eq!(e["findings"][0]["rule"], "AWSVPC_EC2_PUBLIC_NO_INBOUND");
    assert_eq!(e["alert"]["published"], true);
    assert_eq!(received(&c, &built.queue_url, 2).await.len(), 1);
}

#[tokio::test]
async fn check_reads_stdin_and_does_not_publish_without_flag() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let (code, stdout, stderr) = run_cli(
        moto(),
        &["check", "--event", "-"],
        Some(&built.event.to_string()),
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NON_COMPLIANT");
    assert_eq!(e["alert"]["published"], false);
    assert!(received(&c, &built.queue_url, 0).await.is_empty());
}

#[test]
fn usage_and_input_errors_exit_2_with_one_line() {
    let endpoint = moto();
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (
            vec!["check", "--event", "-", "--publish"],
            Some("{}"),
            "--publish needs",
        ),
        (
            vec!["check", "--event", "-"],
            Some("{not json"),
            "not valid JSON",
        ),
        (
            vec!["check", "--event", "-"],
            Some(r#"{"a":1}"#),
            "not an EventBridge event",
        ),
        (
            vec!["check", "--event", "-"],
            Some(r#"{"detail-type":"ECS Task State Change","source":"aws.ecs","detail":{}}"#),
            "taskArn",
        ),
        (
            vec!["check", "--event", "/nonexistent/event.json"],
            None,
            "cannot read",
        ),
    ];
    for (args, stdin, want) in cases {
        let (code, stdout, stderr) = run_cli(endpoint, &args, stdin);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stdout.is_empty());
    }
    let (code, _, _) = run_cli(endpoint, &["check", "--bogus"], None);
    assert_eq!(code, 2, "clap usage error");
}

#[tokio::test]
async fn access_denied_gives_insufficient_data_naming_the_permission() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "DescribeNetworkInterfaces", "status": 403, "code": "UnauthorizedOperation", "message": "You are not authorized to perform this operation."}]));
    let file = write_event(&built.event);
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "check",
            "--event",
            file.arg(),
            "--publish",
            "--topic-arn",
            &built.topic_arn,
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "INSUFFICIENT_DATA", "{e:#}");
    assert_eq!(e["findings"][0]["rule"], "CHECK_INCOMPLETE");
    assert!(e["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("ec2:DescribeNetworkInterfaces"));
    assert_eq!(e["alert"]["published"], false);
    assert!(received(&c, &built.queue_url, 0).await.is_empty());
}

#[tokio::test]
async fn persistent_throttling_is_an_error_not_a_verdict() {
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
    let proxy = Proxy::start();
    proxy.faults(
        json!([{"action": "DescribeRouteTables", "status": 503, "code": "RequestLimitExceeded"}]),
    );
    let file = write_event(&built.event);
    let (code, stdout, stderr) = run_cli(&proxy.endpoint, &["check", "--event", file.arg()], None);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("ec2:DescribeRouteTables"), "{stderr}");
    assert!(stdout.is_empty(), "no half-made verdict: {stdout}");
    // The SDK retried before giving up.
    assert!(
        proxy.stats()["by_action"]["DescribeRouteTables"]
            .as_u64()
            .unwrap()
            >= 2
    );
}

#[tokio::test]
async fn transient_throttling_is_retried_and_still_gives_the_right_verdict() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "DescribeNetworkInterfaces", "status": 503, "code": "RequestLimitExceeded", "times": 1},
                        {"action": "DescribeServices", "status": 400, "code": "ThrottlingException", "times": 1}]));
    let file = write_event(&built.event);
    let (code, stdout, stderr) = run_cli(&proxy.endpoint, &["check", "--event", file.arg()], None);
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NON_COMPLIANT");
    assert_eq!(proxy.stats()["by_action"]["DescribeNetworkInterfaces"], 2);
}

#[tokio::test]
async fn failed_publish_exits_2_and_still_prints_the_evaluation() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "Publish", "status": 403, "code": "AuthorizationError"}]));
    let file = write_event(&built.event);
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "check",
            "--event",
            file.arg(),
            "--publish",
            "--topic-arn",
            &built.topic_arn,
        ],
        None,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("publishing the alert failed"), "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NON_COMPLIANT");
    assert_eq!(e["alert"]["published"], false);
    assert!(received(&c, &built.queue_url, 0).await.is_empty());
}

#[tokio::test]
async fn a_hung_call_is_cut_by_the_attempt_timeout_and_retried() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "DescribeRouteTables", "status": 500, "code": "InternalError", "hang_ms": 9000, "times": 1}]));
    let start = std::time::Instant::now();
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &["check", "--event", "-"],
        Some(&built.event.to_string()),
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NON_COMPLIANT");
    assert_eq!(
        proxy.stats()["by_action"]["DescribeRouteTables"],
        2,
        "the hung attempt was abandoned and retried"
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(8),
        "cut at the 3 s attempt timeout, not the 9 s hang"
    );
}

#[tokio::test]
async fn a_call_that_always_hangs_fails_within_the_operation_timeout() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "DescribeNetworkInterfaces", "status": 500, "code": "InternalError", "hang_ms": 60000}]));
    let start = std::time::Instant::now();
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &["check", "--event", "-"],
        Some(&built.event.to_string()),
    );
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("ec2:DescribeNetworkInterfaces"), "{stderr}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(15),
        "bounded by the 10 s operation timeout"
    );
}

#[tokio::test]
async fn formats_text_and_chatbot_and_min_severity() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let event = built.event.to_string();
    let (code, text, stderr) = run_cli(
        moto(),
        &["check", "--event", "-", "--format", "text"],
        Some(&event),
    );
    assert_eq!(code, 0, "{stderr}");
    let task_arn = built.event["detail"]["taskArn"].as_str().unwrap();
    for want in [
        task_arn,
        "AWSVPC_EC2_PUBLIC_NO_INBOUND",
        "How to fix",
        built.eni_id.as_str(),
    ] {
        assert!(text.contains(want), "{want} missing in {text}");
    }
    let (code, chat, _) = run_cli(
        moto(),
        &["check", "--event", "-", "--format", "chatbot"],
        Some(&event),
    );
    assert_eq!(code, 0);
    let chat: Value = serde_json::from_str(&chat).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    let (code, _, stderr) = run_cli(
        moto(),
        &["check", "--event", "-", "--min-severity", "urgent"],
        Some(&event),
    );
    assert_eq!(code, 2, "{stderr}");
    // MEDIUM publishes the advisory of a compliant task in a public subnet behind an ALB.
    let (code, out, stderr) = run_cli(
        moto(),
        &[
            "check",
            "--event",
            "-",
            "--min-severity",
            "medium",
            "--publish",
            "--topic-arn",
            &built.topic_arn,
        ],
        Some(&event),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["alert"]["published"],
        true
    );
}

#[tokio::test]
async fn the_seed_check_reads_only_what_its_verdict_needs() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    let (code, _, stderr) = run_cli(
        &proxy.endpoint,
        &["check", "--event", "-"],
        Some(&built.event.to_string()),
    );
    assert_eq!(code, 0, "{stderr}");
    let calls = proxy.stats()["by_action"].clone();
    assert_eq!(
        calls,
        json!({"DescribeTaskDefinition": 1, "DescribeServices": 1, "DescribeNetworkInterfaces": 1,
               "DescribeContainerInstances": 1, "DescribeRouteTables": 1, "DescribeInstances": 1,
               // The CLI learns whose the event is beside the reads (no round trip added).
               "GetCallerIdentity": 1}),
        "no NACL, security group or load-balancer reads without a load balancer"
    );
}

#[test]
fn an_out_of_scope_event_needs_no_aws_configuration_at_all() {
    // No region, no credentials, no profile: loading the SDK configuration would probe the
    // instance metadata service for seconds and print warnings. Nothing of that may happen.
    let start = std::time::Instant::now();
    let out =
        std::process::Command::new(ecs_inbound_guard_test_support::binary("ecs-inbound-guard"))
            .args(["check", "--event", "events/stopped.json"])
            .current_dir(crate::harness::repo_root())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent")
            .output()
            .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["compliance"], "NOT_APPLICABLE");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_byte_order_mark_on_standard_input_is_skipped_and_errors_are_plain_one_liners() {
    let event = std::fs::read(crate::harness::repo_root().join("events/bridge.json")).unwrap();
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), &event].concat();
    let (code, stdout, stderr) = run_cli(
        moto(),
        &["check", "--event", "-"],
        Some(std::str::from_utf8(&with_bom).unwrap()),
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert!(e["compliance"].is_string(), "evaluated: {e}");
    let (code, _, stderr) = run_cli(moto(), &["check", "--event", "-"], Some("{not json"));
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "no colour codes off a terminal: {stderr:?}"
    );
}

#[tokio::test]
async fn check_gives_up_cleanly_at_its_timeout() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "DescribeRouteTables", "status": 500, "code": "InternalError", "hang_ms": 60000}]));
    let start = std::time::Instant::now();
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &["check", "--event", "-", "--timeout", "2"],
        Some(&built.event.to_string()),
    );
    let elapsed = start.elapsed();
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.is_empty(), "no half-made verdict: {stdout}");
    assert!(stderr.contains("time budget"), "{stderr}");
    assert!(elapsed < std::time::Duration::from_secs(5), "{elapsed:?}");

    // `--task` keeps the same budget.
    let arns = crate::world::run_tasks(&c, &built, 1).await;
    let start = std::time::Instant::now();
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "check",
            "--task",
            &arns[0],
            "--cluster",
            &built.cluster,
            "--timeout",
            "2",
        ],
        None,
    );
    let elapsed = start.elapsed();
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.is_empty(), "no half-made verdict: {stdout}");
    assert!(stderr.contains("time budget"), "{stderr}");
    assert!(elapsed < std::time::Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_reader_that_goes_early_ends_the_command_quietly_with_its_verdicts_code() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    crate::world::run_tasks(&c, &built, 2).await;
    let file = write_event(&built.event);
    for (args, verdict) in [
        (vec!["check", "--event", file.arg()], 0),
        (vec!["check", "--event", file.arg(), "--format", "text"], 0),
        (vec!["audit", "--cluster", &built.cluster], 1),
        (
            vec!["audit", "--cluster", &built.cluster, "--format", "json"],
            1,
        ),
    ] {
        let (code, stderr) = run_cli_into_closed_pipe(moto(), &args);
        assert_eq!(code, verdict, "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn check_never_attributes_a_verdict_to_another_accounts_event() {
    // A deployment of 111122223333's prod/web, checked from this account's profile (moto's).
    let path = crate::harness::repo_root().join("events/deployment-failed.json");
    let (code, stdout, stderr) =
        run_cli(moto(), &["check", "--event", path.to_str().unwrap()], None);
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NOT_APPLICABLE", "{e:#}");
    assert!(
        e["annotation"].as_str().unwrap().contains("111122223333"),
        "{e:#}"
    );
}
