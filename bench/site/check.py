#!/usr/bin/env python3
"""bench/site/check.py PORT DIR [SAVE_DIR]: the correctness check of the
site workload.  GETs /news/SLUG for every slug of DIR/check.txt from
127.0.0.1:PORT (one keepalive connection, HTTP/1.1) and compares each body
byte for byte with the reference page DIR/html/news/SLUG.  Prints "ok N" or
"FAIL (...)" with the first difference, and exits 0 or 1; a wrong answer is
saved to SAVE_DIR/SLUG.
"""

import http.client
import os
import sys


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    port, d = int(argv[0]), argv[1]
    save = argv[2] if len(argv) > 2 else None
    slugs = [s.strip() for s in open(os.path.join(d, "check.txt")) if s.strip()]
    conn = None
    for slug in slugs:
        with open(os.path.join(d, "html", "news", slug), "rb") as f:
            want = f.read()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=10)
            conn.request("GET", "/news/" + slug)
            r = conn.getresponse()
            got, status = r.read(), r.status
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            print("FAIL (/news/%s: %s)" % (slug, e))
            return 1
        if status != 200 or got != want:
            if save:
                os.makedirs(save, exist_ok=True)
                with open(os.path.join(save, slug), "wb") as f:
                    f.write(got)
            if status != 200:
                print("FAIL (/news/%s: HTTP %d)" % (slug, status))
            else:
                n = next((i for i, (x, y) in enumerate(zip(got, want))
                          if x != y), min(len(got), len(want)))
                print("FAIL (/news/%s: %d bytes for %d, first difference "
                      "at byte %d)" % (slug, len(got), len(want), n))
            return 1
    print("ok %d" % len(slugs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
