//! EC2 reads: the task ENI, route tables, network ACLs, security groups, subnets.

use crate::domain::api;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use tracing::instrument;

use super::errors::classify;
use super::AwsReader;
use crate::domain::facts::{
    NatGateway, NatGatewayState, NatInstance, NetworkInterface, Route, RouteTable, Subnet,
    Unreadable, VpcDns, VpcEndpoint,
};
use crate::domain::net::{NaclEntry, NetworkAcl, SecurityGroup, SgRule};
use crate::domain::public_access::{BlockMode, Exclusion, ExclusionMode, PublicAccessBlock};
use crate::ports::{Ec2Reader, ReadError, ReadResult, Selection};

impl AwsReader {
    /// The VPC Block Public Access exclusions in force (every page).
    async fn bpa_exclusions(&self) -> Result<Vec<Exclusion>, ReadError> {
        let api = api::EC2_DESCRIBE_VPC_BPA_EXCLUSIONS;
        let mut exclusions = vec![];
        let mut next: Option<String> = None;
        loop {
            let out = self
                .ec2
                .describe_vpc_block_public_access_exclusions()
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            exclusions.extend(
                out.vpc_block_public_access_exclusions()
                    .iter()
                    .filter_map(exclusion_in_force),
            );
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(exclusions),
            }
        }
    }
}

/// An exclusion that applies now: created, or being updated or deleted (the old one applies
/// until then); never one that failed to be created, was deleted or disabled.
fn exclusion_in_force(e: &aws_sdk_ec2::types::VpcBlockPublicAccessExclusion) -> Option<Exclusion> {
    let state = e.state().map(|s| s.as_str())?;
    let in_force = matches!(
        state,
        "create-complete"
            | "update-in-progress"
            | "update-complete"
            | "update-failed"
            | "delete-in-progress"
    );
    let mode = match e.internet_gateway_exclusion_mode()?.as_str() {
        "allow-bidirectional" => ExclusionMode::Bidirectional,
        "allow-egress" => ExclusionMode::Egress,
        _ => return None,
    };
    // arn:aws:ec2:REGION:ACCOUNT:subnet/subnet-... or .../vpc/vpc-...
    let resource_id = e.resource_arn()?.rsplit('/').next()?.to_string();
    in_force.then_some(Exclusion { resource_id, mode })
}

