
/*
 * ngx_http_wapress_filter.c: filter mode, a front end of the page model
 * (ngx_http_wapress_page.c).  A header and body filter that replaces the
 * fragment markers of an HTML response nginx passes through (proxy_pass,
 * fastcgi_pass, static files, ...) with the location's fragments, the
 * same ones a layout uses.  This file parses: the markers are found by
 * the streaming scanner (ngx_http_wapress_scan.c) and the body becomes a
 * queue of text and fragment slots; ngx_http_wapress_filter_send.c sends
 * it.
 *
 * The body streams: the text before a pending marker goes out as it
 * arrives; a fragment's lookup is sent as soon as its marker is seen (the
 * markers of one call of the filter together); the output waits at a
 * marker until its fragment is known, and resumes from the page's event
 * (after each reply, or at the deadline).  What waits behind a
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
#include "ngx_http_wapress_page.h"
#include "ngx_http_wapress_fragment.h"
#include "ngx_http_wapress_log.h"


static ngx_int_t ngx_http_wapress_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_wapress_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_wapress_filter_parse(ngx_http_wapress_page_t *page,
    ngx_buf_t *ib);
static int ngx_http_wapress_filter_scanned(void *data, int what,
    const unsigned char *p, size_t len, const char *err);
static void ngx_http_wapress_filter_warned(ngx_http_wapress_page_t *page);
static ngx_int_t ngx_http_wapress_filter_find(ngx_http_wapress_page_t *page,
    u_char *name, size_t len);
static ngx_int_t ngx_http_wapress_filter_text(ngx_http_wapress_page_t *page,
    u_char *start, u_char *end, ngx_buf_t *from);
static ngx_int_t ngx_http_wapress_filter_copy(ngx_http_wapress_page_t *page,
    u_char *start, size_t len);
static ngx_int_t ngx_http_wapress_filter_slot(ngx_http_wapress_page_t *page,
    ngx_uint_t i);


ngx_http_output_header_filter_pt  ngx_http_wapress_next_header_filter;
ngx_http_output_body_filter_pt    ngx_http_wapress_next_body_filter;


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

    return ngx_http_wapress_filter_encoding_init(cf);
}


static ngx_int_t
ngx_http_wapress_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_uint_t                      n;
    ngx_http_wapress_page_t        *page;
    ngx_http_wapress_loc_conf_t    *wlcf;
    ngx_http_wapress_filter_ctx_t  *f;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_wapress_module);

    if (!wlcf->filter) {
        return ngx_http_wapress_next_header_filter(r);
    }

    /*
     * a page here is the content handler's (never filtered), or the
     * filter's own: this is then the error page it asked for
     */

    if (r != r->main
        || r->headers_out.status != NGX_HTTP_OK
        || r->header_only
        || (r->method & NGX_HTTP_HEAD)
        || r->headers_out.content_length_n == 0
        || ngx_http_get_module_ctx(r, ngx_http_wapress_module) != NULL
        || ngx_http_test_content_type(r, &wlcf->filter_types) == NULL)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wapress filter skips the response, status %ui",
                       r->headers_out.status);

        return ngx_http_wapress_next_header_filter(r);
    }

    if (r->headers_out.content_encoding
        && r->headers_out.content_encoding->value.len
        && !(r->headers_out.content_encoding->value.len == 8
             && ngx_strncasecmp(r->headers_out.content_encoding->value.data,
                                (u_char *) "identity", 8) == 0))
    {
        rc = ngx_http_wapress_filter_encoded(r, wlcf);

        if (rc == NGX_DECLINED) {
            return ngx_http_wapress_next_header_filter(r);
        }

        return rc;
    }

    n = wlcf->fragments ? wlcf->fragments->nelts : 0;

    /* after the results: the filter's state, then ask[n] */

    page = ngx_http_wapress_page_create(r, wlcf,
                                        sizeof(ngx_http_wapress_filter_ctx_t)
                                        + n * sizeof(ngx_uint_t),
                                        ngx_http_wapress_filter_resume);
    if (page == NULL) {
        return NGX_ERROR;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     f->queue = NULL;
     *     f->busy = NULL;
     *     f->free = NULL;
     *     f->free_copies = NULL;
     *     f->nask = 0;
     *     f->discard = 0;
     *     f->eof = 0;
     *     f->scan.nheld = 0;
     */

    f = (ngx_http_wapress_filter_ctx_t *) &page->results[n];

    page->filter = f;
    page->each = 1;

    f->ask = (ngx_uint_t *) &f[1];
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
    ngx_uint_t                      n;
    ngx_chain_t                    *cl;
    ngx_http_wapress_page_t        *page;
    ngx_http_wapress_filter_ctx_t  *f;

    page = ngx_http_get_module_ctx(r, ngx_http_wapress_module);

    if (page == NULL || page->filter == NULL) {
        return ngx_http_wapress_next_body_filter(r, in);
    }

    f = page->filter;

    switch (f->phase) {

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
        if (ngx_http_wapress_filter_parse(page, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (f->nask) {
        n = f->nask;
        f->nask = 0;

        if (ngx_http_wapress_page_lookup(page, f->ask, n) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (f->eof) {
        /* the page's log lines held for its markers (one per cause) */
        ngx_http_wapress_log_flush(page);
    }

    return ngx_http_wapress_filter_output(page);
}


/* parses one input buffer into the queue */

static ngx_int_t
ngx_http_wapress_filter_parse(ngx_http_wapress_page_t *page, ngx_buf_t *ib)
{
    size_t                          size, held;
    u_char                         *p;
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl;
    ngx_http_request_t             *r;
    ngx_http_wapress_filter_ctx_t  *f;

    r = page->request;
    f = page->filter;

    if (!ngx_buf_in_memory(ib) && !ngx_buf_special(ib)) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "wapress filter: a buffer not in memory");
        return NGX_ERROR;
    }

    p = ib->pos;
    size = ngx_buf_in_memory(ib) ? (size_t) (ib->last - p) : 0;

    f->from = ib;
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
        f->from = NULL;
    }

    held = f->scan.nheld;

    if (size
        && ngx_http_wapress_scan(&f->scan, p, p + size,
                                 ngx_http_wapress_filter_scanned, page)
           != 0)
    {
        return NGX_ERROR;
    }

    if (f->scan.nheld && (held == 0 || f->scan.nheld < held)) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wapress filter holds a partial marker of %uz bytes",
                       f->scan.nheld);
    }

    if (ib->last_buf) {
        f->eof = 1;

        /* an unterminated marker at the end of the body is text */

        if (ngx_http_wapress_scan_end(&f->scan,
                                      ngx_http_wapress_filter_scanned, page)
            != 0)
        {
            return NGX_ERROR;
        }

        ngx_http_wapress_filter_warned(page);
    }

    if (f->from == NULL || f->discard) {
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

    if (f->from != NULL) {
        /* the input buffer is free when this one is written */
        b->shadow = ib;
        b->recycled = ib->recycled;
    }

    b->flush = ib->flush;
    b->last_buf = ib->last_buf;
    b->last_in_chain = ib->last_in_chain;

    return NGX_OK;
}


/* what the scanner found: text and markers, queued in order */

static int
ngx_http_wapress_filter_scanned(void *data, int what, const unsigned char *p,
    size_t len, const char *err)
{
    ngx_http_wapress_page_t *page = data;

    ngx_int_t  i;

    switch (what) {

    case NGX_HTTP_WAPRESS_SCAN_TEXT:
        return ngx_http_wapress_filter_text(page, (u_char *) p,
                                            (u_char *) p + len,
                                            page->filter->from);

    case NGX_HTTP_WAPRESS_SCAN_HELD:
        return ngx_http_wapress_filter_copy(page, (u_char *) p, len);

    case NGX_HTTP_WAPRESS_SCAN_MARKER:
        i = ngx_http_wapress_filter_find(page, (u_char *) p, len);

        if (i == NGX_DECLINED) {
            /* unknown: the marker stays as text */
            return 1;
        }

        return ngx_http_wapress_filter_slot(page, i);

    default: /* NGX_HTTP_WAPRESS_SCAN_BAD */
        if (++page->filter->malformed <= NGX_HTTP_WAPRESS_MARKER_WARN_MAX) {
            ngx_log_error(NGX_LOG_WARN, page->request->connection->log, 0,
                          "wapress: malformed marker in the response (%s), "
                          "left as it is", err);
        }

        return 0;
    }
}


/* at the end of the body: the marker warnings that were not logged */

static void
ngx_http_wapress_filter_warned(ngx_http_wapress_page_t *page)
{
    ngx_http_wapress_filter_ctx_t  *f;

    f = page->filter;

    if (f->unknown > NGX_HTTP_WAPRESS_MARKER_WARN_MAX) {
        ngx_log_error(NGX_LOG_WARN, page->request->connection->log, 0,
                      "wapress: ... and %ui more unknown markers in the "
                      "response (%ui in all), left as they are",
                      f->unknown - NGX_HTTP_WAPRESS_MARKER_WARN_MAX,
                      f->unknown);
    }

    if (f->malformed > NGX_HTTP_WAPRESS_MARKER_WARN_MAX) {
        ngx_log_error(NGX_LOG_WARN, page->request->connection->log, 0,
                      "wapress: ... and %ui more malformed markers in the "
                      "response (%ui in all), left as they are",
                      f->malformed - NGX_HTTP_WAPRESS_MARKER_WARN_MAX,
                      f->malformed);
    }
}


/* the index of the fragment a marker names, or NGX_DECLINED */

static ngx_int_t
ngx_http_wapress_filter_find(ngx_http_wapress_page_t *page, u_char *name,
    size_t len)
{
    ngx_int_t   i;
    ngx_str_t   s;

    i = ngx_http_wapress_fragment_find(page->conf, name, len);

    if (i != NGX_DECLINED) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, page->request->connection->log, 0,
                       "wapress filter marker \"%*s\"", len, name);
        return i;
    }

    if (++page->filter->unknown > NGX_HTTP_WAPRESS_MARKER_WARN_MAX) {
        return NGX_DECLINED;
    }

    s.len = len;
    s.data = name;

    ngx_log_error(NGX_LOG_WARN, page->request->connection->log, 0,
                  "wapress: a marker in the response names fragment \"%V\", "
                  "which the location does not define; left as it is", &s);

    return NGX_DECLINED;
}


