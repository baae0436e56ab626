//! Security Hub: findings imported (BatchImportFindings) into the account that owns the
//! resource, with that account's credentials (the member role in organisation mode).

use crate::domain::api;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields,
    FindingProviderSeverity, Recommendation, RecordState, Remediation, Resource, Severity,
    SeverityLabel,
};
use std::sync::Arc;

use tracing::instrument;

use super::clients::ClientFactory;
use super::errors::classify;
use crate::domain::org::{Arn, ResourceScope};
use crate::domain::security_hub::{ExportedFinding, FindingState, FINDING_TYPE, SCHEMA_VERSION};
use crate::ports::Refused;
use crate::ports::{FindingsImport, ImportFailure, ReadError};

/// Imports through the client factory: a client per owning account and region. It shares
/// the factory (and so its member-role credentials) with the readers.
#[derive(Debug, Clone)]
pub struct SecurityHubFindings {
    clients: Arc<ClientFactory>,
}

impl SecurityHubFindings {
    /// Imports with the factory's credentials (own, or member roles).
    pub fn new(clients: Arc<ClientFactory>) -> Self {
        SecurityHubFindings { clients }
    }
}

fn invalid(message: String) -> ReadError {
    ReadError::Failed {
        api: api::SECURITYHUB_BATCH_IMPORT_FINDINGS,
        message,
    }
}

fn to_sdk(f: &ExportedFinding) -> Result<AwsSecurityFinding, ReadError> {
    let label = SeverityLabel::from(f.severity_label);
    let (status, record) = match f.state {
        FindingState::Failed => (ComplianceStatus::Failed, RecordState::Active),
        FindingState::Resolved => (ComplianceStatus::Passed, RecordState::Archived),
    };
    let mut resources = Vec::with_capacity(f.resources.len());
    for r in &f.resources {
        resources.push(
            Resource::builder()
                .r#type(r.kind)
                .id(&r.id)
                .region(&f.region)
                .partition(
                    Arn::parse(&r.id)
                        .map_or("aws", |a| a.partition)
                        .parse()
                        .unwrap_or(aws_sdk_securityhub::types::Partition::Aws),
                )
                .build(),
        );
    }
    Ok(AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.account)
        .region(&f.region)
        .created_at(&f.created_at)
        .updated_at(&f.updated_at)
        .title(&f.title)
        .description(&f.description)
        .types(FINDING_TYPE)
        .severity(Severity::builder().label(label.clone()).build())
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(FindingProviderSeverity::builder().label(label).build())
                .types(FINDING_TYPE)
                .build(),
        )
        .remediation(
            Remediation::builder()
                .recommendation(Recommendation::builder().text(&f.recommendation).build())
                .build(),
        )
        .compliance(Compliance::builder().status(status).build())
        .record_state(record)
        .set_resources(Some(resources))
        .build())
}

impl FindingsImport for SecurityHubFindings {
    #[instrument(skip(self, batch), fields(api = api::SECURITYHUB_BATCH_IMPORT_FINDINGS, count = batch.len()))]
    async fn import(
        &self,
        account: &str,
        region: &str,
        batch: &[ExportedFinding],
    ) -> Result<Vec<ImportFailure>, ReadError> {
        let scope = ResourceScope {
            account: Some(account.to_string()),
            region: Some(region.to_string()),
            partition: batch
                .first()
                .and_then(|f| Arn::parse(&f.product_arn).map(|a| a.partition.to_string()))
                .unwrap_or_else(|| "aws".into()),
        };
        let client = match self.clients.security_hub_for(&scope).await {
            Ok(client) => client,
            Err(Refused::NotEnrolled(a)) => {
                return Err(invalid(format!("account {a} is not enrolled")))
            }
            Err(Refused::Denied(u)) => return Err(ReadError::Unreadable(u)),
            Err(Refused::Failed(e)) => return Err(e),
        };
        let findings = batch.iter().map(to_sdk).collect::<Result<Vec<_>, _>>()?;
        let out = client
            .batch_import_findings()
            .set_findings(Some(findings))
            .send()
            .await
            .map_err(|e| classify(api::SECURITYHUB_BATCH_IMPORT_FINDINGS, e))?;
        Ok(out
            .failed_findings()
            .iter()
            .map(|f| ImportFailure {
                id: f.id().unwrap_or_default().to_string(),
                code: f.error_code().unwrap_or_default().to_string(),
                message: f.error_message().unwrap_or_default().to_string(),
            })
            .collect())
    }
}