impl Ec2Reader for AwsReader {
    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_NETWORK_INTERFACES))]
    async fn network_interface(&self, id: &str) -> ReadResult<NetworkInterface> {
        let api = api::EC2_DESCRIBE_NETWORK_INTERFACES;
        // The filter (not NetworkInterfaceIds) makes a deleted ENI an empty answer, not an error.
        let out = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("network-interface-id", &[id.to_string()]))
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        Ok(out
            .network_interfaces()
            .first()
            .map(|n| eni_from_sdk(n, id)))
    }

    #[instrument(skip(self, ids), fields(api = api::EC2_DESCRIBE_NETWORK_INTERFACES, count = ids.len()))]
    async fn network_interfaces(&self, ids: &[String]) -> Result<Vec<NetworkInterface>, ReadError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let out = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("network-interface-id", ids))
            .send()
            .await
            .map_err(|e| classify(api::EC2_DESCRIBE_NETWORK_INTERFACES, e))?;
        Ok(out
            .network_interfaces()
            .iter()
            .map(|n| eni_from_sdk(n, ""))
            .collect())
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_ROUTE_TABLES))]
    async fn route_tables(&self, vpc_id: &str) -> Result<Vec<RouteTable>, ReadError> {
        let tables = self
            .ec2
            .describe_route_tables()
            .filters(filter("vpc-id", &[vpc_id.to_string()]))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::EC2_DESCRIBE_ROUTE_TABLES, e))?;
        Ok(tables.iter().map(route_table_from_sdk).collect())
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_NETWORK_ACLS))]
    async fn network_acls(&self, which: Selection<'_>) -> Result<Vec<NetworkAcl>, ReadError> {
        let Some(by) = selection_filter(which, "association.subnet-id") else {
            return Ok(vec![]);
        };
        let acls = self
            .ec2
            .describe_network_acls()
            .filters(by)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::EC2_DESCRIBE_NETWORK_ACLS, e))?;
        Ok(acls.iter().map(acl_from_sdk).collect())
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_INSTANCES))]
    async fn nat_instance(&self, id: &str) -> ReadResult<NatInstance> {
        // The filter (not InstanceIds) makes a terminated-and-gone instance an empty answer.
        let out = self
            .ec2
            .describe_instances()
            .filters(filter("instance-id", &[id.to_string()]))
            .send()
            .await
            .map_err(|e| classify(api::EC2_DESCRIBE_INSTANCES, e))?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .map(|i| NatInstance {
                id: i.instance_id().unwrap_or(id).to_string(),
                state: i
                    .state()
                    .and_then(|s| s.name())
                    .map_or("unknown", |n| n.as_str())
                    .to_string(),
                subnet_id: i.subnet_id().map(Into::into),
                public_ip: i.public_ip_address().map(Into::into),
                source_dest_check: i.source_dest_check().unwrap_or(true),
                // The instance's groups are its primary interface's; read them from there when
                // the instance-level list is empty.
                security_group_ids: if i.security_groups().is_empty() {
                    i.network_interfaces()
                        .iter()
                        .flat_map(|n| n.groups())
                        .filter_map(|g| g.group_id().map(Into::into))
                        .collect()
                } else {
                    i.security_groups()
                        .iter()
                        .filter_map(|g| g.group_id().map(Into::into))
                        .collect()
                },
            }))
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_VPC_BPA_OPTIONS))]
    async fn public_access_block(&self) -> Result<PublicAccessBlock, ReadError> {
        let api = api::EC2_DESCRIBE_VPC_BPA_OPTIONS;
        let out = match self
            .ec2
            .describe_vpc_block_public_access_options()
            .send()
            .await
        {
            Ok(out) => out,
            // A Region or partition that does not offer the API cannot block.
            Err(e) if matches!(e.code(), Some("InvalidAction" | "UnsupportedOperation")) => {
                return Ok(PublicAccessBlock::off())
            }
            Err(e) => return Err(classify(api, e)),
        };
        let options = out.vpc_block_public_access_options();
        let name = options
            .and_then(|o| o.internet_gateway_block_mode())
            .map_or("off", |m| m.as_str());
        let mode = BlockMode::parse(name).ok_or_else(|| {
            ReadError::Unreadable(Unreadable {
                api,
                reason: format!(
                    "VPC Block Public Access mode {name} is not one this version knows"
                ),
            })
        })?;
        let exclusions_allowed = options
            .and_then(|o| o.exclusions_allowed())
            .is_none_or(|a| a.as_str() == "allowed");
        let exclusions = match mode {
            BlockMode::Off => vec![],
            _ if !exclusions_allowed => vec![],
            _ => self.bpa_exclusions().await?,
        };
        Ok(PublicAccessBlock {
            mode,
            exclusions_allowed,
            exclusions,
        })
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_NAT_GATEWAYS))]
    async fn nat_gateways(&self, vpc_id: &str) -> Result<Vec<NatGateway>, ReadError> {
        let gateways = self
            .ec2
            .describe_nat_gateways()
            .filter(filter("vpc-id", &[vpc_id.to_string()]))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::EC2_DESCRIBE_NAT_GATEWAYS, e))?;
        Ok(gateways
            .iter()
            .map(|g| NatGateway {
                id: g.nat_gateway_id().unwrap_or_default().to_string(),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                subnet_id: g.subnet_id().unwrap_or_default().to_string(),
                state: NatGatewayState::from_aws(g.state().map_or("", |s| s.as_str())),
                // Absent on gateways made before private ones existed: those are public.
                public: g.connectivity_type().is_none_or(|c| c.as_str() == "public"),
            })
            .collect())
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_SECURITY_GROUPS))]
    async fn security_groups(&self, which: Selection<'_>) -> Result<Vec<SecurityGroup>, ReadError> {
        let Some(by) = selection_filter(which, "group-id") else {
            return Ok(vec![]);
        };
        let groups = self
            .ec2
            .describe_security_groups()
            .filters(by)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::EC2_DESCRIBE_SECURITY_GROUPS, e))?;
        Ok(groups
            .iter()
            .map(|g| SecurityGroup {
                id: g.group_id().unwrap_or_default().to_string(),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                ingress: sg_rules(g.ip_permissions()),
                egress: sg_rules(g.ip_permissions_egress()),
            })
            .collect())
    }

    #[instrument(skip(self), fields(api = api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES))]
    async fn prefix_list_cidrs(&self, id: &str) -> ReadResult<Vec<String>> {
        let entries = self
            .ec2
            .get_managed_prefix_list_entries()
            .prefix_list_id(id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES, e))?;
        Ok(Some(
            entries
                .iter()
                .filter_map(|e| e.cidr().map(Into::into))
                .collect(),
        ))
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_SUBNETS))]
    async fn subnets(&self, which: Selection<'_>) -> Result<Vec<Subnet>, ReadError> {
        let Some(by) = selection_filter(which, "subnet-id") else {
            return Ok(vec![]);
        };
        let subnets = self
            .ec2
            .describe_subnets()
            .filters(by)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::EC2_DESCRIBE_SUBNETS, e))?;
        Ok(subnets
            .iter()
            .map(|s| Subnet {
                id: s.subnet_id().unwrap_or_default().to_string(),
                vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                cidr: s.cidr_block().map(Into::into),
                availability_zone: s.availability_zone().map(Into::into),
            })
            .collect())
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_VPC_ENDPOINTS))]
    async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpoint>, ReadError> {
        let endpoints = self
            .ec2
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", &[vpc_id.to_string()]))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(api::EC2_DESCRIBE_VPC_ENDPOINTS, e))?;
        Ok(endpoints
            .iter()
            .map(|e| VpcEndpoint {
                id: e.vpc_endpoint_id().unwrap_or_default().to_string(),
                service_name: e.service_name().unwrap_or_default().to_string(),
                kind: e
                    .vpc_endpoint_type()
                    .map_or("Interface", |t| t.as_str())
                    .to_string(),
                state: e.state().map(|s| s.as_str().to_string()),
                private_dns: e.private_dns_enabled().unwrap_or(false),
                route_table_ids: e.route_table_ids().to_vec(),
                subnet_ids: e.subnet_ids().to_vec(),
                security_group_ids: e
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(Into::into))
                    .collect(),
            })
            .collect())
    }

    #[instrument(skip(self), fields(api = api::EC2_DESCRIBE_VPC_ATTRIBUTE))]
    async fn vpc_dns(&self, vpc_id: &str) -> ReadResult<VpcDns> {
        use aws_sdk_ec2::types::VpcAttributeName;
        let read = |attribute: VpcAttributeName| {
            self.ec2
                .describe_vpc_attribute()
                .vpc_id(vpc_id)
                .attribute(attribute)
                .send()
        };
        // The two attributes are two calls; they go out together.
        let (support, hostnames) = tokio::try_join!(
            read(VpcAttributeName::EnableDnsSupport),
            read(VpcAttributeName::EnableDnsHostnames)
        )
        .map_err(|e| classify(api::EC2_DESCRIBE_VPC_ATTRIBUTE, e))?;
        Ok(Some(VpcDns {
            support: support
                .enable_dns_support()
                .and_then(|v| v.value())
                .unwrap_or(true),
            hostnames: hostnames
                .enable_dns_hostnames()
                .and_then(|v| v.value())
                .unwrap_or(false),
        }))
    }
}

