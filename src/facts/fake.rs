//! An in-memory AWS for unit tests: the reader ports answered from a [`TaskFacts`] world (the
//! rule fixtures), every call recorded by IAM action, any action made to fail; plus a recording
//! publisher, dedup store, Security Hub, Config and fan-out. Millisecond tests of the wave/skip logic and of the claim →
//! publish → complete/release path; moto stays for the wiring.

use crate::domain::api;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::config_rule::{ConfigEvaluation, WorkItem};
use crate::domain::facts::{
    Fact, Host, Listener, LoadBalancer, Nat, NatGateway, NatInstance, NetworkInterface, RouteTable,
    Service, Subnet, TargetGroup, TargetHealth, TaskDefinition, TaskFacts, VpcDns, VpcEndpoint,
};
use crate::domain::net::{NetworkAcl, SecurityGroup};
use crate::domain::public_access::{BlockMode, PublicAccessBlock};
use crate::domain::security_hub::{ExportedFinding, OpenRules};
use crate::domain::stop::StopFacts;
use crate::domain::task::TaskDetail;
use crate::ports::{
    AlertDedup, AlertPublish, Claim, DedupError, Ec2Reader, EcsReader, ElbReader, EvaluationsPut,
    FindingsImport, ImportFailure, OpenFindings, PublishError, ReadError, ReadResult, Selection,
    TaskLister, WorkDispatch, DESCRIBE_CONTAINER_INSTANCES_BATCH,
};
use crate::render::sns::Alert;

/// The fake AWS account: resources by id, the calls made, the actions that fail.
#[derive(Debug, Default)]
pub struct FakeAws {
    task_definitions: Vec<TaskDefinition>,
    services: Vec<Service>,
    enis: Vec<NetworkInterface>,
    route_tables: HashMap<String, Vec<RouteTable>>,
    hosts: HashMap<String, Host>,
    acls: Vec<NetworkAcl>,
    security_groups: Vec<SecurityGroup>,
    subnets: Vec<Subnet>,
    target_groups: Vec<TargetGroup>,
    load_balancers: Vec<LoadBalancer>,
    listeners: Vec<Listener>,
    targets: HashMap<String, Vec<TargetHealth>>,
    tasks: Vec<TaskDetail>,
    stopped_tasks: Vec<TaskDetail>,
    endpoints: HashMap<String, Vec<VpcEndpoint>>,
    nat_gateways: Vec<NatGateway>,
    nat_instances: Vec<NatInstance>,
    dns: HashMap<String, VpcDns>,
    prefix_lists: HashMap<String, Vec<String>>,
    /// Each cluster's default capacity provider strategy (a cluster not named here exists,
    /// without one).
    cluster_strategies: HashMap<String, Vec<String>>,
    public_access: PublicAccessBlock,
    failing: HashMap<&'static str, ReadError>,
    calls: Mutex<Vec<&'static str>>,
    latency: Option<std::time::Duration>,
}

fn known<T: Clone>(fact: &Fact<T>) -> Option<T> {
    fact.known().cloned()
}

impl FakeAws {
    /// The world in which a task with ENI `eni-1` (IP `task_ip`) on container instance
    /// `container_instance` has exactly `facts`.
    pub fn from_facts(facts: &TaskFacts, container_instance: &str, task_ip: &str) -> Self {
        let mut aws = FakeAws::default();
        aws.task_definitions.extend(known(&facts.task_definition));
        if let Some(service) = facts.service.as_ref().and_then(known) {
            aws.services.push(service);
        }
        if let Some(eni) = known(&facts.eni) {
            if let Some(tables) = known(&facts.vpc_route_tables) {
                aws.route_tables.insert(eni.vpc_id.clone(), tables);
            }
            aws.acls = known(&facts.network_acls).unwrap_or_default();
            match facts.nat.as_ref().and_then(known) {
                Some(Nat::Gateway(g)) => aws.nat_gateways.push(g),
                Some(Nat::Instance(i)) => aws.nat_instances.push(i),
                None => {}
            }
            aws.enis.push(eni);
        }
        if let Some(host) = known(&facts.host) {
            aws.hosts.insert(container_instance.to_string(), host);
        }
        if let Some(block) = facts.public_access.as_ref().and_then(known) {
            aws.public_access = block;
        }
        aws.security_groups = known(&facts.security_groups).unwrap_or_default();
        if let Some(path) = &facts.load_balancer_path {
            aws.target_groups = known(&path.target_groups).unwrap_or_default();
            aws.load_balancers = known(&path.load_balancers).unwrap_or_default();
            aws.listeners = known(&path.listeners).unwrap_or_default();
            aws.subnets = known(&path.subnets).unwrap_or_default();
            for tg in known(&path.registered_in).unwrap_or_default() {
                aws.targets.entry(tg).or_default().push(TargetHealth {
                    target_id: task_ip.to_string(),
                    ..Default::default()
                });
            }
        }
        aws
    }

