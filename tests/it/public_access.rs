//! VPC Block Public Access against moto. moto 5.2.5 has no such API: the harness's moto
//! (`tests/support/moto_server.py`) adds its four EC2 actions, per account and Region, answered
//! through moto's own serializer, so the SDK parses what AWS sends. The setting is account-wide
//! and the tests share one server: each world here lives in an account of its own, which the
//! CLI reads in organisation mode (moto's AssumeRole switches the backend account).

use aws_sdk_ec2::types::{InternetGatewayBlockMode, InternetGatewayExclusionMode};
use serde_json::Value;

use crate::harness::{moto, run_cli};
use crate::world::{build, clients_in, Built, LbSpec, Scenario};

/// `check --event` of the built task, as the CLI in organisation mode answers it.
fn check(built: &Built) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), built.event.to_string()).unwrap();
    let path = file.path().to_str().unwrap();
    let args = [
        "check",
        "--event",
        path,
        "--role-name",
        "ecs-inbound-guard-reader",
    ];
    let (code, stdout, stderr) = run_cli(moto(), &args, None);
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"))
}

fn rules(e: &Value) -> Vec<(String, String)> {
    e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("rule"), s("severity"))
        })
        .collect()
}

#[tokio::test]
async fn block_public_access_closes_an_internet_facing_alb_until_its_vpc_is_excluded() {
    let c = clients_in("333344445555").await;
    let built = build(&c, &Scenario::behind(LbSpec::valid_alb())).await;
    let open = check(&built);
    assert_eq!(open["compliance"], "COMPLIANT", "{open:#}");

    c.ec2
        .modify_vpc_block_public_access_options()
        .internet_gateway_block_mode(InternetGatewayBlockMode::BlockIngress)
        .send()
        .await
        .unwrap();
    let blocked = check(&built);
    assert_eq!(blocked["compliance"], "NON_COMPLIANT", "{blocked:#}");
    assert_eq!(
        rules(&blocked),
        [("VPC_BPA_BLOCKS_LB".to_string(), "HIGH".to_string())],
        "{blocked:#}"
    );
    let message = blocked["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("block-ingress"), "{message}");
    let gateway = blocked["path"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hop"] == "internetGateway")
        .unwrap();
    assert_eq!(gateway["status"], "blocked", "{blocked:#}");

    // An egress-only exclusion lets nothing in; a bidirectional one of the VPC does.
    c.ec2
        .create_vpc_block_public_access_exclusion()
        .vpc_id(&built.vpc_id)
        .internet_gateway_exclusion_mode(InternetGatewayExclusionMode::AllowEgress)
        .send()
        .await
        .unwrap();
    assert_eq!(check(&built)["compliance"], "NON_COMPLIANT");
    c.ec2
        .create_vpc_block_public_access_exclusion()
        .vpc_id(&built.vpc_id)
        .internet_gateway_exclusion_mode(InternetGatewayExclusionMode::AllowBidirectional)
        .send()
        .await
        .unwrap();
    let excluded = check(&built);
    assert_eq!(excluded["compliance"], "COMPLIANT", "{excluded:#}");
}
