#!/usr/bin/env python3
"""bench/failover.py: one Sentinel or Cluster failover under load
(bench/failover.sh).

  failover.py --url URL --expected FILE --sentinel PORT --master NAME
              --pid-dir DIR [--seconds 60] [--at 20] [--kill-after 10]
              [--conns 8] [--mode failover|kill]
  failover.py --url URL --expected FILE --cluster PORT,PORT,...
              --key KEY --pid-dir DIR [--seconds 60] [--at 20] [--conns 8]

CONNS threads request URL on keepalive connections for SECONDS; at AT s
"SENTINEL FAILOVER NAME" is sent to the Sentinel, KILL-AFTER s later the
old primary is killed (SIGKILL, its pid from DIR/redis-PORT/redis.pid).
With --mode kill, the primary is killed at AT s instead, and the Sentinels
promote a replica by themselves (down-after, then the election).
Prints one line of key=value: pages, incomplete (not expected.html byte
for byte, or not 200), longest (ms), follow (ms from SENTINEL FAILOVER to
the first GET the new primary answers: INFO commandstats, polled every
10 ms), switch (ms to the Sentinel's answer naming the new primary),
old, new (ports), recover (ms from that moment to the end of the last
incomplete page, "-" when none was).

With --cluster, at AT s the primary that holds KEY's slot (CLUSTER KEYSLOT,
then CLUSTER SLOTS of the first node that answers) is killed (SIGKILL);
promote is the ms until CLUSTER SLOTS of a surviving node names another
primary for the slot, follow the ms until the first GET on one of the
killed primary's replicas (the promoted one: without read=replica no GET
goes to a replica before).
"""
import argparse
import http.client
import os
import signal
import socket
import threading
import time
import urllib.parse


def redis(port, *args):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    req = "*%d\r\n" % len(args) + "".join(
        "$%d\r\n%s\r\n" % (len(str(a)), a) for a in args)
    s.sendall(req.encode())
    f = s.makefile("rb")

    def read():
        line = f.readline().rstrip(b"\r\n")
        t, rest = line[:1], line[1:].decode()
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            return "ERR:" + rest
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            v = f.read(n + 2)[:-2]
            return v.decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [read() for _ in range(n)]
        raise ValueError(line)
    try:
        return read()
    finally:
        s.close()


