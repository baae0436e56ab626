//! LB_RESTRICTED_SOURCES (INFO): an internet-facing load balancer admits the listener port from
//! some public ranges only (an office, a CDN's ranges): the path is valid for those clients, and
//! the finding names them, since everyone else is refused.

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::net::{public_sources, rules_admit, Cidr, Peer};
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_RESTRICTED_SOURCES",
    severity: Severity::Info,
    hop: Hop::LbSecurityGroups,
    cause: Cause::Missing,
    title: "The load balancer admits its listener port from some public ranges only",
    remediation: "Nothing, if only those clients should connect; otherwise admit the listener \
                  port from 0.0.0.0/0 (and ::/0) on the load balancer's security group.",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let mut restricted = Vec::new();
    let everyone = Peer::cidrs(Cidr::parse("0.0.0.0/0"));
    for (lb, port) in view.internet_listener_ports() {
        let groups = view.task.groups(&lb.security_group_ids)?;
        let rules = groups.iter().flat_map(|s| &s.ingress);
        if rules_admit(rules.clone(), "tcp", port, &everyone) {
            continue;
        }
        let public = public_sources(rules, "tcp", port);
        if !public.is_empty() {
            restricted.push(format!("{} port {port} from {}", lb.name, list(&public)));
        }
    }
    restricted.dedup();
    if restricted.is_empty() {
        return Ok(Outcome::NotApplicable);
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "Load balancer {} admits only these public sources: clients elsewhere are refused.",
        list(restricted)
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut office = valid();
        group(&mut office, "sg-lb").ingress = vec![tcp(80, &["203.0.113.0/24"], &[])];
        let mut private = valid();
        group(&mut private, "sg-lb").ingress = vec![tcp(80, &["10.0.0.0/8"], &[])];
        let cases = [
            ("open to everyone", valid(), None),
            (
                "one public range",
                office,
                Some((Severity::Info, "web-alb port 80 from 203.0.113.0/24")),
            ),
            (
                "private ranges only: LB_SG_BLOCKS_LISTENER's",
                private,
                None,
            ),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
