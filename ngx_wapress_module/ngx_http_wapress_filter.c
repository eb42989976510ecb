
/*
 * ngx_http_wapress_filter.c: filter mode.  A header and body filter that
 * replaces the fragment markers of an HTML response nginx passes through
 * (proxy_pass, fastcgi_pass, static files, ...) with the location's
 * fragments, the same ones a layout uses.
 *
 * The body streams: the text before a pending marker goes out as it
 * arrives; a fragment's lookup is sent as soon as its marker is seen (the
 * markers of one call of the filter in one batch); the output waits at a
 * marker until its fragment is known, and resumes from the Redis reply
 * (ctx->wake, after each reply) or the deadline.  What waits behind a
 * pending fragment is not copied: it stays in the producer's buffers,
 * which are not given back until it is sent, so that nginx stops reading
 * from the upstream (or the file) and memory stays bounded.  Only a
 * partial marker, at most NGX_HTTP_WAPRESS_MARKER_MAX bytes, is copied
 * from one buffer to the next.
 *
 * A location with required fragments holds the header and copies the
 * body until the page's status is known: every required fragment seen
 * in it has been found (200, then it streams), or one is missing (404) or
 * cannot be read (503): the body is then discarded and nginx sends the
 * error page.  docs/filter.md says why.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_filter.h"
#include "ngx_http_wapress_fetch.h"
#include "ngx_http_wapress_marker.h"


/*
 * r->buffered is 4 bits: ssi 0x01, sub 0x02 and copy 0x04 are nginx's;
 * 0x08 is free in nginx itself (the image filter's 0x08 is c->buffered)
 */
#define NGX_HTTP_WAPRESS_BUFFERED            0x08

/*
 * b->num of the filter's own buffers: 0 for text, > 0 for the slot of
 * fragment num - 1 (still to be filled), COPY for a buffer that owns
 * NGX_HTTP_WAPRESS_MARKER_MAX bytes (a partial marker that was no marker)
 */
#define NGX_HTTP_WAPRESS_BUF_COPY            -1


typedef enum {
    ngx_http_wapress_filter_hold = 0,  /* header held, status unknown */
    ngx_http_wapress_filter_stream,    /* header sent, body streams */
    ngx_http_wapress_filter_failed,    /* the page is an error: the body
                                          is dropped until ... */
    ngx_http_wapress_filter_pass       /* ... nginx sends the error page */
} ngx_http_wapress_filter_phase_e;


struct ngx_http_wapress_filter_ctx_s {
    ngx_chain_t                     *queue;      /* parsed, not yet sent */
    ngx_chain_t                    **last;
    ngx_chain_t                     *busy;       /* sent, not yet written */
    ngx_chain_t                     *free;
    ngx_chain_t                     *free_copies;
    ngx_buf_t                       *tail;       /* last text of an input
                                                    buffer, to carry its
                                                    flags and shadow */
    u_char                          *saved;      /* a partial marker */
    size_t                           saved_len;
    ngx_uint_t                      *ask;        /* to ask in this call */
    ngx_uint_t                       nask;
    ngx_msec_t                      *asked;      /* when, per fragment */
    ngx_uint_t                       phase;      /* _phase_e */
    ngx_int_t                        status;     /* of a failed page */
    unsigned                         discard:1;  /* the page will be an
                                                    error: keep no text */
    unsigned                         eof:1;      /* last_buf parsed */
    unsigned                         gave_up:1;  /* a lookup timed out */
};


static ngx_int_t ngx_http_wapress_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_wapress_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_wapress_filter_parse(ngx_http_wapress_ctx_t *ctx,
    ngx_buf_t *ib);
static ngx_int_t ngx_http_wapress_filter_scan(ngx_http_wapress_ctx_t *ctx,
    u_char *p, u_char *last, ngx_buf_t *from);
static ngx_int_t ngx_http_wapress_filter_resume(ngx_http_wapress_ctx_t *ctx,
    u_char **pp, u_char *last);
static ngx_int_t ngx_http_wapress_filter_marker(ngx_http_wapress_ctx_t *ctx,
    u_char *name, size_t len);
static ngx_int_t ngx_http_wapress_filter_text(ngx_http_wapress_ctx_t *ctx,
    u_char *start, u_char *end, ngx_buf_t *from);
