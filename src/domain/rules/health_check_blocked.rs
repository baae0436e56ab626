//! HEALTH_CHECK_BLOCKED: the load balancer's health checks must reach the task on the
//! health-check port: out through the load balancer's security groups, through the task
//! subnet's network ACL (both ways: ACLs are stateless), in through the task's security groups.

use super::acl_hop::{return_ports, service_port, Peer as AclPeer};
use super::stop_view::StopView;
use super::view::subnet_cidrs;
use crate::domain::facts::LoadBalancer;
use crate::domain::hop::Hop;
use crate::domain::net::{rules_admit, Cidr, NetworkAcl, Peer, SecurityGroup};
use crate::domain::stop::TaskNetworkConfig;
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "HEALTH_CHECK_BLOCKED",
    severity: Severity::High,
    hop: Hop::TaskSecurityGroups,
    cause: Cause::Missing,
    title: "The load balancer's health checks cannot reach the task",
    remediation: "Open the hop the finding names for the health-check port: an inbound rule on \
                  the task's security group from the load balancer's security group, an outbound \
                  rule on the load balancer's security group to the task's, or network ACL entries \
                  (inbound the port from the load balancer subnets, outbound 1024-65535 to them).",
};

/// The hops that drop the health checks, and the fix of each.
#[derive(Default)]
struct Gaps {
    hops: Vec<String>,
    fixes: Vec<String>,
}

impl Gaps {
    fn add(&mut self, hop: String, fix: String) {
        self.hops.push(hop);
        self.fixes.push(fix);
    }
}

/// The health check's target: the port, the task's network and its filters.
struct Target<'a> {
    port: i32,
    net: &'a TaskNetworkConfig,
    cidrs: Vec<Cidr>,
    groups: Vec<&'a SecurityGroup>,
    acl: &'a NetworkAcl,
}

impl Target<'_> {
    fn first_group(&self) -> &str {
        self.net
            .security_group_ids
            .first()
            .map_or("<task-sg>", String::as_str)
    }
}

/// Evaluates the rule.
pub fn check(view: &StopView<'_>) -> RuleResult {
    let Some(h) = view.health() else {
        return Ok(Outcome::NotApplicable);
    };
    let Some(port) = view.health_check_port(h)? else {
        return Ok(Outcome::NotApplicable);
    };
    let (group, net) = (view.target_group(h)?, view.task_network()?);
    let (balancers, subnets) = (view.load_balancers(h)?, view.subnets(h)?);
    let target = Target {
        port,
        net,
        cidrs: match net.private_ip.as_deref().and_then(Cidr::parse) {
            Some(ip) => vec![ip],
            None => subnet_cidrs(subnets, std::slice::from_ref(&net.subnet_id)),
        },
        groups: view.groups(&net.security_group_ids)?,
        acl: view.network_acl()?,
    };
    let mut gaps = Gaps::default();
    for lb in balancers
        .iter()
        .filter(|b| group.load_balancer_arns.contains(&b.arn))
    {
        let lb_cidrs = subnet_cidrs(subnets, &lb.subnet_ids);
        if !lb.security_group_ids.is_empty() {
            out_of_the_load_balancer(
                &target,
                lb,
                &view.groups(&lb.security_group_ids)?,
                &mut gaps,
            );
        }
        through_the_acl(&target, &lb_cidrs, &mut gaps);
        into_the_task(&target, lb, &lb_cidrs, &mut gaps);
    }
    if gaps.hops.is_empty() {
        return Ok(Outcome::Pass(format!(
            "health checks reach the task on {port}/tcp"
        )));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "The health checks of target group {} to port {port} are dropped: {}. ECS stopped the task because they never succeeded. Fix: {}",
        group.name,
        gaps.hops.join("; "),
        gaps.fixes.join("; ")
    ))))
}

/// Out of the load balancer: its groups must let the port out to the task.
fn out_of_the_load_balancer(
    target: &Target<'_>,
    lb: &LoadBalancer,
    lb_groups: &[&SecurityGroup],
    gaps: &mut Gaps,
) {
    let port = target.port;
    let to_task = Peer {
        group_ids: target.net.security_group_ids.clone(),
        cidrs: target.cidrs.clone(),
    };
    if !rules_admit(
        lb_groups.iter().flat_map(|g| &g.egress),
        "tcp",
        port,
        &to_task,
    ) {
        gaps.add(
            format!(
                "the load balancer {}'s security groups {} allow no outbound {port}/tcp to the task",
                lb.name,
                list(&lb.security_group_ids)
            ),
            format!(
                "aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port {port} --source-group {}",
                lb.security_group_ids[0],
                target.first_group()
            ),
        );
    }
}

