//! Every AWS API action the product names, declared once, with who calls it: the reads of the
//! checks (the Lambda and the CLI), the deliveries (alerts, dedup, Config, Security Hub, the
//! scan's fan-out, member roles), the CLI's own calls, and the one it only names. The adapters
//! call through these constants, an unreadable fact names one, and the least-privilege tests
//! compare the templates with [`ACTIONS`]; `tests/architecture.rs` keeps IAM action literals
//! out of every other file.

/// Who calls an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A read of the checks: the Lambda's role and every member role grant it.
    Read,
    /// A write or an identity call of the Lambda: its role grants it.
    Delivery,
    /// Only the CLI calls it (the templates grant it to nobody).
    CliOnly,
    /// A read only a preflight makes (the `preflight` command, the hook in its own account):
    /// the Lambda's role grants it with the hook; member roles never need it.
    PlanRead,
    /// Named in a verdict, never called.
    NeverCalled,
}

macro_rules! actions {
    ($( $(#[$doc:meta])* $caller:ident $name:ident = $action:literal; )*) => {
        $( $(#[$doc])* pub const $name: &str = $action; )*

        /// Every action, with who calls it.
        pub const ACTIONS: &[(Caller, &str)] = &[$( (Caller::$caller, $name), )*];
    };
}

/// The actions `caller` calls.
pub fn called_by(caller: Caller) -> impl Iterator<Item = &'static str> {
    ACTIONS
        .iter()
        .filter(move |(c, _)| *c == caller)
        .map(|(_, action)| *action)
}

actions! {
    /// `ec2:DescribeInstances`.
    Read EC2_DESCRIBE_INSTANCES = "ec2:DescribeInstances";
    /// `ec2:DescribeNatGateways`.
    Read EC2_DESCRIBE_NAT_GATEWAYS = "ec2:DescribeNatGateways";
    /// `ec2:DescribeNetworkAcls`.
    Read EC2_DESCRIBE_NETWORK_ACLS = "ec2:DescribeNetworkAcls";
    /// `ec2:DescribeNetworkInterfaces`.
    Read EC2_DESCRIBE_NETWORK_INTERFACES = "ec2:DescribeNetworkInterfaces";
    /// `ec2:DescribeRouteTables`.
    Read EC2_DESCRIBE_ROUTE_TABLES = "ec2:DescribeRouteTables";
    /// `ec2:DescribeSecurityGroups`.
    Read EC2_DESCRIBE_SECURITY_GROUPS = "ec2:DescribeSecurityGroups";
    /// `ec2:DescribeSubnets`.
    Read EC2_DESCRIBE_SUBNETS = "ec2:DescribeSubnets";
    /// `ec2:DescribeVpcAttribute`.
    Read EC2_DESCRIBE_VPC_ATTRIBUTE = "ec2:DescribeVpcAttribute";
    /// `ec2:DescribeVpcBlockPublicAccessExclusions`.
    Read EC2_DESCRIBE_VPC_BPA_EXCLUSIONS = "ec2:DescribeVpcBlockPublicAccessExclusions";
    /// `ec2:DescribeVpcBlockPublicAccessOptions`.
    Read EC2_DESCRIBE_VPC_BPA_OPTIONS = "ec2:DescribeVpcBlockPublicAccessOptions";
    /// `ec2:DescribeVpcEndpoints`.
    Read EC2_DESCRIBE_VPC_ENDPOINTS = "ec2:DescribeVpcEndpoints";
    /// `ec2:GetManagedPrefixListEntries`.
    Read EC2_GET_MANAGED_PREFIX_LIST_ENTRIES = "ec2:GetManagedPrefixListEntries";
    /// `ecs:DescribeClusters`: a planned service's placement when it leaves it to the cluster.
    PlanRead ECS_DESCRIBE_CLUSTERS = "ecs:DescribeClusters";
    /// `ecs:DescribeContainerInstances`.
    Read ECS_DESCRIBE_CONTAINER_INSTANCES = "ecs:DescribeContainerInstances";
    /// `ecs:DescribeServices`.
    Read ECS_DESCRIBE_SERVICES = "ecs:DescribeServices";
    /// `ecs:DescribeTaskDefinition`.
    Read ECS_DESCRIBE_TASK_DEFINITION = "ecs:DescribeTaskDefinition";
    /// `ecs:DescribeTasks`.
    Read ECS_DESCRIBE_TASKS = "ecs:DescribeTasks";
    /// `ecs:ListClusters`.
    Read ECS_LIST_CLUSTERS = "ecs:ListClusters";
    /// `ecs:ListContainerInstances`.
    Read ECS_LIST_CONTAINER_INSTANCES = "ecs:ListContainerInstances";
    /// `ecs:ListServices`.
    Read ECS_LIST_SERVICES = "ecs:ListServices";
    /// `ecs:ListTasks`.
    Read ECS_LIST_TASKS = "ecs:ListTasks";
    /// `elasticloadbalancing:DescribeListeners`.
    Read ELB_DESCRIBE_LISTENERS = "elasticloadbalancing:DescribeListeners";
    /// `elasticloadbalancing:DescribeLoadBalancers`.
    Read ELB_DESCRIBE_LOAD_BALANCERS = "elasticloadbalancing:DescribeLoadBalancers";
    /// `elasticloadbalancing:DescribeRules`.
    Read ELB_DESCRIBE_RULES = "elasticloadbalancing:DescribeRules";
    /// `elasticloadbalancing:DescribeTargetGroupAttributes`.
    Read ELB_DESCRIBE_TARGET_GROUP_ATTRIBUTES = "elasticloadbalancing:DescribeTargetGroupAttributes";
    /// `elasticloadbalancing:DescribeTargetGroups`.
    Read ELB_DESCRIBE_TARGET_GROUPS = "elasticloadbalancing:DescribeTargetGroups";
    /// `elasticloadbalancing:DescribeTargetHealth`.
    Read ELB_DESCRIBE_TARGET_HEALTH = "elasticloadbalancing:DescribeTargetHealth";
    /// `config:PutEvaluations`.
    Delivery CONFIG_PUT_EVALUATIONS = "config:PutEvaluations";
    /// `dynamodb:DeleteItem`.
    Delivery DYNAMODB_DELETE_ITEM = "dynamodb:DeleteItem";
    /// `dynamodb:GetItem`.
    Delivery DYNAMODB_GET_ITEM = "dynamodb:GetItem";
    /// `dynamodb:PutItem`.
    Delivery DYNAMODB_PUT_ITEM = "dynamodb:PutItem";
    /// `dynamodb:UpdateItem`.
    Delivery DYNAMODB_UPDATE_ITEM = "dynamodb:UpdateItem";
    /// `lambda:InvokeFunction`.
    Delivery LAMBDA_INVOKE_FUNCTION = "lambda:InvokeFunction";
    /// `securityhub:BatchImportFindings`.
    Delivery SECURITYHUB_BATCH_IMPORT_FINDINGS = "securityhub:BatchImportFindings";
    /// `sns:Publish`.
    Delivery SNS_PUBLISH = "sns:Publish";
    /// A member account's role (organisation mode).
    Delivery STS_ASSUME_ROLE = "sts:AssumeRole";
    /// `audit --all-regions`.
    CliOnly EC2_DESCRIBE_REGIONS = "ec2:DescribeRegions";
    /// `audit --organization`.
    CliOnly ORGANIZATIONS_LIST_ACCOUNTS = "organizations:ListAccounts";
    /// The caller's account when it is not configured (needs no permission).
    CliOnly STS_GET_CALLER_IDENTITY = "sts:GetCallerIdentity";
    /// The ECS event itself, named when it lacks what a check needs (never called).
    NeverCalled ECS_TASK_STATE_CHANGE = "ecs:TaskStateChange";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_is_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for (_, action) in ACTIONS {
            assert!(seen.insert(*action), "{action} declared twice");
            let (service, name) = action.split_once(':').unwrap();
            assert!(!service.is_empty() && name.starts_with(|c: char| c.is_ascii_uppercase()));
        }
        assert!(called_by(Caller::Read).any(|a| a == ECS_DESCRIBE_TASK_DEFINITION));
        assert!(called_by(Caller::Delivery).any(|a| a == SNS_PUBLISH));
    }
}
