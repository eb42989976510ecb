#!/usr/bin/env bash
# util/valgrind.sh [PROVE ARGS]: the test suite with every nginx under
# valgrind memcheck (TEST_NGINX_USE_VALGRIND=1; "make test-valgrind"
# builds what it needs first).  The runner passes valgrind.suppress (the
# repository root's: nginx's own known reports) and, through its
# TEST_NGINX_VALGRIND_LOG extension, writes each process's reports to
# build/valgrind-logs/vg.PID; the run fails if the tests fail or if any of
# those files is not empty.  Without arguments it runs t/ minus the files
# in VALGRIND_SKIP (too timing-sensitive for a 20-50 times slower nginx;
# docs/testing.md says why each one).  Uses its own ports, Redis and
# server root, so it can run beside "make test".
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# name: reason (keep docs/testing.md in step)
VALGRIND_SKIP=${VALGRIND_SKIP-"
t/040-redis-down.t: TEST 4 expects the reconnect within 0.5 s of Redis up
t/041-redis-storm.t: counts connection attempts over 40 pages 25 ms apart
t/042-redis-backlog.t: a burst of 300 pages and a fresh page within 400 ms
t/043-redis-huge.t: measures the worker's peak RSS
t/046-stall.t: TEST 2 watches the connection that TEST 1 left stalled
t/092-filter-required.t: TEST 16 reads the first bytes with a 0.6 s timeout
t/100-cache.t: blocks share the zone, which restarting nginx empties
t/110-faults.t: blocks share the zone; init code connects at once
t/130-reload.t: master process, workers and HUP reloads
t/140-swr.t: blocks share the zone; timing of valid= and stale=
"}

logs=$root/build/valgrind-logs
rm -rf "$logs"
mkdir -p "$logs"

export TEST_NGINX_USE_VALGRIND=1
export TEST_NGINX_VALGRIND_LOG=$logs/vg
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$root/build/nginx/sbin/nginx}
export TEST_NGINX_SERVROOT=${TEST_NGINX_SERVROOT:-$root/t/servroot-valgrind}
# the suite's ports (docs/testing.md) moved up by 2000, so that this run
# and "make test" can share a machine; the private servers of t/1[0-4]*.t
# are numbered below TEST_NGINX_REDIS_PORT
for p in SERVER_PORT=1984 REDIS_PORT=6399 REDIS_AUTH_PORT=6398 \
         REDIS_DOWN_PORT=6397 REDIS_PAUSE_PORT=6396 \
         REDIS_BLACKHOLE_PORT=6395 REDIS_FILTER_PORT=6394 \
         REDIS_MUTE_PORT=6393 REDIS_MEMORY_PORT=6384; do
    v=TEST_NGINX_${p%=*}
    export "$v=${!v:-$((${p#*=} + 2000))}"
done
export TEST_NGINX_REDIS_DIR=${TEST_NGINX_REDIS_DIR:-$root/build/redis-valgrind}

if [ $# -eq 0 ]; then
    skip=$(printf '%s\n' "$VALGRIND_SKIP" | sed -n 's/^ *\(t\/[^:]*\):.*/\1/p')
    files=()
    while IFS= read -r f; do
        if printf '%s\n' "$skip" | grep -qxF "$f"; then
            echo "skipped under valgrind: $f"
            continue
        fi
        files+=("$f")
    done < <(find t -name '*.t' | sort)
    set -- "${files[@]}"
fi

rc=0

util/run-tests.sh "$@" || rc=1

echo "== valgrind reports"
util/sanitizers/check-logs.pl --valgrind "$logs" || rc=1

# valgrind creates its log file even when it has nothing to say: no file
# means no nginx ran under valgrind (or a runner without the extension)
if [ -z "$(ls "$logs")" ]; then
    echo "no valgrind log files: TEST_NGINX_VALGRIND_LOG needs the runner" \
         "in t/lib (PERL5LIB must not find another Test::Nginx)"
    rc=1
fi

if [ $rc -ne 0 ]; then
    echo "make test-valgrind: FAILED (tests or valgrind reports above;" \
         "logs in $logs)"
else
    echo "make test-valgrind: clean"
fi

exit $rc
