#!/usr/bin/env bash
# Benchmarks (release build, against a local moto): calls and round trips per check, warm
# checks, a 500-task deploy, Lambda init time, peak RSS, binary size; then the deploy burst in
# the deployed shape (SQS batches; BURST_LARGE=1 adds the 5,000-task deploy). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-tools.sh
cargo bench --bench checker
cargo bench --bench burst
