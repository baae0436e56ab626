//! LB_NO_LISTENER: some listener (default action or rule) must forward to the target group.

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_NO_LISTENER",
    severity: Severity::High,
    hop: Hop::Listener,
    cause: Cause::Missing,
    title: "No listener forwards to the service's target group",
    remediation: "Create a listener on the load balancer (e.g. HTTP 80 / HTTPS 443) whose default \
                  action forwards to the target group, or add a listener rule that forwards to it \
                  (aws elbv2 create-listener --default-actions Type=forward,TargetGroupArn=...).",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let mut orphans = Vec::new();
    let mut fixes = Vec::new();
    for (_, g) in view.mapped_groups() {
        if view
            .listeners
            .iter()
            .any(|l| l.forwards_to.contains(&g.arn))
        {
            continue;
        }
        match g.load_balancer_arns.first() {
            None => orphans.push(format!(
                "target group {} (attached to no load balancer)",
                g.name
            )),
            Some(_) => orphans.push(format!("target group {}", g.name)),
        }
        let lb = g
            .load_balancer_arns
            .first()
            .map_or("<load-balancer-arn>", String::as_str);
        let (protocol, port) = match g.protocol.as_deref() {
            Some(p @ ("TCP" | "TLS" | "UDP" | "TCP_UDP")) => (p, 80),
            _ => ("HTTP", 80),
        };
        fixes.push(format!(
            "aws elbv2 create-listener --load-balancer-arn {lb} --protocol {protocol} --port {port} --default-actions Type=forward,TargetGroupArn={}",
            g.arn
        ));
    }
    if orphans.is_empty() {
        return Ok(Outcome::Pass(
            "a listener forwards to each target group".into(),
        ));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "No listener forwards to {}: requests to the load balancer never reach the task. Fix (or add a forwarding rule to an existing listener): {}",
        list(orphans),
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
        let mut other = valid();
        known(&mut path(&mut other).listeners)[0].forwards_to = vec!["arn:tg/other".into()];
        let mut none = valid();
        known(&mut path(&mut none).listeners).clear();
        known(&mut path(&mut none).target_groups)[0]
            .load_balancer_arns
            .clear();
        let cases = [
            ("forwarding listener", valid(), None),
            (
                "listener forwards elsewhere",
                other,
                Some((Severity::High, "No listener forwards to target group web")),
            ),
            (
                "no load balancer at all",
                none,
                Some((Severity::High, "attached to no load balancer")),
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
