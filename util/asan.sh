#!/usr/bin/env bash
# util/asan.sh [PROVE ARGS]: the test suite under AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer ("make test-asan" builds
# what it needs first): the sanitized unit tests, then util/run-tests.sh
# against build/nginx-asan/sbin/nginx.  Every sanitizer report goes to a
# file in build/asan-logs/; the run fails if the tests fail or if any
# file holds a report (util/sanitizers/check-logs.pl), even when the
# tests passed.  Uses its own ports, Redis and server root, so it can run
# beside "make test".
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# suppressions and util/sanitizers/check-logs.pl match function names
if ! command -v llvm-symbolizer >/dev/null; then
    echo "$0: llvm-symbolizer not found (apt-get install llvm)" >&2
    exit 1
fi

logs=$root/build/asan-logs
rm -rf "$logs"
mkdir -p "$logs"

# ASAN_EXTRA: more ASan options, e.g. detect_stack_use_after_return=1
ASAN_OPTIONS="log_path=$logs/san:detect_leaks=1"
export ASAN_OPTIONS="$ASAN_OPTIONS${ASAN_EXTRA:+:$ASAN_EXTRA}"
export UBSAN_OPTIONS="log_path=$logs/san:print_stacktrace=1"
supp=$root/util/sanitizers/lsan.supp
export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$root/build/nginx-asan/sbin/nginx}
export TEST_NGINX_SERVROOT=${TEST_NGINX_SERVROOT:-$root/t/servroot-asan}
# the suite's ports (docs/testing.md) moved up by 1000, so that this run
# and "make test" can share a machine; the private servers of t/1[0-4]*.t
# are numbered below TEST_NGINX_REDIS_PORT
for p in SERVER_PORT=1984 REDIS_PORT=6399 REDIS_AUTH_PORT=6398 \
         REDIS_DOWN_PORT=6397 REDIS_PAUSE_PORT=6396 \
         REDIS_BLACKHOLE_PORT=6395 REDIS_FILTER_PORT=6394 \
         REDIS_MUTE_PORT=6393 REDIS_MEMORY_PORT=6384; do
    v=TEST_NGINX_${p%=*}
    export "$v=${!v:-$((${p#*=} + 1000))}"
done
export TEST_NGINX_REDIS_DIR=${TEST_NGINX_REDIS_DIR:-$root/build/redis-asan}

rc=0

echo "== sanitized unit tests (build/unit-asan)"
build/unit-asan/mustache_spec t/mustache-spec >"$logs/../asan-unit.tap" \
    || { echo "unit test mustache_spec failed"; rc=1; }
build/unit-asan/mustache_render examples/seed-page >>"$logs/../asan-unit.tap" \
    || { echo "unit test mustache_render failed"; rc=1; }
build/unit-asan/redis_slot >>"$logs/../asan-unit.tap" \
    || { echo "unit test redis_slot failed"; rc=1; }
grep -c '^ok' "$logs/../asan-unit.tap" | sed 's/$/ unit tests ok/'
grep '^not ok' "$logs/../asan-unit.tap"

echo "== the suite against $TEST_NGINX_BINARY"
util/run-tests.sh "$@" || rc=1

echo "== sanitizer reports"
util/sanitizers/check-logs.pl "$logs" || rc=1

if [ $rc -ne 0 ]; then
    echo "make test-asan: FAILED (tests or sanitizer reports above;" \
         "logs in $logs)"
else
    echo "make test-asan: clean"
fi

exit $rc
