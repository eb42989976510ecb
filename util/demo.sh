#!/usr/bin/env bash
# util/demo.sh: serves the example page.  Starts a private Redis on
# $REDIS_PORT (6400) loaded with examples/seed-page, then
# build/nginx/sbin/nginx on 127.0.0.1:$PORT (8080) in the foreground, with
# the page's stylesheet and images under /static/; Ctrl-C stops both.
# DEMO_PREFIX (build/demo): nginx's prefix (conf, logs) and Redis's files.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8080}
REDIS_PORT=${REDIS_PORT:-6400}
prefix=${DEMO_PREFIX:-$root/build/demo}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
example=$root/examples/seed-page

mkdir -p "$prefix/logs" "$prefix/conf"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@EXAMPLE@|$example|g" \
    -e "s|@PORT@|$PORT|g" -e "s|@REDIS_PORT@|$REDIS_PORT|g" \
    "$root/examples/nginx.conf" > "$prefix/conf/nginx.conf"

"$root/util/redis.sh" start "$prefix/redis" "$REDIS_PORT"
stop() { "$root/util/redis.sh" stop "$prefix/redis"; }
trap stop EXIT
"$example/load.sh" "$REDIS_PORT"

nginx="$root/build/nginx/sbin/nginx"
"$nginx" -p "$prefix" -c "$prefix/conf/nginx.conf" -t -q
echo
echo "West Africa Press demo: http://127.0.0.1:$PORT/news/niger-junta-revokes-eu-security-agreements"
echo "(Redis on 127.0.0.1:$REDIS_PORT, logs in $prefix/logs; Ctrl-C stops both)"
"$nginx" -p "$prefix" -c "$prefix/conf/nginx.conf" -g 'daemon off;' &
pid=$!
trap 'kill -QUIT $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; stop' EXIT
trap 'exit 0' INT TERM
wait $pid
