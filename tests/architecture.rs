//! Architecture invariants, checked on the source tree (see docs/ARCHITECTURE.md):
//! no module imports a module that imports it; the domain reads no clock, does no I/O and
//! names no AWS SDK type or outer layer; the code map names paths that exist; docs/rules.md
//! lists exactly the rules the engine has.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ecs_inbound_guard::domain::rules::rule_ids;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "bin") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/domain/rules/view.rs` → `["domain", "rules", "view"]`; `mod.rs` and `lib.rs` name
/// their folder.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root().join("src")).unwrap();
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code outside `#[cfg(test)]` modules (tests may import anything).
fn production_code(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests")
        .or_else(|| text.find("#[cfg(test)]\npub(crate) mod tests"))
        .map_or(text, |i| &text[..i])
}

fn ident(s: &str) -> usize {
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

/// Expands the path at the start of `s` (after `crate::` or `super::`), with `{a, b::c}`
/// groups, into segment lists.
fn expand(s: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&rest[start..i], prefix.clone(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&rest[start..i], prefix.clone(), out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let n = ident(s);
    if n == 0 {
        out.push(prefix);
        return;
    }
    let mut path = prefix;
    path.push(s[..n].to_string());
    match s[n..].strip_prefix("::") {
        Some(rest) => expand(rest, path, out),
        None => out.push(path),
    }
}

/// Every module path the code refers to through `crate::`, `super::` or a child module.
fn referenced_paths(module: &[String], code: &str, children: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            continue;
        }
        expand(&code[i + "crate::".len()..], vec![], &mut out);
    }
    for (i, _) in code.match_indices("super::") {
        if i > 0
            && (bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':')
        {
            continue;
        }
        let mut base = module.to_vec();
        let mut rest = &code[i..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        expand(rest, base, &mut out);
    }
    for child in children {
        let needle = format!("{child}::");
        if code.match_indices(&needle).any(|(i, _)| {
            i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b':')
        }) {
            let mut path = module.to_vec();
            path.push(child.clone());
            out.push(path);
        }
    }
    out
}

struct Tree {
    /// module path → production code
    modules: BTreeMap<Vec<String>, String>,
}

impl Tree {
    fn load() -> Self {
        let mut files = Vec::new();
        rust_files(&root().join("src"), &mut files);
        let modules = files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                (module_of(f), production_code(&text).to_string())
            })
            .collect();
        Tree { modules }
    }

    /// The longest module prefix of a referenced path.
    fn resolve(&self, path: &[String]) -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| self.modules.contains_key(p))
    }

    fn edges(&self) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
        self.modules
            .iter()
            .map(|(module, code)| {
                let children: Vec<String> = self
                    .modules
                    .keys()
                    .filter(|k| k.len() == module.len() + 1 && k.starts_with(module))
                    .map(|k| k.last().unwrap().clone())
                    .collect();
                let targets = referenced_paths(module, code, &children)
                    .iter()
                    .filter_map(|p| self.resolve(p))
                    .filter(|t| t != module && !t.is_empty())
                    .collect();
                (module.clone(), targets)
            })
            .collect()
    }
}

fn name(m: &[String]) -> String {
    m.join("::")
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let tree = Tree::load();
    let edges = tree.edges();
    assert!(edges.len() > 30, "the scan found the modules");
    // The scan sees real imports (so this test can fail).
    assert!(edges[&vec!["app".to_string(), "check".to_string()]]
        .contains(&vec!["facts".to_string(), "waves".to_string()]));
    // Depth-first search for a cycle.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(i) = stack.iter().position(|n| n == node) {
            let cycle: Vec<String> = stack[i..].iter().chain([node]).map(|m| name(m)).collect();
            panic!("import cycle: {}", cycle.join(" -> "));
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done);
        }
        stack.pop();
        done.insert(node.clone());
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, &edges, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_domain_is_pure() {
    let tree = Tree::load();
    let edges = tree.edges();
    let outer = ["adapters", "app", "facts", "ports", "render"];
    let forbidden = [
        "aws_sdk_",
        "aws_config",
        "aws_smithy",
        "now_utc",
        "SystemTime",
        "Instant::now",
        "tokio",
        "std::fs",
        "TcpStream",
        "UdpSocket",
        "std::env",
    ];
    let mut domain_modules = 0;
    for (module, code) in &tree.modules {
        if module.first().map(String::as_str) != Some("domain") {
            continue;
        }
        domain_modules += 1;
        for word in forbidden {
            assert!(!code.contains(word), "{} uses {word}", name(module));
        }
        for target in &edges[module] {
            assert!(
                !outer.contains(&target[0].as_str()),
                "{} imports {}",
                name(module),
                name(target)
            );
        }
    }
    assert!(domain_modules > 20, "found {domain_modules} domain modules");
}

