//! The core use case: a trigger in, an Evaluation out, and the alert delivered when the policy
//! says so. Facts are read in waves through the reader ports (`facts::waves`); the CLI, the
//! Lambda, the audit and the Config mode all evaluate through [`check_trigger`].

use thiserror::Error;
use time::OffsetDateTime;
use tracing::{info, instrument, warn};

use crate::domain::delivery::{dedup_key, CheckReport};
use crate::domain::diagnosis::{
    evaluate_service_event, evaluate_stop, newest_diagnosable, stop_verdict_before_reading,
};
use crate::domain::evaluation::{evaluate_task, Evaluation};
use crate::domain::event::{InputError, TaskEvent, Trigger};
use crate::domain::rules::check_incomplete;
use crate::domain::stop::{ServiceEvent, StoppedTask};
use crate::domain::verdict::Severity;
use crate::facts::stopped::read_stop_facts;
use crate::facts::waves::read_task_facts;
use crate::ports::{AlertDedup, AlertPublish, Claim, FactReader, ReadError};
use crate::render::sns::alert_at;

/// A check that could not produce a verdict.
#[derive(Debug, Error)]
pub enum CheckError {
    /// The input is malformed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// AWS kept failing after retries (throttling, 5xx, timeout, connection).
    #[error("AWS read failed: {0}")]
    Aws(ReadError),
    /// A batch's time ran out before this check started (it goes back to the queue).
    #[error("the batch's time ran out before this check started")]
    NotStarted,
    /// The alert for a NON_COMPLIANT task could not be published.
    #[error("{source}")]
    Publish {
        /// The evaluation that was made (still printed by the CLI).
        report: Box<CheckReport>,
        /// The publish error.
        source: crate::ports::PublishError,
    },
}

/// Evaluates a parsed trigger: the verdict that needs no read, else the one its facts give.
#[instrument(skip_all)]
pub async fn check_trigger<R: FactReader>(
    trigger: &Trigger,
    reader: &R,
) -> Result<Evaluation, CheckError> {
    match verdict_before_reading(trigger, OffsetDateTime::now_utc()) {
        Some(evaluation) => Ok(evaluation),
        None => read_and_evaluate(trigger, reader).await,
    }
}

/// The verdict that needs no AWS read (out of scope, too old, no ENI, a stop that is not
/// diagnosed...), if any: asked before a reader is built, so it never costs an AssumeRole.
pub fn verdict_before_reading(trigger: &Trigger, now: OffsetDateTime) -> Option<Evaluation> {
    match trigger {
        Trigger::OutOfScope(o) => Some(Evaluation::out_of_scope(o, now)),
        Trigger::RunningTask(event) => {
            crate::domain::evaluation::verdict_before_reading(event, now)
        }
        Trigger::StoppedTask(stop) => stop_verdict_before_reading(stop, now),
        Trigger::Service(_) => None,
    }
}

/// The verdict the trigger's facts give, once [`verdict_before_reading`] gave none.
pub async fn read_and_evaluate<R: FactReader>(
    trigger: &Trigger,
    reader: &R,
) -> Result<Evaluation, CheckError> {
    match trigger {
        // Decided before reading; kept total.
        Trigger::OutOfScope(o) => Ok(Evaluation::out_of_scope(o, OffsetDateTime::now_utc())),
        Trigger::RunningTask(event) => read_task(event, reader).await,
        Trigger::StoppedTask(stop) => read_stop(stop, reader).await,
        Trigger::Service(event) => check_service_event(event, reader).await,
    }
}

/// Diagnoses a stopped task (health-check kill, start failure) from its facts.
#[instrument(skip_all, fields(task_arn = %stop.event.task.task_arn))]
async fn read_stop<R: FactReader>(
    stop: &StoppedTask,
    reader: &R,
) -> Result<Evaluation, CheckError> {
    let facts = Box::pin(read_stop_facts(stop, reader))
        .await
        .map_err(CheckError::Aws)?;
    Ok(evaluate_stop(stop, &facts, OffsetDateTime::now_utc()))
}

