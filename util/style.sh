#!/usr/bin/env bash
# util/style.sh: the mechanical part of nginx's code style for the C
# sources: no line over 80 columns, no tab, no trailing space, no "//"
# comment.  Prints each offending line and exits non-zero if any.
set -u
cd "$(dirname "$0")/.."

status=0
files=$(ls ngx_wapress_module/*.[ch] t/unit/*.c fuzz/*.c 2>/dev/null)

check() {
    local what=$1 pattern=$2 out
    out=$(grep -nE -- "$pattern" $files)
    if [ -n "$out" ]; then
        echo "$what:"
        echo "$out"
        status=1
    fi
}

check "longer than 80 columns" '.{81}'
check "tab" $'\t'
check "trailing space" ' +$'
check "// comment" '^[^"]*//'

[ $status -eq 0 ] && echo "style.sh: $(echo $files | wc -w) files ok"
exit $status
