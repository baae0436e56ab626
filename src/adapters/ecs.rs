//! ECS reads: task definitions, services, a container instance's host (with EC2
//! DescribeInstances), and the task listing of the audit and the Config mode.

use crate::domain::api;
use aws_sdk_ecs::types::{DesiredStatus, Task};
use tracing::{info_span, instrument, Instrument};

use super::ec2::filter;
use super::errors::classify;
use super::AwsReader;
use crate::domain::facts::{
    parse_port_range, AwsVpcConfiguration, Deployment, Host, LoadBalancerMapping, NetworkMode,
    PortMapping, Service, ServiceStatus, StartNeeds, TaskDefinition, Unreadable, IGNORE_TAG,
};
use crate::domain::org::name_of;
use crate::domain::task::{Attachment, Container, ContainerNetworkInterface, KeyValue, TaskDetail};
use crate::ports::{
    EcsReader, ReadError, ReadResult, TaskLister, DESCRIBE_CONTAINER_INSTANCES_BATCH,
    DESCRIBE_INSTANCES_BATCH, DESCRIBE_TASKS_BATCH,
};

impl EcsReader for AwsReader {
    #[instrument(skip(self), fields(api = api::ECS_DESCRIBE_TASK_DEFINITION))]
    async fn task_definition(&self, arn: &str) -> ReadResult<TaskDefinition> {
        let api = api::ECS_DESCRIBE_TASK_DEFINITION;
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        let ignore_tag = out
            .tags()
            .iter()
            .find(|t| t.key() == Some(IGNORE_TAG))
            .and_then(|t| t.value().map(str::to_string));
        Ok(out.task_definition().map(|td| TaskDefinition {
            ignore_tag,
            start_needs: start_needs(td.container_definitions()),
            arn: td.task_definition_arn().unwrap_or(arn).to_string(),
            network_mode: td.network_mode().map(|m| NetworkMode::from_aws(m.as_str())),
            port_mappings: td
                .container_definitions()
                .iter()
                .flat_map(|c| {
                    let name = c.name().unwrap_or_default().to_string();
                    c.port_mappings().iter().filter_map(move |p| {
                        // One port, or a `containerPortRange` such as "7000-7010".
                        let (first, last) = match p.container_port() {
                            Some(port) => (port, port),
                            None => parse_port_range(p.container_port_range()?)?,
                        };
                        Some(PortMapping {
                            container_name: name.clone(),
                            container_port: first,
                            last_port: last,
                            protocol: p
                                .protocol()
                                .map_or("tcp", |p| p.as_str())
                                .to_ascii_lowercase(),
                        })
                    })
                })
                .collect(),
        }))
    }

    #[instrument(skip(self), fields(api = api::ECS_DESCRIBE_SERVICES))]
    async fn service(&self, cluster: &str, name: &str) -> ReadResult<Service> {
        let api = api::ECS_DESCRIBE_SERVICES;
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(name)
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        if let Some(failure) = out
            .failures()
            .iter()
            .find(|f| f.reason() != Some("MISSING"))
        {
            return Err(ReadError::Unreadable(Unreadable {
                api,
                reason: format!(
                    "{}: {}",
                    failure.reason().unwrap_or("failure"),
                    failure.detail().unwrap_or_default()
                ),
            }));
        }
        Ok(out.services().first().map(|s| Service {
            arn: s.service_arn().unwrap_or_default().to_string(),
            name: s.service_name().unwrap_or(name).to_string(),
            status: ServiceStatus::from_aws(s.status().unwrap_or_default()),
            ignore_tag: s
                .tags()
                .iter()
                .find(|t| t.key() == Some(IGNORE_TAG))
                .and_then(|t| t.value().map(str::to_string)),
            load_balancers: s
                .load_balancers()
                .iter()
                .map(|lb| LoadBalancerMapping {
                    target_group_arn: lb.target_group_arn().map(Into::into),
                    load_balancer_name: lb.load_balancer_name().map(Into::into),
                    container_name: lb.container_name().map(Into::into),
                    container_port: lb.container_port(),
                })
                .collect(),
            network: awsvpc(s.network_configuration()),
            deployments: s
                .deployments()
                .iter()
                .map(|d| Deployment {
                    id: d.id().unwrap_or_default().to_string(),
                    status: d.status().unwrap_or_default().to_string(),
                    task_definition: owned(d.task_definition()),
                    network: awsvpc(d.network_configuration()),
                })
                .collect(),
            health_check_grace_period: s.health_check_grace_period_seconds(),
            task_definition: owned(s.task_definition()),
            launch_type: s.launch_type().map(|l| l.as_str().to_string()),
            capacity_providers: s
                .capacity_provider_strategy()
                .iter()
                .map(|c| c.capacity_provider().to_string())
                .collect(),
        }))
    }

