//! CloudWatch Embedded Metric Format (EMF): one log line per evaluation gives dashboards and
//! alarms without code. Namespace `EcsInboundGuard`; metrics `Evaluations`, `NonCompliant`,
//! `Incomplete` (dimension `Service` = ecs-inbound-guard) and `Findings` by `Rule`.

use serde_json::{json, Value};

use crate::domain::evaluation::Evaluation;
use crate::domain::verdict::Status;

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "EcsInboundGuard";

/// EMF documents for one evaluation (each is one log line), at `timestamp_ms`.
pub fn emf_lines(evaluation: &Evaluation, timestamp_ms: u128) -> Vec<Value> {
    let totals = json!({
        "_aws": {
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": [
                    {"Name": "Evaluations", "Unit": "Count"},
                    {"Name": "NonCompliant", "Unit": "Count"},
                    {"Name": "Incomplete", "Unit": "Count"}
                ]
            }]
        },
        "Service": "ecs-inbound-guard",
        "Evaluations": 1,
        "NonCompliant": u8::from(evaluation.compliance == Status::NonCompliant),
        "Incomplete": u8::from(evaluation.compliance == Status::InsufficientData),
        "compliance": evaluation.compliance.as_str(),
        "resourceId": evaluation.resource_id,
    });
    let mut lines = vec![totals];
    let mut rules: Vec<&str> = evaluation.findings.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    for rule in rules {
        lines.push(json!({
            "_aws": {
                "Timestamp": timestamp_ms as u64,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Rule"]],
                    "Metrics": [{"Name": "Findings", "Unit": "Count"}]
                }]
            },
            "Rule": rule,
            "Findings": 1,
        }));
    }
    lines
}

/// The EMF document of a Security Hub export: findings imported and refused (`FailedCount`).
pub fn export_emf_line(imported: usize, failed: usize, timestamp_ms: u128) -> Value {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": [
                    {"Name": "SecurityHubImported", "Unit": "Count"},
                    {"Name": "SecurityHubImportFailures", "Unit": "Count"}
                ]
            }]
        },
        "Service": "ecs-inbound-guard",
        "SecurityHubImported": imported,
        "SecurityHubImportFailures": failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;

    #[test]
    fn one_totals_line_and_one_line_per_rule() {
        let e = Evaluation {
            resource_type: "AWS::ECS::Task",
            resource_id: "arn:task".into(),
            compliance: Status::NonCompliant,
            annotation: String::new(),
            evaluated_at: String::new(),
            event_id: None,
            findings: vec![RULE.finding("a".into())],
            suppressed: None,
            context: None,
            stop: None,
            passed: vec![],
            path: vec![],
        };
        let lines = emf_lines(&e, 1_700_000_000_000);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["NonCompliant"], 1);
        assert_eq!(lines[0]["Incomplete"], 0);
        assert_eq!(
            lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            NAMESPACE
        );
        assert_eq!(lines[1]["Rule"], RULE.id);
        // Every metric named in a directive has a value at the top level (EMF's contract).
        for line in &lines {
            for directive in line["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
                for m in directive["Metrics"].as_array().unwrap() {
                    assert!(line[m["Name"].as_str().unwrap()].is_number(), "{line}");
                }
                for dims in directive["Dimensions"].as_array().unwrap() {
                    for d in dims.as_array().unwrap() {
                        assert!(line[d.as_str().unwrap()].is_string(), "{line}");
                    }
                }
            }
        }
    }
}
