//! AWS Config custom-rule mode (pure part): the invocation, and the mapping of task
//! evaluations to one verdict per `AWS::ECS::Service` in Config's vocabulary (which has no
//! INSUFFICIENT_DATA: that becomes NOT_APPLICABLE with the reason in the annotation).

use aws_lambda_events::event::config::ConfigEvent;
use serde::Serialize;
use serde_json::Value;

use super::evaluation::{Evaluation, MAX_ANNOTATION_CHARS};
use super::event::InputError;
use super::org::{name_of, service_arn, Arn};
use super::text::truncate_chars;
use super::verdict::Status;

/// The Config resource type this rule evaluates.
pub const SERVICE_RESOURCE_TYPE: &str = "AWS::ECS::Service";
/// PutEvaluations takes at most this many evaluations a call.
pub const PUT_EVALUATIONS_BATCH: usize = 100;

/// A service named by a configuration item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceItem {
    /// Config's resource type.
    pub resource_type: String,
    /// Config's resource id (reported back as is).
    pub resource_id: String,
    /// Cluster name or ARN.
    pub cluster: Option<String>,
    /// Service name.
    pub service: Option<String>,
    /// When Config captured the item (the evaluation's ordering timestamp).
    pub capture_time: Option<String>,
    /// `configurationItemStatus`, e.g. `OK`, `ResourceDeleted`.
    pub status: Option<String>,
}

impl ServiceItem {
    /// Whether the item describes a resource that is gone or not recorded: NOT_APPLICABLE
    /// without reading AWS.
    pub fn is_gone(&self) -> bool {
        matches!(
            self.status.as_deref(),
            Some("ResourceDeleted" | "ResourceNotRecorded" | "ResourceDeletedNotRecorded")
        )
    }
}

/// The key a fan-out work item's payload carries (how the function tells it from an event).
pub const WORK_ITEM_KEY: &str = "ecsInboundGuardConfigWork";
/// Services per work item: a worker lists its cluster's tasks once and evaluates these.
pub const SERVICES_PER_WORK_ITEM: usize = 25;

/// A share of a scheduled Config scan: some services of one cluster, evaluated by one async
/// invocation of the function, which reports them with the scan's result token.
#[derive(Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItem {
    /// Cluster ARN.
    pub cluster: String,
    /// Service names of that cluster.
    pub services: Vec<String>,
    /// PutEvaluations' token (a credential of sorts: never logged).
    pub result_token: String,
    /// The notification time (the evaluations' ordering timestamp).
    pub time: Option<String>,
}

impl WorkItem {
    /// Whether the item is this function's own: its cluster in the account and region of
    /// `function_arn` (the invoked function). A work item naming another account's or region's
    /// cluster (forged, or simply wrong) would report that cluster's services to Config.
    pub fn belongs_to(&self, function_arn: &str) -> Result<(), String> {
        let own = Arn::parse(function_arn);
        let cluster = Arn::parse(&self.cluster);
        let (Some(own), Some(cluster)) = (own, cluster) else {
            return Err(format!(
                "work item cluster {} is not a cluster ARN of this function's account",
                self.cluster
            ));
        };
        let same = own.account_id().is_some()
            && own.account_id() == cluster.account_id()
            && own.region_name() == cluster.region_name()
            && own.partition == cluster.partition;
        if same {
            Ok(())
        } else {
            Err(format!(
                "work item cluster {} is not in this function's account and region",
                self.cluster
            ))
        }
    }
}

/// Redacts the result token: work items are logged, the token never is.
impl std::fmt::Debug for WorkItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkItem")
            .field("cluster", &self.cluster)
            .field("services", &self.services)
            .field("result_token", &"<redacted>")
            .field("time", &self.time)
            .finish()
    }
}

/// The work items of a scheduled scan: each cluster's services in shares of `per_item`.
pub fn plan_work(
    clusters: &[(String, Vec<String>)],
    result_token: &str,
    time: Option<&str>,
    per_item: usize,
) -> Vec<WorkItem> {
    clusters
        .iter()
        .flat_map(|(cluster, services)| {
            services.chunks(per_item.max(1)).map(move |chunk| WorkItem {
                cluster: cluster.clone(),
                services: chunk.to_vec(),
                result_token: result_token.to_string(),
                time: time.map(str::to_string),
            })
        })
        .collect()
}

/// The work item a payload carries, if it is one.
pub fn work_item(value: &Value) -> Option<Result<WorkItem, InputError>> {
    let item = value.get(WORK_ITEM_KEY)?;
    Some(
        serde_json::from_value(item.clone())
            .map_err(|e| InputError::MalformedTaskEvent(format!("malformed work item: {e}"))),
    )
}

