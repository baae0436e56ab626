//! What a stop's reason text says: the stop kinds, the start-failure classes and the
//! classification of `stoppedReason` (a leaf module: the event parser and the stop facts both use
//! it).

use serde::Serialize;

/// `detail-type` of service deployment events.
pub const DEPLOYMENT_STATE_CHANGE: &str = "ECS Deployment State Change";
/// `detail-type` of service action events.
pub const SERVICE_ACTION: &str = "ECS Service Action";
/// Config resource type of service-level diagnoses.
pub const SERVICE_RESOURCE_TYPE: &str = "AWS::ECS::Service";

/// What happened, as the alert subject says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StopKind {
    /// `Task failed ELB health checks`.
    HealthCheckKill,
    /// `CannotPullContainerError` / `ResourceInitializationError`.
    StartFailure,
    /// `SERVICE_DEPLOYMENT_FAILED`: the circuit breaker rolled back.
    DeploymentFailed,
    /// `SERVICE_TASK_START_IMPAIRED`: tasks keep failing to start.
    TaskStartImpaired,
}

impl StopKind {
    /// The alert headline.
    pub fn headline(self) -> &'static str {
        match self {
            StopKind::HealthCheckKill => "ECS tasks killed by ELB health checks",
            StopKind::StartFailure => "ECS task failed to start",
            StopKind::DeploymentFailed => "ECS deployment failed",
            StopKind::TaskStartImpaired => "ECS tasks keep failing to start",
        }
    }
}

/// What a start failure's reason text points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureClass {
    /// The endpoint could not be reached: a network cause.
    Network,
    /// The request was refused: IAM, registry or KMS permissions.
    Permission,
    /// The image or tag does not exist.
    Image,
    /// Not recognised.
    Other,
}

/// Why a task stopped, as far as the reason text tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopCause {
    /// The load balancer's health checks failed.
    HealthCheck {
        /// The target group ARN the reason names (`(target-group ARN)`).
        target_group_arn: Option<String>,
        /// A Classic Load Balancer name (older form `(elb NAME)`).
        elb_name: Option<String>,
    },
    /// The image pull or resource initialisation (secrets, logs) failed.
    StartFailure {
        /// What the reason points at.
        class: FailureClass,
        /// Endpoint services the reason names (`ecr.api`, `ecr.dkr`, `s3`, `logs`,
        /// `secretsmanager`, `ssm`).
        services: Vec<&'static str>,
    },
}

const NETWORK_WORDS: [&str; 9] = [
    "i/o timeout",
    "dial tcp",
    "connection issue",
    "context deadline exceeded",
    "no such host",
    "connection refused",
    "connection reset",
    "tls handshake timeout",
    "network is unreachable",
];
const PERMISSION_WORDS: [&str; 6] = [
    "accessdenied",
    "access denied",
    "403",
    "not authorized",
    "unauthorized",
    "forbidden",
];
/// Image words that outrank permission words ("pull access denied ... repository does not
/// exist" is Docker Hub's answer for a missing repository).
const MISSING_IMAGE_WORDS: [&str; 3] = [
    "repository does not exist",
    "manifest unknown",
    "invalid reference format",
];
const IMAGE_WORDS: [&str; 1] = ["not found"];

/// The endpoint services a reason text names, in a stable order.
fn services_named(text: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |s| {
        if !out.contains(&s) {
            out.push(s)
        }
    };
    if text.contains("ecr registry auth") || text.contains("api.ecr.") {
        add("ecr.api");
    }
    if text.contains(".dkr.ecr.") {
        add("ecr.dkr");
    }
    if text.contains("starport-layer-bucket") || text.contains(".s3.") {
        add("s3");
    }
    if text.contains("secretsmanager") || text.contains("from asm") {
        add("secretsmanager");
    }
    if text.contains("ssm") {
        add("ssm");
    }
    if text.contains("logs.") || text.contains("log stream") || text.contains("cloudwatch") {
        add("logs");
    }
    out
}

/// Classifies a start failure's reason text.
pub fn classify_failure(reason: &str) -> FailureClass {
    let text = reason.to_ascii_lowercase();
    // Network words first: "dial tcp ... i/o timeout" can also contain "not found" in a URL.
    if NETWORK_WORDS.iter().any(|w| text.contains(w)) {
        FailureClass::Network
    } else if MISSING_IMAGE_WORDS.iter().any(|w| text.contains(w)) {
        FailureClass::Image
    } else if PERMISSION_WORDS.iter().any(|w| text.contains(w)) {
        FailureClass::Permission
    } else if IMAGE_WORDS.iter().any(|w| text.contains(w)) {
        FailureClass::Image
    } else {
        FailureClass::Other
    }
}

