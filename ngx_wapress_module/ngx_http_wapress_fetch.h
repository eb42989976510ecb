
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
 * Looks up fragment i of the location (its key and field evaluated by
 * the caller) on the location's Redis server.  Lookups of the worker
 * that ask the same server for the same key (and field) while one is in
 * flight share it: one command, every waiter's handler gets the reply.
 * NGX_OK: "handler" will be called once, later, unless _cancel() comes
 * first; *asked is when the command was sent.  NGX_DECLINED: not sent,
 * *err says why.
 */
ngx_int_t ngx_http_wapress_fetch_send(ngx_http_wapress_wait_t *w,
    ngx_http_wapress_loc_conf_t *wlcf, ngx_uint_t i, ngx_str_t *key,
    ngx_str_t *field, ngx_http_wapress_redis_handler_pt handler, void *data,
    ngx_msec_t *asked, ngx_log_t *log, const char **err);

/* the waiter wants no reply; the command goes when no one waits */
void ngx_http_wapress_fetch_cancel(ngx_http_wapress_wait_t *w);

/*
 * The reply to a lookup of fragment i: a value is rendered into pool
 * (*value; with hash, *hash its ETag hash, with memo, *memo whether its
 * rendering came from the memo: see ngx_http_wapress_fragment_render());
 * otherwise err (NUL-terminated,
 * at most len bytes) says what went wrong for _BAD and _FAILED.
 */
ngx_uint_t ngx_http_wapress_fetch_value(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_http_wapress_redis_reply_t *reply, ngx_pool_t *pool,
    ngx_str_t *value, uint64_t *hash, ngx_uint_t *memo, u_char *err,
    size_t len);


#endif /* _NGX_HTTP_WAPRESS_FETCH_H_INCLUDED_ */
