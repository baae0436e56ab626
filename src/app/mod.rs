//! Use cases and their composition: [`check`] (a trigger → an Evaluation → the alert),
//! [`audit`] (every running task of a cluster), [`config_rule`] (AWS Config custom-rule mode).
//! The CLI and the Lambda both check through [`checker::Checker`].

pub mod audit;
pub mod batch;
pub mod check;
pub mod checker;
pub mod config_rule;
pub mod export;
pub mod handler;
pub mod hook;
pub mod preflight;
pub mod settings;

use crate::adapters::clients::ClientFactory;
use crate::adapters::dynamodb::DynamoDedup;
use crate::adapters::securityhub::SecurityHubFindings;
use crate::adapters::sns::SnsAlerts;
use batch::RememberingDedup;
use checker::Checker;

/// The check use case as the CLI and the Lambda compose it: readers from the AWS client
/// factory, alerts through SNS with the DynamoDB dedup (remembered in-process), the Security
/// Hub export with the open pairs in the same table.
pub type AwsChecker<'a> = Checker<
    'a,
    ClientFactory,
    SnsAlerts,
    RememberingDedup<DynamoDedup>,
    SecurityHubFindings,
    DynamoDedup,
>;
