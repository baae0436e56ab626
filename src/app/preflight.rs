//! Preflight: the rules of a running task, judged on a service before it deploys. The plan (an
//! existing service, a `create-service` input, a task definition from a file) is read into
//! planned facts, one task per subnet (`facts::planned`), each judged as a RUNNING task of the
//! plan would be; the verdict is the service's: the worst subnet's, and when the subnets differ,
//! each finding says which subnet it is about.

use crate::domain::api;
use time::OffsetDateTime;

use crate::domain::evaluation::{evaluate_task, Evaluation};
use crate::domain::event::StoppedTask;
use crate::domain::event::TaskEvent;
use crate::domain::facts::{Fact, Service, TaskDefinition, Unreadable};
use crate::domain::plan::{PlannedLaunch, ServicePlan};
use crate::domain::rules::{self, check_incomplete, StopView};
use crate::domain::stop::StopFacts;
use crate::domain::stop_reason::{FailureClass, StopCause};
use crate::domain::task::{EniAttachment, TaskDetail};
use crate::domain::verdict::{Finding, Outcome, Rule, Status};
use crate::facts::planned::{read_planned_facts, PlannedSubnet};
use crate::facts::waves::into_fact;
use crate::ports::{FactReader, ReadError};

/// The resource type of a preflight verdict.
pub const SERVICE_RESOURCE_TYPE: &str = "AWS::ECS::Service";

/// The plan of a service that already exists (`preflight --cluster --service`).
pub fn plan_of(cluster: &str, service: &Service) -> ServicePlan {
    let launch = match (&service.launch_type, service.capacity_providers.is_empty()) {
        (Some(t), _) => PlannedLaunch::LaunchType(t.clone()),
        (None, false) => PlannedLaunch::CapacityProviders(service.capacity_providers.clone()),
        (None, true) => PlannedLaunch::ClusterDefault,
    };
    ServicePlan {
        cluster: cluster.to_string(),
        service_name: service.name.clone(),
        task_definition: service
            .deployment_of(None)
            .and_then(|d| d.task_definition.clone())
            .or_else(|| service.task_definition.clone()),
        launch,
        network: service.network.clone(),
        load_balancers: service.load_balancers.clone(),
    }
}

/// The task definition of the plan: the given one (a file), else the registered one it names.
async fn task_definition_of<R: FactReader>(
    plan: &ServicePlan,
    given: Option<TaskDefinition>,
    reader: &R,
) -> Result<Fact<TaskDefinition>, ReadError> {
    if let Some(td) = given {
        return Ok(Fact::Known(td));
    }
    let Some(name) = plan.task_definition.as_deref() else {
        return Ok(Fact::Unknown(Unreadable {
            api: api::ECS_DESCRIBE_TASK_DEFINITION,
            reason: "the plan names no task definition (give --task-definition or --task-definition-file)".into(),
        }));
    };
    into_fact(reader.task_definition(name).await, || Unreadable {
        api: api::ECS_DESCRIBE_TASK_DEFINITION,
        reason: format!("task definition {name} does not exist"),
    })
}

/// The plan with its placement resolved: a service that names neither a launch type nor a
/// capacity provider strategy runs where the cluster's default strategy puts it, or with the
/// EC2 launch type when the cluster has none (one DescribeClusters, only then).
async fn placed<R: FactReader>(plan: &ServicePlan, reader: &R) -> Result<ServicePlan, ReadError> {
    if plan.launch != PlannedLaunch::ClusterDefault {
        return Ok(plan.clone());
    }
    let launch = match reader.cluster_default_strategy(&plan.cluster).await? {
        None => {
            return Err(ReadError::Unreadable(Unreadable {
                api: api::ECS_DESCRIBE_CLUSTERS,
                reason: format!("cluster {} does not exist", plan.cluster),
            }))
        }
        Some(providers) if providers.is_empty() => PlannedLaunch::LaunchType("EC2".into()),
        Some(providers) => PlannedLaunch::CapacityProviders(providers),
    };
    Ok(ServicePlan {
        launch,
        ..plan.clone()
    })
}

/// INSUFFICIENT_DATA for the service: `unknown` keeps the plan from a verdict.
fn incomplete(
    plan: &ServicePlan,
    region: Option<&str>,
    at: OffsetDateTime,
    unknown: &Unreadable,
) -> Evaluation {
    let mut e = Evaluation::task_incomplete(&planned_event(plan, region, "-"), at, unknown);
    e.resource_type = SERVICE_RESOURCE_TYPE;
    e.resource_id = format!("{}/{}", plan.cluster, plan.service_name);
    e
}

