//! `ecs-inbound-guard`: the checker on a laptop or in CI. Thin, in ripgrep's shape: `main`
//! parses the settings and maps the outcome to an exit code, `run` dispatches, one function per
//! command. Nothing AWS is touched before the input is validated.

#![warn(clippy::too_many_lines)]

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use ecs_inbound_guard::adapters::clients::ClientFactory;
use ecs_inbound_guard::adapters::ec2::enabled_regions;
use ecs_inbound_guard::adapters::organizations::active_accounts;
use ecs_inbound_guard::adapters::securityhub::SecurityHubFindings;
use ecs_inbound_guard::app::audit::{audit_scopes, check_task_arn, AuditScope};
use ecs_inbound_guard::app::batch::RememberingDedup;
use ecs_inbound_guard::app::check::{Alerting, CheckError};
use ecs_inbound_guard::app::checker::{Checker, Evaluated};
use ecs_inbound_guard::app::export::{export_many, Exporting};
use ecs_inbound_guard::app::preflight::{existing_plan, preflight};
use ecs_inbound_guard::app::settings::{
    parse_account, without_empty_environment, AlertSettings, AwsSettings, FindingSettings,
    OrgSettings,
};
use ecs_inbound_guard::app::AwsChecker;
use ecs_inbound_guard::domain::audit::AuditReport;
use ecs_inbound_guard::domain::delivery::CheckReport;
use ecs_inbound_guard::domain::event::{parse_trigger_bytes, Trigger};
use ecs_inbound_guard::domain::org::ResourceScope;
use ecs_inbound_guard::domain::plan::{parse_service, parse_task_definition};
use ecs_inbound_guard::domain::refusal::{verdict_without_access, NoAccess};
use ecs_inbound_guard::domain::verdict::Status;
use ecs_inbound_guard::facts::deadline::Budgeted;
use ecs_inbound_guard::ports::{ReaderSource, Refused};
use ecs_inbound_guard::render::chatbot::chatbot_notification;
use ecs_inbound_guard::render::table::write_table;
use ecs_inbound_guard::render::text::text_body;
use ecs_inbound_guard::render::{html, markdown};

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
    Check(CheckArgs),
    /// Evaluate every RUNNING task of one or more clusters, in one or many accounts and regions.
    Audit(AuditArgs),
    /// Judge a service before it deploys: an existing service (--cluster --service) or a
    /// create-service input (--service-definition), with its task definition or another one.
    Preflight(PreflightArgs),
}

#[derive(Debug, Args)]
struct PreflightArgs {
    /// The service's cluster (with --service).
    #[arg(long, value_name = "NAME", requires = "service")]
    cluster: Option<String>,
    /// An existing service to judge as it would deploy (DescribeServices).
    #[arg(
        long,
        value_name = "NAME",
        requires = "cluster",
        required_unless_present = "service_definition"
    )]
    service: Option<String>,
    /// What `aws ecs create-service --cli-input-json` takes.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cluster", "service"])]
    service_definition: Option<PathBuf>,
    /// Judge with this registered task definition (ARN or family:revision) instead.
    #[arg(
        long,
        value_name = "ARN|FAMILY:REV",
        conflicts_with = "task_definition_file"
    )]
    task_definition: Option<String>,
    /// Judge with this task definition (what `aws ecs register-task-definition --cli-input-json`
    /// takes) instead.
    #[arg(long, value_name = "FILE")]
    task_definition_file: Option<PathBuf>,
    /// `json` (the Evaluation), `text`, `markdown` (the path as a Mermaid chart) or `html`.
    #[arg(long, value_enum, default_value_t = PreflightFormat::Json)]
    format: PreflightFormat,
    /// Exit 1 on INSUFFICIENT_DATA too.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    aws: AwsSettings,
}

/// Output formats of `preflight`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PreflightFormat {
    /// The Evaluation JSON.
    Json,
    /// The human text.
    Text,
    /// Markdown with the path as a Mermaid chart.
    Markdown,
    /// One self-contained HTML page with the path drawn.
    Html,
}

