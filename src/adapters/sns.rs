//! SNS adapter: publishes alerts to the topic.

use aws_config::{Region, SdkConfig};
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use tracing::instrument;

use crate::domain::alert::Alert;
use crate::ports::{AlertPublish, PublishError};

/// Publishes to one SNS topic, with a client in the topic's own region.
#[derive(Clone, Debug)]
pub struct SnsAlerts {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsAlerts {
    /// A publisher for `topic_arn` (`arn:aws:sns:<region>:<account>:<name>`).
    pub fn new(config: &SdkConfig, topic_arn: &str) -> Self {
        let topic_region = topic_arn.split(':').nth(3).filter(|r| !r.is_empty());
        let client = match topic_region {
            Some(region) if config.region().map(|r| r.as_ref()) != Some(region) => {
                let config = config
                    .to_builder()
                    .region(Region::new(region.to_string()))
                    .build();
                aws_sdk_sns::Client::new(&config)
            }
            _ => aws_sdk_sns::Client::new(config),
        };
        SnsAlerts {
            client,
            topic_arn: topic_arn.to_string(),
        }
    }
}

impl AlertPublish for SnsAlerts {
    #[instrument(skip_all, fields(api = "sns:Publish", topic = %self.topic_arn))]
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