def gets(port):
    try:
        info = redis(port, "INFO", "commandstats")
    except OSError:
        return -1
    for line in info.splitlines():
        if line.startswith("cmdstat_get:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def slot_owner(nodes, slot):
    """(primary, [replicas]) of SLOT in CLUSTER SLOTS of the first node
    of NODES that answers; (None, []) if none does or the slot is not
    served."""
    for p in nodes:
        try:
            m = redis(p, "CLUSTER", "SLOTS")
        except OSError:
            continue
        if not isinstance(m, list):
            continue
        for r in m:
            if int(r[0]) <= slot <= int(r[1]):
                return int(r[2][1]), [int(x[1]) for x in r[3:]]
        return None, []
    return None, []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--sentinel", type=int)
    ap.add_argument("--master")
    ap.add_argument("--cluster", help="the cluster's ports, comma-separated")
    ap.add_argument("--key", help="with --cluster: kill the primary of KEY")
    ap.add_argument("--pid-dir", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--at", type=float, default=20)
    ap.add_argument("--kill-after", type=float, default=10)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--mode", choices=("failover", "kill"),
                    default="failover")
    a = ap.parse_args()
    if a.cluster is None and (a.sentinel is None or a.master is None):
        ap.error("--sentinel and --master, or --cluster and --key")
    if a.cluster is not None and a.key is None:
        ap.error("--cluster needs --key")

    expected = open(a.expected, "rb").read()
    u = urllib.parse.urlsplit(a.url)
    stop = time.monotonic() + a.seconds
    lock = threading.Lock()
    st = {"pages": 0, "incomplete": 0, "longest": 0.0, "errors": 0,
          "last_bad": None}

    def worker():
        conn = None
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port,
                                                      timeout=10)
                conn.request("GET", u.path)
                r = conn.getresponse()
                body = r.read()
                good = r.status == 200 and body == expected
            except (OSError, http.client.HTTPException):
                conn = None
                good = False
            dt = (time.monotonic() - t0) * 1000
            with lock:
                st["pages"] += 1
                st["incomplete"] += not good
                if not good:
                    st["last_bad"] = time.monotonic()
                st["longest"] = max(st["longest"], dt)

    threads = [threading.Thread(target=worker) for _ in range(a.conns)]
    start = time.monotonic()
    for t in threads:
        t.start()

    time.sleep(a.at)
    if a.cluster is not None:
        cluster(a, st, threads, start, stop)
        return
    old = int(redis(a.sentinel, "SENTINEL", "get-master-addr-by-name",
                    a.master)[1])
    replicas = [int(dict(zip(r[::2], r[1::2]))["port"])
                for r in redis(a.sentinel, "SENTINEL", "replicas", a.master)]
    base = {p: gets(p) for p in replicas}
    pid = int(open(os.path.join(a.pid_dir, "redis-%d" % old,
                                "redis.pid")).read())
    t0 = time.monotonic()
    if a.mode == "kill":
        os.kill(pid, signal.SIGKILL)
    else:
        r = redis(a.sentinel, "SENTINEL", "FAILOVER", a.master)
        if r != "OK":
            raise SystemExit("SENTINEL FAILOVER: %s" % r)
    new = switch = follow = None
    while time.monotonic() - t0 < a.kill_after or (
            a.mode == "kill" and follow is None
            and time.monotonic() < stop - 1):
        if switch is None:
            p = int(redis(a.sentinel, "SENTINEL", "get-master-addr-by-name",
                          a.master)[1])
            if p != old:
                new, switch = p, time.monotonic() - t0
        if new is not None and follow is None and gets(new) > base.get(new, 0):
            follow = time.monotonic() - t0
        time.sleep(0.01)
    if a.mode != "kill":
        os.kill(pid, signal.SIGKILL)
    for t in threads:
        t.join()

    report(st, start, t0, old, new, follow=follow, switch=switch)


def ms(t):
    return "%.0f" % (t * 1000) if t is not None else "-"


def report(st, start, t0, old, new, **times):
    bad = st["last_bad"]
    times["recover"] = bad - t0 if bad is not None and bad > t0 else None
    print("pages=%d incomplete=%d longest=%.0f %s old=%d new=%s seconds=%.0f"
          % (st["pages"], st["incomplete"], st["longest"],
             " ".join("%s=%s" % (k, ms(v)) for k, v in times.items()),
             old, new, time.monotonic() - start))


def cluster(a, st, threads, start, stop):
    nodes = [int(p) for p in a.cluster.split(",")]
    slot = None
    for p in nodes:
        try:
            slot = int(redis(p, "CLUSTER", "KEYSLOT", a.key))
            break
        except (OSError, ValueError):
            continue
    old, replicas = slot_owner(nodes, slot)
    if old is None:
        raise SystemExit("failover: no node serves slot %s" % slot)
    alive = [p for p in nodes if p != old]
    base = {p: gets(p) for p in replicas}
    pid = int(open(os.path.join(a.pid_dir, "redis-%d" % old,
                                "redis.pid")).read())
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    new = promote = follow = None
    while (promote is None or follow is None) and time.monotonic() < stop - 1:
        if promote is None:
            p, _ = slot_owner(alive, slot)
            if p is not None and p != old:
                new, promote = p, time.monotonic() - t0
        if follow is None and any(gets(r) > base[r] for r in replicas):
            follow = time.monotonic() - t0
        time.sleep(0.01)
    for t in threads:
        t.join()
    report(st, start, t0, old, new, promote=promote, follow=follow)


if __name__ == "__main__":
    main()
