//! Facts about a task, as read from AWS by the adapters, in plain domain types.

use serde::Serialize;

use crate::domain::public_access::Egress;

/// Why a fact could not be read: the verdict becomes INSUFFICIENT_DATA, never a guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// The API (IAM action spelling) that was needed, e.g. `ec2:DescribeNetworkInterfaces`.
    pub api: &'static str,
    /// What went wrong, e.g. "AccessDenied: ..." or "ENI eni-1 no longer exists".
    pub reason: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.api, self.reason)
    }
}

/// A fact that was either read or could not be (with the reason).
#[derive(Debug, Clone, PartialEq)]
pub enum Fact<T> {
    /// Read successfully.
    Known(T),
    /// Could not be read; see [`Unreadable`].
    Unknown(Unreadable),
}

impl<T> Fact<T> {
    /// The value, if known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(v) => Some(v),
            Fact::Unknown(_) => None,
        }
    }

    /// `Ok(value)` or `Err(reason)`, for `?`-style rule code.
    pub fn as_result(&self) -> Result<&T, &Unreadable> {
        match self {
            Fact::Known(v) => Ok(v),
            Fact::Unknown(u) => Err(u),
        }
    }
}

/// An enum for an AWS string value: the known values as variants, any other kept as `Other`
/// (a newer AWS value never fails a read; the rules treat it as "not the one they need").
macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident, default $default:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know.
            Other(String),
        }

        impl $name {
            /// Parses the AWS spelling (any case).
            pub fn from_aws(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($text) {
                    return Self::$variant;
                })+
                Self::Other(s.to_string())
            }

            /// The AWS spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

aws_enum! {
    /// A task definition's network mode.
    NetworkMode, default Bridge {
        /// Each task has its own ENI.
        Awsvpc = "awsvpc",
        /// Docker's bridge: the instance's ENI with port mappings (the EC2 default).
        Bridge = "bridge",
        /// The instance's network stack.
        Host = "host",
        /// No external networking.
        None = "none",
    }
}

aws_enum! {
    /// An ECS service's status.
    ServiceStatus, default Active {
        /// Running.
        Active = "ACTIVE",
        /// Being deleted.
        Draining = "DRAINING",
        /// Deleted.
        Inactive = "INACTIVE",
    }
}

aws_enum! {
    /// A target group's target type.
    TargetType, default Ip {
        /// IP addresses: the only type awsvpc tasks register in.
        Ip = "ip",
        /// EC2 instance ids.
        Instance = "instance",
        /// A Lambda function.
        Lambda = "lambda",
        /// An Application Load Balancer (behind an NLB).
        Alb = "alb",
    }
}

aws_enum! {
    /// A load balancer's scheme.
    Scheme, default InternetFacing {
        /// Reachable from the internet by design.
        InternetFacing = "internet-facing",
        /// Reachable inside the VPC only.
        Internal = "internal",
    }
}

aws_enum! {
    /// The IP versions a load balancer's clients use.
    IpAddressType, default Ipv4 {
        /// IPv4 only.
        Ipv4 = "ipv4",
        /// IPv4 and IPv6.
        Dualstack = "dualstack",
        /// IPv6 from the internet, no public IPv4.
        DualstackWithoutPublicIpv4 = "dualstack-without-public-ipv4",
    }
}

/// A container port mapping from the task definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    /// Container name.
    pub container_name: String,
    /// Container port (in awsvpc mode the host port is the same); the first of a range.
    pub container_port: i32,
    /// The last port: `container_port` for one port, more for a `containerPortRange`.
    pub last_port: i32,
    /// `tcp` or `udp`.
    pub protocol: String,
}

impl PortMapping {
    /// Whether this maps a `containerPortRange` rather than one port.
    pub fn is_range(&self) -> bool {
        self.last_port > self.container_port
    }
}

impl std::fmt::Display for PortMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_range() {
            write!(
                f,
                "{}-{}/{}",
                self.container_port, self.last_port, self.protocol
            )
        } else {
            write!(f, "{}/{}", self.container_port, self.protocol)
        }
    }
}

/// Parses a `containerPortRange` such as `7000-7010` into (first, last).
pub fn parse_port_range(range: &str) -> Option<(i32, i32)> {
    let (first, last) = range.trim().split_once('-')?;
    let (first, last) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
    (first <= last).then_some((first, last))
}

