#!/usr/bin/env bash
# util/test-browser.sh [SCREENSHOT]: the demo page as a person sees it
# (make test-browser).  Starts util/demo.sh (build/nginx/sbin/nginx and a
# private Redis, prefix build/test-browser) and loads the page in headless
# Chromium with util/browser.py, which fails on any failed or >= 400
# sub-resource, console error, broken image or unapplied stylesheet, and
# writes the screenshot (build/test-browser/page.png by default;
# docs/demo.png is the one the README shows: SCREENSHOT=docs/demo.png).
# Ports: TEST_NGINX_BROWSER_PORT (1982) and TEST_NGINX_BROWSER_REDIS_PORT
# (6382), moved by the same offset as TEST_NGINX_SERVER_PORT (ports.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
off=$(( ${TEST_NGINX_SERVER_PORT:-1984} - 1984 ))
port=${TEST_NGINX_BROWSER_PORT:-$((1982 + off))}
redis_port=${TEST_NGINX_BROWSER_REDIS_PORT:-$((6382 + off))}
work=$root/build/test-browser
shot=${1:-$work/page.png}
url=http://127.0.0.1:$port/news/niger-junta-revokes-eu-security-agreements

mkdir -p "$work"
PORT=$port REDIS_PORT=$redis_port DEMO_PREFIX=$work/demo \
    "$root/util/demo.sh" > "$work/demo.log" 2>&1 &
demo=$!
trap 'kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true' EXIT

for _ in $(seq 1 200); do
    if curl -s -o /dev/null -f "$url"; then
        break
    fi
    if ! kill -0 $demo 2>/dev/null; then
        cat "$work/demo.log" >&2
        echo "test-browser: util/demo.sh exited" >&2
        exit 1
    fi
    sleep 0.05
done

if python3 "$root/util/browser.py" "$url" "$shot"; then
    echo "test-browser: PASS ($shot)"
else
    echo "test-browser: FAIL; demo log: $work/demo.log," \
         "nginx logs: $work/demo/logs" >&2
    exit 1
fi
