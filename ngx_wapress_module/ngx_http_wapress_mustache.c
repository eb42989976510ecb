
/*
 * ngx_http_wapress_mustache.c: a Mustache template engine over jansson
 * values (spec: comments, interpolation, sections, inverted, partials,
 * delimiters; no lambdas).  Compile turns a template into a flat array
 * of nodes with names pre-split into segments; partials are loaded and
 * compiled once per name and indentation, at compile time.  Render walks
 * the nodes with a bounded context stack and appends to a growing buffer.
 * Pure C99 + libc + jansson; no nginx headers.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_wapress_mustache.h"


#define NGX_HTTP_WAPRESS_MUSTACHE_TEXT      0
#define NGX_HTTP_WAPRESS_MUSTACHE_ESCAPED   1
#define NGX_HTTP_WAPRESS_MUSTACHE_RAW       2
#define NGX_HTTP_WAPRESS_MUSTACHE_SECTION   3
#define NGX_HTTP_WAPRESS_MUSTACHE_INVERTED  4
#define NGX_HTTP_WAPRESS_MUSTACHE_PARTIAL   5
#define NGX_HTTP_WAPRESS_MUSTACHE_DEEP      6   /* partial nested too deep */

/* tag kinds that only exist while parsing */
#define NGX_HTTP_WAPRESS_MUSTACHE_CLOSE     7
#define NGX_HTTP_WAPRESS_MUSTACHE_COMMENT   8
#define NGX_HTTP_WAPRESS_MUSTACHE_DELIM     9

#define NGX_HTTP_WAPRESS_MUSTACHE_MIN_OUT   512

/*
 * compiled partials per compile: bounds the copies that standalone
 * indentation needs (one per distinct indentation), which recursive
 * partials with mixed indentation could make exponential
 */
#define NGX_HTTP_WAPRESS_MUSTACHE_MAX_COPIES  1024


typedef struct {
    const char                               *data;
    size_t                                    len;
} ngx_http_wapress_mustache_seg_t;


typedef struct {
    unsigned                                  type;
    unsigned                                  end;   /* sections: index of
                                                        the node after the
                                                        body */
    size_t                                    len;   /* text length, or
                                                        segment count (0 is
                                                        ".") */
    const unsigned char                      *text;
    const ngx_http_wapress_mustache_seg_t    *segs;
    const ngx_http_wapress_mustache_t        *partial;
} ngx_http_wapress_mustache_node_t;


struct ngx_http_wapress_mustache_s {
    ngx_http_wapress_mustache_node_t         *nodes;
    unsigned                                  nnodes;
};


typedef struct ngx_http_wapress_mustache_copy_s
    ngx_http_wapress_mustache_copy_t;

struct ngx_http_wapress_mustache_copy_s {
    const char                               *indent;
    size_t                                    indent_len;
    ngx_http_wapress_mustache_t              *tpl;
    ngx_http_wapress_mustache_copy_t         *next;
};


typedef struct ngx_http_wapress_mustache_partial_s
    ngx_http_wapress_mustache_partial_t;

struct ngx_http_wapress_mustache_partial_s {
    char                                     *name;  /* NUL-terminated */
    size_t                                    name_len;
    const char                               *src;   /* NULL: not found */
    size_t                                    len;
    ngx_http_wapress_mustache_copy_t         *copies;
    ngx_http_wapress_mustache_partial_t      *next;
};


typedef struct {
    ngx_http_wapress_mustache_compile_t      *cc;
    ngx_http_wapress_mustache_partial_t      *partials;
    unsigned                                  depth;  /* partial nesting */
    unsigned                                  ncopies;
} ngx_http_wapress_mustache_ctx_t;


typedef struct {
    const char                               *name;
    size_t                                    name_len;
    size_t                                    pos;    /* for errors */
    unsigned                                  node;
} ngx_http_wapress_mustache_open_t;


typedef struct {
    ngx_http_wapress_mustache_ctx_t          *ctx;
    const char                               *name;   /* partial or NULL */
    const char                               *src;
    size_t                                    len;
    ngx_http_wapress_mustache_node_t         *nodes;
    unsigned                                  nnodes;
    unsigned                                  nalloc;
    unsigned                                  nopen;
    const char                               *otag;
    size_t                                    otag_len;
    const char                               *ctag;
    size_t                                    ctag_len;
    ngx_http_wapress_mustache_open_t
                          open[NGX_HTTP_WAPRESS_MUSTACHE_MAX_SECTIONS];
} ngx_http_wapress_mustache_parser_t;


typedef struct {
    ngx_http_wapress_mustache_out_t          *out;
    unsigned                                  nctx;
    unsigned                                  partials;
    size_t                                    visits;
    json_t             *stack[NGX_HTTP_WAPRESS_MUSTACHE_MAX_SECTIONS + 1];
} ngx_http_wapress_mustache_state_t;


static int ngx_http_wapress_mustache_parse(
    ngx_http_wapress_mustache_parser_t *ps);
