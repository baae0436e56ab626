//! Shared views for the rules: the load-balancer path of a task, security groups, subnets.

use crate::domain::facts::{
    effective_route_table, Fact, Listener, LoadBalancer, LoadBalancerMapping, NetworkInterface,
    RouteTable, Subnet, TargetGroup, Unreadable,
};
use crate::domain::net::{Cidr, SecurityGroup};

use super::InScopeTask;

/// The parts of a service's load-balancer path that every LB rule needs.
#[derive(Debug, Clone, Copy)]
pub struct LbParts<'a> {
    /// The service's mappings.
    pub mappings: &'a [LoadBalancerMapping],
    /// Their target groups.
    pub target_groups: &'a [TargetGroup],
    /// The target groups' load balancers.
    pub load_balancers: &'a [LoadBalancer],
    /// Those load balancers' listeners.
    pub listeners: &'a [Listener],
}

impl<'a> LbParts<'a> {
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
}

/// `None` when the task has no load balancer; the parts, or why they could not be read.
pub fn lb_parts<'a>(task: &InScopeTask<'a>) -> Option<Result<LbParts<'a>, Unreadable>> {
    let path = task.facts.load_balancer_path.as_ref()?;
    let mappings = match task.facts.service.as_ref()? {
        Fact::Known(s) => s.load_balancers.as_slice(),
        Fact::Unknown(u) => return Some(Err(u.clone())),
    };
    Some((|| {
        Ok(LbParts {
            mappings,
            target_groups: path.target_groups.as_result().map_err(Clone::clone)?,
            load_balancers: path.load_balancers.as_result().map_err(Clone::clone)?,
            listeners: path.listeners.as_result().map_err(Clone::clone)?,
        })
    })())
}

/// The task ENI, or why it is unknown.
pub fn eni<'a>(task: &InScopeTask<'a>) -> Result<&'a NetworkInterface, Unreadable> {
    task.facts.eni.as_result().map_err(Clone::clone)
}

/// The security groups with these ids (those that were read).
pub fn groups<'a>(
    task: &InScopeTask<'a>,
    ids: &[String],
) -> Result<Vec<&'a SecurityGroup>, Unreadable> {
    let all = task
        .facts
        .security_groups
        .as_result()
        .map_err(Clone::clone)?;
    Ok(all.iter().filter(|g| ids.contains(&g.id)).collect())
}

/// The load-balancer subnets, or why they are unknown.
pub fn lb_subnets<'a>(task: &InScopeTask<'a>) -> Result<&'a [Subnet], Unreadable> {
    match task.facts.load_balancer_path.as_ref() {
        Some(p) => p
            .subnets
            .as_result()
            .map(Vec::as_slice)
            .map_err(Clone::clone),
        None => Ok(&[]),
    }
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