    /// The world of a stopped task: its facts as the stop fixtures hold them, the ENI gone.
    /// Resources shared by both diagnoses live in `vpc-1`.
    pub fn from_stop(facts: &StopFacts, container_instance: &str, host: Option<Host>) -> Self {
        let mut aws = FakeAws::default();
        aws.task_definitions.extend(known(&facts.task_definition));
        if let Some(service) = facts.service.as_ref().and_then(known) {
            aws.services.push(service);
        }
        aws.security_groups = known(&facts.security_groups).unwrap_or_default();
        let acl = known(&facts.network_acl);
        if let Some(h) = &facts.health_check {
            aws.target_groups.extend(known(&h.target_group));
            aws.load_balancers = known(&h.load_balancers).unwrap_or_default();
            aws.subnets = known(&h.subnets).unwrap_or_default();
            if let (Some(tg), Some(Some(health))) =
                (known(&h.target_group), known(&h.target_health))
            {
                aws.targets.insert(tg.arn, vec![health]);
            }
            if let (Some(net), Some(acl)) = (known(&facts.task_network), acl.clone()) {
                aws.add_acl(acl, &net.subnet_id);
            }
        }
        if let Some(p) = &facts.pull {
            aws.subnets = known(&p.subnets).unwrap_or_default();
            if let Some(path) = known(&p.path) {
                let mut tables = known(&p.route_tables).unwrap_or_default();
                if let Some(table) = known(&p.route_table) {
                    // The table in force as the case holds it (a test may have changed it).
                    tables.retain(|t| t.id != table.id);
                    tables.push(table);
                }
                aws.route_tables.insert(path.vpc_id.clone(), tables);
                aws.nat_gateways = known(&p.nat_gateways).unwrap_or_default();
                if let Some(block) = known(&p.public_access) {
                    aws.public_access = block;
                }
                aws.nat_instances
                    .extend(p.nat_instance.as_ref().and_then(known));
                aws.endpoints
                    .insert(path.vpc_id.clone(), known(&p.endpoints).unwrap_or_default());
                if let Some(dns) = known(&p.dns) {
                    aws.dns.insert(path.vpc_id.clone(), dns);
                }
                if let Some(acl) = acl {
                    aws.add_acl(acl, &path.subnet_id);
                }
            }
        }
        if let Some(host) = host {
            aws.hosts.insert(container_instance.to_string(), host);
        }
        aws
    }

    /// A stop fixture's ACL, associated with the subnet in question.
    fn add_acl(&mut self, mut acl: NetworkAcl, subnet_id: &str) {
        if !acl.subnet_ids.iter().any(|s| s == subnet_id) {
            acl.subnet_ids.push(subnet_id.to_string());
        }
        self.acls.push(acl);
    }

    /// Sets a VPC's DNS attributes (DescribeVpcAttribute).
    pub fn with_vpc_dns(mut self, vpc: &str, dns: VpcDns) -> Self {
        self.dns.insert(vpc.to_string(), dns);
        self
    }

    /// Adds a subnet (DescribeSubnets).
    pub fn with_subnet(mut self, subnet: Subnet) -> Self {
        self.subnets.push(subnet);
        self
    }

    /// Adds stopped tasks (ListTasks desiredStatus=STOPPED).
    pub fn with_stopped_tasks(mut self, tasks: Vec<TaskDetail>) -> Self {
        self.stopped_tasks = tasks;
        self
    }

