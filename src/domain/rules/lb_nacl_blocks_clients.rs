//! LB_NACL_BLOCKS_CLIENTS: the network ACL of an internet-facing load balancer's subnets must
//! let the clients in on the listener ports and the ephemeral return ports back out (network
//! ACLs are stateless). Every subnet blocked is HIGH (for IPv4, or the only family); some
//! subnets, IPv6 alone, or part of the return range is MEDIUM.

use super::acl_hop::{across_subnets, return_ports, service_port, worst, Blocked, Peer};
use super::view::{internet_clients, LbView};
use crate::domain::facts::LoadBalancer;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_NACL_BLOCKS_CLIENTS",
    severity: Severity::High,
    hop: Hop::LbSubnetAcl,
    cause: Cause::Missing,
    title: "The network ACL of the load balancer's subnets blocks its internet clients",
    remediation: "Add entries to the network ACL of the load balancer's subnets, numbered before \
                  any deny: inbound TCP <listener-port> from 0.0.0.0/0 (and ::/0 when \
                  dual-stack), and outbound TCP 1024-65535 to the same (network ACLs are \
                  stateless).",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let mut findings: Vec<(Severity, String)> = Vec::new();
    let mut balancers: Vec<&LoadBalancer> = Vec::new();
    for (lb, _) in view.internet_listeners() {
        if view.in_task_vpc(lb) && !balancers.iter().any(|b| b.arn == lb.arn) {
            balancers.push(lb);
        }
    }
    for lb in balancers {
        let ports: Vec<i32> = view
            .internet_listeners()
            .into_iter()
            .filter(|(b, _)| b.arn == lb.arn)
            .map(|(_, p)| p)
            .collect();
        findings.extend(judge_balancer(view, lb, &ports)?);
    }
    let Some(severity) = findings.iter().map(|(s, _)| *s).min() else {
        return Ok(Outcome::Pass(
            "the load balancers' subnet ACLs admit their clients".into(),
        ));
    };
    let texts: Vec<String> = findings.into_iter().map(|(_, t)| t).collect();
    Ok(Outcome::Fail(RULE.finding_with(severity, texts.join(" "))))
}

