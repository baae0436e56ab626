//! LB_SG_BLOCKS_EGRESS: the load balancer's security groups must let traffic out to the task.

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::net::{rules_admit, Peer};
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_SG_BLOCKS_EGRESS",
    severity: Severity::High,
    hop: Hop::LbSecurityGroups,
    cause: Cause::Missing,
    title: "Load balancer security groups do not allow egress to the task port",
    remediation: "Add an outbound rule to the load balancer's security group for the container \
                  port towards the task's security group (or the VPC CIDR), e.g. \
                  aws ec2 authorize-security-group-egress --group-id <lb-sg> \
                  --ip-permissions IpProtocol=tcp,FromPort=<port>,ToPort=<port>,UserIdGroupPairs=[{GroupId=<task-sg>}]",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let eni = view.task.eni()?;
    let task_peer = Peer {
        group_ids: eni.security_group_ids.clone(),
        cidrs: view.task_address()?.into_iter().collect(),
    };
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
        for lb in view
            .balancers_of(g)
            .into_iter()
            .filter(|l| !l.security_group_ids.is_empty())
        {
            let sgs = view.task.groups(&lb.security_group_ids)?;
            if !rules_admit(sgs.iter().flat_map(|s| &s.egress), "tcp", port, &task_peer) {
                blocked.push(format!(
                    "{} -> {port}/tcp (security groups {})",
                    lb.name,
                    list(&lb.security_group_ids)
                ));
                fixes.push(format!(
                    "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions IpProtocol=tcp,FromPort={port},ToPort={port},UserIdGroupPairs=[{{GroupId={task_sg}}}]",
                    lb.security_group_ids[0]
                ));
            }
        }
    }
    if blocked.is_empty() {
        return Ok(Outcome::Pass(
            "load balancer egress reaches the task".into(),
        ));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "Load balancer {} cannot send traffic to the task {}: no outbound rule allows the container port. Fix: {}",
        list(blocked),
        eni.private_ip.as_deref().unwrap_or(&eni.id),
        fixes.join("; ")
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut none = valid();
        group(&mut none, "sg-lb").egress.clear();
        let mut sg_ref = valid();
        group(&mut sg_ref, "sg-lb").egress = vec![tcp(3000, &[], &["sg-task"])];
        let mut vpc_cidr = valid();
        group(&mut vpc_cidr, "sg-lb").egress = vec![tcp(3000, &["10.0.0.0/16"], &[])];
        let mut other_port = valid();
        group(&mut other_port, "sg-lb").egress = vec![tcp(8080, &["0.0.0.0/0"], &[])];
        let cases = [
            ("all outbound", valid(), None),
            ("to the task SG", sg_ref, None),
            ("to the VPC CIDR", vpc_cidr, None),
            (
                "no egress",
                none,
                Some((Severity::High, "web-alb -> 3000/tcp")),
            ),
            (
                "other port only",
                other_port,
                Some((Severity::High, "10.0.3.7")),
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
