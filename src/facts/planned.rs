//! Reading a planned service's facts (preflight): no task exists yet, so each of the service's
//! subnets and its security groups stand in for the task ENI, and on EC2 the cluster's container
//! instances stand in for the host. Read in waves, as a running task's are:
//!
//! | wave | reads (concurrently) | needs |
//! |---|---|---|
//! | 1 | the task definition (unless from a file) ‖ the service's subnets ‖ its target groups | the plan |
//! | 2 | the VPC's route tables, security groups, ACLs and subnets ‖ load balancers ‖ listeners | the VPC, the target groups |
//! | 3 | the NAT a subnet's default route names, only when it names one | route tables |
//! | beside 1-3 | on EC2 the cluster's hosts (three calls in a row) | the plan |

use crate::domain::api;
use crate::domain::facts::{
    effective_route_table, Fact, Host, LoadBalancerPath, Nat, NetworkInterface, Service,
    ServiceStatus, Subnet, TaskDefinition, TaskFacts, Unreadable,
};
use crate::domain::net::acl_of;
use crate::domain::plan::ServicePlan;
use crate::domain::stop::{PullFacts, PullPath, Puller, StopFacts, TaskNetworkConfig};
use crate::facts::waves::{
    balancer_path, list_fact, not_read, read_fact, read_route_nat, read_target_groups,
    resolve_prefix_lists, route_table_in_force, unreachable_path, BalancerPath,
};
use crate::ports::{FactReader, ReadError, Selection};

/// The facts of one planned subnet: what the rules see for a task that will start there.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSubnet {
    /// The subnet (and, when the cluster's hosts differ, the host group) in words.
    pub subnet_id: String,
    /// The facts, as a running task's would be.
    pub facts: TaskFacts,
    /// The facts its start needs (the pulling network's way to the registry), as a stop
    /// diagnosis reads them.
    pub start: StopFacts,
}

/// Who pulls a planned task's image, and through which subnet: the task ENI on Fargate, the
/// host on EC2.
fn pull_path(facts: &TaskFacts, fargate: bool) -> Fact<PullPath> {
    let eni = facts.eni.known();
    match (&facts.host, eni) {
        (_, Some(eni)) if fargate => Fact::Known(PullPath {
            via: Puller::TaskEni,
            subnet_id: eni.subnet_id.clone(),
            vpc_id: eni.vpc_id.clone(),
            public_ip: eni.public_ip.is_some(),
            security_group_ids: eni.security_group_ids.clone(),
        }),
        (Fact::Known(host), _) => match (&host.subnet_id, &host.vpc_id) {
            (Some(subnet_id), Some(vpc_id)) => Fact::Known(PullPath {
                via: Puller::Instance(host.instance_id.clone()),
                subnet_id: subnet_id.clone(),
                vpc_id: vpc_id.clone(),
                public_ip: host.public_ip.is_some(),
                security_group_ids: host.security_group_ids.clone(),
            }),
            _ => not_read(api::EC2_DESCRIBE_INSTANCES, "the host has no subnet"),
        },
        (Fact::Unknown(u), _) => Fact::Unknown(u.clone()),
    }
}

/// The facts a planned task's start needs: the network that pulls (the task ENI's on Fargate,
/// the host's on EC2) and its way to the registry.
fn start_facts(
    plan: &ServicePlan,
    facts: &TaskFacts,
    vpc: &PlannedVpc,
    fargate: bool,
) -> StopFacts {
    let network = plan.network.clone().unwrap_or_default();
    let eni = facts.eni.known();
    let path = pull_path(facts, fargate);
    let pull_subnet = path
        .known()
        .map(|p| p.subnet_id.clone())
        .unwrap_or_default();
    let route_table = match (&vpc.tables, path.known()) {
        (Fact::Known(tables), Some(p)) => match effective_route_table(tables, &p.subnet_id) {
            Some(t) => Fact::Known(t.clone()),
            None => not_read(
                api::EC2_DESCRIBE_ROUTE_TABLES,
                "no route table for the pulling subnet",
            ),
        },
        (Fact::Unknown(u), _) => Fact::Unknown(u.clone()),
        _ => not_read(
            api::EC2_DESCRIBE_ROUTE_TABLES,
            "the pulling subnet is unknown",
        ),
    };
    let nat_instance = match &facts.nat {
        Some(Fact::Known(Nat::Instance(i))) => Some(Fact::Known(i.clone())),
        _ => None,
    };
    StopFacts {
        task_definition: facts.task_definition.clone(),
        service: facts.service.clone(),
        task_network: eni.map_or_else(
            || not_read(api::EC2_DESCRIBE_SUBNETS, "the planned subnet is unknown"),
            |e| {
                Fact::Known(TaskNetworkConfig {
                    subnet_id: e.subnet_id.clone(),
                    private_ip: None,
                    security_group_ids: network.security_groups.clone(),
                    public_ip: e.public_ip.is_some(),
                    source: format!("service {}", plan.service_name),
                })
            },
        ),
        security_groups: vpc.groups.clone(),
        network_acl: match &vpc.acls {
            Fact::Known(acls) => match acl_of(acls, &pull_subnet) {
                Some(a) => Fact::Known(a.clone()),
                None => not_read(
                    api::EC2_DESCRIBE_NETWORK_ACLS,
                    "no network ACL for the pulling subnet",
                ),
            },
            Fact::Unknown(u) => Fact::Unknown(u.clone()),
        },
        health_check: None,
        pull: Some(PullFacts {
            path,
            route_table,
            route_tables: vpc.tables.clone(),
            nat_gateways: vpc.nat_gateways.clone(),
            nat_instance,
            endpoints: vpc.endpoints.clone(),
            dns: vpc.dns.clone(),
            subnets: vpc.subnets.clone(),
            public_access: vpc.public_access.clone(),
        }),
    }
}

