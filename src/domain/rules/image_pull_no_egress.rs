//! IMAGE_PULL_NO_EGRESS: an image pull (and secret, log setup) needs a way out of the pulling
//! network: a NAT gateway, an internet gateway with a public IP on the pulling ENI, or VPC
//! endpoints for every service the start needs (ECR API, ECR Docker, the S3 gateway on the
//! subnet's route table, and Logs / Secrets Manager / SSM when the task definition uses them),
//! with the security groups and network ACL letting 443 through. The pulling network is the
//! task ENI's on Fargate and the container instance's on EC2 and Managed Instances.

use super::acl_hop::{return_ports, service_port, Peer as AclPeer};
use super::stop_view::{needed_endpoints, Egress, StopView};
use crate::domain::facts::{RouteTable, TaskDefinition, Unreadable, VpcEndpoint};
use crate::domain::hop::Hop;
use crate::domain::net::{
    admits_public_source, rules_admit, Cidr, NetworkAcl, Peer, SecurityGroup, SgRule,
};
use crate::domain::stop::{is_private_ecr_image, FailureClass, PullPath, Puller, StopCause};
use crate::domain::text::list;
use crate::domain::verdict::{Cause, Finding, Outcome, Rule, RuleResult, Severity};

/// Rule metadata.
pub const RULE: Rule = Rule {
    id: "IMAGE_PULL_NO_EGRESS",
    severity: Severity::High,
    hop: Hop::WayOut,
    cause: Cause::Missing,
    title: "The pulling network has no way to the registry",
    remediation: "Give the pulling subnet a way out: a 0.0.0.0/0 route to a NAT gateway, or (in \
                  a public subnet) a public IP on the pulling ENI (Fargate: assignPublicIp \
                  ENABLED), or VPC endpoints for ecr.api, ecr.dkr (interface, private DNS on, \
                  443 admitted from the task), an S3 gateway endpoint on the subnet's route \
                  table, and logs / secretsmanager / ssm when the task uses them. Images outside \
                  Amazon ECR need NAT or a public IP.",
};

/// A public address block the registries sit in, for the ACL's outbound check.
const INTERNET: &str = "0.0.0.0/0";

/// What the pull's checks share: the pulling network and its filters.
struct Pull<'a> {
    view: &'a StopView<'a>,
    path: &'a PullPath,
    table: &'a RouteTable,
    /// The puller's groups, unknown when they read back empty: needed only on the paths that
    /// go through them.
    groups: Result<Vec<&'a SecurityGroup>, Unreadable>,
    acl: &'a NetworkAcl,
    /// "task ENI eni-…" or "instance i-…", as the findings name it.
    who: String,
}

impl<'a> Pull<'a> {
    fn egress_rules(&self) -> Result<impl Iterator<Item = &'a SgRule> + Clone + '_, Unreadable> {
        let groups = self.groups.as_ref().map_err(Clone::clone)?;
        Ok(groups.iter().flat_map(|g| &g.egress))
    }

    /// Whether the ACL denies 443 out to, or the replies back from, any of `peers` outright
    /// (a return range open for part of the ephemeral ports still carries a pull's replies).
    fn acl_blocks(&self, peers: &[AclPeer]) -> bool {
        peers.iter().any(|&peer| {
            let out = service_port(self.acl, false, 443, peer);
            let back = return_ports(self.acl, true, peer);
            out.into_iter()
                .chain(back)
                .any(|b| b.severity == Severity::High)
        })
    }
}

