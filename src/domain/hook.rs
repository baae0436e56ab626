//! A CloudFormation Lambda Hook invocation for a resource operation, read into a plan, and the
//! hook's verdict on it. The shapes are the CloudFormation Hooks user guide's, "Create Lambda
//! functions to evaluate resources for Lambda Hooks" (request: `clientRequestToken`,
//! `actionInvocationPoint`, `requestData.{targetName, targetType, targetLogicalId,
//! targetModel.resourceProperties}`; response: `hookStatus`, `errorCode`, `message`,
//! `annotations`). The stack may still be creating the service's neighbours (listener rules,
//! security-group ingress rules, routes) in parallel, so only a finding that something existing
//! *conflicts* fails the operation; one that something is *missing* is SKIPPED, "not there yet".

use serde_json::{Map, Value};

use super::evaluation::Evaluation;
use super::facts::IGNORE_TAG;
use super::plan::{parse_service, PlanError, ServicePlan};
use super::rules::{self, check_incomplete};
use super::text::ellipsize;
use super::verdict::{Cause, Severity, Status};

/// The one resource type the hook judges.
pub const SERVICE_TARGET: &str = "AWS::ECS::Service";

/// CloudFormation keeps this much of a hook's message (Cloud Control API: 1,024).
pub const MAX_MESSAGE_CHARS: usize = 4096;
/// What Cloud Control API keeps: the first finding and its fix fit in it.
pub const CLOUD_CONTROL_MESSAGE_CHARS: usize = 1024;
/// Each annotation's texts are kept this short (the API allows 16,384).
const MAX_ANNOTATION_TEXT_CHARS: usize = 4096;

/// One hook invocation, as much of it as the verdict needs.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRequest {
    /// Echoed in the response.
    pub client_request_token: String,
    /// `CREATE_PRE_PROVISION`, `UPDATE_PRE_PROVISION`, `DELETE_PRE_PROVISION`.
    pub invocation_point: String,
    /// The resource type, e.g. `AWS::ECS::Service`.
    pub target_name: String,
    /// The resource's logical id in its template.
    pub logical_id: String,
    /// `targetModel.resourceProperties`: the template's properties, references resolved.
    pub properties: Value,
}

/// What the hook does with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A service to judge before it is created or updated.
    Service(ServicePlan),
    /// Nothing to judge (a deletion, another resource type): the operation proceeds.
    NotJudged(String),
}

/// Whether `payload` is a Lambda Hook invocation (and not an ECS event, a queue batch or a
/// Config invocation).
pub fn is_hook_invocation(payload: &Value) -> bool {
    payload.get("actionInvocationPoint").is_some()
        && payload.get("requestData").is_some_and(Value::is_object)
}

/// The token to echo, even from a request that cannot be read otherwise.
pub fn client_request_token(payload: &Value) -> String {
    payload
        .get("clientRequestToken")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn text(v: &Value, field: &str) -> Result<String, PlanError> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| PlanError(format!("the hook request has no {field}")))
}

/// Reads a hook invocation.
pub fn parse_hook_request(payload: &Value) -> Result<HookRequest, PlanError> {
    let data = payload
        .get("requestData")
        .filter(|d| d.is_object())
        .ok_or_else(|| PlanError("the hook request has no requestData".into()))?;
    Ok(HookRequest {
        client_request_token: client_request_token(payload),
        invocation_point: text(payload, "actionInvocationPoint")?,
        target_name: text(data, "targetName")?,
        logical_id: data
            .get("targetLogicalId")
            .and_then(Value::as_str)
            .unwrap_or("service")
            .to_string(),
        properties: data
            .get("targetModel")
            .and_then(|m| m.get("resourceProperties"))
            .cloned()
            .unwrap_or(Value::Null),
    })
}

impl HookRequest {
    /// What the hook judges: a service being created or updated; anything else passes.
    pub fn subject(&self) -> Result<Subject, PlanError> {
        if self.target_name != SERVICE_TARGET {
            return Ok(Subject::NotJudged(format!(
                "{} is not judged (this hook judges {SERVICE_TARGET})",
                self.target_name
            )));
        }
        if !matches!(
            self.invocation_point.as_str(),
            "CREATE_PRE_PROVISION" | "UPDATE_PRE_PROVISION"
        ) {
            return Ok(Subject::NotJudged(format!(
                "{}: nothing to judge",
                self.invocation_point
            )));
        }
        if !self.properties.is_object() {
            return Err(PlanError(
                "the hook request has no targetModel.resourceProperties".into(),
            ));
        }
        let mut input = lower_camel_keys(&self.properties);
        if let Some(fields) = input.as_object_mut() {
            // CloudFormation names a service without ServiceName itself; its logical id says
            // which one it is.
            fields
                .entry("serviceName")
                .or_insert_with(|| Value::String(self.logical_id.clone()));
        }
        parse_service(&input).map(Subject::Service)
    }