/// Joins items for a message.
pub fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub mod fixture {
    //! A valid task behind an internet-facing ALB; rule tests break one hop at a time.
    use crate::domain::event::{EniAttachment, TaskDetail, TaskEvent};
    use crate::domain::facts::*;
    use crate::domain::net::{NaclEntry, NetworkAcl, SecurityGroup, SgRule};
    use crate::domain::rules::{InScopeTask, Outcome};

    pub const TG: &str = "arn:tg/web";
    pub const LB: &str = "arn:lb/web";

    pub fn tcp(port: i32, v4: &[&str], groups: &[&str]) -> SgRule {
        SgRule {
            protocol: "tcp".into(),
            from_port: Some(port),
            to_port: Some(port),
            ipv4_ranges: v4.iter().map(|s| s.to_string()).collect(),
            ipv6_ranges: vec![],
            group_ids: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn all_out() -> SgRule {
        SgRule {
            protocol: "-1".into(),
            ipv4_ranges: vec!["0.0.0.0/0".into()],
            ..Default::default()
        }
    }

    pub fn route_table(id: &str, main: bool, subnets: &[&str], igw: bool) -> RouteTable {
        let mut routes = vec![Route {
            destination_cidr: Some("10.0.0.0/16".into()),
            target: Some("local".into()),
            ..Default::default()
        }];
        if igw {
            routes.push(Route {
                destination_cidr: Some("0.0.0.0/0".into()),
                target: Some("igw-1".into()),
                ..Default::default()
            });
        } else {
            routes.push(Route {
                destination_cidr: Some("0.0.0.0/0".into()),
                target: Some("nat-1".into()),
                ..Default::default()
            });
        }
        RouteTable {
            id: id.into(),
            main,
            subnet_ids: subnets.iter().map(|s| s.to_string()).collect(),
            routes,
        }
    }

    /// Task in private subnet-task (10.0.3.0/24), ALB in public subnet-a/b, everything valid.
    pub fn valid() -> TaskFacts {
        let public = route_table("rtb-public", false, &["subnet-a", "subnet-b"], true);
        let private = route_table("rtb-main", true, &[], false);
        TaskFacts {
            task_definition: Fact::Known(TaskDefinition {
                arn: "arn:td".into(),
                ignore_tag: None,
                network_mode: Some("awsvpc".into()),
                port_mappings: vec![PortMapping {
                    container_name: "web".into(),
                    container_port: 3000,
                    protocol: "tcp".into(),
                }],
            }),
            service: Some(Fact::Known(Service {
                arn: "arn:svc".into(),
                ignore_tag: None,
                name: "web".into(),
                status: "ACTIVE".into(),
                load_balancers: vec![LoadBalancerMapping {
                    target_group_arn: Some(TG.into()),
                    load_balancer_name: None,
                    container_name: Some("web".into()),
                    container_port: Some(3000),
                }],
            })),
            eni: Fact::Known(NetworkInterface {
                id: "eni-1".into(),
                subnet_id: "subnet-task".into(),
                vpc_id: "vpc-1".into(),
                private_ip: Some("10.0.3.7".into()),
                public_ip: None,
                ipv6_addresses: vec![],
                security_group_ids: vec!["sg-task".into()],
            }),
            route_table: Fact::Known(private.clone()),
            host: Fact::Known(Host {
                instance_id: "i-1".into(),
                public_ip: None,
            }),
            vpc_route_tables: Fact::Known(vec![private, public]),
            network_acl: Fact::Known(NetworkAcl {
                id: "acl-1".into(),
                entries: vec![
                    NaclEntry {
                        rule_number: 100,
                        protocol: "-1".into(),
                        allow: true,
                        egress: false,
                        cidr: "0.0.0.0/0".into(),
                        from_port: None,
                        to_port: None,
                    },
                    NaclEntry {
                        rule_number: 100,
                        protocol: "-1".into(),
                        allow: true,
                        egress: true,
                        cidr: "0.0.0.0/0".into(),
                        from_port: None,
                        to_port: None,
                    },
                ],
            }),
            security_groups: Fact::Known(vec![
                SecurityGroup {
                    id: "sg-task".into(),
                    vpc_id: "vpc-1".into(),
                    ingress: vec![tcp(3000, &[], &["sg-lb"])],
                    egress: vec![all_out()],
                },
                SecurityGroup {
                    id: "sg-lb".into(),
                    vpc_id: "vpc-1".into(),
                    ingress: vec![tcp(80, &["0.0.0.0/0"], &[])],
                    egress: vec![all_out()],
                },
            ]),
            load_balancer_path: Some(LoadBalancerPath {
                target_groups: Fact::Known(vec![TargetGroup {
                    arn: TG.into(),
                    name: "web".into(),
                    target_type: "ip".into(),
                    vpc_id: Some("vpc-1".into()),
                    protocol: Some("HTTP".into()),
                    load_balancer_arns: vec![LB.into()],
                    preserve_client_ip: None,
                }]),
                load_balancers: Fact::Known(vec![LoadBalancer {
                    arn: LB.into(),
                    name: "web-alb".into(),
                    kind: "application".into(),
                    scheme: "internet-facing".into(),
                    vpc_id: "vpc-1".into(),
                    subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                    security_group_ids: vec!["sg-lb".into()],
                    ip_address_type: "ipv4".into(),
                }]),
                listeners: Fact::Known(vec![Listener {
                    arn: "arn:listener/80".into(),
                    load_balancer_arn: LB.into(),
                    port: Some(80),
                    protocol: Some("HTTP".into()),
                    forwards_to: vec![TG.into()],
                }]),
                subnets: Fact::Known(vec![
                    Subnet {
                        id: "subnet-a".into(),
                        vpc_id: "vpc-1".into(),
                        cidr: Some("10.0.1.0/24".into()),
                        ipv6_cidrs: vec![],
                    },
                    Subnet {
                        id: "subnet-b".into(),
                        vpc_id: "vpc-1".into(),
                        cidr: Some("10.0.2.0/24".into()),
                        ipv6_cidrs: vec![],
                    },
                ]),
                registered_in: Fact::Known(vec![TG.into()]),
            }),
        }
    }

    /// Runs `check` on `facts` as an in-scope task.
    pub fn run(facts: &TaskFacts, check: fn(&InScopeTask<'_>) -> Outcome) -> Outcome {
        let event = TaskEvent {
            event_id: None,
            region: None,
            task: TaskDetail::default(),
        };
        let attachment = EniAttachment {
            network_interface_id: "eni-1".into(),
            subnet_id: Some("subnet-task".into()),
            private_ipv4_address: Some("10.0.3.7".into()),
        };
        let td = facts.task_definition.known().unwrap().clone();
        check(&InScopeTask {
            event: &event,
            attachment: &attachment,
            task_definition: &td,
            facts,
        })
    }

    pub fn path(f: &mut TaskFacts) -> &mut LoadBalancerPath {
        f.load_balancer_path.as_mut().unwrap()
    }

    pub fn known<T>(fact: &mut Fact<T>) -> &mut T {
        match fact {
            Fact::Known(v) => v,
            Fact::Unknown(_) => panic!("unknown fact in fixture"),
        }
    }

    pub fn group<'a>(f: &'a mut TaskFacts, id: &str) -> &'a mut SecurityGroup {
        known(&mut f.security_groups)
            .iter_mut()
            .find(|g| g.id == id)
            .unwrap()
    }

    /// Asserts the outcome: `None` = passes or not applicable; `Some((severity, text))` = a finding.
    pub fn expect(
        name: &str,
        outcome: &Outcome,
        want: Option<(crate::domain::rules::Severity, &str)>,
    ) {
        match (outcome, want) {
            (Outcome::Fail(f), Some((sev, text))) => {
                assert_eq!(f.severity, sev, "{name}: {f:?}");
                assert!(f.message.contains(text), "{name}: {}", f.message);
            }
            (Outcome::Pass(_) | Outcome::NotApplicable, None) => {}
            (other, want) => panic!("{name}: got {other:?}, want {want:?}"),
        }
    }
}
