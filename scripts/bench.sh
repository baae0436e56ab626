#!/usr/bin/env bash
# Benchmarks (release build, against a local moto): calls and round trips per check, warm
# checks, a 500-task deploy, Lambda init time, peak RSS, binary size. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-tools.sh
cargo bench --bench checker
