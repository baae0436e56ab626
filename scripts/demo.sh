#!/usr/bin/env bash
# The seed scenario end to end on a local moto: build the article's world, send the task event
# through the CLI with --publish, print the verdict and the alert as received.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-tools.sh
cargo test --test demo
