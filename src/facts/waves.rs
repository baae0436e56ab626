//! Reading one task's facts in named waves. Each wave is a set of concurrent reads that needs
//! only what the waves before it returned; each returns a complete struct (no placeholder is
//! patched later). The container instance's host is read beside the waves, since no other read
//! depends on it, and kept only for a task without a load balancer (the one case in which the
//! host decides how the task *looks* public): it starts with the waves and is dropped once the
//! service shows a load balancer; a service the cache knows decides before it starts.
//!
//! | wave | reads (concurrently) | needs |
//! |---|---|---|
//! | 1 [`NamedResources`] | task definition ‖ service ‖ task ENI | the event |
//! | 2 [`TaskNetwork`] | route tables of the ENI's VPC ‖ target groups ‖ task subnet NACL ‖ the VPC's security groups and subnets | ENI, service |
//! | 3 [`BalancerPath`] | load balancers ‖ listeners (and rules) ‖ target health | target groups |
//! | 4 [`Boundaries`] | only what waves 2 and 3 left out: the ENI's groups on a direct IPv6 path, the groups and subnets of a load balancer in another VPC | ENI, load balancers |
//! | beside 3 and 4 | the NAT the task subnet's default route names (the VPC's NAT gateways, or the NAT instance), only when it names one | route tables |
//!
//! Behind a load balancer the security groups and subnets are read by `vpc-id` in wave 2, the
//! wave that learns the VPC, so the load balancer's groups and subnets need no wave of their
//! own: a task behind an ALB costs three read round trips (and one DescribeContainerInstances
//! cut short), the seed task two.
//!
//! Optional reads follow one principle: **a fact is read when a rule that can change the
//! verdict needs it**. Security groups are read whenever an inbound path is evaluated (a load
//! balancer, or a direct IPv6 route to an internet gateway); the NACL, the target groups and
//! the load-balancer subnets only on a load-balancer path ([`InboundPaths`]).

use crate::domain::api;
use futures_util::future::{select, try_join_all, Either};

use crate::domain::event::TaskEvent;
use crate::domain::facts::{
    effective_route_table, Fact, Host, Listener, LoadBalancer, LoadBalancerMapping,
    LoadBalancerPath, Nat, NatGateway, NetworkInterface, RouteTable, Service, Subnet, TargetGroup,
    TaskDefinition, TaskFacts, Unreadable,
};
use crate::domain::net::{NetworkAcl, SecurityGroup};
use crate::domain::public_access::PublicAccessBlock;
use crate::domain::task::EniAttachment;
use crate::ports::{FactReader, ReadError, ReadResult, Selection};

/// Turns a read into a fact: `Unreadable` and missing resources become unknown facts;
/// persistent failures (after the SDK's retries) stay errors, so the check is retried.
pub(crate) fn into_fact<T>(
    result: ReadResult<T>,
    missing: impl FnOnce() -> Unreadable,
) -> Result<Fact<T>, ReadError> {
    match result {
        Ok(Some(v)) => Ok(Fact::Known(v)),
        Ok(None) => Ok(Fact::Unknown(missing())),
        Err(ReadError::Unreadable(u)) => Ok(Fact::Unknown(u)),
        Err(e) => Err(e),
    }
}

/// Turns a read into a fact: `Unreadable` becomes an unknown fact.
pub(crate) fn read_fact<T>(result: Result<T, ReadError>) -> Result<Fact<T>, ReadError> {
    match result {
        Ok(value) => Ok(Fact::Known(value)),
        Err(ReadError::Unreadable(u)) => Ok(Fact::Unknown(u)),
        Err(e) => Err(e),
    }
}

/// Turns a list read into a fact.
pub(crate) fn list_fact<T>(result: Result<Vec<T>, ReadError>) -> Result<Fact<Vec<T>>, ReadError> {
    read_fact(result)
}

/// Whether the table's default route leads to a NAT (a NAT gateway or an instance).
fn routes_to_nat(table: &Fact<RouteTable>) -> bool {
    table
        .known()
        .and_then(RouteTable::ipv4_default_route)
        .filter(|r| !r.blackhole)
        .and_then(|r| r.target.as_deref())
        .is_some_and(|t| t.starts_with("nat-") || t.starts_with("i-"))
}

/// VPC Block Public Access, when `needed` (the internet has a way in to the task, or its way
/// out is a NAT); `None` otherwise, since no rule could use it.
pub(crate) async fn read_public_access<R: FactReader>(
    needed: bool,
    reader: &R,
) -> Result<Option<Fact<PublicAccessBlock>>, ReadError> {
    match needed {
        true => Ok(Some(read_fact(reader.public_access_block().await)?)),
        false => Ok(None),
    }
}

pub(crate) fn not_read<T>(api: &'static str, because: &str) -> Fact<T> {
    Fact::Unknown(Unreadable {
        api,
        reason: format!("not read: {because}"),
    })
}

pub(crate) fn missing_input<T>(api: &'static str, what: &str) -> Fact<T> {
    Fact::Unknown(Unreadable {
        api,
        reason: format!("the event does not name the {what}"),
    })
}

