
/*
 * ngx_http_wapress_redis_cmd.c: "send this command, call me back", the
 * Redis layer's interface to the rest of the module.  A command is
 * written in RESP here (length-prefixed bulk strings, never spliced) and
 * handed to the worker's connection; its reply is turned into an
 * ngx_http_wapress_redis_reply_t, so that no hiredis type leaves the
 * layer.
 *
 * A command belongs to the layer from _send() until its reply (or the
 * connection's end: hiredis calls every callback exactly once, with a
 * NULL reply if the connection drops) and is freed here, exactly once.
 * A caller that stops waiting cancels it: its handler is then never
 * called, so the caller's data may live in a request's pool.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"


/* elements of an array reply converted on the stack */
#define NGX_HTTP_WAPRESS_REDIS_CMD_ELTS      16


struct ngx_http_wapress_redis_cmd_s {
    ngx_http_wapress_redis_handler_pt   handler;
    void                               *data;
    size_t                              max_size;
    size_t                              len;        /* of the RESP bytes */
    u_char                             *resp;       /* follow the struct */
    unsigned                            cancelled:1;
};


static u_char *ngx_http_wapress_redis_cmd_arg(u_char *p, ngx_str_t *arg);
static void ngx_http_wapress_redis_cmd_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_wapress_redis_cmd_array(
    ngx_http_wapress_redis_cmd_t *cmd, redisReply *reply);
static void ngx_http_wapress_redis_cmd_convert(
    ngx_http_wapress_redis_reply_t *out, redisReply *reply,
    size_t max_size);


ngx_http_wapress_redis_cmd_t *
ngx_http_wapress_redis_send(ngx_http_wapress_redis_server_t *srv,
    ngx_str_t *argv, ngx_uint_t argc, size_t max_size,
    ngx_msec_t connect_timeout, ngx_http_wapress_redis_handler_pt handler,
    void *data, ngx_log_t *log, const char **err)
{
    size_t                         len;
    u_char                        *p;
    ngx_uint_t                     i;
    redisAsyncContext             *ac;
    ngx_http_wapress_redis_cmd_t  *cmd;

    ac = ngx_http_wapress_redis_get(srv, connect_timeout, log, err);
    if (ac == NULL) {
        return NULL;
    }

    len = 1 + NGX_SIZE_T_LEN + 2;

    for (i = 0; i < argc; i++) {
        len += 1 + NGX_SIZE_T_LEN + 2 + argv[i].len + 2;
    }

    cmd = ngx_alloc(sizeof(ngx_http_wapress_redis_cmd_t) + len, log);
    if (cmd == NULL) {
        *err = "out of memory";
        return NULL;
    }

    cmd->handler = handler;
    cmd->data = data;
    cmd->max_size = max_size;
    cmd->cancelled = 0;
    cmd->resp = (u_char *) &cmd[1];

    p = ngx_sprintf(cmd->resp, "*%ui\r\n", argc);

    for (i = 0; i < argc; i++) {
        p = ngx_http_wapress_redis_cmd_arg(p, &argv[i]);
    }

    cmd->len = p - cmd->resp;

    if (redisAsyncFormattedCommand(ac, ngx_http_wapress_redis_cmd_reply, cmd,
                                   (char *) cmd->resp, cmd->len)
        != REDIS_OK)
    {
        ngx_free(cmd);
        *err = "the connection is closing";
        return NULL;
    }

    return cmd;
}


/*
 * A RESP bulk string: "$" length CRLF bytes CRLF; the length is written
 * without printf, which costs more than the rest of a lookup.
 */

