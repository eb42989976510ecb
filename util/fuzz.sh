#!/usr/bin/env bash
# util/fuzz.sh TARGET...: runs each libFuzzer target built by "make
# fuzz-build" (build/fuzz/bin/TARGET) for FUZZ_SECONDS (default 60) from
# the committed seeds in fuzz/corpus/TARGET plus what earlier runs found
# in build/fuzz/corpus/TARGET (new inputs go there; crashes, timeouts and
# out-of-memory inputs to build/fuzz/artifacts/TARGET/).  Appends one line
# per target to build/fuzz/results.txt (date, target, seconds, runs,
# result) and fails if any target found something.
#
# Reproduce a finding: build/fuzz/bin/TARGET build/fuzz/artifacts/TARGET/F
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=${FUZZ_SECONDS:-60}
out=$root/build/fuzz
results=$out/results.txt

# the JSON fragment target reads the seed page's templates from here
export WAPRESS_FUZZ_TEMPLATES=$root/examples/seed-page/templates

rc=0

for t in "$@"; do
    bin=$out/bin/$t

    case $t in
        marker*) dict=fuzz/marker.dict ;;
        mustache) dict=fuzz/mustache.dict ;;
        *) dict=fuzz/json.dict ;;
    esac

    mkdir -p "$out/corpus/$t" "$out/artifacts/$t" "$out/logs"
    log=$out/logs/$t.log

    echo "== fuzz $t: $seconds s (log: $log)"

    # -timeout: one input taking over 10 s is a finding (a hang);
    # -rss_limit_mb: as is one using over 2 GB
    # the marker targets also start from the example page (its layout)
    extra=()
    case "$t" in marker*) extra=(examples/seed-page) ;; esac

    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -dict="$dict" -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$t/" \
        "$out/corpus/$t" "fuzz/corpus/$t" "${extra[@]}" >"$log" 2>&1
    status=$?

    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log")
    took=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log")
    corpus=$(ls "$out/corpus/$t" | wc -l)

    if [ $status -eq 0 ]; then
        result=ok
    else
        result="FOUND (exit $status)"
        rc=1
        grep -E 'ERROR|runtime error|SUMMARY|fuzz_[a-z]*\.h:|\.c:[0-9]+: ' \
             "$log" | head -20
        ls -t "$out/artifacts/$t" | head -3 | sed "s|^|  $out/artifacts/$t/|"
    fi

    printf '%s %-14s %6ss %12s runs  corpus %5s  %s\n' \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$t" "${took:-?}" "${runs:-?}" \
        "$corpus" "$result" | tee -a "$results"
done

exit $rc