    /// Makes every call of `api` fail with `error`.
    pub fn failing(mut self, api: &'static str, error: ReadError) -> Self {
        self.failing.insert(api, error);
        self
    }

    /// Adds a managed prefix list.
    pub fn with_prefix_list(mut self, id: &str, cidrs: &[&str]) -> Self {
        self.prefix_lists.insert(
            id.to_string(),
            cidrs.iter().map(|c| c.to_string()).collect(),
        );
        self
    }

    /// Adds a container instance and its EC2 host.
    pub fn with_host(mut self, container_instance: &str, host: Host) -> Self {
        self.hosts.insert(container_instance.to_string(), host);
        self
    }

    /// The account's VPC Block Public Access in this world.
    pub fn with_public_access(mut self, block: PublicAccessBlock) -> Self {
        self.public_access = block;
        self
    }

    /// Adds tasks for the lister.
    pub fn with_tasks(mut self, tasks: Vec<TaskDetail>) -> Self {
        self.tasks = tasks;
        self
    }

    /// The IAM actions called so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    /// Records a call; with a latency, each call takes one round trip of virtual time, so a
    /// test on tokio's paused clock measures the sequential round trips exactly.
    async fn call(&self, api: &'static str) -> Result<(), ReadError> {
        self.calls.lock().unwrap().push(api);
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        match self.failing.get(api) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Gives `cluster` a default capacity provider strategy.
    pub fn with_cluster_default_strategy(mut self, cluster: &str, providers: &[&str]) -> Self {
        self.cluster_strategies.insert(
            cluster.to_string(),
            providers.iter().map(|p| p.to_string()).collect(),
        );
        self
    }

    /// Makes every call take `latency`.
    pub fn with_latency(mut self, latency: std::time::Duration) -> Self {
        self.latency = Some(latency);
        self
    }
}

fn in_vpc<T: Clone>(items: &[T], vpc: &str, vpc_of: impl Fn(&T) -> &str) -> Vec<T> {
    items.iter().filter(|i| vpc_of(i) == vpc).cloned().collect()
}

fn by_ids<T: Clone>(items: &[T], ids: &[String], id: impl Fn(&T) -> &str) -> Vec<T> {
    items
        .iter()
        .filter(|i| ids.iter().any(|x| x == id(i)))
        .cloned()
        .collect()
}

impl EcsReader for FakeAws {
    async fn cluster_default_strategy(&self, cluster: &str) -> ReadResult<Vec<String>> {
        self.call(api::ECS_DESCRIBE_CLUSTERS).await?;
        Ok(Some(
            self.cluster_strategies
                .get(cluster)
                .cloned()
                .unwrap_or_default(),
        ))
    }

    async fn task_definition(&self, arn: &str) -> ReadResult<TaskDefinition> {
        self.call(api::ECS_DESCRIBE_TASK_DEFINITION).await?;
        Ok(self.task_definitions.iter().find(|t| t.arn == arn).cloned())
    }

    async fn service(&self, _cluster: &str, name: &str) -> ReadResult<Service> {
        self.call(api::ECS_DESCRIBE_SERVICES).await?;
        Ok(self.services.iter().find(|s| s.name == name).cloned())
    }

    async fn container_host(&self, _cluster: &str, arn: &str) -> ReadResult<Host> {
        // Two calls in AWS: the container instance, then its EC2 instance.
        self.call(api::ECS_DESCRIBE_CONTAINER_INSTANCES).await?;
        self.call(api::EC2_DESCRIBE_INSTANCES).await?;
        Ok(self.hosts.get(arn).cloned())
    }

    async fn container_hosts(
        &self,
        _cluster: &str,
        arns: &[String],
    ) -> Result<Vec<(String, Host)>, ReadError> {
        // One call of each API for up to 100 container instances.
        self.call(api::ECS_DESCRIBE_CONTAINER_INSTANCES).await?;
        self.call(api::EC2_DESCRIBE_INSTANCES).await?;
        Ok(arns
            .iter()
            .filter_map(|arn| Some((arn.clone(), self.hosts.get(arn)?.clone())))
            .collect())
    }

