//! AWS read adapter: implements the read ports with aws-sdk-ecs and aws-sdk-ec2.
//! All SDK → domain mapping and error classification lives here.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::error::DisplayErrorContext;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::types::Filter;
use futures_util::future::try_join_all;
use tracing::{info_span, instrument, Instrument};

use crate::cache::{CachedFacts, DEFAULT_TTL};
use crate::domain::facts::{
    Host, Listener, LoadBalancer, LoadBalancerMapping, NetworkInterface, PortMapping, Route,
    RouteTable, Service, Subnet, TargetGroup, TaskDefinition, Unreadable, IGNORE_TAG,
};
use crate::domain::net::{NaclEntry, NetworkAcl, SecurityGroup, SgRule};
use crate::ports::{
    ContainerHostGet, ListenersGet, LoadBalancersGet, NetworkAclGet, NetworkInterfaceGet,
    ReadError, ReadResult, RouteTablesGet, SecurityGroupsGet, ServiceGet, SubnetsGet,
    TargetGroupsGet, TargetHealthGet, TaskDefinitionGet,
};

/// Per-attempt timeout: well under the Lambda timeout, so a hung call is retried, not waited on.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Whole-operation timeout including retries.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads the SDK configuration from the standard chain (env, profile, IMDS/container role),
/// honouring `AWS_ENDPOINT_URL*`, with bounded timeouts and standard retries.
pub async fn load_sdk_config(region: Option<String>, profile: Option<String>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(4));
    if let Some(region) = region {
        loader = loader.region(Region::new(region));
    }
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// ECS, EC2 and ELBv2 clients for one region: the implementation of every read port.
#[derive(Clone, Debug)]
pub struct AwsFacts {
    ecs: aws_sdk_ecs::Client,
    ec2: aws_sdk_ec2::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
}

impl AwsFacts {
    /// The ECS client (for the CLI's task listing).
    pub(crate) fn ecs(&self) -> &aws_sdk_ecs::Client {
        &self.ecs
    }

    /// Many ENIs in one DescribeNetworkInterfaces call (the filter takes up to 200 values).
    #[instrument(skip(self, ids), fields(api = "ec2:DescribeNetworkInterfaces", count = ids.len()))]
    pub async fn network_interfaces(
        &self,
        ids: &[String],
    ) -> Result<Vec<NetworkInterface>, ReadError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let out = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("network-interface-id", ids))
            .send()
            .await
            .map_err(|e| classify("ec2:DescribeNetworkInterfaces", e))?;
        Ok(out
            .network_interfaces()
            .iter()
            .map(|n| eni_from_sdk(n, ""))
            .collect())
    }

    /// Opens the HTTPS connections to ECS and EC2 during Lambda init (one cheap, permitted
    /// read each; answers are ignored), so the first check does not pay the TLS handshakes.
    pub async fn warm_up(&self) {
        let probe = async {
            let _ = tokio::join!(
                self.network_interface("eni-00000000000000000"),
                self.ecs
                    .describe_task_definition()
                    .task_definition("ecs-inbound-guard-warm-up:1")
                    .send(),
            );
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), probe).await;
    }

    /// Clients built from `config`.
    pub fn new(config: &SdkConfig) -> Self {
        AwsFacts {
            ecs: aws_sdk_ecs::Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
        }
    }
}

/// The cached reader of one region.
pub type CachedAwsFacts = CachedFacts<AwsFacts>;

/// Readers per region, each with its fact cache: built once, reused across Lambda invocations.
#[derive(Debug)]
pub struct RegionalFacts {
    base: SdkConfig,
    ttl: Duration,
    by_region: Mutex<HashMap<String, Arc<CachedAwsFacts>>>,
}

impl RegionalFacts {
    /// A cache around the base configuration (its region is the default).
    pub fn new(base: SdkConfig) -> Self {
        Self::with_ttl(base, DEFAULT_TTL)
    }

    /// The same with a chosen TTL for mutable facts.
    pub fn with_ttl(base: SdkConfig, ttl: Duration) -> Self {
        RegionalFacts {
            base,
            ttl,
            by_region: Mutex::new(HashMap::new()),
        }
    }

