#!/usr/bin/env python3
"""bench/site/writer.py: the site's editors and readers while the load runs.

    writer.py --port P --seed S --articles N --stats FILE
              [--incr 500] [--publish 10] [--rates-every 1]
              [--notify-channel CHANNEL]

Until SIGTERM/SIGINT, on one Redis connection, in ticks of 20 ms (each
tick's commands pipelined, their replies read before the next tick):
  - INCR comments:SLUG, --incr per second, the slugs drawn from the same
    Zipf distribution as the requests (the popular articles get comments);
  - SET rates:USD to a new JSON value (the example's shape) every
    --rates-every seconds;
  - re-publishes --publish articles per second (Zipf-drawn): SET
    article:SLUG and related:SLUG to a new version (gen.Site, version n).
On exit it writes FILE (key=value): seconds, the commands done of each
kind, their achieved rates per second, errors and the largest lag behind
schedule.

--notify-channel adds, after each tick, one PUBLISH CHANNEL KEY per key
written, for a cache that listens on a channel.  The module needs none:
with invalidate=on Redis itself pushes every write (CLIENT TRACKING).
"""

import argparse
import bisect
import os
import random
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402

TICK = 0.02
stop = False


def on_signal(*_):
    global stop
    stop = True


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise OSError("redis closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        if line[:1] == b"$":
            n = int(line[1:])
            if n >= 0:
                while len(self.buf) < n + 2:
                    self.buf += self.s.recv(65536)
                self.buf = self.buf[n + 2:]
            return True
        return line[:1] != b"-"

    def pipeline(self, cmds):
        """sends cmds, reads their replies; returns the number of errors"""
        if not cmds:
            return 0
        self.s.sendall(b"".join(gen.resp(*c) for c in cmds))
        return sum(0 if self._reply() else 1 for _ in cmds)


def notify(channel, keys):
    """The invalidation hook: the commands that tell the servers which keys
    changed; nothing without --notify-channel."""
    if not channel:
        return []
    return [("PUBLISH", channel, k) for k in keys]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--articles", type=int, default=10000)
    p.add_argument("--zipf", type=float, default=1.0)
    p.add_argument("--incr", type=float, default=500)
    p.add_argument("--publish", type=float, default=10)
    p.add_argument("--rates-every", type=float, default=1.0)
    p.add_argument("--notify-channel", default="")
    p.add_argument("--stats", required=True)
    a = p.parse_args()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    site = gen.Site(a.seed, a.articles)
    cum, total = [], 0.0
    for k in range(1, site.n + 1):
        total += 1.0 / k ** a.zipf
        cum.append(total)
    rng = random.Random("writer:%s" % a.seed)

    def popular():
        rank = min(bisect.bisect_left(cum, rng.random() * total), site.n - 1)
        return site.by_rank[rank]

    conn = Conn(a.port)
    done = {"incr": 0, "publish": 0, "rates": 0, "errors": 0, "notify": 0}
    versions = {}
    start = time.monotonic()
    max_lag = 0.0
    next_tick = start
    while not stop:
        now = time.monotonic()
        el = now - start
        cmds, keys = [], []
        for _ in range(int(el * a.incr) - done["incr"]):
            k = "comments:" + site.slugs[popular()]
            cmds.append(("INCR", k))
            keys.append(k)
            done["incr"] += 1
        for _ in range(int(el * a.publish) - done["publish"]):
            i = popular()
            v = versions[i] = versions.get(i, 0) + 1
            ka, kr = "article:" + site.slugs[i], "related:" + site.slugs[i]
            cmds.append(("SET", ka, site.article(i, v)))
            cmds.append(("SET", kr, site.related(i, v)))
            keys += [ka, kr]
            done["publish"] += 1
        for _ in range(int(el / a.rates_every) + 1 - done["rates"]):
            cmds.append(("SET", "rates:USD", gen.rates(done["rates"] + 1)))
            keys.append("rates:USD")
            done["rates"] += 1
        extra = notify(a.notify_channel, keys)
        done["notify"] += len(extra)
        try:
            done["errors"] += conn.pipeline(cmds + extra)
        except OSError as e:
            print("writer: %s" % e, file=sys.stderr)
            break
        next_tick += TICK
        lag = time.monotonic() - next_tick
        if lag > 0:
            max_lag = max(max_lag, lag)
            next_tick = time.monotonic()
        else:
            time.sleep(-lag)
    el = time.monotonic() - start
    with open(a.stats, "w") as f:
        f.write("seconds=%.2f\n" % el)
        for k in ("incr", "publish", "rates", "notify", "errors"):
            f.write("%s=%d\n" % (k, done[k]))
            if k in ("incr", "publish", "rates"):
                f.write("%s_per_s=%.1f\n" % (k, done[k] / el if el else 0))
        f.write("max_lag_ms=%.0f\n" % (max_lag * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
