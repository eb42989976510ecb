
/*
 * ngx_http_wapress_redis_shim.c: TEMPORARY.  The command API of
 * ngx_http_wapress_redis_shim.h over ngx_http_wapress_redis_get(), until
 * the Redis layer has its own; hiredis types appear only here and in the
 * Redis layer.  A command is ngx_alloc'd and freed when hiredis calls
 * back (exactly once); a cancelled one only forgets its handler.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_shim.h"


struct ngx_http_wapress_redis_cmd_s {
    ngx_http_wapress_redis_handler_pt   handler;
    void                               *data;
    size_t                              max_size;
    ngx_uint_t                          cancelled;
};


static void ngx_http_wapress_redis_shim_reply(redisAsyncContext *ac,
    void *rep, void *privdata);
static void ngx_http_wapress_redis_shim_convert(redisReply *r,
    ngx_http_wapress_redis_reply_t *reply, ngx_pool_t *pool);


ngx_http_wapress_redis_cmd_t *
ngx_http_wapress_redis_send(ngx_http_wapress_redis_server_t *srv,
    ngx_str_t *argv, ngx_uint_t argc, size_t max_size,
    ngx_msec_t connect_timeout, ngx_http_wapress_redis_handler_pt handler,
    void *data, ngx_log_t *log, const char **err)
{
    size_t                         len;
    u_char                        *buf, *p;
    ngx_uint_t                     i;
    redisAsyncContext             *ac;
    ngx_http_wapress_redis_cmd_t  *cmd;

    ac = ngx_http_wapress_redis_get(srv, connect_timeout, log, err);
    if (ac == NULL) {
        return NULL;
    }

    len = 1 + NGX_INT_T_LEN + 2;

    for (i = 0; i < argc; i++) {
        len += 1 + NGX_SIZE_T_LEN + 2 + argv[i].len + 2;
    }

    cmd = ngx_alloc(sizeof(ngx_http_wapress_redis_cmd_t) + len, log);
    if (cmd == NULL) {
        *err = "no memory";
        return NULL;
    }

    cmd->handler = handler;
    cmd->data = data;
    cmd->max_size = max_size;
    cmd->cancelled = 0;

    buf = (u_char *) &cmd[1];
    p = ngx_sprintf(buf, "*%ui\r\n", argc);

    for (i = 0; i < argc; i++) {
        p = ngx_sprintf(p, "$%uz\r\n", argv[i].len);
        p = ngx_cpymem(p, argv[i].data, argv[i].len);
        *p++ = CR; *p++ = LF;
    }

    if (redisAsyncFormattedCommand(ac, ngx_http_wapress_redis_shim_reply,
                                   cmd, (char *) buf, p - buf)
        != REDIS_OK)
    {
        ngx_free(cmd);
        *err = "the Redis connection is closing";
        return NULL;
    }

    return cmd;
}


void
ngx_http_wapress_redis_cancel(ngx_http_wapress_redis_cmd_t *cmd)
{
    cmd->cancelled = 1;
}


static void
ngx_http_wapress_redis_shim_reply(redisAsyncContext *ac, void *rep,
    void *privdata)
{
    ngx_http_wapress_redis_cmd_t *cmd = privdata;

    redisReply                      *r;
    ngx_pool_t                      *pool;
    ngx_http_wapress_redis_reply_t   reply;
    static u_char                    text[NGX_MAX_ERROR_STR];

    r = rep;

    if (cmd->cancelled) {
        ngx_free(cmd);
        return;
    }

    ngx_memzero(&reply, sizeof(reply));
    pool = NULL;

    if (r == NULL) {
        reply.type = NGX_HTTP_WAPRESS_REDIS_FAILED;
        reply.failure = NGX_HTTP_WAPRESS_REDIS_LOST;
        reply.str.data = text;
        reply.str.len = ngx_snprintf(text, sizeof(text), "%s",
                                     ac->err ? ac->errstr : "closed")
                        - text;

    } else if (r->type == REDIS_REPLY_STRING && cmd->max_size
               && r->len > cmd->max_size)
    {
        reply.type = NGX_HTTP_WAPRESS_REDIS_FAILED;
        reply.failure = NGX_HTTP_WAPRESS_REDIS_TOO_LARGE;
        reply.str.data = text;
        reply.str.len = ngx_snprintf(text, sizeof(text),
                                     "value of %uz bytes", (size_t) r->len)
                        - text;

    } else {
        if (r->type == REDIS_REPLY_ARRAY) {
            pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
        }

        ngx_http_wapress_redis_shim_convert(r, &reply, pool);
    }

    cmd->handler(&reply, cmd->data);

    if (pool) {
        ngx_destroy_pool(pool);
    }

    ngx_free(cmd);
}


static void
ngx_http_wapress_redis_shim_convert(redisReply *r,
    ngx_http_wapress_redis_reply_t *reply, ngx_pool_t *pool)
{
    size_t  i;

    reply->str.data = (u_char *) r->str;
    reply->str.len = r->str ? r->len : 0;

    switch (r->type) {

    case REDIS_REPLY_STRING:
        reply->type = NGX_HTTP_WAPRESS_REDIS_STRING;
        break;

    case REDIS_REPLY_NIL:
        reply->type = NGX_HTTP_WAPRESS_REDIS_NIL;
        break;

    case REDIS_REPLY_ERROR:
        reply->type = NGX_HTTP_WAPRESS_REDIS_ERROR;
        break;

    case REDIS_REPLY_INTEGER:
        reply->type = NGX_HTTP_WAPRESS_REDIS_INTEGER;
        reply->integer = r->integer;
        break;

    case REDIS_REPLY_ARRAY:
        reply->type = NGX_HTTP_WAPRESS_REDIS_ARRAY;

        if (pool == NULL || r->elements == 0) {
            break;
        }

        reply->elements = ngx_pcalloc(pool, r->elements
                                    * sizeof(ngx_http_wapress_redis_reply_t));
        if (reply->elements == NULL) {
            break;
        }

        reply->nelements = r->elements;

        for (i = 0; i < r->elements; i++) {
            ngx_http_wapress_redis_shim_convert(r->element[i],
                                                &reply->elements[i], pool);
        }

        break;

    default:
        reply->type = NGX_HTTP_WAPRESS_REDIS_OTHER;
        break;
    }
}
