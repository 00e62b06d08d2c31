#!/usr/bin/env bash
# Reproducible ingest benchmark of POST /v1/events, measured against two PostgreSQL baselines.
#
#   Run A  wrk, 1 JSON event per request, 64 connections        vs  pgbench, 1 INSERT + commit per event
#   Run B  wrk, 1,000 NDJSON events per request, 16 connections  vs  psql \copy of the same rows
#
# Usage: bash scripts/bench-ingest.sh
# Env:   BENCH_DURATION  seconds per wrk / pgbench run (default 20; change only for smoke tests)
#        BENCH_PAIRS     run A and pgbench this many times, alternately (default 3); the table
#                        shows the pair with the median ratio, and every pair is listed: the
#                        machine is shared, and the two rates drift within minutes
#        BENCH_BREAKDOWN=1  also time run A's path in parts on one server: GET /healthz, an event
#                           validation refuses (400), and a repeated id (a commit storing nothing)
#        KEEP_DATABASES=1  keep the bench_* databases instead of dropping them at the end
#
# Writes bench-results/ingest-<timestamp>.md (and logs in bench-results/ingest-<timestamp>.logs/).
# Everything talks to 127.0.0.1 only, every step is bounded in time, and the trap below stops
# exactly what this script started (by PID, or the embedded cluster by its data directory).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
invocation="bash scripts/bench-ingest.sh${*:+ $*}"
[ -n "${BENCH_DURATION:-}" ] && invocation="BENCH_DURATION=$BENCH_DURATION $invocation"
[ -n "${KEEP_DATABASES:-}" ] && invocation="KEEP_DATABASES=$KEEP_DATABASES $invocation"
[ -n "${BENCH_BREAKDOWN:-}" ] && invocation="BENCH_BREAKDOWN=$BENCH_BREAKDOWN $invocation"
[ -n "${BENCH_PAIRS:-}" ] && invocation="BENCH_PAIRS=$BENCH_PAIRS $invocation"

DURATION=${BENCH_DURATION:-20}
PAIRS=${BENCH_PAIRS:-3}
[[ $PAIRS =~ ^[1-9][0-9]?$ ]] || { echo "BENCH_PAIRS must be a number from 1 to 99, got $PAIRS" >&2; exit 64; }
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DB_SUFFIX=$(date -u +%Y%m%d_%H%M%S)
RESULTS_DIR=bench-results
RESULT_FILE=$RESULTS_DIR/ingest-$STAMP.md
LOG_DIR=$RESULTS_DIR/ingest-$STAMP.logs
LUA_DIR=Benchmarks/ingest
# occurred_at one hour before now rather than a fixed date: the server refuses events more than
# 5 minutes in its future, so a fixed date would break the benchmark on a machine whose clock is behind.
OCCURRED_AT=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
COLUMNS_LIST="id, type, occurred_at, store_id, product_id, quantity, unit_price_cents, price_cents, stock_kind, category, customer_id, order_id, channel, currency"

mkdir -p "$LOG_DIR"
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench-ingest: FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- cleanup of what we started
server_pid=""
sampler_pid=""
pg_started_here=0
data_dir=""
admin_url=""
created_dbs=()
copy_file=""

source scripts/lib/server-process.sh  # database_url, start_server, stop_server

