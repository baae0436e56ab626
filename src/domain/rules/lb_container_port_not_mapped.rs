//! LB_CONTAINER_PORT_NOT_MAPPED: the service's LB mapping must name a container and port that
//! the task definition maps.

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_CONTAINER_PORT_NOT_MAPPED",
    severity: Severity::High,
    hop: Hop::TargetGroup,
    cause: Cause::Conflict,
    title: "Load balancer mapping names a container port the task definition does not map",
    remediation: "Make the service's loadBalancers entry name a container and containerPort that \
                  the task definition's portMappings declare (or add the port mapping to the \
                  container definition and register a new revision).",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let mapped = view.task.ports();
    let missing: Vec<String> = view
        .mappings
        .iter()
        .filter(|m| {
            !mapped.iter().any(|p| {
                // ECS requires a load-balancer mapping to name a containerPort, not a range.
                !p.is_range()
                    && Some(p.container_port) == m.container_port
                    && m.container_name
                        .as_deref()
                        .is_none_or(|n| n == p.container_name)
            })
        })
        .map(|m| {
            format!(
                "{}:{}",
                m.container_name.as_deref().unwrap_or("?"),
                m.container_port.map_or("?".into(), |p| p.to_string())
            )
        })
        .collect();
    if missing.is_empty() {
        return Ok(Outcome::Pass(
            "load balancer mappings name mapped container ports".into(),
        ));
    }
    let declared = list(mapped.iter().map(|p| match p.is_range() {
        true => format!("{}:{}-{}", p.container_name, p.container_port, p.last_port),
        false => format!("{}:{}", p.container_name, p.container_port),
    }));
    Ok(Outcome::Fail(RULE.finding(format!(
        "The service routes load balancer traffic to {} but the task definition maps only [{declared}]: \
         the target never answers on that port.",
        list(missing)
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
        let with = |name: &str, port: i32| {
            let mut f = valid();
            if let Some(Fact::Known(s)) = f.service.as_mut() {
                s.load_balancers[0].container_name = Some(name.into());
                s.load_balancers[0].container_port = Some(port);
            }
            f
        };
        let mut no_ports = valid();
        known(&mut no_ports.task_definition).port_mappings.clear();
        let cases = [
            ("valid", valid(), None),
            (
                "wrong port",
                with("web", 8080),
                Some((Severity::High, "web:8080")),
            ),
            (
                "wrong container",
                with("sidecar", 3000),
                Some((Severity::High, "sidecar:3000")),
            ),
            (
                "task maps no port at all",
                no_ports,
                Some((Severity::High, "maps only []")),
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }

    #[test]
    fn a_task_mapping_only_a_range_behind_a_load_balancer_is_not_mapped() {
        let mut ranged = valid();
        if let crate::domain::facts::Fact::Known(td) = &mut ranged.task_definition {
            td.port_mappings[0].container_port = 2990;
            td.port_mappings[0].last_port = 3010;
        }
        expect(
            "range 2990-3010 covering the mapping's 3000",
            &run(&ranged, Check::LoadBalancer(check)),
            Some((Severity::High, "maps only [web:2990-3010]")),
        );
    }
}