/// The tag that suppresses alerts: `all` or a comma-separated list of rule ids.
pub const IGNORE_TAG: &str = "ecs-inbound-guard:ignore";

/// The parts of a task definition the rules need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskDefinition {
    /// Task definition ARN.
    pub arn: String,
    /// The network mode; `None` = not set (bridge on EC2).
    pub network_mode: Option<NetworkMode>,
    /// Every port mapping of every container.
    pub port_mappings: Vec<PortMapping>,
    /// Value of the tag `ecs-inbound-guard:ignore`, if set.
    pub ignore_tag: Option<String>,
    /// What the task needs from AWS before its containers start: images, log drivers, secrets
    /// (the services an image pull or resource initialisation reaches).
    pub start_needs: StartNeeds,
}

/// What a task definition makes ECS fetch before the containers start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartNeeds {
    /// Container images, as written (`repo:tag`, `ACCOUNT.dkr.ecr.REGION.amazonaws.com/repo`, ...).
    pub images: Vec<String>,
    /// Some container logs with the `awslogs` driver (CloudWatch Logs).
    pub awslogs: bool,
    /// Secrets from AWS Secrets Manager (`valueFrom` ARNs of `secretsmanager`).
    pub secrets_manager: bool,
    /// Secrets or parameters from SSM Parameter Store.
    pub ssm_parameters: bool,
}

impl StartNeeds {
    /// What a start fetches, from the containers' images, whether a log driver is `awslogs`,
    /// and every secret's `valueFrom`: Secrets Manager ARNs name `secretsmanager`; anything
    /// else (a parameter name or an `ssm` ARN) is Parameter Store.
    pub fn from_parts<S: AsRef<str>>(
        images: Vec<String>,
        awslogs: bool,
        secret_sources: &[S],
    ) -> Self {
        let secrets_manager = |v: &S| v.as_ref().contains(":secretsmanager:");
        StartNeeds {
            images,
            awslogs,
            secrets_manager: secret_sources.iter().any(secrets_manager),
            ssm_parameters: secret_sources.iter().any(|v| !secrets_manager(v)),
        }
    }
}

impl TaskDefinition {
    /// The effective network mode on EC2 (`bridge` when unset).
    pub fn effective_network_mode(&self) -> NetworkMode {
        self.network_mode.clone().unwrap_or(NetworkMode::Bridge)
    }
}

/// A load balancer mapping of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerMapping {
    /// Target group ARN (ALB/NLB).
    pub target_group_arn: Option<String>,
    /// Classic load balancer name.
    pub load_balancer_name: Option<String>,
    /// Container the LB routes to.
    pub container_name: Option<String>,
    /// Container port the LB routes to.
    pub container_port: Option<i32>,
}

/// The awsvpc network configuration of a service or of one of its deployments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwsVpcConfiguration {
    /// Subnets the tasks are placed in.
    pub subnets: Vec<String>,
    /// Security groups of the task ENIs.
    pub security_groups: Vec<String>,
    /// `assignPublicIp: ENABLED` (Fargate only).
    pub assign_public_ip: bool,
}

/// One deployment of a service (DescribeServices `deployments`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deployment {
    /// `ecs-svc/...`: the `startedBy` of its tasks.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    /// Its task definition ARN.
    pub task_definition: Option<String>,
    /// Its network configuration.
    pub network: Option<AwsVpcConfiguration>,
}

/// The parts of an ECS service the rules need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    /// Service ARN.
    pub arn: String,
    /// Service name.
    pub name: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: ServiceStatus,
    /// Load balancer mappings.
    pub load_balancers: Vec<LoadBalancerMapping>,
    /// Value of the tag `ecs-inbound-guard:ignore`, if set.
    pub ignore_tag: Option<String>,
    /// The service's network configuration (awsvpc).
    pub network: Option<AwsVpcConfiguration>,
    /// Its deployments, newest first as ECS lists them.
    pub deployments: Vec<Deployment>,
    /// `healthCheckGracePeriodSeconds`.
    pub health_check_grace_period: Option<i32>,
    /// Its task definition (the PRIMARY deployment's).
    pub task_definition: Option<String>,
    /// Its launch type, when it has one.
    pub launch_type: Option<String>,
    /// Its capacity provider strategy's providers, when it has one.
    pub capacity_providers: Vec<String>,
}

