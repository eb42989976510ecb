#!/usr/bin/env bash
# util/test-deb.sh [DEB]: the Debian package end to end (make test-deb).
#   1. builds it with util/deb.sh (or takes DEB), runs lintian (fails on
#      any E: tag, prints the others);
#   2. installs it with apt-get install ./DEB onto Debian's nginx and checks
#      the .so, modules-available/mod-http-wapress.conf and the
#      modules-enabled symlink dh_nginx's scripts make;
#   3. serves examples/seed-page with Debian's /usr/sbin/nginx and a private
#      configuration (it includes /etc/nginx/modules-enabled/*.conf, as
#      /etc/nginx/nginx.conf does, so every module installed there is
#      loaded too) and a private redis-server, and compares the page with
#      expected.html byte for byte; then the same with nchan's module
#      loaded before this one (nchan exports its own hiredis's symbols);
#   4. purges the package and checks that its files and links are gone.
# The running system nginx (if any) and /etc/nginx/nginx.conf are not used.
# Ports: TEST_NGINX_DEB_PORT (1981) and TEST_NGINX_DEB_REDIS_PORT (6381),
# both moved by the same offset as TEST_NGINX_SERVER_PORT (ports.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
off=$(( ${TEST_NGINX_SERVER_PORT:-1984} - 1984 ))
port=${TEST_NGINX_DEB_PORT:-$((1981 + off))}
redis_port=${TEST_NGINX_DEB_REDIS_PORT:-$((6381 + off))}
pkg=libnginx-mod-http-wapress
so=/usr/lib/nginx/modules/ngx_http_wapress_module.so
avail=/usr/share/nginx/modules-available/mod-http-wapress.conf
enabled=/etc/nginx/modules-enabled/50-mod-http-wapress.conf
example=$root/examples/seed-page
work=$root/build/test-deb
slug=niger-junta-revokes-eu-security-agreements
apt=(apt-get -y -q -o DPkg::Lock::Timeout=300)
fail=0

say() { echo "test-deb: $*"; }
bad() { echo "test-deb: FAIL: $*" >&2; fail=1; }

[ "$(id -u)" -eq 0 ] || { apt=(sudo "${apt[@]}"); }

deb=${1:-}
if [ -z "$deb" ]; then
    deb=$("$root/util/deb.sh" | tail -n 1)
fi
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
say "package $deb"

# ------------------------------------------------------------- lintian
if command -v lintian >/dev/null; then
    tags=$(lintian --pedantic -I "$deb" 2>/dev/null || true)
    if [ -n "$tags" ]; then
        printf '%s\n' "$tags" | sed 's/^/  lintian: /'
    fi
    if printf '%s\n' "$tags" | grep -q '^E: '; then
        bad "lintian reports errors"
    else
        n=$(printf '%s' "$tags" | grep -c . || true)
        say "lintian: no errors ($n other tags)"
    fi
else
    bad "lintian is not installed (apt-get install lintian)"
fi

# ---------------------------------------------------------- install
depends=$(dpkg-deb -f "$deb" Depends)
abi=$(grep -o 'nginx-abi-[^ ,]*' <<<"$depends" || true)
if [ -z "$abi" ]; then
    bad "Depends has no nginx-abi-*: $depends"
elif ! dpkg-query -W -f='${Provides}\n' nginx 2>/dev/null \
        | grep -qw -- "$abi"; then
    bad "Debian's nginx does not provide $abi"
else
    say "depends on $abi, which the installed nginx provides"
fi

# a fresh install: a copy left by an interrupted run goes first
mkdir -p "$(dirname "$work")"
: > "$work.apt.log"
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
    say "$pkg was installed already: purging it first"
    "${apt[@]}" purge "$pkg" >> "$work.apt.log" 2>&1
fi
"${apt[@]}" install "$deb" >> "$work.apt.log" 2>&1 || {
    cat "$work.apt.log" >&2
    bad "apt-get install $deb failed"
    exit 1
}
cleanup() {
    "$root/util/redis.sh" stop "$work/redis" 2>/dev/null || true
    if [ -f "$work/nginx.pid" ]; then
        kill -QUIT "$(cat "$work/nginx.pid")" 2>/dev/null || true
    fi
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed
    then
        "${apt[@]}" purge "$pkg" >> "$work.apt.log" 2>&1 || true
    fi
}
trap cleanup EXIT

