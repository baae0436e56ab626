//! VPC Block Public Access (BPA): an account's per-Region switch that blocks traffic through
//! internet gateways (and egress-only internet gateways) whatever the routes and security
//! groups say, and its per-VPC and per-subnet exclusions. Whether a subnet may be reached from
//! the internet, or may reach it, is decided here once; the rules only ask.
//!
//! The modes, as the EC2 API reference states them
//! (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_BlockPublicAccessStates.html>,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcBlockPublicAccessExclusion.html>):
//! - `block-bidirectional`: all traffic to and from internet gateways is blocked, except for
//!   excluded VPCs and subnets; an `allow-bidirectional` exclusion lets both ways through, an
//!   `allow-egress` one only the outbound way.
//! - `block-ingress`: all internet traffic to the VPCs is blocked, except for excluded ones; only
//!   traffic to and from NAT gateways and egress-only internet gateways passes (they only let
//!   connections be opened outwards). `allow-egress` only matters in the bidirectional mode.
//! - With `exclusionsAllowed: not-allowed` (BPA enforced by the organisation), exclusions do not
//!   apply.

/// The account's BPA mode in a Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockMode {
    /// BPA is off.
    #[default]
    Off,
    /// Traffic both ways through internet gateways is blocked.
    Bidirectional,
    /// Traffic in through internet gateways is blocked; NAT gateways still lead out.
    Ingress,
}

impl BlockMode {
    /// The API's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockMode::Off => "off",
            BlockMode::Bidirectional => "block-bidirectional",
            BlockMode::Ingress => "block-ingress",
        }
    }

    /// The mode the API names; `None` for a value this version does not know.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "off" => Some(BlockMode::Off),
            "block-bidirectional" => Some(BlockMode::Bidirectional),
            "block-ingress" => Some(BlockMode::Ingress),
            _ => None,
        }
    }
}

/// What an exclusion lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusionMode {
    /// Both ways (`allow-bidirectional`).
    Bidirectional,
    /// Outbound only (`allow-egress`).
    Egress,
}

/// One exclusion in force (deleted, failed and disabled ones are left out when read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// The `vpc-...` or `subnet-...` it exempts.
    pub resource_id: String,
    /// What it lets through.
    pub mode: ExclusionMode,
}

/// The BPA settings of one account and Region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublicAccessBlock {
    /// The account's mode.
    pub mode: BlockMode,
    /// Whether exclusions apply (`false` when the organisation enforces BPA).
    pub exclusions_allowed: bool,
    /// The exclusions in force.
    pub exclusions: Vec<Exclusion>,
}

/// How traffic leaves a subnet for the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    /// Straight through the internet gateway (a public IP in a public subnet).
    Direct,
    /// Through a NAT gateway, whose own subnet sends it to the internet gateway.
    NatGateway,
}

impl PublicAccessBlock {
    /// BPA off: what an account without the setting has.
    pub fn off() -> Self {
        PublicAccessBlock::default()
    }

    /// The exclusion that applies to `subnet` of `vpc`, the most permissive when both the
    /// subnet and its VPC are excluded.
    fn exclusion(&self, vpc: &str, subnet: &str) -> Option<ExclusionMode> {
        if !self.exclusions_allowed {
            return None;
        }
        let modes: Vec<ExclusionMode> = self
            .exclusions
            .iter()
            .filter(|e| e.resource_id == vpc || e.resource_id == subnet)
            .map(|e| e.mode)
            .collect();
        if modes.contains(&ExclusionMode::Bidirectional) {
            Some(ExclusionMode::Bidirectional)
        } else {
            modes.first().copied()
        }
    }

    /// Whether connections from the internet may reach `subnet` of `vpc`.
    pub fn admits_ingress(&self, vpc: &str, subnet: &str) -> bool {
        self.mode == BlockMode::Off
            || self.exclusion(vpc, subnet) == Some(ExclusionMode::Bidirectional)
    }