impl Service {
    /// The deployment whose id is `started_by` (a task's `startedBy`), else the PRIMARY one.
    pub fn deployment_of(&self, started_by: Option<&str>) -> Option<&Deployment> {
        started_by
            .and_then(|s| self.deployments.iter().find(|d| d.id == s))
            .or_else(|| self.deployments.iter().find(|d| d.status == "PRIMARY"))
    }

    /// The network configuration tasks started by `started_by` got: their deployment's, else
    /// the PRIMARY deployment's, else the service's; with where it came from.
    pub fn network_of(&self, started_by: Option<&str>) -> Option<(&AwsVpcConfiguration, String)> {
        if let Some(d) = self.deployment_of(started_by) {
            if let Some(n) = &d.network {
                return Some((n, format!("deployment {}", d.id)));
            }
        }
        self.network
            .as_ref()
            .map(|n| (n, format!("service {}", self.name)))
    }
}

/// The task's elastic network interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkInterface {
    /// `eni-...`
    pub id: String,
    /// Subnet of the ENI.
    pub subnet_id: String,
    /// VPC of the ENI.
    pub vpc_id: String,
    /// Primary private IPv4 address.
    pub private_ip: Option<String>,
    /// Public IPv4 association (never present for EC2 task ENIs, but checked).
    pub public_ip: Option<String>,
    /// IPv6 addresses.
    pub ipv6_addresses: Vec<String>,
    /// Security group ids.
    pub security_group_ids: Vec<String>,
}

/// One route of a route table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// IPv4 destination, e.g. `0.0.0.0/0`.
    pub destination_cidr: Option<String>,
    /// IPv6 destination, e.g. `::/0`.
    pub destination_ipv6_cidr: Option<String>,
    /// Target: `igw-...`, `eigw-...`, `nat-...`, `i-...` (a NAT instance), `vpce-...` (a
    /// Gateway Load Balancer or Network Firewall endpoint), `local`, ...
    pub target: Option<String>,
    /// The target was deleted (route state `blackhole`): the route leads nowhere.
    pub blackhole: bool,
}

aws_enum! {
    /// A NAT gateway's state.
    NatGatewayState, default Available {
        /// Being created: no traffic yet.
        Pending = "pending",
        /// Creation failed.
        Failed = "failed",
        /// Carries traffic.
        Available = "available",
        /// Being deleted.
        Deleting = "deleting",
        /// Deleted (listed for about an hour).
        Deleted = "deleted",
    }
}

/// A NAT gateway (DescribeNatGateways).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NatGateway {
    /// `nat-...`
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// The subnet it sits in: its own route table decides where its traffic goes.
    pub subnet_id: String,
    /// pending, failed, available, deleting, deleted.
    pub state: NatGatewayState,
    /// `ConnectivityType: public` (a private one reaches other networks, never the internet).
    pub public: bool,
}

/// Where a NAT gateway's (or NAT instance's) traffic goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatReach {
    /// Out to the internet through this internet gateway.
    Internet(String),
    /// Nowhere: the reason, e.g. "NAT gateway nat-1 is failed".
    Nowhere(String),
    /// To a target the VPC's APIs cannot see beyond (transit gateway, firewall endpoint, ...).
    Beyond(String),
}

impl NatGateway {
    /// Where its traffic leaves for the internet, as VPC Block Public Access judges it: its
    /// own subnet's internet gateway, as a NAT gateway's.
    pub fn leaves_from(&self) -> (&str, Egress) {
        (&self.subnet_id, Egress::NatGateway)
    }

    /// Where its traffic to the internet goes: it must be `available` and public, and its own
    /// subnet must route 0.0.0.0/0 to an internet gateway (active, so attached).
    pub fn reach(&self, tables: &[RouteTable]) -> NatReach {
        let id = &self.id;
        if self.state != NatGatewayState::Available {
            return NatReach::Nowhere(format!("NAT gateway {id} is {}", self.state));
        }
        let next = next_hop(tables, &self.subnet_id, &format!("NAT gateway {id}"));
        match next {
            NatReach::Beyond(_) if routes_to_itself(tables, &self.subnet_id, id) => {
                NatReach::Nowhere(format!(
                    "NAT gateway {id} sits in subnet {}, whose own 0.0.0.0/0 route leads back to it",
                    self.subnet_id
                ))
            }
            NatReach::Internet(igw) if !self.public => NatReach::Nowhere(format!(
                "NAT gateway {id} is private (ConnectivityType private): {igw} drops its traffic; only a public NAT gateway reaches the internet"
            )),
            other => other,
        }
    }
}

