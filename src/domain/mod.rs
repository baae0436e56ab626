//! The pure core: trigger parsing, facts, rules and evaluations. No AWS SDK types live here.

pub mod alert;
pub mod config_rule;
pub mod evaluation;
pub mod event;
pub mod facts;
pub mod metrics;
pub mod net;
#[cfg(test)]
mod props;
pub mod report;
pub mod rules;
