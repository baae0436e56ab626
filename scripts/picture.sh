#!/usr/bin/env bash
# The README's picture, made from the demo world (never drawn by hand): builds the seed world
# in moto, renders `check --format html` and screenshots it in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-tools.sh
cargo test --test demo -- --picture "${1:-docs/picture.png}"
