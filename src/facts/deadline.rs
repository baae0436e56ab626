//! A time budget for one invocation, as a decorator over the readers: no read starts once the
//! remaining time is under what the alert still needs (publish + complete the dedup claim), and
//! a read still running at that point is cut. The check then fails cleanly, before Lambda would
//! kill the invocation between publishing and marking the alert complete.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::domain::event::TaskDetail;
use crate::domain::facts::{
    Host, Listener, LoadBalancer, NetworkInterface, RouteTable, Service, Subnet, TargetGroup,
    TargetHealth, TaskDefinition, VpcDns, VpcEndpoint,
};
use crate::domain::net::{NetworkAcl, SecurityGroup};
use crate::ports::{Ec2Reader, EcsReader, ElbReader, ReadError, ReadResult, Selection, TaskLister};

/// The readers of `inner`, within a deadline.
#[derive(Debug)]
pub struct Budgeted<'a, R> {
    inner: &'a R,
    deadline: Instant,
    reserve: Duration,
}

impl<'a, R> Budgeted<'a, R> {
    /// Reads through `inner` until `reserve` before `deadline`.
    pub fn new(inner: &'a R, deadline: Instant, reserve: Duration) -> Self {
        Budgeted {
            inner,
            deadline,
            reserve,
        }
    }

    async fn run<T>(
        &self,
        api: &'static str,
        read: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(self.reserve);
        if left.is_zero() {
            return Err(ReadError::OutOfTime { api });
        }
        tokio::time::timeout(left, read)
            .await
            .unwrap_or(Err(ReadError::OutOfTime { api }))
    }
}

impl<R: EcsReader> EcsReader for Budgeted<'_, R> {
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

impl<R: Ec2Reader> Ec2Reader for Budgeted<'_, R> {
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

impl<R: ElbReader> ElbReader for Budgeted<'_, R> {
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

impl<R: TaskLister> TaskLister for Budgeted<'_, R> {
    async fn cluster_arns(&self) -> Result<Vec<String>, ReadError> {
        self.run("ecs:ListClusters", self.inner.cluster_arns())
            .await
    }

    async fn running_task_arns(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
        self.run("ecs:ListTasks", self.inner.running_task_arns(cluster))
            .await
    }

    async fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<TaskDetail>, ReadError> {
        self.run(
            "ecs:DescribeTasks",
            self.inner.describe_tasks(cluster, arns),
        )
        .await
    }

    async fn service_names(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
        self.run("ecs:ListServices", self.inner.service_names(cluster))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::facts::fake::FakeAws;

    fn world() -> FakeAws {
        FakeAws::from_facts(&fixture::seed(), CONTAINER_INSTANCE, "10.0.3.7")
    }

    #[tokio::test]
    async fn no_read_starts_once_only_the_reserve_is_left() {
        let aws = world();
        let budgeted = Budgeted::new(
            &aws,
            Instant::now() + Duration::from_secs(5),
            Duration::from_secs(22),
        );
        let read = budgeted.route_tables("vpc-1").await;
        assert!(matches!(
            read,
            Err(ReadError::OutOfTime {
                api: "ec2:DescribeRouteTables"
            })
        ));
        assert!(aws.calls().is_empty(), "the read was not started");
        let roomy = Budgeted::new(
            &aws,
            Instant::now() + Duration::from_secs(60),
            Duration::ZERO,
        );
        assert!(roomy.route_tables("vpc-1").await.is_ok());
    }

    #[tokio::test]
    async fn a_read_running_into_the_reserve_is_cut() {
        let aws = world();
        let budgeted = Budgeted::new(
            &aws,
            Instant::now() + Duration::from_millis(50),
            Duration::ZERO,
        );
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        let start = Instant::now();
        let result = budgeted.run("ec2:DescribeSubnets", slow).await;
        assert!(matches!(result, Err(ReadError::OutOfTime { .. })));
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