/// The payload that carries `item`.
pub fn work_payload(item: &WorkItem) -> Value {
    serde_json::json!({ WORK_ITEM_KEY: item })
}

/// The Config item of a service of a scheduled scan.
pub fn scheduled_item(cluster_arn: &str, service: &str, time: Option<&str>) -> ServiceItem {
    ServiceItem {
        resource_type: SERVICE_RESOURCE_TYPE.into(),
        resource_id: service_arn(cluster_arn, service),
        cluster: Some(name_of(cluster_arn).to_string()),
        service: Some(service.to_string()),
        capture_time: time.map(str::to_string),
        status: None,
    }
}

/// What Config asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigRequest {
    /// A configuration change (or its oversized summary) of one resource.
    Change(ServiceItem),
    /// Periodic: evaluate every service of every cluster.
    Scheduled {
        /// The notification time (ordering timestamp).
        time: Option<String>,
    },
    /// A message the rule does not evaluate (e.g. `ConfigurationSnapshotDeliveryCompleted`):
    /// acknowledged, nothing reported.
    Ignored {
        /// Its `messageType`.
        message_type: String,
    },
}

/// A parsed Config rule invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigInvocation {
    /// The token PutEvaluations needs.
    pub result_token: String,
    /// The resource left the rule's scope: report NOT_APPLICABLE.
    pub event_left_scope: bool,
    /// What to evaluate.
    pub request: ConfigRequest,
}

/// One evaluation as PutEvaluations takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigEvaluation {
    /// `AWS::ECS::Service`.
    pub compliance_resource_type: String,
    /// Config's resource id.
    pub compliance_resource_id: String,
    /// COMPLIANT, NON_COMPLIANT or NOT_APPLICABLE.
    pub compliance_type: &'static str,
    /// At most 256 characters.
    pub annotation: String,
    /// RFC 3339.
    pub ordering_timestamp: String,
}

/// Whether a Lambda payload is a Config rule invocation.
pub fn is_config_invocation(value: &Value) -> bool {
    value.get("invokingEvent").is_some() && value.get("resultToken").is_some()
}

fn item_from(ci: &Value) -> ServiceItem {
    let s = |v: &Value| v.as_str().map(str::to_string);
    let configuration = &ci["configuration"];
    let arn = s(&ci["ARN"])
        .or_else(|| s(&ci["arn"]))
        .or_else(|| s(&configuration["ServiceArn"]));
    // Service ARN: arn:aws:ecs:region:account:service/cluster/name
    let from_arn = arn
        .as_deref()
        .and_then(|a| a.split_once(":service/"))
        .map(|(_, rest)| rest.to_string());
    let (arn_cluster, arn_service) = match from_arn.as_deref().and_then(|r| r.split_once('/')) {
        Some((c, n)) => (Some(c.to_string()), Some(n.to_string())),
        None => (None, from_arn.clone()),
    };
    ServiceItem {
        resource_type: s(&ci["resourceType"]).unwrap_or_default(),
        resource_id: s(&ci["resourceId"]).or(arn.clone()).unwrap_or_default(),
        // The old short service ARN (`service/NAME`) names no cluster: the item's fields do.
        cluster: s(&configuration["Cluster"])
            .or_else(|| s(&configuration["ClusterName"]))
            .or_else(|| s(&ci["Cluster"]))
            .or_else(|| s(&ci["ClusterName"]))
            .or(arn_cluster),
        service: s(&configuration["ServiceName"])
            .or(s(&ci["resourceName"]))
            .or(arn_service),
        capture_time: s(&ci["configurationItemCaptureTime"]),
        status: s(&ci["configurationItemStatus"]),
    }
}

/// Parses a Config rule invocation (`invokingEvent` is a JSON string).
pub fn parse_config_invocation(value: Value) -> Result<ConfigInvocation, InputError> {
    let event: ConfigEvent = serde_json::from_value(value)
        .map_err(|e| InputError::NotEventBridge(format!("not a Config rule invocation: {e}")))?;
    let result_token = event.result_token.ok_or_else(|| {
        InputError::MalformedTaskEvent("Config invocation without resultToken".into())
    })?;
    let invoking: Value = serde_json::from_str(event.invoking_event.as_deref().unwrap_or(""))
        .map_err(|e| InputError::MalformedTaskEvent(format!("invokingEvent is not JSON: {e}")))?;
    let message_type = invoking["messageType"].as_str().unwrap_or_default();
    let request = match message_type {
        "ScheduledNotification" => ConfigRequest::Scheduled {
            time: invoking["notificationCreationTime"]
                .as_str()
                .map(str::to_string),
        },
        "ConfigurationItemChangeNotification" => {
            ConfigRequest::Change(item_from(&invoking["configurationItem"]))
        }
        "OversizedConfigurationItemChangeNotification" => {
            ConfigRequest::Change(item_from(&invoking["configurationItemSummary"]))
        }
        other => ConfigRequest::Ignored {
            message_type: truncate_chars(other, 80),
        },
    };
    Ok(ConfigInvocation {
        result_token,
        event_left_scope: event.event_left_scope,
        request,
    })
}

