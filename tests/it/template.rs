//! The SAM template and the member templates: cfn-lint, `sam validate --lint`, and least
//! privilege (the policies' actions are exactly the AWS operations the adapters call), the
//! member accounts forward exactly the events the central function consumes.

use std::collections::BTreeSet;
use std::process::Command;

use crate::harness::repo_root;

fn venv_tool(name: &str) -> std::path::PathBuf {
    let p = repo_root().join(".venv/bin").join(name);
    if p.exists() {
        p
    } else {
        name.into()
    }
}

#[test]
fn template_passes_cfn_lint() {
    for template in [
        "template.yaml",
        "templates/member-role.yaml",
        "templates/member-events.yaml",
    ] {
        let out = Command::new(venv_tool("cfn-lint"))
            .arg(repo_root().join(template))
            .output()
            .expect("cfn-lint (run the README's test command)");
        assert!(
            out.status.success(),
            "{template}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The actions the Lambda calls in `services`, as declared: each read's actions
/// (`ports::READS`, the one declaration of the reads) and the deliveries of
/// `src/domain/api.rs` (the CLI-only calls — `audit --organization`, `--all-regions`, the
/// caller's identity — and the actions only named are granted to nobody).
/// `tests/architecture.rs` keeps the adapters calling through these declarations only.
fn adapter_calls(services: &[&str]) -> BTreeSet<String> {
    use ecs_inbound_guard::domain::api::{called_by, Caller};
    use ecs_inbound_guard::ports::READS;
    READS
        .iter()
        .flat_map(|read| read.actions.iter().copied())
        .filter(|a| !called_by(Caller::PlanRead).any(|plan_read| plan_read == *a))
        .chain(called_by(Caller::Delivery))
        .filter(|a| services.contains(&a.split(':').next().unwrap()))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_member_role_grants_exactly_the_reads_the_checker_makes() {
    let services = ["ecs", "ec2", "elasticloadbalancing"];
    let template = std::fs::read_to_string(repo_root().join("templates/member-role.yaml")).unwrap();
    let policy = &template[template.find("Policies:").unwrap()..];
    let granted = actions(policy, &services);
    let called = adapter_calls(&services);
    assert!(called.contains("ec2:DescribeVpcEndpoints"), "{called:?}");
    assert_eq!(granted, called, "member role vs the readers' calls");
    // Security Hub import in the member account, only when the export is on.
    let at = template.find("securityhub:BatchImportFindings").unwrap();
    let opening = template[..at].rfind("- !If").unwrap();
    assert!(template[opening..at].contains("- HasSecurityHubExport"));
    assert!(!template.contains("ecs:Update") && !template.contains("Put"));
}

/// The event patterns of a template: each `Pattern:` / `EventPattern:` block, dedented.
fn event_patterns(template: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = template.lines().collect();
    let mut patterns = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed != "Pattern:" && trimmed != "EventPattern:" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let block: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.len() - l.trim_start().len() > indent && !l.trim().is_empty())
            .copied()
            .collect();
        let inner = block[0].len() - block[0].trim_start().len();
        patterns.insert(
            block
                .iter()
                .map(|l| &l[inner..])
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    patterns
}

#[test]
fn member_accounts_forward_exactly_the_events_the_central_function_consumes() {
    let central = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let member = std::fs::read_to_string(repo_root().join("templates/member-events.yaml")).unwrap();
    let (central, member) = (event_patterns(&central), event_patterns(&member));
    assert_eq!(central.len(), 4, "{central:#?}");
    assert!(central
        .iter()
        .any(|p| p.contains("SERVICE_DEPLOYMENT_FAILED")));
    assert_eq!(central, member);
}

#[test]
fn template_passes_sam_validate_lint() {
    let out = Command::new(venv_tool("sam"))
        .args(["validate", "--lint", "--template"])
        .arg(repo_root().join("template.yaml"))
        .env("AWS_REGION", "us-east-1")
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .expect("sam (run the README's test command)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `service:Action` tokens in `text` for the given services.
fn actions(text: &str, services: &[&str]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '*')) {
        if let Some((service, action)) = token.split_once(':') {
            if services.contains(&service)
                && action
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_uppercase())
            {
                found.insert(token.to_string());
            }
        }
    }
    found
}

#[test]
fn template_grants_exactly_the_operations_the_lambda_calls() {
    let services = [
        "ecs",
        "ec2",
        "sns",
        "elasticloadbalancing",
        "dynamodb",
        "config",
        "sts",
        "organizations",
        "securityhub",
        "lambda",
    ];
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let granted = actions(&template, &services);
    // ListClusters/ListTasks/ListServices/DescribeTasks serve the CLI's audit and the Lambda's
    // Config rule mode alike; every adapter call but the CLI-only ones is the Lambda's (the
    // plan reads with the preflight hook).
    let mut called = adapter_calls(&services);
    called.extend(
        ecs_inbound_guard::domain::api::called_by(ecs_inbound_guard::domain::api::Caller::PlanRead)
            .map(str::to_string),
    );
    assert!(
        called.contains("ec2:DescribeNetworkInterfaces") && called.contains("sns:Publish"),
        "{called:?}"
    );
    assert_eq!(granted, called, "template policy vs adapter calls");
}

/// Every `service:Action` the role grants, any service (the trust policy's `sts:` excluded).
fn granted_actions(template: &str) -> BTreeSet<String> {
    let role = &template[template.find("  CheckerRole:").unwrap()..];
    let role = &role[..role.find("  CheckerFunction:").unwrap()];
    let mut found = BTreeSet::new();
    for line in role.lines() {
        let token = line
            .trim()
            .trim_start_matches("- ")
            .trim_start_matches("Action: ")
            .trim();
        if let Some((service, action)) = token.split_once(':') {
            if !service.is_empty()
                && !token.contains(char::is_whitespace)
                && service.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                && action
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_uppercase())
                && service != "sts"
            {
                found.insert(token.to_string());
            }
        }
    }
    found
}

#[test]
fn the_permissions_table_lists_every_granted_action() {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let table = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    let granted = granted_actions(&template);
    assert!(
        granted.contains("logs:PutLogEvents") && granted.contains("sqs:SendMessage"),
        "{granted:?}"
    );
    for action in &granted {
        assert!(
            table.contains(&format!("`{action}`")),
            "docs/operations.md does not list {action}"
        );
    }
}

#[test]
fn config_only_permissions_are_granted_only_with_the_config_rule() {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let lines: Vec<&str> = template.lines().collect();
    for action in [
        "ecs:ListClusters",
        "ecs:ListServices",
        "config:PutEvaluations",
        "lambda:InvokeFunction",
    ] {
        let at = lines
            .iter()
            .position(|l| l.trim_end().ends_with(action))
            .unwrap_or_else(|| panic!("{action} not granted"));
        // The statement's opening `!If` names the condition two lines above its Sid.
        let condition = lines[..at]
            .iter()
            .rev()
            .find(|l| l.trim_start().starts_with("- !If"))
            .and_then(|_| {
                lines[..at]
                    .iter()
                    .rev()
                    .find(|l| l.trim_start().starts_with("- Has"))
            });
        assert_eq!(
            condition.map(|l| l.trim()),
            Some("- HasConfigRule"),
            "{action} must be granted only under HasConfigRule"
        );
        let role = &template[template.find("  CheckerRole:").unwrap()..];
        let role = &role[..role.find("  CheckerFunction:").unwrap()];
        assert_eq!(role.matches(action).count(), 1, "{action} granted once");
    }
}

/// The artefact `sam build` makes (scripts/sam-build.sh; CI builds it first and sets
/// ECS_INBOUND_GUARD_SAM_BUILD=1, so there it must exist).
#[test]
fn the_sam_build_artefact_is_an_arm64_executable_under_14_mb() {
    let path = repo_root().join(".aws-sam/build/CheckerFunction/bootstrap");
    let required = std::env::var("ECS_INBOUND_GUARD_SAM_BUILD").is_ok_and(|v| v == "1");
    let Ok(bytes) = std::fs::read(&path) else {
        assert!(!required, "{} is missing after sam build", path.display());
        eprintln!("note: no sam build artefact (run ./scripts/sam-build.sh); not checked");
        return;
    };
    assert_eq!(&bytes[..4], b"\x7fELF", "an ELF file");
    assert_eq!(bytes[4], 2, "64-bit");
    let e_type = u16::from_le_bytes([bytes[16], bytes[17]]);
    let e_machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    assert!(
        e_type == 2 || e_type == 3,
        "an executable (or PIE), e_type {e_type}"
    );
    assert_eq!(e_machine, 183, "built for aarch64 (EM_AARCH64)");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "executable bits set");
    eprintln!("sam build artefact: {} bytes", bytes.len());
    assert!(bytes.len() < 14 * 1024 * 1024, "{} bytes", bytes.len());
}

#[test]
fn member_roles_are_assumable_only_in_organisation_mode() {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let at = template
        .find("Sid: ReadMemberAccountsThroughTheirRole")
        .expect("the AssumeRole statement");
    let before = &template[..at];
    let opening = before.rfind("- !If").unwrap();
    assert!(
        before[opening..].contains("- IsCentral"),
        "sts:AssumeRole must be granted only under IsCentral"
    );
    let statement: Vec<&str> = template[at..].lines().take(4).collect();
    assert!(
        statement[2].trim() == "Action: sts:AssumeRole",
        "{statement:?}"
    );
    assert!(
        statement[3].contains(":role/${MemberRoleName}"),
        "only the member role: {statement:?}"
    );
}

/// The deployed shape: EventBridge → SQS → the function, as AWS advises.
#[test]
fn the_event_queue_feeds_the_function_in_batches_as_aws_advises() {
    use crate::cfn::Template;
    let template = Template::load();
    let resources = [
        (
            "EventsQueue.Arn",
            "arn:aws:sqs:us-east-1:123456789012:events",
        ),
        (
            "EventsDeadLetterQueue.Arn",
            "arn:aws:sqs:us-east-1:123456789012:dlq",
        ),
        (
            "FailedEventsQueue.Arn",
            "arn:aws:sqs:us-east-1:123456789012:failed",
        ),
        ("TaskRunningRule.Arn", "rule-running"),
        ("TaskStoppedRule.Arn", "rule-stopped"),
        ("DeploymentFailedRule.Arn", "rule-deployment"),
        ("TaskStartImpairedRule.Arn", "rule-impaired"),
    ];
    let defaults = template.stack(&[], &resources);
    let timeout = defaults
        .property("CheckerFunction", "Timeout")
        .as_u64()
        .unwrap();
    let queue = |name: &str| defaults.property("EventsQueue", name);
    let max_window = template.json()["Parameters"]["MaximumBatchingWindowInSeconds"]["MaxValue"]
        .as_u64()
        .unwrap();
    assert!(
        queue("VisibilityTimeout").as_u64().unwrap() >= 6 * timeout + max_window,
        "visibility timeout ≥ 6 × the function timeout + the batching window"
    );
    assert_eq!(
        queue("SqsManagedSseEnabled"),
        true,
        "EventBridge cannot use aws/sqs"
    );
    assert_eq!(
        queue("RedrivePolicy")["deadLetterTargetArn"],
        "arn:aws:sqs:us-east-1:123456789012:dlq"
    );
    let source = &defaults.property("CheckerFunction", "Events")["EcsEvents"];
    assert_eq!(source["Type"], "SQS");
    assert_eq!(
        source["Properties"]["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    // Reserved concurrency = the poller's cap + 2, for every cap the template allows.
    let allowed = template.json()["Parameters"]["MaximumConcurrency"]["AllowedValues"]
        .as_array()
        .unwrap()
        .clone();
    for cap in allowed {
        let cap = cap.to_string();
        let stack = template.stack(&[("MaximumConcurrency", &cap)], &resources);
        let reserved = stack.property("CheckerFunction", "ReservedConcurrentExecutions");
        let poller = &stack.property("CheckerFunction", "Events")["EcsEvents"]["Properties"]
            ["ScalingConfig"]["MaximumConcurrency"];
        let (reserved, poller): (u64, u64) = (
            reserved.to_string().trim_matches('"').parse().unwrap(),
            poller.as_str().unwrap().parse().unwrap(),
        );
        assert_eq!(reserved, poller + 2, "MaximumConcurrency {cap}");
    }
    // The queue takes only this stack's four rules' events.
    let policy = defaults.property("EventsQueuePolicy", "PolicyDocument");
    let sources = &policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"];
    assert_eq!(sources.as_array().map(Vec::len), Some(4), "{policy:#}");
}

/// The role's SQS actions are the event source mapping's (Lambda's poller receives and
/// deletes the messages; the code calls no SQS API), on the events queue only; the failure
/// destination's SendMessage on its own queue.
#[test]
fn the_roles_sqs_permissions_are_the_pollers_and_the_failure_destinations() {
    use crate::cfn::Template;
    let template = Template::load();
    let stack = template.stack(
        &[],
        &[
            ("EventsQueue.Arn", "events"),
            ("FailedEventsQueue.Arn", "failed"),
            ("DedupTable.Arn", "table"),
            ("AlertKey.Arn", "key"),
            ("AlertTopic", "topic"),
            ("CheckerLogGroup.Arn", "logs"),
        ],
    );
    let policies = stack.property("CheckerRole", "Policies");
    let mut sqs: Vec<(String, String)> = Vec::new();
    for statement in policies[0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
    {
        let actions = match &statement["Action"] {
            serde_json::Value::Array(a) => a.clone(),
            one => vec![one.clone()],
        };
        for action in actions {
            let action = action.as_str().unwrap().to_string();
            if action.starts_with("sqs:") {
                sqs.push((action, statement["Resource"].as_str().unwrap().to_string()));
            }
        }
    }
    sqs.sort();
    let want = [
        ("sqs:DeleteMessage", "events"),
        ("sqs:GetQueueAttributes", "events"),
        ("sqs:ReceiveMessage", "events"),
        ("sqs:SendMessage", "failed"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, r)| (a.to_string(), r.to_string()))
        .collect();
    assert_eq!(sqs, want);
    let adapters = adapter_calls(&["sqs"]);
    assert!(
        adapters.is_empty(),
        "the code calls no SQS API: {adapters:?}"
    );
}

/// The preflight hook (#24): off by default; on, a Lambda Hook on AWS::ECS::Service creates and
/// updates before provisioning, invoking this function through a role that may do nothing else,
/// with room kept in the function's reserved concurrency for its synchronous invocations.
#[test]
fn the_preflight_hook_is_opt_in_and_its_role_may_only_invoke_the_checker() {
    use crate::cfn::{Template, ACCOUNT};
    let template = Template::load();
    let function = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:guard-checker");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/guard-hook");
    let resources = [
        ("CheckerFunction.Arn", function.as_str()),
        ("CheckerRole.Arn", "arn:aws:iam::1:role/checker"),
        ("CheckerLogGroup", "/aws/lambda/guard"),
        ("AlertTopic", "arn:topic"),
        ("DedupTable", "table"),
        ("PreflightHookRole.Arn", role.as_str()),
    ];
    let off = template.stack(&[], &resources);
    assert!(!off.has_resource("PreflightHook") && !off.has_resource("PreflightHookRole"));
    let on = template.stack(
        &[
            ("EnablePreflightHook", "true"),
            ("PreflightFailureMode", "FAIL"),
        ],
        &resources,
    );
    assert_eq!(
        on.property("PreflightHook", "LambdaFunction"),
        function.as_str()
    );
    assert_eq!(on.property("PreflightHook", "ExecutionRole"), role.as_str());
    assert_eq!(on.property("PreflightHook", "FailureMode"), "FAIL");
    assert_eq!(on.property("PreflightHook", "HookStatus"), "ENABLED");
    assert_eq!(
        on.property("PreflightHook", "Alias"),
        "Private::EcsInboundGuard::Preflight"
    );
    assert_eq!(
        on.property("PreflightHook", "TargetOperations"),
        serde_json::json!(["RESOURCE"])
    );
    let mut targets: Vec<String> = on.property("PreflightHook", "TargetFilters")["Targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{} {} {}",
                t["TargetName"], t["Action"], t["InvocationPoint"]
            )
        })
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            r#""AWS::ECS::Service" "CREATE" "PRE_PROVISION""#,
            r#""AWS::ECS::Service" "UPDATE" "PRE_PROVISION""#
        ]
    );
    // Trusted by the hooks service of this account only; allowed to invoke this function only.
    let trust = on.property("PreflightHookRole", "AssumeRolePolicyDocument");
    assert_eq!(trust["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "hooks.cloudformation.amazonaws.com"
    );
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        ACCOUNT
    );
    let policies = on.property("PreflightHookRole", "Policies");
    let statements: Vec<&serde_json::Value> = policies
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .collect();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(statements[0]["Action"], "lambda:InvokeFunction");
    assert_eq!(statements[0]["Resource"], function.as_str());
    // The plan read only the hook makes is granted only with it.
    let statements = template.json()["Resources"]["CheckerRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let granting: Vec<&serde_json::Value> = statements
        .iter()
        .filter(|s| s.to_string().contains("ecs:DescribeClusters"))
        .collect();
    assert_eq!(granting.len(), 1, "{granting:?}");
    assert_eq!(granting[0]["Fn::If"][0], "HasPreflightHook", "{granting:?}");
    // The hook's invocations get their own room beside the queue's pollers and Config's.
    let reserved = |stack: &crate::cfn::Stack<'_>| {
        stack
            .property("CheckerFunction", "ReservedConcurrentExecutions")
            .as_i64()
            .unwrap()
    };
    assert_eq!(reserved(&on) - reserved(&off), 2);
}
