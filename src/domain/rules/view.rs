//! What a rule may look at. The engine builds a [`TaskView`] for every in-scope task and, when
//! the task's service has load balancers, resolves the load-balancer path once into an
//! [`LbView`]: a load-balancer rule never re-checks whether those facts are known. Facts only
//! some rules need are reached through accessors that return `Result<_, Unreadable>`, so a rule
//! writes `view.eni()?` and the engine turns the error into one CHECK_INCOMPLETE per IAM action.

use crate::domain::api;
use crate::domain::event::TaskEvent;
use crate::domain::facts::{
    effective_route_table, Fact, Host, Listener, LoadBalancer, LoadBalancerMapping,
    LoadBalancerPath, NetworkInterface, PortMapping, RouteTable, Service, Subnet, TargetGroup,
    TaskDefinition, TaskFacts, Unreadable,
};
use crate::domain::net::{acl_of, rules_admit_some, Cidr, NetworkAcl, Peer, SecurityGroup};
use crate::domain::public_access::PublicAccessBlock;
use crate::domain::task::{EniAttachment, LaunchType};

/// A RUNNING awsvpc task that maps at least one port: what the task rules evaluate.
#[derive(Debug, Clone, Copy)]
pub struct TaskView<'a> {
    /// The event.
    pub event: &'a TaskEvent,
    /// The ENI named by the event.
    pub attachment: &'a EniAttachment,
    /// The task definition (awsvpc).
    pub task_definition: &'a TaskDefinition,
    /// Everything read from AWS.
    pub facts: &'a TaskFacts,
}

fn known<T>(fact: &Fact<T>) -> Result<&T, Unreadable> {
    fact.as_result().map_err(Clone::clone)
}