    /// The reader for `region` (the base region when `None`).
    pub fn for_region(&self, region: Option<&str>) -> Arc<CachedAwsFacts> {
        let key = region
            .map(str::to_string)
            .or_else(|| self.base.region().map(|r| r.to_string()))
            .unwrap_or_default();
        let mut cache = self.by_region.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(key.clone())
            .or_insert_with(|| {
                let same_region = self.base.region().map(|r| r.as_ref()) == Some(key.as_str());
                let facts = if same_region || key.is_empty() {
                    AwsFacts::new(&self.base)
                } else {
                    let config = self.base.to_builder().region(Region::new(key)).build();
                    AwsFacts::new(&config)
                };
                Arc::new(CachedFacts::new(facts, self.ttl))
            })
            .clone()
    }
}

/// An EC2 filter (filters make missing resources an empty answer instead of an error).
fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// Error codes that mean "retry later" even when the HTTP status is 4xx.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "BandwidthLimitExceeded",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Error codes that mean the caller's credentials are broken (not the resource): an error.
const CREDENTIAL_CODES: &[&str] = &[
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "IncompleteSignature",
];

/// Classifies an SDK error: AccessDenied, not-found and other client errors make the fact
/// unreadable (INSUFFICIENT_DATA); throttling, credentials, 5xx, timeouts and connection
/// errors are failures.
pub fn classify<E, R>(api: &'static str, err: SdkError<E, R>) -> ReadError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err.message().unwrap_or_default().to_string();
    let client_error = matches!(err, SdkError::ServiceError(_))
        && !THROTTLING_CODES.contains(&code.as_str())
        && !CREDENTIAL_CODES.contains(&code.as_str())
        && !code.is_empty()
        && !code.contains("Internal")
        && !code.contains("ServiceUnavailable")
        && !code.contains("ServerException")
        && !code.contains("Unavailable");
    if client_error {
        ReadError::Unreadable(Unreadable {
            api,
            reason: if message.is_empty() {
                code
            } else {
                format!("{code}: {message}")
            },
        })
    } else {
        ReadError::Failed {
            api,
            message: DisplayErrorContext(&err).to_string(),
        }
    }
}

impl TaskDefinitionGet for AwsFacts {
    #[instrument(skip(self), fields(api = "ecs:DescribeTaskDefinition"))]
    async fn task_definition(&self, arn: &str) -> ReadResult<TaskDefinition> {
        let api = "ecs:DescribeTaskDefinition";
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        let ignore_tag = out
            .tags()
            .iter()
            .find(|t| t.key() == Some(IGNORE_TAG))
            .and_then(|t| t.value().map(str::to_string));
        Ok(out.task_definition().map(|td| TaskDefinition {
            ignore_tag,
            arn: td.task_definition_arn().unwrap_or(arn).to_string(),
            network_mode: td.network_mode().map(|m| m.as_str().to_string()),
            port_mappings: td
                .container_definitions()
                .iter()
                .flat_map(|c| {
                    let name = c.name().unwrap_or_default().to_string();
                    c.port_mappings().iter().filter_map(move |p| {
                        Some(PortMapping {
                            container_name: name.clone(),
                            container_port: p.container_port()?,
                            protocol: p
                                .protocol()
                                .map_or("tcp", |p| p.as_str())
                                .to_ascii_lowercase(),
                        })
                    })
                })
                .collect(),
        }))
    }
}