/// An EC2 instance a route sends 0.0.0.0/0 to: a NAT instance (DescribeInstances).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NatInstance {
    /// `i-...`
    pub id: String,
    /// pending, running, stopping, stopped, ...
    pub state: String,
    /// Its subnet, whose own route must lead to an internet gateway.
    pub subnet_id: Option<String>,
    /// Its public IPv4 address: what the internet gateway translates its traffic to.
    pub public_ip: Option<String>,
    /// Source/destination check: on, it drops the traffic it should forward.
    pub source_dest_check: bool,
    /// Its security groups: they must admit the traffic it forwards.
    pub security_group_ids: Vec<String>,
}

impl NatInstance {
    /// Where its traffic leaves for the internet, as VPC Block Public Access judges it: its
    /// subnet's internet gateway, as its own (an instance's public IP); `None` when its subnet
    /// is not known.
    pub fn leaves_from(&self) -> Option<(&str, Egress)> {
        self.subnet_id.as_deref().map(|s| (s, Egress::Direct))
    }

    /// Where the traffic it forwards goes: it must be running with source/destination check
    /// off and a public IP, and its subnet must route 0.0.0.0/0 to an internet gateway.
    pub fn reach(&self, tables: &[RouteTable]) -> NatReach {
        let id = &self.id;
        if !self.state.eq_ignore_ascii_case("running") {
            return NatReach::Nowhere(format!("NAT instance {id} is {}", self.state));
        }
        if self.source_dest_check {
            return NatReach::Nowhere(format!(
                "NAT instance {id} has source/destination check on, so it drops the traffic it should forward"
            ));
        }
        let Some(subnet) = &self.subnet_id else {
            return NatReach::Nowhere(format!("NAT instance {id} has no subnet"));
        };
        match next_hop(tables, subnet, &format!("NAT instance {id}")) {
            NatReach::Beyond(_) if routes_to_itself(tables, subnet, id) => NatReach::Nowhere(
                format!("NAT instance {id} sits in subnet {subnet}, whose own 0.0.0.0/0 route leads back to it"),
            ),
            NatReach::Internet(igw) if self.public_ip.is_none() => NatReach::Nowhere(format!(
                "NAT instance {id} has no public IP, so {igw} cannot carry its traffic"
            )),
            other => other,
        }
    }
}

/// Whether the IPv4 default route of `subnet_id` leads to `id` itself (a loop).
fn routes_to_itself(tables: &[RouteTable], subnet_id: &str, id: &str) -> bool {
    effective_route_table(tables, subnet_id).and_then(RouteTable::ipv4_default_target) == Some(id)
}

/// Where the IPv4 default route of `subnet_id` leads, for `what` sitting in it.
pub fn next_hop(tables: &[RouteTable], subnet_id: &str, what: &str) -> NatReach {
    let Some(table) = effective_route_table(tables, subnet_id) else {
        return NatReach::Nowhere(format!("{what}'s subnet {subnet_id} has no route table"));
    };
    match table.ipv4_default_route() {
        None => NatReach::Nowhere(format!(
            "{what} sits in subnet {subnet_id}, whose route table {} has no 0.0.0.0/0 route",
            table.id
        )),
        Some(route) if route.blackhole => NatReach::Nowhere(format!(
            "{what} sits in subnet {subnet_id}, whose 0.0.0.0/0 route (route table {}) is a blackhole: its target {} was deleted or detached",
            table.id,
            route.target.as_deref().unwrap_or("?")
        )),
        Some(route) => match route.target.as_deref() {
            Some(t) if t.starts_with("igw-") => NatReach::Internet(t.to_string()),
            Some(t) => NatReach::Beyond(format!(
                "{what} sits in subnet {subnet_id}, whose route table {} sends 0.0.0.0/0 to {t} ({})",
                table.id,
                target_kind(t)
            )),
            None => NatReach::Nowhere(format!(
                "{what}'s subnet {subnet_id} routes 0.0.0.0/0 to no target"
            )),
        },
    }
}

