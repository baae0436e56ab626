//! Adapters: the AWS SDK side of the ports, and shared SDK configuration.

pub mod aws;
pub mod dynamodb;
pub mod sns;
pub mod tasks;