    /// The value of the service's own `ecs-inbound-guard:ignore` tag (its `Tags` property:
    /// CloudFormation knows it before the service exists).
    pub fn ignore_tag(&self) -> Option<&str> {
        self.properties
            .get("Tags")
            .and_then(Value::as_array)?
            .iter()
            .find(|t| t.get("Key").and_then(Value::as_str) == Some(IGNORE_TAG))?
            .get("Value")
            .and_then(Value::as_str)
    }
}

/// CloudFormation's property names (`NetworkConfiguration.AwsvpcConfiguration.Subnets`) as the
/// ECS API spells them (`networkConfiguration.awsvpcConfiguration.subnets`).
fn lower_camel_keys(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = chars
                        .next()
                        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                        .unwrap_or_default();
                    (key, lower_camel_keys(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(lower_camel_keys).collect()),
        other => other.clone(),
    }
}

/// An annotation's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationStatus {
    /// The rule held.
    Passed,
    /// Something that exists conflicts with the path.
    Failed,
    /// Not judged now: something missing (may not be there yet) or unreadable.
    Skipped,
}

/// One rule's annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAnnotation {
    /// The rule id.
    pub rule: &'static str,
    /// Its status.
    pub status: AnnotationStatus,
    /// The rule's severity.
    pub severity: Severity,
    /// Why this status.
    pub message: String,
    /// How to fix it.
    pub remediation: String,
}

/// The hook's verdict on one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookVerdict {
    /// Whether the operation is NON_COMPLIANT: a HIGH finding of a conflict, not waived.
    pub failed: bool,
    /// The message to the caller: the blocking findings, rule id first, each with its fix;
    /// else what passed and what was skipped.
    pub message: String,
    /// One per rule that held, fired or was skipped.
    pub annotations: Vec<HookAnnotation>,
}

impl HookVerdict {
    /// The operation proceeds: nothing to judge, or nothing could be judged (the `skipped`
    /// annotation says why).
    pub fn proceed(message: &str, skipped: Option<HookAnnotation>) -> Self {
        HookVerdict {
            failed: false,
            message: ellipsize(message, MAX_MESSAGE_CHARS),
            annotations: skipped.into_iter().collect(),
        }
    }

    /// A SKIPPED CHECK_INCOMPLETE: what could not be read or used, and that the operation
    /// proceeds unjudged.
    pub fn unjudged(why: &str) -> Self {
        let annotation = HookAnnotation {
            rule: check_incomplete::RULE.id,
            status: AnnotationStatus::Skipped,
            severity: check_incomplete::RULE.severity,
            message: ellipsize(why, MAX_ANNOTATION_TEXT_CHARS),
            remediation: check_incomplete::RULE.remediation.to_string(),
        };
        Self::proceed(
            &format!("ecs-inbound-guard could not judge this service; it proceeds: {why}"),
            Some(annotation),
        )
    }
}

/// The status a finding of `rule` gets before the deploy.
fn status_of(rule: &'static str) -> AnnotationStatus {
    match rules::rule(rule).map(|r| r.cause) {
        Some(Cause::Conflict) => AnnotationStatus::Failed,
        // CHECK_INCOMPLETE and every rule whose finding says something is missing.
        Some(Cause::Missing) | None => AnnotationStatus::Skipped,
    }
}

