
/*
 * ngx_http_wapress_report.c: the X-Wapress debug header
 * (wapress_debug_header): what each fragment of the page got, read from
 * the page's results when the header goes.  The counting variables are
 * in ngx_http_wapress_var.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_stats.h"
#include "ngx_http_wapress_report.h"
#include "ngx_http_wapress_cache.h"


static ngx_int_t ngx_http_wapress_report_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_wapress_report_header(ngx_http_request_t *r,
    ngx_http_wapress_page_t *ctx);


static ngx_http_output_header_filter_pt  ngx_http_wapress_report_next_header;


/*
 * postconfiguration: the header filter only if a location assembles
 * pages, and before the filter module's is installed: below it, it sees
 * a header the filter module held when it lets it go.
 */

ngx_int_t
ngx_http_wapress_report_init(ngx_conf_t *cf, ngx_uint_t used)
{
    if (used) {
        ngx_http_wapress_report_next_header = ngx_http_top_header_filter;
        ngx_http_top_header_filter = ngx_http_wapress_report_header_filter;
    }

    return NGX_OK;
}


/*
 * wapress_debug_header: X-Wapress names each fragment answered so far
 * with its result and the age of its copy.  Below the filter module's
 * header filter, so that a header it held comes here when the page's
 * status is known.
 */

static ngx_int_t
ngx_http_wapress_report_header_filter(ngx_http_request_t *r)
{
    ngx_http_wapress_page_t *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_wapress_module);

    if (ctx != NULL && r == r->main && ctx->conf->debug_header
        && ctx->conf->fragments != NULL
        && ngx_http_wapress_report_header(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_wapress_report_next_header(r);
}


static ngx_int_t
ngx_http_wapress_report_header(ngx_http_request_t *r,
    ngx_http_wapress_page_t *ctx)
{
    size_t                        len;
    u_char                       *p, *start;
    ngx_msec_t                    age;
    ngx_uint_t                    i, k, n;
    ngx_table_elt_t              *h;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;

    static const char  *results[] = {
        "HIT", "MISS", "STALE", "UPDATING", "NOTFOUND", "ERROR"
    };

    frag = ctx->conf->fragments->elts;
    n = ctx->conf->fragments->nelts;
    len = 0;

    for (i = 0; i < n; i++) {
        len += frag[i].name.len + sizeof(", =UPDATING;age=.0;default") - 1
               + NGX_TIME_T_LEN + sizeof(";cause=connection") - 1;
    }

    start = ngx_pnalloc(r->pool, len);
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = start;

    for (i = 0; i < n; i++) {
        res = &ctx->results[i];
        k = ngx_http_wapress_stats_result(res);

        if (k == NGX_HTTP_WAPRESS_STATS_NRESULT) {
            continue;
        }

        if (p != start) {
            *p++ = ','; *p++ = ' ';
        }

        p = ngx_sprintf(p, "%V=%s", &frag[i].name, results[k]);

        if (res->state == NGX_HTTP_WAPRESS_FAILED) {
            k = res->error ? res->error : NGX_HTTP_WAPRESS_STATS_ERR_OTHER;
            p = ngx_sprintf(p, ";cause=%V",
                            ngx_http_wapress_stats_cause_name(k));

        } else {
            age = (res->cache == NGX_HTTP_WAPRESS_CACHE_HIT
                   || res->cache == NGX_HTTP_WAPRESS_CACHE_STALE
                   || res->cache == NGX_HTTP_WAPRESS_CACHE_UPDATING)
                  ? res->age : 0;

            p = ngx_sprintf(p, ";age=%M.%M", age / 1000, age % 1000 / 100);
        }

        if (ngx_http_wapress_stats_defaulted(&frag[i], res)) {
            p = ngx_cpymem(p, ";default", sizeof(";default") - 1);
        }
    }

    if (p == start) {
        /* nothing answered yet: filter mode, header not held */
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Wapress");
    h->value.data = start;
    h->value.len = p - start;
    h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


/*
 * $wapress_fragments_missing: optional fragments whose key was not found
 * (cached "not found" included); $wapress_fragments_default: optional
 * fragments that show their default value (not found, or failed with no
 * stale copy).
 */
