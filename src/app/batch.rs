//! A batch of queued events (EventBridge → SQS → Lambda): one check per event, but the reads
//! they share made once. The batch's ENIs and container hosts are read in bulk first (200 ENIs,
//! 100 container instances a call); events of one (account, region, cluster, service,
//! deployment) are checked one first, then the rest from its cached facts; one alert per dedup
//! key per batch, and a key this environment already completed is not claimed again. A check
//! that fails — or that the batch's time did not reach — fails only its own message.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::adapters::dynamodb::IN_PROGRESS_EXPIRY;
use crate::app::check::CheckError;
use crate::app::checker::{alert_reserve, Checker, Evaluated};
use crate::domain::delivery::{dedup_key, CheckReport};
use crate::domain::evaluation::verdict_before_reading;
use crate::domain::event::{parse_trigger_bytes, Trigger};
use crate::domain::facts::Host;
use crate::domain::queue::{group_key, QueuedEvent};
use crate::facts::waves::cluster;
use crate::ports::{
    AlertDedup, AlertPublish, Claim, DedupError, Ec2Reader, EcsReader, FindingsImport,
    OpenFindings, ReadError, ReaderSource, ENI_BATCH,
};
use crate::render::sns::alert_at;

/// What became of a batch: a report per checked message, and the messages to hand back to
/// the queue (`batchItemFailures`).
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// (message id, report), in the batch's order.
    pub reports: Vec<(String, CheckReport)>,
    /// Message ids whose check failed or was not reached in time.
    pub failed: Vec<String>,
}

/// Checks a batch through `checker`: one alert per dedup key, then each report's export and
/// metrics.
pub async fn run_batch<S, P, D, I, O>(
    messages: Vec<QueuedEvent>,
    checker: &Checker<'_, S, P, D, I, O>,
    deadline: Option<Instant>,
) -> BatchOutcome
where
    S: ReaderSource,
    P: AlertPublish + Sync,
    D: AlertDedup + Sync,
    I: FindingsImport + Sync,
    O: OpenFindings + Sync,
{
    let mut outcome = BatchOutcome::default();
    let mut groups: BTreeMap<String, Vec<(String, Trigger)>> = BTreeMap::new();
    for message in messages {
        match parse_trigger_bytes(message.body.as_bytes()) {
            Ok(trigger) => groups
                .entry(group_key(&trigger))
                .or_default()
                .push((message.message_id, trigger)),
            Err(e) => {
                // Retried, then kept by the dead-letter queue (and its alarm): never dropped.
                error!(message_id = %message.message_id, error = %e, "not an event this function checks");
                outcome.failed.push(message.message_id);
            }
        }
    }
    // The bulk reads keep what the alerts need, as the checks do.
    let reads_until = deadline.map(|d| d.checked_sub(alert_reserve()).unwrap_or(d));
    let triggers: Vec<&Trigger> = groups.values().flatten().map(|(_, t)| t).collect();
    read_ahead(&triggers, checker.source, reads_until).await;
    let checked = join_all(
        groups
            .into_values()
            .map(|members| check_group(members, checker, deadline)),
    )
    .await;
    let mut evaluated = Vec::new();
    for (message_id, result) in checked.into_iter().flatten() {
        match result {
            Ok(e) => evaluated.push((message_id, e)),
            Err(e) => {
                warn!(%message_id, error = %e, "check failed: the message goes back to the queue");
                outcome.failed.push(message_id);
            }
        }
    }
    let (delivered, failed) = deliver_once_per_key(evaluated, checker).await;
    outcome.failed.extend(failed);
    for (_, report) in &delivered {
        checker.record(report, deadline).await;
    }
    outcome.reports = delivered;
    outcome
}

/// The first member of a group is checked alone; the others then find the group's facts in
/// the cache (each reads only its own, already primed, ENI).
async fn check_group<S, P, D, I, O>(
    members: Vec<(String, Trigger)>,
    checker: &Checker<'_, S, P, D, I, O>,
    deadline: Option<Instant>,
) -> Vec<(String, Result<Evaluated, CheckError>)>
where
    S: ReaderSource,
    P: AlertPublish + Sync,
    D: AlertDedup + Sync,
    I: FindingsImport + Sync,
    O: OpenFindings + Sync,
{
    let mut members = members.into_iter();
    let Some((first_id, first)) = members.next() else {
        return Vec::new();
    };
    let first_result = checker.evaluate(&first, deadline).await;
    let rest: Vec<(String, Trigger)> = members.collect();
    let rest_results = join_all(
        rest.iter()
            .map(|(_, trigger)| checker.evaluate(trigger, deadline)),
    )
    .await;
    std::iter::once((first_id, first_result))
        .chain(rest.into_iter().map(|(id, _)| id).zip(rest_results))
        .collect()
}