/// Evaluates the rule.
pub fn check(view: &StopView<'_>) -> RuleResult {
    let Some((p, FailureClass::Network)) = view.pull() else {
        return Ok(Outcome::NotApplicable);
    };
    let (path, td, table) = (
        view.pull_path(p)?,
        view.task_definition()?,
        view.pull_route_table(p)?,
    );
    let pull = Pull {
        view,
        path,
        table,
        groups: view.pull_groups(p),
        acl: view.network_acl()?,
        who: path.describe(),
    };
    let egress = view.egress(p)?;
    match &egress {
        Egress::Nat(target) | Egress::PublicIp(target) => return through_internet(&pull, target),
        Egress::Beyond(what) => {
            // Never a guessed pass: say where the visible path ends.
            return Ok(Outcome::Fail(RULE.finding_with(
                Severity::Info,
                format!(
                    "The pull from {}: {what}. Whether that leads to the registry is not visible here: check the network beyond it (an egress VPC's NAT gateway, the firewall's rules), or add the VPC endpoints the start needs.",
                    pull.who
                ),
            )));
        }
        Egress::GatewayWithoutPublicIp(_)
        | Egress::GatewayBlocked { .. }
        | Egress::Blackhole(_)
        | Egress::NatNowhere(_)
        | Egress::None => {}
    }
    // No internet: every service the start needs must have a usable endpoint.
    let named = match &view.stop.cause {
        StopCause::StartFailure { services, .. } => services.as_slice(),
        StopCause::HealthCheck { .. } => &[],
    };
    let endpoints = view.endpoints(p)?;
    let subnet_cidrs = view.pull_subnet_cidrs(p)?;
    let (mut missing, fixes) = endpoint_gaps(&pull, td, named, endpoints, &subnet_cidrs);
    if missing.is_empty() {
        match reach_to_endpoints(&pull, endpoints, &subnet_cidrs)? {
            Some(gap) => missing.push(gap),
            None => {
                return Ok(Outcome::Pass(format!(
                    "{} reaches the registry through VPC endpoints",
                    pull.who
                )))
            }
        }
    }
    Ok(Outcome::Fail(no_way_out(&pull, &egress, &missing, &fixes)))
}

/// A NAT gateway or a public IP: the groups and the ACL must let 443 out (and the replies in).
fn through_internet(pull: &Pull<'_>, target: &str) -> RuleResult {
    let path = pull.path;
    let mut hops = Vec::new();
    if !admits_public_source(pull.egress_rules()?, "tcp", (443, 443)) {
        hops.push(format!(
            "its security groups {} allow no outbound 443/tcp to the internet",
            list(&path.security_group_ids)
        ));
    }
    let internet: Vec<AclPeer> = Cidr::parse(INTERNET)
        .map(AclPeer::Internet)
        .into_iter()
        .collect();
    if pull.acl_blocks(&internet) {
        hops.push(format!(
            "network ACL {} denies outbound 443/tcp or the replies (1024-65535) from the internet",
            pull.acl.id
        ));
    }
    if hops.is_empty() {
        return Ok(Outcome::Pass(format!(
            "{} reaches the internet through {target}",
            pull.who
        )));
    }
    Ok(Outcome::Fail(RULE.finding(format!(
        "The pull from {} goes out through {target}, but {}. Fix: aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port 443 --cidr 0.0.0.0/0 (and allow 443 out, 1024-65535 in on the network ACL)",
        pull.who,
        hops.join("; "),
        path.security_group_ids.first().map_or("<sg>", String::as_str)
    ))))
}

