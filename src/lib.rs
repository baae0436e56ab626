//! ecs-inbound-guard: catches ECS tasks in `awsvpc` mode on EC2 that look public but have no
//! inbound path, and says why and how to fix it.
//!
//! Layout (ports and adapters): [`domain`] is pure (event → facts → rules → evaluation),
//! [`ports`] are the small traits the core reads and publishes through, [`check`] is the use
//! case shared by the CLI and the Lambda, and [`adapters`] hold the AWS SDK code.

#![recursion_limit = "256"]

pub mod adapters;
pub mod app;
pub mod audit;
pub mod cache;
pub mod check;
pub mod config_mode;
pub mod domain;
pub mod ports;