/// The RUNNING task event a task of the plan would send, in `subnet`.
fn planned_event(plan: &ServicePlan, region: Option<&str>, subnet: &str) -> TaskEvent {
    TaskEvent {
        account: None,
        event_id: None,
        region: region.map(Into::into),
        task: TaskDetail {
            task_arn: format!(
                "{}/{} (planned task in {subnet})",
                plan.cluster, plan.service_name
            ),
            cluster_arn: Some(plan.cluster.clone()),
            group: Some(format!("service:{}", plan.service_name)),
            launch_type: plan.launch.launch_type(),
            last_status: Some("RUNNING".into()),
            ..TaskDetail::default()
        },
    }
}

/// The plan of the existing service `name` of `cluster` (`None` when it does not exist).
pub async fn existing_plan<R: FactReader>(
    reader: &R,
    cluster: &str,
    name: &str,
) -> Result<Option<ServicePlan>, ReadError> {
    Ok(reader
        .service(cluster, name)
        .await?
        .map(|service| plan_of(cluster, &service)))
}

/// Judges the plan now: one verdict for the service.
pub async fn preflight<R: FactReader>(
    plan: &ServicePlan,
    task_definition: Option<TaskDefinition>,
    region: Option<&str>,
    reader: &R,
) -> Result<Evaluation, ReadError> {
    judge(
        plan,
        task_definition,
        region,
        reader,
        OffsetDateTime::now_utc(),
    )
    .await
}

/// Judges the plan at `at`: one verdict for the service.
pub async fn judge<R: FactReader>(
    plan: &ServicePlan,
    task_definition: Option<TaskDefinition>,
    region: Option<&str>,
    reader: &R,
    at: OffsetDateTime,
) -> Result<Evaluation, ReadError> {
    let placed = match placed(plan, reader).await {
        Ok(placed) => placed,
        Err(ReadError::Unreadable(u)) => return Ok(incomplete(plan, region, at, &u)),
        Err(e) => return Err(e),
    };
    let plan = &placed;
    if plan.launch.launch_type().is_none() {
        // Which rules apply (EC2's or Fargate's) depends on where the tasks run.
        let unknown = Unreadable {
            api: api::ECS_DESCRIBE_CLUSTERS,
            reason: "the service's capacity provider strategy (or the cluster's default one) mixes Fargate and EC2 providers: each task may land on either (give launchType, or a strategy of one kind)".into(),
        };
        return Ok(incomplete(plan, region, at, &unknown));
    }
    let td = task_definition_of(plan, task_definition, reader);
    let subnets = read_planned_facts(plan, td, reader).await?;
    let per_subnet: Vec<(String, Evaluation)> = subnets
        .into_iter()
        .map(
            |PlannedSubnet {
                 subnet_id,
                 facts,
                 start,
             }| {
                let event = planned_event(plan, region, &subnet_id);
                let attachment = EniAttachment {
                    network_interface_id: facts
                        .eni
                        .known()
                        .map(|e| e.id.clone())
                        .unwrap_or_default(),
                    subnet_id: Some(subnet_id.clone()),
                    private_ipv4_address: None,
                };
                let evaluation = evaluate_task(&event, Some(&attachment), &facts, at);
                let will_start = would_start(event, &start);
                (subnet_id, with_start(evaluation, will_start))
            },
        )
        .collect();
    Ok(service_verdict(plan, per_subnet, at))
}

/// The start rules' outcomes for a task of the plan: its image pull judged as if it had failed
/// on the network (the rules then say whether the network is the cause, i.e. whether it will).
fn would_start(event: TaskEvent, start: &StopFacts) -> Vec<(Rule, Outcome)> {
    let stop = StoppedTask {
        event,
        stopped_reason: "(preflight: would the task start?)".into(),
        stop_code: None,
        cause: StopCause::StartFailure {
            class: FailureClass::Network,
            services: vec![],
        },
    };
    rules::run_stop_each(&StopView {
        stop: &stop,
        facts: start,
    })
}

