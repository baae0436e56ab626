//! Builds real resources in moto (VPC, subnets, routes, ENI, instance, cluster, task
//! definition, service, ALB, SNS topic + SQS subscription) and the matching ECS event.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_ec2::types::{
    Filter, InstanceNetworkInterfaceSpecification, ResourceType, Tag, TagSpecification,
};
use aws_sdk_ecs::types::{AwsVpcConfiguration, LaunchType, NetworkConfiguration};
use aws_sdk_ecs::types::{
    ContainerDefinition, LoadBalancer, NetworkMode, PortMapping, TransportProtocol,
};
use serde_json::{json, Value};

use crate::harness::{http_request, moto, REGION};

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub struct Clients {
    /// The account the clients act in (moto's default, or a member's through AssumeRole).
    pub account: String,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
}

/// moto's default account.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

pub async fn clients() -> Clients {
    moto();
    let c = aws_config::defaults(BehaviorVersion::latest()).load().await;
    clients_with(&c, DEFAULT_ACCOUNT)
}

/// Clients acting in another account: moto's AssumeRole into that account's role switches the
/// backend account (moto checks no trust policy).
pub async fn clients_in(account: &str) -> Clients {
    moto();
    let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let out = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/world-builder"))
        .role_session_name("tests")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let credentials = aws_sdk_ec2::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "world-builder",
    );
    let config = base
        .to_builder()
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build();
    clients_with(&config, account)
}