cleanup() {
    local status=$?
    set +e
    [ -n "$sampler_pid" ] && { kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; }
    stop_server
    [ -n "$copy_file" ] && rm -f "$copy_file"
    if [ -n "$admin_url" ] && [ "${KEEP_DATABASES:-0}" != 1 ]; then
        for db in "${created_dbs[@]}"; do
            psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 \
                || echo "could not drop database $db" >&2
        done
    fi
    if [ "$pg_started_here" = 1 ]; then
        "$BIN/tidemark" db stop --data-dir "$data_dir" --log-level warning >/dev/null || echo "could not stop the embedded PostgreSQL in $data_dir" >&2
    fi
    [ "$status" -ne 0 ] && echo "bench-ingest: exit status $status; logs in $LOG_DIR" >&2
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
q() { # URL SQL -> unaligned result
    psql "$1" -X -q -A -t -v ON_ERROR_STOP=1 -c "$2"
}

# Not called as $(create_db ...): in that subshell the name would never reach created_dbs,
# and cleanup would leave the database behind.
create_db() { # NAME [migrate] -> sets new_db_url; the database is dropped again by cleanup
    local name=$1
    q "$admin_url" "CREATE DATABASE $name" >/dev/null
    created_dbs+=("$name")
    new_db_url=$(database_url "$admin_url" "$name")
    if [ "${2:-}" = migrate ]; then
        "$BIN/tidemark" migrate --database-url "$new_db_url" --log-level warning >&2
    fi
}

start_server_at() { # URL LOGFILE -> sets server_pid and server_port
    start_server "$BIN/tidemark" "$1" "$2" || die "the server did not start"
}

sample_cpu() { # LABEL: one 3-second CPU snapshot in the middle of a run, to see who is saturated
    sleep $((DURATION / 2))
    # The first top frame shows averages since process start; the second one is the interval.
    top -b -n 2 -d 3 -w 200 | awk '/^top -/ { frame++ } frame == 2' | sed -n '1,5p;7,16p' >"$LOG_DIR/top-$1.txt"
}

start_sampler() { sample_cpu "$1" & sampler_pid=$!; }
finish_sampler() {
    [ -n "$sampler_pid" ] && wait "$sampler_pid" || true
    sampler_pid=""
    echo "CPU during run $1 (top, 3 s in the middle of the run):" >&2
    sed -n '3p;6,14p' "$LOG_DIR/top-$1.txt" >&2 || true
}

commit_stats() { # URL LABEL -> prints a note: transactions committed in that database, events per commit
    # The group commit's batch size explains most of run A's and B's figures. Read once the
    # server has stopped (its backends flush their statistics when they exit).
    local url=$1 label=$2 commits rows
    sleep 1
    commits=$(q "$url" "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    rows=$(q "$url" "SELECT count(*) FROM events")
    awk -v c="$commits" -v r="$rows" -v l="$label" \
        'BEGIN { printf "run %s: %d transactions committed in its database, about %.0f events per commit\n", l, c, r / c }'
}

field() { # NAME LINE -> value of NAME=value in a "BENCH k=v ..." line
    sed -n "s/.* $1=\([0-9][0-9]*\).*/\1/p" <<<"$2"
}

# run_wrk LABEL LUA CONNECTIONS EVENTS_PER_REQUEST DB_URL
# Sets: r_eps, r_p50_ms, r_p99_ms, r_rps. Fails on any non-2xx answer, socket error or row-count mismatch.
run_wrk() {
    local label=$1 lua=$2 connections=$3 per_request=$4 url=$5
    local out=$LOG_DIR/wrk-$label.txt
    local cmd=(wrk -t 2 -c "$connections" -d "${DURATION}s" --timeout 10s --latency -s "$LUA_DIR/$lua"
        "http://127.0.0.1:$server_port/v1/events" -- "$label$DB_SUFFIX" "$OCCURRED_AT")
    wrk_commands+=("${cmd[*]}")
    q "$url" "CHECKPOINT" >/dev/null # start from a clean checkpoint, as the baselines do
    start_sampler "$label"
    # timeout: wrk stops by itself after DURATION; this only guards against a hang.
    timeout $((DURATION + 60)) "${cmd[@]}" | tee "$out" >&2
    finish_sampler "$label"

    local line
    line=$(grep '^BENCH ' "$out") || die "run $label: wrk printed no BENCH summary (see $out)"
    local requests duration_us non2xx sent p50 p99 socket_errors
    requests=$(field requests "$line"); duration_us=$(field duration_us "$line"); non2xx=$(field non2xx "$line")
    sent=$(field sent "$line"); p50=$(field p50_us "$line"); p99=$(field p99_us "$line")
    socket_errors=$(($(field connect_err "$line") + $(field read_err "$line") + $(field write_err "$line") + $(field timeout_err "$line")))
    if [ "$non2xx" -ne 0 ] || [ "$socket_errors" -ne 0 ]; then
        grep '^BENCH_FIRST_ERROR' "$out" >&2 || true
        tail -n 20 "$LOG_DIR/server-$label.log" >&2 || true
        die "run $label: $non2xx non-2xx answers and $socket_errors socket errors/timeouts out of $requests requests"
    fi

    # Every acknowledged event must be in the raw log, once. wrk stops mid-flight: requests it
    # had sent but not seen answered when time ran out (sent - requests, at most one per
    # connection) may also have been committed, so they are the only tolerated surplus.
    local ok2xx=$((requests - non2xx))
    local expected=$((ok2xx * per_request))
    local inflight=$((sent - requests))
    local stored
    stored=$(q "$url" "SELECT count(*) FROM events")
    echo "run $label: rows in events = $stored; 2xx requests x events/request = $ok2xx x $per_request = $expected" >&2
    if [ "$stored" -ne "$expected" ]; then
        local surplus=$((stored - expected))
        if [ "$surplus" -gt 0 ] && [ $((surplus % per_request)) -eq 0 ] && [ $((surplus / per_request)) -le "$inflight" ]; then
            echo "run $label: the $((surplus / per_request)) extra request(s) were in flight when wrk stopped ($inflight unanswered at stop); not an error" >&2
        else
            die "run $label: stored $stored rows but $expected were acknowledged ($inflight requests in flight at stop)"
        fi
    fi
    local dups
    dups=$(q "$url" "SELECT count(*) - count(DISTINCT id) FROM events")
    [ "$dups" -eq 0 ] || die "run $label: $dups duplicate ids in events"

    r_rps=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.1f", r / (d / 1e6) }')
    r_eps=$(awk -v r="$requests" -v d="$duration_us" -v n="$per_request" 'BEGIN { printf "%.0f", r * n / (d / 1e6) }')
    r_p50_ms=$(awk -v v="$p50" 'BEGIN { printf "%.2f", v / 1000 }')
    r_p99_ms=$(awk -v v="$p99" 'BEGIN { printf "%.2f", v / 1000 }')
    echo "run $label: $r_rps requests/s = $r_eps events/s, p50 $r_p50_ms ms, p99 $r_p99_ms ms" >&2
}

# ---------------------------------------------------------------- prerequisites and build
log "dependencies (wrk, PostgreSQL client tools)"
scripts/install-deps.sh wrk
for tool in wrk psql pgbench top timeout; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

log "release build (.build-release, so the debug .build used for development is left alone)"
# Compiler output goes to stderr so that stdout carries nothing but the results table.
swift build -c release --scratch-path .build-release >&2
BIN=$(swift build -c release --scratch-path .build-release --show-bin-path)
[ -x "$BIN/tidemark" ] || die "no tidemark binary in $BIN"

log "embedded PostgreSQL for benchmarks"
data_dir=$(scripts/data-dir.sh bench)
status=$("$BIN/tidemark" db status --data-dir "$data_dir" --log-level warning 2>/dev/null || true)
# Stop it at the end only if it was not already running (someone else may be using it).
[ "$status" = "not running" ] && pg_started_here=1
admin_url=$("$BIN/tidemark" db start --data-dir "$data_dir" --log-level warning | tail -n 1)
[[ $admin_url == postgres://* ]] || die "db start did not print a postgres:// URL"
pg_version=$(q "$admin_url" "SHOW server_version")
echo "PostgreSQL $pg_version in $data_dir (started by this script: $pg_started_here)" >&2

wrk_commands=()

# ---------------------------------------------------------------- baseline 2: pgbench, 1 commit per event
pgbench_cmd=(pgbench -n -c 64 -j 2 -T "$DURATION" -f "$LUA_DIR/pgbench-insert.sql")
# run_pgbench LABEL -> sets r_tps, r_latency_ms. Fails unless every reported transaction stored its row.
run_pgbench() {
    local label=$1 out=$LOG_DIR/pgbench-$1.txt
    log "baseline pgbench ($label): one INSERT and commit per event, 64 clients, 2 threads, ${DURATION}s"
    create_db "bench_${DB_SUFFIX}_$label" migrate
    local url=$new_db_url
    q "$url" "CHECKPOINT" >/dev/null
    start_sampler "$label"
    timeout $((DURATION + 60)) "${pgbench_cmd[@]}" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "pgbench failed"; }
    finish_sampler "$label"
    grep -E '^(number of (transactions|failed)|latency average|tps)' "$out" >&2 || true
    r_tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")
    [ -n "$r_tps" ] || die "no tps line in pgbench output"
    r_tps=$(awk -v t="$r_tps" 'BEGIN { printf "%.0f", t }')
    r_latency_ms=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out")
    local tx rows
    tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    rows=$(q "$url" "SELECT count(*) FROM events")
    echo "pgbench $label: $rows rows in events, $tx transactions reported" >&2
    [ "$rows" -eq "$tx" ] || die "pgbench reported $tx transactions but events holds $rows rows"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# ---------------------------------------------------------------- run A: 1 event per request, in pairs with pgbench
# Each pair runs A, then pgbench, back to back, so that both see about the same machine.
pairs=()  # "ratio a_eps a_p50 a_p99 pg_tps pg_latency commits" per pair
for pair in $(seq 1 "$PAIRS"); do
    log "run A (pair $pair of $PAIRS): 1 JSON event per request, 64 connections, 2 threads, ${DURATION}s"
    create_db "bench_${DB_SUFFIX}_a$pair"
    url_a=$new_db_url
    start_server_at "$url_a" "$LOG_DIR/server-A$pair.log"
    run_wrk "A$pair" one-event.lua 64 1 "$url_a"
    pair_eps=$r_eps pair_p50=$r_p50_ms pair_p99=$r_p99_ms
    stop_server
    pair_commits=$(commit_stats "$url_a" "A$pair")
    echo "$pair_commits" >&2
    run_pgbench "pgbench$pair"
    pairs+=("$(ratio "$pair_eps" "$r_tps") $pair_eps $pair_p50 $pair_p99 $r_tps $r_latency_ms $pair_commits")
done
# The pair with the median ratio (the lower middle one for an even count).
median_pair=$(printf '%s\n' "${pairs[@]}" | sort -n -k1,1 | sed -n "$(((PAIRS + 1) / 2))p")
read -r ratio_a a_eps a_p50 a_p99 pg_tps pg_latency a_commits <<<"$median_pair"
pairs_list=$(printf '%s\n' "${pairs[@]}" | awk '{ printf "%s%sx (%s / %s, p99 %s ms)", (NR > 1 ? ", " : ""), $1, $2, $5, $4 }')
# The latency target must hold in every pair, not only in the median one.
worst_p99=$(printf '%s\n' "${pairs[@]}" | awk '$4 > m { m = $4 } END { print m }')
echo "A / pgbench pairs: $pairs_list; median ${ratio_a}x; worst p99 $worst_p99 ms" >&2

# ---------------------------------------------------------------- optional: run A's path in parts
# Requests/s of the same 64 connections on one server, each part stopping earlier on the path
# than run A: where A's time goes (HTTP alone, then decoding and validation, then the group
# commit's round trip to PostgreSQL; A adds the stored rows and the speed layer folding them).
breakdown_table=""
if [ "${BENCH_BREAKDOWN:-0}" = 1 ]; then
    log "breakdown of run A: 64 connections, ${DURATION}s per part"
    create_db "bench_${DB_SUFFIX}_parts"
    url_parts=$new_db_url
    start_server_at "$url_parts" "$LOG_DIR/server-parts.log"
    part_rate() { # LABEL PATH [QUANTITY of the event same-event.lua posts] -> requests/s
        local label=$1 path=$2 quantity=${3:-}
        local cmd=(wrk -t 2 -c 64 -d "${DURATION}s" --timeout 10s --latency)
        [ -n "$quantity" ] && cmd+=(-s "$LUA_DIR/same-event.lua")
        cmd+=("http://127.0.0.1:$server_port$path")
        [ -n "$quantity" ] && cmd+=(-- "$OCCURRED_AT" "$quantity")
        wrk_commands+=("${cmd[*]}")
        timeout $((DURATION + 60)) "${cmd[@]}" >"$LOG_DIR/wrk-part-$label.txt" 2>&1 || die "breakdown $label: wrk failed"
        sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$LOG_DIR/wrk-part-$label.txt" | awk '{ printf "%.0f", $1 }'
    }
    part_healthz=$(part_rate healthz /healthz)
    part_invalid=$(part_rate invalid /v1/events 0)
    grep -q "Non-2xx" "$LOG_DIR/wrk-part-invalid.txt" || die "breakdown: the invalid event was not refused"
    part_duplicate=$(part_rate duplicate /v1/events 1)
    ! grep -q "Non-2xx" "$LOG_DIR/wrk-part-duplicate.txt" || die "breakdown: the repeated event was refused"
    stop_server
    parts_stored=$(q "$url_parts" "SELECT count(*) FROM events")
    [ "$parts_stored" -eq 1 ] || die "breakdown: $parts_stored rows stored, expected the one repeated event"
    breakdown_table=$(
        cat <<EOF

| run A's path, 64 connections, one server | requests/s |
|---|---:|
| GET /healthz | $part_healthz |
| POST one event that validation refuses (400) | $part_invalid |
| POST one event already stored (group commit, nothing written) | $part_duplicate |
| run A: POST one new event (its own server, above) | $a_eps |
EOF
    )
fi

# ---------------------------------------------------------------- run B: 1,000 events per request
log "run B: 1,000 NDJSON events per request, 16 connections, 2 threads, ${DURATION}s"
create_db "bench_${DB_SUFFIX}_b"
url_b=$new_db_url
start_server_at "$url_b" "$LOG_DIR/server-B.log"
run_wrk B ndjson-1000.lua 16 1000 "$url_b"
b_eps=$r_eps b_p50=$r_p50_ms b_p99=$r_p99_ms
stop_server
b_commits=$(commit_stats "$url_b" B)
echo "$b_commits" >&2

# ---------------------------------------------------------------- baseline 1: COPY of run B's rows
log "baseline COPY: psql \\copy of run B's rows into a fresh migrated database"
copy_file=$LOG_DIR/events-copy.tsv
psql "$url_b" -X -q -v ON_ERROR_STOP=1 -c "COPY (SELECT $COLUMNS_LIST FROM events) TO STDOUT" >"$copy_file"
copy_rows=$(wc -l <"$copy_file")
create_db "bench_${DB_SUFFIX}_copy" migrate
url_c=$new_db_url
q "$url_c" "CHECKPOINT" >/dev/null
t0=$(date +%s.%N)
timeout 600 psql "$url_c" -X -q -v ON_ERROR_STOP=1 -c "\\copy events($COLUMNS_LIST) FROM '$copy_file'"
t1=$(date +%s.%N)
copied=$(q "$url_c" "SELECT count(*) FROM events")
[ "$copied" -eq "$copy_rows" ] || die "COPY stored $copied rows of $copy_rows"
copy_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
copy_rps=$(awk -v n="$copy_rows" -v s="$copy_seconds" 'BEGIN { printf "%.0f", n / s }')
echo "COPY: $copy_rows rows in $copy_seconds s = $copy_rps rows/s" >&2
rm -f "$copy_file"
copy_file=""

# ---------------------------------------------------------------- report
ratio_b=$(ratio "$b_eps" "$copy_rps")
met_a=$(awk -v r="$ratio_a" -v p="$worst_p99" 'BEGIN { print (r >= 1.5 && p < 50) ? "yes" : "NO" }')
met_b=$(awk -v r="$ratio_b" 'BEGIN { print (r >= 0.5) ? "yes" : "NO" }')

table=$(
    cat <<EOF
| run | events/s | p50 | p99 | baseline | ratio | target | met |
|---|---:|---:|---:|---|---:|---|---|
| A: wrk, 1 JSON event/request, 64 conn (median of $PAIRS pairs) | $a_eps | $a_p50 ms | $a_p99 ms | pgbench | ${ratio_a}x | >= 1.5x and p99 < 50 ms (worst pair: $worst_p99 ms) | $met_a |
| B: wrk, 1,000 NDJSON events/request, 16 conn | $b_eps | $b_p50 ms | $b_p99 ms | COPY | ${ratio_b}x | >= 0.5x | $met_b |
| baseline pgbench: INSERT + commit per event, 64 clients (same pair) | $pg_tps | avg $pg_latency ms | - | - | - | - | - |
| baseline COPY: psql \\copy of run B's $copy_rows rows | $copy_rps | - | - | - | - | - | - |
EOF
)

{
    echo "# Ingest benchmark, $STAMP"
    echo
    echo "$table"
    echo "$breakdown_table"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- nproc: $(nproc)"
    echo "- PostgreSQL: $pg_version (embedded cluster in $data_dir)"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ' (Sources modified)')"
    echo "- command: \`$invocation\`"
    echo "- run length: ${DURATION}s per wrk/pgbench run; COPY of $copy_rows rows took ${copy_seconds}s"
    echo "- A / pgbench pairs, in order (ratio, A events/s / pgbench tps): $pairs_list"
    for command in "${wrk_commands[@]}"; do echo "- wrk: \`$command\`"; done
    echo "- pgbench: \`${pgbench_cmd[*]} <database URL>\`"
    echo "- $a_commits"
    echo "- $b_commits"
    echo "- logs and CPU snapshots: $LOG_DIR/"
} >"$RESULT_FILE"

log "results (also in $RESULT_FILE)"
echo "$table"
[ -z "$breakdown_table" ] || echo "$breakdown_table"
