//! The path a verdict is about, hop by hop: which hops lie between the internet and the task
//! (or between a pulling ENI and the registry), what each one is, and whether it lets the
//! traffic through. Computed here from the rules' outcomes (every rule names the hop it
//! judges) and the facts (every hop's components), never by a renderer: the JSON, the Mermaid
//! chart and the HTML picture all draw this one list.

use serde::Serialize;

use super::facts::{Fact, RouteTable};
use super::hop::Hop;
use super::rules::view::public_gateway;
use super::rules::TaskView;
use super::stop::{PullPath, StopCause, StopFacts, StoppedTask};
use super::verdict::{Outcome, Rule, Severity};

/// Which way the traffic of a hop flows, seen from the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// Toward the task.
    Inbound,
    /// From the task (or its host) out.
    Outbound,
}

/// Whether a hop lets the traffic through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum HopStatus {
    /// Nothing on it blocks (an advisory finding may still name it).
    Open,
    /// A HIGH or MEDIUM finding blocks it (all of it, or a part the finding names).
    Blocked,
    /// A fact it needs could not be read.
    Unknown,
    /// No rule applies to it here.
    NotApplicable,
}

impl HopStatus {
    /// The word a picture shows (never colour alone).
    pub fn label(self) -> &'static str {
        match self {
            HopStatus::Open => "open",
            HopStatus::Blocked => "blocked",
            HopStatus::Unknown => "unknown",
            HopStatus::NotApplicable => "not applicable",
        }
    }
}

/// One hop of the path, as the Evaluation JSON carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathHop {
    /// What the hop is.
    pub hop: Hop,
    /// Its name in a picture.
    pub label: &'static str,
    /// The AWS components on it (`igw-…`, `sg-…, sg-…`, `web-alb:80`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Which way its traffic flows.
    pub direction: Direction,
    /// Whether it lets the traffic through.
    pub status: HopStatus,
    /// The rule whose finding decides it (the blocking one, else an advisory one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<&'static str>,
}

/// The status of `hop` from the outcomes of the rules that judge it: a HIGH or MEDIUM finding
/// blocks it (a MEDIUM one blocks part of it, or a way the verdict does not rest on: the task's
/// own way out, IPv6 clients, one subnet of several), an unreadable fact makes it unknown, a LOW
/// or INFO finding or a pass leaves it open.
pub fn hop_status(hop: Hop, outcomes: &[(Rule, Outcome)]) -> (HopStatus, Option<&'static str>) {
    let on_hop = || outcomes.iter().filter(move |(rule, _)| rule.hop == hop);
    let failing = || {
        on_hop().filter_map(|(_, o)| match o {
            Outcome::Fail(f) => Some(f),
            _ => None,
        })
    };
    if let Some(f) = failing()
        .filter(|f| f.severity <= Severity::Medium)
        .min_by_key(|f| f.severity)
    {
        return (HopStatus::Blocked, Some(f.rule));
    }
    if on_hop().any(|(_, o)| matches!(o, Outcome::Incomplete(_))) {
        return (HopStatus::Unknown, None);
    }
    if let Some(f) = failing().min_by_key(|f| f.severity) {
        return (HopStatus::Open, Some(f.rule));
    }
    if on_hop().any(|(_, o)| matches!(o, Outcome::Pass(_))) {
        return (HopStatus::Open, None);
    }
    (HopStatus::NotApplicable, None)
}

fn joined<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Option<String> {
    let mut all: Vec<String> = Vec::new();
    for item in items {
        let item = item.as_ref().to_string();
        if !item.is_empty() && !all.contains(&item) {
            all.push(item);
        }
    }
    (!all.is_empty()).then(|| all.join(", "))
}

/// A hop judged by its rules, with its components.
fn judged(
    hop: Hop,
    direction: Direction,
    component: Option<String>,
    outcomes: &[(Rule, Outcome)],
) -> PathHop {
    let (status, finding) = hop_status(hop, outcomes);
    PathHop {
        hop,
        label: hop.label(),
        component,
        direction,
        status,
        finding,
    }
}

/// A hop no rule judges: open when its component is known, unknown otherwise.
fn endpoint(hop: Hop, direction: Direction, component: Option<String>) -> PathHop {
    PathHop {
        hop,
        label: hop.label(),
        status: if component.is_some() {
            HopStatus::Open
        } else {
            HopStatus::Unknown
        },
        component,
        direction,
        finding: None,
    }
}

fn known<T>(fact: &Fact<T>) -> Option<&T> {
    fact.known()
}