static ngx_int_t ngx_http_wapress_filter_copy(ngx_http_wapress_ctx_t *ctx,
    u_char *start, size_t len);
static ngx_int_t ngx_http_wapress_filter_slot(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i);
static ngx_int_t ngx_http_wapress_filter_ask(ngx_http_wapress_ctx_t *ctx);
static void ngx_http_wapress_filter_timer(ngx_http_wapress_ctx_t *ctx);
static ngx_int_t ngx_http_wapress_filter_decide(ngx_http_wapress_ctx_t *ctx);
static ngx_int_t ngx_http_wapress_filter_output(ngx_http_wapress_ctx_t *ctx);
static void ngx_http_wapress_filter_fill(ngx_http_wapress_ctx_t *ctx,
    ngx_buf_t *b);
static void ngx_http_wapress_filter_fail(ngx_http_wapress_ctx_t *ctx,
    ngx_int_t status);
static void ngx_http_wapress_filter_error(ngx_http_wapress_ctx_t *ctx);
static void ngx_http_wapress_filter_wake(ngx_http_wapress_ctx_t *ctx);
static void ngx_http_wapress_filter_event(ngx_event_t *ev);


static ngx_http_output_header_filter_pt  ngx_http_wapress_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_wapress_next_body_filter;


char *
ngx_http_wapress_filter_flag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wapress_loc_conf_t *wlcf = conf;

    char                          *rv;
    ngx_http_wapress_main_conf_t  *wmcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (wlcf->filter) {
        wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wapress_module);
        wmcf->filter = 1;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_wapress_filter_merge(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf)
{
    ngx_uint_t                    i;
    ngx_http_wapress_fragment_t  *frag;

    wlcf->filter_required = 0;

    if (wlcf->fragments == NULL) {
        return NGX_OK;
    }

    frag = wlcf->fragments->elts;

    for (i = 0; i < wlcf->fragments->nelts; i++) {
        if (frag[i].required) {
            wlcf->filter_required++;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_wapress_filter_init(ngx_conf_t *cf)
{
    ngx_http_wapress_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wapress_module);

    if (!wmcf->filter) {
        return NGX_OK;
    }

    ngx_http_wapress_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_wapress_header_filter;

    ngx_http_wapress_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_wapress_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_wapress_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t                      n;
    ngx_http_wapress_ctx_t         *ctx;
    ngx_http_wapress_loc_conf_t    *wlcf;
    ngx_http_wapress_filter_ctx_t  *f;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_wapress_module);

    if (!wlcf->filter) {
        return ngx_http_wapress_next_header_filter(r);
    }

    /*
     * a context here is the content handler's page (never filtered), or
     * the filter's own: this is then the error page it asked for
     */

    if (r != r->main
        || r->headers_out.status != NGX_HTTP_OK
        || r->header_only
        || (r->method & NGX_HTTP_HEAD)
        || r->headers_out.content_length_n == 0
        || (r->headers_out.content_encoding
            && r->headers_out.content_encoding->value.len)
        || ngx_http_get_module_ctx(r, ngx_http_wapress_module) != NULL
        || ngx_http_test_content_type(r, &wlcf->filter_types) == NULL)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wapress filter skips the response, status %ui",
                       r->headers_out.status);

        return ngx_http_wapress_next_header_filter(r);
    }

    n = wlcf->fragments ? wlcf->fragments->nelts : 0;

    /* after the results: the filter's state, then asked[n] and ask[n] */

    ctx = ngx_http_wapress_ctx_create(r, wlcf,
                                      sizeof(ngx_http_wapress_filter_ctx_t)
                                      + n * (sizeof(ngx_msec_t)
                                             + sizeof(ngx_uint_t)),
                                      ngx_http_wapress_filter_wake,
                                      ngx_http_wapress_filter_event);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     f->queue = NULL;
     *     f->busy = NULL;
     *     f->free = NULL;
     *     f->free_copies = NULL;
     *     f->saved = NULL;
     *     f->saved_len = 0;
     *     f->nask = 0;
     *     f->discard = 0;
     *     f->eof = 0;
     *     f->gave_up = 0;
     */

    f = (ngx_http_wapress_filter_ctx_t *) &ctx->results[n];

    ctx->filter = f;
    ctx->wake_each = 1;

    f->asked = (ngx_msec_t *) &f[1];
    f->ask = (ngx_uint_t *) &f->asked[n];
    f->last = &f->queue;
    f->phase = wlcf->filter_required ? ngx_http_wapress_filter_hold
                                     : ngx_http_wapress_filter_stream;

    r->filter_need_in_memory = 1;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    if (f->phase == ngx_http_wapress_filter_hold) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wapress filter holds the header");

        r->buffered |= NGX_HTTP_WAPRESS_BUFFERED;
        return NGX_OK;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "wapress filter streams");

    return ngx_http_wapress_next_header_filter(r);
}


