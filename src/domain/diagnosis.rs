//! The verdict on a stop: a stopped task's diagnosis from its facts, and a service event's
//! (failed deployment, tasks failing to start) through the newest stopped task it names.
//! A HIGH finding makes it NON_COMPLIANT; otherwise COMPLIANT with the advisory findings;
//! facts that can't be read make it INSUFFICIENT_DATA, as everywhere else.

use crate::domain::api;
use time::OffsetDateTime;

use super::evaluation::{combine, Evaluation};
use super::event::TaskEvent;
use super::facts::{Service, Unreadable};
use super::rules::{self, check_incomplete, StopView};
use super::stop::{
    classify_stop, ServiceEvent, StopCause, StopContext, StopFacts, StopKind, StoppedTask,
    SERVICE_RESOURCE_TYPE,
};
use super::task::{LaunchType, TaskDetail};
use super::text::{ellipsize, rfc3339};
use super::verdict::Status;

/// The deployment a stop belongs to: the one that started the task (`ecs-svc/...`), else the
/// service's PRIMARY one.
pub fn deployment_of(task: &TaskDetail, service: Option<&Service>) -> Option<String> {
    task.started_by
        .clone()
        .filter(|s| s.starts_with("ecs-svc/"))
        .or_else(|| {
            service
                .and_then(|s| s.deployment_of(None))
                .map(|d| d.id.clone())
        })
}

pub(crate) fn stop_context(stop: &StoppedTask, deployment_id: Option<String>) -> StopContext {
    StopContext {
        kind: stop.kind(),
        stopped_reason: Some(stop.stopped_reason.clone()),
        stop_code: stop.stop_code.clone(),
        stopped_task: Some(stop.event.task.task_arn.clone()),
        deployment_id,
        event_reason: None,
    }
}

fn with_stop(mut e: Evaluation, stop: &StoppedTask, deployment_id: Option<String>) -> Evaluation {
    e.stop = Some(stop_context(stop, deployment_id));
    e
}

/// The verdict a stopped task gets before any fact is read, if its event alone decides it.
pub fn stop_verdict_before_reading(stop: &StoppedTask, at: OffsetDateTime) -> Option<Evaluation> {
    let event = &stop.event;
    let deployment = deployment_of(&event.task, None);
    let not_applicable = |reason: &str| {
        with_stop(
            Evaluation::task_not_applicable(event, at, reason),
            stop,
            deployment.clone(),
        )
    };
    let launch_type = event.task.launch_type();
    if launch_type == Some(LaunchType::External) {
        return Some(not_applicable(
            "launch type EXTERNAL (ECS Anywhere): the task is not in a VPC",
        ));
    }
    match &stop.cause {
        StopCause::HealthCheck {
            target_group_arn: None,
            elb_name: Some(name),
        } => Some(not_applicable(&format!(
            "health checks of Classic Load Balancer {name} are not diagnosed (target groups only)"
        ))),
        StopCause::HealthCheck { .. } if event.task.eni_attachment().is_none() => Some(
            not_applicable("health-check diagnosis is for awsvpc tasks (the event names no ENI)"),
        ),
        StopCause::StartFailure { .. } if launch_type.is_none() => Some(with_stop(
            Evaluation::task_incomplete(
                event,
                at,
                &Unreadable {
                    api: api::ECS_TASK_STATE_CHANGE,
                    reason: "the event names neither a launch type nor a container instance: whose network pulled is unknown".into(),
                },
            ),
            stop,
            deployment.clone(),
        )),
        _ => None,
    }
}

/// Diagnoses a stopped task from its facts.
pub fn evaluate_stop(stop: &StoppedTask, facts: &StopFacts, at: OffsetDateTime) -> Evaluation {
    let event = &stop.event;
    let service = facts.service.as_ref().and_then(|s| s.known());
    let deployment = deployment_of(&event.task, service);
    let view = StopView { stop, facts };
    let each = rules::run_stop_each(&view);
    let mut e = combine(event, at, rules::run_stop(&view));
    if !each.is_empty() {
        e.path = crate::domain::path::stop_path(stop, facts, &each);
    }
    if let (Some(ctx), Some(td)) = (e.context.as_mut(), facts.task_definition.known()) {
        ctx.network_mode = Some(td.effective_network_mode().as_str().to_string());
        ctx.ports = td.port_mappings.iter().map(ToString::to_string).collect();
    }
    if let (Some(ctx), Some(net)) = (e.context.as_mut(), facts.task_network.known()) {
        ctx.subnet = Some(net.subnet_id.clone());
    }
    if let Some(p) = facts.pull.as_ref().and_then(|p| p.path.known()) {
        if let Some(ctx) = e.context.as_mut() {
            ctx.vpc = Some(p.vpc_id.clone());
        }
    }
    with_stop(e, stop, deployment)
}

