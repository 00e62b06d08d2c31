#!/usr/bin/env bash
# Fuzzes a live server against its own OpenAPI document (docs/openapi.yaml, served at
# /openapi.yaml) with schemathesis: every answer must be below 500 and match the document
# (status, content type, headers, body schema). Starts a private PostgreSQL and a server with
# --no-auth, loads a small day of events and runs the batch once (so answers have rows from
# both layers), then stops both by PID / `db stop`. Exits non-zero on any failure.
# Usage: scripts/schemathesis.sh [extra `st run` arguments, e.g. --max-examples 200 --seed 7]
# Reports (JUnit) go to test-artifacts/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned so that a new release cannot change what the run checks; bump deliberately.
schemathesis_version=4.32.5
venv=.tidemark/schemathesis-venv
if [ "$("$venv/bin/st" --version 2>/dev/null || true)" != "st, version $schemathesis_version" ]; then
    python3 -c 'import venv, ensurepip' 2>/dev/null || scripts/install-deps.sh python3 python3-venv
    echo "installing schemathesis $schemathesis_version into $venv..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

scripts/install-deps.sh
swift build --product tidemark
bin=$(swift build --show-bin-path)/tidemark

work=$(mktemp -d -t tidemark-schemathesis.XXXXXX)
data_dir=$(scripts/data-dir.sh schemathesis)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; fi
    "$bin" db stop --data-dir "$data_dir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

database_url=$("$bin" db start --data-dir "$data_dir")
"$bin" serve --no-auth --port 0 --database-url "$database_url" --pipelines Pipelines --log-level warning >"$work/serve.log" 2>&1 &
server=$!
url=
for _ in $(seq 1 600); do
    url=$(grep -o 'tidemark listening on http://127.0.0.1:[0-9]*' "$work/serve.log" | grep -o 'http://.*' || true)
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start; its log:" >&2; cat "$work/serve.log" >&2; exit 1; }
for _ in $(seq 1 300); do
    curl -fs "$url/readyz" >/dev/null && break
    sleep 0.1
done

# Rows in the batch layer and above its watermark: yesterday's events (the generator's default
# day), so relative from/to such as -24h find some.
"$bin" generate --seed 1 --events-per-day 300 --stores 3 --products 20 -o "$work/batch.ndjson"
"$bin" load --url "$url" --quiet --log-level warning "$work/batch.ndjson"
"$bin" batch run --database-url "$database_url" --log-level warning >/dev/null
"$bin" generate --seed 2 --events-per-day 100 --stores 3 --products 20 -o "$work/speed.ndjson"
"$bin" load --url "$url" --quiet --log-level warning "$work/speed.ndjson"

mkdir -p test-artifacts/schemathesis
status=0
# `timeout` bounds the whole run; --max-examples bounds each operation.
SCHEMATHESIS_HOOKS=scripts/schemathesis_hooks.py timeout 240 "$venv/bin/st" run "$url/openapi.yaml" --url "$url" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples 100 --seed 1 --workers 2 --no-color --suppress-health-check too_slow \
    --report junit --report-junit-path test-artifacts/schemathesis/junit.xml "$@" || status=$?

if ! kill -0 "$server" 2>/dev/null; then
    echo "the server died during the run; its log:" >&2
    cat "$work/serve.log" >&2
    status=1
fi
if grep -q "request failed" "$work/serve.log"; then
    echo "the server logged failed requests:" >&2
    grep "request failed" "$work/serve.log" >&2
    status=1
fi
[ "$status" -eq 0 ] && echo "schemathesis: no server errors and no answer outside docs/openapi.yaml" >&2
exit "$status"