/// What a route target is, in words (for the targets past which the VPC's APIs cannot see).
pub fn target_kind(target: &str) -> &'static str {
    let kinds = [
        ("igw-", "an internet gateway"),
        ("eigw-", "an egress-only internet gateway (IPv6 only)"),
        ("nat-", "a NAT gateway"),
        ("i-", "a NAT instance"),
        ("tgw-", "a transit gateway"),
        ("pcx-", "a VPC peering connection"),
        ("vgw-", "a virtual private gateway (VPN or Direct Connect)"),
        (
            "vpce-",
            "a Gateway Load Balancer or Network Firewall endpoint",
        ),
        ("eni-", "a network interface (an appliance)"),
        ("lgw-", "an Outposts local gateway"),
        ("cagw-", "a Wavelength carrier gateway"),
        ("arn:", "a Cloud WAN core network"),
    ];
    kinds
        .iter()
        .find(|(prefix, _)| target.starts_with(prefix))
        .map_or("a target this version does not know", |(_, kind)| kind)
}

/// A route table with its associations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteTable {
    /// `rtb-...`
    pub id: String,
    /// Whether this is the VPC's main route table.
    pub main: bool,
    /// Subnets explicitly associated with it.
    pub subnet_ids: Vec<String>,
    /// Its routes.
    pub routes: Vec<Route>,
}

impl RouteTable {
    /// The internet gateway of the active IPv4 default route, if any (a blackhole route to a
    /// deleted gateway leads nowhere).
    pub fn ipv4_internet_gateway(&self) -> Option<&str> {
        self.ipv4_default_route()
            .filter(|r| !r.blackhole)
            .and_then(|r| r.target.as_deref())
            .filter(|t| t.starts_with("igw-"))
    }

    /// The IPv4 default route (`0.0.0.0/0`), active or not.
    pub fn ipv4_default_route(&self) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| r.destination_cidr.as_deref() == Some("0.0.0.0/0"))
    }

    /// The target of the IPv4 default route (`igw-`, `nat-`, ...), if there is one.
    pub fn ipv4_default_target(&self) -> Option<&str> {
        self.ipv4_default_route().and_then(|r| r.target.as_deref())
    }

    /// The internet gateway of the active IPv6 default route (`eigw-` gives no inbound), if any.
    pub fn ipv6_internet_gateway(&self) -> Option<&str> {
        self.routes
            .iter()
            .filter(|r| r.destination_ipv6_cidr.as_deref() == Some("::/0") && !r.blackhole)
            .filter_map(|r| r.target.as_deref())
            .find(|t| t.starts_with("igw-"))
    }
}

/// The route table in force for `subnet_id`: its explicit association, else the VPC's main table.
pub fn effective_route_table<'a>(
    tables: &'a [RouteTable],
    subnet_id: &str,
) -> Option<&'a RouteTable> {
    tables
        .iter()
        .find(|t| t.subnet_ids.iter().any(|s| s == subnet_id))
        .or_else(|| tables.iter().find(|t| t.main))
}

/// The EC2 instance that hosts the task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Host {
    /// `i-...`
    pub instance_id: String,
    /// Public IPv4 of the instance's primary ENI, if any.
    pub public_ip: Option<String>,
    /// The instance's subnet (where the container agent pulls images from).
    pub subnet_id: Option<String>,
    /// The instance's VPC.
    pub vpc_id: Option<String>,
    /// Security groups of the instance's primary ENI.
    pub security_group_ids: Vec<String>,
}

/// A target group named by a service's load-balancer mapping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetGroup {
    /// Target group ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `ip`, `instance`, `lambda` or `alb`.
    pub target_type: TargetType,
    /// Its VPC.
    pub vpc_id: Option<String>,
    /// HTTP, HTTPS, TCP, TLS, UDP, ...
    pub protocol: Option<String>,
    /// Load balancers that route to it.
    pub load_balancer_arns: Vec<String>,
    /// `preserve_client_ip.enabled` (NLB); `None` when not read.
    pub preserve_client_ip: Option<bool>,
    /// Its health check.
    pub health_check: HealthCheck,
}

