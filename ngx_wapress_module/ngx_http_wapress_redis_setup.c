
/*
 * ngx_http_wapress_redis_setup.c: a new connection's handshake.  Once
 * connect(2) is under way the setup commands are queued (AUTH and
 * SELECT as configured, ROLE for a node the Sentinels named, READONLY
 * for a Redis Cluster replica, or else a PING); the connection counts as
 * healthy ("ready") only when every one of them came back right, and a
 * setup that fails ends it (_redis.c's drop: the backoff).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"


static void ngx_http_wapress_redis_setup_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_wapress_redis_ready(ngx_http_wapress_redis_link_t *link);


/*
 * AUTH and SELECT as configured, or else a PING: a connection is healthy
 * only once a reply of the server came back right.  A server that
 * accepts and then drops the connection (Redis at maxclients answers
 * "-ERR max number of clients reached" and closes) must not look healthy,
 * or every page would reconnect at once.
 */

void
ngx_http_wapress_redis_setup(ngx_http_wapress_redis_link_t *link)
{
    size_t                            argvlen[3];
    u_char                           *p;
    const char                       *argv[3];
    ngx_http_wapress_redis_server_t  *srv;
    u_char                            db[NGX_INT_T_LEN];

    srv = link->conn->server;

    if (srv->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = sizeof("AUTH") - 1;

        if (srv->user.len) {
            argv[1] = (const char *) srv->user.data;
            argvlen[1] = srv->user.len;
            argv[2] = (const char *) srv->password.data;
            argvlen[2] = srv->password.len;

        } else {
            argv[1] = (const char *) srv->password.data;
            argvlen[1] = srv->password.len;
        }

        if (redisAsyncCommandArgv(link->ac,
                                  ngx_http_wapress_redis_setup_reply,
                                  "AUTH", srv->user.len ? 3 : 2,
                                  argv, argvlen)
            == REDIS_OK)
        {
            link->setup++;
        }
    }

    if (srv->db) {
        p = ngx_sprintf(db, "%i", srv->db);

        argv[0] = "SELECT";
        argvlen[0] = sizeof("SELECT") - 1;
        argv[1] = (const char *) db;
        argvlen[1] = p - db;

        if (redisAsyncCommandArgv(link->ac,
                                  ngx_http_wapress_redis_setup_reply,
                                  "SELECT", 2, argv, argvlen)
            == REDIS_OK)
        {
            link->setup++;
        }
    }

    if (srv->sentinel) {
        /* a node the Sentinels named must still be what they said */
        argv[0] = "ROLE";
        argvlen[0] = sizeof("ROLE") - 1;

        if (redisAsyncCommandArgv(link->ac,
                                  ngx_http_wapress_redis_setup_reply,
                                  "ROLE", 1, argv, argvlen)
            == REDIS_OK)
        {
            link->setup++;
        }
    }

    if (srv->readonly) {
        /* a cluster's replica serves reads (harmless on a primary) */
        argv[0] = "READONLY";
        argvlen[0] = sizeof("READONLY") - 1;

        if (redisAsyncCommandArgv(link->ac,
                                  ngx_http_wapress_redis_setup_reply,
                                  "READONLY", 1, argv, argvlen)
            == REDIS_OK)
        {
            link->setup++;
        }
    }

    if (link->setup == 0) {
        argv[0] = "PING";
        argvlen[0] = sizeof("PING") - 1;

        if (redisAsyncCommandArgv(link->ac,
                                  ngx_http_wapress_redis_setup_reply,
                                  "PING", 1, argv, argvlen)
            == REDIS_OK)
        {
            link->setup++;
        }
    }
}


static void
ngx_http_wapress_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    u_char                         *p;
    const char                     *what;
    redisReply                     *reply;
    ngx_http_wapress_redis_link_t  *link;
    u_char                          text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    reply = r;
    what = privdata;
    link = ac->data;

    if (link == NULL || reply == NULL || link->closing) {
        /* the context is going away: our cleanup hook logs it */
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {

        /*
         * The commands queued behind a failed AUTH or SELECT would run
         * unauthenticated or in db 0: the context is freed, so that they
         * get NULL replies.  In a reply callback (unlike the connect and
         * disconnect callbacks) hiredis 0.14 and 1.x defer
         * redisAsyncFree() until the callback returns (REDIS_IN_CALLBACK,
         * REDIS_FREEING in redisProcessCallbacks()).
         */

        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "%s failed: %*s", what,
                         (size_t) ngx_min(reply->len, 160),
                         (u_char *) reply->str);
        *p = '\0';

        ngx_http_wapress_redis_drop(link, NGX_LOG_ERR, text);
        return;
    }

    if (link->conn->server->sentinel
        && ngx_strcmp(what, "ROLE") == 0
        && ngx_http_wapress_redis_sentinel_role(link, reply, text) != NGX_OK)
    {
        ngx_http_wapress_redis_drop(link, NGX_LOG_WARN, text);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, link->conn->log, 0,
                   "wapress redis %V: %s ok",
                   &link->conn->server->name, what);

    if (--link->setup == 0 && link->connected) {
        ngx_http_wapress_redis_ready(link);
    }
}


void
ngx_http_wapress_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_wapress_redis_link_t  *link;

    link = ac->data;

    if (link == NULL) {
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, link->conn->log, 0,
                   "wapress redis %V: connect status:%d \"%s\"",
                   &link->conn->server->name, status,
                   ac->c.err ? ac->c.errstr : "");

    if (status != REDIS_OK) {
        /* hiredis frees the context now, our cleanup hook logs it */
        return;
    }

    link->connected = 1;

    if (link->setup == 0) {
        ngx_http_wapress_redis_ready(link);
        return;
    }

    /*
     * The setup's replies are awaited as long as a page waits for a
     * reply (the watchdog's limit), if that is longer than the connect
     * timeout: a server paused for a moment is not a failed attempt.
     */

    link->timeout = ngx_max(link->timeout,
                            ngx_http_wapress_redis_stall(link->conn->server));

    ngx_add_timer(&link->ev, link->timeout);
}


/* the setup replies came back right: the connection is healthy */

static void
ngx_http_wapress_redis_ready(ngx_http_wapress_redis_link_t *link)
{
    ngx_http_wapress_redis_conn_t  *conn;

    conn = link->conn;

    if (link->ev.timer_set) {
        ngx_del_timer(&link->ev);
    }

    link->ready = 1;
    link->ready_at = ngx_current_msec;
    link->last_read = ngx_current_msec;

    ngx_http_wapress_redis_stats(conn, NGX_HTTP_WAPRESS_STATS_UP, 0);

    if (link->ac->replies.head != NULL) {
        /* commands queued while connecting: the stall watchdog */
        ngx_add_timer(&link->ev, ngx_http_wapress_redis_stall(conn->server));
    }

    if (conn->failures) {
        ngx_log_error(NGX_LOG_NOTICE, conn->log, 0,
                      "wapress: redis %V: connected after %ui failed "
                      "attempts", &conn->server->name, conn->failures);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, conn->log, 0,
                   "wapress redis %V: ready", &conn->server->name);

    conn->failures = 0;
    conn->delay = 0;
}