/// The endpoints the start needs that are missing or closed to the puller, with their fixes.
fn endpoint_gaps(
    pull: &Pull<'_>,
    td: &TaskDefinition,
    named: &[&'static str],
    endpoints: &[VpcEndpoint],
    subnet_cidrs: &[Cidr],
) -> (Vec<String>, Vec<String>) {
    let (path, table) = (pull.path, pull.table);
    let mut missing = Vec::new();
    let mut fixes = Vec::new();
    let vpc = &path.vpc_id;
    if let Some(image) = td
        .start_needs
        .images
        .iter()
        .find(|i| !is_private_ecr_image(i))
    {
        missing.push(format!(
            "image {image} is not in Amazon ECR, so no VPC endpoint can serve it"
        ));
    }
    for (service, why) in needed_endpoints(td, named) {
        let usable: Vec<&VpcEndpoint> = endpoints
            .iter()
            .filter(|e| e.short_service() == service && e.is_available())
            .collect();
        let serves = |e: &&VpcEndpoint| {
            (e.kind.eq_ignore_ascii_case("Interface") && e.private_dns)
                || (service == "s3"
                    && e.kind.eq_ignore_ascii_case("Gateway")
                    && e.route_table_ids.contains(&table.id))
        };
        if !usable.iter().any(serves) {
            if service == "s3" {
                missing.push(format!(
                    "an S3 gateway endpoint on route table {} (for {why})",
                    table.id
                ));
                fixes.push(format!(
                    "aws ec2 create-vpc-endpoint --vpc-id {vpc} --vpc-endpoint-type Gateway --service-name com.amazonaws.<region>.s3 --route-table-ids {}",
                    table.id
                ));
            } else {
                missing.push(format!(
                    "a {service} interface endpoint with private DNS (for {why})"
                ));
                fixes.push(format!(
                    "aws ec2 create-vpc-endpoint --vpc-id {vpc} --vpc-endpoint-type Interface --service-name com.amazonaws.<region>.{service} --subnet-ids {} --security-group-ids <sg admitting 443 from the task> --private-dns-enabled",
                    path.subnet_id
                ));
            }
            continue;
        }
        if service == "s3" {
            continue; // a gateway endpoint has no security group
        }
        if let Some((gap, fix)) = closed_endpoint(pull, service, &usable, subnet_cidrs) {
            missing.push(gap);
            fixes.push(fix);
        }
    }
    (missing, fixes)
}

/// An interface endpoint whose security groups admit no 443/tcp from the puller: the gap and
/// its fix.
fn closed_endpoint(
    pull: &Pull<'_>,
    service: &str,
    usable: &[&VpcEndpoint],
    subnet_cidrs: &[Cidr],
) -> Option<(String, String)> {
    let from_puller = Peer {
        group_ids: pull.path.security_group_ids.clone(),
        cidrs: subnet_cidrs.to_vec(),
    };
    let admitted = usable.iter().any(|e| {
        pull.view
            .groups(&e.security_group_ids)
            .is_ok_and(|g| rules_admit(g.iter().flat_map(|g| &g.ingress), "tcp", 443, &from_puller))
    });
    if admitted {
        return None;
    }
    let sgs: Vec<&String> = usable.iter().flat_map(|e| &e.security_group_ids).collect();
    Some((
        format!(
            "the {service} endpoint's security groups {} admit no 443/tcp from {}",
            list(&sgs),
            pull.who
        ),
        format!(
            "aws ec2 authorize-security-group-ingress --group-id {} --protocol tcp --port 443 --source-group {}",
            sgs.first().map_or("<endpoint-sg>", |s| s.as_str()),
            pull.path.security_group_ids.first().map_or("<task-sg>", String::as_str)
        ),
    ))
}

/// Endpoints in place: the puller's own groups and its ACL must let 443 out to them. `None`
/// when they do, else the gap.
fn reach_to_endpoints(
    pull: &Pull<'_>,
    endpoints: &[VpcEndpoint],
    subnet_cidrs: &[Cidr],
) -> Result<Option<String>, Unreadable> {
    let to_endpoints = Peer {
        group_ids: endpoints
            .iter()
            .flat_map(|e| e.security_group_ids.iter().cloned())
            .collect(),
        cidrs: subnet_cidrs.to_vec(),
    };
    if !rules_admit(pull.egress_rules()?, "tcp", 443, &to_endpoints)
        && !admits_public_source(pull.egress_rules()?, "tcp", (443, 443))
    {
        return Ok(Some(format!(
            "the security groups {} of {} allow no outbound 443/tcp to the endpoints",
            list(&pull.path.security_group_ids),
            pull.who
        )));
    }
    let endpoint_subnets: Vec<AclPeer> = subnet_cidrs.iter().copied().map(AclPeer::Block).collect();
    Ok(pull.acl_blocks(&endpoint_subnets).then(|| {
        format!(
            "network ACL {} denies 443/tcp to the endpoints or the replies",
            pull.acl.id
        )
    }))
}

/// The finding: no route out, and the endpoints do not cover the start.
fn no_way_out(pull: &Pull<'_>, egress: &Egress, missing: &[String], fixes: &[String]) -> Finding {
    let (path, table, who) = (pull.path, pull.table, &pull.who);
    let route = match egress {
        Egress::GatewayWithoutPublicIp(igw) => format!(
            "subnet {} routes 0.0.0.0/0 to {igw}, but {who} has no public IP",
            path.subnet_id
        ),
        Egress::Blackhole(target) => format!(
            "subnet {}'s 0.0.0.0/0 route (route table {}) is a blackhole: its target {target} was deleted",
            path.subnet_id, table.id
        ),
        Egress::NatNowhere(why) => format!(
            "subnet {} routes 0.0.0.0/0 (route table {}) to a NAT that leads nowhere: {why}",
            path.subnet_id, table.id
        ),
        Egress::GatewayBlocked { way, why, .. } => format!(
            "its way out ({way}) is open by its routes, but {why}"
        ),
        _ => format!(
            "subnet {} has no 0.0.0.0/0 route (route table {})",
            path.subnet_id, table.id
        ),
    };
    let way_out = match (egress, &path.via) {
        (Egress::GatewayBlocked { subnet, .. }, _) => format!(
            "aws ec2 create-vpc-block-public-access-exclusion --subnet-id {subnet} --internet-gateway-exclusion-mode allow-egress (block-bidirectional; under block-ingress only a NAT gateway or allow-bidirectional lets traffic out), if your organisation allows exclusions"
        ),
        (Egress::GatewayWithoutPublicIp(_), Puller::TaskEni) => {
            "set assignPublicIp ENABLED in the service's awsvpcConfiguration, or run the tasks in a private subnet with a NAT gateway".to_string()
        }
        (Egress::GatewayWithoutPublicIp(_), Puller::Instance(id)) => format!(
            "give instance {id} a public IP (launch template: AssociatePublicIpAddress), or move it to a private subnet with a NAT gateway"
        ),
        _ => format!(
            "aws ec2 create-route --route-table-id {} --destination-cidr-block 0.0.0.0/0 --nat-gateway-id <nat-in-a-public-subnet>",
            table.id
        ),
    };
    RULE.finding(format!(
        "The task could not reach the registry from {who}: {route}, and the VPC endpoints do not cover the start: missing {}. Fix: {way_out}; or {}",
        list(missing),
        if fixes.is_empty() { "open the endpoints".to_string() } else { fixes.join("; ") }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::{Fact, NatGatewayState, NatInstance, RouteTable};
    use crate::domain::public_access::{BlockMode, PublicAccessBlock};
    use crate::domain::rules::fixture::tcp;
    use crate::domain::rules::stop_fixture::*;

    #[test]
    fn table() {
        let mut no_s3 = image_pull_private_with_endpoints();
        endpoints(&mut no_s3).retain(|e| e.short_service() != "s3");
        let mut s3_elsewhere = image_pull_private_with_endpoints();
        for e in endpoints(&mut s3_elsewhere) {
            if e.short_service() == "s3" {
                e.route_table_ids = vec!["rtb-other".into()];
            }
        }
        let mut endpoint_sg_closed = image_pull_private_with_endpoints();
        group(&mut endpoint_sg_closed, "sg-endpoints").ingress =
            vec![tcp(443, &["192.168.0.0/16"], &[])];
        let mut docker_hub = image_pull_private_with_endpoints();
        images(&mut docker_hub, "nginx:latest");
        let mut nat_sg_closed = image_pull_nat();
        group(&mut nat_sg_closed, "sg-task").egress = vec![tcp(5432, &["10.0.0.0/16"], &[])];
        // The instance's groups read back empty: unknown, not "egress blocked".
        let mut no_groups = image_pull_nat();
        crate::domain::rules::fixture::known(&mut no_groups.facts.pull.as_mut().unwrap().path)
            .security_group_ids
            .clear();
        // The NAT gateway was deleted: its route is a blackhole.
        let mut nat_deleted = image_pull_nat();
        for route in &mut pull_route_table(&mut nat_deleted).routes {
            route.blackhole = route.destination_cidr.as_deref() == Some("0.0.0.0/0");
        }
        let acl_entry = crate::domain::rules::fixture::acl_entry;
        let mut blocklist = image_pull_nat();
        acl(&mut blocklist).entries = vec![
            acl_entry(10, false, true, "198.51.100.0/24", None),
            acl_entry(100, true, true, "0.0.0.0/0", None),
            acl_entry(100, true, false, "0.0.0.0/0", None),
        ];
        let mut vpc_only = image_pull_nat();
        acl(&mut vpc_only).entries = vec![
            acl_entry(100, true, true, "10.0.0.0/16", None),
            acl_entry(100, true, false, "0.0.0.0/0", None),
        ];
        let mut linux_replies = image_pull_nat();
        acl(&mut linux_replies).entries = vec![
            acl_entry(100, true, true, "0.0.0.0/0", Some((443, 443))),
            acl_entry(100, true, false, "0.0.0.0/0", Some((32768, 60999))),
        ];
        let mut nat_failed = image_pull_nat();
        nat_gateway(&mut nat_failed).state = NatGatewayState::Failed;
        let mut nat_private = image_pull_nat();
        nat_gateway(&mut nat_private).public = false;
        let mut nat_subnet_private = image_pull_nat();
        nat_route_table(&mut nat_subnet_private)
            .routes
            .retain(|r| r.destination_cidr.as_deref() != Some("0.0.0.0/0"));
        let to_transit = |case: &mut StopCase, table: fn(&mut StopCase) -> &mut RouteTable| {
            for route in &mut table(case).routes {
                if route.destination_cidr.as_deref() == Some("0.0.0.0/0") {
                    route.target = Some("tgw-1".into());
                }
            }
        };
        let mut nat_to_transit = image_pull_nat();
        to_transit(&mut nat_to_transit, nat_route_table);
        let mut transit = image_pull_nat();
        to_transit(&mut transit, pull_route_table);
        let nat_instance_case = |change: fn(&mut NatInstance)| {
            let mut case = image_pull_nat_instance();
            change(nat_instance(&mut case));
            case
        };
        let mut nat_instance_closed = image_pull_nat_instance();
        group(&mut nat_instance_closed, "sg-nat").ingress = vec![tcp(22, &["10.0.0.0/16"], &[])];
        let mut nat_instance_gone = image_pull_nat_instance();
        nat_instance_gone.facts.pull.as_mut().unwrap().nat_instance =
            Some(Fact::Unknown(Unreadable {
                api: crate::domain::api::EC2_DESCRIBE_INSTANCES,
                reason: "NAT instance i-nat of the pull's route no longer exists".into(),
            }));
        let mut private_nat_to_transit = image_pull_nat();
        nat_gateway(&mut private_nat_to_transit).public = false;
        to_transit(&mut private_nat_to_transit, nat_route_table);
        let mut nat_unlisted = image_pull_nat();
        nat_gateway(&mut nat_unlisted).id = "nat-other".into();
        let bpa = |mut case: StopCase, mode: BlockMode| {
            case.facts.pull.as_mut().unwrap().public_access = Fact::Known(PublicAccessBlock {
                mode,
                ..PublicAccessBlock::off()
            });
            case
        };
        let mut public_ip = fargate_public_without_ip();
        crate::domain::rules::fixture::known(&mut public_ip.facts.pull.as_mut().unwrap().path)
            .public_ip = true;
        let cases = [
            ("a public IP, BPA off", public_ip.clone(), None),
            (
                "a public IP, BPA block-ingress",
                bpa(public_ip, BlockMode::Ingress),
                Some((Severity::High, "its way out (its public IP through igw-1) is open by its routes, but VPC Block Public Access is block-ingress")),
            ),
            (
                "a NAT gateway, BPA block-bidirectional",
                bpa(image_pull_nat(), BlockMode::Bidirectional),
                Some((Severity::High, "create-vpc-block-public-access-exclusion --subnet-id subnet-nat")),
            ),
            ("a NAT gateway, BPA block-ingress", bpa(image_pull_nat(), BlockMode::Ingress), None),
            (
                "a NAT instance, BPA block-ingress",
                bpa(image_pull_nat_instance(), BlockMode::Ingress),
                Some((Severity::High, "NAT instance i-nat -> igw")),
            ),
            (
                "NAT gateway failed",
                nat_failed,
                Some((Severity::High, "to a NAT that leads nowhere: NAT gateway nat-1 is failed")),
            ),
            (
                "private NAT gateway",
                nat_private,
                Some((Severity::High, "nat-1 is private (ConnectivityType private): igw-1 drops its traffic")),
            ),
            (
                "NAT gateway in a subnet without a way out",
                nat_subnet_private,
                Some((Severity::High, "NAT gateway nat-1 sits in subnet subnet-nat, whose route table rtb-nat has no 0.0.0.0/0 route")),
            ),
            (
                "NAT gateway routing to a transit gateway",
                nat_to_transit,
                Some((Severity::Info, "sends 0.0.0.0/0 to tgw-1 (a transit gateway)")),
            ),
            (
                "private NAT gateway routing to a transit gateway (central egress)",
                private_nat_to_transit,
                Some((Severity::Info, "tgw-1 (a transit gateway)")),
            ),
            (
                "the pull routes to a transit gateway",
                transit,
                Some((Severity::Info, "subnet subnet-task routes 0.0.0.0/0 to tgw-1 (a transit gateway)")),
            ),
            ("a working NAT instance", image_pull_nat_instance(), None),
            (
                "a NAT instance with source/destination check on",
                nat_instance_case(|i| i.source_dest_check = true),
                Some((Severity::High, "NAT instance i-nat has source/destination check on")),
            ),
            (
                "a NAT instance without a public IP",
                nat_instance_case(|i| i.public_ip = None),
                Some((Severity::High, "NAT instance i-nat has no public IP")),
            ),
            (
                "a stopped NAT instance",
                nat_instance_case(|i| i.state = "stopped".into()),
                Some((Severity::High, "NAT instance i-nat is stopped")),
            ),
            (
                "a NAT instance whose groups do not take the pull in",
                nat_instance_closed,
                Some((Severity::High, "the security groups sg-nat of NAT instance i-nat admit no 443/tcp from the task ENI")),
            ),
            ("NAT, the ACL a blocklist", blocklist, None),
            ("NAT, the ACL opens the Linux reply range only", linux_replies, None),
            (
                "NAT, the ACL lets 443 out to the VPC only",
                vpc_only,
                Some((Severity::High, "network ACL acl-1 denies outbound 443/tcp")),
            ),
            (
                "NAT gateway deleted",
                nat_deleted,
                Some((Severity::High, "is a blackhole: its target nat-")),
            ),
            (
                "private subnet, no NAT, no endpoints",
                image_pull_private(),
                Some((Severity::High, "subnet subnet-task has no 0.0.0.0/0 route (route table rtb-private)")),
            ),
            ("endpoints present and open", image_pull_private_with_endpoints(), None),
            ("NAT", image_pull_nat(), None),
            (
                "NAT but SG egress closed",
                nat_sg_closed,
                Some((Severity::High, "allow no outbound 443/tcp to the internet")),
            ),
            (
                "no S3 gateway",
                no_s3,
                Some((Severity::High, "an S3 gateway endpoint on route table rtb-private")),
            ),
            (
                "S3 gateway on another route table",
                s3_elsewhere,
                Some((Severity::High, "an S3 gateway endpoint on route table rtb-private")),
            ),
            (
                "endpoint SG closed",
                endpoint_sg_closed,
                Some((Severity::High, "endpoint's security groups sg-endpoints admit no 443/tcp")),
            ),
            (
                "Docker Hub image with ECR endpoints",
                docker_hub,
                Some((Severity::High, "image nginx:latest is not in Amazon ECR")),
            ),
            (
                "Fargate in a public subnet without public IP",
                fargate_public_without_ip(),
                Some((Severity::High, "routes 0.0.0.0/0 to igw-1, but the task ENI in subnet subnet-task has no public IP")),
            ),
            (
                "EC2: the instance's private subnet decides",
                ec2_instance_private(),
                Some((Severity::High, "subnet subnet-instance has no 0.0.0.0/0 route")),
            ),
            ("health-check kill", health_kill(), None),
        ];
        for (name, stop, want) in cases {
            expect(name, &run(&stop, check), want);
        }
        assert!(
            matches!(run(&no_groups, check), Outcome::Incomplete(u) if u.reason.contains("read back empty")),
            "groups read back empty are unknown, not egress blocked"
        );
        assert!(
            matches!(run(&nat_unlisted, check), Outcome::Incomplete(u) if u.api == crate::domain::api::EC2_DESCRIBE_NAT_GATEWAYS),
            "a NAT gateway that is not listed is unknown, never a way out"
        );
        assert!(
            matches!(run(&nat_instance_gone, check), Outcome::Incomplete(u) if u.api == crate::domain::api::EC2_DESCRIBE_INSTANCES),
            "an unreadable NAT instance is unknown, never a way out"
        );
        let mut groupless = image_pull_nat_instance();
        nat_instance(&mut groupless).security_group_ids.clear();
        assert!(
            matches!(run(&groupless, check), Outcome::Incomplete(u) if u.reason.contains("read back empty")),
            "a NAT instance whose groups read back empty is unknown, not closed"
        );
    }
}