/// One scope's reads ahead: the ENI ids, the task definitions, and each EC2 task's (cluster,
/// service, container instance).
#[derive(Default)]
struct BulkReads {
    enis: Vec<String>,
    task_definitions: BTreeSet<String>,
    hosted: BTreeSet<(String, Option<String>, String)>,
}

/// Reads the batch's running tasks' ENIs and container hosts in bulk, per account and region,
/// so the checks find them primed. A host is read only for a task whose service has no load
/// balancer (the one case in which a rule needs it), so the services are read first (the checks
/// then find them cached). Best effort: a failure here leaves each check to read its own (and
/// to fail on its own).
async fn read_ahead<S: ReaderSource>(triggers: &[&Trigger], source: &S, until: Option<Instant>) {
    let now = OffsetDateTime::now_utc();
    let mut by_scope: HashMap<_, BulkReads> = HashMap::new();
    for trigger in triggers {
        let Trigger::RunningTask(event) = trigger else {
            continue;
        };
        if verdict_before_reading(event, now).is_some() {
            continue;
        }
        let reads = by_scope.entry(event.scope()).or_default();
        if let Some(attachment) = event.task.eni_attachment() {
            reads.enis.push(attachment.network_interface_id);
        }
        reads
            .task_definitions
            .extend(event.task.task_definition_arn.clone());
        if let Some(instance) = event.task.container_instance_arn.as_ref() {
            let service = event.task.service_name().map(str::to_string);
            reads
                .hosted
                .insert((cluster(event).to_string(), service, instance.clone()));
        }
    }
    let reads = by_scope.into_iter().map(|(scope, reads)| async move {
        let Ok(reader) = source.reader_for(&scope).await else {
            return; // the checks report the refusal
        };
        let reader = reader.as_ref();
        let eni_reads = join_all(
            reads
                .enis
                .chunks(ENI_BATCH)
                .map(|chunk| reader.network_interfaces(chunk)),
        );
        // Task definitions (cached for good) and services now, so that each check's wave 1 is
        // answered by the cache at once and never starts a host read it does not need.
        let task_definitions = join_all(
            reads
                .task_definitions
                .iter()
                .map(|arn| reader.task_definition(arn)),
        );
        let (enis, hosts, _) = futures_util::future::join3(
            eni_reads,
            read_hosts(&reads.hosted, reader),
            task_definitions,
        )
        .await;
        for e in enis.into_iter().filter_map(Result::err) {
            warn!(error = %e, "bulk ENI read failed: each check reads its own");
        }
        for e in hosts.into_iter().filter_map(Result::err) {
            warn!(error = %e, "bulk container-host read failed: each check reads its own");
        }
    });
    let all = join_all(reads);
    match until {
        Some(until) => {
            let left = until.saturating_duration_since(Instant::now());
            let _ = tokio::time::timeout(left, all).await;
        }
        None => {
            all.await;
        }
    }
}

/// The services of `hosted` (cached for the checks), then, per cluster, the hosts of the tasks
/// whose service has no load balancer, in bulk.
async fn read_hosts<R: EcsReader>(
    hosted: &BTreeSet<(String, Option<String>, String)>,
    reader: &R,
) -> Vec<Result<Vec<(String, Host)>, ReadError>> {
    let services: BTreeSet<(&str, &str)> = hosted
        .iter()
        .filter_map(|(cluster, service, _)| Some((cluster.as_str(), service.as_deref()?)))
        .collect();
    let read = join_all(
        services
            .iter()
            .map(|(cluster, name)| reader.service(cluster, name)),
    )
    .await;
    let fronted: BTreeSet<(&str, &str)> = services
        .iter()
        .zip(read)
        .filter(|(_, service)| matches!(service, Ok(Some(s)) if !s.load_balancers.is_empty()))
        .map(|(key, _)| *key)
        .collect();
    let mut by_cluster: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (cluster, service, instance) in hosted {
        let behind_lb = service
            .as_deref()
            .is_some_and(|name| fronted.contains(&(cluster.as_str(), name)));
        let instances = by_cluster.entry(cluster).or_default();
        if !behind_lb && !instances.contains(instance) {
            instances.push(instance.clone());
        }
    }
    join_all(
        by_cluster
            .iter()
            .filter(|(_, arns)| !arns.is_empty())
            .map(|(cluster, arns)| reader.container_hosts(cluster, arns)),
    )
    .await
}