static u_char *
ngx_http_wapress_redis_cmd_arg(u_char *p, ngx_str_t *arg)
{
    size_t   n;
    u_char  *q, digits[NGX_SIZE_T_LEN];

    q = digits + NGX_SIZE_T_LEN;
    n = arg->len;

    do {
        *--q = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    *p++ = '$';
    p = ngx_cpymem(p, q, digits + NGX_SIZE_T_LEN - q);
    *p++ = CR; *p++ = LF;
    p = ngx_cpymem(p, arg->data, arg->len);
    *p++ = CR; *p++ = LF;

    return p;
}


void
ngx_http_wapress_redis_cancel(ngx_http_wapress_redis_cmd_t *cmd)
{
    cmd->cancelled = 1;
}


static void
ngx_http_wapress_redis_cmd_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_wapress_redis_cmd_t *cmd = privdata;

    u_char                          *p;
    redisReply                      *reply;
    ngx_http_wapress_redis_reply_t   out;
    u_char                           text[NGX_MAX_ERROR_STR];

    reply = r;

    if (cmd->cancelled) {
        ngx_free(cmd);
        return;
    }

    if (reply == NULL) {
        p = ngx_snprintf(text, sizeof(text), "Redis connection lost: %s",
                         ac->err ? ac->errstr : "closed");

        ngx_memzero(&out, sizeof(ngx_http_wapress_redis_reply_t));
        out.type = NGX_HTTP_WAPRESS_REDIS_FAILED;
        out.failure = NGX_HTTP_WAPRESS_REDIS_LOST;
        out.str.data = text;
        out.str.len = p - text;

        cmd->handler(&out, cmd->data);
        ngx_free(cmd);
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY) {
        ngx_http_wapress_redis_cmd_array(cmd, reply);
        ngx_free(cmd);
        return;
    }

    ngx_http_wapress_redis_cmd_convert(&out, reply, cmd->max_size);

    cmd->handler(&out, cmd->data);
    ngx_free(cmd);
}


/* an array reply: each element converted, then one call of the handler */

static void
ngx_http_wapress_redis_cmd_array(ngx_http_wapress_redis_cmd_t *cmd,
    redisReply *reply)
{
    size_t                           i, n;
    ngx_http_wapress_redis_reply_t  *e, out;
    ngx_http_wapress_redis_reply_t   elts[NGX_HTTP_WAPRESS_REDIS_CMD_ELTS];

    n = reply->elements;

    if (n <= NGX_HTTP_WAPRESS_REDIS_CMD_ELTS) {
        e = elts;

    } else {
        e = ngx_alloc(n * sizeof(ngx_http_wapress_redis_reply_t),
                      ngx_cycle->log);
    }

    ngx_memzero(&out, sizeof(ngx_http_wapress_redis_reply_t));

    if (e == NULL) {
        out.type = NGX_HTTP_WAPRESS_REDIS_FAILED;
        out.failure = NGX_HTTP_WAPRESS_REDIS_DROPPED;
        ngx_str_set(&out.str, "out of memory");
        cmd->handler(&out, cmd->data);
        return;
    }

    out.type = NGX_HTTP_WAPRESS_REDIS_ARRAY;
    out.elements = e;
    out.nelements = n;

    for (i = 0; i < n; i++) {
        ngx_http_wapress_redis_cmd_convert(&e[i], reply->element[i],
                                           cmd->max_size);
    }

    cmd->handler(&out, cmd->data);

    if (e != elts) {
        ngx_free(e);
    }
}


/* one reply (nested arrays are not looked into: OTHER) */

static void
ngx_http_wapress_redis_cmd_convert(ngx_http_wapress_redis_reply_t *out,
    redisReply *reply, size_t max_size)
{
    ngx_memzero(out, sizeof(ngx_http_wapress_redis_reply_t));

    switch (reply->type) {

    case REDIS_REPLY_STRING:

        if (max_size && (size_t) reply->len > max_size) {
            out->type = NGX_HTTP_WAPRESS_REDIS_FAILED;
            out->failure = NGX_HTTP_WAPRESS_REDIS_TOO_LARGE;
            out->integer = (int64_t) reply->len;
            ngx_str_set(&out->str, "reply too large");
            return;
        }

        out->type = NGX_HTTP_WAPRESS_REDIS_STRING;
        out->str.data = (u_char *) reply->str;
        out->str.len = reply->len;
        return;

    case REDIS_REPLY_NIL:
        out->type = NGX_HTTP_WAPRESS_REDIS_NIL;
        return;

    case REDIS_REPLY_ERROR:
        out->type = NGX_HTTP_WAPRESS_REDIS_ERROR;
        out->str.data = (u_char *) reply->str;
        out->str.len = reply->len;
        return;

    case REDIS_REPLY_INTEGER:
        out->type = NGX_HTTP_WAPRESS_REDIS_INTEGER;
        out->integer = (int64_t) reply->integer;
        return;

    default:
        out->type = NGX_HTTP_WAPRESS_REDIS_OTHER;
        out->integer = reply->type;

        if (reply->type == REDIS_REPLY_STATUS) {
            out->str.data = (u_char *) reply->str;
            out->str.len = reply->len;
        }

        return;
    }
}
