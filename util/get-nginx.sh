#!/usr/bin/env bash
# util/get-nginx.sh DIR: puts the pristine nginx 1.22.1 source at
# DIR/nginx-1.22.1, taken from Debian's source package (the .orig tarball
# is the upstream release, checked against its SHA-256 below).  deb-src
# entries are derived from the system's own Debian sources when missing.
set -euo pipefail

dir=${1:?usage: $0 DIR}
ver=1.22.1
sha=9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31
tarball=nginx_$ver.orig.tar.gz

mkdir -p "$dir"
cd "$dir"
[ -d nginx-$ver/src ] && exit 0

if [ ! -f "$tarball" ]; then
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    src=/etc/apt/sources.list.d/debian.sources
    dst=/etc/apt/sources.list.d/wapress-deb-src.sources
    if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ \
         && ! grep -qs '^deb-src' /etc/apt/sources.list; then
        [ -f "$src" ] || { echo "$0: no $src to derive deb-src from" >&2;
                           exit 1; }
        sed 's/^Types: deb$/Types: deb-src/' "$src" | $sudo tee "$dst" >/dev/null
        $sudo apt-get update -q
    fi
    # The newest security revision's patches may be missing from the
    # mirror and make apt-get fail after the tarball arrived: check it.
    apt-get source --download-only nginx=1.22.1-9+deb12u9 \
        || apt-get source --download-only nginx || true
fi

echo "$sha  $tarball" | sha256sum -c --quiet
tar xzf "$tarball"
