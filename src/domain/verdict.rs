//! The vocabulary every rule speaks: a rule's metadata, its findings and their severity, the
//! outcome of one rule, and the AWS Config-style status they combine into.

use serde::Serialize;

use super::facts::Unreadable;

/// Severity of a finding. HIGH makes a task NON_COMPLIANT; the others are advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// Breaks the inbound path.
    High,
    /// Likely to bite next.
    Medium,
    /// Worth knowing.
    Low,
    /// Information only.
    Info,
}

impl std::str::FromStr for Severity {
    type Err = String;

    /// Parses HIGH, MEDIUM, LOW or INFO in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HIGH" => Ok(Severity::High),
            "MEDIUM" => Ok(Severity::Medium),
            "LOW" => Ok(Severity::Low),
            "INFO" => Ok(Severity::Info),
            other => Err(format!(
                "unknown severity '{other}' (HIGH, MEDIUM, LOW or INFO)"
            )),
        }
    }
}

impl Severity {
    /// The upper-case spelling used in JSON and SNS attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Info => "INFO",
        }
    }
}

/// What a rule's findings come from. A check before the deploy (the CloudFormation hook) runs
/// while the stack may still be creating the service's neighbours in parallel: a finding that
/// something is *missing* may be "not there yet", one that something existing *conflicts* is
/// final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Something is absent that another resource adds: a route, a security-group or ACL rule,
    /// a listener, a VPC endpoint (or a fact that could not be read).
    Missing,
    /// Something that exists contradicts the path: a subnet, a launch type, a port mapping, a
    /// target type, a scheme, a VPC attribute. Adding resources does not fix it.
    Conflict,
}

/// A rule's static description: the data half of a rule (the other half is its check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable identifier, e.g. `AWSVPC_EC2_PUBLIC_NO_INBOUND`.
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// The hop of the path it judges.
    pub hop: super::hop::Hop,
    /// Whether its findings say something is missing or something conflicts.
    pub cause: Cause,
    /// One-line title.
    pub title: &'static str,
    /// How to fix what it finds.
    pub remediation: &'static str,
}

impl Rule {
    /// A finding of this rule with a task-specific message.
    pub fn finding(&self, message: String) -> Finding {
        self.finding_with(self.severity, message)
    }

    /// A finding with a severity other than the rule's default (e.g. a partial breakage).
    pub fn finding_with(&self, severity: Severity, message: String) -> Finding {
        Finding {
            rule: self.id,
            severity,
            message,
            remediation: self.remediation.to_string(),
        }
    }
}

/// One finding: a rule that fired on a task, with the task-specific explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Rule id.
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What is wrong with this task, and why.
    pub message: String,
    /// How to fix it.
    pub remediation: String,
}

/// AWS Config-style compliance of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// In scope and fine.
    Compliant,
    /// In scope and broken (a HIGH finding).
    NonCompliant,
    /// Out of scope.
    NotApplicable,
    /// A needed fact could not be read: no verdict is guessed.
    InsufficientData,
}

impl Status {
    /// The Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Compliant => "COMPLIANT",
            Status::NonCompliant => "NON_COMPLIANT",
            Status::NotApplicable => "NOT_APPLICABLE",
            Status::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    fn weight(self) -> u8 {
        match self {
            Status::NotApplicable => 0,
            Status::Compliant => 1,
            Status::InsufficientData => 2,
            Status::NonCompliant => 3,
        }
    }

    /// Combines two statuses: the worse one wins
    /// (NON_COMPLIANT > INSUFFICIENT_DATA > COMPLIANT > NOT_APPLICABLE).
    pub fn and(self, other: Status) -> Status {
        if other.weight() > self.weight() {
            other
        } else {
            self
        }
    }
}

/// The outcome of one rule on one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The rule holds; the reason explains why (used in the annotation).
    Pass(String),
    /// The rule fired.
    Fail(Finding),
    /// A fact the rule needs could not be read.
    Incomplete(Unreadable),
    /// The rule does not apply to this task (e.g. an LB rule for a task without LB).
    NotApplicable,
}

impl Outcome {
    /// The status this outcome contributes.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Pass(_) => Status::Compliant,
            Outcome::Fail(f) if f.severity == Severity::High => Status::NonCompliant,
            Outcome::Fail(_) => Status::Compliant,
            Outcome::Incomplete(_) => Status::InsufficientData,
            Outcome::NotApplicable => Status::NotApplicable,
        }
    }
}

/// What a rule's check returns: an outcome, or the unreadable fact that kept it from one
/// (`?` on a view accessor). The engine turns the error into one CHECK_INCOMPLETE per IAM action.
pub type RuleResult = Result<Outcome, Unreadable>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_picks_the_worst() {
        use Status::*;
        assert_eq!(NotApplicable.and(Compliant), Compliant);
        assert_eq!(Compliant.and(InsufficientData), InsufficientData);
        assert_eq!(InsufficientData.and(NonCompliant), NonCompliant);
        assert_eq!(NonCompliant.and(Compliant), NonCompliant);
    }

    #[test]
    fn severity_parses_in_any_case() {
        assert_eq!("medium".parse::<Severity>(), Ok(Severity::Medium));
        assert!("urgent".parse::<Severity>().is_err());
    }
}
