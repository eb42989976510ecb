#!/usr/bin/env bash
# util/get-nginx.sh DIR [VERSION]: puts the pristine nginx source at
# DIR/nginx-VERSION.  1.22.1 (the default) is taken from Debian's source
# package (the .orig tarball is the upstream release, checked against its
# SHA-256 below); deb-src entries are derived from the system's own Debian
# sources when missing.  Any other version is unpacked from
# $THIRD_PARTY/nginx-VERSION.tar.gz (a git tree of the release tag: it has
# auto/configure and no ./configure), checked against the SHA-256 below
# when the version is listed there.
set -euo pipefail

dir=${1:?usage: $0 DIR [VERSION]}
ver=${2:-1.22.1}

mkdir -p "$dir"
cd "$dir"
[ -f nginx-$ver/src/core/nginx.h ] && exit 0

if [ "$ver" != 1.22.1 ]; then
    tarball=${THIRD_PARTY:-}/nginx-$ver.tar.gz
    if [ -z "${THIRD_PARTY:-}" ] || [ ! -f "$tarball" ]; then
        echo "$0: no nginx-$ver.tar.gz in THIRD_PARTY=${THIRD_PARTY:-}" \
             "(make THIRD_PARTY=DIR, or NGINX_SRC=DIR)" >&2
        exit 1
    fi
    case $ver in
        1.30.4) sha=822d676a425d433f3612da46f3af578d4c920b7491100da6c486669e10f7efd2 ;;
        1.31.4) sha=81792c7884cd79746e669f1a3dd0504c3c7cfd4a0f4c87e58795ef16ebf2cb80 ;;
        *) sha= ;;
    esac
    if [ -n "$sha" ]; then
        echo "$sha  $tarball" | sha256sum -c --quiet
    else
        echo "$0: no SHA-256 known for nginx $ver: not checked" >&2
    fi
    rm -rf "nginx-$ver"
    tar xzf "$tarball"
    [ -f "nginx-$ver/src/core/nginx.h" ] || {
        echo "$0: $tarball has no nginx-$ver/src/core/nginx.h" >&2; exit 1; }
    exit 0
fi

sha=9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31
tarball=nginx_$ver.orig.tar.gz

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