    async fn cluster_container_instances(
        &self,
        _cluster: &str,
    ) -> Result<Option<Vec<String>>, ReadError> {
        self.call(api::ECS_LIST_CONTAINER_INSTANCES).await?;
        let mut arns: Vec<String> = self.hosts.keys().cloned().collect();
        arns.sort();
        Ok((arns.len() <= DESCRIBE_CONTAINER_INSTANCES_BATCH).then_some(arns))
    }

    async fn recent_stopped_tasks(
        &self,
        _cluster: &str,
        service: &str,
    ) -> Result<Vec<TaskDetail>, ReadError> {
        self.call(api::ECS_LIST_TASKS).await?;
        if self.stopped_tasks.is_empty() {
            return Ok(vec![]);
        }
        self.call(api::ECS_DESCRIBE_TASKS).await?;
        let group = format!("service:{service}");
        Ok(self
            .stopped_tasks
            .iter()
            .filter(|t| t.group.as_deref() == Some(group.as_str()))
            .cloned()
            .collect())
    }
}

impl Ec2Reader for FakeAws {
    async fn network_interface(&self, id: &str) -> ReadResult<NetworkInterface> {
        self.call(api::EC2_DESCRIBE_NETWORK_INTERFACES).await?;
        Ok(self.enis.iter().find(|e| e.id == id).cloned())
    }

    async fn network_interfaces(&self, ids: &[String]) -> Result<Vec<NetworkInterface>, ReadError> {
        self.call(api::EC2_DESCRIBE_NETWORK_INTERFACES).await?;
        Ok(by_ids(&self.enis, ids, |e| &e.id))
    }

    async fn route_tables(&self, vpc_id: &str) -> Result<Vec<RouteTable>, ReadError> {
        self.call(api::EC2_DESCRIBE_ROUTE_TABLES).await?;
        Ok(self.route_tables.get(vpc_id).cloned().unwrap_or_default())
    }

    async fn network_acls(&self, which: Selection<'_>) -> Result<Vec<NetworkAcl>, ReadError> {
        self.call(api::EC2_DESCRIBE_NETWORK_ACLS).await?;
        Ok(match which {
            Selection::Ids(subnets) => self
                .acls
                .iter()
                .filter(|a| a.subnet_ids.iter().any(|s| subnets.contains(s)))
                .cloned()
                .collect(),
            Selection::InVpc(vpc) => in_vpc(&self.acls, vpc, |a| &a.vpc_id),
        })
    }

    async fn nat_instance(&self, id: &str) -> ReadResult<NatInstance> {
        self.call(api::EC2_DESCRIBE_INSTANCES).await?;
        Ok(self.nat_instances.iter().find(|i| i.id == id).cloned())
    }

    async fn nat_gateways(&self, vpc_id: &str) -> Result<Vec<NatGateway>, ReadError> {
        self.call(api::EC2_DESCRIBE_NAT_GATEWAYS).await?;
        Ok(in_vpc(&self.nat_gateways, vpc_id, |g| &g.vpc_id))
    }

    async fn security_groups(&self, which: Selection<'_>) -> Result<Vec<SecurityGroup>, ReadError> {
        self.call(api::EC2_DESCRIBE_SECURITY_GROUPS).await?;
        Ok(match which {
            Selection::Ids(ids) => by_ids(&self.security_groups, ids, |g| &g.id),
            Selection::InVpc(vpc) => in_vpc(&self.security_groups, vpc, |g| &g.vpc_id),
        })
    }

    async fn prefix_list_cidrs(&self, id: &str) -> ReadResult<Vec<String>> {
        self.call(api::EC2_GET_MANAGED_PREFIX_LIST_ENTRIES).await?;
        Ok(self.prefix_lists.get(id).cloned())
    }

    async fn subnets(&self, which: Selection<'_>) -> Result<Vec<Subnet>, ReadError> {
        self.call(api::EC2_DESCRIBE_SUBNETS).await?;
        Ok(match which {
            Selection::Ids(ids) => by_ids(&self.subnets, ids, |s| &s.id),
            Selection::InVpc(vpc) => in_vpc(&self.subnets, vpc, |s| &s.vpc_id),
        })
    }

