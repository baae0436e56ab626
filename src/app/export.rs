//! The Security Hub export use case: an evaluation's findings imported into the owning
//! account's Security Hub, the fixed ones archived, the open pairs kept in the dedup table. An
//! export never fails the invocation: refused findings (`FailedCount`, Security Hub disabled,
//! no access) and import errors are logged and counted (the Lambda turns the count into an EMF
//! metric); the SNS alert is unaffected.

use serde::Serialize;
use time::OffsetDateTime;
use tracing::{info, instrument, warn};

use crate::domain::evaluation::Evaluation;
use std::collections::HashSet;

use crate::domain::security_hub::{
    export_plan, finding_resource, ExportPlan, ExportedFinding, OpenRules, IMPORT_BATCH,
};
use crate::domain::text::rfc3339;
use crate::domain::verdict::Severity;
use crate::domain::verdict::Status;
use crate::ports::{FindingsImport, OpenFindings};

/// How findings are exported.
#[derive(Debug)]
pub struct Exporting<'a, I, O> {
    /// The importer (Security Hub).
    pub import: &'a I,
    /// The open-pairs store (the dedup table); without it nothing is ever archived.
    pub open: Option<&'a O>,
    /// The lowest severity exported (the alerts' floor).
    pub min_severity: Severity,
}

/// What an export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
    /// Findings Security Hub accepted (FAILED and PASSED ones).
    pub imported: usize,
    /// Findings it refused, or that could not be sent.
    pub failed: usize,
}

/// Exports `evaluation`'s findings (none for a verdict Security Hub does not get).
#[instrument(skip_all, fields(resource = %evaluation.resource_id))]
pub async fn export_findings<I: FindingsImport, O: OpenFindings>(
    evaluation: &Evaluation,
    exporting: &Exporting<'_, I, O>,
) -> ExportReport {
    export_many(std::slice::from_ref(evaluation), exporting).await
}

/// One resource's evaluations merged: its tasks' NON_COMPLIANT findings together (a service's
/// tasks share one finding per rule), else one COMPLIANT evaluation to close what is open.
fn merged(evaluations: &[&Evaluation]) -> Option<Evaluation> {
    let mut failing = evaluations
        .iter()
        .filter(|e| e.compliance == Status::NonCompliant);
    if let Some(first) = failing.next() {
        let mut merged = (*first).clone();
        for other in failing {
            for f in &other.findings {
                if !merged.findings.iter().any(|m| m.rule == f.rule) {
                    merged.findings.push(f.clone());
                }
            }
        }
        return Some(merged);
    }
    evaluations
        .iter()
        .find(|e| e.compliance == Status::Compliant)
        .map(|e| (*e).clone())
}

