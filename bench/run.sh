#!/usr/bin/env bash
# bench/run.sh: the benchmark of ngx_wapress_module (make bench).  Serves a
# workload five ways side by side on 127.0.0.1, each nginx with one worker:
#   static          our nginx serving the reference pages as files (the limit)
#   wapress         the module, every fragment read from Redis on every page
#   wapress-cached  the module with wapress_cache valid=1s
#   wapress-inval   the cache with valid=1h invalidate=on (conf/inval.inc)
#   lua             Debian's nginx + lua module, OpenResty style (bench/lua/)
# WORKLOAD=example: the seed page (examples/seed-page/expected.html);
# WORKLOAD=site: 10,000 articles from bench/site/gen.py, requested with a
# Zipf distribution while bench/site/writer.py changes values.
# Checks answers byte for byte against the reference pages, loads each
# server with wrk in interleaved rounds, first pinned (nginx and Redis on
# SERVER_CPU, wrk and the writer on WRK_CPU: the headline), then unpinned;
# counts Redis commands, read events and CPU per page, worker RSS over
# MILLION requests and instructions per page (callgrind; site: a fixed
# sequence of paths.txt, bench/site/replay.py), and
# prints a Markdown report, also written to build/bench/report.md.
#
# Knobs: WORKLOAD (example) CONNS (32) DURATION (10s) ROUNDS (3)
#        THREADS (wrk threads, 2) MILLION (1000000) QUICK=1 (3s, 1 round,
#        20000 requests for RSS)  PHASES ("pinned unpinned")
#        SERVER_CPU (0) WRK_CPU (1)  SKIP_CALLGRIND=1 CG_REQUESTS (2000)
#        CG_WARMUP (200)  COUNT_REQUESTS (20000) COUNT1_REQUESTS (2000)
#        COUNT_SECONDS (site: 5)  REDIS_PORT (6411) BASE_PORT (8301:
#        servers on 8301..8305)  BENCH_NGINX (build/nginx-bench/sbin/nginx,
#        make bench-build)  CACHE_VALID (example 1h, site 1s)
#        CACHE_SIZE (the zone: example 32m, site 256m)
#        MEMO_SIZE (wapress_memo_size: example the default, site 64m)
#        site: SEED (1) ARTICLES (10000) REQUESTS (300000 paths) CHECK (200)
#        WRITER (1) WRITER_INCR (500) WRITER_PUBLISH (10) WRITER_RATES (1 s)
#        WRITER_NOTIFY (PUBLISH channel for invalidation, empty)
#        STATUS_PATH (the module's status URL: conf/status.inc declares
#        it; /wapress-status?format=json, empty: no hit rates)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$root/bench
out=$root/build/bench
example=$root/examples/seed-page
expected=$example/expected.html
slug=niger-junta-revokes-eu-security-agreements
path=/news/$slug
WORKLOAD=${WORKLOAD:-example}
# WORKLOAD=topologies: one Redis, Sentinel and Cluster side by side
[ "$WORKLOAD" = topologies ] && exec "$bench/topologies.sh"
case "$WORKLOAD" in example|site) ;; *)
    echo "WORKLOAD: example or site" >&2; exit 2;; esac

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    DURATION=${DURATION:-3s}; ROUNDS=${ROUNDS:-1}; MILLION=${MILLION:-20000}
    COUNT_REQUESTS=${COUNT_REQUESTS:-5000}; COUNT1_REQUESTS=${COUNT1_REQUESTS:-1000}
    CG_REQUESTS=${CG_REQUESTS:-1000}
    [ "$WORKLOAD" = site ] || CG_WARMUP=${CG_WARMUP:-100}
