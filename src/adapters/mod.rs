//! Adapters: the AWS SDK side of the ports, one file per AWS service, the client factory and
//! the error classification they share. Every SDK call names its IAM action in an `api` string
//! (the least-privilege test compares them with the templates).

pub mod clients;
pub mod config_service;
pub mod dynamodb;
pub mod ec2;
pub mod ecs;
pub mod elbv2;
pub mod errors;
pub mod lambda;
pub mod organizations;
pub mod securityhub;
pub mod sns;

use aws_config::SdkConfig;

/// ECS, EC2 and ELBv2 clients for one (account, region): the AWS implementation of the reader
/// ports (`ecs.rs`, `ec2.rs`, `elbv2.rs`).
#[derive(Clone, Debug)]
pub struct AwsReader {
    ecs: aws_sdk_ecs::Client,
    ec2: aws_sdk_ec2::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
}

impl AwsReader {
    /// Clients built from `config`.
    pub fn new(sdk_config: &SdkConfig) -> Self {
        AwsReader {
            ecs: aws_sdk_ecs::Client::new(sdk_config),
            ec2: aws_sdk_ec2::Client::new(sdk_config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(sdk_config),
        }
    }
}
