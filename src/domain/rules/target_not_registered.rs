//! TARGET_NOT_REGISTERED (INFO): the task IP is not (yet) a registered target.

use super::view::LbView;
use crate::domain::facts::TargetType;
use crate::domain::hop::Hop;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "TARGET_NOT_REGISTERED",
    severity: Severity::Info,
    hop: Hop::TargetGroup,
    cause: Cause::Missing,
    title: "The task's IP is not (yet) registered in the target group",
    remediation: "Registration can lag the RUNNING state by seconds; if it persists, check the \
                  service events (aws ecs describe-services) for registration errors.",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let Ok(registered) = view.registered_in() else {
        // Registration is advisory: an unreadable target health never blocks a verdict.
        return Ok(Outcome::NotApplicable);
    };
    let missing: Vec<&str> = view
        .mapped_groups()
        .map(|(_, g)| g)
        .filter(|g| g.target_type == TargetType::Ip && !registered.contains(&g.arn))
        .map(|g| g.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(Outcome::NotApplicable);
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "The task IP {} is not (yet) a registered target of {}.",
        view.task.attachment.private_ipv4_address.as_deref().unwrap_or("?"),
        list(missing)
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut unregistered = valid();
        known(&mut path(&mut unregistered).registered_in).clear();
        expect(
            "registered",
            &run(&valid(), Check::LoadBalancer(check)),
            None,
        );
        expect(
            "not registered",
            &run(&unregistered, Check::LoadBalancer(check)),
            Some((
                Severity::Info,
                "10.0.3.7 is not (yet) a registered target of web",
            )),
        );
    }
}
