//! Typed settings, read by clap from flags and environment variables: the same structs serve
//! the CLI (flags, with env fallbacks) and the Lambda (environment only, parsed at init so a
//! bad value fails the cold start with a clear message).

use std::time::Duration;

use clap::error::ContextKind;
use clap::{ArgAction, Args, Command, CommandFactory, FromArgMatches, Parser};

use crate::adapters::clients::ClientFactory;
use crate::adapters::dynamodb::{DynamoDedup, DEFAULT_DEDUP_TTL, MAX_DEDUP_TTL};
use crate::adapters::sns::SnsAlerts;
use crate::domain::org::{is_account_id, Enrollment};
use crate::domain::verdict::Severity;
use crate::facts::cache::DEFAULT_TTL;
use crate::facts::limit::ApiBudget;

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// A 12-digit AWS account id (surrounding blanks ignored).
pub fn parse_account(s: &str) -> Result<String, String> {
    let s = s.trim();
    if is_account_id(s) {
        Ok(s.to_string())
    } else {
        Err(format!("'{s}' is not a 12-digit AWS account id"))
    }
}

/// An IAM role name as IAM accepts it (`[\w+=,.@-]{1,64}`), so a bad value fails at start-up
/// rather than in every AssumeRole.
fn parse_role_name(s: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if valid {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{}' is not an IAM role name (1 to 64 of A-Z a-z 0-9 _ + = , . @ -)",
            s.escape_debug()
        ))
    }
}

/// The one rule for every setting read from the environment: a variable that is set but empty
/// (or blank) counts as not set, so the setting's default applies. Lambda passes a template's
/// `""` parameters through as empty values; they must not fail the cold start.
pub fn without_empty_environment(command: Command) -> Command {
    let command = command.mut_args(|arg| {
        let blank = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| value.to_string_lossy().trim().is_empty());
        if blank {
            arg.env(None::<&'static str>)
        } else {
            arg
        }
    });
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    names.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, without_empty_environment)
    })
}

/// A settings error in the words of the operator who set the environment: the variable's name
/// instead of the flag's (`MEMBER_ACCOUNTS`, not `--member-accounts <IDS>`), on one line.
fn naming_the_variable(command: &Command, error: &clap::Error) -> String {
    let rendered = error.to_string();
    let first = rendered
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    let Some(invalid) = error.get(ContextKind::InvalidArg).map(|a| a.to_string()) else {
        return first;
    };
    let variable = command.get_arguments().find_map(|arg| {
        let long = format!("--{}", arg.get_long()?);
        let named = invalid == long || invalid.starts_with(&format!("{long} "));
        named.then(|| arg.get_env()).flatten()
    });
    match variable {
        Some(name) => first.replace(&format!("'{invalid}'"), &name.to_string_lossy()),
        None => first,
    }
}

/// Organisation mode: member accounts read through their role.
#[derive(Debug, Clone, Default, Args)]
pub struct OrgSettings {
    /// The read-only role every member account has (organisation mode; empty: one account).
    #[arg(long = "role-name", env = "MEMBER_ROLE_NAME", value_parser = parse_role_name, value_name = "NAME")]
    pub member_role_name: Option<String>,
    /// The member accounts that may be read, comma-separated (empty: every account whose
    /// events reach the function).
    #[arg(
        long = "member-accounts",
        env = "MEMBER_ACCOUNTS",
        value_delimiter = ',',
        value_parser = parse_account,
        value_name = "IDS"
    )]
    pub member_accounts: Vec<String>,
    /// The account this runs in: its own resources are read with its own credentials
    /// (default: STS GetCallerIdentity, in organisation mode only).
    #[arg(long = "home-account", env = "HOME_ACCOUNT_ID", value_parser = parse_account, value_name = "ID")]
    pub home_account: Option<String>,
}

impl OrgSettings {
    /// Who may be read, and how.
    pub fn enrollment(&self) -> Enrollment {
        Enrollment {
            home_account: self.home_account.clone(),
            member_role: self.member_role_name.clone(),
            allowed_accounts: self.member_accounts.clone(),
        }
    }
}

/// Where to read AWS facts.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsSettings {
    /// AWS region (default: the event's region, else the SDK's default chain).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS named profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// Organisation mode.
    #[command(flatten)]
    pub org: OrgSettings,
}

impl AwsSettings {
    /// The one client factory of the process (configuration is loaded on first use).
    pub fn client_factory(&self) -> ClientFactory {
        ClientFactory::new(self.region.clone(), self.profile.clone(), DEFAULT_TTL)
            .with_enrollment(self.org.enrollment())
    }
}

