//! Why did it stop: the stop and deployment events this checker diagnoses, what their reason
//! text says, and the facts the stop rules look at. Pure: the events come in parsed, the facts
//! read by `facts::stopped`.

use serde::Serialize;

use super::event::{EniAttachment, LaunchType, TaskEvent};
use super::facts::{
    Fact, HealthCheckPort, LoadBalancer, RouteTable, Service, Subnet, TargetGroup, TargetHealth,
    TaskDefinition, VpcDns, VpcEndpoint,
};
use super::net::{NetworkAcl, SecurityGroup};

/// `detail-type` of service deployment events.
pub const DEPLOYMENT_STATE_CHANGE: &str = "ECS Deployment State Change";
/// `detail-type` of service action events.
pub const SERVICE_ACTION: &str = "ECS Service Action";
/// Config resource type of service-level diagnoses.
pub const SERVICE_RESOURCE_TYPE: &str = "AWS::ECS::Service";

/// What happened, as the alert subject says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StopKind {
    /// `Task failed ELB health checks`.
    HealthCheckKill,
    /// `CannotPullContainerError` / `ResourceInitializationError`.
    StartFailure,
    /// `SERVICE_DEPLOYMENT_FAILED`: the circuit breaker rolled back.
    DeploymentFailed,
    /// `SERVICE_TASK_START_IMPAIRED`: tasks keep failing to start.
    TaskStartImpaired,
}

impl StopKind {
    /// The alert headline.
    pub fn headline(self) -> &'static str {
        match self {
            StopKind::HealthCheckKill => "ECS tasks killed by ELB health checks",
            StopKind::StartFailure => "ECS task failed to start",
            StopKind::DeploymentFailed => "ECS deployment failed",
            StopKind::TaskStartImpaired => "ECS tasks keep failing to start",
        }
    }
}

/// What a start failure's reason text points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureClass {
    /// The endpoint could not be reached: a network cause.
    Network,
    /// The request was refused: IAM, registry or KMS permissions.
    Permission,
    /// The image or tag does not exist.
    Image,
    /// Not recognised.
    Other,
}

/// Why a task stopped, as far as the reason text tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopCause {
    /// The load balancer's health checks failed.
    HealthCheck {
        /// The target group ARN the reason names (`(target-group ARN)`).
        target_group_arn: Option<String>,
        /// A Classic Load Balancer name (older form `(elb NAME)`).
        elb_name: Option<String>,
    },
    /// The image pull or resource initialisation (secrets, logs) failed.
    StartFailure {
        /// What the reason points at.
        class: FailureClass,
        /// Endpoint services the reason names (`ecr.api`, `ecr.dkr`, `s3`, `logs`,
        /// `secretsmanager`, `ssm`).
        services: Vec<&'static str>,
    },
}

const NETWORK_WORDS: [&str; 9] = [
    "i/o timeout",
    "dial tcp",
    "connection issue",
    "context deadline exceeded",
    "no such host",
    "connection refused",
    "connection reset",
    "tls handshake timeout",
    "network is unreachable",
];
const PERMISSION_WORDS: [&str; 6] = [
    "accessdenied",
    "access denied",
    "403",
    "not authorized",
    "unauthorized",
    "forbidden",
];
/// Image words that outrank permission words ("pull access denied ... repository does not
/// exist" is Docker Hub's answer for a missing repository).
const MISSING_IMAGE_WORDS: [&str; 3] = [
    "repository does not exist",
    "manifest unknown",
    "invalid reference format",
];
const IMAGE_WORDS: [&str; 1] = ["not found"];