static ngx_int_t
ngx_http_wapress_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t             *cl;
    ngx_http_wapress_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_wapress_module);

    if (ctx == NULL || ctx->filter == NULL) {
        return ngx_http_wapress_next_body_filter(r, in);
    }

    switch (ctx->filter->phase) {

    case ngx_http_wapress_filter_pass:
        return ngx_http_wapress_next_body_filter(r, in);

    case ngx_http_wapress_filter_failed:

        /* the body of a page that will be an error page */

        for (cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }

        return ngx_http_wapress_next_body_filter(r, NULL);

    default:
        break;
    }

    for (cl = in; cl; cl = cl->next) {
        if (ngx_http_wapress_filter_parse(ctx, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->filter->nask) {
        if (ngx_http_wapress_filter_ask(ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_wapress_filter_output(ctx);
}


/* parses one input buffer into the queue */

static ngx_int_t
ngx_http_wapress_filter_parse(ngx_http_wapress_ctx_t *ctx, ngx_buf_t *ib)
{
    size_t                          size;
    u_char                         *p, *last;
    ngx_buf_t                      *b, *from;
    ngx_chain_t                    *cl;
    ngx_http_request_t             *r;
    ngx_http_wapress_filter_ctx_t  *f;

    r = ctx->request;
    f = ctx->filter;

    if (!ngx_buf_in_memory(ib) && !ngx_buf_special(ib)) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "wapress filter: a buffer not in memory");
        return NGX_ERROR;
    }

    p = ib->pos;
    last = ib->last;
    size = ngx_buf_in_memory(ib) ? (size_t) (last - p) : 0;
    from = ib;

    f->tail = NULL;

    if (size && f->phase == ngx_http_wapress_filter_hold && !f->discard) {

        /*
         * until the status is known the page is kept, so it is copied and
         * the producer may go on (from NULL: the text is our memory)
         */

        p = ngx_pnalloc(r->pool, size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, ib->pos, size);
        last = p + size;
        from = NULL;
    }

    if (size) {
        if (ngx_http_wapress_filter_scan(ctx, p, last, from) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ib->last_buf) {
        f->eof = 1;

        if (f->saved_len) {
            /* an unterminated marker at the end of the body is text */

            if (ngx_http_wapress_filter_copy(ctx, f->saved, f->saved_len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            f->saved_len = 0;
        }
    }

    if (from == NULL || f->discard) {
        /* nothing of it is kept */
        ib->pos = ib->last;

        if (ib->in_file) {
            ib->file_pos = ib->file_last;
        }
    }

    if (f->discard) {
        return NGX_OK;
    }

    b = f->tail;

    if (b == NULL) {
        /* an empty buffer to carry the input buffer's flags in order */

        cl = ngx_chain_get_free_buf(r->pool, &f->free);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        b = cl->buf;
        ngx_memzero(b, sizeof(ngx_buf_t));

        b->tag = (ngx_buf_tag_t) &ngx_http_wapress_module;
        b->sync = 1;

        *f->last = cl;
        f->last = &cl->next;
    }

    if (from != NULL) {
        /* the input buffer is free when this one is written */
        b->shadow = ib;
        b->recycled = ib->recycled;
    }

    b->flush = ib->flush;
    b->last_buf = ib->last_buf;
    b->last_in_chain = ib->last_in_chain;

    return NGX_OK;
}


/* the text p .. last of one input buffer: "from" is NULL for a copy */

static ngx_int_t
ngx_http_wapress_filter_scan(ngx_http_wapress_ctx_t *ctx, u_char *p,
    u_char *last, ngx_buf_t *from)
{
    int                             rc;
    size_t                          len;
    u_char                         *q, *start;
    ngx_int_t                       i;
    const char                     *err;
    const u_char                   *name, *end;
    ngx_http_wapress_filter_ctx_t  *f;

    f = ctx->filter;

    if (f->saved_len) {
        if (ngx_http_wapress_filter_resume(ctx, &p, last) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    start = p;

    while (p < last) {

        q = ngx_strlchr(p, last, '<');

        if (q == NULL) {
            break;
        }

        rc = ngx_http_wapress_marker_parse(q, last, &name, &len, &end, &err);

        /*
         * a marker is at most NGX_HTTP_WAPRESS_MARKER_MAX bytes long, so
         * that whether one is recognised never depends on where the
         * buffers split the text
         */

        if (rc == NGX_HTTP_WAPRESS_MARKER_OK
            && end - q <= NGX_HTTP_WAPRESS_MARKER_MAX)
        {
            i = ngx_http_wapress_filter_marker(ctx, (u_char *) name, len);

            if (i == NGX_DECLINED) {
                /* unknown: the marker stays as text */
                p = (u_char *) end;
                continue;
            }

            if (ngx_http_wapress_filter_text(ctx, start, q, from) != NGX_OK
                || ngx_http_wapress_filter_slot(ctx, i) != NGX_OK)
            {
                return NGX_ERROR;
            }

            p = (u_char *) end;
            start = p;
            continue;
        }

        if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN
            && last - q < NGX_HTTP_WAPRESS_MARKER_MAX)
        {
            /* maybe a marker that the next buffer completes */

            if (ngx_http_wapress_filter_text(ctx, start, q, from) != NGX_OK) {
                return NGX_ERROR;
            }

            if (f->saved == NULL) {
                f->saved = ngx_pnalloc(ctx->request->pool,
                                       NGX_HTTP_WAPRESS_MARKER_MAX);
                if (f->saved == NULL) {
                    return NGX_ERROR;
                }
            }

            f->saved_len = last - q;
            ngx_memcpy(f->saved, q, f->saved_len);

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log,
                           0, "wapress filter holds a partial marker of "
                           "%uz bytes", f->saved_len);

            return NGX_OK;
        }

        if (rc == NGX_HTTP_WAPRESS_MARKER_BAD) {
            ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                          "wapress: malformed marker in the response (%s), "
                          "left as it is", err);
        }

        p = q + 1;
    }

    return ngx_http_wapress_filter_text(ctx, start, last, from);
}


/*
 * The saved partial marker, followed by the first bytes of the next
 * buffer.  The saved text starts with its only '<' (a marker has no
 * other), so no marker can start inside it past the first byte.
 */

static ngx_int_t
ngx_http_wapress_filter_resume(ngx_http_wapress_ctx_t *ctx, u_char **pp,
    u_char *last)
{
    int                             rc;
    size_t                          n, len;
    u_char                         *w;
    ngx_int_t                       i;
    const char                     *err;
    const u_char                   *name, *end;
    ngx_http_wapress_filter_ctx_t  *f;

    f = ctx->filter;

    n = ngx_min((size_t) (last - *pp),
                NGX_HTTP_WAPRESS_MARKER_MAX - f->saved_len);

    ngx_memcpy(f->saved + f->saved_len, *pp, n);
    w = f->saved + f->saved_len + n;

    rc = ngx_http_wapress_marker_parse(f->saved, w, &name, &len, &end, &err);

    if (rc == NGX_HTTP_WAPRESS_MARKER_OK
        && end > f->saved + f->saved_len)
    {
        i = ngx_http_wapress_filter_marker(ctx, (u_char *) name, len);

        if (i == NGX_DECLINED) {
            if (ngx_http_wapress_filter_copy(ctx, f->saved, end - f->saved)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

        } else if (ngx_http_wapress_filter_slot(ctx, i) != NGX_OK) {
            return NGX_ERROR;
        }

        *pp += end - (f->saved + f->saved_len);
        f->saved_len = 0;

        return NGX_OK;
    }

    if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN
        && w - f->saved < NGX_HTTP_WAPRESS_MARKER_MAX)
    {
        /* still a prefix: the whole buffer joins it (n is all of it) */

        f->saved_len += n;
        *pp = last;

        return NGX_OK;
    }

    if (rc == NGX_HTTP_WAPRESS_MARKER_BAD) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "wapress: malformed marker in the response (%s), "
                      "left as it is", err);
    }

    /* no marker: the saved bytes are text, the buffer is scanned as usual */

    if (ngx_http_wapress_filter_copy(ctx, f->saved, f->saved_len) != NGX_OK) {
        return NGX_ERROR;
    }

    f->saved_len = 0;

    return NGX_OK;
}


/* the index of the fragment a marker names, or NGX_DECLINED */

static ngx_int_t
ngx_http_wapress_filter_marker(ngx_http_wapress_ctx_t *ctx, u_char *name,
    size_t len)
{
    ngx_str_t                     s;
    ngx_uint_t                    i, n;
    ngx_http_wapress_fragment_t  *frag;

    n = ctx->conf->fragments ? ctx->conf->fragments->nelts : 0;
    frag = n ? ctx->conf->fragments->elts : NULL;

    for (i = 0; i < n; i++) {
        if (frag[i].name.len == len
            && ngx_strncmp(frag[i].name.data, name, len) == 0)
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP,
                           ctx->request->connection->log, 0,
                           "wapress filter marker \"%V\"", &frag[i].name);
            return i;
        }
    }

    s.len = len;
    s.data = name;

    ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                  "wapress: a marker in the response names fragment \"%V\", "
                  "which the location does not define; left as it is", &s);

    return NGX_DECLINED;
}


