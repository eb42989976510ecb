
/*
 * ngx_http_wapress_redis.c: a Redis connection's life.  One persistent
 * hiredis async connection per worker per Redis server: it is started on
 * demand, set up (AUTH and SELECT, or a PING when neither is needed) and
 * counts as healthy only once the first of those replies came back
 * right.  A connect that fails or times out, a setup that fails, and a
 * connection lost before it was healthy start an exponential backoff
 * (100 ms, doubling up to 5 s; the same failure again logs at the info
 * level only); losing a healthy connection retries once at once.  The
 * socket's events and the link's timer (connect deadline, the watchdog)
 * are in _redis_event.c, the commands in _redis_cmd.c, the directive in
 * _redis_conf.c.  Nothing here blocks the worker: host names are
 * resolved at configuration time.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"


#define NGX_HTTP_WAPRESS_REDIS_BACKOFF_MIN   100
#define NGX_HTTP_WAPRESS_REDIS_BACKOFF_MAX   5000

/*
 * a connection lost after it was healthy this long is retried at once (a
 * Redis restart); one that flaps sooner backs off like a failed connect
 */
#define NGX_HTTP_WAPRESS_REDIS_HEALTHY       1000

#define ngx_http_wapress_redis_healthy(link)                                  \
    ((link)->ready                                                            \
     && ngx_current_msec - (link)->ready_at >= NGX_HTTP_WAPRESS_REDIS_HEALTHY)


static ngx_int_t ngx_http_wapress_redis_connect(
    ngx_http_wapress_redis_conn_t *conn, ngx_msec_t connect_timeout);
static void ngx_http_wapress_redis_setup(ngx_http_wapress_redis_link_t *link);
static void ngx_http_wapress_redis_setup_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_wapress_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_wapress_redis_ready(ngx_http_wapress_redis_link_t *link);
static void ngx_http_wapress_redis_fail(ngx_http_wapress_redis_conn_t *conn,
    u_char *text, ngx_uint_t level);
static void ngx_http_wapress_redis_reason(ngx_http_wapress_redis_link_t *link,
    const redisAsyncContext *ac, u_char *buf);


redisAsyncContext *
ngx_http_wapress_redis_get(ngx_http_wapress_redis_server_t *srv,
    ngx_msec_t connect_timeout, ngx_log_t *log, const char **err)
{
    if (srv->conn == NULL) {
        srv->conn = ngx_http_wapress_redis_conn_new(srv);

        if (srv->conn == NULL) {
            *err = "out of memory";
            return NULL;
        }
    }

    return ngx_http_wapress_redis_conn_get(srv->conn, connect_timeout, log,
                                           err);
}


ngx_http_wapress_redis_conn_t *
ngx_http_wapress_redis_conn_new(ngx_http_wapress_redis_server_t *srv)
{
    ngx_http_wapress_redis_conn_t  *conn;

    conn = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_http_wapress_redis_conn_t));
    if (conn == NULL) {
        return NULL;
    }

    conn->server = srv;
    conn->log = ngx_cycle->log;
    ngx_queue_init(&conn->links);
    ngx_queue_init(&conn->flight);
    ngx_queue_init(&conn->waiting);

    return conn;
}


