//! `ecs-inbound-guard`: the checker on a laptop or in CI.
#![recursion_limit = "256"]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ecs_inbound_guard::adapters::aws::{load_sdk_config, RegionalFacts};
use ecs_inbound_guard::adapters::sns::SnsAlerts;
use std::time::Duration;

use ecs_inbound_guard::adapters::dynamodb::DynamoDedup;
use ecs_inbound_guard::app::run_trigger;
use ecs_inbound_guard::check::Alerting;
use ecs_inbound_guard::check::CheckError;
use ecs_inbound_guard::domain::alert::{chatbot_notification, text_body};
use ecs_inbound_guard::domain::evaluation::Evaluation;
use ecs_inbound_guard::domain::event::{parse_trigger_bytes, Trigger};
use ecs_inbound_guard::domain::rules::Severity;

/// Exit code for usage errors, unreadable input, AWS failures and failed publishes.
const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "ecs-inbound-guard",
    version,
    about = "Catches ECS awsvpc tasks on EC2 that look public but have no inbound path"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate one ECS Task State Change event and print the Evaluation JSON.
    Check {
        /// Event file (EventBridge JSON), or `-` for standard input.
        #[arg(long, value_name = "FILE|-")]
        event: PathBuf,
        /// Also publish the alert for a NON_COMPLIANT task, exactly as the Lambda does.
        #[arg(long)]
        publish: bool,
        /// SNS topic for `--publish`.
        #[arg(long, env = "ALERT_TOPIC_ARN", value_name = "ARN")]
        topic_arn: Option<String>,
        /// AWS region (default: the event's region, else the SDK's default chain).
        #[arg(long)]
        region: Option<String>,
        /// AWS named profile.
        #[arg(long)]
        profile: Option<String>,
        /// Output: the Evaluation JSON, the alert's e-mail text, or the AWS Chatbot notification.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// DynamoDB table for alert dedup (one alert per deploy); only with --publish.
        #[arg(long, env = "DEDUP_TABLE_NAME", value_name = "TABLE")]
        dedup_table: Option<String>,
        /// How long a sent alert suppresses its duplicates.
        #[arg(long, default_value_t = 86400, value_name = "SECONDS")]
        dedup_ttl_seconds: u64,
        /// Lowest finding severity that is published (HIGH = NON_COMPLIANT tasks only).
        #[arg(long, env = "MIN_SEVERITY", default_value = "HIGH", value_parser = parse_severity)]
        min_severity: Severity,
    },
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// The Evaluation JSON.
    Json,
    /// The human text of the alert.
    Text,
    /// The AWS Chatbot custom notification.
    Chatbot,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
}

fn print_evaluation(evaluation: &Evaluation, format: Format) {
    let out = match format {
        Format::Json => serde_json::to_string_pretty(evaluation),
        Format::Text => Ok(text_body(evaluation)),
        Format::Chatbot => serde_json::to_string_pretty(&chatbot_notification(evaluation)),
    };
    match out {
        Ok(text) => println!("{}", text.trim_end()),
        Err(e) => eprintln!("error: cannot serialize the evaluation: {e}"),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", message.to_string().replace('\n', " "));
    ExitCode::from(EXIT_ERROR)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ECS_INBOUND_GUARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Check {
            event,
            publish,
            topic_arn,
            region,
            profile,
            format,
            min_severity,
            dedup_table,
            dedup_ttl_seconds,
        } => {
            let topic_arn = match (publish, topic_arn) {
                (true, None) => return fail("--publish needs --topic-arn or ALERT_TOPIC_ARN"),
                (true, Some(t)) => Some(t),
                (false, _) => None,
            };
            if dedup_table.is_some() && !publish && std::env::var_os("DEDUP_TABLE_NAME").is_none() {
                return fail("--dedup-table only makes sense with --publish");
            }
            let input = match read_input(&event) {
                Ok(bytes) => bytes,
                Err(e) => return fail(e),
            };
            // Input is validated before any AWS configuration is loaded.
            let mut trigger = match parse_trigger_bytes(&input) {
                Ok(t) => t,
                Err(e) => return fail(e),
            };
            // --region pins the region; otherwise the event's region is used.
            if let (Some(r), Trigger::RunningTask(event)) = (&region, &mut trigger) {
                event.region = Some(r.clone());
            }
            let config = load_sdk_config(region, profile).await;
            let facts = RegionalFacts::new(config.clone());
            let publisher = topic_arn.map(|arn| SnsAlerts::new(&config, &arn));
            let dedup = dedup_table
                .filter(|_| publish)
                .map(|t| DynamoDedup::new(&config, &t, Duration::from_secs(dedup_ttl_seconds)));
            let alerting = publisher.as_ref().map(|publisher| Alerting {
                publisher,
                dedup: dedup.as_ref(),
                min_severity,
            });
            match run_trigger(&trigger, &facts, alerting.as_ref()).await {
                Ok(evaluation) => {
                    print_evaluation(&evaluation, format);
                    ExitCode::SUCCESS
                }
                Err(CheckError::Publish { evaluation, source }) => {
                    print_evaluation(&evaluation, format);
                    fail(source)
                }
                Err(e) => fail(e),
            }
        }
    }
}
