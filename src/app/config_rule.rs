//! AWS Config custom-rule mode: evaluate `AWS::ECS::Service` resources from their running
//! tasks (the same core as the event path) and report with PutEvaluations in batches of 100.

use crate::domain::api;
use time::OffsetDateTime;
use tracing::{info, instrument};

use crate::app::audit::{evaluate_tasks, running_tasks};
use crate::app::check::CheckError;
use crate::domain::config_rule::{
    not_applicable, plan_work, scheduled_item, service_evaluation, ConfigEvaluation,
    ConfigInvocation, ConfigRequest, ServiceItem, WorkItem, PUT_EVALUATIONS_BATCH,
    SERVICES_PER_WORK_ITEM, SERVICE_RESOURCE_TYPE,
};
use crate::domain::text::rfc3339;
use crate::ports::{EvaluationsPut, FactReader, ReadError, TaskLister, WorkDispatch};

/// ECS's answers for a cluster or service that no longer exists.
fn is_gone(reason: &str) -> bool {
    reason.starts_with("ClusterNotFoundException") || reason.starts_with("ServiceNotFoundException")
}

fn now() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// Evaluates one service from its RUNNING tasks.
async fn evaluate_service<R: FactReader + TaskLister>(
    reader: &R,
    item: &ServiceItem,
) -> Result<ConfigEvaluation, CheckError> {
    let (Some(cluster), Some(service)) = (&item.cluster, &item.service) else {
        return Ok(not_applicable(
            item,
            "the configuration item names no cluster and service",
            &now(),
        ));
    };
    let group = format!("service:{service}");
    // ListTasks(serviceName) is not honoured everywhere: filter on the task's group.
    let tasks = match running_tasks(reader, cluster, |t| {
        t.group.as_deref() == Some(group.as_str())
    })
    .await
    {
        Ok(tasks) => tasks,
        Err(CheckError::Aws(ReadError::Unreadable(u))) if is_gone(&u.reason) => {
            return Ok(not_applicable(
                item,
                &format!("cluster {cluster} or service {service} no longer exists"),
                &now(),
            ));
        }
        Err(e) => return Err(e),
    };
    let evaluations = evaluate_tasks(reader, None, tasks).await?;
    Ok(service_evaluation(item, &evaluations, &now()))
}

/// Every cluster of the account and region with its service names (ListClusters,
/// ListServices).
async fn scan_targets<R: TaskLister>(reader: &R) -> Result<Vec<(String, Vec<String>)>, CheckError> {
    let mut targets = Vec::new();
    for cluster in reader.cluster_arns().await.map_err(CheckError::Aws)? {
        let services = reader
            .service_names(&cluster)
            .await
            .map_err(CheckError::Aws)?;
        targets.push((cluster, services));
    }
    Ok(targets)
}

/// Evaluates `services` of `cluster`: the cluster's RUNNING tasks are listed **once** and
/// grouped by service (ListTasks' serviceName filter would cost a listing per service).
pub async fn evaluate_services<R: FactReader + TaskLister>(
    reader: &R,
    cluster: &str,
    services: &[String],
    time: Option<&str>,
) -> Result<Vec<ConfigEvaluation>, CheckError> {
    let items: Vec<ServiceItem> = services
        .iter()
        .map(|s| scheduled_item(cluster, s, time))
        .collect();
    let wanted: Vec<String> = services.iter().map(|s| format!("service:{s}")).collect();
    let tasks = match running_tasks(reader, cluster, |t| {
        t.group.as_ref().is_some_and(|g| wanted.contains(g))
    })
    .await
    {
        Ok(tasks) => tasks,
        Err(CheckError::Aws(ReadError::Unreadable(u))) if is_gone(&u.reason) => {
            let why = format!("cluster {cluster} no longer exists");
            return Ok(items
                .iter()
                .map(|i| not_applicable(i, &why, &now()))
                .collect());
        }
        Err(e) => return Err(e),
    };
    let mut by_service: std::collections::HashMap<String, Vec<crate::domain::task::TaskDetail>> =
        std::collections::HashMap::new();
    for task in tasks {
        if let Some(group) = task.group.clone() {
            by_service.entry(group).or_default().push(task);
        }
    }
    let mut evaluations = Vec::with_capacity(items.len());
    for (item, group) in items.iter().zip(&wanted) {
        let tasks = by_service.remove(group).unwrap_or_default();
        let task_evaluations = evaluate_tasks(reader, None, tasks).await?;
        evaluations.push(service_evaluation(item, &task_evaluations, &now()));
    }
    Ok(evaluations)
}

