
/*
 * ngx_http_wapress_fetch.h: one fragment's lookup in Redis (GET, or HGET
 * with field=) and what its reply means, for the page's lookups and the
 * cache's refreshes alike.
 */


#ifndef _NGX_HTTP_WAPRESS_FETCH_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FETCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/* what a reply says (ngx_http_wapress_fetch_value) */
#define NGX_HTTP_WAPRESS_FETCH_VALUE     0   /* rendered into *value */
#define NGX_HTTP_WAPRESS_FETCH_NIL       1   /* no such key or field */
#define NGX_HTTP_WAPRESS_FETCH_BAD       2   /* a value that cannot be
                                                used: no stale copy */
#define NGX_HTTP_WAPRESS_FETCH_FAILED    3   /* Redis did not answer: a
                                                stale copy may stand in */


/*
 * Sends the lookup of fragment i of the location (its key and field
 * evaluated by the caller) on the location's Redis server; "handler"
 * gets the reply, later, unless the command is cancelled.  NULL: not
 * sent, *err says why.
 */
ngx_http_wapress_redis_cmd_t *ngx_http_wapress_fetch_send(
    ngx_http_wapress_loc_conf_t *wlcf, ngx_uint_t i, ngx_str_t *key,
    ngx_str_t *field, ngx_http_wapress_redis_handler_pt handler, void *data,
    ngx_log_t *log, const char **err);

/*
 * The reply to a lookup of fragment i: a value is rendered into pool
 * (*value); otherwise err (NUL-terminated, at most len bytes) says what
 * went wrong for _BAD and _FAILED.
 */
ngx_uint_t ngx_http_wapress_fetch_value(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_http_wapress_redis_reply_t *reply, ngx_pool_t *pool,
    ngx_str_t *value, u_char *err, size_t len);


#endif /* _NGX_HTTP_WAPRESS_FETCH_H_INCLUDED_ */