/// The hook's verdict on a service's preflight evaluation. A rule the `ecs-inbound-guard:ignore`
/// tag waives (`Evaluation::suppressed`: the task definition's, the service's as read, the
/// template's) is still annotated but never blocks.
pub fn verdict(e: &Evaluation) -> HookVerdict {
    let waived = |rule: &str| e.is_suppressed(rule);
    if e.compliance == Status::NotApplicable {
        return HookVerdict::proceed(&format!("NOT_APPLICABLE: {}", e.annotation), None);
    }
    // One annotation per rule: a rule that fired in several subnets says each.
    let mut annotations: Vec<HookAnnotation> = Vec::new();
    for f in &e.findings {
        if let Some(a) = annotations.iter_mut().find(|a| a.rule == f.rule) {
            a.message = ellipsize(
                &format!("{} {}", a.message, f.message),
                MAX_ANNOTATION_TEXT_CHARS,
            );
            a.severity = a.severity.min(f.severity);
            continue;
        }
        let status = status_of(f.rule);
        let message = match status {
            AnnotationStatus::Skipped if f.rule != check_incomplete::RULE.id => format!(
                "Not judged before the deploy: it may not be there yet (the stack can still be creating it). {}",
                f.message
            ),
            AnnotationStatus::Failed if waived(f.rule) => format!(
                "Waived by the tag {IGNORE_TAG}: {}",
                f.message
            ),
            _ => f.message.clone(),
        };
        annotations.push(HookAnnotation {
            rule: f.rule,
            status,
            severity: f.severity,
            message: ellipsize(&message, MAX_ANNOTATION_TEXT_CHARS),
            remediation: ellipsize(&f.remediation, MAX_ANNOTATION_TEXT_CHARS),
        });
    }
    for (rule, reason) in &e.passed {
        if let Some(r) = rules::rule(rule) {
            annotations.push(HookAnnotation {
                rule: r.id,
                status: AnnotationStatus::Passed,
                severity: r.severity,
                message: ellipsize(reason, MAX_ANNOTATION_TEXT_CHARS),
                remediation: r.remediation.to_string(),
            });
        }
    }
    let blocking: Vec<&HookAnnotation> = annotations
        .iter()
        .filter(|a| {
            a.status == AnnotationStatus::Failed && a.severity == Severity::High && !waived(a.rule)
        })
        .collect();
    let message = if blocking.is_empty() {
        success_message(&annotations)
    } else {
        failure_message(&blocking)
    };
    HookVerdict {
        failed: !blocking.is_empty(),
        message,
        annotations,
    }
}

/// The blocking findings, rule id first, each with its fix: the first one whole within
/// Cloud Control's 1,024 characters, the rest after it up to 4,096.
fn failure_message(blocking: &[&HookAnnotation]) -> String {
    let entry = |a: &HookAnnotation, room: usize| {
        let fix = format!(" Fix: {}", a.remediation);
        let fix = ellipsize(&fix, room / 2);
        let statement = ellipsize(
            &format!("{}: {}", a.rule, a.message),
            room.saturating_sub(fix.chars().count()),
        );
        statement + &fix
    };
    let mut message = entry(blocking[0], CLOUD_CONTROL_MESSAGE_CHARS);
    for a in &blocking[1..] {
        let left = MAX_MESSAGE_CHARS.saturating_sub(message.chars().count() + 1);
        if left < 80 {
            break;
        }
        message.push('\n');
        message.push_str(&entry(a, left));
    }
    message
}

