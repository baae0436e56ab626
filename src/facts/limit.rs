//! An API budget per execution environment, as a decorator between the fact cache and AWS: a
//! token bucket per AWS service (EC2, ECS, Elastic Load Balancing) in front of every read, so
//! that however many events arrive, the function draws at most `rate` calls a second (after a
//! burst) from each service's request buckets, which every caller of the account shares. A
//! deploy must never fail because the guard emptied the account's EC2 budget; the SDK's
//! adaptive retry is the backstop when others empty it. Cache hits take no token.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::domain::event::TaskDetail;
use crate::domain::facts::{
    Host, Listener, LoadBalancer, NetworkInterface, RouteTable, Service, Subnet, TargetGroup,
    TargetHealth, TaskDefinition, VpcDns, VpcEndpoint,
};
use crate::domain::net::{NetworkAcl, SecurityGroup};
use crate::ports::{Ec2Reader, EcsReader, ElbReader, ReadError, ReadResult, Selection, TaskLister};

/// How fast one execution environment may call each AWS service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiBudget {
    /// Calls a second, sustained.
    pub rate: f64,
    /// Calls that may go at once after a quiet spell (the bucket's size).
    pub burst: f64,
}

impl ApiBudget {
    /// No limit (the CLI: an operator's one-off run).
    pub const UNLIMITED: ApiBudget = ApiBudget {
        rate: f64::INFINITY,
        burst: f64::INFINITY,
    };
}

/// A token bucket: `burst` tokens, refilled at `rate` a second; a caller waits for its token.
#[derive(Debug)]
pub struct TokenBucket {
    budget: ApiBudget,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(budget: ApiBudget) -> Self {
        TokenBucket {
            budget,
            state: Mutex::new((budget.burst, Instant::now())),
        }
    }

    /// Takes one token, waiting for it when the bucket is empty. Callers are served in turn:
    /// the lock is held while waiting, so a later caller cannot take an earlier one's token.
    pub async fn acquire(&self) {
        if self.budget.rate.is_infinite() {
            return;
        }
        let mut state = self.state.lock().await;
        let (tokens, at) = *state;
        let now = Instant::now();
        let refilled = (tokens + now.duration_since(at).as_secs_f64() * self.budget.rate)
            .min(self.budget.burst);
        if refilled >= 1.0 {
            *state = (refilled - 1.0, now);
            return;
        }
        let wait = Duration::from_secs_f64((1.0 - refilled) / self.budget.rate);
        tokio::time::sleep(wait).await;
        *state = (0.0, now + wait);
    }
}

/// The readers of `inner`, each call within its service's budget.
#[derive(Debug)]
pub struct Limited<R> {
    inner: R,
    ec2: TokenBucket,
    ecs: TokenBucket,
    elb: TokenBucket,
}

impl<R> Limited<R> {
    /// `inner` with one bucket of `budget` per AWS service.
    pub fn new(inner: R, budget: ApiBudget) -> Self {
        Limited {
            inner,
            ec2: TokenBucket::new(budget),
            ecs: TokenBucket::new(budget),
            elb: TokenBucket::new(budget),
        }
    }

    /// The wrapped reader.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The listings of the Config scan and the audit (List*, DescribeTasks of listed tasks):
    /// paged walks of the account, not the deploy burst the budget is for, and a scan of many
    /// clusters must finish within one invocation.
    async fn unlimited<T>(
        &self,
        _api: &'static str,
        read: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        Box::pin(read).await
    }

    async fn run<T>(
        &self,
        api: &'static str,
        read: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        let bucket = match api.split(':').next() {
            Some("ec2") => &self.ec2,
            Some("ecs") => &self.ecs,
            _ => &self.elb,
        };
        bucket.acquire().await;
        // Boxed: one more decorator layer would otherwise grow every read's future on the
        // stack (debug-build test threads have 2 MiB).
        Box::pin(read).await
    }
}

impl<R: EcsReader> EcsReader for Limited<R> {
    async fn task_definition(&self, arn: &str) -> ReadResult<TaskDefinition> {
        self.run(
            "ecs:DescribeTaskDefinition",
            self.inner.task_definition(arn),
        )
        .await
    }

    async fn service(&self, cluster: &str, name: &str) -> ReadResult<Service> {
        self.run("ecs:DescribeServices", self.inner.service(cluster, name))
            .await
    }

    async fn container_host(&self, cluster: &str, arn: &str) -> ReadResult<Host> {
        self.run(
            "ecs:DescribeContainerInstances",
            self.inner.container_host(cluster, arn),
        )
        .await
    }

