//! Ports: the traits the use cases read facts and deliver verdicts through, shaped around
//! their consumers: the task check reads through [`FactReader`] (ECS, EC2 and ELB readers), the
//! audit and the Config mode list tasks through [`TaskLister`], alerts go out through
//! [`AlertPublish`] and [`AlertDedup`], Config verdicts through [`EvaluationsPut`]. The AWS
//! adapters, the fact cache and the in-memory fake implement them; none exposes an SDK type.

use std::future::Future;

use thiserror::Error;

use crate::domain::facts::{
    Host, Listener, LoadBalancer, NatGateway, NatInstance, NetworkInterface, RouteTable, Service,
    Subnet, TargetGroup, TargetHealth, TaskDefinition, Unreadable, VpcDns, VpcEndpoint,
};
use crate::domain::net::{NetworkAcl, SecurityGroup};
use crate::domain::org::ResourceScope;
use crate::domain::task::TaskDetail;
use crate::render::sns::Alert;

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
    /// The read was not started, or was cut, because the invocation's time budget is spent:
    /// the check fails cleanly before Lambda would kill it.
    #[error("{api} not read: the invocation's time budget is spent")]
    OutOfTime {
        /// IAM-style action name.
        api: &'static str,
    },
}

/// Result of a read: `Ok(None)` when the resource does not exist.
pub type ReadResult<T> = Result<Option<T>, ReadError>;

/// Which resources of a kind a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    /// These ids.
    Ids(&'a [String]),
    /// Every one in this VPC: one read in the wave that learns the VPC, instead of a wave of
    /// its own once the ids are known.
    InVpc(&'a str),
}

impl Selection<'_> {
    /// A cache key (ids in any order give the same key).
    pub fn key(&self) -> String {
        match self {
            Selection::Ids(ids) => {
                let mut sorted = ids.to_vec();
                sorted.sort();
                sorted.join(",")
            }
            Selection::InVpc(vpc) => format!("vpc:{vpc}"),
        }
    }
}

/// ECS reads of the task check (one implementation per source: AWS, the cache, the fake).
pub trait EcsReader: Sync {
    /// The task definition with this ARN (DescribeTaskDefinition).
    fn task_definition(&self, arn: &str)
        -> impl Future<Output = ReadResult<TaskDefinition>> + Send;

