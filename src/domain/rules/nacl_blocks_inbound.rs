//! NACL_BLOCKS_INBOUND: the task subnet's network ACL must allow the container port inbound
//! from the load balancer subnets and the ephemeral return ports outbound.

use super::view::subnet_cidrs;
use super::view::LbView;
use crate::domain::net::NaclDecision;
use crate::domain::text::list;
use crate::domain::verdict::{Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "NACL_BLOCKS_INBOUND",
    severity: Severity::High,
    title: "The task subnet's network ACL blocks the load balancer traffic",
    remediation: "Add network ACL entries to the task subnet's ACL, numbered before any deny: \
                  inbound TCP <container-port> from the load balancer subnets' CIDRs, and outbound \
                  TCP 1024-65535 to them (network ACLs are stateless).",
};

/// Ports representative of the ephemeral range the return traffic uses.
const EPHEMERAL_SAMPLES: [i32; 3] = [1024, 32768, 65535];

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let (acl, subnets) = (view.task.network_acl()?, view.subnets()?);
    let mut blocked = Vec::new();
    for (m, g) in view.mapped_groups() {
        let Some(port) = m.container_port else {
            continue;
        };
        for lb in view.balancers_of(g) {
            for cidr in subnet_cidrs(subnets, &lb.subnet_ids) {
                if let NaclDecision::Denied(rule) = acl.evaluate(false, "tcp", port, &cidr) {
                    blocked.push(format!(
                        "inbound {port}/tcp from {cidr} ({})",
                        describe(rule)
                    ));
                }
                for p in EPHEMERAL_SAMPLES {
                    if let NaclDecision::Denied(rule) = acl.evaluate(true, "tcp", p, &cidr) {
                        blocked.push(format!(
                            "outbound return traffic {p}/tcp to {cidr} ({})",
                            describe(rule)
                        ));
                        break;
                    }
                }
            }
        }
    }
    if blocked.is_empty() {
        return Ok(Outcome::Pass(
            "network ACL allows the load balancer traffic".into(),
        ));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "Network ACL {} denies {}. Fix: aws ec2 create-network-acl-entry --network-acl-id {} --rule-number <below the deny> --protocol tcp --ingress --port-range From=<port>,To=<port> --cidr-block <lb-subnet-cidr> --rule-action allow (and an --egress entry for 1024-65535)",
        acl.id,
        list(blocked),
        acl.id
    ))))
}

fn describe(rule: Option<i32>) -> String {
    match rule {
        Some(n) => format!("rule {n}"),
        None => "no matching allow: default deny".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::net::NaclEntry;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    fn entry(
        n: i32,
        allow: bool,
        egress: bool,
        cidr: &str,
        ports: Option<(i32, i32)>,
    ) -> NaclEntry {
        NaclEntry {
            rule_number: n,
            protocol: "6".into(),
            allow,
            egress,
            cidr: cidr.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
        }
    }

    #[test]
    fn table() {
        let with = |entries: Vec<NaclEntry>| {
            let mut f = valid();
            known(&mut f.network_acl).entries = entries;
            f
        };
        let good = vec![
            entry(100, true, false, "10.0.0.0/16", Some((3000, 3000))),
            entry(100, true, true, "10.0.0.0/16", Some((1024, 65535))),
        ];
        let deny_first = vec![
            entry(50, false, false, "10.0.1.0/24", None),
            entry(100, true, false, "0.0.0.0/0", None),
            entry(100, true, true, "0.0.0.0/0", None),
        ];
        let no_egress = vec![entry(100, true, false, "0.0.0.0/0", None)];
        let narrow_egress = vec![
            entry(100, true, false, "0.0.0.0/0", None),
            entry(100, true, true, "0.0.0.0/0", Some((32768, 65535))),
        ];
        let cases = [
            ("default ACL", valid(), None),
            ("exact allows", with(good), None),
            (
                "explicit deny before allow",
                with(deny_first),
                Some((Severity::High, "rule 50")),
            ),
            (
                "stateless: no outbound",
                with(no_egress),
                Some((Severity::High, "outbound return traffic 1024/tcp")),
            ),
            (
                "outbound only upper ephemeral range",
                with(narrow_egress),
                Some((Severity::High, "default deny")),
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
