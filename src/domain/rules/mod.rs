//! Rules as data (id, severity, message, remediation) plus one small pure function per rule,
//! one rule per file, each with its own table of tests.

use serde::Serialize;

use super::event::{EniAttachment, TaskEvent};
use super::facts::{PortMapping, TaskDefinition, TaskFacts, Unreadable};

pub mod awsvpc_ec2_public_no_egress;
pub mod awsvpc_ec2_public_no_inbound;
pub mod check_incomplete;
pub mod lb_container_port_not_mapped;
pub mod lb_internal_only;
pub mod lb_no_listener;
pub mod lb_sg_blocks_egress;
pub mod lb_sg_blocks_listener;
pub mod lb_subnets_not_public;
pub mod lb_target_type_not_ip;
pub mod lb_vpc_mismatch;
pub mod nacl_blocks_inbound;
pub mod port_not_behind_lb;
pub mod sg_blocks_lb_traffic;
pub mod support;
pub mod target_not_registered;

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

/// A rule's check function.
pub type Check = fn(&InScopeTask<'_>) -> Outcome;

/// Every task rule with its check, in the order of the inbound path's hops (the first broken
/// hop is reported first): direct path, then target group → listener → load balancer subnets →
/// load balancer SGs → task SGs → NACL, then advisories.
pub const TASK_RULES: &[(Rule, Check)] = &[
    (
        awsvpc_ec2_public_no_inbound::RULE,
        awsvpc_ec2_public_no_inbound::check,
    ),
    (lb_target_type_not_ip::RULE, lb_target_type_not_ip::check),
    (
        lb_container_port_not_mapped::RULE,
        lb_container_port_not_mapped::check,
    ),
    (lb_vpc_mismatch::RULE, lb_vpc_mismatch::check),
    (lb_no_listener::RULE, lb_no_listener::check),
    (lb_subnets_not_public::RULE, lb_subnets_not_public::check),
    (lb_sg_blocks_listener::RULE, lb_sg_blocks_listener::check),
    (lb_sg_blocks_egress::RULE, lb_sg_blocks_egress::check),
    (sg_blocks_lb_traffic::RULE, sg_blocks_lb_traffic::check),
    (nacl_blocks_inbound::RULE, nacl_blocks_inbound::check),
    (
        awsvpc_ec2_public_no_egress::RULE,
        awsvpc_ec2_public_no_egress::check,
    ),
    (lb_internal_only::RULE, lb_internal_only::check),
    (target_not_registered::RULE, target_not_registered::check),
    (port_not_behind_lb::RULE, port_not_behind_lb::check),
];

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

/// Runs every task rule on an in-scope task, in hop order.
pub fn run_all(task: &InScopeTask<'_>) -> Vec<Outcome> {
    TASK_RULES.iter().map(|(_, check)| check(task)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_documented() {
        let mut ids: Vec<&str> = TASK_RULES.iter().map(|(r, _)| r.id).collect();
        ids.push(check_incomplete::RULE.id);
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate rule id");
        let readme = include_str!("../../../README.md");
        for id in ids {
            assert!(readme.contains(id), "README does not document {id}");
        }
        for (rule, _) in TASK_RULES {
            assert!(
                !rule.remediation.is_empty() && !rule.title.is_empty(),
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn the_valid_alb_fixture_passes_every_rule() {
        let facts = support::fixture::valid();
        for (rule, check) in TASK_RULES {
            let outcome = support::fixture::run(&facts, *check);
            assert!(
                matches!(outcome, Outcome::Pass(_) | Outcome::NotApplicable),
                "{}: {outcome:?}",
                rule.id
            );
        }
    }
}
