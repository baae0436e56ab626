//! A valid task behind an internet-facing ALB; rule tests break one hop at a time, and the
//! in-memory fake reader is built from the same world.
use crate::domain::api;
use crate::domain::event::TaskEvent;
use crate::domain::facts::*;
use crate::domain::net::{NaclEntry, NetworkAcl, SecurityGroup, SgRule};
use crate::domain::public_access::{BlockMode, Exclusion, ExclusionMode, PublicAccessBlock};
use crate::domain::rules::{run_one, Check, TaskView};
use crate::domain::task::{Attachment, EniAttachment, KeyValue, TaskDetail};
use crate::domain::verdict::Outcome;

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
        prefix_list_ids: vec![],
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
            network_mode: Some(NetworkMode::Awsvpc),
            port_mappings: vec![PortMapping {
                container_name: "web".into(),
                container_port: 3000,
                last_port: 3000,
                protocol: "tcp".into(),
            }],
            ..Default::default()
        }),
        service: Some(Fact::Known(Service {
            arn: "arn:svc".into(),
            ignore_tag: None,
            name: "web".into(),
            status: ServiceStatus::Active,
            load_balancers: vec![LoadBalancerMapping {
                target_group_arn: Some(TG.into()),
                load_balancer_name: None,
                container_name: Some("web".into()),
                container_port: Some(3000),
            }],
            ..Default::default()
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
            ..Default::default()
        }),
        vpc_route_tables: Fact::Known(vec![private, public]),
        network_acls: Fact::Known(vec![NetworkAcl {
            id: "acl-1".into(),
            vpc_id: "vpc-1".into(),
            subnet_ids: vec!["subnet-task".into(), "subnet-a".into(), "subnet-b".into()],
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
        }]),
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
                target_type: TargetType::Ip,
                vpc_id: Some("vpc-1".into()),
                protocol: Some("HTTP".into()),
                load_balancer_arns: vec![LB.into()],
                preserve_client_ip: None,
                ..Default::default()
            }]),
            load_balancers: Fact::Known(vec![LoadBalancer {
                arn: LB.into(),
                name: "web-alb".into(),
                scheme: Scheme::InternetFacing,
                vpc_id: "vpc-1".into(),
                subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                security_group_ids: vec!["sg-lb".into()],
                ip_address_type: IpAddressType::Ipv4,
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
                    ..Default::default()
                },
                Subnet {
                    id: "subnet-b".into(),
                    vpc_id: "vpc-1".into(),
                    cidr: Some("10.0.2.0/24".into()),
                    ..Default::default()
                },
            ]),
            registered_in: Fact::Known(vec![TG.into()]),
        }),
        nat: Some(Fact::Known(Nat::Gateway(NatGateway {
            id: "nat-1".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-a".into(),
            state: NatGatewayState::Available,
            public: true,
        }))),
        public_access: Some(Fact::Known(PublicAccessBlock::off())),
    }
}

/// The event and ENI attachment that match [`valid`].
pub fn event() -> (TaskEvent, EniAttachment) {
    let event = TaskEvent {
        account: None,
        event_id: None,
        region: None,
        task: TaskDetail {
            launch_type: Some("EC2".into()),
            ..TaskDetail::default()
        },
    };
    let attachment = EniAttachment {
        network_interface_id: "eni-1".into(),
        subnet_id: Some("subnet-task".into()),
        private_ipv4_address: Some("10.0.3.7".into()),
    };
    (event, attachment)
}

/// Runs one rule's `check` on `facts` through the engine, as an in-scope EC2 task.
pub fn run(facts: &TaskFacts, check: Check) -> Outcome {
    run_as("EC2", facts, check)
}

/// The same for a task of `launch_type` (`EC2`, `FARGATE`, `MANAGED_INSTANCES`).
pub fn run_as(launch_type: &str, facts: &TaskFacts, check: Check) -> Outcome {
    let (mut event, attachment) = event();
    event.task.launch_type = Some(launch_type.into());
    let td = facts.task_definition.known().unwrap().clone();
    run_one(
        check,
        &TaskView {
            event: &event,
            attachment: &attachment,
            task_definition: &td,
            facts,
        },
    )
}

/// One network ACL entry for TCP (`ports` `None` = all ports).
pub fn acl_entry(
    n: i32,
    allow: bool,
    egress: bool,
    cidr: &str,
    ports: Option<(i32, i32)>,
) -> NaclEntry {
    NaclEntry {
        rule_number: n,
        protocol: "6".into(),
        allow,
        egress,
        cidr: cidr.into(),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
    }
}

