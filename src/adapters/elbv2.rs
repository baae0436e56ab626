//! Elastic Load Balancing (v2) reads: target groups, load balancers, listeners and rules,
//! target health.

use crate::domain::api;
use futures_util::future::try_join_all;
use tracing::{info_span, instrument, Instrument};

use super::errors::classify;
use super::AwsReader;
use crate::domain::facts::{
    HealthCheck, HealthCheckPort, IpAddressType, Listener, LoadBalancer, Scheme, TargetGroup,
    TargetHealth, TargetType,
};
use crate::ports::{ElbReader, ReadError};

const NLB_PROTOCOLS: &[&str] = &["TCP", "TLS", "UDP", "TCP_UDP"];

impl ElbReader for AwsReader {
    #[instrument(skip(self), fields(api = api::ELB_DESCRIBE_TARGET_GROUPS))]
    async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, ReadError> {
        let out = self
            .elbv2
            .describe_target_groups()
            .set_target_group_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api::ELB_DESCRIBE_TARGET_GROUPS, e))?;
        let mut groups: Vec<TargetGroup> = out
            .target_groups()
            .iter()
            .map(|t| TargetGroup {
                arn: t.target_group_arn().unwrap_or_default().to_string(),
                name: t.target_group_name().unwrap_or_default().to_string(),
                target_type: TargetType::from_aws(
                    t.target_type().map_or("instance", |t| t.as_str()),
                ),
                vpc_id: t.vpc_id().map(Into::into),
                protocol: t.protocol().map(|p| p.as_str().to_string()),
                load_balancer_arns: t.load_balancer_arns().to_vec(),
                preserve_client_ip: None,
                health_check: HealthCheck {
                    port: match t.health_check_port() {
                        None | Some("traffic-port") => HealthCheckPort::TrafficPort,
                        Some(p) => p
                            .parse()
                            .map_or(HealthCheckPort::TrafficPort, HealthCheckPort::Port),
                    },
                    protocol: t.health_check_protocol().map(|p| p.as_str().to_string()),
                    path: t.health_check_path().map(Into::into),
                    matcher: t
                        .matcher()
                        .and_then(|m| m.http_code().or(m.grpc_code()))
                        .map(Into::into),
                    interval_seconds: t.health_check_interval_seconds(),
                    timeout_seconds: t.health_check_timeout_seconds(),
                    healthy_threshold: t.healthy_threshold_count(),
                    unhealthy_threshold: t.unhealthy_threshold_count(),
                },
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
                    api = api::ELB_DESCRIBE_TARGET_GROUP_ATTRIBUTES
                ))
                .await
                .map_err(|e| classify(api::ELB_DESCRIBE_TARGET_GROUP_ATTRIBUTES, e))?;
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

    #[instrument(skip(self), fields(api = api::ELB_DESCRIBE_LOAD_BALANCERS))]
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
            .map_err(|e| classify(api::ELB_DESCRIBE_LOAD_BALANCERS, e))?;
        Ok(out
            .load_balancers()
            .iter()
            .map(|l| LoadBalancer {
                arn: l.load_balancer_arn().unwrap_or_default().to_string(),
                name: l.load_balancer_name().unwrap_or_default().to_string(),
                scheme: Scheme::from_aws(l.scheme().map_or("internet-facing", |s| s.as_str())),
                vpc_id: l.vpc_id().unwrap_or_default().to_string(),
                subnet_ids: l
                    .availability_zones()
                    .iter()
                    .filter_map(|z| z.subnet_id().map(Into::into))
                    .collect(),
                security_group_ids: l.security_groups().to_vec(),
                ip_address_type: IpAddressType::from_aws(
                    l.ip_address_type().map_or("ipv4", |t| t.as_str()),
                ),
            })
            .collect())
    }

    #[instrument(
        skip(self, target_group_arns),
        fields(api = api::ELB_DESCRIBE_LISTENERS)
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
            .map_err(|e| classify(api::ELB_DESCRIBE_LISTENERS, e))?;
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
        // No rule is read when default actions already forward to every one of the service's
        // groups; otherwise only the listeners whose default action misses them (concurrently).
        let served = |tg: &String| listeners.iter().any(|l| l.forwards_to.contains(tg));
        if target_group_arns.iter().all(served) {
            return Ok(listeners);
        }
        let rules = listeners.iter().map(|l| async {
            if l.forwards_to.iter().any(|g| target_group_arns.contains(g)) {
                return Ok(vec![]);
            }
            let out = self
                .elbv2
                .describe_rules()
                .listener_arn(&l.arn)
                .send()
                .instrument(info_span!("aws_call", api = api::ELB_DESCRIBE_RULES))
                .await
                .map_err(|e| classify(api::ELB_DESCRIBE_RULES, e))?;
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

    #[instrument(skip(self), fields(api = api::ELB_DESCRIBE_TARGET_HEALTH))]
    async fn target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealth>, ReadError> {
        let out = self
            .elbv2
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| classify(api::ELB_DESCRIBE_TARGET_HEALTH, e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .filter_map(|d| {
                let target = d.target()?;
                let health = d.target_health();
                Some(TargetHealth {
                    target_id: target.id()?.to_string(),
                    port: target.port(),
                    state: health
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string()),
                    reason: health
                        .and_then(|h| h.reason())
                        .map(|r| r.as_str().to_string()),
                    description: health.and_then(|h| h.description()).map(Into::into),
                })
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
        if let Some(forward) = a.forward_config() {
            groups.extend(
                forward
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
