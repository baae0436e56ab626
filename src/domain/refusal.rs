//! The verdict on a trigger whose facts cannot be read at all in organisation mode: an account
//! off the allow-list is NOT_APPLICABLE ("account not enrolled", no AWS call), a member role
//! that cannot be assumed INSUFFICIENT_DATA naming the role.

use time::OffsetDateTime;

use super::diagnosis::{deployment_of, evaluate_service_event, stop_context};
use super::evaluation::Evaluation;
use super::event::Trigger;
use super::facts::Unreadable;
use super::rules::check_incomplete;
use super::verdict::Status;

/// Why a trigger's facts were not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAccess {
    /// The account is not on the allow-list.
    NotEnrolled(String),
    /// The member role could not be assumed.
    Denied(Unreadable),
}

impl NoAccess {
    fn note(&self) -> String {
        match self {
            NoAccess::NotEnrolled(account) => format!(
                "account {account} is not enrolled (not in MEMBER_ACCOUNTS): its facts are not read"
            ),
            NoAccess::Denied(u) => format!("Incomplete: {u}"),
        }
    }
}

/// The verdict on `trigger` when its facts cannot be read (an out-of-scope trigger needs none:
/// its own verdict).
pub fn verdict_without_access(trigger: &Trigger, why: &NoAccess, at: OffsetDateTime) -> Evaluation {
    let mut e = match trigger {
        Trigger::OutOfScope(o) => return Evaluation::out_of_scope(o, at),
        Trigger::RunningTask(event) => Evaluation::task_not_applicable(event, at, ""),
        Trigger::StoppedTask(stop) => {
            let mut e = Evaluation::task_not_applicable(&stop.event, at, "");
            e.stop = Some(stop_context(stop, deployment_of(&stop.event.task, None)));
            e
        }
        Trigger::Service(event) => evaluate_service_event(event, None, None, at),
    };
    e.annotation = super::text::ellipsize(&why.note(), super::evaluation::MAX_ANNOTATION_CHARS);
    match why {
        NoAccess::NotEnrolled(_) => {
            e.compliance = Status::NotApplicable;
            e.findings.clear();
        }
        NoAccess::Denied(u) => {
            e.compliance = Status::InsufficientData;
            e.findings = vec![check_incomplete::finding(u)];
        }
    }
    e
}

/// The verdict on a whole account an audit could not read: one line instead of its tasks.
pub fn account_verdict(
    account: &str,
    region: Option<&str>,
    why: &NoAccess,
    at: OffsetDateTime,
) -> Evaluation {
    let (compliance, findings) = match why {
        NoAccess::NotEnrolled(_) => (Status::NotApplicable, vec![]),
        NoAccess::Denied(u) => (Status::InsufficientData, vec![check_incomplete::finding(u)]),
    };
    Evaluation {
        resource_type: "AWS::::Account",
        resource_id: account.to_string(),
        compliance,
        annotation: super::text::ellipsize(&why.note(), super::evaluation::MAX_ANNOTATION_CHARS),
        evaluated_at: super::text::rfc3339(at),
        event_id: None,
        findings,
        suppressed: None,
        context: Some(super::evaluation::TaskContext {
            account: Some(account.to_string()),
            region: region.map(str::to_string),
            cluster: Some("-".into()),
            ..Default::default()
        }),
        stop: None,
        passed: vec![],
        path: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture;

    #[test]
    fn refusals_are_not_applicable_or_insufficient_data_naming_the_role() {
        let trigger = Trigger::RunningTask(Box::new(fixture::running_event().0));
        let at = OffsetDateTime::UNIX_EPOCH;
        let e = verdict_without_access(&trigger, &NoAccess::NotEnrolled("111111111111".into()), at);
        assert_eq!(e.compliance, Status::NotApplicable);
        assert!(e
            .annotation
            .contains("account 111111111111 is not enrolled"));
        let denied = Unreadable {
            api: crate::domain::api::STS_ASSUME_ROLE,
            reason: "cannot assume arn:aws:iam::111111111111:role/reader: AccessDenied: no".into(),
        };
        let e = verdict_without_access(&trigger, &NoAccess::Denied(denied), at);
        assert_eq!(e.compliance, Status::InsufficientData);
        assert_eq!(e.findings[0].rule, "CHECK_INCOMPLETE");
        assert!(e.annotation.contains("role/reader"), "{}", e.annotation);
    }
}