/// Publishes one alert per dedup key: the first report of a key is delivered, the others
/// are marked deduplicated. A key whose alert could not be published fails all its messages.
async fn deliver_once_per_key<S, P, D, I, O>(
    evaluated: Vec<(String, Evaluated)>,
    checker: &Checker<'_, S, P, D, I, O>,
) -> (Vec<(String, CheckReport)>, Vec<String>)
where
    S: ReaderSource,
    P: AlertPublish + Sync,
    D: AlertDedup + Sync,
    I: FindingsImport + Sync,
    O: OpenFindings + Sync,
{
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    if let Some(alerting) = &checker.alerting {
        for (i, (_, e)) in evaluated.iter().enumerate() {
            if e.alertable && alert_at(&e.evaluation, alerting.min_severity).is_some() {
                let key = dedup_key(&e.evaluation, alerting.min_severity);
                by_key.entry(key).or_default().push(i);
            }
        }
    }
    let delivered = join_all(
        by_key
            .values()
            .map(|members| checker.deliver(evaluated[members[0]].1.clone())),
    )
    .await;
    let mut reports: Vec<(String, CheckReport)> = evaluated
        .into_iter()
        .map(|(id, e)| (id, CheckReport::unsent(e.evaluation)))
        .collect();
    let mut failed_at = BTreeSet::new();
    for ((key, members), result) in by_key.iter().zip(delivered) {
        match result {
            Ok(report) => {
                let deduplicated = report.alert.deduplicated;
                reports[members[0]].1 = report;
                for &i in &members[1..] {
                    reports[i].1.alert.dedup_key = Some(key.clone());
                    reports[i].1.alert.deduplicated = true;
                }
                info!(dedup_key = %key, tasks = members.len(), deduplicated, "one alert for the batch's key");
            }
            Err(e) => {
                error!(dedup_key = %key, error = %e, "alert not published: its messages go back to the queue");
                failed_at.extend(members.iter().copied());
            }
        }
    }
    let (failed, kept): (Vec<_>, Vec<_>) = reports
        .into_iter()
        .enumerate()
        .partition(|(i, _)| failed_at.contains(i));
    (
        kept.into_iter().map(|(_, r)| r).collect(),
        failed.into_iter().map(|(_, (id, _))| id).collect(),
    )
}

/// How long a `Duplicate` answer is remembered: no longer than another environment's
/// IN_PROGRESS claim lives, and far shorter than the queue's visibility timeout (200 s), so a
/// message handed back after a failed publish elsewhere finds the claim free again.
pub const DUPLICATE_MEMORY: Duration = IN_PROGRESS_EXPIRY;

/// A dedup store with a memory: a key this execution environment completed is answered
/// `Duplicate` without a call for as long as the store keeps it, and a `Duplicate` answer for
/// [`DUPLICATE_MEMORY`], so the batches of one deploy claim their key about once per
/// environment, not once per batch.
#[derive(Debug)]
pub struct RememberingDedup<D> {
    inner: D,
    keep_for: Duration,
    /// Key → until when it is answered `Duplicate` without a call.
    remembered: Mutex<HashMap<String, Instant>>,
}

impl<D> RememberingDedup<D> {
    /// `inner`, remembering completed keys for `keep_for` (the store's dedup window).
    pub fn new(inner: D, keep_for: Duration) -> Self {
        RememberingDedup {
            inner,
            keep_for,
            remembered: Mutex::new(HashMap::new()),
        }
    }

    fn remembers(&self, key: &str) -> bool {
        let remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        remembered
            .get(key)
            .is_some_and(|until| Instant::now() < *until)
    }

    fn remember(&self, key: &str, for_: Duration) {
        let now = Instant::now();
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        remembered.retain(|_, until| now < *until);
        remembered.insert(key.to_string(), now + for_);
    }
}

impl<D: AlertDedup + Sync> AlertDedup for RememberingDedup<D> {
    async fn claim(&self, key: &str) -> Result<Claim, DedupError> {
        if self.remembers(key) {
            return Ok(Claim::Duplicate);
        }
        let claim = self.inner.claim(key).await?;
        if claim == Claim::Duplicate {
            self.remember(key, DUPLICATE_MEMORY);
        }
        Ok(claim)
    }

