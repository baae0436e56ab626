//! Pure network logic: CIDR containment (IPv4 and IPv6), security-group rule matching
//! (port ranges, protocol `-1`, SG-to-SG references) and network-ACL evaluation in
//! rule-number order with explicit deny, as AWS evaluates them.

use std::net::IpAddr;

use ipnet::IpNet;

/// An IPv4 or IPv6 CIDR block (normalised to its network address), on `ipnet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    /// Parses `10.0.0.0/16`, `::/0` or a bare address (a /32 or /128).
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let net = match s.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => IpNet::from(s.parse::<IpAddr>().ok()?),
        };
        Some(Cidr(net.trunc()))
    }

    /// Whether `other` lies entirely inside `self` (same family).
    pub fn covers(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0)
    }

    /// Whether this is an IPv6 block.
    pub fn is_ipv6(&self) -> bool {
        matches!(self.0, IpNet::V6(_))
    }

    /// Whether the block holds a public address (see [`is_public_source`]).
    pub fn is_public(&self) -> bool {
        is_public_source(self)
    }

    /// Whether the two blocks share at least one address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The IANA number for a protocol name as used in SG/NACL rules (`-1` = all).
pub fn protocol_number(p: &str) -> Option<i32> {
    match p.to_ascii_lowercase().as_str() {
        "-1" | "all" => Some(-1),
        "tcp" | "6" => Some(6),
        "udp" | "17" => Some(17),
        "icmp" | "1" => Some(1),
        "icmpv6" | "58" => Some(58),
        other => other.parse().ok(),
    }
}

/// Whether a rule's protocol admits `wanted` (a protocol name such as `tcp`).
pub fn protocol_matches(rule_protocol: &str, wanted: &str) -> bool {
    match (protocol_number(rule_protocol), protocol_number(wanted)) {
        (Some(-1), _) => true,
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether `[from, to]` admits `port`; absent bounds (protocol `-1`) admit every port.
pub fn port_in_range(from: Option<i32>, to: Option<i32>, port: i32) -> bool {
    match (from, to) {
        (Some(f), Some(t)) if f >= 0 && t >= 0 => f <= port && port <= t,
        _ => true,
    }
}

/// One security-group rule (ingress or egress).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SgRule {
    /// `tcp`, `udp`, `icmp`, `-1`, or a number.
    pub protocol: String,
    /// First port (absent for `-1`).
    pub from_port: Option<i32>,
    /// Last port (absent for `-1`).
    pub to_port: Option<i32>,
    /// IPv4 CIDR peers.
    pub ipv4_ranges: Vec<String>,
    /// IPv6 CIDR peers.
    pub ipv6_ranges: Vec<String>,
    /// Referenced security groups.
    pub group_ids: Vec<String>,
    /// Referenced managed prefix lists (`pl-...`); the waves resolve them into the ranges.
    pub prefix_list_ids: Vec<String>,
}

impl SgRule {
    /// Replaces each prefix-list reference with the list's CIDRs (`entries(id)`), so every rule
    /// the rules look at is in ranges.
    pub fn resolve_prefix_lists(&mut self, entries: impl Fn(&str) -> Vec<String>) {
        for id in std::mem::take(&mut self.prefix_list_ids) {
            for cidr in entries(&id) {
                match Cidr::parse(&cidr) {
                    Some(c) if c.is_ipv6() => self.ipv6_ranges.push(cidr),
                    Some(_) => self.ipv4_ranges.push(cidr),
                    None => {}
                }
            }
        }
    }
}

/// A security group with its rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityGroup {
    /// `sg-...`
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Inbound rules.
    pub ingress: Vec<SgRule>,
    /// Outbound rules.
    pub egress: Vec<SgRule>,
}

/// The other end of a flow, as security groups see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    /// The peer's security groups (matched by SG references).
    pub group_ids: Vec<String>,
    /// The address blocks the peer sends from; each must be covered by a rule.
    pub cidrs: Vec<Cidr>,
}

