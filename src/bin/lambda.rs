//! The Lambda entry point: EventBridge ECS Task State Change → Evaluation (+ SNS alert).
#![recursion_limit = "256"]

use std::sync::atomic::{AtomicBool, Ordering};

use ecs_inbound_guard::adapters::aws::{load_sdk_config, RegionalFacts};
use ecs_inbound_guard::adapters::sns::SnsAlerts;
use std::time::Duration;

use ecs_inbound_guard::adapters::config::ConfigEvaluations;
use ecs_inbound_guard::adapters::dynamodb::{DynamoDedup, DEFAULT_DEDUP_TTL};
use ecs_inbound_guard::app::{run_check, SnsAlerting};
use ecs_inbound_guard::check::Alerting;
use ecs_inbound_guard::config_mode::run_config_rule;
use ecs_inbound_guard::domain::config_rule::{is_config_invocation, parse_config_invocation};
use ecs_inbound_guard::domain::metrics::emf_lines;
use ecs_inbound_guard::domain::rules::Severity;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use tracing::{error, info, instrument};

static COLD: AtomicBool = AtomicBool::new(true);

#[instrument(skip_all, fields(request_id = %event.context.request_id, cold_start))]
async fn handle(
    event: LambdaEvent<Value>,
    facts: &RegionalFacts,
    alerting: &SnsAlerting<'_>,
    config: &ConfigEvaluations,
) -> Result<Value, Error> {
    let cold_start = COLD.swap(false, Ordering::Relaxed);
    tracing::Span::current().record("cold_start", cold_start);
    if is_config_invocation(&event.payload) {
        return handle_config(event.payload, facts, config).await;
    }
    match run_check(event.payload, facts, Some(alerting)).await {
        Ok(evaluation) => {
            // CloudWatch Embedded Metric Format: raw JSON lines on stdout become metrics.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            for line in emf_lines(&evaluation, now) {
                println!("{line}");
            }
            info!(
                task_arn = %evaluation.resource_id,
                verdict = evaluation.compliance.as_str(),
                published = evaluation.alert.published,
                "evaluation"
            );
            Ok(serde_json::to_value(&evaluation)?)
        }
        Err(e) => {
            // Failing the invocation makes Lambda retry and then keep the event on the
            // on-failure destination: no alert is dropped silently.
            error!(error = %e, "check failed");
            Err(e.to_string().into())
        }
    }
}

/// AWS Config custom-rule invocation: evaluate the services and PutEvaluations.
async fn handle_config(
    payload: Value,
    facts: &RegionalFacts,
    config: &ConfigEvaluations,
) -> Result<Value, Error> {
    let invocation = parse_config_invocation(payload).map_err(|e| e.to_string())?;
    match run_config_rule(&invocation, facts, config).await {
        Ok(evaluations) => {
            info!(count = evaluations.len(), "reported to AWS Config");
            Ok(serde_json::json!({ "configEvaluations": evaluations }))
        }
        Err(e) => {
            error!(error = %e, "Config evaluation failed");
            Err(e.to_string().into())
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_span_list(true)
        .without_time()
        .init();
    let topic_arn = std::env::var("ALERT_TOPIC_ARN")
        .map_err(|_| "ALERT_TOPIC_ARN is not set: the function has nowhere to publish alerts")?;
    let min_severity: Severity = match std::env::var("MIN_SEVERITY") {
        Ok(v) => v
            .parse()
            .map_err(|e: String| format!("MIN_SEVERITY: {e}"))?,
        Err(_) => Severity::High,
    };
    let config = load_sdk_config(None, None).await;
    let facts = RegionalFacts::new(config.clone());
    let publisher = SnsAlerts::new(&config, &topic_arn);
    let dedup_ttl = match std::env::var("DEDUP_TTL_SECONDS") {
        Ok(v) => Duration::from_secs(v.parse().map_err(|e| format!("DEDUP_TTL_SECONDS: {e}"))?),
        Err(_) => DEFAULT_DEDUP_TTL,
    };
    let dedup = std::env::var("DEDUP_TABLE_NAME")
        .ok()
        .filter(|t| !t.is_empty())
        .map(|table| DynamoDedup::new(&config, &table, dedup_ttl));
    let alerting = Alerting {
        publisher: &publisher,
        dedup: dedup.as_ref(),
        min_severity,
    };
    // Build the default region's clients during init, not on the first event, and (unless
    // WARM_UP_CONNECTIONS=false) open their connections too.
    let reader = facts.for_region(None);
    if std::env::var("WARM_UP_CONNECTIONS").map_or(true, |v| v != "false") {
        reader.inner().warm_up().await;
    }
    let config_evaluations = ConfigEvaluations::new(&config);
    lambda_runtime::run(service_fn(|event| {
        handle(event, &facts, &alerting, &config_evaluations)
    }))
    .await
}
