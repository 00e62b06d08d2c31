#!/usr/bin/env bash
# Reproducible benchmark of the batch, speed and serving layers over ~10 million events.
#
#   1. Speed layer memory: resident memory growth of `tidemark serve` per million events held
#      above the watermark (the first history chunk, before any batch run).
#   2. `tidemark batch run --full` over the whole history, against the hand-written
#      GROUP BY of the same view (sales_by_product_hour) in the same PostgreSQL.
#   3. The nightly incremental run over one new day, against that full run.
#   4. wrk, 16 connections: top-10 products by net revenue over the last 24 h, with the
#      history behind it, once while the speed layer holds the new day and once after the
#      nightly run.
#
# Usage: bash scripts/bench-batch.sh
# Env:   BENCH_EVENTS    history size (default 10000000; smaller only for smoke tests)
#        BENCH_DURATION  seconds per wrk run (default 20)
#        KEEP_DATABASES=1  keep the bench database
#
# Writes bench-results/batch-<timestamp>.md and logs next to it. Talks to 127.0.0.1 only; every
# step is bounded in time; the trap stops exactly what this script started.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
EVENTS=${BENCH_EVENTS:-10000000}
DURATION=${BENCH_DURATION:-20}
PER_DAY=50000
# The generator's days average about 45,000 events (weekends are quieter).
EVENTS_PER_DAY_SEEN=45000
CHUNKS=4
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DB_NAME=bench_batch_$(date -u +%Y%m%d_%H%M%S)
RESULT_FILE=bench-results/batch-$STAMP.md
LOG_DIR=bench-results/batch-$STAMP.logs
invocation="bash scripts/bench-batch.sh"
[ -n "${BENCH_EVENTS:-}" ] && invocation="BENCH_EVENTS=$BENCH_EVENTS $invocation"
mkdir -p "$LOG_DIR"
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench-batch: FAILED: %s\n' "$*" >&2; exit 1; }

server_pid=""
pg_started_here=0
data_dir=""
admin_url=""
db_created=0

source scripts/lib/server-process.sh  # start_server, stop_server

cleanup() {
    local status=$?
    set +e
    stop_server
    rm -f "$LOG_DIR"/*.ndjson.gz
    if [ "$db_created" = 1 ] && [ "${KEEP_DATABASES:-0}" != 1 ]; then
        psql "$admin_url" -X -q -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || echo "could not drop $DB_NAME" >&2
    fi
    if [ "$pg_started_here" = 1 ]; then
        "$BIN/tidemark" db stop --data-dir "$data_dir" --log-level warning >/dev/null || echo "could not stop PostgreSQL in $data_dir" >&2
    fi
    [ "$status" -ne 0 ] && echo "bench-batch: exit status $status; logs in $LOG_DIR" >&2
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

q() { psql "$1" -X -q -A -t -v ON_ERROR_STOP=1 -c "$2"; }
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Waits until the server's speed layer has folded every event of the raw log.
wait_speed_caught_up() {
    local want got
    want=$(q "$db_url" "SELECT count(*) FROM events WHERE type <> 'price' AND seq > coalesce((SELECT watermark FROM tidemark_batch_views WHERE view = 'stock_levels'), 0)")
    for _ in $(seq 1 600); do
        got=$(curl -s "http://127.0.0.1:$server_port/v1/views/stock_levels?group_by=&limit=1" | sed -n 's/.*"speed_events":\([0-9]*\).*/\1/p')
        [ "$got" = "$want" ] && return 0
        sleep 0.5
    done
    die "the speed layer did not catch up ($got of $want events) within 300 s"
}

batch_run() { # LABEL [--full] -> sets run_seconds; progress in the log
    local label=$1
    shift
    local t0 t1
    t0=$(now)
    timeout 3600 "$BIN/tidemark" batch run --database-url "$db_url" --log-level warning "$@" >"$LOG_DIR/batch-$label.out" 2>"$LOG_DIR/batch-$label.log" \
        || { cat "$LOG_DIR/batch-$label.log" >&2; die "batch run $label failed"; }
    t1=$(now)
    run_seconds=$(seconds "$t0" "$t1")
    echo "batch run $label: $run_seconds s ($(cat "$LOG_DIR/batch-$label.out"))" >&2
}

