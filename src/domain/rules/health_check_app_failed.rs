//! HEALTH_CHECK_APP_FAILED: the network path of the health check is open, so the application
//! answered wrong or too slowly. Quotes the target's health reason, the check and the grace
//! period when it is shorter than the time a new task needs to turn healthy.

use super::stop_view::StopView;
use super::{health_check_az_not_enabled, health_check_blocked, health_check_port_not_mapped};
use crate::domain::hop::Hop;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "HEALTH_CHECK_APP_FAILED",
    severity: Severity::Medium,
    hop: Hop::Application,
    cause: Cause::Conflict,
    title: "The network lets the health checks through: the application failed them",
    remediation: "Make the application answer the health-check path with a code the matcher \
                  accepts within the timeout (check the container's logs), or align the check \
                  with it (aws elbv2 modify-target-group --health-check-path / --matcher / \
                  --health-check-timeout-seconds); give slow starters a longer \
                  healthCheckGracePeriodSeconds (aws ecs update-service).",
};

/// Evaluates the rule: only when every network hop of the check is open.
pub fn check(view: &StopView<'_>) -> RuleResult {
    let Some(h) = view.health() else {
        return Ok(Outcome::NotApplicable);
    };
    for network in [
        health_check_port_not_mapped::check,
        health_check_az_not_enabled::check,
        health_check_blocked::check,
    ] {
        if matches!(network(view)?, Outcome::Fail(_)) {
            return Ok(Outcome::NotApplicable); // the network explains it
        }
    }
    let group = view.target_group(h)?;
    let hc = &group.health_check;
    let port = view
        .health_check_port(h)?
        .map_or("the traffic port".into(), |p| p.to_string());
    let protocol = hc.protocol.as_deref().unwrap_or("HTTP");
    let mut what = format!("{protocol} {}", port);
    if let Some(path) = hc.path.as_deref().filter(|_| protocol.starts_with("HTTP")) {
        what.push_str(&format!(" {path}"));
    }
    if let Some(matcher) = hc.matcher.as_deref() {
        what.push_str(&format!(" expecting {matcher}"));
    }
    if let Some(timeout) = hc.timeout_seconds {
        what.push_str(&format!(" within {timeout} s"));
    }
    let health = match view.target_health(h) {
        Ok(Some(t)) => format!(
            " The target reported {}{}.",
            t.reason.as_deref().unwrap_or("no reason"),
            t.description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        _ => String::new(),
    };
    let to_healthy = hc
        .interval_seconds
        .zip(hc.healthy_threshold)
        .map(|(i, n)| i * n);
    let grace = view.service()?.and_then(|s| s.health_check_grace_period);
    let grace_note = match (grace, to_healthy) {
        (Some(g), Some(t)) if g < t => format!(
            " The service's health-check grace period ({g} s) is shorter than the {t} s a new task needs to turn healthy (interval × healthy threshold)."
        ),
        (None, Some(t)) => format!(
            " The service has no health-check grace period; a new task needs {t} s to turn healthy (interval × healthy threshold)."
        ),
        _ => String::new(),
    };
    Ok(Outcome::Fail(RULE.finding(format!(
        "The network path is open, so the application failed the health check of target group {} ({what}).{health}{grace_note}",
        group.name
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::HealthCheckPort;
    use crate::domain::rules::fixture::tcp;
    use crate::domain::rules::stop_fixture::*;

    #[test]
    fn table() {
        let mut blocked = health_kill();
        group(&mut blocked, "sg-task").ingress = vec![tcp(80, &[], &["sg-lb"])];
        let mut unmapped = health_kill();
        target_group(&mut unmapped).health_check.port = HealthCheckPort::Port(9999);
        let mut short_grace = health_kill();
        service(&mut short_grace).health_check_grace_period = Some(10);
        let cases = [
            (
                "open path",
                health_kill(),
                Some((Severity::Medium, "HTTP 3000 /health expecting 200 within 5 s). The target reported Target.ResponseCodeMismatch")),
            ),
            (
                "short grace period",
                short_grace,
                Some((Severity::Medium, "grace period (10 s) is shorter than the 60 s")),
            ),
            ("network blocked", blocked, None),
            ("port not mapped", unmapped, None),
            ("start failure", image_pull_private(), None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, check), want);
        }
    }
}
