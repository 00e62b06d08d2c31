#!/usr/bin/env bash
# Two `tidemark serve` nodes behind nginx on loopback, sharing one PostgreSQL: the shape of
# DESIGN.md's "Growing past one machine", on one machine.
#
# Usage: scripts/two-nodes.sh start [--database-url URL] [--port N] [--no-auth]
#        scripts/two-nodes.sh stop
#        scripts/two-nodes.sh status
#
# Without --database-url the embedded cluster under $(scripts/data-dir.sh two-nodes) is used
# (and stopped again by `stop`). nginx listens on 127.0.0.1:N (default 8090; 0 picks a free
# port). State (PIDs, ports, logs, nginx.conf) lives in $TIDEMARK_TWO_NODES_DIR, default
# .tidemark/two-nodes-state. TIDEMARK_BINARY picks the binary (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."

state=${TIDEMARK_TWO_NODES_DIR:-$PWD/.tidemark/two-nodes-state}
command=${1:-}
shift || true

binary() {
    if [ -n "${TIDEMARK_BINARY:-}" ]; then echo "$TIDEMARK_BINARY"; return; fi
    echo "building tidemark (release; the first build takes several minutes)..." >&2
    swift build -c release --scratch-path .build-release --product tidemark >&2
    echo "$PWD/.build-release/release/tidemark"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits for a node's "listening" line and prints its port.
node_port() {
    local log=$1 pid=$2
    for _ in $(seq 1 600); do
        port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$' | head -1 || true)
        if [ -n "$port" ]; then echo "$port"; return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "a node did not start; its log ($log):" >&2
    cat "$log" >&2
    return 1
}

stop_pid() {
    local file=$1
    [ -f "$file" ] || return 0
    local pid
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "pid $pid did not stop within 10 s; killing it" >&2
            kill -KILL "$pid"
        fi
    fi
    rm -f "$file"
}

start() {
    local database_url="" port=8090 auth=()
    while [ $# -gt 0 ]; do
        case $1 in
        --database-url) database_url=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --no-auth) auth=(--no-auth); shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
        esac
    done
    if [ -f "$state/nginx.pid" ] || [ -f "$state/node-a.pid" ]; then
        echo "already started (state in $state); run: scripts/two-nodes.sh stop" >&2
        exit 1
    fi
    scripts/install-deps.sh nginx
    local bin
    bin=$(binary)
    mkdir -p "$state/tmp"
    : >"$state/database-started"
    if [ -z "$database_url" ]; then
        local data_dir
        data_dir=$(scripts/data-dir.sh two-nodes)
        "$bin" db status --data-dir "$data_dir" >/dev/null 2>&1 || echo "$data_dir" >"$state/database-started"
        database_url=$("$bin" db start --data-dir "$data_dir")
    fi
    # Once, before the nodes: both would also migrate, safely, but one log is clearer.
    "$bin" migrate --database-url "$database_url" --log-level warning

    for node in a b; do
        "$bin" serve --database-url "$database_url" --port 0 "${auth[@]}" >"$state/node-$node.log" 2>&1 &
        echo $! >"$state/node-$node.pid"
    done
    local port_a port_b
    port_a=$(node_port "$state/node-a.log" "$(cat "$state/node-a.pid")")
    port_b=$(node_port "$state/node-b.log" "$(cat "$state/node-b.pid")")
    [ "$port" = 0 ] && port=$(free_port)

    local user_line=""
    [ "$(id -u)" -eq 0 ] && user_line="user root;"  # workers read the temp folders below
    cat >"$state/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $state/nginx.pid;
error_log $state/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log $state/nginx-access.log;
    client_body_temp_path $state/tmp/body;
    proxy_temp_path $state/tmp/proxy;
    fastcgi_temp_path $state/tmp/fastcgi;
    uwsgi_temp_path $state/tmp/uwsgi;
    scgi_temp_path $state/tmp/scgi;
    client_max_body_size 16m;

    upstream tidemark {
        server 127.0.0.1:$port_a max_fails=1 fail_timeout=2s;
        server 127.0.0.1:$port_b max_fails=1 fail_timeout=2s;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://tidemark;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            # POST /v1/events is idempotent (event ids), so a request a node could not take
            # may go to the other one: nginx only retries POSTs when told so.
            proxy_next_upstream error timeout http_502 non_idempotent;
            proxy_read_timeout 60s;
            add_header X-Tidemark-Node \$upstream_addr always;
        }
    }
}
CONF
    nginx -c "$state/nginx.conf" -p "$state" -e "$state/nginx-error.log"
    cat >"$state/endpoints" <<ENV
TIDEMARK_URL=http://127.0.0.1:$port
TIDEMARK_NODE_A=http://127.0.0.1:$port_a
TIDEMARK_NODE_B=http://127.0.0.1:$port_b
ENV
    echo "two nodes behind nginx at http://127.0.0.1:$port (node a :$port_a, node b :$port_b; state in $state)"
}

stop() {
    # nginx first, so no request reaches a stopping node; then the nodes finish what they hold.
    stop_pid "$state/nginx.pid"
    stop_pid "$state/node-a.pid"
    stop_pid "$state/node-b.pid"
    if [ -s "$state/database-started" ]; then
        "$(binary)" db stop --data-dir "$(cat "$state/database-started")" >/dev/null
    fi
    rm -f "$state/database-started" "$state/endpoints"
    echo "stopped"
}

status() {
    local running=0
    for name in nginx node-a node-b; do
        if [ -f "$state/$name.pid" ] && kill -0 "$(cat "$state/$name.pid")" 2>/dev/null; then
            echo "$name: running (pid $(cat "$state/$name.pid"))"
            running=$((running + 1))
        else
            echo "$name: stopped"
        fi
    done
    [ -f "$state/endpoints" ] && cat "$state/endpoints"
    [ "$running" -eq 3 ]
}

case $command in
start) start "$@" ;;
stop) stop ;;
status) status ;;
*) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
