//! The one client factory: SDK configuration loaded once (lazily: an out-of-scope event never
//! touches it), clients and readers keyed by (account, region). Every adapter gets its clients
//! here. Today the account is always the caller's own; the organisation mode adds member
//! accounts through the same key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

use super::AwsReader;
use crate::facts::cache::CachingReader;

/// Per-attempt timeout: well under the Lambda timeout, so a hung call is retried, not waited on.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Whole-operation timeout including retries.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads the SDK configuration from the standard chain (env, profile, IMDS/container role),
/// honouring `AWS_ENDPOINT_URL*`, with bounded timeouts and standard retries.
pub async fn load_sdk_config(region: Option<String>, profile: Option<String>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(4));
    if let Some(region) = region {
        loader = loader.region(Region::new(region));
    }
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// Where facts are read: an account (`None` = the caller's own) and a region (`None` = the
/// configured default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    /// AWS account id.
    pub account: Option<String>,
    /// AWS region.
    pub region: Option<String>,
}

impl Scope {
    /// The caller's account in `region`.
    pub fn region(region: Option<&str>) -> Self {
        Scope {
            account: None,
            region: region.map(str::to_string),
        }
    }
}

/// The cached reader of one scope.
pub type Reader = CachingReader<AwsReader>;

/// Builds every SDK client of the process, once per (account, region).
#[derive(Debug)]
pub struct ClientFactory {
    region: Option<String>,
    profile: Option<String>,
    ttl: Duration,
    base: OnceCell<SdkConfig>,
    readers: Mutex<HashMap<Scope, Arc<Reader>>>,
}

impl ClientFactory {
    /// A factory for the given default region and profile (`None`: the SDK's default chain);
    /// readers cache mutable facts for `ttl`.
    pub fn new(region: Option<String>, profile: Option<String>, ttl: Duration) -> Self {
        ClientFactory {
            region,
            profile,
            ttl,
            base: OnceCell::new(),
            readers: Mutex::new(HashMap::new()),
        }
    }

    /// The base SDK configuration, loaded on first use.
    pub async fn sdk_config(&self) -> &SdkConfig {
        self.base
            .get_or_init(|| load_sdk_config(self.region.clone(), self.profile.clone()))
            .await
    }

    /// The SDK configuration for `region` (the base one when `None` or the same).
    pub async fn sdk_config_in(&self, region: Option<&str>) -> SdkConfig {
        let base = self.sdk_config().await;
        match region {
            Some(r) if base.region().map(|b| b.as_ref()) != Some(r) => {
                base.to_builder().region(Region::new(r.to_string())).build()
            }
            _ => base.clone(),
        }
    }

    /// The cached fact reader of `scope`, built once and reused across Lambda invocations.
    pub async fn reader(&self, scope: &Scope) -> Arc<Reader> {
        let sdk_config = self.sdk_config_in(scope.region.as_deref()).await;
        let key = Scope {
            account: scope.account.clone(),
            region: sdk_config.region().map(|r| r.to_string()),
        };
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        readers
            .entry(key)
            .or_insert_with(|| Arc::new(CachingReader::new(AwsReader::new(&sdk_config), self.ttl)))
            .clone()
    }

    /// An SNS client in the region of `topic_arn` (`arn:aws:sns:<region>:<account>:<name>`).
    pub async fn sns_for_topic(&self, topic_arn: &str) -> aws_sdk_sns::Client {
        let region = topic_arn.split(':').nth(3).filter(|r| !r.is_empty());
        aws_sdk_sns::Client::new(&self.sdk_config_in(region).await)
    }

    /// A DynamoDB client in the default region.
    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(self.sdk_config().await)
    }

    /// An AWS Config client in the default region.
    pub async fn config_service(&self) -> aws_sdk_config::Client {
        aws_sdk_config::Client::new(self.sdk_config().await)
    }
}