    async fn container_hosts(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<(String, Host)>, ReadError> {
        self.run(
            "ecs:DescribeContainerInstances",
            self.inner.container_hosts(cluster, arns),
        )
        .await
    }

    async fn recent_stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<TaskDetail>, ReadError> {
        self.run(
            "ecs:ListTasks",
            self.inner.recent_stopped_tasks(cluster, service),
        )
        .await
    }
}

impl<R: Ec2Reader> Ec2Reader for Limited<R> {
    async fn network_interface(&self, id: &str) -> ReadResult<NetworkInterface> {
        self.run(
            "ec2:DescribeNetworkInterfaces",
            self.inner.network_interface(id),
        )
        .await
    }

    async fn network_interfaces(&self, ids: &[String]) -> Result<Vec<NetworkInterface>, ReadError> {
        self.run(
            "ec2:DescribeNetworkInterfaces",
            self.inner.network_interfaces(ids),
        )
        .await
    }

    async fn route_tables(&self, vpc_id: &str) -> Result<Vec<RouteTable>, ReadError> {
        self.run("ec2:DescribeRouteTables", self.inner.route_tables(vpc_id))
            .await
    }

    async fn network_acl(&self, subnet_id: &str) -> ReadResult<NetworkAcl> {
        self.run("ec2:DescribeNetworkAcls", self.inner.network_acl(subnet_id))
            .await
    }

    async fn security_groups(&self, which: Selection<'_>) -> Result<Vec<SecurityGroup>, ReadError> {
        self.run(
            "ec2:DescribeSecurityGroups",
            self.inner.security_groups(which),
        )
        .await
    }

    async fn prefix_list_cidrs(&self, id: &str) -> ReadResult<Vec<String>> {
        self.run(
            "ec2:GetManagedPrefixListEntries",
            self.inner.prefix_list_cidrs(id),
        )
        .await
    }

    async fn subnets(&self, which: Selection<'_>) -> Result<Vec<Subnet>, ReadError> {
        self.run("ec2:DescribeSubnets", self.inner.subnets(which))
            .await
    }

    async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpoint>, ReadError> {
        self.run("ec2:DescribeVpcEndpoints", self.inner.vpc_endpoints(vpc_id))
            .await
    }

    async fn vpc_dns(&self, vpc_id: &str) -> ReadResult<VpcDns> {
        self.run("ec2:DescribeVpcAttribute", self.inner.vpc_dns(vpc_id))
            .await
    }
}

impl<R: ElbReader> ElbReader for Limited<R> {
    async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, ReadError> {
        self.run(
            "elasticloadbalancing:DescribeTargetGroups",
            self.inner.target_groups(arns),
        )
        .await
    }

    async fn load_balancers(&self, arns: &[String]) -> Result<Vec<LoadBalancer>, ReadError> {
        self.run(
            "elasticloadbalancing:DescribeLoadBalancers",
            self.inner.load_balancers(arns),
        )
        .await
    }

    async fn listeners(&self, lb: &str, tgs: &[String]) -> Result<Vec<Listener>, ReadError> {
        self.run(
            "elasticloadbalancing:DescribeListeners",
            self.inner.listeners(lb, tgs),
        )
        .await
    }

    async fn target_health(&self, tg: &str) -> Result<Vec<TargetHealth>, ReadError> {
        self.run(
            "elasticloadbalancing:DescribeTargetHealth",
            self.inner.target_health(tg),
        )
        .await
    }
}

impl<R: TaskLister> TaskLister for Limited<R> {
    async fn cluster_arns(&self) -> Result<Vec<String>, ReadError> {
        self.unlimited("ecs:ListClusters", self.inner.cluster_arns())
            .await
    }

    async fn running_task_arns(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
        self.unlimited("ecs:ListTasks", self.inner.running_task_arns(cluster))
            .await
    }

    async fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<TaskDetail>, ReadError> {
        self.unlimited(
            "ecs:DescribeTasks",
            self.inner.describe_tasks(cluster, arns),
        )
        .await
    }

    async fn service_names(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
        self.unlimited("ecs:ListServices", self.inner.service_names(cluster))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_a_burst_through_then_paces_at_its_rate() {
        let bucket = TokenBucket::new(ApiBudget {
            rate: 2.0,
            burst: 3.0,
        });
        let start = Instant::now();
        for _ in 0..3 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst goes at once");
        for _ in 0..4 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2), "then 2 a second");
        tokio::time::sleep(Duration::from_secs(10)).await;
        let rested = Instant::now();
        for _ in 0..3 {
            bucket.acquire().await;
        }
        assert_eq!(
            rested.elapsed(),
            Duration::ZERO,
            "refilled to the burst, no more"
        );
        bucket.acquire().await;
        assert_eq!(rested.elapsed(), Duration::from_millis(500));
    }
}
