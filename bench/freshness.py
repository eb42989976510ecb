#!/usr/bin/env python3
"""bench/freshness.py: what invalidate=on buys, measured (docs/cache.md).

Starts its own redis-server and nginx (build/nginx/sbin/nginx, two
workers, wapress_cache zone=fresh:16m valid=1h stale=1d invalidate=on) on
private ports and reports:

  freshness  a writer SETs the page's key and polls the page until the
             new value shows: p50/p99/max over WRITES writes (1000)
  load       Redis commands per page in steady state, no writes
  writes     pages under ~1,000 SETs/s to the page's key for SECONDS:
             Redis GETs per page, and the oldest value a page showed
  killed     the subscriber killed (CLIENT KILL TYPE pubsub) while writes
             go on: the oldest value a page showed, and the time until
             worker 0 subscribed again (from its log)
  cold       a hot key missing from the cache: 50 clients ask for it at
             once (20 times, a new key each): Redis GETs per cold key
             (pages of one worker share one lookup in flight)
  storm      100,000 distinct keys written in one burst while a client
             requests pages: its slowest page, and the page's own key
             written after the storm is seen (no invalidation lost)

Usage: bench/freshness.py [--redis-port 27311] [--port 27312]
       [--writes 1000] [--seconds 5]
"""

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = os.path.join(ROOT, 'build', 'nginx', 'sbin', 'nginx')

CONF = """
worker_processes 2;
daemon off;
master_process on;
error_log {dir}/error.log notice;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    wapress_redis 127.0.0.1:{rport};
    wapress_cache zone=fresh:16m valid=1h stale=1d invalidate=on;
    server {{
        listen 127.0.0.1:{port};
        location ~ ^/p/(?<k>\\w+)$ {{
            wapress_layout {dir}/layout.html;
            wapress_fragment x fresh:$k default=none;
        }}
    }}
}}
"""


def resp(*args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out


class Redis:
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port))
        self.f = self.s.makefile('rb')

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t in (b'+', b':'):
            return rest
        if t == b'-':
            raise RuntimeError(rest.decode())
        if t == b'$':
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b'*':
            return [self.read() for _ in range(int(rest))]
        raise RuntimeError('bad reply %r' % line)

    def cmd(self, *args):
        self.s.sendall(resp(*args))
        return self.read()

    def pipeline(self, cmds):
        self.s.sendall(b''.join(resp(*c) for c in cmds))
        return [self.read() for _ in cmds]


def gets(r):
    info = r.cmd('INFO', 'commandstats').decode()
    total = 0
    for line in info.splitlines():
        if line.startswith('cmdstat_'):
            total += int(line.split('calls=')[1].split(',')[0])
    return total