    async fn complete(&self, key: &str) -> Result<(), DedupError> {
        self.inner.complete(key).await?;
        self.remember(key, self.keep_for);
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), DedupError> {
        self.inner.release(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store whose claims all answer `answer`, counting the calls.
    struct Store {
        answer: Claim,
        claims: AtomicUsize,
    }

    impl AlertDedup for Store {
        async fn claim(&self, _: &str) -> Result<Claim, DedupError> {
            self.claims.fetch_add(1, Ordering::SeqCst);
            Ok(self.answer)
        }
        async fn complete(&self, _: &str) -> Result<(), DedupError> {
            Ok(())
        }
        async fn release(&self, _: &str) -> Result<(), DedupError> {
            Ok(())
        }
    }

    fn store(answer: Claim) -> RememberingDedup<Store> {
        let inner = Store {
            answer,
            claims: AtomicUsize::new(0),
        };
        RememberingDedup::new(inner, Duration::from_secs(86_400))
    }

    /// The seed task's event (`fixture::running_event`) as EventBridge sends it.
    fn seed_body(task: u32) -> String {
        serde_json::json!({
            "version": "0", "id": format!("ev-{task}"), "detail-type": "ECS Task State Change",
            "source": "aws.ecs", "account": "123456789012", "region": "us-east-1",
            "resources": [format!("arn:task/prod/{task}")],
            "detail": {
                "taskArn": format!("arn:task/prod/{task}"), "clusterArn": "arn:cluster/prod",
                "taskDefinitionArn": "arn:td", "group": "service:web", "startedBy": "ecs-svc/1",
                "launchType": "EC2", "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                "containerInstanceArn": crate::domain::rules::fixture::CONTAINER_INSTANCE,
                "attachments": [{"type": "eni", "details": [
                    {"name": "networkInterfaceId", "value": "eni-1"},
                    {"name": "subnetId", "value": "subnet-task"},
                    {"name": "privateIPv4Address", "value": "10.0.3.7"}]}]
            }
        })
        .to_string()
    }

    static CHECKED: AtomicUsize = AtomicUsize::new(0);

    #[tokio::test]
    async fn a_batch_through_the_use_case_alerts_once_and_hands_back_only_the_poison() {
        use crate::app::check::tests::checker;
        use crate::app::check::Alerting;
        use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
        use crate::facts::fake::{FakeAws, FakeDedup, FakePublisher, FakeSource};

        let source = FakeSource::new(FakeAws::from_facts(
            &fixture::seed(),
            CONTAINER_INSTANCE,
            "10.0.3.7",
        ));
        let (publisher, dedup) = (FakePublisher::default(), FakeDedup::default());
        let mut checker = checker(
            &source,
            Alerting {
                publisher: &publisher,
                dedup: Some(&dedup),
                min_severity: crate::domain::verdict::Severity::High,
            },
        );
        checker.on_checked = |_, _| {
            CHECKED.fetch_add(1, Ordering::SeqCst);
        };
        let mut messages: Vec<QueuedEvent> = (1..=3)
            .map(|task| QueuedEvent {
                message_id: format!("m{task}"),
                body: seed_body(task),
            })
            .collect();
        messages.push(QueuedEvent {
            message_id: "poison".into(),
            body: "not an event".into(),
        });
        let outcome = run_batch(messages, &checker, None).await;
        assert_eq!(outcome.failed, ["poison"]);
        assert_eq!(outcome.reports.len(), 3);
        assert_eq!(
            publisher.published.lock().unwrap().len(),
            1,
            "one alert a deploy"
        );
        let deduplicated = outcome
            .reports
            .iter()
            .filter(|(_, r)| r.alert.deduplicated)
            .count();
        assert_eq!(deduplicated, 2);
        assert_eq!(
            CHECKED.load(Ordering::SeqCst),
            3,
            "each report recorded once"
        );
        let calls = source.reader.inner().calls();
        let count = |api: &str| calls.iter().filter(|c| **c == api).count();
        assert_eq!(count("ecs:DescribeServices"), 1, "{calls:?}");
        assert_eq!(count("ecs:DescribeTaskDefinition"), 1, "{calls:?}");
    }

    #[tokio::test]
    async fn a_completed_or_duplicate_key_is_not_claimed_again_a_released_one_is() {
        let completed = store(Claim::Acquired);
        assert_eq!(completed.claim("k").await, Ok(Claim::Acquired));
        completed.complete("k").await.unwrap();
        assert_eq!(completed.claim("k").await, Ok(Claim::Duplicate));
        assert_eq!(completed.inner.claims.load(Ordering::SeqCst), 1);

        let elsewhere = store(Claim::Duplicate);
        for _ in 0..3 {
            assert_eq!(elsewhere.claim("k").await, Ok(Claim::Duplicate));
        }
        assert_eq!(elsewhere.inner.claims.load(Ordering::SeqCst), 1);

        let released = store(Claim::Acquired);
        released.claim("k").await.unwrap();
        released.release("k").await.unwrap();
        released.claim("k").await.unwrap();
        assert_eq!(
            released.inner.claims.load(Ordering::SeqCst),
            2,
            "a failed publish is retried"
        );
        assert!(
            DUPLICATE_MEMORY < Duration::from_secs(200),
            "shorter than the visibility timeout"
        );
    }
}