static int ngx_http_wapress_mustache_tag(
    ngx_http_wapress_mustache_parser_t *ps, unsigned type, size_t ts,
    const char *s, size_t n, const char *indent, size_t indent_len);
static int ngx_http_wapress_mustache_delimiters(
    ngx_http_wapress_mustache_parser_t *ps, const char *s, size_t n);
static int ngx_http_wapress_mustache_name(
    ngx_http_wapress_mustache_parser_t *ps, size_t ts, const char *s,
    size_t n, ngx_http_wapress_mustache_node_t *node);
static int ngx_http_wapress_mustache_load(
    ngx_http_wapress_mustache_parser_t *ps, size_t ts, const char *name,
    size_t name_len, const char *indent, size_t indent_len);
static ngx_http_wapress_mustache_partial_t *
    ngx_http_wapress_mustache_partial(ngx_http_wapress_mustache_ctx_t *ctx,
    const char *name, size_t name_len);
static const char *ngx_http_wapress_mustache_indent(
    ngx_http_wapress_mustache_ctx_t *ctx, const char *src, size_t *len,
    const char *indent, size_t indent_len);
static ngx_http_wapress_mustache_node_t *ngx_http_wapress_mustache_node(
    ngx_http_wapress_mustache_parser_t *ps, unsigned type);
static int ngx_http_wapress_mustache_text(
    ngx_http_wapress_mustache_parser_t *ps, size_t from, size_t to);
static const char *ngx_http_wapress_mustache_find(const char *p,
    const char *last, const char *s, size_t n);
static void ngx_http_wapress_mustache_error(
    ngx_http_wapress_mustache_parser_t *ps, size_t pos, const char *fmt,
    ...);
static void *ngx_http_wapress_mustache_alloc(
    ngx_http_wapress_mustache_ctx_t *ctx, size_t size);

static int ngx_http_wapress_mustache_render_nodes(
    ngx_http_wapress_mustache_state_t *st,
    const ngx_http_wapress_mustache_node_t *nodes, unsigned from,
    unsigned to);
static int ngx_http_wapress_mustache_section(
    ngx_http_wapress_mustache_state_t *st,
    const ngx_http_wapress_mustache_node_t *nodes, unsigned i, json_t *v);
static json_t *ngx_http_wapress_mustache_lookup(
    ngx_http_wapress_mustache_state_t *st,
    const ngx_http_wapress_mustache_node_t *node);
static int ngx_http_wapress_mustache_falsey(json_t *v);
static int ngx_http_wapress_mustache_value(
    ngx_http_wapress_mustache_out_t *out, json_t *v, int escape);
static int ngx_http_wapress_mustache_escape(
    ngx_http_wapress_mustache_out_t *out, const unsigned char *p,
    size_t len);
static int ngx_http_wapress_mustache_write(
    ngx_http_wapress_mustache_out_t *out, const void *p, size_t len);
static int ngx_http_wapress_mustache_grow(
    ngx_http_wapress_mustache_out_t *out, size_t n);


/* the tag type for the character after the opening delimiter */
static const unsigned char  ngx_http_wapress_mustache_sigil[256] = {
    ['{'] = NGX_HTTP_WAPRESS_MUSTACHE_RAW,
    ['&'] = NGX_HTTP_WAPRESS_MUSTACHE_RAW,
    ['#'] = NGX_HTTP_WAPRESS_MUSTACHE_SECTION,
    ['^'] = NGX_HTTP_WAPRESS_MUSTACHE_INVERTED,
    ['/'] = NGX_HTTP_WAPRESS_MUSTACHE_CLOSE,
    ['>'] = NGX_HTTP_WAPRESS_MUSTACHE_PARTIAL,
    ['!'] = NGX_HTTP_WAPRESS_MUSTACHE_COMMENT,
    ['='] = NGX_HTTP_WAPRESS_MUSTACHE_DELIM
};


/* 0: copied as is, else an index into the entities below */
static const unsigned char  ngx_http_wapress_mustache_esc[256] = {
    ['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5
};


static const struct {
    const char  *data;
    size_t       len;
} ngx_http_wapress_mustache_entity[] = {
    { "", 0 },
    { "&amp;", 5 },
    { "&lt;", 4 },
    { "&gt;", 4 },
    { "&quot;", 6 },
    { "&#39;", 5 }
};


#define ngx_http_wapress_mustache_space(c)                                    \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n'                 \
     || (c) == '\v' || (c) == '\f')

#define ngx_http_wapress_mustache_blank(c)  ((c) == ' ' || (c) == '\t')


