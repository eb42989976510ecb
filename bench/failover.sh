#!/usr/bin/env bash
# bench/failover.sh: a Sentinel failover under load, measured (make
# bench-failover).  The Sentinel deployment of bench/topologies.sh
# (primary 6422, replicas 6423-6424, Sentinels 6425-6427; nginx 8322 with
# no cache) and a second nginx on 8323 with the stale zone
# (wapress_cache valid=100ms stale=1h).  For each nginx in turn,
# bench/failover.py requests the page on CONNS keepalive connections for
# RUN_SECONDS; at AT s it sends SENTINEL FAILOVER, KILL_AFTER s later it kills
# the old primary (which is then started again as a replica of the new
# one, for the next run).  Prints a Markdown table (also
# build/bench-topologies/failover.md): pages, incomplete pages (not
# expected.html: defaults shown, or not 200), the longest page, and the
# time from SENTINEL FAILOVER to the first GET on the new primary.
#
# FAILOVER_TOPOLOGY=cluster: the same minute for the Redis Cluster of
# bench/topologies.sh (3 primaries + 3 replicas, 6431-6436, its
# cluster-node-timeout; nginx 8323 with no cache, a second on 8324 with the
# stale zone): at AT s the primary that holds the page's article key
# (CLUSTER KEYSLOT, CLUSTER SLOTS) is killed (SIGKILL), the cluster
# promotes its replica; afterwards it is started again with its nodes.conf
# and rejoins as a replica.  Also reported: the time from the kill until
# the cluster names the new primary, and until the last incomplete page.
# Table: build/bench-topologies/failover-cluster.md.
#
# Knobs: RUN_SECONDS (60) AT (20) KILL_AFTER (10) CONNS (8) QUICK=1 (20 s,
#        failover at 5 s, kill 5 s later)  BENCH_NGINX (as bench/run.sh)
#        FAILOVER_TOPOLOGY (sentinel; or cluster)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$root/bench
out=$root/build/bench-topologies
example=$root/examples/seed-page
path=/news/niger-junta-revokes-eu-security-agreements
if [ "${QUICK:-0}" = 1 ]; then
    RUN_SECONDS=${RUN_SECONDS:-20} AT=${AT:-5} KILL_AFTER=${KILL_AFTER:-5}
fi
RUN_SECONDS=${RUN_SECONDS:-60}
AT=${AT:-20}
KILL_AFTER=${KILL_AFTER:-10}
CONNS=${CONNS:-8}
TOPO_REDIS_BASE=${TOPO_REDIS_BASE:-6421}
TOPO_BASE_PORT=${TOPO_BASE_PORT:-8321}
sentinel=$((TOPO_REDIS_BASE + 4))

