//! Stopped tasks for the stop rules' tests, and for the fake reader: a health-check kill of a
//! task behind an open ALB path, and image pulls from a private subnet, with or without NAT
//! and endpoints. Tests break one hop at a time.
use crate::domain::event::TaskEvent;
use crate::domain::facts::*;
use crate::domain::net::{NetworkAcl, SecurityGroup};
use crate::domain::rules::fixture::{self, all_out, known, route_table, tcp};
use crate::domain::rules::{run_stop_one, StopCheck, StopView};
use crate::domain::stop::*;
use crate::domain::task::TaskDetail;
use crate::domain::verdict::Outcome;

pub use crate::domain::rules::fixture::expect;

/// A stopped task with its facts.
#[derive(Debug, Clone)]
pub struct StopCase {
    /// The task and its cause.
    pub stop: StoppedTask,
    /// What was read.
    pub facts: StopFacts,
}

pub const HEALTH_REASON: &str = "Task failed ELB health checks in (target-group arn:tg/web)";
pub const PULL_REASON: &str = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1: failed to do request: Head \"https://111122223333.dkr.ecr.us-east-1.amazonaws.com/v2/web/manifests/1\": dial tcp 10.0.1.5:443: i/o timeout";
pub const ECR_IMAGE: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1";

fn stopped_task(reason: &str, launch_type: &str) -> StoppedTask {
    let (event, _) = fixture::running_event();
    let mut task: TaskDetail = event.task;
    task.last_status = Some("STOPPED".into());
    task.launch_type = Some(launch_type.into());
    if launch_type == "FARGATE" {
        task.container_instance_arn = None;
    }
    task.stopped_reason = Some(reason.into());
    let cause = classify_stop(Some(reason), None).expect("a diagnosable reason");
    StoppedTask {
        event: TaskEvent { task, ..event },
        stopped_reason: reason.into(),
        stop_code: None,
        cause,
    }
}

fn base_facts() -> StopFacts {
    let valid = fixture::valid();
    let mut service = valid.service.clone().unwrap();
    {
        let s = known(&mut service);
        let net = AwsVpcConfiguration {
            subnets: vec!["subnet-task".into()],
            security_groups: vec!["sg-task".into()],
            assign_public_ip: false,
        };
        s.deployments = vec![Deployment {
            id: "ecs-svc/1".into(),
            status: "PRIMARY".into(),
            task_definition: Some("arn:td".into()),
            network: Some(net.clone()),
        }];
        s.network = Some(net);
        s.health_check_grace_period = Some(120);
    }
    let mut td = valid.task_definition.clone();
    known(&mut td).start_needs = StartNeeds {
        images: vec![ECR_IMAGE.into()],
        awslogs: true,
        ..Default::default()
    };
    StopFacts {
        task_definition: td,
        service: Some(service),
        task_network: Fact::Known(TaskNetworkConfig {
            subnet_id: "subnet-task".into(),
            private_ip: Some("10.0.3.7".into()),
            security_group_ids: vec!["sg-task".into()],
            public_ip: false,
            source: "deployment ecs-svc/1".into(),
        }),
        security_groups: valid.security_groups.clone(),
        network_acl: Fact::Known(valid.network_acls.known().expect("fixture ACLs")[0].clone()),
        health_check: None,
        pull: None,
    }
}

fn vpc_subnets() -> Vec<Subnet> {
    [
        ("subnet-a", "10.0.1.0/24", "us-east-1a"),
        ("subnet-b", "10.0.2.0/24", "us-east-1b"),
        ("subnet-task", "10.0.3.0/24", "us-east-1a"),
        ("subnet-instance", "10.0.4.0/24", "us-east-1a"),
    ]
    .into_iter()
    .map(|(id, cidr, az)| Subnet {
        id: id.into(),
        vpc_id: "vpc-1".into(),
        cidr: Some(cidr.into()),
        availability_zone: Some(az.into()),
    })
    .collect()
}

/// A task killed by ALB health checks whose network path is open: the application answered
/// 500 (Target.ResponseCodeMismatch).
pub fn health_kill() -> StopCase {
    let valid = fixture::valid();
    let path = valid.load_balancer_path.unwrap();
    let mut group = path.target_groups.known().unwrap()[0].clone();
    group.health_check = HealthCheck {
        port: HealthCheckPort::TrafficPort,
        protocol: Some("HTTP".into()),
        path: Some("/health".into()),
        matcher: Some("200".into()),
        interval_seconds: Some(30),
        timeout_seconds: Some(5),
        healthy_threshold: Some(2),
        unhealthy_threshold: Some(2),
    };
    let mut facts = base_facts();
    facts.health_check = Some(HealthCheckFacts {
        target_group: Fact::Known(group),
        load_balancers: path.load_balancers,
        subnets: Fact::Known(vpc_subnets()),
        target_health: Fact::Known(Some(TargetHealth {
            target_id: "10.0.3.7".into(),
            port: Some(3000),
            state: Some("unhealthy".into()),
            reason: Some("Target.ResponseCodeMismatch".into()),
            description: Some("Health checks failed with these codes: [500]".into()),
        })),
    });
    StopCase {
        stop: stopped_task(HEALTH_REASON, "EC2"),
        facts,
    }
}