redisAsyncContext *
ngx_http_wapress_redis_conn_get(ngx_http_wapress_redis_conn_t *conn,
    ngx_msec_t connect_timeout, ngx_log_t *log, const char **err)
{
    u_char                           *p;
    ngx_msec_int_t                    left;
    ngx_http_wapress_redis_server_t  *srv;

    srv = conn->server;

    if (conn->ac) {

        if (!(conn->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING))) {
            return conn->ac;
        }

        /* a NULL reply callback of a dying context asks again */

        p = ngx_snprintf(conn->err, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "redis %V: connection is closing", &srv->name);
        *p = '\0';

        *err = (const char *) conn->err;
        return NULL;
    }

    if (conn->exiting) {
        *err = "worker is exiting";
        return NULL;
    }

    if (srv->cluster) {
        /* only its nodes' servers connect */
        *err = "a Redis Cluster has no connection of its own";
        return NULL;
    }

    if (srv->sentinel
        && ngx_http_wapress_redis_sentinel_addr(conn, NULL, NULL) != NGX_OK)
    {
        /* the Sentinels have not said where yet: conn->err says so */
        *err = (const char *) conn->err;
        return NULL;
    }

    if (conn->failures) {
        left = (ngx_msec_int_t) (conn->next_attempt - ngx_current_msec);

        if (left > 0) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                           "wapress redis %V: backoff, %M ms left",
                           &srv->name, (ngx_msec_t) left);
            goto failed;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "wapress redis %V: connecting, attempt %ui",
                   &srv->name, conn->failures + 1);

    ngx_http_wapress_redis_stats(conn, NGX_HTTP_WAPRESS_STATS_CONNECT, 0);

    if (ngx_http_wapress_redis_connect(conn, connect_timeout) == NGX_OK) {
        return conn->ac;
    }

    left = (ngx_msec_int_t) (conn->next_attempt - ngx_current_msec);

failed:

    p = ngx_snprintf(conn->err, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "redis %V: %s, next attempt in %Mms", &srv->name,
                     conn->errstr, (ngx_msec_t) ngx_max(left, 0));
    *p = '\0';

    *err = (const char *) conn->err;

    return NULL;
}


