//! The CLI's cluster audit and `check --task`: tasks listed through the [`TaskLister`] port are
//! evaluated by the same core as events. Reads are batched (DescribeTasks 100 ARNs, ENIs 200 a
//! call) and cached, so each task definition, service and VPC is read once per audit.

use crate::domain::api;
use time::OffsetDateTime;
use tracing::{instrument, warn};

use crate::adapters::clients::ClientFactory;
use crate::app::check::{check_trigger, CheckError};
use crate::domain::evaluation::Evaluation;
use crate::domain::event::task_trigger;
use crate::domain::org::ResourceScope;
use crate::domain::refusal::{account_verdict, NoAccess};
use crate::domain::task::TaskDetail;
use crate::ports::{FactReader, ReadError, TaskLister, DESCRIBE_TASKS_BATCH, ENI_BATCH};
use crate::ports::{ReaderSource, Refused};

/// Evaluates described tasks, reading their ENIs in bulk first (a caching reader keeps them).
pub async fn evaluate_tasks<R: FactReader>(
    reader: &R,
    region: Option<&str>,
    tasks: Vec<TaskDetail>,
) -> Result<Vec<Evaluation>, CheckError> {
    let eni_ids: Vec<String> = tasks
        .iter()
        .filter_map(|t| t.eni_attachment())
        .map(|a| a.network_interface_id)
        .collect();
    for chunk in eni_ids.chunks(ENI_BATCH) {
        reader
            .network_interfaces(chunk)
            .await
            .map_err(CheckError::Aws)?;
    }
    let mut evaluations = Vec::with_capacity(tasks.len());
    for task in tasks {
        // Sequential on purpose: the cache then reads each shared fact exactly once.
        let trigger = task_trigger(task, region);
        evaluations.push(check_trigger(&trigger, reader).await?);
    }
    Ok(evaluations)
}

/// Evaluates one running task by ARN.
#[instrument(skip(reader))]
pub async fn check_task_arn<R: FactReader + TaskLister>(
    reader: &R,
    region: Option<&str>,
    cluster: &str,
    task_arn: &str,
) -> Result<Evaluation, CheckError> {
    let tasks = reader
        .describe_tasks(cluster, &[task_arn.to_string()])
        .await
        .map_err(CheckError::Aws)?;
    if tasks.is_empty() {
        return Err(CheckError::Aws(ReadError::Failed {
            api: api::ECS_DESCRIBE_TASKS,
            message: format!("task {task_arn} not found in cluster {cluster}"),
        }));
    }
    let mut evaluations = evaluate_tasks(reader, region, tasks).await?;
    Ok(evaluations.remove(0))
}

/// Clusters to audit: the named ones, or every cluster of the region.
pub async fn clusters<R: TaskLister>(
    reader: &R,
    named: Vec<String>,
    all: bool,
) -> Result<Vec<String>, CheckError> {
    if !all {
        return Ok(named);
    }
    reader.cluster_arns().await.map_err(CheckError::Aws)
}

/// The described RUNNING tasks of `cluster`, in DescribeTasks batches; `keep` filters them.
pub async fn running_tasks<R: TaskLister>(
    reader: &R,
    cluster: &str,
    keep: impl Fn(&TaskDetail) -> bool,
) -> Result<Vec<TaskDetail>, CheckError> {
    let arns = reader
        .running_task_arns(cluster)
        .await
        .map_err(CheckError::Aws)?;
    let mut tasks = Vec::with_capacity(arns.len());
    for batch in arns.chunks(DESCRIBE_TASKS_BATCH) {
        let described = reader
            .describe_tasks(cluster, batch)
            .await
            .map_err(CheckError::Aws)?;
        tasks.extend(described.into_iter().filter(|t| keep(t)));
    }
    Ok(tasks)
}

/// Evaluates every RUNNING task of `cluster`; `progress` is called with (done, total).
#[instrument(skip(reader, progress))]
pub async fn audit_cluster<R: FactReader + TaskLister>(
    reader: &R,
    region: Option<&str>,
    cluster: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Evaluation>, CheckError> {
    let arns = reader
        .running_task_arns(cluster)
        .await
        .map_err(CheckError::Aws)?;
    let mut evaluations = Vec::with_capacity(arns.len());
    for batch in arns.chunks(DESCRIBE_TASKS_BATCH) {
        let tasks = reader
            .describe_tasks(cluster, batch)
            .await
            .map_err(CheckError::Aws)?;
        evaluations.extend(evaluate_tasks(reader, region, tasks).await?);
        progress(evaluations.len(), arns.len());
    }
    Ok(evaluations)
}

/// An audit that could not finish: where it stopped, and why.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct AuditError {
    /// `cluster NAME` or `account ID in REGION`.
    pub context: String,
    /// What failed.
    #[source]
    pub source: CheckError,
}

