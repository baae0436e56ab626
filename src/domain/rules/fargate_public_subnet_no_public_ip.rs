//! FARGATE_PUBLIC_SUBNET_NO_PUBLIC_IP: the seed trap's Fargate twin. A Fargate task in a public
//! subnet maps ports, its ENI has no public IP (`assignPublicIp: DISABLED`) and no load balancer
//! fronts it: nothing outside the VPC reaches it.

use super::view::TaskView;
use crate::domain::hop::Hop;
use crate::domain::task::LaunchType;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "FARGATE_PUBLIC_SUBNET_NO_PUBLIC_IP",
    severity: Severity::High,
    hop: Hop::PublicIp,
    cause: Cause::Conflict,
    title: "Fargate task in a public subnet without a public IP or a load balancer",
    remediation: "Put an ALB or NLB in front of the service with a target group of target type \
                  `ip` (preferred: a public IP on a task is itself flagged by Security Hub \
                  ECS.2); or run the task with `assignPublicIp: ENABLED` and a security group \
                  rule for its port; or, if it must stay private, place it in a private subnet \
                  with a NAT gateway for egress.",
};

/// Evaluates the rule.
pub fn check(task: &TaskView<'_>) -> RuleResult {
    if task.launch_type() != Some(LaunchType::Fargate) {
        return Ok(Outcome::NotApplicable);
    }
    if let Some(service) = task.service()? {
        if !service.load_balancers.is_empty() {
            return Ok(Outcome::NotApplicable);
        }
    }
    let eni = task.eni()?;
    if eni.public_ip.is_some() || task.ipv6_direct_path()?.is_some() {
        return Ok(Outcome::NotApplicable);
    }
    let route_table = task.route_table()?;
    let Some(igw) = route_table.ipv4_internet_gateway() else {
        return Ok(Outcome::Pass(format!(
            "private subnet {}: reachable from inside the VPC by design",
            eni.subnet_id
        )));
    };
    let no_lb = if task.facts.service.is_some() {
        "the service has no load balancer"
    } else {
        "a standalone task has no load balancer"
    };
    Ok(Outcome::Fail(RULE.finding(format!(
        "The Fargate task's ENI {} (private IP {}) has no public IP: it was started with \
         assignPublicIp DISABLED. Its subnet {} is public (0.0.0.0/0 -> {igw}), but {no_lb}, so \
         nothing outside the VPC reaches ports {}.",
        eni.id,
        eni.private_ip.as_deref().unwrap_or("unknown"),
        eni.subnet_id,
        list(task.ports())
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut private = fargate();
        private.route_table =
            crate::domain::facts::Fact::Known(route_table("rtb-main", true, &[], false));
        let cases = [
            (
                "public subnet, no public IP, no load balancer",
                "FARGATE",
                fargate(),
                Some((Severity::High, "assignPublicIp DISABLED")),
            ),
            ("private subnet", "FARGATE", private, None),
            ("public IP", "FARGATE", fargate_public_ip("0.0.0.0/0"), None),
            ("behind a load balancer", "FARGATE", valid(), None),
            ("an EC2 task is the other rule's", "EC2", seed(), None),
        ];
        for (name, launch_type, facts, want) in cases {
            let outcome = run_as(launch_type, &facts, Check::Task(check));
            expect(name, &outcome, want);
        }
    }
}
