//! Security Hub export against moto: the CLI (`check --security-hub`) imports the findings, the
//! proxy records what was sent, moto's GetFindings shows where they landed. moto validates
//! little of ASFF: the fields are asserted on the request itself.

use aws_sdk_securityhub::types::{AwsSecurityFindingFilters, StringFilter, StringFilterComparison};
use serde_json::{json, Value};

use crate::harness::{run_cli, Proxy};
use crate::world::{
    build, clients, clients_in, dedup_table, second_task, Built, LbSpec, Scenario, Subnet, Svc,
    DEFAULT_ACCOUNT,
};

fn write_event(event: &Value) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), event.to_string()).unwrap();
    file
}

fn check(proxy: &Proxy, event: &Value, table: &str, extra: &[&str]) -> Value {
    let file = write_event(event);
    let mut args = vec![
        "check",
        "--event",
        file.path().to_str().unwrap(),
        "--security-hub",
        "--dedup-table",
        table,
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run_cli(&proxy.endpoint, &args, None);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The findings of every BatchImportFindings request the proxy recorded, in order.
fn sent(proxy: &Proxy) -> Vec<Value> {
    proxy.stats()["requests"]["BatchImportFindings"]
        .as_array()
        .map(|requests| {
            requests
                .iter()
                .flat_map(|r| {
                    let body: Value = serde_json::from_str(r.as_str().unwrap()).unwrap();
                    body["Findings"].as_array().unwrap().clone()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How many findings with `id` the account's Security Hub holds. GetFindings' response types
/// are deep: the debug build decodes them on a thread with a big stack.
async fn hub_findings(account: &str, id: &str) -> usize {
    let (account, id) = (account.to_string(), id.to_string());
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(get_findings(&account, &id))
        })
        .unwrap()
        .join()
        .unwrap()
}

async fn get_findings(account: &str, id: &str) -> usize {
    let config = if account == DEFAULT_ACCOUNT {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await
    } else {
        let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let out = aws_sdk_sts::Client::new(&base)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/reader"))
            .role_session_name("tests")
            .send()
            .await
            .unwrap();
        let c = out.credentials().unwrap();
        let creds = aws_sdk_securityhub::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "tests",
        );
        base.to_builder()
            .credentials_provider(aws_sdk_securityhub::config::SharedCredentialsProvider::new(
                creds,
            ))
            .build()
    };
    aws_sdk_securityhub::Client::new(&config)
        .get_findings()
        .filters(
            AwsSecurityFindingFilters::builder()
                .id(StringFilter::builder()
                    .value(id)
                    .comparison(StringFilterComparison::Equals)
                    .build())
                .build(),
        )
        .send()
        .await
        .unwrap()
        .findings()
        .len()
}

fn service_arn(built: &Built, account: &str) -> String {
    format!(
        "arn:aws:ecs:us-east-1:{account}:service/{}/{}",
        built.cluster,
        built.service.as_deref().unwrap()
    )
}

#[tokio::test]
async fn a_non_compliant_task_is_one_asff_finding_per_service_and_rule_across_a_redeploy() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let table = dedup_table().await;
    let proxy = Proxy::start();
    let e = check(&proxy, &built.event, &table, &[]);
    assert_eq!(e["compliance"], "NON_COMPLIANT");
    let findings = sent(&proxy);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    let rule = "AWSVPC_EC2_PUBLIC_NO_INBOUND";
    let service = service_arn(&built, DEFAULT_ACCOUNT);
    let id = format!("ecs-inbound-guard/{DEFAULT_ACCOUNT}/us-east-1/{service}/{rule}");
    assert_eq!(f["Id"], id.as_str());
    assert_eq!(f["SchemaVersion"], "2018-10-08");
    assert_eq!(
        f["ProductArn"],
        format!(
            "arn:aws:securityhub:us-east-1:{DEFAULT_ACCOUNT}:product/{DEFAULT_ACCOUNT}/default"
        )
    );
    assert_eq!(f["AwsAccountId"], DEFAULT_ACCOUNT);
    assert_eq!(f["GeneratorId"], format!("ecs-inbound-guard/{rule}"));
    assert_eq!(f["FindingProviderFields"]["Severity"]["Label"], "HIGH");
    assert!(f["FindingProviderFields"]["Types"][0]
        .as_str()
        .unwrap()
        .starts_with("Software and Configuration Checks/"));
    assert_eq!(f["Compliance"]["Status"], "FAILED");
    assert_eq!(f["RecordState"], "ACTIVE");
    assert!(f["Description"].as_str().unwrap().chars().count() <= 1024);
    assert!(!f["Remediation"]["Recommendation"]["Text"]
        .as_str()
        .unwrap()
        .is_empty());
    assert_eq!(f["Resources"][0]["Type"], "AwsEcsService");
    assert_eq!(f["Resources"][0]["Id"], service.as_str());
    assert!(f["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["Type"] == "Other" && r["Id"].as_str().unwrap().ends_with(&built.eni_id)));
    let created = f["CreatedAt"].clone();
    // The service's second task, then a redeploy: the same finding, first seen kept.
    let second = second_task(&c, &built).await;
    check(&proxy, &second, &table, &[]);
    let findings = sent(&proxy);
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[1]["Id"], id.as_str());
    assert_eq!(findings[1]["CreatedAt"], created);
    // moto appends an import with a known Id instead of updating it (Security Hub updates
    // by Id and ProductArn): the ids sent, asserted above, are what counts.
    assert!(hub_findings(DEFAULT_ACCOUNT, &id).await >= 1);
}

#[tokio::test]
async fn a_fixed_service_archives_its_open_finding_and_only_that() {
    let c = clients().await;
    let spec = LbSpec {
        task_sg_admits_lb: false,
        ..LbSpec::valid_alb()
    };
    let built = build(
        &c,
        &Scenario {
            subnet: Subnet::Private,
            host_public_ip: false,
            service: Svc::Lb(spec),
            ..Scenario::seed()
        },
    )
    .await;
    let table = dedup_table().await;
    let proxy = Proxy::start();
    let e = check(&proxy, &built.event, &table, &[]);
    assert_eq!(e["findings"][0]["rule"], "SG_BLOCKS_LB_TRAFFIC", "{e:#}");
    let open = sent(&proxy);
    assert_eq!(open.len(), 1);
    assert!(open[0]["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["Id"].as_str().unwrap().contains(":targetgroup/")));
    // The fix: the task group admits the load balancer.
    let lb_sg = c
        .ec2
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups()
        .iter()
        .find(|g| {
            g.vpc_id() == Some(built.vpc_id.as_str())
                && g.group_id() != Some(built.task_sg.as_str())
                && g.group_name() != Some("default")
        })
        .and_then(|g| g.group_id().map(str::to_string))
        .unwrap();
    c.ec2
        .authorize_security_group_ingress()
        .group_id(&built.task_sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(3000)
                .to_port(3000)
                .user_id_group_pairs(
                    aws_sdk_ec2::types::UserIdGroupPair::builder()
                        .group_id(lb_sg)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let e = check(&proxy, &built.event, &table, &[]);
    assert_eq!(e["compliance"], "COMPLIANT", "{e:#}");
    let all = sent(&proxy);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[1]["Id"], open[0]["Id"]);
    assert_eq!(all[1]["Compliance"]["Status"], "PASSED");
    assert_eq!(all[1]["RecordState"], "ARCHIVED");
    // Compliant again: nothing open, nothing sent.
    check(&proxy, &built.event, &table, &[]);
    assert_eq!(sent(&proxy).len(), 2);
}

#[tokio::test]
async fn refused_findings_are_logged_and_never_fail_the_check() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let table = dedup_table().await;
    let proxy = Proxy::start();
    proxy.faults(json!([{"action": "BatchImportFindings", "status": 200,
        "body": {"FailedCount": 1, "SuccessCount": 0, "FailedFindings": [
            {"Id": "x", "ErrorCode": "InvalidAccess", "ErrorMessage": "Account is not subscribed to AWS Security Hub"}]}}]));
    let file = write_event(&built.event);
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "check",
            "--event",
            file.path().to_str().unwrap(),
            "--security-hub",
            "--dedup-table",
            &table,
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let e: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(e["compliance"], "NON_COMPLIANT");
    assert!(stderr.contains("InvalidAccess"), "{stderr}");
    // Not recorded as open: the next evaluation sends it again.
    check(&proxy, &built.event, &table, &[]);
    assert_eq!(proxy.stats()["by_action"]["BatchImportFindings"], 2);
}

#[tokio::test]
async fn a_member_accounts_finding_lands_in_that_accounts_security_hub() {
    let member = "555555555555";
    let built = build(&clients_in(member).await, &Scenario::seed()).await;
    let table = dedup_table().await;
    let proxy = Proxy::start();
    let e = check(
        &proxy,
        &built.event,
        &table,
        &[
            "--role-name",
            "ecs-inbound-guard-reader",
            "--home-account",
            DEFAULT_ACCOUNT,
        ],
    );
    assert_eq!(e["compliance"], "NON_COMPLIANT", "{e:#}");
    let id = format!(
        "ecs-inbound-guard/{member}/us-east-1/{}/AWSVPC_EC2_PUBLIC_NO_INBOUND",
        service_arn(&built, member)
    );
    assert_eq!(hub_findings(member, &id).await, 1);
    // Imported with the member's credentials (moto's GetFindings does not separate accounts,
    // so the signer is what proves where the finding went).
    let stats = proxy.stats();
    assert_eq!(stats["accounts"]["BatchImportFindings"], json!([member]));
}

#[tokio::test]
async fn audit_with_security_hub_imports_one_finding_per_service() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    crate::world::run_tasks(&c, &built, 3).await;
    let table = dedup_table().await;
    let proxy = Proxy::start();
    let (code, stdout, stderr) = run_cli(
        &proxy.endpoint,
        &[
            "audit",
            "--cluster",
            &built.cluster,
            "--format",
            "json",
            "--security-hub",
            "--dedup-table",
            &table,
        ],
        None,
    );
    assert_eq!(code, 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["summary"]["nonCompliant"], 3);
    let findings = sent(&proxy);
    assert_eq!(
        findings.len(),
        1,
        "three tasks of one service: {findings:#?}"
    );
    assert_eq!(
        findings[0]["Resources"][0]["Id"],
        service_arn(&built, DEFAULT_ACCOUNT)
    );
    assert!(stderr.contains("1 findings imported"), "{stderr}");
}
