//! `ecs-inbound-guard`: the checker on a laptop or in CI. Thin: parse the settings, build the
//! client factory (lazily: nothing AWS is touched before the input is validated), run, print.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ecs_inbound_guard::adapters::clients::Refused;
use ecs_inbound_guard::adapters::dynamodb::DynamoDedup;
use ecs_inbound_guard::adapters::ec2::enabled_regions;
use ecs_inbound_guard::adapters::organizations::active_accounts;
use ecs_inbound_guard::adapters::securityhub::SecurityHubFindings;
use ecs_inbound_guard::app::audit::{audit_scopes, check_task_arn, AuditScope};
use ecs_inbound_guard::app::check::{Alerting, CheckError};
use ecs_inbound_guard::app::export::{export_many, Exporting};
use ecs_inbound_guard::app::settings::{
    without_empty_environment, AlertSettings, AwsSettings, OrgSettings,
};
use ecs_inbound_guard::app::{export_report, run_trigger};
use ecs_inbound_guard::domain::audit::AuditReport;
use ecs_inbound_guard::domain::delivery::CheckReport;
use ecs_inbound_guard::domain::event::{parse_trigger_bytes, Trigger};
use ecs_inbound_guard::domain::org::ResourceScope;
use ecs_inbound_guard::domain::verdict::Severity;
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
    /// Evaluate every RUNNING task of one or more clusters, in one or many accounts and regions.
    Audit {
        /// Cluster name or ARN (repeatable).
        #[arg(
            long = "cluster",
            value_name = "NAME",
            required_unless_present = "all_clusters"
        )]
        clusters: Vec<String>,
        /// Audit every cluster of each account and region.
        #[arg(long)]
        all_clusters: bool,
        /// A member account to audit through --role-name (repeatable).
        #[arg(long = "account", value_name = "ID", requires = "member_role_name")]
        accounts: Vec<String>,
        /// Audit every ACTIVE account of the organisation (organizations:ListAccounts: run it
        /// from the management account or a delegated administrator).
        #[arg(long, requires = "member_role_name", conflicts_with = "accounts")]
        organization: bool,
        /// Region to audit (repeatable; default: the profile's region).
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// Audit every region enabled for the account you run from (ec2:DescribeRegions).
        #[arg(long, conflicts_with = "regions")]
        all_regions: bool,
        /// AWS named profile.
        #[arg(long)]
        profile: Option<String>,
        #[command(flatten)]
        org: OrgSettings,
        /// `table` for humans (coloured on a terminal), `json` for machines.
        #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
        format: AuditFormat,
        /// Exit 1 on INSUFFICIENT_DATA too (a stricter CI gate).
        #[arg(long)]
        strict: bool,
        /// Also import the findings into Security Hub (each account's own), in batches of 100.
        #[arg(long = "security-hub")]
        security_hub: bool,
        /// DynamoDB table of the open Security Hub findings (to archive the fixed ones).
        #[arg(long, env = "DEDUP_TABLE_NAME", value_name = "TABLE")]
        dedup_table: Option<String>,
        /// Lowest finding severity exported to Security Hub.
        #[arg(long, default_value = "HIGH", value_parser = parse_severity)]
        min_severity: Severity,
    },
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
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
    // Empty environment values count as not set, as in the Lambda.
    let cli = without_empty_environment(Cli::command())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
        .unwrap_or_else(|e| e.exit());
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
                let scope = ResourceScope::of(Some(&task), None, aws.region.as_deref());
                let reader = match clients.reader_for(&scope).await {
                    Ok(reader) => reader,
                    Err(Refused::NotEnrolled(account)) => {
                        return fail(format!("account {account} is not in --member-accounts"))
                    }
                    Err(Refused::Denied(u)) => return fail(u),
                    Err(Refused::Failed(e)) => return fail(e),
                };
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
            // --region stands in for the event's region (a resource ARN's region wins).
            if let Some(r) = &aws.region {
                match &mut trigger {
                    Trigger::RunningTask(event) => event.region = Some(r.clone()),
                    Trigger::StoppedTask(stop) => stop.event.region = Some(r.clone()),
                    Trigger::Service(event) => event.region = Some(r.clone()),
                    Trigger::OutOfScope(_) => {}
                }
            }
            let clients = aws.client_factory();
            let publisher = match &topic_arn {
                Some(arn) => Some(alerts.publisher(&clients, arn).await),
                None => None,
            };
            let dedup = if topic_arn.is_some() || alerts.security_hub {
                alerts.dedup(&clients).await
            } else {
                None
            };
            let alerting = publisher.as_ref().map(|publisher| Alerting {
                publisher,
                dedup: dedup.as_ref(),
                min_severity: alerts.min_severity,
            });
            match run_trigger(&trigger, &clients, alerting.as_ref(), deadline).await {
                Ok(report) => {
                    if alerts.security_hub {
                        let hub = SecurityHubFindings::new(&clients);
                        let export = Exporting {
                            import: &hub,
                            open: dedup.as_ref(),
                            min_severity: alerts.min_severity,
                        };
                        export_report(&report, &export, deadline).await;
                    }
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
            accounts,
            organization,
            regions,
            all_regions,
            profile,
            org,
            format,
            strict,
            security_hub,
            dedup_table,
            min_severity,
        } => {
            let aws = AwsSettings {
                region: regions.first().cloned(),
                profile,
                org,
            };
            let clients = aws.client_factory();
            let accounts: Vec<Option<String>> = if organization {
                match active_accounts(&clients.organizations().await).await {
                    Ok(ids) => ids.into_iter().map(Some).collect(),
                    Err(e) => return fail(e),
                }
            } else if accounts.is_empty() {
                vec![None]
            } else {
                accounts.into_iter().map(Some).collect()
            };
            let regions: Vec<Option<String>> = if all_regions {
                match enabled_regions(&clients.ec2().await).await {
                    Ok(r) => r.into_iter().map(Some).collect(),
                    Err(e) => return fail(e),
                }
            } else if regions.is_empty() {
                vec![None]
            } else {
                regions.into_iter().map(Some).collect()
            };
            let scopes: Vec<AuditScope> = accounts
                .iter()
                .flat_map(|account| {
                    regions.iter().map(|region| AuditScope {
                        account: account.clone(),
                        region: region.clone(),
                    })
                })
                .collect();
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            let mut progress = |label: &str, done: usize, total: usize| {
                bar.set_message(label.to_string());
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let evaluations =
                match audit_scopes(&clients, &scopes, &named, all_clusters, &mut progress).await {
                    Ok(e) => e,
                    Err(e) => {
                        bar.finish_and_clear();
                        return fail(e);
                    }
                };
            bar.finish_and_clear();
            if security_hub {
                let hub = SecurityHubFindings::new(&clients);
                let open = match dedup_table.as_deref().filter(|t| !t.is_empty()) {
                    Some(table) => Some(DynamoDedup::new(
                        clients.dynamodb().await,
                        table,
                        Duration::from_secs(60),
                    )),
                    None => None,
                };
                let export = Exporting {
                    import: &hub,
                    open: open.as_ref(),
                    min_severity,
                };
                let exported = export_many(&evaluations, &export).await;
                eprintln!(
                    "Security Hub: {} findings imported, {} refused",
                    exported.imported, exported.failed
                );
            }
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
