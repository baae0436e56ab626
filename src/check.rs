//! The core use case: a trigger in, an Evaluation out. Facts are read concurrently through the
//! ports; the CLI and the Lambda both call [`check_trigger`] and [`check_and_alert`].

use thiserror::Error;
use tracing::{info, instrument, warn};

use crate::domain::alert::{alert_at, dedup_key};
use crate::domain::evaluation::{evaluate_task, Evaluation};
use crate::domain::event::{EniAttachment, InputError, LaunchType, TaskEvent, Trigger};
use crate::domain::facts::{effective_route_table, Fact, LoadBalancerPath, TaskFacts, Unreadable};
use crate::domain::rules::Severity;
use crate::ports::{AlertDedup, AlertPublish, Claim, ReadError, ReadResult, TaskFactsRead};

/// A check that could not produce a verdict.
#[derive(Debug, Error)]
pub enum CheckError {
    /// The input is malformed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// AWS kept failing after retries (throttling, 5xx, timeout, connection).
    #[error("AWS read failed after retries: {0}")]
    Aws(ReadError),
    /// The alert for a NON_COMPLIANT task could not be published.
    #[error("{source}")]
    Publish {
        /// The evaluation that was made (still printed by the CLI).
        evaluation: Box<Evaluation>,
        /// The publish error.
        source: crate::ports::PublishError,
    },
}

/// Turns a port result into a fact: `Unreadable` and missing resources become unknown facts,
/// persistent failures become errors.
fn into_fact<T>(
    result: ReadResult<T>,
    missing: impl FnOnce() -> Unreadable,
) -> Result<Fact<T>, CheckError> {
    match result {
        Ok(Some(v)) => Ok(Fact::Known(v)),
        Ok(None) => Ok(Fact::Unknown(missing())),
        Err(ReadError::Unreadable(u)) => Ok(Fact::Unknown(u)),
        Err(e @ ReadError::Failed { .. }) => Err(CheckError::Aws(e)),
    }
}

fn missing_input(api: &'static str, what: &str) -> Unreadable {
    Unreadable {
        api,
        reason: format!("the event does not name the {what}"),
    }
}

/// Evaluates a parsed trigger.
#[instrument(skip_all)]
pub async fn check_trigger<R: TaskFactsRead>(
    trigger: &Trigger,
    reader: &R,
) -> Result<Evaluation, CheckError> {
    match trigger {
        Trigger::OutOfScope(o) => Ok(Evaluation::out_of_scope(o)),
        Trigger::RunningTask(event) => check_task(event, reader).await,
    }
}

/// Evaluates a RUNNING task event.
#[instrument(skip_all, fields(task_arn = %event.task.task_arn))]
pub async fn check_task<R: TaskFactsRead>(
    event: &TaskEvent,
    reader: &R,
) -> Result<Evaluation, CheckError> {
    match event.task.launch_type() {
        Some(LaunchType::Ec2) => {}
        Some(other) => {
            return Ok(Evaluation::task_not_applicable(
                event,
                &format!(
                    "launch type {}: task ENIs can get public IPs or are not in a VPC",
                    other.as_str()
                ),
            ))
        }
        None => {
            return Ok(Evaluation::task_incomplete(
                event,
                &Unreadable {
                    api: "ecs:TaskStateChange",
                    reason: "the event names neither a launch type nor a container instance".into(),
                },
            ))
        }
    }
    let attachment = event.task.eni_attachment();
    // Boxed: the joined read futures are large, and a deep stack is not guaranteed.
    let facts = Box::pin(gather_facts(event, attachment.as_ref(), reader)).await?;
    Ok(evaluate_task(event, attachment.as_ref(), &facts))
}

/// Turns a list read into a fact (unreadable → unknown, failure → error).
fn list_fact<T>(result: Result<Vec<T>, ReadError>) -> Result<Fact<Vec<T>>, CheckError> {
    match result {
        Ok(items) => Ok(Fact::Known(items)),
        Err(ReadError::Unreadable(u)) => Ok(Fact::Unknown(u)),
        Err(e) => Err(CheckError::Aws(e)),
    }
}