static ngx_int_t
ngx_http_wapress_redis_connect(ngx_http_wapress_redis_conn_t *conn,
    ngx_msec_t connect_timeout)
{
    u_char                           *p;
    in_port_t                         port;
    const char                       *host;
    redisAsyncContext                *ac;
    ngx_http_wapress_redis_link_t    *link;
    ngx_http_wapress_redis_server_t  *srv;
    u_char                            text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    srv = conn->server;

    /* both are non-blocking: connect(2) is left in progress */

    if (srv->sentinel) {
        /* the primary (or replica) the Sentinels named: an IP literal */
        (void) ngx_http_wapress_redis_sentinel_addr(conn, &host, &port);
        ac = redisAsyncConnect(host, port);

    } else if (srv->unix_path.len) {
        ac = redisAsyncConnectUnix((const char *) srv->unix_path.data);

    } else {
        ac = redisAsyncConnect((const char *) srv->host.data, srv->port);
    }

    if (ac == NULL) {
        ngx_http_wapress_redis_fail(conn,
                                    (u_char *) "connect failed: no memory",
                                    NGX_LOG_ERR);
        return NGX_ERROR;
    }

    if (ac->err) {
        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "connect failed: %s", ac->c.errstr);
        *p = '\0';

        redisAsyncFree(ac);

        ngx_http_wapress_redis_fail(conn, text, NGX_LOG_ERR);
        return NGX_ERROR;
    }

    /*
     * Keep the reader's buffer between replies: by default hiredis frees
     * it whenever it is empty and larger than 16 KB, which under load
     * means a free and a new allocation on nearly every read (a buffer
     * that grew large is given back by _redis_event.c).
     */
    ac->c.reader->maxbuf = 0;

    link = ngx_alloc(sizeof(ngx_http_wapress_redis_link_t), conn->log);
    if (link == NULL) {
        redisAsyncFree(ac);
        ngx_http_wapress_redis_fail(conn,
                                    (u_char *) "connect failed: no memory",
                                    NGX_LOG_ERR);
        return NGX_ERROR;
    }

    ngx_memzero(link, sizeof(ngx_http_wapress_redis_link_t));

    if (ngx_http_wapress_redis_event_attach(link, ac, conn->log) == NULL) {
        ngx_free(link);
        redisAsyncFree(ac);
        ngx_http_wapress_redis_fail(conn, (u_char *)
                                    "connect failed: no free connection",
                                    NGX_LOG_ERR);
        return NGX_ERROR;
    }

    link->ac = ac;
    link->conn = conn;

    /* the directive rejects 0: a connect always has a deadline */
    link->timeout = connect_timeout ? connect_timeout
                                    : NGX_HTTP_WAPRESS_REDIS_STALL;

    link->ev.handler = ngx_http_wapress_redis_link_handler;
    link->ev.data = link;
    link->ev.log = conn->log;
    link->ev.cancelable = 1;

    ac->data = link;

    ngx_queue_insert_tail(&conn->links, &link->queue);
    conn->ac = ac;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, conn->log, 0,
                   "wapress redis %V: connect started, fd:%d c:%uA",
                   &srv->name, link->c->fd, link->c->number);

    /* calls addWrite: the first write event tells of the connect result */

    redisAsyncSetConnectCallback(ac, ngx_http_wapress_redis_connected);

    /* queued first, so that they precede every request's command */

    ngx_http_wapress_redis_setup(link);

    ngx_add_timer(&link->ev, link->timeout);

    if (link->closing) {
        /* an event could not be added: aborted, conn->ac is NULL */
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * AUTH and SELECT as configured, or else a PING: a connection is healthy
 * only once a reply of the server came back right.  A server that
 * accepts and then drops the connection (Redis at maxclients answers
 * "-ERR max number of clients reached" and closes) must not look healthy,
 * or every page would reconnect at once.
 */

static void
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


static void
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


/*
 * Records a failed connect, a failed setup, a connection lost before it
 * was healthy, or a healthy one lost: the next attempt waits 100 ms,
 * doubled for each consecutive failure, up to 5 s; but when a healthy
 * connection dropped (Redis restarted, or closed an idle client) the
 * first new attempt is made at once.  One line per attempt; a failure
 * of the same kind as the previous one ("connection lost: ...", "connect
 * failed: ...") is logged at the info level only, so that a server that
 * stays down logs one error.
 */

static void
ngx_http_wapress_redis_fail(ngx_http_wapress_redis_conn_t *conn, u_char *text,
    ngx_uint_t level)
{
    size_t   len;
    u_char  *colon;

    len = ngx_min(ngx_strlen(text), NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1);

    /* the same kind: the text up to its first ":" ("connection lost") */

    colon = ngx_strlchr(text, text + len, ':');

    if (colon == NULL) {
        colon = text + len;
    }

    if (conn->failures
        && ngx_strncmp(conn->errstr, text, colon - text + 1) == 0)
    {
        level = NGX_LOG_INFO;
    }

    if (conn->failures++ == 0) {
        conn->delay = conn->lost ? 0 : NGX_HTTP_WAPRESS_REDIS_BACKOFF_MIN;

    } else {
        conn->delay = ngx_max(conn->delay * 2,
                              NGX_HTTP_WAPRESS_REDIS_BACKOFF_MIN);
        conn->delay = ngx_min(conn->delay,
                              NGX_HTTP_WAPRESS_REDIS_BACKOFF_MAX);
    }

    conn->next_attempt = ngx_current_msec + conn->delay;

    ngx_http_wapress_redis_stats(conn, NGX_HTTP_WAPRESS_STATS_FAILURE, 0);

    ngx_memcpy(conn->errstr, text, len);
    conn->errstr[len] = '\0';

    ngx_log_error(level, conn->log, 0,
                  "wapress: redis %V: %s (next attempt in %Mms)",
                  &conn->server->name, conn->errstr, conn->delay);
}


void
ngx_http_wapress_redis_drop(ngx_http_wapress_redis_link_t *link,
    ngx_uint_t level, u_char *text)
{
    redisAsyncContext              *ac;
    ngx_http_wapress_redis_conn_t  *conn;

    if (link->closing || link->dead) {
        return;
    }

    conn = link->conn;
    ac = link->ac;

    if (level != NGX_LOG_INFO) {
        conn->lost = ngx_http_wapress_redis_healthy(link);
        ngx_http_wapress_redis_fail(conn, text, level);
        conn->lost = 0;

    } else {
        ngx_log_error(NGX_LOG_INFO, conn->log, 0, "wapress: redis %V: %s",
                      &conn->server->name, text);
    }

    ngx_cpystrn(link->reason, text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN);

    /* callbacks that are not ours read it in ac->errstr */

    ac->c.err = REDIS_ERR_OTHER;
    ngx_cpystrn((u_char *) ac->c.errstr, text, sizeof(ac->c.errstr));
    ac->err = ac->c.err;
    ac->errstr = ac->c.errstr;

    link->closing = 1;

    if (conn->ac == ac) {
        conn->ac = NULL;
    }

    /* pending callbacks get a NULL reply, then our cleanup hook runs */

    link->busy++;

    redisAsyncFree(ac);

    ngx_http_wapress_redis_release(link);
}


/*
 * An nginx event could not be added or deleted from inside a hiredis
 * hook, where the context cannot be freed: it is freed by a posted event.
 */

void
ngx_http_wapress_redis_abort(ngx_http_wapress_redis_link_t *link)
{
    ngx_http_wapress_redis_conn_t  *conn;

    if (link->closing) {
        return;
    }

    conn = link->conn;

    ngx_http_wapress_redis_fail(conn, (u_char *) "event registration failed",
                                NGX_LOG_ERR);

    ngx_cpystrn(link->reason, (u_char *) "event registration failed",
                NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN);

    link->closing = 1;

    if (conn->ac == link->ac) {
        conn->ac = NULL;
    }

    ngx_post_event(&link->ev, &ngx_posted_events);
}


void
ngx_http_wapress_redis_release(ngx_http_wapress_redis_link_t *link)
{
    if (--link->busy == 0 && link->dead) {
        ngx_free(link);
    }
}


/*
 * Called by hiredis (possibly more than once) when the context dies, for
 * whatever reason: connect failure, lost connection, redisAsyncFree() or
 * redisAsyncDisconnect().  hiredis closes the socket itself right after.
 * Pending command callbacks get a NULL reply (hiredis 0.14 before this
 * hook, 1.x after it, except after a redisAsyncFree() of ours).
 */

void
ngx_http_wapress_redis_ev_cleanup(void *data)
{
    u_char                         *p;
    redisAsyncContext              *ac;
    ngx_http_wapress_redis_conn_t  *conn;
    ngx_http_wapress_redis_link_t  *link;
    u_char                          text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    link = data;
    ac = link->ac;
    conn = link->conn;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, conn->log, 0,
                   "wapress redis %V: cleanup, fd:%d \"%s\"",
                   &conn->server->name, link->c->fd,
                   ac->c.err ? ac->c.errstr : "");

    /* the commands that hiredis answers after this hook read conn->why */

    ngx_http_wapress_redis_reason(link, ac, text);

    p = ngx_snprintf(conn->why, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "redis %V: %s", &conn->server->name, text);
    *p = '\0';

    /* no hook of ours may run again for this context */

    ac->data = NULL;
    ac->ev.data = NULL;
    ac->ev.addRead = NULL;
    ac->ev.delRead = NULL;
    ac->ev.addWrite = NULL;
    ac->ev.delWrite = NULL;
    ac->ev.cleanup = NULL;
#if (HIREDIS_MAJOR >= 1)
    ac->ev.scheduleTimer = NULL;
#endif

    if (link->ev.timer_set) {
        ngx_del_timer(&link->ev);
    }

    if (link->ev.posted) {
        ngx_delete_posted_event(&link->ev);
    }

    ngx_http_wapress_redis_event_detach(link);

    ngx_http_wapress_redis_stats(conn, NGX_HTTP_WAPRESS_STATS_CLOSED,
                                 link->ready);

    ngx_queue_remove(&link->queue);

    if (conn->ac == ac) {
        conn->ac = NULL;
    }

    if (!link->closing && !conn->exiting) {
        /* a healthy connection lost retries at once, others back off */
        conn->lost = ngx_http_wapress_redis_healthy(link);
        ngx_http_wapress_redis_fail(conn, text, NGX_LOG_ERR);
        conn->lost = 0;
    }

    if (conn->server->parent && conn == conn->server->conn
        && !conn->exiting)
    {
        /* a cluster node's: the map may have changed */
        ngx_http_wapress_redis_cluster_lost(conn);
    }

    link->ac = NULL;
    link->dead = 1;

    if (link->busy == 0) {
        ngx_free(link);
    }

    /*
     * The commands that never reached the connection fail with it; but
     * if a handler of its commands made a new one meanwhile, they go
     * there.
     */

    if (conn->ac != NULL) {
        ngx_http_wapress_redis_cmd_flush(conn);
        return;
    }

    ngx_http_wapress_redis_cmd_fail_waiting(conn,
                                            conn->exiting
                                            ? NGX_HTTP_WAPRESS_REDIS_DROPPED
                                            : NGX_HTTP_WAPRESS_REDIS_LOST,
                                            conn->why);
}


