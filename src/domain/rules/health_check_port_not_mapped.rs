//! HEALTH_CHECK_PORT_NOT_MAPPED: the target group's health check must connect to a port the
//! task's containers map; a fixed health-check port nobody listens on fails every check.

use super::stop_view::StopView;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "HEALTH_CHECK_PORT_NOT_MAPPED",
    severity: Severity::High,
    hop: Hop::TaskEni,
    cause: Cause::Conflict,
    title: "The health check connects to a port the task does not map",
    remediation: "Point the health check at the traffic port (aws elbv2 modify-target-group \
                  --target-group-arn <tg> --health-check-port traffic-port) or at a port a \
                  container maps, or add that port mapping to the task definition.",
};

/// Evaluates the rule.
pub fn check(view: &StopView<'_>) -> RuleResult {
    let Some(h) = view.health() else {
        return Ok(Outcome::NotApplicable);
    };
    let (group, td) = (view.target_group(h)?, view.task_definition()?);
    let Some(port) = view.health_check_port(h)? else {
        return Ok(Outcome::NotApplicable); // traffic port unknown: nothing to compare
    };
    let mapped = td
        .port_mappings
        .iter()
        .any(|m| m.container_port <= port && port <= m.last_port);
    if mapped {
        return Ok(Outcome::Pass(format!("health-check port {port} is mapped")));
    }
    let maps = if td.port_mappings.is_empty() {
        "no port at all".to_string()
    } else {
        list(&td.port_mappings)
    };
    Ok(Outcome::Fail(RULE.finding(format!(
        "Target group {} health-checks port {port}, which no container of {} maps (it maps {maps}): every check fails and ECS stops the task. Fix: aws elbv2 modify-target-group --target-group-arn {} --health-check-port traffic-port",
        group.name, td.arn, group.arn
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::HealthCheckPort;
    use crate::domain::rules::stop_fixture::*;

    #[test]
    fn table() {
        let mut fixed_other = health_kill();
        target_group(&mut fixed_other).health_check.port = HealthCheckPort::Port(8081);
        let mut fixed_same = health_kill();
        target_group(&mut fixed_same).health_check.port = HealthCheckPort::Port(3000);
        let cases = [
            ("traffic port", health_kill(), None),
            ("fixed mapped port", fixed_same, None),
            (
                "fixed port nobody maps",
                fixed_other,
                Some((
                    Severity::High,
                    "health-checks port 8081, which no container",
                )),
            ),
            ("not a health-check kill", image_pull_private(), None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, check), want);
        }
    }
}