#[test]
fn the_code_map_names_paths_that_exist() {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let paths: Vec<&str> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|p| {
            (p.starts_with("src/") || p.starts_with("tests/") || p.starts_with("docs/"))
                && !p.contains(' ')
                && !p.contains('*')
        })
        .collect();
    assert!(paths.len() > 15, "the code map names {} paths", paths.len());
    for path in paths {
        assert!(
            root().join(path).exists(),
            "docs/ARCHITECTURE.md names {path}, which does not exist"
        );
    }
    // Every source folder is on the map.
    for dir in [
        "src/domain",
        "src/domain/rules",
        "src/facts",
        "src/render",
        "src/adapters",
        "src/app",
    ] {
        assert!(
            doc.contains(&format!("`{dir}/`")),
            "the code map misses {dir}/"
        );
    }
}

#[test]
fn the_rules_reference_lists_exactly_the_rules() {
    let doc = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    let documented: BTreeSet<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("## `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let engine: BTreeSet<&str> = rule_ids().collect();
    let undocumented: Vec<_> = engine.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&engine).collect();
    assert!(
        undocumented.is_empty(),
        "docs/rules.md misses {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/rules.md documents rules the engine lacks: {unknown:?}"
    );
}

/// Each rule's documented cause (what the CloudFormation hook does with its findings) is the
/// one its metadata declares.
#[test]
fn the_rules_reference_states_each_rules_cause() {
    use ecs_inbound_guard::domain::verdict::Cause;
    let doc = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    for section in doc.split("\n## `").skip(1) {
        let id = section.split('`').next().unwrap();
        let Some(rule) = ecs_inbound_guard::domain::rules::rule(id) else {
            continue; // the coverage section, or an unknown rule (the test above names it)
        };
        let stated = section
            .lines()
            .find_map(|l| l.strip_prefix("- **Cause**: "))
            .unwrap_or_else(|| panic!("docs/rules.md: {id} states no cause"));
        let want = match rule.cause {
            Cause::Missing => "missing — ",
            Cause::Conflict => "conflict — ",
        };
        assert!(
            stated.starts_with(want),
            "docs/rules.md: {id} is {want:?}, not {stated:?}"
        );
    }
}