/// The path of a RUNNING task: inbound from the internet through its load balancer or its
/// direct public path, then its own way out when its route leads to one.
pub fn running_path(task: &TaskView<'_>, outcomes: &[(Rule, Outcome)]) -> Vec<PathHop> {
    let facts = task.facts;
    let eni = known(&facts.eni);
    let table = known(&facts.route_table);
    let behind_lb = task
        .service()
        .ok()
        .flatten()
        .is_some_and(|s| !s.load_balancers.is_empty());
    let inbound = Direction::Inbound;
    let mut path = vec![endpoint(Hop::Internet, inbound, Some("0.0.0.0/0".into()))];
    if behind_lb {
        path.extend(balancer_hops(task, outcomes));
    } else {
        let igw = table.and_then(RouteTable::ipv4_internet_gateway);
        let mut gateway = judged(Hop::InternetGateway, inbound, igw.map(Into::into), outcomes);
        if gateway.status == HopStatus::NotApplicable && igw.is_some() {
            gateway.status = HopStatus::Open;
        }
        let public_ip = eni
            .and_then(|e| e.public_ip.clone())
            .or_else(|| known(&facts.host).and_then(|h| h.public_ip.clone()));
        path.push(gateway);
        path.push(judged(Hop::PublicIp, inbound, public_ip, outcomes));
        let groups = eni.and_then(|e| joined(&e.security_group_ids));
        path.push(judged(Hop::TaskSecurityGroups, inbound, groups, outcomes));
    }
    path.push(endpoint(Hop::TaskEni, inbound, eni.map(|e| e.id.clone())));
    let way_out = table
        .and_then(RouteTable::ipv4_default_route)
        .and_then(|r| r.target.clone());
    let out = judged(Hop::WayOut, Direction::Outbound, way_out, outcomes);
    if out.status != HopStatus::NotApplicable {
        path.push(out);
    }
    path
}

/// The load-balancer hops of a RUNNING task's inbound path, with their components.
fn balancer_hops(task: &TaskView<'_>, outcomes: &[(Rule, Outcome)]) -> Vec<PathHop> {
    let facts = task.facts;
    let lb_path = facts.load_balancer_path.as_ref();
    let lbs = lb_path
        .and_then(|p| known(&p.load_balancers))
        .map(Vec::as_slice)
        .unwrap_or_default();
    let subnets: Vec<&String> = lbs.iter().flat_map(|l| &l.subnet_ids).collect();
    let tables = known(&facts.vpc_route_tables)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let acls = known(&facts.network_acls)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let acl_ids = |subnets: &[&String]| {
        joined(
            subnets
                .iter()
                .filter_map(|s| crate::domain::net::acl_of(acls, s))
                .map(|a| a.id.clone()),
        )
    };
    let listeners = lb_path
        .and_then(|p| known(&p.listeners))
        .map(Vec::as_slice)
        .unwrap_or_default();
    let listener_names = joined(listeners.iter().filter_map(|l| {
        let lb = lbs.iter().find(|b| b.arn == l.load_balancer_arn)?;
        Some(format!("{}:{}", lb.name, l.port?))
    }));
    let groups = lb_path
        .and_then(|p| known(&p.target_groups))
        .map(Vec::as_slice)
        .unwrap_or_default();
    let task_subnet = known(&facts.eni)
        .map(|e| e.subnet_id.as_str())
        .unwrap_or_default();
    let inbound = Direction::Inbound;
    vec![
        judged(
            Hop::InternetGateway,
            inbound,
            joined(subnets.iter().filter_map(|s| public_gateway(tables, s))),
            outcomes,
        ),
        judged(Hop::LbSubnetAcl, inbound, acl_ids(&subnets), outcomes),
        judged(
            Hop::LbSecurityGroups,
            inbound,
            joined(lbs.iter().flat_map(|l| &l.security_group_ids)),
            outcomes,
        ),
        judged(Hop::Listener, inbound, listener_names, outcomes),
        judged(
            Hop::TargetGroup,
            inbound,
            joined(groups.iter().map(|g| &g.name)),
            outcomes,
        ),
        judged(Hop::LbSubnetAclToTask, inbound, acl_ids(&subnets), outcomes),
        judged(
            Hop::TaskSecurityGroups,
            inbound,
            known(&facts.eni).and_then(|e| joined(&e.security_group_ids)),
            outcomes,
        ),
        judged(
            Hop::TaskSubnetAcl,
            inbound,
            crate::domain::net::acl_of(acls, task_subnet).map(|a| a.id.clone()),
            outcomes,
        ),
    ]
}

