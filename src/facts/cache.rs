//! A caching decorator over the readers, kept across Lambda invocations: task definitions
//! are immutable per ARN (cached for the life of the process), everything else for a short TTL
//! (services, route tables, ACLs, security groups, subnets, load-balancer config, a container
//! instance's host, a target group's registered targets). ENIs are per task and never cached.
//! Only successful reads are cached; errors are always retried on the next check.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::facts::{
    Host, Listener, LoadBalancer, NatGateway, NatInstance, NetworkInterface, RouteTable, Service,
    Subnet, TargetGroup, TargetHealth, TaskDefinition, VpcDns, VpcEndpoint,
};
use crate::domain::net::{NetworkAcl, SecurityGroup};
use crate::domain::public_access::PublicAccessBlock;
use crate::domain::task::TaskDetail;
use crate::ports::{Ec2Reader, EcsReader, ElbReader, ReadError, ReadResult, Selection, TaskLister};

/// Default TTL for mutable facts.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Entries kept per map before expired ones are swept.
const SWEEP_AT: usize = 4096;

/// A small TTL map; `ttl = None` keeps entries forever.
#[derive(Debug)]
struct TtlMap<V> {
    ttl: Option<Duration>,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlMap<V> {
    fn new(ttl: Option<Duration>) -> Self {
        TtlMap {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (at, value) = entries.get(key)?;
        match self.ttl {
            Some(ttl) if at.elapsed() > ttl => None,
            _ => Some(value.clone()),
        }
    }

    fn put(&self, key: String, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= SWEEP_AT {
            match self.ttl {
                Some(ttl) => entries.retain(|_, (at, _)| at.elapsed() <= ttl),
                None => entries.clear(),
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    async fn get_or_load<F>(&self, key: String, load: F) -> Result<V, ReadError>
    where
        F: Future<Output = Result<V, ReadError>>,
    {
        if let Some(v) = self.get(&key) {
            return Ok(v);
        }
        let value = load.await?;
        self.put(key, value.clone());
        Ok(value)
    }
}

fn key(parts: &[String]) -> String {
    Selection::Ids(parts).key()
}

/// The read ports with a cache in front.
#[derive(Debug)]
pub struct CachingReader<R> {
    inner: R,
    task_definitions: TtlMap<TaskDefinition>,
    services: TtlMap<Option<Service>>,
    route_tables: TtlMap<Vec<RouteTable>>,
    nat_gateways: TtlMap<Vec<NatGateway>>,
    hosts: TtlMap<Option<Host>>,
    /// Clusters whose container instances were listed: their hosts are all cached.
    listed_clusters: TtlMap<()>,
    /// Held while hosts are read after a miss.
    host_misses: tokio::sync::Mutex<()>,
    acls: TtlMap<Vec<NetworkAcl>>,
    groups: TtlMap<Vec<SecurityGroup>>,
    subnets: TtlMap<Vec<Subnet>>,
    public_access: TtlMap<PublicAccessBlock>,
    prefix_lists: TtlMap<Option<Vec<String>>>,
    target_groups: TtlMap<Vec<TargetGroup>>,
    load_balancers: TtlMap<Vec<LoadBalancer>>,
    listeners: TtlMap<Vec<Listener>>,
    targets: TtlMap<Vec<TargetHealth>>,
    /// ENIs read in bulk ahead of the checks (audit); each is used once.
    primed_enis: Mutex<HashMap<String, NetworkInterface>>,
}

impl<R> CachingReader<R> {
    /// Wraps `inner`; mutable facts live for `ttl`.
    pub fn new(inner: R, ttl: Duration) -> Self {
        let t = Some(ttl);
        CachingReader {
            inner,
            task_definitions: TtlMap::new(None),
            services: TtlMap::new(t),
            route_tables: TtlMap::new(t),
            nat_gateways: TtlMap::new(t),
            hosts: TtlMap::new(t),
            listed_clusters: TtlMap::new(t),
            host_misses: tokio::sync::Mutex::new(()),
            acls: TtlMap::new(t),
            groups: TtlMap::new(t),
            subnets: TtlMap::new(t),
            public_access: TtlMap::new(t),
            prefix_lists: TtlMap::new(t),
            target_groups: TtlMap::new(t),
            load_balancers: TtlMap::new(t),
            listeners: TtlMap::new(t),
            targets: TtlMap::new(t),
            primed_enis: Mutex::new(HashMap::new()),
        }
    }

    /// The wrapped reader (tests count the fake's calls through it).
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: EcsReader> CachingReader<R> {
    /// On a cluster's first miss, the container instances of a small cluster (one page) that
    /// are not cached and not asked yet: a deploy's events name the hosts a few at a time over
    /// many batches, and one read of them all (three calls) replaces two calls per batch.
    /// Best effort: a listing that fails or a large cluster leaves only the asked ones.
    async fn rest_of_small_cluster(&self, cluster: &str, asked: &[String]) -> Vec<String> {
        if self.listed_clusters.get(cluster).is_some() {
            return Vec::new();
        }
        match self.inner.cluster_container_instances(cluster).await {
            Ok(Some(arns)) => {
                self.listed_clusters.put(cluster.to_string(), ());
                arns.into_iter()
                    .filter(|arn| !asked.contains(arn) && self.hosts.get(arn).is_none())
                    .collect()
            }
            Ok(None) => {
                self.listed_clusters.put(cluster.to_string(), ());
                Vec::new()
            }
            Err(e) => {
                tracing::debug!(cluster, error = %e, "cluster listing failed: reading the asked hosts only");
                Vec::new()
            }
        }
    }
}

/// The ECS reads whose caching is more than a key and a TTL.
impl<R: EcsReader> CachingReader<R> {
    /// Task definitions are immutable per ARN: kept for the life of the process (a missing one
    /// is asked again).
    async fn cached_task_definition(&self, arn: &str) -> ReadResult<TaskDefinition> {
        if let Some(td) = self.task_definitions.get(arn) {
            return Ok(Some(td));
        }
        let td = self.inner.task_definition(arn).await?;
        if let Some(td) = &td {
            self.task_definitions.put(arn.to_string(), td.clone());
        }
        Ok(td)
    }

    /// Reads the hosts not cached yet in bulk and caches each.
    async fn cached_container_hosts(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<(String, Host)>, ReadError> {
        // One miss at a time: the checks of a batch that miss together find the hosts the
        // first one read (a cluster's listing is not repeated).
        let _one_at_a_time = self.host_misses.lock().await;
        let mut hosts = Vec::new();
        let mut missing = Vec::new();
        for arn in arns {
            match self.hosts.get(arn) {
                Some(Some(host)) => hosts.push((arn.clone(), host)),
                Some(None) => {}
                None => missing.push(arn.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(hosts);
        }
        let wanted = missing.len();
        missing.extend(self.rest_of_small_cluster(cluster, &missing).await);
        let mut loaded = self.inner.container_hosts(cluster, &missing).await?;
        for (arn, host) in &loaded {
            self.hosts.put(arn.clone(), Some(host.clone()));
        }
        // Only the asked ones are answered; the rest of the cluster waits in the cache.
        let asked = &missing[..wanted];
        loaded.retain(|(arn, _)| asked.contains(arn));
        hosts.extend(loaded);
        Ok(hosts)
    }
}

/// The ENIs: read in bulk ahead of the checks, each used once.
impl<R: Ec2Reader> CachingReader<R> {
    /// An ENI read in bulk ahead of its check is used once; any other is read.
    async fn primed_network_interface(&self, id: &str) -> ReadResult<NetworkInterface> {
        let primed = self
            .primed_enis
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        match primed {
            Some(eni) => Ok(Some(eni)),
            None => self.inner.network_interface(id).await,
        }
    }

    /// Reads the ENIs in bulk and keeps each for the next `network_interface` of its id.
    async fn prime_network_interfaces(
        &self,
        ids: &[String],
    ) -> Result<Vec<NetworkInterface>, ReadError> {
        let enis = self.inner.network_interfaces(ids).await?;
        let mut primed = self.primed_enis.lock().unwrap_or_else(|e| e.into_inner());
        for eni in &enis {
            primed.insert(eni.id.clone(), eni.clone());
        }
        Ok(enis)
    }
}

/// Implements every reader port for the cache from the reads' declaration
/// (`crate::ports::with_reads!`): each read passes through, is kept under its key, or goes
/// to its custom method above.
macro_rules! cached_reads {
    ([]
     $(
        $(#[$port_doc:meta])*
        $port:ident ($kind:ident) {
            $(
                $(#[$doc:meta])*
                fn $method:ident ($($arg:ident : $ty:ty),*) -> $ret:ty
                    [$api:ident $(, $more:ident)*] cache $policy:tt;
            )*
        }
     )*
    ) => {
        $(
            impl<R: $port> $port for CachingReader<R> {
                $(
                    async fn $method(&self, $($arg: $ty),*) -> $ret {
                        cached_read!(self, $policy, $method($($arg),*))
                    }
                )*
            }
        )*
    };
}

/// One read through the cache, by its declared policy.
macro_rules! cached_read {
    ($this:ident, pass, $method:ident($($arg:ident),*)) => {
        $this.inner.$method($($arg),*).await
    };
    ($this:ident, (ttl $field:ident, $key:expr), $method:ident($($arg:ident),*)) => {
        $this.$field.get_or_load($key, $this.inner.$method($($arg),*)).await
    };
    ($this:ident, (custom $own:ident), $method:ident($($arg:ident),*)) => {
        $this.$own($($arg),*).await
    };
}

crate::ports::with_reads!(cached_reads);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ttl_map_caches_successes_only_and_expires() {
        let map: TtlMap<u32> = TtlMap::new(Some(Duration::from_millis(50)));
        let fail = async {
            Err(ReadError::Failed {
                api: "x",
                message: "boom".into(),
            })
        };
        assert!(map.get_or_load("k".into(), fail).await.is_err());
        assert_eq!(map.get("k"), None, "errors are not cached");
        assert_eq!(
            map.get_or_load("k".into(), async { Ok(1) }).await.unwrap(),
            1
        );
        assert_eq!(
            map.get_or_load("k".into(), async { Ok(2) }).await.unwrap(),
            1,
            "cached"
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(
            map.get_or_load("k".into(), async { Ok(3) }).await.unwrap(),
            3,
            "expired"
        );
        let forever: TtlMap<u32> = TtlMap::new(None);
        forever.put("a".into(), 7);
        assert_eq!(forever.get("a"), Some(7));
    }

    fn cluster_of(hosts: usize) -> crate::facts::fake::FakeAws {
        (0..hosts).fold(crate::facts::fake::FakeAws::default(), |aws, i| {
            aws.with_host(
                &format!("ci/{i}"),
                Host {
                    instance_id: format!("i-{i}"),
                    public_ip: None,
                    subnet_id: Some("subnet-1".into()),
                    vpc_id: Some("vpc-1".into()),
                    security_group_ids: vec![],
                },
            )
        })
    }

    fn arns(ids: &[usize]) -> Vec<String> {
        ids.iter().map(|i| format!("ci/{i}")).collect()
    }

    fn answered(hosts: Vec<(String, Host)>) -> Vec<String> {
        let mut arns: Vec<String> = hosts.into_iter().map(|(arn, _)| arn).collect();
        arns.sort();
        arns
    }

    #[tokio::test]
    async fn a_small_clusters_hosts_are_read_at_once_on_its_first_miss() {
        let reader = CachingReader::new(cluster_of(25), DEFAULT_TTL);
        let first = reader.container_hosts("c", &arns(&[3])).await.unwrap();
        assert_eq!(
            answered(first),
            arns(&[3]),
            "only the asked host is answered"
        );
        let later = reader.container_hosts("c", &arns(&[7, 24])).await.unwrap();
        assert_eq!(answered(later), arns(&[24, 7]));
        assert!(reader.container_host("c", "ci/11").await.unwrap().is_some());
        assert_eq!(
            reader.inner().calls(),
            [
                crate::domain::api::ECS_LIST_CONTAINER_INSTANCES,
                crate::domain::api::ECS_DESCRIBE_CONTAINER_INSTANCES,
                crate::domain::api::EC2_DESCRIBE_INSTANCES
            ],
            "three calls for the cluster's 25 hosts, then none"
        );
    }

    #[tokio::test]
    async fn a_large_cluster_or_a_refused_listing_reads_the_asked_hosts_only() {
        let large = CachingReader::new(cluster_of(101), DEFAULT_TTL);
        large.container_hosts("c", &arns(&[1])).await.unwrap();
        large.container_hosts("c", &arns(&[2])).await.unwrap();
        let calls = large.inner().calls();
        assert_eq!(
            calls
                .iter()
                .filter(|c| **c == crate::domain::api::ECS_LIST_CONTAINER_INSTANCES)
                .count(),
            1,
            "a large cluster is listed once per TTL, not on every miss"
        );
        assert_eq!(calls.len(), 5);

        let refused = CachingReader::new(
            cluster_of(3).failing(
                crate::domain::api::ECS_LIST_CONTAINER_INSTANCES,
                ReadError::Unreadable(crate::domain::facts::Unreadable {
                    api: crate::domain::api::ECS_LIST_CONTAINER_INSTANCES,
                    reason: "AccessDenied".into(),
                }),
            ),
            DEFAULT_TTL,
        );
        let hosts = refused.container_hosts("c", &arns(&[0, 2])).await.unwrap();
        assert_eq!(
            answered(hosts),
            arns(&[0, 2]),
            "an older role still reads its hosts"
        );
    }

    #[test]
    fn keys_ignore_order() {
        assert_eq!(
            key(&["b".into(), "a".into()]),
            key(&["a".into(), "b".into()])
        );
    }
}
