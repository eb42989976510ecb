
/*
 * ngx_http_wapress_filter_encoding.c: filter mode and compressed bodies.
 *
 * The filter reads markers in plain HTML: a body its upstream compressed
 * would pass with its markers unfilled.  So in a wapress_filter location
 * the request's Accept-Encoding header is made to say "identity" before
 * the content handler runs (proxy_pass, fastcgi_pass, uwsgi_pass and
 * the like forward the client's headers from r->headers_in): upstreams
 * are asked for an identity body, as the SSI documentation tells users
 * to do by hand.  What the client accepts is asked first
 * (ngx_http_gzip_ok() remembers its answer in the request), so that
 * "gzip on" still compresses the assembled page for a client that asks.
 *
 * A compressed body that comes anyway (an upstream that ignores the
 * header, a .gz file of gzip_static) is not inflated: it passes through
 * untouched with a warning, or, in a location with required fragments,
 * the page is 502 (a page that would be 200 with its primary content
 * missing is worse than an error).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_filter.h"
#include "ngx_http_wapress_page.h"


static ngx_int_t ngx_http_wapress_filter_identity(ngx_http_request_t *r);


static ngx_str_t  ngx_http_wapress_identity = ngx_string("identity");


ngx_int_t
ngx_http_wapress_filter_encoding_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_wapress_filter_identity;

    return NGX_OK;
}


/* the preaccess phase: the request's Accept-Encoding says "identity" */

static ngx_int_t
ngx_http_wapress_filter_identity(ngx_http_request_t *r)
{
    ngx_uint_t                    i;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    ngx_http_wapress_loc_conf_t  *wlcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_wapress_module);

    if (!wlcf->filter) {
        return NGX_DECLINED;
    }

#if (NGX_HTTP_GZIP)
    /* what the client accepts, remembered for the gzip filter */
    (void) ngx_http_gzip_ok(r);
#endif

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Accept-Encoding") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept-Encoding",
                               sizeof("Accept-Encoding") - 1)
               == 0
            && (h[i].value.len != ngx_http_wapress_identity.len
                || h[i].value.data != ngx_http_wapress_identity.data))
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "wapress filter asks for identity, not \"%V\"",
                           &h[i].value);

            h[i].value = ngx_http_wapress_identity;
        }
    }

    return NGX_DECLINED;
}


/*
 * The header filter found a response to filter that is compressed:
 * NGX_DECLINED, it passes untouched; NGX_OK, the page is 502 (its
 * header is held and the error page sent from the page's event).
 */

ngx_int_t
ngx_http_wapress_filter_encoded(ngx_http_request_t *r,
    ngx_http_wapress_loc_conf_t *wlcf)
{
    ngx_str_t                *ce;
    ngx_http_wapress_page_t  *page;

    ce = &r->headers_out.content_encoding->value;

    if (!wlcf->filter_required) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "wapress: the response is compressed "
                      "(Content-Encoding \"%V\"), its markers are not "
                      "filled; it passes as it is", ce);
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "wapress: the response is compressed "
                  "(Content-Encoding \"%V\"), its markers cannot be "
                  "filled and the location has required fragments: "
                  "the page is 502", ce);

    page = ngx_http_wapress_page_create(r, wlcf,
                                        sizeof(ngx_http_wapress_filter_ctx_t),
                                        ngx_http_wapress_filter_resume);
    if (page == NULL) {
        return NGX_ERROR;
    }

    page->filter = (ngx_http_wapress_filter_ctx_t *)
                       &page->results[wlcf->fragments->nelts];

    page->filter->last = &page->filter->queue;

    r->buffered |= NGX_HTTP_WAPRESS_BUFFERED;

    ngx_http_wapress_filter_fail(page, NGX_HTTP_BAD_GATEWAY);

    return NGX_OK;
}
