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
use futures_util::{stream, StreamExt};
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::adapters::dynamodb::IN_PROGRESS_EXPIRY;
use crate::app::check::CheckError;
use crate::app::checker::{alert_reserve, Checker, Evaluated};
use crate::domain::delivery::{dedup_key, CheckReport};
use crate::domain::evaluation::verdict_before_reading;
use crate::domain::event::{parse_trigger_bytes, TaskEvent, Trigger};
use crate::domain::queue::{group_key, QueuedEvent};
use crate::ports::{
    AlertDedup, AlertPublish, Claim, DedupError, Ec2Reader, EcsReader, FindingsImport,
    OpenFindings, ReaderSource, ENI_BATCH,
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

/// Groups checked at once in a batch.
const GROUPS_AT_ONCE: usize = 4;

/// A group started with less time than this left is handed back untouched.
const GROUP_START_MARGIN: Duration = Duration::from_secs(5);

/// A batch through the check use case: the bulk reads, the groups, one alert per key.
impl<S, P, D, I, O> Checker<'_, S, P, D, I, O>
where
    S: ReaderSource,
    P: AlertPublish + Sync,
    D: AlertDedup + Sync,
    I: FindingsImport + Sync,
    O: OpenFindings + Sync,
{
    /// Checks a batch: one alert per dedup key, then each report's export and
    /// metrics.
    pub async fn run_batch(
        &self,
        messages: Vec<QueuedEvent>,
        deadline: Option<Instant>,
    ) -> BatchOutcome {
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
        read_ahead(&triggers, self.source, reads_until).await;
        // A few groups at a time, each to its end: when the API budget cannot serve the whole
        // batch in time (many services, each reading its own facts), the groups done are done and
        // only the ones not started go back to the queue, so every batch makes progress.
        let checked: Vec<_> = stream::iter(groups.into_values())
            .map(|members| self.check_group_in_time(members, deadline))
            .buffer_unordered(GROUPS_AT_ONCE)
            .collect()
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
        let (delivered, failed) = self.deliver_once_per_key(evaluated).await;
        outcome.failed.extend(failed);
        for (_, report) in &delivered {
            self.record(report, deadline).await;
        }
        outcome.reports = delivered;
        outcome
    }

    /// A group, when there is time to start it; else all its messages fail (back to the queue).
    async fn check_group_in_time(
        &self,
        members: Vec<(String, Trigger)>,
        deadline: Option<Instant>,
    ) -> Vec<(String, Result<Evaluated, CheckError>)> {
        let start_by = deadline.map(|d| {
            d.checked_sub(alert_reserve() + GROUP_START_MARGIN)
                .unwrap_or(d)
        });
        if start_by.is_some_and(|t| Instant::now() >= t) {
            return members
                .into_iter()
                .map(|(id, _)| (id, Err(CheckError::NotStarted)))
                .collect();
        }
        self.check_group(members, deadline).await
    }

    /// The first member of a group is checked alone; the others then find the group's facts in
    /// the cache (each reads only its own, already primed, ENI).
    async fn check_group(
        &self,
        members: Vec<(String, Trigger)>,
        deadline: Option<Instant>,
    ) -> Vec<(String, Result<Evaluated, CheckError>)> {
        prime_hosts(&members, self.source).await;
        let mut members = members.into_iter();
        let Some((first_id, first)) = members.next() else {
            return Vec::new();
        };
        let first_result = self.evaluate(&first, deadline).await;
        let rest: Vec<(String, Trigger)> = members.collect();
        let rest_results = join_all(
            rest.iter()
                .map(|(_, trigger)| self.evaluate(trigger, deadline)),
        )
        .await;
        std::iter::once((first_id, first_result))
            .chain(rest.into_iter().map(|(id, _)| id).zip(rest_results))
            .collect()
    }

    /// Publishes one alert per dedup key: the first report of a key is delivered, the others
    /// are marked deduplicated. A key whose alert could not be published fails all its messages.
    async fn deliver_once_per_key(
        &self,
        evaluated: Vec<(String, Evaluated)>,
    ) -> (Vec<(String, CheckReport)>, Vec<String>) {
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        if let Some(alerting) = &self.alerting {
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
                .map(|members| self.deliver(evaluated[members[0]].1.clone())),
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
}

/// The hosts of a group's tasks, in bulk (a small cluster's all at once), when a rule needs
/// them: the group's service is read first (its checks then find it cached) and has no load
/// balancer. Best effort: each check reads what is missing.
async fn prime_hosts<S: ReaderSource>(members: &[(String, Trigger)], source: &S) {
    let now = OffsetDateTime::now_utc();
    let running: Vec<&TaskEvent> = members
        .iter()
        .filter_map(|(_, trigger)| match trigger {
            Trigger::RunningTask(event) if verdict_before_reading(event, now).is_none() => {
                Some(event.as_ref())
            }
            _ => None,
        })
        .collect();
    let Some(first) = running.first() else {
        return;
    };
    let mut instances: Vec<String> = running
        .iter()
        .filter_map(|e| e.task.container_instance_arn.clone())
        .collect();
    instances.sort();
    instances.dedup();
    if instances.is_empty() {
        return;
    }
    let Ok(reader) = source.reader_for(&first.scope()).await else {
        return;
    };
    let cluster = first.task.cluster_arn.as_deref().unwrap_or("default");
    if let Some(name) = first.task.service_name() {
        match reader.service(cluster, name).await {
            Ok(Some(service)) if service.load_balancers.is_empty() => {}
            Ok(None) => {}
            _ => return, // behind a load balancer, or unreadable: the checks decide
        }
    }
    if let Err(e) = reader.container_hosts(cluster, &instances).await {
        warn!(error = %e, "bulk container-host read failed: each check reads its own");
    }
}

/// Reads the batch's running tasks' ENIs in bulk (200 a call), per account and region, so the
/// checks find them primed. Best effort: a failure here leaves each check to read its own (and
/// to fail on its own). Everything else a group shares is read by its first check and cached;
/// a host only when a rule needs it, a small cluster's all at once.
async fn read_ahead<S: ReaderSource>(triggers: &[&Trigger], source: &S, until: Option<Instant>) {
    let now = OffsetDateTime::now_utc();
    let mut by_scope: HashMap<_, Vec<String>> = HashMap::new();
    for trigger in triggers {
        let Trigger::RunningTask(event) = trigger else {
            continue;
        };
        if verdict_before_reading(event, now).is_some() {
            continue;
        }
        if let Some(attachment) = event.task.eni_attachment() {
            by_scope
                .entry(event.scope())
                .or_default()
                .push(attachment.network_interface_id);
        }
    }
    let reads = by_scope.into_iter().map(|(scope, enis)| async move {
        let Ok(reader) = source.reader_for(&scope).await else {
            return; // the checks report the refusal
        };
        let reads = enis
            .chunks(ENI_BATCH)
            .map(|chunk| reader.network_interfaces(chunk));
        for e in join_all(reads).await.into_iter().filter_map(Result::err) {
            warn!(error = %e, "bulk ENI read failed: each check reads its own");
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

    /// The store it remembers for.
    pub fn inner(&self) -> &D {
        &self.inner
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
        let outcome = checker.run_batch(messages, None).await;
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
        assert_eq!(
            count(crate::domain::api::ECS_DESCRIBE_SERVICES),
            1,
            "{calls:?}"
        );
        assert_eq!(
            count(crate::domain::api::ECS_DESCRIBE_TASK_DEFINITION),
            1,
            "{calls:?}"
        );
    }

    #[tokio::test]
    async fn groups_without_time_to_start_go_back_to_the_queue_untouched() {
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
        let checker = checker(
            &source,
            Alerting {
                publisher: &publisher,
                dedup: Some(&dedup),
                min_severity: crate::domain::verdict::Severity::High,
            },
        );
        let messages = (1..=2)
            .map(|task| QueuedEvent {
                message_id: format!("m{task}"),
                body: seed_body(task),
            })
            .collect();
        // Less time left than the alert's reserve and the start margin.
        let deadline = Instant::now() + Duration::from_secs(1);
        let outcome = checker.run_batch(messages, Some(deadline)).await;
        assert_eq!(outcome.failed, ["m1", "m2"]);
        assert!(outcome.reports.is_empty());
        let calls = source.reader.inner().calls();
        assert!(
            calls
                .iter()
                .all(|c| c.starts_with(crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES)),
            "no check started: {calls:?}"
        );
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
