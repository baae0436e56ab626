//! Ports: small traits, one job each, that the core uses to read facts and publish alerts.
//! The AWS adapters implement them; the core never sees an SDK type.

use std::future::Future;

use thiserror::Error;

use crate::domain::alert::Alert;
use crate::domain::facts::{
    Host, Listener, LoadBalancer, NetworkInterface, RouteTable, Service, Subnet, TargetGroup,
    TaskDefinition, Unreadable,
};
use crate::domain::net::{NetworkAcl, SecurityGroup};

/// Why a read failed.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ReadError {
    /// The fact cannot be read (AccessDenied, invalid or deleted resource): the verdict
    /// becomes INSUFFICIENT_DATA.
    #[error("{0}")]
    Unreadable(Unreadable),
    /// A failure that persisted after the SDK's retries (throttling, 5xx, timeout,
    /// connection): the check fails so that it is retried.
    #[error("{api} failed: {message}")]
    Failed {
        /// IAM-style action name.
        api: &'static str,
        /// Error description.
        message: String,
    },
}

/// Result of a read: `Ok(None)` when the resource does not exist.
pub type ReadResult<T> = Result<Option<T>, ReadError>;

/// Reads a task definition (DescribeTaskDefinition).
pub trait TaskDefinitionGet {
    /// The task definition with this ARN.
    fn task_definition(&self, arn: &str)
        -> impl Future<Output = ReadResult<TaskDefinition>> + Send;
}

/// Reads an ECS service (DescribeServices). A MISSING service is `Ok(None)`.
pub trait ServiceGet {
    /// The service `name` of `cluster`.
    fn service(
        &self,
        cluster: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Service>> + Send;
}

/// Reads an ENI (DescribeNetworkInterfaces with the `network-interface-id` filter).
pub trait NetworkInterfaceGet {
    /// The ENI with this id.
    fn network_interface(
        &self,
        id: &str,
    ) -> impl Future<Output = ReadResult<NetworkInterface>> + Send;
}

/// Reads the route tables of a VPC (DescribeRouteTables with the `vpc-id` filter).
pub trait RouteTablesGet {
    /// All route tables of the VPC, with their associations.
    fn route_tables(
        &self,
        vpc_id: &str,
    ) -> impl Future<Output = Result<Vec<RouteTable>, ReadError>> + Send;
}

/// Resolves a container instance to its EC2 host (DescribeContainerInstances → DescribeInstances).
pub trait ContainerHostGet {
    /// The host of `container_instance_arn` in `cluster`; `Ok(None)` when it is gone.
    fn container_host(
        &self,
        cluster: &str,
        container_instance_arn: &str,
    ) -> impl Future<Output = ReadResult<Host>> + Send;
}

/// Reads the network ACL associated with a subnet (DescribeNetworkAcls).
pub trait NetworkAclGet {
    /// The ACL of `subnet_id`; `Ok(None)` when none is associated.
    fn network_acl(&self, subnet_id: &str) -> impl Future<Output = ReadResult<NetworkAcl>> + Send;
}

/// Reads security groups with their rules (DescribeSecurityGroups).
pub trait SecurityGroupsGet {
    /// The groups with these ids (missing ones are left out).
    fn security_groups(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<SecurityGroup>, ReadError>> + Send;
}

/// Reads subnets (DescribeSubnets).
pub trait SubnetsGet {
    /// The subnets with these ids (missing ones are left out).
    fn subnets(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Subnet>, ReadError>> + Send;
}

/// Reads target groups (DescribeTargetGroups, and the NLB client-IP attribute).
pub trait TargetGroupsGet {
    /// The target groups with these ARNs.
    fn target_groups(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<TargetGroup>, ReadError>> + Send;
}

/// Reads load balancers (DescribeLoadBalancers).
pub trait LoadBalancersGet {
    /// The load balancers with these ARNs.
    fn load_balancers(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<LoadBalancer>, ReadError>> + Send;
}

/// Reads listeners and, where the default action does not forward to one of
/// `target_group_arns`, their rules (DescribeListeners, DescribeRules).
pub trait ListenersGet {
    /// Listeners of `load_balancer_arn` with the target groups each forwards to.
    fn listeners(
        &self,
        load_balancer_arn: &str,
        target_group_arns: &[String],
    ) -> impl Future<Output = Result<Vec<Listener>, ReadError>> + Send;
}

/// Reads the registered targets of a target group (DescribeTargetHealth).
pub trait TargetHealthGet {
    /// Target ids (IPs for `ip` target groups) registered in `target_group_arn`.
    fn registered_targets(
        &self,
        target_group_arn: &str,
    ) -> impl Future<Output = Result<Vec<String>, ReadError>> + Send;
}

/// Every read the task check needs.
pub trait TaskFactsRead:
    TaskDefinitionGet
    + ServiceGet
    + NetworkInterfaceGet
    + RouteTablesGet
    + ContainerHostGet
    + NetworkAclGet
    + SecurityGroupsGet
    + SubnetsGet
    + TargetGroupsGet
    + LoadBalancersGet
    + ListenersGet
    + TargetHealthGet
    + Sync
{
}

impl<T> TaskFactsRead for T where
    T: TaskDefinitionGet
        + ServiceGet
        + NetworkInterfaceGet
        + RouteTablesGet
        + ContainerHostGet
        + NetworkAclGet
        + SecurityGroupsGet
        + SubnetsGet
        + TargetGroupsGet
        + LoadBalancersGet
        + ListenersGet
        + TargetHealthGet
        + Sync
{
}

/// Why an alert could not be published.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("publishing the alert failed: {0}")]
pub struct PublishError(pub String);

/// Publishes an alert (SNS Publish).
pub trait AlertPublish {
    /// Publishes and returns the message id.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<String, PublishError>> + Send;
}

/// The outcome of claiming an alert's dedup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody published this alert yet: publish it.
    Acquired,
    /// Already published (or being published) for this key: do not publish again.
    Duplicate,
}

/// The dedup store could not be used (the alert is then published anyway).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("alert dedup store failed: {0}")]
pub struct DedupError(pub String);

/// Two-phase alert idempotency (claim → publish → complete, or release on failure).
pub trait AlertDedup {
    /// Claims `key` with a short IN_PROGRESS expiry.
    fn claim(&self, key: &str) -> impl Future<Output = Result<Claim, DedupError>> + Send;
    /// Marks `key` COMPLETE for the dedup window.
    fn complete(&self, key: &str) -> impl Future<Output = Result<(), DedupError>> + Send;
    /// Deletes the claim so that a retry can alert.
    fn release(&self, key: &str) -> impl Future<Output = Result<(), DedupError>> + Send;
}

/// Reports evaluations to AWS Config (PutEvaluations, ≤ 100 a call).
pub trait EvaluationsPut {
    /// Sends one batch; returns how many Config rejected.
    fn put_evaluations(
        &self,
        result_token: &str,
        batch: &[crate::domain::config_rule::ConfigEvaluation],
    ) -> impl Future<Output = Result<usize, ReadError>> + Send;
}