log() { printf '[failover %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    set +e
    local p d pid
    for p in "$out"/nginx-*; do
        [ -f "$p/logs/nginx.pid" ] && kill -QUIT "$(cat "$p/logs/nginx.pid")" 2>/dev/null
    done
    for d in "$out"/redis-* "$out"/sentinel-*; do
        [ -f "$d/redis.pid" ] || continue
        pid=$(cat "$d/redis.pid")
        kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null
        rm -f "$d/redis.pid"
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NGINX=${BENCH_NGINX:-$root/build/nginx-bench/sbin/nginx}
[ -x "$NGINX" ] || NGINX=$root/build/nginx/sbin/nginx

if [ "${FAILOVER_TOPOLOGY:-sentinel}" = cluster ]; then
    log "the Cluster deployment of bench/topologies.sh"
    SETUP_ONLY=1 TOPOLOGIES=cluster "$bench/topologies.sh"
    [ -f "$out/nginx-cluster/logs/nginx.pid" ] \
        || { echo "failover: nginx-cluster did not start" >&2; exit 1; }
    cl_nodes=
    for i in 0 1 2 3 4 5; do
        cl_nodes="$cl_nodes $((TOPO_REDIS_BASE + 10 + i))"
    done
    cl_nodes=${cl_nodes# }
    timeout_ms=$(redis-cli -p "${cl_nodes%% *}" CONFIG GET cluster-node-timeout \
        | sed -n 2p)
    stale=$out/nginx-cluster-stale
    mkdir -p "$stale/conf" "$stale/logs"
    sed -e "s|$out/nginx-cluster/|$stale/|g" \
        -e "s|listen 127.0.0.1:$((TOPO_BASE_PORT + 2));|listen 127.0.0.1:$((TOPO_BASE_PORT + 3));|" \
        -e "s|wapress_redis_timeout 200ms;|wapress_redis_timeout 200ms;\n    wapress_cache zone=failover:8m valid=100ms stale=1h;|" \
        "$out/nginx-cluster/conf/nginx.conf" >"$stale/conf/nginx.conf"
    grep -q 'wapress_cache zone=failover' "$stale/conf/nginx.conf"
    "$NGINX" -p "$stale" -c "$stale/conf/nginx.conf"
    for _ in $(seq 1 50); do
        curl -s -o /dev/null "http://127.0.0.1:$((TOPO_BASE_PORT + 3))$path" \
            && break
        sleep 0.1
    done

    cl_settled() {      # 6 nodes cluster_state:ok, 3 replicas linked
        local n p
        for _ in $(seq 1 300); do
            n=0
            for p in $cl_nodes; do
                redis-cli -p "$p" CLUSTER INFO 2>/dev/null \
                    | grep -q 'cluster_state:ok' && n=$((n + 1))
                redis-cli -p "$p" INFO replication 2>/dev/null \
                    | grep -q 'master_link_status:up' && n=$((n + 1))
            done
            [ "$n" = 9 ] && return 0
            sleep 0.1
        done
        echo "failover: the cluster did not settle" >&2
        return 1
    }

    results=()
    for run in "no cache:$((TOPO_BASE_PORT + 2))" \
               "stale zone:$((TOPO_BASE_PORT + 3))"; do
        what=${run%:*} port=${run##*:}
        cl_settled
        log "cluster kill, $what (nginx $port): ${RUN_SECONDS}s, $CONNS connections, at ${AT}s"
        r=$(python3 "$bench/failover.py" --url "http://127.0.0.1:$port$path" \
                --expected "$example/expected.html" \
                --cluster "${cl_nodes// /,}" --key "article:${path##*/}" \
                --pid-dir "$out" --seconds "$RUN_SECONDS" --at "$AT" \
                --conns "$CONNS")
        log "$r"
        results+=("$what|$port|$r")
        # the killed primary rejoins as a replica (its nodes.conf)
        old=$(sed -n 's/.*old=\([0-9]*\).*/\1/p' <<<"$r")
        d=$out/redis-$old
        redis-server --daemonize yes --bind 127.0.0.1 --port "$old" \
            --dir "$d" --pidfile "$d/redis.pid" --logfile "$d/redis.log" \
            --save '' --appendonly no --cluster-enabled yes \
            --cluster-config-file "$d/nodes.conf" \
            --cluster-node-timeout "$timeout_ms"
    done
    cl_settled || true

    {
        echo "# Redis Cluster: a primary killed under load"
        echo
        echo "${RUN_SECONDS} s per run, $CONNS keepalive connections" \
             "(bench/failover.py); 3 primaries + 3 replicas," \
             "cluster-node-timeout ${timeout_ms} ms (bench/topologies.sh);" \
             "wapress_redis_timeout 200ms; unpinned."
        echo
        echo "At ${AT} s the primary of the page's article key killed" \
             "(SIGKILL); the cluster promotes its replica. Times from the kill."
        echo
        echo "| nginx | pages | incomplete | longest page (ms) | → cluster names the new primary (ms) | → first GET on it (ms) | → last incomplete page (ms) | killed → promoted |"
        echo "|---|---:|---:|---:|---:|---:|---:|---|"
        for r in "${results[@]}"; do
            IFS='|' read -r what port kv <<<"$r"
            declare -A v=()
            for x in $kv; do v[${x%%=*}]=${x#*=}; done
            echo "| $what ($port) | ${v[pages]} | ${v[incomplete]} | ${v[longest]} | ${v[promote]} | ${v[follow]} | ${v[recover]} | ${v[old]} → ${v[new]} |"
        done
    } >"$out/failover-cluster.md"
    cat "$out/failover-cluster.md"
    exit 0
fi

log "the Sentinel deployment of bench/topologies.sh"
SETUP_ONLY=1 TOPOLOGIES=sentinel SENTINEL_DOWN_AFTER=1000 \
    SENTINEL_FAILOVER_TIMEOUT=3000 "$bench/topologies.sh"
grep -q 'wapress_redis sentinel' "$out/nginx-sentinel/conf/nginx.conf"
[ -f "$out/nginx-sentinel/logs/nginx.pid" ] \
    || { echo "failover: nginx-sentinel did not start" >&2; exit 1; }

stale=$out/nginx-sentinel-stale
mkdir -p "$stale/conf" "$stale/logs"
sed -e "s|$out/nginx-sentinel/|$stale/|g" \
    -e "s|listen 127.0.0.1:$((TOPO_BASE_PORT + 1));|listen 127.0.0.1:$((TOPO_BASE_PORT + 2));|" \
    -e "s|wapress_redis_timeout 200ms;|wapress_redis_timeout 200ms;\n    wapress_cache zone=failover:8m valid=100ms stale=1h;|" \
    "$out/nginx-sentinel/conf/nginx.conf" >"$stale/conf/nginx.conf"
"$NGINX" -p "$stale" -c "$stale/conf/nginx.conf"
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$((TOPO_BASE_PORT + 2))$path" && break
    sleep 0.1
done

settled() {             # the Sentinels done with any failover, 2 healthy replicas
    local f
    for _ in $(seq 1 300); do
        f=$(redis-cli -p "$sentinel" SENTINEL master bench \
            | awk 'p { print; exit } /^flags$/ { p = 1 }')
        if [ "$f" = master ] \
           && [ "$(redis-cli -p "$sentinel" SENTINEL replicas bench \
                   | awk 'p { print; p = 0 } /^flags$/ { p = 1 }' \
                   | grep -cx slave)" = 2 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "failover: the Sentinels did not settle" >&2
    return 1
}

results=()
for run in "failover:no cache:$((TOPO_BASE_PORT + 1))" \
           "failover:stale zone:$((TOPO_BASE_PORT + 2))" \
           "kill:no cache:$((TOPO_BASE_PORT + 1))" \
           "kill:stale zone:$((TOPO_BASE_PORT + 2))"; do
    mode=${run%%:*} what=${run#*:} port=${run##*:}
    what=${what%:*}
    settled
    log "$mode, $what (nginx $port): ${RUN_SECONDS}s, $CONNS connections, at ${AT}s"
    r=$(python3 "$bench/failover.py" --url "http://127.0.0.1:$port$path" \
            --expected "$example/expected.html" --sentinel "$sentinel" \
            --master bench --pid-dir "$out" --seconds "$RUN_SECONDS" --at "$AT" \
            --kill-after "$KILL_AFTER" --conns "$CONNS" --mode "$mode")
    log "$r"
    results+=("$mode|$what|$port|$r")
    # the old primary comes back as a replica of the new one
    old=$(sed -n 's/.*old=\([0-9]*\).*/\1/p' <<<"$r")
    new=$(sed -n 's/.*new=\([0-9]*\).*/\1/p' <<<"$r")
    d=$out/redis-$old
    redis-server --daemonize yes --bind 127.0.0.1 --port "$old" --dir "$d" \
        --pidfile "$d/redis.pid" --logfile "$d/redis.log" --save '' \
        --appendonly no --replicaof 127.0.0.1 "$new"
done
settled || true

{
    echo "# Sentinel failover under load"
    echo
    echo "${RUN_SECONDS} s per run, $CONNS keepalive connections (bench/failover.py);" \
         "Sentinels: down-after 1 s, failover-timeout 3 s;" \
         "wapress_redis_timeout 200ms; unpinned."
    echo
    echo "failover: \`SENTINEL FAILOVER\` at ${AT} s, the old primary killed" \
         "${KILL_AFTER} s later; kill: the primary killed (SIGKILL) at ${AT} s," \
         "the Sentinels promote a replica by themselves. Times from that moment."
    echo
    echo "| how | nginx | pages | incomplete | longest page (ms) | → first GET on the new primary (ms) | → the Sentinels name it (ms) |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for r in "${results[@]}"; do
        IFS='|' read -r mode what port kv <<<"$r"
        declare -A v=()
        for x in $kv; do v[${x%%=*}]=${x#*=}; done
        echo "| $mode | $what ($port) | ${v[pages]} | ${v[incomplete]} | ${v[longest]} | ${v[follow]} | ${v[switch]} |"
    done
} >"$out/failover.md"
cat "$out/failover.md"