/// How alerts are published: the topic, and what every finding consumer shares.
#[derive(Debug, Clone, Args)]
pub struct AlertSettings {
    /// SNS topic the alerts go to.
    #[arg(long, env = "ALERT_TOPIC_ARN", value_name = "ARN")]
    pub topic_arn: Option<String>,
    /// Dedup, severity floor and Security Hub export.
    #[command(flatten)]
    pub findings: FindingSettings,
}

impl AlertSettings {
    /// The SNS publisher for `topic_arn`, with a client in the topic's region.
    pub async fn publisher(&self, clients: &ClientFactory, topic_arn: &str) -> SnsAlerts {
        SnsAlerts::new(clients.sns_for_topic(topic_arn).await, topic_arn)
    }
}

/// What the alerts, the audit and the Security Hub export share: the dedup table (one alert
/// per deploy; the open findings), the severity floor, the export switch.
#[derive(Debug, Clone, Args)]
pub struct FindingSettings {
    /// DynamoDB table for alert dedup (one alert per deploy) and the open Security Hub findings.
    #[arg(long, env = "DEDUP_TABLE_NAME", value_name = "TABLE")]
    pub dedup_table: Option<String>,
    /// How long a sent alert suppresses its duplicates (60 s to 30 days).
    #[arg(
        long,
        env = "DEDUP_TTL_SECONDS",
        default_value_t = DEFAULT_DEDUP_TTL.as_secs(),
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(60..=MAX_DEDUP_TTL.as_secs())
    )]
    pub dedup_ttl_seconds: u64,
    /// Lowest finding severity that is published or exported (HIGH = NON_COMPLIANT tasks only).
    #[arg(long, env = "MIN_SEVERITY", default_value = "HIGH", value_parser = parse_severity)]
    pub min_severity: Severity,
    /// Also import the findings into AWS Security Hub (of the account that owns the task).
    #[arg(long = "security-hub", env = "SECURITY_HUB_EXPORT", action = ArgAction::SetTrue)]
    pub security_hub: bool,
}

impl FindingSettings {
    /// The dedup table, if one is named.
    pub fn dedup_table(&self) -> Option<&str> {
        self.dedup_table.as_deref().filter(|t| !t.is_empty())
    }

    /// How long a sent alert suppresses its duplicates.
    pub fn dedup_ttl(&self) -> Duration {
        Duration::from_secs(self.dedup_ttl_seconds)
    }

    /// The dedup store, when a table is named.
    pub async fn dedup(&self, clients: &ClientFactory) -> Option<DynamoDedup> {
        let table = self.dedup_table()?;
        Some(DynamoDedup::new(
            clients.dynamodb().await,
            table,
            self.dedup_ttl(),
        ))
    }
}

/// The Lambda function's settings: its environment variables.
#[derive(Debug, Clone, Parser)]
#[command(name = "ecs-inbound-guard-lambda")]
pub struct LambdaSettings {
    /// Alerting.
    #[command(flatten)]
    pub alerts: AlertSettings,
    /// Organisation mode (central deployment).
    #[command(flatten)]
    pub org: OrgSettings,
    /// Config rule mode: a scheduled scan hands its services, in shares, to asynchronous
    /// invocations of this function (lambda:InvokeFunction on itself).
    #[arg(long, env = "CONFIG_FAN_OUT", default_value_t = false, action = ArgAction::Set)]
    pub config_fan_out: bool,
    /// Calls a second each AWS service read (EC2, ECS, Elastic Load Balancing) may get from one
    /// execution environment, after the burst: the account's API budget is shared with every
    /// other caller (docs/operations.md has the arithmetic).
    #[arg(long, env = "API_CALLS_PER_SECOND", default_value_t = 1.0, value_parser = parse_rate, value_name = "RATE")]
    pub api_calls_per_second: f64,
    /// Calls each AWS service may get at once after a quiet spell (the bucket's size).
    #[arg(long, env = "API_BURST", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100), value_name = "CALLS")]
    pub api_burst: u32,
    /// This function's name (set by Lambda): where the fan-out sends its work items.
    #[arg(long, env = "AWS_LAMBDA_FUNCTION_NAME")]
    pub function_name: Option<String>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(rate) if (0.1..=100.0).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "'{s}' is not a rate between 0.1 and 100 calls a second"
        )),
    }
}

impl LambdaSettings {
    /// The API budget of one execution environment.
    pub fn api_budget(&self) -> ApiBudget {
        ApiBudget {
            rate: self.api_calls_per_second,
            burst: f64::from(self.api_burst),
        }
    }

