#!/usr/bin/env python3
"""util/check-docs.py [FILE.md ...]: checks every ```nginx block of
README.md and docs/*.md (or of the files named) with `nginx -t`, so that
the examples work when pasted.

A block is a whole nginx.conf unless the line before it (blank lines
aside) is a mark:

    <!-- nginx-check: main -->      main-context lines: `events {}` is added
    <!-- nginx-check: http -->      wrapped in events {} http { ... }
    <!-- nginx-check: server -->    ... http { server { ... } }
    <!-- nginx-check: location -->  ... server { location / { ... } } }
    <!-- nginx-check: skip REASON -->  not checked (say why)

Files under /srv/ (the docs' convention for a site's layouts and
templates) are created, empty, under a temporary directory and the paths
rewritten to them.  A block with `load_module` is checked with
TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES (make test-dynamic), the
path in the block replaced by that .so; without them it is skipped.

nginx: $TEST_NGINX_BINARY, else build/nginx/sbin/nginx.  Prints one line
per block, "ok FILE:LINE (CONTEXT)", "skip FILE:LINE: why" or
"FAIL FILE:LINE: ..." with nginx's message and the line of the .md file it
points to; exits 1 if any block failed."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FENCE = re.compile(r"^```\s*nginx\b")
OTHER = re.compile(r"^```\s*(\S*)")
LOOKS = re.compile(r"^\s*(wapress_\w+|location|server|http)\s[^(]*[;{]\s*"
                   r"(#.*)?$")
MARK = re.compile(r"^<!--\s*nginx-check:\s*(\w+)\s*(.*?)\s*-->\s*$")
WRAP = {
    "main": ("", "\nevents {}\n"),
    "http": ("events {}\nhttp {\n", "\n}\n"),
    "server": ("events {}\nhttp {\nserver {\n", "\n}\n}\n"),
    "location": ("events {}\nhttp {\nserver {\nlocation / {\n",
                 "\n}\n}\n}\n"),
    "conf": ("", ""),
}


def blocks(path):
    """Yields (first line number of the block's text, context, reason,
    text); a fenced block of another language that holds nginx directives
    comes as context "unfenced", its language as text."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        other = OTHER.match(lines[i].strip())
        if other and not FENCE.match(lines[i].strip()):
            k = i + 1
            while k < len(lines) and lines[k].strip() != "```":
                k += 1
            if any(LOOKS.match(x) for x in lines[i + 1:k]):
                yield i + 2, "unfenced", "", other.group(1) or "plain"
            i = k + 1
            continue
        if FENCE.match(lines[i].strip()):
            context, reason = "conf", ""
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            m = MARK.match(lines[j].strip()) if j >= 0 else None
            if m:
                context, reason = m.group(1), m.group(2)
            k = i + 1
            while k < len(lines) and lines[k].strip() != "```":
                k += 1
            yield i + 2, context, reason, "\n".join(lines[i + 1:k])
            i = k
        i += 1


def check(nginx, modules, md, line, context, text, tmp):
    if context == "skip":
        return "skip", "marked skip"
    if context == "unfenced":
        return "FAIL", ("nginx directives in a ```%s block: fence it "
                        "```nginx so that it is checked" % text)
    if context not in WRAP:
        return "FAIL", "unknown mark \"nginx-check: %s\" (one of %s, skip)" \
            % (context, ", ".join(k for k in WRAP if k != "conf"))
    has_load = re.search(r"^\s*load_module\s", text, re.M)
    if has_load and not modules:
        return "skip", "load_module: checked by make test-dynamic"
    # TEST_NGINX_LOAD_MODULES may name several .so (nchan first, then
    # ours): the block's own load_module line loads them all
    loads = "".join("load_module %s;\n" % m for m in modules.split())
    if has_load:
        text = re.sub(r"^\s*load_module\s+\S+;[^\n]*\n?",
                      lambda m: loads, text, count=1, flags=re.M)
    body = text.replace("/srv/", tmp + "/srv/")
    for p in set(re.findall(re.escape(tmp) + r"/srv/[^\s;'\"]+", body)):
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if not os.path.exists(p):
            open(p, "w").close()
    head, tail = WRAP[context]
    pre = ""
    if modules and not has_load:
        pre = loads
    conf = os.path.join(tmp, "conf", "nginx.conf")
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    os.makedirs(os.path.join(tmp, "logs"), exist_ok=True)
    with open(conf, "w") as f:
        f.write(pre + head + body + tail)
    offset = (pre + head).count("\n")
    r = subprocess.run([nginx, "-t", "-q", "-p", tmp + "/", "-c", conf,
                        "-e", os.path.join(tmp, "logs", "error.log")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode == 0:
        return "ok", ""

    def where(m):
        n = int(m.group(1)) - offset
        if 1 <= n <= text.count("\n") + 1:
            return "%s:%d" % (md, line + n - 1)
        return "the wrapper (%s) line %d" % (context, int(m.group(1)))
    msg = re.sub(re.escape(conf) + r":(\d+)", where, r.stdout.strip())
    msg = msg.replace(tmp + "/", "<tmp>/")
    return "FAIL", "nginx -t says:\n" + msg


def main():
    files = sys.argv[1:] or (
        [os.path.join(ROOT, "README.md")]
        + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))))
    nginx = os.environ.get("TEST_NGINX_BINARY") or os.path.join(
        ROOT, "build", "nginx", "sbin", "nginx")
    modules = os.environ.get("TEST_NGINX_LOAD_MODULES", "").strip()
    if not os.access(nginx, os.X_OK):
        sys.exit("check-docs: no nginx at %s (make build)" % nginx)
    failed = 0
    count = 0
    for path in files:
        md = os.path.relpath(path, ROOT)
        for line, context, reason, text in blocks(path):
            count += 1
            tmp = tempfile.mkdtemp(prefix="wapress-docs-")
            try:
                status, msg = check(nginx, modules, md, line, context, text,
                                    tmp)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            label = "%s:%d (%s)" % (md, line, context)
            if status == "skip":
                print("skip %s: %s" % (label, reason or msg))
            elif status == "ok":
                print("ok %s" % label)
            else:
                failed += 1
                print("FAIL %s: %s" % (label, msg.replace("\n", "\n    ")))
    print("check-docs: %d nginx blocks, %d failed (nginx: %s%s)" % (
        count, failed, nginx, ", module " + modules if modules else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