fi
CONNS=${CONNS:-32}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
MILLION=${MILLION:-1000000}
COUNT_REQUESTS=${COUNT_REQUESTS:-20000}
COUNT1_REQUESTS=${COUNT1_REQUESTS:-2000}
CG_REQUESTS=${CG_REQUESTS:-2000}
cg_warmup=200; [ "$WORKLOAD" = site ] && cg_warmup=3000  # site: memo, cache
CG_WARMUP=${CG_WARMUP:-$cg_warmup}
SKIP_CALLGRIND=${SKIP_CALLGRIND:-0}
REDIS_PORT=${REDIS_PORT:-6411}
BASE_PORT=${BASE_PORT:-8301}
PHASES=${PHASES:-pinned unpinned}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
COUNT_SECONDS=${COUNT_SECONDS:-5}
SEED=${SEED:-1}
ARTICLES=${ARTICLES:-10000}
REQUESTS=${REQUESTS:-300000}
CHECK=${CHECK:-200}
WRITER=${WRITER:-1}
WRITER_INCR=${WRITER_INCR:-500}
WRITER_PUBLISH=${WRITER_PUBLISH:-10}
WRITER_RATES=${WRITER_RATES:-1}
WRITER_NOTIFY=${WRITER_NOTIFY:-}
STATUS_PATH=${STATUS_PATH-/wapress-status?format=json}
if [ "$WORKLOAD" = site ]; then
    CACHE_VALID=${CACHE_VALID:-1s}
    CACHE_SIZE=${CACHE_SIZE:-256m}    # 10,000 pages' fragments: ~130 MB
    MEMO_SIZE=${MEMO_SIZE-64m}        # every article's renderings: ~30 MB
else
    CACHE_VALID=${CACHE_VALID:-1h}
    CACHE_SIZE=${CACHE_SIZE:-32m}
    MEMO_SIZE=${MEMO_SIZE-}           # the module's default (8m)
    WRITER=0
fi

dur_s=${DURATION%s}
case "$dur_s" in *[!0-9]*|'') echo "DURATION: seconds, like 10s" >&2; exit 2;; esac

# static and wapress: one binary, built as for production (make
# bench-build: no --with-debug); the debug build only if there is no other
NGINX=${BENCH_NGINX:-$root/build/nginx-bench/sbin/nginx}
if [ ! -x "$NGINX" ] && [ -x "$root/build/nginx/sbin/nginx" ]; then
    echo "bench: no $NGINX (make bench-build): using build/nginx," \
         "a debug build" >&2
    NGINX=$root/build/nginx/sbin/nginx
fi
DEB_NGINX=/usr/sbin/nginx
LUA_MODULES=/usr/lib/nginx/modules
servers=(static wapress wapress-cached wapress-inval lua)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- packages
# util/deps.sh bench installs the main ones; these extras too, if missing.
need=()
for p in redis-server redis-tools wrk curl valgrind libnginx-mod-http-lua \
         lua-nginx-redis lua-cjson apache2-utils; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
        | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
    { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive \
        $sudo apt-get install -y -q --no-install-recommends "${need[@]}"; } \
        >"${TMPDIR:-/tmp}/bench-apt.log" 2>&1 \
        || log "apt-get failed (see ${TMPDIR:-/tmp}/bench-apt.log); going on"
fi
for t in redis-server redis-cli wrk curl python3 taskset; do
    command -v "$t" >/dev/null || { echo "bench: $t is missing" >&2; exit 1; }
done

# ---------------------------------------------------------------- state
rm -rf "$out"
mkdir -p "$out/wrk" "$out/count" "$out/callgrind" "$out/status"
metrics=$out/metrics.tsv      # server <TAB> metric <TAB> value
: >"$metrics"
metric() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$metrics"; }

declare -A port bin prefix status
i=0
for s in "${servers[@]}"; do
    port[$s]=$((BASE_PORT + i)); i=$((i + 1))
    prefix[$s]=$out/$s
    bin[$s]=$NGINX
    status[$s]=ok
done
bin[lua]=$DEB_NGINX
started=()          # prefixes of running nginx masters
cg_pid=
writer_pid=

