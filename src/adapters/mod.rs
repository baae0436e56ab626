//! Adapters: the AWS SDK side of the ports, and shared SDK configuration.

pub mod aws;
pub mod config;
pub mod dynamodb;
pub mod sns;
pub mod tasks;