/// The blocked hops of one load balancer's subnets, with the fix.
fn judge_balancer(
    view: &LbView<'_>,
    lb: &LoadBalancer,
    ports: &[i32],
) -> Result<Option<(Severity, String)>, crate::domain::facts::Unreadable> {
    let judged = across_subnets(
        &lb.subnet_ids,
        |s| view.task.acl_of(s),
        |acl| {
            let mut here = Vec::new();
            // The clients' main family (IPv4, or IPv6 on an IPv6-only load balancer) blocked
            // outright: no client reaches this node.
            let mut outright = true;
            for client in internet_clients(lb) {
                let peer = Peer::Internet(client);
                let mut family: Vec<Blocked> = ports
                    .iter()
                    .filter_map(|&p| service_port(acl, true, p, peer))
                    .collect();
                family.extend(return_ports(acl, false, peer));
                if client.is_ipv6() && lb.serves_ipv4() {
                    // Only IPv6 clients of a dual-stack load balancer miss it.
                    family
                        .iter_mut()
                        .for_each(|b| b.severity = Severity::Medium);
                } else if worst(&family) != Some(Severity::High) {
                    outright = false;
                }
                here.extend(family);
            }
            (here, outright)
        },
    )?;
    if judged.blocked.is_empty() {
        return Ok(None);
    }
    let (severity, acls) = (judged.severity(), &judged.acls);
    let fix: Vec<String> = acls
        .iter()
        .map(|acl| {
            let port = ports.first().copied().unwrap_or(443);
            format!(
                "aws ec2 create-network-acl-entry --network-acl-id {acl} --ingress --rule-number <below the deny> --protocol tcp --port-range From={port},To={port} --cidr-block 0.0.0.0/0 --rule-action allow; aws ec2 create-network-acl-entry --network-acl-id {acl} --egress --rule-number <below the deny> --protocol tcp --port-range From=1024,To=65535 --cidr-block 0.0.0.0/0 --rule-action allow"
            )
        })
        .collect();
    let texts: Vec<String> = judged.blocked.into_iter().map(|b| b.text).collect();
    Ok(Some((
        severity,
        format!(
            "Clients cannot pass the network ACL of load balancer {}'s subnets: {}. Fix: {}",
            lb.name,
            list(texts),
            fix.join("; ")
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::IpAddressType;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let open = || {
            vec![
                acl_entry(100, true, false, "0.0.0.0/0", None),
                acl_entry(100, true, true, "0.0.0.0/0", None),
            ]
        };
        let inbound_vpc_only = || {
            vec![
                acl_entry(100, true, false, "10.0.0.0/16", None),
                acl_entry(100, true, true, "0.0.0.0/0", None),
            ]
        };
        let no_return = || vec![acl_entry(100, true, false, "0.0.0.0/0", None)];
        let linux_return = || {
            vec![
                acl_entry(100, true, false, "0.0.0.0/0", None),
                acl_entry(100, true, true, "0.0.0.0/0", Some((32768, 60999))),
            ]
        };
        let blocklist = || {
            vec![
                acl_entry(10, false, false, "198.51.100.0/24", None),
                acl_entry(100, true, false, "0.0.0.0/0", None),
                acl_entry(100, true, true, "0.0.0.0/0", None),
            ]
        };
        let both = |entries: Vec<_>| with_lb_acl(valid(), &["subnet-a", "subnet-b"], entries);
        let only_a = |entries: Vec<_>| with_lb_acl(valid(), &["subnet-a"], entries);
        let mut internal = both(inbound_vpc_only());
        known(&mut path(&mut internal).load_balancers)[0].scheme =
            crate::domain::facts::Scheme::Internal;
        let mut dual = both(vec![
            acl_entry(100, true, false, "0.0.0.0/0", None),
            acl_entry(100, true, true, "0.0.0.0/0", None),
        ]);
        known(&mut path(&mut dual).load_balancers)[0].ip_address_type = IpAddressType::Dualstack;
        let mut nlb = both(inbound_vpc_only());
        known(&mut path(&mut nlb).load_balancers)[0]
            .security_group_ids
            .clear();
        let cases = [
            ("open", both(open()), None),
            ("a blocklist", both(blocklist()), None),
            (
                "listener port from the VPC only, both subnets",
                both(inbound_vpc_only()),
                Some((Severity::High, "acl-lb of subnet-a: inbound 80/tcp from the internet (0.0.0.0/0) (no matching allow")),
            ),
            (
                "one subnet of two",
                only_a(inbound_vpc_only()),
                Some((Severity::Medium, "acl-lb of subnet-a: inbound 80/tcp")),
            ),
            (
                "no return traffic",
                both(no_return()),
                Some((Severity::High, "outbound return traffic 1024-65535/tcp to the internet")),
            ),
            (
                "the Linux return range only",
                both(linux_return()),
                Some((Severity::Medium, "1024-32767, 61000-65535/tcp of the ephemeral range")),
            ),
            ("an internal load balancer", internal, None),
            (
                "dual-stack: IPv6 has no entry",
                dual,
                Some((Severity::Medium, "from the internet (::/0)")),
            ),
            (
                "an NLB without security groups",
                nlb,
                Some((Severity::High, "inbound 80/tcp from the internet (0.0.0.0/0)")),
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }

    #[test]
    fn an_unread_acl_is_incomplete_not_a_pass() {
        let mut f = valid();
        known(&mut f.network_acls)[0]
            .subnet_ids
            .retain(|s| s != "subnet-b");
        match run(&f, Check::LoadBalancer(check)) {
            crate::domain::verdict::Outcome::Incomplete(u) => {
                assert!(u.reason.contains("subnet-b"), "{u:?}")
            }
            other => panic!("{other:?}"),
        }
    }
}