ngx_http_wapress_mustache_t *
ngx_http_wapress_mustache_compile(ngx_http_wapress_mustache_compile_t *cc,
    const char *text, size_t len)
{
    char                                *src;
    ngx_http_wapress_mustache_t         *tpl;
    ngx_http_wapress_mustache_ctx_t      ctx;
    ngx_http_wapress_mustache_parser_t   ps;

    cc->err_line = 0;
    cc->err_partial = NULL;

    if (cc->err != NULL && cc->err_size > 0) {
        cc->err[0] = '\0';
    }

    ctx.cc = cc;
    ctx.partials = NULL;
    ctx.depth = 0;
    ctx.ncopies = 0;

    memset(&ps, 0, sizeof(ps));
    ps.ctx = &ctx;

    tpl = ngx_http_wapress_mustache_alloc(&ctx, sizeof(*tpl));
    src = ngx_http_wapress_mustache_alloc(&ctx, len + 1);

    if (tpl == NULL || src == NULL) {
        ngx_http_wapress_mustache_error(&ps, 0, "out of memory");
        return NULL;
    }

    if (len) {
        memcpy(src, text, len);
    }

    ps.src = src;
    ps.len = len;

    if (ngx_http_wapress_mustache_parse(&ps) != 0) {
        return NULL;
    }

    tpl->nodes = ps.nodes;
    tpl->nnodes = ps.nnodes;

    return tpl;
}


/* parses ps->src into ps->nodes; 0 or -1 (error set) */

static int
ngx_http_wapress_mustache_parse(ngx_http_wapress_mustache_parser_t *ps)
{
    int            line_start, standalone;
    char           prefix;
    size_t         last, ts, cs, ce, te, b, a, n;
    unsigned       type;
    const char    *src, *end, *p, *t;
    unsigned char  c;

    src = ps->src;
    end = src + ps->len;

    ps->otag = "{{";
    ps->otag_len = 2;
    ps->ctag = "}}";
    ps->ctag_len = 2;

    last = 0;           /* end of the last tag: text starts here */
    line_start = 1;     /* "last" is at the start of a line */

    for ( ;; ) {
        p = ngx_http_wapress_mustache_find(src + last, end, ps->otag,
                                           ps->otag_len);
        if (p == NULL) {
            if (ngx_http_wapress_mustache_text(ps, last, ps->len) != 0) {
                return -1;
            }

            break;
        }

        ts = p - src;
        cs = ts + ps->otag_len;
        c = (cs < ps->len) ? (unsigned char) src[cs] : 0;
        type = ngx_http_wapress_mustache_sigil[c];
        prefix = (c == '{') ? '}' : (c == '=') ? '=' : '\0';

        if (type == NGX_HTTP_WAPRESS_MUSTACHE_TEXT) {
            type = NGX_HTTP_WAPRESS_MUSTACHE_ESCAPED;

        } else {
            cs++;
        }

        /* the closing delimiter, preceded by "}" or "=" where needed */

        t = src + cs;

        for ( ;; ) {
            t = ngx_http_wapress_mustache_find(t, end, ps->ctag,
                                               ps->ctag_len);
            if (t == NULL) {
                ngx_http_wapress_mustache_error(ps, ts, "unclosed tag");
                return -1;
            }

            if (prefix == '\0' || (t > src + cs && t[-1] == prefix)) {
                break;
            }

            t++;
        }

        ce = (t - src) - (prefix ? 1 : 0);
        te = (t - src) + ps->ctag_len;

        /* a standalone tag takes its whole line, newline included */

        b = ts;
        a = te;
        standalone = 0;

        if (type >= NGX_HTTP_WAPRESS_MUSTACHE_SECTION) {
            while (b > last && ngx_http_wapress_mustache_blank(src[b - 1])) {
                b--;
            }

            if (b == last ? line_start : src[b - 1] == '\n') {
                while (a < ps->len
                       && ngx_http_wapress_mustache_blank(src[a]))
                {
                    a++;
                }

                if (a == ps->len) {
                    standalone = 1;

                } else if (src[a] == '\n') {
                    standalone = 1;
                    a++;

                } else if (src[a] == '\r' && a + 1 < ps->len
                           && src[a + 1] == '\n')
                {
                    standalone = 1;
                    a += 2;
                }
            }
        }

        if (!standalone) {
            b = ts;
            a = te;
        }

        if (ngx_http_wapress_mustache_text(ps, last, b) != 0) {
            return -1;
        }

        n = ts - b;

        if (ngx_http_wapress_mustache_tag(ps, type, ts, src + cs, ce - cs,
                                          src + b, n)
            != 0)
        {
            return -1;
        }

        last = a;
        line_start = standalone;
    }

    if (ps->nopen > 0) {
        ps->nopen--;
        ngx_http_wapress_mustache_error(ps, ps->open[ps->nopen].pos,
                                        "unclosed section \"%.*s\"",
                                        (int) ps->open[ps->nopen].name_len,
                                        ps->open[ps->nopen].name);
        return -1;
    }

    return 0;
}


/* one tag whose content is s/n; indent is set for a standalone tag */

