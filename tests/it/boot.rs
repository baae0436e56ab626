//! The function as deployed: its environment derived from `template.yaml` (the default
//! parameters, then each optional feature switched on), the real Lambda binary started with
//! exactly that environment under a local Runtime API, and invoked. This guards every
//! parameter the template passes to the function, present and future.

use crate::cfn::{Template, ACCOUNT, REGION, STACK};
use crate::harness::moto;
use crate::runtime_api::{spawn_lambda_with, Outcome, RuntimeApi};
use crate::world::{build, clients, dedup_table, Scenario};

/// The template's features, each switched on by its parameters.
const VARIANTS: [(&str, &[(&str, &str)]); 6] = [
    ("default parameters", &[]),
    (
        "organisation mode",
        &[
            ("MemberRoleName", "ecs-inbound-guard-reader"),
            ("OrganizationId", "o-abcdefghij"),
            ("MemberAccounts", "111111111111,222222222222"),
        ],
    ),
    ("Security Hub export", &[("SecurityHubExport", "true")]),
    ("Config rule", &[("EnableConfigRule", "true")]),
    (
        "preflight hook",
        &[
            ("EnablePreflightHook", "true"),
            ("PreflightFailureMode", "FAIL"),
        ],
    ),
    (
        "every option",
        &[
            ("MemberRoleName", "ecs-inbound-guard-reader"),
            ("SecurityHubExport", "true"),
            ("EnableConfigRule", "true"),
            ("EnablePreflightHook", "true"),
            ("MinSeverity", "INFO"),
            ("LogLevel", "debug"),
            ("SeparateOperationsTopic", "false"),
        ],
    ),
];

#[tokio::test]
async fn the_function_boots_with_the_environment_the_template_gives_it() {
    moto();
    let c = clients().await;
    let template = Template::load();
    for (variant, parameters) in VARIANTS {
        // A fresh world and dedup table: each variant alerts once, on its own.
        let built = build(&c, &Scenario::seed()).await;
        let table = dedup_table().await;
        let function_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-checker");
        let stack = template.stack(
            parameters,
            &[
                ("AlertTopic", built.topic_arn.as_str()),
                ("DedupTable", table.as_str()),
                ("CheckerFunction", function_arn.as_str()),
            ],
        );
        let env = stack.function_environment("CheckerFunction");
        if parameters.is_empty() {
            // The case that failed every cold start: empty parameters reach the process as
            // empty values (Lambda's API allows them).
            assert!(
                env.contains(&("MEMBER_ACCOUNTS".into(), String::new())),
                "{env:?}"
            );
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let api = RuntimeApi::start(vec![built.event.clone()]);
        let mut lambda = spawn_lambda_with(&api, moto(), None, &env);
        let outcome = api.next_outcome_of(&mut lambda);
        let Outcome::Response(report) = outcome else {
            panic!("{variant}: {outcome:?}")
        };
        assert_eq!(
            report["compliance"], "NON_COMPLIANT",
            "{variant}: {report:#}"
        );
        assert_eq!(report["alert"]["published"], true, "{variant}: {report:#}");
    }
}
