//! Error classification for every adapter: what makes a fact unreadable (INSUFFICIENT_DATA)
//! and what fails the check so that it is retried.

use std::fmt::Debug;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::domain::facts::Unreadable;
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
    if client_error {
        ReadError::Unreadable(Unreadable {
            api,
            reason: if message.is_empty() {
                code
            } else {
                format!("{code}: {message}")
            },
        })
    } else {
        ReadError::Failed {
            api,
            message: DisplayErrorContext(&err).to_string(),
        }
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
            "ec2:DescribeNetworkInterfaces",
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
                    assert_eq!(u.api, "ec2:DescribeNetworkInterfaces");
                    assert_eq!(u.reason, format!("{code}: m"));
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }
}
