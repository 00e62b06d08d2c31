# Sourced by the benchmark scripts: stopping the `tidemark serve` they started.
# The caller keeps the server's PID in `server_pid` (empty when none runs).

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
