
/*
 * ngx_http_wapress_fetch.c: one fragment's lookup, sent through the Redis
 * layer's command API, and the one classifier of its replies.  The page
 * (ngx_http_wapress_page.c) and the cache's stale-while-revalidate
 * refresh (ngx_http_wapress_fresh.c) both ask and read through here.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_fetch.h"
#include "ngx_http_wapress_fragment.h"


ngx_http_wapress_redis_cmd_t *
ngx_http_wapress_fetch_send(ngx_http_wapress_loc_conf_t *wlcf, ngx_uint_t i,
    ngx_str_t *key, ngx_str_t *field,
    ngx_http_wapress_redis_handler_pt handler, void *data, ngx_log_t *log,
    const char **err)
{
    ngx_str_t                     argv[3];
    ngx_uint_t                    argc;
    ngx_http_wapress_fragment_t  *frag;

    frag = wlcf->fragments->elts;

    argv[1] = *key;

    if (frag[i].field == NULL) {
        ngx_str_set(&argv[0], "GET");
        argc = 2;

    } else {
        ngx_str_set(&argv[0], "HGET");
        argv[2] = *field;
        argc = 3;
    }

    return ngx_http_wapress_redis_send(wlcf->redis, argv, argc,
                                       wlcf->max_size, wlcf->connect_timeout,
                                       handler, data, log, err);
}


ngx_uint_t
ngx_http_wapress_fetch_value(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_http_wapress_redis_reply_t *reply, ngx_pool_t *pool,
    ngx_str_t *value, u_char *err, size_t len)
{
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_http_wapress_fragment_t  *frag;

    frag = wlcf->fragments->elts;

    switch (reply->type) {

    case NGX_HTTP_WAPRESS_REDIS_STRING:

        rc = ngx_http_wapress_fragment_render(pool, &frag[i],
                                              reply->str.data,
                                              reply->str.len, value, err,
                                              len);
        if (rc == NGX_OK) {
            return NGX_HTTP_WAPRESS_FETCH_VALUE;
        }

        if (rc == NGX_ERROR) {
            p = ngx_snprintf(err, len - 1, "no memory");
            *p = '\0';
        }

        return NGX_HTTP_WAPRESS_FETCH_BAD;

    case NGX_HTTP_WAPRESS_REDIS_NIL:
        return NGX_HTTP_WAPRESS_FETCH_NIL;

    case NGX_HTTP_WAPRESS_REDIS_ERROR:
        p = ngx_snprintf(err, len - 1, "Redis error: %*s",
                         ngx_min(reply->str.len, 200), reply->str.data);
        *p = '\0';
        return NGX_HTTP_WAPRESS_FETCH_FAILED;

    case NGX_HTTP_WAPRESS_REDIS_FAILED:

        switch (reply->failure) {

        case NGX_HTTP_WAPRESS_REDIS_TOO_LARGE:
            /* a bad value, not a Redis failure: no stale copy */
            p = ngx_snprintf(err, len - 1, "value of %L bytes is larger "
                             "than wapress_fragment_max_size %uz",
                             reply->integer, wlcf->max_size);
            *p = '\0';
            return NGX_HTTP_WAPRESS_FETCH_BAD;

        default: /* lost, dropped: the text says it */
            p = ngx_snprintf(err, len - 1, "%V", &reply->str);
            *p = '\0';
            return NGX_HTTP_WAPRESS_FETCH_FAILED;
        }

    default:
        p = ngx_snprintf(err, len - 1, "unexpected Redis reply type %ui",
                         reply->type);
        *p = '\0';
        return NGX_HTTP_WAPRESS_FETCH_FAILED;
    }
}
