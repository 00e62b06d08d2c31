#!/usr/bin/env bash
# Interleaved comparison of two or more `tidemark` builds on one ingest load: the quick check
# BENCHMARKS.md uses for "what did this change do" before the full scripts/bench-ingest.sh.
#
# Usage: DATABASE_URL=postgres://... bash scripts/bench-ab.sh ROUNDS LOAD BINARY...
#   ROUNDS  how many times each binary is measured, in turn (A B A B ...: drift hits both)
#   LOAD    a  = 1 JSON event per request, 64 connections (run A's load)
#           b  = 1,000 NDJSON events per request, 16 connections (run B's load)
#   BINARY  paths of release builds, e.g. copies of .build-release/release/tidemark
# Env: DATABASE_URL  a PostgreSQL role that may create databases (`tidemark db start` prints one)
#      AB_SECONDS    seconds per measurement (default 12)
#
# Prints, per binary and round, requests/s and the server's CPU time per request (steadier
# than the rate on a shared machine), and fails on any non-2xx answer or socket error (a
# build that refuses fast must not look fast). Each measurement gets a new database, dropped
# afterwards. Everything talks to 127.0.0.1; every wait is bounded (wrk, psql, the server's
# start and stop); the trap stops only the server this script started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ $# -ge 3 ] || { sed -n '2,15p' "$0" >&2; exit 64; }
rounds=$1 load=$2
shift 2
admin_url=${DATABASE_URL:?set DATABASE_URL to a PostgreSQL role that may create databases}
seconds=${AB_SECONDS:-12}
export PGCONNECT_TIMEOUT=10
source scripts/lib/server-process.sh  # database_url, start_server, load_settings, trap_stop_load
load_settings "$load" || { echo "LOAD must be a or b" >&2; exit 64; }
for binary in "$@"; do [ -x "$binary" ] || { echo "not an executable: $binary" >&2; exit 66; }; done

# utime + stime of the running server, in clock ticks (/proc/PID/stat fields 14 and 15; the
# command name in field 2 is in parentheses and may hold spaces, so count from its end).
server_cpu_ticks() {
    sed 's/^.*) //' "/proc/$server_pid/stat" | awk '{ print $12 + $13 }'
}

server_pid="" database=""
log=$(mktemp)
trap_stop_load "$log"

for round in $(seq 1 "$rounds"); do
    for binary in "$@"; do
        database=ab_$(date +%s%N)
        psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $database"
        start_server "$binary" "$(database_url "$admin_url" "$database")" "$log" || exit 1
        occurred_at=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
        cpu_before=$(server_cpu_ticks)
        output=$(timeout $((seconds + 60)) wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 10s -s "$lua" \
            "http://127.0.0.1:$server_port/v1/events" -- "ab$round$(date +%s%N)" "$occurred_at") || { echo "wrk failed" >&2; exit 1; }
        cpu_after=$(server_cpu_ticks)
        stop_server
        psql "$admin_url" -X -q -c "DROP DATABASE $database WITH (FORCE)"
        database=""
        rate=$(awk '/Requests\/sec/ { print $2 }' <<<"$output")
        # common.lua's summary line: every answer must have been a 2xx and no socket may have failed.
        errors=$(sed -n 's/^BENCH .*non2xx=\([0-9]*\).*connect_err=\([0-9]*\) read_err=\([0-9]*\) write_err=\([0-9]*\) timeout_err=\([0-9]*\).*/\1 \2 \3 \4 \5/p' <<<"$output")
        [ -n "$rate" ] && [ -n "$errors" ] || { echo "$output" >&2; echo "could not read wrk's summary" >&2; exit 1; }
        if [ "$errors" != "0 0 0 0 0" ]; then
            echo "$output" >&2
            echo "round $round  $binary: failed requests (non2xx connect read write timeout: $errors)" >&2
            exit 1
        fi
        requests=$(sed -n 's/^BENCH requests=\([0-9]*\).*/\1/p' <<<"$output")
        # The server's own CPU time per request: steadier than the rate on a shared machine.
        cpu_us=$(awk -v ticks=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
            'BEGIN { printf "%.1f", (n > 0 ? ticks / hz * 1e6 / n : 0) }')
        echo "round $round  $binary  $rate requests/s  $cpu_us µs of server CPU per request"
    done
done