/// Through the task subnet's network ACL, both ways (ACLs are stateless).
fn through_the_acl(target: &Target<'_>, lb_cidrs: &[Cidr], gaps: &mut Gaps) {
    let (port, acl) = (target.port, target.acl);
    for &cidr in lb_cidrs {
        if let Some(blocked) = service_port(acl, true, port, AclPeer::Block(cidr)) {
            gaps.add(
                format!("network ACL {} denies {}", acl.id, blocked.text),
                format!(
                    "aws ec2 create-network-acl-entry --network-acl-id {} --ingress --rule-number <below the deny> --protocol tcp --port-range From={port},To={port} --cidr-block {cidr} --rule-action allow",
                    acl.id
                ),
            );
        }
        if let Some(blocked) = return_ports(acl, false, AclPeer::Block(cidr)) {
            gaps.add(
                format!("network ACL {} denies the {}", acl.id, blocked.text),
                format!(
                    "aws ec2 create-network-acl-entry --network-acl-id {} --egress --rule-number <below the deny> --protocol tcp --port-range From=1024,To=65535 --cidr-block {cidr} --rule-action allow",
                    acl.id
                ),
            );
        }
    }
}

/// Into the task: its groups must admit the port from the load balancer.
fn into_the_task(target: &Target<'_>, lb: &LoadBalancer, lb_cidrs: &[Cidr], gaps: &mut Gaps) {
    let (port, net, task_sg) = (target.port, target.net, target.first_group());
    let from_lb = Peer {
        group_ids: lb.security_group_ids.clone(),
        cidrs: lb_cidrs.to_vec(),
    };
    if rules_admit(
        target.groups.iter().flat_map(|g| &g.ingress),
        "tcp",
        port,
        &from_lb,
    ) {
        return;
    }
    gaps.add(
        format!(
            "the task's security groups {} (from {}) admit no {port}/tcp from {}",
            list(&net.security_group_ids),
            net.source,
            lb.name
        ),
        match lb.security_group_ids.first() {
            Some(lb_sg) => format!(
                "aws ec2 authorize-security-group-ingress --group-id {task_sg} --protocol tcp --port {port} --source-group {lb_sg}"
            ),
            None => format!(
                "aws ec2 authorize-security-group-ingress --group-id {task_sg} --protocol tcp --port {port} --cidr {}",
                lb_cidrs.first().map_or("<lb-subnet-cidr>".into(), ToString::to_string)
            ),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::net::NaclEntry;
    use crate::domain::rules::fixture::tcp;
    use crate::domain::rules::stop_fixture::*;

    #[test]
    fn table() {
        let mut task_closed = health_kill();
        group(&mut task_closed, "sg-task").ingress = vec![tcp(80, &[], &["sg-lb"])];
        let mut by_cidr = health_kill();
        group(&mut by_cidr, "sg-task").ingress = vec![tcp(3000, &["10.0.0.0/16"], &[])];
        let mut lb_out_closed = health_kill();
        group(&mut lb_out_closed, "sg-lb").egress = vec![tcp(443, &["0.0.0.0/0"], &[])];
        let mut acl_denies = health_kill();
        acl(&mut acl_denies).entries.insert(
            0,
            NaclEntry {
                rule_number: 50,
                protocol: "6".into(),
                allow: false,
                egress: false,
                cidr: "10.0.1.0/24".into(),
                from_port: Some(3000),
                to_port: Some(3000),
            },
        );
        let cases = [
            ("open path", health_kill(), None),
            ("task SG admits the VPC CIDR", by_cidr, None),
            (
                "task SG closed",
                task_closed,
                Some((Severity::High, "the task's security groups sg-task (from deployment ecs-svc/1) admit no 3000/tcp from web")),
            ),
            (
                "LB egress closed",
                lb_out_closed,
                Some((Severity::High, "allow no outbound 3000/tcp to the task")),
            ),
            (
                "NACL denies",
                acl_denies,
                Some((Severity::High, "denies inbound 3000/tcp from 10.0.1.0/24 (rule 50)")),
            ),
            ("start failure", image_pull_private(), None),
        ];
        for (name, facts, want) in cases {
            expect(name, &run(&facts, check), want);
        }
    }
}
