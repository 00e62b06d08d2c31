#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts the embedded PostgreSQL and the
# server, loads the sample day, and prints where to reach it. Ctrl-C stops what it started.
# Usage: scripts/run.sh            (TIDEMARK_PORT=8080 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
echo "building tidemark (release; the first build takes several minutes)..." >&2
swift build -c release --scratch-path .build-release --product tidemark >&2
bin=.build-release/release/tidemark

data_dir=$(scripts/data-dir.sh "")
started_database=no
"$bin" db status --data-dir "$data_dir" >/dev/null 2>&1 || started_database=yes
"$bin" db start --data-dir "$data_dir" >/dev/null

port=${TIDEMARK_PORT:-8080}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is taken; using a free one instead" >&2
    port=0
fi
log=$(mktemp -t tidemark-serve.XXXXXX)
"$bin" serve --data-dir "$data_dir" --port "$port" >"$log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    if [ "$started_database" = yes ]; then "$bin" db stop --data-dir "$data_dir" >/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 600); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start; its log:" >&2; cat "$log" >&2; exit 1; }

# A key for this session (only its digest is stored); `tidemark keys list|revoke` manage keys.
key=$("$bin" keys create --data-dir "$data_dir" --name "scripts/run.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)" --scope ingest,query --log-level warning)
"$bin" load --url "$url" --api-key "$key" sample-data/*.ndjson.gz
sample_day=$(basename "$(ls sample-data/*.ndjson.gz | head -1)" .ndjson.gz)
# The nightly job, once now: the batch layer takes over what the speed layer held.
"$bin" batch run --data-dir "$data_dir" --log-level warning

cat <<MSG

Tidemark is running at $url (log: $log)
  dashboard:     $url/dashboard?date=$sample_day   (sign in with the key below; today: $url/dashboard)
  API key:       $key   (ingest and query; send it as: Authorization: Bearer <key>)
  post events:   curl -X POST $url/v1/events -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \\
                   -d '{"id":"demo-1","type":"sale","occurred_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","store_id":"S01","product_id":"P00001","quantity":1,"unit_price_cents":250}'
  views:         curl -H "Authorization: Bearer $key" $url/v1/views
  queries (with the key):
  top products:  $url/v1/views/sales_by_product_hour?grain=all&group_by=product_id&order_by=-net_revenue_cents&limit=10
  per store/day: $url/v1/views/sales_by_store_day?format=csv
  daily report:  $url/v1/reports/daily?date=$sample_day&format=html
  stock:         $url/v1/stock?below=5
  batch runs:    $bin batch status --data-dir $data_dir
  health:        $url/healthz   $url/readyz
  database:      $("$bin" db status --data-dir "$data_dir" | sed 's/:[^:@]*@/:***@/')
Press Ctrl-C to stop.
MSG
wait "$server"
