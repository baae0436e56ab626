//! Organisation mode: whose credentials read a trigger's facts. A central deployment reads its
//! own account's tasks with its own credentials and a member account's through the member's
//! read-only role; an account outside the allow-list is refused without any AWS call. Pure: the
//! client factory acts on the decision.

use serde::Serialize;

/// The parts of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// The region (empty for global resources).
    pub region: &'a str,
    /// The account id (empty for some resources).
    pub account: &'a str,
}

impl<'a> Arn<'a> {
    /// Parses the head of an ARN; `None` for anything that is not one.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let _service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        parts.next()?;
        Some(Arn {
            partition,
            region,
            account,
        })
    }

    /// The account, when it is a 12-digit account id.
    pub fn account_id(&self) -> Option<&'a str> {
        is_account_id(self.account).then_some(self.account)
    }

    /// The region, when present.
    pub fn region_name(&self) -> Option<&'a str> {
        (!self.region.is_empty()).then_some(self.region)
    }
}

/// The name (or id) an ARN ends with — `prod` for `arn:aws:ecs:…:cluster/prod`, `abc` for a
/// task ARN — and a bare name as it is.
pub fn name_of(arn_or_name: &str) -> &str {
    arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
}

/// The ARN of service `service` of the cluster `cluster_arn`
/// (`arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE`).
pub fn service_arn(cluster_arn: &str, service: &str) -> String {
    format!(
        "{}/{service}",
        cluster_arn.replacen(":cluster/", ":service/", 1)
    )
}

/// Whether `s` is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Where a trigger's facts live: the account and region of its resource ARN (trusted over the
/// envelope's), the envelope's when the ARN does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Hash)]
pub struct ResourceScope {
    /// The account id.
    pub account: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// The partition (`aws` when unknown).
    #[serde(skip)]
    pub partition: String,
}

impl ResourceScope {
    /// The scope of `arn`, falling back to the envelope's account and region.
    pub fn of(
        arn: Option<&str>,
        envelope_account: Option<&str>,
        envelope_region: Option<&str>,
    ) -> Self {
        let parsed = arn.and_then(Arn::parse);
        ResourceScope {
            // An ARN's account is kept even when it is no account id (13 digits, letters): it
            // is then on no allow-list and no home account, so it is refused, never read with
            // the caller's own credentials for lack of an account.
            account: parsed
                .map(|a| a.account)
                .filter(|a| !a.is_empty())
                .or(envelope_account.filter(|a| is_account_id(a)))
                .map(str::to_string),
            region: parsed
                .and_then(|a| a.region_name())
                .or(envelope_region.filter(|r| !r.is_empty()))
                .map(str::to_string),
            partition: match parsed {
                Some(arn) => arn.partition.to_string(),
                None => partition_of_region(envelope_region.unwrap_or_default()).to_string(),
            },
        }
    }
}

/// The partition a region belongs to, from its name (`aws` for the commercial regions and for
/// names it does not know): what a role ARN in that region must say.
pub fn partition_of_region(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-iso-", "aws-iso"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// Who may be read, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrollment {
    /// The account the function (or CLI) runs in; `None` = not known (then every account
    /// named by a resource is read through the member role).
    pub home_account: Option<String>,
    /// The member role's name; `None` = single-account mode, everything with own credentials.
    pub member_role: Option<String>,
    /// The accounts that may be read; empty = every account that sends events.
    pub allowed_accounts: Vec<String>,
}

/// How a scope's facts are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// With the caller's own credentials.
    Own,
    /// Through the member account's role.
    Member {
        /// The member account.
        account: String,
        /// `arn:PARTITION:iam::ACCOUNT:role/NAME`.
        role_arn: String,
    },
    /// Not at all: the account is not on the allow-list.
    NotEnrolled {
        /// The refused account.
        account: String,
    },
}

impl Enrollment {
    /// Whether this is the organisation (central) mode.
    pub fn is_central(&self) -> bool {
        self.member_role.is_some()
    }

