#!/usr/bin/env bash
# Where the machine's CPU goes during run A's or run B's load: a system-wide `perf record -a`
# while one build serves the load, then the share of every process (the server's threads,
# PostgreSQL, wrk, idle) and PostgreSQL's heaviest functions. The "share of the machine"
# figures in BENCHMARKS.md come from it.
#
# Usage: DATABASE_URL=postgres://... bash scripts/profile-ingest.sh a|b [BINARY]
#   a  1 JSON event per request, 64 connections;  b  1,000 NDJSON events per request, 16
#   BINARY defaults to .build-release/release/tidemark (`swift build -c release --scratch-path .build-release`)
# Env: DATABASE_URL     a PostgreSQL role that may create databases (`tidemark db start` prints one)
#      PROFILE_SECONDS  seconds recorded (default 10), after 5 s of warm-up, of a 20 s load
#
# Writes bench-results/profile-<load>-<timestamp>.{data,txt}. Talks to 127.0.0.1 only; every
# wait is bounded; stops only the server it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib/server-process.sh  # load_script_arguments, database_url, start_server, trap_stop_load
load_script_arguments "$0" "$@"
seconds=${PROFILE_SECONDS:-10}
scripts/install-deps.sh wrk linux-perf

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench-results
data=bench-results/profile-$load-$stamp.data
report=bench-results/profile-$load-$stamp.txt
server_pid="" database="" wrk_pid=""
log=$(mktemp)
trap_stop_load "$log"

database=profile_$(date +%s%N)
psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $database"
start_server "$binary" "$(database_url "$admin_url" "$database")" "$log"

occurred_at=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
timeout 120 wrk -t 2 -c "$connections" -d "$((seconds + 10))s" --timeout 10s -s "$lua" "http://127.0.0.1:$server_port/v1/events" \
    -- "profile$(date +%s%N)" "$occurred_at" >"$log.wrk" 2>&1 &
wrk_pid=$!
sleep 5
perf record -a -F 499 -g -o "$data" -- sleep "$seconds" >/dev/null 2>&1
wait "$wrk_pid" || true
wrk_pid=""
{
    echo "# $load load, $(basename "$binary"), $(date -u +%FT%TZ)"
    grep -E "Requests/sec|^BENCH " "$log.wrk" || true
    echo
    echo "## share of the machine (both cores) by thread name"
    perf report -i "$data" --no-children --sort comm --stdio -g none 2>/dev/null | grep '%' | sed -n '1,12p' || true
    echo
    echo "## PostgreSQL: heaviest functions, callees included"
    perf report -i "$data" --comm postgres --children --sort sym --stdio -g none 2>/dev/null | grep '%' | grep -v '\] 0x' | sed -n '1,30p' || true
} >"$report"
rm -f "$log.wrk"
cat "$report"
echo "report: $report; raw samples: $data (perf report -i $data)" >&2