/* queues start .. end of an input buffer, or of a copy if from is NULL */

static ngx_int_t
ngx_http_wapress_filter_text(ngx_http_wapress_ctx_t *ctx, u_char *start,
    u_char *end, ngx_buf_t *from)
{
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl;
    ngx_http_wapress_filter_ctx_t  *f;

    f = ctx->filter;

    if (start == end || f->discard) {
        return NGX_OK;
    }

    cl = ngx_chain_get_free_buf(ctx->request->pool, &f->free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;
    ngx_memzero(b, sizeof(ngx_buf_t));

    b->tag = (ngx_buf_tag_t) &ngx_http_wapress_module;
    b->start = start;
    b->pos = start;
    b->last = end;
    b->end = end;

    if (from) {
        b->temporary = from->temporary;
        b->memory = from->memory;
        b->mmap = from->mmap;

    } else {
        b->temporary = 1;
    }

    *f->last = cl;
    f->last = &cl->next;
    f->tail = b;

    return NGX_OK;
}


/* queues a copy of a few bytes (at most a marker's) that are ours */

static ngx_int_t
ngx_http_wapress_filter_copy(ngx_http_wapress_ctx_t *ctx, u_char *start,
    size_t len)
{
    u_char                         *p;
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl;
    ngx_http_wapress_filter_ctx_t  *f;

    f = ctx->filter;

    if (len == 0 || f->discard) {
        return NGX_OK;
    }

    if (f->free_copies) {
        cl = f->free_copies;
        f->free_copies = cl->next;
        cl->next = NULL;

        p = cl->buf->start;

    } else {
        cl = ngx_chain_get_free_buf(ctx->request->pool, &f->free);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(ctx->request->pool, NGX_HTTP_WAPRESS_MARKER_MAX);
        if (p == NULL) {
            return NGX_ERROR;
        }
    }

    b = cl->buf;
    ngx_memzero(b, sizeof(ngx_buf_t));

    b->tag = (ngx_buf_tag_t) &ngx_http_wapress_module;
    b->num = NGX_HTTP_WAPRESS_BUF_COPY;
    b->temporary = 1;
    b->start = p;
    b->end = p + NGX_HTTP_WAPRESS_MARKER_MAX;
    b->pos = p;
    b->last = ngx_cpymem(p, start, len);

    *f->last = cl;
    f->last = &cl->next;
    f->tail = b;

    return NGX_OK;
}


/* queues the slot of fragment i, to be filled when it is known */

static ngx_int_t
ngx_http_wapress_filter_slot(ngx_http_wapress_ctx_t *ctx, ngx_uint_t i)
{
    ngx_buf_t                      *b;
    ngx_uint_t                      k;
    ngx_chain_t                    *cl;
    ngx_http_wapress_filter_ctx_t  *f;

    f = ctx->filter;

    if (ctx->results[i].state == NGX_HTTP_WAPRESS_UNASKED) {

        for (k = 0; k < f->nask; k++) {
            if (f->ask[k] == i) {
                break;
            }
        }

        if (k == f->nask) {
            f->ask[f->nask++] = i;
        }
    }

    if (f->discard) {
        return NGX_OK;
    }

    cl = ngx_chain_get_free_buf(ctx->request->pool, &f->free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;
    ngx_memzero(b, sizeof(ngx_buf_t));

    b->tag = (ngx_buf_tag_t) &ngx_http_wapress_module;
    b->num = (int) i + 1;
    b->sync = 1;

    *f->last = cl;
    f->last = &cl->next;
    f->tail = NULL;

    return NGX_OK;
}


/* sends the lookups of the markers seen in this call, together */

static ngx_int_t
ngx_http_wapress_filter_ask(ngx_http_wapress_ctx_t *ctx)
{
    ngx_msec_t                      now;
    ngx_uint_t                      i, k, n;
    ngx_http_request_t             *r;
    ngx_http_wapress_result_t      *res;
    ngx_http_wapress_fragment_t    *frag;
    ngx_http_wapress_filter_ctx_t  *f;

    r = ctx->request;
    f = ctx->filter;
    n = f->nask;
    f->nask = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "wapress filter asks for %ui fragments, gave up: %d",
                   n, f->gave_up);

    if (f->gave_up) {

        /* the page waited for Redis in vain once: it does not again */

        frag = ctx->conf->fragments->elts;

        for (k = 0; k < n; k++) {
            i = f->ask[k];
            res = &ctx->results[i];

            if (ngx_http_complex_value(r, &frag[i].key, &res->key) != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (frag[i].field != NULL
                && ngx_http_complex_value(r, frag[i].field, &res->field)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }

            res->state = NGX_HTTP_WAPRESS_FAILED;

            ngx_http_wapress_log_result(ctx, i, "not asked, an earlier "
                                        "lookup of the page timed out");
        }

        return NGX_OK;
    }

    if (ngx_http_wapress_fetch(ctx, f->ask, n) != NGX_OK) {
        return NGX_ERROR;
    }

    now = ngx_current_msec;

    for (k = 0; k < n; k++) {
        f->asked[f->ask[k]] = now;
    }

    ngx_http_wapress_filter_timer(ctx);

    return NGX_OK;
}


/*
 * The deadline: wapress_redis_timeout after the oldest lookup still
 * pending.  Redis answers in order, so when that one has not answered,
 * no later one has: all of them fail, and the page asks no more.
 */

static void
ngx_http_wapress_filter_timer(ngx_http_wapress_ctx_t *ctx)
{
    ngx_msec_t                      oldest;
    ngx_uint_t                      i, n, found;
    ngx_msec_int_t                  left;
    ngx_http_wapress_filter_ctx_t  *f;
    u_char                          cause[64];

    f = ctx->filter;

    if (ctx->event.timer_set) {
        ngx_del_timer(&ctx->event);
    }

    if (ctx->waiting == 0) {
        return;
    }

    n = ctx->conf->fragments->nelts;
    found = 0;
    oldest = 0;

    for (i = 0; i < n; i++) {
        if (ctx->results[i].state == NGX_HTTP_WAPRESS_PENDING
            && (!found || (ngx_msec_int_t) (f->asked[i] - oldest) < 0))
        {
            oldest = f->asked[i];
            found = 1;
        }
    }

    if (!found) {
        return;
    }

    left = (ngx_msec_int_t) (oldest + ctx->conf->timeout - ngx_current_msec);

    if (left > 0) {
        ngx_add_timer(&ctx->event, (ngx_msec_t) left);
        return;
    }

    ngx_snprintf(cause, sizeof(cause), "timed out after %Mms%Z",
                 ctx->conf->timeout);

    ngx_http_wapress_fetch_detach(ctx, (char *) cause);

    f->gave_up = 1;
}


/*
 * Of a page held for its required fragments: NGX_AGAIN while its status
 * is unknown, else NGX_HTTP_OK, NGX_HTTP_NOT_FOUND (one is missing) or
 * NGX_HTTP_SERVICE_UNAVAILABLE (one cannot be read), as the handler's.
 */

static ngx_int_t
ngx_http_wapress_filter_decide(ngx_http_wapress_ctx_t *ctx)
{
    ngx_int_t                       status;
    ngx_uint_t                      i, wait;
    ngx_http_wapress_fragment_t    *frag;
    ngx_http_wapress_filter_ctx_t  *f;

    f = ctx->filter;
    frag = ctx->conf->fragments->elts;
    status = NGX_HTTP_OK;
    wait = 0;

    for (i = 0; i < ctx->conf->fragments->nelts; i++) {

        if (!frag[i].required) {
            continue;
        }

        switch (ctx->results[i].state) {

        case NGX_HTTP_WAPRESS_FOUND:
            break;

        case NGX_HTTP_WAPRESS_MISSING:
            status = NGX_HTTP_NOT_FOUND;
            break;

        case NGX_HTTP_WAPRESS_FAILED:
            return NGX_HTTP_SERVICE_UNAVAILABLE;

        case NGX_HTTP_WAPRESS_PENDING:
            wait = 1;
            break;

        default: /* NGX_HTTP_WAPRESS_UNASKED: not seen yet */
            if (!f->eof) {
                wait = 1;
            }

            break;
        }
    }

    if (status != NGX_HTTP_OK && !f->discard) {
        /* a later fragment may still make it 503, but never 200 */
        f->discard = 1;
    }

    return wait ? NGX_AGAIN : status;
}


/*
 * Sends what can go: the queue up to the first fragment still pending.
 * Buffers written downstream go back to the free lists, and an input
 * buffer is given back to its producer when its last text is written.
 */

static ngx_int_t
ngx_http_wapress_filter_output(ngx_http_wapress_ctx_t *ctx)
{
    ngx_buf_t                      *b;
    ngx_int_t                       rc;
    ngx_uint_t                      st;
    ngx_chain_t                    *cl, *ln, *out, **ll;
    ngx_http_request_t             *r;
    ngx_http_wapress_filter_ctx_t  *f;

    r = ctx->request;
    f = ctx->filter;

    if (f->phase == ngx_http_wapress_filter_hold) {

        rc = ngx_http_wapress_filter_decide(ctx);

        if (rc == NGX_AGAIN) {
            r->buffered |= NGX_HTTP_WAPRESS_BUFFERED;
            return NGX_OK;
        }

        if (rc != NGX_HTTP_OK) {
            ngx_http_wapress_filter_fail(ctx, rc);
            return NGX_OK;
        }

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wapress filter sends the held header");

        f->phase = ngx_http_wapress_filter_stream;

        rc = ngx_http_wapress_next_header_filter(r);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            return NGX_ERROR;
        }
    }

    out = NULL;
    ll = &out;
    ln = NULL;

    for (cl = f->queue; cl; cl = cl->next) {
        b = cl->buf;

        if (b->num > 0) {
            st = ctx->results[b->num - 1].state;

            if (st == NGX_HTTP_WAPRESS_PENDING
                || st == NGX_HTTP_WAPRESS_UNASKED)
            {
                ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "wapress filter waits for fragment %d",
                               b->num - 1);
                break;
            }

            ngx_http_wapress_filter_fill(ctx, b);
        }

        *ll = cl;
        ll = &cl->next;
        ln = cl;
    }

    *ll = NULL;
    f->queue = cl;

    if (cl == NULL) {
        f->last = &f->queue;

    } else if (out != NULL) {
        /* what goes before a pending fragment is not postponed */
        ln->buf->flush = 1;
    }

    rc = ngx_http_wapress_next_body_filter(r, out);

    if (f->busy == NULL) {
        f->busy = out;

    } else {
        for (cl = f->busy; cl->next; cl = cl->next) { /* void */ }
        cl->next = out;
    }

    while (f->busy) {
        cl = f->busy;
        b = cl->buf;

        if (ngx_buf_size(b) != 0) {
            break;
        }

        if (b->shadow) {
            b->shadow->pos = b->shadow->last;
        }

        f->busy = cl->next;

        if (b->num == NGX_HTTP_WAPRESS_BUF_COPY) {
            cl->next = f->free_copies;
            f->free_copies = cl;

        } else {
            cl->next = f->free;
            f->free = cl;
        }
    }

    if (f->queue || f->saved_len) {
        r->buffered |= NGX_HTTP_WAPRESS_BUFFERED;

    } else {
        r->buffered &= ~NGX_HTTP_WAPRESS_BUFFERED;
    }

    return rc;
}


