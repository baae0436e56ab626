//! Property tests: any input gives a verdict or a clear error, never a panic, within bounds.

use proptest::prelude::*;
use serde_json::{json, Value};

use ecs_inbound_guard::domain::evaluation::{evaluate_task, MAX_ANNOTATION_CHARS};
use ecs_inbound_guard::domain::event::{parse_trigger, parse_trigger_bytes, Trigger};
use ecs_inbound_guard::domain::facts::{
    Fact, Host, NetworkInterface, Route, RouteTable, TaskDefinition, TaskFacts, Unreadable,
};
use ecs_inbound_guard::domain::verdict::Severity;
use ecs_inbound_guard::render::sns::alert_at;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::hash_map("[a-zA-Z-]{1,16}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Task-event-shaped JSON whose fields have arbitrary values and types.
fn task_event_like() -> impl Strategy<Value = Value> {
    let field = prop_oneof![any_json(), ".{0,64}".prop_map(Value::from)];
    (
        prop::sample::select(vec!["RUNNING", "STOPPED", "PENDING"]),
        prop::collection::vec(("[a-zA-Z]{1,20}", field.clone()), 0..12),
        prop::collection::vec(any_json(), 0..4),
        field,
    )
        .prop_map(|(status, extra, attachments, arn)| {
            let mut detail = json!({"taskArn": arn, "lastStatus": status, "attachments": attachments,
                "launchType": "EC2", "taskDefinitionArn": "arn:td"});
            for (k, v) in extra {
                detail[k] = v;
            }
            json!({"detail-type": "ECS Task State Change", "source": "aws.ecs", "id": "e", "detail": detail})
        })
}

fn facts(public: bool, host_ip: Option<String>) -> TaskFacts {
    let mut f = TaskFacts::without_network(
        Fact::Known(TaskDefinition {
            arn: "arn:td".into(),
            ignore_tag: None,
            network_mode: Some(ecs_inbound_guard::domain::facts::NetworkMode::Awsvpc),
            port_mappings: vec![ecs_inbound_guard::domain::facts::PortMapping {
                container_name: "web".into(),
                container_port: 3000,
                last_port: 3000,
                protocol: "tcp".into(),
            }],
            ..Default::default()
        }),
        Unreadable {
            api: "x",
            reason: "n/a".into(),
        },
    );
    f.eni = Fact::Known(NetworkInterface {
        id: "eni-1".into(),
        subnet_id: "subnet-1".into(),
        vpc_id: "vpc-1".into(),
        private_ip: Some("10.0.0.1".into()),
        ..Default::default()
    });
    let target = if public { "igw-1" } else { "nat-1" };
    f.route_table = Fact::Known(RouteTable {
        id: "rtb".into(),
        routes: vec![Route {
            destination_cidr: Some("0.0.0.0/0".into()),
            target: Some(target.into()),
            ..Default::default()
        }],
        ..Default::default()
    });
    f.host = Fact::Known(Host {
        instance_id: "i-1".into(),
        public_ip: host_ip,
        ..Default::default()
    });
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_trigger_bytes(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let _ = parse_trigger(value);
    }

    /// A hook request whose service properties are anything, under the names CloudFormation
    /// uses: a plan, or an error that says what is wrong — never a panic (the hook turns it
    /// into a SKIPPED annotation).
    #[test]
    fn hook_requests_give_a_plan_or_a_clear_error(
        properties in prop::collection::hash_map(
            prop_oneof![
                Just("Cluster"), Just("ServiceName"), Just("TaskDefinition"), Just("LaunchType"),
                Just("CapacityProviderStrategy"), Just("LoadBalancers"), Just("NetworkConfiguration"),
            ],
            any_json(),
            0..7,
        ),
        nested in any_json(),
        point in prop_oneof![Just("CREATE_PRE_PROVISION".to_string()), Just("UPDATE_PRE_PROVISION".to_string()), Just("DELETE_PRE_PROVISION".to_string()), ".{0,20}"],
    ) {
        use ecs_inbound_guard::domain::hook::parse_hook_request;
        let mut properties: serde_json::Map<String, Value> =
            properties.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        properties
            .entry("NetworkConfiguration")
            .or_insert_with(|| json!({"AwsvpcConfiguration": nested}));
        let payload = json!({
            "clientRequestToken": "t",
            "actionInvocationPoint": point,
            "requestData": {"targetName": "AWS::ECS::Service", "targetModel": {"resourceProperties": properties}},
        });
        if let Err(e) = parse_hook_request(&payload).and_then(|r| r.subject()) {
            prop_assert!(!e.0.is_empty());
        }
    }

    #[test]
    fn task_shaped_events_give_a_verdict_or_a_clear_error(
        event in task_event_like(), public in any::<bool>(), host in prop::option::of("[ -~]{0,30}")
    ) {
        match parse_trigger(event) {
            Err(e) => prop_assert!(!e.to_string().is_empty()),
            Ok(Trigger::OutOfScope(o)) => prop_assert!(!o.resource_id.is_empty()),
            Ok(Trigger::StoppedTask(s)) => prop_assert!(!s.stopped_reason.is_empty()),
            Ok(Trigger::Service(s)) => prop_assert!(!s.service_arn.is_empty()),
            Ok(Trigger::RunningTask(ev)) => {
                let att = ev.task.eni_attachment();
                let e = evaluate_task(&ev, att.as_ref(), &facts(public, host), time::OffsetDateTime::UNIX_EPOCH);
                prop_assert!(e.annotation.chars().count() <= MAX_ANNOTATION_CHARS);
                if let Some(alert) = alert_at(&e, Severity::High) {
                    prop_assert!(alert.subject.chars().count() < 100);
                    prop_assert!(!alert.subject.chars().any(char::is_control));
                    prop_assert!(alert.body.contains(&e.resource_id.replace(|c: char| c.is_control(), " ")));
                }
            }
        }
    }
}

#[test]
fn huge_strings_and_ten_thousand_containers_stay_bounded() {
    let huge = "x".repeat(1 << 18);
    let containers: Vec<Value> = (0..10_000)
        .map(|i| json!({"name": format!("c{i}"), "networkInterfaces": [{"attachmentId": "a", "privateIpv4Address": "10.0.0.1"}]}))
        .collect();
    let event = json!({"detail-type": "ECS Task State Change", "source": "aws.ecs", "id": huge,
        "detail": {"taskArn": format!("arn:aws:ecs:us-east-1:1:task/{huge}\n"), "lastStatus": "RUNNING",
            "launchType": "EC2", "group": format!("service:{huge}\r\n"), "clusterArn": format!("arn:c/{huge}"),
            "containers": containers,
            "attachments": [{"id": "a", "type": "eni", "details": [{"name": "networkInterfaceId", "value": "eni-1"}]}]}});
    let start = std::time::Instant::now();
    let Ok(Trigger::RunningTask(ev)) = parse_trigger(event) else {
        panic!("expected a task")
    };
    let att = ev.task.eni_attachment();
    assert_eq!(
        att.as_ref().unwrap().private_ipv4_address.as_deref(),
        Some("10.0.0.1")
    );
    let e = evaluate_task(
        &ev,
        att.as_ref(),
        &facts(true, Some("203.0.113.2".into())),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    assert_eq!(e.annotation.chars().count(), MAX_ANNOTATION_CHARS);
    let alert = alert_at(&e, Severity::High).expect("non-compliant");
    assert!(alert.subject.chars().count() < 100 && !alert.subject.contains('\n'));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "bounded time"
    );
}
