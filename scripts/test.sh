#!/usr/bin/env bash
# Runs every check: formatting, clippy (warnings are errors), unit tests of the rules and the
# engine, the fake-reader tests, integration tests against moto (started by the test harness),
# the Lambda binary against a local Runtime API, the CLI as a process, the template checks
# (cfn-lint, sam validate --lint, least privilege), the architecture tests and the seed demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-tools.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test "$@"
