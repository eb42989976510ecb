#!/usr/bin/env python3
"""bench/cgprof.py RUN BASE N [-f]: where a page's instructions go, from
two callgrind outputs of bench/run.sh (build/bench/callgrind/SERVER.run
and SERVER.base, N = CG_REQUESTS): each function's own cost, (run - base)
/ N, grouped (memcpy, the ETag's hashing, JSON and rendering, malloc/free,
hiredis, ...); with -f, the 30 costliest functions instead."""
import subprocess, sys, re
def fn(path):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no", "--inclusive=no", path],
                         capture_output=True, text=True).stdout
    d = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(\S+?):(\S+)(?: \[(.*)\])?$", line)
        if m:
            k = (m.group(3), m.group(4) or "")
            d[k] = d.get(k, 0) + int(m.group(1).replace(",", ""))
    return d
if len(sys.argv) < 4:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
run, base, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
a, b = fn(run), fn(base)
if "-f" in sys.argv[4:]:
    per = sorted((((a.get(k, 0) - b.get(k, 0)) / n, k) for k in set(a) | set(b)),
                 reverse=True)
    for v, k in per[:30]:
        print("%10.0f  %s %s" % (v, k[0], k[1]))
    sys.exit(0)
cats = {}
def cat(f, obj):
    if "jansson" in obj: return "json+render"
    if re.search(r"wapress_(json|mustache)", f): return "json+render"
    if "memcpy" in f or "memmove" in f: return "memcpy"
    if "headers_copy" in f or "headers_hash" in f or "headers_set" in f or "headers_etag" in f: return "etag hash"
    if "cache_key" in f: return "cache key"
    if re.search(r"malloc|free|calloc|realloc|consolidate|unlink_chunk|tcache", f): return "malloc/free"
    if "wapress" in f: return "module other"
    if "hiredis" in obj or re.search(r"^(redis|sds|__redis|string2ll|create)", f): return "hiredis"
    if "pcre" in obj: return "pcre"
    if "libc" in obj: return "libc other"
    return "nginx"
for k in set(a) | set(b):
    v = (a.get(k, 0) - b.get(k, 0)) / n
    c = cat(*k)
    cats[c] = cats.get(c, 0) + v
for c, v in sorted(cats.items(), key=lambda x: -x[1]):
    print("%10.0f  %s" % (v, c))
print("%10.0f  TOTAL" % sum(cats.values()))
