//! The one client factory: SDK configuration loaded once (lazily: an out-of-scope event never
//! touches it), clients and readers keyed by (account, region). Every adapter gets its clients
//! here. In organisation mode a member account is read through its role: one AssumeRole per
//! account, its credentials cached (across regions) until shortly before they expire.

use crate::domain::api;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use tracing::{info, instrument};

use super::errors::classify;
use super::AwsReader;
use crate::domain::facts::Unreadable;
use crate::domain::org::{Access, Arn, Enrollment, ResourceScope};
use crate::facts::cache::CachingReader;
use crate::facts::limit::{ApiBudget, Limited};
use crate::ports::{ReadError, ReaderSource, Refused};

/// Assumed-role credentials are renewed this long before they expire.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
/// The session name member accounts see in CloudTrail.
const SESSION_NAME: &str = "ecs-inbound-guard";

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
        // Standard retries (exponential back-off with jitter on throttling) back the API budget
        // up. Not adaptive: its client-side rate limiter, starting from the low rate it has
        // measured right after init, delayed a retried call past the operation timeout
        // (tests/it/cli.rs, transient throttling).
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

/// The reader of one scope: the fact cache in front of the API budget in front of AWS.
pub type Reader = CachingReader<Limited<AwsReader>>;

/// A member account's role credentials: one AssumeRole, reused until shortly before expiry;
/// concurrent callers wait for the one call in flight.
#[derive(Debug)]
struct MemberCredentials {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl MemberCredentials {
    async fn get(&self) -> Result<Credentials, ReadError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|at| at > SystemTime::now() + RENEW_BEFORE_EXPIRY);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .send()
            .await
            .map_err(|e| classify(api::STS_ASSUME_ROLE, e))?;
        let Some(c) = out.credentials() else {
            return Err(ReadError::Failed {
                api: api::STS_ASSUME_ROLE,
                message: format!("AssumeRole of {} returned no credentials", self.role_arn),
            });
        };
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            SystemTime::try_from(*c.expiration()).ok(),
            "ecs-inbound-guard-member-role",
        );
        info!(role = %self.role_arn, "assumed the member role");
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

/// The SDK's view of [`MemberCredentials`].
#[derive(Debug, Clone)]
struct MemberProvider(Arc<MemberCredentials>);

impl ProvideCredentials for MemberProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.0.get().await.map_err(CredentialsError::provider_error)
        })
    }
}

/// Builds every SDK client of the process, once per (account, region).
#[derive(Debug)]
pub struct ClientFactory {
    region: Option<String>,
    profile: Option<String>,
    ttl: Duration,
    /// Every (account, region)'s reader calls AWS within this budget.
    budget: ApiBudget,
    enrollment: Enrollment,
    base: OnceCell<SdkConfig>,
    home_account: OnceCell<Option<String>>,
    readers: Mutex<HashMap<Scope, Arc<Reader>>>,
    members: Mutex<HashMap<String, Arc<MemberCredentials>>>,
}

impl ReaderSource for ClientFactory {
    type Reader = Reader;

    /// The reader for a resource's scope, with own or member-role credentials as the
    /// enrollment decides.
    async fn reader_for(&self, scope: &ResourceScope) -> Result<Arc<Reader>, Refused> {
        let (key, sdk_config) = self.scoped_config(scope).await?;
        Ok(self.cached_reader(key, &sdk_config))
    }

    async fn own_reader(&self) -> Arc<Reader> {
        self.reader(&Scope::default()).await
    }
}

impl ClientFactory {
    /// A factory for the given default region and profile (`None`: the SDK's default chain);
    /// readers cache mutable facts for `ttl`.
    pub fn new(region: Option<String>, profile: Option<String>, ttl: Duration) -> Self {
        ClientFactory {
            region,
            profile,
            ttl,
            enrollment: Enrollment::default(),
            budget: ApiBudget::UNLIMITED,
            base: OnceCell::new(),
            home_account: OnceCell::new(),
            readers: Mutex::new(HashMap::new()),
            members: Mutex::new(HashMap::new()),
        }
    }

    /// The same factory with an API budget per execution environment (the Lambda's).
    pub fn with_budget(mut self, budget: ApiBudget) -> Self {
        self.budget = budget;
        self
    }

    /// The same factory in organisation mode: member accounts through their role.
    pub fn with_enrollment(mut self, enrollment: Enrollment) -> Self {
        self.enrollment = enrollment;
        self
    }

    /// Who may be read, and how.
    pub fn enrollment(&self) -> &Enrollment {
        &self.enrollment
    }

