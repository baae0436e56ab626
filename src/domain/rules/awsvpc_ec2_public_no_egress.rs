//! AWSVPC_EC2_PUBLIC_NO_EGRESS (MEDIUM): an awsvpc EC2 task in a public subnet has no internet
//! egress either: its ENI has no public IP and the subnet routes to an IGW, not a NAT gateway.

use super::view::TaskView;
use crate::domain::hop::Hop;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "AWSVPC_EC2_PUBLIC_NO_EGRESS",
    severity: Severity::Medium,
    cause: Cause::Conflict,
    hop: Hop::WayOut,
    title: "awsvpc task on EC2 in a public subnet has no internet egress",
    remediation: "Run awsvpc tasks on EC2 in private subnets whose route table sends 0.0.0.0/0 to \
                  a NAT gateway (or use VPC endpoints for AWS services).",
};

/// Evaluates the rule.
pub fn check(task: &TaskView<'_>) -> RuleResult {
    if !task.on_instances() {
        return Ok(Outcome::NotApplicable);
    }
    let (eni, table) = (task.eni()?, task.route_table()?);
    Ok(match table.ipv4_internet_gateway() {
        Some(igw) if eni.public_ip.is_none() => Outcome::Fail(RULE.finding(format!(
            "Subnet {} routes 0.0.0.0/0 to {igw}, but the task ENI {} has no public IP (EC2/Managed Instances task ENIs never get one): the \
             container's own outbound calls (APIs, downloads) time out; only the agent's image \
             pulls work, through the instance's ENI.",
            eni.subnet_id, eni.id
        ))),
        _ => Outcome::NotApplicable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut public = valid();
        public.route_table = crate::domain::facts::Fact::Known(route_table(
            "rtb-public",
            false,
            &["subnet-task"],
            true,
        ));
        expect(
            "private subnet with NAT",
            &run(&valid(), Check::Task(check)),
            None,
        );
        expect(
            "public subnet",
            &run(&public, Check::Task(check)),
            Some((Severity::Medium, "routes 0.0.0.0/0 to igw-1")),
        );
    }
}
