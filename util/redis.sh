#!/usr/bin/env bash
# util/redis.sh start DIR PORT [OPTION VALUE ...] | stop DIR
# Starts a private redis-server (data, pid, log and unix socket in DIR,
# TCP on 127.0.0.1:PORT, extra redis.conf options as arguments) and waits
# until it answers; "stop" shuts it down.  Used by make test / demo / bench.
set -euo pipefail

cmd=${1:?usage: $0 start DIR PORT [OPTION VALUE ...] | stop DIR}
dir=${2:?DIR}
case "$cmd" in
start)
    port=${3:?PORT}
    shift 3
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    "$0" stop "$dir" 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
        --unixsocket "$dir/redis.sock" --unixsocketperm 777 \
        --save '' --appendonly no "$@"
    for _ in $(seq 1 100); do
        if [ -S "$dir/redis.sock" ] \
           && redis-cli -s "$dir/redis.sock" --no-auth-warning \
                  ${REDISCLI_AUTH:+-a "$REDISCLI_AUTH"} ping 2>/dev/null \
              | grep -q PONG; then
            exit 0
        fi
        sleep 0.05
    done
    echo "$0: redis-server on port $port did not start; see $dir/redis.log" >&2
    exit 1
    ;;
stop)
    [ -f "$dir/redis.pid" ] || exit 0
    pid=$(cat "$dir/redis.pid")
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/redis.pid"; exit 0; }
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/redis.pid"
    ;;
*)
    echo "usage: $0 start DIR PORT [OPTION VALUE ...] | stop DIR" >&2
    exit 2
    ;;
esac
