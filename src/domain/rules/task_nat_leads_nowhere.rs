//! TASK_NAT_LEADS_NOWHERE: a task whose subnet sends 0.0.0.0/0 to a NAT that leads nowhere —
//! a NAT gateway failed, deleted, private or in a subnet without an internet-gateway route, a
//! NAT instance stopped, with source/destination check on or without a public IP — runs, but
//! its own outbound calls time out and the service's next task will fail to pull its image.

use super::view::TaskView;
use crate::domain::facts::{Nat, NatReach};
use crate::domain::hop::Hop;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "TASK_NAT_LEADS_NOWHERE",
    severity: Severity::Medium,
    hop: Hop::WayOut,
    cause: Cause::Missing,
    title: "The task subnet's NAT leads nowhere",
    remediation: "Give the task subnet a NAT that reaches the internet: a public NAT gateway in \
                  a subnet whose route table sends 0.0.0.0/0 to an internet gateway (aws ec2 \
                  create-nat-gateway --subnet-id <public-subnet> --allocation-id <eip>, then aws \
                  ec2 replace-route --route-table-id <task-rtb> --destination-cidr-block \
                  0.0.0.0/0 --nat-gateway-id <nat>), or VPC endpoints for the AWS services the \
                  task uses.",
};

/// Evaluates the rule.
pub fn check(task: &TaskView<'_>) -> RuleResult {
    let Some(nat) = &task.facts.nat else {
        return Ok(Outcome::NotApplicable);
    };
    let nat = nat.as_result().map_err(Clone::clone)?;
    let (eni, table) = (task.eni()?, task.route_table()?);
    let id = match nat {
        Nat::Gateway(g) => &g.id,
        Nat::Instance(i) => &i.id,
    };
    Ok(match nat.reach(task.vpc_route_tables()?) {
        NatReach::Internet(igw) => match blocked_by_public_access(task, nat, &eni.vpc_id)? {
            None => Outcome::Pass(format!("{id} leads out through {igw}")),
            Some(why) => Outcome::Fail(RULE.finding(format!(
                "Subnet {} of task ENI {} sends 0.0.0.0/0 (route table {}) to {id}, whose route leads to {igw}, but {why}: nothing leaves through it. The task runs, but its own outbound calls time out, and the service's next task will fail to pull its image.",
                eni.subnet_id, eni.id, table.id
            ))),
        },
        NatReach::Nowhere(why) => Outcome::Fail(RULE.finding(format!(
            "Subnet {} of task ENI {} sends 0.0.0.0/0 (route table {}) to {id}, which leads nowhere: {why}. The task runs, but its own outbound calls time out, and the service's next task will fail to pull its image.",
            eni.subnet_id, eni.id, table.id
        ))),
        NatReach::Beyond(what) => Outcome::Fail(RULE.finding_with(
            Severity::Info,
            format!(
                "The task's way out is not verified: {what}, past which the VPC's APIs do not show the way."
            ),
        )),
    })
}

/// What VPC Block Public Access says of the NAT's way out, if it blocks it.
fn blocked_by_public_access(
    task: &TaskView<'_>,
    nat: &Nat,
    vpc: &str,
) -> Result<Option<String>, crate::domain::facts::Unreadable> {
    let Some((subnet, via)) = nat.leaves_from() else {
        return Ok(None);
    };
    let block = task.public_access()?;
    Ok((!block.admits_egress(vpc, subnet, via)).then(|| block.describe(vpc, subnet)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::{Fact, NatGatewayState, NatInstance, Unreadable};
    use crate::domain::public_access::{BlockMode, ExclusionMode, PublicAccessBlock};
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    fn gateway(f: &mut crate::domain::facts::TaskFacts) -> &mut crate::domain::facts::NatGateway {
        match f.nat.as_mut().map(known) {
            Some(Nat::Gateway(g)) => g,
            _ => panic!("the fixture's NAT is a gateway"),
        }
    }

    /// BPA in `mode`, with the NAT's subnet (`subnet-a`) excluded in `excluded` mode.
    fn blocking(mode: BlockMode, excluded: Option<ExclusionMode>) -> PublicAccessBlock {
        let exclusions: Vec<(&str, ExclusionMode)> =
            excluded.map(|m| ("subnet-a", m)).into_iter().collect();
        bpa(mode, &exclusions)
    }

    #[test]
    fn table() {
        let with = |change: fn(&mut crate::domain::facts::TaskFacts)| {
            let mut f = valid();
            change(&mut f);
            f
        };
        let cases = [
            ("a working NAT gateway", valid(), None),
            ("no NAT route (the seed)", seed(), None),
            (
                "a failed NAT gateway",
                with(|f| gateway(f).state = NatGatewayState::Failed),
                Some((
                    Severity::Medium,
                    "to nat-1, which leads nowhere: NAT gateway nat-1 is failed",
                )),
            ),
            (
                "a private NAT gateway",
                with(|f| gateway(f).public = false),
                Some((Severity::Medium, "is private (ConnectivityType private)")),
            ),
            (
                "a NAT gateway in the task's own private subnet",
                with(|f| gateway(f).subnet_id = "subnet-task".into()),
                Some((
                    Severity::Medium,
                    "whose own 0.0.0.0/0 route leads back to it",
                )),
            ),
            (
                "a NAT instance with source/destination check on",
                with(|f| {
                    f.nat = Some(Fact::Known(Nat::Instance(NatInstance {
                        id: "i-nat".into(),
                        state: "running".into(),
                        subnet_id: Some("subnet-a".into()),
                        public_ip: Some("198.51.100.20".into()),
                        source_dest_check: true,
                        security_group_ids: vec![],
                    })))
                }),
                Some((Severity::Medium, "source/destination check on")),
            ),
            (
                "VPC Block Public Access both ways, the NAT's subnet not excluded",
                with(|f| f.public_access = Some(Fact::Known(blocking(BlockMode::Bidirectional, None)))),
                Some((
                    Severity::Medium,
                    "whose route leads to igw-1, but VPC Block Public Access is block-bidirectional",
                )),
            ),
            (
                "BPA both ways, the NAT's subnet excluded for egress",
                with(|f| {
                    f.public_access = Some(Fact::Known(blocking(
                        BlockMode::Bidirectional,
                        Some(ExclusionMode::Egress),
                    )))
                }),
                None,
            ),
            (
                "BPA ingress only: a NAT gateway still leads out",
                with(|f| f.public_access = Some(Fact::Known(blocking(BlockMode::Ingress, None)))),
                None,
            ),
            (
                "BPA ingress only blocks a NAT instance's own way out",
                with(|f| {
                    f.public_access = Some(Fact::Known(blocking(BlockMode::Ingress, None)));
                    f.nat = Some(Fact::Known(Nat::Instance(NatInstance {
                        id: "i-nat".into(),
                        state: "running".into(),
                        subnet_id: Some("subnet-a".into()),
                        public_ip: Some("198.51.100.20".into()),
                        source_dest_check: false,
                        security_group_ids: vec![],
                    })))
                }),
                Some((Severity::Medium, "block-ingress")),
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::Task(check)), want);
        }
        let unread = with(|f| {
            f.nat = Some(Fact::Unknown(Unreadable {
                api: crate::domain::api::EC2_DESCRIBE_NAT_GATEWAYS,
                reason: "AccessDenied".into(),
            }))
        });
        assert!(matches!(
            run(&unread, Check::Task(check)),
            Outcome::Incomplete(u) if u.api == crate::domain::api::EC2_DESCRIBE_NAT_GATEWAYS
        ));
    }
}
