
/*
 * ngx_http_wapress_redis_int.h: what the Redis layer's own files share
 * (ngx_http_wapress_redis*.c), hiredis types included.  Nothing outside
 * the layer includes it: the rest of the module sees
 * ngx_http_wapress_redis.h only.
 */


#ifndef _NGX_HTTP_WAPRESS_REDIS_INT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REDIS_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_wapress_redis.h"


/*
 * Returns the worker's connection context for "srv", connected or still
 * connecting (commands may be queued on it at once: hiredis writes them
 * after AUTH and SELECT once connected), starting a connection if there
 * is none and the backoff allows.  Returns NULL when the server cannot
 * be used now; *err then says why (a NUL-terminated text, valid until
 * the next call for this server, e.g. "connect failed: Connection
 * refused, next attempt in 400ms").  Commands are written in one batch per event loop
 * turn (the write is a posted event).
 */
redisAsyncContext *ngx_http_wapress_redis_get(
    ngx_http_wapress_redis_server_t *srv, ngx_msec_t connect_timeout,
    ngx_log_t *log, const char **err);



#endif /* _NGX_HTTP_WAPRESS_REDIS_INT_H_INCLUDED_ */
