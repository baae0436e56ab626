//! Ports: the traits the use cases read facts and deliver verdicts through, shaped around
//! their consumers: the task check reads through [`FactReader`] (ECS, EC2 and ELB readers), the
//! audit and the Config mode list tasks through [`TaskLister`], alerts go out through
//! [`AlertPublish`] and [`AlertDedup`], Config verdicts through [`EvaluationsPut`]. The AWS
//! adapters, the fact cache and the in-memory fake implement them; none exposes an SDK type.

use std::future::Future;

use thiserror::Error;

use crate::domain::api;
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

/// Every AWS read, declared once: its port and signature (the port traits below are generated
/// from it), the IAM actions it needs in `src/domain/api.rs` (the first is the one the deadline
/// and API-budget decorators name), and its cache policy — `pass` (read through), `(ttl field,
/// key)` (kept in the cache's `field` under `key` for the fact TTL) or `(custom method)` (the
/// cache's own `method`). `with_reads!(generator)` hands this list to a generator: the traits
/// and [`READS`] here, the decorators in `src/facts/mod.rs`, the cache in `src/facts/cache.rs`.
/// The adapters and the in-memory fake implement the traits by hand (the calls themselves).
macro_rules! with_reads {
    ($generator:ident $( [$($args:tt)*] )?) => {
        $generator! {
            [$( $($args)* )?]

            /// ECS reads of the task check (one implementation per source: AWS, the cache, the
            /// fake).
            EcsReader (reads) {
                /// The task definition with this ARN (DescribeTaskDefinition).
                fn task_definition(arn: &str) -> ReadResult<TaskDefinition>
                    [ECS_DESCRIBE_TASK_DEFINITION] cache (custom cached_task_definition);

                /// The service `name` of `cluster` (DescribeServices); a MISSING service is
                /// `Ok(None)`.
                fn service(cluster: &str, name: &str) -> ReadResult<Service>
                    [ECS_DESCRIBE_SERVICES] cache (ttl services, format!("{cluster}/{name}"));

                /// The service's most recently stopped tasks (ListTasks desiredStatus=STOPPED,
                /// one page, → DescribeTasks), for a failed deployment; stopped tasks stay
                /// visible for about an hour.
                fn recent_stopped_tasks(cluster: &str, service: &str) -> Result<Vec<TaskDetail>, ReadError>
                    [ECS_LIST_TASKS, ECS_DESCRIBE_TASKS] cache pass;

                /// The EC2 host of a container instance (DescribeContainerInstances →
                /// DescribeInstances); `Ok(None)` when it is gone. A miss reads this host alone
                /// (two sequential calls: a lone check's latency); a batch primes a group's
                /// hosts with `container_hosts` first.
                fn container_host(cluster: &str, container_instance_arn: &str) -> ReadResult<Host>
                    [ECS_DESCRIBE_CONTAINER_INSTANCES, EC2_DESCRIBE_INSTANCES]
                    cache (ttl hosts, container_instance_arn.to_string());

                /// The EC2 hosts of many container instances of one cluster, in as few calls as
                /// the APIs allow (DescribeContainerInstances ≤ 100 ARNs, DescribeInstances ≤
                /// 1,000 ids); gone ones are left out. A caching reader keeps them for the next
                /// `container_host` of each ARN.
                fn container_hosts(cluster: &str, container_instance_arns: &[String]) -> Result<Vec<(String, Host)>, ReadError>
                    [ECS_DESCRIBE_CONTAINER_INSTANCES, EC2_DESCRIBE_INSTANCES, ECS_LIST_CONTAINER_INSTANCES]
                    cache (custom cached_container_hosts);

                /// The capacity providers of the cluster's default strategy (DescribeClusters):
                /// where a service that names neither a launch type nor a strategy runs (empty:
                /// no default strategy, the EC2 launch type); `Ok(None)` when the cluster does
                /// not exist. Only a preflight asks.
                fn cluster_default_strategy(cluster: &str) -> ReadResult<Vec<String>>
                    [ECS_DESCRIBE_CLUSTERS] cache pass;

                /// The cluster's container instances (ListContainerInstances, one page of at
                /// most [`DESCRIBE_CONTAINER_INSTANCES_BATCH`]); `None` when the cluster has
                /// more, so that a caller reads a small cluster's hosts at once and a large
                /// one's only as asked.
                fn cluster_container_instances(cluster: &str) -> Result<Option<Vec<String>>, ReadError>
                    [ECS_LIST_CONTAINER_INSTANCES] cache pass;
            }

            /// EC2 reads of the task check: the task's network.
            Ec2Reader (reads) {
                /// The ENI with this id (DescribeNetworkInterfaces); one read in bulk ahead of
                /// the checks (`network_interfaces`) answers it once.
                fn network_interface(id: &str) -> ReadResult<NetworkInterface>
                    [EC2_DESCRIBE_NETWORK_INTERFACES] cache (custom primed_network_interface);

                /// Many ENIs in one call (≤ 200 ids; the audit reads its tasks' ENIs in bulk).
                /// A caching reader keeps them for the next `network_interface` of each id.
                fn network_interfaces(ids: &[String]) -> Result<Vec<NetworkInterface>, ReadError>
                    [EC2_DESCRIBE_NETWORK_INTERFACES] cache (custom prime_network_interfaces);

                /// All route tables of a VPC, with their associations (DescribeRouteTables).
                fn route_tables(vpc_id: &str) -> Result<Vec<RouteTable>, ReadError>
                    [EC2_DESCRIBE_ROUTE_TABLES] cache (ttl route_tables, vpc_id.to_string());

                /// Network ACLs with their subnets (DescribeNetworkAcls): `Ids` are *subnet*
                /// ids (the ACLs associated with them), `InVpc` every ACL of the VPC (the
                /// task's and its load balancers' subnets in one read).
                fn network_acls(which: Selection<'_>) -> Result<Vec<NetworkAcl>, ReadError>
                    [EC2_DESCRIBE_NETWORK_ACLS] cache (ttl acls, which.key());

                /// Security groups with their rules (DescribeSecurityGroups); missing ones are
                /// left out.
                fn security_groups(which: Selection<'_>) -> Result<Vec<SecurityGroup>, ReadError>
                    [EC2_DESCRIBE_SECURITY_GROUPS] cache (ttl groups, which.key());

                /// The CIDRs of a managed prefix list a security-group rule references
                /// (GetManagedPrefixListEntries).
                fn prefix_list_cidrs(id: &str) -> ReadResult<Vec<String>>
                    [EC2_GET_MANAGED_PREFIX_LIST_ENTRIES] cache (ttl prefix_lists, id.to_string());

                /// The EC2 instance a route sends 0.0.0.0/0 to (DescribeInstances); `Ok(None)`
                /// when it is gone. A stop diagnosis is rare: it passes the cache.
                fn nat_instance(id: &str) -> ReadResult<NatInstance>
                    [EC2_DESCRIBE_INSTANCES] cache pass;

                /// The VPC's NAT gateways, deleted and failed ones included
                /// (DescribeNatGateways). Every running task routed to a NAT asks for them: a
                /// deploy reads them once, like the route tables.
                fn nat_gateways(vpc_id: &str) -> Result<Vec<NatGateway>, ReadError>
                    [EC2_DESCRIBE_NAT_GATEWAYS] cache (ttl nat_gateways, vpc_id.to_string());

                /// The VPC's endpoints (DescribeVpcEndpoints).
                fn vpc_endpoints(vpc_id: &str) -> Result<Vec<VpcEndpoint>, ReadError>
                    [EC2_DESCRIBE_VPC_ENDPOINTS] cache pass;

                /// The VPC's DNS attributes (two DescribeVpcAttribute calls); `Ok(None)` when
                /// the VPC is gone.
                fn vpc_dns(vpc_id: &str) -> ReadResult<VpcDns>
                    [EC2_DESCRIBE_VPC_ATTRIBUTE] cache pass;

                /// Subnets (DescribeSubnets); missing ones are left out.
                fn subnets(which: Selection<'_>) -> Result<Vec<Subnet>, ReadError>
                    [EC2_DESCRIBE_SUBNETS] cache (ttl subnets, which.key());

                /// The account's VPC Block Public Access in this Region: its mode
                /// (DescribeVpcBlockPublicAccessOptions) and, only when it blocks and
                /// exclusions apply, the exclusions in force
                /// (DescribeVpcBlockPublicAccessExclusions). A Region that does not offer it has
                /// it off. One setting per account and Region: a deploy reads it once.
                fn public_access_block() -> Result<crate::domain::public_access::PublicAccessBlock, ReadError>
                    [EC2_DESCRIBE_VPC_BPA_OPTIONS, EC2_DESCRIBE_VPC_BPA_EXCLUSIONS]
                    cache (ttl public_access, String::new());
            }

            /// Elastic Load Balancing reads of the task check: the service's load-balancer
            /// path.
            ElbReader (reads) {
                /// Target groups (DescribeTargetGroups, and the NLB client-IP attribute).
                fn target_groups(arns: &[String]) -> Result<Vec<TargetGroup>, ReadError>
                    [ELB_DESCRIBE_TARGET_GROUPS, ELB_DESCRIBE_TARGET_GROUP_ATTRIBUTES]
                    cache (ttl target_groups, key(arns));

                /// Load balancers (DescribeLoadBalancers).
                fn load_balancers(arns: &[String]) -> Result<Vec<LoadBalancer>, ReadError>
                    [ELB_DESCRIBE_LOAD_BALANCERS] cache (ttl load_balancers, key(arns));

                /// Listeners of a load balancer with the target groups each forwards to
                /// (DescribeListeners). Rules (DescribeRules) are read only when some of
                /// `target_group_arns` is forwarded to by no default action, and then only for
                /// the listeners whose default action forwards to none of them.
                fn listeners(load_balancer_arn: &str, target_group_arns: &[String]) -> Result<Vec<Listener>, ReadError>
                    [ELB_DESCRIBE_LISTENERS, ELB_DESCRIBE_RULES]
                    cache (ttl listeners, format!("{load_balancer_arn}|{}", key(target_group_arns)));

                /// The targets registered in a target group with their health
                /// (DescribeTargetHealth).
                fn target_health(target_group_arn: &str) -> Result<Vec<TargetHealth>, ReadError>
                    [ELB_DESCRIBE_TARGET_HEALTH] cache (ttl targets, target_group_arn.to_string());
            }

            /// Lists a cluster's tasks and services, for the audit, `check --task` and the
            /// Config mode. Never cached (the audit lists once); not within the API budget's
            /// buckets (a listing is one call per cluster).
            TaskLister (listings) {
                /// Every cluster ARN of the account and region (ListClusters).
                fn cluster_arns() -> Result<Vec<String>, ReadError>
                    [ECS_LIST_CLUSTERS] cache pass;

                /// ARNs of the cluster's RUNNING tasks (ListTasks).
                fn running_task_arns(cluster: &str) -> Result<Vec<String>, ReadError>
                    [ECS_LIST_TASKS] cache pass;

                /// The tasks with these ARNs (DescribeTasks, ≤ 100), as the domain's task
                /// type.
                fn describe_tasks(cluster: &str, arns: &[String]) -> Result<Vec<TaskDetail>, ReadError>
                    [ECS_DESCRIBE_TASKS] cache pass;

                /// Service names of a cluster (ListServices).
                fn service_names(cluster: &str) -> Result<Vec<String>, ReadError>
                    [ECS_LIST_SERVICES] cache pass;
            }
        }
    };
}
pub(crate) use with_reads;

/// One declared read (see `with_reads!`), for documents and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// The port trait.
    pub port: &'static str,
    /// Its method.
    pub method: &'static str,
    /// The IAM actions it needs.
    pub actions: &'static [&'static str],
    /// Its cache policy, as declared.
    pub cache: &'static str,
}

/// Generates the port traits and [`READS`] from the declaration.
macro_rules! declare_ports {
    ([]
     $(
        $(#[$port_doc:meta])*
        $port:ident ($kind:ident) {
            $(
                $(#[$doc:meta])*
                fn $method:ident ($($arg:ident : $ty:ty),*) -> $ret:ty
                    [$api:ident $(, $more:ident)*] cache $policy:tt;
            )*
        }
     )*
    ) => {
        $(
            $(#[$port_doc])*
            pub trait $port: Sync {
                $(
                    $(#[$doc])*
                    fn $method(&self, $($arg: $ty),*) -> impl Future<Output = $ret> + Send;
                )*
            }
        )*

        /// Every declared read: port, method, IAM actions, cache policy.
        pub const READS: &[Read] = &[
            $($(
                Read {
                    port: stringify!($port),
                    method: stringify!($method),
                    actions: &[api::$api $(, api::$more)*],
                    cache: stringify!($policy),
                },
            )*)*
        ];
    };
}

with_reads!(declare_ports);

/// Every read the task check needs.
pub trait FactReader: EcsReader + Ec2Reader + ElbReader {}

impl<T: EcsReader + Ec2Reader + ElbReader> FactReader for T {}

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

    /// The reader of the process's own account in its default region, where the Config rule
    /// mode and the hook read: never refused, never a role to assume.
    fn own_reader(&self) -> impl Future<Output = std::sync::Arc<Self::Reader>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::{called_by, Caller};
    use std::collections::BTreeSet;

    #[test]
    fn the_declared_reads_need_exactly_the_declared_read_actions() {
        let needed: BTreeSet<&str> = READS
            .iter()
            .flat_map(|r| r.actions.iter().copied())
            .collect();
        let declared: BTreeSet<&str> = called_by(Caller::Read)
            .chain(called_by(Caller::PlanRead))
            .collect();
        assert_eq!(needed, declared);
        assert!(READS.iter().all(|r| !r.actions.is_empty()));
        let cached = READS.iter().find(|r| r.method == "route_tables").unwrap();
        assert_eq!(cached.cache, "(ttl route_tables, vpc_id.to_string())");
    }
}