/// The evaluation with the start rules' findings added: a task that would not start makes the
/// plan NON_COMPLIANT; an unreadable start fact, INSUFFICIENT_DATA.
fn with_start(mut e: Evaluation, outcomes: Vec<(Rule, Outcome)>) -> Evaluation {
    e.passed
        .extend(crate::domain::evaluation::passed(&outcomes));
    for outcome in rules::once_per_action(outcomes) {
        let finding = match &outcome {
            Outcome::Fail(f) => Finding {
                message: format!("A task of this plan would not start: {}", f.message),
                ..f.clone()
            },
            Outcome::Incomplete(u) => check_incomplete::finding(u),
            Outcome::Pass(_) | Outcome::NotApplicable => continue,
        };
        let status = outcome.status();
        if e.compliance.and(status) != e.compliance {
            e.annotation = crate::domain::text::ellipsize(
                &format!("{}: {}", finding.rule, finding.message),
                crate::domain::evaluation::MAX_ANNOTATION_CHARS,
            );
        }
        e.compliance = e.compliance.and(status);
        if !e
            .findings
            .iter()
            .any(|f| f.rule == finding.rule && f.message == finding.message)
        {
            e.findings.push(finding);
        }
    }
    e.findings.sort_by_key(|f| f.severity);
    e
}

/// The service's verdict from its subnets': the worst one's, its findings naming their subnet
/// when the subnets differ.
fn service_verdict(
    plan: &ServicePlan,
    per_subnet: Vec<(String, Evaluation)>,
    at: OffsetDateTime,
) -> Evaluation {
    let resource_id = format!("{}/{}", plan.cluster, plan.service_name);
    let status = per_subnet
        .iter()
        .fold(Status::NotApplicable, |acc, (_, e)| acc.and(e.compliance));
    let Some(worst) = per_subnet
        .iter()
        .find(|(_, e)| e.compliance == status)
        .map(|(_, e)| e.clone())
    else {
        let mut e = Evaluation::out_of_scope(
            &crate::domain::event::OutOfScope {
                resource_type: SERVICE_RESOURCE_TYPE,
                resource_id,
                event_id: None,
                reason: "the service has no awsvpc network configuration (subnets): the rules judge awsvpc tasks".into(),
            },
            at,
        );
        e.resource_type = SERVICE_RESOURCE_TYPE;
        return e;
    };
    let same = per_subnet
        .iter()
        .all(|(_, e)| rules_of(e) == rules_of(&worst));
    let findings: Vec<Finding> = if same {
        worst.findings.clone()
    } else {
        per_subnet
            .iter()
            .flat_map(|(subnet, e)| {
                e.findings.iter().map(move |f| Finding {
                    message: format!("[{subnet}] {}", f.message),
                    ..f.clone()
                })
            })
            .collect()
    };
    // A rule held for the service when it held in every subnet.
    let passed = worst
        .passed
        .iter()
        .filter(|(rule, _)| {
            per_subnet
                .iter()
                .all(|(_, e)| e.passed.iter().any(|(r, _)| r == rule))
                && !findings.iter().any(|f| f.rule == *rule)
        })
        .cloned()
        .collect();
    let mut e = worst;
    e.passed = passed;
    e.resource_type = SERVICE_RESOURCE_TYPE;
    e.resource_id = resource_id;
    e.findings = findings;
    e.findings.sort_by_key(|f| f.severity);
    if !same {
        e.annotation = crate::domain::text::ellipsize(
            &format!("subnets differ: {}", e.annotation),
            crate::domain::evaluation::MAX_ANNOTATION_CHARS,
        );
    }
    e
}

