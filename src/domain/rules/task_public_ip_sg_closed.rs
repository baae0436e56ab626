//! TASK_PUBLIC_IP_SG_CLOSED (INFO): a task with a public IP in a public subnet, without a load
//! balancer, whose security groups admit no public source on any mapped port: reachable from
//! inside the VPC only (COMPLIANT; may be intended).

use super::view::TaskView;
use crate::domain::hop::Hop;
use crate::domain::net::admits_public_source;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "TASK_PUBLIC_IP_SG_CLOSED",
    severity: Severity::Info,
    hop: Hop::TaskSecurityGroups,
    cause: Cause::Missing,
    title: "Task has a public IP but its security groups admit no public source",
    remediation: "If clients on the internet must reach the task, add an inbound rule for the \
                  port from their ranges (aws ec2 authorize-security-group-ingress --group-id \
                  <task-sg> --protocol tcp --port <port> --cidr <clients>); better, put a load \
                  balancer in front. If it is meant to be private, drop the public IP.",
};

/// Evaluates the rule.
pub fn check(task: &TaskView<'_>) -> RuleResult {
    let Some((eni, public_ip)) = task.public_ip_without_lb()? else {
        return Ok(Outcome::NotApplicable);
    };
    let Some(igw) = task.route_table()?.ipv4_internet_gateway() else {
        return Ok(Outcome::NotApplicable);
    };
    let (_, groups) = task.eni_groups()?;
    let ingress = groups.iter().flat_map(|g| &g.ingress);
    let open: Vec<String> = task
        .ports()
        .iter()
        .filter(|p| {
            admits_public_source(
                ingress.clone(),
                &p.protocol,
                (p.container_port, p.last_port),
            )
        })
        .map(ToString::to_string)
        .collect();
    if !open.is_empty() {
        return Ok(Outcome::Pass(format!(
            "task ENI {} has public IP {public_ip} (0.0.0.0/0 -> {igw}) and admits {} from the internet",
            eni.id,
            list(open)
        )));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "Task ENI {} has public IP {public_ip} in a public subnet (0.0.0.0/0 -> {igw}), but its \
         security groups {} admit no public source on ports {}: it is reachable from inside the \
         VPC only.",
        eni.id,
        list(&eni.security_group_ids),
        list(task.ports())
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let cases = [
            ("open to the internet", fargate_public_ip("0.0.0.0/0"), None),
            (
                "open to one public range",
                fargate_public_ip("203.0.113.0/24"),
                None,
            ),
            (
                "private sources only",
                fargate_public_ip("10.0.0.0/8"),
                Some((Severity::Info, "admit no public source on ports 3000/tcp")),
            ),
            ("no public IP", fargate(), None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run_as("FARGATE", &facts, Check::Task(check)), want);
        }
        // An open group passes with the reason (the annotation of a COMPLIANT task).
        let outcome = run_as(
            "FARGATE",
            &fargate_public_ip("0.0.0.0/0"),
            Check::Task(check),
        );
        assert!(
            matches!(outcome, Outcome::Pass(ref r) if r.contains("198.51.100.7")),
            "{outcome:?}"
        );
    }
}
