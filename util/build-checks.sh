#!/usr/bin/env bash
# util/build-checks.sh: the build's own regression tests ("make
# test-build"), each a configure run or a make dry run in build/checks/:
#   - headers of one hiredis with the library of another stop configure
#     with an error naming both (hiredis 1.4 headers by -I with Debian's
#     0.14 archive; 1.4 headers with a 0.14 shared library in one prefix)
#   - HIREDIS=PREFIX (hiredis built by "make hiredis") configures
#   - the module links hiredis from its archive with its symbols hidden:
#     no redis* / sds* symbol exported by the nginx binaries and the .so
#     that exist in build/
#   - a change of NGINX_CC_OPT, NGINX_LD_OPT or NGINX_SRC reconfigures; a
#     git tree (auto/configure, no ./configure) is configured as such
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

dir=$root/build/checks
src=$root/build/nginx-1.22.1
rm -rf "$dir"
mkdir -p "$dir"
make -s hiredis >/dev/null || exit 1
hiredis=$root/build/hiredis-1.4.1
fail=0

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; fail=1; }

# configure NAME EXPECT(ok|fail) PATTERN [ENV=...] -- [CONFIGURE ARGS]
configure() {
    local name=$1 expect=$2 pattern=$3 rc
    shift 3
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    (cd "$src" && env "${envs[@]}" ./configure --builddir="$dir/$name" \
        --with-debug --add-module="$root" "$@") >"$dir/$name.log" 2>&1
    rc=$?
    if [ $expect = ok ] && [ $rc -eq 0 ] \
       && grep -q -- "$pattern" "$dir/$name.log"
    then
        ok "$name: configured ($pattern)"
    elif [ $expect = fail ] && [ $rc -ne 0 ] \
         && grep -q -- "$pattern" "$dir/$name.log"
    then
        ok "$name: refused ($pattern)"
    else
        not_ok "$name: configure rc=$rc, expected $expect with" \
               "\"$pattern\" ($dir/$name.log)"
        tail -12 "$dir/$name.log" | sed 's/^/#   /'
    fi
}

[ -f "$src/configure" ] || make -s "$src/src/core/nginx.h" || exit 1

configure default ok 'hiredis 0.14.1 library matching its headers ... found' \
    --
configure include-only fail 'they are not the same hiredis' \
    -- --with-cc-opt="-I $hiredis/include"

mkdir -p "$dir/mixed/lib"
cp -r "$hiredis/include" "$dir/mixed/"
so=$(cc -print-file-name=libhiredis.so)
ln -s "$so" "$dir/mixed/lib/libhiredis.so"
configure mixed-prefix fail 'but the library' WAPRESS_HIREDIS="$dir/mixed" --
configure bad-prefix fail 'has no include/hiredis/hiredis.h' \
    WAPRESS_HIREDIS="$dir/nowhere" --
configure prefix ok 'hiredis 1.4.0 library matching its headers ... found' \
    WAPRESS_HIREDIS="$hiredis" --

for f in build/nginx*/sbin/nginx build/ngx_http_wapress_module.so; do
    [ -f "$f" ] || continue
    leaked=$(nm -D --defined-only "$f" | grep -E ' (redis|sds|hi_)' | head -3)
    if [ -z "$leaked" ]; then
        ok "$f exports no hiredis symbol"
    else
        not_ok "$f exports hiredis symbols: $leaked"
    fi
done

# dry runs: what make would do after a change of the settings
dry() {
    local name=$1 pattern=$2
    shift 2
    if make -n "$@" 2>&1 | grep -q -- "$pattern"; then
        ok "$name"
    else
        not_ok "$name: make -n $* does not run \"$pattern\""
    fi
}

if [ -f build/objs/Makefile ]; then
    cp build/objs.settings "$dir/objs.settings.saved"
    dry "NGINX_CC_OPT changed: reconfigures" "--with-cc-opt='-O1 -g'" \
        build NGINX_CC_OPT='-O1 -g'
    cp "$dir/objs.settings.saved" build/objs.settings
    dry "NGINX_LD_OPT changed: reconfigures" "--with-ld-opt='-Wl,-z,now'" \
        build NGINX_LD_OPT='-Wl,-z,now'
    cp "$dir/objs.settings.saved" build/objs.settings
    touch -r build/objs/Makefile build/objs.settings
    make -n build >/dev/null 2>&1
    if [ ! build/objs.settings -nt build/objs/Makefile ] \
       && [ ! build/objs.settings -ot build/objs/Makefile ]
    then
        ok "settings unchanged: build/objs.settings left alone"
    else
        not_ok "settings unchanged: build/objs.settings rewritten"
    fi
fi

# a git tree (auto/configure, no ./configure) in its own build dir
mkdir -p "$dir/git/nginx/auto"
ln -s "$src/src" "$src/conf" "$src/html" "$dir/git/nginx/"
ln -s "$src"/auto/* "$dir/git/nginx/auto/"
cp "$src/configure" "$dir/git/nginx/auto/configure"
objs=$root/build/objs-src-nginx
rm -rf "$objs" "$objs.settings"
if make "$objs/Makefile" NGINX_SRC="$dir/git/nginx" >"$dir/git.log" 2>&1 \
   && [ -f "$objs/Makefile" ]
then
    ok "NGINX_SRC=git tree: configured in build/objs-src-nginx"
else
    not_ok "NGINX_SRC=git tree: not configured ($dir/git.log)"
fi
rm -rf "$objs" "$objs.settings"

exit $fail