    async fn public_access_block(&self) -> Result<PublicAccessBlock, ReadError> {
        self.call(api::EC2_DESCRIBE_VPC_BPA_OPTIONS).await?;
        let block = &self.public_access;
        if block.mode != BlockMode::Off && block.exclusions_allowed {
            // After the options, as the adapter reads them: a second round trip.
            self.call(api::EC2_DESCRIBE_VPC_BPA_EXCLUSIONS).await?;
        }
        Ok(block.clone())
    }

    async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpoint>, ReadError> {
        self.call(api::EC2_DESCRIBE_VPC_ENDPOINTS).await?;
        Ok(self.endpoints.get(vpc_id).cloned().unwrap_or_default())
    }

    async fn vpc_dns(&self, vpc_id: &str) -> ReadResult<VpcDns> {
        // Two concurrent calls in AWS, one per attribute: two calls, one round trip.
        self.calls
            .lock()
            .unwrap()
            .push(api::EC2_DESCRIBE_VPC_ATTRIBUTE);
        self.call(api::EC2_DESCRIBE_VPC_ATTRIBUTE).await?;
        Ok(self.dns.get(vpc_id).copied())
    }
}

impl ElbReader for FakeAws {
    async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, ReadError> {
        self.call(api::ELB_DESCRIBE_TARGET_GROUPS).await?;
        Ok(by_ids(&self.target_groups, arns, |g| &g.arn))
    }

    async fn load_balancers(&self, arns: &[String]) -> Result<Vec<LoadBalancer>, ReadError> {
        self.call(api::ELB_DESCRIBE_LOAD_BALANCERS).await?;
        Ok(by_ids(&self.load_balancers, arns, |l| &l.arn))
    }

    async fn listeners(&self, lb: &str, _tgs: &[String]) -> Result<Vec<Listener>, ReadError> {
        self.call(api::ELB_DESCRIBE_LISTENERS).await?;
        Ok(self
            .listeners
            .iter()
            .filter(|l| l.load_balancer_arn == lb)
            .cloned()
            .collect())
    }

    async fn target_health(&self, tg: &str) -> Result<Vec<TargetHealth>, ReadError> {
        self.call(api::ELB_DESCRIBE_TARGET_HEALTH).await?;
        Ok(self.targets.get(tg).cloned().unwrap_or_default())
    }
}

impl TaskLister for FakeAws {
    async fn cluster_arns(&self) -> Result<Vec<String>, ReadError> {
        self.call(api::ECS_LIST_CLUSTERS).await?;
        let mut arns: Vec<String> = self
            .tasks
            .iter()
            .filter_map(|t| t.cluster_arn.clone())
            .collect();
        arns.dedup();
        Ok(arns)
    }

    async fn running_task_arns(&self, _cluster: &str) -> Result<Vec<String>, ReadError> {
        self.call(api::ECS_LIST_TASKS).await?;
        Ok(self.tasks.iter().map(|t| t.task_arn.clone()).collect())
    }

    async fn describe_tasks(
        &self,
        _cluster: &str,
        arns: &[String],
    ) -> Result<Vec<TaskDetail>, ReadError> {
        self.call(api::ECS_DESCRIBE_TASKS).await?;
        Ok(by_ids(&self.tasks, arns, |t| &t.task_arn))
    }

    async fn service_names(&self, _cluster: &str) -> Result<Vec<String>, ReadError> {
        self.call(api::ECS_LIST_SERVICES).await?;
        Ok(self.services.iter().map(|s| s.name.clone()).collect())
    }
}

/// A publisher that records alerts, or fails every publish.
#[derive(Debug, Default)]
pub struct FakePublisher {
    /// Fail every publish.
    pub fail: bool,
    /// What was published.
    pub published: Mutex<Vec<Alert>>,
}

impl AlertPublish for FakePublisher {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        if self.fail {
            return Err(PublishError("sns:Publish failed: InternalError".into()));
        }
        let mut published = self.published.lock().unwrap();
        published.push(alert.clone());
        Ok(format!("message-{}", published.len()))
    }
}

/// A dedup store in memory that records every operation.
#[derive(Debug, Default)]
pub struct FakeDedup {
    claimed: Mutex<HashMap<String, bool>>,
    /// `claim KEY`, `complete KEY`, `release KEY`, in order.
    pub log: Mutex<Vec<String>>,
}

