//! NACL_BLOCKS_INBOUND: the task subnet's network ACL must allow the container port inbound
//! from the load balancer subnets (and from the clients when an NLB preserves their IPs) and
//! the ephemeral return ports outbound to them. Partly open is MEDIUM.

use super::acl_hop::{return_ports, service_port, worst, Peer};
use super::view::{internet_clients, subnet_cidrs, LbView};
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "NACL_BLOCKS_INBOUND",
    severity: Severity::High,
    hop: Hop::TaskSubnetAcl,
    cause: Cause::Missing,
    title: "The task subnet's network ACL blocks the load balancer traffic",
    remediation: "Add network ACL entries to the task subnet's ACL, numbered before any deny: \
                  inbound TCP <container-port> from the load balancer subnets' CIDRs, and outbound \
                  TCP 1024-65535 to them (network ACLs are stateless).",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let (acl, subnets) = (view.task.network_acl()?, view.subnets()?);
    let mut blocked = Vec::new();
    for (m, g) in view.mapped_groups() {
        let Some(port) = m.container_port else {
            continue;
        };
        for lb in view.balancers_of(g) {
            let mut sources: Vec<Peer> = subnet_cidrs(subnets, &lb.subnet_ids)
                .into_iter()
                .map(Peer::Block)
                .collect();
            // An NLB that preserves client IPs hands the targets the clients' own packets.
            if g.preserve_client_ip == Some(true) && lb.internet_facing() {
                sources.extend(internet_clients(lb).into_iter().map(Peer::Internet));
            }
            for peer in sources {
                blocked.extend(service_port(acl, true, port, peer));
                blocked.extend(return_ports(acl, false, peer));
            }
        }
    }
    let Some(severity) = worst(&blocked) else {
        return Ok(Outcome::Pass(
            "network ACL allows the load balancer traffic".into(),
        ));
    };
    let texts: Vec<String> = blocked.into_iter().map(|b| b.text).collect();
    Ok(Outcome::Fail(RULE.finding_with(severity, format!(
        "Network ACL {} of the task subnet denies {}. Fix: aws ec2 create-network-acl-entry --network-acl-id {} --rule-number <below the deny> --protocol tcp --ingress --port-range From=<port>,To=<port> --cidr-block <lb-subnet-cidr> --rule-action allow (and an --egress entry for 1024-65535)",
        acl.id,
        list(texts),
        acl.id
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::net::NaclEntry;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let with = |entries: Vec<NaclEntry>| {
            let mut f = valid();
            known(&mut f.network_acls)[0].entries = entries;
            f
        };
        let good = vec![
            acl_entry(100, true, false, "10.0.0.0/16", Some((3000, 3000))),
            acl_entry(100, true, true, "10.0.0.0/16", Some((1024, 65535))),
        ];
        let deny_first = vec![
            acl_entry(50, false, false, "10.0.1.0/24", None),
            acl_entry(100, true, false, "0.0.0.0/0", None),
            acl_entry(100, true, true, "0.0.0.0/0", None),
        ];
        let no_egress = vec![acl_entry(100, true, false, "0.0.0.0/0", None)];
        let narrow_egress = vec![
            acl_entry(100, true, false, "0.0.0.0/0", None),
            acl_entry(100, true, true, "0.0.0.0/0", Some((32768, 65535))),
        ];
        let one_host_denied = vec![
            acl_entry(40, false, false, "10.0.1.9/32", None),
            acl_entry(100, true, false, "0.0.0.0/0", None),
            acl_entry(100, true, true, "0.0.0.0/0", None),
        ];
        let vpc_only = vec![
            acl_entry(100, true, false, "10.0.0.0/16", None),
            acl_entry(100, true, true, "10.0.0.0/16", None),
        ];
        let nlb = |entries: Vec<NaclEntry>, preserve: Option<bool>| {
            let mut f = with(entries);
            let p = path(&mut f);
            known(&mut p.target_groups)[0].preserve_client_ip = preserve;
            known(&mut p.load_balancers)[0].security_group_ids.clear();
            f
        };
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
                Some((
                    Severity::High,
                    "outbound return traffic 1024-65535/tcp to 10.0.1.0/24",
                )),
            ),
            (
                "outbound only upper ephemeral range",
                with(narrow_egress),
                Some((Severity::Medium, "1024-32767/tcp of the ephemeral range")),
            ),
            (
                "one load-balancer host denied first",
                with(one_host_denied),
                Some((
                    Severity::Medium,
                    "inbound 3000/tcp from part of 10.0.1.0/24 (rule 40)",
                )),
            ),
            (
                "NLB without client IPs, ACL admits the VPC",
                nlb(vpc_only.clone(), None),
                None,
            ),
            (
                "NLB preserving client IPs, ACL admits the VPC only",
                nlb(vpc_only, Some(true)),
                Some((
                    Severity::High,
                    "inbound 3000/tcp from the internet (0.0.0.0/0)",
                )),
            ),
            (
                "NLB preserving client IPs, ACL open",
                nlb(
                    vec![
                        acl_entry(100, true, false, "0.0.0.0/0", None),
                        acl_entry(100, true, true, "0.0.0.0/0", None),
                    ],
                    Some(true),
                ),
                None,
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
