#!/usr/bin/env bash
# Checks a live `aisha serve` against docs/aisha-api.openapi.yaml with schemathesis (PyPI): fails on any 5xx, any
# answer the description does not allow, and any request the description calls invalid that was accepted.
#
#   scripts/schemathesis.sh [--max-examples N] [extra `st run` options]
#
# It starts, in a temporary directory: aisha (SQLite + local files, role all, Telegram webhook mode), and
# scripts/schemathesis/fixtures.py — FAL's JWKS, a Telegram stub, and a proxy in front of aisha that signs FAL's
# webhooks and sets Telegram's secret token where a request carries well-formed credentials, so schemathesis
# reaches the parsers behind the signature check. Everything it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

max_examples=100
if [[ "${1:-}" == "--max-examples" ]]; then max_examples="$2"; shift 2; fi

python3 -c "import schemathesis, cryptography" 2>/dev/null || python3 -m pip install -q schemathesis cryptography
swift build --product aisha 2>&1 | grep -E "error|Compiling aisha|Build complete" || true
aisha_bin="$(swift build --show-bin-path)/aisha"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

read -r aisha_port fixtures_port proxy_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
secret="schemathesis-$RANDOM$RANDOM"

python3 scripts/schemathesis/fixtures.py --fixtures-port "$fixtures_port" --proxy-port "$proxy_port" \
  --upstream "http://127.0.0.1:$aisha_port" --telegram-secret "$secret" &
pids+=($!)
(
  cd "$work"
  exec env -i PATH="$PATH" HOME="$HOME" \
    TELEGRAM_BOT_TOKEN=1:schemathesis FAL_KEY=schemathesis HOST=127.0.0.1 PORT="$aisha_port" \
    TELEGRAM_MODE=webhook TELEGRAM_WEBHOOK_SECRET="$secret" TELEGRAM_API_BASE_URL="http://127.0.0.1:$fixtures_port" \
    FAL_JWKS_URL="http://127.0.0.1:$fixtures_port/jwks.json" FAL_QUEUE_BASE_URL="http://127.0.0.1:$fixtures_port/fal" \
    PUBLIC_BASE_URL="http://127.0.0.1:$proxy_port" LOG_LEVEL=warning \
    "$aisha_bin" serve > "$work/aisha.log" 2>&1
) &
pids+=($!)

for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$proxy_port/health" >/dev/null 2>&1 && break
  sleep 0.2
done

set +e
python3 -m schemathesis.cli run "$root/docs/aisha-api.openapi.yaml" --url "http://127.0.0.1:$proxy_port" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
  --max-examples "$max_examples" --seed 2026 --no-color --request-timeout 30 "$@"
status=$?
set -e
echo "How far the requests reached (aisha's /metrics):"
curl -fsS "http://127.0.0.1:$aisha_port/metrics" | grep -E "^aisha_(webhooks|telegram_calls)_total" | sed 's/^/  /' || true
if grep -qiE "fatal|crash" "$work/aisha.log"; then
  echo "aisha logged a crash:"; grep -iE "fatal|crash" "$work/aisha.log" | head -5; status=1
fi
exit $status