static int
ngx_http_wapress_mustache_tag(ngx_http_wapress_mustache_parser_t *ps,
    unsigned type, size_t ts, const char *s, size_t n, const char *indent,
    size_t indent_len)
{
    ngx_http_wapress_mustache_node_t  *node;
    ngx_http_wapress_mustache_open_t  *op;

    if (type == NGX_HTTP_WAPRESS_MUSTACHE_COMMENT) {
        return 0;
    }

    if (type == NGX_HTTP_WAPRESS_MUSTACHE_DELIM) {
        if (ngx_http_wapress_mustache_delimiters(ps, s, n) != 0) {
            ngx_http_wapress_mustache_error(ps, ts, "invalid delimiters");
            return -1;
        }

        return 0;
    }

    while (n > 0 && ngx_http_wapress_mustache_space(s[0])) {
        s++;
        n--;
    }

    while (n > 0 && ngx_http_wapress_mustache_space(s[n - 1])) {
        n--;
    }

    if (n == 0) {
        ngx_http_wapress_mustache_error(ps, ts, "empty tag");
        return -1;
    }

    if (type == NGX_HTTP_WAPRESS_MUSTACHE_PARTIAL) {
        return ngx_http_wapress_mustache_load(ps, ts, s, n, indent,
                                              indent_len);
    }

    if (type == NGX_HTTP_WAPRESS_MUSTACHE_CLOSE) {
        op = (ps->nopen > 0) ? &ps->open[ps->nopen - 1] : NULL;

        if (op == NULL || op->name_len != n || memcmp(op->name, s, n) != 0) {
            ngx_http_wapress_mustache_error(ps, ts,
                                            "unexpected closing tag \"%.*s\"",
                                            (int) n, s);
            return -1;
        }

        ps->nodes[op->node].end = ps->nnodes;
        ps->nopen--;

        return 0;
    }

    if (type != NGX_HTTP_WAPRESS_MUSTACHE_ESCAPED
        && type != NGX_HTTP_WAPRESS_MUSTACHE_RAW
        && ps->nopen == NGX_HTTP_WAPRESS_MUSTACHE_MAX_SECTIONS)
    {
        ngx_http_wapress_mustache_error(ps, ts, "sections nested too deeply");
        return -1;
    }

    node = ngx_http_wapress_mustache_node(ps, type);
    if (node == NULL) {
        ngx_http_wapress_mustache_error(ps, ts, "out of memory");
        return -1;
    }

    if (ngx_http_wapress_mustache_name(ps, ts, s, n, node) != 0) {
        return -1;
    }

    if (type == NGX_HTTP_WAPRESS_MUSTACHE_SECTION
        || type == NGX_HTTP_WAPRESS_MUSTACHE_INVERTED)
    {
        op = &ps->open[ps->nopen++];
        op->name = s;
        op->name_len = n;
        op->pos = ts;
        op->node = ps->nnodes - 1;
    }

    return 0;
}


/* "{{=<% %>=}}": s/n is "<% %>" */

static int
ngx_http_wapress_mustache_delimiters(ngx_http_wapress_mustache_parser_t *ps,
    const char *s, size_t n)
{
    size_t       i, o, c;
    const char  *last;

    last = s + n;

    while (s < last && ngx_http_wapress_mustache_space(*s)) {
        s++;
    }

    while (last > s && ngx_http_wapress_mustache_space(last[-1])) {
        last--;
    }

    n = last - s;

    for (o = 0; o < n && !ngx_http_wapress_mustache_space(s[o]); o++) {
        /* void */
    }

    for (i = o; i < n && ngx_http_wapress_mustache_space(s[i]); i++) {
        /* void */
    }

    c = n - i;

    if (o == 0 || c == 0) {
        return -1;
    }

    for (n = 0; n < c; n++) {
        if (ngx_http_wapress_mustache_space(s[i + n])) {
            return -1;
        }
    }

    if (memchr(s, '=', o) != NULL || memchr(s + i, '=', c) != NULL) {
        return -1;
    }

    ps->otag = s;
    ps->otag_len = o;
    ps->ctag = s + i;
    ps->ctag_len = c;

    return 0;
}


/* splits a trimmed, non-empty name into segments: "." or "a.b.c" */

static int
ngx_http_wapress_mustache_name(ngx_http_wapress_mustache_parser_t *ps,
    size_t ts, const char *s, size_t n,
    ngx_http_wapress_mustache_node_t *node)
{
    size_t                            i, k, nsegs;
    ngx_http_wapress_mustache_seg_t  *segs;

    if (n == 1 && s[0] == '.') {
        node->len = 0;
        return 0;
    }

    nsegs = 1;

    for (i = 0; i < n; i++) {
        if (ngx_http_wapress_mustache_space(s[i])
            || (s[i] == '.' && (i == 0 || i == n - 1 || s[i - 1] == '.')))
        {
            ngx_http_wapress_mustache_error(ps, ts,
                                            "invalid tag name \"%.*s\"",
                                            (int) n, s);
            return -1;
        }

        if (s[i] == '.') {
            nsegs++;
        }
    }

    segs = ngx_http_wapress_mustache_alloc(ps->ctx, nsegs * sizeof(*segs));
    if (segs == NULL) {
        ngx_http_wapress_mustache_error(ps, ts, "out of memory");
        return -1;
    }

    k = 0;
    segs[0].data = s;

    for (i = 0; i < n; i++) {
        if (s[i] == '.') {
            segs[k].len = s + i - segs[k].data;
            segs[++k].data = s + i + 1;
        }
    }

    segs[k].len = s + n - segs[k].data;

    node->segs = segs;
    node->len = nsegs;

    return 0;
}


