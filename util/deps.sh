#!/usr/bin/env bash
# util/deps.sh [build|test|demo|modules|deb|browser|asan|valgrind|fuzz|bench]:
# installs, with apt-get, the Debian packages a make target needs and is
# quiet when they are all there.
set -euo pipefail

build=(build-essential libhiredis-dev libjansson-dev libpcre2-dev zlib1g-dev
       dpkg-dev ca-certificates)
test=(redis-server redis-tools libtest-base-perl libtext-diff-perl
      libtest-longstring-perl libwww-perl liburi-perl libipc-run-perl
      liblist-moreutils-perl curl)
extra=()
case "${1:-build}" in
    build) ;;
    test|demo) extra=("${test[@]}") ;;
    modules) extra=(nginx-dev nginx libnginx-mod-nchan) ;;
    deb) extra=(nginx-dev nginx debhelper lintian redis-server redis-tools
                curl) ;;
    browser) extra=("${test[@]}" chromium imagemagick) ;;
    asan) extra=("${test[@]}" clang libclang-rt-14-dev llvm valgrind) ;;
    valgrind) extra=("${test[@]}" valgrind) ;;
    fuzz) extra=(clang libclang-rt-14-dev llvm) ;;
    bench) extra=("${test[@]}" nginx libnginx-mod-http-lua lua-nginx-redis
                  lua-cjson apache2-utils
                  wrk valgrind) ;;
    *) echo "usage: $0 [build|test|demo|modules|deb|browser|asan|valgrind|fuzz|bench]" >&2
       exit 2 ;;
esac

missing=()
for p in "${build[@]}" "${extra[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
         | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}"
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