/// Where a target group's health check connects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HealthCheckPort {
    /// `traffic-port`: the port each target is registered with (the container port).
    #[default]
    TrafficPort,
    /// A fixed port.
    Port(i32),
}

/// A target group's health check settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthCheck {
    /// Port.
    pub port: HealthCheckPort,
    /// HTTP, HTTPS, TCP, ...
    pub protocol: Option<String>,
    /// Path (HTTP/HTTPS).
    pub path: Option<String>,
    /// Success codes, e.g. `200` or `200-399`.
    pub matcher: Option<String>,
    /// Seconds between checks.
    pub interval_seconds: Option<i32>,
    /// Seconds a check may take.
    pub timeout_seconds: Option<i32>,
    /// Consecutive successes before healthy.
    pub healthy_threshold: Option<i32>,
    /// Consecutive failures before unhealthy.
    pub unhealthy_threshold: Option<i32>,
}

/// One target's health in a target group (DescribeTargetHealth).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetHealth {
    /// The target id (an IP address for `ip` target groups).
    pub target_id: String,
    /// The registered port.
    pub port: Option<i32>,
    /// healthy, unhealthy, initial, draining, unused, unavailable.
    pub state: Option<String>,
    /// `Target.Timeout`, `Target.FailedHealthChecks`, `Target.ResponseCodeMismatch`, ...
    pub reason: Option<String>,
    /// AWS's explanation of the reason.
    pub description: Option<String>,
}

/// An ALB or NLB.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadBalancer {
    /// Load balancer ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `internet-facing` or `internal`.
    pub scheme: Scheme,
    /// Its VPC.
    pub vpc_id: String,
    /// Subnets its nodes live in.
    pub subnet_ids: Vec<String>,
    /// Its security groups (empty for an NLB without SGs).
    pub security_group_ids: Vec<String>,
    /// `ipv4`, `dualstack` or `dualstack-without-public-ipv4`.
    pub ip_address_type: IpAddressType,
}

impl LoadBalancer {
    /// Whether it is reachable from the internet by design.
    pub fn internet_facing(&self) -> bool {
        self.scheme == Scheme::InternetFacing
    }

    /// Whether clients reach it over IPv6 too.
    pub fn dual_stack(&self) -> bool {
        matches!(
            self.ip_address_type,
            IpAddressType::Dualstack | IpAddressType::DualstackWithoutPublicIpv4
        )
    }

    /// Whether clients reach it over IPv4 (not `dualstack-without-public-ipv4`).
    pub fn serves_ipv4(&self) -> bool {
        self.ip_address_type != IpAddressType::DualstackWithoutPublicIpv4
    }
}

/// A listener and the target groups it forwards to (default actions and rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listener {
    /// Listener ARN.
    pub arn: String,
    /// Its load balancer.
    pub load_balancer_arn: String,
    /// Listener port.
    pub port: Option<i32>,
    /// Listener protocol.
    pub protocol: Option<String>,
    /// Target groups it forwards to.
    pub forwards_to: Vec<String>,
}

/// A subnet (for load-balancer subnets: CIDR and routes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subnet {
    /// `subnet-...`
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// IPv4 CIDR.
    pub cidr: Option<String>,
    /// Its Availability Zone.
    pub availability_zone: Option<String>,
}

/// A VPC endpoint (DescribeVpcEndpoints).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VpcEndpoint {
    /// `vpce-...`
    pub id: String,
    /// e.g. `com.amazonaws.us-east-1.ecr.dkr`.
    pub service_name: String,
    /// `Interface`, `Gateway` or `GatewayLoadBalancer`.
    pub kind: String,
    /// available, pending, ...
    pub state: Option<String>,
    /// Private DNS enabled (interface endpoints).
    pub private_dns: bool,
    /// Route tables (gateway endpoints).
    pub route_table_ids: Vec<String>,
    /// Subnets (interface endpoints).
    pub subnet_ids: Vec<String>,
    /// Security groups (interface endpoints).
    pub security_group_ids: Vec<String>,
}

