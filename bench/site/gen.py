#!/usr/bin/env python3
"""bench/site/gen.py: the site workload of the benchmark (make bench
WORKLOAD=site), deterministic from a seed.

    gen.py --out DIR [--seed 1] [--articles 10000] [--requests 300000]
           [--check 200] [--zipf 1.0]
    gen.py --self-check

Writes into DIR:
  redis.resp        every key as a RESP SET, for redis-cli --pipe: per
                    article article:SLUG (HTML, 2-30 KB), comments:SLUG (an
                    integer; missing for ~2% of the articles: the slot's
                    default=0 renders), related:SLUG (JSON, 3-8 links to
                    other articles), and the shared features:home,
                    history:today and rates:USD (the example page's values)
  html/news/SLUG    the reference rendering of every page: what the server
                    must answer, and the static peer's files
  slugs.txt         the slugs by popularity, most popular first
  paths.txt         --requests request paths drawn from a Zipf distribution
                    (exponent --zipf) over the popularity ranks, for wrk
  check.txt         --check slugs drawn uniformly: the correctness sample
  meta.txt          key=value: seed, articles, keys, sizes

The layout and templates are examples/seed-page's; the reference pages are
rendered with bench/site/mustache.py, not with the module.  --self-check
renders the example page from examples/seed-page/redis and compares it with
its expected.html.  The writer (writer.py) rebuilds the same Site from the
seed to re-publish articles.
"""

import argparse
import bisect
import json
import math
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mustache  # noqa: E402

EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "examples",
                                        "seed-page"))
MARKER = re.compile(r'<!--# wapress fragment="([^"]+)" -->')

# slot -> (key prefix or fixed key, type, template), as fragments.conf.md
SLOTS = {
    "article": ("article:", "html", None),
    "comments": ("comments:", "json", "comments.mustache"),
    "related": ("related:", "json", "related.mustache"),
    "features": ("=features:home", "json", "features.mustache"),
    "history": ("=history:today", "text", "history.mustache"),
    "rates": ("=rates:USD", "json", "rates.mustache"),
}
DEFAULTS = {"comments": "0"}
SHARED = ("features:home", "history:today", "rates:USD")

ARTICLE_MIN, ARTICLE_MAX = 2048, 30720

PLACES = ["Niger", "Nigeria", "Ghana", "Senegal", "Mali", "Burkina Faso",
          "Côte d’Ivoire", "Guinea", "Sierra Leone", "Liberia", "Togo",
          "Benin", "Gambia", "Cabo Verde", "Guinea-Bissau", "Mauritania",
          "Lagos", "Accra", "Dakar", "Abuja", "Bamako", "Niamey", "Lomé",
          "Cotonou", "Freetown", "Monrovia", "Ouagadougou", "Kano"]
ACTORS = ["ECOWAS", "the African Union", "the World Bank", "the IMF",
          "the junta", "the central bank", "farmers", "traders", "students",
          "the ministry of health", "lawmakers", "the electoral commission",
          "fishermen", "miners", "civil society groups", "the opposition",
          "regional leaders", "investors", "the port authority", "teachers"]
VERBS = ["approves", "rejects", "launches", "suspends", "expands",
         "debates", "signs", "revokes", "announces", "backs", "criticises",
         "delays", "unveils", "completes", "reviews", "targets"]
THINGS = ["security agreement", "broadband programme", "cocoa prices",
          "fuel subsidy", "rail project", "election timetable",
          "trade corridor", "digital ID scheme", "malaria vaccine rollout",
          "fishing licences", "gold exports", "solar mini-grids",
          "currency reform", "border reopening", "youth jobs plan",
          "water project", "debt deal", "coastal road", "school feeding"]
NOUNS = ["officials", "residents", "analysts", "the government", "donors",
         "the region", "local markets", "households", "the capital",
         "partners", "observers", "businesses", "communities", "reporters"]
EXTRAS = ["despite concerns over costs", "amid rising prices",
          "after months of talks", "ahead of the rainy season",
          "as tensions rise", "in a landmark move", "for the first time",
          "with support from donors", "following the coup",
          "under pressure from unions"]
# excerpts that make the templates escape (& < > " ')
SPICE = ['Q&A <live> with "the minister": ', "It's official: ",
         "Prices up 5% & rising: ", '"We will not wait," they said: ']