#[derive(Debug, Args)]
struct CheckArgs {
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
    /// Output: the Evaluation JSON, the alert's e-mail text, the AWS Chatbot notification, or
    /// the path drawn (Markdown with Mermaid, or a self-contained HTML page).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

#[derive(Debug, Args)]
struct AuditArgs {
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
    #[arg(long = "account", value_name = "ID", requires = "member_role_name", value_parser = parse_account)]
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
    /// `table` for humans (coloured on a terminal), `json` for machines, `markdown` or `html`
    /// with each service's path drawn.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    format: AuditFormat,
    /// Exit 1 on INSUFFICIENT_DATA too (a stricter CI gate).
    #[arg(long)]
    strict: bool,
    /// The Security Hub export (`--security-hub`, in batches of 100), its severity floor and
    /// the table of open findings (to archive the fixed ones).
    #[command(flatten)]
    findings: FindingSettings,
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
    /// Markdown with the path as a Mermaid chart (GitHub job summaries, pull requests).
    Markdown,
    /// One self-contained HTML page with the path drawn (works offline, as an attachment).
    Html,
}

/// Output formats of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AuditFormat {
    /// A table per service.
    Table,
    /// `{"evaluations", "services", "summary"}`.
    Json,
    /// Markdown: the summary table, then each service's path as a Mermaid chart.
    Markdown,
    /// One self-contained HTML page: the summary table and each service's path drawn.
    Html,
}

/// Why a command could not give a verdict: one line on standard error, exit 2.
#[derive(Debug)]
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string().replace('\n', " "))
    }
}

/// A command's result: the exit code its verdict gives, or the failure.
type Outcome = Result<ExitCode, Failure>;

#[tokio::main]
async fn main() -> ExitCode {
    // Empty environment values count as not set, as in the Lambda.
    let cli = without_empty_environment(Cli::command())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
        .unwrap_or_else(|e| e.exit());
    init_logging();
    match run(cli).await {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ECS_INBOUND_GUARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: CI logs and pipes get plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Check(args) => match (&args.task, &args.cluster) {
            (Some(task), Some(cluster)) => check_task(&args, task, cluster).await,
            _ => check_event(&args).await,
        },
        Command::Audit(args) => audit(args).await,
        Command::Preflight(args) => preflight_command(&args).await,
    }
}

