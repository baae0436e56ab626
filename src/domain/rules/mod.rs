//! The rule engine. A rule is data (its [`Rule`] metadata) plus one small pure function, one
//! rule per file with its own table of tests. The engine resolves the shared facts once (the
//! [`LbView`] of a load-balanced service), runs every rule in the order of the inbound path's
//! hops and reports each unreadable IAM action once.
//!
//! Adding a rule: one file with `RULE` and `check`, one line in [`RULES`], one entry in
//! `docs/rules.md`.

use crate::domain::api;
use std::collections::HashSet;

use super::verdict::{Outcome, Rule, RuleResult};

pub mod stop_view;
pub mod view;

pub mod acl_hop;

pub mod awsvpc_ec2_public_no_egress;
pub mod awsvpc_ec2_public_no_inbound;
pub mod check_incomplete;
pub mod fargate_public_subnet_no_public_ip;
pub mod health_check_app_failed;
pub mod health_check_az_not_enabled;
pub mod health_check_blocked;
pub mod health_check_port_not_mapped;
pub mod image_pull_dns_disabled;
pub mod image_pull_no_egress;
pub mod image_pull_not_network;
pub mod lb_container_port_not_mapped;
pub mod lb_internal_only;
pub mod lb_nacl_blocks_clients;
pub mod lb_nacl_blocks_targets;
pub mod lb_no_listener;
pub mod lb_restricted_sources;
pub mod lb_sg_blocks_egress;
pub mod lb_sg_blocks_listener;
pub mod lb_subnets_not_public;
pub mod lb_target_type_not_ip;
pub mod lb_vpc_mismatch;
pub mod nacl_blocks_inbound;
pub mod port_not_behind_lb;
pub mod sg_blocks_lb_traffic;
pub mod target_not_registered;
pub mod task_nat_leads_nowhere;
pub mod task_public_ip_no_igw_route;
pub mod task_public_ip_sg_closed;
pub mod vpc_bpa_blocks_lb;
pub mod vpc_bpa_blocks_task;

#[cfg(test)]
pub mod fixture;
#[cfg(test)]
pub mod stop_fixture;

pub use stop_view::StopView;
pub use view::{LbView, TaskView};