impl ServiceGet for AwsFacts {
    #[instrument(skip(self), fields(api = "ecs:DescribeServices"))]
    async fn service(&self, cluster: &str, name: &str) -> ReadResult<Service> {
        let api = "ecs:DescribeServices";
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(name)
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .map_err(|e| classify(api, e))?;
        if let Some(failure) = out
            .failures()
            .iter()
            .find(|f| f.reason() != Some("MISSING"))
        {
            return Err(ReadError::Unreadable(Unreadable {
                api,
                reason: format!(
                    "{}: {}",
                    failure.reason().unwrap_or("failure"),
                    failure.detail().unwrap_or_default()
                ),
            }));
        }
        Ok(out.services().first().map(|s| Service {
            arn: s.service_arn().unwrap_or_default().to_string(),
            name: s.service_name().unwrap_or(name).to_string(),
            status: s.status().unwrap_or_default().to_string(),
            ignore_tag: s
                .tags()
                .iter()
                .find(|t| t.key() == Some(IGNORE_TAG))
                .and_then(|t| t.value().map(str::to_string)),
            load_balancers: s
                .load_balancers()
                .iter()
                .map(|lb| LoadBalancerMapping {
                    target_group_arn: lb.target_group_arn().map(Into::into),
                    load_balancer_name: lb.load_balancer_name().map(Into::into),
                    container_name: lb.container_name().map(Into::into),
                    container_port: lb.container_port(),
                })
                .collect(),
        }))
    }
}

impl NetworkInterfaceGet for AwsFacts {
    #[instrument(skip(self), fields(api = "ec2:DescribeNetworkInterfaces"))]
    async fn network_interface(&self, id: &str) -> ReadResult<NetworkInterface> {
        let api = "ec2:DescribeNetworkInterfaces";
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

impl RouteTablesGet for AwsFacts {
    #[instrument(skip(self), fields(api = "ec2:DescribeRouteTables"))]
    async fn route_tables(&self, vpc_id: &str) -> Result<Vec<RouteTable>, ReadError> {
        let api = "ec2:DescribeRouteTables";
        let mut tables = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let out = self
                .ec2
                .describe_route_tables()
                .filters(filter("vpc-id", &[vpc_id.to_string()]))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| classify(api, e))?;
            tables.extend(out.route_tables().iter().map(|t| {
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
                            target: r
                                .gateway_id()
                                .or(r.egress_only_internet_gateway_id())
                                .or(r.nat_gateway_id())
                                .or(r.transit_gateway_id())
                                .or(r.network_interface_id())
                                .or(r.vpc_peering_connection_id())
                                .or(r.instance_id())
                                .map(Into::into),
                        })
                        .collect(),
                }
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => next_token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(tables)
    }
}

impl ContainerHostGet for AwsFacts {
    #[instrument(skip(self), fields(api = "ecs:DescribeContainerInstances"))]
    async fn container_host(
        &self,
        cluster: &str,
        container_instance_arn: &str,
    ) -> ReadResult<Host> {
        let out = self
            .ecs
            .describe_container_instances()
            .cluster(cluster)
            .container_instances(container_instance_arn)
            .send()
            .instrument(info_span!(
                "aws_call",
                api = "ecs:DescribeContainerInstances"
            ))
            .await
            .map_err(|e| classify("ecs:DescribeContainerInstances", e))?;
        let Some(instance_id) = out
            .container_instances()
            .first()
            .and_then(|ci| ci.ec2_instance_id())
            .map(str::to_string)
        else {
            return Ok(None);
        };
        let out = self
            .ec2
            .describe_instances()
            .filters(filter("instance-id", std::slice::from_ref(&instance_id)))
            .send()
            .instrument(info_span!("aws_call", api = "ec2:DescribeInstances"))
            .await
            .map_err(|e| classify("ec2:DescribeInstances", e))?;
        let instance = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id.as_str()));
        Ok(instance.map(|i| Host {
            instance_id: instance_id.clone(),
            public_ip: i.public_ip_address().map(Into::into),
        }))
    }
}

impl NetworkAclGet for AwsFacts {
    #[instrument(skip(self), fields(api = "ec2:DescribeNetworkAcls"))]
    async fn network_acl(&self, subnet_id: &str) -> ReadResult<NetworkAcl> {
        let out = self
            .ec2
            .describe_network_acls()
            .filters(filter("association.subnet-id", &[subnet_id.to_string()]))
            .send()
            .await
            .map_err(|e| classify("ec2:DescribeNetworkAcls", e))?;
        Ok(out.network_acls().first().map(|acl| NetworkAcl {
            id: acl.network_acl_id().unwrap_or_default().to_string(),
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
        }))
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
        })
        .collect()
}

