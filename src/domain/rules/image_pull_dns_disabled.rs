//! IMAGE_PULL_DNS_DISABLED: a pull needs the VPC's DNS: `enableDnsSupport` for any name, and
//! `enableDnsHostnames` too for the private DNS names of interface endpoints.

use super::stop_view::StopView;
use crate::domain::facts::VpcDns;
use crate::domain::hop::Hop;
use crate::domain::stop::FailureClass;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "IMAGE_PULL_DNS_DISABLED",
    severity: Severity::High,
    hop: Hop::Dns,
    cause: Cause::Conflict,
    title: "The VPC's DNS attributes stop the image pull",
    remediation: "Turn the VPC's DNS on: aws ec2 modify-vpc-attribute --vpc-id <vpc> \
                  --enable-dns-support '{\"Value\":true}' and --enable-dns-hostnames \
                  '{\"Value\":true}' (interface endpoints' private DNS needs both).",
};

/// Evaluates the rule.
pub fn check(view: &StopView<'_>) -> RuleResult {
    let Some((p, FailureClass::Network)) = view.pull() else {
        return Ok(Outcome::NotApplicable);
    };
    let path = view.pull_path(p)?;
    let VpcDns { support, hostnames } = view.dns(p)?;
    if !support {
        return Ok(Outcome::Fail(RULE.finding(format!(
            "VPC {} has enableDnsSupport off: no registry, ECR or S3 name resolves, so the pull cannot start. Fix: aws ec2 modify-vpc-attribute --vpc-id {} --enable-dns-support '{{\"Value\":true}}'",
            path.vpc_id, path.vpc_id
        ))));
    }
    let through_endpoints = view.egress(p)?.leads_nowhere();
    let private_dns: Vec<&str> = view
        .endpoints(p)?
        .iter()
        .filter(|e| e.kind.eq_ignore_ascii_case("Interface") && e.private_dns)
        .map(|e| e.id.as_str())
        .collect();
    if !hostnames && through_endpoints && !private_dns.is_empty() {
        return Ok(Outcome::Fail(RULE.finding(format!(
            "VPC {} has enableDnsHostnames off: the private DNS names of endpoints {} do not resolve, and {} has no other way out. Fix: aws ec2 modify-vpc-attribute --vpc-id {} --enable-dns-hostnames '{{\"Value\":true}}'",
            path.vpc_id,
            list(private_dns),
            path.describe(),
            path.vpc_id
        ))));
    }
    Ok(Outcome::Pass("VPC DNS is on".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::stop_fixture::*;

    #[test]
    fn table() {
        let mut off = image_pull_private_with_endpoints();
        dns(&mut off).support = false;
        let mut no_hostnames = image_pull_private_with_endpoints();
        dns(&mut no_hostnames).hostnames = false;
        let mut no_hostnames_nat = image_pull_nat();
        dns(&mut no_hostnames_nat).hostnames = false;
        let cases = [
            ("dns on", image_pull_private_with_endpoints(), None),
            (
                "support off",
                off,
                Some((Severity::High, "has enableDnsSupport off")),
            ),
            (
                "hostnames off with endpoints",
                no_hostnames,
                Some((Severity::High, "has enableDnsHostnames off")),
            ),
            ("hostnames off behind NAT", no_hostnames_nat, None),
            ("health-check kill", health_kill(), None),
        ];
        for (name, stop, want) in cases {
            expect(name, &run(&stop, check), want);
        }
    }
}
