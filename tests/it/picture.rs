//! The path drawn (#25): `--format markdown` (a Mermaid chart and the findings) and
//! `--format html` (one self-contained page) of `check` and `audit`, on moto worlds.

use crate::harness::{moto, run_cli};
use crate::world::{build, clients, run_tasks, LbSpec, Scenario};

#[tokio::test]
async fn check_draws_the_seed_path_in_mermaid_with_the_blocked_hop_named() {
    let c = clients().await;
    let built = build(&c, &Scenario::seed()).await;
    let event = built.event.to_string();
    let (code, md, stderr) = run_cli(
        moto(),
        &["check", "--event", "-", "--format", "markdown"],
        Some(&event),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(md.contains("NON_COMPLIANT"), "{md}");
    assert!(md.contains("```mermaid\nflowchart LR\n"), "{md}");
    let host_ip = built.host_ip.as_deref().unwrap();
    assert!(
        md.contains(&format!(
            "{{{{\"Public IP<br/>{host_ip}<br/>BLOCKED<br/>AWSVPC_EC2_PUBLIC_NO_INBOUND\"}}}}:::blocked"
        )),
        "the blocked hop is a hexagon with its status and rule: {md}"
    );
    assert!(md.contains(&built.eni_id), "{md}");
    assert!(
        md.contains("| HIGH | `AWSVPC_EC2_PUBLIC_NO_INBOUND` |"),
        "{md}"
    );
}

#[tokio::test]
async fn check_and_audit_write_one_self_contained_page_with_the_blocked_hop_marked() {
    let c = clients().await;
    let built = build(
        &c,
        &Scenario::behind(LbSpec {
            task_sg_admits_lb: false,
            ..LbSpec::valid_alb()
        }),
    )
    .await;
    let event = built.event.to_string();
    let (code, page, stderr) = run_cli(
        moto(),
        &["check", "--event", "-", "--format", "html"],
        Some(&event),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("default-src 'none'"));
    assert!(
        page.contains("data-hop=\"TaskSecurityGroups\" data-status=\"blocked\""),
        "{page}"
    );
    assert!(page.contains("SG_BLOCKS_LB_TRAFFIC"));
    for banned in ["<script", "src=", "href="] {
        assert!(!page.contains(banned), "{banned}");
    }

    run_tasks(&c, &built, 2).await;
    let (code, page, stderr) = run_cli(
        moto(),
        &["audit", "--cluster", &built.cluster, "--format", "html"],
        None,
    );
    assert_eq!(code, 1, "NON_COMPLIANT: {stderr}");
    assert!(page.contains("<table class=\"summary\">"), "{page}");
    assert!(page.contains("data-status=\"blocked\""), "{page}");
    let (code, md, _) = run_cli(
        moto(),
        &["audit", "--cluster", &built.cluster, "--format", "markdown"],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        md.contains("| Cluster | Service |") && md.contains("```mermaid"),
        "{md}"
    );
}

/// What headless Chromium rendered (scripts/browser-check.py), or `None` with a plain note when
/// Chromium is not installed here. In CI (`ECS_INBOUND_GUARD_BROWSER=required`, set by
/// `.ci/run`) a missing browser fails the test.
fn rendered(page: &std::path::Path, shot: &std::path::Path) -> Option<serde_json::Value> {
    let root = crate::harness::repo_root();
    let has = |bin: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
    };
    if !has("chromium") || !has("chromedriver") {
        assert!(
            std::env::var("ECS_INBOUND_GUARD_BROWSER").as_deref() != Ok("required"),
            "Chromium and chromedriver are required here: scripts/setup-tools.sh installs them (as root)"
        );
        eprintln!(
            "NOTE: the browser test did not run: chromium and chromedriver are not installed \
             (scripts/setup-tools.sh installs them as root; CI requires them)"
        );
        return None;
    }
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/browser-check.py"))
        .arg(page)
        .arg(shot)
        .output()
        .expect("run scripts/browser-check.py");
    assert!(
        out.status.success(),
        "browser-check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("browser-check prints JSON"))
}

#[tokio::test]
async fn headless_chromium_shows_every_hop_and_the_blocked_one_fetching_nothing() {
    let c = clients().await;
    let dir = crate::harness::repo_root().join("target/picture");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, scenario, blocked) in [
        ("seed", Scenario::seed(), "PublicIp"),
        (
            "alb",
            Scenario::behind(LbSpec {
                task_sg_admits_lb: false,
                ..LbSpec::valid_alb()
            }),
            "TaskSecurityGroups",
        ),
    ] {
        let built = build(&c, &scenario).await;
        let event = built.event.to_string();
        let (code, json, stderr) = run_cli(moto(), &["check", "--event", "-"], Some(&event));
        assert_eq!(code, 0, "{stderr}");
        let evaluation: serde_json::Value = serde_json::from_str(&json).unwrap();
        let (code, page, stderr) = run_cli(
            moto(),
            &["check", "--event", "-", "--format", "html"],
            Some(&event),
        );
        assert_eq!(code, 0, "{stderr}");
        let file = dir.join(format!("{name}.html"));
        std::fs::write(&file, &page).unwrap();
        let Some(shown) = rendered(&file, &dir.join(format!("{name}.png"))) else {
            return;
        };
        assert_eq!(
            shown["requests"],
            serde_json::json!([]),
            "{name}: nothing beyond the file"
        );
        assert_eq!(
            shown["console"],
            serde_json::json!([]),
            "{name}: no console message"
        );
        let hops = shown["hops"].as_array().unwrap();
        let path = evaluation["path"].as_array().unwrap();
        assert_eq!(
            hops.len(),
            path.len(),
            "{name}: every hop of the verdict is drawn"
        );
        assert!(hops.iter().all(|h| h["drawn"] == true), "{name}: {hops:?}");
        let blocked_hops: Vec<&str> = hops
            .iter()
            .filter(|h| h["status"] == "blocked")
            .filter_map(|h| h["hop"].as_str())
            .collect();
        assert!(blocked_hops.contains(&blocked), "{name}: {blocked_hops:?}");
        assert!(
            dir.join(format!("{name}.png")).is_file(),
            "{name}: a screenshot is saved"
        );
    }
}