impl Peer {
    /// A peer identified by CIDR blocks only.
    pub fn cidrs(cidrs: impl IntoIterator<Item = Cidr>) -> Self {
        Peer {
            group_ids: vec![],
            cidrs: cidrs.into_iter().collect(),
        }
    }
}

/// Whether `rules` (of any of the groups) admit `protocol`/`port` from/to `peer`: a rule that
/// references one of the peer's groups admits it; otherwise every peer CIDR must be covered by
/// a matching rule's CIDR (so an LB in two subnets needs both admitted).
pub fn rules_admit<'a>(
    rules: impl IntoIterator<Item = &'a SgRule> + Clone,
    protocol: &str,
    port: i32,
    peer: &Peer,
) -> bool {
    rules_admit_some(rules, protocol, (port, port), peer)
}

/// Whether a rule's port range shares a port with `[first, last]` (absent bounds: every port).
fn overlaps(from: Option<i32>, to: Option<i32>, (first, last): (i32, i32)) -> bool {
    match (from, to) {
        (Some(f), Some(t)) if f >= 0 && t >= 0 => f <= last && first <= t,
        _ => true,
    }
}

/// Whether `rules` admit some port of `ports` (a `containerPortRange`; one port is `(p, p)`)
/// from/to `peer`, as [`rules_admit`] does for one port.
pub fn rules_admit_some<'a>(
    rules: impl IntoIterator<Item = &'a SgRule> + Clone,
    protocol: &str,
    ports: (i32, i32),
    peer: &Peer,
) -> bool {
    let matching = || {
        rules.clone().into_iter().filter(move |r| {
            protocol_matches(&r.protocol, protocol) && overlaps(r.from_port, r.to_port, ports)
        })
    };
    if matching().any(|r| r.group_ids.iter().any(|g| peer.group_ids.contains(g))) {
        return true;
    }
    if peer.cidrs.is_empty() {
        return false;
    }
    peer.cidrs.iter().all(|peer_cidr| {
        matching().any(|r| {
            r.ipv4_ranges
                .iter()
                .chain(&r.ipv6_ranges)
                .filter_map(|c| Cidr::parse(c))
                .any(|c| c.covers(peer_cidr))
        })
    })
}

/// Address blocks that are not reachable from the internet: RFC 1918, shared (100.64/10),
/// loopback, link-local, IPv6 unique-local and link-local.
const NON_PUBLIC: [&str; 8] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// Whether a block holds at least one public address (is not inside a non-public range).
pub fn is_public_source(block: &Cidr) -> bool {
    !NON_PUBLIC
        .iter()
        .filter_map(|c| Cidr::parse(c))
        .any(|private| private.covers(block))
}

/// The public sources `rules` admit `protocol`/`port` from: CIDRs with a public address
/// (security-group references and prefix lists are not public sources), each once.
pub fn public_sources<'a>(
    rules: impl IntoIterator<Item = &'a SgRule>,
    protocol: &str,
    port: i32,
) -> Vec<Cidr> {
    public_sources_some(rules, protocol, (port, port))
}

/// The public sources `rules` admit some port of `ports` from.
pub fn public_sources_some<'a>(
    rules: impl IntoIterator<Item = &'a SgRule>,
    protocol: &str,
    ports: (i32, i32),
) -> Vec<Cidr> {
    let mut found: Vec<Cidr> = Vec::new();
    for cidr in rules
        .into_iter()
        .filter(|r| {
            protocol_matches(&r.protocol, protocol) && overlaps(r.from_port, r.to_port, ports)
        })
        .flat_map(|r| r.ipv4_ranges.iter().chain(&r.ipv6_ranges))
        .filter_map(|c| Cidr::parse(c))
        .filter(is_public_source)
    {
        if !found.contains(&cidr) {
            found.push(cidr);
        }
    }
    found
}

/// Whether `rules` admit some port of `ports` from some public source.
pub fn admits_public_source<'a>(
    rules: impl IntoIterator<Item = &'a SgRule>,
    protocol: &str,
    ports: (i32, i32),
) -> bool {
    !public_sources_some(rules, protocol, ports).is_empty()
}

