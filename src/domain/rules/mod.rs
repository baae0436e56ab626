//! Rules as data (id, severity, message, remediation) plus one small pure function per rule,
//! one rule per file, each with its own table of tests.

use serde::Serialize;

use super::event::{EniAttachment, TaskEvent};
use super::facts::{PortMapping, TaskDefinition, TaskFacts, Unreadable};

pub mod awsvpc_ec2_public_no_inbound;
pub mod check_incomplete;

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

/// A rule's static description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable identifier, e.g. `AWSVPC_EC2_PUBLIC_NO_INBOUND`.
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// One-line title.
    pub title: &'static str,
    /// How to fix what it finds.
    pub remediation: &'static str,
}

impl Rule {
    /// A finding of this rule with a task-specific message.
    pub fn finding(&self, message: String) -> Finding {
        Finding {
            rule: self.id,
            severity: self.severity,
            message,
            remediation: self.remediation.to_string(),
        }
    }
}

/// Every rule this checker knows, for documentation and listing.
pub const ALL_RULES: &[Rule] = &[awsvpc_ec2_public_no_inbound::RULE, check_incomplete::RULE];

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
}

impl Outcome {
    /// The status this outcome contributes.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Pass(_) => Status::Compliant,
            Outcome::Fail(f) if f.severity == Severity::High => Status::NonCompliant,
            Outcome::Fail(_) => Status::Compliant,
            Outcome::Incomplete(_) => Status::InsufficientData,
        }
    }
}

/// A RUNNING, EC2, awsvpc task that maps at least one port: what the rules evaluate.
#[derive(Debug, Clone, Copy)]
pub struct InScopeTask<'a> {
    /// The event.
    pub event: &'a TaskEvent,
    /// The ENI named by the event.
    pub attachment: &'a EniAttachment,
    /// The task definition (awsvpc).
    pub task_definition: &'a TaskDefinition,
    /// Everything read from AWS.
    pub facts: &'a TaskFacts,
}

impl InScopeTask<'_> {
    /// The mapped ports (non-empty for an in-scope task).
    pub fn ports(&self) -> &[PortMapping] {
        &self.task_definition.port_mappings
    }
}

/// Runs every task rule on an in-scope task.
pub fn run_all(task: &InScopeTask<'_>) -> Vec<Outcome> {
    vec![awsvpc_ec2_public_no_inbound::check(task)]
}
