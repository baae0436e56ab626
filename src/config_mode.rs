//! AWS Config custom-rule mode: evaluate `AWS::ECS::Service` resources from their running
//! tasks (the same core as the event path) and report with PutEvaluations in batches of 100.

use tracing::instrument;

use crate::adapters::aws::RegionalFacts;
use crate::adapters::tasks::DESCRIBE_TASKS_BATCH;
use crate::audit::evaluate_details;
use crate::check::CheckError;
use crate::domain::config_rule::{
    not_applicable, service_evaluation, ConfigEvaluation, ConfigInvocation, ConfigRequest,
    ServiceItem, PUT_EVALUATIONS_BATCH, SERVICE_RESOURCE_TYPE,
};
use crate::ports::EvaluationsPut;

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Evaluates one service from its RUNNING tasks.
async fn evaluate_service(
    facts: &RegionalFacts,
    item: &ServiceItem,
) -> Result<ConfigEvaluation, CheckError> {
    let (Some(cluster), Some(service)) = (&item.cluster, &item.service) else {
        return Ok(not_applicable(
            item,
            "the configuration item names no cluster and service",
            &now(),
        ));
    };
    let reader = facts.for_region(None);
    let arns = reader
        .inner()
        .running_task_arns(cluster)
        .await
        .map_err(CheckError::Aws)?;
    let group = format!("service:{service}");
    let mut evaluations = Vec::new();
    for batch in arns.chunks(DESCRIBE_TASKS_BATCH) {
        let details = reader
            .inner()
            .describe_tasks(cluster, batch)
            .await
            .map_err(CheckError::Aws)?;
        // ListTasks(serviceName) is not honoured everywhere: filter on the task's group.
        let mine: Vec<_> = details
            .into_iter()
            .filter(|d| d["group"] == group.as_str())
            .collect();
        evaluations.extend(evaluate_details(facts, None, mine).await?);
    }
    Ok(service_evaluation(item, &evaluations, &now()))
}

/// Handles a Config invocation: evaluates and reports; returns what was reported.
#[instrument(skip_all)]
pub async fn run_config_rule<C: EvaluationsPut>(
    invocation: &ConfigInvocation,
    facts: &RegionalFacts,
    config: &C,
) -> Result<Vec<ConfigEvaluation>, CheckError> {
    let evaluations = match &invocation.request {
        ConfigRequest::Change(item) if invocation.event_left_scope => {
            vec![not_applicable(
                item,
                "the resource left the rule's scope",
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
        ConfigRequest::Change(item) => vec![evaluate_service(facts, item).await?],
        ConfigRequest::Scheduled { time } => {
            let reader = facts.for_region(None);
            let mut all = Vec::new();
            for cluster in reader
                .inner()
                .cluster_arns()
                .await
                .map_err(CheckError::Aws)?
            {
                for service in reader
                    .inner()
                    .service_names(&cluster)
                    .await
                    .map_err(CheckError::Aws)?
                {
                    let cluster_name = cluster.rsplit('/').next().unwrap_or(&cluster).to_string();
                    let arn = cluster.replace(":cluster/", ":service/") + "/" + &service;
                    let item = ServiceItem {
                        resource_type: SERVICE_RESOURCE_TYPE.into(),
                        resource_id: arn,
                        cluster: Some(cluster_name),
                        service: Some(service),
                        capture_time: time.clone(),
                    };
                    all.push(evaluate_service(facts, &item).await?);
                }
            }
            all
        }
    };
    for batch in evaluations.chunks(PUT_EVALUATIONS_BATCH) {
        let failed = config
            .put_evaluations(&invocation.result_token, batch)
            .await
            .map_err(CheckError::Aws)?;
        if failed > 0 {
            return Err(CheckError::Aws(crate::ports::ReadError::Failed {
                api: "config:PutEvaluations",
                message: format!("Config rejected {failed} evaluations"),
            }));
        }
    }
    Ok(evaluations)
}