/// The newest stopped task whose stop this checker diagnoses, preferring tasks of
/// `deployment` (a failed deployment's own tasks).
pub fn newest_diagnosable(
    mut tasks: Vec<TaskDetail>,
    deployment: Option<&str>,
    region: Option<&str>,
) -> Option<StoppedTask> {
    // RFC 3339 times of one format sort as text; newest first.
    tasks.sort_by(|a, b| b.stopped_at.cmp(&a.stopped_at));
    let of_deployment =
        |t: &TaskDetail| deployment.is_some() && t.started_by.as_deref() == deployment;
    let pick = tasks
        .iter()
        .filter(|t| of_deployment(t))
        .chain(tasks.iter().filter(|t| !of_deployment(t)))
        .find_map(|t| {
            let cause = classify_stop(t.stopped_reason.as_deref(), t.stop_code.as_deref())?;
            Some((t.clone(), cause))
        })?;
    let (task, cause) = pick;
    Some(StoppedTask {
        stopped_reason: task.stopped_reason.clone().unwrap_or_default(),
        stop_code: task.stop_code.clone(),
        cause,
        event: TaskEvent {
            event_id: None,
            account: None,
            region: region.map(str::to_string),
            task,
        },
    })
}

/// The verdict on a service event, from the diagnosis of its newest stopped task (`None`
/// when no stopped task is visible; `newest_reason` names an undiagnosable newest stop).
pub fn evaluate_service_event(
    event: &ServiceEvent,
    diagnosis: Option<Evaluation>,
    newest_reason: Option<&str>,
    at: OffsetDateTime,
) -> Evaluation {
    let deployment_id = event.deployment_id.clone().or_else(|| {
        diagnosis
            .as_ref()
            .and_then(|d| d.stop.as_ref())
            .and_then(|s| s.deployment_id.clone())
    });
    match diagnosis {
        Some(d) => on_the_service(event, d, deployment_id),
        None => undiagnosed(event, newest_reason, deployment_id, at),
    }
}

/// No diagnosable stopped task: NOT_APPLICABLE when the newest stopped for another reason,
/// INSUFFICIENT_DATA when none is visible.
fn undiagnosed(
    event: &ServiceEvent,
    newest_reason: Option<&str>,
    deployment_id: Option<String>,
    at: OffsetDateTime,
) -> Evaluation {
    let base = |compliance: Status, note: String| {
        service_evaluation(event, deployment_id, compliance, note, at)
    };
    match newest_reason {
        Some(reason) => base(
            Status::NotApplicable,
            format!(
                "the newest stopped task stopped for a reason this checker does not diagnose: {reason}"
            ),
        ),
        None => {
            let u = Unreadable {
                api: api::ECS_LIST_TASKS,
                reason: format!(
                    "no stopped task of service {} is visible (ECS keeps stopped tasks about an hour)",
                    event.service_name
                ),
            };
            let mut e = base(Status::InsufficientData, format!("Incomplete: {u}"));
            e.findings = vec![check_incomplete::finding(&u)];
            e
        }
    }
}