/// Exports many evaluations (an audit): one plan per resource, the findings of each (account,
/// region) imported in batches of ≤ 100 across resources.
#[instrument(skip_all, fields(evaluations = evaluations.len()))]
pub async fn export_many<I: FindingsImport, O: OpenFindings>(
    evaluations: &[Evaluation],
    exporting: &Exporting<'_, I, O>,
) -> ExportReport {
    // Group by the resource the findings are about, keeping the first-seen order.
    let mut resources: Vec<(String, String, String, Vec<&Evaluation>)> = Vec::new();
    for e in evaluations {
        let Some((resource, account, region, _)) = finding_resource(e) else {
            continue;
        };
        let key = format!("{account}/{region}/{}", resource.id);
        match resources.iter_mut().find(|(k, ..)| *k == key) {
            Some((.., group)) => group.push(e),
            None => resources.push((key, account, region, vec![e])),
        }
    }
    let now = rfc3339(OffsetDateTime::now_utc());
    // (account, region) → the plans whose findings go there.
    let mut by_target: Vec<((String, String), Vec<ExportPlan>)> = Vec::new();
    for (key, account, region, group) in resources {
        let Some(evaluation) = merged(&group) else {
            continue;
        };
        let open = match exporting.open {
            None => OpenRules::new(),
            Some(store) => store.open_rules(&key).await.unwrap_or_else(|e| {
                warn!(error = %e, "open findings unreadable: nothing is archived this time");
                OpenRules::new()
            }),
        };
        let Some(plan) = export_plan(&evaluation, exporting.min_severity, &open, &now) else {
            continue;
        };
        if plan.findings.is_empty() {
            continue;
        }
        let target = (account, region);
        match by_target.iter_mut().find(|(t, _)| *t == target) {
            Some((_, plans)) => plans.push(plan),
            None => by_target.push((target, vec![plan])),
        }
    }
    let mut report = ExportReport::default();
    for ((account, region), plans) in by_target {
        let findings: Vec<ExportedFinding> = plans
            .iter()
            .flat_map(|p| p.findings.iter().cloned())
            .collect();
        let mut refused: HashSet<String> = HashSet::new();
        for batch in findings.chunks(IMPORT_BATCH) {
            match exporting.import.import(&account, &region, batch).await {
                Ok(failures) => {
                    for r in &failures {
                        warn!(finding = %r.id, code = %r.code, message = %r.message, "Security Hub refused a finding");
                    }
                    report.failed += failures.len();
                    report.imported += batch.len() - failures.len();
                    refused.extend(failures.into_iter().map(|f| f.id));
                }
                Err(e) => {
                    warn!(error = %e, "Security Hub import failed");
                    report.failed += batch.len();
                    refused.extend(batch.iter().map(|f| f.id.clone()));
                }
            }
        }
        // A resource's pairs move only once Security Hub has all its findings: a refused one
        // is sent again next time.
        if let Some(store) = exporting.open {
            for plan in plans
                .iter()
                .filter(|p| p.findings.iter().all(|f| !refused.contains(&f.id)))
            {
                if let Err(e) = store.save_open_rules(&plan.resource, &plan.open).await {
                    warn!(error = %e, "open findings not saved");
                }
            }
        }
    }
    info!(
        imported = report.imported,
        failed = report.failed,
        "exported to Security Hub"
    );
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::security_hub::FindingState;
    use crate::domain::verdict::{Finding, Status};
    use crate::facts::fake::{FakeHub as Hub, FakeOpenFindings as Store};

    fn evaluation(task: &str, compliance: Status, rules: &[&'static str]) -> Evaluation {
        let mut e = crate::domain::security_hub::tests_support::evaluation(task, compliance);
        e.findings = rules
            .iter()
            .map(|rule| Finding {
                rule,
                severity: crate::domain::verdict::Severity::High,
                message: "m".into(),
                remediation: "r".into(),
            })
            .collect();
        e
    }

    #[tokio::test]
    async fn a_redeploy_updates_one_finding_and_a_fix_archives_it() {
        let (hub, store) = (Hub::default(), Store::default());
        let exporting = Exporting {
            import: &hub,
            open: Some(&store),
            min_severity: Severity::High,
        };
        let rule = "AWSVPC_EC2_PUBLIC_NO_INBOUND";
        // Two tasks of one service, then a redeploy: one finding id throughout.
        for task in ["t1", "t2", "t3"] {
            let r =
                export_findings(&evaluation(task, Status::NonCompliant, &[rule]), &exporting).await;
            assert_eq!(
                r,
                ExportReport {
                    imported: 1,
                    failed: 0
                }
            );
        }
        let fixed = export_findings(&evaluation("t4", Status::Compliant, &[]), &exporting).await;
        assert_eq!(fixed.imported, 1);
        // Fixed again: nothing is open, nothing sent.
        let again = export_findings(&evaluation("t5", Status::Compliant, &[]), &exporting).await;
        assert_eq!(again, ExportReport::default());
        let batches = hub.batches.lock().unwrap();
        let ids: Vec<&str> = batches.iter().flatten().map(|f| f.id.as_str()).collect();
        assert_eq!(ids.len(), 4);
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        let states: Vec<FindingState> = batches.iter().flatten().map(|f| f.state).collect();
        assert_eq!(states.last(), Some(&FindingState::Resolved));
        // First seen is kept across updates.
        let created: Vec<&str> = batches
            .iter()
            .flatten()
            .map(|f| f.created_at.as_str())
            .collect();
        assert!(created.iter().all(|c| *c == created[0]));
    }

    #[tokio::test]
    async fn refused_findings_are_counted_and_keep_the_pairs_for_a_retry() {
        let (hub, store) = (
            Hub {
                refuse: true,
                ..Default::default()
            },
            Store::default(),
        );
        let exporting = Exporting {
            import: &hub,
            open: Some(&store),
            min_severity: Severity::High,
        };
        let r = export_findings(
            &evaluation(
                "t1",
                Status::NonCompliant,
                &["AWSVPC_EC2_PUBLIC_NO_INBOUND"],
            ),
            &exporting,
        )
        .await;
        assert_eq!(
            r,
            ExportReport {
                imported: 0,
                failed: 1
            }
        );
        assert!(
            store.0.lock().unwrap().is_empty(),
            "nothing recorded as open"
        );
    }

    #[tokio::test]
    async fn an_audit_imports_in_batches_of_at_most_100_one_finding_per_service() {
        let hub = Hub::default();
        let store = Store::default();
        let exporting = Exporting {
            import: &hub,
            open: Some(&store),
            min_severity: Severity::High,
        };
        // 150 services, two tasks each: 150 findings, 2 batches.
        let mut evaluations = Vec::new();
        for i in 0..150 {
            for t in 0..2 {
                let mut e = evaluation(
                    &format!("t{i}-{t}"),
                    Status::NonCompliant,
                    &["AWSVPC_EC2_PUBLIC_NO_INBOUND"],
                );
                e.context.as_mut().unwrap().service = Some(format!("svc-{i}"));
                evaluations.push(e);
            }
        }
        let r = export_many(&evaluations, &exporting).await;
        assert_eq!(
            r,
            ExportReport {
                imported: 150,
                failed: 0
            }
        );
        let sizes: Vec<usize> = hub.batches.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 50]);
        assert_eq!(store.0.lock().unwrap().len(), 150);
    }
}
