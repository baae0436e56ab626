//! The CLI's cluster audit and `check --task`: DescribeTasks builds the same input as an event,
//! and the same core evaluates it. Reads are batched (DescribeTasks 100 ARNs, ENIs 200 a call)
//! and cached, so each task definition, service and VPC is read once per audit.

use serde_json::Value;
use tracing::instrument;

use crate::adapters::aws::RegionalFacts;
use crate::adapters::tasks::{task_event, DESCRIBE_TASKS_BATCH};
use crate::check::{check_trigger, CheckError};
use crate::domain::evaluation::Evaluation;
use crate::domain::event::{parse_trigger, Trigger};

/// ENI ids per DescribeNetworkInterfaces call (the filter's value limit).
const ENI_BATCH: usize = 200;

fn eni_ids(details: &[Value]) -> Vec<String> {
    details
        .iter()
        .flat_map(|d| d["attachments"].as_array().cloned().unwrap_or_default())
        .flat_map(|a| a["details"].as_array().cloned().unwrap_or_default())
        .filter(|kv| kv["name"] == "networkInterfaceId")
        .filter_map(|kv| kv["value"].as_str().map(str::to_string))
        .collect()
}

/// Evaluates described tasks (event `detail` shape), priming the ENIs in bulk first.
pub(crate) async fn evaluate_details(
    facts: &RegionalFacts,
    region: Option<&str>,
    details: Vec<Value>,
) -> Result<Vec<Evaluation>, CheckError> {
    let reader = facts.for_region(region);
    for chunk in eni_ids(&details).chunks(ENI_BATCH) {
        let enis = reader
            .inner()
            .network_interfaces(chunk)
            .await
            .map_err(CheckError::Aws)?;
        reader.prime_network_interfaces(enis);
    }
    let mut evaluations = Vec::with_capacity(details.len());
    for detail in details {
        let trigger: Trigger = parse_trigger(task_event(detail, region))?;
        // Sequential on purpose: the cache then reads each shared fact exactly once.
        evaluations.push(check_trigger(&trigger, reader.as_ref()).await?);
    }
    Ok(evaluations)
}

/// Evaluates one running task by ARN.
#[instrument(skip(facts))]
pub async fn check_task_arn(
    facts: &RegionalFacts,
    region: Option<&str>,
    cluster: &str,
    task_arn: &str,
) -> Result<Evaluation, CheckError> {
    let reader = facts.for_region(region);
    let details = reader
        .inner()
        .describe_tasks(cluster, &[task_arn.to_string()])
        .await
        .map_err(CheckError::Aws)?;
    if details.is_empty() {
        return Err(CheckError::Aws(crate::ports::ReadError::Failed {
            api: "ecs:DescribeTasks",
            message: format!("task {task_arn} not found in cluster {cluster}"),
        }));
    }
    let mut evaluations = evaluate_details(facts, region, details).await?;
    Ok(evaluations.remove(0))
}

/// Clusters to audit: the named ones, or every cluster of the region.
pub async fn clusters(
    facts: &RegionalFacts,
    region: Option<&str>,
    named: Vec<String>,
    all: bool,
) -> Result<Vec<String>, CheckError> {
    if !all {
        return Ok(named);
    }
    facts
        .for_region(region)
        .inner()
        .cluster_arns()
        .await
        .map_err(CheckError::Aws)
}

/// Evaluates every RUNNING task of `cluster`; `progress` is called with (done, total).
#[instrument(skip(facts, progress))]
pub async fn audit_cluster(
    facts: &RegionalFacts,
    region: Option<&str>,
    cluster: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Evaluation>, CheckError> {
    let reader = facts.for_region(region);
    let arns = reader
        .inner()
        .running_task_arns(cluster)
        .await
        .map_err(CheckError::Aws)?;
    let mut evaluations = Vec::with_capacity(arns.len());
    for batch in arns.chunks(DESCRIBE_TASKS_BATCH) {
        let details = reader
            .inner()
            .describe_tasks(cluster, batch)
            .await
            .map_err(CheckError::Aws)?;
        evaluations.extend(evaluate_details(facts, region, details).await?);
        progress(evaluations.len(), arns.len());
    }
    Ok(evaluations)
}
