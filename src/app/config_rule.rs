//! AWS Config custom-rule mode: evaluate `AWS::ECS::Service` resources from their running
//! tasks (the same core as the event path) and report with PutEvaluations in batches of 100.

use time::OffsetDateTime;
use tracing::{info, instrument};

use crate::app::audit::{evaluate_tasks, running_tasks};
use crate::app::check::CheckError;
use crate::domain::config_rule::{
    not_applicable, service_evaluation, ConfigEvaluation, ConfigInvocation, ConfigRequest,
    ServiceItem, PUT_EVALUATIONS_BATCH, SERVICE_RESOURCE_TYPE,
};
use crate::domain::text::rfc3339;
use crate::ports::{EvaluationsPut, FactReader, ReadError, TaskLister};

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
                        status: None,
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::domain::config_rule::ConfigEvaluation;
    use crate::domain::facts::Unreadable;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::facts::fake::FakeAws;

    #[derive(Default)]
    struct Reported(Mutex<Vec<ConfigEvaluation>>);

    impl EvaluationsPut for Reported {
        async fn put_evaluations(
            &self,
            _token: &str,
            batch: &[ConfigEvaluation],
        ) -> Result<usize, ReadError> {
            self.0.lock().unwrap().extend_from_slice(batch);
            Ok(0)
        }
    }

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
        let reported = Reported::default();
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
            let reported = Reported::default();
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
            "ecs:ListTasks",
            ReadError::Unreadable(Unreadable {
                api: "ecs:ListTasks",
                reason: "ClusterNotFoundException: Cluster not found.".into(),
            }),
        );
        let reported = Reported::default();
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
            "ecs:ListTasks",
            ReadError::Unreadable(Unreadable {
                api: "ecs:ListTasks",
                reason: "AccessDeniedException: no".into(),
            }),
        );
        assert!(run_config_rule(&change("OK"), &denied, &reported)
            .await
            .is_err());
    }
}