/// One network ACL entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NaclEntry {
    /// Evaluated in ascending order; 32767 is the default `*` deny.
    pub rule_number: i32,
    /// `-1`, `6`, `17`, ... (numbers, as the API returns them).
    pub protocol: String,
    /// `allow` or `deny`.
    pub allow: bool,
    /// Outbound entry.
    pub egress: bool,
    /// IPv4 or IPv6 block.
    pub cidr: String,
    /// First port (absent = all).
    pub from_port: Option<i32>,
    /// Last port (absent = all).
    pub to_port: Option<i32>,
}

/// A network ACL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkAcl {
    /// `acl-...`
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// The subnets associated with it (every subnet has exactly one network ACL).
    pub subnet_ids: Vec<String>,
    /// Its entries, any order.
    pub entries: Vec<NaclEntry>,
}

/// The network ACL of `subnet_id` among `acls`, if one is associated with it.
pub fn acl_of<'a>(acls: &'a [NetworkAcl], subnet_id: &str) -> Option<&'a NetworkAcl> {
    acls.iter()
        .find(|a| a.subnet_ids.iter().any(|s| s == subnet_id))
}

/// The ephemeral ports return traffic may use: the range a stateless hop must open (Elastic
/// Load Balancing and the NAT gateway use all of it; Linux clients 32768-60999).
pub const EPHEMERAL_PORTS: (i32, i32) = (1024, 65535);

/// A set of flows: every port of `ports` (inclusive) to or from every address of `peer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flows {
    /// First and last port.
    pub ports: (i32, i32),
    /// The other end.
    pub peer: Cidr,
}

/// What a network ACL does to a set of flows, split into the parts each entry decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclJudgement {
    /// The flows an allow entry decided.
    pub allowed: Vec<Flows>,
    /// The flows a deny entry decided (`None`: no entry matched, the final `*` deny).
    pub denied: Vec<(Flows, Option<i32>)>,
}

impl AclJudgement {
    /// Every flow is allowed.
    pub fn all_allowed(&self) -> bool {
        self.denied.is_empty()
    }

    /// Some flow to or from a public address is allowed.
    pub fn allows_public(&self) -> bool {
        self.allowed.iter().any(|f| is_public_source(&f.peer))
    }

    /// The ports of `wanted` that no allowed flow (to a public address when `public_only`)
    /// carries, as merged ranges: the ports a client or target would miss.
    pub fn ports_missing(&self, wanted: (i32, i32), public_only: bool) -> Vec<(i32, i32)> {
        let mut open: Vec<(i32, i32)> = self
            .allowed
            .iter()
            .filter(|f| !public_only || is_public_source(&f.peer))
            .map(|f| f.ports)
            .collect();
        open.sort();
        let mut missing = Vec::new();
        let mut next = wanted.0;
        for (from, to) in open {
            if from > next {
                missing.push((next, (from - 1).min(wanted.1)));
            }
            next = next.max(to.saturating_add(1));
            if next > wanted.1 {
                break;
            }
        }
        if next <= wanted.1 {
            missing.push((next, wanted.1));
        }
        missing
    }

    /// The deny entries that decided some flow, each once (`None` = the final deny).
    pub fn deciding_denies(&self) -> Vec<Option<i32>> {
        let mut rules: Vec<Option<i32>> = self.denied.iter().map(|(_, r)| *r).collect();
        rules.sort_by_key(|r| r.unwrap_or(i32::MAX));
        rules.dedup();
        rules
    }
}