/// The endpoint services a reason text names, in a stable order.
fn services_named(text: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |s| {
        if !out.contains(&s) {
            out.push(s)
        }
    };
    if text.contains("ecr registry auth") || text.contains("api.ecr.") {
        add("ecr.api");
    }
    if text.contains(".dkr.ecr.") {
        add("ecr.dkr");
    }
    if text.contains("starport-layer-bucket") || text.contains(".s3.") {
        add("s3");
    }
    if text.contains("secretsmanager") || text.contains("from asm") {
        add("secretsmanager");
    }
    if text.contains("ssm") {
        add("ssm");
    }
    if text.contains("logs.") || text.contains("log stream") || text.contains("cloudwatch") {
        add("logs");
    }
    out
}

/// Classifies a start failure's reason text.
pub fn classify_failure(reason: &str) -> FailureClass {
    let text = reason.to_ascii_lowercase();
    // Network words first: "dial tcp ... i/o timeout" can also contain "not found" in a URL.
    if NETWORK_WORDS.iter().any(|w| text.contains(w)) {
        FailureClass::Network
    } else if MISSING_IMAGE_WORDS.iter().any(|w| text.contains(w)) {
        FailureClass::Image
    } else if PERMISSION_WORDS.iter().any(|w| text.contains(w)) {
        FailureClass::Permission
    } else if IMAGE_WORDS.iter().any(|w| text.contains(w)) {
        FailureClass::Image
    } else {
        FailureClass::Other
    }
}

/// The text between the first `(` after `marker` and its `)`.
fn parenthesised_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = text.find(marker)? + marker.len();
    let rest = &text[start..];
    let end = rest.find(')')?;
    Some(rest[..end].trim())
}

/// What a STOPPED task's reason (and stop code) says, or `None` when it is not one this checker
/// diagnoses. The wording varies with the platform version, so the text is classified whatever
/// the stop code; `TaskFailedToStart` alone with an unknown text is not diagnosed.
pub fn classify_stop(stopped_reason: Option<&str>, stop_code: Option<&str>) -> Option<StopCause> {
    let reason = stopped_reason.unwrap_or_default().trim();
    if reason.starts_with("Task failed ELB health checks") {
        return Some(StopCause::HealthCheck {
            target_group_arn: parenthesised_after(reason, "(target-group ")
                .filter(|arn| arn.starts_with("arn:"))
                .map(str::to_string),
            elb_name: parenthesised_after(reason, "(elb ").map(str::to_string),
        });
    }
    let start_failure = ["CannotPullContainerError", "ResourceInitializationError"]
        .iter()
        .any(|p| reason.contains(p));
    let failed_to_start = stop_code.is_some_and(|c| c == "TaskFailedToStart");
    if start_failure || (failed_to_start && classify_failure(reason) == FailureClass::Network) {
        let text = reason.to_ascii_lowercase();
        return Some(StopCause::StartFailure {
            class: classify_failure(reason),
            services: services_named(&text),
        });
    }
    None
}

/// A STOPPED task whose reason this checker diagnoses.
#[derive(Debug, Clone, PartialEq)]
pub struct StoppedTask {
    /// The task, as its state-change event (or DescribeTasks) tells it.
    pub event: TaskEvent,
    /// `stoppedReason`.
    pub stopped_reason: String,
    /// `stopCode`, when present.
    pub stop_code: Option<String>,
    /// The diagnosis' starting point.
    pub cause: StopCause,
}

impl StoppedTask {
    /// What happened.
    pub fn kind(&self) -> StopKind {
        match self.cause {
            StopCause::HealthCheck { .. } => StopKind::HealthCheckKill,
            StopCause::StartFailure { .. } => StopKind::StartFailure,
        }
    }
}

/// A service-level event: a failed deployment or tasks that keep failing to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEvent {
    /// EventBridge event id.
    pub event_id: Option<String>,
    /// Region of the event.
    pub region: Option<String>,
    /// DeploymentFailed or TaskStartImpaired.
    pub kind: StopKind,
    /// The service ARN (`resources[0]`).
    pub service_arn: String,
    /// The cluster: `detail.clusterArn`, else the cluster named in a long service ARN.
    pub cluster: Option<String>,
    /// The service name (last part of the ARN).
    pub service_name: String,
    /// `detail.deploymentId` (deployment events).
    pub deployment_id: Option<String>,
    /// `detail.reason`, when present.
    pub reason: Option<String>,
}

