#!/usr/bin/env bash
# util/deb.sh: builds build/libnginx-mod-http-wapress_<version>_<arch>.deb
# the way Debian builds its nginx modules (debian/: debhelper, dh's nginx
# sequence from nginx-dev, dh_nginx).  The tree is copied to build/deb/
# first so that dpkg-buildpackage's output (which goes to the parent
# directory) and obj-* stay inside build/.  Prints the .deb's path last.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

pkg=$(dpkg-parsechangelog -l debian/changelog -S Source)
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=libnginx-mod-http-wapress_${version}_${arch}.deb
work=$root/build/deb
src=$work/$pkg-$version

rm -rf "$work"
mkdir -p "$src"
# the source: the files git knows or would add (not build/, not ignored
# files), as a source package holds them; outside git, the tree minus
# build/ and test output
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$root" ls-files -z -c -o --exclude-standard \
        | tar -C "$root" --null --no-recursion --ignore-failed-read \
              -T - -cf - 2>/dev/null \
        | tar -C "$src" -xf -
else
    tar -C "$root" --exclude=./build --exclude='./t/servroot*' \
        --exclude='./obj-*' --exclude='./debian/.debhelper' -cf - . \
        | tar -C "$src" -xf -
fi

(cd "$src" && dpkg-buildpackage -b -uc -us) > "$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    echo "deb.sh: dpkg-buildpackage failed, log: $work/build.log" >&2
    exit 1
}

cp "$work/$deb" "$root/build/$deb"
echo "$root/build/$deb"