fn success_message(annotations: &[HookAnnotation]) -> String {
    let ids = |status: AnnotationStatus| -> Vec<&str> {
        annotations
            .iter()
            .filter(|a| a.status == status)
            .map(|a| a.rule)
            .collect()
    };
    let mut message = format!(
        "ecs-inbound-guard: no conflict in what exists; {} rules held",
        ids(AnnotationStatus::Passed).len()
    );
    let advisory = ids(AnnotationStatus::Failed);
    if !advisory.is_empty() {
        message.push_str(&format!("; advisory: {}", advisory.join(", ")));
    }
    let skipped = ids(AnnotationStatus::Skipped);
    if !skipped.is_empty() {
        message.push_str(&format!(
            "; skipped (not there yet, or unreadable): {}",
            skipped.join(", ")
        ));
    }
    ellipsize(&message, MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::verdict::Finding;
    use serde_json::json;

    /// The guide's resource-operation request, for an `AWS::ECS::Service` (numbers and
    /// booleans as strings, as users report CloudFormation sends them).
    fn request(point: &str, target: &str) -> Value {
        json!({
            "clientRequestToken": "f3b7c1a0-1111-2222-3333-444455556666",
            "awsAccountId": "111122223333",
            "stackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/web/abc",
            "changeSetId": null,
            "hookTypeName": "Private::EcsInboundGuard::Preflight",
            "hookTypeVersion": "00000001",
            "hookModel": {"LambdaFunction": "arn:aws:lambda:us-east-1:111122223333:function:guard-checker"},
            "actionInvocationPoint": point,
            "requestData": {
                "targetName": target,
                "targetType": "RESOURCE",
                "targetLogicalId": "WebService",
                "targetModel": {"resourceProperties": {
                    "Cluster": "prod",
                    "TaskDefinition": "arn:aws:ecs:us-east-1:111122223333:task-definition/web:7",
                    "LaunchType": "EC2",
                    "DesiredCount": "2",
                    "LoadBalancers": [{"TargetGroupArn": "arn:tg", "ContainerName": "web", "ContainerPort": "3000"}],
                    "NetworkConfiguration": {"AwsvpcConfiguration": {
                        "Subnets": ["subnet-a"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}}
                }}
            },
            "requestContext": {"invocation": 1, "callbackContext": null}
        })
    }

    #[test]
    fn a_create_or_update_of_a_service_becomes_its_plan() {
        for point in ["CREATE_PRE_PROVISION", "UPDATE_PRE_PROVISION"] {
            let payload = request(point, SERVICE_TARGET);
            assert!(is_hook_invocation(&payload));
            let req = parse_hook_request(&payload).unwrap();
            assert_eq!(
                req.client_request_token,
                "f3b7c1a0-1111-2222-3333-444455556666"
            );
            let Subject::Service(plan) = req.subject().unwrap() else {
                panic!("{point}: judged")
            };
            assert_eq!(plan.cluster, "prod");
            assert_eq!(
                plan.service_name, "WebService",
                "no ServiceName: the logical id"
            );
            assert_eq!(plan.launch.launch_type().as_deref(), Some("EC2"));
            assert_eq!(plan.load_balancers[0].container_port, Some(3000));
            assert_eq!(plan.network.unwrap().subnets, ["subnet-a"]);
        }
    }

    #[test]
    fn deletions_and_other_resource_types_are_not_judged() {
        for (point, target) in [
            ("DELETE_PRE_PROVISION", SERVICE_TARGET),
            ("CREATE_PRE_PROVISION", "AWS::EC2::SecurityGroup"),
        ] {
            let req = parse_hook_request(&request(point, target)).unwrap();
            assert!(
                matches!(req.subject(), Ok(Subject::NotJudged(_))),
                "{point} {target}"
            );
        }
    }

    #[test]
    fn unusable_requests_are_errors_naming_the_field() {
        let cases = [
            (
                json!({"actionInvocationPoint": "CREATE_PRE_PROVISION", "requestData": {}}),
                "targetName",
            ),
            (
                json!({"actionInvocationPoint": "CREATE_PRE_PROVISION"}),
                "requestData",
            ),
        ];
        for (payload, want) in cases {
            let err = parse_hook_request(&payload).unwrap_err();
            assert!(err.0.contains(want), "{err}");
        }
        let mut payload = request("CREATE_PRE_PROVISION", SERVICE_TARGET);
        payload["requestData"]["targetModel"]["resourceProperties"]["LoadBalancers"][0]
            ["ContainerPort"] = json!("http");
        let err = parse_hook_request(&payload).unwrap().subject().unwrap_err();
        assert!(err.0.contains("containerPort must be an integer"), "{err}");
        assert!(!is_hook_invocation(
            &json!({"detail-type": "ECS Task State Change"})
        ));
    }

    fn evaluation(findings: Vec<Finding>, passed: Vec<(&'static str, String)>) -> Evaluation {
        let event = crate::domain::event::TaskEvent {
            account: None,
            event_id: None,
            region: None,
            task: crate::domain::task::TaskDetail::default(),
        };
        let at = time::OffsetDateTime::from_unix_timestamp(1_767_323_045).unwrap();
        let mut e = Evaluation::for_task(&event, at, Status::Compliant, "", vec![]);
        e.compliance = findings.iter().fold(Status::Compliant, |s, f| {
            s.and(if f.severity == Severity::High {
                Status::NonCompliant
            } else {
                Status::Compliant
            })
        });
        e.findings = findings;
        e.passed = passed;
        e
    }

    #[test]
    fn only_a_high_conflict_fails_the_operation() {
        use crate::domain::rules::{
            awsvpc_ec2_public_no_inbound as seed, lb_container_port_not_mapped as port,
            port_not_behind_lb as unrouted, sg_blocks_lb_traffic as sg,
        };
        // (findings, fails, statuses by rule)
        type Statuses = Vec<(&'static str, AnnotationStatus)>;
        let cases: Vec<(Vec<Finding>, bool, Statuses)> = vec![
            (
                vec![seed::RULE.finding("no way in".into())],
                true,
                vec![(seed::RULE.id, AnnotationStatus::Failed)],
            ),
            (
                vec![port::RULE.finding("8080 vs 3000".into())],
                true,
                vec![(port::RULE.id, AnnotationStatus::Failed)],
            ),
            // Missing: the ingress rule may be created in parallel.
            (
                vec![sg::RULE.finding("closed".into())],
                false,
                vec![(sg::RULE.id, AnnotationStatus::Skipped)],
            ),
            // A conflict, but advisory.
            (
                vec![unrouted::RULE.finding("9000 unrouted".into())],
                false,
                vec![(unrouted::RULE.id, AnnotationStatus::Failed)],
            ),
            (
                vec![check_incomplete::finding(
                    &crate::domain::facts::Unreadable {
                        api: crate::domain::api::EC2_DESCRIBE_SUBNETS,
                        reason: "AccessDenied".into(),
                    },
                )],
                false,
                vec![("CHECK_INCOMPLETE", AnnotationStatus::Skipped)],
            ),
        ];
        for (findings, fails, statuses) in cases {
            let v = verdict(&evaluation(findings, vec![]));
            assert_eq!(v.failed, fails, "{v:#?}");
            let got: Statuses = v.annotations.iter().map(|a| (a.rule, a.status)).collect();
            assert_eq!(got, statuses);
            if fails {
                assert!(
                    v.message.starts_with(statuses[0].0),
                    "rule id first: {}",
                    v.message
                );
                assert!(v.message.contains(" Fix: "), "{}", v.message);
            }
        }
    }

    #[test]
    fn rules_that_held_are_passed_and_the_message_stays_within_its_limits() {
        use crate::domain::rules::{awsvpc_ec2_public_no_inbound as seed, lb_vpc_mismatch as vpc};
        let long = "x".repeat(5000);
        let v = verdict(&evaluation(
            vec![
                seed::RULE.finding(long.clone()),
                vpc::RULE.finding(long.clone()),
            ],
            vec![("LB_NO_LISTENER", "a listener forwards to it".into())],
        ));
        assert!(v.failed);
        assert!(v.message.chars().count() <= MAX_MESSAGE_CHARS);
        let first_line = v.message.lines().next().unwrap();
        assert!(first_line.chars().count() <= CLOUD_CONTROL_MESSAGE_CHARS);
        assert!(
            first_line.contains(" Fix: "),
            "the fix fits Cloud Control's 1,024: {first_line}"
        );
        assert!(
            v.message.contains("\nLB_VPC_MISMATCH: "),
            "the second one follows"
        );
        let passed = v
            .annotations
            .iter()
            .find(|a| a.rule == "LB_NO_LISTENER")
            .unwrap();
        assert_eq!(passed.status, AnnotationStatus::Passed);
        assert!(v
            .annotations
            .iter()
            .all(|a| a.message.chars().count() <= MAX_ANNOTATION_TEXT_CHARS));
    }

    #[test]
    fn a_rule_the_services_tag_waives_never_blocks() {
        use crate::domain::rules::awsvpc_ec2_public_no_inbound as seed;
        let mut payload = request("CREATE_PRE_PROVISION", SERVICE_TARGET);
        payload["requestData"]["targetModel"]["resourceProperties"]["Tags"] = json!([
            {"Key": "team", "Value": "web"},
            {"Key": IGNORE_TAG, "Value": "AWSVPC_EC2_PUBLIC_NO_INBOUND, PORT_NOT_BEHIND_LB"}
        ]);
        let tag = parse_hook_request(&payload)
            .unwrap()
            .ignore_tag()
            .map(str::to_string);
        assert_eq!(
            tag.as_deref(),
            Some("AWSVPC_EC2_PUBLIC_NO_INBOUND, PORT_NOT_BEHIND_LB")
        );
        let mut e = evaluation(vec![seed::RULE.finding("no way in".into())], vec![]);
        assert!(verdict(&e).failed, "not waived: it blocks");
        let mut all = e.clone();
        e.suppress(tag.as_deref().unwrap());
        assert_eq!(
            e.suppressed.as_deref(),
            Some(
                &[
                    "AWSVPC_EC2_PUBLIC_NO_INBOUND".to_string(),
                    "PORT_NOT_BEHIND_LB".into()
                ][..]
            )
        );
        let v = verdict(&e);
        assert!(!v.failed, "{v:#?}");
        assert_eq!(v.annotations[0].status, AnnotationStatus::Failed);
        assert!(
            v.annotations[0].message.starts_with("Waived by the tag"),
            "{v:#?}"
        );
        all.suppress("all");
        assert!(!verdict(&all).failed);
    }
}