/// An evaluation of the service itself, without findings.
fn service_evaluation(
    event: &ServiceEvent,
    deployment_id: Option<String>,
    compliance: Status,
    note: String,
    at: OffsetDateTime,
) -> Evaluation {
    let arn = super::org::Arn::parse(&event.service_arn);
    Evaluation {
        resource_type: SERVICE_RESOURCE_TYPE,
        resource_id: event.service_arn.clone(),
        compliance,
        annotation: ellipsize(&note, super::evaluation::MAX_ANNOTATION_CHARS),
        evaluated_at: rfc3339(at),
        event_id: event.event_id.clone(),
        findings: vec![],
        suppressed: None,
        context: Some(super::evaluation::TaskContext {
            account: arn.as_ref().and_then(|a| a.account_id()).map(Into::into),
            region: arn.as_ref().and_then(|a| a.region_name()).map(Into::into),
            cluster: event
                .cluster
                .as_deref()
                .map(|c| super::org::name_of(c).to_string()),
            cluster_arn: event.cluster.clone().filter(|c| c.starts_with("arn:")),
            service: Some(event.service_name.clone()),
            ..Default::default()
        }),
        stop: Some(StopContext {
            kind: event.kind,
            stopped_reason: None,
            stop_code: None,
            stopped_task: None,
            deployment_id,
            event_reason: event.reason.clone(),
        }),
        path: vec![],
        passed: vec![],
    }
}