impl ServiceEvent {
    /// Builds one from a service ARN: `arn:...:service/CLUSTER/NAME` (long) or `service/NAME`.
    pub fn names(service_arn: &str) -> (Option<String>, String) {
        let path = service_arn
            .split_once(":service/")
            .map_or(service_arn, |(_, p)| p);
        match path.split_once('/') {
            Some((cluster, name)) => (Some(cluster.to_string()), name.to_string()),
            None => (None, path.to_string()),
        }
    }
}

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
    /// The VPC's endpoints.
    pub endpoints: Fact<Vec<VpcEndpoint>>,
    /// The VPC's DNS attributes.
    pub dns: Fact<VpcDns>,
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
    fn stop_reasons_are_classified() {
        let tg = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/abc";
        let cases: Vec<(&str, Option<&str>, Option<StopCause>)> = vec![
            (
                "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/abc)",
                None,
                Some(StopCause::HealthCheck { target_group_arn: Some(tg.into()), elb_name: None }),
            ),
            (
                "Task failed ELB health checks in (elb legacy-web)",
                Some("ServiceSchedulerInitiated"),
                Some(StopCause::HealthCheck { target_group_arn: None, elb_name: Some("legacy-web".into()) }),
            ),
            (
                "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1: failed to do request: Head \"https://111122223333.dkr.ecr.us-east-1.amazonaws.com/v2/web/manifests/1\": dial tcp 10.0.1.5:443: i/o timeout",
                Some("TaskFailedToStart"),
                Some(StopCause::StartFailure { class: FailureClass::Network, services: vec!["ecr.dkr"] }),
            ),
            (
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed caused by: Post \"https://api.ecr.us-east-1.amazonaws.com/\": dial tcp 52.1.2.3:443: i/o timeout",
                Some("TaskFailedToStart"),
                Some(StopCause::StartFailure { class: FailureClass::Network, services: vec!["ecr.api"] }),
            ),
            (
                "CannotPullContainerError: pull access denied for private/web, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
                None,
                Some(StopCause::StartFailure { class: FailureClass::Image, services: vec![] }),
            ),
            (
                "ResourceInitializationError: unable to pull secrets or registry auth: AccessDeniedException: User is not authorized to perform: secretsmanager:GetSecretValue",
                None,
                Some(StopCause::StartFailure { class: FailureClass::Permission, services: vec!["secretsmanager"] }),
            ),
            (
                "CannotPullContainerError: failed to resolve ref docker.io/library/nginx:latest: manifest unknown",
                None,
                Some(StopCause::StartFailure { class: FailureClass::Image, services: vec![] }),
            ),
            // Other wording, but the stop code says it failed to start for a network reason.
            ("Timeout waiting for network interface provisioning: context deadline exceeded", Some("TaskFailedToStart"),
                Some(StopCause::StartFailure { class: FailureClass::Network, services: vec![] })),
            ("Essential container in task exited", Some("EssentialContainerExited"), None),
            ("Scaling activity initiated by (deployment ecs-svc/1)", Some("ServiceSchedulerInitiated"), None),
            ("CannotStartContainerError: exec format error", Some("TaskFailedToStart"), None),
            ("", None, None),
        ];
        for (reason, code, want) in cases {
            assert_eq!(classify_stop(Some(reason), code), want, "{reason}");
        }
    }

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
    fn service_names_come_from_long_and_short_arns() {
        assert_eq!(
            ServiceEvent::names("arn:aws:ecs:us-east-1:1:service/prod/web"),
            (Some("prod".into()), "web".into())
        );
        assert_eq!(
            ServiceEvent::names("arn:aws:ecs:us-east-1:1:service/web"),
            (None, "web".into())
        );
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
