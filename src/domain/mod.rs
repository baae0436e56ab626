//! The pure core: trigger parsing, facts, rules and evaluations. No AWS SDK types, no clock, no
//! I/O live here (a test in `tests/architecture.rs` keeps it so).

pub mod api;
pub mod audit;
pub mod config_rule;
pub mod delivery;
pub mod diagnosis;
pub mod evaluation;
pub mod event;
pub mod facts;
pub mod hook;
pub mod hop;
pub mod invocation;
pub mod net;
pub mod org;
pub mod path;
pub mod plan;
pub mod public_access;
pub mod queue;
pub mod refusal;
pub mod rules;
pub mod security_hub;
pub mod stop;
pub mod stop_reason;
pub mod task;
pub mod text;
pub mod verdict;