u_char *
ngx_http_wapress_redis_why(ngx_http_wapress_redis_conn_t *conn,
    const redisAsyncContext *ac)
{
    u_char                         *p;
    ngx_http_wapress_redis_link_t  *link;
    u_char                          text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    link = ac->data;

    if (link == NULL) {
        /* our cleanup hook has run and said why */
        return conn->why;
    }

    ngx_http_wapress_redis_reason(link, ac, text);

    p = ngx_snprintf(conn->why, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "redis %V: %s", &conn->server->name, text);
    *p = '\0';

    return conn->why;
}


/* why a link ends: ours to say, or a connect failed, or it was lost */

static void
ngx_http_wapress_redis_reason(ngx_http_wapress_redis_link_t *link,
    const redisAsyncContext *ac, u_char *buf)
{
    u_char  *p;

    if (link->reason[0]) {
        ngx_cpystrn(buf, link->reason, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN);
        return;
    }

    if (link->conn->exiting) {
        ngx_cpystrn(buf, (u_char *) "worker is exiting",
                    NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN);
        return;
    }

    p = ngx_snprintf(buf, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1, "%s: %s",
                     link->connected ? "connection lost" : "connect failed",
                     ac->c.err ? ac->c.errstr : "closed");
    *p = '\0';
}


void
ngx_http_wapress_redis_cleanup(ngx_array_t *servers)
{
    ngx_uint_t                         i;
    ngx_http_wapress_redis_server_t  **sp;

    if (servers == NULL) {
        return;
    }

    sp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        ngx_http_wapress_redis_conn_free(sp[i]->conn);
        ngx_http_wapress_redis_conn_free(sp[i]->track);

        if (sp[i]->sentinel) {
            ngx_http_wapress_redis_sentinel_cleanup(sp[i]);
        }

        if (sp[i]->cluster) {
            ngx_http_wapress_redis_cluster_cleanup(sp[i]);
        }
    }
}


