//! The Lambda entry point: settings from the environment, the app built once at init, then the
//! runtime loop. The handler itself lives in the library (`app::handler`).

// The SDK's deeply nested futures need more than the default type-recursion limit.
#![recursion_limit = "256"]
#![warn(clippy::too_many_lines)]

use ecs_inbound_guard::app::handler::LambdaApp;
use ecs_inbound_guard::app::settings::{AwsSettings, LambdaSettings};
use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        // lambda_runtime 1.5 logs every raw payload at TRACE as UTF-8 and, when that fails,
        // stops the runtime loop: the process would exit on a non-UTF-8 payload. Capping that
        // module below TRACE keeps the function alive at any RUST_LOG.
        .add_directive(
            "lambda_runtime::layers::api_response=debug"
                .parse()
                .expect("a valid directive"),
        );
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .without_time()
        .init();
    let settings = LambdaSettings::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "invalid settings: the function cannot start");
    })?;
    let aws = AwsSettings {
        org: settings.org.clone(),
        ..AwsSettings::default()
    };
    let clients = aws.client_factory().with_budget(settings.api_budget());
    let app = LambdaApp::init(&settings, clients).await;
    lambda_runtime::run(service_fn(|event| app.handle(event))).await
}