/// The codes of the AWS page "Reachability Analyzer explanation codes" as read on 2026-12-03
/// (https://docs.aws.amazon.com/vpc/latest/reachability/explanation-codes.html): path not
/// reachable, configuration, search filter.
const REACHABILITY_CODES: &str = "
BAD_STATE BAD_STATE_ATTACHMENT BAD_STATE_ROUTE BAD_STATE_VPN CANNOT_ROUTE ELB_ACL_RESTRICTION
ELB_INSTALLED_AZ_RESTRICTION ELB_LISTENER_PORT_RESTRICTION ELB_LISTENERS_MISMATCH ELB_NOT_CROSSZONE
ELBV2_LISTENER_HAS_NO_TG ELBV2_LISTENER_PORT_RESTRICTION ELBV2_LISTENER_REQUIRES_TG_ACCEPT
ELBV2_LISTENERS_MISMATCH ELBV2_NO_TARGETS_IN_AZ ELBV2_SOURCE_ADDRESS_PRESERVATION
ENI_ADDRESS_RESTRICTION ENI_SG_RULES_MISMATCH ENI_SOURCE_DEST_CHECK_RESTRICTION
FIREWALL_RULES_RESTRICTION GATEWAY_REJECTS_SPOOFED_TRAFFIC GWLB_DESTINATION_PORT_RESTRICTION
GWLB_PROTOCOL_RESTRICTION HIGHER_PRIORITY_ROUTE IGW_DESTINATION_ADDRESS_IN_VPC_CIDRS
IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS IGW_DESTINATION_ADDRESS_NOT_IN_RFC6598_EGRESS
IGW_NAT_REFLECTION IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS
IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS IGW_SOURCE_ADDRESS_NOT_IN_RFC6598_INGRESS
INGRESS_RTB_NO_PUBLIC_IP INGRESS_RTB_TRAFFIC_REDIRECTION MORE_SPECIFIC_ROUTE
NGW_DEST_ADDRESS_PRESERVATION NGW_REQUIRES_SOURCE_IN_VPC NGW_SOURCE_ADDRESS_REASSIGN
NO_POSSIBLE_DESTINATION NO_ROUTE_TO_DESTINATION PCX_REQUIRES_ADDRESS_IN_VPC_CIDR
PROTOCOL_RESTRICTION REGIONAL_NGW_ROUTE_AZ_RESTRICTION REMAP_EPHEMERAL_PORT SG_HAS_NO_RULES
SG_REFERENCES_NOT_PRESERVED SG_REFERENCING_SUPPORT SUBNET_ACL_RESTRICTION
TARGET_ADDRESS_RESTRICTION TARGET_PORT_RESTRICTION TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION
TGW_ATTACH_VPC_AZ_RESTRICTION TGW_BAD_STATE_VPN TGW_ROUTE_AZ_RESTRICTION TGW_RTB_BAD_STATE_ROUTE
TGW_RTB_CANNOT_ROUTE TGW_RTB_HIGHER_PRIORITY_ROUTE TGW_RTB_MORE_SPECIFIC_ROUTE
TGW_RTB_NO_ROUTE_TO_TGW_ATTACHMENT TGW_RTB_ROUTES_ARE_UNKNOWN UNKNOWN_DESTINATION
UNKNOWN_PEERED_SGS UNKNOWN_RESOURCE VGW_PRIVATE_IP_ASSOCIATION_FOR_EGRESS
VGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS VPC_BLOCK_PUBLIC_ACCESS_ENABLED
VPC_LOCAL_ROUTE_CIDR_RESTRICTION VPCE_GATEWAY_EGRESS_SOURCE_ADDRESS_RESTRICTION
VPCE_GATEWAY_PROTOCOL_RESTRICTION VPCE_INTRA_VPC_TRAFFIC VPCE_SERVICE_NOT_INSTALLED_IN_AZ
DISCONNECTED_VPCS NO_PATH NO_SOURCE_OR_DESTINATION UNASSOCIATED_COMPONENT UNSUPPORTED_COMPONENT
COMPONENT_FILTER_RESTRICTION COMPONENT_FILTER_RESTRICTION_REMOVED_COMPONENT
FILTER_AT_DESTINATION_DESTINATION_ADDRESS FILTER_AT_DESTINATION_DESTINATION_PORT_RANGE
FILTER_AT_DESTINATION_PROTOCOL FILTER_AT_DESTINATION_SOURCE_ADDRESS
FILTER_AT_DESTINATION_SOURCE_PORT_RANGE FILTER_AT_SOURCE_DESTINATION_ADDRESS
FILTER_AT_SOURCE_DESTINATION_PORT_RANGE FILTER_AT_SOURCE_PROTOCOL FILTER_AT_SOURCE_SOURCE_ADDRESS
FILTER_AT_SOURCE_SOURCE_PORT_RANGE IGW_EXPECTS_PUBLIC_ADDRESS
";