fn sorted_unique(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Wave 1: the resources the event names.
#[derive(Debug)]
pub struct NamedResources {
    /// The task definition.
    pub task_definition: Fact<TaskDefinition>,
    /// The service, for a service task.
    pub service: Option<Fact<Service>>,
    /// The task ENI.
    pub eni: Fact<NetworkInterface>,
}

/// Wave 2: the task's network, and the first hop of its load-balancer path.
#[derive(Debug)]
pub struct TaskNetwork {
    /// All route tables of the ENI's VPC.
    pub vpc_route_tables: Fact<Vec<RouteTable>>,
    /// The one in force for the ENI's subnet.
    pub route_table: Fact<RouteTable>,
    /// The service's target groups (on a load-balancer path).
    pub target_groups: Option<Fact<Vec<TargetGroup>>>,
    /// The VPC's network ACLs (on a load-balancer path: the task's and the load balancers'
    /// subnets).
    pub network_acls: Fact<Vec<NetworkAcl>>,
    /// Security groups read early: every one of the VPC on a load-balancer path, the ENI's
    /// for a public IP.
    pub vpc_groups: Option<Fact<Vec<SecurityGroup>>>,
    /// Every subnet of the VPC (on a load-balancer path).
    pub vpc_subnets: Option<Fact<Vec<Subnet>>>,
}

/// Wave 3: what sits behind the target groups.
#[derive(Debug, Clone)]
pub struct BalancerPath {
    /// The target groups' load balancers.
    pub load_balancers: Fact<Vec<LoadBalancer>>,
    /// Their listeners.
    pub listeners: Fact<Vec<Listener>>,
    /// Target groups in which the task's IP is registered.
    pub registered_in: Fact<Vec<String>>,
}

/// Wave 4 (when needed): the filters on the path, complete.
#[derive(Debug)]
pub struct Boundaries {
    /// Security groups of the task ENI and of its load balancers.
    pub security_groups: Fact<Vec<SecurityGroup>>,
    /// The load balancers' subnets.
    pub lb_subnets: Fact<Vec<Subnet>>,
}

/// The inbound paths a task has, as far as the waves so far tell: what decides optional reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundPaths {
    /// The service has load-balancer mappings.
    pub load_balancer: bool,
    /// The ENI has an IPv6 address and its subnet routes `::/0` to an internet gateway.
    pub ipv6_direct: bool,
    /// The ENI has a public IPv4 address (Fargate `assignPublicIp: ENABLED`).
    pub public_ipv4: bool,
}

impl InboundPaths {
    /// Security groups filter every inbound path.
    pub fn needs_security_groups(self) -> bool {
        self.load_balancer || self.ipv6_direct || self.public_ipv4
    }
}

fn lb_mappings(service: &Option<Fact<Service>>) -> Option<&[LoadBalancerMapping]> {
    match service {
        Some(Fact::Known(s)) if !s.load_balancers.is_empty() => Some(&s.load_balancers),
        _ => None,
    }
}

/// Reads every fact the rules need for `event`, in waves.
pub async fn read_task_facts<R: FactReader>(
    event: &TaskEvent,
    attachment: Option<&EniAttachment>,
    reader: &R,
) -> Result<TaskFacts, ReadError> {
    let Some(attachment) = attachment else {
        // Without an ENI only the network mode matters (bridge/host are out of scope).
        let task_definition = read_task_definition(event, reader).await?;
        return Ok(TaskFacts::without_network(
            task_definition,
            Unreadable {
                api: api::EC2_DESCRIBE_NETWORK_INTERFACES,
                reason: "the event does not name the task ENI".into(),
            },
        ));
    };
    // The host is read beside the waves, and dropped as soon as the service shows that no rule
    // needs it; when the cache knows the service, it decides before the host read starts
    // (`biased`: the waves are polled first).
    let (decided, host_decision) = tokio::sync::oneshot::channel();
    let waves = async {
        let named = named_resources(event, attachment, reader, |service| {
            let _ = decided.send(host_needed(lb_mappings(service)));
        })
        .await?;
        let mappings = lb_mappings(&named.service);
        // Block Public Access is read when the internet has a way in (known now: it is read
        // beside waves 2 to 4, its two sequential calls take no round trip of their own), or
        // else when the task's way out is a NAT (known from the route table: beside the NAT).
        let way_in = mappings.is_some()
            || named
                .eni
                .known()
                .is_some_and(|e| e.public_ip.is_some() || !e.ipv6_addresses.is_empty());
        let rest = async {
            let network = task_network(&named, mappings, reader).await?;
            let beyond = balancers_and_boundaries(&named, &network, mappings, attachment, reader);
            // The NAT the route leads to, beside waves 3 and 4: no round trip for a task behind
            // a load balancer.
            let vpc = named.eni.known().map(|e| e.vpc_id.as_str());
            let way_out_by_nat = !way_in && routes_to_nat(&network.route_table);
            let ((balancers, boundaries), nat, late_public_access) = tokio::try_join!(
                beyond,
                read_route_nat(&network.route_table, vpc, None, reader),
                read_public_access(way_out_by_nat, reader)
            )?;
            Ok::<_, ReadError>((network, balancers, boundaries, nat, late_public_access))
        };
        let ((network, balancers, boundaries, nat, late), early) =
            tokio::try_join!(rest, read_public_access(way_in, reader))?;
        let public_access = early.or(late);
        Ok::<_, ReadError>((named, network, balancers, boundaries, nat, public_access))
    };
    let ((named, network, balancers, boundaries, nat, public_access), host) = tokio::try_join!(
        biased;
        waves,
        host_if_needed(event, reader, host_decision)
    )?;
    let load_balancer_path = network.target_groups.map(|target_groups| {
        let balancers = balancers.unwrap_or_else(|| unreachable_path(&target_groups));
        LoadBalancerPath {
            subnets: match &balancers.load_balancers {
                Fact::Unknown(u) => Fact::Unknown(u.clone()),
                Fact::Known(_) => boundaries.lb_subnets,
            },
            target_groups,
            load_balancers: balancers.load_balancers,
            listeners: balancers.listeners,
            registered_in: balancers.registered_in,
        }
    });
    Ok(TaskFacts {
        task_definition: named.task_definition,
        service: named.service,
        eni: named.eni,
        route_table: network.route_table,
        host,
        vpc_route_tables: network.vpc_route_tables,
        network_acls: network.network_acls,
        security_groups: resolve_prefix_lists(boundaries.security_groups, reader).await?,
        load_balancer_path,
        nat,
        public_access,
    })
}

