//! The CloudFormation Lambda Hook's response, in the shape the Hooks user guide gives ("Create
//! Lambda functions to evaluate resources for Lambda Hooks"): `hookStatus`, `errorCode` when it
//! failed, `message`, the echoed `clientRequestToken`, and one annotation per rule.

use serde_json::{json, Value};

use crate::domain::hook::{AnnotationStatus, HookVerdict};
use crate::domain::verdict::Severity;

/// The annotation severities CloudFormation knows (INFO is `INFORMATIONAL`).
fn severity_level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
        Severity::Info => "INFORMATIONAL",
    }
}

fn status(status: AnnotationStatus) -> &'static str {
    match status {
        AnnotationStatus::Passed => "PASSED",
        AnnotationStatus::Failed => "FAILED",
        AnnotationStatus::Skipped => "SKIPPED",
    }
}

/// The response to the request that sent `client_request_token`.
pub fn hook_response(client_request_token: &str, verdict: &HookVerdict) -> Value {
    let annotations: Vec<Value> = verdict
        .annotations
        .iter()
        .map(|a| {
            json!({
                "annotationName": a.rule,
                "status": status(a.status),
                "statusMessage": a.message,
                "remediationMessage": a.remediation,
                "severityLevel": severity_level(a.severity),
            })
        })
        .collect();
    let mut response = json!({
        "hookStatus": if verdict.failed { "FAILED" } else { "SUCCESS" },
        "message": verdict.message,
        "clientRequestToken": client_request_token,
        "annotations": annotations,
    });
    if verdict.failed {
        response["errorCode"] = json!("NonCompliant");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hook::HookAnnotation;

    #[test]
    fn the_response_has_the_guides_shape() {
        let annotation = |status, severity| HookAnnotation {
            rule: "AWSVPC_EC2_PUBLIC_NO_INBOUND",
            status,
            severity,
            message: "no way in".into(),
            remediation: "add an ALB".into(),
        };
        let failed = HookVerdict {
            failed: true,
            message: "AWSVPC_EC2_PUBLIC_NO_INBOUND: no way in Fix: add an ALB".into(),
            annotations: vec![
                annotation(AnnotationStatus::Failed, Severity::High),
                annotation(AnnotationStatus::Passed, Severity::Info),
            ],
        };
        let r = hook_response("token-1", &failed);
        assert_eq!(r["hookStatus"], "FAILED");
        assert_eq!(r["errorCode"], "NonCompliant");
        assert_eq!(r["clientRequestToken"], "token-1");
        assert_eq!(r["annotations"][0]["status"], "FAILED");
        assert_eq!(r["annotations"][0]["severityLevel"], "HIGH");
        assert_eq!(r["annotations"][1]["severityLevel"], "INFORMATIONAL");
        assert_eq!(r["annotations"][1]["remediationMessage"], "add an ALB");
        let passed = hook_response(
            "token-2",
            &HookVerdict::unjudged("ec2:DescribeSubnets: throttled"),
        );
        assert_eq!(passed["hookStatus"], "SUCCESS");
        assert!(passed.get("errorCode").is_none(), "{passed:#}");
        assert_eq!(passed["annotations"][0]["status"], "SKIPPED");
        assert_eq!(
            passed["annotations"][0]["annotationName"],
            "CHECK_INCOMPLETE"
        );
    }
}
