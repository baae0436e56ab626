//! AWS Config (the service) adapter: PutEvaluations.

use crate::domain::api;
use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::{ComplianceType, Evaluation};
use tracing::instrument;

use super::errors::classify;
use crate::domain::config_rule::ConfigEvaluation;
use crate::ports::{EvaluationsPut, ReadError};

/// The Config client.
#[derive(Clone, Debug)]
pub struct ConfigEvaluations {
    client: aws_sdk_config::Client,
}

impl ConfigEvaluations {
    /// Reports through `client`.
    pub fn new(client: aws_sdk_config::Client) -> Self {
        ConfigEvaluations { client }
    }
}

fn to_sdk(e: &ConfigEvaluation) -> Result<Evaluation, ReadError> {
    let at = DateTime::from_str(
        &e.ordering_timestamp,
        aws_sdk_config::primitives::DateTimeFormat::DateTimeWithOffset,
    )
    .or_else(|_| {
        DateTime::from_str(
            &e.ordering_timestamp,
            aws_sdk_config::primitives::DateTimeFormat::DateTime,
        )
    })
    .unwrap_or_else(|_| DateTime::from(std::time::SystemTime::now()));
    Evaluation::builder()
        .compliance_resource_type(&e.compliance_resource_type)
        .compliance_resource_id(&e.compliance_resource_id)
        .compliance_type(ComplianceType::from(e.compliance_type))
        .annotation(&e.annotation)
        .ordering_timestamp(at)
        .build()
        .map_err(|err| ReadError::Failed {
            api: api::CONFIG_PUT_EVALUATIONS,
            message: err.to_string(),
        })
}

impl EvaluationsPut for ConfigEvaluations {
    #[instrument(skip(self, result_token, batch), fields(api = api::CONFIG_PUT_EVALUATIONS, count = batch.len()))]
    async fn put_evaluations(
        &self,
        result_token: &str,
        batch: &[ConfigEvaluation],
    ) -> Result<usize, ReadError> {
        let evaluations = batch.iter().map(to_sdk).collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_evaluations()
            .result_token(result_token)
            .set_evaluations(Some(evaluations))
            .send()
            .await
            .map_err(|e| classify(api::CONFIG_PUT_EVALUATIONS, e))?;
        Ok(out.failed_evaluations().len())
    }
}