impl VpcEndpoint {
    /// The short service (`ecr.dkr`, `s3`, `logs`, ...): the name after `com.amazonaws.REGION.`.
    pub fn short_service(&self) -> &str {
        let mut parts = self.service_name.splitn(4, '.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(_), Some(_), Some(rest)) => rest,
            _ => &self.service_name,
        }
    }

    /// Whether it can carry traffic (`available`; an unknown state counts as available).
    pub fn is_available(&self) -> bool {
        self.state
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("available"))
    }
}

/// A VPC's DNS attributes (DescribeVpcAttribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VpcDns {
    /// `enableDnsSupport`: the Amazon DNS server answers.
    pub support: bool,
    /// `enableDnsHostnames`: needed with support for interface endpoints' private DNS.
    pub hostnames: bool,
}

/// The load-balancer side of a service's inbound path.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerPath {
    /// Target groups of the service's mappings.
    pub target_groups: Fact<Vec<TargetGroup>>,
    /// Load balancers of those target groups.
    pub load_balancers: Fact<Vec<LoadBalancer>>,
    /// Listeners of those load balancers.
    pub listeners: Fact<Vec<Listener>>,
    /// Subnets of those load balancers.
    pub subnets: Fact<Vec<Subnet>>,
    /// Target groups in which the task's IP is registered.
    pub registered_in: Fact<Vec<String>>,
}

/// Everything the rules look at for one RUNNING awsvpc EC2 task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFacts {
    /// Task definition (network mode, ports).
    pub task_definition: Fact<TaskDefinition>,
    /// The service, for service tasks; `None` for standalone tasks.
    pub service: Option<Fact<Service>>,
    /// The task ENI.
    pub eni: Fact<NetworkInterface>,
    /// The route table in force for the ENI's subnet.
    pub route_table: Fact<RouteTable>,
    /// The container instance's EC2 host.
    pub host: Fact<Host>,
    /// All route tables of the task's VPC (for load-balancer subnets).
    pub vpc_route_tables: Fact<Vec<RouteTable>>,
    /// The network ACLs of the task's VPC, each with its subnets (the task's and the load
    /// balancers' subnets are among them).
    pub network_acls: Fact<Vec<crate::domain::net::NetworkAcl>>,
    /// Security groups of the task ENI and of its load balancers (read when needed).
    pub security_groups: Fact<Vec<crate::domain::net::SecurityGroup>>,
    /// The load-balancer path, when the service has load-balancer mappings.
    pub load_balancer_path: Option<LoadBalancerPath>,
    /// The NAT the task subnet's default route leads to; `None` when it leads to none.
    pub nat: Option<Fact<Nat>>,
    /// VPC Block Public Access in the task's account and Region; `None` when not read (the
    /// task has no way in from the internet: a public IP or a load balancer).
    pub public_access: Option<Fact<crate::domain::public_access::PublicAccessBlock>>,
}

/// The NAT a route leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nat {
    /// A NAT gateway.
    Gateway(NatGateway),
    /// A NAT instance.
    Instance(NatInstance),
}

impl Nat {
    /// Where its traffic leaves for the internet (see the gateway's and the instance's).
    pub fn leaves_from(&self) -> Option<(&str, Egress)> {
        match self {
            Nat::Gateway(g) => Some(g.leaves_from()),
            Nat::Instance(i) => i.leaves_from(),
        }
    }

    /// Where the traffic it translates goes.
    pub fn reach(&self, tables: &[RouteTable]) -> NatReach {
        match self {
            Nat::Gateway(g) => g.reach(tables),
            Nat::Instance(i) => i.reach(tables),
        }
    }
}