impl SecurityGroupsGet for AwsFacts {
    #[instrument(skip(self), fields(api = "ec2:DescribeSecurityGroups"))]
    async fn security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroup>, ReadError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        // The group-id filter makes deleted groups absent instead of failing the call.
        let out = self
            .ec2
            .describe_security_groups()
            .filters(filter("group-id", ids))
            .send()
            .await
            .map_err(|e| classify("ec2:DescribeSecurityGroups", e))?;
        Ok(out
            .security_groups()
            .iter()
            .map(|g| SecurityGroup {
                id: g.group_id().unwrap_or_default().to_string(),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                ingress: sg_rules(g.ip_permissions()),
                egress: sg_rules(g.ip_permissions_egress()),
            })
            .collect())
    }
}

impl SubnetsGet for AwsFacts {
    #[instrument(skip(self), fields(api = "ec2:DescribeSubnets"))]
    async fn subnets(&self, ids: &[String]) -> Result<Vec<Subnet>, ReadError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let out = self
            .ec2
            .describe_subnets()
            .filters(filter("subnet-id", ids))
            .send()
            .await
            .map_err(|e| classify("ec2:DescribeSubnets", e))?;
        Ok(out
            .subnets()
            .iter()
            .map(|s| Subnet {
                id: s.subnet_id().unwrap_or_default().to_string(),
                vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                cidr: s.cidr_block().map(Into::into),
                ipv6_cidrs: s
                    .ipv6_cidr_block_association_set()
                    .iter()
                    .filter_map(|a| a.ipv6_cidr_block().map(Into::into))
                    .collect(),
            })
            .collect())
    }
}

const NLB_PROTOCOLS: &[&str] = &["TCP", "TLS", "UDP", "TCP_UDP"];

impl TargetGroupsGet for AwsFacts {
    #[instrument(skip(self), fields(api = "elasticloadbalancing:DescribeTargetGroups"))]
    async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, ReadError> {
        let out = self
            .elbv2
            .describe_target_groups()
            .set_target_group_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| classify("elasticloadbalancing:DescribeTargetGroups", e))?;
        let mut groups: Vec<TargetGroup> = out
            .target_groups()
            .iter()
            .map(|t| TargetGroup {
                arn: t.target_group_arn().unwrap_or_default().to_string(),
                name: t.target_group_name().unwrap_or_default().to_string(),
                target_type: t
                    .target_type()
                    .map_or("instance", |t| t.as_str())
                    .to_string(),
                vpc_id: t.vpc_id().map(Into::into),
                protocol: t.protocol().map(|p| p.as_str().to_string()),
                load_balancer_arns: t.load_balancer_arns().to_vec(),
                preserve_client_ip: None,
            })
            .collect();
        // Client IP preservation matters only for NLB target groups: read it for those, concurrently.
        let attributes = groups.iter().map(|g| async {
            if !g
                .protocol
                .as_deref()
                .is_some_and(|p| NLB_PROTOCOLS.contains(&p))
            {
                return Ok(None);
            }
            let out = self
                .elbv2
                .describe_target_group_attributes()
                .target_group_arn(&g.arn)
                .send()
                .instrument(info_span!(
                    "aws_call",
                    api = "elasticloadbalancing:DescribeTargetGroupAttributes"
                ))
                .await
                .map_err(|e| classify("elasticloadbalancing:DescribeTargetGroupAttributes", e))?;
            Ok::<_, ReadError>(
                out.attributes()
                    .iter()
                    .find(|a| a.key() == Some("preserve_client_ip.enabled"))
                    .and_then(|a| a.value())
                    .map(|v| v == "true"),
            )
        });
        let preserve = try_join_all(attributes).await?;
        for (group, value) in groups.iter_mut().zip(preserve) {
            group.preserve_client_ip = value;
        }
        Ok(groups)
    }
}