/// Sends evaluations to Config in batches of ≤ 100; a rejected one fails the invocation.
async fn report<C: EvaluationsPut>(
    reporter: &C,
    token: &str,
    evaluations: &[ConfigEvaluation],
) -> Result<(), CheckError> {
    for batch in evaluations.chunks(PUT_EVALUATIONS_BATCH) {
        let failed = reporter
            .put_evaluations(token, batch)
            .await
            .map_err(CheckError::Aws)?;
        if failed > 0 {
            return Err(CheckError::Aws(ReadError::Failed {
                api: api::CONFIG_PUT_EVALUATIONS,
                message: format!("Config rejected {failed} evaluations"),
            }));
        }
    }
    Ok(())
}

/// A scheduled scan that fans out: lists the clusters and services, then hands each share
/// to an asynchronous invocation ([`run_work_item`]); returns the work items dispatched.
#[instrument(skip_all)]
pub async fn dispatch_scan<R: TaskLister, D: WorkDispatch>(
    invocation: &ConfigInvocation,
    reader: &R,
    dispatch: &D,
) -> Result<Vec<WorkItem>, CheckError> {
    let ConfigRequest::Scheduled { time } = &invocation.request else {
        return Ok(vec![]);
    };
    let targets = scan_targets(reader).await?;
    let items = plan_work(
        &targets,
        &invocation.result_token,
        time.as_deref(),
        SERVICES_PER_WORK_ITEM,
    );
    for item in &items {
        dispatch.dispatch(item).await.map_err(CheckError::Aws)?;
    }
    info!(work_items = items.len(), "scheduled scan dispatched");
    Ok(items)
}

/// One share of a scheduled scan: evaluates its services and reports them.
#[instrument(skip_all, fields(cluster = %item.cluster, services = item.services.len()))]
pub async fn run_work_item<R: FactReader + TaskLister, C: EvaluationsPut>(
    item: &WorkItem,
    reader: &R,
    reporter: &C,
) -> Result<Vec<ConfigEvaluation>, CheckError> {
    let evaluations =
        evaluate_services(reader, &item.cluster, &item.services, item.time.as_deref()).await?;
    report(reporter, &item.result_token, &evaluations).await?;
    Ok(evaluations)
}

