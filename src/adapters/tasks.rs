//! ECS task listing for the CLI's `check --task` and `audit` (not used by the Lambda): ListTasks
//! and DescribeTasks (100 ARNs a call) turned into the same input as an EventBridge event.

use aws_sdk_ecs::types::Task;
use serde_json::{json, Value};
use tracing::instrument;

use super::aws::{classify, AwsFacts};
use crate::ports::ReadError;

/// DescribeTasks accepts at most this many ARNs.
pub const DESCRIBE_TASKS_BATCH: usize = 100;

/// The DescribeTasks `Task` as the `detail` of an ECS Task State Change event.
pub fn task_detail(task: &Task) -> Value {
    let attachments: Vec<Value> = task
        .attachments()
        .iter()
        .map(|a| {
            json!({
                "id": a.id(),
                "type": a.r#type(),
                "status": a.status(),
                "details": a.details().iter().map(|d| json!({"name": d.name(), "value": d.value()})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let containers: Vec<Value> = task
        .containers()
        .iter()
        .map(|c| {
            json!({
                "name": c.name(),
                "networkInterfaces": c.network_interfaces().iter().map(|n| json!({
                    "attachmentId": n.attachment_id(),
                    "privateIpv4Address": n.private_ipv4_address(),
                    "ipv6Address": n.ipv6_address(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "taskArn": task.task_arn(),
        "clusterArn": task.cluster_arn(),
        "taskDefinitionArn": task.task_definition_arn(),
        "group": task.group(),
        "startedBy": task.started_by(),
        "launchType": task.launch_type().map(|l| l.as_str()),
        "capacityProviderName": task.capacity_provider_name(),
        "containerInstanceArn": task.container_instance_arn(),
        "platformVersion": task.platform_version(),
        "lastStatus": task.last_status(),
        "desiredStatus": task.desired_status(),
        "attachments": attachments,
        "containers": containers,
        "version": task.version(),
    })
}

/// A synthetic ECS Task State Change envelope around a described task.
pub fn task_event(detail: Value, region: Option<&str>) -> Value {
    let arn = detail["taskArn"].clone();
    json!({
        "version": "0",
        "detail-type": crate::domain::event::TASK_STATE_CHANGE,
        "source": "aws.ecs",
        "region": region,
        "resources": [arn],
        "detail": detail,
    })
}

impl AwsFacts {
    /// ARNs of the cluster's RUNNING tasks (ListTasks, paginated).
    #[instrument(skip(self), fields(api = "ecs:ListTasks"))]
    pub async fn running_task_arns(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .ecs()
                .list_tasks()
                .cluster(cluster)
                .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("ecs:ListTasks", e))?;
            arns.extend(out.task_arns().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(arns),
            }
        }
    }

    /// Every cluster ARN of the account and region (ListClusters, paginated).
    #[instrument(skip(self), fields(api = "ecs:ListClusters"))]
    pub async fn cluster_arns(&self) -> Result<Vec<String>, ReadError> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .ecs()
                .list_clusters()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("ecs:ListClusters", e))?;
            arns.extend(out.cluster_arns().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(arns),
            }
        }
    }

    /// Service names of a cluster (ListServices, paginated).
    #[instrument(skip(self), fields(api = "ecs:ListServices"))]
    pub async fn service_names(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .ecs()
                .list_services()
                .cluster(cluster)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("ecs:ListServices", e))?;
            names.extend(
                out.service_arns()
                    .iter()
                    .map(|a| a.rsplit('/').next().unwrap_or(a).to_string()),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(names),
            }
        }
    }

    /// Task details (event `detail` shape) for up to 100 ARNs (DescribeTasks).
    #[instrument(skip(self, arns), fields(api = "ecs:DescribeTasks", count = arns.len()))]
    pub async fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<Value>, ReadError> {
        let out = self
            .ecs()
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| classify("ecs:DescribeTasks", e))?;
        Ok(out.tasks().iter().map(task_detail).collect())
    }
}