/// The ENI a task of the plan will get in `subnet`: its subnet, VPC and groups (the address is
/// assigned at start; Fargate's public IP when `assignPublicIp` is ENABLED).
fn planned_eni(plan: &ServicePlan, subnet: &Subnet, fargate: bool) -> NetworkInterface {
    let network = plan.network.clone().unwrap_or_default();
    NetworkInterface {
        id: format!("(planned ENI in {})", subnet.id),
        subnet_id: subnet.id.clone(),
        vpc_id: subnet.vpc_id.clone(),
        private_ip: None,
        public_ip: (fargate && network.assign_public_ip).then(|| "(assigned at start)".into()),
        ipv6_addresses: vec![],
        security_group_ids: network.security_groups,
    }
}

/// On EC2 the cluster's container instances stand in for the host: one of each distinct
/// (subnet, public IP or not) group, since a task may land on any of them (one looks public,
/// another pulls through a private subnet).
async fn planned_hosts<R: FactReader>(
    plan: &ServicePlan,
    ec2: bool,
    reader: &R,
) -> Result<Vec<Fact<Host>>, ReadError> {
    Ok(match read_hosts(plan, ec2, reader).await? {
        Fact::Known(hosts) if !hosts.is_empty() => {
            let mut groups: Vec<Host> = Vec::new();
            for host in hosts {
                let same = |g: &Host| {
                    g.subnet_id == host.subnet_id
                        && g.public_ip.is_some() == host.public_ip.is_some()
                };
                if !groups.iter().any(same) {
                    groups.push(host);
                }
            }
            groups.into_iter().map(Fact::Known).collect()
        }
        Fact::Known(_) => vec![Fact::Unknown(Unreadable {
            api: api::ECS_LIST_CONTAINER_INSTANCES,
            reason: format!("cluster {} has no container instance yet", plan.cluster),
        })],
        Fact::Unknown(u) => vec![Fact::Unknown(u)],
    })
}

/// The cluster's container hosts (on EC2), or why they are unknown.
async fn read_hosts<R: FactReader>(
    plan: &ServicePlan,
    ec2: bool,
    reader: &R,
) -> Result<Fact<Vec<Host>>, ReadError> {
    if !ec2 {
        return Ok(not_read(
            api::ECS_DESCRIBE_CONTAINER_INSTANCES,
            "a Fargate task has no host",
        ));
    }
    let arns = match reader.cluster_container_instances(&plan.cluster).await {
        Ok(Some(arns)) => arns,
        Ok(None) => {
            return Ok(Fact::Unknown(Unreadable {
                api: api::ECS_LIST_CONTAINER_INSTANCES,
                reason: "the cluster has more container instances than one page".into(),
            }))
        }
        Err(ReadError::Unreadable(u)) => return Ok(Fact::Unknown(u)),
        Err(e) => return Err(e),
    };
    let hosts = match reader.container_hosts(&plan.cluster, &arns).await {
        Ok(hosts) => hosts,
        Err(ReadError::Unreadable(u)) => return Ok(Fact::Unknown(u)),
        Err(e) => return Err(e),
    };
    Ok(Fact::Known(
        hosts.into_iter().map(|(_, host)| host).collect(),
    ))
}