/*
 * {{>name}}: a node pointing at the compiled partial.  Each distinct
 * (name, indentation) is compiled once and registered before its body
 * is compiled, so recursive partials link back to it.  Only standalone
 * indentation that grows with each level needs new copies; past
 * MAX_PARTIALS nested compiles the node just fails the render.
 */

static int
ngx_http_wapress_mustache_load(ngx_http_wapress_mustache_parser_t *ps,
    size_t ts, const char *name, size_t name_len, const char *indent,
    size_t indent_len)
{
    size_t                                len;
    const char                           *src;
    ngx_http_wapress_mustache_t          *tpl;
    ngx_http_wapress_mustache_ctx_t      *ctx;
    ngx_http_wapress_mustache_copy_t     *cp;
    ngx_http_wapress_mustache_node_t     *node;
    ngx_http_wapress_mustache_parser_t    sub;
    ngx_http_wapress_mustache_partial_t  *pt;

    ctx = ps->ctx;

    pt = ngx_http_wapress_mustache_partial(ctx, name, name_len);
    if (pt == NULL) {
        ngx_http_wapress_mustache_error(ps, ts, "out of memory");
        return -1;
    }

    if (pt->src == NULL) {
        return 0;
    }

    for (cp = pt->copies; cp != NULL; cp = cp->next) {
        if (cp->indent_len == indent_len
            && memcmp(cp->indent, indent, indent_len) == 0)
        {
            break;
        }
    }

    node = ngx_http_wapress_mustache_node(ps,
                                          NGX_HTTP_WAPRESS_MUSTACHE_PARTIAL);
    if (node == NULL) {
        ngx_http_wapress_mustache_error(ps, ts, "out of memory");
        return -1;
    }

    if (cp != NULL) {
        node->partial = cp->tpl;
        return 0;
    }

    if (ctx->depth == NGX_HTTP_WAPRESS_MUSTACHE_MAX_PARTIALS) {
        node->type = NGX_HTTP_WAPRESS_MUSTACHE_DEEP;
        return 0;
    }

    if (ctx->ncopies++ == NGX_HTTP_WAPRESS_MUSTACHE_MAX_COPIES) {
        ngx_http_wapress_mustache_error(ps, ts, "too many partial copies");
        return -1;
    }

    cp = ngx_http_wapress_mustache_alloc(ctx, sizeof(*cp));
    tpl = ngx_http_wapress_mustache_alloc(ctx, sizeof(*tpl));

    len = pt->len;
    src = ngx_http_wapress_mustache_indent(ctx, pt->src, &len, indent,
                                           indent_len);

    if (cp == NULL || tpl == NULL || src == NULL) {
        ngx_http_wapress_mustache_error(ps, ts, "out of memory");
        return -1;
    }

    tpl->nodes = NULL;
    tpl->nnodes = 0;

    cp->indent = indent;
    cp->indent_len = indent_len;
    cp->tpl = tpl;
    cp->next = pt->copies;
    pt->copies = cp;

    node->partial = tpl;

    memset(&sub, 0, offsetof(ngx_http_wapress_mustache_parser_t, open));
    sub.ctx = ctx;
    sub.name = pt->name;
    sub.src = src;
    sub.len = len;

    ctx->depth++;

    if (ngx_http_wapress_mustache_parse(&sub) != 0) {
        return -1;
    }

    ctx->depth--;

    tpl->nodes = sub.nodes;
    tpl->nnodes = sub.nnodes;

    return 0;
}


/* the partial's cache entry, loading its source on first use */

static ngx_http_wapress_mustache_partial_t *
ngx_http_wapress_mustache_partial(ngx_http_wapress_mustache_ctx_t *ctx,
    const char *name, size_t name_len)
{
    char                                 *src;
    size_t                                len;
    const char                           *text;
    ngx_http_wapress_mustache_compile_t  *cc;
    ngx_http_wapress_mustache_partial_t  *pt;

    for (pt = ctx->partials; pt != NULL; pt = pt->next) {
        if (pt->name_len == name_len && memcmp(pt->name, name, name_len) == 0)
        {
            return pt;
        }
    }

    pt = ngx_http_wapress_mustache_alloc(ctx, sizeof(*pt));
    if (pt == NULL) {
        return NULL;
    }

    pt->name = ngx_http_wapress_mustache_alloc(ctx, name_len + 1);
    if (pt->name == NULL) {
        return NULL;
    }

    memcpy(pt->name, name, name_len);
    pt->name[name_len] = '\0';
    pt->name_len = name_len;
    pt->src = NULL;
    pt->len = 0;
    pt->copies = NULL;

    cc = ctx->cc;

    if (cc->partial != NULL
        && cc->partial(cc->partial_data, pt->name, name_len, &text, &len)
           == 0)
    {
        src = ngx_http_wapress_mustache_alloc(ctx, len + 1);
        if (src == NULL) {
            return NULL;
        }

        if (len) {
            memcpy(src, text, len);
        }

        pt->src = src;
        pt->len = len;
    }

    pt->next = ctx->partials;
    ctx->partials = pt;

    return pt;
}


