//! The task as ECS describes it (the `detail` of a *Task State Change*, a DescribeTasks
//! `Task`): the fields the checks use, and what they derive from them (launch type, service,
//! ENI attachment). Parsing the events that carry it is `event.rs`'s.

use serde::Deserialize;

/// The `detail` of an *ECS Task State Change*: the DescribeTasks `Task` object, fields we use.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDetail {
    /// Task ARN (required).
    pub task_arn: String,
    /// Cluster ARN.
    #[serde(default)]
    pub cluster_arn: Option<String>,
    /// Task definition ARN (revision-qualified).
    #[serde(default)]
    pub task_definition_arn: Option<String>,
    /// `service:NAME` or `family:NAME`.
    #[serde(default)]
    pub group: Option<String>,
    /// `ecs-svc/<deployment id>` for service tasks.
    #[serde(default)]
    pub started_by: Option<String>,
    /// EC2, FARGATE or EXTERNAL; absent on some capacity-provider tasks.
    #[serde(default)]
    pub launch_type: Option<String>,
    /// Capacity provider name (ASG or FARGATE / FARGATE_SPOT).
    #[serde(default)]
    pub capacity_provider_name: Option<String>,
    /// Container instance ARN (EC2 launch type only).
    #[serde(default)]
    pub container_instance_arn: Option<String>,
    /// Fargate platform version (Fargate only).
    #[serde(default)]
    pub platform_version: Option<String>,
    /// Last known status, e.g. RUNNING, STOPPED.
    #[serde(default)]
    pub last_status: Option<String>,
    /// Desired status: STOPPED on a RUNNING task means it is being stopped.
    #[serde(default)]
    pub desired_status: Option<String>,
    /// Task attachments (ENI, ELB, service discovery).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Containers of the task.
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Increases with every change of the task; `taskArn + version` identifies a delivery.
    #[serde(default)]
    pub version: Option<i64>,
    /// Why a STOPPED task stopped.
    #[serde(default)]
    pub stopped_reason: Option<String>,
    /// The stop code of a STOPPED task (`TaskFailedToStart`, `EssentialContainerExited`, ...).
    #[serde(default)]
    pub stop_code: Option<String>,
    /// When it stopped (RFC 3339), to find the newest stopped task of a service.
    #[serde(default)]
    pub stopped_at: Option<String>,
}

/// A task attachment; `type` is `eni` in events and `ElasticNetworkInterface` in the API.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Attachment id.
    #[serde(default)]
    pub id: Option<String>,
    /// Attachment type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Name/value details.
    #[serde(default)]
    pub details: Vec<KeyValue>,
}

/// One `{name, value}` pair of an attachment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KeyValue {
    /// Detail name, e.g. `networkInterfaceId`.
    #[serde(default)]
    pub name: Option<String>,
    /// Detail value.
    #[serde(default)]
    pub value: Option<String>,
}

/// A container of the task.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Container name.
    #[serde(default)]
    pub name: Option<String>,
    /// Network interfaces of the container (awsvpc).
    #[serde(default)]
    pub network_interfaces: Vec<ContainerNetworkInterface>,
}

/// A container's view of the task ENI.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerNetworkInterface {
    /// The ENI attachment id.
    #[serde(default)]
    pub attachment_id: Option<String>,
    /// Private IPv4 address.
    #[serde(default)]
    pub private_ipv4_address: Option<String>,
}

/// The task's ENI as named in the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EniAttachment {
    /// `eni-...`
    pub network_interface_id: String,
    /// `subnet-...`, when the event carries it.
    pub subnet_id: Option<String>,
    /// Private IPv4 address, when known.
    pub private_ipv4_address: Option<String>,
}

/// The task's launch type as far as the event tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchType {
    /// EC2 container instances.
    Ec2,
    /// AWS Fargate.
    Fargate,
    /// ECS Managed Instances: like EC2 for the direct path (each task has its own ENI on a trunk
    /// ENI; only the instance's primary ENI can hold a public IP; developer guide:
    /// managed-instances-awsvpc-mode).
    ManagedInstances,
    /// ECS Anywhere.
    External,
}

impl LaunchType {
    /// The ECS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LaunchType::Ec2 => "EC2",
            LaunchType::Fargate => "FARGATE",
            LaunchType::ManagedInstances => "MANAGED_INSTANCES",
            LaunchType::External => "EXTERNAL",
        }
    }
}

