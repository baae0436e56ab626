//! The Evaluation: the stable JSON verdict printed by the CLI and returned by the Lambda.

use crate::domain::api;
use serde::Serialize;

use time::OffsetDateTime;

use super::event::{OutOfScope, TaskEvent, TASK_RESOURCE_TYPE};
use super::facts::{Fact, NetworkMode, TaskFacts, Unreadable};
use super::rules::{self, check_incomplete, TaskView};
use super::task::{EniAttachment, LaunchType};
use super::text::{ellipsize, rfc3339};
use super::verdict::{Finding, Outcome, Rule, Severity, Status};

/// AWS Config's limit for an annotation.
pub const MAX_ANNOTATION_CHARS: usize = 256;

/// Context that helps a human find the task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskContext {
    /// The account of the task (from its ARN), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region of the task (from its ARN), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Cluster name.
    pub cluster: Option<String>,
    /// Cluster ARN.
    pub cluster_arn: Option<String>,
    /// Service name (absent for standalone tasks).
    pub service: Option<String>,
    /// Task definition ARN.
    pub task_definition: Option<String>,
    /// EC2, FARGATE, EXTERNAL.
    pub launch_type: Option<String>,
    /// Network mode from the task definition.
    pub network_mode: Option<String>,
    /// `ecs-svc/<deployment id>` or who started the task.
    pub started_by: Option<String>,
    /// `detail.version` of the event.
    pub task_version: Option<i64>,
    /// Task ENI.
    pub eni: Option<String>,
    /// Task subnet.
    pub subnet: Option<String>,
    /// Task VPC.
    pub vpc: Option<String>,
    /// Route table in force for the subnet.
    pub route_table: Option<String>,
    /// Task private IPv4.
    pub private_ip: Option<String>,
    /// Host EC2 instance.
    pub host_instance_id: Option<String>,
    /// Host public IPv4.
    pub host_public_ip: Option<String>,
    /// Mapped ports, e.g. `3000/tcp`.
    pub ports: Vec<String>,
    /// Target groups of the service's load-balancer path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<String>,
}

/// A verdict on one resource, in AWS Config vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// `AWS::ECS::Task`, or the event's type for out-of-scope events.
    pub resource_type: &'static str,
    /// Task ARN, or `resources[0]` / the event id for other events.
    pub resource_id: String,
    /// COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA.
    pub compliance: Status,
    /// At most 256 characters, ready for Config's PutEvaluations.
    pub annotation: String,
    /// RFC 3339 time of the evaluation.
    pub evaluated_at: String,
    /// EventBridge event id.
    pub event_id: Option<String>,
    /// One finding per rule that fired.
    pub findings: Vec<Finding>,
    /// Rule ids (or `all`) suppressed by the tag `ecs-inbound-guard:ignore` on the service or
    /// task definition: still evaluated and reported, never alerted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Vec<String>>,
    /// Task context (absent for events that are not task events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<TaskContext>,
    /// For a stop diagnosis: what happened (kind, reason, deployment, stopped task).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<crate::domain::stop::StopContext>,
    /// The path judged, hop by hop, in order (absent when no path was judged).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<crate::domain::path::PathHop>,
    /// The rules that held, each with why (the CloudFormation hook's PASSED annotations); not
    /// part of the Evaluation JSON, whose findings list only what fired.
    #[serde(skip)]
    pub passed: Vec<(&'static str, String)>,
}

/// A Config-ready annotation: at most 256 characters, ending in "..." when cut.
fn annotation(text: &str) -> String {
    ellipsize(text, MAX_ANNOTATION_CHARS)
}

impl Evaluation {
    /// NOT_APPLICABLE for a well-formed event that is not a RUNNING task event.
    pub fn out_of_scope(o: &OutOfScope, at: OffsetDateTime) -> Self {
        Evaluation {
            resource_type: o.resource_type,
            resource_id: o.resource_id.clone(),
            compliance: Status::NotApplicable,
            annotation: annotation(&o.reason),
            evaluated_at: rfc3339(at),
            event_id: o.event_id.clone(),
            findings: vec![],
            suppressed: None,
            context: None,
            stop: None,
            path: vec![],
            passed: vec![],
        }
    }

    pub(crate) fn for_task(
        event: &TaskEvent,
        at: OffsetDateTime,
        compliance: Status,
        note: &str,
        findings: Vec<Finding>,
    ) -> Self {
        Evaluation {
            resource_type: TASK_RESOURCE_TYPE,
            resource_id: event.task.task_arn.clone(),
            compliance,
            annotation: annotation(note),
            evaluated_at: rfc3339(at),
            event_id: event.event_id.clone(),
            findings,
            suppressed: None,
            context: Some(base_context(event)),
            stop: None,
            path: vec![],
            passed: vec![],
        }
    }

