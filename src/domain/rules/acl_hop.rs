//! One stateless hop, judged the way every network-ACL rule needs it: a service port one way
//! and the ephemeral return ports (1024-65535) the other, since an ACL keeps no connection
//! state. A peer is judged part by part ([`NetworkAcl::judge`]): a subnet partly denied, or a
//! return range only partly open, is MEDIUM and names what is missing; nothing open is HIGH.
//! Toward the internet only public addresses count, so an ACL used as a blocklist passes.

use crate::domain::net::{port_ranges_text, AclJudgement, Cidr, NetworkAcl, EPHEMERAL_PORTS};
use crate::domain::verdict::Severity;

/// What one hop blocks: its severity and the flows, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// HIGH when nothing passes, MEDIUM when part does.
    pub severity: Severity,
    /// e.g. `inbound 3000/tcp from 10.0.1.0/24 (rule 50)`.
    pub text: String,
}

/// Who is at the other end of the hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Known addresses (a subnet, a task's IP): every address must pass.
    Block(Cidr),
    /// Internet clients (`0.0.0.0/0` or `::/0`): some public address must pass.
    Internet(Cidr),
}

impl Peer {
    fn cidr(self) -> Cidr {
        match self {
            Peer::Block(c) | Peer::Internet(c) => c,
        }
    }

    fn describe(self) -> String {
        match self {
            Peer::Block(c) => c.to_string(),
            Peer::Internet(c) => format!("the internet ({c})"),
        }
    }
}

fn denies(judged: &AclJudgement) -> String {
    let rules: Vec<String> = judged
        .deciding_denies()
        .into_iter()
        .map(|r| match r {
            Some(n) => format!("rule {n}"),
            None => "no matching allow: default deny".into(),
        })
        .collect();
    rules.join(", ")
}

/// The service `port` on the hop: `inbound` from the peer, else outbound to it.
pub fn service_port(acl: &NetworkAcl, inbound: bool, port: i32, peer: Peer) -> Option<Blocked> {
    let judged = acl.judge(!inbound, "tcp", (port, port), &peer.cidr());
    let (way, from_to) = if inbound {
        ("inbound", "from")
    } else {
        ("outbound", "to")
    };
    let severity = match peer {
        Peer::Internet(_) if judged.allows_public() => return None,
        Peer::Internet(_) => Severity::High,
        Peer::Block(_) if judged.all_allowed() => return None,
        Peer::Block(_) if judged.allowed.is_empty() => Severity::High,
        Peer::Block(_) => Severity::Medium,
    };
    let part = if severity == Severity::Medium {
        "part of "
    } else {
        ""
    };
    Some(Blocked {
        severity,
        text: format!(
            "{way} {port}/tcp {from_to} {part}{} ({})",
            peer.describe(),
            denies(&judged)
        ),
    })
}

/// The return traffic of the hop: the ephemeral ports `inbound` from the peer, else outbound
/// to it.
pub fn return_ports(acl: &NetworkAcl, inbound: bool, peer: Peer) -> Option<Blocked> {
    let judged = acl.judge(!inbound, "tcp", EPHEMERAL_PORTS, &peer.cidr());
    let public_only = matches!(peer, Peer::Internet(_));
    let missing = judged.ports_missing(EPHEMERAL_PORTS, public_only);
    let (way, from_to) = if inbound {
        ("inbound", "from")
    } else {
        ("outbound", "to")
    };
    let range = format!("{}-{}/tcp", EPHEMERAL_PORTS.0, EPHEMERAL_PORTS.1);
    let (severity, what, part) = if missing == [EPHEMERAL_PORTS] {
        (Severity::High, range, "")
    } else if !missing.is_empty() {
        let what = format!("{}/tcp of the ephemeral range", port_ranges_text(&missing));
        (Severity::Medium, what, "")
    } else if !public_only && !judged.all_allowed() {
        (Severity::Medium, range, "part of ")
    } else {
        return None;
    };
    Some(Blocked {
        severity,
        text: format!(
            "{way} return traffic {what} {from_to} {part}{} ({})",
            peer.describe(),
            denies(&judged)
        ),
    })
}

/// What a load balancer's subnets block, judged subnet by subnet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcrossSubnets {
    /// Every blocked hop, named by its ACL and subnet.
    pub blocked: Vec<Blocked>,
    /// The ACLs that block something, each once.
    pub acls: Vec<String>,
    /// Every subnet blocks the main traffic outright: no node of the load balancer passes.
    pub everywhere: bool,
}

impl AcrossSubnets {
    /// HIGH when every node is cut off, MEDIUM when some are (DNS still hands out the others).
    pub fn severity(&self) -> Severity {
        if self.everywhere {
            Severity::High
        } else {
            Severity::Medium
        }
    }
}

