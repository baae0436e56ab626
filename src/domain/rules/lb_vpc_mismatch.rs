//! LB_VPC_MISMATCH: target group and load balancer must be in the task ENI's VPC.

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_VPC_MISMATCH",
    severity: Severity::High,
    hop: Hop::TargetGroup,
    cause: Cause::Conflict,
    title: "Target group or load balancer is in another VPC than the task",
    remediation: "Use a load balancer and an `ip` target group in the task's own VPC, or run the \
                  service's tasks in subnets of the load balancer's VPC (awsvpcConfiguration).",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let eni = view.task.eni()?;
    let mut other = Vec::new();
    for (_, g) in view.mapped_groups() {
        if let Some(vpc) = g.vpc_id.as_deref().filter(|v| *v != eni.vpc_id) {
            other.push(format!("target group {} ({vpc})", g.name));
        }
        for lb in view.balancers_of(g) {
            if lb.vpc_id != eni.vpc_id {
                other.push(format!("load balancer {} ({})", lb.name, lb.vpc_id));
            }
        }
    }
    other.sort();
    other.dedup();
    if other.is_empty() {
        return Ok(Outcome::Pass(
            "load balancer path is in the task's VPC".into(),
        ));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "{} not in the task's VPC {}: a load balancer reaches `ip` targets only in its own VPC.",
        list(other),
        eni.vpc_id
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut tg = valid();
        known(&mut path(&mut tg).target_groups)[0].vpc_id = Some("vpc-other".into());
        let mut lb = valid();
        known(&mut path(&mut lb).load_balancers)[0].vpc_id = "vpc-other".into();
        let cases = [
            ("same VPC", valid(), None),
            (
                "target group elsewhere",
                tg,
                Some((Severity::High, "target group web (vpc-other)")),
            ),
            (
                "load balancer elsewhere",
                lb,
                Some((Severity::High, "load balancer web-alb (vpc-other)")),
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