/// The path of a stop diagnosis: the health check's way into the task, or the pull's way out.
pub fn stop_path(
    stop: &StoppedTask,
    facts: &StopFacts,
    outcomes: &[(Rule, Outcome)],
) -> Vec<PathHop> {
    match &stop.cause {
        StopCause::HealthCheck { .. } => {
            let health = facts.health_check.as_ref();
            let group = health.and_then(|h| known(&h.target_group));
            let net = known(&facts.task_network);
            let inbound = Direction::Inbound;
            vec![
                judged(
                    Hop::TargetGroup,
                    inbound,
                    group.map(|g| g.name.clone()),
                    outcomes,
                ),
                judged(
                    Hop::TaskSecurityGroups,
                    inbound,
                    net.and_then(|n| joined(&n.security_group_ids)),
                    outcomes,
                ),
                judged(
                    Hop::TaskEni,
                    inbound,
                    net.and_then(|n| n.private_ip.clone()),
                    outcomes,
                ),
                judged(Hop::Application, inbound, None, outcomes),
            ]
        }
        StopCause::StartFailure { .. } => {
            let pull = facts.pull.as_ref();
            let path: Option<&PullPath> = pull.and_then(|p| known(&p.path));
            let out = Direction::Outbound;
            let table = pull.and_then(|p| known(&p.route_table));
            let route = table
                .and_then(RouteTable::ipv4_default_route)
                .and_then(|r| r.target.clone());
            let images =
                known(&facts.task_definition).and_then(|td| joined(&td.start_needs.images));
            vec![
                endpoint(Hop::TaskEni, out, path.map(PullPath::describe)),
                judged(Hop::Dns, out, path.map(|p| p.vpc_id.clone()), outcomes),
                judged(Hop::WayOut, out, route, outcomes),
                judged(Hop::Registry, out, images, outcomes),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::Unreadable;
    use crate::domain::rules::fixture::{self, group};
    use crate::domain::rules::{run_each, run_stop_each, StopView};

    fn running(facts: &crate::domain::facts::TaskFacts) -> Vec<PathHop> {
        let (event, attachment) = fixture::event();
        let td = facts.task_definition.known().unwrap().clone();
        let view = TaskView {
            event: &event,
            attachment: &attachment,
            task_definition: &td,
            facts,
        };
        running_path(&view, &run_each(&view))
    }

    fn summary(path: &[PathHop]) -> Vec<(Hop, HopStatus, Option<&'static str>)> {
        path.iter().map(|h| (h.hop, h.status, h.finding)).collect()
    }

    #[test]
    fn the_seed_is_blocked_at_the_public_ip_it_is_mistaken_for() {
        let path = running(&fixture::seed());
        use HopStatus::*;
        assert_eq!(
            summary(&path),
            [
                (Hop::Internet, Open, None),
                (Hop::InternetGateway, Open, None),
                (Hop::PublicIp, Blocked, Some("AWSVPC_EC2_PUBLIC_NO_INBOUND")),
                (Hop::TaskSecurityGroups, NotApplicable, None),
                (Hop::TaskEni, Open, None),
                (Hop::WayOut, Blocked, Some("AWSVPC_EC2_PUBLIC_NO_EGRESS")),
            ]
        );
        assert_eq!(path[2].component.as_deref(), Some("203.0.113.10"));
        assert_eq!(path[5].direction, Direction::Outbound);
    }

    #[test]
    fn a_task_behind_an_alb_is_drawn_hop_by_hop_and_a_broken_hop_is_the_blocked_one() {
        let valid = running(&fixture::valid());
        let hops: Vec<Hop> = valid.iter().map(|h| h.hop).collect();
        assert_eq!(
            hops,
            [
                Hop::Internet,
                Hop::InternetGateway,
                Hop::LbSubnetAcl,
                Hop::LbSecurityGroups,
                Hop::Listener,
                Hop::TargetGroup,
                Hop::LbSubnetAclToTask,
                Hop::TaskSecurityGroups,
                Hop::TaskSubnetAcl,
                Hop::TaskEni,
                Hop::WayOut,
            ]
        );
        assert!(
            valid.iter().all(|h| h.status == HopStatus::Open),
            "{valid:#?}"
        );
        assert_eq!(valid[4].component.as_deref(), Some("web-alb:80"));

        let mut closed = fixture::valid();
        group(&mut closed, "sg-task").ingress.clear();
        let path = running(&closed);
        let blocked: Vec<_> = path
            .iter()
            .filter(|h| h.status == HopStatus::Blocked)
            .collect();
        assert_eq!(blocked.len(), 1, "{path:#?}");
        assert_eq!(blocked[0].hop, Hop::TaskSecurityGroups);
        assert_eq!(blocked[0].finding, Some("SG_BLOCKS_LB_TRAFFIC"));
        assert_eq!(blocked[0].component.as_deref(), Some("sg-task"));
    }

    #[test]
    fn an_unreadable_fact_makes_its_hops_unknown_never_open() {
        let mut facts = fixture::valid();
        facts.security_groups = Fact::Unknown(Unreadable {
            api: crate::domain::api::EC2_DESCRIBE_SECURITY_GROUPS,
            reason: "AccessDenied".into(),
        });
        let path = running(&facts);
        for hop in [Hop::LbSecurityGroups, Hop::TaskSecurityGroups] {
            let h = path.iter().find(|h| h.hop == hop).unwrap();
            assert_eq!(h.status, HopStatus::Unknown, "{hop:?}");
        }
    }

    #[test]
    fn a_pull_is_drawn_from_the_pulling_eni_to_the_registry() {
        let case = crate::domain::rules::stop_fixture::image_pull_private();
        let view = StopView {
            stop: &case.stop,
            facts: &case.facts,
        };
        let path = stop_path(&case.stop, &case.facts, &run_stop_each(&view));
        use HopStatus::*;
        assert_eq!(
            summary(&path),
            [
                (Hop::TaskEni, Open, None),
                (Hop::Dns, Open, None),
                (Hop::WayOut, Blocked, Some("IMAGE_PULL_NO_EGRESS")),
                (Hop::Registry, Open, None),
            ]
        );
        assert!(path.iter().all(|h| h.direction == Direction::Outbound));
    }
}