    /// NOT_APPLICABLE for a RUNNING task that is out of scope (Fargate, bridge, no ports...).
    pub fn task_not_applicable(event: &TaskEvent, at: OffsetDateTime, reason: &str) -> Self {
        Self::for_task(event, at, Status::NotApplicable, reason, vec![])
    }

    /// INSUFFICIENT_DATA with a CHECK_INCOMPLETE finding.
    pub fn task_incomplete(event: &TaskEvent, at: OffsetDateTime, unreadable: &Unreadable) -> Self {
        Self::for_task(
            event,
            at,
            Status::InsufficientData,
            &format!("Incomplete: {unreadable}"),
            vec![check_incomplete::finding(unreadable)],
        )
    }

    /// Also suppresses what the tag value `value` names (a tag known before the resource
    /// exists: a CloudFormation template's).
    pub fn suppress(&mut self, value: &str) {
        merge_waived(&mut self.suppressed, value);
    }

    /// Whether the suppression tag covers `rule`.
    pub fn is_suppressed(&self, rule: &str) -> bool {
        self.suppressed
            .as_ref()
            .is_some_and(|s| s.iter().any(|r| r.eq_ignore_ascii_case("all") || r == rule))
    }

    /// Findings that would be alerted: not CHECK_INCOMPLETE, not suppressed, at `min` severity
    /// or above. A stop diagnosis publishes every finding whatever `min` is: a service killing
    /// its tasks is always news.
    pub fn published_findings(&self, min: Severity) -> impl Iterator<Item = &Finding> {
        let min = if self.stop.is_some() {
            Severity::Info
        } else {
            min
        };
        self.findings.iter().filter(move |f| {
            f.rule != check_incomplete::RULE.id && f.severity <= min && !self.is_suppressed(f.rule)
        })
    }
}

fn base_context(event: &TaskEvent) -> TaskContext {
    let t = &event.task;
    let attachment = t.eni_attachment();
    // From the ARN only: the envelope's account may be a forwarder's.
    let arn = crate::domain::org::Arn::parse(&t.task_arn);
    TaskContext {
        account: arn.and_then(|a| a.account_id()).map(Into::into),
        region: arn.and_then(|a| a.region_name()).map(Into::into),
        cluster: t.cluster_name().map(Into::into),
        cluster_arn: t.cluster_arn.clone(),
        service: t.service_name().map(Into::into),
        task_definition: t.task_definition_arn.clone(),
        launch_type: t.launch_type().map(|l| l.as_str().to_string()),
        started_by: t.started_by.clone(),
        task_version: t.version,
        eni: attachment.as_ref().map(|a| a.network_interface_id.clone()),
        subnet: attachment.as_ref().and_then(|a| a.subnet_id.clone()),
        private_ip: attachment.and_then(|a| a.private_ipv4_address),
        ..TaskContext::default()
    }
}

pub(crate) fn enrich_context(ctx: &mut TaskContext, facts: &TaskFacts) {
    if let Some(td) = facts.task_definition.known() {
        ctx.network_mode = Some(td.effective_network_mode().as_str().to_string());
        ctx.ports = td.port_mappings.iter().map(ToString::to_string).collect();
    }
    if let Some(eni) = facts.eni.known() {
        ctx.subnet = Some(eni.subnet_id.clone());
        ctx.vpc = Some(eni.vpc_id.clone());
        ctx.private_ip = eni.private_ip.clone().or(ctx.private_ip.take());
    }
    if let Some(rt) = facts.route_table.known() {
        ctx.route_table = Some(rt.id.clone());
    }
    if let Some(host) = facts.host.known() {
        ctx.host_instance_id = Some(host.instance_id.clone());
        ctx.host_public_ip = host.public_ip.clone();
    }
    if let Some(groups) = facts
        .load_balancer_path
        .as_ref()
        .and_then(|p| p.target_groups.known())
    {
        ctx.target_groups = groups.iter().map(|g| g.arn.clone()).collect();
    }
}

/// Rule ids from the `ecs-inbound-guard:ignore` tag of the task definition and the service.
pub(crate) fn suppression(facts: &TaskFacts) -> Option<Vec<String>> {
    let td = facts
        .task_definition
        .known()
        .and_then(|t| t.ignore_tag.as_deref());
    let svc = facts
        .service
        .as_ref()
        .and_then(|s| s.known())
        .and_then(|s| s.ignore_tag.as_deref());
    let mut e = None;
    for value in [td, svc].into_iter().flatten() {
        merge_waived(&mut e, value);
    }
    e
}

