#!/usr/bin/env bash
# The function under `cargo lambda watch`, invoked locally with the seed event, against the
# emulator (no Docker, no AWS account): starts moto, builds the seed world in it, starts the
# watcher on an explicit address, waits for it, invokes, prints the Evaluation, and stops
# everything it started. The first invoke compiles the function (minutes on a clean checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-tools.sh --deploy
VENV="$PWD/.venv/bin"
export PATH="$VENV:$PATH"

free_port() { "$VENV/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # port, what, seconds
  for _ in $(seq 1 "$3"); do
    if "$VENV/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  echo "error: $2 did not start on port $1" >&2
  return 1
}

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

moto_port=$(free_port)
setsid "$VENV/python3" tests/support/moto_server.py -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_for "$moto_port" "moto" 60
export ECS_INBOUND_GUARD_MOTO="http://127.0.0.1:$moto_port"
export AWS_ENDPOINT_URL="$ECS_INBOUND_GUARD_MOTO" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

echo "== building the seed world in moto ($ECS_INBOUND_GUARD_MOTO)"
cargo test --quiet --test demo -- --seed-world "$work/world.json" >/dev/null
"$VENV/python" -c 'import json,sys; w=json.load(open(sys.argv[1])); json.dump(w["event"], open(sys.argv[2], "w")); print(w["topicArn"])' \
  "$work/world.json" "$work/event.json" >"$work/topic"

invoke_port=$(free_port)
# --timeout: the first invoke waits for cargo lambda to compile the function, which rebuilds the
# dependencies under its own flags (over 5 minutes on a clean 2-core machine).
echo "== cargo lambda watch on 127.0.0.1:$invoke_port (the first invoke compiles the function)"
ALERT_TOPIC_ARN=$(cat "$work/topic") RUST_LOG=${RUST_LOG:-info} \
  setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$invoke_port" --timeout 1800 \
  >"$work/watch.log" 2>&1 &
pids+=($!)
wait_for "$invoke_port" "cargo lambda watch" 120

echo "== cargo lambda invoke ecs-inbound-guard-lambda --data-file <seed event>"
if ! cargo lambda invoke ecs-inbound-guard-lambda --invoke-address 127.0.0.1 --invoke-port "$invoke_port" \
  --data-file "$work/event.json" --output-format json >"$work/evaluation.json"; then
  echo "error: the invoke failed; the function's log:" >&2
  tail -n 40 "$work/watch.log" >&2
  exit 1
fi
cat "$work/evaluation.json"
echo
grep -q '"compliance": *"NON_COMPLIANT"' "$work/evaluation.json" || {
  echo "error: expected a NON_COMPLIANT Evaluation; watcher log: $work/watch.log" >&2
  cat "$work/watch.log" >&2
  exit 1
}
echo "== local invoke passed: NON_COMPLIANT"