/// `f` with `subnets` moved to a network ACL of their own, `acl-lb`, holding `entries`.
pub fn with_lb_acl(mut f: TaskFacts, subnets: &[&str], entries: Vec<NaclEntry>) -> TaskFacts {
    let acls = known(&mut f.network_acls);
    for acl in acls.iter_mut() {
        acl.subnet_ids.retain(|s| !subnets.contains(&s.as_str()));
    }
    acls.push(NetworkAcl {
        id: "acl-lb".into(),
        vpc_id: "vpc-1".into(),
        subnet_ids: subnets.iter().map(|s| s.to_string()).collect(),
        entries,
    });
    f
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
    want: Option<(crate::domain::verdict::Severity, &str)>,
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

/// The container instance of the fixture task.
pub const CONTAINER_INSTANCE: &str = "arn:container-instance/prod/1";

/// A RUNNING EC2 service task event for [`valid`] (service `web`, ENI `eni-1`).
pub fn running_event() -> (TaskEvent, EniAttachment) {
    let (mut event, attachment) = event();
    event.event_id = Some("ev-1".into());
    event.region = Some("us-east-1".into());
    event.task = TaskDetail {
        task_arn: "arn:task/prod/1".into(),
        version: Some(3),
        attachments: vec![Attachment {
            kind: Some("eni".into()),
            details: [
                ("networkInterfaceId", "eni-1"),
                ("subnetId", "subnet-task"),
                ("privateIPv4Address", "10.0.3.7"),
            ]
            .into_iter()
            .map(|(name, value)| KeyValue {
                name: Some(name.into()),
                value: Some(value.into()),
            })
            .collect(),
            ..Default::default()
        }],
        cluster_arn: Some("arn:cluster/prod".into()),
        task_definition_arn: Some("arn:td".into()),
        group: Some("service:web".into()),
        started_by: Some("ecs-svc/1".into()),
        launch_type: Some("EC2".into()),
        container_instance_arn: Some(CONTAINER_INSTANCE.into()),
        last_status: Some("RUNNING".into()),
        ..TaskDetail::default()
    };
    (event, attachment)
}

/// A Fargate task of a service without a load balancer in a public subnet, without a public IP
/// (no container instance, so no host).
pub fn fargate() -> TaskFacts {
    let mut f = seed();
    f.host = Fact::Unknown(Unreadable {
        api: api::ECS_DESCRIBE_CONTAINER_INSTANCES,
        reason: "the event does not name the container instance".into(),
    });
    f
}

/// The same task with a public IP and security group `sg-task` admitting `cidr` on port 3000.
pub fn fargate_public_ip(cidr: &str) -> TaskFacts {
    let mut f = fargate();
    known(&mut f.eni).public_ip = Some("198.51.100.7".into());
    f.public_access = Some(Fact::Known(PublicAccessBlock::off()));
    f.security_groups = Fact::Known(vec![SecurityGroup {
        id: "sg-task".into(),
        vpc_id: "vpc-1".into(),
        ingress: vec![tcp(3000, &[cidr], &[])],
        egress: vec![all_out()],
    }]);
    f
}

/// The seed trap: the service has no load balancer, the task subnet is public and its host
/// has a public IP. Only the six facts the check reads are known.
pub fn seed() -> TaskFacts {
    let mut f = valid();
    if let Some(Fact::Known(s)) = f.service.as_mut() {
        s.load_balancers.clear();
    }
    f.load_balancer_path = None;
    f.route_table = Fact::Known(route_table("rtb-public", false, &["subnet-task"], true));
    f.vpc_route_tables = Fact::Known(vec![
        route_table("rtb-main", true, &[], false),
        route_table("rtb-public", false, &["subnet-task"], true),
    ]);
    f.host = Fact::Known(Host {
        instance_id: "i-1".into(),
        public_ip: Some("203.0.113.10".into()),
        ..Default::default()
    });
    let not_read = |api: &'static str| Unreadable {
        api,
        reason: "not read: no rule needs them".into(),
    };
    f.security_groups = Fact::Unknown(not_read(api::EC2_DESCRIBE_SECURITY_GROUPS));
    f.network_acls = Fact::Unknown(not_read(api::EC2_DESCRIBE_NETWORK_ACLS));
    f.nat = None;
    f.public_access = None;
    f
}

/// VPC Block Public Access in `mode`, exclusions allowed, with these (resource id, mode)
/// exclusions.
pub fn bpa(mode: BlockMode, exclusions: &[(&str, ExclusionMode)]) -> PublicAccessBlock {
    PublicAccessBlock {
        mode,
        exclusions_allowed: true,
        exclusions: exclusions
            .iter()
            .map(|(id, mode)| Exclusion {
                resource_id: id.to_string(),
                mode: *mode,
            })
            .collect(),
    }
}