    /// The caller's own account: the configured one, else (once) STS GetCallerIdentity, which
    /// needs no permission. Organisation mode asks it before assuming roles; the CLI asks it
    /// beside a check of a resource that names an account, so that another account's event is
    /// never answered with this account's namesakes.
    #[instrument(skip(self))]
    pub async fn home_account(&self) -> Option<String> {
        if let Some(home) = &self.enrollment.home_account {
            return Some(home.clone());
        }
        self.home_account
            .get_or_init(|| async {
                let sts = aws_sdk_sts::Client::new(self.sdk_config().await);
                let out = sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| classify(api::STS_GET_CALLER_IDENTITY, e));
                out.ok().and_then(|o| o.account().map(str::to_string))
            })
            .await
            .clone()
    }

    /// The reader of `key`, built from `sdk_config` the first time.
    fn cached_reader(&self, key: Scope, sdk_config: &SdkConfig) -> Arc<Reader> {
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        readers
            .entry(key)
            .or_insert_with(|| {
                let limited = Limited::new(AwsReader::new(sdk_config), self.budget);
                Arc::new(CachingReader::new(limited, self.ttl))
            })
            .clone()
    }

    /// A Security Hub client of the account and region that own a resource (findings are
    /// imported there: the default product ARN requires the caller to be that account).
    pub async fn security_hub_for(
        &self,
        scope: &ResourceScope,
    ) -> Result<aws_sdk_securityhub::Client, Refused> {
        let (_, sdk_config) = self.scoped_config(scope).await?;
        Ok(aws_sdk_securityhub::Client::new(&sdk_config))
    }

    /// The SDK configuration of a scope and its cache key: own credentials, or the member
    /// account's role credentials (the role is assumed first, once per account, so a refusal
    /// is known before any call).
    async fn scoped_config(&self, scope: &ResourceScope) -> Result<(Scope, SdkConfig), Refused> {
        let access = if self.enrollment.is_central() {
            Enrollment {
                home_account: self.home_account().await,
                ..self.enrollment.clone()
            }
            .access(scope)
        } else {
            // One account: the configured home account (the template sets it) refuses another
            // account's resources; without one (the CLI), every resource is read as own.
            self.enrollment.access(scope)
        };
        let sdk_config = self.sdk_config_in(scope.region.as_deref()).await;
        let region = sdk_config.region().map(|r| r.to_string());
        let (account, role_arn) = match access {
            Access::Own => {
                return Ok((
                    Scope {
                        account: None,
                        region,
                    },
                    sdk_config,
                ))
            }
            Access::NotEnrolled { account } => return Err(Refused::NotEnrolled(account)),
            Access::Member { account, role_arn } => (account, role_arn),
        };
        let credentials = {
            let mut members = self.members.lock().unwrap_or_else(|e| e.into_inner());
            members
                .entry(account.clone())
                .or_insert_with(|| {
                    Arc::new(MemberCredentials {
                        sts: aws_sdk_sts::Client::new(&sdk_config),
                        role_arn: role_arn.clone(),
                        cached: tokio::sync::Mutex::new(None),
                    })
                })
                .clone()
        };
        match credentials.get().await {
            Ok(_) => {}
            Err(ReadError::Unreadable(u)) => {
                return Err(Refused::Denied(Unreadable {
                    api: api::STS_ASSUME_ROLE,
                    reason: format!("cannot assume {role_arn}: {}", u.reason),
                }))
            }
            Err(e) => return Err(Refused::Failed(e)),
        }
        let member_config = sdk_config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(MemberProvider(credentials)))
            .build();
        Ok((
            Scope {
                account: Some(account),
                region,
            },
            member_config,
        ))
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

    /// The cached fact reader of `scope` with the caller's own credentials, built once and
    /// reused across Lambda invocations.
    pub async fn reader(&self, scope: &Scope) -> Arc<Reader> {
        let sdk_config = self.sdk_config_in(scope.region.as_deref()).await;
        let key = Scope {
            account: scope.account.clone(),
            region: sdk_config.region().map(|r| r.to_string()),
        };
        self.cached_reader(key, &sdk_config)
    }

    /// An SNS client in the region of `topic_arn` (`arn:aws:sns:<region>:<account>:<name>`).
    pub async fn sns_for_topic(&self, topic_arn: &str) -> aws_sdk_sns::Client {
        let region = Arn::parse(topic_arn).and_then(|arn| arn.region_name());
        aws_sdk_sns::Client::new(&self.sdk_config_in(region).await)
    }

    /// A DynamoDB client in the default region.
    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(self.sdk_config().await)
    }

    /// An AWS Organizations client (CLI `audit --organization`).
    pub async fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(self.sdk_config().await)
    }

    /// An EC2 client of the caller's own account in the default region.
    pub async fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(self.sdk_config().await)
    }

    /// An AWS Lambda client in the default region (the Config scan's fan-out).
    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(self.sdk_config().await)
    }

    /// An AWS Config client in the default region.
    pub async fn config_service(&self) -> aws_sdk_config::Client {
        aws_sdk_config::Client::new(self.sdk_config().await)
    }
}