/// Where an audit looks: an account (`None`: the caller's own) in a region (`None`: the
/// default one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditScope {
    /// The account.
    pub account: Option<String>,
    /// The region.
    pub region: Option<String>,
}

/// Audits every scope: the named clusters, or every cluster, of each (account, region). A
/// member account is read through its role (one AssumeRole per account); an account whose role
/// cannot be assumed, or that is not enrolled, gives one account-level line and its other
/// regions are skipped. `progress` gets (scope label, done, total).
pub async fn audit_scopes(
    clients: &ClientFactory,
    scopes: &[AuditScope],
    named: &[String],
    all_clusters: bool,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Vec<Evaluation>, AuditError> {
    let mut evaluations = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for scope in scopes {
        let account = scope.account.clone();
        if account.as_ref().is_some_and(|a| refused.contains(a)) {
            continue;
        }
        let mut resource = ResourceScope::of(None, None, scope.region.as_deref());
        resource.account = account.clone();
        let why = match clients.reader_for(&resource).await {
            Ok(reader) => {
                let label = format!(
                    "{} {}",
                    account.as_deref().unwrap_or("own account"),
                    scope.region.as_deref().unwrap_or("default region")
                );
                let region = scope.region.as_deref();
                let targets = clusters(reader.as_ref(), named.to_vec(), all_clusters)
                    .await
                    .map_err(|source| AuditError {
                        context: label.clone(),
                        source,
                    })?;
                for cluster in &targets {
                    let mut report = |done: usize, total: usize| progress(&label, done, total);
                    let found = audit_cluster(reader.as_ref(), region, cluster, &mut report)
                        .await
                        .map_err(|source| AuditError {
                            context: format!("cluster {cluster}"),
                            source,
                        })?;
                    evaluations.extend(found);
                }
                continue;
            }
            Err(Refused::NotEnrolled(a)) => NoAccess::NotEnrolled(a),
            Err(Refused::Denied(u)) => NoAccess::Denied(u),
            Err(Refused::Failed(e)) => {
                return Err(AuditError {
                    context: format!("account {}", account.unwrap_or_default()),
                    source: CheckError::Aws(e),
                })
            }
        };
        let account = account.unwrap_or_default();
        warn!(%account, "account not audited: {why:?}");
        evaluations.push(account_verdict(
            &account,
            scope.region.as_deref(),
            &why,
            OffsetDateTime::now_utc(),
        ));
        refused.push(account);
    }
    Ok(evaluations)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::domain::verdict::Status;
    use crate::facts::cache::CachingReader;
    use crate::facts::fake::FakeAws;

    #[tokio::test]
    async fn an_audit_reads_through_the_ports_with_enis_in_bulk() {
        let running = fixture::running_event().0.task;
        let stopped = TaskDetail {
            task_arn: "arn:task/prod/2".into(),
            last_status: Some("STOPPED".into()),
            ..running.clone()
        };
        let aws = FakeAws::from_facts(&fixture::seed(), CONTAINER_INSTANCE, "10.0.3.7")
            .with_tasks(vec![running, stopped]);
        let reader = CachingReader::new(aws, Duration::from_secs(60));
        let mut progress = Vec::new();
        let evaluations = audit_cluster(&reader, None, "prod", &mut |done, total| {
            progress.push((done, total))
        })
        .await
        .unwrap();
        let verdicts: Vec<Status> = evaluations.iter().map(|e| e.compliance).collect();
        assert_eq!(verdicts, [Status::NonCompliant, Status::NotApplicable]);
        assert!(evaluations[1].annotation.contains("not RUNNING"));
        assert_eq!(progress, [(2, 2)]);
        let calls = reader.inner().calls();
        let count = |api: &str| calls.iter().filter(|c| **c == api).count();
        // One bulk ENI read answers the task's ENI; the stopped task reads nothing.
        assert_eq!(count(api::EC2_DESCRIBE_NETWORK_INTERFACES), 1, "{calls:?}");
        assert_eq!(count(api::ECS_LIST_TASKS), 1);
        assert_eq!(count(api::ECS_DESCRIBE_TASKS), 1);
        assert_eq!(count(api::ECS_DESCRIBE_TASK_DEFINITION), 1);
    }
}
