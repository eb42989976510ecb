#!/usr/bin/env bash
# bench/topologies.sh: WORKLOAD=topologies of bench/run.sh (make bench
# WORKLOAD=topologies, or make bench-topologies).  The example page
# (examples/seed-page) served by the module side by side from:
#   single       wapress_redis on one Redis (6421)
#   sentinel     wapress_redis sentinel: a primary (6422), two replicas
#                (6423, 6424), three Sentinels (6425-6427)
#   cluster      wapress_redis cluster: 3 primaries + 3 replicas
#                (6431-6436, bus 16431-16436); the page's six keys lie on
#                all three primaries
#   cluster-tags the same cluster, the page's keys hash-tagged
#                ("article:{$slug}", ...: one shard per page; the values
#                copied under those keys)
# nginx 8321-8324, one worker each.  Answers checked byte for byte against
# expected.html; wrk in interleaved rounds, pinned like run.sh (nginx and
# every redis-server and Sentinel on SERVER_CPU, wrk on WRK_CPU); then,
# per topology and per Redis node, GETs and read events per page (ab,
# 1 and CONNS connections; INFO snapshots, the snapshots' own cost
# subtracted as in run.sh).  Report: build/bench-topologies/report.md.
#
# Knobs: QUICK=1 (3s, 1 round)  CONNS (32) DURATION (10s) ROUNDS (3)
#        THREADS (2) SERVER_CPU (0) WRK_CPU (1) COUNT_REQUESTS (20000)
#        COUNT1_REQUESTS (2000) TOPO_REDIS_BASE (6421: Redis on
#        6421-6436) TOPO_BASE_PORT (8321: nginx on 8321-8324)
#        TOPOLOGIES ("single sentinel cluster cluster-tags")
#        BENCH_NGINX (build/nginx-bench/sbin/nginx)
#        KEEP=1: leave the servers running; SETUP_ONLY=1: start and
#        check them, leave them running, measure nothing (bench/failover.sh)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$root/bench
out=$root/build/bench-topologies
example=$root/examples/seed-page
expected=$example/expected.html
slug=niger-junta-revokes-eu-security-agreements
path=/news/$slug

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    DURATION=${DURATION:-3s}; ROUNDS=${ROUNDS:-1}
    COUNT_REQUESTS=${COUNT_REQUESTS:-5000}
    COUNT1_REQUESTS=${COUNT1_REQUESTS:-1000}
fi
CONNS=${CONNS:-32}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
COUNT_REQUESTS=${COUNT_REQUESTS:-20000}
COUNT1_REQUESTS=${COUNT1_REQUESTS:-2000}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
TOPO_REDIS_BASE=${TOPO_REDIS_BASE:-6421}
TOPO_BASE_PORT=${TOPO_BASE_PORT:-8321}
TOPOLOGIES=${TOPOLOGIES:-single sentinel cluster cluster-tags}
KEEP=${KEEP:-0}
dur_s=${DURATION%s}

NGINX=${BENCH_NGINX:-$root/build/nginx-bench/sbin/nginx}
if [ ! -x "$NGINX" ] && [ -x "$root/build/nginx/sbin/nginx" ]; then
    echo "bench: no $NGINX (make bench-build): using build/nginx," \
         "a debug build" >&2
    NGINX=$root/build/nginx/sbin/nginx
fi

