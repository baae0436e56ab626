//! A planned service: what `aws ecs create-service --cli-input-json` and `aws ecs
//! register-task-definition --cli-input-json` take, read into the domain's types, so that the
//! rules judge a deploy before it happens. Numbers and booleans are accepted both as JSON values
//! and as strings (people write both); anything else unusable is a clear error naming the field.

use serde_json::Value;

use super::facts::{
    parse_port_range, AwsVpcConfiguration, LoadBalancerMapping, NetworkMode, PortMapping,
    StartNeeds, TaskDefinition,
};

/// How the service's tasks will be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedLaunch {
    /// A launch type: `EC2`, `FARGATE`, `MANAGED_INSTANCES`, `EXTERNAL`.
    LaunchType(String),
    /// A capacity provider strategy (the providers' names; `FARGATE`/`FARGATE_SPOT` are Fargate).
    CapacityProviders(Vec<String>),
    /// Neither: the cluster's default capacity provider strategy decides.
    ClusterDefault,
}

impl PlannedLaunch {
    /// The launch type the tasks get, as a task's `launchType` would spell it, when the plan
    /// tells it: a strategy of Fargate providers only is `FARGATE`; other providers run on EC2.
    pub fn launch_type(&self) -> Option<String> {
        match self {
            PlannedLaunch::LaunchType(t) => Some(t.to_ascii_uppercase()),
            PlannedLaunch::CapacityProviders(providers) => {
                let fargate = |p: &String| p.to_ascii_uppercase().starts_with("FARGATE");
                if providers.iter().all(fargate) {
                    Some("FARGATE".into())
                } else if !providers.iter().any(fargate) {
                    Some("EC2".into())
                } else {
                    None
                }
            }
            PlannedLaunch::ClusterDefault => None,
        }
    }
}

/// A service as it will be deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePlan {
    /// Cluster name or ARN (`default` when the file names none).
    pub cluster: String,
    /// Service name.
    pub service_name: String,
    /// The task definition it names (`family:revision` or ARN), if any.
    pub task_definition: Option<String>,
    /// How its tasks are placed.
    pub launch: PlannedLaunch,
    /// Its awsvpc configuration (`None` for other network modes).
    pub network: Option<AwsVpcConfiguration>,
    /// Its load balancers.
    pub load_balancers: Vec<LoadBalancerMapping>,
}

/// Why a plan file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

fn text(v: &Value, field: &str) -> Result<Option<String>, PlanError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(PlanError(format!("{field} must be a string, not {other}"))),
    }
}

/// An integer given as a number or a string.
fn integer(v: &Value, field: &str) -> Result<Option<i32>, PlanError> {
    let bad = |shown: &Value| PlanError(format!("{field} must be an integer, not {shown}"));
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(&Value::Number(n.clone()))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(&Value::String(s.clone()))),
        Some(other) => Err(bad(other)),
    }
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, PlanError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| PlanError(format!("{field} must hold strings, not {i}")))
            })
            .collect(),
        Some(other) => Err(PlanError(format!("{field} must be a list, not {other}"))),
    }
}

fn objects<'a>(v: &'a Value, field: &str) -> Result<&'a [Value], PlanError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => Ok(items),
        Some(other) => Err(PlanError(format!(
            "{field} must be a list of objects, not {other}"
        ))),
    }
}

