#!/usr/bin/env bash
# The deploy artefact exactly as the README's deploy steps make it: `sam build` (BuildMethod
# rust-cargolambda: cargo-lambda with zig cross-builds the release arm64 binary) into
# .aws-sam/build/CheckerFunction/bootstrap. Works offline once the tools are installed: the
# crates come from crates.io, cargo-lambda and zig from PyPI. Takes ~9 min on 2 cores clean.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-tools.sh --deploy
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0 sam build
ls -l .aws-sam/build/CheckerFunction/bootstrap
