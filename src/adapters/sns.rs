//! SNS adapter: publishes alerts to the topic.

use crate::domain::api;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use tracing::instrument;

use crate::ports::{AlertPublish, PublishError};
use crate::render::sns::Alert;

/// Publishes to one SNS topic, with a client in the topic's own region.
#[derive(Clone, Debug)]
pub struct SnsAlerts {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsAlerts {
    /// A publisher for `topic_arn`, with a client in the topic's region
    /// ([`super::clients::ClientFactory::sns_for_topic`]).
    pub fn new(client: aws_sdk_sns::Client, topic_arn: &str) -> Self {
        SnsAlerts {
            client,
            topic_arn: topic_arn.to_string(),
        }
    }
}

impl AlertPublish for SnsAlerts {
    #[instrument(skip_all, fields(api = api::SNS_PUBLISH, topic = %self.topic_arn))]
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message_structure("json")
            .message(&alert.message_json);
        for attribute in &alert.attributes {
            let value = MessageAttributeValue::builder()
                .data_type(attribute.data_type)
                .string_value(&attribute.value)
                .build()
                .map_err(|e| PublishError(e.to_string()))?;
            request = request.message_attributes(attribute.name, value);
        }
        let out = request
            .send()
            .await
            .map_err(|e| PublishError(DisplayErrorContext(&e).to_string()))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}