cleanup() {
    set +e
    [ -n "$writer_pid" ] && kill "$writer_pid" 2>/dev/null
    [ -n "$cg_pid" ] && kill -QUIT "$cg_pid" 2>/dev/null \
        && { sleep 2; kill -KILL "$cg_pid" 2>/dev/null; }
    for p in "${started[@]}"; do stop_nginx "$p"; done
    "$root/util/redis.sh" stop "$out/redis" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_nginx() {     # stop_nginx PREFIX: the master whose pid file is there
    local pf=$1/logs/nginx.pid pid
    [ -f "$pf" ] || return 0
    pid=$(cat "$pf")
    kill -QUIT "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null; sleep 0.5; kill -KILL "$pid" 2>/dev/null
    return 0
}

subst() {          # subst IN OUT KEY=VALUE...: replaces @KEY@ in IN
    python3 - "$@" <<'EOF'
import sys
src, dst, *kv = sys.argv[1:]
s = open(src).read()
for a in kv:
    k, v = a.split("=", 1)
    s = s.replace("@" + k + "@", v)
open(dst, "w").write(s)
EOF
}

wait_port() {      # wait_port PORT SECONDS: until something listens there
    local n=$(($2 * 10))
    for _ in $(seq 1 "$n"); do
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

url() { echo "http://127.0.0.1:${port[$1]}$path"; }

# ---------------------------------------------------------------- workload
# site: generated once per (SEED, ARTICLES, REQUESTS, CHECK) into
# build/bench-data/ (kept between runs: about 220 MB for 10,000 articles)
data=
if [ "$WORKLOAD" = site ]; then
    data=$root/build/bench-data/site-s$SEED-n$ARTICLES-r$REQUESTS-c$CHECK
    stamp=$(cat "$bench/site/gen.py" "$bench/site/mustache.py" \
            "$example"/layout.html "$example"/templates/* \
            "$example"/redis/* | md5sum | cut -d' ' -f1)
    if [ "$(cat "$data/stamp" 2>/dev/null)" != "$stamp" ]; then
        log "generating $ARTICLES articles (seed $SEED) into $data"
        rm -rf "$data"
        python3 "$bench/site/gen.py" --out "$data" --seed "$SEED" \
            --articles "$ARTICLES" --requests "$REQUESTS" --check "$CHECK" >&2
        echo "$stamp" >"$data/stamp"
    fi
fi

# ---------------------------------------------------------------- redis
log "redis on 127.0.0.1:$REDIS_PORT"
"$root/util/redis.sh" start "$out/redis" "$REDIS_PORT"
if [ "$WORKLOAD" = site ]; then
    loaded=$(redis-cli -p "$REDIS_PORT" --pipe <"$data/redis.resp" | tail -1)
    keys=$(sed -n 's/^keys=//p' "$data/meta.txt")
    case "$loaded" in "errors: 0, replies: $keys") ;; *)
        echo "bench: loading $data/redis.resp: $loaded" >&2; exit 1;; esac
    [ "$(redis-cli -p "$REDIS_PORT" DBSIZE)" = "$keys" ] \
        || { echo "bench: DBSIZE is not $keys" >&2; exit 1; }
else
    "$example/load.sh" "$REDIS_PORT" >/dev/null
fi
redis_version=$(redis-cli -p "$REDIS_PORT" INFO server \
                | sed -n 's/^redis_version:\([^\r]*\).*/\1/p')

# ---------------------------------------------------------------- configs
common=$(grep -v '^#' "$bench/conf/common.inc")
# the module's status endpoint, when there is one (conf/status.inc, pasted
# into the wapress servers; STATUS_PATH is its URL)
status_inc=$(grep -v '^#' "$bench/conf/status.inc" || true)
# invalidation (issue 11): conf/inval.inc's directives make wapress-inval
inval=$(grep -v '^#' "$bench/conf/inval.inc" | grep -v '^[[:space:]]*$' || true)
cache_line="    wapress_cache zone=wapress:$CACHE_SIZE valid=$CACHE_VALID;"
memo_line=
[ -n "$MEMO_SIZE" ] && memo_line="    wapress_memo_size $MEMO_SIZE;"
static_root=${prefix[static]}/html ofc_max=16
if [ "$WORKLOAD" = site ]; then
    static_root=$data/html ofc_max=$((ARTICLES + 100))
fi
for s in "${servers[@]}"; do
    p=${prefix[$s]}
    mkdir -p "$p/conf" "$p/logs"
    tmpl=$bench/conf/$s.conf.in cache= inv=
    case "$s" in
    wapress-cached) tmpl=$bench/conf/wapress.conf.in cache=$cache_line ;;
    wapress-inval)  tmpl=$bench/conf/wapress.conf.in
                    inv=${inval//@CACHE_SIZE@/$CACHE_SIZE} ;;
    esac
    subst "$tmpl" "$p/conf/nginx.conf" "COMMON=$common" "CACHE=$cache" \
        "MEMO=$memo_line" \
        "INVAL=$inv" "STATUS=$status_inc" "STATIC_ROOT=$static_root" \
        "OFC_MAX=$ofc_max" \
        "PREFIX=$p" "PORT=${port[$s]}" "REDIS_PORT=$REDIS_PORT" \
        "EXAMPLE=$example" "BENCH=$bench"
done
if [ "$WORKLOAD" = example ]; then
    mkdir -p "${prefix[static]}/html/news"
    cp "$expected" "${prefix[static]}/html/news/$slug"
fi
[ -n "$inval" ] || status[wapress-inval]="n/a (bench/conf/inval.inc holds no directive)"

if [ ! -x "$NGINX" ]; then
    log "no $NGINX (make bench-build): static falls back to $DEB_NGINX"
    bin[static]=$DEB_NGINX
    status[wapress]="FAIL (no $NGINX)"
    status[wapress-cached]="FAIL (no $NGINX)"
    status[wapress-inval]="FAIL (no $NGINX)"
fi
if [ ! -x "$DEB_NGINX" ] || [ ! -f "$LUA_MODULES/ngx_http_lua_module.so" ] \
   || [ ! -f /usr/share/lua/5.1/nginx/redis.lua ]; then
    status[lua]="n/a (Debian nginx, libnginx-mod-http-lua or lua-nginx-redis missing)"
fi

# ---------------------------------------------------------------- start + check
for s in "${servers[@]}"; do
    [ "${status[$s]}" = ok ] || continue
    p=${prefix[$s]}
    args=(-p "$p" -c "$p/conf/nginx.conf" -e "$p/logs/error.log")
    if ! t=$("${bin[$s]}" "${args[@]}" -t 2>&1); then
        if [ "$s" = wapress-cached ] \
           && grep -q 'unknown directive "wapress_cache"' <<<"$t"; then
            status[$s]="n/a (wapress_cache not built)"
        elif [ "$s" = wapress-inval ] \
           && grep -q 'unknown directive' <<<"$t"; then
            status[$s]="n/a (invalidation not built: $(grep -m1 -o 'unknown directive "[^"]*"' <<<"$t"))"
        else
            status[$s]="FAIL (nginx -t: $(grep -m1 emerg <<<"$t" | sed 's/^nginx: //'))"
        fi
        log "$s: ${status[$s]}"
        continue
    fi
    "${bin[$s]}" "${args[@]}"
    started+=("$p")
    if ! wait_port "${port[$s]}" 10; then
        status[$s]="FAIL (did not start; see $p/logs/error.log)"
        continue
    fi
    if [ "$WORKLOAD" = site ]; then
        # CHECK slugs, one keepalive connection, against the reference pages
        r=$(timeout 120 python3 "$bench/site/check.py" "${port[$s]}" \
                "$data" "$p/wrong" 2>&1 | tail -1) || true
        [ "$r" = "ok $(wc -l <"$data/check.txt")" ] \
            || status[$s]=${r:-FAIL (check.py failed)}
        log "$s on 127.0.0.1:${port[$s]}: ${status[$s]}"
        continue
    fi
    code=$(curl -s -m 5 -o "$p/page.html" -w '%{http_code}' "$(url "$s")" || true)
    if [ "$code" != 200 ]; then
        status[$s]="FAIL (HTTP $code)"
    elif ! d=$(cmp "$p/page.html" "$expected" 2>&1); then
        status[$s]="FAIL (body $(wc -c <"$p/page.html") bytes, ${d#* differ: })"
    else
        # a second request on another connection: keepalive pools, caches
        curl -s -m 5 -o "$p/page2.html" "$(url "$s")" || true
        cmp -s "$p/page2.html" "$expected" \
            || status[$s]="FAIL (second response differs)"
    fi
    log "$s on 127.0.0.1:${port[$s]}: ${status[$s]}"
done

ok() { [ "${status[$1]}" = ok ]; }

# ---------------------------------------------------------------- timed rounds
wrk_pin=()         # the taskset prefix of wrk and the writer in this phase
wrk_run() {        # wrk_run SERVER SECONDS CONNS OUTFILE [THREADS]
    local site=()
    [ "$WORKLOAD" = site ] && site=(-s "$bench/site/zipf.lua")
    local u
    u=$(url "$1")
    [ "$WORKLOAD" = site ] && u=http://127.0.0.1:${port[$1]}/
    timeout $(($2 + 60)) "${wrk_pin[@]}" wrk -t"${5:-$THREADS}" -c"$3" \
        -d"$2s" --timeout 5s --latency "${site[@]}" "$u" \
        ${data:+-- "$data/paths.txt"} >"$4" 2>&1 || true
}
server_pids() {    # redis and every running nginx master and worker
    cat "$out/redis/redis.pid"
    local p m
    for p in "${started[@]}"; do
        m=$(cat "$p/logs/nginx.pid" 2>/dev/null) || continue
        echo "$m"
        ps -o pid= --ppid "$m" | tr -d ' '
    done
}
pin() {            # pin pinned|unpinned: sets the servers' CPUs and wrk_pin
    local cpus=$SERVER_CPU,$WRK_CPU pid
    wrk_pin=()
    if [ "$1" = pinned ]; then
        cpus=$SERVER_CPU wrk_pin=(taskset -c "$WRK_CPU")
    fi
    for pid in $(server_pids); do
        taskset -a -cp "$cpus" "$pid" >/dev/null
    done
}
writer_start() {   # writer_start TAG: the writer, in the background
    [ "$WORKLOAD" = site ] && [ "$WRITER" = 1 ] || return 0
    "${wrk_pin[@]}" python3 "$bench/site/writer.py" --port "$REDIS_PORT" \
        --seed "$SEED" --articles "$ARTICLES" --incr "$WRITER_INCR" \
        --publish "$WRITER_PUBLISH" --rates-every "$WRITER_RATES" \
        ${WRITER_NOTIFY:+--notify-channel "$WRITER_NOTIFY"} \
        --stats "$out/writer.$1.txt" 2>"$out/writer.$1.log" &
    writer_pid=$!
    sleep 1         # it builds the site's slugs before it writes
}
writer_stop() {    # writer_stop TAG: stops it; its rates into metrics
    [ -n "$writer_pid" ] || return 0
    kill "$writer_pid" 2>/dev/null || true
    wait "$writer_pid" 2>/dev/null || true
    writer_pid=
    local k v
    while IFS== read -r k v; do
        metric writer "$1_$k" "$v"
    done <"$out/writer.$1.txt" 2>/dev/null || true
}
status_get() {     # status_get SERVER FILE: the module's counters, if any
    [ -n "$STATUS_PATH" ] || return 0
    case "$1" in wapress*) ;; *) return 0;; esac
    curl -s -m 5 -o "$2" "http://127.0.0.1:${port[$1]}$STATUS_PATH" || true
}

phases_run=
ncpu=$(nproc)
for phase in $PHASES; do
    if [ "$phase" = pinned ] && [ "$ncpu" -lt 2 ]; then
        log "pinned: n/a ($ncpu CPU)"
        continue
    fi
    phases_run="$phases_run $phase"
    mkdir -p "$out/wrk/$phase" "$out/status/$phase"
    pin "$phase"
    for s in "${servers[@]}"; do
        ok "$s" && wrk_run "$s" 1 "$CONNS" "$out/wrk/$phase/$s.warmup.txt"
    done
    writer_start "$phase"
    for s in "${servers[@]}"; do
        ok "$s" && status_get "$s" "$out/status/$phase/$s.0"
    done
    for r in $(seq 1 "$ROUNDS"); do
        for s in "${servers[@]}"; do
            ok "$s" || continue
            log "$phase round $r/$ROUNDS: $s, $CONNS connections, ${dur_s}s"
            w=$out/wrk/$phase/$s.$r
            redis-cli -p "$REDIS_PORT" INFO commandstats >"$w.info0"
            wrk_run "$s" "$dur_s" "$CONNS" "$w.txt"
            redis-cli -p "$REDIS_PORT" INFO commandstats >"$w.info1"
        done
    done
    for s in "${servers[@]}"; do
        ok "$s" && status_get "$s" "$out/status/$phase/$s.1"
    done
    writer_stop "$phase"
done
pin unpinned

# ---------------------------------------------------------------- redis counts
# INFO snapshots before and after a fixed number of pages (example: ab -n;
# site: wrk for COUNT_SECONDS over the Zipf paths, pages = wrk's count),
# with the writer stopped; the cost of one snapshot itself (its INFO
# command and read event) is measured with two snapshots back to back and
# subtracted.
snap() { redis-cli -p "$REDIS_PORT" INFO all >"$1"; }
if [ "$WORKLOAD" = site ] || command -v ab >/dev/null; then
    for s in wapress wapress-cached wapress-inval lua; do
        ok "$s" || continue
        for c in 1 "$CONNS"; do
            n=$COUNT_REQUESTS; [ "$c" = 1 ] && n=$COUNT1_REQUESTS
            f=$out/count/$s.c$c
            status_get "$s" "$f.status.0"
            snap "$f.0"; snap "$f.1"
            if [ "$WORKLOAD" = site ]; then
                log "redis count: $s, ${COUNT_SECONDS}s at $c connection(s)"
                t=$THREADS; [ "$c" = 1 ] && t=1
                wrk_run "$s" "$COUNT_SECONDS" "$c" "$f.wrk" "$t"
            else
                log "redis count: $s, $n pages at $c connection(s)"
                timeout 300 ab -q -k -s 10 -c "$c" -n "$n" "$(url "$s")" \
                    >"$f.ab" 2>&1 || true
            fi
            snap "$f.2"
            status_get "$s" "$f.status.2"
            python3 "$bench/report.py" redis-delta "$s" "$c" "$f" >>"$metrics"
        done
    done
else
    log "no ab (apache2-utils): Redis counts n/a"
fi

# ---------------------------------------------------------------- RSS
# site: the Zipf load with the writer running (10,000 distinct pages and
# changing values go through the worker)
rss_of() { ps -o rss= -p "$1" | tr -d ' '; }
if ok wapress; then
    master=$(cat "${prefix[wapress]}/logs/nginx.pid")
    worker=$(ps -o pid= --ppid "$master" | head -1 | tr -d ' ')
    writer_start rss
    wrk_run wapress 2 "$CONNS" "$out/wrk/wapress.rss-warmup.txt"
    rate=$(python3 "$bench/report.py" wrk-rate "$out/wrk/wapress.rss-warmup.txt")
    before=$(rss_of "$worker")
    done_n=0 chunks=0
    log "RSS: wapress worker $worker, $MILLION requests (~$((MILLION / (rate > 0 ? rate : 1)))s)"
    while [ "$done_n" -lt "$MILLION" ] && [ "$chunks" -lt 20 ]; do
        left=$((MILLION - done_n))
        secs=$(( (left + rate - 1) / (rate > 0 ? rate : 1) + 1 ))
        [ "$secs" -gt 300 ] && secs=300
        wrk_run wapress "$secs" "$CONNS" "$out/wrk/wapress.rss.$chunks.txt"
        got=$(python3 "$bench/report.py" wrk-requests "$out/wrk/wapress.rss.$chunks.txt")
        done_n=$((done_n + got)); chunks=$((chunks + 1))
        [ "$got" -gt 0 ] || break
    done
    after=$(rss_of "$worker")
    writer_stop rss
    if [ "$(ps -o pid= --ppid "$master" | head -1 | tr -d ' ')" = "$worker" ]; then
        metric wapress rss_requests "$done_n"
        metric wapress rss_before_kb "$before"
        metric wapress rss_after_kb "$after"
    else
        log "RSS: the worker changed (crashed?); RSS n/a"
        metric wapress rss_note "worker $worker died during the run"
    fi
fi

for p in "${started[@]}"; do stop_nginx "$p"; done
started=()

# ---------------------------------------------------------------- callgrind
# Each server under callgrind (master_process off), CG_WARMUP requests then
# CG_REQUESTS on one keepalive connection; the same run with the warm-up only
# is the baseline: Ir per page = (Ir(run) - Ir(baseline)) / CG_REQUESTS.
cg_ir=
cg_once() {        # cg_once SERVER REQUESTS OUTFILE: sets cg_ir (total Ir)
    local s=$1 n=$2 f=$3 p=${prefix[$1]}
    cg_ir=
    timeout 900 valgrind --tool=callgrind --callgrind-out-file="$f" \
        "${bin[$s]}" -p "$p" -c "$p/conf/nginx.conf" -e "$p/logs/error.log" \
        -g 'daemon off; master_process off;' >"$f.log" 2>&1 &
    cg_pid=$!
    if ! wait_port "${port[$s]}" 120; then
        kill -KILL "$cg_pid" 2>/dev/null; wait "$cg_pid" 2>/dev/null; cg_pid=
        return 0
    fi
    status_get "$s" "$f.status.0"
    if [ "$WORKLOAD" = site ]; then
        # paths.txt in order: CG_WARMUP, then the next n (Zipf, fixed)
        [ "$CG_WARMUP" -gt 0 ] && timeout 900 python3 "$bench/site/replay.py" \
            "${port[$s]}" "$data/paths.txt" 0 "$CG_WARMUP" \
            >"$f.warmup.ab" 2>&1
        status_get "$s" "$f.status.1"
        if [ "$n" -gt 0 ]; then
            timeout 1800 python3 "$bench/site/replay.py" "${port[$s]}" \
                "$data/paths.txt" "$CG_WARMUP" "$n" >"$f.ab" 2>&1 || true
            # as ab says it, for the check below
            grep -q "^ok $n\$" "$f.ab" && printf \
                'Complete requests: %s\nFailed requests: 0\n' "$n" >>"$f.ab"
        fi
        status_get "$s" "$f.status.2"
    else
        if [ "$CG_WARMUP" -gt 0 ]; then
            timeout 600 ab -q -k -s 60 -c 1 -n "$CG_WARMUP" "$(url "$s")" \
                >"$f.warmup.ab" 2>&1 || true
        fi
        status_get "$s" "$f.status.1"
        if [ "$n" -gt 0 ]; then
            timeout 900 ab -q -k -s 60 -c 1 -n "$n" "$(url "$s")" \
                >"$f.ab" 2>&1 || true
        fi
        status_get "$s" "$f.status.2"
    fi
    kill -QUIT "$cg_pid" 2>/dev/null || true
    wait "$cg_pid" 2>/dev/null || true
    cg_pid=
    [ -f "$f" ] && cg_ir=$(sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$f" | head -1)
    return 0
}
if [ "$SKIP_CALLGRIND" = 1 ]; then
    log "callgrind skipped (SKIP_CALLGRIND=1)"
    metric all callgrind_note "skipped (SKIP_CALLGRIND=1)"
elif ! command -v valgrind >/dev/null \
     || { [ "$WORKLOAD" = example ] && ! command -v ab >/dev/null; }; then
    metric all callgrind_note "valgrind or ab missing"
else
    if [ "$WORKLOAD" = site ]; then
        # the writer ran (rounds, RSS): the reference values again, so
        # that every run and every server sees the same pages
        log "callgrind: reloading the site's values into Redis"
        redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
        loaded=$(redis-cli -p "$REDIS_PORT" --pipe <"$data/redis.resp" | tail -1)
        case "$loaded" in "errors: 0, replies: $keys") ;; *)
            echo "bench: reloading $data/redis.resp: $loaded" >&2; exit 1;; esac
    fi
    for s in "${servers[@]}"; do
        ok "$s" || continue
        log "callgrind: $s, $CG_WARMUP + $CG_REQUESTS requests, and baseline"
        cg_once "$s" "$CG_REQUESTS" "$out/callgrind/$s.run"; full=$cg_ir
        cg_once "$s" 0 "$out/callgrind/$s.base"; base=$cg_ir
        if [ -n "$full" ] && [ -n "$base" ] \
           && grep -q "Complete requests: *$CG_REQUESTS\$" "$out/callgrind/$s.run.ab" \
           && grep -q '^Failed requests: *0$' "$out/callgrind/$s.run.ab"; then
            metric "$s" cg_requests "$CG_REQUESTS"
            metric "$s" cg_ir_run "$full"
            metric "$s" cg_ir_base "$base"
        else
            metric "$s" cg_note "callgrind run failed (see build/bench/callgrind/$s.*)"
        fi
    done
