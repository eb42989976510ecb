
/*
 * ngx_http_wapress_redis_cmd.c: "send this command, call me back", the
 * Redis layer's interface to the rest of the module.  A command is
 * written in RESP here (length-prefixed bulk strings, never spliced) and
 * handed to the worker's connection; its reply is turned into an
 * ngx_http_wapress_redis_reply_t, so that no hiredis type leaves the
 * layer.
 *
 * A connection takes at most NGX_HTTP_WAPRESS_REDIS_MAX_FLIGHT (256)
 * commands at a time ("in flight": handed to hiredis, reply not read
 * yet); the others wait in our own queue (at most
 * NGX_HTTP_WAPRESS_REDIS_MAX_WAITING, 16384, then _send() refuses) and
 * are handed over as replies come.  A command cancelled while it waits
 * is never written: after a burst against a slow server, only the
 * commands in flight are left for the server to answer, not one per page
 * that gave up.
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


static ngx_int_t ngx_http_wapress_redis_cmd_write(
    ngx_http_wapress_redis_conn_t *conn, redisAsyncContext *ac,
    ngx_http_wapress_redis_cmd_t *cmd);
static u_char *ngx_http_wapress_redis_cmd_arg(u_char *p, ngx_str_t *arg);
static ngx_int_t ngx_http_wapress_redis_cmd_fallback(
    ngx_http_wapress_redis_cmd_t *cmd, redisReply *reply);
static void ngx_http_wapress_redis_cmd_asking(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_wapress_redis_cmd_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_wapress_redis_cmd_failed(
    ngx_http_wapress_redis_cmd_t *cmd, ngx_uint_t failure, u_char *why);
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
    size_t                          len;
    u_char                         *p;
    ngx_uint_t                      i, slot, replica;
    redisAsyncContext              *ac;
    ngx_http_wapress_redis_cmd_t   *cmd;
    ngx_http_wapress_redis_conn_t  *conn;

    ac = NULL;
    conn = NULL;
    slot = NGX_HTTP_WAPRESS_REDIS_NO_SLOT;
    replica = 0;

    if (srv->cluster) {
        /* the key's slot: its node's connection (or a replica's) */
        ac = ngx_http_wapress_redis_cluster_route(srv, argv, argc,
                                                  connect_timeout, log,
                                                  &conn, &slot, &replica,
                                                  err);
        if (ac == NULL) {
            return NULL;
        }

    } else if (srv->sentinel) {
        /* read=replica: a read may go to a replica's connection */
        ac = ngx_http_wapress_redis_sentinel_route(srv, argv, argc,
                                                   connect_timeout, log,
                                                   &conn);
    }

    if (ac == NULL) {
        ac = ngx_http_wapress_redis_get(srv, connect_timeout, log, err);
        if (ac == NULL) {
            return NULL;
        }

        conn = srv->conn;
    }

    replica = replica || conn->replica;

    if (conn->nwaiting >= NGX_HTTP_WAPRESS_REDIS_MAX_WAITING) {
        p = ngx_snprintf(conn->err, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "redis %V: %ui commands wait already",
                         &srv->name, conn->nwaiting);
        *p = '\0';

        *err = (const char *) conn->err;
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

    ngx_memzero(cmd, sizeof(ngx_http_wapress_redis_cmd_t));

    cmd->conn = conn;
    cmd->handler = handler;
    cmd->data = data;
    cmd->max_size = max_size;
    cmd->connect_timeout = connect_timeout;
    cmd->slot = slot;
    cmd->replica = replica;
    cmd->resp = (u_char *) &cmd[1];

    p = ngx_sprintf(cmd->resp, "*%ui\r\n", argc);

    for (i = 0; i < argc; i++) {
        p = ngx_http_wapress_redis_cmd_arg(p, &argv[i]);
    }

    cmd->len = p - cmd->resp;

    if (conn->nflight < NGX_HTTP_WAPRESS_REDIS_MAX_FLIGHT
        && ngx_queue_empty(&conn->waiting))
    {
        if (ngx_http_wapress_redis_cmd_write(conn, ac, cmd) != NGX_OK) {
            ngx_free(cmd);
            *err = "the connection is closing";
            return NULL;
        }

        return cmd;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "wapress redis %V: command waits, %ui in flight",
                   &conn->server->name, conn->nflight);

    cmd->waiting = 1;
    ngx_queue_insert_tail(&conn->waiting, &cmd->queue);
    conn->nwaiting++;

    return cmd;
}


