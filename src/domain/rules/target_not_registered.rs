//! TARGET_NOT_REGISTERED (INFO): the task IP is not (yet) a registered target.

use super::support::{lb_parts, list};
use super::{InScopeTask, Outcome, Rule, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "TARGET_NOT_REGISTERED",
    severity: Severity::Info,
    title: "The task's IP is not (yet) registered in the target group",
    remediation: "Registration can lag the RUNNING state by seconds; if it persists, check the \
                  service events (aws ecs describe-services) for registration errors.",
};

/// Evaluates the rule.
pub fn check(task: &InScopeTask<'_>) -> Outcome {
    let parts = match lb_parts(task) {
        None => return Outcome::NotApplicable,
        Some(Err(u)) => return Outcome::Incomplete(u),
        Some(Ok(p)) => p,
    };
    let Some(Ok(registered)) = task
        .facts
        .load_balancer_path
        .as_ref()
        .map(|p| p.registered_in.as_result())
    else {
        // Registration is advisory: an unreadable target health never blocks a verdict.
        return Outcome::NotApplicable;
    };
    let missing: Vec<&str> = parts
        .mapped_groups()
        .map(|(_, g)| g)
        .filter(|g| g.target_type == "ip" && !registered.contains(&g.arn))
        .map(|g| g.name.as_str())
        .collect();
    if missing.is_empty() {
        return Outcome::NotApplicable;
    }
    Outcome::Fail(RULE.finding(format!(
        "The task IP {} is not (yet) a registered target of {}.",
        task.attachment.private_ipv4_address.as_deref().unwrap_or("?"),
        list(missing)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::support::fixture::*;

    #[test]
    fn table() {
        let mut unregistered = valid();
        known(&mut path(&mut unregistered).registered_in).clear();
        expect("registered", &run(&valid(), check), None);
        expect(
            "not registered",
            &run(&unregistered, check),
            Some((
                Severity::Info,
                "10.0.3.7 is not (yet) a registered target of web",
            )),
        );
    }
}
