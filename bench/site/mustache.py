"""bench/site/mustache.py: the reference renderer of the site benchmark.

A small, independent Mustache renderer (variables, triple and & raw tags,
sections, inverted sections, comments, dotted names, the implicit iterator
{{.}}, standalone lines), enough for examples/seed-page/templates.  It is
not the module's code: the generator renders every reference page with it,
and the module must answer those bytes.  Checked against
examples/seed-page/expected.html by gen.py --self-check.
"""

ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
           "'": "&#39;"}


def escape(s):
    return "".join(ESCAPES.get(c, c) for c in s)


def _is_space(s):
    return all(c in " \t" for c in s)


def parse(tpl):
    """Returns a list of nodes: str, ("var", name, escape) and
    ("sec", name, inverted, children)."""
    tokens = []
    pos = 0
    n = len(tpl)
    while pos < n:
        start = tpl.find("{{", pos)
        if start < 0:
            tokens.append(tpl[pos:])
            break
        if tpl.startswith("{{{", start):
            end = tpl.index("}}}", start)
            tag, after = ("&", tpl[start + 3:end].strip()), end + 3
        else:
            end = tpl.index("}}", start)
            body = tpl[start + 2:end].strip()
            kind = body[:1] if body[:1] in ("#", "^", "/", "!", "&") else ""
            tag, after = (kind, body[len(kind):].strip()), end + 2
        text = tpl[pos:start]
        if tag[0] in ("#", "^", "/", "!"):
            # standalone: only whitespace around the tag on its line
            line_start = tpl.rfind("\n", 0, start) + 1
            nl = tpl.find("\n", after)
            line_end = n if nl < 0 else nl + 1
            rest = tpl[after:line_end].rstrip("\r\n") if nl >= 0 \
                else tpl[after:]
            if _is_space(tpl[line_start:start]) and _is_space(rest) \
               and line_start >= pos:
                text = tpl[pos:line_start]
                after = line_end
        if text:
            tokens.append(text)
        tokens.append(tag)
        pos = after
    root = []
    stack = [(None, root)]
    for t in tokens:
        if isinstance(t, str):
            stack[-1][1].append(t)
            continue
        kind, name = t
        if kind in ("#", "^"):
            node = ("sec", name, kind == "^", [])
            stack[-1][1].append(node)
            stack.append((name, node[3]))
        elif kind == "/":
            if stack[-1][0] != name:
                raise ValueError("unbalanced section " + name)
            stack.pop()
        elif kind == "!":
            pass
        else:
            stack[-1][1].append(("var", name, kind == ""))
    if len(stack) != 1:
        raise ValueError("unclosed section " + stack[-1][0])
    return root


def _lookup(stack, name):
    if name == ".":
        return stack[-1]
    parts = name.split(".")
    for ctx in reversed(stack):
        if isinstance(ctx, dict) and parts[0] in ctx:
            v = ctx[parts[0]]
            for p in parts[1:]:
                v = v.get(p) if isinstance(v, dict) else None
            return v
    return None


def _str(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
        return "%d" % v
    return str(v)


def _falsy(v):
    return v is None or v is False or v == [] or v == ""


def _render(nodes, stack, out):
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node[0] == "var":
            s = _str(_lookup(stack, node[1]))
            out.append(escape(s) if node[2] else s)
        else:
            _, name, inverted, children = node
            v = _lookup(stack, name)
            if inverted:
                if _falsy(v):
                    _render(children, stack, out)
            elif _falsy(v):
                continue
            elif isinstance(v, list):
                for item in v:
                    _render(children, stack + [item], out)
            else:
                _render(children, stack + [v], out)


class Template:
    def __init__(self, text):
        self.nodes = parse(text)

    def render(self, ctx):
        out = []
        _render(self.nodes, [ctx], out)
        return "".join(out)