/// The regions enabled for the caller's account (DescribeRegions; CLI `audit --all-regions`).
#[instrument(skip(client), fields(api = api::EC2_DESCRIBE_REGIONS))]
pub async fn enabled_regions(client: &aws_sdk_ec2::Client) -> Result<Vec<String>, ReadError> {
    let out = client
        .describe_regions()
        .send()
        .await
        .map_err(|e| classify(api::EC2_DESCRIBE_REGIONS, e))?;
    let mut regions: Vec<String> = out
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    Ok(regions)
}

/// The filter for a selection: by `id_filter` (e.g. `group-id`) or by `vpc-id`; `None` for no
/// ids (nothing to read). Filters, not id lists, make deleted resources absent instead of
/// failing the call.
fn selection_filter(which: Selection<'_>, id_filter: &str) -> Option<Filter> {
    match which {
        Selection::Ids([]) => None,
        Selection::Ids(ids) => Some(filter(id_filter, ids)),
        Selection::InVpc(vpc) => Some(filter("vpc-id", &[vpc.to_string()])),
    }
}

/// An EC2 filter (filters make missing resources an empty answer instead of an error).
pub(super) fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

fn eni_from_sdk(n: &aws_sdk_ec2::types::NetworkInterface, id: &str) -> NetworkInterface {
    NetworkInterface {
        id: n.network_interface_id().unwrap_or(id).to_string(),
        subnet_id: n.subnet_id().unwrap_or_default().to_string(),
        vpc_id: n.vpc_id().unwrap_or_default().to_string(),
        private_ip: n.private_ip_address().map(Into::into),
        public_ip: n.association().and_then(|a| a.public_ip()).map(Into::into),
        ipv6_addresses: n
            .ipv6_addresses()
            .iter()
            .filter_map(|a| a.ipv6_address().map(Into::into))
            .collect(),
        security_group_ids: n
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(Into::into))
            .collect(),
    }
}

