//! LB_TARGET_TYPE_NOT_IP: an awsvpc service's target group must have target type `ip`.

use super::view::LbView;
use crate::domain::api;
use crate::domain::facts::TargetType;
use crate::domain::facts::Unreadable;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_TARGET_TYPE_NOT_IP",
    severity: Severity::High,
    hop: Hop::TargetGroup,
    cause: Cause::Conflict,
    title: "Target group of an awsvpc service is not of target type ip",
    remediation:
        "Create a target group with target type `ip` in the task's VPC (same protocol and \
                  port), point the service's load balancer mapping at it (recreate the service or \
                  update its loadBalancers), move the listener's forward action to it, then delete \
                  the old target group.",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let mut broken = Vec::new();
    for m in view.mappings {
        match (&m.target_group_arn, view.target_group(m)) {
            (None, _) => broken.push(format!(
                "Classic Load Balancer {} (cannot target awsvpc tasks)",
                m.load_balancer_name.as_deref().unwrap_or("?")
            )),
            (Some(arn), None) => {
                return Err(Unreadable {
                    api: api::ELB_DESCRIBE_TARGET_GROUPS,
                    reason: format!("target group {arn} no longer exists"),
                })
            }
            (Some(_), Some(g)) if g.target_type != TargetType::Ip => broken.push(format!(
                "target group {} has target type `{}`",
                g.name, g.target_type
            )),
            _ => {}
        }
    }
    if broken.is_empty() {
        return Ok(Outcome::Pass("target groups use target type ip".into()));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "{}: ECS registers awsvpc task IPs only in `ip` target groups, so the load balancer never \
         reaches this task.",
        list(broken)
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::Fact;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut instance = valid();
        known(&mut path(&mut instance).target_groups)[0].target_type = TargetType::Instance;
        let mut classic = valid();
        if let Some(Fact::Known(s)) = classic.service.as_mut() {
            s.load_balancers[0].target_group_arn = None;
            s.load_balancers[0].load_balancer_name = Some("old-elb".into());
        }
        let mut no_lb = valid();
        no_lb.load_balancer_path = None;
        let cases = [
            ("valid ip target group", valid(), None),
            (
                "instance target group",
                instance,
                Some((Severity::High, "target type `instance`")),
            ),
            (
                "classic load balancer",
                classic,
                Some((Severity::High, "Classic Load Balancer old-elb")),
            ),
            ("no load balancer", no_lb, None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
        let mut gone = valid();
        known(&mut path(&mut gone).target_groups).clear();
        assert!(matches!(
            run(&gone, Check::LoadBalancer(check)),
            Outcome::Incomplete(_)
        ));
    }
}
