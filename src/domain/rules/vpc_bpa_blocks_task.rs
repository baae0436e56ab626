//! VPC_BPA_BLOCKS_TASK: the task's own way in from the internet (its public IPv4 address, or
//! its IPv6 address routed to an internet gateway) is blocked by the account's VPC Block Public
//! Access, whatever its routes and security groups say.

use super::view::TaskView;
use crate::domain::hop::Hop;
use crate::domain::public_access::BlockMode;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "VPC_BPA_BLOCKS_TASK",
    severity: Severity::High,
    hop: Hop::InternetGateway,
    cause: Cause::Missing,
    title: "VPC Block Public Access blocks the internet's way in to the task",
    remediation: "Add a VPC Block Public Access exclusion in `allow-bidirectional` mode for the \
                  task's subnet (`aws ec2 create-vpc-block-public-access-exclusion --subnet-id \
                  SUBNET --internet-gateway-exclusion-mode allow-bidirectional`), if your \
                  organisation allows exclusions; otherwise serve the task through a load \
                  balancer in an excluded subnet, or keep it private.",
};

/// Evaluates the rule.
pub fn check(task: &TaskView<'_>) -> RuleResult {
    let eni = task.eni()?;
    let way_in = match task.public_ip_without_lb()? {
        Some((_, ip)) => format!("public IP {ip} of task ENI {}", eni.id),
        None if task.ipv6_direct_path()?.is_some() => {
            format!("IPv6 address of task ENI {}", eni.id)
        }
        None => return Ok(Outcome::NotApplicable),
    };
    let block = task.public_access()?;
    if block.mode == BlockMode::Off {
        return Ok(Outcome::NotApplicable);
    }
    if block.admits_ingress(&eni.vpc_id, &eni.subnet_id) {
        return Ok(Outcome::Pass(format!(
            "the internet reaches the {way_in}: VPC Block Public Access ({}) excludes subnet {} both ways",
            block.mode.as_str(),
            eni.subnet_id
        )));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "{}: nothing from the internet reaches the {way_in}, whatever its routes and security groups allow.",
        block.describe(&eni.vpc_id, &eni.subnet_id)
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::Fact;
    use crate::domain::facts::TaskFacts;
    use crate::domain::public_access::ExclusionMode;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    fn blocked(mode: BlockMode, exclusions: &[(&str, ExclusionMode)]) -> TaskFacts {
        let mut f = fargate_public_ip("0.0.0.0/0");
        f.public_access = Some(Fact::Known(bpa(mode, exclusions)));
        f
    }

    #[test]
    fn table() {
        let mut unread = fargate_public_ip("0.0.0.0/0");
        unread.public_access = None;
        let cases = [
            ("BPA off", fargate_public_ip("0.0.0.0/0"), None),
            (
                "block-ingress",
                blocked(BlockMode::Ingress, &[]),
                Some((
                    Severity::High,
                    "block-ingress, and neither subnet subnet-task nor VPC vpc-1",
                )),
            ),
            (
                "bidirectional, subnet excluded for egress only",
                blocked(
                    BlockMode::Bidirectional,
                    &[("subnet-task", ExclusionMode::Egress)],
                ),
                Some((Severity::High, "excluded for egress only")),
            ),
            (
                "bidirectional, VPC excluded both ways",
                blocked(
                    BlockMode::Bidirectional,
                    &[("vpc-1", ExclusionMode::Bidirectional)],
                ),
                None,
            ),
            ("no public IP", seed(), None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::Task(check)), want);
        }
        let outcome = run(&unread, Check::Task(check));
        assert!(
            matches!(outcome, Outcome::Incomplete(ref u) if u.reason.contains("not read")),
            "unread BPA is unknown, never off: {outcome:?}"
        );
    }
}