/// Diagnoses a failed deployment or a service whose tasks keep failing to start, through its
/// newest diagnosable stopped task.
#[instrument(skip_all, fields(service = %event.service_arn))]
async fn check_service_event<R: FactReader>(
    event: &ServiceEvent,
    reader: &R,
) -> Result<Evaluation, CheckError> {
    let now = OffsetDateTime::now_utc();
    let cluster = event.cluster.as_deref().unwrap_or("default");
    let tasks = match reader
        .recent_stopped_tasks(cluster, &event.service_name)
        .await
    {
        Ok(tasks) => tasks,
        Err(ReadError::Unreadable(u)) => {
            let mut e = evaluate_service_event(event, None, None, now);
            e.annotation = format!("Incomplete: {u}");
            e.findings = vec![check_incomplete::finding(&u)];
            return Ok(e);
        }
        Err(e) => return Err(CheckError::Aws(e)),
    };
    let newest_reason = tasks
        .iter()
        .max_by(|a, b| a.stopped_at.cmp(&b.stopped_at))
        .and_then(|t| t.stopped_reason.clone());
    let diagnosis = match newest_diagnosable(
        tasks,
        event.deployment_id.as_deref(),
        event.region.as_deref(),
    ) {
        Some(stop) => Some(match stop_verdict_before_reading(&stop, now) {
            Some(evaluation) => evaluation,
            None => Box::pin(read_stop(&stop, reader)).await?,
        }),
        None => None,
    };
    Ok(evaluate_service_event(
        event,
        diagnosis,
        newest_reason.as_deref(),
        now,
    ))
}

