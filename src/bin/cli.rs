//! `ecs-inbound-guard`: the checker on a laptop or in CI. Thin: parse the settings, build the
//! client factory (lazily: nothing AWS is touched before the input is validated), run, print.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use ecs_inbound_guard::adapters::clients::Scope;
use ecs_inbound_guard::app::audit::{audit_cluster, check_task_arn, clusters};
use ecs_inbound_guard::app::check::{Alerting, CheckError};
use ecs_inbound_guard::app::run_trigger;
use ecs_inbound_guard::app::settings::{AlertSettings, AwsSettings};
use ecs_inbound_guard::domain::audit::AuditReport;
use ecs_inbound_guard::domain::delivery::CheckReport;
use ecs_inbound_guard::domain::event::{parse_trigger_bytes, Trigger};
use ecs_inbound_guard::render::alert::{chatbot_notification, text_body};
use ecs_inbound_guard::render::table::write_table;

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
    /// Evaluate one ECS Task State Change event (or a running task) and print the Evaluation.
    Check {
        /// Event file (EventBridge JSON), or `-` for standard input.
        #[arg(
            long,
            value_name = "FILE|-",
            required_unless_present = "task",
            conflicts_with = "task"
        )]
        event: Option<PathBuf>,
        /// Evaluate a running task instead of an event (DescribeTasks builds the same input).
        #[arg(long, value_name = "ARN", requires = "cluster")]
        task: Option<String>,
        /// The task's cluster (with --task).
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// Also publish the alert for a NON_COMPLIANT task, exactly as the Lambda does.
        #[arg(long, conflicts_with = "task")]
        publish: bool,
        #[command(flatten)]
        alerts: AlertSettings,
        /// Give up cleanly (exit 2) when the check cannot finish within this many seconds;
        /// with --publish, the time an alert needs is kept back from the reads.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: Option<u64>,
        #[command(flatten)]
        aws: AwsSettings,
        /// Output: the Evaluation JSON, the alert's e-mail text, or the AWS Chatbot notification.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Evaluate every RUNNING task of one or more clusters.
    Audit {
        /// Cluster name or ARN (repeatable).
        #[arg(
            long = "cluster",
            value_name = "NAME",
            required_unless_present = "all_clusters"
        )]
        clusters: Vec<String>,
        /// Audit every cluster of the region.
        #[arg(long)]
        all_clusters: bool,
        /// `table` for humans (coloured on a terminal), `json` for machines.
        #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
        format: AuditFormat,
        /// Exit 1 on INSUFFICIENT_DATA too (a stricter CI gate).
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        aws: AwsSettings,
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

/// Output formats of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AuditFormat {
    /// A table per service.
    Table,
    /// `{"evaluations", "services", "summary"}`.
    Json,
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

fn print_report(report: &CheckReport, format: Format) {
    let out = match format {
        Format::Json => serde_json::to_string_pretty(report),
        Format::Text => Ok(text_body(&report.evaluation)),
        Format::Chatbot => serde_json::to_string_pretty(&chatbot_notification(&report.evaluation)),
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
        // Colour codes only on a terminal: CI logs and pipes get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Check {
            event,
            task,
            cluster,
            publish,
            alerts,
            timeout,
            aws,
            format,
        } => {
            let deadline = timeout.map(|s| Instant::now() + Duration::from_secs(s));
            if let (Some(task), Some(cluster)) = (task, cluster) {
                let clients = aws.client_factory();
                let reader = clients.reader(&Scope::region(aws.region.as_deref())).await;
                return match check_task_arn(reader.as_ref(), aws.region.as_deref(), &cluster, &task)
                    .await
                {
                    Ok(evaluation) => {
                        print_report(&CheckReport::unsent(evaluation), format);
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                };
            }
            let topic_arn = match (publish, alerts.topic_arn.clone()) {
                (true, None) => return fail("--publish needs --topic-arn or ALERT_TOPIC_ARN"),
                (true, Some(t)) => Some(t),
                (false, _) => None,
            };
            let Some(event) = event else {
                return fail("--event or --task is required");
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
            if let Some(r) = &aws.region {
                match &mut trigger {
                    Trigger::RunningTask(event) => event.region = Some(r.clone()),
                    Trigger::StoppedTask(stop) => stop.event.region = Some(r.clone()),
                    Trigger::Service(event) => event.region = Some(r.clone()),
                    Trigger::OutOfScope(_) => {}
                }
            }
            let clients = aws.client_factory();
            let (publisher, dedup) = match &topic_arn {
                Some(arn) => (
                    Some(alerts.publisher(&clients, arn).await),
                    alerts.dedup(&clients).await,
                ),
                None => (None, None),
            };
            let alerting = publisher.as_ref().map(|publisher| Alerting {
                publisher,
                dedup: dedup.as_ref(),
                min_severity: alerts.min_severity,
            });
            match run_trigger(&trigger, &clients, alerting.as_ref(), deadline).await {
                Ok(report) => {
                    print_report(&report, format);
                    ExitCode::SUCCESS
                }
                Err(CheckError::Publish { report, source }) => {
                    print_report(&report, format);
                    fail(source)
                }
                Err(e) => fail(e),
            }
        }
        Command::Audit {
            clusters: named,
            all_clusters,
            format,
            strict,
            aws,
        } => {
            let clients = aws.client_factory();
            let region = aws.region.as_deref();
            let reader = clients.reader(&Scope::region(region)).await;
            let targets = match clusters(reader.as_ref(), named, all_clusters).await {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            let mut evaluations = Vec::new();
            for cluster in &targets {
                bar.set_message(cluster.clone());
                let mut progress = |done: usize, total: usize| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                };
                match audit_cluster(reader.as_ref(), region, cluster, &mut progress).await {
                    Ok(e) => evaluations.extend(e),
                    Err(e) => {
                        bar.finish_and_clear();
                        return fail(format!("cluster {cluster}: {e}"));
                    }
                }
            }
            bar.finish_and_clear();
            let report = AuditReport::new(evaluations);
            let mut stdout = std::io::stdout();
            let color = stdout.is_terminal();
            let written = match format {
                AuditFormat::Json => serde_json::to_writer_pretty(&mut stdout, &report)
                    .map_err(std::io::Error::other)
                    .and_then(|_| std::io::Write::write_all(&mut stdout, b"\n")),
                AuditFormat::Table => write_table(&report, &mut stdout, color),
            };
            if let Err(e) = written {
                return fail(format!("cannot write the report: {e}"));
            }
            ExitCode::from(report.exit_code(strict))
        }
    }
}
