//! The core use case: a trigger in, an Evaluation out. Facts are read concurrently through the
//! ports; the CLI and the Lambda both call [`check_trigger`] and [`check_and_alert`].

use thiserror::Error;
use tracing::{info, instrument};

use crate::domain::alert::alert_for;
use crate::domain::evaluation::{evaluate_task, Evaluation};
use crate::domain::event::{EniAttachment, InputError, LaunchType, TaskEvent, Trigger};
use crate::domain::facts::{effective_route_table, Fact, TaskFacts, Unreadable};
use crate::ports::{AlertPublish, ReadError, ReadResult, TaskFactsRead};

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
    let facts = gather_facts(event, attachment.as_ref(), reader).await?;
    Ok(evaluate_task(event, attachment.as_ref(), &facts))
}

/// Reads every fact for the task, independent reads concurrently:
/// wave 1 = task definition ‖ service ‖ ENI ‖ container instance;
/// wave 2 = route tables of the ENI's VPC ‖ the host instance.
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
        let not_read = || missing_input("ec2:DescribeNetworkInterfaces", "task ENI");
        return Ok(TaskFacts {
            task_definition,
            service: None,
            eni: Fact::Unknown(not_read()),
            route_table: Fact::Unknown(not_read()),
            host: Fact::Unknown(not_read()),
        });
    };
    let cluster = task.cluster_arn.as_deref().unwrap_or("default");
    let service = async {
        match task.service_name() {
            Some(name) => into_fact(reader.service(cluster, name).await, || Unreadable {
                api: "ecs:DescribeServices",
                reason: format!("service {name} no longer exists (MISSING)"),
            })
            .map(Some),
            None => Ok(None),
        }
    };
    let network = async {
        let eni_id = &attachment.network_interface_id;
        let eni = into_fact(reader.network_interface(eni_id).await, || Unreadable {
            api: "ec2:DescribeNetworkInterfaces",
            reason: format!("ENI {eni_id} no longer exists"),
        })?;
        let route_table = match eni.known() {
            Some(eni) => match reader.route_tables(&eni.vpc_id).await {
                Ok(tables) => match effective_route_table(&tables, &eni.subnet_id) {
                    Some(table) => Fact::Known(table.clone()),
                    None => Fact::Unknown(Unreadable {
                        api: "ec2:DescribeRouteTables",
                        reason: format!(
                            "VPC {} has no route table for subnet {}",
                            eni.vpc_id, eni.subnet_id
                        ),
                    }),
                },
                Err(ReadError::Unreadable(u)) => Fact::Unknown(u),
                Err(e) => return Err(CheckError::Aws(e)),
            },
            None => Fact::Unknown(Unreadable {
                api: "ec2:DescribeRouteTables",
                reason: "not read: the task ENI is unknown".into(),
            }),
        };
        Ok::<_, CheckError>((eni, route_table))
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
    let (task_definition, service, (eni, route_table), host) =
        tokio::try_join!(task_definition, service, network, host)?;
    Ok(TaskFacts {
        task_definition,
        service,
        eni,
        route_table,
        host,
    })
}

/// Checks a trigger and, for a NON_COMPLIANT task, publishes the alert.
/// A failed publish is an error carrying the evaluation, so nothing is lost silently.
#[instrument(skip_all)]
pub async fn check_and_alert<R: TaskFactsRead, P: AlertPublish>(
    trigger: &Trigger,
    reader: &R,
    publisher: Option<&P>,
) -> Result<Evaluation, CheckError> {
    let mut evaluation = check_trigger(trigger, reader).await?;
    info!(
        resource_id = %evaluation.resource_id,
        compliance = evaluation.compliance.as_str(),
        "evaluated"
    );
    let (Some(publisher), Some(alert)) = (publisher, alert_for(&evaluation)) else {
        return Ok(evaluation);
    };
    match publisher.publish(&alert).await {
        Ok(message_id) => {
            evaluation.alert.published = true;
            evaluation.alert.message_id = Some(message_id);
            Ok(evaluation)
        }
        Err(source) => Err(CheckError::Publish {
            evaluation: Box::new(evaluation),
            source,
        }),
    }
}
