//! LB_NACL_BLOCKS_TARGETS: the network ACL of a load balancer's subnets must let its nodes
//! reach the task: the container port out to the task's IP and the ephemeral return ports back
//! in (network ACLs are stateless). Every subnet blocked is HIGH; some subnets, or part of the
//! return range, MEDIUM.

use super::acl_hop::{across_subnets, return_ports, service_port, worst, Blocked, Peer};
use super::view::LbView;
use crate::domain::api;
use crate::domain::facts::{LoadBalancer, Unreadable};
use crate::domain::hop::Hop;
use crate::domain::net::Cidr;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_NACL_BLOCKS_TARGETS",
    severity: Severity::High,
    hop: Hop::LbSubnetAclToTask,
    cause: Cause::Missing,
    title: "The network ACL of the load balancer's subnets blocks the traffic to the task",
    remediation: "Add entries to the network ACL of the load balancer's subnets, numbered before \
                  any deny: outbound TCP <container-port> to the task subnet's CIDR, and inbound \
                  TCP 1024-65535 from it (network ACLs are stateless).",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let eni = view.task.eni()?;
    let Some(task_ip) = view.task_address()? else {
        return Err(Unreadable {
            api: api::EC2_DESCRIBE_NETWORK_INTERFACES,
            reason: format!("ENI {} has no private IPv4 address", eni.id),
        });
    };
    let mut findings: Vec<(Severity, String)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (m, g) in view.mapped_groups() {
        let Some(port) = m.container_port else {
            continue;
        };
        for lb in view.balancers_of(g) {
            if !view.in_task_vpc(lb) || seen.contains(&lb.arn.as_str()) {
                continue;
            }
            seen.push(&lb.arn);
            findings.extend(judge_balancer(view, lb, port, task_ip)?);
        }
    }
    let Some(severity) = findings.iter().map(|(s, _)| *s).min() else {
        return Ok(Outcome::Pass(
            "the load balancers' subnet ACLs let their nodes reach the task".into(),
        ));
    };
    let texts: Vec<String> = findings.into_iter().map(|(_, t)| t).collect();
    Ok(Outcome::Fail(RULE.finding_with(severity, texts.join(" "))))
}

fn judge_balancer(
    view: &LbView<'_>,
    lb: &LoadBalancer,
    port: i32,
    task_ip: Cidr,
) -> Result<Option<(Severity, String)>, Unreadable> {
    let judged = across_subnets(
        &lb.subnet_ids,
        |s| view.task.acl_of(s),
        |acl| {
            let peer = Peer::Block(task_ip);
            let mut here: Vec<Blocked> = service_port(acl, false, port, peer).into_iter().collect();
            here.extend(return_ports(acl, true, peer));
            let outright = worst(&here) == Some(Severity::High);
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
            format!(
                "aws ec2 create-network-acl-entry --network-acl-id {acl} --egress --rule-number <below the deny> --protocol tcp --port-range From={port},To={port} --cidr-block <task-subnet-cidr> --rule-action allow; aws ec2 create-network-acl-entry --network-acl-id {acl} --ingress --rule-number <below the deny> --protocol tcp --port-range From=1024,To=65535 --cidr-block <task-subnet-cidr> --rule-action allow"
            )
        })
        .collect();
    let texts: Vec<String> = judged.blocked.into_iter().map(|b| b.text).collect();
    Ok(Some((
        severity,
        format!(
            "Load balancer {} cannot reach the task through its subnets' network ACL: {}. Fix: {}",
            lb.name,
            list(texts),
            fix.join("; ")
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let both = |entries: Vec<_>| with_lb_acl(valid(), &["subnet-a", "subnet-b"], entries);
        let internet_only_out = vec![
            acl_entry(100, true, false, "0.0.0.0/0", None),
            acl_entry(100, true, true, "0.0.0.0/0", Some((80, 80))),
            acl_entry(110, true, true, "0.0.0.0/0", Some((32768, 65535))),
        ];
        let return_denied = vec![
            acl_entry(90, false, false, "10.0.3.0/24", Some((1024, 65535))),
            acl_entry(100, true, false, "0.0.0.0/0", None),
            acl_entry(100, true, true, "0.0.0.0/0", None),
        ];
        let cases = [
            ("open", valid(), None),
            (
                "container port not allowed out (only 80 and the upper ephemeral ports)",
                both(internet_only_out),
                Some((
                    Severity::High,
                    "acl-lb of subnet-a: outbound 3000/tcp to 10.0.3.7/32 (no matching allow",
                )),
            ),
            (
                "return traffic from the task subnet denied",
                both(return_denied.clone()),
                Some((
                    Severity::High,
                    "inbound return traffic 1024-65535/tcp from 10.0.3.7/32 (rule 90)",
                )),
            ),
            (
                "one subnet of two",
                with_lb_acl(valid(), &["subnet-b"], return_denied),
                Some((Severity::Medium, "acl-lb of subnet-b")),
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