fn sg_rules(permissions: &[aws_sdk_ec2::types::IpPermission]) -> Vec<SgRule> {
    permissions
        .iter()
        .map(|p| SgRule {
            protocol: p.ip_protocol().unwrap_or("-1").to_string(),
            from_port: p.from_port(),
            to_port: p.to_port(),
            ipv4_ranges: p
                .ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip().map(Into::into))
                .collect(),
            ipv6_ranges: p
                .ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6().map(Into::into))
                .collect(),
            group_ids: p
                .user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id().map(Into::into))
                .collect(),
            prefix_list_ids: p
                .prefix_list_ids()
                .iter()
                .filter_map(|l| l.prefix_list_id().map(Into::into))
                .collect(),
        })
        .collect()
}

fn route_table_from_sdk(t: &aws_sdk_ec2::types::RouteTable) -> RouteTable {
    RouteTable {
        id: t.route_table_id().unwrap_or_default().to_string(),
        main: t.associations().iter().any(|a| a.main() == Some(true)),
        subnet_ids: t
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(Into::into))
            .collect(),
        routes: t
            .routes()
            .iter()
            .map(|r| Route {
                destination_cidr: r.destination_cidr_block().map(Into::into),
                destination_ipv6_cidr: r.destination_ipv6_cidr_block().map(Into::into),
                // A NAT instance's route names both the instance and its interface: the
                // instance is what the rules recognise. `gateway_id` carries `igw-`, `vgw-`,
                // `vpce-` (Gateway Load Balancer and Network Firewall endpoints) and `local`.
                target: r
                    .gateway_id()
                    .or(r.egress_only_internet_gateway_id())
                    .or(r.nat_gateway_id())
                    .or(r.transit_gateway_id())
                    .or(r.instance_id())
                    .or(r.vpc_peering_connection_id())
                    .or(r.network_interface_id())
                    .or(r.local_gateway_id())
                    .or(r.carrier_gateway_id())
                    .or(r.core_network_arn())
                    .map(Into::into),
                blackhole: r.state() == Some(&aws_sdk_ec2::types::RouteState::Blackhole),
            })
            .collect(),
    }
}

fn acl_from_sdk(acl: &aws_sdk_ec2::types::NetworkAcl) -> NetworkAcl {
    NetworkAcl {
        id: acl.network_acl_id().unwrap_or_default().to_string(),
        vpc_id: acl.vpc_id().unwrap_or_default().to_string(),
        subnet_ids: acl
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(Into::into))
            .collect(),
        entries: acl
            .entries()
            .iter()
            .map(|e| NaclEntry {
                rule_number: e.rule_number().unwrap_or(32767),
                protocol: e.protocol().unwrap_or("-1").to_string(),
                allow: e.rule_action().map(|a| a.as_str()) == Some("allow"),
                egress: e.egress().unwrap_or(false),
                cidr: e
                    .cidr_block()
                    .or(e.ipv6_cidr_block())
                    .unwrap_or_default()
                    .to_string(),
                from_port: e.port_range().and_then(|p| p.from()),
                to_port: e.port_range().and_then(|p| p.to()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{Route as SdkRoute, RouteState, RouteTable as SdkRouteTable};

    #[test]
    fn routes_name_the_nat_instance_and_keep_their_blackhole_state() {
        let table = SdkRouteTable::builder()
            .route_table_id("rtb-1")
            .routes(
                // A NAT instance's route names both the instance and its interface.
                SdkRoute::builder()
                    .destination_cidr_block("0.0.0.0/0")
                    .instance_id("i-nat")
                    .network_interface_id("eni-nat")
                    .state(RouteState::Active)
                    .build(),
            )
            .routes(
                SdkRoute::builder()
                    .destination_cidr_block("10.1.0.0/16")
                    .gateway_id("vpce-0firewall")
                    .state(RouteState::Blackhole)
                    .build(),
            )
            .build();
        let table = route_table_from_sdk(&table);
        assert_eq!(table.routes[0].target.as_deref(), Some("i-nat"));
        assert!(!table.routes[0].blackhole);
        assert_eq!(table.routes[1].target.as_deref(), Some("vpce-0firewall"));
        assert!(table.routes[1].blackhole);
    }
}