impl TaskDetail {
    /// The launch type: `launchType`, else EC2 when a container instance is named, else
    /// FARGATE for a Fargate capacity provider or platform version; `None` when unknowable.
    pub fn launch_type(&self) -> Option<LaunchType> {
        match self
            .launch_type
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("EC2") => return Some(LaunchType::Ec2),
            Some("FARGATE") => return Some(LaunchType::Fargate),
            Some("MANAGED_INSTANCES") => return Some(LaunchType::ManagedInstances),
            Some("EXTERNAL") => return Some(LaunchType::External),
            _ => {}
        }
        if self.container_instance_arn.is_some() {
            return Some(LaunchType::Ec2);
        }
        let fargate_cp = self
            .capacity_provider_name
            .as_deref()
            .is_some_and(|cp| cp.starts_with("FARGATE"));
        if fargate_cp || self.platform_version.is_some() {
            return Some(LaunchType::Fargate);
        }
        None
    }

    /// The service name when the task belongs to a service (`group` = `service:NAME`).
    pub fn service_name(&self) -> Option<&str> {
        self.group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
            .filter(|s| !s.is_empty())
    }

    /// The cluster name (last part of the cluster ARN).
    pub fn cluster_name(&self) -> Option<&str> {
        self.cluster_arn.as_deref().map(crate::domain::org::name_of)
    }

    /// The task's ENI attachment, if the event carries one with an ENI id.
    pub fn eni_attachment(&self) -> Option<EniAttachment> {
        let attachment = self.attachments.iter().find(|a| {
            a.kind.as_deref().is_some_and(|k| {
                k.eq_ignore_ascii_case("eni") || k.eq_ignore_ascii_case("ElasticNetworkInterface")
            })
        })?;
        let detail = |name: &str| {
            attachment
                .details
                .iter()
                .find(|d| d.name.as_deref() == Some(name))
                .and_then(|d| d.value.clone())
                .filter(|v| !v.is_empty())
        };
        let network_interface_id = detail("networkInterfaceId")?;
        let private_ipv4_address = detail("privateIPv4Address").or_else(|| {
            self.containers
                .iter()
                .flat_map(|c| &c.network_interfaces)
                .find(|n| n.attachment_id.is_some() && n.attachment_id == attachment.id)
                .and_then(|n| n.private_ipv4_address.clone())
        });
        Some(EniAttachment {
            network_interface_id,
            subnet_id: detail("subnetId"),
            private_ipv4_address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn private_ip_falls_back_to_container_network_interfaces() {
        let detail: TaskDetail = serde_json::from_value(json!({"taskArn":"arn:t",
            "attachments":[{"id":"att-1","type":"eni","details":[{"name":"networkInterfaceId","value":"eni-1"}]}],
            "containers":[{"name":"web","networkInterfaces":[{"attachmentId":"att-1","privateIpv4Address":"10.0.0.9"}]}]}))
        .unwrap();
        assert_eq!(
            detail
                .eni_attachment()
                .unwrap()
                .private_ipv4_address
                .as_deref(),
            Some("10.0.0.9")
        );
    }

    #[test]
    fn launch_type_resolution() {
        let cases = [
            (
                json!({"taskArn":"a","launchType":"EC2"}),
                Some(LaunchType::Ec2),
            ),
            (
                json!({"taskArn":"a","launchType":"FARGATE"}),
                Some(LaunchType::Fargate),
            ),
            (
                json!({"taskArn":"a","launchType":"EXTERNAL"}),
                Some(LaunchType::External),
            ),
            (
                json!({"taskArn":"a","containerInstanceArn":"ci"}),
                Some(LaunchType::Ec2),
            ),
            (
                json!({"taskArn":"a","capacityProviderName":"FARGATE_SPOT"}),
                Some(LaunchType::Fargate),
            ),
            (
                json!({"taskArn":"a","platformVersion":"1.4.0"}),
                Some(LaunchType::Fargate),
            ),
            (json!({"taskArn":"a"}), None),
        ];
        for (v, want) in cases {
            let d: TaskDetail = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(d.launch_type(), want, "{v}");
        }
    }

    #[test]
    fn service_and_cluster_names() {
        let d: TaskDetail = serde_json::from_value(json!({"taskArn":"a","group":"service:web",
            "clusterArn":"arn:aws:ecs:us-east-1:1:cluster/prod"}))
        .unwrap();
        assert_eq!(d.service_name(), Some("web"));
        assert_eq!(d.cluster_name(), Some("prod"));
        let d: TaskDetail =
            serde_json::from_value(json!({"taskArn":"a","group":"family:web"})).unwrap();
        assert_eq!(d.service_name(), None);
    }
}