/// Evaluates a RUNNING task from its facts.
#[instrument(skip_all, fields(task_arn = %event.task.task_arn))]
async fn read_task<R: FactReader>(event: &TaskEvent, reader: &R) -> Result<Evaluation, CheckError> {
    let attachment = event.task.eni_attachment();
    // Boxed: the joined read futures are large, and a deep stack is not guaranteed.
    let facts = Box::pin(read_task_facts(event, attachment.as_ref(), reader))
        .await
        .map_err(CheckError::Aws)?;
    Ok(evaluate_task(
        event,
        attachment.as_ref(),
        &facts,
        OffsetDateTime::now_utc(),
    ))
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

/// Publishes the alert of `evaluation` when the policy says so, once per dedup key: claim →
/// publish → complete, or release the claim when the publish failed.
pub async fn deliver<P: AlertPublish, D: AlertDedup>(
    evaluation: Evaluation,
    alerting: &Alerting<'_, P, D>,
) -> Result<CheckReport, CheckError> {
    let Some(alert) = alert_at(&evaluation, alerting.min_severity) else {
        return Ok(CheckReport::unsent(evaluation));
    };
    let mut report = CheckReport::unsent(evaluation);
    let claimed = match alerting.dedup {
        None => None,
        Some(store) => {
            let key = dedup_key(&report.evaluation, alerting.min_severity);
            report.alert.dedup_key = Some(key.clone());
            match store.claim(&key).await {
                Ok(Claim::Duplicate) => {
                    info!(dedup_key = %key, "alert already sent for this deploy");
                    report.alert.deduplicated = true;
                    return Ok(report);
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
            report.alert.published = true;
            report.alert.message_id = Some(message_id);
            if let Some((store, key)) = claimed {
                // Once more on failure: an IN_PROGRESS claim expires after a minute, and a
                // redelivery after that would alert again (the at-least-once edge).
                if store.complete(&key).await.is_err() {
                    if let Err(e) = store.complete(&key).await {
                        warn!(error = %e, dedup_key = %key, "could not mark the alert complete: a redelivered event may alert again");
                    }
                }
            }
            Ok(report)
        }
        Err(source) => {
            if let Some((store, key)) = claimed {
                if let Err(e) = store.release(&key).await {
                    warn!(error = %e, "could not release the dedup claim");
                }
            }
            Err(CheckError::Publish {
                report: Box::new(report),
                source,
            })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::app::checker::Checker;
    use crate::domain::facts::Unreadable;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::domain::verdict::Status;
    use crate::facts::fake::{
        FakeAws, FakeDedup, FakeHub, FakeOpenFindings, FakePublisher, FakeSource,
    };

    fn seed_trigger() -> Trigger {
        Trigger::RunningTask(Box::new(fixture::running_event().0))
    }

    fn seed_world() -> FakeAws {
        FakeAws::from_facts(&fixture::seed(), CONTAINER_INSTANCE, "10.0.3.7")
    }

    async fn run(publisher: &FakePublisher, dedup: &FakeDedup) -> Result<CheckReport, CheckError> {
        let alerting = Alerting {
            publisher,
            dedup: Some(dedup),
            min_severity: Severity::High,
        };
        let source = FakeSource::new(seed_world());
        checker(&source, alerting)
            .check(&seed_trigger(), None)
            .await
    }

    /// The check use case over the fake account, alerting through the fakes, without export.
    pub(crate) fn checker<'a>(
        source: &'a FakeSource,
        alerting: Alerting<'a, FakePublisher, FakeDedup>,
    ) -> Checker<'a, FakeSource, FakePublisher, FakeDedup, FakeHub, FakeOpenFindings> {
        Checker {
            source,
            alerting: Some(alerting),
            export: None,
            on_checked: |_, _| {},
        }
    }

    #[tokio::test]
    async fn the_seed_is_non_compliant_and_alerts_once_per_deploy() {
        let publisher = FakePublisher::default();
        let dedup = FakeDedup::default();
        let first = run(&publisher, &dedup).await.unwrap();
        assert_eq!(first.evaluation.compliance, Status::NonCompliant);
        assert!(first.alert.published);
        assert_eq!(first.alert.message_id.as_deref(), Some("message-1"));
        let key = first.alert.dedup_key.clone().unwrap();
        // The second task of the same deploy: a duplicate claim publishes nothing.
        let second = run(&publisher, &dedup).await.unwrap();
        assert!(second.alert.deduplicated && !second.alert.published);
        assert_eq!(publisher.published.lock().unwrap().len(), 1);
        assert_eq!(
            *dedup.log.lock().unwrap(),
            [
                format!("claim {key}"),
                format!("complete {key}"),
                format!("claim {key}")
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_publish_releases_the_claim_and_fails_with_the_report() {
        let failing = FakePublisher {
            fail: true,
            ..Default::default()
        };
        let dedup = FakeDedup::default();
        let Err(CheckError::Publish { report, .. }) = run(&failing, &dedup).await else {
            panic!("a failed publish must fail the check");
        };
        assert_eq!(report.evaluation.compliance, Status::NonCompliant);
        let key = report.alert.dedup_key.clone().unwrap();
        assert_eq!(
            *dedup.log.lock().unwrap(),
            [format!("claim {key}"), format!("release {key}")]
        );
        // The retry (Lambda's) can alert: the claim is free again.
        let publisher = FakePublisher::default();
        assert!(run(&publisher, &dedup).await.unwrap().alert.published);
    }

    #[tokio::test]
    async fn a_denied_describe_target_groups_is_one_check_incomplete() {
        let denied = ReadError::Unreadable(Unreadable {
            api: crate::domain::api::ELB_DESCRIBE_TARGET_GROUPS,
            reason: "AccessDenied: not authorized".into(),
        });
        let aws = FakeAws::from_facts(&fixture::valid(), CONTAINER_INSTANCE, "10.0.3.7")
            .failing(crate::domain::api::ELB_DESCRIBE_TARGET_GROUPS, denied);
        let evaluation = check_trigger(&seed_trigger(), &aws).await.unwrap();
        assert_eq!(evaluation.compliance, Status::InsufficientData);
        let incomplete: Vec<_> = evaluation
            .findings
            .iter()
            .filter(|f| f.rule == "CHECK_INCOMPLETE")
            .collect();
        assert_eq!(incomplete.len(), 1, "{:#?}", evaluation.findings);
        assert!(incomplete[0]
            .message
            .contains(crate::domain::api::ELB_DESCRIBE_TARGET_GROUPS));
    }

    /// The Evaluation JSON of the seed and of a task behind a valid ALB, pinned: the files were
    /// written by the code before the rule-engine redesign, from the same facts. Fields added
    /// since, on purpose: `context.targetGroups` (the Security Hub export names them) and
    /// `path` (the hops, #25). `BLESS_GOLDEN=1` rewrites the files after a deliberate change.
    #[tokio::test]
    async fn golden_evaluation_json_is_unchanged() {
        for (name, facts) in [("seed", fixture::seed()), ("alb", fixture::valid())] {
            let aws = FakeAws::from_facts(&facts, CONTAINER_INSTANCE, "10.0.3.7");
            let evaluation = check_trigger(&seed_trigger(), &aws).await.unwrap();
            let mut json = serde_json::to_value(CheckReport::unsent(evaluation)).unwrap();
            json["evaluatedAt"] = "2026-01-02T03:04:05Z".into();
            let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
            if std::env::var_os("BLESS_GOLDEN").is_some() {
                let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
                std::fs::write(&path, text).unwrap();
            }
            let golden: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(json, golden, "{name}");
        }
    }

    /// Stop diagnoses through the fake reader: the facts moto cannot give (target health
    /// reasons, deployments with their network configuration) come from the stop fixtures.
    mod stops {
        use super::*;
        use crate::domain::event::parse_trigger;
        use crate::domain::facts::Host;
        use crate::domain::rules::stop_fixture::{self as sf, StopCase};
        use crate::domain::stop::StopKind;

        fn world(case: &StopCase) -> FakeAws {
            let host = Host {
                instance_id: "i-1".into(),
                subnet_id: Some("subnet-instance".into()),
                vpc_id: Some("vpc-1".into()),
                security_group_ids: vec!["sg-task".into()],
                ..Default::default()
            };
            FakeAws::from_stop(&case.facts, CONTAINER_INSTANCE, Some(host))
        }

        async fn diagnose(case: &StopCase) -> (Evaluation, Vec<&'static str>) {
            let aws = world(case);
            let trigger = Trigger::StoppedTask(Box::new(case.stop.clone()));
            let e = check_trigger(&trigger, &aws).await.unwrap();
            (e, aws.calls())
        }

        fn rules(e: &Evaluation) -> Vec<&'static str> {
            e.findings.iter().map(|f| f.rule).collect()
        }

        #[tokio::test]
        async fn a_health_check_kill_with_an_open_path_blames_the_application() {
            let (e, calls) = diagnose(&sf::health_kill()).await;
            assert_eq!(e.compliance, Status::Compliant, "{e:#?}");
            assert_eq!(rules(&e), ["HEALTH_CHECK_APP_FAILED"]);
            assert!(e.findings[0]
                .message
                .contains("Target.ResponseCodeMismatch"));
            // Each fact once; the ENI only as the fallback for the task's groups.
            for api in [
                crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
                crate::domain::api::ELB_DESCRIBE_TARGET_GROUPS,
                crate::domain::api::ELB_DESCRIBE_TARGET_HEALTH,
                crate::domain::api::ELB_DESCRIBE_LOAD_BALANCERS,
                crate::domain::api::EC2_DESCRIBE_SECURITY_GROUPS,
                crate::domain::api::EC2_DESCRIBE_NETWORK_ACLS,
            ] {
                assert_eq!(
                    calls.iter().filter(|c| **c == api).count(),
                    1,
                    "{api}: {calls:?}"
                );
            }
        }

        /// Every read's round trips on a paused clock: 100 ms each.
        async fn round_trips(case: &StopCase) -> u128 {
            let aws = world(case).with_latency(std::time::Duration::from_millis(100));
            let trigger = Trigger::StoppedTask(Box::new(case.stop.clone()));
            let start = tokio::time::Instant::now();
            check_trigger(&trigger, &aws).await.unwrap();
            start.elapsed().as_millis() / 100
        }

        #[tokio::test(start_paused = true)]
        async fn stop_diagnoses_take_two_or_three_read_round_trips() {
            assert_eq!(round_trips(&sf::health_kill()).await, 2, "health check");
            // Fargate: the task subnet (for its VPC), then the VPC's facts.
            assert_eq!(
                round_trips(&sf::image_pull_private()).await,
                2,
                "Fargate pull"
            );
            // EC2: the container instance, its EC2 instance, then the VPC's facts.
            assert_eq!(
                round_trips(&sf::ec2_instance_private()).await,
                3,
                "EC2 pull"
            );
            // The NAT gateways are read beside the route tables: no round trip of their own.
            assert_eq!(round_trips(&sf::image_pull_nat()).await, 2, "through NAT");
            // A NAT instance is known only from the routes: one more.
            assert_eq!(
                round_trips(&sf::image_pull_nat_instance()).await,
                3,
                "through a NAT instance"
            );
        }

        #[tokio::test]
        async fn a_health_check_kill_names_the_task_group_from_the_deployment() {
            let mut case = sf::health_kill();
            sf::group(&mut case, "sg-task").ingress = vec![fixture::tcp(80, &[], &["sg-lb"])];
            let (e, _) = diagnose(&case).await;
            assert_eq!(e.compliance, Status::NonCompliant);
            assert_eq!(rules(&e), ["HEALTH_CHECK_BLOCKED"]);
            assert!(e.findings[0]
                .message
                .contains("--group-id sg-task --protocol tcp --port 3000 --source-group sg-lb"));
        }

        #[tokio::test]
        async fn image_pulls_are_diagnosed_on_the_pulling_network() {
            let cases = [
                (
                    sf::image_pull_private(),
                    Status::NonCompliant,
                    vec!["IMAGE_PULL_NO_EGRESS"],
                    "subnet subnet-task",
                ),
                (
                    sf::ec2_instance_private(),
                    Status::NonCompliant,
                    vec!["IMAGE_PULL_NO_EGRESS"],
                    "container instance i-1",
                ),
                (
                    sf::image_pull_private_with_endpoints(),
                    Status::Compliant,
                    vec![],
                    "",
                ),
            ];
            for (case, status, want, text) in cases {
                let (e, calls) = diagnose(&case).await;
                assert_eq!(e.compliance, status, "{e:#?}");
                assert_eq!(rules(&e), want);
                assert!(
                    e.findings.iter().all(|f| f.message.contains(text)),
                    "{e:#?}"
                );
                assert!(
                    calls.contains(&crate::domain::api::EC2_DESCRIBE_VPC_ENDPOINTS),
                    "{calls:?}"
                );
            }
        }

        #[tokio::test]
        async fn a_denied_endpoint_read_is_insufficient_data_naming_the_action() {
            let case = sf::image_pull_private();
            let aws = world(&case).failing(
                crate::domain::api::EC2_DESCRIBE_VPC_ENDPOINTS,
                ReadError::Unreadable(Unreadable {
                    api: crate::domain::api::EC2_DESCRIBE_VPC_ENDPOINTS,
                    reason: "UnauthorizedOperation".into(),
                }),
            );
            let trigger = Trigger::StoppedTask(Box::new(case.stop.clone()));
            let e = check_trigger(&trigger, &aws).await.unwrap();
            assert_eq!(e.compliance, Status::InsufficientData);
            assert!(e
                .annotation
                .contains(crate::domain::api::EC2_DESCRIBE_VPC_ENDPOINTS));
        }

        fn stopped_tasks(n: usize, reason: &str) -> Vec<crate::domain::task::TaskDetail> {
            (0..n)
                .map(|i| {
                    let mut t = sf::image_pull_private().stop.event.task;
                    t.task_arn = format!("arn:task/prod/{i}");
                    t.stopped_at = Some(format!("2026-01-01T10:{:02}:00Z", i % 60));
                    t.stopped_reason = Some(reason.into());
                    t
                })
                .collect()
        }

        fn deployment_failed() -> Trigger {
            let event = serde_json::json!({
                "version": "0", "id": "ev-dep", "detail-type": "ECS Deployment State Change",
                "source": "aws.ecs", "account": "111122223333", "time": "2026-01-01T10:31:14Z",
                "region": "us-east-1", "resources": ["arn:aws:ecs:us-east-1:111122223333:service/prod/web"],
                "detail": {"eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED",
                           "deploymentId": "ecs-svc/1", "reason": "ECS deployment circuit breaker: tasks failed to start."}
            });
            parse_trigger(event).unwrap()
        }

        #[tokio::test]
        async fn a_failed_deployment_is_diagnosed_through_its_newest_stopped_task() {
            let case = sf::image_pull_private();
            let aws = world(&case).with_stopped_tasks(stopped_tasks(3, sf::PULL_REASON));
            let e = check_trigger(&deployment_failed(), &aws).await.unwrap();
            assert_eq!(e.resource_type, "AWS::ECS::Service");
            assert_eq!(e.compliance, Status::NonCompliant, "{e:#?}");
            assert_eq!(rules(&e), ["IMAGE_PULL_NO_EGRESS"]);
            let stop = e.stop.as_ref().unwrap();
            assert_eq!(stop.kind, StopKind::DeploymentFailed);
            assert_eq!(stop.stopped_task.as_deref(), Some("arn:task/prod/2"));
            assert_eq!(stop.deployment_id.as_deref(), Some("ecs-svc/1"));
            // No stopped task visible: INSUFFICIENT_DATA, not a guess.
            let e = check_trigger(&deployment_failed(), &world(&case))
                .await
                .unwrap();
            assert_eq!(e.compliance, Status::InsufficientData);
        }

        #[tokio::test]
        async fn fifty_stops_of_one_deployment_alert_once_whatever_the_severity_floor() {
            let publisher = FakePublisher::default();
            let dedup = FakeDedup::default();
            let alerting = || Alerting {
                publisher: &publisher,
                dedup: Some(&dedup),
                // A stop diagnosis is alerted whatever MIN_SEVERITY says.
                min_severity: Severity::High,
            };
            let case = sf::health_kill(); // MEDIUM finding only
            let source = FakeSource::new(world(&case));
            let stops = checker(&source, alerting());
            let mut keys = Vec::new();
            for i in 0..50 {
                let mut stop = case.stop.clone();
                stop.event.task.task_arn = format!("arn:task/prod/{i}");
                let trigger = Trigger::StoppedTask(Box::new(stop));
                let report = stops.check(&trigger, None).await.unwrap();
                keys.extend(report.alert.dedup_key);
            }
            // The failed deployment's own event joins the same key.
            let source = FakeSource::new(
                world(&case).with_stopped_tasks(stopped_tasks(1, sf::HEALTH_REASON)),
            );
            let report = checker(&source, alerting())
                .check(&deployment_failed(), None)
                .await
                .unwrap();
            assert!(report.alert.deduplicated, "{report:#?}");
            let published = publisher.published.lock().unwrap();
            assert_eq!(published.len(), 1);
            assert!(
                published[0]
                    .subject
                    .starts_with("ECS tasks killed by ELB health checks: web in prod"),
                "{}",
                published[0].subject
            );
            assert!(
                published[0].body.contains(
                    "Stop reason: Task failed ELB health checks in (target-group arn:tg/web)"
                ),
                "{}",
                published[0].body
            );
            assert!(published[0].body.contains("Deployment: ecs-svc/1"));
            keys.dedup();
            assert_eq!(keys, ["stopped#prod#web#ecs-svc/1"]);
        }

        #[test]
        fn the_event_fixtures_parse_into_their_triggers() {
            let parse = |name: &str| {
                let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
                crate::domain::event::parse_trigger_bytes(&std::fs::read(path).unwrap()).unwrap()
            };
            assert!(matches!(parse("stopped.json"), Trigger::OutOfScope(_)));
            let Trigger::StoppedTask(hc) = parse("stopped-health-check.json") else {
                panic!()
            };
            assert_eq!(hc.kind(), StopKind::HealthCheckKill);
            for name in ["stopped-image-pull.json", "stopped-resource-init.json"] {
                let Trigger::StoppedTask(pull) = parse(name) else {
                    panic!("{name}")
                };
                assert_eq!(pull.kind(), StopKind::StartFailure);
            }
            let Trigger::Service(dep) = parse("deployment-failed.json") else {
                panic!()
            };
            assert_eq!(
                (dep.kind, dep.cluster.as_deref()),
                (StopKind::DeploymentFailed, Some("prod"))
            );
            let Trigger::Service(imp) = parse("task-start-impaired.json") else {
                panic!()
            };
            assert_eq!(imp.kind, StopKind::TaskStartImpaired);
        }
    }
}