#[test]
fn the_coverage_table_answers_every_reachability_analyzer_code_with_a_real_rule_or_a_reason() {
    let doc = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    let section = doc
        .split("## Coverage: Reachability Analyzer explanation codes")
        .nth(1)
        .expect("docs/rules.md has the coverage section");
    let rules: BTreeSet<&str> = rule_ids().collect();
    let mut listed = Vec::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (code, applies, covered) = (cells[1].trim_matches('`'), cells[2], cells[3]);
        listed.push(code);
        if applies == "yes" {
            let named: Vec<&str> = covered
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|w| {
                    w.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                })
                .collect();
            assert!(
                !named.is_empty() || covered.starts_with("not modelled: "),
                "{code} applies: name the rule that covers it or say 'not modelled: <reason>'"
            );
            for rule in named {
                assert!(
                    rules.contains(rule),
                    "{code} names {rule}, which is no rule"
                );
            }
        } else {
            assert!(
                applies
                    .strip_prefix("no: ")
                    .is_some_and(|why| !why.is_empty()),
                "{code}: 'yes', or 'no: <why it does not apply>', not {applies:?}"
            );
        }
    }
    let page: Vec<&str> = REACHABILITY_CODES.split_whitespace().collect();
    let mut sorted_listed = listed.clone();
    sorted_listed.sort_unstable();
    let mut sorted_page = page.clone();
    sorted_page.sort_unstable();
    assert_eq!(
        sorted_listed, sorted_page,
        "the table lists every code of the page once"
    );
}

/// The layers' imports, as `docs/ARCHITECTURE.md` draws them ("Layers"): exactly these
/// top-level edges exist, and the document lists each.
#[test]
fn the_layers_import_exactly_the_documented_edges() {
    let tree = Tree::load();
    let mut layers: BTreeSet<(String, String)> = BTreeSet::new();
    for (from, targets) in tree.edges() {
        for to in targets {
            if let (Some(from), Some(to)) = (from.first(), to.first()) {
                if from != to {
                    layers.insert((from.clone(), to.clone()));
                }
            }
        }
    }
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let documented: BTreeSet<(String, String)> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("- layer edge: `"))
        .filter_map(|l| {
            let (from, rest) = l.split_once("` → `")?;
            let (to, _) = rest.split_once('`')?;
            Some((from.to_string(), to.to_string()))
        })
        .collect();
    assert_eq!(
        layers, documented,
        "top-level imports vs the document's layer edges"
    );
}

/// Each AWS action is declared once, in `src/domain/api.rs`: no other source file spells an
/// IAM action as a string literal, and every action declared as called is called by an
/// adapter (so the least-privilege tests, which read the declarations, see every call).
#[test]
fn iam_actions_are_declared_once_and_declared_ones_are_called() {
    use ecs_inbound_guard::domain::api::{Caller, ACTIONS};
    let services = [
        "ecs",
        "ec2",
        "elasticloadbalancing",
        "sns",
        "dynamodb",
        "config",
        "sts",
        "organizations",
        "securityhub",
        "lambda",
        "iam",
        "logs",
        "sqs",
    ];
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut adapters = String::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if file.ends_with("src/domain/api.rs") {
            continue;
        }
        if file.starts_with(root().join("src/adapters")) {
            adapters.push_str(&text);
        }
        for literal in text.split('"').skip(1).step_by(2) {
            let is_action = literal.split_once(':').is_some_and(|(service, action)| {
                services.contains(&service)
                    && action.starts_with(|c: char| c.is_ascii_uppercase())
                    && action.chars().all(|c| c.is_ascii_alphanumeric())
            });
            assert!(
                !is_action,
                "{}: the IAM action {literal:?} is spelled out; use its constant in src/domain/api.rs",
                file.display()
            );
        }
    }
    let source = std::fs::read_to_string(root().join("src/domain/api.rs")).unwrap();
    for (caller, action) in ACTIONS {
        if *caller == Caller::NeverCalled {
            continue;
        }
        let constant = source
            .lines()
            .find(|l| l.trim_end().ends_with(&format!("= \"{action}\";")))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("{action} has no constant"));
        assert!(
            adapters.contains(&format!("api::{constant}")),
            "{action} is declared as called but no adapter calls it"
        );
    }
}