impl TaskFacts {
    /// Facts for a task whose network was not read (no ENI in the event).
    pub fn without_network(task_definition: Fact<TaskDefinition>, not_read: Unreadable) -> Self {
        TaskFacts {
            task_definition,
            service: None,
            eni: Fact::Unknown(not_read.clone()),
            route_table: Fact::Unknown(not_read.clone()),
            host: Fact::Unknown(not_read.clone()),
            vpc_route_tables: Fact::Unknown(not_read.clone()),
            network_acls: Fact::Unknown(not_read.clone()),
            security_groups: Fact::Unknown(not_read),
            load_balancer_path: None,
            nat: None,
            public_access: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blackhole_route_to_a_deleted_gateway_leads_nowhere() {
        let route = |destination: &str, v6: bool, target: &str, blackhole: bool| Route {
            destination_cidr: (!v6).then(|| destination.to_string()),
            destination_ipv6_cidr: v6.then(|| destination.to_string()),
            target: Some(target.into()),
            blackhole,
        };
        let mut table = RouteTable {
            id: "rtb-1".into(),
            main: true,
            subnet_ids: vec![],
            routes: vec![
                route("0.0.0.0/0", false, "igw-1", true),
                route("::/0", true, "igw-1", true),
            ],
        };
        assert_eq!(table.ipv4_internet_gateway(), None);
        assert_eq!(table.ipv6_internet_gateway(), None);
        assert_eq!(table.ipv4_default_target(), Some("igw-1"), "still named");
        for r in &mut table.routes {
            r.blackhole = false;
        }
        assert_eq!(table.ipv4_internet_gateway(), Some("igw-1"));
        assert_eq!(table.ipv6_internet_gateway(), Some("igw-1"));
    }

    fn rt(id: &str, main: bool, subnets: &[&str]) -> RouteTable {
        RouteTable {
            id: id.into(),
            main,
            subnet_ids: subnets.iter().map(|s| s.to_string()).collect(),
            routes: vec![],
        }
    }

    #[test]
    fn port_ranges_parse_and_display() {
        assert_eq!(parse_port_range("7000-7010"), Some((7000, 7010)));
        assert_eq!(parse_port_range(" 80 - 80 "), Some((80, 80)));
        assert_eq!(parse_port_range("7010-7000"), None);
        assert_eq!(parse_port_range("7000"), None);
        let range = PortMapping {
            container_name: "web".into(),
            container_port: 7000,
            last_port: 7010,
            protocol: "tcp".into(),
        };
        assert!(range.is_range());
        assert_eq!(range.to_string(), "7000-7010/tcp");
    }

    #[test]
    fn aws_values_parse_in_any_case_and_unknown_ones_are_kept() {
        assert_eq!(NetworkMode::from_aws("awsvpc"), NetworkMode::Awsvpc);
        assert_eq!(ServiceStatus::from_aws("inactive"), ServiceStatus::Inactive);
        assert_eq!(
            Scheme::from_aws("internet-facing").as_str(),
            "internet-facing"
        );
        let newer = TargetType::from_aws("vpc-lattice");
        assert_eq!(newer, TargetType::Other("vpc-lattice".into()));
        assert_eq!(newer.to_string(), "vpc-lattice");
        assert_ne!(newer, TargetType::Ip, "an unknown type is not `ip`");
        let td = TaskDefinition::default();
        assert_eq!(td.effective_network_mode(), NetworkMode::Bridge);
    }

    #[test]
    fn explicit_association_wins_over_main() {
        let tables = [rt("rtb-main", true, &[]), rt("rtb-a", false, &["subnet-a"])];
        assert_eq!(
            effective_route_table(&tables, "subnet-a").unwrap().id,
            "rtb-a"
        );
        assert_eq!(
            effective_route_table(&tables, "subnet-b").unwrap().id,
            "rtb-main"
        );
        assert!(effective_route_table(&tables[1..], "subnet-b").is_none());
    }

    #[test]
    fn internet_gateway_detection() {
        let route = |cidr: Option<&str>, v6: Option<&str>, target: &str| Route {
            destination_cidr: cidr.map(Into::into),
            destination_ipv6_cidr: v6.map(Into::into),
            target: Some(target.into()),
            blackhole: false,
        };
        let cases = [
            (route(Some("0.0.0.0/0"), None, "igw-1"), Some("igw-1"), None),
            (route(Some("0.0.0.0/0"), None, "nat-1"), None, None),
            (route(Some("10.0.0.0/8"), None, "igw-1"), None, None),
            (route(None, Some("::/0"), "igw-6"), None, Some("igw-6")),
            (route(None, Some("::/0"), "eigw-6"), None, None),
        ];
        for (r, v4, v6) in cases {
            let t = RouteTable {
                routes: vec![r.clone()],
                ..Default::default()
            };
            assert_eq!(t.ipv4_internet_gateway(), v4, "{r:?}");
            assert_eq!(t.ipv6_internet_gateway(), v6, "{r:?}");
        }
    }
}
