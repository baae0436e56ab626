//! The README's sample alert is what the code sends: the seed world's alert (subject from the
//! message SNS delivered, text from `--format text`) contains every part of the README's block,
//! in order, with ids, addresses and names masked and `...` standing for what the block leaves
//! out.

use regex_lite::Regex;

use crate::harness::{moto, repo_root, run_cli};
use crate::world::{build, clients, received, Scenario};

/// Resource ids and IPv4 addresses (not CIDR blocks) become placeholders.
fn mask(text: &str) -> String {
    let ids = Regex::new(r"\b(eni|subnet|igw|vpc|rtb|i|sg|acl)-[0-9a-f]{6,17}\b").unwrap();
    let ips = Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b(/\d+)?").unwrap();
    let text = ids.replace_all(text, "$1-<id>");
    let text = ips.replace_all(&text, |c: &regex_lite::Captures| match c.get(1) {
        Some(_) => c[0].to_string(),
        None => "<ip>".to_string(),
    });
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The README's first `text` block: the sample alert.
fn readme_alert() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("```text\nSubject:")
        .expect("the README shows a sample alert")
        + 8;
    let end = start + readme[start..].find("```").unwrap();
    readme[start..end].to_string()
}

#[tokio::test]
async fn the_readme_sample_alert_is_what_the_code_sends() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let event = built.event.to_string();
    let (code, _, stderr) = run_cli(
        moto(),
        &[
            "check",
            "--event",
            "-",
            "--publish",
            "--topic-arn",
            &built.topic_arn,
        ],
        Some(&event),
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, text, stderr) = run_cli(
        moto(),
        &["check", "--event", "-", "--format", "text"],
        Some(&event),
    );
    assert_eq!(code, 0, "{stderr}");
    let messages = received(&c, &built.queue_url, 2).await;
    let subject = messages[0]["Subject"].as_str().unwrap().to_string();
    let service = built.service.clone().unwrap();
    let cluster = built.cluster.clone();
    let rendered = mask(
        &format!("Subject: {subject}\n\n{text}")
            .replace(&service, "web")
            .replace(&cluster, "prod"),
    );
    let sample = mask(&readme_alert());
    let mut rest = rendered.as_str();
    for part in sample.split("...").map(str::trim).filter(|p| !p.is_empty()) {
        let at = rest.find(part).unwrap_or_else(|| {
            panic!("the README's sample alert says\n  {part}\nbut the code sends\n  {rendered}")
        });
        rest = &rest[at + part.len()..];
    }
}
