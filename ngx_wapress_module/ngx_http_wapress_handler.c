
/*
 * ngx_http_wapress_handler.c: the content handler of a location with
 * wapress_layout, a front end of the page model (ngx_http_wapress_page.c).
 * It looks up all of the layout's fragments at once, waits
 * (r->main->count++, NGX_DONE) until the page has them all or its
 * deadline passed, then sends the layout's static runs, straight from
 * configuration memory, with the fragments between them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_handler.h"
#include "ngx_http_wapress_page.h"
#include "ngx_http_wapress_headers.h"


static void ngx_http_wapress_handler_resume(ngx_http_wapress_page_t *page);
static ngx_int_t ngx_http_wapress_handler_send(ngx_http_wapress_page_t *page);


ngx_int_t
ngx_http_wapress_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_wapress_page_t      *page;
    ngx_http_wapress_loc_conf_t  *wlcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_wapress_module);

    page = ngx_http_wapress_page_create(r, wlcf, 0,
                                        ngx_http_wapress_handler_resume);
    if (page == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_wapress_page_lookup(page, wlcf->used, wlcf->nused)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (page->waiting == 0) {
        /* nothing to wait for: all cached, Redis not usable, no markers */
        return ngx_http_wapress_handler_send(page);
    }

    if (!r->discard_body) {
        /* notice a client that goes away while we wait */
        r->read_event_handler = ngx_http_test_reading;
    }

    r->main->count++;

    return NGX_DONE;
}


/* the last reply is in, or the deadline passed */

static void
ngx_http_wapress_handler_resume(ngx_http_wapress_page_t *page)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = page->request;
    c = r->connection;

    if (page->waiting) {
        return;
    }

    if (r->read_event_handler == ngx_http_test_reading) {
        r->read_event_handler = ngx_http_block_reading;
    }

    /* the request may be freed by its finalization: c stays */

    ngx_http_finalize_request(r, ngx_http_wapress_handler_send(page));
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_wapress_handler_send(ngx_http_wapress_page_t *page)
{
    off_t                         len;
    ngx_buf_t                    *b;
    ngx_int_t                     rc, status;
    ngx_uint_t                    i, k, n, wait;
    ngx_chain_t                  *cl, *out, *last, **ll;
    ngx_http_request_t           *r;
    ngx_http_wapress_part_t      *part;
    ngx_http_wapress_loc_conf_t  *wlcf;

    r = page->request;
    wlcf = page->conf;

    status = ngx_http_wapress_page_status(page, 1, &wait);

    if (status != NGX_HTTP_OK) {
        return status;
    }

    part = wlcf->layout->parts.elts;
    n = wlcf->layout->parts.nelts;

    /* at most two buffers per part: its static run and its fragment */

    b = ngx_pcalloc(r->pool, 2 * n * (sizeof(ngx_buf_t)
                                      + sizeof(ngx_chain_t)));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cl = (ngx_chain_t *) &b[2 * n];

    out = NULL;
    last = NULL;
    ll = &out;
    len = 0;

    for (i = 0; i < n; i++) {

        for (k = 0; k < 2; k++) {

            if (k == 0) {
                /* configuration memory: never to be changed in place */
                b->memory = 1;
                b->start = part[i].text.data;
                b->pos = b->start;
                b->last = b->start + part[i].text.len;
                b->end = b->last;

            } else if (part[i].name.len == 0) {
                break;

            } else if (ngx_http_wapress_page_buf(page, part[i].fragment, b,
                                                 0)
                       != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (b->pos == b->last) {
                /* nothing to send: the buffer is used for the next */
                ngx_memzero(b, sizeof(ngx_buf_t));
                continue;
            }

            len += b->last - b->pos;

            cl->buf = b++;
            *ll = cl;
            ll = &cl->next;
            last = cl++;
        }
    }

    if (ngx_http_wapress_headers_set(page, out) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;

    ngx_str_set(&r->headers_out.content_type, "text/html");
    r->headers_out.content_type_len = sizeof("text/html") - 1;
    r->headers_out.content_type_lowcase = NULL;

    if (len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    last->buf->last_buf = (r == r->main) ? 1 : 0;
    last->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, out);
}