/* a copy of src with indent before each non-empty line */

static const char *
ngx_http_wapress_mustache_indent(ngx_http_wapress_mustache_ctx_t *ctx,
    const char *src, size_t *len, const char *indent, size_t indent_len)
{
    char    *dst, *p;
    size_t   i, n, lines;

    n = *len;

    if (indent_len == 0) {
        return src;
    }

    lines = 0;

    for (i = 0; i < n; i++) {
        if ((i == 0 || src[i - 1] == '\n') && src[i] != '\n') {
            lines++;
        }
    }

    dst = ngx_http_wapress_mustache_alloc(ctx, n + lines * indent_len + 1);
    if (dst == NULL) {
        return NULL;
    }

    p = dst;

    for (i = 0; i < n; i++) {
        if ((i == 0 || src[i - 1] == '\n') && src[i] != '\n') {
            memcpy(p, indent, indent_len);
            p += indent_len;
        }

        *p++ = src[i];
    }

    *len = p - dst;

    return dst;
}


static ngx_http_wapress_mustache_node_t *
ngx_http_wapress_mustache_node(ngx_http_wapress_mustache_parser_t *ps,
    unsigned type)
{
    unsigned                           n;
    ngx_http_wapress_mustache_node_t  *nodes, *node;

    if (ps->nnodes == ps->nalloc) {
        n = ps->nalloc ? ps->nalloc * 2 : 16;

        nodes = ngx_http_wapress_mustache_alloc(ps->ctx, n * sizeof(*nodes));
        if (nodes == NULL) {
            return NULL;
        }

        if (ps->nnodes) {
            memcpy(nodes, ps->nodes, ps->nnodes * sizeof(*nodes));
        }

        ps->nodes = nodes;
        ps->nalloc = n;
    }

    node = &ps->nodes[ps->nnodes++];
    memset(node, 0, sizeof(*node));
    node->type = type;

    return node;
}


static int
ngx_http_wapress_mustache_text(ngx_http_wapress_mustache_parser_t *ps,
    size_t from, size_t to)
{
    ngx_http_wapress_mustache_node_t  *node;

    if (from >= to) {
        return 0;
    }

    node = ngx_http_wapress_mustache_node(ps, NGX_HTTP_WAPRESS_MUSTACHE_TEXT);
    if (node == NULL) {
        ngx_http_wapress_mustache_error(ps, from, "out of memory");
        return -1;
    }

    node->text = (const unsigned char *) ps->src + from;
    node->len = to - from;

    return 0;
}


static const char *
ngx_http_wapress_mustache_find(const char *p, const char *last,
    const char *s, size_t n)
{
    while ((size_t) (last - p) >= n) {
        p = memchr(p, s[0], (last - p) - n + 1);
        if (p == NULL) {
            return NULL;
        }

        if (memcmp(p, s, n) == 0) {
            return p;
        }

        p++;
    }

    return NULL;
}


static void
ngx_http_wapress_mustache_error(ngx_http_wapress_mustache_parser_t *ps,
    size_t pos, const char *fmt, ...)
{
    size_t                                i;
    va_list                               args;
    ngx_http_wapress_mustache_compile_t  *cc;

    cc = ps->ctx->cc;

    cc->err_line = 1;

    for (i = 0; i < pos && i < ps->len; i++) {
        if (ps->src[i] == '\n') {
            cc->err_line++;
        }
    }

    cc->err_partial = ps->name;

    if (cc->err != NULL && cc->err_size > 0) {
        va_start(args, fmt);
        vsnprintf(cc->err, cc->err_size, fmt, args);
        va_end(args);
    }
}


static void *
ngx_http_wapress_mustache_alloc(ngx_http_wapress_mustache_ctx_t *ctx,
    size_t size)
{
    return ctx->cc->alloc(ctx->cc->alloc_data, size);
}


int
ngx_http_wapress_mustache_render(const ngx_http_wapress_mustache_t *tpl,
    json_t *root, ngx_http_wapress_mustache_out_t *out)
{
    ngx_http_wapress_mustache_state_t  st;

    if (out->pos == NULL
        && ngx_http_wapress_mustache_grow(out,
                                          NGX_HTTP_WAPRESS_MUSTACHE_MIN_OUT)
           != 0)
    {
        return NGX_HTTP_WAPRESS_MUSTACHE_NOMEM;
    }

    st.out = out;
    st.nctx = 1;
    st.partials = 0;
    st.visits = 0;
    st.stack[0] = root;

    return ngx_http_wapress_mustache_render_nodes(&st, tpl->nodes, 0,
                                                  tpl->nnodes);
}


