//! `ecs-inbound-guard`: the checker on a laptop or in CI.
#![recursion_limit = "256"]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ecs_inbound_guard::adapters::aws::{load_sdk_config, RegionalFacts};
use ecs_inbound_guard::adapters::sns::SnsAlerts;
use ecs_inbound_guard::app::run_trigger;
use ecs_inbound_guard::check::CheckError;
use ecs_inbound_guard::domain::evaluation::Evaluation;
use ecs_inbound_guard::domain::event::{parse_trigger_bytes, Trigger};

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
    },
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

fn print_evaluation(evaluation: &Evaluation) {
    match serde_json::to_string_pretty(evaluation) {
        Ok(json) => println!("{json}"),
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
        } => {
            let topic_arn = match (publish, topic_arn) {
                (true, None) => return fail("--publish needs --topic-arn or ALERT_TOPIC_ARN"),
                (true, Some(t)) => Some(t),
                (false, _) => None,
            };
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
            match run_trigger(&trigger, &facts, publisher.as_ref()).await {
                Ok(evaluation) => {
                    print_evaluation(&evaluation);
                    ExitCode::SUCCESS
                }
                Err(CheckError::Publish { evaluation, source }) => {
                    print_evaluation(&evaluation);
                    fail(source)
                }
                Err(e) => fail(e),
            }
        }
    }
}
