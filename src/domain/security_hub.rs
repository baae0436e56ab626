//! Security Hub export: a RUNNING task's evaluation as AWS Security Finding Format findings, one
//! per (service, rule) so a redeploy updates the same finding, and the findings a fixed service
//! no longer has re-imported as PASSED / ARCHIVED. Pure: the open (resource, rule) pairs come in
//! from the dedup table, the findings go out through the import port.

use std::collections::BTreeMap;

use super::evaluation::Evaluation;
use super::event::TASK_RESOURCE_TYPE;
use super::org::Arn;
use super::rules::{self, check_incomplete};
use super::text::ellipsize;
use super::verdict::{Severity, Status};

/// ASFF schema version.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// ASFF `Description` limit.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// ASFF `Remediation.Recommendation.Text` limit.
pub const MAX_RECOMMENDATION_CHARS: usize = 512;
/// BatchImportFindings takes at most this many findings.
pub const IMPORT_BATCH: usize = 100;
/// The finding type every export carries.
pub const FINDING_TYPE: &str =
    "Software and Configuration Checks/AWS Security Best Practices/Network Reachability";

/// Whether a finding is open or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingState {
    /// `Compliance.Status` FAILED, `RecordState` ACTIVE.
    Failed,
    /// `Compliance.Status` PASSED, `RecordState` ARCHIVED: the resource no longer has it.
    Resolved,
}

/// A resource a finding names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingResource {
    /// `AwsEcsService`, `AwsEcsTask` or `Other`.
    pub kind: &'static str,
    /// Its ARN or id.
    pub id: String,
}

