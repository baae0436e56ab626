//! CHECK_INCOMPLETE: a fact the verdict needs could not be read (INSUFFICIENT_DATA).

use crate::domain::facts::Unreadable;
use crate::domain::hop::Hop;
use crate::domain::verdict::{Cause, Finding, Rule, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "CHECK_INCOMPLETE",
    severity: Severity::Info,
    hop: Hop::Whole,
    cause: Cause::Missing,
    title: "The inbound-path check could not read everything it needs",
    remediation: "Grant the checker's role the named read permission (docs/operations.md lists every permission) \
                  and check that the resource still exists; the task is evaluated again on its \
                  next state change, or run `ecs-inbound-guard check` by hand.",
};

/// The finding for an unreadable fact.
pub fn finding(unreadable: &Unreadable) -> Finding {
    RULE.finding(format!(
        "The check is incomplete: {} could not be read ({}). No verdict is guessed.",
        unreadable.api, unreadable.reason
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_api_and_the_reason() {
        let f = finding(&Unreadable {
            api: crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
            reason: "AccessDenied: not authorized".into(),
        });
        assert_eq!(f.rule, "CHECK_INCOMPLETE");
        assert_eq!(f.severity, Severity::Info);
        assert!(f
            .message
            .contains(crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES));
        assert!(f.message.contains("AccessDenied"));
    }
}
