#!/usr/bin/env python3
"""bench/report.py: the number crunching of bench/run.sh.

  report.py wrk-rate FILE          requests/s of one wrk output, as an integer
  report.py wrk-requests FILE      requests completed in one wrk output
  report.py redis-delta SERVER CONNS PREFIX
                                   Redis commands, read events and CPU per page
                                   from PREFIX.0/.1/.2 (INFO all snapshots: two
                                   back to back, then one after the load) and
                                   PREFIX.ab or PREFIX.wrk (the load's output);
                                   prints metrics.tsv lines
  report.py report DIR             the Markdown report of build/bench (DIR)
"""
import glob
import os
import re
import statistics
import sys

SERVERS = ["static", "wapress", "wapress-cached", "wapress-inval", "lua"]
MODULE = ["wapress", "wapress-cached", "wapress-inval"]


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
            m = re.search(r"(?:^|,)usec=(\d+)", v)
            d["usec_" + k[8:]] = int(m.group(1)) if m else 0
        elif re.fullmatch(r"-?\d+", v):
            d[k] = int(v)
        elif re.fullmatch(r"-?\d+\.\d+", v):
            d[k] = float(v)
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
    if os.path.exists(prefix + ".wrk"):
        w = parse_wrk(prefix + ".wrk")
        ab = {"complete": w["requests"], "failed": w["errors"], "non2xx": 0}

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
    # Redis's CPU: in its commands (commandstats usec), and in all
    # (used_cpu_user + used_cpu_sys, seconds; the snapshots' share is small)
    # (the snapshots' own INFO time varies: not counted)
    out.append(("cmd_usec", sum(delta(k) for k in set(s2) | set(s1)
                                if k.startswith("usec_")
                                and k != "usec_info")))
    if "used_cpu_user" in s2:
        cpu = sum(s2.get(k, 0) - s1.get(k, 0)
                  for k in ("used_cpu_user", "used_cpu_sys"))
        out.append(("cpu_usec", int(cpu * 1e6)))
    stats = module_stats(prefix + ".status.0", prefix + ".status.2")
    for k, v in sorted(stats.items()):
        out.append(("module_" + k, v))
    for k, v in out:
        print("%s\tcount_%s_%s\t%s" % (server, tag, k, v))


