//! TASK_PUBLIC_IP_NO_IGW_ROUTE: a task ENI with a public IP (Fargate `assignPublicIp:
//! ENABLED`) in a subnet whose route table sends 0.0.0.0/0 nowhere or to a NAT: the public IP
//! is unreachable and no load balancer serves the task.

use super::view::TaskView;
use crate::domain::hop::Hop;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "TASK_PUBLIC_IP_NO_IGW_ROUTE",
    severity: Severity::High,
    hop: Hop::InternetGateway,
    cause: Cause::Missing,
    title: "Task has a public IP but its subnet has no route to an internet gateway",
    remediation: "Run the task in a public subnet (a route table with 0.0.0.0/0 to an internet \
                  gateway), or reach it through a load balancer and drop the public IP \
                  (`assignPublicIp: DISABLED`) in a private subnet with a NAT gateway.",
};

/// Evaluates the rule.
pub fn check(task: &TaskView<'_>) -> RuleResult {
    let Some((eni, public_ip)) = task.public_ip_without_lb()? else {
        return Ok(Outcome::NotApplicable);
    };
    let table = task.route_table()?;
    if table.ipv4_internet_gateway().is_some() {
        return Ok(Outcome::NotApplicable);
    }
    let default_route = match table.ipv4_default_route() {
        Some(route) if route.blackhole => format!(
            "routes 0.0.0.0/0 to {}, a blackhole (its target was deleted)",
            route.target.as_deref().unwrap_or("a deleted target")
        ),
        Some(route) => format!(
            "routes 0.0.0.0/0 to {}, not to an internet gateway",
            route.target.as_deref().unwrap_or("an unnamed target")
        ),
        None => "has no 0.0.0.0/0 route".to_string(),
    };
    Ok(Outcome::Fail(RULE.finding(format!(
        "Task ENI {} has public IP {public_ip}, but its subnet {} (route table {}) {default_route}: \
         nothing from the internet reaches the public IP, and no load balancer serves the task.",
        eni.id, eni.subnet_id, table.id
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::Fact;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut nat = fargate_public_ip("0.0.0.0/0");
        nat.route_table = Fact::Known(route_table("rtb-nat", false, &["subnet-task"], false));
        let mut nowhere = fargate_public_ip("0.0.0.0/0");
        known(&mut nowhere.route_table)
            .routes
            .retain(|r| r.destination_cidr.as_deref() != Some("0.0.0.0/0"));
        // The subnet's internet gateway was deleted: the route is a blackhole.
        let mut dead_gateway = fargate_public_ip("0.0.0.0/0");
        for route in &mut known(&mut dead_gateway.route_table).routes {
            route.blackhole = route.destination_cidr.as_deref() == Some("0.0.0.0/0");
        }
        let cases = [
            (
                "public IP, its gateway deleted",
                dead_gateway,
                Some((Severity::High, "a blackhole (its target was deleted)")),
            ),
            (
                "public IP behind a NAT route",
                nat,
                Some((Severity::High, "routes 0.0.0.0/0 to nat-1")),
            ),
            (
                "public IP, no default route",
                nowhere,
                Some((Severity::High, "has no 0.0.0.0/0 route")),
            ),
            (
                "public IP in a public subnet",
                fargate_public_ip("0.0.0.0/0"),
                None,
            ),
            ("no public IP", fargate(), None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run_as("FARGATE", &facts, Check::Task(check)), want);
        }
    }
}
