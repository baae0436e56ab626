//! Renderers: an Evaluation (or an audit) turned into bytes for a reader — the SNS alert with its
//! e-mail text and AWS Chatbot card, the audit table, CloudWatch EMF metric lines. Kept apart
//! from the verdict, as a linter keeps its reporters apart from its rules.

pub mod alert;
pub mod metrics;
pub mod table;
