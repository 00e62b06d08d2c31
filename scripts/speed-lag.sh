#!/usr/bin/env bash
# How far the speed layer trails the raw log under run A's or run B's load: every 200 ms it
# takes the speed layer's tail (`/metrics`), then the log's highest `seq` (PostgreSQL), and
# prints the median and the largest gap in events; then the group commit's transactions, with
# their average events and commit time (from `/metrics`). BENCHMARKS.md's freshness and
# commit-time figures come from it.
#
# Usage: DATABASE_URL=postgres://... bash scripts/speed-lag.sh a|b [BINARY]
#   a  1 JSON event per request, 64 connections;  b  1,000 NDJSON events per request, 16
#   BINARY defaults to .build-release/release/tidemark (`swift build -c release --scratch-path .build-release`)
# Env: DATABASE_URL  a PostgreSQL role that may create databases (`tidemark db start` prints one)
#      LAG_SECONDS   seconds of load (default 12; samples start after 2 s)
#
# Talks to 127.0.0.1 only; every wait is bounded; stops only the server it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib/server-process.sh  # load_script_arguments, database_url, start_server, trap_stop_load
load_script_arguments "$0" "$@"
seconds=${LAG_SECONDS:-12}
scripts/install-deps.sh wrk

server_pid="" database="" wrk_pid=""
log=$(mktemp)
trap_stop_load "$log" "$log.wrk" "$log.lag"

database=lag_$(date +%s%N)
psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $database"
url=$(database_url "$admin_url" "$database")
start_server "$binary" "$url" "$log"

occurred_at=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
timeout $((seconds + 60)) wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 10s -s "$lua" "http://127.0.0.1:$server_port/v1/events" \
    -- "lag$(date +%s%N)" "$occurred_at" >"$log.wrk" 2>&1 &
wrk_pid=$!
sleep 2
: >"$log.lag"
end=$((SECONDS + seconds - 3))
while [ "$SECONDS" -lt "$end" ]; do
    # The tail first: events logged while the log is asked count as lag (errs high, not low).
    tail=$(timeout 10 curl -sf "http://127.0.0.1:$server_port/metrics" | awk '/^tidemark_speed_tail_seq / { printf "%d", $2 }' || true)
    logged=$(timeout 10 psql "$url" -X -A -t -c "SELECT coalesce(max(seq), 0) FROM events" || true)
    [ -n "$logged" ] && [ -n "$tail" ] && echo $((logged > tail ? logged - tail : 0)) >>"$log.lag"
    sleep 0.2
done
wait "$wrk_pid" || true
wrk_pid=""
grep -E "Requests/sec" "$log.wrk" || true
timeout 10 curl -sf "http://127.0.0.1:$server_port/metrics" | awk '
    /^tidemark_group_commit_batch_events_(sum|count) / { b[$1] = $2 }
    /^tidemark_group_commit_duration_seconds_(sum|count) / { d[$1] = $2 }
    END {
        n = b["tidemark_group_commit_batch_events_count"]
        if (n > 0) printf "group commit: %d transactions, %.0f events and %.2f ms each on average\n", n,
            b["tidemark_group_commit_batch_events_sum"] / n, 1000 * d["tidemark_group_commit_duration_seconds_sum"] / d["tidemark_group_commit_duration_seconds_count"] }' || true
sort -n "$log.lag" | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "no samples"; exit 1 }
    printf "speed layer behind the log: median %d events, max %d events (%d samples)\n", v[int((NR + 1) / 2)], v[NR], NR }'
