//! DynamoDB adapter for alert dedup: the two-phase idempotency record (as Powertools does).
//! `id` (S) is the dedup key, `status` IN_PROGRESS / COMPLETE, `expiration` (N, epoch seconds)
//! is the table's TTL attribute.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;
use tracing::instrument;

use crate::ports::{AlertDedup, Claim, DedupError};

/// How long an IN_PROGRESS claim blocks others (longer than a publish with retries).
pub const IN_PROGRESS_EXPIRY: Duration = Duration::from_secs(60);
/// Default dedup window for COMPLETE records.
pub const DEFAULT_DEDUP_TTL: Duration = Duration::from_secs(24 * 3600);

/// The dedup table.
#[derive(Clone, Debug)]
pub struct DynamoDedup {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
}

impl DynamoDedup {
    /// A store on `table`, keeping COMPLETE records for `ttl`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str, ttl: Duration) -> Self {
        DynamoDedup {
            client,
            table: table.to_string(),
            ttl,
        }
    }
}

fn epoch_after(d: Duration) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (now + d).as_secs().to_string()
}

fn error<E, R>(api: &str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> DedupError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    DedupError(format!("{api}: {}", DisplayErrorContext(&e)))
}

impl AlertDedup for DynamoDedup {
    #[instrument(skip(self), fields(api = "dynamodb:PutItem"))]
    async fn claim(&self, key: &str) -> Result<Claim, DedupError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(key.to_string()))
            .item("status", AttributeValue::S("IN_PROGRESS".into()))
            .item(
                "expiration",
                AttributeValue::N(epoch_after(IN_PROGRESS_EXPIRY)),
            )
            // A record whose expiration passed counts as absent (TTL deletion is lazy).
            .condition_expression("attribute_not_exists(id) OR expiration < :now")
            .expression_attribute_values(":now", AttributeValue::N(epoch_after(Duration::ZERO)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(Claim::Duplicate),
            Err(e) => Err(error("dynamodb:PutItem", e)),
        }
    }

    #[instrument(skip(self), fields(api = "dynamodb:UpdateItem"))]
    async fn complete(&self, key: &str) -> Result<(), DedupError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_string()))
            .update_expression("SET #s = :done, expiration = :exp")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":done", AttributeValue::S("COMPLETE".into()))
            .expression_attribute_values(":exp", AttributeValue::N(epoch_after(self.ttl)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error("dynamodb:UpdateItem", e))
    }

    #[instrument(skip(self), fields(api = "dynamodb:DeleteItem"))]
    async fn release(&self, key: &str) -> Result<(), DedupError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error("dynamodb:DeleteItem", e))
    }
}
