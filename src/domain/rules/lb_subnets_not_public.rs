//! LB_SUBNETS_NOT_PUBLIC: an internet-facing load balancer needs public subnets.

use super::view::public_gateway;
use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_SUBNETS_NOT_PUBLIC",
    severity: Severity::High,
    hop: Hop::InternetGateway,
    cause: Cause::Missing,
    title: "Internet-facing load balancer sits in subnets without an internet gateway route",
    remediation: "Place the internet-facing load balancer in public subnets (route table with \
                  0.0.0.0/0 -> igw-...), one per Availability Zone, or add that route to the \
                  route tables of its current subnets.",
};

/// Evaluates the rule: no public subnet is HIGH, some non-public subnets are MEDIUM.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let tables = view.task.vpc_route_tables()?;
    let vpc = view.task.facts.eni.known().map(|e| e.vpc_id.as_str());
    let mut worst: Option<(Severity, String)> = None;
    for lb in view.load_balancers.iter().filter(|l| l.internet_facing()) {
        if Some(lb.vpc_id.as_str()) != vpc {
            continue; // LB_VPC_MISMATCH reports it; its route tables are not the task VPC's.
        }
        let private: Vec<&String> = lb
            .subnet_ids
            .iter()
            .filter(|s| public_gateway(tables, s).is_none())
            .collect();
        if private.is_empty() {
            continue;
        }
        let (severity, text) = if private.len() == lb.subnet_ids.len() {
            (Severity::High, format!(
                "Internet-facing load balancer {} has no public subnet ({} route 0.0.0.0/0 to no internet gateway): clients on the internet cannot reach it.",
                lb.name, list(&private)
            ))
        } else {
            (Severity::Medium, format!(
                "Internet-facing load balancer {}: subnets {} have no internet gateway route, so its nodes there are unreachable (DNS still hands out their IPs).",
                lb.name, list(&private)
            ))
        };
        if worst.as_ref().is_none_or(|(s, _)| severity < *s) {
            worst = Some((severity, text));
        }
    }
    Ok(match worst {
        None => Outcome::Pass("internet-facing load balancers sit in public subnets".into()),
        Some((severity, message)) => Outcome::Fail(RULE.finding_with(severity, message)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut none_public = valid();
        known(&mut none_public.vpc_route_tables).retain(|t| t.main);
        let mut one_private = valid();
        known(&mut path(&mut one_private).load_balancers)[0]
            .subnet_ids
            .push("subnet-task".into());
        let mut internal = valid();
        known(&mut internal.vpc_route_tables).retain(|t| t.main);
        known(&mut path(&mut internal).load_balancers)[0].scheme =
            crate::domain::facts::Scheme::Internal;
        let cases = [
            ("public subnets", valid(), None),
            (
                "no public subnet",
                none_public,
                Some((Severity::High, "has no public subnet")),
            ),
            (
                "one private subnet",
                one_private,
                Some((Severity::Medium, "subnet-task")),
            ),
            ("internal LB in private subnets", internal, None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
