//! AWS Organizations (CLI only): the organisation's active accounts for `audit --organization`.

use crate::domain::api;
use tracing::instrument;

use super::errors::classify;
use crate::ports::ReadError;

/// Every ACTIVE account of the organisation (ListAccounts, paginated). Works only from the
/// management account or a delegated administrator: the error says so.
#[instrument(skip(client), fields(api = api::ORGANIZATIONS_LIST_ACCOUNTS))]
pub async fn active_accounts(
    client: &aws_sdk_organizations::Client,
) -> Result<Vec<String>, ReadError> {
    let pages: Vec<aws_sdk_organizations::operation::list_accounts::ListAccountsOutput> = client
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| match classify(api::ORGANIZATIONS_LIST_ACCOUNTS, e) {
            ReadError::Unreadable(u) => ReadError::Failed {
                api: u.api,
                message: format!(
                    "{} (organizations:ListAccounts works only from the management account or a delegated administrator)",
                    u.reason
                ),
            },
            other => other,
        })?;
    Ok(pages
        .iter()
        .flat_map(|p| p.accounts())
        .filter(|a| {
            a.status()
                .is_none_or(|s| s.as_str().eq_ignore_ascii_case("ACTIVE"))
        })
        .filter_map(|a| a.id().map(str::to_string))
        .collect())
}
