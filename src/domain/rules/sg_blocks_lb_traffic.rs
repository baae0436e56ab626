//! SG_BLOCKS_LB_TRAFFIC: the task ENI's security groups must admit the container port from the
//! load balancer (its security groups, its subnets' CIDRs, or the clients for an NLB that
//! preserves client IPs).

use super::view::subnet_cidrs;
use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::net::{rules_admit, Cidr, Peer};
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "SG_BLOCKS_LB_TRAFFIC",
    severity: Severity::High,
    hop: Hop::TaskSecurityGroups,
    cause: Cause::Missing,
    title: "Task security groups do not admit the container port from the load balancer",
    remediation: "Add an inbound rule to the task's security group for the container port from \
                  the load balancer's security group, e.g. aws ec2 authorize-security-group-ingress \
                  --group-id <task-sg> --protocol tcp --port <container-port> --source-group <lb-sg>; \
                  for an NLB without security groups allow the load balancer subnets' CIDRs (or the \
                  clients' CIDRs when client IP preservation is on).",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let ((eni, task_groups), subnets) = (view.task.eni_groups()?, view.subnets()?);
    let ingress = task_groups.iter().flat_map(|g| &g.ingress);
    let mut blocked = Vec::new();
    let mut fixes = Vec::new();
    let task_sg = eni
        .security_group_ids
        .first()
        .map_or("<task-sg>", String::as_str);
    for (m, g) in view.mapped_groups() {
        let Some(port) = m.container_port else {
            continue;
        };
        for lb in view.balancers_of(g) {
            let peer = if lb.security_group_ids.is_empty() && g.preserve_client_ip == Some(true) {
                if !lb.internet_facing() {
                    continue; // in-VPC clients of an internal NLB are not known
                }
                Peer::cidrs(Cidr::parse("0.0.0.0/0"))
            } else {
                Peer {
                    group_ids: lb.security_group_ids.clone(),
                    cidrs: subnet_cidrs(subnets, &lb.subnet_ids),
                }
            };
            if !rules_admit(ingress.clone(), "tcp", port, &peer) {
                let from = if lb.security_group_ids.is_empty() {
                    format!("subnets {}", list(&lb.subnet_ids))
                } else {
                    format!("security groups {}", list(&lb.security_group_ids))
                };
                blocked.push(format!("{port}/tcp from {} ({from})", lb.name));
                match lb.security_group_ids.first() {
                    Some(lb_sg) => fixes.push(format!(
                        "aws ec2 authorize-security-group-ingress --group-id {task_sg} --protocol tcp --port {port} --source-group {lb_sg}"
                    )),
                    None => fixes.extend(peer.cidrs.iter().map(|c| format!(
                        "aws ec2 authorize-security-group-ingress --group-id {task_sg} --protocol tcp --port {port} --cidr {c}"
                    ))),
                }
            }
        }
    }
    if blocked.is_empty() {
        return Ok(Outcome::Pass(
            "task security groups admit the load balancer".into(),
        ));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "The task's security groups {} do not admit {}: the load balancer's health checks and requests are dropped at the task ENI {}. Fix: {}",
        list(&eni.security_group_ids),
        list(blocked),
        eni.id,
        fixes.join("; ")
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    fn nlb(preserve: Option<bool>, task_rule_cidr: &str) -> crate::domain::facts::TaskFacts {
        let mut f = valid();
        let p = path(&mut f);
        known(&mut p.load_balancers)[0].security_group_ids.clear();
        known(&mut p.target_groups)[0].preserve_client_ip = preserve;
        group(&mut f, "sg-task").ingress = vec![tcp(3000, &[task_rule_cidr], &[])];
        f
    }

    #[test]
    fn table() {
        let mut closed = valid();
        group(&mut closed, "sg-task").ingress.clear();
        let mut one_subnet = valid();
        group(&mut one_subnet, "sg-task").ingress = vec![tcp(3000, &["10.0.1.0/24"], &[])];
        let mut vpc = valid();
        group(&mut vpc, "sg-task").ingress = vec![tcp(3000, &["10.0.0.0/16"], &[])];
        let cases = [
            ("SG reference", valid(), None),
            ("VPC CIDR", vpc, None),
            (
                "no ingress",
                closed,
                Some((
                    Severity::High,
                    "3000/tcp from web-alb (security groups sg-lb)",
                )),
            ),
            (
                "only one LB subnet",
                one_subnet,
                Some((Severity::High, "sg-task")),
            ),
            (
                "NLB without SGs, subnet CIDRs allowed",
                nlb(None, "10.0.0.0/16"),
                None,
            ),
            (
                "NLB preserving client IPs needs the clients",
                nlb(Some(true), "10.0.0.0/16"),
                Some((Severity::High, "subnets subnet-a")),
            ),
            (
                "NLB preserving client IPs, world allowed",
                nlb(Some(true), "0.0.0.0/0"),
                None,
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }

    #[test]
    fn groups_that_read_back_empty_or_missing_are_unknown_not_closed() {
        let mut no_ids = valid();
        known(&mut no_ids.eni).security_group_ids.clear();
        let mut missing = valid();
        known(&mut missing.eni).security_group_ids = vec!["sg-gone".into()];
        for (name, facts, api) in [
            (
                "no ids",
                no_ids,
                crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
            ),
            (
                "ids not found",
                missing,
                crate::domain::api::EC2_DESCRIBE_SECURITY_GROUPS,
            ),
        ] {
            match run(&facts, Check::LoadBalancer(check)) {
                crate::domain::verdict::Outcome::Incomplete(u) => assert_eq!(u.api, api, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
