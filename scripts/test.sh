#!/usr/bin/env bash
# Runs every test: unit tests of the rules, integration tests against moto (started by the
# test harness), the Lambda binary against a local Runtime API, the CLI as a process, the
# template checks (cfn-lint, sam validate --lint, least privilege) and the seed demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-tools.sh
cargo fmt --all -- --check
cargo test "$@"