/* queues start .. end of an input buffer, or of a copy if from is NULL */

static ngx_int_t
ngx_http_wapress_filter_text(ngx_http_wapress_page_t *page, u_char *start,
    u_char *end, ngx_buf_t *from)
{
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl;
    ngx_http_wapress_filter_ctx_t  *f;

    f = page->filter;

    if (start == end || f->discard) {
        return NGX_OK;
    }

    cl = ngx_chain_get_free_buf(page->request->pool, &f->free);
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
ngx_http_wapress_filter_copy(ngx_http_wapress_page_t *page, u_char *start,
    size_t len)
{
    u_char                         *p;
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl;
    ngx_http_wapress_filter_ctx_t  *f;

    f = page->filter;

    if (len == 0 || f->discard) {
        return NGX_OK;
    }

    if (f->free_copies) {
        cl = f->free_copies;
        f->free_copies = cl->next;
        cl->next = NULL;

        p = cl->buf->start;

    } else {
        cl = ngx_chain_get_free_buf(page->request->pool, &f->free);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(page->request->pool, NGX_HTTP_WAPRESS_MARKER_MAX);
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
ngx_http_wapress_filter_slot(ngx_http_wapress_page_t *page, ngx_uint_t i)
{
    ngx_buf_t                      *b;
    ngx_uint_t                      k;
    ngx_chain_t                    *cl;
    ngx_http_wapress_filter_ctx_t  *f;

    f = page->filter;

    if (page->results[i].state == NGX_HTTP_WAPRESS_UNASKED) {

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

    cl = ngx_chain_get_free_buf(page->request->pool, &f->free);
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