    #[instrument(skip(self), fields(api = api::ECS_LIST_TASKS))]
    async fn recent_stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<TaskDetail>, ReadError> {
        // One page: stopped tasks stay visible for about an hour, the newest is what counts.
        let out = self
            .ecs
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(DesiredStatus::Stopped)
            .max_results(DESCRIBE_TASKS_BATCH as i32)
            .send()
            .await
            .map_err(|e| classify(api::ECS_LIST_TASKS, e))?;
        if out.task_arns().is_empty() {
            return Ok(vec![]);
        }
        let described = self
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(out.task_arns().to_vec()))
            .send()
            .instrument(info_span!("aws_call", api = api::ECS_DESCRIBE_TASKS))
            .await
            .map_err(|e| classify(api::ECS_DESCRIBE_TASKS, e))?;
        // ListTasks' serviceName filter is the service's; the group check keeps a reader that
        // ignores it (moto) honest.
        let group = format!("service:{service}");
        Ok(described
            .tasks()
            .iter()
            .filter(|t| t.group().is_none_or(|g| g == group))
            .map(task_detail)
            .collect())
    }

    #[instrument(skip(self), fields(api = api::ECS_DESCRIBE_CONTAINER_INSTANCES))]
    async fn container_host(
        &self,
        cluster: &str,
        container_instance_arn: &str,
    ) -> ReadResult<Host> {
        let arn = container_instance_arn.to_string();
        let hosts = self.container_hosts(cluster, &[arn]).await?;
        Ok(hosts.into_iter().next().map(|(_, host)| host))
    }

    async fn container_hosts(
        &self,
        cluster: &str,
        container_instance_arns: &[String],
    ) -> Result<Vec<(String, Host)>, ReadError> {
        let mut by_instance: Vec<(String, String)> = Vec::new();
        for chunk in container_instance_arns.chunks(DESCRIBE_CONTAINER_INSTANCES_BATCH) {
            let out = self
                .ecs
                .describe_container_instances()
                .cluster(cluster)
                .set_container_instances(Some(chunk.to_vec()))
                .send()
                .instrument(info_span!(
                    "aws_call",
                    api = api::ECS_DESCRIBE_CONTAINER_INSTANCES
                ))
                .await
                .map_err(|e| classify(api::ECS_DESCRIBE_CONTAINER_INSTANCES, e))?;
            // Keyed by the ARN as asked (old- and new-format ARNs end in the same id).
            let last = |arn: &str| name_of(arn).to_string();
            by_instance.extend(out.container_instances().iter().filter_map(|ci| {
                let found = last(ci.container_instance_arn()?);
                let asked = chunk.iter().find(|a| last(a) == found)?;
                Some((ci.ec2_instance_id()?.to_string(), asked.clone()))
            }));
        }
        let instance_ids: Vec<String> = by_instance.iter().map(|(id, _)| id.clone()).collect();
        let mut hosts = Vec::new();
        for chunk in instance_ids.chunks(DESCRIBE_INSTANCES_BATCH) {
            let out = self
                .ec2
                .describe_instances()
                .filters(filter("instance-id", chunk))
                .send()
                .instrument(info_span!("aws_call", api = api::EC2_DESCRIBE_INSTANCES))
                .await
                .map_err(|e| classify(api::EC2_DESCRIBE_INSTANCES, e))?;
            for i in out.reservations().iter().flat_map(|r| r.instances()) {
                let Some(instance_id) = i.instance_id() else {
                    continue;
                };
                let Some((_, arn)) = by_instance.iter().find(|(id, _)| id == instance_id) else {
                    continue;
                };
                hosts.push((
                    arn.clone(),
                    Host {
                        instance_id: instance_id.to_string(),
                        public_ip: i.public_ip_address().map(Into::into),
                        subnet_id: owned(i.subnet_id()),
                        vpc_id: owned(i.vpc_id()),
                        // The instance's groups are its primary interface's: read them from
                        // there when the instance-level list is empty.
                        security_group_ids: if i.security_groups().is_empty() {
                            i.network_interfaces()
                                .iter()
                                .flat_map(|n| n.groups())
                                .filter_map(|g| owned(g.group_id()))
                                .collect()
                        } else {
                            i.security_groups()
                                .iter()
                                .filter_map(|g| owned(g.group_id()))
                                .collect()
                        },
                    },
                ));
            }
        }
        Ok(hosts)
    }

    #[instrument(skip(self), fields(api = api::ECS_LIST_CONTAINER_INSTANCES))]
    async fn cluster_container_instances(
        &self,
        cluster: &str,
    ) -> Result<Option<Vec<String>>, ReadError> {
        let page_size = DESCRIBE_CONTAINER_INSTANCES_BATCH as i32;
        let out = self
            .ecs
            .list_container_instances()
            .cluster(cluster)
            .max_results(page_size)
            .send()
            .await
            .map_err(|e| classify(api::ECS_LIST_CONTAINER_INSTANCES, e))?;
        Ok(out
            .next_token()
            .is_none()
            .then(|| out.container_instance_arns().to_vec()))
    }

    #[instrument(skip(self), fields(api = api::ECS_DESCRIBE_CLUSTERS))]
    async fn cluster_default_strategy(&self, cluster: &str) -> ReadResult<Vec<String>> {
        let out = self
            .ecs
            .describe_clusters()
            .clusters(cluster)
            .send()
            .await
            .map_err(|e| classify(api::ECS_DESCRIBE_CLUSTERS, e))?;
        Ok(out.clusters().first().map(|c| {
            c.default_capacity_provider_strategy()
                .iter()
                .map(|item| item.capacity_provider().to_string())
                .collect()
        }))
    }
}