/// The NAT the route table's default route leads to (a NAT gateway among the VPC's, or a
/// NAT instance), read only when it leads to one. `gateways`, when a wave already read the
/// VPC's NAT gateways, is used instead of reading them again.
pub(crate) async fn read_route_nat<R: FactReader>(
    table: &Fact<RouteTable>,
    vpc: Option<&str>,
    gateways: Option<&Fact<Vec<NatGateway>>>,
    reader: &R,
) -> Result<Option<Fact<Nat>>, ReadError> {
    let Some(target) = table
        .known()
        .and_then(RouteTable::ipv4_default_route)
        .filter(|r| !r.blackhole)
        .and_then(|r| r.target.as_deref())
    else {
        return Ok(None);
    };
    let nat = match (target, vpc) {
        (id, Some(vpc)) if id.starts_with("nat-") => {
            let read = match gateways {
                Some(gateways) => gateways.clone(),
                None => list_fact(reader.nat_gateways(vpc).await)?,
            };
            match read {
                Fact::Known(all) => match all.into_iter().find(|g| g.id == id) {
                    Some(g) => Fact::Known(Nat::Gateway(g)),
                    None => Fact::Unknown(Unreadable {
                        api: api::EC2_DESCRIBE_NAT_GATEWAYS,
                        reason: format!(
                            "NAT gateway {id} of the task's route is not among VPC {vpc}'s"
                        ),
                    }),
                },
                Fact::Unknown(u) => Fact::Unknown(u),
            }
        }
        (id, _) if id.starts_with("i-") => {
            let instance = into_fact(reader.nat_instance(id).await, || Unreadable {
                api: api::EC2_DESCRIBE_INSTANCES,
                reason: format!("NAT instance {id} of the task's route no longer exists"),
            })?;
            match instance {
                Fact::Known(i) => Fact::Known(Nat::Instance(i)),
                Fact::Unknown(u) => Fact::Unknown(u),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(nat))
}

/// Waves 3 and 4: the load-balancer path behind the target groups, then the filters on it.
async fn balancers_and_boundaries<R: FactReader>(
    named: &NamedResources,
    network: &TaskNetwork,
    mappings: Option<&[LoadBalancerMapping]>,
    attachment: &EniAttachment,
    reader: &R,
) -> Result<(Option<BalancerPath>, Boundaries), ReadError> {
    let balancers = match &network.target_groups {
        Some(groups) => {
            let ip = attachment.private_ipv4_address.as_deref();
            Some(balancer_path(groups, mappings.unwrap_or_default(), ip, reader).await?)
        }
        None => None,
    };
    let paths = InboundPaths {
        load_balancer: mappings.is_some(),
        public_ipv4: named.eni.known().is_some_and(|e| e.public_ip.is_some()),
        ipv6_direct: named
            .eni
            .known()
            .is_some_and(|e| !e.ipv6_addresses.is_empty())
            && network
                .route_table
                .known()
                .is_some_and(|t| t.ipv6_internet_gateway().is_some()),
    };
    let boundaries = boundaries(&named.eni, network, balancers.as_ref(), paths, reader).await?;
    Ok((balancers, boundaries))
}

/// The path behind target groups that could not be read: every part names the same reason.
pub(crate) fn unreachable_path(target_groups: &Fact<Vec<TargetGroup>>) -> BalancerPath {
    let u = match target_groups {
        Fact::Unknown(u) => u.clone(),
        Fact::Known(_) => Unreadable {
            api: api::ELB_DESCRIBE_LOAD_BALANCERS,
            reason: "not read".into(),
        },
    };
    BalancerPath {
        load_balancers: Fact::Unknown(u.clone()),
        listeners: Fact::Unknown(u.clone()),
        registered_in: Fact::Unknown(u),
    }
}

pub(crate) async fn read_task_definition<R: FactReader>(
    event: &TaskEvent,
    reader: &R,
) -> Result<Fact<TaskDefinition>, ReadError> {
    match event.task.task_definition_arn.as_deref() {
        Some(arn) => into_fact(reader.task_definition(arn).await, || Unreadable {
            api: api::ECS_DESCRIBE_TASK_DEFINITION,
            reason: format!("task definition {arn} does not exist"),
        }),
        None => Ok(missing_input(
            api::ECS_DESCRIBE_TASK_DEFINITION,
            "task definition",
        )),
    }
}

pub(crate) fn cluster(event: &TaskEvent) -> &str {
    event.task.cluster_arn.as_deref().unwrap_or("default")
}

/// Whether the host can change the verdict: it tells how a task without a load balancer
/// *looks* public (a task ENI on EC2 never has a public IP of its own). `Err` says why not.
fn host_needed(mappings: Option<&[LoadBalancerMapping]>) -> Result<(), &'static str> {
    match mappings {
        Some(_) => Err("the service's load balancer is its inbound path"),
        None => Ok(()),
    }
}

/// The host, read as soon as the waves start and dropped (its second read never sent) when the
/// service shows it is not needed.
async fn host_if_needed<R: FactReader>(
    event: &TaskEvent,
    reader: &R,
    decision: tokio::sync::oneshot::Receiver<Result<(), &'static str>>,
) -> Result<Fact<Host>, ReadError> {
    let not_needed = |because| Ok(not_read(api::ECS_DESCRIBE_CONTAINER_INSTANCES, because));
    let decision = std::pin::pin!(decision);
    let reading = std::pin::pin!(read_host(event, reader));
    match select(decision, reading).await {
        Either::Left((Ok(Err(because)), _)) => not_needed(because),
        // Needed, or the waves failed before the service was read (their error wins).
        Either::Left((_, reading)) => reading.await,
        Either::Right((read, decision)) => match decision.await {
            Ok(Err(because)) => not_needed(because),
            _ => read,
        },
    }
}

/// The container instance's EC2 host (two sequential calls).
pub(crate) async fn read_host<R: FactReader>(
    event: &TaskEvent,
    reader: &R,
) -> Result<Fact<Host>, ReadError> {
    match event.task.container_instance_arn.as_deref() {
        Some(arn) => into_fact(reader.container_host(cluster(event), arn).await, || {
            Unreadable {
                api: api::ECS_DESCRIBE_CONTAINER_INSTANCES,
                reason: format!("container instance {arn} no longer exists"),
            }
        }),
        None => Ok(missing_input(
            api::ECS_DESCRIBE_CONTAINER_INSTANCES,
            "container instance",
        )),
    }
}

/// The task's service, for a service task (`None` for a standalone task).
pub(crate) async fn read_service<R: FactReader>(
    event: &TaskEvent,
    reader: &R,
) -> Result<Option<Fact<Service>>, ReadError> {
    let Some(name) = event.task.service_name() else {
        return Ok(None);
    };
    let service = into_fact(reader.service(cluster(event), name).await, || Unreadable {
        api: api::ECS_DESCRIBE_SERVICES,
        reason: format!("service {name} no longer exists (MISSING)"),
    })?;
    Ok(Some(service))
}

/// Wave 1: task definition ‖ service ‖ task ENI.
async fn named_resources<R: FactReader>(
    event: &TaskEvent,
    attachment: &EniAttachment,
    reader: &R,
    on_service: impl FnOnce(&Option<Fact<Service>>),
) -> Result<NamedResources, ReadError> {
    let service = async {
        let service = read_service(event, reader).await?;
        on_service(&service);
        Ok(service)
    };
    let eni = async {
        let id = &attachment.network_interface_id;
        into_fact(reader.network_interface(id).await, || Unreadable {
            api: api::EC2_DESCRIBE_NETWORK_INTERFACES,
            reason: format!("ENI {id} no longer exists"),
        })
    };
    let (task_definition, service, eni) =
        tokio::try_join!(read_task_definition(event, reader), service, eni)?;
    Ok(NamedResources {
        task_definition,
        service,
        eni,
    })
}

/// Wave 2: route tables of the ENI's VPC ‖ target groups ‖ NACL (both on a load-balancer path).
async fn task_network<R: FactReader>(
    named: &NamedResources,
    mappings: Option<&[LoadBalancerMapping]>,
    reader: &R,
) -> Result<TaskNetwork, ReadError> {
    let route_tables = async {
        let Some(eni) = named.eni.known() else {
            return Ok(not_read(
                api::EC2_DESCRIBE_ROUTE_TABLES,
                "the task ENI is unknown",
            ));
        };
        list_fact(reader.route_tables(&eni.vpc_id).await)
    };
    let target_groups = read_target_groups(mappings, reader);
    // The whole VPC's ACLs in one read: the load balancer's subnets are known only a wave
    // later, and their ACLs are hops of the path too.
    let network_acls = async {
        match (named.eni.known(), mappings) {
            (Some(eni), Some(_)) => {
                list_fact(reader.network_acls(Selection::InVpc(&eni.vpc_id)).await)
            }
            (None, Some(_)) => Ok(not_read(
                api::EC2_DESCRIBE_NETWORK_ACLS,
                "the task ENI is unknown",
            )),
            (_, None) => Ok(not_read(api::EC2_DESCRIBE_NETWORK_ACLS, "no load balancer")),
        }
    };
    // Behind a load balancer, the VPC's groups and subnets now, not in a wave of their own;
    // for a public IP (known from the ENI), the ENI's own groups.
    let vpc = named.eni.known().map(|e| e.vpc_id.as_str());
    let vpc_groups = async {
        let which = match (named.eni.known(), mappings) {
            (Some(eni), Some(_)) => Selection::InVpc(&eni.vpc_id),
            (Some(eni), None) if eni.public_ip.is_some() => Selection::Ids(&eni.security_group_ids),
            _ => return Ok(None),
        };
        Ok(Some(list_fact(reader.security_groups(which).await)?))
    };
    let vpc_subnets = async {
        match (vpc, mappings) {
            (Some(vpc), Some(_)) => Ok(Some(list_fact(
                reader.subnets(Selection::InVpc(vpc)).await,
            )?)),
            _ => Ok(None),
        }
    };
    let (vpc_route_tables, target_groups, network_acls, vpc_groups, vpc_subnets) = tokio::try_join!(
        route_tables,
        target_groups,
        network_acls,
        vpc_groups,
        vpc_subnets
    )?;
    let route_table = route_table_in_force(&vpc_route_tables, named.eni.known());
    Ok(TaskNetwork {
        vpc_route_tables,
        route_table,
        target_groups,
        network_acls,
        vpc_groups,
        vpc_subnets,
    })
}

/// The route table in force for the ENI's subnet (its own, else the VPC's main one).
pub(crate) fn route_table_in_force(
    tables: &Fact<Vec<RouteTable>>,
    eni: Option<&NetworkInterface>,
) -> Fact<RouteTable> {
    match (tables, eni) {
        (Fact::Known(tables), Some(eni)) => match effective_route_table(tables, &eni.subnet_id) {
            Some(table) => Fact::Known(table.clone()),
            None => Fact::Unknown(Unreadable {
                api: api::EC2_DESCRIBE_ROUTE_TABLES,
                reason: format!(
                    "VPC {} has no route table for subnet {}",
                    eni.vpc_id, eni.subnet_id
                ),
            }),
        },
        (Fact::Unknown(u), _) => Fact::Unknown(u.clone()),
        (Fact::Known(_), None) => {
            not_read(api::EC2_DESCRIBE_ROUTE_TABLES, "the task ENI is unknown")
        }
    }
}

/// The service's target groups, on a load-balancer path (`None` without one).
pub(crate) async fn read_target_groups<R: FactReader>(
    mappings: Option<&[LoadBalancerMapping]>,
    reader: &R,
) -> Result<Option<Fact<Vec<TargetGroup>>>, ReadError> {
    let Some(mappings) = mappings else {
        return Ok(None);
    };
    let arns = sorted_unique(
        mappings
            .iter()
            .filter_map(|m| m.target_group_arn.clone())
            .collect(),
    );
    if arns.is_empty() {
        return Ok(Some(Fact::Known(vec![])));
    }
    Ok(Some(list_fact(reader.target_groups(&arns).await)?))
}

/// Wave 3: load balancers ‖ listeners ‖ target health, for readable target groups.
pub(crate) async fn balancer_path<R: FactReader>(
    target_groups: &Fact<Vec<TargetGroup>>,
    mappings: &[LoadBalancerMapping],
    task_ip: Option<&str>,
    reader: &R,
) -> Result<BalancerPath, ReadError> {
    let Fact::Known(groups) = target_groups else {
        return Ok(unreachable_path(target_groups));
    };
    let tg_arns = sorted_unique(
        mappings
            .iter()
            .filter_map(|m| m.target_group_arn.clone())
            .collect(),
    );
    let lb_arns = sorted_unique(
        groups
            .iter()
            .flat_map(|g| g.load_balancer_arns.iter().cloned())
            .collect(),
    );
    let load_balancers = async { list_fact(reader.load_balancers(&lb_arns).await) };
    let listeners = async {
        // Each load balancer is asked about the service's target groups it routes to.
        let per_lb = lb_arns.iter().map(|lb| {
            let routed: Vec<String> = groups
                .iter()
                .filter(|g| tg_arns.contains(&g.arn) && g.load_balancer_arns.contains(lb))
                .map(|g| g.arn.clone())
                .collect();
            async move { reader.listeners(lb, &routed).await }
        });
        list_fact(
            try_join_all(per_lb)
                .await
                .map(|v| v.into_iter().flatten().collect()),
        )
    };
    let registered_in = async {
        let Some(ip) = task_ip else {
            return Ok(not_read(
                api::ELB_DESCRIBE_TARGET_HEALTH,
                "the task IP is unknown",
            ));
        };
        let checks = groups.iter().map(|g| async move {
            let targets = reader.target_health(&g.arn).await?;
            let registered = targets.iter().any(|t| t.target_id == ip);
            Ok::<_, ReadError>(registered.then(|| g.arn.clone()))
        });
        list_fact(
            try_join_all(checks)
                .await
                .map(|v| v.into_iter().flatten().collect()),
        )
    };
    let (load_balancers, listeners, registered_in) =
        tokio::try_join!(load_balancers, listeners, registered_in)?;
    Ok(BalancerPath {
        load_balancers,
        listeners,
        registered_in,
    })
}

/// Only when a security-group rule references one: the managed prefix lists, read once each
/// (concurrently) and folded into the rules' ranges, so the rules see CIDRs only. An unreadable
/// list makes the groups unknown: a CHECK_INCOMPLETE, never a guess.
pub(crate) async fn resolve_prefix_lists<R: FactReader>(
    groups: Fact<Vec<SecurityGroup>>,
    reader: &R,
) -> Result<Fact<Vec<SecurityGroup>>, ReadError> {
    let Fact::Known(mut groups) = groups else {
        return Ok(groups);
    };
    let ids = sorted_unique(
        groups
            .iter()
            .flat_map(|g| g.ingress.iter().chain(&g.egress))
            .flat_map(|r| r.prefix_list_ids.iter().cloned())
            .collect(),
    );
    if ids.is_empty() {
        return Ok(Fact::Known(groups));
    }
    let reads = ids.iter().map(|id| async move {
        let list = into_fact(reader.prefix_list_cidrs(id).await, || Unreadable {
            api: api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES,
            reason: format!("prefix list {id} does not exist"),
        })?;
        Ok::<_, ReadError>((id.clone(), list))
    });
    let mut entries = std::collections::HashMap::new();
    for (id, list) in try_join_all(reads).await? {
        match list {
            Fact::Known(cidrs) => {
                entries.insert(id, cidrs);
            }
            Fact::Unknown(u) => return Ok(Fact::Unknown(u)),
        }
    }
    for group in &mut groups {
        for rule in group.ingress.iter_mut().chain(group.egress.iter_mut()) {
            rule.resolve_prefix_lists(|id| entries.get(id).cloned().unwrap_or_default());
        }
    }
    Ok(Fact::Known(groups))
}

/// The facts of `wanted` among `read` when `read` is known; the ids it lacks (all of them
/// when it was not read).
fn pick<T: Clone>(
    read: Option<&Fact<Vec<T>>>,
    wanted: &[String],
    id: impl Fn(&T) -> &str,
) -> (Option<Fact<Vec<T>>>, Vec<String>) {
    match read {
        None => (None, wanted.to_vec()),
        Some(Fact::Unknown(u)) => (Some(Fact::Unknown(u.clone())), vec![]),
        Some(Fact::Known(items)) => {
            let found: Vec<T> = items
                .iter()
                .filter(|i| wanted.iter().any(|w| w == id(i)))
                .cloned()
                .collect();
            let missing = wanted
                .iter()
                .filter(|w| !found.iter().any(|i| id(i) == w.as_str()))
                .cloned()
                .collect();
            (Some(Fact::Known(found)), missing)
        }
    }
}

/// Joins what an earlier wave read with what this one read by id.
fn merged<T>(
    earlier: Option<Fact<Vec<T>>>,
    extra: Option<Fact<Vec<T>>>,
    not_read_because: (&'static str, &str),
) -> Fact<Vec<T>> {
    match (earlier, extra) {
        (Some(Fact::Unknown(u)), _) | (_, Some(Fact::Unknown(u))) => Fact::Unknown(u),
        (Some(Fact::Known(mut a)), Some(Fact::Known(b))) => {
            a.extend(b);
            Fact::Known(a)
        }
        (Some(known), None) | (None, Some(known)) => known,
        (None, None) => not_read(not_read_because.0, not_read_because.1),
    }
}

/// Wave 4: the security groups and load-balancer subnets the earlier waves did not read: the
/// ENI's groups on a direct IPv6 path, the groups and subnets of a load balancer in another VPC.
/// Nothing (no round trip) for a task behind a load balancer of its own VPC.
async fn boundaries<R: FactReader>(
    eni: &Fact<NetworkInterface>,
    network: &TaskNetwork,
    balancers: Option<&BalancerPath>,
    paths: InboundPaths,
    reader: &R,
) -> Result<Boundaries, ReadError> {
    let lbs: &[LoadBalancer] = balancers
        .and_then(|b| b.load_balancers.known())
        .map_or(&[], Vec::as_slice);
    let wanted_groups = match eni.known().filter(|_| paths.needs_security_groups()) {
        Some(eni) => sorted_unique(
            eni.security_group_ids
                .iter()
                .chain(lbs.iter().flat_map(|l| &l.security_group_ids))
                .cloned()
                .collect(),
        ),
        None => vec![],
    };
    let wanted_subnets = sorted_unique(
        lbs.iter()
            .flat_map(|l| l.subnet_ids.iter().cloned())
            .collect(),
    );
    let (groups, missing_groups) = match wanted_groups.is_empty() {
        true => (None, vec![]),
        false => pick(
            network.vpc_groups.as_ref(),
            &wanted_groups,
            |g: &SecurityGroup| &g.id,
        ),
    };
    let (subnets, missing_subnets) = match wanted_subnets.is_empty() {
        true => (None, vec![]),
        false => pick(
            network.vpc_subnets.as_ref(),
            &wanted_subnets,
            |s: &Subnet| &s.id,
        ),
    };
    let extra_groups = async {
        if missing_groups.is_empty() {
            return Ok(None);
        }
        Ok(Some(list_fact(
            reader
                .security_groups(Selection::Ids(&missing_groups))
                .await,
        )?))
    };
    let extra_subnets = async {
        if missing_subnets.is_empty() {
            return Ok(None);
        }
        Ok(Some(list_fact(
            reader.subnets(Selection::Ids(&missing_subnets)).await,
        )?))
    };
    let (extra_groups, extra_subnets) = tokio::try_join!(extra_groups, extra_subnets)?;
    Ok(Boundaries {
        security_groups: merged(
            groups,
            extra_groups,
            (api::EC2_DESCRIBE_SECURITY_GROUPS, "no rule needs them"),
        ),
        lb_subnets: merged(
            subnets,
            extra_subnets,
            (api::EC2_DESCRIBE_SUBNETS, "no load balancer subnets"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::facts::fake::FakeAws;

    async fn read(aws: &FakeAws) -> TaskFacts {
        let (event, attachment) = fixture::running_event();
        read_task_facts(&event, Some(&attachment), aws)
            .await
            .unwrap()
    }

    fn world(facts: &TaskFacts) -> FakeAws {
        FakeAws::from_facts(facts, CONTAINER_INSTANCE, "10.0.3.7")
    }

    fn sorted(mut calls: Vec<&'static str>) -> Vec<&'static str> {
        calls.sort_unstable();
        calls
    }

    #[tokio::test]
    async fn the_seed_reads_exactly_its_six_facts() {
        let aws = world(&fixture::seed());
        let facts = read(&aws).await;
        assert_eq!(
            sorted(aws.calls()),
            [
                api::EC2_DESCRIBE_INSTANCES,
                api::EC2_DESCRIBE_NETWORK_INTERFACES,
                api::EC2_DESCRIBE_ROUTE_TABLES,
                api::ECS_DESCRIBE_CONTAINER_INSTANCES,
                api::ECS_DESCRIBE_SERVICES,
                api::ECS_DESCRIBE_TASK_DEFINITION,
            ]
        );
        assert!(facts.load_balancer_path.is_none());
        assert!(facts.security_groups.known().is_none() && facts.network_acls.known().is_none());
    }

    #[tokio::test]
    async fn a_task_behind_an_alb_reads_every_hop_complete() {
        let aws = world(&fixture::valid());
        let facts = read(&aws).await;
        // Read back, the world is exactly the fixture it was built from: no placeholder left,
        // but the host, which no rule needs behind a load balancer.
        let mut expected = fixture::valid();
        expected.host = not_read(
            api::ECS_DESCRIBE_CONTAINER_INSTANCES,
            "the service's load balancer is its inbound path",
        );
        assert_eq!(facts, expected);
        assert_eq!(
            sorted(aws.calls()),
            [
                api::EC2_DESCRIBE_NAT_GATEWAYS,
                api::EC2_DESCRIBE_NETWORK_ACLS,
                api::EC2_DESCRIBE_NETWORK_INTERFACES,
                api::EC2_DESCRIBE_ROUTE_TABLES,
                api::EC2_DESCRIBE_SECURITY_GROUPS,
                api::EC2_DESCRIBE_SUBNETS,
                api::EC2_DESCRIBE_VPC_BPA_OPTIONS,
                api::ECS_DESCRIBE_SERVICES,
                api::ECS_DESCRIBE_TASK_DEFINITION,
                api::ELB_DESCRIBE_LISTENERS,
                api::ELB_DESCRIBE_LOAD_BALANCERS,
                api::ELB_DESCRIBE_TARGET_GROUPS,
                api::ELB_DESCRIBE_TARGET_HEALTH,
            ]
        );
    }

    #[tokio::test]
    async fn security_groups_and_the_nacl_are_read_only_on_an_inbound_path() {
        let count = |calls: &[&str], api: &str| calls.iter().filter(|c| **c == api).count();
        // (world, security groups read, NACL read)
        let mut ipv6 = fixture::seed();
        if let Fact::Known(eni) = &mut ipv6.eni {
            eni.ipv6_addresses = vec!["2600:1f18::7".into()];
        }
        if let Fact::Known(tables) = &mut ipv6.vpc_route_tables {
            for t in tables.iter_mut() {
                t.routes.push(crate::domain::facts::Route {
                    destination_ipv6_cidr: Some("::/0".into()),
                    target: Some("igw-1".into()),
                    ..Default::default()
                });
            }
        }
        let mut ipv6_egress_only = ipv6.clone();
        if let Fact::Known(tables) = &mut ipv6_egress_only.vpc_route_tables {
            for t in tables.iter_mut() {
                t.routes.last_mut().unwrap().target = Some("eigw-1".into());
            }
        }
        let cases = [
            ("seed: no inbound path", fixture::seed(), 0, 0),
            ("load balancer", fixture::valid(), 1, 1),
            ("direct IPv6 to an internet gateway", ipv6, 1, 0),
            ("IPv6 to an egress-only gateway", ipv6_egress_only, 0, 0),
        ];
        for (name, facts, groups, acl) in cases {
            let aws = world(&facts);
            read(&aws).await;
            let calls = aws.calls();
            assert_eq!(
                count(&calls, api::EC2_DESCRIBE_SECURITY_GROUPS),
                groups,
                "{name}"
            );
            assert_eq!(count(&calls, api::EC2_DESCRIBE_NETWORK_ACLS), acl, "{name}");
        }
    }

    #[tokio::test]
    async fn unreadable_target_groups_stop_the_path_without_further_elb_reads() {
        let denied = ReadError::Unreadable(Unreadable {
            api: api::ELB_DESCRIBE_TARGET_GROUPS,
            reason: "AccessDenied".into(),
        });
        let aws = world(&fixture::valid()).failing(api::ELB_DESCRIBE_TARGET_GROUPS, denied);
        let facts = read(&aws).await;
        let path = facts.load_balancer_path.unwrap();
        for api in [
            path.load_balancers.as_result().unwrap_err().api,
            path.listeners.as_result().unwrap_err().api,
            path.subnets.as_result().unwrap_err().api,
        ] {
            assert_eq!(api, api::ELB_DESCRIBE_TARGET_GROUPS);
        }
        let calls = aws.calls();
        assert!(!calls.contains(&api::ELB_DESCRIBE_LOAD_BALANCERS));
        assert!(!calls.contains(&api::ELB_DESCRIBE_LISTENERS));
    }

    #[tokio::test]
    async fn a_persistent_failure_fails_the_read() {
        let aws = world(&fixture::valid()).failing(
            api::EC2_DESCRIBE_ROUTE_TABLES,
            ReadError::Failed {
                api: api::EC2_DESCRIBE_ROUTE_TABLES,
                message: "503 after retries".into(),
            },
        );
        let (event, attachment) = fixture::running_event();
        let result = read_task_facts(&event, Some(&attachment), &aws).await;
        assert!(matches!(
            result,
            Err(ReadError::Failed {
                api: api::EC2_DESCRIBE_ROUTE_TABLES,
                ..
            })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn block_public_access_is_read_beside_the_waves_without_a_round_trip_of_its_own() {
        use crate::domain::public_access::{BlockMode, ExclusionMode};
        let mut facts = fixture::valid();
        facts.public_access = Some(Fact::Known(fixture::bpa(
            BlockMode::Ingress,
            &[("subnet-a", ExclusionMode::Bidirectional)],
        )));
        // Options, then exclusions: two sequential calls beside waves 2 and 3.
        assert_eq!(round_trips(&facts).await, 3);
        let aws = world(&facts);
        assert_eq!(read(&aws).await.public_access, facts.public_access);
        let calls = aws.calls();
        assert!(calls.contains(&api::EC2_DESCRIBE_VPC_BPA_OPTIONS));
        assert!(calls.contains(&api::EC2_DESCRIBE_VPC_BPA_EXCLUSIONS));

        // A private worker's way out is a NAT: read beside it, in the same third round trip.
        let mut worker = facts.clone();
        if let Some(Fact::Known(service)) = worker.service.as_mut() {
            service.load_balancers.clear();
        }
        worker.load_balancer_path = None;
        assert_eq!(
            round_trips(&worker).await,
            4,
            "BPA on: its exclusions after the NAT"
        );
        let aws = world(&worker);
        assert_eq!(read(&aws).await.public_access, facts.public_access);
        // The seed has neither a way in nor a NAT: nothing to read.
        let aws = world(&fixture::seed());
        assert_eq!(read(&aws).await.public_access, None);
        assert!(!aws.calls().contains(&api::EC2_DESCRIBE_VPC_BPA_OPTIONS));
    }

    /// Sequential read round trips, counted on tokio's paused clock: every fake call takes
    /// 100 ms of virtual time, so the elapsed time is the depth of the waves.
    async fn round_trips(facts: &TaskFacts) -> u128 {
        let aws = world(facts).with_latency(std::time::Duration::from_millis(100));
        let start = tokio::time::Instant::now();
        read(&aws).await;
        start.elapsed().as_millis() / 100
    }

    #[tokio::test(start_paused = true)]
    async fn the_seed_takes_two_read_round_trips_and_a_task_behind_an_alb_three() {
        assert_eq!(round_trips(&fixture::seed()).await, 2, "seed");
        assert_eq!(round_trips(&fixture::valid()).await, 3, "behind an ALB");
        // A load balancer in another VPC costs its groups and subnets one more wave.
        let mut elsewhere = fixture::valid();
        if let Some(path) = elsewhere.load_balancer_path.as_mut() {
            if let Fact::Known(lbs) = &mut path.load_balancers {
                lbs[0].security_group_ids = vec!["sg-other-vpc".into()];
            }
        }
        assert_eq!(
            round_trips(&elsewhere).await,
            4,
            "LB groups outside the VPC"
        );
        // A private worker without a load balancer: the NAT its route names is known only
        // from the routes, so it costs a third round trip (behind an ALB it rides wave 3).
        let mut worker = fixture::valid();
        if let Some(Fact::Known(service)) = worker.service.as_mut() {
            service.load_balancers.clear();
        }
        worker.load_balancer_path = None;
        assert_eq!(round_trips(&worker).await, 3, "private worker behind NAT");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hosts_read_is_cut_short_behind_a_load_balancer_and_never_started_from_the_cache() {
        use crate::ports::Ec2Reader;
        let count = |calls: &[&str], api: &str| calls.iter().filter(|c| **c == api).count();
        let aws = world(&fixture::valid()).with_latency(std::time::Duration::from_millis(100));
        read(&aws).await;
        let calls = aws.calls();
        assert_eq!(
            count(&calls, api::ECS_DESCRIBE_CONTAINER_INSTANCES),
            1,
            "started with wave 1"
        );
        assert_eq!(
            count(&calls, api::EC2_DESCRIBE_INSTANCES),
            0,
            "dropped after wave 1"
        );

        // A batch's check: its ENI primed in bulk, its task definition and service cached.
        let cached = crate::facts::cache::CachingReader::new(
            world(&fixture::valid()).with_latency(std::time::Duration::from_millis(100)),
            crate::facts::cache::DEFAULT_TTL,
        );
        let (event, attachment) = fixture::running_event();
        read_task_facts(&event, Some(&attachment), &cached)
            .await
            .unwrap();
        let before = cached.inner().calls().len();
        cached
            .network_interfaces(std::slice::from_ref(&attachment.network_interface_id))
            .await
            .unwrap();
        read_task_facts(&event, Some(&attachment), &cached)
            .await
            .unwrap();
        let calls = cached.inner().calls();
        assert_eq!(
            count(&calls[before..], api::ECS_DESCRIBE_CONTAINER_INSTANCES),
            0,
            "{:?}",
            &calls[before..]
        );
        assert_eq!(
            count(&calls[before..], api::EC2_DESCRIBE_NAT_GATEWAYS),
            0,
            "the NAT the route names comes from the cache: {:?}",
            &calls[before..]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fargate_task_with_a_public_ip_reads_its_groups_in_two_round_trips() {
        let aws = world(&fixture::fargate_public_ip("0.0.0.0/0"))
            .with_latency(std::time::Duration::from_millis(100));
        let (mut event, attachment) = fixture::running_event();
        event.task.launch_type = Some("FARGATE".into());
        event.task.container_instance_arn = None;
        let start = tokio::time::Instant::now();
        let facts = read_task_facts(&event, Some(&attachment), &aws)
            .await
            .unwrap();
        assert_eq!(start.elapsed().as_millis() / 100, 2);
        assert!(facts.security_groups.known().is_some_and(|g| g.len() == 1));
        assert!(!aws.calls().contains(&api::ECS_DESCRIBE_CONTAINER_INSTANCES));
    }

    #[tokio::test]
    async fn prefix_lists_are_read_once_and_folded_into_the_rules() {
        let mut facts = fixture::valid();
        let lb_group = fixture::group(&mut facts, "sg-lb");
        lb_group.ingress[0].ipv4_ranges.clear();
        lb_group.ingress[0].prefix_list_ids = vec!["pl-office".into()];
        let aws = world(&facts).with_prefix_list("pl-office", &["203.0.113.0/24", "2001:db8::/32"]);
        let read = read(&aws).await;
        let groups = read.security_groups.known().unwrap();
        let lb = groups.iter().find(|g| g.id == "sg-lb").unwrap();
        assert_eq!(lb.ingress[0].ipv4_ranges, ["203.0.113.0/24"]);
        assert_eq!(lb.ingress[0].ipv6_ranges, ["2001:db8::/32"]);
        assert!(lb.ingress[0].prefix_list_ids.is_empty());
        let calls = aws.calls();
        assert_eq!(
            calls
                .iter()
                .filter(|c| **c == api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES)
                .count(),
            1
        );
        // An unreadable list: the groups are unknown, naming the permission.
        let denied = world(&facts).failing(
            api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES,
            ReadError::Unreadable(Unreadable {
                api: api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES,
                reason: "AccessDenied".into(),
            }),
        );
        let read = super::tests::read(&denied).await;
        assert_eq!(
            read.security_groups.as_result().unwrap_err().api,
            api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES
        );
    }
}
