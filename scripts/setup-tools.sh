#!/usr/bin/env bash
# Installs the Python tools into ./.venv (gitignored): moto's standalone server (the AWS
# emulator), cfn-lint and the SAM CLI (template checks). With --deploy also cargo-lambda (it
# brings zig for the arm64 cross build used by `sam build` and for local invoke).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
want="moto[server]==5.2.5 cfn-lint==1.58.0 aws-sam-cli==1.170.0"
if [ "${1:-}" = "--deploy" ]; then
  want="$want cargo-lambda==1.9.2"
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
  .venv/bin/pip install --quiet --disable-pip-version-check $want
  echo "$want" >> "$stamp"
fi
