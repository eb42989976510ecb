
/*
 * ngx_http_wapress_handler.c: the content handler of a location with
 * wapress_layout.  It asks for all of the page's fragments at once, waits
 * (r->main->count++, NGX_DONE) until every reply is in or the deadline
 * (wapress_redis_timeout) passes, then sends the layout's static runs,
 * straight from configuration memory, with the fragments between them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_handler.h"
#include "ngx_http_wapress_fetch.h"


static void ngx_http_wapress_wake(ngx_http_wapress_ctx_t *ctx);
static void ngx_http_wapress_event_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_wapress_send(ngx_http_wapress_ctx_t *ctx);


ngx_int_t
ngx_http_wapress_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_wapress_ctx_t       *ctx;
    ngx_http_wapress_loc_conf_t  *wlcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_wapress_module);

    ctx = ngx_http_wapress_ctx_create(r, wlcf, 0, ngx_http_wapress_wake,
                                      ngx_http_wapress_event_handler);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_wapress_fetch(ctx, wlcf->used, wlcf->nused) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->waiting == 0) {
        /* nothing to wait for: Redis is not usable, or no markers */
        ctx->done = 1;
        return ngx_http_wapress_send(ctx);
    }

    ngx_add_timer(&ctx->event, wlcf->timeout);

    if (!r->discard_body) {
        /* notice a client that goes away while we wait */
        r->read_event_handler = ngx_http_test_reading;
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_wapress_wake(ngx_http_wapress_ctx_t *ctx)
{
    if (ctx->event.timer_set) {
        ngx_del_timer(&ctx->event);
    }

    ngx_post_event(&ctx->event, &ngx_posted_events);
}


static void
ngx_http_wapress_event_handler(ngx_event_t *ev)
{
    ngx_http_wapress_ctx_t *ctx = ev->data;

    u_char                        cause[64];
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_wapress_loc_conf_t  *wlcf;

    r = ctx->request;
    c = r->connection;
    wlcf = ctx->conf;

    ngx_http_set_log_request(c->log, r);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "wapress page ready, timed out: %d", ev->timedout);

    if (ev->timedout) {
        ev->timedout = 0;

        ngx_snprintf(cause, sizeof(cause), "timed out after %Mms%Z",
                     wlcf->timeout);

        ngx_http_wapress_fetch_detach(ctx, (char *) cause);

    } else {
        ngx_http_wapress_fetch_detach(ctx, NULL);
    }

    ctx->done = 1;

    if (r->read_event_handler == ngx_http_test_reading) {
        r->read_event_handler = ngx_http_block_reading;
    }

    ngx_http_finalize_request(r, ngx_http_wapress_send(ctx));
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_wapress_send(ngx_http_wapress_ctx_t *ctx)
{
    off_t                         len;
    ngx_buf_t                    *b;
    ngx_int_t                     rc;
    ngx_str_t                    *s;
    ngx_uint_t                    i, k, n, status;
    ngx_chain_t                  *cl, *out, *last, **ll;
    ngx_http_request_t           *r;
    ngx_http_wapress_part_t      *part;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;
    ngx_http_wapress_loc_conf_t  *wlcf;

    r = ctx->request;
    wlcf = ctx->conf;
    frag = wlcf->fragments ? wlcf->fragments->elts : NULL;
    status = NGX_HTTP_OK;

    for (i = 0; i < wlcf->nused; i++) {
        res = &ctx->results[wlcf->used[i]];

        if (res->state == NGX_HTTP_WAPRESS_FOUND) {
            continue;
        }

        if (frag[wlcf->used[i]].required) {
            if (res->state == NGX_HTTP_WAPRESS_MISSING) {
                if (status == NGX_HTTP_OK) {
                    status = NGX_HTTP_NOT_FOUND;
                }

            } else {
                status = NGX_HTTP_SERVICE_UNAVAILABLE;
            }
        }

        /* optional: the default, which may be empty */
        res->value = frag[wlcf->used[i]].deflt;
    }

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

        s = &part[i].text;

        for (k = 0; k < 2; k++) {

            if (s->len) {
                b->pos = s->data;
                b->last = s->data + s->len;
                b->start = b->pos;
                b->end = b->last;

                if (k == 0) {
                    b->memory = 1;   /* configuration memory */

                } else {
                    b->temporary = 1;
                }

                cl->buf = b++;
                *ll = cl;
                ll = &cl->next;
                last = cl++;

                len += s->len;
            }

            if (part[i].name.len == 0) {
                break;
            }

            s = &ctx->results[part[i].fragment].value;
        }
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
