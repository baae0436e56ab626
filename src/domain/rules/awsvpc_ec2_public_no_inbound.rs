//! AWSVPC_EC2_PUBLIC_NO_INBOUND: the seed trap. An awsvpc task on EC2 looks public (public
//! subnet or a host with a public IP) but nothing can reach it: its own ENI has no public IP and
//! no load balancer fronts it.

use super::view::TaskView;
use crate::domain::api;
use crate::domain::facts::{NetworkInterface, ServiceStatus, Unreadable};
use crate::domain::hop::Hop;
use crate::domain::verdict::{Cause, Finding, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "AWSVPC_EC2_PUBLIC_NO_INBOUND",
    severity: Severity::High,
    cause: Cause::Conflict,
    hop: Hop::PublicIp,
    title: "awsvpc task on EC2 looks public but has no inbound path",
    remediation: "Pick one: (1) put an ALB or NLB in the same VPC in front of the service, with a \
                  target group of target type `ip`, and reach the task through it; (2) reach the \
                  task's private IP from inside the VPC (VPN, bastion, peered VPC); (3) switch the \
                  task definition to `bridge` network mode and use the instance's public IP with \
                  the host port; (4) run on Fargate with `assignPublicIp: ENABLED`. Better \
                  practice: keep EC2 container instances in private subnets.",
};

/// Evaluates the rule.
pub fn check(task: &TaskView<'_>) -> RuleResult {
    if !task.on_instances() {
        return Ok(Outcome::NotApplicable);
    }
    let facts = task.facts;
    if let Some(service) = task.service()? {
        if service.status == ServiceStatus::Inactive {
            return Err(Unreadable {
                api: api::ECS_DESCRIBE_SERVICES,
                reason: format!("service {} is INACTIVE (deleted)", service.name),
            });
        }
        if !service.load_balancers.is_empty() {
            return Ok(Outcome::Pass(format!(
                "service {} routes inbound traffic through a load balancer",
                service.name
            )));
        }
    }
    let eni = task.eni()?;
    if let Some(public_ip) = &eni.public_ip {
        return Ok(Outcome::Pass(format!(
            "task ENI {} has public IP {public_ip}",
            eni.id
        )));
    }
    let route_table = task.route_table()?;
    if let Some(path) = task.ipv6_direct_path()? {
        return Ok(Outcome::Pass(path));
    }
    let subnet_igw = route_table.ipv4_internet_gateway();
    let host_public_ip = facts.host.known().and_then(|h| h.public_ip.as_deref());
    if subnet_igw.is_none() && host_public_ip.is_none() {
        task.host()?;
        return Ok(Outcome::Pass(format!(
            "private subnet {} and private host: reachable from inside the VPC by design",
            eni.subnet_id
        )));
    }

    Ok(Outcome::Fail(trapped(
        task,
        eni,
        subnet_igw,
        host_public_ip,
    )))
}