fn annotation(text: &str) -> String {
    truncate_chars(text, MAX_ANNOTATION_CHARS)
}

/// The service's verdict from its running tasks' evaluations (worst wins; INSUFFICIENT_DATA
/// becomes NOT_APPLICABLE with the reason, since Config does not accept it).
pub fn service_evaluation(item: &ServiceItem, tasks: &[Evaluation], now: &str) -> ConfigEvaluation {
    let worst = tasks
        .iter()
        .fold(Status::NotApplicable, |acc, e| acc.and(e.compliance));
    let explaining = tasks.iter().find(|e| e.compliance == worst);
    let (compliance_type, text) = match (worst, explaining) {
        (_, None) => ("NOT_APPLICABLE", "no running tasks to evaluate".to_string()),
        (Status::NonCompliant, Some(e)) => ("NON_COMPLIANT", e.annotation.clone()),
        (Status::Compliant, Some(e)) => ("COMPLIANT", e.annotation.clone()),
        (Status::InsufficientData, Some(e)) => (
            "NOT_APPLICABLE",
            format!("INSUFFICIENT_DATA: {}", e.annotation),
        ),
        (Status::NotApplicable, Some(e)) => ("NOT_APPLICABLE", e.annotation.clone()),
    };
    ConfigEvaluation {
        compliance_resource_type: SERVICE_RESOURCE_TYPE.into(),
        compliance_resource_id: item.resource_id.clone(),
        compliance_type,
        annotation: annotation(&text),
        ordering_timestamp: item.capture_time.clone().unwrap_or_else(|| now.to_string()),
    }
}

/// NOT_APPLICABLE for an item out of scope (another type, or `eventLeftScope`).
pub fn not_applicable(item: &ServiceItem, reason: &str, now: &str) -> ConfigEvaluation {
    ConfigEvaluation {
        compliance_resource_type: if item.resource_type.is_empty() {
            SERVICE_RESOURCE_TYPE.into()
        } else {
            item.resource_type.clone()
        },
        compliance_resource_id: item.resource_id.clone(),
        compliance_type: "NOT_APPLICABLE",
        annotation: annotation(reason),
        ordering_timestamp: item.capture_time.clone().unwrap_or_else(|| now.to_string()),
    }
}

#[cfg(test)]
mod work_tests {
    use super::*;