# ------------------------------------------------------------------ module
# The hook for the module's own counters (memo and cache hits): run.sh
# fetches STATUS_PATH (bench/conf/status.inc declares the location) before
# and after a measurement into two files.  Their format is not settled:
# "name: value", "name value", "name=value" lines or a JSON object (nested
# objects flattened with "."); every numeric counter's difference is kept,
# and for every pair NAME_hits/NAME_misses (or "hit"/"miss", any
# separator) the hit rate.  No files (no endpoint yet): nothing.
def parse_status(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    text = open(path, errors="replace").read()
    d = {}
    try:
        import json

        def flat(prefix, v):
            if isinstance(v, dict):
                for k, x in v.items():
                    flat(prefix + str(k) + ".", x)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                d[prefix[:-1]] = v
        flat("", json.loads(text))
        return d
    except ValueError:
        pass
    for line in text.splitlines():
        m = re.match(r"\s*([A-Za-z][\w. -]*?)\s*[:= ]\s*(-?\d+(?:\.\d+)?)\s*$",
                     line)
        if m:
            d[m.group(1).strip().replace(" ", "_")] = float(m.group(2))
    return d


def wapress_status(path):
    """wapress_status's JSON (?format=json): the counters a hit rate needs,
    summed over locations: memo_hits/memo_misses (renderings of json and
    text values: from the worker's memo, or made), per fragment too
    (memo_NAME_hits/_misses), and, when a cache zone exists,
    cache_hits/cache_misses (fragments from a fresh copy / asked of Redis;
    stale and updating copies count as hits).  None if it is not that."""
    import json
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    try:
        j = json.loads(open(path, errors="replace").read())
    except ValueError:
        return None
    if not isinstance(j, dict) or "locations" not in j:
        return None
    d = {"memo_hits": 0, "memo_misses": 0, "pages": 0}
    cache = bool(j.get("cache"))
    if cache:
        d["cache_hits"] = d["cache_misses"] = 0
    for loc in j["locations"]:
        d["pages"] += sum(v for v in loc.get("pages", {}).values()
                          if isinstance(v, (int, float)))
        for f in loc.get("fragments", []):
            m = f.get("memo") or {}
            h, x = m.get("hit", 0), m.get("miss", 0)
            d["memo_hits"] += h
            d["memo_misses"] += x
            if h + x:
                n = "memo_%s" % f.get("name", "?")
                d[n + "_hits"] = d.get(n + "_hits", 0) + h
                d[n + "_misses"] = d.get(n + "_misses", 0) + x
            if cache:
                d["cache_hits"] += sum(f.get(k, 0) for k in
                                       ("hit", "stale", "updating"))
                d["cache_misses"] += f.get("miss", 0)
    return d


def module_stats(before, after):
    a, b = wapress_status(before), wapress_status(after)
    if a is None or b is None:
        a, b = parse_status(before), parse_status(after)
    if a is None or b is None:
        return {}
    out = {k: b[k] - a.get(k, 0) for k in b}
    rates = {}
    for k in out:
        m = re.match(r"(.*?)[._ -]?hits?$", k)
        if not m:
            continue
        for miss in ("misses", "miss"):
            for sep in ("_", ".", " ", "-", ""):
                mk = m.group(1) + sep + miss if m.group(1) else miss
                if mk in out and out[k] + out[mk] > 0:
                    rates[(m.group(1) or "all") + "_hit_rate"] = \
                        out[k] / (out[k] + out[mk])
    out.update(rates)
    return out


# ------------------------------------------------------------------ report
def fmt_int(x):
    return "%d" % round(x) if x is not None else "n/a"


def fmt_ms(x):
    if x is None:
        return "n/a"
    return "%.2f ms" % x if x < 10 else "%.1f ms" % x


def fmt_ratio(x, digits=2):
    return ("%%.%df×" % digits) % x if x is not None else "n/a"


def load_runs(d, phase, server):
    runs = []
    for f in sorted(glob.glob(os.path.join(d, "wrk", phase, "%s.*.txt" % server))):
        if re.search(r"/%s\.\d+\.txt$" % re.escape(server), f):
            runs.append(parse_wrk(f))
    return runs


def summarize(runs):
    good = [r for r in runs if r["rps"] is not None]
    if not good:
        return None
    rps = [r["rps"] for r in good]
    return {
        "rps": statistics.median(rps), "min": min(rps), "max": max(rps),
        "p50": statistics.median([r["p50"] for r in good if r["p50"] is not None] or [0]),
        "p99": statistics.median([r["p99"] for r in good if r["p99"] is not None] or [0]),
        "errors": sum(r["errors"] for r in runs), "rounds": len(good),
    }


def fmt_stats(stats):
    """the module's hit rates (and counters) from module_stats(): the
    totals (memo, cache) first"""
    rates = [(k[:-9].replace("_", " "), v) for k, v in stats.items()
             if k.endswith("_hit_rate")]
    rates.sort(key=lambda x: (x[0] not in ("memo", "cache"), x[0]))
    rates = ["%s %.1f%%" % (k, v * 100) for k, v in rates]
    return ", ".join(rates) if rates else None


def fmt_rate(stats, name):
    v = stats.get(name + "_hit_rate")
    return "%.1f%%" % (v * 100) if v is not None else "–"


PHASE_TITLE = {
    "pinned": "Pinned (the headline): nginx and Redis on CPU %s, wrk%s on CPU %s",
    "unpinned": "Unpinned: nginx, Redis, wrk%s on both CPUs, as the scheduler shares them",
}


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
    site = env.get("workload") == "site"
    servers = [s for s in SERVERS if s in status]

    def num(server, key):
        v = metrics.get((server, key))
        try:
            return float(v) if v is not None else None
        except ValueError:
            return None

    phases = env.get("phases", "").split()
    res = {}
    for ph in phases:
        res[ph] = {}
        for s in servers:
            if status[s] != "ok":
                continue
            r = summarize(load_runs(d, ph, s))
            if r:
                res[ph][s] = r
            else:
                res[ph][s] = None
    for s in servers:
        if status[s] == "ok" and phases and all(res[ph].get(s) is None for ph in phases):
            status[s] = "FAIL (wrk gave no result)"
    head = phases[0] if phases else None

    L = []
    L.append("# ngx_wapress_module benchmark: %s workload" % env.get("workload", "example"))
    L.append("")
    L.append("%s CPUs, %s; wrk %s threads, %s connections, %s × %s rounds "
             "(interleaved); one nginx worker each; Redis %s.%s"
             % (env.get("cpus"), env.get("uname"), env.get("threads"),
                env.get("conns"), env.get("duration"), env.get("rounds"),
                env.get("redis"), " QUICK=1." if env.get("quick") == "1" else ""))
    L.append("")
    if site:
        L.append("Site: %s articles (seed %s; article HTML %s–%s bytes, median "
                 "%s; pages %s bytes on average), requests drawn from a Zipf "
                 "distribution (s = %s) over %s precomputed paths; the writer "
                 "aims at %s; wapress-cached: `wapress_cache zone=wapress:%s valid=%s`; "
                 "`wapress_memo_size` %s."
                 % (env.get("site_articles"), env.get("site_seed"),
                    env.get("site_article_min"), env.get("site_article_max"),
                    env.get("site_article_median"),
                    env.get("site_page_bytes_mean"), env.get("site_zipf"),
                    env.get("site_requests"), env.get("writer_target")
                    if env.get("writer") == "1" else "nothing (WRITER=0)",
                    env.get("cache_size"), env.get("cache_valid"),
                    env.get("memo_size", "8m (default)")))
    else:
        L.append("Example: the seed page (examples/seed-page), one URL, values "
                 "that never change; wapress-cached: `wapress_cache "
                 "zone=wapress:%s valid=%s`."
                 % (env.get("cache_size"), env.get("cache_valid")))
    L.append("")

    for ph in phases:
        wr = " and the writer" if site and env.get("writer") == "1" else ""
        title = PHASE_TITLE.get(ph, ph)
        if ph == "pinned":
            title = title % (env.get("server_cpu"), wr, env.get("wrk_cpu"))
        else:
            title = title % wr
        L.append("## " + title)
        L.append("")
        L.append("| server | req/s (median) | req/s min–max | p50 | p99 | × static req/s | memo hits | cache hits |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        base = res[ph].get("static")
        for s in servers:
            r = res[ph].get(s)
            st = module_stats(os.path.join(d, "status", ph, s + ".0"),
                              os.path.join(d, "status", ph, s + ".1"))
            if r:
                ratio = r["rps"] / base["rps"] if base else None
                note = " (%d errors)" % r["errors"] if r["errors"] else ""
                L.append("| %s | %s%s | %s–%s | %s | %s | %s | %s | %s |" % (
                    s, fmt_int(r["rps"]), note, fmt_int(r["min"]),
                    fmt_int(r["max"]), fmt_ms(r["p50"]), fmt_ms(r["p99"]),
                    fmt_ratio(ratio), fmt_rate(st, "memo"),
                    fmt_rate(st, "cache")))
            else:
                L.append("| %s | %s | | | | | | |" % (
                    s, status[s] if status[s] != "ok" else "FAIL (no wrk result)"))
        L.append("")
        if site and env.get("writer") == "1":
            w = {k: metrics.get(("writer", "%s_%s" % (ph, k))) for k in
                 ("incr_per_s", "publish_per_s", "rates_per_s", "errors",
                  "max_lag_ms", "seconds")}
            if w["seconds"]:
                L.append("Writer during these rounds (achieved): %s INCR/s, "
                         "%s articles re-published/s, %s rates rewrites/s over "
                         "%s s; %s errors, largest lag %s ms."
                         % tuple(w[k] for k in ("incr_per_s", "publish_per_s",
                                                "rates_per_s", "seconds",
                                                "errors", "max_lag_ms")))
            else:
                L.append("Writer: n/a (no stats; see build/bench/writer.%s.log)" % ph)
            L.append("")
        # GETs the server sent during its rounds (the writer sends none)
        gl = []
        frags = int(env.get("fragments", "0") or 0)
        for s in servers:
            if s == "static" or not res[ph].get(s):
                continue
            g = p = 0
            for f in glob.glob(os.path.join(d, "wrk", ph, "%s.*.info0" % s)):
                f1 = f[:-1] + "1"
                if not os.path.exists(f1) or not re.search(r"\.\d+\.info0$", f):
                    continue
                g += parse_info(f1).get("cmdstat_get", 0) - parse_info(f).get("cmdstat_get", 0)
                p += parse_wrk(f[:-6] + ".txt")["requests"]
            if p:
                t = "%s %.2f" % (s, g / p)
                if s not in ("wapress", "lua") and frags:
                    t += " (cache ≈ %.1f%% of fragments)" % (100 * (1 - g / p / frags))
                gl.append(t)
        if gl:
            L.append("Redis GETs per page during these rounds: " + ", ".join(gl) + ".")
            L.append("")
        hits = []
        for s in MODULE:
            st = module_stats(os.path.join(d, "status", ph, s + ".0"),
                              os.path.join(d, "status", ph, s + ".1"))
            f = fmt_stats(st)
            if f:
                hits.append("%s: %s" % (s, f))
        if hits:
            L.append("Hit rates over these rounds (wapress_status: memo = "
                     "renderings of json/text values from the worker's "
                     "memo; cache = fragments from the zone): "
                     + "; ".join(hits) + ".")
        else:
            L.append("Memo hit rate: n/a (the module exposes no counters "
                     "yet: bench/conf/status.inc and STATUS_PATH are the "
                     "hook).")
        L.append("")
    L.append("- static: our nginx (%s) serving the reference pages as files; "
             "wapress, wapress-cached, wapress-inval: the same binary; lua: %s."
             % (env.get("ours"), env.get("debian")))
    L.append("- Before timing, every server's answers were compared byte for "
             "byte with the reference pages (%s); a FAIL row was not timed."
             % ("%s slugs drawn uniformly, writer stopped" % env.get("site_check")
                if site else "examples/seed-page/expected.html"))
    L.append("")

    # redis
    frags = int(env.get("fragments", "0") or 0)
    L.append("## Redis per page")
    L.append("")
    if site:
        L.append("Zipf load for %s s with wrk at 1 connection (1 thread) and at "
                 "%s, the writer stopped; `INFO all` before and after, minus the "
                 "snapshots' own cost. The page has %d fragments."
                 % (env.get("count_seconds"), env.get("conns"), frags))
    else:
        L.append("Fixed page counts with `ab -k` (%s pages at 1 connection, %s "
                 "at %s); `INFO all` before and after, minus the snapshots' "
                 "own cost. The page has %d fragments."
                 % (env.get("count1"), env.get("countc"), env.get("conns"), frags))
    L.append("Redis µs/page: time in its commands (`INFO commandstats` usec); "
             "CPU µs/page: its whole process (`used_cpu_user` + `used_cpu_sys`, "
             "network I/O included).")
    L.append("")
    L.append("| server | conns | pages | GET/page | commands/page | read events/page | Redis µs/page | Redis CPU µs/page | hit rates | commands |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for s in MODULE + ["lua"]:
        if s not in status:
            continue
        if not any(k[0] == s and k[1].startswith("count_") for k in metrics):
            if status[s] != "ok" or s != "wapress-inval":
                L.append("| %s | | | n/a | n/a | n/a | n/a | n/a | | %s |" % (
                    s, status[s] if status[s] != "ok" else "not measured (no ab?)"))
            continue
        for c in ("1", env.get("conns")):
            pages = num(s, "count_c%s_pages" % c)
            if pages is None:
                continue
            if pages <= 0:
                L.append("| %s | %s | 0 | n/a | n/a | n/a | n/a | n/a | | no page completed |" % (s, c))
                continue
            gets, cmds, reads, usec, cpu = (
                num(s, "count_c%s_%s" % (c, k))
                for k in ("gets", "cmds", "reads", "cmd_usec", "cpu_usec"))
            failed = num(s, "count_c%s_ab_failed" % c) or 0
            st = {k[len("count_c%s_module_" % c):]: float(v)
                  for (sv, k), v in metrics.items()
                  if sv == s and k.startswith("count_c%s_module_" % c)}
            hit = fmt_stats(st)
            if not hit and s != "wapress" and s != "lua" and frags and gets is not None:
                # every fragment not from the zone is one GET
                hit = "cache %.1f%% of fragments (1 − GET/page ÷ %d)" % (
                    100 * (1 - gets / pages / frags), frags)
            L.append("| %s | %s | %d%s | %s | %s | %s | %s | %s | %s | %s |" % (
                s, c, pages, " (%d failed)" % failed if failed else "",
                "%.2f" % (gets / pages), "%.2f" % (cmds / pages),
                "%.3f" % (reads / pages) if reads is not None else "n/a",
                "%.1f" % (usec / pages) if usec is not None else "n/a",
                "%.1f" % (cpu / pages) if cpu is not None else "n/a",
                hit or "n/a",
                metrics.get((s, "count_c%s_cmdlist" % c), "")))
    L.append("")

    # rss
    L.append("## Worker RSS (wapress)")
    L.append("")
    rb, ra, rq = (num("wapress", k) for k in
                  ("rss_before_kb", "rss_after_kb", "rss_requests"))
    rss_growth = None
    if rb is not None and ra is not None and rq:
        rss_growth = (ra - rb) / rq * 1e6
        L.append("%d kB after warm-up, %d kB after %d more requests%s: %+d kB, "
                 "%+.0f kB per million requests."
                 % (rb, ra, rq, " (Zipf over all articles, writer running)"
                    if site else "", ra - rb, rss_growth))
    else:
        L.append("n/a (%s)" % (metrics.get(("wapress", "rss_note")) or status.get("wapress")))
    L.append("")

    # callgrind
    L.append("## Instructions per page (callgrind)")
    L.append("")
    cg = {}
    note = metrics.get(("all", "callgrind_note"))
    if note:
        L.append("n/a (%s)" % note)
    else:
        L.append("One connection, %s warm-up requests then N (%s); Ir per "
                 "page = (Ir of that run − Ir of the same run with the warm-up "
                 "only) / N, user space only; the hit rates are those of the N "
                 "requests."
                 % (env.get("cg_warmup"),
                    "the paths of paths.txt in order, the writer stopped"
                    if site else "one URL, `ab -k`"))
        L.append("")
        L.append("| server | N | Ir/page | × static | memo hits | cache hits |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for s in servers:
            n, run, b = (num(s, k) for k in ("cg_requests", "cg_ir_run", "cg_ir_base"))
            if n and run is not None and b is not None:
                cg[s] = (run - b) / n
        for s in servers:
            if s in cg:
                ratio = cg[s] / cg["static"] if "static" in cg else None
                # the hit rates of the N measured requests
                f = os.path.join(d, "callgrind", s + ".run.status.")
                st = module_stats(f + "1", f + "2")
                L.append("| %s | %d | %s | %s | %s | %s |" % (
                    s, num(s, "cg_requests"), fmt_int(cg[s]), fmt_ratio(ratio, 1),
                    fmt_rate(st, "memo"), fmt_rate(st, "cache")))
            else:
                why = metrics.get((s, "cg_note")) or status[s]
                L.append("| %s | | %s | | | |" % (
                    s, why if why.startswith("n/a") else "n/a (%s)" % why))
    L.append("")

    # targets
    L.append("## Targets (issue 13; ratios from the %s table)" % (head or "n/a"))
    L.append("")

    def target(name, value, ok):
        if value is None:
            L.append("- %s: n/a" % name)
        else:
            L.append("- %s: %s — %s" % (name, value, "met" if ok else "NOT met"))

    hr = res.get(head, {}) if head else {}

    def ratio(a, b, key="rps"):
        if hr.get(a) and hr.get(b) and hr[b][key]:
            return hr[a][key] / hr[b][key]
        return None

    if site:
        goals = (("wapress", "static", 0.6), ("wapress", "lua", 3),
                 ("wapress-cached", "static", 0.9))
    else:
        goals = (("wapress", "static", 0.7), ("wapress-cached", "static", 1.0),
                 ("wapress", "lua", 5))
    for a_, b_, g in goals:
        x = ratio(a_, b_)
        target("%s ≥ %g × %s req/s" % (a_, g, b_), x and "%.3f×" % x,
               x is not None and x >= g)
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
    target("at most one command per fragment (%d)" % frags,
           vals and ", ".join("%.2f/page at %s conn" % (cm / pg, cc) for cc, cm, pg in vals) or None,
           bool(vals) and all(cm <= frags * pg * 1.01 for _, cm, pg in vals))
    target("RSS growth < 1 MB per million requests",
           rss_growth is not None and "%+.0f kB per million" % rss_growth or None,
           rss_growth is not None and rss_growth < 1024)
    if "wapress" in cg and "static" in cg:
        L.append("- instructions per page: wapress %.1f× static (no target)"
                 % (cg["wapress"] / cg["static"]))
    L.append("")
    L.append("Absolute numbers drift on a shared machine; compare the "
             "ratios within one run. Raw outputs: build/bench/ (wrk/PHASE/, "
             "count/, callgrind/, status/, writer.*.txt).")
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