    /// Reads the settings from the environment (empty values count as not set); an error
    /// names the variable to fix.
    pub fn from_env() -> Result<Self, String> {
        let command = without_empty_environment(Self::command());
        let settings = command
            .clone()
            .try_get_matches_from(["ecs-inbound-guard-lambda"])
            .and_then(|matches| Self::from_arg_matches(&matches))
            .map_err(|e| naming_the_variable(&command, &e))?;
        if settings.alerts.topic_arn.is_none() {
            return Err(
                "ALERT_TOPIC_ARN is not set: the function has nowhere to publish alerts".into(),
            );
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_settings_come_from_the_environment_with_defaults() {
        let s = LambdaSettings::try_parse_from(["x"]).unwrap();
        assert_eq!(s.alerts.findings.dedup_ttl_seconds, 86_400);
        assert_eq!(s.alerts.findings.min_severity, Severity::High);
        let s =
            LambdaSettings::try_parse_from(["x", "--min-severity", "medium", "--dedup-table", ""])
                .unwrap();
        assert_eq!(s.alerts.findings.min_severity, Severity::Medium);
        assert_eq!(
            s.alerts.findings.dedup_table(),
            None,
            "an empty table name means no dedup"
        );
        assert!(LambdaSettings::try_parse_from(["x", "--min-severity", "urgent"]).is_err());
        for ttl in ["18446744073709551615", "2592001", "59"] {
            let error = LambdaSettings::try_parse_from(["x", "--dedup-ttl-seconds", ttl]);
            assert!(error.is_err(), "{ttl} must be refused at start-up");
        }
        assert!(LambdaSettings::try_parse_from(["x", "--dedup-ttl-seconds", "2592000"]).is_ok());
        let budget = LambdaSettings::try_parse_from(["x"]).unwrap().api_budget();
        assert_eq!((budget.rate, budget.burst), (1.0, 10.0));
        for rate in ["0", "-1", "NaN", "inf", "1000"] {
            let error = LambdaSettings::try_parse_from(["x", "--api-calls-per-second", rate]);
            assert!(error.is_err(), "{rate} must be refused at start-up");
        }
    }

    #[test]
    fn organisation_settings_validate_account_ids() {
        let s = LambdaSettings::try_parse_from([
            "x",
            "--role-name",
            "ecs-inbound-guard-reader",
            "--member-accounts",
            "111111111111,222222222222",
            "--home-account",
            "999999999999",
        ])
        .unwrap();
        let e = s.org.enrollment();
        assert!(e.is_central());
        assert_eq!(e.allowed_accounts, ["111111111111", "222222222222"]);
        assert_eq!(e.home_account.as_deref(), Some("999999999999"));
        assert!(!LambdaSettings::try_parse_from(["x"])
            .unwrap()
            .org
            .enrollment()
            .is_central());
        for bad in ["", "bad role:name", "reader\nx", &"r".repeat(65)] {
            let error = LambdaSettings::try_parse_from(["x", "--role-name", bad]);
            assert!(error.is_err(), "{bad:?} is not an IAM role name");
        }
        assert!(LambdaSettings::try_parse_from(["x", "--role-name", "a+=,.@_-Z9"]).is_ok());
        let bad = LambdaSettings::try_parse_from(["x", "--member-accounts", "1111,222222222222"]);
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("not a 12-digit AWS account id"));
    }

    #[test]
    fn settings_errors_name_the_environment_variable() {
        let command = LambdaSettings::command();
        let cases = [
            (vec!["x", "--member-accounts", "1111"], "MEMBER_ACCOUNTS"),
            (vec!["x", "--dedup-ttl-seconds", "59"], "DEDUP_TTL_SECONDS"),
            (vec!["x", "--min-severity", "urgent"], "MIN_SEVERITY"),
            (vec!["x", "--role-name", "a b"], "MEMBER_ROLE_NAME"),
        ];
        for (argv, variable) in cases {
            let error = command.clone().try_get_matches_from(argv).unwrap_err();
            let message = naming_the_variable(&command, &error);
            assert!(message.contains(variable), "{message}");
            assert!(!message.contains("--"), "no flag in {message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }

    #[test]
    fn blank_environment_values_are_not_set() {
        // A variable no other test reads, so setting it cannot race another test.
        const NAME: &str = "ECS_INBOUND_GUARD_TEST_BLANK_SETTING";
        std::env::set_var(NAME, " ");
        let command = Command::new("x").arg(
            clap::Arg::new("level")
                .long("level")
                .env(NAME)
                .default_value("HIGH"),
        );
        let matches = without_empty_environment(command)
            .try_get_matches_from(["x"])
            .unwrap();
        assert_eq!(matches.get_one::<String>("level").unwrap(), "HIGH");
        std::env::remove_var(NAME);
    }
}