static int
ngx_http_wapress_mustache_render_nodes(ngx_http_wapress_mustache_state_t *st,
    const ngx_http_wapress_mustache_node_t *nodes, unsigned from,
    unsigned to)
{
    int                                      rc;
    json_t                                  *v;
    unsigned                                 i;
    const ngx_http_wapress_mustache_t       *p;
    const ngx_http_wapress_mustache_node_t  *node;

    for (i = from; i < to; i++) {
        node = &nodes[i];

        if (++st->visits > NGX_HTTP_WAPRESS_MUSTACHE_MAX_VISITS) {
            return NGX_HTTP_WAPRESS_MUSTACHE_TOO_LONG;
        }

        switch (node->type) {

        case NGX_HTTP_WAPRESS_MUSTACHE_TEXT:
            rc = ngx_http_wapress_mustache_write(st->out, node->text,
                                                 node->len);
            if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
                return rc;
            }

            break;

        case NGX_HTTP_WAPRESS_MUSTACHE_ESCAPED:
        case NGX_HTTP_WAPRESS_MUSTACHE_RAW:
            v = ngx_http_wapress_mustache_lookup(st, node);

            if (v == NULL) {
                break;
            }

            rc = ngx_http_wapress_mustache_value(st->out, v,
                           node->type == NGX_HTTP_WAPRESS_MUSTACHE_ESCAPED);
            if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
                return rc;
            }

            break;

        case NGX_HTTP_WAPRESS_MUSTACHE_SECTION:
            v = ngx_http_wapress_mustache_lookup(st, node);

            if (!ngx_http_wapress_mustache_falsey(v)) {
                rc = ngx_http_wapress_mustache_section(st, nodes, i, v);
                if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
                    return rc;
                }
            }

            i = node->end - 1;
            break;

        case NGX_HTTP_WAPRESS_MUSTACHE_INVERTED:

            /* no closing node: a falsey value just goes on into the body */

            v = ngx_http_wapress_mustache_lookup(st, node);

            if (!ngx_http_wapress_mustache_falsey(v)) {
                i = node->end - 1;
            }

            break;

        case NGX_HTTP_WAPRESS_MUSTACHE_PARTIAL:
            if (st->partials == NGX_HTTP_WAPRESS_MUSTACHE_MAX_PARTIALS) {
                return NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP;
            }

            p = node->partial;

            st->partials++;
            rc = ngx_http_wapress_mustache_render_nodes(st, p->nodes, 0,
                                                        p->nnodes);
            st->partials--;

            if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
                return rc;
            }

            break;

        default: /* NGX_HTTP_WAPRESS_MUSTACHE_DEEP */
            return NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP;
        }
    }

    return NGX_HTTP_WAPRESS_MUSTACHE_OK;
}


/* the body of nodes[i] once per array element, or once for v */

static int
ngx_http_wapress_mustache_section(ngx_http_wapress_mustache_state_t *st,
    const ngx_http_wapress_mustache_node_t *nodes, unsigned i, json_t *v)
{
    int      rc;
    size_t   k, n;

    if (st->nctx > NGX_HTTP_WAPRESS_MUSTACHE_MAX_SECTIONS) {
        return NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP;
    }

    if (!json_is_array(v)) {
        st->stack[st->nctx++] = v;
        rc = ngx_http_wapress_mustache_render_nodes(st, nodes, i + 1,
                                                    nodes[i].end);
        st->nctx--;

        return rc;
    }

    n = json_array_size(v);

    for (k = 0; k < n; k++) {
        if (++st->visits > NGX_HTTP_WAPRESS_MUSTACHE_MAX_VISITS) {
            return NGX_HTTP_WAPRESS_MUSTACHE_TOO_LONG;
        }

        st->stack[st->nctx++] = json_array_get(v, k);
        rc = ngx_http_wapress_mustache_render_nodes(st, nodes, i + 1,
                                                    nodes[i].end);
        st->nctx--;

        if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
            return rc;
        }
    }

    return NGX_HTTP_WAPRESS_MUSTACHE_OK;
}


/*
 * "." is the top of the stack; otherwise the first segment is looked up
 * from the top of the stack down, and the others only inside what it
 * found (no fallback once the first one matched)
 */

static json_t *
ngx_http_wapress_mustache_lookup(ngx_http_wapress_mustache_state_t *st,
    const ngx_http_wapress_mustache_node_t *node)
{
    json_t                                 *v, *c;
    size_t                                  k;
    unsigned                                i;
    const ngx_http_wapress_mustache_seg_t  *seg;

    if (node->len == 0) {
        return st->stack[st->nctx - 1];
    }

    seg = node->segs;
    v = NULL;

    for (i = st->nctx; i-- > 0; /* void */) {
        c = st->stack[i];

        if (json_is_object(c)) {
            v = json_object_getn(c, seg->data, seg->len);
            if (v != NULL) {
                break;
            }
        }
    }

    for (k = 1; v != NULL && k < node->len; k++) {
        if (!json_is_object(v)) {
            return NULL;
        }

        v = json_object_getn(v, seg[k].data, seg[k].len);
    }

    return v;
}


