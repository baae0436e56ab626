//! Audit reports: evaluations grouped by service (worst status wins), a summary and
//! linter-style exit codes. The table for humans is a renderer (`render::table`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::delivery::CheckReport;
use super::evaluation::Evaluation;
use super::verdict::Status;

/// One service's (or standalone group's) summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSummary {
    /// The account (from the tasks' ARNs), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region (from the tasks' ARNs), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Cluster name.
    pub cluster: String,
    /// Service name, or `-` for standalone tasks.
    pub service: String,
    /// The launch type of its tasks (`EC2`, `FARGATE`, `MANAGED_INSTANCES`), `mixed` when they
    /// differ, `-` when unknown.
    pub launch_type: String,
    /// The worst compliance of its tasks.
    pub compliance: Status,
    /// Number of tasks evaluated.
    pub tasks: usize,
    /// Rule ids found on any of its tasks.
    pub rules: Vec<String>,
}

/// Counts per compliance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Tasks evaluated.
    pub tasks: usize,
    /// COMPLIANT tasks.
    pub compliant: usize,
    /// NON_COMPLIANT tasks.
    pub non_compliant: usize,
    /// NOT_APPLICABLE tasks.
    pub not_applicable: usize,
    /// INSUFFICIENT_DATA tasks.
    pub insufficient_data: usize,
}

/// The audit's JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// One evaluation per task (an audit publishes no alert).
    pub evaluations: Vec<CheckReport>,
    /// One summary per service.
    pub services: Vec<ServiceSummary>,
    /// Totals.
    pub summary: Summary,
}

impl AuditReport {
    /// Groups evaluations by (account, region, cluster, service).
    pub fn new(evaluations: Vec<Evaluation>) -> Self {
        type Key = (Option<String>, Option<String>, String, String);
        let mut groups: BTreeMap<Key, ServiceSummary> = BTreeMap::new();
        let mut summary = Summary::default();
        for e in &evaluations {
            summary.tasks += 1;
            match e.compliance {
                Status::Compliant => summary.compliant += 1,
                Status::NonCompliant => summary.non_compliant += 1,
                Status::NotApplicable => summary.not_applicable += 1,
                Status::InsufficientData => summary.insufficient_data += 1,
            }
            let ctx = e.context.clone().unwrap_or_default();
            let key = (
                ctx.account.clone(),
                ctx.region.clone(),
                ctx.cluster.clone().unwrap_or_else(|| "-".into()),
                ctx.service.clone().unwrap_or_else(|| "-".into()),
            );
            let entry = groups.entry(key.clone()).or_insert_with(|| ServiceSummary {
                account: key.0.clone(),
                region: key.1.clone(),
                cluster: key.2.clone(),
                service: key.3.clone(),
                launch_type: ctx.launch_type.clone().unwrap_or_else(|| "-".into()),
                compliance: Status::NotApplicable,
                tasks: 0,
                rules: vec![],
            });
            entry.tasks += 1;
            let launch_type = ctx.launch_type.as_deref().unwrap_or("-");
            if entry.launch_type != launch_type {
                entry.launch_type = "mixed".into();
            }
            entry.compliance = entry.compliance.and(e.compliance);
            for f in &e.findings {
                if !entry.rules.iter().any(|r| r == f.rule) {
                    entry.rules.push(f.rule.to_string());
                }
            }
        }
        let mut services: Vec<ServiceSummary> = groups.into_values().collect();
        for s in &mut services {
            s.rules.sort();
        }
        AuditReport {
            evaluations: evaluations.into_iter().map(CheckReport::unsent).collect(),
            services,
            summary,
        }
    }

    /// The task of `service` whose verdict is the service's (its worst): the one to draw.
    pub fn worst_of(&self, service: &ServiceSummary) -> Option<&Evaluation> {
        self.evaluations
            .iter()
            .map(|r| &r.evaluation)
            .filter(|e| {
                let ctx = e.context.clone().unwrap_or_default();
                ctx.account == service.account
                    && ctx.region == service.region
                    && ctx.cluster.as_deref().unwrap_or("-") == service.cluster
                    && ctx.service.as_deref().unwrap_or("-") == service.service
            })
            .find(|e| e.compliance == service.compliance)
    }

    /// Exit code like linters: 0 nothing NON_COMPLIANT, 1 something NON_COMPLIANT (with
    /// `strict`, INSUFFICIENT_DATA counts too).
    pub fn exit_code(&self, strict: bool) -> u8 {
        let failing =
            self.summary.non_compliant > 0 || (strict && self.summary.insufficient_data > 0);
        u8::from(failing)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::evaluation::TaskContext;
    use crate::domain::rules::awsvpc_ec2_public_no_inbound::RULE;

    pub(crate) fn e(service: Option<&str>, compliance: Status) -> Evaluation {
        Evaluation {
            resource_type: "AWS::ECS::Task",
            resource_id: "arn".into(),
            compliance,
            annotation: String::new(),
            evaluated_at: String::new(),
            event_id: None,
            findings: if compliance == Status::NonCompliant {
                vec![RULE.finding("x".into())]
            } else {
                vec![]
            },
            suppressed: None,
            context: Some(TaskContext {
                launch_type: Some("FARGATE".into()),
                cluster: Some("prod".into()),
                service: service.map(Into::into),
                ..Default::default()
            }),
            stop: None,
            path: vec![],
            passed: vec![],
        }
    }

    #[test]
    fn groups_by_service_with_the_worst_status_and_exit_codes() {
        let r = AuditReport::new(vec![
            e(Some("web"), Status::Compliant),
            e(Some("web"), Status::NonCompliant),
            e(Some("api"), Status::InsufficientData),
            e(None, Status::NotApplicable),
        ]);
        assert_eq!(r.services.len(), 3);
        let web = r.services.iter().find(|s| s.service == "web").unwrap();
        assert_eq!(web.launch_type, "FARGATE");
        assert_eq!((web.tasks, web.compliance), (2, Status::NonCompliant));
        assert_eq!(web.rules, [RULE.id]);
        assert_eq!(r.summary.tasks, 4);
        assert_eq!(r.exit_code(false), 1);
        let ok = AuditReport::new(vec![e(Some("api"), Status::InsufficientData)]);
        assert_eq!(ok.exit_code(false), 0);
        assert_eq!(ok.exit_code(true), 1, "--strict counts INSUFFICIENT_DATA");
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["evaluations"].is_array() && json["services"][0]["compliance"].is_string());
        assert_eq!(json["summary"]["nonCompliant"], 1);
    }
}