/// The rule ids an `ecs-inbound-guard:ignore` tag value names ("A, B" or "all").
pub fn tag_rule_ids(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
}

/// Adds the rule ids of the tag value to a suppression list (sorted, each once).
fn merge_waived(suppressed: &mut Option<Vec<String>>, value: &str) {
    let mut ids: Vec<String> = suppressed.take().unwrap_or_default();
    ids.extend(tag_rule_ids(value));
    ids.sort();
    ids.dedup();
    *suppressed = (!ids.is_empty()).then_some(ids);
}

/// The verdict a RUNNING task event gets before any fact is read, if the event alone decides
/// it (a launch type out of scope, a task that cannot be placed): no AWS call, not even loading
/// the SDK configuration, is made for it.
pub fn verdict_before_reading(event: &TaskEvent, at: OffsetDateTime) -> Option<Evaluation> {
    if event
        .task
        .desired_status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("STOPPED"))
    {
        return Some(Evaluation::task_not_applicable(
            event,
            at,
            "the task is being stopped (desiredStatus STOPPED)",
        ));
    }
    match event.task.launch_type() {
        Some(LaunchType::Ec2 | LaunchType::Fargate | LaunchType::ManagedInstances) => None,
        Some(LaunchType::External) => Some(Evaluation::task_not_applicable(
            event,
            at,
            "launch type EXTERNAL (ECS Anywhere): the task is not in a VPC",
        )),
        None => Some(Evaluation::task_incomplete(
            event,
            at,
            &Unreadable {
                api: api::ECS_TASK_STATE_CHANGE,
                reason: "the event names neither a launch type nor a container instance".into(),
            },
        )),
    }
}

/// Evaluates a RUNNING EC2 task from its facts: scope (network mode, ports, ENI), then rules.
pub fn evaluate_task(
    event: &TaskEvent,
    attachment: Option<&EniAttachment>,
    facts: &TaskFacts,
    at: OffsetDateTime,
) -> Evaluation {
    let mut evaluation = decide(event, attachment, facts, at);
    if let Some(ctx) = evaluation.context.as_mut() {
        enrich_context(ctx, facts);
    }
    evaluation.suppressed = suppression(facts);
    evaluation
}

fn decide(
    event: &TaskEvent,
    attachment: Option<&EniAttachment>,
    facts: &TaskFacts,
    at: OffsetDateTime,
) -> Evaluation {
    let task_definition = match &facts.task_definition {
        Fact::Known(td) => td,
        Fact::Unknown(u) => return Evaluation::task_incomplete(event, at, u),
    };
    let mode = task_definition.effective_network_mode();
    if mode != NetworkMode::Awsvpc {
        return Evaluation::task_not_applicable(
            event,
            at,
            &format!("network mode {mode}: the task uses the instance's network interface"),
        );
    }
    if task_definition.port_mappings.is_empty() {
        return Evaluation::task_not_applicable(
            event,
            at,
            "awsvpc task maps no container port: nothing to reach",
        );
    }
    let Some(attachment) = attachment else {
        return Evaluation::task_incomplete(
            event,
            at,
            &Unreadable {
                api: api::ECS_TASK_STATE_CHANGE,
                reason: "the RUNNING awsvpc task's event carries no ENI attachment".into(),
            },
        );
    };
    let task = TaskView {
        event,
        attachment,
        task_definition,
        facts,
    };
    let outcomes = rules::run_each(&task);
    let path = crate::domain::path::running_path(&task, &outcomes);
    let passed = passed(&outcomes);
    let mut evaluation = combine(event, at, rules::once_per_action(outcomes));
    evaluation.path = path;
    evaluation.passed = passed;
    evaluation
}

/// The rules that held, with their reasons.
pub(crate) fn passed(outcomes: &[(Rule, Outcome)]) -> Vec<(&'static str, String)> {
    outcomes
        .iter()
        .filter_map(|(rule, o)| match o {
            Outcome::Pass(reason) => Some((rule.id, reason.clone())),
            _ => None,
        })
        .collect()
}