impl AlertDedup for FakeDedup {
    async fn claim(&self, key: &str) -> Result<Claim, DedupError> {
        self.log.lock().unwrap().push(format!("claim {key}"));
        let mut claimed = self.claimed.lock().unwrap();
        if claimed.contains_key(key) {
            return Ok(Claim::Duplicate);
        }
        claimed.insert(key.to_string(), false);
        Ok(Claim::Acquired)
    }

    async fn complete(&self, key: &str) -> Result<(), DedupError> {
        self.log.lock().unwrap().push(format!("complete {key}"));
        self.claimed.lock().unwrap().insert(key.to_string(), true);
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), DedupError> {
        self.log.lock().unwrap().push(format!("release {key}"));
        self.claimed.lock().unwrap().remove(key);
        Ok(())
    }
}

/// Security Hub in memory: the imported batches; `refuse` refuses every finding.
#[derive(Debug, Default)]
pub struct FakeHub {
    /// Each imported batch.
    pub batches: Mutex<Vec<Vec<ExportedFinding>>>,
    /// Refuse every finding (Security Hub not enabled).
    pub refuse: bool,
}

impl FindingsImport for FakeHub {
    async fn import(
        &self,
        _account: &str,
        _region: &str,
        batch: &[ExportedFinding],
    ) -> Result<Vec<ImportFailure>, ReadError> {
        self.batches.lock().unwrap().push(batch.to_vec());
        Ok(if self.refuse {
            batch
                .iter()
                .map(|f| ImportFailure {
                    id: f.id.clone(),
                    code: "InvalidAccess".into(),
                    message: "Security Hub is not enabled".into(),
                })
                .collect()
        } else {
            vec![]
        })
    }
}

/// The open findings' store in memory.
#[derive(Debug, Default)]
pub struct FakeOpenFindings(pub Mutex<HashMap<String, OpenRules>>);

impl OpenFindings for FakeOpenFindings {
    async fn open_rules(&self, resource: &str) -> Result<OpenRules, DedupError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(resource)
            .cloned()
            .unwrap_or_default())
    }
    async fn save_open_rules(&self, resource: &str, open: &OpenRules) -> Result<(), DedupError> {
        self.0.lock().unwrap().insert(resource.into(), open.clone());
        Ok(())
    }
}

/// AWS Config in memory: every evaluation reported.
#[derive(Debug, Default)]
pub struct FakeEvaluations(pub Mutex<Vec<ConfigEvaluation>>);

impl EvaluationsPut for FakeEvaluations {
    async fn put_evaluations(
        &self,
        _result_token: &str,
        batch: &[ConfigEvaluation],
    ) -> Result<usize, ReadError> {
        self.0.lock().unwrap().extend_from_slice(batch);
        Ok(0)
    }
}

/// The scheduled scan's fan-out in memory: every work item dispatched.
#[derive(Debug, Default)]
pub struct FakeDispatch(pub Mutex<Vec<WorkItem>>);

impl WorkDispatch for FakeDispatch {
    async fn dispatch(&self, item: &WorkItem) -> Result<(), ReadError> {
        self.0.lock().unwrap().push(item.clone());
        Ok(())
    }
}

/// Readers from one fake account for every scope, behind the cache as the Lambda's are.
#[derive(Debug)]
pub struct FakeSource {
    /// The one reader.
    pub reader: std::sync::Arc<crate::facts::cache::CachingReader<FakeAws>>,
}

impl FakeSource {
    /// Every scope reads `aws`.
    pub fn new(aws: FakeAws) -> Self {
        FakeSource {
            reader: std::sync::Arc::new(crate::facts::cache::CachingReader::new(
                aws,
                crate::facts::cache::DEFAULT_TTL,
            )),
        }
    }
}

impl crate::ports::ReaderSource for FakeSource {
    type Reader = crate::facts::cache::CachingReader<FakeAws>;

    async fn reader_for(
        &self,
        _scope: &crate::domain::org::ResourceScope,
    ) -> Result<std::sync::Arc<Self::Reader>, crate::ports::Refused> {
        Ok(self.reader.clone())
    }

    async fn own_reader(&self) -> std::sync::Arc<Self::Reader> {
        self.reader.clone()
    }
}
