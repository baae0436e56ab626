//! HEALTH_CHECK_AZ_NOT_ENABLED: a target in an Availability Zone the load balancer does not
//! enable gets no traffic and is reported `unused` (Target.NotInUse): its task never turns
//! healthy and ECS replaces it.

use super::stop_view::StopView;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "HEALTH_CHECK_AZ_NOT_ENABLED",
    severity: Severity::High,
    hop: Hop::TargetGroup,
    cause: Cause::Conflict,
    title: "The task's Availability Zone is not enabled on the load balancer",
    remediation: "Enable the task subnet's Availability Zone on the load balancer (aws elbv2 \
                  set-subnets --load-balancer-arn <lb> --subnets <one public subnet per AZ>), or \
                  place the service's tasks only in subnets of enabled zones.",
};

/// Evaluates the rule.
pub fn check(view: &StopView<'_>) -> RuleResult {
    let Some(h) = view.health() else {
        return Ok(Outcome::NotApplicable);
    };
    let (net, subnets, balancers) = (
        view.task_network()?,
        view.subnets(h)?,
        view.load_balancers(h)?,
    );
    let az_of = |id: &str| {
        subnets
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.availability_zone.as_deref())
    };
    let Some(task_az) = az_of(&net.subnet_id) else {
        return Ok(Outcome::NotApplicable); // the zone is unknown: nothing to compare
    };
    let mut off = Vec::new();
    for lb in balancers {
        let zones: Vec<&str> = lb.subnet_ids.iter().filter_map(|s| az_of(s)).collect();
        if !zones.is_empty() && !zones.contains(&task_az) {
            off.push(format!("{} (zones {})", lb.name, list(zones)));
        }
    }
    if off.is_empty() {
        return Ok(Outcome::Pass(format!(
            "{task_az} is enabled on the load balancers"
        )));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "The task ran in {task_az} (subnet {}), which {} does not enable: the target is unused (Target.NotInUse), never healthy, and ECS stops it. Fix: aws elbv2 set-subnets --load-balancer-arn {} --subnets <its subnets plus one in {task_az}>",
        net.subnet_id,
        list(&off),
        balancers.first().map_or("<lb>", |b| b.arn.as_str()),
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::stop_fixture::*;

    #[test]
    fn table() {
        let mut elsewhere = health_kill();
        subnet(&mut elsewhere, "subnet-task").availability_zone = Some("us-east-1c".into());
        let mut unknown = health_kill();
        subnet(&mut unknown, "subnet-task").availability_zone = None;
        let cases = [
            ("zone enabled", health_kill(), None),
            (
                "zone not enabled",
                elsewhere,
                Some((Severity::High, "ran in us-east-1c (subnet subnet-task)")),
            ),
            ("zone unknown", unknown, None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, check), want);
        }
    }
}