/// `preflight`: the plan (files are read and checked before any AWS configuration is loaded),
/// its facts, one verdict; exit 0 nothing NON_COMPLIANT, 1 NON_COMPLIANT (`--strict`: or
/// INSUFFICIENT_DATA), 2 bad input or an AWS error.
async fn preflight_command(args: &PreflightArgs) -> Outcome {
    let json = |path: &PathBuf| -> Result<serde_json::Value, Failure> {
        let bytes = read_input(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()).into())
    };
    let file_plan = match &args.service_definition {
        Some(path) => {
            Some(parse_service(&json(path)?).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let file_td = match &args.task_definition_file {
        Some(path) => Some(
            parse_task_definition(&json(path)?).map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let clients = args.aws.client_factory();
    let region = args.aws.region.as_deref();
    let reader = match clients
        .reader_for(&ResourceScope::of(None, None, region))
        .await
    {
        Ok(reader) => reader,
        Err(Refused::NotEnrolled(account)) => {
            return Err(format!("account {account} is not in --member-accounts").into())
        }
        Err(Refused::Denied(u)) => return Err(u.into()),
        Err(Refused::Failed(e)) => return Err(e.into()),
    };
    let mut plan = match (file_plan, &args.cluster, &args.service) {
        (Some(plan), _, _) => plan,
        (None, Some(cluster), Some(service)) => {
            match existing_plan(reader.as_ref(), cluster, service).await? {
                Some(plan) => plan,
                None => {
                    return Err(
                        format!("service {service} does not exist in cluster {cluster}").into(),
                    )
                }
            }
        }
        _ => return Err("--service-definition, or --cluster with --service, is required".into()),
    };
    if let Some(td) = &args.task_definition {
        plan.task_definition = Some(td.clone());
    }
    let evaluation = preflight(&plan, file_td, region, reader.as_ref()).await?;
    let failing = evaluation.compliance == Status::NonCompliant
        || (args.strict && evaluation.compliance == Status::InsufficientData);
    let text = match args.format {
        PreflightFormat::Json => serde_json::to_string_pretty(&evaluation)?,
        PreflightFormat::Text => text_body(&evaluation),
        PreflightFormat::Markdown => markdown::evaluation(&evaluation),
        PreflightFormat::Html => html::evaluation_page(&evaluation),
    };
    emit(
        format!("{}\n", text.trim_end()).as_bytes(),
        ExitCode::from(u8::from(failing)),
    )
}

/// `check --task ARN --cluster NAME`: the running task, as DescribeTasks gives it.
async fn check_task(args: &CheckArgs, task: &str, cluster: &str) -> Outcome {
    let clients = args.aws.client_factory();
    let region = args.aws.region.as_deref();
    let scope = ResourceScope::of(Some(task), None, region);
    let reader = match clients.reader_for(&scope).await {
        Ok(reader) => reader,
        Err(Refused::NotEnrolled(account)) => {
            return Err(format!("account {account} is not in --member-accounts").into())
        }
        Err(Refused::Denied(u)) => return Err(u.into()),
        Err(Refused::Failed(e)) => return Err(e.into()),
    };
    let evaluation = match args.timeout {
        // The same time budget as `--event`: no read starts after it, one running is cut.
        Some(seconds) => {
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let budgeted = Budgeted::new(reader.as_ref(), deadline, Duration::ZERO);
            check_task_arn(&budgeted, region, cluster, task).await?
        }
        None => check_task_arn(reader.as_ref(), region, cluster, task).await?,
    };
    print_report(&CheckReport::unsent(evaluation), args.format)
}

/// `check --event FILE|-`: the event, then (with `--publish`) the alert and the export.
async fn check_event(args: &CheckArgs) -> Outcome {
    let topic_arn = match (args.publish, &args.alerts.topic_arn) {
        (true, None) => return Err("--publish needs --topic-arn or ALERT_TOPIC_ARN".into()),
        (true, Some(topic)) => Some(topic.as_str()),
        (false, _) => None,
    };
    let event = args.event.as_ref().ok_or("--event or --task is required")?;
    // Input is validated before any AWS configuration is loaded.
    let mut trigger = parse_trigger_bytes(&read_input(event)?)?;
    if let Some(region) = &args.aws.region {
        in_region(&mut trigger, region);
    }
    let deadline = args
        .timeout
        .map(|s| Instant::now() + Duration::from_secs(s));
    let clients = Arc::new(args.aws.client_factory());
    let findings = &args.alerts.findings;
    let publisher = match topic_arn {
        Some(arn) => Some(args.alerts.publisher(&clients, arn).await),
        None => None,
    };
    let dedup = match topic_arn {
        Some(_) => findings.dedup(&clients).await,
        None => None,
    }
    .map(|store| RememberingDedup::new(store, findings.dedup_ttl()));
    let open = match findings.security_hub {
        true => findings.dedup(&clients).await,
        false => None,
    };
    let hub = SecurityHubFindings::new(Arc::clone(&clients));
    let checker: AwsChecker = Checker {
        source: &*clients,
        alerting: publisher.as_ref().map(|publisher| Alerting {
            publisher,
            dedup: dedup.as_ref(),
            min_severity: findings.min_severity,
        }),
        export: findings.security_hub.then_some(Exporting {
            import: &hub,
            open: open.as_ref(),
            min_severity: findings.min_severity,
        }),
        // The CLI prints the report; it writes no metrics.
        on_checked: |_, _| {},
    };
    // Who we are is learnt beside the reads (no round trip added) and decided before any alert.
    let (own_account, evaluated) = tokio::join!(
        own_account_if_named(&trigger, &clients),
        checker.evaluate(&trigger, deadline)
    );
    let evaluated = not_attributed_to_another(&trigger, own_account, evaluated?);
    match checker.deliver(evaluated).await {
        Ok(report) => {
            checker.record(&report, deadline).await;
            print_report(&report, args.format)
        }
        Err(CheckError::Publish { report, source }) => {
            print_report(&report, args.format)?;
            Err(source.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The CLI's own account, when the trigger's resource names one and neither organisation
/// mode nor `--home-account` already decides whose it is.
async fn own_account_if_named(trigger: &Trigger, clients: &ClientFactory) -> Option<String> {
    let named = trigger.scope().and_then(|s| s.account).is_some();
    let decided = clients.enrollment().is_central() || clients.enrollment().home_account.is_some();
    match named && !decided {
        true => clients.home_account().await,
        false => None,
    }
}

/// A verdict made with this account's credentials on another account's resource is replaced
/// by the refusal: a fact read in one account is never attributed to another.
fn not_attributed_to_another(
    trigger: &Trigger,
    own_account: Option<String>,
    evaluated: Evaluated,
) -> Evaluated {
    let named = trigger.scope().and_then(|s| s.account);
    match (own_account, named) {
        (Some(own), Some(named)) if own != named => Evaluated {
            evaluation: verdict_without_access(
                trigger,
                &NoAccess::NotEnrolled(named),
                time::OffsetDateTime::now_utc(),
            ),
            alertable: false,
        },
        _ => evaluated,
    }
}

/// `--region` stands in for the event's region (a resource ARN's region still wins).
fn in_region(trigger: &mut Trigger, region: &str) {
    let event_region = match trigger {
        Trigger::RunningTask(event) => &mut event.region,
        Trigger::StoppedTask(stop) => &mut stop.event.region,
        Trigger::Service(event) => &mut event.region,
        Trigger::OutOfScope(_) => return,
    };
    *event_region = Some(region.to_string());
}

/// `audit`: every running task of the clusters, accounts and regions asked for.
async fn audit(args: AuditArgs) -> Outcome {
    let aws = AwsSettings {
        region: args.regions.first().cloned(),
        profile: args.profile.clone(),
        org: args.org.clone(),
    };
    let clients = Arc::new(aws.client_factory());
    let scopes = audit_scopes_of(&args, &clients).await?;
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let mut progress = |label: &str, done: usize, total: usize| {
        bar.set_message(label.to_string());
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let audited = audit_scopes(
        &clients,
        &scopes,
        &args.clusters,
        args.all_clusters,
        &mut progress,
    )
    .await;
    bar.finish_and_clear();
    let evaluations = audited?;
    if args.findings.security_hub {
        export_audit(&evaluations, &args.findings, &clients).await;
    }
    let report = AuditReport::new(evaluations);
    let verdict = ExitCode::from(report.exit_code(args.strict));
    let mut out = Vec::new();
    match args.format {
        AuditFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.push(b'\n');
        }
        AuditFormat::Table => write_table(&report, &mut out, std::io::stdout().is_terminal())?,
        AuditFormat::Markdown => out.extend(markdown::audit(&report).into_bytes()),
        AuditFormat::Html => out.extend(html::audit_page(&report).into_bytes()),
    }
    emit(&out, verdict)
}

/// The (account, region) pairs to audit.
async fn audit_scopes_of(
    args: &AuditArgs,
    clients: &ClientFactory,
) -> Result<Vec<AuditScope>, Failure> {
    let accounts: Vec<Option<String>> = if args.organization {
        let ids = active_accounts(&clients.organizations().await).await?;
        ids.into_iter().map(Some).collect()
    } else if args.accounts.is_empty() {
        vec![None]
    } else {
        args.accounts.iter().cloned().map(Some).collect()
    };
    let regions: Vec<Option<String>> = if args.all_regions {
        let enabled = enabled_regions(&clients.ec2().await).await?;
        enabled.into_iter().map(Some).collect()
    } else if args.regions.is_empty() {
        vec![None]
    } else {
        args.regions.iter().cloned().map(Some).collect()
    };
    Ok(accounts
        .iter()
        .flat_map(|account| {
            regions.iter().map(|region| AuditScope {
                account: account.clone(),
                region: region.clone(),
            })
        })
        .collect())
}

/// Imports the audit's findings into Security Hub, each into its account's own.
async fn export_audit(
    evaluations: &[ecs_inbound_guard::domain::evaluation::Evaluation],
    findings: &FindingSettings,
    clients: &Arc<ClientFactory>,
) {
    let hub = SecurityHubFindings::new(Arc::clone(clients));
    let open = findings.dedup(clients).await;
    let export = Exporting {
        import: &hub,
        open: open.as_ref(),
        min_severity: findings.min_severity,
    };
    let exported = export_many(evaluations, &export).await;
    eprintln!(
        "Security Hub: {} findings imported, {} refused",
        exported.imported, exported.failed
    );
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(buf)
    } else {
        Ok(std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?)
    }
}

fn print_report(report: &CheckReport, format: Format) -> Outcome {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(report)?,
        Format::Text => text_body(&report.evaluation),
        Format::Chatbot => serde_json::to_string_pretty(&chatbot_notification(&report.evaluation))?,
        Format::Markdown => markdown::evaluation(&report.evaluation),
        Format::Html => html::evaluation_page(&report.evaluation),
    };
    emit(
        format!("{}\n", text.trim_end()).as_bytes(),
        ExitCode::SUCCESS,
    )
}

/// Writes the output. A reader that stops early (`… | head -c1`) is not an error: the command
/// ends quietly with the exit code its verdict gives (never a panic, as `println!` would).
fn emit(output: &[u8], verdict: ExitCode) -> Outcome {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(output).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(verdict),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(verdict),
        Err(e) => Err(format!("cannot write the output: {e}").into()),
    }
}