static ngx_int_t
ngx_http_wapress_redis_cmd_write(ngx_http_wapress_redis_conn_t *conn,
    redisAsyncContext *ac, ngx_http_wapress_redis_cmd_t *cmd)
{
    if (redisAsyncFormattedCommand(ac, ngx_http_wapress_redis_cmd_reply, cmd,
                                   (char *) cmd->resp, cmd->len)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    cmd->waiting = 0;
    cmd->sent = ngx_current_msec;

    ngx_queue_insert_tail(&conn->flight, &cmd->queue);
    conn->nflight++;

    return NGX_OK;
}


ngx_int_t
ngx_http_wapress_redis_cmd_resend(ngx_http_wapress_redis_conn_t *conn,
    redisAsyncContext *ac, ngx_http_wapress_redis_cmd_t *cmd,
    ngx_uint_t asking)
{
    cmd->conn = conn;

    if (asking) {
        /* ASKING and the command must be adjacent: no waiting for it */

        if (redisAsyncCommand(ac, ngx_http_wapress_redis_cmd_asking, NULL,
                              "ASKING")
            != REDIS_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_wapress_redis_cmd_write(conn, ac, cmd);
    }

    if (conn->nflight < NGX_HTTP_WAPRESS_REDIS_MAX_FLIGHT
        && ngx_queue_empty(&conn->waiting))
    {
        return ngx_http_wapress_redis_cmd_write(conn, ac, cmd);
    }

    /* may go past MAX_WAITING by the redirected ones: bounded by them */

    cmd->waiting = 1;
    ngx_queue_insert_tail(&conn->waiting, &cmd->queue);
    conn->nwaiting++;

    return NGX_OK;
}


/* ASKING's reply: nothing to do (an error shows in the command's) */

static void
ngx_http_wapress_redis_cmd_asking(redisAsyncContext *ac, void *r,
    void *privdata)
{
}


/*
 * A read on a replica that failed (lost, dropped, or an error other than
 * a redirect) goes once to the primary: the Sentinel server's own
 * connection, or the cluster slot's primary.  NGX_OK: re-sent.
 */

static ngx_int_t
ngx_http_wapress_redis_cmd_fallback(ngx_http_wapress_redis_cmd_t *cmd,
    redisReply *reply)
{
    const char                       *err;
    redisAsyncContext                *ac;
    ngx_http_wapress_redis_conn_t    *conn;
    ngx_http_wapress_redis_server_t  *srv;

    if (!cmd->replica || cmd->fellback || cmd->too_large) {
        return NGX_DECLINED;
    }

    if (reply != NULL
        && (reply->type != REDIS_REPLY_ERROR
            || (reply->len > 6 && ngx_strncmp(reply->str, "MOVED ", 6) == 0)
            || (reply->len > 4 && ngx_strncmp(reply->str, "ASK ", 4) == 0)))
    {
        return NGX_DECLINED;
    }

    srv = cmd->conn->server;

    if (srv->parent) {
        ac = ngx_http_wapress_redis_cluster_primary(cmd, &conn);

    } else {
        ac = ngx_http_wapress_redis_get(srv, cmd->connect_timeout,
                                        ngx_cycle->log, &err);
        conn = srv->conn;
    }

    if (ac == NULL || conn == cmd->conn) {
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "wapress redis %V: a read failed on a replica (%s), "
                   "sent to the primary", &srv->name,
                   reply ? "error" : "no reply");

    cmd->replica = 0;
    cmd->fellback = 1;

    if (ngx_http_wapress_redis_cmd_resend(conn, ac, cmd, 0) != NGX_OK) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* a place in flight is free: the commands that wait go, oldest first */

void
ngx_http_wapress_redis_cmd_flush(ngx_http_wapress_redis_conn_t *conn)
{
    ngx_queue_t                   *q;
    redisAsyncContext             *ac;
    ngx_http_wapress_redis_cmd_t  *cmd;

    ac = conn->ac;

    if (ac == NULL || (ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING))) {
        /* the waiting commands fail when the context's end is done */
        return;
    }

    while (conn->nflight < NGX_HTTP_WAPRESS_REDIS_MAX_FLIGHT
           && !ngx_queue_empty(&conn->waiting))
    {
        q = ngx_queue_head(&conn->waiting);
        cmd = ngx_queue_data(q, ngx_http_wapress_redis_cmd_t, queue);

        ngx_queue_remove(q);
        conn->nwaiting--;
        cmd->waiting = 0;

        if (ngx_http_wapress_redis_cmd_write(conn, ac, cmd) != NGX_OK) {
            ngx_http_wapress_redis_cmd_failed(cmd,
                                              NGX_HTTP_WAPRESS_REDIS_LOST,
                                              (u_char *) "the connection "
                                              "is closing");
        }
    }
}


/* the connection is gone: the waiting commands fail, oldest first */

void
ngx_http_wapress_redis_cmd_fail_waiting(ngx_http_wapress_redis_conn_t *conn,
    ngx_uint_t failure, u_char *why)
{
    ngx_queue_t                    *q, waiting;
    ngx_http_wapress_redis_cmd_t   *cmd;
    u_char                          text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    if (ngx_queue_empty(&conn->waiting)) {
        return;
    }

    /* a handler may send again: those commands are not in this list */

    ngx_cpystrn(text, why, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN);

    /*
     * they stay counted in nwaiting, and cancellable, until their turn:
     * a handler may cancel another one of them
     */

    waiting = conn->waiting;
    waiting.next->prev = &waiting;
    waiting.prev->next = &waiting;

    ngx_queue_init(&conn->waiting);

    while (!ngx_queue_empty(&waiting)) {
        q = ngx_queue_head(&waiting);
        cmd = ngx_queue_data(q, ngx_http_wapress_redis_cmd_t, queue);

        ngx_queue_remove(q);
        conn->nwaiting--;
        cmd->waiting = 0;

        ngx_http_wapress_redis_cmd_failed(cmd, failure, text);
    }
}


/* the limit of the reply that hiredis reads now: the oldest command's */

size_t
ngx_http_wapress_redis_cmd_limit(ngx_http_wapress_redis_conn_t *conn,
    redisAsyncContext *ac)
{
    redisCallback                 *cb;
    ngx_http_wapress_redis_cmd_t  *cmd;

    cb = ac->replies.head;

    if (cb != NULL && cb->fn == ngx_http_wapress_redis_cmd_reply) {
        cmd = cb->privdata;
        return cmd->max_size;
    }

    /* not a command of ours: the largest limit of the server's users */

    return conn->server->max_reply;
}


void
ngx_http_wapress_redis_cmd_too_large(redisAsyncContext *ac, size_t len)
{
    redisCallback                 *cb;
    ngx_http_wapress_redis_cmd_t  *cmd;

    cb = ac->replies.head;

    if (cb != NULL && cb->fn == ngx_http_wapress_redis_cmd_reply) {
        cmd = cb->privdata;
        cmd->too_large = len;
    }
}


ngx_msec_t
ngx_http_wapress_redis_cmd_oldest(ngx_http_wapress_redis_conn_t *conn)
{
    ngx_http_wapress_redis_cmd_t  *cmd;

    if (ngx_queue_empty(&conn->flight)) {
        return 0;
    }

    cmd = ngx_queue_data(ngx_queue_head(&conn->flight),
                         ngx_http_wapress_redis_cmd_t, queue);

    return cmd->sent ? cmd->sent : 1;
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
    /* in flight, or its handler runs: freed when that is over */

    if (cmd->waiting) {
        /* never written: forgotten at once */
        ngx_queue_remove(&cmd->queue);
        cmd->conn->nwaiting--;
        ngx_free(cmd);
        return;
    }

    cmd->cancelled = 1;
}


static void
ngx_http_wapress_redis_cmd_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_wapress_redis_cmd_t *cmd = privdata;

    u_char                          *p;
    redisReply                      *reply;
    ngx_http_wapress_redis_conn_t   *conn;
    ngx_http_wapress_redis_reply_t   out;
    u_char                           text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    reply = r;
    conn = cmd->conn;

    ngx_queue_remove(&cmd->queue);
    conn->nflight--;

    if (cmd->cancelled) {
        ngx_free(cmd);
        goto flush;
    }

    /* a cluster's redirect, or a replica's failed read: sent again */

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR
        && conn->server->parent != NULL
        && ngx_http_wapress_redis_cluster_redirect(cmd, reply) == NGX_OK)
    {
        goto flush;
    }

    if (cmd->replica
        && ngx_http_wapress_redis_cmd_fallback(cmd, reply) == NGX_OK)
    {
        goto flush;
    }

    if (reply == NULL && cmd->too_large) {
        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN,
                         "reply of %uz bytes is larger than %uz",
                         cmd->too_large,
                         cmd->max_size ? cmd->max_size
                                       : conn->server->max_reply);

        ngx_memzero(&out, sizeof(ngx_http_wapress_redis_reply_t));
        out.type = NGX_HTTP_WAPRESS_REDIS_FAILED;
        out.failure = NGX_HTTP_WAPRESS_REDIS_TOO_LARGE;
        out.integer = (int64_t) cmd->too_large;
        out.str.data = text;
        out.str.len = p - text;

        cmd->handler(&out, cmd->data);
        ngx_free(cmd);
        goto flush;
    }

    if (reply == NULL) {
        /* a copy: conn->why may change while the handler runs */
        ngx_cpystrn(text, ngx_http_wapress_redis_why(conn, ac),
                    NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN);

        ngx_http_wapress_redis_cmd_failed(cmd, NGX_HTTP_WAPRESS_REDIS_LOST,
                                          text);
        goto flush;
    }

    if (reply->type == REDIS_REPLY_ARRAY) {
        ngx_http_wapress_redis_cmd_array(cmd, reply);
        ngx_free(cmd);
        goto flush;
    }

    ngx_http_wapress_redis_cmd_convert(&out, reply, cmd->max_size);

    cmd->handler(&out, cmd->data);
    ngx_free(cmd);

flush:

    ngx_http_wapress_redis_cmd_flush(conn);
}


/* no reply: the handler learns why, the command is freed */

static void
ngx_http_wapress_redis_cmd_failed(ngx_http_wapress_redis_cmd_t *cmd,
    ngx_uint_t failure, u_char *why)
{
    ngx_http_wapress_redis_reply_t  out;

    ngx_memzero(&out, sizeof(ngx_http_wapress_redis_reply_t));
    out.type = NGX_HTTP_WAPRESS_REDIS_FAILED;
    out.failure = failure;
    out.str.data = why;
    out.str.len = ngx_strlen(why);

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