impl TaskLister for AwsReader {
    #[instrument(skip(self), fields(api = api::ECS_LIST_CLUSTERS))]
    async fn cluster_arns(&self) -> Result<Vec<String>, ReadError> {
        self.ecs
            .list_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::ECS_LIST_CLUSTERS, e))
    }

    #[instrument(skip(self), fields(api = api::ECS_LIST_TASKS))]
    async fn running_task_arns(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
        self.ecs
            .list_tasks()
            .cluster(cluster)
            .desired_status(DesiredStatus::Running)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::ECS_LIST_TASKS, e))
    }

    #[instrument(skip(self, arns), fields(api = api::ECS_DESCRIBE_TASKS, count = arns.len()))]
    async fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<TaskDetail>, ReadError> {
        let out = self
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api::ECS_DESCRIBE_TASKS, e))?;
        Ok(out.tasks().iter().map(task_detail).collect())
    }

    #[instrument(skip(self), fields(api = api::ECS_LIST_SERVICES))]
    async fn service_names(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
        let arns: Vec<String> = self
            .ecs
            .list_services()
            .cluster(cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::ECS_LIST_SERVICES, e))?;
        Ok(arns.iter().map(|a| name_of(a).to_string()).collect())
    }
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// A described task as the domain's task type: the same shape an ECS Task State Change event
/// carries in its `detail`.
fn task_detail(task: &Task) -> TaskDetail {
    TaskDetail {
        task_arn: task.task_arn().unwrap_or_default().to_string(),
        cluster_arn: owned(task.cluster_arn()),
        task_definition_arn: owned(task.task_definition_arn()),
        group: owned(task.group()),
        started_by: owned(task.started_by()),
        launch_type: task.launch_type().map(|l| l.as_str().to_string()),
        capacity_provider_name: owned(task.capacity_provider_name()),
        container_instance_arn: owned(task.container_instance_arn()),
        platform_version: owned(task.platform_version()),
        last_status: owned(task.last_status()),
        desired_status: owned(task.desired_status()),
        attachments: task
            .attachments()
            .iter()
            .map(|a| Attachment {
                id: owned(a.id()),
                kind: owned(a.r#type()),
                details: a
                    .details()
                    .iter()
                    .map(|d| KeyValue {
                        name: owned(d.name()),
                        value: owned(d.value()),
                    })
                    .collect(),
            })
            .collect(),
        containers: task
            .containers()
            .iter()
            .map(|c| Container {
                name: owned(c.name()),
                network_interfaces: c
                    .network_interfaces()
                    .iter()
                    .map(|n| ContainerNetworkInterface {
                        attachment_id: owned(n.attachment_id()),
                        private_ipv4_address: owned(n.private_ipv4_address()),
                    })
                    .collect(),
            })
            .collect(),
        version: Some(task.version()),
        stopped_reason: owned(task.stopped_reason()),
        stop_code: task.stop_code().map(|c| c.as_str().to_string()),
        stopped_at: task.stopped_at().map(|t| t.to_string()),
    }
}

/// A service's or deployment's `awsvpcConfiguration`.
fn awsvpc(
    config: Option<&aws_sdk_ecs::types::NetworkConfiguration>,
) -> Option<AwsVpcConfiguration> {
    let c = config?.awsvpc_configuration()?;
    Some(AwsVpcConfiguration {
        subnets: c.subnets().to_vec(),
        security_groups: c.security_groups().to_vec(),
        assign_public_ip: c
            .assign_public_ip()
            .is_some_and(|a| a.as_str().eq_ignore_ascii_case("ENABLED")),
    })
}

/// What the containers need fetched before they start.
fn start_needs(containers: &[aws_sdk_ecs::types::ContainerDefinition]) -> StartNeeds {
    let secret_sources: Vec<&str> = containers
        .iter()
        .flat_map(|c| c.secrets().iter().map(|s| s.value_from()))
        .chain(
            containers
                .iter()
                .filter_map(|c| c.log_configuration())
                .flat_map(|l| l.secret_options().iter().map(|s| s.value_from())),
        )
        .collect();
    StartNeeds::from_parts(
        containers.iter().filter_map(|c| owned(c.image())).collect(),
        containers.iter().any(|c| {
            c.log_configuration()
                .is_some_and(|l| l.log_driver().as_str() == "awslogs")
        }),
        &secret_sources,
    )
}
