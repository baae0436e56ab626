//! LB_INTERNAL_ONLY (INFO): the service is behind internal load balancers only.

use super::support::{lb_parts, list};
use super::{InScopeTask, Outcome, Rule, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_INTERNAL_ONLY",
    severity: Severity::Info,
    title: "Only internal load balancers: reachable inside the VPC only",
    remediation:
        "Nothing to fix if the service is meant to be private. To serve the internet, add \
                  an internet-facing load balancer in public subnets with an `ip` target group.",
};

/// Evaluates the rule.
pub fn check(task: &InScopeTask<'_>) -> Outcome {
    let parts = match lb_parts(task) {
        None => return Outcome::NotApplicable,
        Some(Err(u)) => return Outcome::Incomplete(u),
        Some(Ok(p)) => p,
    };
    if parts.load_balancers.is_empty() || parts.load_balancers.iter().any(|l| l.internet_facing()) {
        return Outcome::NotApplicable;
    }
    Outcome::Fail(RULE.finding(format!(
        "The service is behind internal load balancers only ({}): it is reachable from inside the VPC (and connected networks), not from the internet.",
        list(parts.load_balancers.iter().map(|l| &l.name))
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::support::fixture::*;

    #[test]
    fn table() {
        let mut internal = valid();
        known(&mut path(&mut internal).load_balancers)[0].scheme = "internal".into();
        expect("internet-facing", &run(&valid(), check), None);
        expect(
            "internal",
            &run(&internal, check),
            Some((Severity::Info, "internal load balancers only (web-alb)")),
        );
    }
}