fn pull_case(
    launch_type: &str,
    path: PullPath,
    table: RouteTable,
    eps: Vec<VpcEndpoint>,
) -> StopCase {
    let mut facts = base_facts();
    // The NAT gateway every `nat-1` route leads to: available, public, in a public subnet.
    let nat_subnet = route_table("rtb-nat", false, &["subnet-nat"], true);
    facts.pull = Some(PullFacts {
        path: Fact::Known(path),
        route_tables: Fact::Known(vec![table.clone(), nat_subnet]),
        nat_gateways: Fact::Known(vec![NatGateway {
            id: "nat-1".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-nat".into(),
            state: NatGatewayState::Available,
            public: true,
        }]),
        nat_instance: None,
        route_table: Fact::Known(table),
        endpoints: Fact::Known(eps),
        dns: Fact::Known(VpcDns {
            support: true,
            hostnames: true,
        }),
        subnets: Fact::Known(vpc_subnets()),
        public_access: Fact::Known(crate::domain::public_access::PublicAccessBlock::off()),
    });
    known(&mut facts.security_groups).push(SecurityGroup {
        id: "sg-endpoints".into(),
        vpc_id: "vpc-1".into(),
        ingress: vec![tcp(443, &[], &["sg-task"])],
        egress: vec![all_out()],
    });
    StopCase {
        stop: stopped_task(PULL_REASON, launch_type),
        facts,
    }
}

fn task_eni_path(public_ip: bool) -> PullPath {
    PullPath {
        via: Puller::TaskEni,
        subnet_id: "subnet-task".into(),
        vpc_id: "vpc-1".into(),
        public_ip,
        security_group_ids: vec!["sg-task".into()],
    }
}

fn private_table() -> RouteTable {
    let mut t = route_table(
        "rtb-private",
        false,
        &["subnet-task", "subnet-instance"],
        false,
    );
    t.routes
        .retain(|r| r.destination_cidr.as_deref() != Some("0.0.0.0/0"));
    t
}

/// A Fargate task in a private subnet without NAT or endpoints.
pub fn image_pull_private() -> StopCase {
    pull_case("FARGATE", task_eni_path(false), private_table(), vec![])
}

fn endpoint(service: &str, kind: &str) -> VpcEndpoint {
    VpcEndpoint {
        id: format!("vpce-{}", service.replace('.', "-")),
        service_name: format!("com.amazonaws.us-east-1.{service}"),
        kind: kind.into(),
        state: Some("available".into()),
        private_dns: kind == "Interface",
        route_table_ids: if kind == "Gateway" {
            vec!["rtb-private".into()]
        } else {
            vec![]
        },
        subnet_ids: if kind == "Interface" {
            vec!["subnet-task".into()]
        } else {
            vec![]
        },
        security_group_ids: if kind == "Interface" {
            vec!["sg-endpoints".into()]
        } else {
            vec![]
        },
    }
}

/// The same with ecr.api, ecr.dkr, logs interface endpoints and the S3 gateway: no finding.
pub fn image_pull_private_with_endpoints() -> StopCase {
    let eps = vec![
        endpoint("ecr.api", "Interface"),
        endpoint("ecr.dkr", "Interface"),
        endpoint("logs", "Interface"),
        endpoint("s3", "Gateway"),
    ];
    pull_case("FARGATE", task_eni_path(false), private_table(), eps)
}

/// A Fargate task in a private subnet behind a NAT gateway.
pub fn image_pull_nat() -> StopCase {
    let table = route_table("rtb-private", false, &["subnet-task"], false);
    pull_case("FARGATE", task_eni_path(false), table, vec![])
}

/// A Fargate task in a public subnet without a public IP.
pub fn fargate_public_without_ip() -> StopCase {
    let table = route_table("rtb-public", false, &["subnet-task"], true);
    pull_case("FARGATE", task_eni_path(false), table, vec![])
}