def page(conn, key):
    conn.request('GET', '/p/' + key)
    return conn.getresponse().read()[1:-2].decode()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def wait_log(path, text, count, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        with open(path) as f:
            if f.read().count(text) >= count:
                return time.time()
        time.sleep(0.005)
    raise RuntimeError('no "%s" in %s' % (text, path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--redis-port', type=int, default=27311)
    ap.add_argument('--port', type=int, default=27312)
    ap.add_argument('--writes', type=int, default=1000)
    ap.add_argument('--seconds', type=float, default=5)
    a = ap.parse_args()

    d = tempfile.mkdtemp(prefix='wapress-fresh-')
    os.makedirs(os.path.join(d, 'logs'))
    with open(os.path.join(d, 'layout.html'), 'w') as f:
        f.write('[<!--# wapress fragment="x" -->]\n')
    with open(os.path.join(d, 'nginx.conf'), 'w') as f:
        f.write(CONF.format(dir=d, rport=a.redis_port, port=a.port))

    redis = subprocess.Popen(['redis-server', '--port', str(a.redis_port),
                              '--bind', '127.0.0.1', '--save', '',
                              '--appendonly', 'no', '--dir', d],
                             stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    nginx = subprocess.Popen([NGINX, '-p', d, '-c', d + '/nginx.conf'])
    log = os.path.join(d, 'error.log')
    try:
        r = Redis(a.redis_port)
        r.cmd('SET', 'fresh:k', 'v0')
        wait_log(log, 'following invalidations of', 1)
        conn = http.client.HTTPConnection('127.0.0.1', a.port)

        # freshness: write, then poll until the page shows it
        lat = []
        for i in range(1, a.writes + 1):
            v = 'v%d' % i
            t0 = time.perf_counter()
            r.cmd('SET', 'fresh:k', v)
            while page(conn, 'k') != v:
                pass
            lat.append((time.perf_counter() - t0) * 1000)
        print('freshness over %d writes: p50 %.2f ms, p99 %.2f ms, '
              'max %.2f ms' % (len(lat), pct(lat, .5), pct(lat, .99),
                               max(lat)))

        # load: steady state, no writes
        for _ in range(10):
            page(conn, 'k')
        g0, n = gets(r), 10000
        for _ in range(n):
            page(conn, 'k')
        g = gets(r) - g0 - 1   # the INFO itself
        print('steady state: %d Redis commands for %d pages (%.4f per '
              'page)' % (g, n, g / n))

        # writes at ~1000/s while pages are requested
        def writer(stop, written, rate):
            w = Redis(a.redis_port)
            i = 0
            start = time.perf_counter()
            while not stop.is_set():
                i += 1
                w.cmd('SET', 'fresh:k', 'w%d' % i)
                written.append((time.perf_counter(), i))
                ahead = start + i / rate - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)

        def run_writes(label, during=None):
            stop, written = threading.Event(), []
            t = threading.Thread(target=writer, args=(stop, written, 1000))
            g0 = gets(r)
            t.start()
            if during:
                during()
            pages, oldest = 0, 0.0
            end = time.time() + a.seconds
            while time.time() < end:
                now = time.perf_counter()
                v = page(conn, 'k')
                pages += 1
                if v.startswith('w') and written:
                    shown = int(v[1:])
                    # the first write after the shown one: how long ago
                    newer = [ts for ts, i in written if i == shown + 1]
                    if newer and newer[0] < now:
                        oldest = max(oldest, now - newer[0])
            stop.set()
            t.join()
            g = gets(r) - g0
            rate = len(written) / a.seconds
            print('%s: %d writes (%.0f/s), %d pages, %.3f Redis commands '
                  'per page (the writer\'s not counted), oldest page %.0f ms behind'
                  % (label, len(written), rate, pages,
                     (g - len(written)) / max(pages, 1), oldest * 1000))

        run_writes('under writes')

        subs = open(log).read().count('following invalidations of')

        def kill():
            t0 = time.time()
            Redis(a.redis_port).cmd('CLIENT', 'KILL', 'TYPE', 'pubsub')
            t1 = wait_log(log, 'following invalidations of', subs + 1)
            print('subscriber killed: subscribed again after %.0f ms'
                  % ((t1 - t0) * 1000))

        run_writes('subscriber killed', kill)

        # a cold hot key: 50 clients at once, a new key each time
        rounds, clients, cold = 20, 50, []
        for n in range(rounds):
            r.cmd('SET', 'fresh:cold%d' % n, 'c')
            time.sleep(0.05)    # its own invalidation has come and gone
            g0 = gets(r)
            barrier = threading.Barrier(clients)

            def ask(key=n):
                c = http.client.HTTPConnection('127.0.0.1', a.port)
                barrier.wait()
                page(c, 'cold%d' % key)

            ts = [threading.Thread(target=ask) for _ in range(clients)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            cold.append(gets(r) - g0 - 1)
        print('cold hot key, %d clients at once, 2 workers: %.2f GETs per '
              'key on average, at most %d (%d keys)' % (
                  clients, sum(cold) / len(cold), max(cold), rounds))

        # a storm of 100,000 distinct keys while a client asks for pages
        slowest = [0.0]
        stop = threading.Event()

        def client():
            c = http.client.HTTPConnection('127.0.0.1', a.port)
            while not stop.is_set():
                t0 = time.perf_counter()
                page(c, 'k')
                slowest[0] = max(slowest[0], time.perf_counter() - t0)

        t = threading.Thread(target=client)
        t.start()
        w = Redis(a.redis_port)
        t0 = time.perf_counter()
        batch = []
        for i in range(100000):
            batch.append(('SET', 'fresh:s%d' % i, 'x'))
            if len(batch) == 1000:
                w.pipeline(batch)
                batch = []
        w.cmd('SET', 'fresh:k', 'after-storm')
        storm = time.perf_counter() - t0
        deadline = time.time() + 5
        while page(conn, 'k') != 'after-storm' and time.time() < deadline:
            pass
        seen = page(conn, 'k') == 'after-storm'
        time.sleep(0.2)
        stop.set()
        t.join()
        print('storm: 100000 keys written in %.2f s; slowest page meanwhile '
              '%.1f ms; the page key written after it %s' % (
                  storm, slowest[0] * 1000, 'seen' if seen else 'NOT SEEN'))
        return 0 if seen else 1
    finally:
        nginx.terminate()
        nginx.wait()
        redis.terminate()
        redis.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
