//! Organisation mode against moto: moto's AssumeRole into another account's role switches the
//! backend account, so member worlds live in one server. The central function (the Lambda as a
//! process, the CLI as a process) reads each task with its own account's credentials; the
//! proxy maps the access keys AssumeRole hands out to their accounts and counts the calls.
//! moto checks no trust policy: the refusals (allow-list, AccessDenied) are the function's.

use serde_json::{json, Value};

use crate::harness::{run_cli, Proxy};
use crate::runtime_api::{spawn_lambda_with, Outcome, RuntimeApi};
use crate::world::{
    build, clients, clients_in, run_tasks, Built, Scenario, Subnet, DEFAULT_ACCOUNT,
};

const ROLE: &str = "ecs-inbound-guard-reader";

async fn seed_in(account: &str) -> Built {
    build(&clients_in(account).await, &Scenario::seed()).await
}

async fn private_in(account: &str) -> Built {
    build(
        &clients_in(account).await,
        &Scenario {
            subnet: Subnet::Private,
            host_public_ip: false,
            ..Scenario::seed()
        },
    )
    .await
}

/// The central account's alert topic.
async fn central_topic() -> String {
    let c = clients().await;
    c.sns
        .create_topic()
        .name(crate::world::unique("central"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string()
}

fn accounts_of(stats: &Value, action: &str) -> Vec<String> {
    let mut seen: Vec<String> = stats["accounts"][action]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    seen.sort();
    seen
}

fn central_env(allowed: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MEMBER_ROLE_NAME", ROLE.to_string()),
        ("MEMBER_ACCOUNTS", allowed.to_string()),
        ("HOME_ACCOUNT_ID", DEFAULT_ACCOUNT.to_string()),
    ]
}

fn outcome_json(api: &RuntimeApi) -> Value {
    match api.next_outcome() {
        Outcome::Response(e) => e,
        Outcome::Error(e) => panic!("invocation failed: {e}"),
    }
}

#[tokio::test]
async fn the_central_lambda_reads_each_members_tasks_with_that_members_credentials() {
    let (seed, private) = tokio::join!(seed_in("111111111111"), private_in("222222222222"));
    let own = build(&clients().await, &Scenario::seed()).await;
    let topic = central_topic().await;
    let proxy = Proxy::start();
    let mut events = vec![seed.event.clone(), private.event.clone(), own.event.clone()];
    // A burst from one account: 20 events, one AssumeRole.
    for _ in 0..18 {
        let mut e = seed.event.clone();
        e["id"] = json!(crate::world::unique("burst"));
        events.push(e);
    }
    let api = RuntimeApi::start(events);
    let env = central_env("111111111111,222222222222");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _lambda = spawn_lambda_with(&api, &proxy.endpoint, Some(&topic), &env);

    let e = outcome_json(&api);
    assert_eq!(e["compliance"], "NON_COMPLIANT", "{e:#}");
    assert_eq!(e["findings"][0]["rule"], "AWSVPC_EC2_PUBLIC_NO_INBOUND");
    assert_eq!(e["context"]["account"], "111111111111");
    assert_eq!(e["alert"]["published"], true, "alerts stay central");
    let e = outcome_json(&api);
    assert_eq!(e["compliance"], "COMPLIANT", "{e:#}");
    assert_eq!(e["context"]["account"], "222222222222");
    // The central account's own task: own credentials.
    let e = outcome_json(&api);
    assert_eq!(e["compliance"], "NON_COMPLIANT", "{e:#}");
    for _ in 0..18 {
        assert_eq!(outcome_json(&api)["compliance"], "NON_COMPLIANT");
    }
    let stats = proxy.stats();
    assert_eq!(
        stats["by_action"]["AssumeRole"], 2,
        "one AssumeRole per member account: {stats:#}"
    );
    // Each account's facts were read with its own credentials, the central's with its own.
    assert_eq!(
        accounts_of(&stats, "DescribeTaskDefinition"),
        ["111111111111", "222222222222", "caller"]
    );
    assert_eq!(
        accounts_of(&stats, "DescribeNetworkInterfaces"),
        ["111111111111", "222222222222", "caller"]
    );
    assert_eq!(accounts_of(&stats, "Publish"), ["caller"]);
}

#[tokio::test]
async fn an_account_off_the_allow_list_is_not_applicable_without_assume_role() {
    let seed = seed_in("111111111111").await;
    let topic = central_topic().await;
    let proxy = Proxy::start();
    let api = RuntimeApi::start(vec![seed.event.clone()]);
    let env = central_env("222222222222");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lambda = spawn_lambda_with(&api, &proxy.endpoint, Some(&topic), &env);
    let e = outcome_json(&api);
    assert_eq!(e["compliance"], "NOT_APPLICABLE", "{e:#}");
    assert!(e["annotation"]
        .as_str()
        .unwrap()
        .contains("account 111111111111 is not enrolled"));
    let stats = proxy.stats();
    assert!(stats["by_action"]["AssumeRole"].is_null(), "{stats:#}");
    assert!(
        stats["by_action"]["DescribeTaskDefinition"].is_null(),
        "{stats:#}"
    );
    let log = std::fs::read_to_string(&lambda.log).unwrap();
    assert!(log.contains("not enrolled"), "{log}");
}

#[tokio::test]
async fn a_member_role_that_cannot_be_assumed_is_insufficient_data_naming_the_role() {
    let seed = seed_in("111111111111").await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), seed.event.to_string()).unwrap();
    let proxy = Proxy::start();
    proxy.faults(
        json!([{"action": "AssumeRole", "status": 403, "code": "AccessDenied",
        "message": "User is not authorized to perform: sts:AssumeRole"}]),
    );
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "check",
            "--event",
            file.path().to_str().unwrap(),
            "--role-name",
            ROLE,
            "--home-account",
            DEFAULT_ACCOUNT,
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "INSUFFICIENT_DATA", "{e:#}");
    assert!(
        e["annotation"]
            .as_str()
            .unwrap()
            .contains("arn:aws:iam::111111111111:role/ecs-inbound-guard-reader"),
        "{e:#}"
    );
    assert!(proxy.stats()["by_action"]["DescribeTaskDefinition"].is_null());
}