/// A rule's check, by the view it needs.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Looks at the task and its direct path.
    Task(fn(&TaskView<'_>) -> RuleResult),
    /// Looks at the resolved load-balancer path; NOT_APPLICABLE for a task without one.
    LoadBalancer(fn(&LbView<'_>) -> RuleResult),
}

/// Every task rule with its check, in the order of the inbound path's hops (the first broken
/// hop is reported first): direct path, then target group → listener → load balancer subnets →
/// load balancer SGs → task SGs → NACL, then advisories.
pub const RULES: &[(Rule, Check)] = &[
    (
        awsvpc_ec2_public_no_inbound::RULE,
        Check::Task(awsvpc_ec2_public_no_inbound::check),
    ),
    (
        fargate_public_subnet_no_public_ip::RULE,
        Check::Task(fargate_public_subnet_no_public_ip::check),
    ),
    (
        task_public_ip_no_igw_route::RULE,
        Check::Task(task_public_ip_no_igw_route::check),
    ),
    (
        vpc_bpa_blocks_task::RULE,
        Check::Task(vpc_bpa_blocks_task::check),
    ),
    (
        lb_target_type_not_ip::RULE,
        Check::LoadBalancer(lb_target_type_not_ip::check),
    ),
    (
        lb_container_port_not_mapped::RULE,
        Check::LoadBalancer(lb_container_port_not_mapped::check),
    ),
    (
        lb_vpc_mismatch::RULE,
        Check::LoadBalancer(lb_vpc_mismatch::check),
    ),
    (
        lb_no_listener::RULE,
        Check::LoadBalancer(lb_no_listener::check),
    ),
    (
        lb_subnets_not_public::RULE,
        Check::LoadBalancer(lb_subnets_not_public::check),
    ),
    (
        vpc_bpa_blocks_lb::RULE,
        Check::LoadBalancer(vpc_bpa_blocks_lb::check),
    ),
    (
        lb_nacl_blocks_clients::RULE,
        Check::LoadBalancer(lb_nacl_blocks_clients::check),
    ),
    (
        lb_sg_blocks_listener::RULE,
        Check::LoadBalancer(lb_sg_blocks_listener::check),
    ),
    (
        lb_sg_blocks_egress::RULE,
        Check::LoadBalancer(lb_sg_blocks_egress::check),
    ),
    (
        lb_nacl_blocks_targets::RULE,
        Check::LoadBalancer(lb_nacl_blocks_targets::check),
    ),
    (
        sg_blocks_lb_traffic::RULE,
        Check::LoadBalancer(sg_blocks_lb_traffic::check),
    ),
    (
        nacl_blocks_inbound::RULE,
        Check::LoadBalancer(nacl_blocks_inbound::check),
    ),
    (
        awsvpc_ec2_public_no_egress::RULE,
        Check::Task(awsvpc_ec2_public_no_egress::check),
    ),
    (
        task_nat_leads_nowhere::RULE,
        Check::Task(task_nat_leads_nowhere::check),
    ),
    (
        task_public_ip_sg_closed::RULE,
        Check::Task(task_public_ip_sg_closed::check),
    ),
    (
        lb_restricted_sources::RULE,
        Check::LoadBalancer(lb_restricted_sources::check),
    ),
    (
        lb_internal_only::RULE,
        Check::LoadBalancer(lb_internal_only::check),
    ),
    (
        target_not_registered::RULE,
        Check::LoadBalancer(target_not_registered::check),
    ),
    (
        port_not_behind_lb::RULE,
        Check::LoadBalancer(port_not_behind_lb::check),
    ),
];

/// A stop rule's check: NOT_APPLICABLE for a stop of another cause.
pub type StopCheck = fn(&StopView<'_>) -> RuleResult;

/// Every stop rule, in the order of the hops: the health check's port, zone and path, then
/// the application; the start failure's class, the VPC's DNS, then the way out.
pub const STOP_RULES: &[(Rule, StopCheck)] = &[
    (
        health_check_port_not_mapped::RULE,
        health_check_port_not_mapped::check,
    ),
    (
        health_check_az_not_enabled::RULE,
        health_check_az_not_enabled::check,
    ),
    (health_check_blocked::RULE, health_check_blocked::check),
    (
        health_check_app_failed::RULE,
        health_check_app_failed::check,
    ),
    (image_pull_not_network::RULE, image_pull_not_network::check),
    (
        image_pull_dns_disabled::RULE,
        image_pull_dns_disabled::check,
    ),
    (image_pull_no_egress::RULE, image_pull_no_egress::check),
];

/// Every rule id the engine can report: the rules, the stop rules and CHECK_INCOMPLETE.
pub fn rule_ids() -> impl Iterator<Item = &'static str> {
    RULES
        .iter()
        .map(|(rule, _)| rule.id)
        .chain(STOP_RULES.iter().map(|(rule, _)| rule.id))
        .chain(std::iter::once(check_incomplete::RULE.id))
}

/// The rule with this id (task rules, stop rules, CHECK_INCOMPLETE).
pub fn rule(id: &str) -> Option<Rule> {
    RULES
        .iter()
        .map(|(r, _)| *r)
        .chain(STOP_RULES.iter().map(|(r, _)| *r))
        .chain(std::iter::once(check_incomplete::RULE))
        .find(|r| r.id == id)
}

/// Runs every stop rule on a stopped task; one `Incomplete` per IAM action, as [`run_all`].
pub fn run_stop(view: &StopView<'_>) -> Vec<Outcome> {
    // A deleted service says nothing about why its task stopped now: no rule runs on it.
    if let Some(crate::domain::facts::Fact::Known(service)) = &view.facts.service {
        if service.status == crate::domain::facts::ServiceStatus::Inactive {
            return vec![Outcome::Incomplete(crate::domain::facts::Unreadable {
                api: api::ECS_DESCRIBE_SERVICES,
                reason: format!("service {} is INACTIVE (deleted)", service.name),
            })];
        }
    }
    once_per_action(run_stop_each(view))
}

/// Every stop rule's outcome with its rule (none on a deleted service's stop).
pub fn run_stop_each(view: &StopView<'_>) -> Vec<(Rule, Outcome)> {
    if let Some(crate::domain::facts::Fact::Known(service)) = &view.facts.service {
        if service.status == crate::domain::facts::ServiceStatus::Inactive {
            return vec![];
        }
    }
    STOP_RULES
        .iter()
        .map(|(rule, check)| (*rule, check(view).unwrap_or_else(Outcome::Incomplete)))
        .collect()
}

/// Runs one stop rule's check through the engine (its table tests use this).
pub fn run_stop_one(check: StopCheck, view: &StopView<'_>) -> Outcome {
    check(view).unwrap_or_else(Outcome::Incomplete)
}

fn apply(
    check: Check,
    task: &TaskView<'_>,
    lb: &Option<Result<LbView<'_>, crate::domain::facts::Unreadable>>,
) -> Outcome {
    let result = match (check, lb) {
        (Check::Task(f), _) => f(task),
        (Check::LoadBalancer(_), None) => Ok(Outcome::NotApplicable),
        (Check::LoadBalancer(_), Some(Err(u))) => Err(u.clone()),
        (Check::LoadBalancer(f), Some(Ok(view))) => f(view),
    };
    result.unwrap_or_else(Outcome::Incomplete)
}

/// Runs every rule on an in-scope task, in hop order. An unreadable fact is reported once per
/// IAM action: the first rule that needed it keeps the `Incomplete`, the others are dropped.
pub fn run_all(task: &TaskView<'_>) -> Vec<Outcome> {
    once_per_action(run_each(task))
}

/// Every rule's outcome on an in-scope task, with its rule, in hop order (what the path model
/// reads: each rule names its hop).
pub fn run_each(task: &TaskView<'_>) -> Vec<(Rule, Outcome)> {
    let lb = LbView::resolve(task);
    RULES
        .iter()
        .map(|(rule, check)| (*rule, apply(*check, task, &lb)))
        .collect()
}

/// The outcomes with each unreadable IAM action reported once (the first rule keeps it).
pub fn once_per_action(outcomes: Vec<(Rule, Outcome)>) -> Vec<Outcome> {
    let mut incomplete_apis = HashSet::new();
    outcomes
        .into_iter()
        .map(|(_, outcome)| outcome)
        .filter(|outcome| match outcome {
            Outcome::Incomplete(u) => incomplete_apis.insert(u.api),
            _ => true,
        })
        .collect()
}

/// Runs one rule's check through the engine (its table tests use this).
pub fn run_one(check: Check, task: &TaskView<'_>) -> Outcome {
    apply(check, task, &LbView::resolve(task))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::{Fact, Unreadable};

    #[test]
    fn rule_ids_are_unique_and_have_text() {
        let mut ids: Vec<&str> = rule_ids().collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate rule id");
        for rule in RULES
            .iter()
            .map(|(r, _)| r)
            .chain(STOP_RULES.iter().map(|(r, _)| r))
        {
            assert!(
                !rule.remediation.is_empty() && !rule.title.is_empty(),
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn the_valid_alb_fixture_passes_every_rule() {
        let facts = fixture::valid();
        for (rule, check) in RULES {
            let outcome = fixture::run(&facts, *check);
            assert!(
                matches!(outcome, Outcome::Pass(_) | Outcome::NotApplicable),
                "{}: {outcome:?}",
                rule.id
            );
        }
    }

    fn run_engine(facts: &crate::domain::facts::TaskFacts) -> Vec<Outcome> {
        let (event, attachment) = fixture::event();
        let td = facts.task_definition.known().unwrap().clone();
        run_all(&TaskView {
            event: &event,
            attachment: &attachment,
            task_definition: &td,
            facts,
        })
    }

    fn incomplete_apis(outcomes: &[Outcome]) -> Vec<&'static str> {
        outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Incomplete(u) => Some(u.api),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_unreadable_load_balancer_path_is_reported_once() {
        let denied = Unreadable {
            api: api::ELB_DESCRIBE_TARGET_GROUPS,
            reason: "AccessDenied".into(),
        };
        let mut facts = fixture::valid();
        let path = fixture::path(&mut facts);
        path.target_groups = Fact::Unknown(denied.clone());
        path.load_balancers = Fact::Unknown(denied.clone());
        path.listeners = Fact::Unknown(denied.clone());
        path.subnets = Fact::Unknown(denied.clone());
        path.registered_in = Fact::Unknown(denied);
        let outcomes = run_engine(&facts);
        assert_eq!(
            incomplete_apis(&outcomes),
            vec![api::ELB_DESCRIBE_TARGET_GROUPS]
        );
    }

    #[test]
    fn at_most_one_incomplete_per_iam_action() {
        // Security groups unreadable: several LB rules need them; one CHECK_INCOMPLETE.
        let mut facts = fixture::valid();
        facts.security_groups = Fact::Unknown(Unreadable {
            api: api::EC2_DESCRIBE_SECURITY_GROUPS,
            reason: "AccessDenied".into(),
        });
        facts.network_acls = Fact::Unknown(Unreadable {
            api: api::EC2_DESCRIBE_NETWORK_ACLS,
            reason: "AccessDenied".into(),
        });
        let outcomes = run_engine(&facts);
        assert_eq!(
            incomplete_apis(&outcomes),
            vec![
                api::EC2_DESCRIBE_NETWORK_ACLS,
                api::EC2_DESCRIBE_SECURITY_GROUPS
            ]
        );
        // The rules that need neither still give their verdicts.
        assert!(outcomes.iter().any(|o| matches!(o, Outcome::Pass(_))));
    }
}