/// Judges each of `subnets` with `judge`, which gives what that subnet's ACL blocks and whether
/// it blocks the main traffic outright; an ACL that cannot be found is unknown.
pub fn across_subnets<'a>(
    subnets: &[String],
    acl_of: impl Fn(&str) -> Result<&'a NetworkAcl, crate::domain::facts::Unreadable>,
    judge: impl Fn(&NetworkAcl) -> (Vec<Blocked>, bool),
) -> Result<AcrossSubnets, crate::domain::facts::Unreadable> {
    let mut result = AcrossSubnets {
        everywhere: true,
        ..Default::default()
    };
    for subnet in subnets {
        let acl = acl_of(subnet)?;
        let (mut here, outright) = judge(acl);
        result.everywhere &= outright;
        if here.is_empty() {
            continue;
        }
        if !result.acls.contains(&acl.id) {
            result.acls.push(acl.id.clone());
        }
        for b in &mut here {
            b.text = format!("{} of {subnet}: {}", acl.id, b.text);
        }
        result.blocked.extend(here);
    }
    Ok(result)
}

/// The worst severity among `blocked` (`None` when nothing is blocked).
pub fn worst(blocked: &[Blocked]) -> Option<Severity> {
    blocked.iter().map(|b| b.severity).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::acl_entry;

    /// (rule number, allow, egress, block, ports)
    type Entry<'a> = (i32, bool, bool, &'a str, Option<(i32, i32)>);

    fn acl(entries: &[Entry<'_>]) -> NetworkAcl {
        NetworkAcl {
            id: "acl-1".into(),
            entries: entries
                .iter()
                .map(|&(n, allow, egress, cidr, ports)| acl_entry(n, allow, egress, cidr, ports))
                .collect(),
            ..Default::default()
        }
    }

    fn expect_blocked(name: &str, got: Option<Blocked>, want: Option<(Severity, &str)>) {
        match (got, want) {
            (None, None) => {}
            (Some(b), Some((severity, text))) => {
                assert_eq!(b.severity, severity, "{name}: {b:?}");
                assert!(b.text.contains(text), "{name}: {}", b.text);
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn service_ports() {
        let subnet = Peer::Block(c("10.0.1.0/24"));
        let internet = Peer::Internet(c("0.0.0.0/0"));
        let cases = [
            (
                "open",
                acl(&[(100, true, false, "0.0.0.0/0", None)]),
                subnet,
                None,
            ),
            (
                "nothing open",
                acl(&[]),
                subnet,
                Some((
                    Severity::High,
                    "inbound 3000/tcp from 10.0.1.0/24 (no matching allow",
                )),
            ),
            (
                "a host of the subnet denied first",
                acl(&[
                    (50, false, false, "10.0.1.9/32", None),
                    (100, true, false, "0.0.0.0/0", None),
                ]),
                subnet,
                Some((Severity::Medium, "from part of 10.0.1.0/24 (rule 50)")),
            ),
            (
                "a blocklist toward the internet",
                acl(&[
                    (50, false, false, "203.0.113.0/24", None),
                    (100, true, false, "0.0.0.0/0", None),
                ]),
                internet,
                None,
            ),
            (
                "only private sources",
                acl(&[(100, true, false, "10.0.0.0/8", None)]),
                internet,
                Some((Severity::High, "from the internet (0.0.0.0/0)")),
            ),
        ];
        for (name, acl, peer, want) in cases {
            let got = service_port(&acl, true, 3000, peer);
            expect_blocked(name, got, want);
        }
    }

    #[test]
    fn return_traffic() {
        let subnet = Peer::Block(c("10.0.1.0/24"));
        let internet = Peer::Internet(c("0.0.0.0/0"));
        let cases = [
            (
                "all open",
                acl(&[(100, true, true, "0.0.0.0/0", None)]),
                internet,
                None,
            ),
            (
                "nothing open",
                acl(&[]),
                subnet,
                Some((
                    Severity::High,
                    "outbound return traffic 1024-65535/tcp to 10.0.1.0/24",
                )),
            ),
            (
                "the Linux range only",
                acl(&[(100, true, true, "0.0.0.0/0", Some((32768, 60999)))]),
                internet,
                Some((
                    Severity::Medium,
                    "1024-32767, 61000-65535/tcp of the ephemeral range",
                )),
            ),
            (
                "part of the subnet",
                acl(&[
                    (50, false, true, "10.0.1.128/25", None),
                    (100, true, true, "0.0.0.0/0", None),
                ]),
                subnet,
                Some((
                    Severity::Medium,
                    "1024-65535/tcp to part of 10.0.1.0/24 (rule 50)",
                )),
            ),
        ];
        for (name, acl, peer, want) in cases {
            let got = return_ports(&acl, false, peer);
            expect_blocked(name, got, want);
        }
    }
}