log() { printf '[topologies %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

for t in redis-server redis-sentinel redis-cli wrk ab curl python3 taskset; do
    command -v "$t" >/dev/null || { echo "bench: $t is missing" >&2; exit 1; }
done

# ---------------------------------------------------------------- ports
single_port=$TOPO_REDIS_BASE
sn_primary=$((TOPO_REDIS_BASE + 1))
sn_replicas="$((TOPO_REDIS_BASE + 2)) $((TOPO_REDIS_BASE + 3))"
sn_sentinels="$((TOPO_REDIS_BASE + 4)) $((TOPO_REDIS_BASE + 5)) $((TOPO_REDIS_BASE + 6))"
cl_nodes=
for i in 0 1 2 3 4 5; do cl_nodes="$cl_nodes $((TOPO_REDIS_BASE + 10 + i))"; done
cl_nodes=${cl_nodes# }

declare -A port status nodes
i=0
for s in single sentinel cluster cluster-tags; do
    port[$s]=$((TOPO_BASE_PORT + i)); i=$((i + 1))
    status[$s]="n/a (not in TOPOLOGIES)"
done
for s in $TOPOLOGIES; do status[$s]=ok; done

rm -rf "$out"
mkdir -p "$out/wrk" "$out/count"
started=()              # nginx prefixes
redis_dirs=()           # every redis-server / redis-sentinel started

stop_nginx() {
    local pf=$1/logs/nginx.pid pid
    [ -f "$pf" ] || return 0
    pid=$(cat "$pf")
    kill -QUIT "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
stop_redis_dir() {
    local pf=$1/redis.pid pid
    [ -f "$pf" ] || return 0
    pid=$(cat "$pf")
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pf"
}
cleanup() {
    set +e
    [ "$KEEP" = 1 ] && return 0
    for p in "${started[@]}"; do stop_nginx "$p"; done
    for d in "${redis_dirs[@]}"; do stop_redis_dir "$d"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_redis() {          # wait_redis PORT: until it answers PING
    for _ in $(seq 1 100); do
        redis-cli -p "$1" PING 2>/dev/null | grep -q PONG && return 0
        sleep 0.05
    done
    echo "bench: redis on $1 did not start" >&2
    return 1
}
start_redis() {         # start_redis PORT [OPTION VALUE ...]
    local p=$1 d=$out/redis-$1
    shift
    mkdir -p "$d"
    redis_dirs+=("$d")
    redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --dir "$d" \
        --pidfile "$d/redis.pid" --logfile "$d/redis.log" --save '' \
        --appendonly no "$@"
    wait_redis "$p"
}
load_keys() {           # load_keys PORT [-c] [TAGGED]: the example's keys
    local p=$1 c=${2:-} tagged=${3:-} f key
    for f in "$example"/redis/*; do
        key=$(basename "$f")
        [ -n "$tagged" ] && key="${key%%:*}:{$slug}"
        r=$(redis-cli $c -p "$p" -x SET "$key" <"$f")
        [ "$r" = OK ] || { echo "bench: SET $key on $p: $r" >&2; return 1; }
    done
}

# ---------------------------------------------------------------- single
want() { case " $TOPOLOGIES " in *" $1 "*) return 0;; esac; return 1; }

if want single; then
    log "single: redis on $single_port"
    start_redis "$single_port"
    load_keys "$single_port"
    nodes[single]=$single_port
fi

# ---------------------------------------------------------------- sentinel
if want sentinel; then
    log "sentinel: primary $sn_primary, replicas $sn_replicas, Sentinels $sn_sentinels"
    start_redis "$sn_primary"
    for r in $sn_replicas; do
        start_redis "$r" --replicaof 127.0.0.1 "$sn_primary"
    done
    load_keys "$sn_primary"
    for r in $sn_replicas; do
        for _ in $(seq 1 100); do
            redis-cli -p "$r" INFO replication | grep -q 'master_link_status:up' \
                && [ "$(redis-cli -p "$r" DBSIZE)" = 6 ] && break
            sleep 0.1
        done
    done
    for s in $sn_sentinels; do
        d=$out/sentinel-$s
        mkdir -p "$d"
        redis_dirs+=("$d")
        cat >"$d/sentinel.conf" <<EOF
port $s
bind 127.0.0.1
daemonize yes
pidfile $d/redis.pid
logfile $d/sentinel.log
dir $d
sentinel monitor bench 127.0.0.1 $sn_primary 2
sentinel down-after-milliseconds bench ${SENTINEL_DOWN_AFTER:-1000}
sentinel failover-timeout bench ${SENTINEL_FAILOVER_TIMEOUT:-3000}
sentinel parallel-syncs bench 2
EOF
        redis-sentinel "$d/sentinel.conf"
        wait_redis "$s"
    done
    for s in $sn_sentinels; do
        for _ in $(seq 1 200); do
            [ "$(redis-cli -p "$s" SENTINEL sentinels bench | grep -c '^name$')" = 2 ] \
                && [ "$(redis-cli -p "$s" SENTINEL replicas bench | grep -c '^name$')" = 2 ] \
                && break
            sleep 0.1
        done
    done
    nodes[sentinel]=$sn_primary
fi

# ---------------------------------------------------------------- cluster
if want cluster || want cluster-tags; then
    log "cluster: $cl_nodes"
    addrs=
    for p in $cl_nodes; do
        start_redis "$p" --cluster-enabled yes \
            --cluster-config-file "$out/redis-$p/nodes.conf" \
            --cluster-node-timeout 2000
        addrs="$addrs 127.0.0.1:$p"
    done
    # shellcheck disable=SC2086
    if ! redis-cli --cluster create $addrs --cluster-replicas 1 \
            --cluster-yes >"$out/cluster-create.log" 2>&1; then
        for s in cluster cluster-tags; do
            want "$s" && status[$s]="FAIL (redis-cli --cluster create: see $out/cluster-create.log)"
        done
    else
        for _ in $(seq 1 200); do
            ok_n=0
            for p in $cl_nodes; do
                redis-cli -p "$p" CLUSTER INFO | grep -q 'cluster_state:ok' \
                    && ok_n=$((ok_n + 1))
            done
            [ "$ok_n" = 6 ] \
                && [ "$(redis-cli -p "${cl_nodes%% *}" CLUSTER NODES | grep -c slave)" = 3 ] \
                && break
            sleep 0.1
        done
        first=${cl_nodes%% *}
        load_keys "$first" -c
        load_keys "$first" -c tagged
        cl_primaries=$(redis-cli -p "$first" CLUSTER NODES \
            | awk '$3 ~ /master/ && NF >= 9 { split($2, a, "[:@]"); print a[2] }' \
            | sort -n | tr '\n' ' ')
        nodes[cluster]=${cl_primaries% }
        nodes[cluster-tags]=${cl_primaries% }
        # where the keys are: one line per key, "KEY SLOT PORT"
        for f in "$example"/redis/*; do
            key=$(basename "$f")
            for k in "$key" "${key%%:*}:{$slug}"; do
                slot=$(redis-cli -p "$first" CLUSTER KEYSLOT "$k")
                owner=$(redis-cli -p "$first" CLUSTER SLOTS | python3 -c '
import sys
slot = int(sys.argv[1])
lines = [l.strip() for l in sys.stdin]
# flat redis-cli output: start, end, ip, port, id, ... per range
i = 0
while i + 3 < len(lines):
    if lines[i].isdigit() and lines[i + 1].isdigit() and "." in lines[i + 2]:
        if int(lines[i]) <= slot <= int(lines[i + 1]):
            print(lines[i + 3]); break
        i += 4
    else:
        i += 1
' "$slot")
                echo "$k $slot $owner"
            done
        done >"$out/cluster-keys.txt"
    fi
fi

# ---------------------------------------------------------------- nginx
conf() {                # conf NAME REDIS_LINE TAGGED
    local s=$1 p=$out/nginx-$1 k
    mkdir -p "$p/conf" "$p/logs"
    k() { if [ -n "$3" ]; then echo "\"$1:{\$slug}\""; else echo "$1:$2"; fi; }
    cat >"$p/conf/nginx.conf" <<EOF
worker_processes  1;
error_log  $p/logs/error.log  notice;
pid        $p/logs/nginx.pid;
events { worker_connections  1024; }
http {
$(grep -v '^#' "$bench/conf/common.inc")
    $2
    wapress_redis_timeout 200ms;
    server {
        listen 127.0.0.1:${port[$s]};
        location ~ ^/news/(?<slug>[a-z0-9-]+)\$ {
            wapress_layout   $example/layout.html;
            wapress_fragment article  $(k article '$slug' "$3")  required;
            wapress_fragment comments $(k comments '$slug' "$3") template=$example/templates/comments.mustache default=0;
            wapress_fragment related  $(k related '$slug' "$3")  template=$example/templates/related.mustache;
            wapress_fragment features $(k features home "$3")  template=$example/templates/features.mustache;
            wapress_fragment history  $(k history today "$3")  type=text template=$example/templates/history.mustache;
            wapress_fragment rates    $(k rates USD "$3")      template=$example/templates/rates.mustache;
        }
    }
}
EOF
}
sentinel_addrs=
for s in $sn_sentinels; do sentinel_addrs="$sentinel_addrs 127.0.0.1:$s"; done
cluster_addrs=
for p in $cl_nodes; do cluster_addrs="$cluster_addrs 127.0.0.1:$p"; done
conf single "wapress_redis 127.0.0.1:$single_port;" ""
conf sentinel "wapress_redis sentinel$sentinel_addrs master=bench;" ""
conf cluster "wapress_redis cluster$cluster_addrs;" ""
conf cluster-tags "wapress_redis cluster$cluster_addrs;" tagged

url() { echo "http://127.0.0.1:${port[$1]}$path"; }
ok() { [ "${status[$1]}" = ok ]; }

for s in single sentinel cluster cluster-tags; do
    ok "$s" || continue
    p=$out/nginx-$s
    if ! t=$("$NGINX" -p "$p" -c "$p/conf/nginx.conf" -t 2>&1); then
        status[$s]="FAIL (nginx -t: $(grep -m1 emerg <<<"$t" | sed 's/^nginx: //'))"
        log "$s: ${status[$s]}"
        continue
    fi
    "$NGINX" -p "$p" -c "$p/conf/nginx.conf"
    started+=("$p")
    # the Sentinels and the slot map are asked at worker start: a moment
    good=
    for _ in $(seq 1 50); do
        code=$(curl -s -m 5 -o "$p/page.html" -w '%{http_code}' "$(url "$s")" || true)
        if [ "$code" = 200 ] && cmp -s "$p/page.html" "$expected"; then
            good=1; break
        fi
        sleep 0.1
    done
    if [ -z "$good" ]; then
        status[$s]="FAIL (HTTP $code, body $(wc -c <"$p/page.html" 2>/dev/null || echo 0) bytes differs from expected.html)"
    fi
    log "$s on 127.0.0.1:${port[$s]}: ${status[$s]}"
done

if [ "${SETUP_ONLY:-0}" = 1 ]; then
    KEEP=1          # bench/failover.sh: the servers, started and checked
    exit 0
fi

# ---------------------------------------------------------------- pinned rounds
server_pids() {
    local d p m
    for d in "${redis_dirs[@]}"; do cat "$d/redis.pid" 2>/dev/null || true; done
    for p in "${started[@]}"; do
        m=$(cat "$p/logs/nginx.pid" 2>/dev/null) || continue
        echo "$m"
        ps -o pid= --ppid "$m" | tr -d ' '
    done
}
wrk_pin=()
if [ "$(nproc)" -ge 2 ]; then
    for pid in $(server_pids); do taskset -a -cp "$SERVER_CPU" "$pid" >/dev/null; done
    wrk_pin=(taskset -c "$WRK_CPU")
    pinned="nginx, redis-servers and Sentinels on CPU $SERVER_CPU, wrk on CPU $WRK_CPU"
else
    pinned="unpinned ($(nproc) CPU)"
fi
for s in single sentinel cluster cluster-tags; do
    ok "$s" || continue
    timeout 60 "${wrk_pin[@]}" wrk -t"$THREADS" -c"$CONNS" -d1s "$(url "$s")" \
        >"$out/wrk/$s.warmup.txt" 2>&1 || true
done
for r in $(seq 1 "$ROUNDS"); do
    for s in single sentinel cluster cluster-tags; do
        ok "$s" || continue
        log "round $r/$ROUNDS: $s, $CONNS connections, ${dur_s}s"
        timeout $((dur_s + 60)) "${wrk_pin[@]}" wrk -t"$THREADS" -c"$CONNS" \
            -d"${dur_s}s" --timeout 5s --latency "$(url "$s")" \
            >"$out/wrk/$s.$r.txt" 2>&1 || true
    done
done

# ---------------------------------------------------------------- per node
# INFO all of every node of the topology: twice back to back, then after
# the pages; (after - second) - (second - first) per node
for s in single sentinel cluster cluster-tags; do
    ok "$s" || continue
    for c in 1 "$CONNS"; do
        n=$COUNT_REQUESTS; [ "$c" = 1 ] && n=$COUNT1_REQUESTS
        f=$out/count/$s.c$c
        for node in ${nodes[$s]}; do
            redis-cli -p "$node" INFO all >"$f.$node.0"
            redis-cli -p "$node" INFO all >"$f.$node.1"
        done
        log "per node: $s, $n pages at $c connection(s)"
        timeout 300 "${wrk_pin[@]}" ab -q -k -s 10 -c "$c" -n "$n" "$(url "$s")" \
            >"$f.ab" 2>&1 || true
        for node in ${nodes[$s]}; do
            redis-cli -p "$node" INFO all >"$f.$node.2"
        done
    done
done

# ---------------------------------------------------------------- report
{
    for s in single sentinel cluster cluster-tags; do
        printf '%s\t%s\t%s\t%s\n' "$s" "${port[$s]}" "${nodes[$s]:-}" "${status[$s]}"
    done
} >"$out/servers.tsv"
{
    echo "conns=$CONNS"; echo "duration=${dur_s}s"; echo "rounds=$ROUNDS"
    echo "threads=$THREADS"; echo "quick=$QUICK"; echo "pinned=$pinned"
    echo "count1=$COUNT1_REQUESTS"; echo "countc=$COUNT_REQUESTS"
    echo "redis=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
    echo "nginx=$NGINX ($(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "uname=$(uname -srm)"; echo "cpus=$(nproc)"
} >"$out/env.txt"
python3 "$bench/topologies.py" "$out" >"$out/report.md"
cat "$out/report.md"
[ "$KEEP" = 1 ] && log "KEEP=1: servers left running (nginx prefixes $out/nginx-*)"
exit 0
