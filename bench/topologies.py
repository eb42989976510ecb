#!/usr/bin/env python3
"""bench/topologies.py DIR: the Markdown report of bench/topologies.sh.

DIR holds servers.tsv (topology, nginx port, Redis nodes counted, status),
env.txt, wrk/TOPOLOGY.N.txt (the pinned rounds) and count/TOPOLOGY.cC.NODE.0/1/2
(INFO all of each node: twice back to back, then after C-connection ab
pages, count/TOPOLOGY.cC.ab).  Per page and per node: GETs and read events
(total_reads_processed), the snapshots' own cost subtracted.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import parse_ab, parse_info, parse_wrk  # noqa: E402

ORDER = ["single", "sentinel", "cluster", "cluster-tags"]
WHAT = {
    "single": "one Redis",
    "sentinel": "Sentinel: 1 primary, 2 replicas, 3 Sentinels",
    "cluster": "Cluster 3+3, the page's keys on 3 primaries",
    "cluster-tags": "Cluster 3+3, hash-tagged keys (one shard per page)",
}
TARGET = {"sentinel": "≈ 1.0", "cluster": "≥ 0.8", "cluster-tags": "≥ 0.95"}


def main(d):
    env = dict(line.rstrip("\n").split("=", 1)
               for line in open(os.path.join(d, "env.txt")) if "=" in line)
    servers = []
    for line in open(os.path.join(d, "servers.tsv")):
        name, port, nodes, status = line.rstrip("\n").split("\t")
        servers.append((name, port, nodes.split(), status))
    rounds = int(env.get("rounds", 1))

    rps = {}
    for name, _, _, status in servers:
        if status != "ok":
            continue
        runs = []
        for r in range(1, rounds + 1):
            p = os.path.join(d, "wrk", "%s.%d.txt" % (name, r))
            if os.path.exists(p):
                w = parse_wrk(p)
                if w["rps"] is not None:
                    runs.append(w)
        if runs:
            rps[name] = {
                "rps": statistics.median(w["rps"] for w in runs),
                "p99": statistics.median(w["p99"] or 0 for w in runs),
                "errors": sum(w["errors"] for w in runs),
            }

    print("# Redis topologies: the example page, %s connections"
          % env.get("conns"))
    print()
    print("%s; %s x %s per topology (median), wrk %s threads; Redis %s; "
          "%s CPUs; nginx %s; one worker each.%s"
          % (env.get("pinned"), env.get("rounds"), env.get("duration"),
             env.get("threads"), env.get("redis"), env.get("cpus"),
             env.get("nginx"),
             " QUICK=1: indicative only." if env.get("quick") == "1" else ""))
    print()
    print("| topology | nginx | req/s | × single | target | p99 ms | errors |"
          " status |")
    print("|---|---|---:|---:|---|---:|---:|---|")
    base = rps.get("single", {}).get("rps")
    for name, port, _, status in servers:
        r = rps.get(name)
        if r:
            ratio = "%.2f" % (r["rps"] / base) if base else "-"
            print("| %s (%s) | %s | %.0f | %s | %s | %.2f | %d | %s |"
                  % (name, WHAT[name], port, r["rps"], ratio,
                     TARGET.get(name, "1"), r["p99"], r["errors"], status))
        else:
            print("| %s (%s) | %s | - | - | %s | - | - | %s |"
                  % (name, WHAT[name], port, TARGET.get(name, "1"), status))

    print()
    print("Per Redis node (the primaries the pages read): GETs and read "
          "events (`total_reads_processed`) per page; at %s connections "
          "fewer read events than pages per node means the commands of "
          "concurrent pages leave together (one write per node per "
          "event-loop turn)." % env.get("conns"))
    print()
    print("| topology | node | conns | pages | GETs/page | reads/page |")
    print("|---|---|---:|---:|---:|---:|")
    for name, _, nodes, status in servers:
        if status != "ok":
            continue
        for c in ("1", env.get("conns")):
            prefix = os.path.join(d, "count", "%s.c%s" % (name, c))
            ab = parse_ab(prefix + ".ab")
            pages = ab["complete"] - ab["non2xx"]
            for node in nodes:
                try:
                    s0, s1, s2 = (parse_info("%s.%s.%d" % (prefix, node, i))
                                  for i in range(3))
                except OSError:
                    continue

                def delta(k):
                    return ((s2.get(k, 0) - s1.get(k, 0))
                            - (s1.get(k, 0) - s0.get(k, 0)))

                gets = delta("cmdstat_get")
                reads = delta("total_reads_processed")
                print("| %s | %s | %s | %d | %s | %s |"
                      % (name, node, c, pages,
                         "%.2f" % (gets / pages) if pages else "-",
                         "%.3f" % (reads / pages) if pages else "-"))
    keys = os.path.join(d, "cluster-keys.txt")
    if os.path.exists(keys):
        print()
        print("Where the page's keys are in the cluster (key, slot, primary):")
        print()
        for line in open(keys):
            print("    " + line.rstrip("\n"))


if __name__ == "__main__":
    main(sys.argv[1])