class Site:
    """The 10,000 articles' titles, slugs and links, rebuilt from the seed
    (cheap); the large values are made on demand."""

    def __init__(self, seed, articles):
        self.seed = seed
        self.n = articles
        rng = random.Random("site:%s" % seed)
        self.titles, self.slugs, seen = [], [], set()
        for i in range(articles):
            t = "%s: %s %s %s %s" % (
                rng.choice(PLACES), rng.choice(ACTORS).capitalize(),
                rng.choice(VERBS), rng.choice(THINGS), rng.choice(EXTRAS))
            if rng.random() < 0.1:
                t = t.replace(":", " &", 1)
            slug = re.sub(r"[^a-z0-9]+", "-", t.lower()
                          .replace("’", "").replace("ô", "o")).strip("-")
            base, k = slug, 2
            while slug in seen:
                slug, k = "%s-%d" % (base, k), k + 1
            seen.add(slug)
            self.titles.append(t)
            self.slugs.append(slug)
        order = list(range(articles))
        rng.shuffle(order)
        self.by_rank = order            # rank (0 = most popular) -> index

    def _rng(self, what, i, version=0):
        return random.Random("%s:%s:%d:%d" % (self.seed, what, i, version))

    def sentence(self, rng):
        s = "%s %s the %s %s, %s said, %s." % (
            rng.choice(ACTORS).capitalize(), rng.choice(VERBS),
            rng.choice(THINGS), "in " + rng.choice(PLACES),
            rng.choice(NOUNS), rng.choice(EXTRAS))
        if rng.random() < 0.15:
            s += " “%s”, one of them told West Africa Press." % (
                rng.choice(EXTRAS).capitalize())
        return s

    def article(self, i, version=0):
        """article:SLUG, in the example's shape, 2-30 KB (log-uniform)."""
        rng = self._rng("article", i, version)
        slug, title = self.slugs[i], self.titles[i]
        target = int(math.exp(rng.uniform(math.log(ARTICLE_MIN),
                                          math.log(ARTICLE_MAX - 600))))
        day = 1 + rng.randrange(28)
        month = rng.choice(["January", "March", "May", "July", "September",
                            "November"])
        tag = rng.choice(PLACES)
        head = (
            '<article class="post" id="post-%s">\n'
            '  <header class="post-header">\n'
            '    <h1 class="post-title">%s</h1>\n'
            '    <div class="post-meta">\n'
            '      <time class="post-date" datetime="2025-%02d-%02d">'
            '%s %d, 2025</time>\n'
            '      <span class="post-reading-time">%d minutes read</span>\n'
            '    </div>\n'
            '    <ul class="post-tags"><li><a href="/tag/%s" rel="tag">%s'
            '</a></li></ul>\n'
            '  </header>\n'
            '  <div class="post-content">\n'
            % (slug, mustache.escape(title), 1 + (day % 12), day, month, day,
               max(1, target // 1500),
               re.sub(r"[^a-z0-9]+", "-", tag.lower()), tag))
        if version:
            head += '    <p class="post-updated">Updated (version %d)</p>\n' \
                % version
        tail = "  </div>\n</article>\n"
        parts, size = [head], len(head.encode()) + len(tail)
        while size < target:
            p = []
            for _ in range(rng.randint(2, 6)):
                p.append(self.sentence(rng))
            para = "    <p>%s</p>\n" % " ".join(p)
            b = len(para.encode())
            if size + b > ARTICLE_MAX - len(tail) and size >= ARTICLE_MIN:
                break
            parts.append(para)
            size += b
        parts.append(tail)
        return "".join(parts).encode()

    def related(self, i, version=0):
        """related:SLUG: 3-8 links to other articles."""
        rng = self._rng("related", i, version)
        links = []
        for _ in range(rng.randint(3, 8)):
            j = rng.randrange(self.n)
            if j == i:
                j = (j + 1) % self.n
            ex = self.sentence(rng)[:rng.randint(60, 110)].rstrip() + " ..."
            if rng.random() < 0.15:
                ex = rng.choice(SPICE) + ex
            links.append({"title": self.titles[j],
                          "url": "/news/" + self.slugs[j], "excerpt": ex})
        return json.dumps(links, ensure_ascii=False,
                          separators=(",", ":")).encode()

    def comments(self, i):
        """comments:SLUG, or None for no key (~2%)."""
        rng = self._rng("comments", i)
        if rng.random() < 0.02:
            return None
        return b"%d" % min(5000, int(rng.paretovariate(1.1)) - 1)


def rates(tick):
    """rates:USD as the writer rewrites it: the example's shape, values
    moving with tick."""
    base = json.loads(example_value("rates:USD"))
    rng = random.Random("rates:%d" % tick)
    for r in base["rates"]:
        v = float(r["display"].replace(",", "").lstrip("₦"))
        v *= 1 + rng.uniform(-0.002, 0.002)
        s = "{:,.4f}".format(v) if v < 1000 else "{:,.2f}".format(v)
        r["display"] = ("₦" if r["display"].startswith("₦") else "") + s
    minute = tick // 60
    base["checked"] = "22 Mar 2026 %02d:%02d:%02d UTC" % (
        (6 + minute // 60) % 24, minute % 60, tick % 60)
    return json.dumps(base, ensure_ascii=False,
                      separators=(",", ":")).encode()


def example_value(key):
    with open(os.path.join(EXAMPLE, "redis", key), "rb") as f:
        return f.read()


class Renderer:
    """The reference page: the example's layout with each marker replaced
    by its slot's rendered fragment."""

    def __init__(self, example=EXAMPLE):
        with open(os.path.join(example, "layout.html"), "rb") as f:
            layout = f.read().decode()
        self.pieces, self.slots, pos = [], [], 0
        for m in MARKER.finditer(layout):
            self.pieces.append(layout[pos:m.start()].encode())
            self.slots.append(m.group(1))
            pos = m.end()
        self.last = layout[pos:].encode()
        self.templates = {}
        for name, (_, _, tpl) in SLOTS.items():
            if tpl:
                with open(os.path.join(example, "templates", tpl),
                          "rb") as f:
                    self.templates[name] = mustache.Template(f.read().decode())

    def fragment(self, slot, value):
        kind = SLOTS[slot][1]
        if value is None:
            value = DEFAULTS.get(slot, "").encode()
            if slot not in DEFAULTS:
                return b""
        if kind == "html":
            return value
        ctx = value.decode()
        if kind == "json":
            ctx = json.loads(ctx)
        return self.templates[slot].render(ctx).encode()

    def page(self, values):
        """values: slot -> bytes or None (no key)"""
        out = []
        for piece, slot in zip(self.pieces, self.slots):
            out.append(piece)
            out.append(self.fragment(slot, values.get(slot)))
        out.append(self.last)
        return b"".join(out)


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def zipf_paths(site, count, s, rng):
    cum, total = [], 0.0
    for k in range(1, site.n + 1):
        total += 1.0 / k ** s
        cum.append(total)
    out = []
    for _ in range(count):
        rank = bisect.bisect_left(cum, rng.random() * total)
        out.append("/news/" + site.slugs[site.by_rank[min(rank,
                                                          site.n - 1)]])
    return out


def generate(a):
    site = Site(a.seed, a.articles)
    ren = Renderer()
    shared = {k: example_value(k) for k in SHARED}
    html = os.path.join(a.out, "html", "news")
    os.makedirs(html, exist_ok=True)
    sizes, pages, keys = [], 0, 0
    with open(os.path.join(a.out, "redis.resp"), "wb") as rf:
        for k in SHARED:
            rf.write(resp("SET", k, shared[k]))
            keys += 1
        for i in range(site.n):
            slug = site.slugs[i]
            art, rel, com = site.article(i), site.related(i), site.comments(i)
            rf.write(resp("SET", "article:" + slug, art))
            rf.write(resp("SET", "related:" + slug, rel))
            keys += 2
            if com is not None:
                rf.write(resp("SET", "comments:" + slug, com))
                keys += 1
            sizes.append(len(art))
            page = ren.page({"article": art, "comments": com,
                             "related": rel,
                             "features": shared["features:home"],
                             "history": shared["history:today"],
                             "rates": shared["rates:USD"]})
            with open(os.path.join(html, slug), "wb") as f:
                f.write(page)
            pages += len(page)
    with open(os.path.join(a.out, "slugs.txt"), "w") as f:
        f.write("".join(site.slugs[i] + "\n" for i in site.by_rank))
    rng = random.Random("requests:%s" % a.seed)
    with open(os.path.join(a.out, "paths.txt"), "w") as f:
        f.write("".join(p + "\n" for p in
                        zipf_paths(site, a.requests, a.zipf, rng)))
    rng = random.Random("check:%s" % a.seed)
    with open(os.path.join(a.out, "check.txt"), "w") as f:
        f.write("".join(site.slugs[i] + "\n" for i in
                        rng.sample(range(site.n), min(a.check, site.n))))
    sizes.sort()
    meta = {"seed": a.seed, "articles": site.n, "keys": keys,
            "requests": a.requests, "zipf": a.zipf, "check": a.check,
            "article_min": sizes[0], "article_max": sizes[-1],
            "article_median": sizes[len(sizes) // 2],
            "page_bytes_mean": pages // site.n}
    with open(os.path.join(a.out, "meta.txt"), "w") as f:
        f.write("".join("%s=%s\n" % kv for kv in meta.items()))
    return meta


def self_check():
    ren = Renderer()
    slug = "niger-junta-revokes-eu-security-agreements"
    values = {}
    for slot, (key, _, _) in SLOTS.items():
        key = key[1:] if key.startswith("=") else key + slug
        values[slot] = example_value(key)
    with open(os.path.join(EXAMPLE, "expected.html"), "rb") as f:
        want = f.read()
    got = ren.page(values)
    if got != want:
        n = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y),
                 min(len(got), len(want)))
        print("self-check: FAIL at byte %d: %r vs %r"
              % (n, got[n - 40:n + 40], want[n - 40:n + 40]))
        return 1
    print("self-check: the reference renderer gives expected.html (%d bytes)"
          % len(want))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--articles", type=int, default=10000)
    p.add_argument("--requests", type=int, default=300000)
    p.add_argument("--check", type=int, default=200)
    p.add_argument("--zipf", type=float, default=1.0)
    p.add_argument("--self-check", action="store_true")
    a = p.parse_args()
    if a.self_check:
        return self_check()
    if not a.out:
        p.error("--out DIR")
    meta = generate(a)
    print("gen: %s" % " ".join("%s=%s" % kv for kv in meta.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