impl<'a> TaskView<'a> {
    /// The mapped ports (non-empty for an in-scope task).
    pub fn ports(&self) -> &'a [PortMapping] {
        &self.task_definition.port_mappings
    }

    /// The service, for a service task (`Ok(None)` for a standalone task).
    pub fn service(&self) -> Result<Option<&'a Service>, Unreadable> {
        self.facts.service.as_ref().map(known).transpose()
    }

    /// The task ENI.
    pub fn eni(&self) -> Result<&'a NetworkInterface, Unreadable> {
        known(&self.facts.eni)
    }

    /// The route table in force for the task subnet.
    pub fn route_table(&self) -> Result<&'a RouteTable, Unreadable> {
        known(&self.facts.route_table)
    }

    /// The container instance's EC2 host.
    pub fn host(&self) -> Result<&'a Host, Unreadable> {
        known(&self.facts.host)
    }

    /// Every route table of the task's VPC.
    pub fn vpc_route_tables(&self) -> Result<&'a [RouteTable], Unreadable> {
        known(&self.facts.vpc_route_tables).map(Vec::as_slice)
    }

    /// The network ACL of the task subnet.
    pub fn network_acl(&self) -> Result<&'a NetworkAcl, Unreadable> {
        self.acl_of(&self.eni()?.subnet_id)
    }

    /// The network ACL of a subnet of the task's VPC.
    pub fn acl_of(&self, subnet_id: &str) -> Result<&'a NetworkAcl, Unreadable> {
        acl_of(known(&self.facts.network_acls)?, subnet_id).ok_or_else(|| Unreadable {
            api: api::EC2_DESCRIBE_NETWORK_ACLS,
            reason: format!("no network ACL is associated with {subnet_id}"),
        })
    }

    /// The task's launch type, as far as the event tells.
    pub fn launch_type(&self) -> Option<LaunchType> {
        self.event.task.launch_type()
    }

    /// Whether the task runs on instances (EC2 or Managed Instances), where a task ENI never
    /// gets a public IP.
    pub fn on_instances(&self) -> bool {
        matches!(
            self.launch_type(),
            Some(LaunchType::Ec2 | LaunchType::ManagedInstances)
        )
    }

    /// The task's direct IPv6 path, described, if it has one: an IPv6 address, `::/0` routed to
    /// an internet gateway (never an egress-only one), and a security group admitting a mapped
    /// port from `::/0`.
    pub fn ipv6_direct_path(&self) -> Result<Option<String>, Unreadable> {
        let eni = self.eni()?;
        let Some(address) = eni.ipv6_addresses.first() else {
            return Ok(None);
        };
        let Some(igw) = self.route_table()?.ipv6_internet_gateway() else {
            return Ok(None);
        };
        let (_, groups) = self.eni_groups()?;
        let internet6 = Peer::cidrs(Cidr::parse("::/0"));
        let open: Vec<String> = self
            .ports()
            .iter()
            .filter(|p| {
                rules_admit_some(
                    groups.iter().flat_map(|g| &g.ingress),
                    &p.protocol,
                    (p.container_port, p.last_port),
                    &internet6,
                )
            })
            .map(ToString::to_string)
            .collect();
        if open.is_empty() {
            return Ok(None);
        }
        Ok(Some(format!(
            "task ENI {} has IPv6 address {address} routed ::/0 -> {igw} and admits {} from ::/0",
            eni.id,
            open.join(", ")
        )))
    }

    /// VPC Block Public Access in the task's account and Region. Never read means unknown: the
    /// waves read it whenever the internet has a way in, so a rule never guesses it off.
    pub fn public_access(&self) -> Result<&'a PublicAccessBlock, Unreadable> {
        match &self.facts.public_access {
            Some(fact) => known(fact),
            None => Err(Unreadable {
                api: api::EC2_DESCRIBE_VPC_BPA_OPTIONS,
                reason: "VPC Block Public Access was not read".into(),
            }),
        }
    }

    /// The task ENI and its public IP, when it has one and no load balancer serves the task:
    /// the direct public path the public-IP rules look at.
    pub fn public_ip_without_lb(
        &self,
    ) -> Result<Option<(&'a NetworkInterface, &'a str)>, Unreadable> {
        if self
            .service()?
            .is_some_and(|s| !s.load_balancers.is_empty())
        {
            return Ok(None);
        }
        let eni = self.eni()?;
        Ok(eni.public_ip.as_deref().map(|ip| (eni, ip)))
    }

    /// The security groups with these ids (those that were read). Ids of which none was read
    /// are unknown, never "a group without rules".
    pub fn groups(&self, ids: &[String]) -> Result<Vec<&'a SecurityGroup>, Unreadable> {
        let all = known(&self.facts.security_groups)?;
        let found: Vec<&SecurityGroup> = all.iter().filter(|g| ids.contains(&g.id)).collect();
        if found.is_empty() && !ids.is_empty() {
            return Err(Unreadable {
                api: api::EC2_DESCRIBE_SECURITY_GROUPS,
                reason: format!("security groups {} were not found", ids.join(", ")),
            });
        }
        Ok(found)
    }

    /// The task ENI with its security groups. An ENI always has one; none read back is
    /// unknown, never "everything blocked".
    pub fn eni_groups(&self) -> Result<(&'a NetworkInterface, Vec<&'a SecurityGroup>), Unreadable> {
        let eni = self.eni()?;
        if eni.security_group_ids.is_empty() {
            return Err(Unreadable {
                api: api::EC2_DESCRIBE_NETWORK_INTERFACES,
                reason: format!("the security groups of ENI {} read back empty", eni.id),
            });
        }
        Ok((eni, self.groups(&eni.security_group_ids)?))
    }
}

/// The resolved load-balancer path of a service task.
#[derive(Debug, Clone, Copy)]
pub struct LbView<'a> {
    /// The task.
    pub task: TaskView<'a>,
    /// The service's mappings.
    pub mappings: &'a [LoadBalancerMapping],
    /// Their target groups.
    pub target_groups: &'a [TargetGroup],
    /// The target groups' load balancers.
    pub load_balancers: &'a [LoadBalancer],
    /// Those load balancers' listeners.
    pub listeners: &'a [Listener],
    path: &'a LoadBalancerPath,
}

impl<'a> LbView<'a> {
    /// `None` when the task has no load balancer; the view, or the first unreadable fact of
    /// the path (service → target groups → load balancers → listeners).
    pub fn resolve(task: &TaskView<'a>) -> Option<Result<Self, Unreadable>> {
        let path = task.facts.load_balancer_path.as_ref()?;
        let service = task.facts.service.as_ref()?;
        Some((|| {
            Ok(LbView {
                task: *task,
                mappings: known(service)?.load_balancers.as_slice(),
                target_groups: known(&path.target_groups)?,
                load_balancers: known(&path.load_balancers)?,
                listeners: known(&path.listeners)?,
                path,
            })
        })())
    }

