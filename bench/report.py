#!/usr/bin/env python3
"""bench/report.py: the number crunching of bench/run.sh.

  report.py wrk-rate FILE          requests/s of one wrk output, as an integer
  report.py wrk-requests FILE      requests completed in one wrk output
  report.py redis-delta SERVER CONNS PREFIX
                                   Redis commands and read events per page from
                                   PREFIX.0/.1/.2 (INFO all snapshots: two back
                                   to back, then one after the load) and
                                   PREFIX.ab (ab's output); prints metrics.tsv
                                   lines
  report.py report DIR             the Markdown report of build/bench (DIR)
"""
import glob
import os
import re
import statistics
import sys

SERVERS = ["static", "wapress", "wapress-cached", "lua"]


# ------------------------------------------------------------------ wrk
def parse_wrk(path):
    text = open(path, errors="replace").read()
    r = {"rps": None, "p50": None, "p99": None, "requests": 0, "errors": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        r["requests"] = int(m.group(1))
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s(?:\.0+)?%%\s+([\d.]+)(us|ms|s|m|h)\s*$" % pct,
                      text, re.M)
        if m:
            r["p" + pct] = float(m.group(1)) * unit[m.group(2)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", text)
    if m:
        r["errors"] += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["errors"] += int(m.group(1))
    return r


# ------------------------------------------------------------------ redis
def parse_info(path):
    d = {}
    for line in open(path, errors="replace"):
        line = line.strip()
        if ":" not in line or line.startswith("#"):
            continue
        k, v = line.split(":", 1)
        if k.startswith("cmdstat_"):
            m = re.search(r"calls=(\d+)", v)
            d[k] = int(m.group(1)) if m else 0
        elif re.fullmatch(r"-?\d+", v):
            d[k] = int(v)
    return d


def parse_ab(path):
    r = {"complete": 0, "failed": 0, "non2xx": 0}
    if not os.path.exists(path):
        return r
    text = open(path, errors="replace").read()
    for key, pat in (("complete", r"Complete requests:\s+(\d+)"),
                     ("failed", r"Failed requests:\s+(\d+)"),
                     ("non2xx", r"Non-2xx responses:\s+(\d+)")):
        m = re.search(pat, text)
        if m:
            r[key] = int(m.group(1))
    return r


def redis_delta(server, conns, prefix):
    s0, s1, s2 = (parse_info("%s.%d" % (prefix, i)) for i in range(3))
    ab = parse_ab(prefix + ".ab")

    def delta(key):
        return (s2.get(key, 0) - s1.get(key, 0)) - (s1.get(key, 0) - s0.get(key, 0))

    cmds = sum(delta(k) for k in set(s2) | set(s1) if k.startswith("cmdstat_"))
    names = sorted("%s=%d" % (k[8:], delta(k)) for k in set(s2) | set(s1)
                   if k.startswith("cmdstat_") and delta(k) != 0)
    pages = ab["complete"] - ab["non2xx"]
    tag = "c%s" % conns
    out = [("pages", pages), ("gets", delta("cmdstat_get")), ("cmds", cmds),
           ("cmdlist", " ".join(names) or "-"),
           ("ab_failed", ab["failed"] + ab["non2xx"])]
    if "total_reads_processed" in s2:
        out.append(("reads", delta("total_reads_processed")))
    for k, v in out:
        print("%s\tcount_%s_%s\t%s" % (server, tag, k, v))


# ------------------------------------------------------------------ report
def fmt_int(x):
    return "%d" % round(x) if x is not None else "n/a"


def fmt_ms(x):
    if x is None:
        return "n/a"
    return "%.2f ms" % x if x < 10 else "%.1f ms" % x


def fmt_ratio(x, digits=2):
    return ("%%.%df×" % digits) % x if x is not None else "n/a"


def report(d):
    env = dict(line.rstrip("\n").split("=", 1)
               for line in open(os.path.join(d, "env.txt")) if "=" in line)
    status, binary, port = {}, {}, {}
    for line in open(os.path.join(d, "servers.tsv")):
        s, p, b, st = line.rstrip("\n").split("\t")
        status[s], binary[s], port[s] = st, b, p
    metrics = {}
    for line in open(os.path.join(d, "metrics.tsv")):
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3:
            metrics[(parts[0], parts[1])] = parts[2]

    def num(server, key):
        v = metrics.get((server, key))
        try:
            return float(v) if v is not None else None
        except ValueError:
            return None

    # timed rounds
    res = {}
    for s in SERVERS:
        runs = []
        for f in sorted(glob.glob(os.path.join(d, "wrk", "%s.[0-9]*.txt" % s))):
            if re.search(r"\.\d+\.txt$", f):
                runs.append(parse_wrk(f))
        good = [r for r in runs if r["rps"] is not None]
        if status[s] == "ok" and good:
            rps = [r["rps"] for r in good]
            res[s] = {
                "rps": statistics.median(rps), "min": min(rps), "max": max(rps),
                "p50": statistics.median([r["p50"] for r in good if r["p50"] is not None] or [0]),
                "p99": statistics.median([r["p99"] for r in good if r["p99"] is not None] or [0]),
                "errors": sum(r["errors"] for r in runs), "rounds": len(good),
            }
        elif status[s] == "ok":
            status[s] = "FAIL (wrk gave no result)"

    base = res.get("static")
    L = []
    L.append("# ngx_wapress_module benchmark")
    L.append("")
    L.append("%s CPUs, %s; wrk %s threads, %s connections, %s × %s rounds "
             "(interleaved); one nginx worker each; Redis %s.%s"
             % (env.get("cpus"), env.get("uname"), env.get("threads"),
                env.get("conns"), env.get("duration"), env.get("rounds"),
                env.get("redis"), " QUICK=1." if env.get("quick") == "1" else ""))
    L.append("")
    L.append("| server | req/s (median) | req/s min–max | p50 | p99 | × static req/s |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for s in SERVERS:
        if s in res:
            r = res[s]
            ratio = r["rps"] / base["rps"] if base else None
            note = ""
            if r["errors"]:
                note = " (%d errors)" % r["errors"]
            L.append("| %s | %s%s | %s–%s | %s | %s | %s |" % (
                s, fmt_int(r["rps"]), note, fmt_int(r["min"]), fmt_int(r["max"]),
                fmt_ms(r["p50"]), fmt_ms(r["p99"]), fmt_ratio(ratio)))
        else:
            L.append("| %s | %s | | | | |" % (s, status[s]))
    L.append("")
    L.append("- static: our nginx (%s) serving expected.html as a file; wapress "
             "and wapress-cached: the same binary; lua: %s."
             % (env.get("ours"), env.get("debian")))
    L.append("- Every server's answer was first compared byte for byte with "
             "examples/seed-page/expected.html; a FAIL row was not timed.")
    L.append("")

    # redis
    frags = int(env.get("fragments", "0") or 0)
    L.append("## Redis per page")
    L.append("")
    L.append("Fixed page counts with `ab -k` (%s pages at 1 connection, %s at %s); "
             "`INFO commandstats` / `INFO stats` before and after, minus the "
             "snapshots' own cost. The page has %d fragments."
             % (env.get("count1"), env.get("countc"), env.get("conns"), frags))
    L.append("")
    L.append("| server | conns | pages | GET/page | commands/page | read events/page | commands |")
    L.append("|---|---:|---:|---:|---:|---:|---|")
    any_count = False
    for s in ("wapress", "wapress-cached", "lua"):
        for c in ("1", env.get("conns")):
            pages = num(s, "count_c%s_pages" % c)
            if pages is None:
                continue
            any_count = True
            if pages <= 0:
                L.append("| %s | %s | 0 | n/a | n/a | n/a | ab completed no page |" % (s, c))
                continue
            gets, cmds, reads = (num(s, "count_c%s_%s" % (c, k))
                                 for k in ("gets", "cmds", "reads"))
            failed = num(s, "count_c%s_ab_failed" % c) or 0
            L.append("| %s | %s | %d%s | %s | %s | %s | %s |" % (
                s, c, pages, " (%d failed)" % failed if failed else "",
                "%.2f" % (gets / pages), "%.2f" % (cmds / pages),
                "%.3f" % (reads / pages) if reads is not None else "n/a (no total_reads_processed)",
                metrics.get((s, "count_c%s_cmdlist" % c), "")))
    for s in ("wapress", "wapress-cached", "lua"):
        if not any(k[0] == s and k[1].startswith("count_") for k in metrics):
            L.append("| %s | | | n/a | n/a | n/a | %s |" % (
                s, status[s] if status[s] != "ok" else "not measured (no ab?)"))
    L.append("")

    # rss
    L.append("## Worker RSS (wapress)")
    L.append("")
    rb, ra, rq = (num("wapress", k) for k in
                  ("rss_before_kb", "rss_after_kb", "rss_requests"))
    rss_growth = None
    if rb is not None and ra is not None and rq:
        rss_growth = (ra - rb) / rq * 1e6
        L.append("%d kB after warm-up, %d kB after %d more requests: %+d kB, "
                 "%+.0f kB per million requests."
                 % (rb, ra, rq, ra - rb, rss_growth))
    else:
        L.append("n/a (%s)" % (metrics.get(("wapress", "rss_note")) or status["wapress"]))
    L.append("")

    # callgrind
    L.append("## Instructions per page (callgrind)")
    L.append("")
    cg = {}
    note = metrics.get(("all", "callgrind_note"))
    if note:
        L.append("n/a (%s)" % note)
    else:
        L.append("One connection, %s warm-up requests then N; Ir per page = "
                 "(Ir of that run − Ir of the same run with the warm-up only) / N."
                 % env.get("cg_warmup"))
        L.append("")
        L.append("| server | N | Ir/page | × static |")
        L.append("|---|---:|---:|---:|")
        for s in SERVERS:
            n, run, b = (num(s, k) for k in ("cg_requests", "cg_ir_run", "cg_ir_base"))
            if n and run is not None and b is not None:
                cg[s] = (run - b) / n
        for s in SERVERS:
            if s in cg:
                ratio = cg[s] / cg["static"] if "static" in cg else None
                L.append("| %s | %d | %s | %s |" % (
                    s, num(s, "cg_requests"), fmt_int(cg[s]), fmt_ratio(ratio, 1)))
            else:
                why = metrics.get((s, "cg_note")) or status[s]
                L.append("| %s | | %s | |" % (
                    s, why if why.startswith("n/a") else "n/a (%s)" % why))
    L.append("")

    # targets
    L.append("## Targets")
    L.append("")

    def target(name, value, ok):
        if value is None:
            L.append("- %s: n/a" % name)
        else:
            L.append("- %s: %s — %s" % (name, value, "met" if ok else "NOT met"))

    def ratio(a, b, key="rps"):
        if a in res and b in res and res[b][key]:
            return res[a][key] / res[b][key]
        return None

    x = ratio("wapress", "static")
    target("wapress ≥ 0.6 × static req/s", x and "%.2f×" % x, x is not None and x >= 0.6)
    x = ratio("wapress", "lua")
    target("wapress ≥ 3 × lua req/s", x and "%.2f×" % x, x is not None and x >= 3)
    x = ratio("wapress-cached", "static")
    target("wapress-cached ≥ 0.9 × static req/s", x and "%.2f×" % x, x is not None and x >= 0.9)
    x = ratio("wapress", "static", "p99")
    target("wapress p99 ≤ 2 × static p99", x and "%.2f×" % x, x is not None and x <= 2)
    p1, r1 = num("wapress", "count_c1_reads"), num("wapress", "count_c1_pages")
    x = r1 and p1 is not None and p1 / r1
    target("one Redis round trip per page at 1 connection (read events/page)",
           x is not False and x is not None and "%.3f" % x or None,
           x is not None and x is not False and x <= 1.05)
    c = env.get("conns")
    pc, rc = num("wapress", "count_c%s_reads" % c), num("wapress", "count_c%s_pages" % c)
    x = rc and pc is not None and pc / rc
    target("fewer Redis read events than pages at %s connections" % c,
           x is not False and x is not None and "%.3f per page" % x or None,
           x is not None and x is not False and x < 1)
    vals = []
    for cc in ("1", c):
        cm, pg = num("wapress", "count_c%s_cmds" % cc), num("wapress", "count_c%s_pages" % cc)
        if cm is not None and pg:
            vals.append((cc, cm, pg))
    target("exactly one command per fragment (%d)" % frags,
           vals and ", ".join("%.2f/page at %s conn" % (cm / pg, cc) for cc, cm, pg in vals) or None,
           bool(vals) and all(cm == frags * pg for _, cm, pg in vals))
    target("RSS growth < 1 MB per million requests",
           rss_growth is not None and "%+.0f kB per million" % rss_growth or None,
           rss_growth is not None and rss_growth < 1024)
    if "wapress" in cg and "static" in cg:
        L.append("- instructions per page: wapress %.1f× static (no target)"
                 % (cg["wapress"] / cg["static"]))
    L.append("")
    L.append("Absolute numbers drift ±30% on a shared machine; compare the "
             "ratios within one run. Raw outputs: build/bench/ (wrk/, count/, "
             "callgrind/).")
    print("\n".join(L))


def main(argv):
    if len(argv) >= 2 and argv[0] == "wrk-rate":
        r = parse_wrk(argv[1])["rps"]
        print(int(r) if r else 0)
    elif len(argv) >= 2 and argv[0] == "wrk-requests":
        print(parse_wrk(argv[1])["requests"])
    elif len(argv) >= 4 and argv[0] == "redis-delta":
        redis_delta(argv[1], argv[2], argv[3])
    elif len(argv) >= 2 and argv[0] == "report":
        report(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