fn rules_of(e: &Evaluation) -> Vec<&'static str> {
    e.findings.iter().map(|f| f.rule).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::facts::{AwsVpcConfiguration, Subnet};
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::facts::fake::FakeAws;

    fn plan(load_balancers: Vec<crate::domain::facts::LoadBalancerMapping>) -> ServicePlan {
        ServicePlan {
            cluster: "arn:cluster/prod".into(),
            service_name: "web".into(),
            task_definition: Some("arn:td".into()),
            launch: PlannedLaunch::LaunchType("EC2".into()),
            network: Some(AwsVpcConfiguration {
                subnets: vec!["subnet-task".into()],
                security_groups: vec!["sg-task".into()],
                assign_public_ip: false,
            }),
            load_balancers,
        }
    }

    /// The fixture's world, with the host in the task's subnet (it pulls through it) and the
    /// VPC's DNS on; every call takes 100 ms (the hook's tests judge in it too).
    pub(crate) fn world(facts: &crate::domain::facts::TaskFacts) -> FakeAws {
        let mut facts = facts.clone();
        if let crate::domain::facts::Fact::Known(host) = &mut facts.host {
            host.subnet_id = Some("subnet-task".into());
            host.vpc_id = Some("vpc-1".into());
            host.security_group_ids = vec!["sg-task".into()];
        }
        if let crate::domain::facts::Fact::Known(groups) = &mut facts.security_groups {
            groups.retain(|g| g.id != "sg-task");
        }
        let mut groups = facts.security_groups.known().cloned().unwrap_or_default();
        groups.push(crate::domain::net::SecurityGroup {
            id: "sg-task".into(),
            vpc_id: "vpc-1".into(),
            ingress: vec![fixture::tcp(3000, &[], &["sg-lb"])],
            egress: vec![fixture::all_out()],
        });
        facts.security_groups = crate::domain::facts::Fact::Known(groups);
        FakeAws::from_facts(&facts, CONTAINER_INSTANCE, "10.0.3.7")
            .with_vpc_dns(
                "vpc-1",
                crate::domain::facts::VpcDns {
                    support: true,
                    hostnames: true,
                },
            )
            .with_subnet(Subnet {
                id: "subnet-task".into(),
                vpc_id: "vpc-1".into(),
                cidr: Some("10.0.3.0/24".into()),
                ..Default::default()
            })
            .with_latency(std::time::Duration::from_millis(100))
    }

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_323_045).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn the_seed_and_an_alb_service_are_judged_in_three_read_round_trips() {
        let mappings = |f: &crate::domain::facts::TaskFacts| {
            f.service
                .as_ref()
                .and_then(|s| s.known())
                .map(|s| s.load_balancers.clone())
                .unwrap_or_default()
        };
        for (name, facts, want) in [
            (
                "seed",
                fixture::seed(),
                Some("AWSVPC_EC2_PUBLIC_NO_INBOUND"),
            ),
            ("alb", fixture::valid(), None),
        ] {
            let aws = world(&facts);
            let start = tokio::time::Instant::now();
            let e = judge(&plan(mappings(&facts)), None, None, &aws, at())
                .await
                .unwrap();
            let trips = start.elapsed().as_millis() / 100;
            assert!(trips <= 3, "{name}: {trips} round trips");
            let nat_reads = aws
                .calls()
                .iter()
                .filter(|c| **c == api::EC2_DESCRIBE_NAT_GATEWAYS)
                .count();
            assert_eq!(nat_reads, 1, "{name}: the VPC's NAT gateways are read once");
            assert_eq!(e.resource_type, SERVICE_RESOURCE_TYPE);
            assert_eq!(e.resource_id, "arn:cluster/prod/web");
            let rules: Vec<&str> = e.findings.iter().map(|f| f.rule).collect();
            match want {
                Some(rule) => assert_eq!(rules.first(), Some(&rule), "{name}: {e:#?}"),
                None => {
                    assert_eq!(e.compliance, Status::Compliant, "{name}: {e:#?}");
                    assert!(rules.is_empty(), "{name}: {rules:?}");
                }
            }
            eprintln!(
                "preflight {name}: {} calls, {trips} read round trips",
                aws.calls().len()
            );
        }
    }

    #[tokio::test]
    async fn subnets_that_differ_are_named_in_their_findings() {
        let mut facts = fixture::seed();
        // subnet-task is public (the seed); subnet-a is private to the fixture's main table.
        let aws = FakeAws::from_facts(&facts, CONTAINER_INSTANCE, "10.0.3.7")
            .with_subnet(Subnet {
                id: "subnet-task".into(),
                vpc_id: "vpc-1".into(),
                cidr: Some("10.0.3.0/24".into()),
                ..Default::default()
            })
            .with_subnet(Subnet {
                id: "subnet-private".into(),
                vpc_id: "vpc-1".into(),
                cidr: Some("10.0.4.0/24".into()),
                ..Default::default()
            });
        facts.host = crate::domain::facts::Fact::Known(crate::domain::facts::Host::default());
        let mut p = plan(vec![]);
        p.network.as_mut().unwrap().subnets = vec!["subnet-task".into(), "subnet-private".into()];
        let e = judge(&p, None, None, &aws, at()).await.unwrap();
        assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
        assert!(
            e.annotation.starts_with("subnets differ"),
            "{}",
            e.annotation
        );
        assert!(
            e.findings
                .iter()
                .any(|f| f.message.starts_with("[subnet-task] ")),
            "{:#?}",
            e.findings
        );
    }

    #[tokio::test]
    async fn each_group_of_the_clusters_hosts_is_judged_and_named_when_they_differ() {
        // The seed's public host, and a second one in a subnet without a way out: a task
        // placed there would not start.
        let mut facts = fixture::seed();
        if let crate::domain::facts::Fact::Known(tables) = &mut facts.vpc_route_tables {
            for t in tables.iter_mut().filter(|t| t.main) {
                t.routes
                    .retain(|r| r.destination_cidr.as_deref() != Some("0.0.0.0/0"));
            }
        }
        facts.network_acls = fixture::valid().network_acls;
        if let crate::domain::facts::Fact::Known(acls) = &mut facts.network_acls {
            acls[0].subnet_ids.push("subnet-private".into());
        }
        let aws = world(&facts).with_host(
            "arn:container-instance/prod/2",
            crate::domain::facts::Host {
                instance_id: "i-2".into(),
                public_ip: None,
                subnet_id: Some("subnet-private".into()),
                vpc_id: Some("vpc-1".into()),
                security_group_ids: vec!["sg-task".into()],
            },
        );
        let mut td = facts.task_definition.known().unwrap().clone();
        td.start_needs.images = vec!["nginx:latest".into()];
        let e = judge(&plan(vec![]), Some(td), None, &aws, at())
            .await
            .unwrap();
        assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
        assert!(
            e.annotation.starts_with("subnets differ"),
            "{}",
            e.annotation
        );
        assert!(
            e.findings.iter().any(|f| f.rule == "IMAGE_PULL_NO_EGRESS"
                && f.message.starts_with("[subnet-task on i-2 (no public IP in subnet-private)] A task of this plan would not start")),
            "{:#?}",
            e.findings
        );
        assert!(
            !e.findings
                .iter()
                .any(|f| f.rule == "IMAGE_PULL_NO_EGRESS" && f.message.contains("on i-1 ")),
            "the public host pulls through its public IP: {:#?}",
            e.findings
        );
    }

    #[tokio::test]
    async fn a_strategy_mixing_fargate_and_ec2_is_insufficient_data_and_reads_nothing() {
        let aws = world(&fixture::seed());
        let mut p = plan(vec![]);
        p.launch =
            PlannedLaunch::CapacityProviders(vec!["FARGATE".into(), "my-asg-provider".into()]);
        let e = judge(&p, None, None, &aws, at()).await.unwrap();
        assert_eq!(e.compliance, Status::InsufficientData, "{e:#?}");
        assert!(
            e.findings[0].message.contains("mixes Fargate and EC2"),
            "{e:#?}"
        );
        assert!(aws.calls().is_empty(), "nothing is read for it");
    }

    #[tokio::test]
    async fn a_plan_that_leaves_placement_to_the_cluster_runs_where_its_default_strategy_puts_it() {
        // The seed's world: a public subnet, a host with a public IP, no load balancer.
        let cases = [
            // No default strategy: the EC2 launch type, the seed trap.
            (
                None,
                Some("AWSVPC_EC2_PUBLIC_NO_INBOUND"),
                Status::NonCompliant,
            ),
            // Fargate by default: the trap's Fargate twin.
            (
                Some(&["FARGATE", "FARGATE_SPOT"][..]),
                Some("FARGATE_PUBLIC_SUBNET_NO_PUBLIC_IP"),
                Status::NonCompliant,
            ),
            // Both kinds: a task may land on either.
            (
                Some(&["FARGATE", "my-asg-provider"][..]),
                Some("CHECK_INCOMPLETE"),
                Status::InsufficientData,
            ),
        ];
        for (default, first_rule, status) in cases {
            let mut aws = world(&fixture::seed());
            if let Some(providers) = default {
                aws = aws.with_cluster_default_strategy("arn:cluster/prod", providers);
            }
            let mut p = plan(vec![]);
            p.launch = PlannedLaunch::ClusterDefault;
            let e = judge(&p, None, None, &aws, at()).await.unwrap();
            assert_eq!(e.compliance, status, "{default:?}: {e:#?}");
            assert_eq!(e.findings.first().map(|f| f.rule), first_rule, "{e:#?}");
            assert_eq!(aws.calls()[0], api::ECS_DESCRIBE_CLUSTERS);
        }
    }

    #[tokio::test]
    async fn a_missing_subnet_is_an_error_naming_it() {
        let aws = world(&fixture::seed());
        let mut p = plan(vec![]);
        p.network.as_mut().unwrap().subnets = vec!["subnet-gone".into()];
        let err = judge(&p, None, None, &aws, at()).await.unwrap_err();
        assert!(err.to_string().contains("subnet-gone"), "{err}");
    }
}
