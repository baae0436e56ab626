//! Why did it stop: the facts the stop rules look at and whose network they are about. The
//! events are parsed in [`super::event`], their reason text classified in
//! [`super::stop_reason`] (both re-exported here); the facts are read by `facts::stopped`.

use serde::Serialize;

pub use super::event::{ServiceEvent, StoppedTask};
use super::facts::{
    Fact, HealthCheckPort, LoadBalancer, NatGateway, NatInstance, RouteTable, Service, Subnet,
    TargetGroup, TargetHealth, TaskDefinition, VpcDns, VpcEndpoint,
};
use super::net::{NetworkAcl, SecurityGroup};
pub use super::stop_reason::*;
use super::task::{EniAttachment, LaunchType};

/// The stop-related context of an evaluation: what the alert subject, dedup and body use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StopContext {
    /// What happened.
    pub kind: StopKind,
    /// The stopped task's `stoppedReason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// The stopped task's `stopCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// The task diagnosed (for service events, the newest stopped one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_task: Option<String>,
    /// The deployment: the event's, the one that started the task, or the PRIMARY one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The service's deployment event reason, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_reason: Option<String>,
}

/// The network a task had: from the event (subnet, IP) and its deployment (groups, public IP),
/// since the ENI is usually gone by the time the task is STOPPED.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskNetworkConfig {
    /// The task's subnet.
    pub subnet_id: String,
    /// Its private IPv4.
    pub private_ip: Option<String>,
    /// Its security groups.
    pub security_group_ids: Vec<String>,
    /// Whether it had a public IPv4.
    pub public_ip: bool,
    /// Where the groups came from (`deployment ecs-svc/1`, `service web`, `ENI eni-1`).
    pub source: String,
}

/// Whose network an image pull (and secret, log setup) goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Puller {
    /// The task's own ENI (Fargate platform 1.4.0+).
    TaskEni,
    /// The container instance's network (EC2, Managed Instances): the agent pulls.
    Instance(String),
}

/// The network an image pull goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullPath {
    /// Task ENI or instance.
    pub via: Puller,
    /// Its subnet.
    pub subnet_id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Whether it has a public IPv4.
    pub public_ip: bool,
    /// Its security groups.
    pub security_group_ids: Vec<String>,
}

impl PullPath {
    /// How to name the path in a finding.
    pub fn describe(&self) -> String {
        match &self.via {
            Puller::TaskEni => format!("the task ENI in subnet {}", self.subnet_id),
            Puller::Instance(id) => format!(
                "container instance {id} (the agent pulls through the instance) in subnet {}",
                self.subnet_id
            ),
        }
    }
}

/// Facts of a health-check diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheckFacts {
    /// The target group the reason names.
    pub target_group: Fact<TargetGroup>,
    /// Its load balancers.
    pub load_balancers: Fact<Vec<LoadBalancer>>,
    /// The subnets of the VPC (task and load-balancer subnets: CIDRs, Availability Zones).
    pub subnets: Fact<Vec<Subnet>>,
    /// The task's target health, if its IP is still registered.
    pub target_health: Fact<Option<TargetHealth>>,
}

/// Facts of a start-failure diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub struct PullFacts {
    /// The network the pull went through.
    pub path: Fact<PullPath>,
    /// The route table in force for its subnet.
    pub route_table: Fact<RouteTable>,
    /// Every route table of its VPC (where a NAT gateway's own subnet routes).
    pub route_tables: Fact<Vec<RouteTable>>,
    /// The VPC's NAT gateways.
    pub nat_gateways: Fact<Vec<NatGateway>>,
    /// The NAT instance the pull's route leads to (`None` when it leads to none).
    pub nat_instance: Option<Fact<NatInstance>>,
    /// The VPC's endpoints.
    pub endpoints: Fact<Vec<VpcEndpoint>>,
    /// The VPC's DNS attributes.
    pub dns: Fact<VpcDns>,
    /// VPC Block Public Access in the pull's account and Region (it can stop a way out that
    /// the routes show open).
    pub public_access: Fact<crate::domain::public_access::PublicAccessBlock>,
    /// The VPC's subnets (CIDRs for endpoint security groups).
    pub subnets: Fact<Vec<Subnet>>,
}

