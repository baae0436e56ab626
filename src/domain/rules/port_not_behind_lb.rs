//! PORT_NOT_BEHIND_LB (INFO): mapped ports that no load balancer mapping routes to.

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "PORT_NOT_BEHIND_LB",
    severity: Severity::Info,
    hop: Hop::TargetGroup,
    cause: Cause::Conflict,
    title: "Mapped ports that no load balancer routes to",
    remediation:
        "These ports are reachable only from inside the VPC on the task's private IP. Add \
                  a load balancer mapping (target group of type `ip`) if they must be public.",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let unrouted: Vec<String> = view
        .task
        .ports()
        .iter()
        .filter(|p| {
            !view.mappings.iter().any(|m| {
                m.container_port
                    .is_some_and(|port| (p.container_port..=p.last_port).contains(&port))
            })
        })
        .map(|p| format!("{}:{p}", p.container_name))
        .collect();
    if unrouted.is_empty() {
        return Ok(Outcome::NotApplicable);
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "Ports {} are not behind any load balancer: reachable only inside the VPC.",
        list(unrouted)
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::PortMapping;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut extra = valid();
        known(&mut extra.task_definition)
            .port_mappings
            .push(PortMapping {
                container_name: "web".into(),
                container_port: 9090,
                last_port: 9090,
                protocol: "tcp".into(),
            });
        expect(
            "all behind LB",
            &run(&valid(), Check::LoadBalancer(check)),
            None,
        );
        expect(
            "metrics port",
            &run(&extra, Check::LoadBalancer(check)),
            Some((Severity::Info, "web:9090/tcp")),
        );
    }
}