    #[test]
    fn a_scan_is_cut_into_shares_of_one_cluster_and_the_token_is_never_printed() {
        let services = |n: usize| (0..n).map(|i| format!("svc-{i}")).collect::<Vec<_>>();
        let clusters = vec![
            (
                "arn:aws:ecs:us-east-1:1:cluster/a".to_string(),
                services(60),
            ),
            ("arn:aws:ecs:us-east-1:1:cluster/b".to_string(), services(3)),
            ("arn:aws:ecs:us-east-1:1:cluster/empty".to_string(), vec![]),
        ];
        let items = plan_work(&clusters, "SECRET-TOKEN", Some("t"), 25);
        let sizes: Vec<usize> = items.iter().map(|i| i.services.len()).collect();
        assert_eq!(sizes, [25, 25, 10, 3]);
        assert!(items.iter().all(|i| i.result_token == "SECRET-TOKEN"));
        assert!(!format!("{items:?}").contains("SECRET-TOKEN"));
        let payload = work_payload(&items[3]);
        assert_eq!(work_item(&payload).unwrap().unwrap(), items[3]);
        assert!(work_item(&serde_json::json!({"detail": {}})).is_none());
        assert!(work_item(&serde_json::json!({WORK_ITEM_KEY: 1}))
            .unwrap()
            .is_err());
        let item = scheduled_item("arn:aws:ecs:us-east-1:1:cluster/a", "web", Some("t"));
        assert_eq!(item.resource_id, "arn:aws:ecs:us-east-1:1:service/a/web");
        assert_eq!(item.cluster.as_deref(), Some("a"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invocation(message: Value, left: bool) -> Value {
        json!({"invokingEvent": message.to_string(), "ruleParameters": "{}", "resultToken": "tok",
               "eventLeftScope": left, "configRuleName": "ecs-inbound-guard", "accountId": "123456789012", "version": "1.0"})
    }

    #[test]
    fn parses_change_oversized_and_scheduled() {
        let ci = json!({"resourceType": "AWS::ECS::Service", "resourceId": "arn:aws:ecs:us-east-1:1:service/prod/web",
            "ARN": "arn:aws:ecs:us-east-1:1:service/prod/web", "configurationItemCaptureTime": "2025-01-01T00:00:00.000Z",
            "configuration": {"Cluster": "arn:aws:ecs:us-east-1:1:cluster/prod", "ServiceName": "web"}});
        let inv = parse_config_invocation(invocation(
            json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": ci}),
            false,
        ))
        .unwrap();
        let ConfigRequest::Change(item) = inv.request else {
            panic!()
        };
        assert_eq!(item.service.as_deref(), Some("web"));
        assert_eq!(
            item.cluster.as_deref(),
            Some("arn:aws:ecs:us-east-1:1:cluster/prod")
        );
        assert_eq!(inv.result_token, "tok");
        let summary = json!({"resourceType": "AWS::ECS::Service", "resourceId": "r", "ARN": "arn:aws:ecs:us-east-1:1:service/prod/api"});
        let inv = parse_config_invocation(invocation(json!({"messageType": "OversizedConfigurationItemChangeNotification", "configurationItemSummary": summary}), true)).unwrap();
        assert!(inv.event_left_scope);
        let ConfigRequest::Change(item) = inv.request else {
            panic!()
        };
        assert_eq!(
            (item.cluster.as_deref(), item.service.as_deref()),
            (Some("prod"), Some("api")),
            "from the ARN"
        );
        let inv = parse_config_invocation(invocation(
            json!({"messageType": "ScheduledNotification", "notificationCreationTime": "t"}),
            false,
        ))
        .unwrap();
        assert_eq!(
            inv.request,
            ConfigRequest::Scheduled {
                time: Some("t".into())
            }
        );
        for message_type in ["ConfigurationSnapshotDeliveryCompleted", "Other"] {
            let inv =
                parse_config_invocation(invocation(json!({"messageType": message_type}), false))
                    .unwrap();
            assert_eq!(
                inv.request,
                ConfigRequest::Ignored {
                    message_type: message_type.into()
                }
            );
        }
        let deleted = json!({"resourceType": "AWS::ECS::Service", "resourceId": "r",
            "ARN": "arn:aws:ecs:us-east-1:1:service/web", "configurationItemStatus": "ResourceDeleted",
            "configuration": {"ClusterName": "prod"}});
        let inv = parse_config_invocation(invocation(
            json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": deleted}),
            false,
        ))
        .unwrap();
        let ConfigRequest::Change(item) = inv.request else {
            panic!()
        };
        assert!(item.is_gone());
        assert_eq!(
            (item.cluster.as_deref(), item.service.as_deref()),
            (Some("prod"), Some("web")),
            "the short ARN form takes the cluster from the item"
        );
        assert!(
            parse_config_invocation(json!({"invokingEvent": "{not json", "resultToken": "t"}))
                .is_err()
        );
    }

    fn task(compliance: Status, note: &str) -> Evaluation {
        Evaluation {
            resource_type: "AWS::ECS::Task",
            resource_id: "t".into(),
            compliance,
            annotation: note.into(),
            evaluated_at: String::new(),
            event_id: None,
            findings: vec![],
            suppressed: None,
            context: None,
            stop: None,
            path: vec![],
            passed: vec![],
        }
    }

    #[test]
    fn maps_to_config_vocabulary() {
        let item = ServiceItem {
            resource_type: SERVICE_RESOURCE_TYPE.into(),
            resource_id: "r".into(),
            cluster: None,
            service: None,
            capture_time: None,
            status: None,
        };
        let cases = [
            (vec![], "NOT_APPLICABLE", "no running tasks"),
            (
                vec![
                    task(Status::Compliant, "ok"),
                    task(Status::NonCompliant, "broken"),
                ],
                "NON_COMPLIANT",
                "broken",
            ),
            (vec![task(Status::Compliant, "ok")], "COMPLIANT", "ok"),
            (
                vec![task(Status::InsufficientData, "denied")],
                "NOT_APPLICABLE",
                "INSUFFICIENT_DATA: denied",
            ),
        ];
        for (tasks, want, text) in cases {
            let e = service_evaluation(&item, &tasks, "now");
            assert_eq!(e.compliance_type, want);
            assert!(e.annotation.contains(text));
            assert_eq!(e.ordering_timestamp, "now");
        }
        let long = task(Status::NonCompliant, &"x".repeat(600));
        assert!(
            service_evaluation(&item, &[long], "now")
                .annotation
                .chars()
                .count()
                <= 256
        );
    }
}
