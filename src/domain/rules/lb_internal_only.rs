//! LB_INTERNAL_ONLY (INFO): the service is behind internal load balancers only.

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_INTERNAL_ONLY",
    severity: Severity::Info,
    hop: Hop::InternetGateway,
    cause: Cause::Conflict,
    title: "Only internal load balancers: reachable inside the VPC only",
    remediation:
        "Nothing to fix if the service is meant to be private. To serve the internet, add \
                  an internet-facing load balancer in public subnets with an `ip` target group.",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    if view.load_balancers.is_empty() || view.load_balancers.iter().any(|l| l.internet_facing()) {
        return Ok(Outcome::NotApplicable);
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "The service is behind internal load balancers only ({}): it is reachable from inside the VPC (and connected networks), not from the internet.",
        list(view.load_balancers.iter().map(|l| &l.name))
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut internal = valid();
        known(&mut path(&mut internal).load_balancers)[0].scheme =
            crate::domain::facts::Scheme::Internal;
        expect(
            "internet-facing",
            &run(&valid(), Check::LoadBalancer(check)),
            None,
        );
        expect(
            "internal",
            &run(&internal, Check::LoadBalancer(check)),
            Some((Severity::Info, "internal load balancers only (web-alb)")),
        );
    }
}
