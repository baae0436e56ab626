//! What a stop rule may look at: the stopped task, its cause and its facts, with the shared
//! facts resolved once (the health-check port, the pull path's way out). As in [`super::view`],
//! facts come through accessors returning `Result<_, Unreadable>`.

use crate::domain::api;
use crate::domain::facts::{
    target_kind, Fact, LoadBalancer, NatReach, RouteTable, Service, Subnet, TargetGroup,
    TargetHealth, TaskDefinition, Unreadable, VpcDns, VpcEndpoint,
};
use crate::domain::net::{
    admits_public_source, rules_admit, Cidr, NetworkAcl, Peer, SecurityGroup,
};
use crate::domain::public_access::Egress as PublicEgress;
use crate::domain::stop::{
    health_check_port, FailureClass, HealthCheckFacts, PullFacts, PullPath, Puller, StopCause,
    StopFacts, StoppedTask, TaskNetworkConfig,
};

/// A stopped task with a diagnosable cause: what the stop rules evaluate.
#[derive(Debug, Clone, Copy)]
pub struct StopView<'a> {
    /// The stopped task and its cause.
    pub stop: &'a StoppedTask,
    /// Everything read from AWS.
    pub facts: &'a StopFacts,
}

fn known<T>(fact: &Fact<T>) -> Result<&T, Unreadable> {
    fact.as_result().map_err(Clone::clone)
}

/// How a pull path reaches the internet, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    /// A route to a NAT gateway that leads out (available, public, its subnet routing to an
    /// internet gateway): `nat-1 -> igw-1`.
    Nat(String),
    /// An internet gateway route and a public IP on the pulling ENI.
    PublicIp(String),
    /// The path leaves what the VPC's APIs show (a transit gateway, peering, a firewall
    /// endpoint, a NAT instance, or a NAT gateway routing to one): the description.
    Beyond(String),
    /// A route to a NAT gateway that leads nowhere: why (failed, deleted, private, its subnet
    /// without a way out).
    NatNowhere(String),
    /// An internet gateway route, but no public IP: no way out.
    GatewayWithoutPublicIp(String),
    /// A way out that the routes show open (a public IP, a NAT), but VPC Block Public Access
    /// stops its traffic at the internet gateway of `subnet` (the pull's, or the NAT's).
    GatewayBlocked {
        /// The subnet whose traffic is stopped.
        subnet: String,
        /// The way out, e.g. `NAT gateway nat-1`.
        way: String,
        /// What blocks it.
        why: String,
    },
    /// A default route whose target was deleted (state `blackhole`): no way out.
    Blackhole(String),
    /// No default route.
    None,
}

impl Egress {
    /// Whether the route table shows that nothing leads to the internet (the VPC endpoints
    /// are then the only way to AWS).
    pub fn leads_nowhere(&self) -> bool {
        matches!(
            self,
            Egress::None
                | Egress::Blackhole(_)
                | Egress::GatewayWithoutPublicIp(_)
                | Egress::GatewayBlocked { .. }
                | Egress::NatNowhere(_)
        )
    }
}

