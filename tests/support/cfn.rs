//! The SAM template as CloudFormation would resolve it: parameters (their defaults, or
//! overrides), conditions and the intrinsic functions the template uses, so a test starts the
//! function with exactly the environment and settings a deploy gives it. The YAML (with its
//! short-form tags) is read by cfn-lint's own loader from the project's venv.

use std::collections::HashMap;
use std::process::Command;

use serde_json::{Map, Value};

use crate::harness::repo_root;

/// Pseudo parameters of the test stack.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const STACK: &str = "guard";

/// An SQS batch event exactly as Lambda's SQS poller sends it, one message per EventBridge
/// event (the body is the event as text, as an EventBridge rule with an SQS target puts it).
pub fn sqs_batch(events: &[Value]) -> Value {
    let records: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            serde_json::json!({
                "messageId": format!("{:08x}-0000-4000-8000-{:012x}", i, i),
                "receiptHandle": format!("AQEB{i}"),
                "body": event.to_string(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764748800000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1764748800001"
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-EventsQueue"),
                "awsRegion": REGION
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// A template file, parsed.
pub struct Template {
    json: Value,
}

impl Template {
    /// `template.yaml` of the repository.
    pub fn load() -> Template {
        Template::load_file("template.yaml")
    }

    /// A template of the repository, by path.
    pub fn load_file(path: &str) -> Template {
        let python = repo_root().join(".venv/bin/python");
        let out = Command::new(&python)
            .args([
                "-c",
                "import json, sys\nfrom cfnlint.decode import cfn_yaml\nprint(json.dumps(cfn_yaml.load(sys.argv[1])))",
            ])
            .arg(repo_root().join(path))
            .output()
            .unwrap_or_else(|e| panic!("{python:?} (run ./scripts/setup-tools.sh): {e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Template {
            json: serde_json::from_slice(&out.stdout).unwrap(),
        }
    }

    /// The template as JSON.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The parameter names and their defaults (numbers as CloudFormation passes them: text).
    pub fn defaults(&self) -> HashMap<String, String> {
        self.json["Parameters"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, p)| (name.clone(), text(&p["Default"])))
            .collect()
    }

    /// The stack with default parameters except `overrides`; `resources` gives the physical
    /// value of each resource the resolved properties refer to (`Ref` of `AlertTopic`, `GetAtt`
    /// of `Queue.Arn`, ...): an unknown one fails the test with its name.
    pub fn stack(&self, overrides: &[(&str, &str)], resources: &[(&str, &str)]) -> Stack<'_> {
        let mut parameters = self.defaults();
        for (name, value) in overrides {
            assert!(
                parameters.contains_key(*name),
                "the template has no parameter {name}"
            );
            parameters.insert(name.to_string(), value.to_string());
        }
        let mut stack = Stack {
            template: &self.json,
            parameters,
            resources: resources
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            conditions: HashMap::new(),
        };
        let conditions = self.json["Conditions"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        // Conditions may refer to each other: resolve until none is left.
        while stack.conditions.len() < conditions.len() {
            let before = stack.conditions.len();
            for (name, condition) in &conditions {
                if stack.conditions.contains_key(name) {
                    continue;
                }
                if let Some(value) = stack.try_condition(condition) {
                    stack.conditions.insert(name.clone(), value);
                }
            }
            assert!(stack.conditions.len() > before, "condition cycle");
        }
        stack
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A template with its parameters chosen: resolves properties as CloudFormation would.
pub struct Stack<'a> {
    template: &'a Value,
    parameters: HashMap<String, String>,
    resources: HashMap<String, String>,
    conditions: HashMap<String, bool>,
}

impl Stack<'_> {
    /// Whether a named condition holds.
    pub fn condition(&self, name: &str) -> bool {
        *self
            .conditions
            .get(name)
            .unwrap_or_else(|| panic!("no condition {name}"))
    }

    /// Whether the resource exists in this stack (its `Condition` holds).
    pub fn has_resource(&self, logical: &str) -> bool {
        let resource = &self.template["Resources"][logical];
        !resource.is_null()
            && resource["Condition"]
                .as_str()
                .is_none_or(|c| self.condition(c))
    }

    /// One resolved property of a resource (`Null` when it has none).
    pub fn property(&self, logical: &str, name: &str) -> Value {
        assert!(self.has_resource(logical), "{logical} is not in the stack");
        self.resolve(&self.template["Resources"][logical]["Properties"][name])
    }

    /// The environment the function gets: its `Environment.Variables`, resolved, plus what
    /// Lambda itself sets from its configuration (name, memory).
    pub fn function_environment(&self, logical: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self.property(logical, "Environment")["Variables"]
            .as_object()
            .map(|vars| vars.iter().map(|(k, v)| (k.clone(), text(v))).collect())
            .unwrap_or_default();
        env.push((
            "AWS_LAMBDA_FUNCTION_NAME".into(),
            text(&self.property(logical, "FunctionName")),
        ));
        env.push((
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            text(&self.property(logical, "MemorySize")),
        ));
        env
    }

    /// Resolves the intrinsic functions of `value`.
    pub fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .filter(|v| !is_no_value(v))
                    .collect(),
            ),
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().unwrap();
                match key.as_str() {
                    "Ref" => Value::String(self.reference(arg.as_str().unwrap())),
                    "Fn::GetAtt" => Value::String(self.attribute(arg)),
                    "Fn::Sub" => Value::String(self.substitute(arg)),
                    "Fn::If" => {
                        let branches = arg.as_array().unwrap();
                        let name = branches[0].as_str().unwrap();
                        let chosen = if self.condition(name) { 1 } else { 2 };
                        self.resolve(&branches[chosen])
                    }
                    "Fn::Join" => {
                        let parts = arg.as_array().unwrap();
                        let items = self.resolve(&parts[1]);
                        Value::String(
                            items
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(text)
                                .collect::<Vec<_>>()
                                .join(parts[0].as_str().unwrap()),
                        )
                    }
                    "Fn::FindInMap" => {
                        let path: Vec<String> = arg
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| text(&self.resolve(p)))
                            .collect();
                        let value = &self.template["Mappings"][&path[0]][&path[1]][&path[2]];
                        assert!(!value.is_null(), "no mapping {path:?}");
                        value.clone()
                    }
                    k if k.starts_with("Fn::") => panic!("{k} is not modelled by the test"),
                    _ => Value::Object(self.resolve_map(map)),
                }
            }
            Value::Object(map) => Value::Object(self.resolve_map(map)),
            other => other.clone(),
        }
    }

    fn resolve_map(&self, map: &Map<String, Value>) -> Map<String, Value> {
        map.iter()
            .map(|(k, v)| (k.clone(), self.resolve(v)))
            .filter(|(_, v)| !is_no_value(v))
            .collect()
    }

    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::AccountId" => ACCOUNT.into(),
            "AWS::Region" => REGION.into(),
            "AWS::Partition" => "aws".into(),
            "AWS::StackName" => STACK.into(),
            "AWS::NoValue" => NO_VALUE.into(),
            _ => self
                .parameters
                .get(name)
                .or_else(|| self.resources.get(name))
                .unwrap_or_else(|| panic!("the test gives no physical value for Ref {name}"))
                .clone(),
        }
    }

    fn attribute(&self, arg: &Value) -> String {
        let path = match arg {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts.iter().map(text).collect::<Vec<_>>().join("."),
            other => panic!("GetAtt {other}"),
        };
        self.resources
            .get(&path)
            .unwrap_or_else(|| panic!("the test gives no physical value for GetAtt {path}"))
            .clone()
    }

    fn substitute(&self, arg: &Value) -> String {
        let (pattern, vars) = match arg {
            Value::String(s) => (s.as_str(), Map::new()),
            Value::Array(parts) => (
                parts[0].as_str().unwrap(),
                parts[1].as_object().cloned().unwrap_or_default(),
            ),
            other => panic!("Sub {other}"),
        };
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = start + rest[start..].find('}').unwrap();
            let name = &rest[start + 2..end];
            let value = match vars.get(name) {
                Some(v) => text(&self.resolve(v)),
                None if name.contains('.') => self.attribute(&Value::String(name.into())),
                None => self.reference(name),
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn try_condition(&self, condition: &Value) -> Option<bool> {
        let map = condition.as_object()?;
        let (key, arg) = map.iter().next()?;
        let args = || arg.as_array().unwrap();
        Some(match key.as_str() {
            "Condition" => *self.conditions.get(arg.as_str().unwrap())?,
            "Fn::Equals" => text(&self.resolve(&args()[0])) == text(&self.resolve(&args()[1])),
            "Fn::Not" => !self.try_condition(&args()[0])?,
            "Fn::And" => {
                let all: Option<Vec<bool>> = args().iter().map(|c| self.try_condition(c)).collect();
                all?.into_iter().all(|b| b)
            }
            "Fn::Or" => {
                let all: Option<Vec<bool>> = args().iter().map(|c| self.try_condition(c)).collect();
                all?.into_iter().any(|b| b)
            }
            other => panic!("condition function {other} is not modelled by the test"),
        })
    }
}

const NO_VALUE: &str = "\u{0}AWS::NoValue";

fn is_no_value(v: &Value) -> bool {
    v.as_str() == Some(NO_VALUE)
}
