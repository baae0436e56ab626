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
want="moto[server]==5.2.5 cfn-lint==1.58.0 aws-sam-cli==1.170.0 selenium==4.27.1"
if [ "${1:-}" = "--deploy" ]; then
  want="$want cargo-lambda==1.9.2"
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
  .venv/bin/pip install --quiet --disable-pip-version-check $want
  echo "$want" >> "$stamp"
fi
# Debian's Chromium and its WebDriver for the picture's browser test (tests/it/picture.rs),
# about 80 MB; as root only (the test says so plainly where they are missing).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: chromium/chromedriver are not installed (needs root): the browser test will say so" >&2
  fi
fi
