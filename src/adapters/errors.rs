//! Error classification for every adapter: what makes a fact unreadable (INSUFFICIENT_DATA)
//! and what fails the check so that it is retried.

use std::fmt::Debug;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use tracing::debug;

use crate::domain::facts::Unreadable;
use crate::domain::text::{one_line, truncate_chars};
use crate::ports::ReadError;

/// Error codes that mean the caller's credentials are broken (not the resource): an error.
const CREDENTIAL_CODES: &[&str] = &[
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "IncompleteSignature",
];

/// Classifies an SDK error with the SDK's own lists of throttling and transient error codes:
/// AccessDenied, not-found and other client errors make the fact
/// unreadable (INSUFFICIENT_DATA); throttling, credentials, 5xx, timeouts and connection
/// errors are failures.
pub fn classify<E, R>(api: &'static str, err: SdkError<E, R>) -> ReadError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err.message().unwrap_or_default().to_string();
    let client_error = matches!(err, SdkError::ServiceError(_))
        && !THROTTLING_ERRORS.contains(&code.as_str())
        && !TRANSIENT_ERRORS.contains(&code.as_str())
        && !CREDENTIAL_CODES.contains(&code.as_str())
        && !code.is_empty()
        && !code.contains("Internal")
        && !code.contains("ServiceUnavailable")
        && !code.contains("ServerException")
        && !code.contains("Unavailable");
    let what = if message.is_empty() {
        code.clone()
    } else {
        format!("{code}: {}", one_line(&message))
    };
    if client_error {
        return ReadError::Unreadable(Unreadable { api, reason: what });
    }
    // The SDK's whole error chain is for the debug log; the error line stays one short line.
    debug!(api, error = %DisplayErrorContext(&err), "AWS call failed");
    let credentials = CREDENTIAL_CODES.contains(&code.as_str());
    let (summary, retried) = match &err {
        SdkError::ServiceError(_) => (what, !credentials),
        SdkError::TimeoutError(_) => ("timed out".to_string(), true),
        SdkError::DispatchFailure(e) if e.is_timeout() => ("timed out".to_string(), true),
        SdkError::DispatchFailure(e) if e.is_io() => ("connection failed".to_string(), true),
        SdkError::DispatchFailure(_) => ("the request could not be sent".to_string(), false),
        SdkError::ResponseError(_) => ("the response could not be read".to_string(), true),
        _ => ("the request could not be built".to_string(), false),
    };
    ReadError::Failed {
        api,
        // Throttling, 5xx, time-outs and connection errors went through the SDK's retries.
        message: if retried {
            format!("{} (after retries)", truncate_chars(&summary, 300))
        } else {
            truncate_chars(&summary, 300)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesError;

    fn service_error(code: &str) -> ReadError {
        let error = DescribeNetworkInterfacesError::generic(
            ErrorMetadata::builder().code(code).message("m").build(),
        );
        classify(
            crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
            SdkError::service_error(error, ()),
        )
    }

    #[test]
    fn throttling_transient_server_and_credential_errors_fail_the_check() {
        // The first three were missing from the hand-written list this replaced.
        for code in [
            "SlowDown",
            "LimitExceededException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "RequestTimeout",
            "InternalError",
            "ServiceUnavailable",
            "AuthFailure",
            "ExpiredToken",
        ] {
            assert!(
                matches!(service_error(code), ReadError::Failed { .. }),
                "{code}"
            );
        }
    }

    #[test]
    fn client_errors_make_the_fact_unreadable() {
        for code in [
            "AccessDenied",
            "UnauthorizedOperation",
            "InvalidParameterValue",
        ] {
            match service_error(code) {
                ReadError::Unreadable(u) => {
                    assert_eq!(u.api, crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES);
                    assert_eq!(u.reason, format!("{code}: m"));
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn failures_are_one_short_line_that_says_after_retries_only_when_retried() {
        let ReadError::Failed { message, .. } = service_error("ThrottlingException") else {
            panic!()
        };
        assert_eq!(message, "ThrottlingException: m (after retries)");
        let ReadError::Failed { message, .. } = service_error("ExpiredToken") else {
            panic!()
        };
        assert_eq!(
            message, "ExpiredToken: m",
            "credential errors are not retried"
        );
        let long = DescribeNetworkInterfacesError::generic(
            ErrorMetadata::builder()
                .code("InternalError")
                .message(format!("line one\nline two {}", "x".repeat(5000)))
                .build(),
        );
        let ReadError::Failed { message, .. } = classify(
            crate::domain::api::EC2_DESCRIBE_NETWORK_INTERFACES,
            SdkError::service_error(long, ()),
        ) else {
            panic!()
        };
        assert!(!message.contains('\n') && message.len() < 400, "{message}");
    }
}
