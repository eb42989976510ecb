
/*
 * ngx_http_wapress_var.c: the $wapress_* variables.  They read the page's
 * context, so they have a value only in a request that assembled a page
 * (the access log of a wapress_layout location); elsewhere they are not
 * found ("-" in a log).
 *
 *   $wapress_cache_status          HIT, BYPASS, MISS, UPDATING or STALE:
 *                                  the last of these (in this order) that
 *                                  any fragment of the page had
 *   $wapress_cache_status_NAME     the same for fragment NAME alone
 *   $wapress_fragments_hit, _bypass, _miss, _updating, _stale
 *                                  how many fragments had each status
 *   $wapress_fragments_failed      how many got their default (or
 *                                  nothing) because Redis failed, timed
 *                                  out or gave an unusable value, with no
 *                                  stale copy to stand in
 *   $wapress_fragments_missing     how many optional ones had no key
 *   $wapress_fragments_default     how many optional ones showed their
 *                                  default (missing, or failed)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_var.h"
#include "ngx_http_wapress_stats.h"


#define NGX_HTTP_WAPRESS_VAR_FAILED   (NGX_HTTP_WAPRESS_CACHE_LAST + 1)
#define NGX_HTTP_WAPRESS_VAR_MISSING  (NGX_HTTP_WAPRESS_CACHE_LAST + 2)
#define NGX_HTTP_WAPRESS_VAR_DEFAULT  (NGX_HTTP_WAPRESS_CACHE_LAST + 3)


static ngx_int_t ngx_http_wapress_var_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_wapress_var_fragment_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_wapress_var_set_status(
    ngx_http_variable_value_t *v, ngx_uint_t status);
static ngx_int_t ngx_http_wapress_var_count(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_wapress_page_t *ngx_http_wapress_var_page(
    ngx_http_request_t *r);


static ngx_str_t  ngx_http_wapress_cache_status[] = {
    ngx_null_string,
    ngx_string("HIT"),
    ngx_string("BYPASS"),
    ngx_string("MISS"),
    ngx_string("UPDATING"),
    ngx_string("STALE")
};


static ngx_http_variable_t  ngx_http_wapress_vars[] = {

    { ngx_string("wapress_cache_status"), NULL,
      ngx_http_wapress_var_status, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wapress_cache_status_"), NULL,
      ngx_http_wapress_var_fragment_status, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

    { ngx_string("wapress_fragments_hit"), NULL,
      ngx_http_wapress_var_count, NGX_HTTP_WAPRESS_CACHE_HIT,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wapress_fragments_bypass"), NULL,
      ngx_http_wapress_var_count, NGX_HTTP_WAPRESS_CACHE_BYPASS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wapress_fragments_miss"), NULL,
      ngx_http_wapress_var_count, NGX_HTTP_WAPRESS_CACHE_MISS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wapress_fragments_updating"), NULL,
      ngx_http_wapress_var_count, NGX_HTTP_WAPRESS_CACHE_UPDATING,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wapress_fragments_stale"), NULL,
      ngx_http_wapress_var_count, NGX_HTTP_WAPRESS_CACHE_STALE,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wapress_fragments_failed"), NULL,
      ngx_http_wapress_var_count, NGX_HTTP_WAPRESS_VAR_FAILED,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wapress_fragments_missing"), NULL,
      ngx_http_wapress_var_count, NGX_HTTP_WAPRESS_VAR_MISSING,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wapress_fragments_default"), NULL,
      ngx_http_wapress_var_count, NGX_HTTP_WAPRESS_VAR_DEFAULT,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_wapress_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_wapress_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_http_wapress_page_t *
ngx_http_wapress_var_page(ngx_http_request_t *r)
{
    ngx_http_wapress_page_t  *page;

    page = ngx_http_get_module_ctx(r, ngx_http_wapress_module);

    if (page == NULL || page->conf == NULL || page->conf->fragments == NULL) {
        return NULL;
    }

    return page;
}


static ngx_int_t
ngx_http_wapress_var_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_uint_t               i, status;
    ngx_http_wapress_page_t  *page;

    page = ngx_http_wapress_var_page(r);

    if (page == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    status = NGX_HTTP_WAPRESS_CACHE_NONE;

    for (i = 0; i < page->conf->fragments->nelts; i++) {
        status = ngx_max(status, page->results[i].cache);
    }

    return ngx_http_wapress_var_set_status(v, status);
}


static ngx_int_t
ngx_http_wapress_var_fragment_status(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    ngx_str_t                     s;
    ngx_uint_t                    i, status;
    ngx_http_wapress_page_t       *page;
    ngx_http_wapress_fragment_t  *frag;

    page = ngx_http_wapress_var_page(r);

    if (page == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s.data = name->data + sizeof("wapress_cache_status_") - 1;
    s.len = name->len - (sizeof("wapress_cache_status_") - 1);

    frag = page->conf->fragments->elts;

    for (i = 0; i < page->conf->fragments->nelts; i++) {
        if (frag[i].name.len == s.len
            && ngx_strncasecmp(frag[i].name.data, s.data, s.len) == 0)
        {
            break;
        }
    }

    if (i == page->conf->fragments->nelts) {
        v->not_found = 1;
        return NGX_OK;
    }

    status = page->results[i].cache;

    return ngx_http_wapress_var_set_status(v, status);
}


static ngx_int_t
ngx_http_wapress_var_count(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                       *p;
    ngx_uint_t                    i, n;
    ngx_http_wapress_page_t      *page;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;

    page = ngx_http_wapress_var_page(r);

    if (page == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    n = 0;

    frag = page->conf->fragments->elts;

    for (i = 0; i < page->conf->fragments->nelts; i++) {
        res = &page->results[i];

        switch (data) {

        case NGX_HTTP_WAPRESS_VAR_FAILED:
            n += (res->state == NGX_HTTP_WAPRESS_FAILED);
            break;

        case NGX_HTTP_WAPRESS_VAR_MISSING:
            n += (res->state == NGX_HTTP_WAPRESS_MISSING
                  && !frag[i].required);
            break;

        case NGX_HTTP_WAPRESS_VAR_DEFAULT:
            n += ngx_http_wapress_stats_defaulted(&frag[i], res);
            break;

        default: /* a cache status */
            n += (res->cache == data);
        }
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%ui", n) - p;
    v->data = p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_wapress_var_set_status(ngx_http_variable_value_t *v,
    ngx_uint_t status)
{
    if (status == NGX_HTTP_WAPRESS_CACHE_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ngx_http_wapress_cache_status[status].len;
    v->data = ngx_http_wapress_cache_status[status].data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