/// The text between the first `(` after `marker` and its `)`.
fn parenthesised_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = text.find(marker)? + marker.len();
    let rest = &text[start..];
    let end = rest.find(')')?;
    Some(rest[..end].trim())
}

/// What a STOPPED task's reason (and stop code) says, or `None` when it is not one this checker
/// diagnoses. The wording varies with the platform version, so the text is classified whatever
/// the stop code; `TaskFailedToStart` alone with an unknown text is not diagnosed.
pub fn classify_stop(stopped_reason: Option<&str>, stop_code: Option<&str>) -> Option<StopCause> {
    let reason = stopped_reason.unwrap_or_default().trim();
    if reason.starts_with("Task failed ELB health checks") {
        return Some(StopCause::HealthCheck {
            target_group_arn: parenthesised_after(reason, "(target-group ")
                .filter(|arn| arn.starts_with("arn:"))
                .map(str::to_string),
            elb_name: parenthesised_after(reason, "(elb ").map(str::to_string),
        });
    }
    let start_failure = ["CannotPullContainerError", "ResourceInitializationError"]
        .iter()
        .any(|p| reason.contains(p));
    let failed_to_start = stop_code.is_some_and(|c| c == "TaskFailedToStart");
    if start_failure || (failed_to_start && classify_failure(reason) == FailureClass::Network) {
        let text = reason.to_ascii_lowercase();
        return Some(StopCause::StartFailure {
            class: classify_failure(reason),
            services: services_named(&text),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_are_classified() {
        let tg = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/abc";
        let cases: Vec<(&str, Option<&str>, Option<StopCause>)> = vec![
            (
                "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/abc)",
                None,
                Some(StopCause::HealthCheck { target_group_arn: Some(tg.into()), elb_name: None }),
            ),
            (
                "Task failed ELB health checks in (elb legacy-web)",
                Some("ServiceSchedulerInitiated"),
                Some(StopCause::HealthCheck { target_group_arn: None, elb_name: Some("legacy-web".into()) }),
            ),
            (
                "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1: failed to do request: Head \"https://111122223333.dkr.ecr.us-east-1.amazonaws.com/v2/web/manifests/1\": dial tcp 10.0.1.5:443: i/o timeout",
                Some("TaskFailedToStart"),
                Some(StopCause::StartFailure { class: FailureClass::Network, services: vec!["ecr.dkr"] }),
            ),
            (
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed caused by: Post \"https://api.ecr.us-east-1.amazonaws.com/\": dial tcp 52.1.2.3:443: i/o timeout",
                Some("TaskFailedToStart"),
                Some(StopCause::StartFailure { class: FailureClass::Network, services: vec!["ecr.api"] }),
            ),
            (
                "CannotPullContainerError: pull access denied for private/web, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
                None,
                Some(StopCause::StartFailure { class: FailureClass::Image, services: vec![] }),
            ),
            (
                "ResourceInitializationError: unable to pull secrets or registry auth: AccessDeniedException: User is not authorized to perform: secretsmanager:GetSecretValue",
                None,
                Some(StopCause::StartFailure { class: FailureClass::Permission, services: vec!["secretsmanager"] }),
            ),
            (
                "CannotPullContainerError: failed to resolve ref docker.io/library/nginx:latest: manifest unknown",
                None,
                Some(StopCause::StartFailure { class: FailureClass::Image, services: vec![] }),
            ),
            // Other wording, but the stop code says it failed to start for a network reason.
            ("Timeout waiting for network interface provisioning: context deadline exceeded", Some("TaskFailedToStart"),
                Some(StopCause::StartFailure { class: FailureClass::Network, services: vec![] })),
            ("Essential container in task exited", Some("EssentialContainerExited"), None),
            ("Scaling activity initiated by (deployment ecs-svc/1)", Some("ServiceSchedulerInitiated"), None),
            ("CannotStartContainerError: exec format error", Some("TaskFailedToStart"), None),
            ("", None, None),
        ];
        for (reason, code, want) in cases {
            assert_eq!(classify_stop(Some(reason), code), want, "{reason}");
        }
    }
}