fn clients_with(c: &aws_config::SdkConfig, account: &str) -> Clients {
    Clients {
        account: account.to_string(),
        ec2: aws_sdk_ec2::Client::new(c),
        ecs: aws_sdk_ecs::Client::new(c),
        sns: aws_sdk_sns::Client::new(c),
        sqs: aws_sdk_sqs::Client::new(c),
        elbv2: aws_sdk_elasticloadbalancingv2::Client::new(c),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Subnet {
    /// Explicitly associated route table with 0.0.0.0/0 -> igw.
    PublicExplicit,
    /// No explicit association; the VPC's main table routes 0.0.0.0/0 -> igw.
    PublicViaMain,
    /// Only the local route.
    Private,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Svc {
    Standalone,
    NoLoadBalancer,
    Lb(LbSpec),
}

/// A load-balancer path; `LbSpec::valid_alb()` is fully valid, tests break one hop each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbSpec {
    pub network: bool,
    pub internal: bool,
    pub target_type_ip: bool,
    pub tg_in_other_vpc: bool,
    pub mapping_port: i32,
    pub listener: bool,
    /// A second listener (8080) whose default action answers itself, as real ALBs often have
    /// (redirects, fixed responses): it forwards to nothing.
    pub second_listener: bool,
    pub lb_subnets_public: bool,
    pub lb_sg_admits_clients: bool,
    /// Where the load balancer's group admits clients from (with `lb_sg_admits_clients`).
    pub client_cidr: &'static str,
    /// Admit the clients through a managed prefix list holding `client_cidr`, not the CIDR.
    pub clients_by_prefix_list: bool,
    pub lb_sg_egress: bool,
    pub task_sg_admits_lb: bool,
    pub nacl_denies_port: bool,
    /// The network ACL of the load balancer's subnets.
    pub lb_acl: LbAcl,
    pub register_target: bool,
}

/// The network ACL of the load balancer's subnets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LbAcl {
    /// The VPC's default ACL (everything allowed).
    Default,
    /// An ACL of their own used as a blocklist: one public block denied, the rest allowed.
    Blocklist,
    /// The listener port admitted from the VPC only: internet clients are blocked.
    ClientsFromVpcOnly,
    /// Out: the listener's replies (1024-65535) only, so the container port 3000 is blocked
    /// toward the task.
    TargetPortClosed,
}

impl LbSpec {
    pub fn valid_alb() -> Self {
        LbSpec {
            network: false,
            internal: false,
            target_type_ip: true,
            tg_in_other_vpc: false,
            mapping_port: 3000,
            listener: true,
            second_listener: true,
            lb_subnets_public: true,
            lb_sg_admits_clients: true,
            client_cidr: "0.0.0.0/0",
            clients_by_prefix_list: false,
            lb_sg_egress: true,
            task_sg_admits_lb: true,
            nacl_denies_port: false,
            lb_acl: LbAcl::Default,
            register_target: true,
        }
    }

    pub fn valid_nlb() -> Self {
        LbSpec {
            network: true,
            second_listener: false,
            ..Self::valid_alb()
        }
    }
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub subnet: Subnet,
    pub host_public_ip: bool,
    pub network_mode: Option<&'static str>,
    pub ports: Vec<i32>,
    pub service: Svc,
    pub launch_type: &'static str,
    pub last_status: &'static str,
}

impl Scenario {
    /// A service behind the load balancer `spec`, its tasks and hosts in a private subnet.
    pub fn behind(spec: LbSpec) -> Self {
        Scenario {
            service: Svc::Lb(spec),
            subnet: Subnet::Private,
            host_public_ip: false,
            ..Scenario::seed()
        }
    }

    /// The seed story: public subnet, public host, awsvpc, port 3000, service without LB.
    pub fn seed() -> Self {
        Scenario {
            subnet: Subnet::PublicExplicit,
            host_public_ip: true,
            network_mode: Some("awsvpc"),
            ports: vec![3000],
            service: Svc::NoLoadBalancer,
            launch_type: "EC2",
            last_status: "RUNNING",
        }
    }
}

pub struct Built {
    pub event: Value,
    pub cluster: String,
    pub service: Option<String>,
    pub vpc_id: String,
    pub subnet_id: String,
    pub eni_id: String,
    pub private_ip: String,
    pub host_ip: Option<String>,
    pub instance_id: String,
    pub container_instance_arn: String,
    pub task_sg: String,
    pub topic_arn: String,
    pub queue_url: String,
}

pub async fn build(c: &Clients, s: &Scenario) -> Built {
    let vpc_id = c
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let subnet_id = create_subnet(c, &vpc_id, "us-east-1a", "10.0.1.0/24").await;
    let other_subnet_id = create_subnet(c, &vpc_id, "us-east-1b", "10.0.2.0/24").await;
    let igw = c
        .ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    c.ec2
        .attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    match s.subnet {
        Subnet::PublicExplicit => {
            let rtb = c
                .ec2
                .create_route_table()
                .vpc_id(&vpc_id)
                .send()
                .await
                .unwrap()
                .route_table()
                .unwrap()
                .route_table_id()
                .unwrap()
                .to_string();
            c.ec2
                .create_route()
                .route_table_id(&rtb)
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(&igw)
                .send()
                .await
                .unwrap();
            c.ec2
                .associate_route_table()
                .route_table_id(&rtb)
                .subnet_id(&subnet_id)
                .send()
                .await
                .unwrap();
        }
        Subnet::PublicViaMain => {
            let main = c
                .ec2
                .describe_route_tables()
                .filters(Filter::builder().name("vpc-id").values(&vpc_id).build())
                .filters(
                    Filter::builder()
                        .name("association.main")
                        .values("true")
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let rtb = main.route_tables()[0].route_table_id().unwrap().to_string();
            c.ec2
                .create_route()
                .route_table_id(&rtb)
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(&igw)
                .send()
                .await
                .unwrap();
        }
        Subnet::Private => {}
    }
    let sg = c
        .ec2
        .create_security_group()
        .group_name(unique("task"))
        .description("task")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let eni = c
        .ec2
        .create_network_interface()
        .subnet_id(&subnet_id)
        .groups(&sg)
        .description("task ENI")
        .send()
        .await
        .unwrap();
    let eni = eni.network_interface().unwrap();
    let eni_id = eni.network_interface_id().unwrap().to_string();
    let private_ip = eni.private_ip_address().unwrap().to_string();

    // The container instance lives in the other subnet, with or without a public IP.
    let reservation = c
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .instance_type(aws_sdk_ec2::types::InstanceType::C5Large)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&other_subnet_id)
                .groups(&sg)
                .associate_public_ip_address(s.host_public_ip)
                .build(),
        )
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Name").value("ecs-host").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let instance = &reservation.instances()[0];
    let instance_id = instance.instance_id().unwrap().to_string();
    let host_ip = instance.public_ip_address().map(str::to_string);
    assert_eq!(
        host_ip.is_some(),
        s.host_public_ip,
        "moto host public IP setup"
    );

    let cluster = unique("cluster");
    let cluster_arn = c
        .ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap()
        .cluster()
        .unwrap()
        .cluster_arn()
        .unwrap()
        .to_string();
    let container_instance_arn = c
        .ecs
        .register_container_instance()
        .cluster(&cluster)
        .instance_identity_document(
            json!({"instanceId": instance_id, "region": REGION}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .container_instance()
        .unwrap()
        .container_instance_arn()
        .unwrap()
        .to_string();

    let family = unique("web");
    let mut container = ContainerDefinition::builder()
        .name("web")
        .image("web:1.4.2")
        .memory(512);
    for port in &s.ports {
        container = container.port_mappings(
            PortMapping::builder()
                .container_port(*port)
                .protocol(TransportProtocol::Tcp)
                .build(),
        );
    }
    let mut td = c
        .ecs
        .register_task_definition()
        .family(&family)
        .container_definitions(container.build());
    if let Some(mode) = s.network_mode {
        td = td.network_mode(NetworkMode::from(mode));
    }
    let td_arn = td
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();

    let service = match s.service {
        Svc::Standalone => None,
        Svc::NoLoadBalancer | Svc::Lb(_) => {
            let name = unique("svc");
            let mut req = c
                .ecs
                .create_service()
                .cluster(&cluster)
                .service_name(&name)
                .task_definition(&td_arn)
                .desired_count(1);
            // moto knows EC2 and FARGATE services only.
            if matches!(s.launch_type, "EC2" | "FARGATE") {
                req = req.launch_type(LaunchType::from(s.launch_type));
            }
            if s.network_mode == Some("awsvpc") {
                // As an awsvpc service is created: its tasks' subnets and groups.
                req = req.network_configuration(
                    NetworkConfiguration::builder()
                        .awsvpc_configuration(
                            AwsVpcConfiguration::builder()
                                .subnets(&subnet_id)
                                .security_groups(&sg)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                );
            }
            if let Svc::Lb(spec) = s.service {
                let tg =
                    create_lb_path(c, &vpc_id, &igw, &sg, &subnet_id, &private_ip, &spec).await;
                req = req.load_balancers(
                    LoadBalancer::builder()
                        .target_group_arn(tg)
                        .container_name("web")
                        .container_port(spec.mapping_port)
                        .build(),
                );
            }
            req.send().await.unwrap();
            Some(name)
        }
    };

    let topic_arn = c
        .sns
        .create_topic()
        .name(unique("alerts"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue_url = c
        .sqs
        .create_queue()
        .queue_name(unique("inbox"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = c
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    c.sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();

    let task_arn = format!(
        "arn:aws:ecs:{REGION}:{}:task/{cluster}/{}",
        c.account,
        unique("task").replace('-', "")
    );
    let group = match &service {
        Some(name) => format!("service:{name}"),
        None => format!("family:{family}"),
    };
    let mut detail = json!({
        "attachments": [{"id": "att-1", "type": "eni", "status": "ATTACHED", "details": [
            {"name": "subnetId", "value": subnet_id},
            {"name": "networkInterfaceId", "value": eni_id},
            {"name": "macAddress", "value": "0a:1b:2c:3d:4e:5f"},
            {"name": "privateIPv4Address", "value": private_ip}]}],
        "availabilityZone": "us-east-1a",
        "clusterArn": cluster_arn,
        "containerInstanceArn": container_instance_arn,
        "containers": [{"name": "web", "lastStatus": s.last_status, "image": "web:1.4.2",
            "networkInterfaces": [{"attachmentId": "att-1", "privateIpv4Address": private_ip}]}],
        "desiredStatus": "RUNNING",
        "group": group,
        "launchType": s.launch_type,
        "lastStatus": s.last_status,
        "startedBy": "ecs-svc/1234567890123456789",
        "taskArn": task_arn,
        "taskDefinitionArn": td_arn,
        "version": 3
    });
    if s.launch_type == "FARGATE" {
        detail
            .as_object_mut()
            .unwrap()
            .remove("containerInstanceArn");
        detail["platformVersion"] = json!("1.4.0");
    }
    let event = json!({"version": "0", "id": unique("event"), "detail-type": "ECS Task State Change",
        "source": "aws.ecs", "account": c.account, "time": "2025-05-02T10:15:42Z", "region": REGION,
        "resources": [task_arn], "detail": detail});
    Built {
        event,
        cluster,
        service,
        vpc_id,
        subnet_id,
        eni_id,
        private_ip,
        host_ip,
        instance_id,
        container_instance_arn,
        task_sg: sg,
        topic_arn,
        queue_url,
    }
}

/// Creates a subnet and returns its id.
pub async fn create_subnet(c: &Clients, vpc_id: &str, az: &str, cidr: &str) -> String {
    c.ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(cidr)
        .availability_zone(az)
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string()
}

/// Builds the load-balancer side of the path as `spec` says; returns the target group ARN.
pub async fn create_lb_path(
    c: &Clients,
    vpc_id: &str,
    igw: &str,
    task_sg: &str,
    task_subnet: &str,
    task_ip: &str,
    spec: &LbSpec,
) -> String {
    use aws_sdk_ec2::types::{IpPermission, IpRange, RuleAction, UserIdGroupPair};
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum,
        TargetDescription, TargetTypeEnum,
    };
    // Two LB subnets in two AZs, with their own route table (public or not).
    let mut lb_subnets = Vec::new();
    for (az, cidr) in [
        ("us-east-1a", "10.0.11.0/24"),
        ("us-east-1b", "10.0.12.0/24"),
    ] {
        lb_subnets.push(create_subnet(c, vpc_id, az, cidr).await);
    }
    let rtb = c
        .ec2
        .create_route_table()
        .vpc_id(vpc_id)
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    if spec.lb_subnets_public {
        c.ec2
            .create_route()
            .route_table_id(&rtb)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(igw)
            .send()
            .await
            .unwrap();
    }
    for subnet in &lb_subnets {
        c.ec2
            .associate_route_table()
            .route_table_id(&rtb)
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
    }
    // The LB's security group (ALB only).
    let lb_sg = c
        .ec2
        .create_security_group()
        .group_name(unique("lb"))
        .description("lb")
        .vpc_id(vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    if spec.lb_sg_admits_clients {
        let clients = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(80)
            .to_port(80);
        let clients = if spec.clients_by_prefix_list {
            let list = c
                .ec2
                .create_managed_prefix_list()
                .prefix_list_name(unique("clients"))
                .address_family("IPv4")
                .max_entries(5)
                .entries(
                    aws_sdk_ec2::types::AddPrefixListEntry::builder()
                        .cidr(spec.client_cidr)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let id = list
                .prefix_list()
                .unwrap()
                .prefix_list_id()
                .unwrap()
                .to_string();
            clients.prefix_list_ids(
                aws_sdk_ec2::types::PrefixListId::builder()
                    .prefix_list_id(id)
                    .build(),
            )
        } else {
            clients.ip_ranges(IpRange::builder().cidr_ip(spec.client_cidr).build())
        };
        c.ec2
            .authorize_security_group_ingress()
            .group_id(&lb_sg)
            .ip_permissions(clients.build())
            .send()
            .await
            .unwrap();
    }
    if !spec.lb_sg_egress {
        c.ec2
            .revoke_security_group_egress()
            .group_id(&lb_sg)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    if spec.task_sg_admits_lb {
        let permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(3000)
            .to_port(3000);
        let permission = if spec.network {
            permission.ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/16").build())
        } else {
            permission.user_id_group_pairs(UserIdGroupPair::builder().group_id(&lb_sg).build())
        };
        c.ec2
            .authorize_security_group_ingress()
            .group_id(task_sg)
            .ip_permissions(permission.build())
            .send()
            .await
            .unwrap();
    }
    if spec.nacl_denies_port {
        let acl = c
            .ec2
            .describe_network_acls()
            .filters(
                Filter::builder()
                    .name("association.subnet-id")
                    .values(task_subnet)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let acl_id = acl.network_acls()[0].network_acl_id().unwrap().to_string();
        c.ec2
            .create_network_acl_entry()
            .network_acl_id(acl_id)
            .rule_number(50)
            .protocol("6")
            .rule_action(RuleAction::Deny)
            .egress(false)
            .cidr_block("0.0.0.0/0")
            .port_range(
                aws_sdk_ec2::types::PortRange::builder()
                    .from(3000)
                    .to(3000)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    lb_subnets_acl(c, vpc_id, &lb_subnets, spec.lb_acl).await;
    let mut lb = c
        .elbv2
        .create_load_balancer()
        .name(unique("lb"))
        .set_subnets(Some(lb_subnets))
        .scheme(if spec.internal {
            LoadBalancerSchemeEnum::Internal
        } else {
            LoadBalancerSchemeEnum::InternetFacing
        });
    lb = if spec.network {
        lb.r#type(LoadBalancerTypeEnum::Network)
    } else {
        lb.r#type(LoadBalancerTypeEnum::Application)
            .security_groups(&lb_sg)
    };
    let lb_arn = lb.send().await.unwrap().load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let tg_vpc = if spec.tg_in_other_vpc {
        c.ec2
            .create_vpc()
            .cidr_block("10.9.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc()
            .unwrap()
            .vpc_id()
            .unwrap()
            .to_string()
    } else {
        vpc_id.to_string()
    };
    let (protocol, listener_protocol) = if spec.network {
        (ProtocolEnum::Tcp, ProtocolEnum::Tcp)
    } else {
        (ProtocolEnum::Http, ProtocolEnum::Http)
    };
    let tg = c
        .elbv2
        .create_target_group()
        .name(unique("tg"))
        .protocol(protocol)
        .port(3000)
        .vpc_id(tg_vpc)
        .target_type(if spec.target_type_ip {
            TargetTypeEnum::Ip
        } else {
            TargetTypeEnum::Instance
        })
        .send()
        .await
        .unwrap();
    let tg_arn = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    if spec.listener {
        c.elbv2
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(listener_protocol)
            .port(80)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&tg_arn)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    if spec.second_listener && !spec.network {
        c.elbv2
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(ProtocolEnum::Http)
            .port(8080)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        aws_sdk_elasticloadbalancingv2::types::FixedResponseActionConfig::builder()
                            .status_code("404")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    if spec.register_target {
        c.elbv2
            .register_targets()
            .target_group_arn(&tg_arn)
            .targets(TargetDescription::builder().id(task_ip).port(3000).build())
            .send()
            .await
            .unwrap();
    }
    tg_arn
}

/// Messages delivered to the queue (SNS envelopes, parsed).
pub async fn received(c: &Clients, queue_url: &str, wait_seconds: i32) -> Vec<Value> {
    let out = c
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_seconds)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

/// Another task of the same service/host: a new ENI in the task subnet and a new task ARN.
pub async fn second_task(c: &Clients, built: &Built) -> Value {
    let eni = c
        .ec2
        .create_network_interface()
        .subnet_id(&built.subnet_id)
        .groups(&built.task_sg)
        .send()
        .await
        .unwrap();
    let eni = eni.network_interface().unwrap();
    let (eni_id, ip) = (
        eni.network_interface_id().unwrap(),
        eni.private_ip_address().unwrap(),
    );
    let mut event = built.event.clone();
    let task_arn = format!("{}-2", built.event["detail"]["taskArn"].as_str().unwrap());
    event["id"] = json!(unique("event"));
    event["resources"] = json!([task_arn]);
    event["detail"]["taskArn"] = json!(task_arn);
    event["detail"]["attachments"][0]["details"] = json!([
        {"name": "subnetId", "value": built.subnet_id},
        {"name": "networkInterfaceId", "value": eni_id},
        {"name": "privateIPv4Address", "value": ip}]);
    event["detail"]["containers"][0]["networkInterfaces"] =
        json!([{"attachmentId": "att-1", "privateIpv4Address": ip}]);
    event
}

/// What moto's run_task needs: DNS hostnames on in the VPC, and task status pinned so that
/// describe_tasks does not advance it.
pub async fn prepare_run_task(c: &Clients, vpc_id: &str) {
    http_request(moto(), "POST", "/moto-api/state-manager/set-transition",
        &json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000}}).to_string());
    c.ec2
        .modify_vpc_attribute()
        .vpc_id(vpc_id)
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Starts `count` tasks of the world's service with run_task (moto: DNS hostnames on, task
/// status pinned so describe_tasks does not advance it).
pub async fn run_tasks(c: &Clients, built: &Built, count: i32) -> Vec<String> {
    prepare_run_task(c, &built.vpc_id).await;
    let td = built.event["detail"]["taskDefinitionArn"].as_str().unwrap();
    let out = c
        .ecs
        .run_task()
        .cluster(&built.cluster)
        .task_definition(td)
        .count(count)
        .launch_type(LaunchType::Ec2)
        .started_by("ecs-svc/1234567890123456789")
        .group(format!("service:{}", built.service.as_deref().unwrap()))
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(&built.subnet_id)
                        .security_groups(&built.task_sg)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.tasks()
        .iter()
        .map(|t| t.task_arn().unwrap().to_string())
        .collect()
}

/// A DynamoDB table shaped like the template's dedup table.
pub async fn dedup_table() -> String {
    let c = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let ddb = aws_sdk_dynamodb::Client::new(&c);
    let name = unique("dedup");
    ddb.create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    name
}

/// Gives the load balancer's subnets a network ACL of their own, as `acl` says.
async fn lb_subnets_acl(c: &Clients, vpc_id: &str, subnets: &[String], acl: LbAcl) {
    use aws_sdk_ec2::types::{PortRange, RuleAction};
    // (rule number, egress, allow, block, ports)
    type Entry = (i32, bool, bool, &'static str, Option<(i32, i32)>);
    let entries: &[Entry] = match acl {
        LbAcl::Default => return,
        LbAcl::Blocklist => &[
            (10, false, false, "198.51.100.0/24", None),
            (100, false, true, "0.0.0.0/0", None),
            (100, true, true, "0.0.0.0/0", None),
        ],
        LbAcl::ClientsFromVpcOnly => &[
            (100, false, true, "10.0.0.0/16", None),
            (100, true, true, "0.0.0.0/0", None),
        ],
        LbAcl::TargetPortClosed => &[
            (100, false, true, "0.0.0.0/0", None),
            (100, true, true, "0.0.0.0/0", Some((32768, 65535))),
        ],
    };
    let acl_id = c
        .ec2
        .create_network_acl()
        .vpc_id(vpc_id)
        .send()
        .await
        .unwrap()
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_string();
    for &(n, egress, allow, cidr, ports) in entries {
        let mut entry = c
            .ec2
            .create_network_acl_entry()
            .network_acl_id(&acl_id)
            .rule_number(n)
            .protocol(if ports.is_some() { "6" } else { "-1" })
            .rule_action(if allow {
                RuleAction::Allow
            } else {
                RuleAction::Deny
            })
            .egress(egress)
            .cidr_block(cidr);
        if let Some((from, to)) = ports {
            entry = entry.port_range(PortRange::builder().from(from).to(to).build());
        }
        entry.send().await.unwrap();
    }
    let acls = c
        .ec2
        .describe_network_acls()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .unwrap();
    for association in acls
        .network_acls()
        .iter()
        .flat_map(|a| a.associations())
        .filter(|a| subnets.iter().any(|s| Some(s.as_str()) == a.subnet_id()))
    {
        c.ec2
            .replace_network_acl_association()
            .association_id(association.network_acl_association_id().unwrap())
            .network_acl_id(&acl_id)
            .send()
            .await
            .unwrap();
    }
}

/// The VPC's main route table.
pub async fn main_route_table(c: &Clients, vpc: &str) -> String {
    let out = c
        .ec2
        .describe_route_tables()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .filters(
            Filter::builder()
                .name("association.main")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.route_tables()[0].route_table_id().unwrap().to_string()
}

/// The NAT gateway a pull's route leads to, in the shapes real accounts have.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nat {
    /// Public, available, in a subnet routing 0.0.0.0/0 to the internet gateway: the way out.
    Working,
    /// Public, but its own subnet has no route to the internet gateway.
    InAPrivateSubnet,
    /// `ConnectivityType: private` in a public subnet: the internet gateway drops its traffic.
    Private,
    /// Deleted after the route was made (moto keeps the route active; AWS would mark it
    /// blackhole, which the fake-reader tests cover).
    Deleted,
}

/// Sends the world's (main) route table's 0.0.0.0/0 to a NAT gateway shaped as `nat` says.
pub async fn route_through_nat(c: &Clients, built: &Built, nat: Nat) -> String {
    use aws_sdk_ec2::types::ConnectivityType;
    let subnet = subnet_with_own_table(
        c,
        &built.vpc_id,
        "10.0.50.0/24",
        nat != Nat::InAPrivateSubnet,
    )
    .await;
    let nat_id = c
        .ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .connectivity_type(if nat == Nat::Private {
            ConnectivityType::Private
        } else {
            ConnectivityType::Public
        })
        .send()
        .await
        .unwrap()
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_string();
    c.ec2
        .create_route()
        .route_table_id(main_route_table(c, &built.vpc_id).await)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat_id)
        .send()
        .await
        .unwrap();
    if nat == Nat::Deleted {
        c.ec2
            .delete_nat_gateway()
            .nat_gateway_id(&nat_id)
            .send()
            .await
            .unwrap();
    }
    nat_id
}

/// The VPC's internet gateway.
pub async fn internet_gateway(c: &Clients, vpc_id: &str) -> String {
    c.ec2
        .describe_internet_gateways()
        .filters(
            Filter::builder()
                .name("attachment.vpc-id")
                .values(vpc_id)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .internet_gateways()[0]
        .internet_gateway_id()
        .unwrap()
        .to_string()
}

/// A new subnet with a route table of its own: 0.0.0.0/0 to the VPC's internet gateway when
/// `public`, only the local route otherwise.
pub async fn subnet_with_own_table(c: &Clients, vpc_id: &str, cidr: &str, public: bool) -> String {
    let subnet = create_subnet(c, vpc_id, "us-east-1a", cidr).await;
    let table = c
        .ec2
        .create_route_table()
        .vpc_id(vpc_id)
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    if public {
        c.ec2
            .create_route()
            .route_table_id(&table)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(internet_gateway(c, vpc_id).await)
            .send()
            .await
            .unwrap();
    }
    c.ec2
        .associate_route_table()
        .route_table_id(&table)
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    subnet
}