/// `a-b`, or `a` for one port, for each range.
pub fn port_ranges_text(ranges: &[(i32, i32)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The blocks of `outer` left after taking out `inner` (which it covers), largest first.
fn cidr_minus(outer: Cidr, inner: Cidr) -> Vec<Cidr> {
    if inner.covers(&outer) {
        return vec![];
    }
    if !outer.covers(&inner) {
        return vec![outer];
    }
    let mut left = Vec::new();
    let mut current = outer.0;
    while current.prefix_len() < inner.0.prefix_len() {
        let Ok(mut halves) = current.subnets(current.prefix_len() + 1) else {
            break;
        };
        let (Some(a), Some(b)) = (halves.next(), halves.next()) else {
            break;
        };
        let (keep, descend) = if a.contains(&inner.0) { (b, a) } else { (a, b) };
        left.push(Cidr(keep));
        current = descend;
    }
    left
}

impl Flows {
    /// The part of these flows an entry with `ports` and `block` matches, if any.
    fn hit(&self, ports: (i32, i32), block: &Cidr) -> Option<Flows> {
        let (from, to) = (self.ports.0.max(ports.0), self.ports.1.min(ports.1));
        if from > to || !block.overlaps(&self.peer) {
            return None;
        }
        let peer = if block.covers(&self.peer) {
            self.peer
        } else {
            *block
        };
        Some(Flows {
            ports: (from, to),
            peer,
        })
    }

    /// These flows without `hit` (a part of them).
    fn minus(&self, hit: &Flows) -> Vec<Flows> {
        let mut rest = Vec::new();
        if self.ports.0 < hit.ports.0 {
            rest.push(Flows {
                ports: (self.ports.0, hit.ports.0 - 1),
                peer: self.peer,
            });
        }
        if hit.ports.1 < self.ports.1 {
            rest.push(Flows {
                ports: (hit.ports.1 + 1, self.ports.1),
                peer: self.peer,
            });
        }
        rest.extend(
            cidr_minus(self.peer, hit.peer)
                .into_iter()
                .map(|peer| Flows {
                    ports: hit.ports,
                    peer,
                }),
        );
        rest
    }
}

impl NetworkAcl {
    /// Judges every flow of `ports` × `peer` in one direction, as AWS does each packet: entries
    /// in rule-number order, the first whose protocol, ports and block match decides. A wide
    /// peer (the internet, a subnet) can come out partly allowed: an ACL used as a blocklist
    /// denies a few blocks and allows the rest.
    pub fn judge(
        &self,
        egress: bool,
        protocol: &str,
        ports: (i32, i32),
        peer: &Cidr,
    ) -> AclJudgement {
        let mut entries: Vec<&NaclEntry> =
            self.entries.iter().filter(|e| e.egress == egress).collect();
        entries.sort_by_key(|e| e.rule_number);
        let mut judgement = AclJudgement::default();
        let mut undecided = vec![Flows { ports, peer: *peer }];
        for e in entries {
            let Some(block) = Cidr::parse(&e.cidr) else {
                continue;
            };
            if !protocol_matches(&e.protocol, protocol) {
                continue;
            }
            let entry_ports = match (e.from_port, e.to_port) {
                (Some(f), Some(t)) if f >= 0 && t >= 0 => (f, t),
                _ => (0, 65535),
            };
            let mut rest = Vec::new();
            for flows in undecided {
                match flows.hit(entry_ports, &block) {
                    None => rest.push(flows),
                    Some(hit) => {
                        if e.allow {
                            judgement.allowed.push(hit);
                        } else {
                            judgement.denied.push((hit, Some(e.rule_number)));
                        }
                        rest.extend(flows.minus(&hit));
                    }
                }
            }
            undecided = rest;
        }
        judgement
            .denied
            .extend(undecided.into_iter().map(|f| (f, None)));
        judgement
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn cidr_containment_table() {
        let cases = [
            ("0.0.0.0/0", "10.0.1.0/24", true),
            ("10.0.0.0/16", "10.0.1.0/24", true),
            ("10.0.1.0/24", "10.0.0.0/16", false),
            ("10.0.1.0/24", "10.0.2.0/24", false),
            ("10.0.1.7", "10.0.1.7/32", true),
            ("10.0.1.0/24", "10.0.1.200", true),
            ("::/0", "2600:1f18::/56", true),
            ("2600:1f18::/56", "2600:1f18:0:ff::/64", true),
            ("2600:1f18::/56", "2600:1f19::/64", false),
            ("0.0.0.0/0", "::/0", false),
            ("::/0", "10.0.0.0/8", false),
        ];
        for (outer, inner, want) in cases {
            assert_eq!(c(outer).covers(&c(inner)), want, "{outer} covers {inner}");
        }
        assert!(c("10.0.0.0/16").overlaps(&c("10.0.1.0/24")));
        assert!(c("10.0.1.0/24").overlaps(&c("10.0.0.0/16")));
        assert_eq!(c("10.0.1.0/24").to_string(), "10.0.1.0/24");
        assert_eq!(c("2600:1f18::/56").to_string(), "2600:1f18::/56");
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("not-a-cidr").is_none());
        assert_eq!(c("10.0.1.9/24"), c("10.0.1.0/24"), "host bits are masked");
    }

    fn rule(
        protocol: &str,
        from: Option<i32>,
        to: Option<i32>,
        v4: &[&str],
        groups: &[&str],
    ) -> SgRule {
        SgRule {
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            ipv4_ranges: v4.iter().map(|s| s.to_string()).collect(),
            ipv6_ranges: vec![],
            group_ids: groups.iter().map(|s| s.to_string()).collect(),
            prefix_list_ids: vec![],
        }
    }

    #[test]
    fn sg_rules_table() {
        let lb = Peer {
            group_ids: vec!["sg-lb".into()],
            cidrs: vec![c("10.0.1.0/24"), c("10.0.2.0/24")],
        };
        let cases = [
            (
                "exact port from LB SG",
                rule("tcp", Some(3000), Some(3000), &[], &["sg-lb"]),
                true,
            ),
            (
                "range covers port",
                rule("tcp", Some(1000), Some(4000), &[], &["sg-lb"]),
                true,
            ),
            (
                "wrong port",
                rule("tcp", Some(80), Some(80), &[], &["sg-lb"]),
                false,
            ),
            (
                "udp only",
                rule("udp", Some(3000), Some(3000), &[], &["sg-lb"]),
                false,
            ),
            (
                "protocol -1 all ports",
                rule("-1", None, None, &[], &["sg-lb"]),
                true,
            ),
            (
                "protocol number 6",
                rule("6", Some(3000), Some(3000), &[], &["sg-lb"]),
                true,
            ),
            (
                "other SG",
                rule("tcp", Some(3000), Some(3000), &[], &["sg-other"]),
                false,
            ),
            (
                "VPC CIDR covers both LB subnets",
                rule("tcp", Some(3000), Some(3000), &["10.0.0.0/16"], &[]),
                true,
            ),
            (
                "0.0.0.0/0",
                rule("tcp", Some(3000), Some(3000), &["0.0.0.0/0"], &[]),
                true,
            ),
            (
                "only one LB subnet",
                rule("tcp", Some(3000), Some(3000), &["10.0.1.0/24"], &[]),
                false,
            ),
        ];
        for (name, r, want) in cases {
            assert_eq!(rules_admit([&r], "tcp", 3000, &lb), want, "{name}");
        }
        let both = [
            rule("tcp", Some(3000), Some(3000), &["10.0.1.0/24"], &[]),
            rule("tcp", Some(3000), Some(3000), &["10.0.2.0/24"], &[]),
        ];
        assert!(
            rules_admit(&both, "tcp", 3000, &lb),
            "two rules together cover both subnets"
        );
        let v6 = SgRule {
            protocol: "tcp".into(),
            from_port: Some(3000),
            to_port: Some(3000),
            ipv6_ranges: vec!["::/0".into()],
            ..Default::default()
        };
        assert!(rules_admit([&v6], "tcp", 3000, &Peer::cidrs([c("::/0")])));
        assert!(!rules_admit(
            [&v6],
            "tcp",
            3000,
            &Peer::cidrs([c("0.0.0.0/0")])
        ));
        assert!(
            !rules_admit([&v6], "tcp", 3000, &Peer::default()),
            "no peer, no admission"
        );
    }

    fn entry(
        n: i32,
        protocol: &str,
        allow: bool,
        egress: bool,
        cidr: &str,
        ports: Option<(i32, i32)>,
    ) -> NaclEntry {
        NaclEntry {
            rule_number: n,
            protocol: protocol.into(),
            allow,
            egress,
            cidr: cidr.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
        }
    }

    #[test]
    fn an_acl_judges_a_wide_peer_and_a_port_range_part_by_part() {
        let acl = |entries: Vec<NaclEntry>| NetworkAcl {
            id: "acl-1".into(),
            entries,
            ..Default::default()
        };
        let internet = c("0.0.0.0/0");
        // (name, entries, direction egress, ports, peer, all allowed, public allowed, missing ports)
        type Case = (
            &'static str,
            Vec<NaclEntry>,
            bool,
            (i32, i32),
            Cidr,
            bool,
            bool,
            Vec<(i32, i32)>,
        );
        let cases: Vec<Case> = vec![
            (
                "allow all",
                vec![entry(100, "-1", true, false, "0.0.0.0/0", None)],
                false,
                (443, 443),
                internet,
                true,
                true,
                vec![],
            ),
            (
                "a blocklist in front of allow all",
                vec![
                    entry(10, "-1", false, false, "203.0.113.0/24", None),
                    entry(100, "-1", true, false, "0.0.0.0/0", None),
                ],
                false,
                (443, 443),
                internet,
                false,
                true,
                vec![],
            ),
            (
                "only the VPC is admitted",
                vec![entry(
                    100,
                    "6",
                    true,
                    false,
                    "10.0.0.0/16",
                    Some((443, 443)),
                )],
                false,
                (443, 443),
                internet,
                false,
                false,
                vec![(443, 443)],
            ),
            (
                "the upper ephemeral range only",
                vec![entry(
                    100,
                    "6",
                    true,
                    true,
                    "0.0.0.0/0",
                    Some((32768, 65535)),
                )],
                true,
                EPHEMERAL_PORTS,
                internet,
                false,
                true,
                vec![(1024, 32767)],
            ),
            (
                "two ranges with a hole",
                vec![
                    entry(100, "6", true, true, "0.0.0.0/0", Some((1024, 2000))),
                    entry(110, "6", true, true, "0.0.0.0/0", Some((3000, 65535))),
                ],
                true,
                EPHEMERAL_PORTS,
                internet,
                false,
                true,
                vec![(2001, 2999)],
            ),
            (
                "a deny of some ports before an allow of all",
                vec![
                    entry(90, "6", false, true, "0.0.0.0/0", Some((5000, 5001))),
                    entry(100, "-1", true, true, "0.0.0.0/0", None),
                ],
                true,
                EPHEMERAL_PORTS,
                c("10.0.1.0/24"),
                false,
                false,
                vec![(5000, 5001)],
            ),
            (
                "udp only",
                vec![entry(100, "17", true, false, "0.0.0.0/0", None)],
                false,
                (443, 443),
                internet,
                false,
                false,
                vec![(443, 443)],
            ),
            (
                "an IPv4 entry says nothing about IPv6",
                vec![entry(100, "-1", true, false, "0.0.0.0/0", None)],
                false,
                (443, 443),
                c("::/0"),
                false,
                false,
                vec![(443, 443)],
            ),
        ];
        for (name, entries, egress, ports, peer, all, public, missing) in cases {
            let judged = acl(entries).judge(egress, "tcp", ports, &peer);
            assert_eq!(judged.all_allowed(), all, "{name}: {judged:?}");
            assert_eq!(judged.allows_public(), public, "{name}: {judged:?}");
            assert_eq!(
                judged.ports_missing(ports, peer.is_public()),
                missing,
                "{name}"
            );
        }
    }

    mod judge_properties {
        use super::*;
        use proptest::prelude::*;
        use std::net::Ipv4Addr;

        /// A random entry over 10.0.0.0/22 and ports 0-99, so that packets often hit it.
        fn entry_strategy() -> impl Strategy<Value = NaclEntry> {
            (
                1..40i32,
                any::<bool>(),
                prop_oneof![Just("6"), Just("-1"), Just("17")],
                0u32..1024,
                22u8..=32,
                proptest::option::of((0..100i32, 0..100i32)),
            )
                .prop_map(|(n, allow, protocol, host, prefix, ports)| {
                    let address = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + host);
                    NaclEntry {
                        rule_number: n,
                        protocol: protocol.into(),
                        allow,
                        egress: false,
                        cidr: format!("{address}/{prefix}"),
                        from_port: ports.map(|(a, b)| a.min(b)),
                        to_port: ports.map(|(a, b)| a.max(b)),
                    }
                })
        }

        /// How AWS decides one packet: the lowest-numbered matching entry, else deny.
        fn packet_allowed(entries: &[NaclEntry], address: Ipv4Addr, port: i32) -> bool {
            let mut sorted: Vec<&NaclEntry> = entries.iter().collect();
            sorted.sort_by_key(|e| e.rule_number);
            let packet = Cidr::parse(&address.to_string()).unwrap();
            sorted
                .into_iter()
                .find(|e| {
                    protocol_matches(&e.protocol, "tcp")
                        && port_in_range(e.from_port, e.to_port, port)
                        && Cidr::parse(&e.cidr).is_some_and(|b| b.covers(&packet))
                })
                .is_some_and(|e| e.allow)
        }

        proptest! {
            #[test]
            fn every_packet_lands_in_exactly_one_part_and_is_judged_as_aws_would(
                entries in proptest::collection::vec(entry_strategy(), 0..8),
                packets in proptest::collection::vec((0u32..1024, 0..100i32), 1..40),
            ) {
                let acl = NetworkAcl { id: "acl".into(), entries: entries.clone(), ..Default::default() };
                let peer = Cidr::parse("10.0.0.0/22").unwrap();
                let judged = acl.judge(false, "tcp", (0, 99), &peer);
                for (host, port) in packets {
                    let address = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + host);
                    let packet = Cidr::parse(&address.to_string()).unwrap();
                    let holds = |f: &Flows| f.ports.0 <= port && port <= f.ports.1 && f.peer.covers(&packet);
                    let allowed = judged.allowed.iter().filter(|f| holds(f)).count();
                    let denied = judged.denied.iter().filter(|(f, _)| holds(f)).count();
                    prop_assert_eq!(allowed + denied, 1, "{}:{} in {:?}", address, port, judged);
                    prop_assert_eq!(allowed == 1, packet_allowed(&entries, address, port));
                }
            }
        }
    }

    #[test]
    fn a_block_minus_a_smaller_one_leaves_the_rest_exactly() {
        let rest = cidr_minus(c("10.0.0.0/16"), c("10.0.1.0/24"));
        assert_eq!(rest.len(), 8);
        assert!(rest.iter().all(|r| !r.overlaps(&c("10.0.1.0/24"))));
        let size: u64 = rest.iter().map(|r| 1u64 << (32 - r.0.prefix_len())).sum();
        assert_eq!(size, 65536 - 256);
        assert_eq!(cidr_minus(c("10.0.1.0/24"), c("10.0.0.0/16")), vec![]);
        assert_eq!(
            cidr_minus(c("10.0.1.0/24"), c("10.0.2.0/24")),
            vec![c("10.0.1.0/24")]
        );
        assert_eq!(cidr_minus(c("::/0"), c("2600::/128")).len(), 128);
    }

    #[test]
    fn port_ranges_read_as_text() {
        assert_eq!(
            port_ranges_text(&[(1024, 32767), (443, 443)]),
            "1024-32767, 443"
        );
    }

    /// One port to or from one peer: allowed, or the deny entries that decided it.
    fn decide(
        acl: &NetworkAcl,
        egress: bool,
        port: i32,
        peer: &Cidr,
    ) -> Result<(), Vec<Option<i32>>> {
        let judged = acl.judge(egress, "tcp", (port, port), peer);
        if judged.all_allowed() {
            Ok(())
        } else {
            Err(judged.deciding_denies())
        }
    }

    #[test]
    fn nacl_rule_order_and_explicit_deny() {
        let lb = c("10.0.1.0/24");
        let default_acl = NetworkAcl {
            id: "acl-1".into(),
            vpc_id: String::new(),
            subnet_ids: vec![],
            entries: vec![
                entry(100, "-1", true, false, "0.0.0.0/0", None),
                entry(32767, "-1", false, false, "0.0.0.0/0", None),
                entry(100, "-1", true, true, "0.0.0.0/0", None),
            ],
        };
        assert_eq!(decide(&default_acl, false, 3000, &lb), Ok(()));
        assert_eq!(decide(&default_acl, true, 40000, &lb), Ok(()));

        let deny_first = NetworkAcl {
            id: "acl-2".into(),
            vpc_id: String::new(),
            subnet_ids: vec![],
            entries: vec![
                entry(200, "6", true, false, "0.0.0.0/0", Some((3000, 3000))),
                entry(90, "6", false, false, "10.0.0.0/16", Some((0, 65535))),
            ],
        };
        assert_eq!(
            decide(&deny_first, false, 3000, &lb),
            Err(vec![Some(90)]),
            "lower number wins"
        );

        let allow_first = NetworkAcl {
            id: "acl-3".into(),
            vpc_id: String::new(),
            subnet_ids: vec![],
            entries: vec![
                entry(50, "6", true, false, "10.0.1.0/24", Some((3000, 3000))),
                entry(90, "6", false, false, "0.0.0.0/0", None),
            ],
        };
        assert_eq!(decide(&allow_first, false, 3000, &lb), Ok(()));
        assert_eq!(decide(&allow_first, false, 3001, &lb), Err(vec![Some(90)]));
        assert_eq!(
            decide(&allow_first, true, 40000, &lb),
            Err(vec![None]),
            "no outbound entry: implicit deny"
        );

        let udp_only = NetworkAcl {
            id: "acl-4".into(),
            vpc_id: String::new(),
            subnet_ids: vec![],
            entries: vec![entry(100, "17", true, false, "0.0.0.0/0", None)],
        };
        assert_eq!(decide(&udp_only, false, 3000, &lb), Err(vec![None]));
    }

    #[test]
    fn protocols() {
        assert!(protocol_matches("-1", "tcp"));
        assert!(protocol_matches("6", "tcp"));
        assert!(protocol_matches("TCP", "tcp"));
        assert!(!protocol_matches("17", "tcp"));
        assert!(port_in_range(None, None, 1));
        assert!(
            port_in_range(Some(-1), Some(-1), 1),
            "-1 bounds mean all ports"
        );
        assert!(!port_in_range(Some(80), Some(443), 3000));
    }

    #[test]
    fn public_sources() {
        let cases = [
            ("0.0.0.0/0", true),
            ("203.0.113.0/24", true),
            ("10.0.0.0/8", false),
            ("10.1.2.3/32", false),
            ("172.20.0.0/16", false),
            ("100.64.1.0/24", false),
            ("::/0", true),
            ("2600:1f18::/32", true),
            ("fd00::/8", false),
        ];
        for (cidr, want) in cases {
            assert_eq!(
                is_public_source(&Cidr::parse(cidr).unwrap()),
                want,
                "{cidr}"
            );
        }
        let rule = |cidr: &str| SgRule {
            protocol: "tcp".into(),
            from_port: Some(3000),
            to_port: Some(3000),
            ipv4_ranges: vec![cidr.into()],
            ..Default::default()
        };
        let public = [rule("198.51.100.0/24")];
        assert!(admits_public_source(&public, "tcp", (3000, 3000)));
        assert!(!admits_public_source(&public, "tcp", (3001, 3001)));
        assert!(!admits_public_source(
            &[rule("10.0.0.0/16")],
            "tcp",
            (3000, 3000)
        ));
        // A port range is admitted when a rule shares a port with it.
        assert!(admits_public_source(&public, "tcp", (2990, 3005)));
        assert!(!admits_public_source(&public, "tcp", (3001, 3010)));
    }
}
