//! Every `console` block of the README runs as shown (trycmd): the commands that need no AWS,
//! their output and their exit codes. Blocks that need an account are `sh` blocks marked so.
//! The sample alert in the README is checked against the code in `tests/it/docs.rs`.

#[test]
fn readme_console_blocks_run_as_shown() {
    trycmd::TestCases::new()
        .register_bin(
            "ecs-inbound-guard",
            trycmd::cargo::cargo_bin!("ecs-inbound-guard"),
        )
        .case("README.md");
}

#[test]
fn every_command_block_is_run_or_marked_as_needing_aws() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(lang) = line.strip_prefix("```") else {
                continue;
            };
            let block: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            if matches!(lang.trim(), "sh" | "bash" | "shell") {
                assert!(
                    block
                        .first()
                        .is_some_and(|l| l.starts_with("# needs an AWS account")),
                    "{}: a shell block that is not run must say it needs an AWS account: {block:?}",
                    file.display()
                );
            }
        }
    }
}