impl<'a> StopView<'a> {
    /// Health-check facts, for a health-check kill (`None` otherwise).
    pub fn health(&self) -> Option<&'a HealthCheckFacts> {
        match self.stop.cause {
            StopCause::HealthCheck { .. } => self.facts.health_check.as_ref(),
            StopCause::StartFailure { .. } => None,
        }
    }

    /// Pull facts and the failure class, for a start failure (`None` otherwise).
    pub fn pull(&self) -> Option<(&'a PullFacts, FailureClass)> {
        match &self.stop.cause {
            StopCause::StartFailure { class, .. } => self.facts.pull.as_ref().map(|p| (p, *class)),
            StopCause::HealthCheck { .. } => None,
        }
    }

    /// The task definition.
    pub fn task_definition(&self) -> Result<&'a TaskDefinition, Unreadable> {
        known(&self.facts.task_definition)
    }

    /// The service, for a service task.
    pub fn service(&self) -> Result<Option<&'a Service>, Unreadable> {
        self.facts.service.as_ref().map(known).transpose()
    }

    /// The task's network (subnet, IP, groups).
    pub fn task_network(&self) -> Result<&'a TaskNetworkConfig, Unreadable> {
        known(&self.facts.task_network)
    }

    /// The network ACL of the subnet in question.
    pub fn network_acl(&self) -> Result<&'a NetworkAcl, Unreadable> {
        known(&self.facts.network_acl)
    }

    /// The security groups with these ids (missing ones are left out).
    pub fn groups(&self, ids: &[String]) -> Result<Vec<&'a SecurityGroup>, Unreadable> {
        Ok(known(&self.facts.security_groups)?
            .iter()
            .filter(|g| ids.contains(&g.id))
            .collect())
    }

    /// The target group of a health-check kill.
    pub fn target_group(&self, h: &'a HealthCheckFacts) -> Result<&'a TargetGroup, Unreadable> {
        known(&h.target_group)
    }

    /// Its load balancers.
    pub fn load_balancers(
        &self,
        h: &'a HealthCheckFacts,
    ) -> Result<&'a [LoadBalancer], Unreadable> {
        known(&h.load_balancers).map(Vec::as_slice)
    }

    /// The VPC's subnets.
    pub fn subnets(&self, h: &'a HealthCheckFacts) -> Result<&'a [Subnet], Unreadable> {
        known(&h.subnets).map(Vec::as_slice)
    }

    /// The task's target health, if it is still registered.
    pub fn target_health(
        &self,
        h: &'a HealthCheckFacts,
    ) -> Result<Option<&'a TargetHealth>, Unreadable> {
        known(&h.target_health).map(Option::as_ref)
    }

    /// The traffic port of the target group: the container port of the service's mapping to
    /// it, else the port the task was registered with.
    pub fn traffic_port(&self, h: &'a HealthCheckFacts) -> Result<Option<i32>, Unreadable> {
        let group = self.target_group(h)?;
        let mapped = self.service()?.and_then(|s| {
            s.load_balancers
                .iter()
                .find(|m| m.target_group_arn.as_deref() == Some(group.arn.as_str()))
                .and_then(|m| m.container_port)
        });
        Ok(mapped.or(self.target_health(h).ok().flatten().and_then(|t| t.port)))
    }

    /// The port the health check connects to on the task.
    pub fn health_check_port(&self, h: &'a HealthCheckFacts) -> Result<Option<i32>, Unreadable> {
        let group = self.target_group(h)?;
        Ok(health_check_port(
            &group.health_check.port,
            self.traffic_port(h)?,
        ))
    }

    /// The pull path.
    pub fn pull_path(&self, p: &'a PullFacts) -> Result<&'a PullPath, Unreadable> {
        known(&p.path)
    }

    /// The pulling network's security groups. None read back (no ids, or ids the VPC's groups
    /// do not contain) is unknown, never "every way out blocked".
    pub fn pull_groups(&self, p: &'a PullFacts) -> Result<Vec<&'a SecurityGroup>, Unreadable> {
        let path = self.pull_path(p)?;
        let api = match path.via {
            Puller::Instance(_) => api::EC2_DESCRIBE_INSTANCES,
            Puller::TaskEni => api::EC2_DESCRIBE_NETWORK_INTERFACES,
        };
        if path.security_group_ids.is_empty() {
            return Err(Unreadable {
                api,
                reason: format!("the security groups of {} read back empty", path.describe()),
            });
        }
        let groups = self.groups(&path.security_group_ids)?;
        if groups.is_empty() {
            return Err(Unreadable {
                api: api::EC2_DESCRIBE_SECURITY_GROUPS,
                reason: format!(
                    "security groups {} of {} were not found",
                    path.security_group_ids.join(", "),
                    path.describe()
                ),
            });
        }
        Ok(groups)
    }

    /// The route table of the pull path's subnet.
    pub fn pull_route_table(&self, p: &'a PullFacts) -> Result<&'a RouteTable, Unreadable> {
        known(&p.route_table)
    }

    /// The VPC's endpoints.
    pub fn endpoints(&self, p: &'a PullFacts) -> Result<&'a [VpcEndpoint], Unreadable> {
        known(&p.endpoints).map(Vec::as_slice)
    }

    /// The VPC's DNS attributes.
    pub fn dns(&self, p: &'a PullFacts) -> Result<VpcDns, Unreadable> {
        known(&p.dns).copied()
    }

    /// How the pull path reaches the internet.
    pub fn egress(&self, p: &'a PullFacts) -> Result<Egress, Unreadable> {
        let (path, table) = (self.pull_path(p)?, self.pull_route_table(p)?);
        let route = table.ipv4_default_route();
        if let Some(dead) = route.filter(|r| r.blackhole) {
            let target = dead
                .target
                .clone()
                .unwrap_or_else(|| "a deleted target".into());
            return Ok(Egress::Blackhole(target));
        }
        Ok(match route.and_then(|r| r.target.as_deref()) {
            Some(t) if t.starts_with("igw-") && path.public_ip => {
                let way = format!("its public IP through {t}");
                match self.blocked(p, &path.subnet_id, way, PublicEgress::Direct)? {
                    Some(blocked) => blocked,
                    None => Egress::PublicIp(t.into()),
                }
            }
            Some(t) if t.starts_with("igw-") => Egress::GatewayWithoutPublicIp(t.into()),
            Some(t) if t.starts_with("nat-") => self.through_nat_gateway(p, t)?,
            Some(t) if t.starts_with("i-") => self.through_nat_instance(p)?,
            Some(t) => Egress::Beyond(format!(
                "subnet {} routes 0.0.0.0/0 to {t} ({}), past which the VPC's APIs do not show the way",
                path.subnet_id,
                target_kind(t)
            )),
            None => Egress::None,
        })
    }

    /// Whether the NAT instance of the pull's route leads out: running, source/destination
    /// check off, a public IP, a subnet routing to an internet gateway, and security groups
    /// that take the pull's 443 in and let it out. Its own forwarding (the OS's NAT rules) is
    /// beyond what the APIs show.
    fn through_nat_instance(&self, p: &'a PullFacts) -> Result<Egress, Unreadable> {
        let not_read = || Unreadable {
            api: api::EC2_DESCRIBE_INSTANCES,
            reason: "the NAT instance of the pull's route was not read".into(),
        };
        let nat = known(p.nat_instance.as_ref().ok_or_else(not_read)?)?;
        let igw = match nat.reach(known(&p.route_tables)?) {
            NatReach::Internet(igw) => igw,
            NatReach::Nowhere(why) => return Ok(Egress::NatNowhere(why)),
            NatReach::Beyond(what) => return Ok(Egress::Beyond(what)),
        };
        if let Some((subnet, via)) = nat.leaves_from() {
            let way = format!("NAT instance {} -> {igw}", nat.id);
            if let Some(blocked) = self.blocked(p, subnet, way, via)? {
                return Ok(blocked);
            }
        }
        let path = self.pull_path(p)?;
        let groups = self.groups(&nat.security_group_ids)?;
        if groups.is_empty() {
            return Err(Unreadable {
                api: api::EC2_DESCRIBE_INSTANCES,
                reason: format!(
                    "the security groups of NAT instance {} read back empty",
                    nat.id
                ),
            });
        }
        let from_puller = Peer {
            group_ids: path.security_group_ids.clone(),
            cidrs: self.pull_subnet_cidrs(p)?,
        };
        let admits_in = rules_admit(
            groups.iter().flat_map(|g| &g.ingress),
            "tcp",
            443,
            &from_puller,
        );
        let lets_out =
            admits_public_source(groups.iter().flat_map(|g| &g.egress), "tcp", (443, 443));
        Ok(match (admits_in, lets_out) {
            (true, true) => Egress::Nat(format!("NAT instance {} -> {igw}", nat.id)),
            (false, _) => Egress::NatNowhere(format!(
                "the security groups {} of NAT instance {} admit no 443/tcp from {}",
                nat.security_group_ids.join(", "),
                nat.id,
                path.describe()
            )),
            (true, false) => Egress::NatNowhere(format!(
                "the security groups {} of NAT instance {} let no 443/tcp out to the internet",
                nat.security_group_ids.join(", "),
                nat.id
            )),
        })
    }

    /// Whether the NAT gateway of the pull's route leads out.
    fn through_nat_gateway(&self, p: &'a PullFacts, nat: &str) -> Result<Egress, Unreadable> {
        let gateways = known(&p.nat_gateways)?;
        let Some(gateway) = gateways.iter().find(|g| g.id == nat) else {
            return Err(Unreadable {
                api: api::EC2_DESCRIBE_NAT_GATEWAYS,
                reason: format!(
                    "NAT gateway {nat} of the pull's route is not among the VPC's NAT gateways"
                ),
            });
        };
        Ok(match gateway.reach(known(&p.route_tables)?) {
            NatReach::Internet(igw) => {
                let way = format!("{nat} -> {igw}");
                let (subnet, via) = gateway.leaves_from();
                match self.blocked(p, subnet, way.clone(), via)? {
                    Some(blocked) => blocked,
                    None => Egress::Nat(way),
                }
            }
            NatReach::Nowhere(why) => Egress::NatNowhere(why),
            NatReach::Beyond(what) => Egress::Beyond(what),
        })
    }

    /// The blocked way out when VPC Block Public Access stops `way`, traffic leaving `subnet`
    /// of the pull's VPC for the internet `via` its gateway.
    fn blocked(
        &self,
        p: &'a PullFacts,
        subnet: &str,
        way: String,
        via: PublicEgress,
    ) -> Result<Option<Egress>, Unreadable> {
        let vpc = &self.pull_path(p)?.vpc_id;
        let block = known(&p.public_access)?;
        Ok(
            (!block.admits_egress(vpc, subnet, via)).then(|| Egress::GatewayBlocked {
                subnet: subnet.to_string(),
                way,
                why: block.describe(vpc, subnet),
            }),
        )
    }

    /// IPv4 CIDRs of the pull path's subnet.
    pub fn pull_subnet_cidrs(&self, p: &'a PullFacts) -> Result<Vec<Cidr>, Unreadable> {
        let path = self.pull_path(p)?;
        Ok(known(&p.subnets)?
            .iter()
            .filter(|s| s.id == path.subnet_id)
            .filter_map(|s| s.cidr.as_deref().and_then(Cidr::parse))
            .collect())
    }
}

/// The endpoint services a start needs when it cannot reach the internet, each with why.
pub fn needed_endpoints(
    td: &TaskDefinition,
    named_in_reason: &[&'static str],
) -> Vec<(&'static str, String)> {
    let mut needed: Vec<(&'static str, String)> = Vec::new();
    let mut need = |service: &'static str, why: String| {
        if !needed.iter().any(|(s, _)| *s == service) {
            needed.push((service, why));
        }
    };
    let needs = &td.start_needs;
    if let Some(image) = needs
        .images
        .iter()
        .find(|i| crate::domain::stop::is_private_ecr_image(i))
    {
        for service in ["ecr.api", "ecr.dkr", "s3"] {
            need(service, format!("image {image}"));
        }
    }
    if needs.awslogs {
        need("logs", "the awslogs log driver".into());
    }
    if needs.secrets_manager {
        need("secretsmanager", "secrets from Secrets Manager".into());
    }
    if needs.ssm_parameters {
        need("ssm", "parameters from SSM Parameter Store".into());
    }
    for service in named_in_reason {
        need(service, "named in the stop reason".into());
    }
    needed
}
