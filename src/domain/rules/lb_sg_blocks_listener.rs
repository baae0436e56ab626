//! LB_SG_BLOCKS_LISTENER: the load balancer's security groups must admit the listener port
//! from its clients (0.0.0.0/0 and ::/0 for an internet-facing one).

use super::view::LbView;
use crate::domain::hop::Hop;
use crate::domain::net::{public_sources, rules_admit, Cidr, Peer};
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "LB_SG_BLOCKS_LISTENER",
    severity: Severity::High,
    hop: Hop::LbSecurityGroups,
    cause: Cause::Missing,
    title: "Load balancer security groups do not admit the listener port from clients",
    remediation: "Add an inbound rule to the load balancer's security group for the listener \
                  port from the clients (0.0.0.0/0 for an internet-facing load balancer), e.g. \
                  aws ec2 authorize-security-group-ingress --group-id <lb-sg> --protocol tcp \
                  --port <listener-port> --cidr 0.0.0.0/0",
};

/// Evaluates the rule.
pub fn check(view: &LbView<'_>) -> RuleResult {
    let mut blocked = Vec::new();
    let mut fixes = Vec::new();
    // A blocked IPv4 listener (or the only family) is HIGH; IPv6 alone on a dual-stack LB is MEDIUM.
    let mut severity = Severity::Medium;
    for (lb, port) in view.internet_listener_ports() {
        let groups = view.task.groups(&lb.security_group_ids)?;
        let rules = groups.iter().flat_map(|s| &s.ingress);
        let public = public_sources(rules.clone(), "tcp", port);
        let mut clients = Vec::new();
        if lb.serves_ipv4() {
            clients.push("0.0.0.0/0");
        }
        if lb.dual_stack() {
            clients.push("::/0");
        }
        for client in clients {
            if rules_admit(
                rules.clone(),
                "tcp",
                port,
                &Peer::cidrs(Cidr::parse(client)),
            ) {
                continue;
            }
            // Some public clients of this family are admitted (an office range, a CDN): the
            // path is valid for them; LB_RESTRICTED_SOURCES names them.
            let v6 = client == "::/0";
            if public.iter().any(|c| c.is_ipv6() == v6) {
                continue;
            }
            if !v6 || !lb.serves_ipv4() {
                severity = Severity::High;
            }
            let sg = &lb.security_group_ids[0];
            blocked.push(format!(
                "{} port {port} from {client} (security groups {})",
                lb.name,
                list(&lb.security_group_ids)
            ));
            fixes.push(if v6 {
                format!("aws ec2 authorize-security-group-ingress --group-id {sg} --ip-permissions IpProtocol=tcp,FromPort={port},ToPort={port},Ipv6Ranges=[{{CidrIpv6=::/0}}]")
            } else {
                format!("aws ec2 authorize-security-group-ingress --group-id {sg} --protocol tcp --port {port} --cidr 0.0.0.0/0")
            });
        }
    }
    blocked.dedup();
    fixes.dedup();
    if blocked.is_empty() {
        return Ok(Outcome::Pass(
            "load balancer security groups admit the listener ports".into(),
        ));
    }
    Ok(Outcome::Fail(RULE.finding_with(
        severity,
        format!(
            "Clients cannot connect to load balancer {}: no inbound rule admits the listener port from any public source. Fix: {}",
            list(blocked),
            fixes.join("; ")
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::*;
    use crate::domain::rules::Check;

    #[test]
    fn table() {
        let mut closed = valid();
        group(&mut closed, "sg-lb").ingress = vec![tcp(80, &["10.0.0.0/8"], &[])];
        let mut wrong_port = valid();
        group(&mut wrong_port, "sg-lb").ingress = vec![tcp(443, &["0.0.0.0/0"], &[])];
        let mut office = valid();
        group(&mut office, "sg-lb").ingress = vec![tcp(80, &["203.0.113.0/24"], &[])];
        let mut internal = valid();
        group(&mut internal, "sg-lb").ingress.clear();
        known(&mut path(&mut internal).load_balancers)[0].scheme =
            crate::domain::facts::Scheme::Internal;
        let cases = [
            ("open listener", valid(), None),
            (
                "only private clients",
                closed,
                Some((Severity::High, "web-alb port 80")),
            ),
            (
                "wrong port open",
                wrong_port,
                Some((Severity::High, "sg-lb")),
            ),
            ("internal LB (clients unknown)", internal, None),
            ("restricted to one public range: valid for it", office, None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, Check::LoadBalancer(check)), want);
        }
    }
}
