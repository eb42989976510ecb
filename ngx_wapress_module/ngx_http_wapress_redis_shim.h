
/*
 * ngx_http_wapress_redis_shim.h: TEMPORARY.  The Redis command API of
 * /work/wt/redis_api.h ("send this command, call me back"), until the
 * Redis layer provides it in ngx_http_wapress_redis.h; then this file
 * and its .c go away.
 */


#ifndef _NGX_HTTP_WAPRESS_REDIS_SHIM_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REDIS_SHIM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis.h"

/* reply types */
#define NGX_HTTP_WAPRESS_REDIS_STRING        0   /* str: the bytes */
#define NGX_HTTP_WAPRESS_REDIS_NIL           1
#define NGX_HTTP_WAPRESS_REDIS_ERROR         2   /* str: Redis's error text */
#define NGX_HTTP_WAPRESS_REDIS_FAILED        3   /* no reply; str: why */
#define NGX_HTTP_WAPRESS_REDIS_INTEGER       4   /* integer */
#define NGX_HTTP_WAPRESS_REDIS_ARRAY         5   /* elements */
#define NGX_HTTP_WAPRESS_REDIS_OTHER         6   /* status and the rest */

/* why a command FAILED (reply->failure) */
#define NGX_HTTP_WAPRESS_REDIS_LOST          1   /* connection lost/closed */
#define NGX_HTTP_WAPRESS_REDIS_TOO_LARGE     2   /* reply over max_size */
#define NGX_HTTP_WAPRESS_REDIS_DROPPED       3   /* queue full, or the
                                                    connection gave up */


typedef struct ngx_http_wapress_redis_cmd_s    ngx_http_wapress_redis_cmd_t;
typedef struct ngx_http_wapress_redis_reply_s  ngx_http_wapress_redis_reply_t;


/*
 * A reply as the Redis layer hands it over.  Everything it points to is
 * valid only while the handler runs: copy what must be kept.
 */
struct ngx_http_wapress_redis_reply_s {
    ngx_uint_t                       type;       /* _STRING ... _OTHER */
    ngx_uint_t                       failure;    /* of _FAILED */
    ngx_str_t                        str;        /* _STRING, _ERROR, _FAILED */
    int64_t                          integer;    /* _INTEGER */
    ngx_http_wapress_redis_reply_t  *elements;   /* _ARRAY */
    ngx_uint_t                       nelements;
};


typedef void (*ngx_http_wapress_redis_handler_pt)(
    ngx_http_wapress_redis_reply_t *reply, void *data);


/*
 * Queues one command, argv[0 .. argc - 1] (argv[1], if any, is the key
 * that routes it), written as RESP bulk strings: length-prefixed, binary
 * safe, never spliced.  The bytes are copied: argv may be freed at once.
 * Commands queued during one event-loop turn, by any request, leave in
 * one write.  A string reply longer than max_size (0: no limit) is not
 * read into memory: the command FAILS with _TOO_LARGE.
 *
 * Returns the command: its handler is then called exactly once, later,
 * from the event loop (never from inside this call), unless the caller
 * cancels it first.  Returns NULL if the server cannot be used now (no
 * connection and the backoff forbids one, the worker is exiting, no
 * memory): *err then says why in a NUL-terminated text valid until the
 * next call for this server, e.g. "connect failed: Connection refused,
 * next attempt in 400ms"; the handler is never called.
 */
ngx_http_wapress_redis_cmd_t *ngx_http_wapress_redis_send(
    ngx_http_wapress_redis_server_t *srv, ngx_str_t *argv, ngx_uint_t argc,
    size_t max_size, ngx_msec_t connect_timeout,
    ngx_http_wapress_redis_handler_pt handler, void *data, ngx_log_t *log,
    const char **err);

/*
 * The caller no longer wants the reply (its page gave up or is freed):
 * the handler will never be called, so "data" may be freed right after.
 * A command not yet written is not written; one in flight is forgotten
 * when its reply comes.  Call at most once, and never after the handler
 * has run (the command is freed then).
 */
void ngx_http_wapress_redis_cancel(ngx_http_wapress_redis_cmd_t *cmd);


#endif /* _NGX_HTTP_WAPRESS_REDIS_SHIM_H_INCLUDED_ */