/// One ASFF finding, in plain domain types (the adapter maps it to the SDK's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFinding {
    /// `ecs-inbound-guard/{account}/{region}/{resource}/{RULE}`.
    pub id: String,
    /// `arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`.
    pub product_arn: String,
    /// `ecs-inbound-guard/RULE`.
    pub generator_id: String,
    /// The account that owns the resource (and receives the finding).
    pub account: String,
    /// The resource's region.
    pub region: String,
    /// When the finding was first seen (RFC 3339).
    pub created_at: String,
    /// Now (RFC 3339).
    pub updated_at: String,
    /// The rule's title.
    pub title: String,
    /// The finding's message, at most 1,024 characters.
    pub description: String,
    /// The fix, at most 512 characters.
    pub recommendation: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW` or `INFORMATIONAL`.
    pub severity_label: &'static str,
    /// Open or fixed.
    pub state: FindingState,
    /// The service (or task), then the ENI, subnet and target groups.
    pub resources: Vec<FindingResource>,
}

/// The open (resource, rule) pairs of one resource: rule id → first seen (RFC 3339).
pub type OpenRules = BTreeMap<String, String>;

/// What to import for one evaluation, and the open pairs to keep afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPlan {
    /// The resource the findings are about (the open pairs' key).
    pub resource: String,
    /// Findings to import (FAILED ones, and PASSED ones for pairs that closed).
    pub findings: Vec<ExportedFinding>,
    /// The pairs open after this import.
    pub open: OpenRules,
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
        Severity::Info => "INFORMATIONAL",
    }
}

/// The resource an evaluation's findings are about: its service (so a redeploy, with new task
/// ARNs, updates the same finding), or the task for a standalone task; with its account,
/// region and partition. `None` when the task ARN does not name them.
pub fn finding_resource(
    evaluation: &Evaluation,
) -> Option<(FindingResource, String, String, String)> {
    let arn = Arn::parse(&evaluation.resource_id)?;
    let (account, region) = (arn.account_id()?, arn.region_name()?);
    let ctx = evaluation.context.as_ref()?;
    let resource = match (&ctx.service, &ctx.cluster) {
        (Some(service), Some(cluster)) => FindingResource {
            kind: "AwsEcsService",
            id: format!(
                "arn:{}:ecs:{region}:{account}:service/{cluster}/{service}",
                arn.partition
            ),
        },
        _ => FindingResource {
            kind: "AwsEcsTask",
            id: evaluation.resource_id.clone(),
        },
    };
    Some((
        resource,
        account.into(),
        region.into(),
        arn.partition.into(),
    ))
}

/// Security Hub's limit for a finding id.
pub const MAX_FINDING_ID_CHARS: usize = 512;

/// The finding's id: stable for a (resource, rule), within Security Hub's 512 characters. A
/// resource ARN too long for it (long, legal cluster and service names) is replaced by its
/// SHA-256, a digest no Rust release changes.
pub fn finding_id(account: &str, region: &str, resource_id: &str, rule: &str) -> String {
    let id = format!("ecs-inbound-guard/{account}/{region}/{resource_id}/{rule}");
    if id.chars().count() <= MAX_FINDING_ID_CHARS {
        return id;
    }
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(resource_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("ecs-inbound-guard/{account}/{region}/sha256-{digest}/{rule}")
}

/// Where a resource's findings go, and what each of them names: shared by its findings.
struct FindingPlace<'a> {
    resource: FindingResource,
    account: String,
    region: String,
    partition: String,
    resources: Vec<FindingResource>,
    now: &'a str,
}

impl FindingPlace<'_> {
    /// The resource's finding for `rule`, with no text yet.
    fn finding(&self, rule: &str, state: FindingState, created_at: &str) -> ExportedFinding {
        let (account, region, partition) = (&self.account, &self.region, &self.partition);
        ExportedFinding {
            id: finding_id(account, region, &self.resource.id, rule),
            product_arn: format!(
                "arn:{partition}:securityhub:{region}:{account}:product/{account}/default"
            ),
            generator_id: format!("ecs-inbound-guard/{rule}"),
            account: account.clone(),
            region: region.clone(),
            created_at: created_at.to_string(),
            updated_at: self.now.to_string(),
            title: rules::rule(rule).map_or_else(|| rule.to_string(), |r| r.title.to_string()),
            description: String::new(),
            recommendation: String::new(),
            severity_label: "INFORMATIONAL",
            state,
            resources: self.resources.clone(),
        }
    }
}

/// Where `evaluation`'s findings go: the task (or service) first, then its ENI, subnet and
/// target groups.
fn finding_place<'a>(evaluation: &Evaluation, now: &'a str) -> Option<FindingPlace<'a>> {
    let (resource, account, region, partition) = finding_resource(evaluation)?;
    let ctx = evaluation.context.clone().unwrap_or_default();
    let others = [
        ctx.eni
            .map(|eni| format!("arn:{partition}:ec2:{region}:{account}:network-interface/{eni}")),
        ctx.subnet
            .map(|s| format!("arn:{partition}:ec2:{region}:{account}:subnet/{s}")),
    ];
    let resources = std::iter::once(resource.clone())
        .chain(
            others
                .into_iter()
                .flatten()
                .chain(ctx.target_groups)
                .map(|id| FindingResource { kind: "Other", id }),
        )
        .collect();
    Some(FindingPlace {
        resource,
        account,
        region,
        partition,
        resources,
        now,
    })
}

/// The export plan of `evaluation` given the resource's open pairs: `None` when the evaluation
/// is not one Security Hub gets (a stop diagnosis, a service event, NOT_APPLICABLE, or
/// INSUFFICIENT_DATA, which must not close anything).
pub fn export_plan(
    evaluation: &Evaluation,
    min: Severity,
    open: &OpenRules,
    now: &str,
) -> Option<ExportPlan> {
    if evaluation.resource_type != TASK_RESOURCE_TYPE
        || evaluation.stop.is_some()
        || !matches!(
            evaluation.compliance,
            Status::Compliant | Status::NonCompliant
        )
    {
        return None;
    }
    let place = finding_place(evaluation, now)?;
    let mut findings = Vec::new();
    let mut still_open = OpenRules::new();
    if evaluation.compliance == Status::NonCompliant {
        for f in evaluation
            .published_findings(min)
            .filter(|f| f.rule != check_incomplete::RULE.id)
        {
            if still_open.contains_key(f.rule) {
                continue;
            }
            let first_seen = open.get(f.rule).map_or(now, String::as_str);
            still_open.insert(f.rule.to_string(), first_seen.to_string());
            findings.push(ExportedFinding {
                description: ellipsize(&f.message, MAX_DESCRIPTION_CHARS),
                recommendation: ellipsize(&f.remediation, MAX_RECOMMENDATION_CHARS),
                severity_label: severity_label(f.severity),
                ..place.finding(f.rule, FindingState::Failed, first_seen)
            });
        }
    }
    for (rule, first_seen) in open {
        if still_open.contains_key(rule) {
            continue;
        }
        findings.push(ExportedFinding {
            description: ellipsize(
                &format!(
                    "Resolved: ecs-inbound-guard no longer finds {rule} on this resource (evaluated {now})."
                ),
                MAX_DESCRIPTION_CHARS,
            ),
            recommendation: "No action needed.".into(),
            ..place.finding(rule, FindingState::Resolved, first_seen)
        });
    }
    Some(ExportPlan {
        resource: format!("{}/{}/{}", place.account, place.region, place.resource.id),
        findings,
        open: still_open,
    })
}

/// Evaluations for the export's tests (here and in `app::export`).
#[cfg(test)]
pub mod tests_support {
    use super::*;
    use crate::domain::evaluation::TaskContext;

    /// A task `task` of service `web` in cluster `prod`, account 111111111111, us-east-1.
    pub fn evaluation(task: &str, compliance: Status) -> Evaluation {
        Evaluation {
            resource_type: TASK_RESOURCE_TYPE,
            resource_id: format!("arn:aws:ecs:us-east-1:111111111111:task/prod/{task}"),
            compliance,
            annotation: String::new(),
            evaluated_at: "2026-01-01T00:00:00Z".into(),
            event_id: None,
            findings: vec![],
            suppressed: None,
            context: Some(TaskContext {
                cluster: Some("prod".into()),
                service: Some("web".into()),
                eni: Some("eni-1".into()),
                subnet: Some("subnet-1".into()),
                ..Default::default()
            }),
            stop: None,
            path: vec![],
            passed: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_ids_stay_within_512_characters_and_stable() {
        let short = finding_id(
            "111111111111",
            "us-east-1",
            "arn:aws:ecs:us-east-1:111111111111:task/prod/abc",
            "R",
        );
        assert_eq!(short, "ecs-inbound-guard/111111111111/us-east-1/arn:aws:ecs:us-east-1:111111111111:task/prod/abc/R");
        let service = format!(
            "arn:aws-us-gov:ecs:us-gov-west-1:111111111111:service/{}/{}",
            "c".repeat(255),
            "s".repeat(255)
        );
        let long = finding_id(
            "111111111111",
            "us-gov-west-1",
            &service,
            "AWSVPC_EC2_PUBLIC_NO_INBOUND",
        );
        assert!(
            long.chars().count() <= MAX_FINDING_ID_CHARS,
            "{}",
            long.len()
        );
        assert_eq!(
            long,
            finding_id(
                "111111111111",
                "us-gov-west-1",
                &service,
                "AWSVPC_EC2_PUBLIC_NO_INBOUND"
            ),
            "stable"
        );
        assert!(long.ends_with("/AWSVPC_EC2_PUBLIC_NO_INBOUND"));
        // A known vector: SHA-256 of "abc".
        let abc = finding_id("a", "r", &format!("abc{}", ""), &"x".repeat(600));
        assert!(
            abc.contains("sha256-ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            "{abc}"
        );
    }
    use crate::domain::evaluation::TaskContext;
    use crate::domain::verdict::Finding;

    fn evaluation(compliance: Status, rules: &[(&'static str, Severity)]) -> Evaluation {
        Evaluation {
            resource_type: TASK_RESOURCE_TYPE,
            resource_id: "arn:aws:ecs:us-east-1:111111111111:task/prod/abc".into(),
            compliance,
            annotation: String::new(),
            evaluated_at: "2026-01-01T00:00:00Z".into(),
            event_id: None,
            findings: rules
                .iter()
                .map(|(rule, severity)| Finding {
                    rule,
                    severity: *severity,
                    message: "x".repeat(3000),
                    remediation: "fix it ".repeat(200),
                })
                .collect(),
            suppressed: None,
            context: Some(TaskContext {
                cluster: Some("prod".into()),
                service: Some("web".into()),
                eni: Some("eni-1".into()),
                subnet: Some("subnet-1".into()),
                target_groups: vec![
                    "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/web/1".into(),
                ],
                ..Default::default()
            }),
            stop: None,
            path: vec![],
            passed: vec![],
        }
    }

    const SEED: &str = "AWSVPC_EC2_PUBLIC_NO_INBOUND";

    #[test]
    fn a_non_compliant_task_becomes_one_finding_per_rule_on_its_service() {
        let e = evaluation(
            Status::NonCompliant,
            &[
                (SEED, Severity::High),
                ("PORT_NOT_BEHIND_LB", Severity::Info),
            ],
        );
        let plan = export_plan(
            &e,
            Severity::High,
            &OpenRules::new(),
            "2026-01-02T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            plan.findings.len(),
            1,
            "only what the severity floor publishes"
        );
        let f = &plan.findings[0];
        let service = "arn:aws:ecs:us-east-1:111111111111:service/prod/web";
        assert_eq!(
            f.id,
            format!("ecs-inbound-guard/111111111111/us-east-1/{service}/{SEED}")
        );
        assert_eq!(
            f.product_arn,
            "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"
        );
        assert_eq!(f.generator_id, format!("ecs-inbound-guard/{SEED}"));
        assert_eq!((f.state, f.severity_label), (FindingState::Failed, "HIGH"));
        assert_eq!(f.created_at, "2026-01-02T00:00:00Z");
        assert!(f.description.chars().count() <= MAX_DESCRIPTION_CHARS);
        assert!(f.recommendation.chars().count() <= MAX_RECOMMENDATION_CHARS);
        assert!(!f.title.is_empty() && f.title != SEED);
        let kinds: Vec<&str> = f.resources.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["AwsEcsService", "Other", "Other", "Other"]);
        assert_eq!(f.resources[0].id, service);
        assert!(f.resources[1].id.ends_with("network-interface/eni-1"));
        assert_eq!(plan.open.keys().collect::<Vec<_>>(), [SEED]);
    }

    #[test]
    fn a_redeploy_keeps_the_first_seen_time_and_a_fix_archives_only_open_pairs() {
        let mut open = OpenRules::new();
        open.insert(SEED.into(), "2026-01-01T00:00:00Z".into());
        let again = export_plan(
            &evaluation(Status::NonCompliant, &[(SEED, Severity::High)]),
            Severity::High,
            &open,
            "2026-01-05T00:00:00Z",
        )
        .unwrap();
        assert_eq!(again.findings[0].created_at, "2026-01-01T00:00:00Z");
        assert_eq!(again.findings[0].updated_at, "2026-01-05T00:00:00Z");
        let fixed = export_plan(
            &evaluation(Status::Compliant, &[]),
            Severity::High,
            &open,
            "now",
        )
        .unwrap();
        assert_eq!(fixed.findings.len(), 1);
        assert_eq!(fixed.findings[0].state, FindingState::Resolved);
        assert_eq!(fixed.findings[0].id, again.findings[0].id);
        assert!(fixed.open.is_empty());
        // Nothing open, nothing to archive.
        let clean = export_plan(
            &evaluation(Status::Compliant, &[]),
            Severity::High,
            &OpenRules::new(),
            "now",
        )
        .unwrap();
        assert!(clean.findings.is_empty());
    }

    #[test]
    fn unknown_verdicts_stops_and_tasks_without_an_account_are_not_exported() {
        let mut open = OpenRules::new();
        open.insert(SEED.into(), "t".into());
        assert!(export_plan(
            &evaluation(Status::InsufficientData, &[]),
            Severity::High,
            &open,
            "now"
        )
        .is_none());
        assert!(export_plan(
            &evaluation(Status::NotApplicable, &[]),
            Severity::High,
            &open,
            "now"
        )
        .is_none());
        let mut e = evaluation(Status::NonCompliant, &[(SEED, Severity::High)]);
        e.resource_id = "arn:task/prod/1".into();
        assert!(export_plan(&e, Severity::High, &open, "now").is_none());
        let mut standalone = evaluation(Status::NonCompliant, &[(SEED, Severity::High)]);
        standalone.context.as_mut().unwrap().service = None;
        let plan = export_plan(&standalone, Severity::High, &OpenRules::new(), "now").unwrap();
        assert_eq!(plan.findings[0].resources[0].kind, "AwsEcsTask");
    }
}
