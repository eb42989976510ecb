#!/usr/bin/env bash
# util/run-tests.sh [PROVE ARGS]: runs the test suite (prove -r t by
# default) against build/nginx/sbin/nginx with its own Redis servers:
# a plain one (TCP and unix socket) and one that needs AUTH.  Uses the
# real Test::Nginx::Socket in $TEST_NGINX_LIB or where Perl finds it, else
# the compatible runner in t/lib.  Exits non-zero on any failure.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-$root/build/nginx/sbin/nginx}
export TEST_NGINX_REDIS_PORT=${TEST_NGINX_REDIS_PORT:-6399}
export TEST_NGINX_REDIS_AUTH_PORT=${TEST_NGINX_REDIS_AUTH_PORT:-6398}
export TEST_NGINX_REDIS_DIR=${TEST_NGINX_REDIS_DIR:-$root/build/test-redis}
export TEST_NGINX_REDIS_SOCKET=$TEST_NGINX_REDIS_DIR/main/redis.sock
export TEST_NGINX_EXAMPLE=$root/examples/seed-page
export TEST_NGINX_ROOT=$root

stop() {
    util/redis.sh stop "$TEST_NGINX_REDIS_DIR/main"
    util/redis.sh stop "$TEST_NGINX_REDIS_DIR/auth"
}
trap stop EXIT

util/redis.sh start "$TEST_NGINX_REDIS_DIR/main" "$TEST_NGINX_REDIS_PORT" \
    || exit 1
REDISCLI_AUTH=s3cret util/redis.sh start "$TEST_NGINX_REDIS_DIR/auth" \
    "$TEST_NGINX_REDIS_AUTH_PORT" --requirepass s3cret \
    --user alice on '>wonderland' '~*' '+@all' || exit 1

# TEST_NGINX_LIB=DIR: the real Test::Nginx's lib directory, first
# (make test TEST_NGINX_REAL=1 unpacks it in build/test-nginx/lib)
export PERL5LIB=$root${PERL5LIB:+:$PERL5LIB}
if [ -n "${TEST_NGINX_LIB:-}" ]; then
    if [ ! -f "$TEST_NGINX_LIB/Test/Nginx/Socket.pm" ]; then
        echo "$0: no Test/Nginx/Socket.pm in TEST_NGINX_LIB=$TEST_NGINX_LIB" >&2
        exit 1
    fi
    export PERL5LIB=$TEST_NGINX_LIB:$PERL5LIB
elif ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    export PERL5LIB=$root/t/lib:$PERL5LIB
fi
echo "Test::Nginx::Socket: $(perl -MTest::Nginx::Socket \
    -e 'print $INC{"Test/Nginx/Socket.pm"}' 2>/dev/null)"
echo "nginx: $TEST_NGINX_BINARY"

if [ $# -eq 0 ]; then
    set -- -r t
    filter_pass=1
fi
prove "$@" || rc=1

# the whole suite also runs every layout-mode file a second time with its
# layouts served through wapress_filter (t/WapressTest.pm)
if [ -n "${filter_pass:-}" ]; then
    echo "filter mode: the files that use wapress_layout, through the filter"
    TEST_WAPRESS_MODE=filter prove $(grep -l wapress_layout t/*.t \
        | xargs grep -L 'WapressTest::LayoutOnly') || rc=1
fi
exit ${rc:-0}
