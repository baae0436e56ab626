//! AWS Lambda: the Config scan's fan-out, one asynchronous invocation of the function itself
//! per work item (its failures land in the function's on-failure queue like any event's).

use crate::domain::api;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use tracing::instrument;

use super::errors::classify;
use crate::domain::config_rule::{work_payload, WorkItem};
use crate::ports::{ReadError, WorkDispatch};

/// Invokes `function` asynchronously.
#[derive(Debug, Clone)]
pub struct LambdaDispatch {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaDispatch {
    /// Dispatches to `function` (its name or ARN).
    pub fn new(client: aws_sdk_lambda::Client, function: &str) -> Self {
        LambdaDispatch {
            client,
            function: function.to_string(),
        }
    }
}

impl WorkDispatch for LambdaDispatch {
    #[instrument(skip(self), fields(api = api::LAMBDA_INVOKE_FUNCTION))]
    async fn dispatch(&self, item: &WorkItem) -> Result<(), ReadError> {
        let payload = serde_json::to_vec(&work_payload(item)).map_err(|e| ReadError::Failed {
            api: api::LAMBDA_INVOKE_FUNCTION,
            message: e.to_string(),
        })?;
        self.client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(api::LAMBDA_INVOKE_FUNCTION, e))
    }
}