fi

# ---------------------------------------------------------------- report
{
    for s in "${servers[@]}"; do
        printf '%s\t%s\t%s\t%s\n' "$s" "${port[$s]}" "${bin[$s]}" "${status[$s]}"
    done
} >"$out/servers.tsv"
{
    echo "conns=$CONNS"; echo "duration=${dur_s}s"; echo "rounds=$ROUNDS"
    echo "threads=$THREADS"; echo "quick=$QUICK"; echo "million=$MILLION"
    echo "redis=$redis_version"; echo "cpus=$(nproc)"
    echo "uname=$(uname -srm)"
    echo "fragments=$(grep -c '<!--# wapress fragment=' "$example/layout.html")"
    echo "count1=$COUNT1_REQUESTS"; echo "countc=$COUNT_REQUESTS"
    echo "cg_warmup=$CG_WARMUP"
    cc=$("$NGINX" -V 2>&1 | sed -n "s/.*--with-cc-opt='\([^']*\)'.*/\1/p")
    dbg="without --with-debug"
    "$NGINX" -V 2>&1 | grep -q -- '--with-debug' && dbg="--with-debug"
    echo "ours=$("$NGINX" -v 2>&1 | sed 's/.*: //') ($(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?'), $cc, $dbg)"
    echo "workload=$WORKLOAD"; echo "phases=${phases_run# }"
    echo "server_cpu=$SERVER_CPU"; echo "wrk_cpu=$WRK_CPU"
    echo "cache_valid=$CACHE_VALID"; echo "cache_size=$CACHE_SIZE"; echo "count_seconds=$COUNT_SECONDS"
    echo "memo_size=${MEMO_SIZE:-8m (default)}"
    echo "status_path=$STATUS_PATH"
    echo "writer=$WRITER"; echo "writer_target=$WRITER_INCR incr/s, 1 rates/${WRITER_RATES}s, $WRITER_PUBLISH publish/s"
    if [ -n "$data" ]; then
        sed 's/^/site_/' "$data/meta.txt"
    fi
    echo "debian=$("$DEB_NGINX" -v 2>&1 | sed 's/.*: //') (Debian, libnginx-mod-http-lua $(dpkg-query -W -f='${Version}' libnginx-mod-http-lua 2>/dev/null))"
} >"$out/env.txt"
python3 "$bench/report.py" report "$out" >"$out/report.md"
cat "$out/report.md"
