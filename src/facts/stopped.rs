//! Reading a stopped task's facts. The ENI is usually gone by the time a task is STOPPED, so
//! the subnet and IP come from the event and the security groups and public IP from the
//! deployment that started the task (`facts::waves` reads a running task's own ENI instead).
//!
//! | wave | health-check kill | start failure |
//! |---|---|---|
//! | 1 | task definition ‖ service ‖ ENI (if it still exists) ‖ target group ‖ target health ‖ task subnet NACL | task definition ‖ service ‖ container instance host (EC2, Managed Instances) or the task subnet (Fargate) (‖ ENI) |
//! | 2 | load balancers ‖ the VPC's security groups and subnets | route tables ‖ NAT gateways ‖ VPC endpoints ‖ DNS attributes ‖ security groups and subnets of the VPC ‖ pulling subnet NACL |
//! | 3 | | the NAT instance, only when the pull's route leads to one |

use crate::domain::api;
use crate::domain::event::TaskEvent;
use crate::domain::facts::{
    effective_route_table, Fact, Host, NatGateway, NatInstance, NetworkInterface, RouteTable,
    Service, Subnet, Unreadable, VpcDns, VpcEndpoint,
};
use crate::domain::net::{NetworkAcl, SecurityGroup};
use crate::domain::stop::{
    pulls_through_instance, task_network_from, HealthCheckFacts, PullFacts, PullPath, Puller,
    StopCause, StopFacts, StoppedTask, TaskNetworkConfig,
};
use crate::facts::waves::{
    into_fact, list_fact, missing_input, not_read, read_fact, read_host, read_service,
    read_task_definition, resolve_prefix_lists,
};
use crate::ports::{FactReader, ReadError, Selection};