    /// The target group of a mapping, if it was read.
    pub fn target_group(&self, mapping: &LoadBalancerMapping) -> Option<&'a TargetGroup> {
        let arn = mapping.target_group_arn.as_deref()?;
        self.target_groups.iter().find(|t| t.arn == arn)
    }

    /// The load balancers that route to a target group.
    pub fn balancers_of(&self, group: &TargetGroup) -> Vec<&'a LoadBalancer> {
        let lbs = self.load_balancers;
        group
            .load_balancer_arns
            .iter()
            .filter_map(|arn| lbs.iter().find(|l| &l.arn == arn))
            .collect()
    }

    /// Target groups of the mappings together with the mapping.
    pub fn mapped_groups(
        &self,
    ) -> impl Iterator<Item = (&'a LoadBalancerMapping, &'a TargetGroup)> + '_ {
        self.mappings
            .iter()
            .filter_map(move |m| self.target_group(m).map(|g| (m, g)))
    }

    /// Every listener port through which internet clients reach one of the service's target
    /// groups, with its load balancer (internet-facing, with security groups); each once.
    pub fn internet_listener_ports(&self) -> Vec<(&'a LoadBalancer, i32)> {
        let mut ports = self.internet_listeners();
        ports.retain(|(lb, _)| !lb.security_group_ids.is_empty());
        ports
    }

    /// Every listener port through which internet clients reach one of the service's target
    /// groups, with its internet-facing load balancer (an NLB without groups too); each once.
    pub fn internet_listeners(&self) -> Vec<(&'a LoadBalancer, i32)> {
        let mut ports: Vec<(&LoadBalancer, i32)> = Vec::new();
        for (_, g) in self.mapped_groups() {
            for lb in self
                .balancers_of(g)
                .into_iter()
                .filter(|l| l.internet_facing())
            {
                let forwarding = self
                    .listeners
                    .iter()
                    .filter(|l| l.load_balancer_arn == lb.arn && l.forwards_to.contains(&g.arn))
                    .filter_map(|l| l.port);
                for port in forwarding {
                    if !ports.iter().any(|(b, p)| b.arn == lb.arn && *p == port) {
                        ports.push((lb, port));
                    }
                }
            }
        }
        ports
    }

    /// Whether a load balancer sits in the task's VPC, whose network ACLs were read (one in
    /// another VPC is `LB_VPC_MISMATCH`'s finding).
    pub fn in_task_vpc(&self, lb: &LoadBalancer) -> bool {
        self.task.facts.eni.known().map(|e| e.vpc_id.as_str()) == Some(lb.vpc_id.as_str())
    }

    /// The task's address as the load balancer sends to it: its private IP, or, before the task
    /// exists (preflight), the block of the subnet it will start in.
    pub fn task_address(&self) -> Result<Option<Cidr>, Unreadable> {
        let eni = self.task.eni()?;
        if let Some(ip) = eni.private_ip.as_deref().and_then(Cidr::parse) {
            return Ok(Some(ip));
        }
        Ok(
            subnet_cidrs(self.subnets()?, std::slice::from_ref(&eni.subnet_id))
                .into_iter()
                .next(),
        )
    }

    /// The load balancers' subnets.
    pub fn subnets(&self) -> Result<&'a [Subnet], Unreadable> {
        known(&self.path.subnets).map(Vec::as_slice)
    }

    /// Target groups in which the task's IP is registered.
    pub fn registered_in(&self) -> Result<&'a [String], Unreadable> {
        known(&self.path.registered_in).map(Vec::as_slice)
    }
}

/// The client address space of an internet-facing load balancer: `0.0.0.0/0` unless it
/// serves IPv6 only, `::/0` when it is dual-stack.
pub fn internet_clients(lb: &LoadBalancer) -> Vec<Cidr> {
    let mut clients = Vec::new();
    if lb.serves_ipv4() {
        clients.extend(Cidr::parse("0.0.0.0/0"));
    }
    if lb.dual_stack() {
        clients.extend(Cidr::parse("::/0"));
    }
    clients
}

/// IPv4 CIDRs of the given subnets.
pub fn subnet_cidrs(subnets: &[Subnet], ids: &[String]) -> Vec<Cidr> {
    subnets
        .iter()
        .filter(|s| ids.contains(&s.id))
        .filter_map(|s| s.cidr.as_deref().and_then(Cidr::parse))
        .collect()
}

/// The internet gateway of the subnet's IPv4 default route, if the subnet is public.
pub fn public_gateway<'a>(tables: &'a [RouteTable], subnet_id: &str) -> Option<&'a str> {
    effective_route_table(tables, subnet_id).and_then(RouteTable::ipv4_internet_gateway)
}