/// The finding: how the task looks public, and why nothing reaches it.
fn trapped(
    task: &TaskView<'_>,
    eni: &NetworkInterface,
    subnet_igw: Option<&str>,
    host_public_ip: Option<&str>,
) -> Finding {
    let ports = task
        .ports()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let first_port = task.ports().first().map_or(0, |p| p.container_port);
    let private_ip = eni
        .private_ip
        .as_deref()
        .or(task.attachment.private_ipv4_address.as_deref())
        .unwrap_or("unknown");
    let attempt = match host_public_ip {
        Some(ip) => format!("`curl {ip}:{first_port}` cannot reach this task"),
        None => format!(
            "Connections to the container instance's public address on port {first_port} cannot \
             reach this task"
        ),
    };
    let looks_public = match (subnet_igw, host_public_ip) {
        (Some(igw), Some(_)) => format!(
            "Its subnet {} is public (0.0.0.0/0 -> {igw}) and its host has a public IP",
            eni.subnet_id
        ),
        (Some(igw), None) => format!(
            "Its subnet {} is public (0.0.0.0/0 -> {igw})",
            eni.subnet_id
        ),
        _ => format!(
            "Its host has a public IP (subnet {} is private)",
            eni.subnet_id
        ),
    };
    let no_lb = if task.facts.service.is_some() {
        "the service has no load balancer"
    } else {
        "a standalone task has no load balancer"
    };
    RULE.finding(format!(
        "{attempt}: in awsvpc mode on EC2 the task has its own ENI {} (private IP {private_ip}) \
         and task ENIs never get a public IP. {looks_public}, but {no_lb}, so nothing outside \
         the VPC reaches ports {ports}.",
        eni.id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::*;
    use crate::domain::net::{SecurityGroup, SgRule};
    use crate::domain::verdict::Status;

    fn open6() -> Vec<SgRule> {
        vec![SgRule {
            protocol: "tcp".into(),
            from_port: Some(3000),
            to_port: Some(3000),
            ipv6_ranges: vec!["::/0".into()],
            ..Default::default()
        }]
    }

    struct Case {
        name: &'static str,
        service: Option<Fact<Service>>,
        eni: Fact<NetworkInterface>,
        routes: Fact<Vec<Route>>,
        host: Fact<Option<&'static str>>,
        sg_ingress: Vec<SgRule>,
        want: Status,
        want_text: &'static str,
    }

    fn denied(api: &'static str) -> Unreadable {
        Unreadable {
            api,
            reason: "AccessDenied".into(),
        }
    }

    fn service(lbs: usize, status: &str) -> Fact<Service> {
        Fact::Known(Service {
            arn: "arn:svc".into(),
            ignore_tag: None,
            name: "web".into(),
            status: ServiceStatus::from_aws(status),
            load_balancers: vec![LoadBalancerMapping::default(); lbs],
            ..Default::default()
        })
    }

    fn eni(public_ip: Option<&str>, ipv6: bool) -> Fact<NetworkInterface> {
        Fact::Known(NetworkInterface {
            id: "eni-1".into(),
            subnet_id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            private_ip: Some("10.0.1.57".into()),
            public_ip: public_ip.map(Into::into),
            ipv6_addresses: if ipv6 { vec!["2600::1".into()] } else { vec![] },
            security_group_ids: vec!["sg-task".into()],
        })
    }

    fn igw4() -> Route {
        Route {
            destination_cidr: Some("0.0.0.0/0".into()),
            target: Some("igw-1".into()),
            ..Default::default()
        }
    }
    fn igw6() -> Route {
        Route {
            destination_ipv6_cidr: Some("::/0".into()),
            target: Some("igw-1".into()),
            ..Default::default()
        }
    }
    fn nat() -> Route {
        Route {
            destination_cidr: Some("0.0.0.0/0".into()),
            target: Some("nat-1".into()),
            ..Default::default()
        }
    }

    fn run(c: &Case) -> Outcome {
        let (event, attachment) = crate::domain::rules::fixture::event();
        let td = TaskDefinition {
            arn: "arn:td".into(),
            ignore_tag: None,
            network_mode: Some(NetworkMode::Awsvpc),
            port_mappings: vec![PortMapping {
                container_name: "web".into(),
                container_port: 3000,
                last_port: 3000,
                protocol: "tcp".into(),
            }],
            ..Default::default()
        };
        let facts = TaskFacts {
            task_definition: Fact::Known(td.clone()),
            service: c.service.clone(),
            eni: c.eni.clone(),
            route_table: match &c.routes {
                Fact::Known(routes) => Fact::Known(RouteTable {
                    id: "rtb-1".into(),
                    routes: routes.clone(),
                    ..Default::default()
                }),
                Fact::Unknown(u) => Fact::Unknown(u.clone()),
            },
            host: match &c.host {
                Fact::Known(ip) => Fact::Known(Host {
                    instance_id: "i-1".into(),
                    public_ip: ip.map(Into::into),
                    ..Default::default()
                }),
                Fact::Unknown(u) => Fact::Unknown(u.clone()),
            },
            vpc_route_tables: Fact::Known(vec![]),
            nat: None,
            public_access: None,
            network_acls: Fact::Unknown(denied(api::EC2_DESCRIBE_NETWORK_ACLS)),
            security_groups: Fact::Known(vec![SecurityGroup {
                id: "sg-task".into(),
                vpc_id: "vpc-1".into(),
                ingress: c.sg_ingress.clone(),
                egress: vec![],
            }]),
            load_balancer_path: None,
        };
        crate::domain::rules::run_one(
            crate::domain::rules::Check::Task(check),
            &TaskView {
                event: &event,
                attachment: &attachment,
                task_definition: &td,
                facts: &facts,
            },
        )
    }

    #[test]
    fn table() {
        use Status::*;
        let gone = || {
            Fact::Unknown(Unreadable {
                api: api::ECS_DESCRIBE_CONTAINER_INSTANCES,
                reason: "gone".into(),
            })
        };
        let cases = vec![
            Case {
                name: "seed: public subnet, public host, no service LB",
                service: Some(service(0, "ACTIVE")),
                eni: eni(None, false),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(Some("203.0.113.2")),
                sg_ingress: vec![],
                want: NonCompliant,
                want_text: "`curl 203.0.113.2:3000` cannot reach",
            },
            Case {
                name: "standalone task in public subnet",
                service: None,
                eni: eni(None, false),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(Some("203.0.113.2")),
                sg_ingress: vec![],
                want: NonCompliant,
                want_text: "standalone task",
            },
            Case {
                name: "public subnet, private host",
                service: None,
                eni: eni(None, false),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(None),
                sg_ingress: vec![],
                want: NonCompliant,
                want_text: "public address on port 3000",
            },
            Case {
                name: "private subnet, public host",
                service: None,
                eni: eni(None, false),
                routes: Fact::Known(vec![nat()]),
                host: Fact::Known(Some("198.51.100.7")),
                sg_ingress: vec![],
                want: NonCompliant,
                want_text: "`curl 198.51.100.7:3000`",
            },
            Case {
                name: "public subnet, host gone",
                service: None,
                eni: eni(None, false),
                routes: Fact::Known(vec![igw4()]),
                host: gone(),
                sg_ingress: vec![],
                want: NonCompliant,
                want_text: "public address on port 3000",
            },
            Case {
                name: "service with a load balancer",
                service: Some(service(1, "ACTIVE")),
                eni: eni(None, false),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(Some("203.0.113.2")),
                sg_ingress: vec![],
                want: Compliant,
                want_text: "load balancer",
            },
            Case {
                name: "private subnet, private host",
                service: Some(service(0, "ACTIVE")),
                eni: eni(None, false),
                routes: Fact::Known(vec![nat()]),
                host: Fact::Known(None),
                sg_ingress: vec![],
                want: Compliant,
                want_text: "by design",
            },
            Case {
                name: "IPv6 direct path",
                service: None,
                eni: eni(None, true),
                routes: Fact::Known(vec![igw4(), igw6()]),
                host: Fact::Known(Some("203.0.113.2")),
                sg_ingress: open6(),
                want: Compliant,
                want_text: "IPv6",
            },
            Case {
                name: "IPv6 path but the SG does not admit ::/0",
                service: None,
                eni: eni(None, true),
                routes: Fact::Known(vec![igw4(), igw6()]),
                host: Fact::Known(None),
                sg_ingress: vec![],
                want: NonCompliant,
                want_text: "eni-1",
            },
            Case {
                name: "IPv6 address without ::/0 to igw",
                service: None,
                eni: eni(None, true),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(None),
                sg_ingress: vec![],
                want: NonCompliant,
                want_text: "eni-1",
            },
            Case {
                name: "ENI with a public IP",
                service: None,
                eni: eni(Some("54.1.1.1"), false),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(None),
                sg_ingress: vec![],
                want: Compliant,
                want_text: "54.1.1.1",
            },
            Case {
                name: "private subnet, host gone",
                service: None,
                eni: eni(None, false),
                routes: Fact::Known(vec![nat()]),
                host: gone(),
                sg_ingress: vec![],
                want: InsufficientData,
                want_text: "",
            },
            Case {
                name: "service unreadable",
                service: Some(Fact::Unknown(denied(api::ECS_DESCRIBE_SERVICES))),
                eni: eni(None, false),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(None),
                sg_ingress: vec![],
                want: InsufficientData,
                want_text: "",
            },
            Case {
                name: "service INACTIVE is not 'no LB'",
                service: Some(service(0, "INACTIVE")),
                eni: eni(None, false),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(None),
                sg_ingress: vec![],
                want: InsufficientData,
                want_text: "",
            },
            Case {
                name: "ENI unreadable",
                service: None,
                eni: Fact::Unknown(denied(api::EC2_DESCRIBE_NETWORK_INTERFACES)),
                routes: Fact::Known(vec![igw4()]),
                host: Fact::Known(None),
                sg_ingress: vec![],
                want: InsufficientData,
                want_text: "",
            },
            Case {
                name: "route tables unreadable",
                service: None,
                eni: eni(None, false),
                routes: Fact::Unknown(denied(api::EC2_DESCRIBE_ROUTE_TABLES)),
                host: Fact::Known(Some("203.0.113.2")),
                sg_ingress: vec![],
                want: InsufficientData,
                want_text: "",
            },
        ];
        for c in &cases {
            let outcome = run(c);
            assert_eq!(outcome.status(), c.want, "{}: {outcome:?}", c.name);
            match &outcome {
                Outcome::Fail(f) => {
                    assert_eq!(f.rule, RULE.id);
                    assert!(f.message.contains(c.want_text), "{}: {}", c.name, f.message);
                    assert!(f.message.contains("10.0.1.57"), "{}", c.name);
                    assert!(f.message.contains("3000/tcp"), "{}", c.name);
                }
                Outcome::Pass(reason) => {
                    assert!(reason.contains(c.want_text), "{}: {reason}", c.name)
                }
                Outcome::Incomplete(_) => {}
                Outcome::NotApplicable => panic!("{}: the rule always applies in scope", c.name),
            }
        }
    }

    #[test]
    fn remediation_lists_the_seed_fixes() {
        for fix in [
            "target type `ip`",
            "private IP",
            "bridge",
            "Fargate",
            "assignPublicIp",
        ] {
            assert!(RULE.remediation.contains(fix), "{fix}");
        }
    }

    #[test]
    fn a_task_mapping_a_port_range_is_in_scope_and_named_by_its_range() {
        use crate::domain::rules::fixture;
        let mut ranged = fixture::seed();
        if let Fact::Known(td) = &mut ranged.task_definition {
            td.port_mappings[0].container_port = 7000;
            td.port_mappings[0].last_port = 7010;
        }
        let outcome = fixture::run(&ranged, crate::domain::rules::Check::Task(check));
        let Outcome::Fail(f) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(f.message.contains("ports 7000-7010/tcp"), "{}", f.message);
    }
}