/// The ENI, if it still exists (a standalone task has no deployment to tell its groups).
async fn eni_if_any<R: FactReader>(
    event: &TaskEvent,
    reader: &R,
) -> Result<Option<NetworkInterface>, ReadError> {
    let Some(attachment) = event.task.eni_attachment() else {
        return Ok(None);
    };
    match reader
        .network_interface(&attachment.network_interface_id)
        .await
    {
        Ok(eni) => Ok(eni),
        Err(ReadError::Unreadable(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The task's network: the deployment's groups with the event's subnet and IP, else the ENI's.
fn task_network(
    stop: &StoppedTask,
    service: Option<&Fact<Service>>,
    eni: Option<&NetworkInterface>,
) -> Fact<TaskNetworkConfig> {
    let task = &stop.event.task;
    let attachment = task.eni_attachment();
    if let Some(Fact::Unknown(u)) = service {
        return Fact::Unknown(u.clone());
    }
    let from_service = service
        .and_then(Fact::known)
        .and_then(|s| task_network_from(attachment.as_ref(), Some(s), task.started_by.as_deref()));
    if let Some(net) = from_service {
        return Fact::Known(net);
    }
    match eni {
        Some(eni) => Fact::Known(TaskNetworkConfig {
            subnet_id: eni.subnet_id.clone(),
            private_ip: eni.private_ip.clone(),
            security_group_ids: eni.security_group_ids.clone(),
            public_ip: eni.public_ip.is_some(),
            source: format!("ENI {}", eni.id),
        }),
        None => Fact::Unknown(Unreadable {
            api: api::EC2_DESCRIBE_NETWORK_INTERFACES,
            reason: match attachment {
                Some(a) => format!(
                    "ENI {} no longer exists and no service deployment names the task's security groups",
                    a.network_interface_id
                ),
                None => "the event names no ENI (the task has no awsvpc network)".into(),
            },
        }),
    }
}

/// The network ACL of one subnet.
async fn read_subnet_acl<R: FactReader>(
    subnet: &str,
    reader: &R,
) -> Result<Fact<NetworkAcl>, ReadError> {
    let acls = reader
        .network_acls(Selection::Ids(&[subnet.to_string()]))
        .await;
    let found = acls.map(|acls| crate::domain::net::acl_of(&acls, subnet).cloned());
    into_fact(found, || Unreadable {
        api: api::EC2_DESCRIBE_NETWORK_ACLS,
        reason: format!("no network ACL is associated with {subnet}"),
    })
}

/// Reads every fact the stop rules need for `stop`.
pub async fn read_stop_facts<R: FactReader>(
    stop: &StoppedTask,
    reader: &R,
) -> Result<StopFacts, ReadError> {
    match &stop.cause {
        StopCause::HealthCheck {
            target_group_arn, ..
        } => read_health_check(stop, target_group_arn.as_deref(), reader).await,
        StopCause::StartFailure { .. } => read_start_failure(stop, reader).await,
    }
}

/// What the target group of a health-check kill tells, read concurrently: the group, the
/// task's target health, the task subnet's NACL.
type GroupHop = (
    Fact<crate::domain::facts::TargetGroup>,
    Fact<Option<crate::domain::facts::TargetHealth>>,
    Fact<crate::domain::net::NetworkAcl>,
);

async fn read_group_hop<R: FactReader>(
    group_arn: &str,
    subnet: Option<&str>,
    ip: Option<&str>,
    reader: &R,
) -> Result<GroupHop, ReadError> {
    let (groups, health, acl) = tokio::try_join!(
        async { list_fact(reader.target_groups(&[group_arn.to_string()]).await) },
        async {
            match reader.target_health(group_arn).await {
                Ok(targets) => Ok(Fact::Known(
                    targets
                        .into_iter()
                        .find(|t| Some(t.target_id.as_str()) == ip),
                )),
                Err(ReadError::Unreadable(u)) => Ok(Fact::Unknown(u)),
                Err(e) => Err(e),
            }
        },
        async {
            match subnet {
                Some(s) => read_subnet_acl(s, reader).await,
                None => Ok(not_read(
                    api::EC2_DESCRIBE_NETWORK_ACLS,
                    "the task subnet is unknown",
                )),
            }
        }
    )?;
    let group = match groups {
        Fact::Known(groups) => match groups.into_iter().find(|g| g.arn == group_arn) {
            Some(g) => Fact::Known(g),
            None => Fact::Unknown(Unreadable {
                api: api::ELB_DESCRIBE_TARGET_GROUPS,
                reason: format!("target group {group_arn} no longer exists"),
            }),
        },
        Fact::Unknown(u) => Fact::Unknown(u),
    };
    Ok((group, health, acl))
}

async fn read_health_check<R: FactReader>(
    stop: &StoppedTask,
    named_group: Option<&str>,
    reader: &R,
) -> Result<StopFacts, ReadError> {
    let event = &stop.event;
    let attachment = event.task.eni_attachment();
    let event_subnet = attachment.as_ref().and_then(|a| a.subnet_id.clone());
    let ip = attachment
        .as_ref()
        .and_then(|a| a.private_ipv4_address.clone());
    // Wave 1: the reason names the target group and the event the subnet, so the group hop
    // goes out beside the task's own resources. The ENI is the fallback for the task's groups
    // when no deployment names them.
    let (td, service, eni, early) = tokio::try_join!(
        read_task_definition(event, reader),
        read_service(event, reader),
        eni_if_any(event, reader),
        async {
            match (named_group, event_subnet.as_deref()) {
                (Some(arn), Some(subnet)) => Ok(Some(
                    read_group_hop(arn, Some(subnet), ip.as_deref(), reader).await?,
                )),
                _ => Ok(None),
            }
        }
    )?;
    let net = task_network(stop, service.as_ref(), eni.as_ref());
    // An older reason names no target group: the service's first one, read now.
    let group_arn = named_group.map(str::to_string).or_else(|| {
        service.as_ref().and_then(Fact::known).and_then(|s| {
            s.load_balancers
                .iter()
                .find_map(|m| m.target_group_arn.clone())
        })
    });
    let (group, health, acl) = match (early, group_arn) {
        (Some(hop), _) => hop,
        (None, Some(arn)) => {
            let subnet = net.known().map(|n| n.subnet_id.clone());
            read_group_hop(&arn, subnet.as_deref(), ip.as_deref(), reader).await?
        }
        (None, None) => (
            missing_input(api::ELB_DESCRIBE_TARGET_GROUPS, "target group"),
            missing_input(api::ELB_DESCRIBE_TARGET_HEALTH, "target group"),
            missing_input(api::EC2_DESCRIBE_NETWORK_ACLS, "target group"),
        ),
    };
    // Wave 2: behind the target group, in its VPC.
    let (balancers, security_groups, subnets) = match group.known() {
        Some(g) => {
            let vpc = g.vpc_id.clone().unwrap_or_default();
            tokio::try_join!(
                async { list_fact(reader.load_balancers(&g.load_balancer_arns).await) },
                async { list_fact(reader.security_groups(Selection::InVpc(&vpc)).await) },
                async { list_fact(reader.subnets(Selection::InVpc(&vpc)).await) }
            )?
        }
        None => {
            let u = group.as_result().err().cloned().unwrap_or(Unreadable {
                api: api::ELB_DESCRIBE_TARGET_GROUPS,
                reason: "not read".into(),
            });
            (
                Fact::Unknown(u.clone()),
                Fact::Unknown(u.clone()),
                Fact::Unknown(u),
            )
        }
    };
    Ok(StopFacts {
        task_definition: td,
        service,
        task_network: net,
        security_groups: resolve_prefix_lists(security_groups, reader).await?,
        network_acl: acl,
        health_check: Some(HealthCheckFacts {
            target_group: group,
            load_balancers: balancers,
            subnets,
            target_health: health,
        }),
        pull: None,
    })
}

async fn read_start_failure<R: FactReader>(
    stop: &StoppedTask,
    reader: &R,
) -> Result<StopFacts, ReadError> {
    let event = &stop.event;
    let task = &event.task;
    let attachment = task.eni_attachment();
    let through_instance = pulls_through_instance(task.launch_type());
    let event_subnet = attachment.as_ref().and_then(|a| a.subnet_id.clone());
    let (td, service, eni, host, task_subnet) = tokio::try_join!(
        read_task_definition(event, reader),
        read_service(event, reader),
        async {
            if through_instance {
                Ok(None)
            } else {
                eni_if_any(event, reader).await
            }
        },
        async {
            if through_instance {
                Ok(Some(read_host(event, reader).await?))
            } else {
                Ok(None)
            }
        },
        async {
            match (through_instance, event_subnet.as_ref()) {
                (false, Some(s)) => list_fact(
                    reader
                        .subnets(Selection::Ids(std::slice::from_ref(s)))
                        .await,
                )
                .map(Some),
                _ => Ok(None),
            }
        }
    )?;
    let net = task_network(stop, service.as_ref(), eni.as_ref());
    let path = pull_path(host, &net, task_subnet);
    let Some(p) = path.known().cloned() else {
        let u = path.as_result().err().cloned().unwrap_or(Unreadable {
            api: api::EC2_DESCRIBE_SUBNETS,
            reason: "not read".into(),
        });
        return Ok(StopFacts {
            task_definition: td,
            service,
            task_network: net,
            security_groups: Fact::Unknown(u.clone()),
            network_acl: Fact::Unknown(u.clone()),
            health_check: None,
            pull: Some(unreadable_pull(path, u)),
        });
    };
    let vpc = read_pulling_vpc(&p, reader).await?;
    let nat_instance = read_nat_instance(&vpc.route_table, reader).await?;
    Ok(StopFacts {
        task_definition: td,
        service,
        task_network: net,
        security_groups: resolve_prefix_lists(vpc.groups, reader).await?,
        network_acl: vpc.acl,
        health_check: None,
        pull: Some(PullFacts {
            path,
            route_table: vpc.route_table,
            route_tables: vpc.route_tables,
            nat_gateways: vpc.nat_gateways,
            nat_instance,
            endpoints: vpc.endpoints,
            dns: vpc.dns,
            subnets: vpc.subnets,
            public_access: vpc.public_access,
        }),
    })
}

/// The pull facts when the pulling network itself is unknown: every fact names that reason.
fn unreadable_pull(path: Fact<PullPath>, u: Unreadable) -> PullFacts {
    PullFacts {
        path,
        route_table: Fact::Unknown(u.clone()),
        route_tables: Fact::Unknown(u.clone()),
        nat_gateways: Fact::Unknown(u.clone()),
        nat_instance: None,
        endpoints: Fact::Unknown(u.clone()),
        dns: Fact::Unknown(u.clone()),
        subnets: Fact::Unknown(u.clone()),
        public_access: Fact::Unknown(u),
    }
}

/// Whose network pulls: the container instance's on EC2, else the task ENI's (its subnet read
/// for the VPC).
fn pull_path(
    host: Option<Fact<Host>>,
    net: &Fact<TaskNetworkConfig>,
    task_subnet: Option<Fact<Vec<Subnet>>>,
) -> Fact<PullPath> {
    match host {
        Some(Fact::Known(h)) => match (h.subnet_id.clone(), h.vpc_id.clone()) {
            (Some(subnet_id), Some(vpc_id)) => Fact::Known(PullPath {
                via: Puller::Instance(h.instance_id.clone()),
                subnet_id,
                vpc_id,
                public_ip: h.public_ip.is_some(),
                security_group_ids: h.security_group_ids.clone(),
            }),
            _ => Fact::Unknown(Unreadable {
                api: api::EC2_DESCRIBE_INSTANCES,
                reason: format!("instance {} has no subnet (EC2-Classic?)", h.instance_id),
            }),
        },
        Some(Fact::Unknown(u)) => Fact::Unknown(u),
        None => match (net, task_subnet) {
            (Fact::Known(n), Some(Fact::Known(subnets))) => {
                match subnets.iter().find(|s| s.id == n.subnet_id) {
                    Some(s) => Fact::Known(PullPath {
                        via: Puller::TaskEni,
                        subnet_id: n.subnet_id.clone(),
                        vpc_id: s.vpc_id.clone(),
                        public_ip: n.public_ip,
                        security_group_ids: n.security_group_ids.clone(),
                    }),
                    None => Fact::Unknown(Unreadable {
                        api: api::EC2_DESCRIBE_SUBNETS,
                        reason: format!("subnet {} no longer exists", n.subnet_id),
                    }),
                }
            }
            (_, Some(Fact::Unknown(u))) => Fact::Unknown(u),
            (Fact::Unknown(u), _) => Fact::Unknown(u.clone()),
            (Fact::Known(_), None) => missing_input(api::EC2_DESCRIBE_SUBNETS, "task subnet"),
        },
    }
}

/// Wave 3, only when the pull's route leads to a NAT instance: the instance (its id is known
/// only from the routes).
async fn read_nat_instance<R: FactReader>(
    table: &Fact<RouteTable>,
    reader: &R,
) -> Result<Option<Fact<NatInstance>>, ReadError> {
    let Some(id) = table
        .known()
        .and_then(RouteTable::ipv4_default_route)
        .filter(|r| !r.blackhole)
        .and_then(|r| r.target.as_deref())
        .filter(|t| t.starts_with("i-"))
    else {
        return Ok(None);
    };
    let instance = into_fact(reader.nat_instance(id).await, || Unreadable {
        api: api::EC2_DESCRIBE_INSTANCES,
        reason: format!("NAT instance {id} of the pull's route no longer exists"),
    })?;
    Ok(Some(instance))
}

/// Wave 2 of a pull: the pulling VPC.
struct PullingVpc {
    route_table: Fact<RouteTable>,
    route_tables: Fact<Vec<RouteTable>>,
    nat_gateways: Fact<Vec<NatGateway>>,
    endpoints: Fact<Vec<VpcEndpoint>>,
    dns: Fact<VpcDns>,
    groups: Fact<Vec<SecurityGroup>>,
    subnets: Fact<Vec<Subnet>>,
    acl: Fact<NetworkAcl>,
    public_access: Fact<crate::domain::public_access::PublicAccessBlock>,
}

async fn read_pulling_vpc<R: FactReader>(
    p: &PullPath,
    reader: &R,
) -> Result<PullingVpc, ReadError> {
    // The NAT gateways beside the route tables: whether the route's NAT gateway leads out is
    // decided without a wave of its own.
    // VPC Block Public Access beside them too (its exclusions, read only when it blocks, are
    // the one call of a second round trip).
    let (tables, nat_gateways, endpoints, dns, groups, subnets, acl, public_access) = tokio::try_join!(
        async { list_fact(reader.route_tables(&p.vpc_id).await) },
        async { list_fact(reader.nat_gateways(&p.vpc_id).await) },
        async { list_fact(reader.vpc_endpoints(&p.vpc_id).await) },
        async {
            into_fact(reader.vpc_dns(&p.vpc_id).await, || Unreadable {
                api: api::EC2_DESCRIBE_VPC_ATTRIBUTE,
                reason: format!("VPC {} no longer exists", p.vpc_id),
            })
        },
        async { list_fact(reader.security_groups(Selection::InVpc(&p.vpc_id)).await) },
        async { list_fact(reader.subnets(Selection::InVpc(&p.vpc_id)).await) },
        read_subnet_acl(&p.subnet_id, reader),
        async { read_fact(reader.public_access_block().await) }
    )?;
    let route_table = match &tables {
        Fact::Known(t) => match effective_route_table(t, &p.subnet_id) {
            Some(table) => Fact::Known(table.clone()),
            None => Fact::Unknown(Unreadable {
                api: api::EC2_DESCRIBE_ROUTE_TABLES,
                reason: format!("VPC {} has no route table for {}", p.vpc_id, p.subnet_id),
            }),
        },
        Fact::Unknown(u) => Fact::Unknown(u.clone()),
    };
    Ok(PullingVpc {
        route_table,
        route_tables: tables,
        nat_gateways,
        endpoints,
        dns,
        groups,
        subnets,
        acl,
        public_access,
    })
}