/// The newest stopped task's diagnosis, reported on the service.
fn on_the_service(
    event: &ServiceEvent,
    mut d: Evaluation,
    deployment_id: Option<String>,
) -> Evaluation {
    let task_stop = d.stop.take();
    d.resource_type = SERVICE_RESOURCE_TYPE;
    d.resource_id = event.service_arn.clone();
    d.event_id = event.event_id.clone();
    let task_arn = task_stop.as_ref().and_then(|s| s.stopped_task.clone());
    if let Some(ctx) = d.context.as_mut() {
        ctx.service = Some(event.service_name.clone());
    }
    d.annotation = ellipsize(
        &format!(
            "{} {}: newest stopped task {}: {}",
            match event.kind {
                StopKind::DeploymentFailed => "deployment",
                _ => "service",
            },
            deployment_id.as_deref().unwrap_or(&event.service_name),
            task_arn.as_deref().map(super::org::name_of).unwrap_or("?"),
            d.annotation
        ),
        super::evaluation::MAX_ANNOTATION_CHARS,
    );
    d.stop = Some(StopContext {
        kind: event.kind,
        stopped_reason: task_stop.as_ref().and_then(|s| s.stopped_reason.clone()),
        stop_code: task_stop.as_ref().and_then(|s| s.stop_code.clone()),
        stopped_task: task_arn,
        deployment_id,
        event_reason: event.reason.clone(),
    });
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::stop_fixture::*;
    use crate::domain::verdict::Severity;

    fn at() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    #[test]
    fn a_stop_of_a_deleted_service_is_insufficient_data_not_a_finding() {
        for mut case in [health_kill(), image_pull_private()] {
            service(&mut case).status = crate::domain::facts::ServiceStatus::Inactive;
            let e = evaluate_stop(&case.stop, &case.facts, at());
            assert_eq!(e.compliance, Status::InsufficientData, "{e:#?}");
            assert_eq!(e.findings.len(), 1);
            assert_eq!(e.findings[0].rule, "CHECK_INCOMPLETE");
            assert!(e.findings[0].message.contains("INACTIVE"), "{e:#?}");
        }
    }

    #[test]
    fn verdicts_follow_the_severities() {
        let cases = [
            (
                health_kill(),
                Status::Compliant,
                Some("HEALTH_CHECK_APP_FAILED"),
            ),
            (
                image_pull_private(),
                Status::NonCompliant,
                Some("IMAGE_PULL_NO_EGRESS"),
            ),
            (image_pull_private_with_endpoints(), Status::Compliant, None),
            (
                ec2_instance_private(),
                Status::NonCompliant,
                Some("IMAGE_PULL_NO_EGRESS"),
            ),
        ];
        for (case, status, rule) in cases {
            let e = evaluate_stop(&case.stop, &case.facts, at());
            assert_eq!(e.compliance, status, "{e:?}");
            assert_eq!(e.findings.first().map(|f| f.rule), rule, "{e:?}");
            let stop = e.stop.as_ref().unwrap();
            assert_eq!(stop.deployment_id.as_deref(), Some("ecs-svc/1"));
            assert_eq!(stop.stopped_task.as_deref(), Some("arn:task/prod/1"));
        }
    }

    #[test]
    fn unreadable_facts_give_insufficient_data() {
        let mut case = image_pull_private();
        case.facts.pull.as_mut().unwrap().endpoints =
            crate::domain::facts::Fact::Unknown(Unreadable {
                api: api::EC2_DESCRIBE_VPC_ENDPOINTS,
                reason: "AccessDenied".into(),
            });
        let e = evaluate_stop(&case.stop, &case.facts, at());
        assert_eq!(e.compliance, Status::InsufficientData);
        assert_eq!(e.findings[0].rule, "CHECK_INCOMPLETE");
        assert!(e.findings[0]
            .message
            .contains(api::EC2_DESCRIBE_VPC_ENDPOINTS));
    }

    #[test]
    fn classic_load_balancers_and_bridge_tasks_are_not_applicable_without_reading() {
        let classic = with_reason(
            health_kill(),
            "Task failed ELB health checks in (elb legacy)",
        );
        let e = stop_verdict_before_reading(&classic.stop, at()).unwrap();
        assert_eq!(e.compliance, Status::NotApplicable);
        assert!(e.annotation.contains("Classic Load Balancer legacy"));
        let mut bridge = health_kill();
        bridge.stop.event.task.attachments.clear();
        let e = stop_verdict_before_reading(&bridge.stop, at()).unwrap();
        assert!(e.annotation.contains("awsvpc"), "{}", e.annotation);
        // A bridge task's image pull is diagnosed (the instance pulls).
        let mut pull = ec2_instance_private();
        pull.stop.event.task.attachments.clear();
        assert!(stop_verdict_before_reading(&pull.stop, at()).is_none());
    }

    #[test]
    fn the_newest_stop_of_the_failed_deployment_is_diagnosed() {
        let task = |arn: &str, by: &str, at: &str, reason: &str| TaskDetail {
            task_arn: arn.into(),
            started_by: Some(by.into()),
            stopped_at: Some(at.into()),
            stopped_reason: Some(reason.into()),
            ..Default::default()
        };
        let tasks = vec![
            task("t-old", "ecs-svc/2", "2026-01-01T10:00:00Z", HEALTH_REASON),
            task("t-new", "ecs-svc/2", "2026-01-01T10:05:00Z", PULL_REASON),
            task(
                "t-other",
                "ecs-svc/1",
                "2026-01-01T10:09:00Z",
                HEALTH_REASON,
            ),
            task(
                "t-exit",
                "ecs-svc/2",
                "2026-01-01T10:07:00Z",
                "Essential container in task exited",
            ),
        ];
        let pick = newest_diagnosable(tasks.clone(), Some("ecs-svc/2"), None).unwrap();
        assert_eq!(pick.event.task.task_arn, "t-new");
        let pick = newest_diagnosable(tasks, None, None).unwrap();
        assert_eq!(pick.event.task.task_arn, "t-other");
    }

    #[test]
    fn a_service_event_reports_on_the_service_through_its_stopped_task() {
        let event = ServiceEvent {
            account: None,
            event_id: Some("ev-9".into()),
            region: Some("us-east-1".into()),
            kind: StopKind::DeploymentFailed,
            service_arn: "arn:aws:ecs:us-east-1:1:service/prod/web".into(),
            cluster: Some("arn:aws:ecs:us-east-1:1:cluster/prod".into()),
            service_name: "web".into(),
            deployment_id: Some("ecs-svc/1".into()),
            reason: Some("ECS deployment circuit breaker: tasks failed to start.".into()),
        };
        let case = image_pull_private();
        let diagnosis = evaluate_stop(&case.stop, &case.facts, at());
        let e = evaluate_service_event(&event, Some(diagnosis), None, at());
        assert_eq!(e.resource_type, "AWS::ECS::Service");
        assert_eq!(e.compliance, Status::NonCompliant);
        assert_eq!(e.findings[0].severity, Severity::High);
        let stop = e.stop.unwrap();
        assert_eq!(stop.kind, StopKind::DeploymentFailed);
        assert_eq!(stop.stopped_task.as_deref(), Some("arn:task/prod/1"));
        assert!(e
            .annotation
            .starts_with("deployment ecs-svc/1: newest stopped task 1:"));
        let none = evaluate_service_event(&event, None, None, at());
        assert_eq!(none.compliance, Status::InsufficientData);
        let other = evaluate_service_event(
            &event,
            None,
            Some("Essential container in task exited"),
            at(),
        );
        assert_eq!(other.compliance, Status::NotApplicable);
    }
}