fn not_read<T>(api: &'static str, because: &str) -> Fact<T> {
    Fact::Unknown(Unreadable {
        api,
        reason: format!("not read: {because}"),
    })
}

/// Reads every fact for the task, independent reads concurrently. The waves are: (task
/// definition ‖ service ‖ ENI ‖ container instance) → (route tables of the VPC ‖ host instance,
/// and behind a load balancer: target groups ‖ subnet ACL) → (load balancers ‖ listeners ‖
/// target health) → (security groups ‖ load-balancer subnets).
async fn gather_facts<R: TaskFactsRead>(
    event: &TaskEvent,
    attachment: Option<&EniAttachment>,
    reader: &R,
) -> Result<TaskFacts, CheckError> {
    let task = &event.task;
    let task_definition = async {
        match task.task_definition_arn.as_deref() {
            Some(arn) => into_fact(reader.task_definition(arn).await, || Unreadable {
                api: "ecs:DescribeTaskDefinition",
                reason: format!("task definition {arn} does not exist"),
            }),
            None => Ok(Fact::Unknown(missing_input(
                "ecs:DescribeTaskDefinition",
                "task definition",
            ))),
        }
    };
    let Some(attachment) = attachment else {
        // Without an ENI only the network mode matters (bridge/host are out of scope).
        let task_definition = task_definition.await?;
        return Ok(TaskFacts::without_network(
            task_definition,
            missing_input("ec2:DescribeNetworkInterfaces", "task ENI"),
        ));
    };
    let cluster = task.cluster_arn.as_deref().unwrap_or("default");
    // The subnet's NACL matters only on a load-balancer path: read it there, beside the
    // target groups (no extra round trip), and never for tasks without a load balancer.
    let network_acl = async {
        match attachment.subnet_id.as_deref() {
            Some(subnet) => into_fact(reader.network_acl(subnet).await, || Unreadable {
                api: "ec2:DescribeNetworkAcls",
                reason: format!("no network ACL is associated with {subnet}"),
            }),
            None => Ok(Fact::Unknown(missing_input(
                "ec2:DescribeNetworkAcls",
                "task subnet",
            ))),
        }
    };
    let service_and_lb = async {
        let Some(name) = task.service_name() else {
            return Ok((
                None,
                None,
                not_read("ec2:DescribeNetworkAcls", "no load balancer"),
            ));
        };
        let service = into_fact(reader.service(cluster, name).await, || Unreadable {
            api: "ecs:DescribeServices",
            reason: format!("service {name} no longer exists (MISSING)"),
        })?;
        let (lb_path, acl) = match service.known() {
            Some(s) if !s.load_balancers.is_empty() => {
                let ip = attachment.private_ipv4_address.as_deref();
                let path = Box::pin(read_load_balancer_path(reader, &s.load_balancers, ip));
                let (path, acl) = tokio::try_join!(path, network_acl)?;
                (Some(path), acl)
            }
            _ => (
                None,
                not_read("ec2:DescribeNetworkAcls", "no load balancer"),
            ),
        };
        Ok::<_, CheckError>((Some(service), lb_path, acl))
    };
    let network = async {
        let eni_id = &attachment.network_interface_id;
        let eni = into_fact(reader.network_interface(eni_id).await, || Unreadable {
            api: "ec2:DescribeNetworkInterfaces",
            reason: format!("ENI {eni_id} no longer exists"),
        })?;
        let Some(known) = eni.known() else {
            let because = "the task ENI is unknown";
            return Ok((
                eni,
                not_read("ec2:DescribeRouteTables", because),
                not_read("ec2:DescribeRouteTables", because),
            ));
        };
        let tables = list_fact(reader.route_tables(&known.vpc_id).await)?;
        let route_table = match tables.as_result() {
            Ok(tables) => match effective_route_table(tables, &known.subnet_id) {
                Some(table) => Fact::Known(table.clone()),
                None => Fact::Unknown(Unreadable {
                    api: "ec2:DescribeRouteTables",
                    reason: format!(
                        "VPC {} has no route table for subnet {}",
                        known.vpc_id, known.subnet_id
                    ),
                }),
            },
            Err(u) => Fact::Unknown(u.clone()),
        };
        Ok::<_, CheckError>((eni, route_table, tables))
    };
    let host = async {
        match task.container_instance_arn.as_deref() {
            Some(arn) => into_fact(reader.container_host(cluster, arn).await, || Unreadable {
                api: "ecs:DescribeContainerInstances",
                reason: format!("container instance {arn} no longer exists"),
            }),
            None => Ok(Fact::Unknown(missing_input(
                "ecs:DescribeContainerInstances",
                "container instance",
            ))),
        }
    };
    let (
        task_definition,
        (service, mut load_balancer_path, network_acl),
        (eni, route_table, vpc_route_tables),
        host,
    ) = tokio::try_join!(task_definition, service_and_lb, network, host)?;

    // Last wave: security groups (task ENI + load balancers) and load-balancer subnets, only
    // when a rule needs them.
    let ipv6_direct = eni.known().is_some_and(|e| !e.ipv6_addresses.is_empty())
        && route_table
            .known()
            .is_some_and(|t| t.ipv6_internet_gateway().is_some());
    let lbs = load_balancer_path
        .as_ref()
        .and_then(|p| p.load_balancers.known())
        .cloned()
        .unwrap_or_default();
    let mut group_ids: Vec<String> = eni
        .known()
        .map(|e| e.security_group_ids.clone())
        .unwrap_or_default();
    group_ids.extend(
        lbs.iter()
            .flat_map(|l| l.security_group_ids.iter().cloned()),
    );
    group_ids.sort();
    group_ids.dedup();
    let subnet_ids: Vec<String> = {
        let mut ids: Vec<String> = lbs
            .iter()
            .flat_map(|l| l.subnet_ids.iter().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let need_groups = (load_balancer_path.is_some() || ipv6_direct) && eni.known().is_some();
    let security_groups = async {
        if need_groups {
            list_fact(reader.security_groups(&group_ids).await)
        } else {
            Ok(not_read("ec2:DescribeSecurityGroups", "no rule needs them"))
        }
    };
    let lb_subnets = async {
        if subnet_ids.is_empty() {
            Ok(not_read("ec2:DescribeSubnets", "no load balancer subnets"))
        } else {
            list_fact(reader.subnets(&subnet_ids).await)
        }
    };
    let (security_groups, lb_subnets) = tokio::try_join!(security_groups, lb_subnets)?;
    if let Some(path) = load_balancer_path.as_mut() {
        path.subnets = match &path.load_balancers {
            Fact::Unknown(u) => Fact::Unknown(u.clone()),
            Fact::Known(_) => lb_subnets,
        };
    }
    Ok(TaskFacts {
        task_definition,
        service,
        eni,
        route_table,
        host,
        vpc_route_tables,
        network_acl,
        security_groups,
        load_balancer_path,
    })
}

/// Target groups → (load balancers ‖ listeners ‖ target health), concurrently where possible.
async fn read_load_balancer_path<R: TaskFactsRead>(
    reader: &R,
    mappings: &[crate::domain::facts::LoadBalancerMapping],
    task_ip: Option<&str>,
) -> Result<LoadBalancerPath, CheckError> {
    let mut tg_arns: Vec<String> = mappings
        .iter()
        .filter_map(|m| m.target_group_arn.clone())
        .collect();
    tg_arns.sort();
    tg_arns.dedup();
    let target_groups = if tg_arns.is_empty() {
        Fact::Known(vec![])
    } else {
        list_fact(reader.target_groups(&tg_arns).await)?
    };
    let groups = match &target_groups {
        Fact::Known(groups) => groups.clone(),
        Fact::Unknown(u) => {
            let u = u.clone();
            return Ok(LoadBalancerPath {
                target_groups,
                load_balancers: Fact::Unknown(u.clone()),
                listeners: Fact::Unknown(u.clone()),
                subnets: Fact::Unknown(u.clone()),
                registered_in: Fact::Unknown(u),
            });
        }
    };
    let mut lb_arns: Vec<String> = groups
        .iter()
        .flat_map(|g| g.load_balancer_arns.iter().cloned())
        .collect();
    lb_arns.sort();
    lb_arns.dedup();
    let load_balancers = async { list_fact(reader.load_balancers(&lb_arns).await) };
    let listeners = async {
        let per_lb = lb_arns.iter().map(|arn| reader.listeners(arn, &tg_arns));
        list_fact(
            futures_util::future::try_join_all(per_lb)
                .await
                .map(|v| v.into_iter().flatten().collect()),
        )
    };
    let registered_in = async {
        let Some(ip) = task_ip else {
            return Ok(not_read(
                "elasticloadbalancing:DescribeTargetHealth",
                "the task IP is unknown",
            ));
        };
        let checks = groups.iter().map(|g| async move {
            let targets = reader.registered_targets(&g.arn).await?;
            Ok::<_, ReadError>(targets.iter().any(|t| t == ip).then(|| g.arn.clone()))
        });
        list_fact(
            futures_util::future::try_join_all(checks)
                .await
                .map(|v| v.into_iter().flatten().collect()),
        )
    };
    let (load_balancers, listeners, registered_in) =
        tokio::try_join!(load_balancers, listeners, registered_in)?;
    Ok(LoadBalancerPath {
        target_groups,
        load_balancers,
        listeners,
        subnets: not_read("ec2:DescribeSubnets", "pending"),
        registered_in,
    })
}

/// How alerts are published: where, at which severity, with which dedup store.
#[derive(Debug)]
pub struct Alerting<'a, P, D> {
    /// The publisher (SNS).
    pub publisher: &'a P,
    /// The dedup store (DynamoDB), if configured.
    pub dedup: Option<&'a D>,
    /// Lowest severity that is published.
    pub min_severity: Severity,
}

/// Checks a trigger and, when the policy says so, publishes the alert (once per dedup key).
/// A failed publish is an error carrying the evaluation, so nothing is lost silently; an
/// unusable dedup store never stops an alert (at-least-once, never at-most-once).
#[instrument(skip_all)]
pub async fn check_and_alert<R: TaskFactsRead, P: AlertPublish, D: AlertDedup>(
    trigger: &Trigger,
    reader: &R,
    alerting: Option<&Alerting<'_, P, D>>,
) -> Result<Evaluation, CheckError> {
    let mut evaluation = check_trigger(trigger, reader).await?;
    info!(
        resource_id = %evaluation.resource_id,
        compliance = evaluation.compliance.as_str(),
        "evaluated"
    );
    let Some(alerting) = alerting else {
        return Ok(evaluation);
    };
    let Some(alert) = alert_at(&evaluation, alerting.min_severity) else {
        return Ok(evaluation);
    };
    let claimed = match alerting.dedup {
        None => None,
        Some(store) => {
            let key = dedup_key(&evaluation, alerting.min_severity);
            evaluation.alert.dedup_key = Some(key.clone());
            match store.claim(&key).await {
                Ok(Claim::Duplicate) => {
                    info!(dedup_key = %key, "alert already sent for this deploy");
                    evaluation.alert.deduplicated = true;
                    return Ok(evaluation);
                }
                Ok(Claim::Acquired) => Some((store, key)),
                Err(e) => {
                    warn!(error = %e, "dedup store unusable: publishing anyway");
                    None
                }
            }
        }
    };
    match alerting.publisher.publish(&alert).await {
        Ok(message_id) => {
            evaluation.alert.published = true;
            evaluation.alert.message_id = Some(message_id);
            if let Some((store, key)) = claimed {
                if let Err(e) = store.complete(&key).await {
                    warn!(error = %e, "could not mark the alert complete");
                }
            }
            Ok(evaluation)
        }
        Err(source) => {
            if let Some((store, key)) = claimed {
                if let Err(e) = store.release(&key).await {
                    warn!(error = %e, "could not release the dedup claim");
                }
            }
            Err(CheckError::Publish {
                evaluation: Box::new(evaluation),
                source,
            })
        }
    }
}
