
/*
 * ngx_http_wapress_filter_send.c: the sending half of filter mode: the
 * queue that the body filter (ngx_http_wapress_filter.c) parsed goes out
 * up to the first fragment still pending, each fragment filled from the
 * page when it is known; a page held for its required fragments sends
 * its header once its status is known, or is replaced by the error page.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_filter.h"
#include "ngx_http_wapress_page.h"


static ngx_int_t ngx_http_wapress_filter_decide(
    ngx_http_wapress_page_t *page);
static ngx_int_t ngx_http_wapress_filter_fill(ngx_http_wapress_page_t *page,
    ngx_buf_t *b);
static void ngx_http_wapress_filter_error(ngx_http_wapress_page_t *page);


/*
 * Of a page held for its required fragments: NGX_AGAIN while its status
 * is unknown, else the page's status, as the handler's.
 */

static ngx_int_t
ngx_http_wapress_filter_decide(ngx_http_wapress_page_t *page)
{
    ngx_int_t                       status;
    ngx_uint_t                      wait;
    ngx_http_wapress_filter_ctx_t  *f;

    f = page->filter;

    status = ngx_http_wapress_page_status(page, f->eof, &wait);

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

ngx_int_t
ngx_http_wapress_filter_output(ngx_http_wapress_page_t *page)
{
    ngx_buf_t                      *b;
    ngx_int_t                       rc;
    ngx_uint_t                      st;
    ngx_chain_t                    *cl, *ln, *out, **ll;
    ngx_http_request_t             *r;
    ngx_http_wapress_filter_ctx_t  *f;

    r = page->request;
    f = page->filter;

    if (f->phase == ngx_http_wapress_filter_hold) {

        rc = ngx_http_wapress_filter_decide(page);

        if (rc == NGX_AGAIN) {
            r->buffered |= NGX_HTTP_WAPRESS_BUFFERED;
            return NGX_OK;
        }

        if (rc != NGX_HTTP_OK) {
            ngx_http_wapress_filter_fail(page, rc);
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
            st = page->results[b->num - 1].state;

            if (st == NGX_HTTP_WAPRESS_PENDING
                || st == NGX_HTTP_WAPRESS_UNASKED)
            {
                ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "wapress filter waits for fragment %d",
                               b->num - 1);
                break;
            }

            if (ngx_http_wapress_filter_fill(page, b) != NGX_OK) {
                return NGX_ERROR;
            }
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

    if (f->queue || f->scan.nheld) {
        r->buffered |= NGX_HTTP_WAPRESS_BUFFERED;

    } else {
        r->buffered &= ~NGX_HTTP_WAPRESS_BUFFERED;
    }

    return rc;
}


/* a fragment's slot gets what the page shows for it */

static ngx_int_t
ngx_http_wapress_filter_fill(ngx_http_wapress_page_t *page, ngx_buf_t *b)
{
    ngx_uint_t  i;

    i = b->num - 1;
    b->num = 0;

    /*
     * this filter runs after the copy filter: when a later filter edits
     * in place (charset recoding), the page copies the bytes itself
     */

    if (ngx_http_wapress_page_buf(page, i, b, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (b->pos != b->last) {
        b->sync = 0;
    }

    /* else it stays an empty sync buffer */

    return NGX_OK;
}


/*
 * A held page whose required fragment is missing or cannot be read: its
 * body is dropped from now on, and the error page is sent from the
 * page's event, out of the producer's call stack.
 */

void
ngx_http_wapress_filter_fail(ngx_http_wapress_page_t *page,
    ngx_int_t status)
{
    ngx_http_wapress_filter_ctx_t  *f;

    f = page->filter;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, page->request->connection->log, 0,
                   "wapress filter: the page is %i", status);

    ngx_http_wapress_page_stop(page);

    /* the held text is copies: dropping it gives nothing back */

    f->queue = NULL;
    f->last = &f->queue;
    f->scan.nheld = 0;

    f->phase = ngx_http_wapress_filter_failed;
    f->status = status;

    /* the request is not finalized before the event */
    page->request->buffered |= NGX_HTTP_WAPRESS_BUFFERED;

    ngx_post_event(&page->event, &ngx_posted_events);
}


/*
 * Finalizes the request with the status of a failed page, as its content
 * handler would have: the header was never sent, so error_page works as
 * for any other status.  An upstream still sending the page is let go
 * first, as ngx_http_upstream_create() does it: its reference to the
 * request is handed over to this finalization.
 */

static void
ngx_http_wapress_filter_error(ngx_http_wapress_page_t *page)
{
    ngx_int_t            status;
    ngx_http_request_t  *r;

    r = page->request;
    status = page->filter->status;

    page->filter->status = 0;
    page->filter->phase = ngx_http_wapress_filter_pass;

    r->buffered &= ~NGX_HTTP_WAPRESS_BUFFERED;

    if (r->upstream && r->upstream->cleanup) {
        r->main->count++;
        (*r->upstream->cleanup)(r);
    }

    /* nothing of the upstream's header goes with the error page */

    ngx_http_clean_header(r);

    ngx_http_finalize_request(r, status);
}


/*
 * A reply is in, or the deadline passed (the page's event): sends what
 * can go now, then runs the request's write handler (as nginx does for a
 * request whose subrequest is done) so that its producer takes back the
 * buffers just written, reads on, or finalizes the request.
 */

void
ngx_http_wapress_filter_resume(ngx_http_wapress_page_t *page)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = page->request;
    c = r->connection;

    if (page->filter->phase == ngx_http_wapress_filter_failed) {
        if (page->filter->status) {
            ngx_http_wapress_filter_error(page);
            ngx_http_run_posted_requests(c);
        }

        return;
    }

    if (page->filter->phase == ngx_http_wapress_filter_pass) {
        return;
    }

    rc = ngx_http_wapress_filter_output(page);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);

    } else if (ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }

    ngx_http_run_posted_requests(c);
}