/// Wave 2: the VPC-wide reads and the load balancers behind the target groups.
struct PlannedVpc {
    tables: Fact<Vec<crate::domain::facts::RouteTable>>,
    acls: Fact<Vec<crate::domain::net::NetworkAcl>>,
    groups: Fact<Vec<crate::domain::net::SecurityGroup>>,
    subnets: Fact<Vec<Subnet>>,
    balancers: Option<BalancerPath>,
    /// What a start needs: the NAT gateways, the endpoints, the DNS attributes.
    nat_gateways: Fact<Vec<crate::domain::facts::NatGateway>>,
    endpoints: Fact<Vec<crate::domain::facts::VpcEndpoint>>,
    dns: Fact<crate::domain::facts::VpcDns>,
    /// VPC Block Public Access (read for every plan: its tasks' public IPs or load balancers
    /// are only known per subnet).
    public_access: Fact<crate::domain::public_access::PublicAccessBlock>,
}

async fn read_vpc<R: FactReader>(
    vpc: &str,
    target_groups: &Option<Fact<Vec<crate::domain::facts::TargetGroup>>>,
    mappings: Option<&[crate::domain::facts::LoadBalancerMapping]>,
    reader: &R,
) -> Result<PlannedVpc, ReadError> {
    let (tables, acls, groups, subnets, balancers, nat_gateways, endpoints, dns, public_access) = tokio::try_join!(
        async { list_fact(reader.route_tables(vpc).await) },
        async { list_fact(reader.network_acls(Selection::InVpc(vpc)).await) },
        async { list_fact(reader.security_groups(Selection::InVpc(vpc)).await) },
        async { list_fact(reader.subnets(Selection::InVpc(vpc)).await) },
        async {
            match target_groups {
                Some(groups) => Ok(Some(
                    balancer_path(groups, mappings.unwrap_or_default(), None, reader).await?,
                )),
                None => Ok(None),
            }
        },
        async { list_fact(reader.nat_gateways(vpc).await) },
        async { list_fact(reader.vpc_endpoints(vpc).await) },
        async {
            crate::facts::waves::into_fact(reader.vpc_dns(vpc).await, || Unreadable {
                api: api::EC2_DESCRIBE_VPC_ATTRIBUTE,
                reason: format!("VPC {vpc} does not exist"),
            })
        },
        async { read_fact(reader.public_access_block().await) },
    )?;
    Ok(PlannedVpc {
        tables,
        acls,
        groups: resolve_prefix_lists(groups, reader).await?,
        subnets,
        balancers,
        nat_gateways,
        endpoints,
        dns,
        public_access,
    })
}

/// The load-balancer path a task of the plan will have: ECS registers it in its target groups.
fn planned_path(
    target_groups: Fact<Vec<crate::domain::facts::TargetGroup>>,
    vpc: &PlannedVpc,
) -> LoadBalancerPath {
    let b = vpc
        .balancers
        .clone()
        .unwrap_or_else(|| unreachable_path(&target_groups));
    let registered = target_groups
        .known()
        .map(|g| g.iter().map(|t| t.arn.clone()).collect())
        .map_or_else(|| b.registered_in.clone(), Fact::Known);
    LoadBalancerPath {
        subnets: vpc.subnets.clone(),
        target_groups,
        load_balancers: b.load_balancers,
        listeners: b.listeners,
        registered_in: registered,
    }
}

/// The service's subnets, all of them found (a missing one is bad input, named).
fn found_subnets(subnets: Fact<Vec<Subnet>>, wanted: &[String]) -> Result<Vec<Subnet>, ReadError> {
    let subnets = match subnets {
        Fact::Known(s) => s,
        Fact::Unknown(u) => return Err(ReadError::Unreadable(u)),
    };
    wanted
        .iter()
        .map(|id| {
            subnets
                .iter()
                .find(|s| &s.id == id)
                .cloned()
                .ok_or_else(|| {
                    ReadError::Unreadable(Unreadable {
                        api: api::EC2_DESCRIBE_SUBNETS,
                        reason: format!("subnet {id} of the service does not exist"),
                    })
                })
        })
        .collect()
}

/// One planned subnet's own network: its stand-in ENI, its route table and the NAT it leads to.
struct SubnetNetwork {
    eni: NetworkInterface,
    route_table: Fact<crate::domain::facts::RouteTable>,
    nat: Option<Fact<crate::domain::facts::Nat>>,
}

/// Waves 1 to 3 without the host: the task definition, the subnets and the VPC.
struct PlannedNetwork {
    task_definition: Fact<TaskDefinition>,
    target_groups: Option<Fact<Vec<crate::domain::facts::TargetGroup>>>,
    vpc: Option<PlannedVpc>,
    subnets: Vec<SubnetNetwork>,
}