/// An EC2 task whose container instance sits in a private subnet without NAT: the task ENI's
/// subnet does not matter.
pub fn ec2_instance_private() -> StopCase {
    let path = PullPath {
        via: Puller::Instance("i-1".into()),
        subnet_id: "subnet-instance".into(),
        vpc_id: "vpc-1".into(),
        public_ip: false,
        security_group_ids: vec!["sg-task".into()],
    };
    pull_case("EC2", path, private_table(), vec![])
}

/// The case with another stop reason.
pub fn with_reason(mut case: StopCase, reason: &str) -> StopCase {
    case.stop.stopped_reason = reason.into();
    case.stop.event.task.stopped_reason = Some(reason.into());
    case.stop.cause = classify_stop(Some(reason), None).expect("a diagnosable reason");
    case
}

pub fn target_group(case: &mut StopCase) -> &mut TargetGroup {
    known(&mut case.facts.health_check.as_mut().unwrap().target_group)
}

pub fn subnet<'a>(case: &'a mut StopCase, id: &str) -> &'a mut Subnet {
    known(&mut case.facts.health_check.as_mut().unwrap().subnets)
        .iter_mut()
        .find(|s| s.id == id)
        .unwrap()
}

pub fn group<'a>(case: &'a mut StopCase, id: &str) -> &'a mut SecurityGroup {
    known(&mut case.facts.security_groups)
        .iter_mut()
        .find(|g| g.id == id)
        .unwrap()
}

pub fn acl(case: &mut StopCase) -> &mut NetworkAcl {
    known(&mut case.facts.network_acl)
}

pub fn service(case: &mut StopCase) -> &mut Service {
    known(case.facts.service.as_mut().unwrap())
}

pub fn dns(case: &mut StopCase) -> &mut VpcDns {
    known(&mut case.facts.pull.as_mut().unwrap().dns)
}

pub fn endpoints(case: &mut StopCase) -> &mut Vec<VpcEndpoint> {
    known(&mut case.facts.pull.as_mut().unwrap().endpoints)
}

/// The pull path's route table.
/// A Fargate task in a private subnet whose route leads to NAT instance `i-nat`: running,
/// source/destination check off, a public IP, in the NAT gateway's public subnet, its group
/// `sg-nat` admitting 443 from the task's group.
pub fn image_pull_nat_instance() -> StopCase {
    let mut case = image_pull_nat();
    for route in &mut pull_route_table(&mut case).routes {
        if route.destination_cidr.as_deref() == Some("0.0.0.0/0") {
            route.target = Some("i-nat".into());
        }
    }
    known(&mut case.facts.security_groups).push(SecurityGroup {
        id: "sg-nat".into(),
        vpc_id: "vpc-1".into(),
        ingress: vec![tcp(443, &[], &["sg-task"])],
        egress: vec![all_out()],
    });
    case.facts.pull.as_mut().unwrap().nat_instance = Some(Fact::Known(NatInstance {
        id: "i-nat".into(),
        state: "running".into(),
        subnet_id: Some("subnet-nat".into()),
        public_ip: Some("198.51.100.20".into()),
        source_dest_check: false,
        security_group_ids: vec!["sg-nat".into()],
    }));
    case
}

/// The NAT instance of [`image_pull_nat_instance`].
pub fn nat_instance(case: &mut StopCase) -> &mut NatInstance {
    let pull = case.facts.pull.as_mut().unwrap();
    known(pull.nat_instance.as_mut().unwrap())
}

/// The pull path's NAT gateway `nat-1`.
pub fn nat_gateway(case: &mut StopCase) -> &mut NatGateway {
    let pull = case.facts.pull.as_mut().unwrap();
    known(&mut pull.nat_gateways)
        .iter_mut()
        .find(|g| g.id == "nat-1")
        .unwrap()
}

/// The route table of the NAT gateway's subnet.
pub fn nat_route_table(case: &mut StopCase) -> &mut RouteTable {
    let pull = case.facts.pull.as_mut().unwrap();
    known(&mut pull.route_tables)
        .iter_mut()
        .find(|t| t.id == "rtb-nat")
        .unwrap()
}

pub fn pull_route_table(case: &mut StopCase) -> &mut RouteTable {
    known(&mut case.facts.pull.as_mut().unwrap().route_table)
}

pub fn images(case: &mut StopCase, image: &str) {
    known(&mut case.facts.task_definition).start_needs.images = vec![image.into()];
}

/// Runs one stop rule's check through the engine.
pub fn run(case: &StopCase, check: StopCheck) -> Outcome {
    run_stop_one(
        check,
        &StopView {
            stop: &case.stop,
            facts: &case.facts,
        },
    )
}
