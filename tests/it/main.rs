//! Integration tests against moto's standalone server (started by the harness).
#![recursion_limit = "256"]

mod audit;
mod cli;
mod config_rule;
mod dedup;
mod handler;
mod harness;
mod lambda;
mod paths;
mod runtime_api;
mod template;
mod verdicts;
mod world;