impl LoadBalancersGet for AwsFacts {
    #[instrument(skip(self), fields(api = "elasticloadbalancing:DescribeLoadBalancers"))]
    async fn load_balancers(&self, arns: &[String]) -> Result<Vec<LoadBalancer>, ReadError> {
        if arns.is_empty() {
            return Ok(vec![]);
        }
        let out = self
            .elbv2
            .describe_load_balancers()
            .set_load_balancer_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| classify("elasticloadbalancing:DescribeLoadBalancers", e))?;
        Ok(out
            .load_balancers()
            .iter()
            .map(|l| LoadBalancer {
                arn: l.load_balancer_arn().unwrap_or_default().to_string(),
                name: l.load_balancer_name().unwrap_or_default().to_string(),
                kind: l.r#type().map_or("application", |t| t.as_str()).to_string(),
                scheme: l
                    .scheme()
                    .map_or("internet-facing", |s| s.as_str())
                    .to_string(),
                vpc_id: l.vpc_id().unwrap_or_default().to_string(),
                subnet_ids: l
                    .availability_zones()
                    .iter()
                    .filter_map(|z| z.subnet_id().map(Into::into))
                    .collect(),
                security_group_ids: l.security_groups().to_vec(),
                ip_address_type: l
                    .ip_address_type()
                    .map_or("ipv4", |t| t.as_str())
                    .to_string(),
            })
            .collect())
    }
}

fn forwarded_groups(actions: &[aws_sdk_elasticloadbalancingv2::types::Action]) -> Vec<String> {
    let mut groups = Vec::new();
    for a in actions {
        if a.r#type().map(|t| t.as_str()) != Some("forward") {
            continue;
        }
        groups.extend(a.target_group_arn().map(str::to_string));
        if let Some(config) = a.forward_config() {
            groups.extend(
                config
                    .target_groups()
                    .iter()
                    .filter_map(|t| t.target_group_arn().map(str::to_string)),
            );
        }
    }
    groups.sort();
    groups.dedup();
    groups
}

impl ListenersGet for AwsFacts {
    #[instrument(
        skip(self, target_group_arns),
        fields(api = "elasticloadbalancing:DescribeListeners")
    )]
    async fn listeners(
        &self,
        load_balancer_arn: &str,
        target_group_arns: &[String],
    ) -> Result<Vec<Listener>, ReadError> {
        let out = self
            .elbv2
            .describe_listeners()
            .load_balancer_arn(load_balancer_arn)
            .send()
            .await
            .map_err(|e| classify("elasticloadbalancing:DescribeListeners", e))?;
        let mut listeners: Vec<Listener> = out
            .listeners()
            .iter()
            .map(|l| Listener {
                arn: l.listener_arn().unwrap_or_default().to_string(),
                load_balancer_arn: load_balancer_arn.to_string(),
                port: l.port(),
                protocol: l.protocol().map(|p| p.as_str().to_string()),
                forwards_to: forwarded_groups(l.default_actions()),
            })
            .collect();
        // Only where the default action misses the service's groups, read the rules (concurrently).
        let rules = listeners.iter().map(|l| async {
            if l.forwards_to.iter().any(|g| target_group_arns.contains(g)) {
                return Ok(vec![]);
            }
            let out = self
                .elbv2
                .describe_rules()
                .listener_arn(&l.arn)
                .send()
                .instrument(info_span!(
                    "aws_call",
                    api = "elasticloadbalancing:DescribeRules"
                ))
                .await
                .map_err(|e| classify("elasticloadbalancing:DescribeRules", e))?;
            Ok::<_, ReadError>(
                out.rules()
                    .iter()
                    .flat_map(|r| forwarded_groups(r.actions()))
                    .collect::<Vec<_>>(),
            )
        });
        let rules = try_join_all(rules).await?;
        for (listener, groups) in listeners.iter_mut().zip(rules) {
            listener.forwards_to.extend(groups);
            listener.forwards_to.sort();
            listener.forwards_to.dedup();
        }
        Ok(listeners)
    }
}

impl TargetHealthGet for AwsFacts {
    #[instrument(skip(self), fields(api = "elasticloadbalancing:DescribeTargetHealth"))]
    async fn registered_targets(&self, target_group_arn: &str) -> Result<Vec<String>, ReadError> {
        let out = self
            .elbv2
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| classify("elasticloadbalancing:DescribeTargetHealth", e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
            .collect())
    }
}
