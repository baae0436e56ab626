//! Integration tests against moto's standalone server (started by the harness of the
//! dev-only `ecs-inbound-guard-test-support` crate).
// The SDK's deeply nested futures need more than the default type-recursion limit.
#![recursion_limit = "256"]

use ecs_inbound_guard_test_support::{cfn, harness, runtime_api, world};

mod audit;
mod batch;
mod boot;
mod cli;
mod config_rule;
mod dedup;
mod docs;
mod fargate;
mod handler;
mod hook;
mod lambda;
mod org;
mod paths;
mod picture;
mod preflight;
mod public_access;
mod security_hub;
mod stops;
mod template;
mod verdicts;
