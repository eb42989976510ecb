
/*
 * fuzz/fuzz_mustache.h: what the Mustache fuzz targets share.
 *
 * The targets include ngx_http_wapress_mustache.c itself (not just its
 * header) so that they can read the compiled nodes: a template can ask
 * for work exponential in its nesting ("{{#a}}" 64 deep over a
 * two-element array), which the engine bounds only by depth, so an input
 * whose worst case is over NGX_HTTP_WAPRESS_FUZZ_WORK node visits is
 * skipped (a template is configuration, written by the operator; see
 * docs/testing.md).  Memory comes from a block list with a cap, freed
 * after each input, like a pool.
 */


#ifndef _NGX_HTTP_WAPRESS_FUZZ_MUSTACHE_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FUZZ_MUSTACHE_H_INCLUDED_


#include <stdint.h>

#include "ngx_http_wapress_mustache.c"


/* the most node visits one render may need */
#define NGX_HTTP_WAPRESS_FUZZ_WORK    200000ULL

/* the most memory one input may allocate (output included) */
#define NGX_HTTP_WAPRESS_FUZZ_MEMORY  (8 * 1024 * 1024)


#define ngx_http_wapress_fuzz_assert(expr, what)                              \
    if (!(expr)) {                                                            \
        fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, what,         \
                #expr);                                                       \
        abort();                                                              \
    }


typedef struct ngx_http_wapress_fuzz_block_s  ngx_http_wapress_fuzz_block_t;

struct ngx_http_wapress_fuzz_block_s {
    ngx_http_wapress_fuzz_block_t  *next;
    union {
        long double                 ld;
        long long                   ll;
        void                       *p;
    } align;
};


typedef struct {
    ngx_http_wapress_fuzz_block_t  *blocks;
    size_t                          used;
} ngx_http_wapress_fuzz_pool_t;