/// Reads `aws ecs create-service --cli-input-json` input.
pub fn parse_service(input: &Value) -> Result<ServicePlan, PlanError> {
    if !input.is_object() {
        return Err(PlanError("a service definition is a JSON object".into()));
    }
    let service_name =
        text(input, "serviceName")?.ok_or_else(|| PlanError("serviceName is required".into()))?;
    let launch = match (
        text(input, "launchType")?,
        objects(input, "capacityProviderStrategy")?,
    ) {
        (Some(t), _) => PlannedLaunch::LaunchType(t),
        (None, []) => PlannedLaunch::ClusterDefault,
        (None, strategy) => PlannedLaunch::CapacityProviders(
            strategy
                .iter()
                .map(|s| {
                    text(s, "capacityProvider")?.ok_or_else(|| {
                        PlanError("capacityProviderStrategy[].capacityProvider is required".into())
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let network = match input
        .get("networkConfiguration")
        .and_then(|n| n.get("awsvpcConfiguration"))
    {
        None | Some(Value::Null) => None,
        Some(config) => Some(AwsVpcConfiguration {
            subnets: strings(config, "subnets")?,
            security_groups: strings(config, "securityGroups")?,
            assign_public_ip: text(config, "assignPublicIp")?
                .is_some_and(|v| v.eq_ignore_ascii_case("ENABLED")),
        }),
    };
    let load_balancers = objects(input, "loadBalancers")?
        .iter()
        .map(|lb| {
            Ok(LoadBalancerMapping {
                target_group_arn: text(lb, "targetGroupArn")?,
                load_balancer_name: text(lb, "loadBalancerName")?,
                container_name: text(lb, "containerName")?,
                container_port: integer(lb, "containerPort")?,
            })
        })
        .collect::<Result<_, PlanError>>()?;
    Ok(ServicePlan {
        cluster: text(input, "cluster")?.unwrap_or_else(|| "default".into()),
        service_name,
        task_definition: text(input, "taskDefinition")?,
        launch,
        network,
        load_balancers,
    })
}

/// Reads `aws ecs register-task-definition --cli-input-json` input (or a task definition as
/// DescribeTaskDefinition prints it: the `taskDefinition` member is unwrapped).
pub fn parse_task_definition(input: &Value) -> Result<TaskDefinition, PlanError> {
    let td = input
        .get("taskDefinition")
        .filter(|t| t.is_object())
        .unwrap_or(input);
    if !td.is_object() {
        return Err(PlanError("a task definition is a JSON object".into()));
    }
    let containers = objects(td, "containerDefinitions")?;
    if containers.is_empty() {
        return Err(PlanError("containerDefinitions is required".into()));
    }
    let mut port_mappings = Vec::new();
    let mut images = Vec::new();
    let mut awslogs = false;
    let mut secret_sources = Vec::new();
    for c in containers {
        let name = text(c, "name")?.unwrap_or_default();
        images.extend(text(c, "image")?);
        for p in objects(c, "portMappings")? {
            let (first, last) = match (integer(p, "containerPort")?, text(p, "containerPortRange")?)
            {
                (Some(port), _) => (port, port),
                (None, Some(range)) => parse_port_range(&range).ok_or_else(|| {
                    PlanError(format!("containerPortRange {range} is not first-last"))
                })?,
                (None, None) => {
                    return Err(PlanError(format!(
                        "a port mapping of container {name} names no containerPort"
                    )))
                }
            };
            port_mappings.push(PortMapping {
                container_name: name.clone(),
                container_port: first,
                last_port: last,
                protocol: text(p, "protocol")?
                    .unwrap_or_else(|| "tcp".into())
                    .to_ascii_lowercase(),
            });
        }
        if let Some(log) = c.get("logConfiguration") {
            awslogs |= text(log, "logDriver")?.as_deref() == Some("awslogs");
            for s in objects(log, "secretOptions")? {
                secret_sources.extend(text(s, "valueFrom")?);
            }
        }
        for s in objects(c, "secrets")? {
            secret_sources.extend(text(s, "valueFrom")?);
        }
    }
    let family = text(td, "family")?.unwrap_or_else(|| "planned".into());
    Ok(TaskDefinition {
        arn: text(td, "taskDefinitionArn")?.unwrap_or_else(|| format!("{family} (from a file)")),
        network_mode: text(td, "networkMode")?.map(|m| NetworkMode::from_aws(&m)),
        port_mappings,
        ignore_tag: None,
        start_needs: StartNeeds::from_parts(images, awslogs, &secret_sources),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_create_service_input_becomes_a_plan() {
        let plan = parse_service(&json!({
            "cluster": "prod",
            "serviceName": "web",
            "taskDefinition": "web:7",
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": "1"}],
            "loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": "3000"}],
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}
        }))
        .unwrap();
        assert_eq!(plan.cluster, "prod");
        assert_eq!(plan.launch.launch_type().as_deref(), Some("FARGATE"));
        assert_eq!(
            plan.load_balancers[0].container_port,
            Some(3000),
            "a string number is a number"
        );
        let network = plan.network.unwrap();
        assert_eq!(network.subnets, ["subnet-a", "subnet-b"]);
        assert!(network.assign_public_ip);
    }

    #[test]
    fn a_register_task_definition_input_becomes_a_task_definition() {
        let td = parse_task_definition(&json!({
            "family": "web",
            "networkMode": "awsvpc",
            "containerDefinitions": [{
                "name": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
                "portMappings": [{"containerPort": 3000}, {"containerPortRange": "7000-7010", "protocol": "TCP"}],
                "logConfiguration": {"logDriver": "awslogs"},
                "secrets": [{"name": "DB", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db"}]
            }]
        }))
        .unwrap();
        assert_eq!(td.effective_network_mode(), NetworkMode::Awsvpc);
        assert_eq!(td.port_mappings.len(), 2);
        assert_eq!(td.port_mappings[1].to_string(), "7000-7010/tcp");
        assert!(td.start_needs.awslogs && td.start_needs.secrets_manager);
    }

    #[test]
    fn unusable_input_is_a_clear_error_never_a_panic() {
        let cases = [
            (json!([]), "a service definition is a JSON object"),
            (json!({"cluster": "prod"}), "serviceName is required"),
            (
                json!({"serviceName": "web", "loadBalancers": [{"containerPort": "http"}]}),
                "containerPort must be an integer",
            ),
            (json!({"serviceName": 7}), "serviceName must be a string"),
        ];
        for (input, want) in cases {
            let err = parse_service(&input).unwrap_err();
            assert!(err.0.contains(want), "{input}: {err}");
        }
        let err = parse_task_definition(&json!({"family": "web"})).unwrap_err();
        assert!(err.0.contains("containerDefinitions is required"), "{err}");
        let err = parse_task_definition(&json!({"containerDefinitions": [{"name": "w", "portMappings": [{"containerPortRange": "9-1"}]}]})).unwrap_err();
        assert!(err.0.contains("not first-last"), "{err}");
    }
}