    /// How to read `scope`.
    pub fn access(&self, scope: &ResourceScope) -> Access {
        let Some(account) = scope.account.as_deref() else {
            return Access::Own;
        };
        if self.home_account.as_deref() == Some(account) {
            return Access::Own;
        }
        let Some(role) = &self.member_role else {
            // One account: a resource of another (a forwarded or forged event) is never read
            // with these credentials, which would find this account's namesakes.
            return match self.home_account {
                Some(_) => Access::NotEnrolled {
                    account: account.to_string(),
                },
                None => Access::Own,
            };
        };
        if !self.allowed_accounts.is_empty() && !self.allowed_accounts.iter().any(|a| a == account)
        {
            return Access::NotEnrolled {
                account: account.to_string(),
            };
        }
        Access::Member {
            account: account.to_string(),
            role_arn: format!("arn:{}:iam::{account}:role/{role}", scope.partition),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn central(allowed: &[&str]) -> Enrollment {
        Enrollment {
            home_account: Some("999999999999".into()),
            member_role: Some("ecs-inbound-guard-reader".into()),
            allowed_accounts: allowed.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn the_resource_arn_is_trusted_over_the_envelope() {
        let s = ResourceScope::of(
            Some("arn:aws-cn:ecs:cn-north-1:111111111111:task/prod/abc"),
            Some("222222222222"),
            Some("us-east-1"),
        );
        assert_eq!(s.account.as_deref(), Some("111111111111"));
        assert_eq!(s.region.as_deref(), Some("cn-north-1"));
        assert_eq!(s.partition, "aws-cn");
        let s = ResourceScope::of(
            Some("arn:task/prod/1"),
            Some("222222222222"),
            Some("eu-west-1"),
        );
        assert_eq!(s.account.as_deref(), Some("222222222222"));
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.partition, "aws");
        let s = ResourceScope::of(None, Some("not-an-account"), None);
        assert_eq!(s.account, None);
    }

    #[test]
    fn names_and_service_arns_come_from_one_place() {
        assert_eq!(name_of("arn:aws:ecs:us-east-1:1:cluster/prod"), "prod");
        assert_eq!(name_of("arn:aws:ecs:us-east-1:1:task/prod/abc"), "abc");
        assert_eq!(name_of("prod"), "prod");
        assert_eq!(
            service_arn("arn:aws-cn:ecs:cn-north-1:1:cluster/prod", "web"),
            "arn:aws-cn:ecs:cn-north-1:1:service/prod/web"
        );
    }

    #[test]
    fn an_arn_whose_account_is_no_account_id_is_refused_not_read_as_own() {
        let scope = ResourceScope::of(
            Some("arn:aws:ecs:us-east-1:1111111111111:task/prod/1"),
            Some(""),
            None,
        );
        assert_eq!(scope.account.as_deref(), Some("1111111111111"));
        let listed = Enrollment {
            home_account: Some("999999999999".into()),
            member_role: Some("reader".into()),
            allowed_accounts: vec!["222222222222".into()],
        };
        assert!(matches!(listed.access(&scope), Access::NotEnrolled { .. }));
        let single = Enrollment {
            home_account: Some("999999999999".into()),
            ..Enrollment::default()
        };
        assert!(matches!(single.access(&scope), Access::NotEnrolled { .. }));
    }

    #[test]
    fn a_scope_without_an_arn_takes_its_partition_from_the_region() {
        for (region, partition) in [
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-west-1", "aws"),
            ("", "aws"),
        ] {
            let scope = ResourceScope::of(None, None, Some(region));
            assert_eq!(scope.partition, partition, "{region}");
        }
        let enrollment = Enrollment {
            home_account: Some("999999999999".into()),
            member_role: Some("reader".into()),
            allowed_accounts: vec![],
        };
        let mut scope = ResourceScope::of(None, None, Some("cn-north-1"));
        scope.account = Some("111111111111".into());
        assert!(matches!(
            enrollment.access(&scope),
            Access::Member { role_arn, .. } if role_arn == "arn:aws-cn:iam::111111111111:role/reader"
        ));
    }

    #[test]
    fn access_follows_the_mode_the_home_account_and_the_allow_list() {
        let scope = |account: &str| ResourceScope {
            account: Some(account.into()),
            region: Some("us-east-1".into()),
            partition: "aws".into(),
        };
        assert_eq!(
            Enrollment::default().access(&scope("111111111111")),
            Access::Own
        );
        assert_eq!(central(&[]).access(&scope("999999999999")), Access::Own);
        assert_eq!(
            central(&[]).access(&scope("111111111111")),
            Access::Member {
                account: "111111111111".into(),
                role_arn: "arn:aws:iam::111111111111:role/ecs-inbound-guard-reader".into()
            }
        );
        assert_eq!(
            central(&["222222222222"]).access(&scope("111111111111")),
            Access::NotEnrolled {
                account: "111111111111".into()
            }
        );
        assert!(matches!(
            central(&["222222222222"]).access(&scope("222222222222")),
            Access::Member { .. }
        ));
        // One account: another account's resource is refused once the home account is known.
        let single = Enrollment {
            home_account: Some("999999999999".into()),
            ..Enrollment::default()
        };
        assert_eq!(single.access(&scope("999999999999")), Access::Own);
        assert_eq!(
            single.access(&scope("111111111111")),
            Access::NotEnrolled {
                account: "111111111111".into()
            }
        );
        // The home account is read with own credentials even when not listed.
        assert_eq!(
            central(&["222222222222"]).access(&scope("999999999999")),
            Access::Own
        );
    }
}