#[tokio::test]
async fn check_event_with_a_role_name_reads_the_member_account() {
    let seed = seed_in("111111111111").await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), seed.event.to_string()).unwrap();
    let proxy = Proxy::start();
    // No --home-account: the caller's account comes from GetCallerIdentity.
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "check",
            "--event",
            file.path().to_str().unwrap(),
            "--role-name",
            ROLE,
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NON_COMPLIANT", "{e:#}");
    let stats = proxy.stats();
    assert_eq!(stats["by_action"]["AssumeRole"], 1);
    assert_eq!(
        accounts_of(&stats, "DescribeTaskDefinition"),
        ["111111111111"]
    );
}

#[tokio::test]
async fn audit_across_accounts_groups_by_account_and_exits_1() {
    // Accounts of their own: --all-clusters sees only this test's worlds.
    let (a, b) = ("333333333333", "444444444444");
    let (ca, cb) = tokio::join!(clients_in(a), clients_in(b));
    let (seed_scenario, private_scenario) = (
        Scenario::seed(),
        Scenario {
            subnet: Subnet::Private,
            host_public_ip: false,
            ..Scenario::seed()
        },
    );
    let (seed, private) = tokio::join!(build(&ca, &seed_scenario), build(&cb, &private_scenario));
    run_tasks(&ca, &seed, 2).await;
    run_tasks(&cb, &private, 1).await;
    let proxy = Proxy::start();
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "audit",
            "--all-clusters",
            "--role-name",
            ROLE,
            "--account",
            a,
            "--account",
            b,
            "--region",
            "us-east-1",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, 1, "a NON_COMPLIANT task exits 1: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let services = report["services"].as_array().unwrap();
    let by_account: Vec<(&str, &str, &str)> = services
        .iter()
        .map(|s| {
            (
                s["account"].as_str().unwrap(),
                s["region"].as_str().unwrap(),
                s["compliance"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_account,
        [
            (a, "us-east-1", "NON_COMPLIANT"),
            (b, "us-east-1", "COMPLIANT")
        ],
        "{report:#}"
    );
    assert_eq!(report["summary"]["tasks"], 3);
    for e in report["evaluations"].as_array().unwrap() {
        assert!(e["context"]["account"].is_string() && e["context"]["region"] == "us-east-1");
    }
    assert_eq!(
        proxy.stats()["by_action"]["AssumeRole"],
        2,
        "one per account"
    );
    // The table groups by account and region too.
    let (code, table, _) = run_cli(
        &proxy.endpoint,
        &[
            "audit",
            "--all-clusters",
            "--role-name",
            ROLE,
            "--account",
            a,
            "--account",
            b,
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(table.starts_with("ACCOUNT"), "{table}");
    assert!(table.contains(a) && table.contains(b), "{table}");
}

#[tokio::test]
async fn audit_of_the_organization_lists_its_active_accounts() {
    crate::harness::moto();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let orgs = aws_sdk_organizations::Client::new(&config);
    // moto keeps one organisation per server: the first test to ask creates it.
    let _ = orgs
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await;
    let created = orgs
        .create_account()
        .account_name(crate::world::unique("member"))
        .email(format!("{}@example.com", crate::world::unique("m")))
        .send()
        .await
        .unwrap();
    let member = created
        .create_account_status()
        .and_then(|s| s.account_id())
        .expect("moto creates the account at once")
        .to_string();
    let proxy = Proxy::start();
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "audit",
            "--all-clusters",
            "--organization",
            "--role-name",
            ROLE,
            "--format",
            "json",
        ],
        None,
    );
    // The caller's own account holds other tests' clusters: their verdicts decide 0 or 1.
    assert!(code == 0 || code == 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(report["summary"]["tasks"].is_number(), "{report:#}");
    let stats = proxy.stats();
    assert!(stats["by_action"]["ListAccounts"].as_u64().unwrap() >= 1);
    // Every member but the caller's own (management) account through its role.
    assert!(
        accounts_of(&stats, "ListClusters").contains(&member),
        "{stats:#}"
    );
    assert!(accounts_of(&stats, "ListClusters").contains(&"caller".to_string()));
}

#[test]
fn audit_across_accounts_needs_the_role_name() {
    let (code, _, stderr) = run_cli(
        crate::harness::moto(),
        &["audit", "--all-clusters", "--account", "111111111111"],
        None,
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("--role-name"), "{stderr}");
}

#[tokio::test]
async fn a_single_account_function_never_reads_another_accounts_service_as_its_own() {
    let topic = central_topic().await;
    let proxy = Proxy::start();
    // A deployment of 111122223333's prod/web, delivered to this account's function.
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::harness::repo_root().join("events/deployment-failed.json"))
            .unwrap(),
    )
    .unwrap();
    let api = RuntimeApi::start(vec![event]);
    let _lambda = spawn_lambda_with(
        &api,
        &proxy.endpoint,
        Some(&topic),
        &[("HOME_ACCOUNT_ID", DEFAULT_ACCOUNT)],
    );
    let e = outcome_json(&api);
    assert_eq!(e["compliance"], "NOT_APPLICABLE", "{e:#}");
    assert!(
        e["annotation"].as_str().unwrap().contains("111122223333"),
        "{e:#}"
    );
    assert_eq!(proxy.stats()["total"], 0, "nothing read: {}", proxy.stats());
}