    /// Whether connections from `subnet` of `vpc` may leave for the internet `via` its
    /// internet gateway (`Direct`), or, for a NAT gateway in that subnet, through it.
    pub fn admits_egress(&self, vpc: &str, subnet: &str, via: Egress) -> bool {
        match (self.mode, self.exclusion(vpc, subnet)) {
            (BlockMode::Off, _) | (_, Some(ExclusionMode::Bidirectional)) => true,
            (BlockMode::Bidirectional, excluded) => excluded == Some(ExclusionMode::Egress),
            (BlockMode::Ingress, _) => via == Egress::NatGateway,
        }
    }

    /// The words an alert uses for what blocks `subnet`: the mode, and the exclusion that
    /// does not suffice.
    pub fn describe(&self, vpc: &str, subnet: &str) -> String {
        let enforced = if self.exclusions_allowed {
            ""
        } else {
            ", enforced by the organisation (exclusions not allowed)"
        };
        match self.exclusion(vpc, subnet) {
            Some(ExclusionMode::Egress) => format!(
                "VPC Block Public Access is {}{enforced}, and subnet {subnet} (VPC {vpc}) is excluded for egress only",
                self.mode.as_str()
            ),
            _ => format!(
                "VPC Block Public Access is {}{enforced}, and neither subnet {subnet} nor VPC {vpc} is excluded",
                self.mode.as_str()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::bpa as block;

    #[test]
    fn each_mode_and_exclusion_lets_through_what_the_api_reference_says() {
        use BlockMode::{Bidirectional as Both, Ingress, Off};
        use Egress::{Direct, NatGateway};
        use ExclusionMode::{Bidirectional as AllowBoth, Egress as AllowOut};
        /// The subnet's exclusions and its VPC's.
        type Exclusions<'a> = &'a [(&'a str, ExclusionMode)];
        // (mode, exclusions, ingress, direct egress, NAT gateway egress)
        let cases: &[(BlockMode, Exclusions, bool, bool, bool)] = &[
            (Off, &[], true, true, true),
            (Both, &[], false, false, false),
            (Both, &[("subnet-a", AllowBoth)], true, true, true),
            (Both, &[("vpc-1", AllowBoth)], true, true, true),
            (Both, &[("subnet-a", AllowOut)], false, true, true),
            (Both, &[("subnet-b", AllowBoth)], false, false, false),
            (
                Both,
                &[("vpc-1", AllowOut), ("subnet-a", AllowBoth)],
                true,
                true,
                true,
            ),
            (Ingress, &[], false, false, true),
            (Ingress, &[("subnet-a", AllowBoth)], true, true, true),
            (Ingress, &[("subnet-a", AllowOut)], false, false, true),
        ];
        for (mode, exclusions, ingress, direct, nat) in cases {
            let b = block(*mode, exclusions);
            let name = format!("{mode:?} {exclusions:?}");
            assert_eq!(b.admits_ingress("vpc-1", "subnet-a"), *ingress, "{name}");
            assert_eq!(
                b.admits_egress("vpc-1", "subnet-a", Direct),
                *direct,
                "{name}"
            );
            assert_eq!(
                b.admits_egress("vpc-1", "subnet-a", NatGateway),
                *nat,
                "{name}"
            );
        }
    }

    #[test]
    fn exclusions_do_not_apply_when_the_organisation_forbids_them() {
        let mut b = block(
            BlockMode::Bidirectional,
            &[("subnet-a", ExclusionMode::Bidirectional)],
        );
        b.exclusions_allowed = false;
        assert!(!b.admits_ingress("vpc-1", "subnet-a"));
        assert!(b
            .describe("vpc-1", "subnet-a")
            .contains("exclusions not allowed"));
    }

    #[test]
    fn modes_round_trip_their_api_names() {
        for mode in [BlockMode::Off, BlockMode::Bidirectional, BlockMode::Ingress] {
            assert_eq!(BlockMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(BlockMode::parse("block-everything"), None);
    }
}