/// Handles a Config invocation: evaluates and reports; returns what was reported.
#[instrument(skip_all)]
pub async fn run_config_rule<R: FactReader + TaskLister, C: EvaluationsPut>(
    invocation: &ConfigInvocation,
    reader: &R,
    reporter: &C,
) -> Result<Vec<ConfigEvaluation>, CheckError> {
    let evaluations = match &invocation.request {
        ConfigRequest::Change(item) if invocation.event_left_scope => {
            vec![not_applicable(
                item,
                "the resource left the rule's scope",
                &now(),
            )]
        }
        ConfigRequest::Ignored { message_type } => {
            info!(
                message_type,
                "Config message acknowledged: nothing to evaluate"
            );
            return Ok(vec![]);
        }
        ConfigRequest::Change(item) if item.is_gone() => {
            vec![not_applicable(
                item,
                "the resource was deleted or is not recorded",
                &now(),
            )]
        }
        ConfigRequest::Change(item) if item.resource_type != SERVICE_RESOURCE_TYPE => {
            vec![not_applicable(
                item,
                "only AWS::ECS::Service resources are evaluated",
                &now(),
            )]
        }
        ConfigRequest::Change(item) => vec![evaluate_service(reader, item).await?],
        ConfigRequest::Scheduled { time } => {
            // Without a dispatcher (the CLI, tests): the whole scan in this invocation.
            let mut all = Vec::new();
            for (cluster, services) in scan_targets(reader).await? {
                all.extend(evaluate_services(reader, &cluster, &services, time.as_deref()).await?);
            }
            all
        }
    };
    report(reporter, &invocation.result_token, &evaluations).await?;
    Ok(evaluations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::Unreadable;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::facts::fake::{FakeAws, FakeDispatch, FakeEvaluations};

    fn change(status: &str) -> ConfigInvocation {
        ConfigInvocation {
            result_token: "token".into(),
            event_left_scope: false,
            request: ConfigRequest::Change(ServiceItem {
                resource_type: SERVICE_RESOURCE_TYPE.into(),
                resource_id: "arn:service/prod/web".into(),
                cluster: Some("prod".into()),
                service: Some("web".into()),
                capture_time: Some("2026-01-01T00:00:00Z".into()),
                status: Some(status.into()),
            }),
        }
    }

    fn world() -> FakeAws {
        FakeAws::from_facts(&fixture::seed(), CONTAINER_INSTANCE, "10.0.3.7")
    }

    #[tokio::test]
    async fn messages_the_rule_does_not_evaluate_are_acknowledged() {
        let aws = world();
        let reported = FakeEvaluations::default();
        let invocation = ConfigInvocation {
            result_token: "token".into(),
            event_left_scope: false,
            request: ConfigRequest::Ignored {
                message_type: "ConfigurationSnapshotDeliveryCompleted".into(),
            },
        };
        let out = run_config_rule(&invocation, &aws, &reported).await.unwrap();
        assert!(out.is_empty() && reported.0.lock().unwrap().is_empty());
        assert!(aws.calls().is_empty());
    }

    #[tokio::test]
    async fn a_deleted_resource_is_not_applicable_without_reading_aws() {
        for status in [
            "ResourceDeleted",
            "ResourceNotRecorded",
            "ResourceDeletedNotRecorded",
        ] {
            let aws = world();
            let reported = FakeEvaluations::default();
            let out = run_config_rule(&change(status), &aws, &reported)
                .await
                .unwrap();
            assert_eq!(out[0].compliance_type, "NOT_APPLICABLE", "{status}");
            assert!(aws.calls().is_empty(), "{status}: {:?}", aws.calls());
            assert_eq!(reported.0.lock().unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn a_cluster_that_no_longer_exists_is_not_applicable_not_an_error() {
        let aws = world().failing(
            api::ECS_LIST_TASKS,
            ReadError::Unreadable(Unreadable {
                api: api::ECS_LIST_TASKS,
                reason: "ClusterNotFoundException: Cluster not found.".into(),
            }),
        );
        let reported = FakeEvaluations::default();
        let out = run_config_rule(&change("OK"), &aws, &reported)
            .await
            .unwrap();
        assert_eq!(out[0].compliance_type, "NOT_APPLICABLE");
        assert!(
            out[0].annotation.contains("no longer exists"),
            "{:?}",
            out[0]
        );
        // Any other unreadable listing is still an error, never a guessed verdict.
        let denied = world().failing(
            api::ECS_LIST_TASKS,
            ReadError::Unreadable(Unreadable {
                api: api::ECS_LIST_TASKS,
                reason: "AccessDeniedException: no".into(),
            }),
        );
        assert!(run_config_rule(&change("OK"), &denied, &reported)
            .await
            .is_err());
    }

    fn task(arn: &str, service: &str) -> crate::domain::task::TaskDetail {
        crate::domain::task::TaskDetail {
            task_arn: arn.into(),
            group: Some(format!("service:{service}")),
            cluster_arn: Some("arn:aws:ecs:us-east-1:1:cluster/prod".into()),
            ..fixture::running_event().0.task
        }
    }

    #[tokio::test]
    async fn a_scheduled_scan_fans_out_and_a_worker_lists_its_cluster_once() {
        let tasks = vec![task("t1", "web"), task("t2", "web"), task("t3", "api")];
        let aws =
            FakeAws::from_facts(&fixture::seed(), CONTAINER_INSTANCE, "10.0.3.7").with_tasks(tasks);
        let scan = ConfigInvocation {
            result_token: "token".into(),
            event_left_scope: false,
            request: ConfigRequest::Scheduled {
                time: Some("2026-01-01T00:00:00Z".into()),
            },
        };
        let dispatched = FakeDispatch::default();
        let items = dispatch_scan(&scan, &aws, &dispatched).await.unwrap();
        assert_eq!(items.len(), 1, "one cluster, one service: one share");
        assert_eq!(dispatched.0.lock().unwrap().len(), 1);
        assert_eq!(items[0].result_token, "token");
        // The dispatcher evaluates nothing itself.
        assert!(!aws.calls().contains(&api::ECS_DESCRIBE_TASK_DEFINITION));

        let worker = WorkItem {
            services: vec!["web".into(), "api".into()],
            ..items[0].clone()
        };
        let reported = FakeEvaluations::default();
        let evaluations = run_work_item(&worker, &aws, &reported).await.unwrap();
        assert_eq!(evaluations.len(), 2);
        assert_eq!(reported.0.lock().unwrap().len(), 2);
        assert_eq!(
            evaluations[0].compliance_type, "NON_COMPLIANT",
            "{evaluations:?}"
        );
        let calls = aws.calls();
        let count = |api: &str| calls.iter().filter(|c| **c == api).count();
        assert_eq!(
            count(api::ECS_LIST_TASKS),
            1,
            "the cluster is listed once: {calls:?}"
        );
        assert_eq!(count(api::ECS_DESCRIBE_TASKS), 1);
    }
}