static int
ngx_http_wapress_mustache_falsey(json_t *v)
{
    return v == NULL
           || json_is_false(v)
           || json_is_null(v)
           || (json_is_array(v) && json_array_size(v) == 0);
}


/*
 * strings as is (escaped or raw), integers in decimal, reals in the
 * shortest "%g" form that reads back as the same double, booleans as
 * "true"/"false"; null, objects and arrays as nothing
 */

static int
ngx_http_wapress_mustache_value(ngx_http_wapress_mustache_out_t *out,
    json_t *v, int escape)
{
    int                   prec, n;
    char                  buf[32], *p;
    double                d;
    json_int_t            i;
    unsigned long long    u;
    const unsigned char  *s;

    switch (json_typeof(v)) {

    case JSON_STRING:
        s = (const unsigned char *) json_string_value(v);

        if (escape) {
            return ngx_http_wapress_mustache_escape(out, s,
                                                    json_string_length(v));
        }

        return ngx_http_wapress_mustache_write(out, s, json_string_length(v));

    case JSON_INTEGER:
        i = json_integer_value(v);
        u = (i < 0) ? 0ULL - (unsigned long long) i : (unsigned long long) i;
        p = buf + sizeof(buf);

        do {
            *--p = (char) ('0' + u % 10);
            u /= 10;
        } while (u);

        if (i < 0) {
            *--p = '-';
        }

        return ngx_http_wapress_mustache_write(out, p, buf + sizeof(buf) - p);

    case JSON_REAL:
        d = json_real_value(v);
        n = 0;

        for (prec = 15; prec <= 17; prec++) {
            n = snprintf(buf, sizeof(buf), "%.*g", prec, d);
            if (strtod(buf, NULL) == d) {
                break;
            }
        }

        if (n <= 0 || n >= (int) sizeof(buf)) {
            return 0;
        }

        return ngx_http_wapress_mustache_write(out, buf, n);

    case JSON_TRUE:
        return ngx_http_wapress_mustache_write(out, "true", 4);

    case JSON_FALSE:
        return ngx_http_wapress_mustache_write(out, "false", 5);

    default:
        return 0;
    }
}


/* runs that need no escaping are copied in bulk */

static int
ngx_http_wapress_mustache_escape(ngx_http_wapress_mustache_out_t *out,
    const unsigned char *p, size_t len)
{
    int                   rc;
    unsigned              e;
    const unsigned char  *last, *run;

    last = p + len;

    while (p < last) {
        run = p;

        while (p < last && ngx_http_wapress_mustache_esc[*p] == 0) {
            p++;
        }

        rc = ngx_http_wapress_mustache_write(out, run, p - run);
        if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
            return rc;
        }

        if (p == last) {
            break;
        }

        e = ngx_http_wapress_mustache_esc[*p++];

        rc = ngx_http_wapress_mustache_write(out,
                                   ngx_http_wapress_mustache_entity[e].data,
                                   ngx_http_wapress_mustache_entity[e].len);
        if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
            return rc;
        }
    }

    return 0;
}


static int
ngx_http_wapress_mustache_write(ngx_http_wapress_mustache_out_t *out,
    const void *p, size_t len)
{
    /* out->max: stop before writing past it, and before growing */

    if (out->max && len > out->max - (size_t) (out->pos - out->start)) {
        return NGX_HTTP_WAPRESS_MUSTACHE_TOO_LARGE;
    }

    if ((size_t) (out->end - out->pos) < len
        && ngx_http_wapress_mustache_grow(out, len) != 0)
    {
        return NGX_HTTP_WAPRESS_MUSTACHE_NOMEM;
    }

    memcpy(out->pos, p, len);
    out->pos += len;

    return NGX_HTTP_WAPRESS_MUSTACHE_OK;
}


/* room for n more bytes: a new block of at least double the size */

static int
ngx_http_wapress_mustache_grow(ngx_http_wapress_mustache_out_t *out,
    size_t n)
{
    size_t          used, size;
    unsigned char  *p;

    used = 0;
    size = 0;

    if (out->start != NULL) {
        used = out->pos - out->start;
        size = out->end - out->start;
    }

    size = (size < NGX_HTTP_WAPRESS_MUSTACHE_MIN_OUT / 2)
           ? NGX_HTTP_WAPRESS_MUSTACHE_MIN_OUT : size * 2;

    if (n > (size_t) -1 - used) {
        return -1;
    }

    while (size < used + n) {
        if (size > (size_t) -1 / 2) {
            size = used + n;
            break;
        }

        size *= 2;
    }

    if (out->max && size > out->max && used + n <= out->max) {
        size = out->max;
    }

    p = out->alloc(out->alloc_data, size);
    if (p == NULL) {
        return -1;
    }

    if (used) {
        memcpy(p, out->start, used);
    }

    out->start = p;
    out->pos = p + used;
    out->end = p + size;

    return 0;
}