/* a fragment's slot gets its value, or its default */

static void
ngx_http_wapress_filter_fill(ngx_http_wapress_ctx_t *ctx, ngx_buf_t *b)
{
    ngx_str_t                    *v;
    ngx_uint_t                    i;
    ngx_http_wapress_fragment_t  *frag;

    i = b->num - 1;
    b->num = 0;

    if (ctx->results[i].state == NGX_HTTP_WAPRESS_FOUND) {
        v = &ctx->results[i].value;

    } else {
        frag = ctx->conf->fragments->elts;
        v = &frag[i].deflt;
    }

    if (v->len == 0) {
        return;   /* stays an empty sync buffer */
    }

    /* memory, not temporary: no filter may change a value in place */

    b->sync = 0;
    b->memory = 1;
    b->start = v->data;
    b->pos = v->data;
    b->last = v->data + v->len;
    b->end = b->last;
}


/*
 * A held page whose required fragment is missing or cannot be read: its
 * body is dropped from now on, and the error page is sent from the
 * filter's event, out of the producer's call stack.
 */

static void
ngx_http_wapress_filter_fail(ngx_http_wapress_ctx_t *ctx, ngx_int_t status)
{
    ngx_http_wapress_filter_ctx_t  *f;

    f = ctx->filter;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "wapress filter: the page is %i", status);

    if (ctx->event.timer_set) {
        ngx_del_timer(&ctx->event);
    }

    ngx_http_wapress_fetch_detach(ctx, NULL);

    /* the held text is copies: dropping it gives nothing back */

    f->queue = NULL;
    f->last = &f->queue;
    f->saved_len = 0;

    f->phase = ngx_http_wapress_filter_failed;
    f->status = status;

    /* the request is not finalized before the event */
    ctx->request->buffered |= NGX_HTTP_WAPRESS_BUFFERED;

    ngx_post_event(&ctx->event, &ngx_posted_events);
}