/// Combines rule outcomes: the worst status wins; the annotation explains the worst outcome.
pub(crate) fn combine(event: &TaskEvent, at: OffsetDateTime, outcomes: Vec<Outcome>) -> Evaluation {
    let compliance = outcomes
        .iter()
        .fold(Status::NotApplicable, |acc, o| acc.and(o.status()));
    // The annotation explains the worst outcome; for COMPLIANT, the passing reason.
    let note = outcomes
        .iter()
        .find(|o| {
            o.status() == compliance
                && (compliance != Status::Compliant || matches!(o, Outcome::Pass(_)))
        })
        .map(|o| match o {
            Outcome::Pass(reason) => reason.clone(),
            Outcome::Fail(f) => format!("{}: {}", f.rule, f.message),
            Outcome::Incomplete(u) => format!("Incomplete: {u}"),
            Outcome::NotApplicable => "no rule applies".into(),
        })
        .unwrap_or_else(|| "no rule applies".into());
    let mut findings: Vec<Finding> = outcomes
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Pass(_) | Outcome::NotApplicable => None,
            Outcome::Fail(f) => Some(f),
            Outcome::Incomplete(u) => Some(check_incomplete::finding(&u)),
        })
        .collect();
    findings.sort_by_key(|f| f.severity);
    Evaluation::for_task(event, at, compliance, &note, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::*;
    use crate::domain::task::TaskDetail;

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_323_045).unwrap()
    }

    fn event() -> TaskEvent {
        TaskEvent {
            account: None,
            event_id: Some("ev".into()),
            region: None,
            task: TaskDetail {
                task_arn: "arn:task".into(),
                ..Default::default()
            },
        }
    }

    fn facts(mode: Option<&str>, ports: usize) -> TaskFacts {
        TaskFacts::without_network(
            Fact::Known(TaskDefinition {
                arn: "arn:td".into(),
                ignore_tag: None,
                network_mode: mode.map(NetworkMode::from_aws),
                port_mappings: (0..ports)
                    .map(|i| PortMapping {
                        container_name: "c".into(),
                        container_port: 3000 + i as i32,
                        last_port: 3000 + i as i32,
                        protocol: "tcp".into(),
                    })
                    .collect(),
                ..Default::default()
            }),
            Unreadable {
                api: "x",
                reason: "not read".into(),
            },
        )
    }

    #[test]
    fn scope_table() {
        let att = EniAttachment {
            network_interface_id: "eni-1".into(),
            ..Default::default()
        };
        let cases = [
            (facts(None, 1), Some(&att), Status::NotApplicable, "bridge"),
            (
                facts(Some("host"), 1),
                Some(&att),
                Status::NotApplicable,
                "host",
            ),
            (
                facts(Some("none"), 1),
                Some(&att),
                Status::NotApplicable,
                "none",
            ),
            (
                facts(Some("awsvpc"), 0),
                Some(&att),
                Status::NotApplicable,
                "maps no container port",
            ),
            (
                facts(Some("awsvpc"), 1),
                None,
                Status::InsufficientData,
                "no ENI attachment",
            ),
            (
                facts(Some("awsvpc"), 1),
                Some(&att),
                Status::InsufficientData,
                "not read",
            ),
        ];
        for (f, a, want, text) in cases {
            let e = evaluate_task(&event(), a, &f, at());
            assert_eq!(e.compliance, want, "{text}");
            assert!(e.annotation.contains(text), "{text}: {}", e.annotation);
            assert_eq!(e.resource_type, TASK_RESOURCE_TYPE);
            assert_eq!(e.resource_id, "arn:task");
        }
    }

    #[test]
    fn unreadable_task_definition_is_insufficient_data_with_check_incomplete() {
        let mut f = facts(Some("awsvpc"), 1);
        f.task_definition = Fact::Unknown(Unreadable {
            api: api::ECS_DESCRIBE_TASK_DEFINITION,
            reason: "AccessDeniedException".into(),
        });
        let e = evaluate_task(&event(), None, &f, at());
        assert_eq!(e.compliance, Status::InsufficientData);
        assert_eq!(e.findings.len(), 1);
        assert_eq!(e.findings[0].rule, "CHECK_INCOMPLETE");
        assert!(e.findings[0]
            .message
            .contains(api::ECS_DESCRIBE_TASK_DEFINITION));
    }

    #[test]
    fn annotation_is_capped_at_256_chars() {
        let o = OutOfScope {
            resource_id: "r".into(),
            event_id: None,
            reason: "x".repeat(1000),
            resource_type: "t",
        };
        let a = Evaluation::out_of_scope(&o, at()).annotation;
        assert_eq!(a.chars().count(), 256);
        assert!(a.ends_with("..."));
    }

    #[test]
    fn json_shape_is_camel_case_with_config_vocabulary() {
        let e = Evaluation::task_not_applicable(&event(), at(), "because");
        let v = serde_json::to_value(&e).unwrap();
        for key in [
            "resourceType",
            "resourceId",
            "compliance",
            "annotation",
            "evaluatedAt",
            "eventId",
            "findings",
            "context",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        assert_eq!(v["compliance"], "NOT_APPLICABLE");
        assert_eq!(v["evaluatedAt"], "2026-01-02T03:04:05Z");
    }
}
