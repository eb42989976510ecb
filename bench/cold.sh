#!/usr/bin/env bash
# bench/cold.sh [NGINX]: instructions per page (callgrind) of the example
# page (examples/seed-page, the configuration of examples/nginx.conf) with
# the render memo off (wapress_memo_size 0): every JSON and text value is
# decoded and rendered on every page, as when every value is new since
# its last rendering.  MEMO=8m measures it with the memo on instead.
#
# nginx runs under valgrind --tool=callgrind (master_process off), WARMUP
# pages then N pages on one keepalive connection (ab -k -c 1); the same
# run with the warm-up only is the baseline: Ir per page = (Ir(run) -
# Ir(baseline)) / N.  Its own Redis on REDIS_PORT, nginx on PORT.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
nginx=${1:-$root/build/nginx/sbin/nginx}
port=${PORT:-8096}
redis_port=${REDIS_PORT:-6412}
memo=${MEMO:-0}
n=${N:-200}
warmup=${WARMUP:-20}
dir=$root/build/cold
ex=$root/examples/seed-page

rm -rf "$dir" && mkdir -p "$dir/logs" "$dir/conf"

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log"
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
"$ex/load.sh" "$redis_port" >/dev/null

cat >"$dir/conf/nginx.conf" <<_EOF_
worker_processes  1;
error_log  $dir/logs/error.log  warn;
pid        $dir/logs/nginx.pid;
events { worker_connections  64; }
http {
    access_log  off;
    wapress_redis 127.0.0.1:$redis_port;
    wapress_memo_size $memo;
    server {
        listen 127.0.0.1:$port;
        location ~ ^/news/(?<slug>[a-z0-9-]+)\$ {
            wapress_layout   $ex/layout.html;
            wapress_fragment article  article:\$slug  required;
            wapress_fragment comments comments:\$slug template=$ex/templates/comments.mustache default=0;
            wapress_fragment related  related:\$slug  template=$ex/templates/related.mustache;
            wapress_fragment features features:home  template=$ex/templates/features.mustache;
            wapress_fragment history  history:today  type=text template=$ex/templates/history.mustache;
            wapress_fragment rates    rates:USD      template=$ex/templates/rates.mustache;
        }
    }
}
_EOF_

url=http://127.0.0.1:$port/news/niger-junta-revokes-eu-security-agreements

once() {           # once PAGES OUT: prints the total Ir
    valgrind --tool=callgrind --callgrind-out-file="$2" "$nginx" \
        -p "$dir" -c "$dir/conf/nginx.conf" -e "$dir/logs/error.log" \
        -g 'daemon off; master_process off;' >"$2.log" 2>&1 &
    local pid=$!
    for _ in $(seq 300); do
        curl -s -o /dev/null "$url" && break
        sleep 0.2
    done
    # the page is the expected one
    curl -s "$url" | cmp -s - "$ex/expected.html" \
        || { echo "cold.sh: the page differs from expected.html" >&2;
             kill -KILL $pid; exit 1; }
    ab -q -k -c 1 -n "$warmup" "$url" >/dev/null
    [ "$1" -gt 0 ] && ab -q -k -c 1 -n "$1" "$url" >"$2.ab"
    kill -QUIT $pid
    wait $pid || true
    sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$2" | head -1
}

run=$(once "$n" "$dir/run.out")
base=$(once 0 "$dir/base.out")
grep -q "^Failed requests: *0$" "$dir/run.out.ab"
echo "wapress_memo_size $memo: $(( (run - base) / n )) instructions per page" \
     "($n pages: $run - $base)"
