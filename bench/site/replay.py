#!/usr/bin/env python3
"""bench/site/replay.py PORT PATHS FIRST COUNT: the site workload's fixed
request sequence for callgrind.  GETs lines FIRST .. FIRST+COUNT-1 of PATHS
(paths.txt: the Zipf-drawn paths, in order) from 127.0.0.1:PORT on one
keepalive connection (HTTP/1.1), one at a time, reading every body.  Prints
"ok COUNT" when every answer was a 200, else "FAIL (...)" and exits 1.  The
same FIRST and COUNT give the same sequence on every server and every run.
"""

import http.client
import sys


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    port, paths, first, count = int(argv[0]), argv[1], int(argv[2]), \
        int(argv[3])
    with open(paths) as f:
        seq = [p.strip() for p in f if p.strip()]
    if not seq:
        print("FAIL (no paths in %s)" % paths)
        return 1
    conn = None
    for k in range(first, first + count):
        path = seq[k % len(seq)]
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=120)
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            print("FAIL (%s: %s)" % (path, e))
            return 1
        if r.status != 200:
            print("FAIL (%s: HTTP %d)" % (path, r.status))
            return 1
    print("ok %d" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