ngx_int_t
ngx_http_wapress_redis_init_process(ngx_array_t *servers)
{
    ngx_uint_t                         i;
    ngx_http_wapress_redis_server_t  **sp;

    if (ngx_http_wapress_redis_sentinel_init_process(servers) != NGX_OK) {
        return NGX_ERROR;
    }

    sp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        if (sp[i]->cluster
            && ngx_http_wapress_redis_cluster_init_process(sp[i]) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_http_wapress_redis_conn_free(ngx_http_wapress_redis_conn_t *conn)
{
    ngx_queue_t                    *q;
    ngx_http_wapress_redis_link_t  *link;

    if (conn == NULL) {
        return;
    }

    conn->exiting = 1;

    while (!ngx_queue_empty(&conn->links)) {
        q = ngx_queue_head(&conn->links);
        link = ngx_queue_data(q, ngx_http_wapress_redis_link_t, queue);

        link->closing = 1;

        redisAsyncFree(link->ac);

        if (ngx_queue_head(&conn->links) == q) {
            /* cannot happen: hiredis did not call the cleanup hook */
            ngx_queue_remove(q);
        }
    }

    conn->ac = NULL;

    ngx_http_wapress_redis_cmd_fail_waiting(conn,
                                            NGX_HTTP_WAPRESS_REDIS_DROPPED,
                                            (u_char *) "worker is exiting");
}
