//! AWS Config custom-rule mode: evaluate `AWS::ECS::Service` resources from their running
//! tasks (the same core as the event path) and report with PutEvaluations in batches of 100.

use time::OffsetDateTime;
use tracing::instrument;

use crate::app::audit::{evaluate_tasks, running_tasks};
use crate::app::check::CheckError;
use crate::domain::config_rule::{
    not_applicable, service_evaluation, ConfigEvaluation, ConfigInvocation, ConfigRequest,
    ServiceItem, PUT_EVALUATIONS_BATCH, SERVICE_RESOURCE_TYPE,
};
use crate::domain::text::rfc3339;
use crate::ports::{EvaluationsPut, FactReader, TaskLister};

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
    let tasks = running_tasks(reader, cluster, |t| {
        t.group.as_deref() == Some(group.as_str())
    })
    .await?;
    let evaluations = evaluate_tasks(reader, None, tasks).await?;
    Ok(service_evaluation(item, &evaluations, &now()))
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
        ConfigRequest::Change(item) if item.resource_type != SERVICE_RESOURCE_TYPE => {
            vec![not_applicable(
                item,
                "only AWS::ECS::Service resources are evaluated",
                &now(),
            )]
        }
        ConfigRequest::Change(item) => vec![evaluate_service(reader, item).await?],
        ConfigRequest::Scheduled { time } => {
            let mut all = Vec::new();
            for cluster in reader.cluster_arns().await.map_err(CheckError::Aws)? {
                for service in reader
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
                    all.push(evaluate_service(reader, &item).await?);
                }
            }
            all
        }
    };
    for batch in evaluations.chunks(PUT_EVALUATIONS_BATCH) {
        let failed = reporter
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
