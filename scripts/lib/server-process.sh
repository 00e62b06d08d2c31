# Sourced by the benchmark scripts: starting and stopping the `tidemark serve` they measure,
# and the loads they run against it.
# The server's PID is kept in `server_pid` (empty when none runs), its port in `server_port`.

# ADMIN_URL NAME -> the same URL (user, password, options) naming database NAME instead.
database_url() {
    local base=${1%%\?*}
    printf '%s/%s%s' "${base%/*}" "$2" "${1#"$base"}"
}

# BINARY URL LOGFILE -> starts `serve` on a free loopback port, without authentication, and
# waits up to 60 s for its listening line; returns 1 (log shown) if it exits or stays silent.
start_server() {
    local binary=$1 url=$2 logfile=$3
    "$binary" serve --database-url "$url" --port 0 --log-level warning --no-auth >"$logfile" 2>&1 &
    server_pid=$!
    server_port=""
    for _ in $(seq 1 120); do
        server_port=$(sed -n 's|^tidemark listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$logfile" | head -n 1)
        [ -n "$server_port" ] && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then
            cat "$logfile" >&2
            server_pid=""
            echo "tidemark serve exited before listening" >&2
            return 1
        fi
        sleep 0.5
    done
    cat "$logfile" >&2
    echo "tidemark serve did not print its listening line within 60 s" >&2
    return 1
}

# SIGTERM, then 30 s for the graceful shutdown to write what it admitted, then SIGKILL.
stop_server() {
    [ -n "${server_pid:-}" ] || return 0
    local pid=$server_pid
    server_pid=""
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { echo "server $pid did not stop in 30 s; sending SIGKILL" >&2; kill -KILL "$pid" 2>/dev/null || true; }
    wait "$pid" 2>/dev/null || true
}

# LOAD -> sets `lua` and `connections` for run A's load (a: one JSON event per request, 64
# connections) or run B's (b: 1,000 NDJSON events per request, 16); returns 1 for anything else.
load_settings() {
    case $1 in
        a) lua=Benchmarks/ingest/one-event.lua connections=64 ;;
        b) lua=Benchmarks/ingest/ndjson-1000.lua connections=16 ;;
        *) return 1 ;;
    esac
}

# SCRIPT LOAD [BINARY] -> the arguments of a script that runs one load against one build:
# sets `load`, `lua`, `connections`, `binary` (default .build-release/release/tidemark) and
# `admin_url` (from DATABASE_URL); on a wrong LOAD prints SCRIPT's usage (lines 2-14) and exits.
load_script_arguments() {
    local script=$1
    load=${2:-}
    binary=${3:-.build-release/release/tidemark}
    admin_url=${DATABASE_URL:?set DATABASE_URL to a PostgreSQL role that may create databases}
    load_settings "$load" || { sed -n '2,14p' "$script" >&2; exit 64; }
    [ -x "$binary" ] || { echo "not an executable: $binary (build it first)" >&2; exit 66; }
    export PGCONNECT_TIMEOUT=10
}

# The teardown of a script that runs one load: stops wrk (`wrk_pid`) and the server, and
# drops `database` through `admin_url`. Each is skipped when not set.
stop_load() {
    if [ -n "${wrk_pid:-}" ]; then
        kill "$wrk_pid" 2>/dev/null || true
        wait "$wrk_pid" 2>/dev/null || true
        wrk_pid=""
    fi
    stop_server
    if [ -n "${database:-}" ]; then
        psql "$admin_url" -X -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
        database=""
    fi
}

# FILE... -> the EXIT, INT and TERM traps of a script that runs one load: on any exit,
# `stop_load`, then the files removed, keeping the script's exit status.
trap_stop_load() {
    load_files=("$@")
    trap 'status=$?; set +e; stop_load; rm -f "${load_files[@]}"; exit "$status"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