    /// The service `name` of `cluster` (DescribeServices); a MISSING service is `Ok(None)`.
    fn service(
        &self,
        cluster: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Service>> + Send;

    /// The service's most recently stopped tasks (ListTasks desiredStatus=STOPPED, one page,
    /// → DescribeTasks), for a failed deployment; stopped tasks stay visible for about an hour.
    fn recent_stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Vec<TaskDetail>, ReadError>> + Send;

    /// The EC2 host of a container instance (DescribeContainerInstances → DescribeInstances);
    /// `Ok(None)` when it is gone.
    fn container_host(
        &self,
        cluster: &str,
        container_instance_arn: &str,
    ) -> impl Future<Output = ReadResult<Host>> + Send;

    /// The EC2 hosts of many container instances of one cluster, in as few calls as the APIs
    /// allow (DescribeContainerInstances ≤ 100 ARNs, DescribeInstances ≤ 1,000 ids); gone ones
    /// are left out. A caching reader keeps them for the next `container_host` of each ARN.
    fn container_hosts(
        &self,
        cluster: &str,
        container_instance_arns: &[String],
    ) -> impl Future<Output = Result<Vec<(String, Host)>, ReadError>> + Send;

    /// The cluster's container instances (ListContainerInstances, one page of at most
    /// [`DESCRIBE_CONTAINER_INSTANCES_BATCH`]); `None` when the cluster has more, so that a
    /// caller reads a small cluster's hosts at once and a large one's only as asked.
    fn cluster_container_instances(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Option<Vec<String>>, ReadError>> + Send;
}

/// EC2 reads of the task check: the task's network.
pub trait Ec2Reader: Sync {
    /// The ENI with this id (DescribeNetworkInterfaces).
    fn network_interface(
        &self,
        id: &str,
    ) -> impl Future<Output = ReadResult<NetworkInterface>> + Send;

    /// Many ENIs in one call (≤ 200 ids; the audit reads its tasks' ENIs in bulk). A caching
    /// reader keeps them for the next `network_interface` of each id.
    fn network_interfaces(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<NetworkInterface>, ReadError>> + Send;

    /// All route tables of a VPC, with their associations (DescribeRouteTables).
    fn route_tables(
        &self,
        vpc_id: &str,
    ) -> impl Future<Output = Result<Vec<RouteTable>, ReadError>> + Send;

    /// Network ACLs with their subnets (DescribeNetworkAcls): `Ids` are *subnet* ids (the ACLs
    /// associated with them), `InVpc` every ACL of the VPC (the task's and its load balancers'
    /// subnets in one read).
    fn network_acls(
        &self,
        which: Selection<'_>,
    ) -> impl Future<Output = Result<Vec<NetworkAcl>, ReadError>> + Send;

    /// Security groups with their rules (DescribeSecurityGroups); missing ones are left out.
    fn security_groups(
        &self,
        which: Selection<'_>,
    ) -> impl Future<Output = Result<Vec<SecurityGroup>, ReadError>> + Send;

    /// The CIDRs of a managed prefix list a security-group rule references
    /// (GetManagedPrefixListEntries).
    fn prefix_list_cidrs(&self, id: &str) -> impl Future<Output = ReadResult<Vec<String>>> + Send;

    /// The EC2 instance a route sends 0.0.0.0/0 to (DescribeInstances); `Ok(None)` when it is
    /// gone.
    fn nat_instance(&self, id: &str) -> impl Future<Output = ReadResult<NatInstance>> + Send;

    /// The VPC's NAT gateways, deleted and failed ones included (DescribeNatGateways).
    fn nat_gateways(
        &self,
        vpc_id: &str,
    ) -> impl Future<Output = Result<Vec<NatGateway>, ReadError>> + Send;

    /// The VPC's endpoints (DescribeVpcEndpoints).
    fn vpc_endpoints(
        &self,
        vpc_id: &str,
    ) -> impl Future<Output = Result<Vec<VpcEndpoint>, ReadError>> + Send;

    /// The VPC's DNS attributes (two DescribeVpcAttribute calls); `Ok(None)` when the VPC is
    /// gone.
    fn vpc_dns(&self, vpc_id: &str) -> impl Future<Output = ReadResult<VpcDns>> + Send;

    /// Subnets (DescribeSubnets); missing ones are left out.
    fn subnets(
        &self,
        which: Selection<'_>,
    ) -> impl Future<Output = Result<Vec<Subnet>, ReadError>> + Send;
}

/// Elastic Load Balancing reads of the task check: the service's load-balancer path.
pub trait ElbReader: Sync {
    /// Target groups (DescribeTargetGroups, and the NLB client-IP attribute).
    fn target_groups(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<TargetGroup>, ReadError>> + Send;

    /// Load balancers (DescribeLoadBalancers).
    fn load_balancers(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<LoadBalancer>, ReadError>> + Send;

    /// Listeners of a load balancer with the target groups each forwards to
    /// (DescribeListeners). Rules (DescribeRules) are read only when some of
    /// `target_group_arns` is forwarded to by no default action, and then only for the
    /// listeners whose default action forwards to none of them.
    fn listeners(
        &self,
        load_balancer_arn: &str,
        target_group_arns: &[String],
    ) -> impl Future<Output = Result<Vec<Listener>, ReadError>> + Send;

    /// The targets registered in a target group with their health (DescribeTargetHealth).
    fn target_health(
        &self,
        target_group_arn: &str,
    ) -> impl Future<Output = Result<Vec<TargetHealth>, ReadError>> + Send;
}

/// Every read the task check needs.
pub trait FactReader: EcsReader + Ec2Reader + ElbReader {}

impl<T: EcsReader + Ec2Reader + ElbReader> FactReader for T {}

/// Lists a cluster's tasks and services, for the audit, `check --task` and the Config mode.
pub trait TaskLister: Sync {
    /// Every cluster ARN of the account and region (ListClusters).
    fn cluster_arns(&self) -> impl Future<Output = Result<Vec<String>, ReadError>> + Send;

    /// ARNs of the cluster's RUNNING tasks (ListTasks).
    fn running_task_arns(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<String>, ReadError>> + Send;

    /// The tasks with these ARNs (DescribeTasks, ≤ 100), as the domain's task type.
    fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<TaskDetail>, ReadError>> + Send;

    /// Service names of a cluster (ListServices).
    fn service_names(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<String>, ReadError>> + Send;
}

/// DescribeTasks accepts at most this many ARNs.
pub const DESCRIBE_TASKS_BATCH: usize = 100;
/// DescribeContainerInstances accepts at most this many ARNs.
pub const DESCRIBE_CONTAINER_INSTANCES_BATCH: usize = 100;
/// DescribeInstances' `instance-id` filter: at most this many ids a call.
pub const DESCRIBE_INSTANCES_BATCH: usize = 1000;
/// DescribeNetworkInterfaces' filter takes at most this many ENI ids.
pub const ENI_BATCH: usize = 200;

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

/// One finding Security Hub refused (`FailedFindings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// The finding id.
    pub id: String,
    /// Security Hub's error code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// Imports findings into the Security Hub of the account that owns them
/// (BatchImportFindings, ≤ 100 a call); returns the findings it refused.
pub trait FindingsImport: Sync {
    /// Imports one batch into `account`'s Security Hub in `region`.
    fn import(
        &self,
        account: &str,
        region: &str,
        batch: &[crate::domain::security_hub::ExportedFinding],
    ) -> impl Future<Output = Result<Vec<ImportFailure>, ReadError>> + Send;
}

/// The open (resource, rule) pairs of exported findings (kept in the dedup table).
pub trait OpenFindings: Sync {
    /// The open rules of `resource` (empty when none).
    fn open_rules(
        &self,
        resource: &str,
    ) -> impl Future<Output = Result<crate::domain::security_hub::OpenRules, DedupError>> + Send;
    /// Replaces them (an empty set deletes the record).
    fn save_open_rules(
        &self,
        resource: &str,
        open: &crate::domain::security_hub::OpenRules,
    ) -> impl Future<Output = Result<(), DedupError>> + Send;
}

/// Hands a share of a scheduled Config scan to another, asynchronous invocation of the
/// function (Lambda Invoke, InvocationType Event).
pub trait WorkDispatch: Sync {
    /// Dispatches one work item.
    fn dispatch(
        &self,
        item: &crate::domain::config_rule::WorkItem,
    ) -> impl Future<Output = Result<(), ReadError>> + Send;
}

/// Why a scope's facts cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The account is not on the allow-list: no AssumeRole is made.
    NotEnrolled(String),
    /// The member role could not be assumed (AccessDenied, no such role): INSUFFICIENT_DATA.
    Denied(Unreadable),
    /// AssumeRole kept failing (throttling, 5xx, time-outs): the check fails and is retried.
    Failed(ReadError),
}

/// Where the checks get their readers: one per resource scope (its account and region), kept
/// for the life of the process so that its fact cache lives across checks. The AWS client
/// factory is one; the in-memory fake another, so the use cases are tested without AWS.
pub trait ReaderSource: Sync {
    /// The reader of one scope.
    type Reader: FactReader + TaskLister + Send + Sync;

    /// The reader of `scope`: its own credentials, or a member account's role.
    fn reader_for(
        &self,
        scope: &ResourceScope,
    ) -> impl Future<Output = Result<std::sync::Arc<Self::Reader>, Refused>> + Send;
}
