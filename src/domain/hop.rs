//! The hops of a network path, as the rules name them: each rule judges one hop (the `hop` of
//! its metadata), and the path model draws the hops in order.

use serde::Serialize;

/// One hop of a path to or from a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Hop {
    /// Clients on the internet (or the registry a pull reaches).
    Internet,
    /// The route to an internet gateway (attached, active) of the subnets on the path.
    InternetGateway,
    /// A public IP on the path: the task's own, or the host's it is mistaken for.
    PublicIp,
    /// The network ACL of the load balancer's subnets, toward its clients.
    LbSubnetAcl,
    /// The load balancer's security groups (clients in, the task out).
    LbSecurityGroups,
    /// The listener that forwards to the target group.
    Listener,
    /// The target group and the task's registration in it.
    TargetGroup,
    /// The network ACL of the load balancer's subnets, toward the task.
    LbSubnetAclToTask,
    /// The task's security groups.
    TaskSecurityGroups,
    /// The network ACL of the task's subnet.
    TaskSubnetAcl,
    /// The task's ENI and container port (or the pulling ENI: the instance's on EC2).
    TaskEni,
    /// The application behind the port (what a health check asks).
    Application,
    /// The VPC's DNS (names of registries and endpoints).
    Dns,
    /// The way out: the default route and what it leads to (a NAT, a public IP, endpoints).
    WayOut,
    /// The registry the image comes from (permissions, the image itself).
    Registry,
    /// Not one hop: the check as a whole (a fact that could not be read).
    Whole,
}

impl Hop {
    /// The hop's name in a picture.
    pub fn label(self) -> &'static str {
        match self {
            Hop::Internet => "Internet",
            Hop::InternetGateway => "Internet gateway",
            Hop::PublicIp => "Public IP",
            Hop::LbSubnetAcl => "LB subnets' ACL",
            Hop::LbSecurityGroups => "LB security groups",
            Hop::Listener => "Listener",
            Hop::TargetGroup => "Target group",
            Hop::LbSubnetAclToTask => "LB subnets' ACL to the task",
            Hop::TaskSecurityGroups => "Task security groups",
            Hop::TaskSubnetAcl => "Task subnet ACL",
            Hop::TaskEni => "Task ENI",
            Hop::Application => "Application",
            Hop::Dns => "VPC DNS",
            Hop::WayOut => "Way out",
            Hop::Registry => "Registry",
            Hop::Whole => "Check",
        }
    }
}