async fn read_network<R: FactReader>(
    plan: &ServicePlan,
    task_definition: impl std::future::Future<Output = Result<Fact<TaskDefinition>, ReadError>>,
    fargate: bool,
    reader: &R,
) -> Result<PlannedNetwork, ReadError> {
    let network = plan.network.clone().unwrap_or_default();
    let mappings = (!plan.load_balancers.is_empty()).then_some(plan.load_balancers.as_slice());
    let (task_definition, subnets, target_groups) = tokio::try_join!(
        task_definition,
        async { list_fact(reader.subnets(Selection::Ids(&network.subnets)).await) },
        read_target_groups(mappings, reader),
    )?;
    let subnets = found_subnets(subnets, &network.subnets)?;
    let Some(vpc_id) = subnets.first().map(|s| s.vpc_id.clone()) else {
        return Ok(PlannedNetwork {
            task_definition,
            target_groups,
            vpc: None,
            subnets: vec![],
        });
    };
    let vpc = read_vpc(&vpc_id, &target_groups, mappings, reader).await?;
    // Wave 3, the subnets at once: a NAT gateway comes from wave 2's list; only a NAT
    // instance is read.
    let own = futures_util::future::try_join_all(subnets.iter().map(|subnet| {
        let eni = planned_eni(plan, subnet, fargate);
        let route_table = route_table_in_force(&vpc.tables, Some(&eni));
        let (vpc, vpc_id) = (&vpc, &vpc_id);
        async move {
            let nat =
                read_route_nat(&route_table, Some(vpc_id), Some(&vpc.nat_gateways), reader).await?;
            Ok::<_, ReadError>(SubnetNetwork {
                eni,
                route_table,
                nat,
            })
        }
    }))
    .await?;
    Ok(PlannedNetwork {
        task_definition,
        target_groups,
        vpc: Some(vpc),
        subnets: own,
    })
}

/// Reads every planned subnet's facts: the network in waves, the hosts (on EC2) beside them.
pub async fn read_planned_facts<R: FactReader>(
    plan: &ServicePlan,
    task_definition: impl std::future::Future<Output = Result<Fact<TaskDefinition>, ReadError>>,
    reader: &R,
) -> Result<Vec<PlannedSubnet>, ReadError> {
    let launch = plan.launch.launch_type();
    let fargate = launch.as_deref() == Some("FARGATE");
    let ec2 = matches!(launch.as_deref(), Some("EC2" | "MANAGED_INSTANCES"));
    let (network, hosts) = tokio::try_join!(
        read_network(plan, task_definition, fargate, reader),
        planned_hosts(plan, ec2, reader),
    )?;
    let Some(vpc) = network.vpc else {
        return Ok(vec![]);
    };
    let service = Service {
        arn: plan.service_name.clone(),
        name: plan.service_name.clone(),
        status: ServiceStatus::Active,
        load_balancers: plan.load_balancers.clone(),
        network: plan.network.clone(),
        ..Service::default()
    };
    let several_hosts = hosts.len() > 1;
    Ok(network
        .subnets
        .iter()
        .flat_map(|own| hosts.iter().map(move |host| (own, host)))
        .map(|(own, host)| {
            let facts = TaskFacts {
                task_definition: network.task_definition.clone(),
                service: Some(Fact::Known(service.clone())),
                eni: Fact::Known(own.eni.clone()),
                route_table: own.route_table.clone(),
                host: host.clone(),
                vpc_route_tables: vpc.tables.clone(),
                network_acls: vpc.acls.clone(),
                security_groups: vpc.groups.clone(),
                load_balancer_path: network.target_groups.clone().map(|g| planned_path(g, &vpc)),
                nat: own.nat.clone(),
                public_access: Some(vpc.public_access.clone()),
            };
            PlannedSubnet {
                subnet_id: placement(&own.eni.subnet_id, host, several_hosts),
                start: start_facts(plan, &facts, &vpc, fargate),
                facts,
            }
        })
        .collect())
}

/// Where a planned task lands, in words: its subnet, and its host's group when the cluster has
/// several.
fn placement(subnet: &str, host: &Fact<Host>, several_hosts: bool) -> String {
    match host.known() {
        Some(h) if several_hosts => format!(
            "{subnet} on {} ({} in {})",
            h.instance_id,
            if h.public_ip.is_some() {
                "a public IP"
            } else {
                "no public IP"
            },
            h.subnet_id.as_deref().unwrap_or("?")
        ),
        _ => subnet.to_string(),
    }
}