/// Everything the stop rules look at for one stopped task.
#[derive(Debug, Clone, PartialEq)]
pub struct StopFacts {
    /// The task definition (ports, images, log drivers, secrets).
    pub task_definition: Fact<TaskDefinition>,
    /// The service (deployments, network, grace period), for service tasks.
    pub service: Option<Fact<Service>>,
    /// The task's network (health checks).
    pub task_network: Fact<TaskNetworkConfig>,
    /// Security groups of the task or instance, the load balancers and the endpoints.
    pub security_groups: Fact<Vec<SecurityGroup>>,
    /// The network ACL of the task subnet (health checks) or the pulling subnet (pulls).
    pub network_acl: Fact<NetworkAcl>,
    /// Health-check facts, for a health-check kill.
    pub health_check: Option<HealthCheckFacts>,
    /// Pull facts, for a start failure.
    pub pull: Option<PullFacts>,
}

/// The task's network from the event and its service: subnet and IP from the ENI attachment,
/// groups and public IP from the deployment that started it.
pub fn task_network_from(
    attachment: Option<&EniAttachment>,
    service: Option<&Service>,
    started_by: Option<&str>,
) -> Option<TaskNetworkConfig> {
    let (network, source) = service?.network_of(started_by)?;
    let subnet_id = attachment
        .and_then(|a| a.subnet_id.clone())
        .or_else(|| (network.subnets.len() == 1).then(|| network.subnets[0].clone()))?;
    Some(TaskNetworkConfig {
        subnet_id,
        private_ip: attachment.and_then(|a| a.private_ipv4_address.clone()),
        security_group_ids: network.security_groups.clone(),
        public_ip: network.assign_public_ip,
        source,
    })
}

/// Whether a launch type pulls through the instance (EC2, Managed Instances) or the task ENI.
pub fn pulls_through_instance(launch_type: Option<LaunchType>) -> bool {
    matches!(
        launch_type,
        Some(LaunchType::Ec2 | LaunchType::ManagedInstances)
    )
}

/// The port the health check connects to: a fixed port, or the traffic port (the mapping's
/// container port).
pub fn health_check_port(port: &HealthCheckPort, traffic_port: Option<i32>) -> Option<i32> {
    match port {
        HealthCheckPort::Port(p) => Some(*p),
        HealthCheckPort::TrafficPort => traffic_port,
    }
}

/// Whether an image comes from Amazon ECR (private registry: `*.dkr.ecr.*.amazonaws.com`),
/// which ECR endpoints serve; any other registry (Docker Hub, public.ecr.aws, ghcr.io) needs a
/// way to the internet.
pub fn is_private_ecr_image(image: &str) -> bool {
    let host = image.split('/').next().unwrap_or_default();
    image.contains('/')
        && host.contains(".dkr.ecr.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ecr_images_are_told_from_other_registries() {
        for (image, ecr) in [
            ("111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1", true),
            ("111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/web", true),
            ("public.ecr.aws/nginx/nginx:latest", false),
            ("nginx:latest", false),
            ("ghcr.io/org/app:1", false),
            ("docker.io/library/redis", false),
        ] {
            assert_eq!(is_private_ecr_image(image), ecr, "{image}");
        }
    }

    #[test]
    fn the_task_network_comes_from_its_deployment_then_primary_then_service() {
        use crate::domain::facts::{AwsVpcConfiguration, Deployment};
        let net = |sg: &str| AwsVpcConfiguration {
            subnets: vec!["subnet-a".into()],
            security_groups: vec![sg.into()],
            assign_public_ip: false,
        };
        let service = Service {
            name: "web".into(),
            network: Some(net("sg-service")),
            deployments: vec![
                Deployment {
                    id: "ecs-svc/new".into(),
                    status: "PRIMARY".into(),
                    network: Some(net("sg-new")),
                    ..Default::default()
                },
                Deployment {
                    id: "ecs-svc/old".into(),
                    status: "ACTIVE".into(),
                    network: Some(net("sg-old")),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let attachment = EniAttachment {
            network_interface_id: "eni-1".into(),
            subnet_id: Some("subnet-b".into()),
            private_ipv4_address: Some("10.0.3.7".into()),
        };
        let of = |started_by: Option<&str>, svc: &Service| {
            task_network_from(Some(&attachment), Some(svc), started_by).unwrap()
        };
        let old = of(Some("ecs-svc/old"), &service);
        assert_eq!(old.security_group_ids, vec!["sg-old"]);
        assert_eq!(old.subnet_id, "subnet-b", "the event's subnet wins");
        assert_eq!(old.source, "deployment ecs-svc/old");
        assert_eq!(
            of(Some("someone"), &service).security_group_ids,
            vec!["sg-new"]
        );
        let mut bare = service.clone();
        bare.deployments.clear();
        assert_eq!(of(None, &bare).source, "service web");
        bare.network = None;
        assert!(task_network_from(Some(&attachment), Some(&bare), None).is_none());
    }
}
