//! DynamoDB adapter for alert dedup: the two-phase idempotency record (as Powertools does).
//! `id` (S) is the dedup key, `status` IN_PROGRESS / COMPLETE, `expiration` (N, epoch seconds)
//! is the table's TTL attribute. The same table keeps the open (resource, rule) pairs of the
//! Security Hub export: `id` = `open#{account}/{region}/{resource}`, `rules` a JSON object
//! rule → first seen.

use crate::domain::api;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;
use tracing::instrument;

use crate::domain::security_hub::OpenRules;
use crate::ports::{AlertDedup, Claim, DedupError, OpenFindings};

/// Open pairs of a resource that is evaluated no more are forgotten after this long.
pub const OPEN_FINDINGS_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

fn open_key(resource: &str) -> String {
    format!("open#{resource}")
}

/// How long an IN_PROGRESS claim blocks others (longer than a publish with retries).
pub const IN_PROGRESS_EXPIRY: Duration = Duration::from_secs(60);
/// Default dedup window for COMPLETE records.
pub const DEFAULT_DEDUP_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest dedup window the settings accept (30 days; the template's `MaxValue`).
pub const MAX_DEDUP_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

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

/// Epoch seconds `d` from now; saturating, so no duration can panic after a publish (the
/// settings cap the TTL at [`MAX_DEDUP_TTL`] anyway).
fn epoch_after(d: Duration) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    now.as_secs().saturating_add(d.as_secs()).to_string()
}

fn error<E, R>(api: &str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> DedupError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    DedupError(format!("{api}: {}", DisplayErrorContext(&e)))
}

impl AlertDedup for DynamoDedup {
    #[instrument(skip(self), fields(api = api::DYNAMODB_PUT_ITEM))]
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
            Err(e) => Err(error(api::DYNAMODB_PUT_ITEM, e)),
        }
    }

    #[instrument(skip(self), fields(api = api::DYNAMODB_UPDATE_ITEM))]
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
            .map_err(|e| error(api::DYNAMODB_UPDATE_ITEM, e))
    }

    #[instrument(skip(self), fields(api = api::DYNAMODB_DELETE_ITEM))]
    async fn release(&self, key: &str) -> Result<(), DedupError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error(api::DYNAMODB_DELETE_ITEM, e))
    }
}

impl OpenFindings for DynamoDedup {
    #[instrument(skip(self), fields(api = api::DYNAMODB_GET_ITEM))]
    async fn open_rules(&self, resource: &str) -> Result<OpenRules, DedupError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(open_key(resource)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error(api::DYNAMODB_GET_ITEM, e))?;
        let Some(AttributeValue::S(json)) = out.item().and_then(|i| i.get("rules")) else {
            return Ok(OpenRules::new());
        };
        serde_json::from_str(json)
            .map_err(|e| DedupError(format!("open findings of {resource} unreadable: {e}")))
    }

    #[instrument(skip(self, open), fields(api = api::DYNAMODB_PUT_ITEM))]
    async fn save_open_rules(&self, resource: &str, open: &OpenRules) -> Result<(), DedupError> {
        if open.is_empty() {
            return self.release(&open_key(resource)).await;
        }
        let json = serde_json::to_string(open).unwrap_or_else(|_| "{}".into());
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(open_key(resource)))
            .item("rules", AttributeValue::S(json))
            .item(
                "expiration",
                AttributeValue::N(epoch_after(OPEN_FINDINGS_TTL)),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error(api::DYNAMODB_PUT_ITEM, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_duration_saturates_instead_of_panicking() {
        let far: u64 = epoch_after(Duration::MAX).parse().unwrap();
        assert_eq!(far, u64::MAX);
        let day: u64 = epoch_after(Duration::from_secs(86_400)).parse().unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!((now + 86_390..=now + 86_410).contains(&day));
    }
}