[ -f "$so" ] || bad "$so not installed"
[ -f "$avail" ] || bad "$avail not installed"
grep -qx "load_module modules/ngx_http_wapress_module.so;" "$avail" \
    || bad "$avail: $(cat "$avail" 2>/dev/null)"
[ "$(readlink "$enabled")" = "$avail" ] \
    || bad "$enabled is not a link to $avail"
say "installed: $so, $avail, $enabled"

# ------------------------------------------------------------ serve
rm -rf "$work"
mkdir -p "$work/logs" "$work/tmp"
temp=
for t in client_body proxy fastcgi uwsgi scgi; do
    temp="$temp    ${t}_temp_path $work/tmp/$t;\n"
done
"$root/util/redis.sh" start "$work/redis" "$redis_port"
"$example/load.sh" "$redis_port" >/dev/null

# serve NAME WHAT LINE...: /usr/sbin/nginx with the LINEs at the top of
# examples/nginx.conf; GET the page and compare it with expected.html
serve() {
    local name=$1 what=$2 conf=$work/$1.conf url code
    shift 2
    {
        printf '%s\n' "$@"
        sed -e "s|@PREFIX@|$work|g" -e "s|@EXAMPLE@|$example|g" \
            -e "s|@PORT@|$port|g" -e "s|@REDIS_PORT@|$redis_port|g" \
            -e "s|^\(\s*pid\s\+\).*;|\1$work/nginx.pid;|" \
            -e "s|logs/error.log|logs/$name.error.log|" \
            -e "s|^http {|http {\n$temp|" \
            "$root/examples/nginx.conf"
    } > "$conf"
    if ! /usr/sbin/nginx -c "$conf" -t > "$work/$name.t.log" 2>&1; then
        cat "$work/$name.t.log" >&2
        bad "$what: /usr/sbin/nginx -t failed"
        return
    fi
    /usr/sbin/nginx -c "$conf" 2> "$work/logs/$name.start.log"
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.05
    done
    url=http://127.0.0.1:$port/news/$slug
    code=$(curl -s -o "$work/$name.html" -w '%{http_code}' "$url" || true)
    if [ "$code" != 200 ]; then
        bad "$what: GET $url: status $code"
        grep -m 3 wapress "$work/logs/$name.error.log" >&2 || true
    elif ! cmp "$work/$name.html" "$example/expected.html"; then
        bad "$what: GET $url differs from expected.html" \
            "(diff $work/$name.html)"
    else
        say "$what: GET $url: 200, $(wc -c < "$work/$name.html")" \
            "bytes, same as expected.html"
    fi
    if grep -E '\[(alert|crit|emerg)\]' "$work/logs/$name.error.log"; then
        bad "$what: alerts in $work/logs/$name.error.log"
    fi
    kill -QUIT "$(cat "$work/nginx.pid")"
    for _ in $(seq 1 100); do
        [ -f "$work/nginx.pid" ] || break
        sleep 0.05
    done
}

# as /etc/nginx/nginx.conf loads modules: every one installed, in the
# order of their links' names
serve enabled \
    "$(ls /etc/nginx/modules-enabled | wc -l) modules in modules-enabled" \
    "include /etc/nginx/modules-enabled/*.conf;"

# nchan bundles its own hiredis and exports its symbols: loaded first, its
# copy must not stand in for the one the module was built with
nchan=/usr/lib/nginx/modules/ngx_nchan_module.so
if [ -f "$nchan" ]; then
    serve nchan-first "nchan loaded first" "load_module $nchan;" \
        "load_module $so;"
fi

# ----------------------------------------------------------- remove
"${apt[@]}" purge "$pkg" >> "$work.apt.log" 2>&1 || bad "apt-get purge failed"
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
    bad "$pkg still installed"
fi
for f in "$so" "$avail" "$enabled" "$enabled.removed"; do
    if [ -e "$f" ] || [ -L "$f" ]; then bad "$f left behind"; fi
done
[ $fail -eq 0 ] && say "purged: no files or links left"

if [ $fail -ne 0 ]; then
    echo "test-deb: FAILED" >&2
    exit 1
fi
echo "test-deb: PASS"