/*
 * Finalizes the request with the status of a failed page, as its content
 * handler would have: the header was never sent, so error_page works as
 * for any other status.  An upstream still sending the page is let go
 * first, as ngx_http_upstream_create() does it: its reference to the
 * request is handed over to this finalization.
 */

static void
ngx_http_wapress_filter_error(ngx_http_wapress_ctx_t *ctx)
{
    ngx_int_t            status;
    ngx_http_request_t  *r;

    r = ctx->request;
    status = ctx->filter->status;

    ctx->filter->status = 0;
    ctx->filter->phase = ngx_http_wapress_filter_pass;

    r->buffered &= ~NGX_HTTP_WAPRESS_BUFFERED;

    if (r->upstream && r->upstream->cleanup) {
        r->main->count++;
        (*r->upstream->cleanup)(r);
    }

    /* nothing of the upstream's header goes with the error page */

    ngx_http_clean_header(r);

    ngx_http_finalize_request(r, status);
}


static void
ngx_http_wapress_filter_wake(ngx_http_wapress_ctx_t *ctx)
{
    /* from the Redis connection's handler: go on outside of hiredis */

    ngx_post_event(&ctx->event, &ngx_posted_events);
}


/*
 * A reply is in, or the deadline passed: sends what can go now, then
 * runs the request's write handler (as nginx does for a request whose
 * subrequest is done) so that its producer takes back the buffers just
 * written, reads on, or finalizes the request.
 */

static void
ngx_http_wapress_filter_event(ngx_event_t *ev)
{
    ngx_http_wapress_ctx_t *ctx = ev->data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "wapress filter event, timed out: %d, waiting: %ui",
                   ev->timedout, ctx->waiting);

    ev->timedout = 0;

    if (ctx->filter->phase == ngx_http_wapress_filter_failed) {
        if (ctx->filter->status) {
            ngx_http_wapress_filter_error(ctx);
            ngx_http_run_posted_requests(c);
        }

        return;
    }

    if (ctx->filter->phase == ngx_http_wapress_filter_pass) {
        return;
    }

    ngx_http_wapress_filter_timer(ctx);

    rc = ngx_http_wapress_filter_output(ctx);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);

    } else if (ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }

    ngx_http_run_posted_requests(c);
}
