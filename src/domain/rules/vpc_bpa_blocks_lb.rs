//! VPC_BPA_BLOCKS_LB: the account's VPC Block Public Access blocks the internet's way in to the
//! subnets of an internet-facing load balancer of the service: the load balancer's nodes there
//! take no connection from the internet, whatever its routes and security groups say.

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::public_access::BlockMode;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "VPC_BPA_BLOCKS_LB",
    severity: Severity::High,
    hop: Hop::InternetGateway,
    cause: Cause::Missing,
    title: "VPC Block Public Access blocks the internet's way in to the load balancer",
    remediation: "Add a VPC Block Public Access exclusion in `allow-bidirectional` mode for each \
                  subnet of the internet-facing load balancer (`aws ec2 \
                  create-vpc-block-public-access-exclusion --subnet-id SUBNET \
                  --internet-gateway-exclusion-mode allow-bidirectional`), or for its VPC, if \
                  your organisation allows exclusions.",
};

/// Evaluates the rule: every subnet blocked is HIGH, some MEDIUM.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let facing: Vec<_> = view
        .load_balancers
        .iter()
        .filter(|l| l.internet_facing() && view.in_task_vpc(l))
        .collect();
    if facing.is_empty() {
        return Ok(Outcome::NotApplicable);
    }
    let block = view.task.public_access()?;
    if block.mode == BlockMode::Off {
        return Ok(Outcome::NotApplicable);
    }
    let mut worst: Option<(Severity, String)> = None;
    for lb in facing {
        let blocked: Vec<&String> = lb
            .subnet_ids
            .iter()
            .filter(|s| !block.admits_ingress(&lb.vpc_id, s))
            .collect();
        let Some(first) = blocked.first() else {
            continue;
        };
        let why = block.describe(&lb.vpc_id, first);
        let (severity, text) = if blocked.len() == lb.subnet_ids.len() {
            (Severity::High, format!(
                "{why}: internet-facing load balancer {} takes no connection from the internet in any of its subnets ({}).",
                lb.name, list(&blocked)
            ))
        } else {
            (Severity::Medium, format!(
                "{why}: internet-facing load balancer {} takes no connection from the internet in subnets {} (DNS still hands out their nodes' IPs).",
                lb.name, list(&blocked)
            ))
        };
        if worst.as_ref().is_none_or(|(s, _)| severity < *s) {
            worst = Some((severity, text));
        }
    }
    Ok(match worst {
        None => Outcome::Pass(format!(
            "VPC Block Public Access ({}) excludes the internet-facing load balancers' subnets both ways",
            block.mode.as_str()
        )),
        Some((severity, message)) => Outcome::Fail(RULE.finding_with(severity, message)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::{Fact, TaskFacts};
    use crate::domain::public_access::{ExclusionMode, PublicAccessBlock};
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    fn blocked(mode: BlockMode, allowed: bool, exclusions: &[(&str, ExclusionMode)]) -> TaskFacts {
        let mut f = valid();
        let block = PublicAccessBlock {
            exclusions_allowed: allowed,
            ..bpa(mode, exclusions)
        };
        f.public_access = Some(Fact::Known(block));
        f
    }

    #[test]
    fn table() {
        use BlockMode::{Bidirectional, Ingress};
        use ExclusionMode::{Bidirectional as Both, Egress};
        let mut internal = blocked(Ingress, true, &[]);
        known(&mut path(&mut internal).load_balancers)[0].scheme =
            crate::domain::facts::Scheme::Internal;
        let cases = [
            ("BPA off", valid(), None),
            (
                "block-ingress, nothing excluded",
                blocked(Ingress, true, &[]),
                Some((Severity::High, "in any of its subnets (subnet-a, subnet-b)")),
            ),
            (
                "one subnet excluded",
                blocked(Bidirectional, true, &[("subnet-a", Both)]),
                Some((Severity::Medium, "in subnets subnet-b")),
            ),
            (
                "the VPC excluded",
                blocked(Bidirectional, true, &[("vpc-1", Both)]),
                None,
            ),
            (
                "excluded for egress only",
                blocked(Bidirectional, true, &[("vpc-1", Egress)]),
                Some((Severity::High, "excluded for egress only")),
            ),
            (
                "exclusions not allowed by the organisation",
                blocked(Bidirectional, false, &[("vpc-1", Both)]),
                Some((Severity::High, "exclusions not allowed")),
            ),
            ("internal load balancer", internal, None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
