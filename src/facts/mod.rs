//! How facts are read: [`waves`] reads one task's facts in named waves of concurrent reads
//! through the reader ports; [`cache`] is the warm cache, [`deadline`] the invocation's time
//! budget and [`limit`] the API budget, decorators over the readers.

/// Implements every reader port for a decorator that wraps each read of `self.inner` in
/// `self.$read(api, read)` (the listings of the audit and the Config scan in
/// `self.$list(api, read)`), naming the read's IAM action. The decorators that only act around
/// a read (the deadline, the API budget) are written once, here.
macro_rules! decorate_reads {
    ($decorator:ty, reads = $read:ident, listings = $list:ident) => {
        const _: () = {
            use $crate::domain::facts::{
                Host, Listener, LoadBalancer, NatGateway, NatInstance, NetworkInterface,
                RouteTable, Service, Subnet, TargetGroup, TargetHealth, TaskDefinition, VpcDns,
                VpcEndpoint,
            };
            use $crate::domain::net::{NetworkAcl, SecurityGroup};
            use $crate::domain::task::TaskDetail;
            use $crate::ports::{
                Ec2Reader, EcsReader, ElbReader, ReadError, ReadResult, Selection, TaskLister,
            };

            impl<R: EcsReader> EcsReader for $decorator {
                async fn task_definition(&self, arn: &str) -> ReadResult<TaskDefinition> {
                    self.$read(
                        $crate::domain::api::ECS_DESCRIBE_TASK_DEFINITION,
                        self.inner.task_definition(arn),
                    )
                    .await
                }

                async fn service(&self, cluster: &str, name: &str) -> ReadResult<Service> {
                    self.$read(
                        $crate::domain::api::ECS_DESCRIBE_SERVICES,
                        self.inner.service(cluster, name),
                    )
                    .await
                }

                async fn container_host(&self, cluster: &str, arn: &str) -> ReadResult<Host> {
                    self.$read(
                        $crate::domain::api::ECS_DESCRIBE_CONTAINER_INSTANCES,
                        self.inner.container_host(cluster, arn),
                    )
                    .await
                }

                async fn container_hosts(
                    &self,
                    cluster: &str,
                    arns: &[String],
                ) -> Result<Vec<(String, Host)>, ReadError> {
                    self.$read(
                        $crate::domain::api::ECS_DESCRIBE_CONTAINER_INSTANCES,
                        self.inner.container_hosts(cluster, arns),
                    )
                    .await
                }

                async fn cluster_container_instances(
                    &self,
                    cluster: &str,
                ) -> Result<Option<Vec<String>>, ReadError> {
                    self.$read(
                        $crate::domain::api::ECS_LIST_CONTAINER_INSTANCES,
                        self.inner.cluster_container_instances(cluster),
                    )
                    .await
                }

                async fn recent_stopped_tasks(
                    &self,
                    cluster: &str,
                    service: &str,
                ) -> Result<Vec<TaskDetail>, ReadError> {
                    self.$read(
                        $crate::domain::api::ECS_LIST_TASKS,
                        self.inner.recent_stopped_tasks(cluster, service),
                    )
                    .await
                }
            }

            impl<R: Ec2Reader> Ec2Reader for $decorator {
                async fn network_interface(&self, id: &str) -> ReadResult<NetworkInterface> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
                        self.inner.network_interface(id),
                    )
                    .await
                }

                async fn network_interfaces(
                    &self,
                    ids: &[String],
                ) -> Result<Vec<NetworkInterface>, ReadError> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
                        self.inner.network_interfaces(ids),
                    )
                    .await
                }

                async fn route_tables(&self, vpc_id: &str) -> Result<Vec<RouteTable>, ReadError> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_ROUTE_TABLES,
                        self.inner.route_tables(vpc_id),
                    )
                    .await
                }

                async fn network_acls(
                    &self,
                    which: Selection<'_>,
                ) -> Result<Vec<NetworkAcl>, ReadError> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_NETWORK_ACLS,
                        self.inner.network_acls(which),
                    )
                    .await
                }

                async fn security_groups(
                    &self,
                    which: Selection<'_>,
                ) -> Result<Vec<SecurityGroup>, ReadError> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_SECURITY_GROUPS,
                        self.inner.security_groups(which),
                    )
                    .await
                }

                async fn prefix_list_cidrs(&self, id: &str) -> ReadResult<Vec<String>> {
                    self.$read(
                        $crate::domain::api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES,
                        self.inner.prefix_list_cidrs(id),
                    )
                    .await
                }

                async fn subnets(&self, which: Selection<'_>) -> Result<Vec<Subnet>, ReadError> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_SUBNETS,
                        self.inner.subnets(which),
                    )
                    .await
                }

                async fn nat_instance(&self, id: &str) -> ReadResult<NatInstance> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_INSTANCES,
                        self.inner.nat_instance(id),
                    )
                    .await
                }

                async fn nat_gateways(&self, vpc_id: &str) -> Result<Vec<NatGateway>, ReadError> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_NAT_GATEWAYS,
                        self.inner.nat_gateways(vpc_id),
                    )
                    .await
                }

                async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpoint>, ReadError> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_VPC_ENDPOINTS,
                        self.inner.vpc_endpoints(vpc_id),
                    )
                    .await
                }

                async fn vpc_dns(&self, vpc_id: &str) -> ReadResult<VpcDns> {
                    self.$read(
                        $crate::domain::api::EC2_DESCRIBE_VPC_ATTRIBUTE,
                        self.inner.vpc_dns(vpc_id),
                    )
                    .await
                }
            }

            impl<R: ElbReader> ElbReader for $decorator {
                async fn target_groups(
                    &self,
                    arns: &[String],
                ) -> Result<Vec<TargetGroup>, ReadError> {
                    self.$read(
                        $crate::domain::api::ELB_DESCRIBE_TARGET_GROUPS,
                        self.inner.target_groups(arns),
                    )
                    .await
                }

                async fn load_balancers(
                    &self,
                    arns: &[String],
                ) -> Result<Vec<LoadBalancer>, ReadError> {
                    self.$read(
                        $crate::domain::api::ELB_DESCRIBE_LOAD_BALANCERS,
                        self.inner.load_balancers(arns),
                    )
                    .await
                }

                async fn listeners(
                    &self,
                    lb: &str,
                    tgs: &[String],
                ) -> Result<Vec<Listener>, ReadError> {
                    self.$read(
                        $crate::domain::api::ELB_DESCRIBE_LISTENERS,
                        self.inner.listeners(lb, tgs),
                    )
                    .await
                }

                async fn target_health(&self, tg: &str) -> Result<Vec<TargetHealth>, ReadError> {
                    self.$read(
                        $crate::domain::api::ELB_DESCRIBE_TARGET_HEALTH,
                        self.inner.target_health(tg),
                    )
                    .await
                }
            }

            impl<R: TaskLister> TaskLister for $decorator {
                async fn cluster_arns(&self) -> Result<Vec<String>, ReadError> {
                    self.$list(
                        $crate::domain::api::ECS_LIST_CLUSTERS,
                        self.inner.cluster_arns(),
                    )
                    .await
                }

                async fn running_task_arns(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
                    self.$list(
                        $crate::domain::api::ECS_LIST_TASKS,
                        self.inner.running_task_arns(cluster),
                    )
                    .await
                }

                async fn describe_tasks(
                    &self,
                    cluster: &str,
                    arns: &[String],
                ) -> Result<Vec<TaskDetail>, ReadError> {
                    self.$list(
                        $crate::domain::api::ECS_DESCRIBE_TASKS,
                        self.inner.describe_tasks(cluster, arns),
                    )
                    .await
                }

                async fn service_names(&self, cluster: &str) -> Result<Vec<String>, ReadError> {
                    self.$list(
                        $crate::domain::api::ECS_LIST_SERVICES,
                        self.inner.service_names(cluster),
                    )
                    .await
                }
            }
        };
    };
}

pub mod cache;
pub mod deadline;
pub mod limit;
pub mod planned;
pub mod stopped;
pub mod waves;

#[cfg(test)]
pub mod fake;