static void *
ngx_http_wapress_fuzz_alloc(void *data, size_t size)
{
    ngx_http_wapress_fuzz_pool_t   *pool = data;
    ngx_http_wapress_fuzz_block_t  *b;

    if (size > NGX_HTTP_WAPRESS_FUZZ_MEMORY
        || pool->used + size > NGX_HTTP_WAPRESS_FUZZ_MEMORY)
    {
        return NULL;
    }

    b = malloc(offsetof(ngx_http_wapress_fuzz_block_t, align) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = pool->blocks;
    pool->blocks = b;
    pool->used += size;

    return &b->align;
}


static void
ngx_http_wapress_fuzz_pool_free(ngx_http_wapress_fuzz_pool_t *pool)
{
    ngx_http_wapress_fuzz_block_t  *b, *next;

    for (b = pool->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    pool->blocks = NULL;
    pool->used = 0;
}


/* the largest array anywhere in v: the most times a section can repeat */

static size_t
ngx_http_wapress_fuzz_widest(json_t *v)
{
    size_t       i, n, w, m;
    json_t      *e;
    const char  *key;

    m = 0;

    if (json_is_array(v)) {
        n = json_array_size(v);
        m = n;

        json_array_foreach(v, i, e) {
            w = ngx_http_wapress_fuzz_widest(e);
            m = (w > m) ? w : m;
        }

    } else if (json_is_object(v)) {
        json_object_foreach(v, key, e) {
            w = ngx_http_wapress_fuzz_widest(e);
            m = (w > m) ? w : m;
        }
    }

    return m;
}


/*
 * An upper bound on the node visits of rendering nodes[from .. to) when
 * a section repeats at most "wide" times; it stops counting (and the
 * caller gives up) past "limit", so it costs about "limit" steps at most.
 */

static unsigned long long
ngx_http_wapress_fuzz_work(const ngx_http_wapress_mustache_node_t *nodes,
    unsigned from, unsigned to, unsigned partials, unsigned sections,
    unsigned long long wide, unsigned long long limit)
{
    unsigned                                 i;
    unsigned long long                       total, body, left;
    const ngx_http_wapress_mustache_t       *p;
    const ngx_http_wapress_mustache_node_t  *node;

    total = 0;

    for (i = from; i < to && total <= limit; i++) {
        node = &nodes[i];
        total++;
        left = (total < limit) ? limit - total : 0;

        switch (node->type) {

        case NGX_HTTP_WAPRESS_MUSTACHE_SECTION:
            if (sections < NGX_HTTP_WAPRESS_MUSTACHE_MAX_SECTIONS) {
                body = ngx_http_wapress_fuzz_work(nodes, i + 1, node->end,
                                                  partials, sections + 1,
                                                  wide, left / wide + 1);
                total += (body > limit) ? limit + 1 : body * wide;
            }

            i = node->end - 1;
            break;

        case NGX_HTTP_WAPRESS_MUSTACHE_PARTIAL:
            if (partials < NGX_HTTP_WAPRESS_MUSTACHE_MAX_PARTIALS) {
                p = node->partial;
                total += ngx_http_wapress_fuzz_work(p->nodes, 0, p->nnodes,
                                                    partials + 1, sections,
                                                    wide, left + 1);
            }

            break;

        default:
            /* text and values (their size is bounded by the memory cap);
               an inverted section's body is counted in line */
            break;
        }
    }

    return total;
}


/*
 * renders twice: the same bytes and code both times, output in bounds
 * (and within "max" when it is not 0, as wapress_fragment_max_size)
 */

static int
ngx_http_wapress_fuzz_render(ngx_http_wapress_fuzz_pool_t *pool,
    const ngx_http_wapress_mustache_t *tpl, json_t *root, size_t initial,
    size_t max)
{
    int                               rc, rc2;
    size_t                            len;
    unsigned char                    *copy;
    unsigned long long                wide;
    ngx_http_wapress_mustache_out_t   out, out2;

    wide = ngx_http_wapress_fuzz_widest(root);
    wide = wide ? wide : 1;

    if (ngx_http_wapress_fuzz_work(tpl->nodes, 0, tpl->nnodes, 0, 0, wide,
                                   NGX_HTTP_WAPRESS_FUZZ_WORK)
        > NGX_HTTP_WAPRESS_FUZZ_WORK)
    {
        return -1;
    }

    memset(&out, 0, sizeof(out));
    out.alloc = ngx_http_wapress_fuzz_alloc;
    out.alloc_data = pool;
    out.max = max;

    if (initial) {
        /* as in ngx_http_wapress_fragment_render(): value length + 512 */
        out.start = ngx_http_wapress_fuzz_alloc(pool, initial);
        if (out.start == NULL) {
            return -1;
        }

        out.pos = out.start;
        out.end = out.start + initial;
    }

    rc = ngx_http_wapress_mustache_render(tpl, root, &out);

    ngx_http_wapress_fuzz_assert(rc == NGX_HTTP_WAPRESS_MUSTACHE_OK
                                 || rc == NGX_HTTP_WAPRESS_MUSTACHE_NOMEM
                                 || rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP
                                 || rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_LONG
                                 || (max
                                     && rc
                                        == NGX_HTTP_WAPRESS_MUSTACHE_TOO_LARGE),
                                 "render: unknown return code");
    ngx_http_wapress_fuzz_assert(out.start <= out.pos && out.pos <= out.end,
                                 "render: output position out of bounds");
    ngx_http_wapress_fuzz_assert(max == 0
                                 || (size_t) (out.pos - out.start) <= max,
                                 "render: output past out.max");

    if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
        return rc;
    }

    len = out.pos - out.start;

    /* the first output must survive the second render unchanged */

    copy = malloc(len ? len : 1);
    ngx_http_wapress_fuzz_assert(copy != NULL, "out of memory");

    if (len) {
        memcpy(copy, out.start, len);
    }

    memset(&out2, 0, sizeof(out2));
    out2.alloc = ngx_http_wapress_fuzz_alloc;
    out2.alloc_data = pool;
    out2.max = max;

    rc2 = ngx_http_wapress_mustache_render(tpl, root, &out2);

    if (rc2 == NGX_HTTP_WAPRESS_MUSTACHE_OK) {
        ngx_http_wapress_fuzz_assert(
            (size_t) (out2.pos - out2.start) == len
            && (len == 0 || memcmp(out2.start, copy, len) == 0)
            && (len == 0 || memcmp(out.start, copy, len) == 0),
            "render: two renders differ");

    } else {
        /* only the memory cap may stop the second one */
        ngx_http_wapress_fuzz_assert(rc2 == NGX_HTTP_WAPRESS_MUSTACHE_NOMEM,
                                     "render: the second render fails");
    }

    free(copy);

    return rc;
}


#endif /* _NGX_HTTP_WAPRESS_FUZZ_MUSTACHE_H_INCLUDED_ */