view_seconds() { # LABEL VIEW -> seconds the run spent on that view, from its progress lines
    sed -n "s/.*\] $2: [0-9]* rows in \([0-9.]*\) s.*/\1/p; s/.*\] $2: folded seq .* in \([0-9.]*\) s.*/\1/p" "$LOG_DIR/batch-$1.log" | tail -n 1
}

run_query_wrk() { # LABEL -> sets w_rps w_p50 w_p99
    local label=$1
    local out=$LOG_DIR/wrk-$label.txt
    local path="/v1/views/sales_by_product_hour?from=-24h&grain=all&group_by=product_id&order_by=-net_revenue_cents&limit=10"
    # The first request after a change computes the answer (batch part from PostgreSQL, speed
    # part from memory); wrk's repeats of the same query then come from the answer cache.
    w_cold=$(curl -sf -o "$LOG_DIR/top10-$label.json" -w '%{time_total}' "http://127.0.0.1:$server_port$path") || die "the top-10 query failed"
    w_cold=$(awk -v t="$w_cold" 'BEGIN { printf "%.1f", t * 1000 }')
    timeout $((DURATION + 60)) wrk -t 2 -c 16 -d "${DURATION}s" --timeout 10s --latency -s Benchmarks/views/query.lua \
        "http://127.0.0.1:$server_port$path" | tee "$out" >&2
    local line
    line=$(grep '^BENCH ' "$out") || die "wrk printed no BENCH line"
    local requests duration non2xx
    requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
    duration=$(sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' <<<"$line")
    non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
    [ "$non2xx" = 0 ] || die "wrk $label: $non2xx answers were not 2xx"
    w_rps=$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
    w_p50=$(awk -v v="$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$line")" 'BEGIN { printf "%.2f", v / 1000 }')
    w_p99=$(awk -v v="$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")" 'BEGIN { printf "%.2f", v / 1000 }')
}

# ---------------------------------------------------------------- set-up
log "dependencies and release build"
scripts/install-deps.sh wrk
for tool in wrk psql curl timeout; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
swift build -c release --scratch-path .build-release >&2
BIN=$(swift build -c release --scratch-path .build-release --show-bin-path)

data_dir=$(scripts/data-dir.sh bench)
[ "$("$BIN/tidemark" db status --data-dir "$data_dir" --log-level warning 2>/dev/null || true)" = "not running" ] && pg_started_here=1
admin_url=$("$BIN/tidemark" db start --data-dir "$data_dir" --log-level warning | tail -n 1)
q "$admin_url" "CREATE DATABASE $DB_NAME" >/dev/null
db_created=1
base=${admin_url%%\?*}
db_url="${base%/*}/$DB_NAME${admin_url#"$base"}"
"$BIN/tidemark" migrate --database-url "$db_url" --log-level warning >&2
pg_version=$(q "$db_url" "SHOW server_version")

days=$(((EVENTS + EVENTS_PER_DAY_SEEN - 1) / EVENTS_PER_DAY_SEEN))
per_chunk=$(((days + CHUNKS - 1) / CHUNKS))
first_day=$(date -u -d "-$((days + 1)) days" +%Y-%m-%d)
new_day=$(date -u -d "-1 day" +%Y-%m-%d)

start_server "$BIN/tidemark" "$db_url" "$LOG_DIR/server.log" || die "tidemark serve did not start"
sleep 2
rss_empty=$(rss_kib "$server_pid")

# ---------------------------------------------------------------- history, in chunks with batch runs between
memory_events=0
rss_loaded=0
for chunk in $(seq 0 $((CHUNKS - 1))); do
    start=$(date -u -d "$first_day + $((chunk * per_chunk)) days" +%Y-%m-%d)
    n=$((days - chunk * per_chunk)); [ "$n" -gt "$per_chunk" ] && n=$per_chunk
    [ "$n" -gt 0 ] || break
    file=$LOG_DIR/history-$chunk.ndjson.gz
    log "history chunk $chunk: $n days from $start"
    "$BIN/tidemark" generate --seed $((100 + chunk)) --date "$start" --days "$n" --events-per-day $PER_DAY -o "$file" >&2
    timeout 1800 "$BIN/tidemark" load --quiet --url "http://127.0.0.1:$server_port" --concurrency 4 "$file" >"$LOG_DIR/load-$chunk.log" 2>&1 \
        || { tail -5 "$LOG_DIR/load-$chunk.log" >&2; die "load of chunk $chunk failed"; }
    tail -n 1 "$LOG_DIR/load-$chunk.log" >&2
    rm -f "$file"
    if [ "$chunk" = 0 ]; then
        wait_speed_caught_up
        sleep 1
        rss_loaded=$(rss_kib "$server_pid")
        memory_events=$(q "$db_url" "SELECT count(*) FROM events")
        echo "speed layer holds $memory_events events: RSS $rss_empty KiB -> $rss_loaded KiB" >&2
    fi
    batch_run "chunk-$chunk"
done
history_events=$(q "$db_url" "SELECT count(*) FROM events")

# ---------------------------------------------------------------- full run against the hand-written GROUP BY
# The hand-written view: the same buckets, keys and measures in one GROUP BY. The outer
# aggregate reads every column, so PostgreSQL computes every measure (with count(*) alone it
# drops unused subquery columns and skips the sums). A second baseline also stores it (CREATE
# TABLE AS), as serving it would need.
groupby="SELECT date_trunc('hour', occurred_at, 'UTC') AS bucket, store_id, product_id,
    sum(quantity) FILTER (WHERE type = 'sale') AS units_sold, sum(quantity) FILTER (WHERE type = 'return') AS units_returned,
    sum(quantity * unit_price_cents) FILTER (WHERE type = 'sale') AS gross, sum(quantity * unit_price_cents) FILTER (WHERE type = 'return') AS refunds,
    count(*) FILTER (WHERE type = 'sale') AS sale_lines, min(unit_price_cents) FILTER (WHERE type = 'sale') AS low,
    max(unit_price_cents) FILTER (WHERE type = 'sale') AS high
  FROM events WHERE type IN ('sale', 'return') GROUP BY 1, 2, 3"
echo "SELECT count(*), max(bucket), max(store_id), max(product_id), sum(units_sold), sum(units_returned), sum(gross), sum(refunds),
    sum(sale_lines), sum(low), sum(high) FROM ($groupby) s" >"$LOG_DIR/handwritten.sql"
echo "CREATE TABLE bench_handwritten AS $groupby" >"$LOG_DIR/handwritten-ctas.sql"
groupby_best=""
ctas_best=""
for attempt in 1 2; do
    log "hand-written GROUP BY, attempt $attempt"
    t0=$(now); timeout 1800 psql "$db_url" -X -q -A -t -v ON_ERROR_STOP=1 -f "$LOG_DIR/handwritten.sql" >/dev/null; t1=$(now)
    s=$(seconds "$t0" "$t1")
    groupby_best=$(awk -v a="${groupby_best:-999999}" -v b="$s" 'BEGIN { print (b < a ? b : a) }')
    t0=$(now); timeout 1800 psql "$db_url" -X -q -A -t -v ON_ERROR_STOP=1 -f "$LOG_DIR/handwritten-ctas.sql" >/dev/null; t1=$(now)
    q "$db_url" "DROP TABLE bench_handwritten" >/dev/null
    c=$(seconds "$t0" "$t1")
    ctas_best=$(awk -v a="${ctas_best:-999999}" -v b="$c" 'BEGIN { print (b < a ? b : a) }')
    echo "GROUP BY: $s s; CREATE TABLE AS: $c s" >&2
done
log "tidemark batch run --full"
batch_run full --full
full_seconds=$run_seconds
full_view_seconds=$(view_seconds full sales_by_product_hour)

# ---------------------------------------------------------------- one new day, queries, nightly run
file=$LOG_DIR/new-day.ndjson.gz
log "one new day ($new_day)"
"$BIN/tidemark" generate --seed 999 --date "$new_day" --days 1 --events-per-day $PER_DAY -o "$file" >&2
timeout 600 "$BIN/tidemark" load --quiet --url "http://127.0.0.1:$server_port" --concurrency 4 "$file" >"$LOG_DIR/load-new-day.log" 2>&1 \
    || die "load of the new day failed"
day_events=$(($(q "$db_url" "SELECT count(*) FROM events") - history_events))
wait_speed_caught_up
log "top-10 query while the speed layer holds the new day"
run_query_wrk before-nightly
q1_rps=$w_rps q1_p50=$w_p50 q1_p99=$w_p99 q1_cold=$w_cold
log "nightly incremental run"
batch_run nightly
nightly_seconds=$run_seconds
sleep 2
log "top-10 query after the nightly run"
run_query_wrk after-nightly
q2_rps=$w_rps q2_p50=$w_p50 q2_p99=$w_p99 q2_cold=$w_cold
cmp -s <(sed 's/"watermark":{[^}]*},"speed_events":[0-9]*,//' "$LOG_DIR/top10-before-nightly.json") \
    <(sed 's/"watermark":{[^}]*},"speed_events":[0-9]*,//' "$LOG_DIR/top10-after-nightly.json") \
    || die "the top-10 answer changed when the nightly batch took over"

# ---------------------------------------------------------------- results
mib_per_million=$(awk -v a="$rss_empty" -v b="$rss_loaded" -v n="$memory_events" 'BEGIN { printf "%.0f", (b - a) / 1024 / (n / 1e6) }')
full_ratio=$(awk -v a="$full_view_seconds" -v b="$groupby_best" 'BEGIN { printf "%.2f", a / b }')
ctas_ratio=$(awk -v a="$full_view_seconds" -v b="$ctas_best" 'BEGIN { printf "%.2f", a / b }')
full_total_ratio=$(awk -v a="$full_seconds" -v b="$groupby_best" 'BEGIN { printf "%.2f", a / b }')
nightly_ratio=$(awk -v a="$nightly_seconds" -v b="$full_seconds" 'BEGIN { printf "%.3f", a / b }')
cat >"$RESULT_FILE" <<RESULTS
# Batch, speed and serving benchmark, $STAMP

Command: \`$invocation\` on $(nproc) cores, PostgreSQL $pg_version. History: $history_events events over $days days; new day: $day_events events.

| measure | figure | baseline in the same run | ratio | target |
| --- | --- | --- | --- | --- |
| \`batch run --full\`, sales_by_product_hour | $full_view_seconds s | hand-written GROUP BY (every measure computed): $groupby_best s | $full_ratio | <= 1.5 |
| the same | $full_view_seconds s | hand-written CREATE TABLE AS of that GROUP BY: $ctas_best s | $ctas_ratio | |
| \`batch run --full\`, all five views | $full_seconds s | hand-written GROUP BY (one view): $groupby_best s | $full_total_ratio | |
| nightly incremental run, one new day | $nightly_seconds s | full run: $full_seconds s | $nightly_ratio | <= 0.15 |
| top-10 over 24 h, speed layer holding the new day | p50 $q1_p50 ms, p99 $q1_p99 ms, $q1_rps req/s (first, uncached request: $q1_cold ms) | | | p99 < 10 ms |
| top-10 over 24 h, after the nightly run | p50 $q2_p50 ms, p99 $q2_p99 ms, $q2_rps req/s (first, uncached request: $q2_cold ms) | | | p99 < 10 ms |
| speed layer resident memory | $mib_per_million MiB per million events above W | RSS $((rss_empty / 1024)) MiB empty, $((rss_loaded / 1024)) MiB holding $memory_events events | | |

Logs: \`$LOG_DIR\`.
RESULTS
cat "$RESULT_FILE"
