
/*
 * ngx_http_wapress_redis.c: the Redis side of the module (the directive's
 * arguments are parsed in _redis_conf.c).  Keeps one persistent hiredis
 * async connection per worker per Redis server, driven by nginx's loop:
 * the hiredis socket is wrapped in an nginx connection, commands queued
 * during one event loop turn leave in one write (a posted event), replies
 * are read until the socket is empty (epoll is edge-triggered, hiredis
 * reads 16 KB per call), a connect deadline is an nginx timer, and a lost
 * or failed connection is retried with an exponential backoff.  Nothing
 * here blocks the worker: host names are resolved at configuration time.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include "ngx_http_wapress_redis.h"
#include "ngx_http_wapress_stats.h"


#define NGX_HTTP_WAPRESS_REDIS_BACKOFF_MIN   100
#define NGX_HTTP_WAPRESS_REDIS_BACKOFF_MAX   5000
#define NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN    256

/* replies due and nothing read for this long: the connection is dropped */
#define NGX_HTTP_WAPRESS_REDIS_STALL         3000

#define ngx_http_wapress_redis_event_flags()                                  \
    ((ngx_event_flags & NGX_USE_CLEAR_EVENT) ? NGX_CLEAR_EVENT                \
                                             : NGX_LEVEL_EVENT)


/*
 * One hiredis context and the nginx connection that carries its socket.
 * It lives from redisAsyncConnect() until hiredis calls our cleanup hook
 * (or, if a handler of ours is on the stack then, until it returns).
 */
typedef struct {
    ngx_queue_t                      queue;      /* in conn->links */
    redisAsyncContext               *ac;
    ngx_connection_t                *c;
    ngx_http_wapress_redis_conn_t   *conn;
    ngx_event_t                      ev;         /* connect deadline, then
                                                    the stall watchdog, or
                                                    posted to abort */
    ngx_msec_t                       timeout;
    ngx_msec_t                       last_read;
    ngx_uint_t                       busy;       /* our frames on the stack */
    ngx_uint_t                       setup;      /* AUTH/SELECT replies due */

    unsigned                         connected:1;
    unsigned                         ready:1;    /* AUTH/SELECT done */
    unsigned                         writing:1;  /* in redisAsyncHandleWrite */
    unsigned                         want_write:1;
    unsigned                         closing:1;  /* ended by us, logged */
    unsigned                         dead:1;     /* hiredis cleaned it up */
} ngx_http_wapress_redis_link_t;


/* per worker, per server; allocated from the cycle pool on first use */
struct ngx_http_wapress_redis_conn_s {
    ngx_http_wapress_redis_server_t  *server;
    redisAsyncContext                *ac;        /* the one to use, or NULL */
    ngx_queue_t                       links;     /* every live context */
    ngx_log_t                        *log;
    ngx_msec_t                        next_attempt;
    ngx_msec_t                        delay;     /* current backoff */
    ngx_uint_t                        failures;  /* consecutive */
    unsigned                          exiting:1;
    unsigned                          lost:1;    /* a ready one dropped */
    u_char                            errstr[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
    u_char                            err[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
};


static ngx_int_t ngx_http_wapress_redis_connect(
    ngx_http_wapress_redis_conn_t *conn, ngx_msec_t connect_timeout);
static void ngx_http_wapress_redis_setup(ngx_http_wapress_redis_link_t *link);
static void ngx_http_wapress_redis_setup_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_wapress_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_wapress_redis_ready(ngx_http_wapress_redis_link_t *link);
static void ngx_http_wapress_redis_fail(ngx_http_wapress_redis_conn_t *conn,
    u_char *text);
static void ngx_http_wapress_redis_abort(ngx_http_wapress_redis_link_t *link);
static void ngx_http_wapress_redis_release(
    ngx_http_wapress_redis_link_t *link);

static void ngx_http_wapress_redis_add_read(void *data);
static void ngx_http_wapress_redis_del_read(void *data);
static void ngx_http_wapress_redis_add_write(void *data);
static void ngx_http_wapress_redis_del_write(void *data);
static void ngx_http_wapress_redis_ev_cleanup(void *data);
static void ngx_http_wapress_redis_close_connection(ngx_connection_t *c);

static void ngx_http_wapress_redis_read_handler(ngx_event_t *rev);
static void ngx_http_wapress_redis_write_handler(ngx_event_t *wev);
static void ngx_http_wapress_redis_link_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_wapress_redis_nread(ngx_connection_t *c);


redisAsyncContext *
ngx_http_wapress_redis_get(ngx_http_wapress_redis_server_t *srv,
    ngx_msec_t connect_timeout, ngx_log_t *log, const char **err)
{
    u_char                         *p;
    ngx_msec_int_t                  left;
    ngx_http_wapress_redis_conn_t  *conn;

    conn = srv->conn;

    if (conn == NULL) {
        conn = ngx_pcalloc(ngx_cycle->pool,
                           sizeof(ngx_http_wapress_redis_conn_t));
        if (conn == NULL) {
            *err = "out of memory";
            return NULL;
        }

        conn->server = srv;
        conn->log = ngx_cycle->log;
        ngx_queue_init(&conn->links);

        srv->conn = conn;
    }

    if (conn->ac) {

        if (!(conn->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING))) {
            return conn->ac;
        }

        /* a NULL reply callback of a dying context asks again */

        *err = "connection is closing";
        return NULL;
    }

    if (conn->exiting) {
        *err = "worker is exiting";
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

    ngx_http_wapress_stats_redis(srv, NGX_HTTP_WAPRESS_STATS_CONNECT, 0);

    if (ngx_http_wapress_redis_connect(conn, connect_timeout) == NGX_OK) {
        return conn->ac;
    }

    left = (ngx_msec_int_t) (conn->next_attempt - ngx_current_msec);

failed:

    p = ngx_snprintf(conn->err, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "%s, next attempt in %Mms",
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
    ngx_connection_t                 *c;
    redisAsyncContext                *ac;
    ngx_http_wapress_redis_link_t    *link;
    ngx_http_wapress_redis_server_t  *srv;
    u_char                            text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    srv = conn->server;

    /* both are non-blocking: connect(2) is left in progress */

    if (srv->unix_path.len) {
        ac = redisAsyncConnectUnix((const char *) srv->unix_path.data);

    } else {
        ac = redisAsyncConnect((const char *) srv->host.data, srv->port);
    }

    if (ac == NULL) {
        ngx_http_wapress_redis_fail(conn,
                                    (u_char *) "connect failed: no memory");
        return NGX_ERROR;
    }

    if (ac->err) {
        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "connect failed: %s", ac->c.errstr);
        *p = '\0';

        redisAsyncFree(ac);

        ngx_http_wapress_redis_fail(conn, text);
        return NGX_ERROR;
    }

    /*
     * Keep the reader's buffer between replies: by default hiredis frees
     * it whenever it is empty and larger than 16 KB, which under load
     * means a free and a new allocation on nearly every read.
     */
    ac->c.reader->maxbuf = 0;

    link = ngx_alloc(sizeof(ngx_http_wapress_redis_link_t), conn->log);
    if (link == NULL) {
        redisAsyncFree(ac);
        ngx_http_wapress_redis_fail(conn,
                                    (u_char *) "connect failed: no memory");
        return NGX_ERROR;
    }

    ngx_memzero(link, sizeof(ngx_http_wapress_redis_link_t));

    c = ngx_get_connection(ac->c.fd, conn->log);
    if (c == NULL) {
        ngx_free(link);
        redisAsyncFree(ac);
        ngx_http_wapress_redis_fail(conn, (u_char *)
                                    "connect failed: no free connection");
        return NGX_ERROR;
    }

    c->data = link;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    c->read->handler = ngx_http_wapress_redis_read_handler;
    c->write->handler = ngx_http_wapress_redis_write_handler;
    c->read->log = c->log;
    c->write->log = c->log;

    link->ac = ac;
    link->c = c;
    link->conn = conn;
    link->timeout = connect_timeout;

    link->ev.handler = ngx_http_wapress_redis_link_handler;
    link->ev.data = link;
    link->ev.log = conn->log;
    link->ev.cancelable = 1;

    ac->data = link;

    ac->ev.data = link;
    ac->ev.addRead = ngx_http_wapress_redis_add_read;
    ac->ev.delRead = ngx_http_wapress_redis_del_read;
    ac->ev.addWrite = ngx_http_wapress_redis_add_write;
    ac->ev.delWrite = ngx_http_wapress_redis_del_write;
    ac->ev.cleanup = ngx_http_wapress_redis_ev_cleanup;

    /*
     * hiredis 1.x: ev.scheduleTimer stays NULL, nginx timers (ours, and
     * the requests' own) do that work for both versions
     */

    ngx_queue_insert_tail(&conn->links, &link->queue);
    conn->ac = ac;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, conn->log, 0,
                   "wapress redis %V: connect started, fd:%d c:%uA",
                   &srv->name, c->fd, c->number);

    /* calls addWrite: the first write event tells of the connect result */

    redisAsyncSetConnectCallback(ac, ngx_http_wapress_redis_connected);

    /* queued first, so that they precede every request's command */

    ngx_http_wapress_redis_setup(link);

    if (connect_timeout) {
        ngx_add_timer(&link->ev, connect_timeout);
    }

    if (link->closing) {
        /* an event could not be added: aborted, conn->ac is NULL */
        return NGX_ERROR;
    }

    return NGX_OK;
}


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
}


static void
ngx_http_wapress_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    u_char                         *p;
    const char                     *what;
    redisReply                     *reply;
    ngx_http_wapress_redis_conn_t  *conn;
    ngx_http_wapress_redis_link_t  *link;
    u_char                          text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    reply = r;
    what = privdata;
    link = ac->data;

    if (link == NULL || reply == NULL || link->closing) {
        /* the context is going away: our cleanup hook logs it */
        return;
    }

    conn = link->conn;

    if (reply->type == REDIS_REPLY_ERROR) {
        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "%s failed: %*s",
                         what, reply->len, (u_char *) reply->str);
        *p = '\0';

        ngx_http_wapress_redis_fail(conn, text);

        link->closing = 1;

        if (conn->ac == ac) {
            conn->ac = NULL;
        }

        /*
         * The commands queued behind a failed SELECT would run in db 0,
         * and redisAsyncDisconnect() would deliver their replies: free
         * the context instead, so that they get NULL replies.  In a reply
         * callback (unlike the connect and disconnect callbacks) hiredis
         * 0.14 and 1.x defer redisAsyncFree() until the callback returns
         * (REDIS_IN_CALLBACK, REDIS_FREEING in redisProcessCallbacks()).
         */

        redisAsyncFree(ac);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, conn->log, 0,
                   "wapress redis %V: %s ok", &conn->server->name, what);

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
    }
}


static void
ngx_http_wapress_redis_ready(ngx_http_wapress_redis_link_t *link)
{
    ngx_http_wapress_redis_conn_t  *conn;

    conn = link->conn;

    if (link->ev.timer_set) {
        ngx_del_timer(&link->ev);
    }

    link->ready = 1;
    link->last_read = ngx_current_msec;
    ngx_http_wapress_stats_redis(conn->server, NGX_HTTP_WAPRESS_STATS_UP, 0);

    if (link->ac->replies.head != NULL) {
        /* commands queued while connecting: the stall watchdog */
        ngx_add_timer(&link->ev, NGX_HTTP_WAPRESS_REDIS_STALL);
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
 * Records a failed connect, a lost connection or a failed AUTH/SELECT:
 * the next attempt waits 100 ms, doubled for each consecutive failure, up
 * to 5 s; but after a healthy connection dropped (Redis restarted, or
 * closed an idle client) the first new attempt is made at once.  One
 * line per event; a repetition of the previous failure is logged at the
 * info level only.
 */

static void
ngx_http_wapress_redis_fail(ngx_http_wapress_redis_conn_t *conn, u_char *text)
{
    size_t      len;
    ngx_uint_t  level;

    len = ngx_min(ngx_strlen(text), NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1);

    if (conn->failures
        && ngx_strncmp(conn->errstr, text, len) == 0
        && conn->errstr[len] == '\0')
    {
        level = NGX_LOG_INFO;

    } else {
        level = NGX_LOG_ERR;
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
    ngx_http_wapress_stats_redis(conn->server, NGX_HTTP_WAPRESS_STATS_FAILURE,
                                 0);

    ngx_memcpy(conn->errstr, text, len);
    conn->errstr[len] = '\0';

    ngx_log_error(level, conn->log, 0,
                  "wapress: redis %V: %s (next attempt in %Mms)",
                  &conn->server->name, conn->errstr, conn->delay);
}


/*
 * An nginx event could not be added or deleted from inside a hiredis
 * hook, where the context cannot be freed: it is freed by a posted event.
 */

static void
ngx_http_wapress_redis_abort(ngx_http_wapress_redis_link_t *link)
{
    ngx_http_wapress_redis_conn_t  *conn;

    if (link->closing) {
        return;
    }

    conn = link->conn;

    ngx_http_wapress_redis_fail(conn, (u_char *) "event registration failed");

    link->closing = 1;

    if (conn->ac == link->ac) {
        conn->ac = NULL;
    }

    ngx_post_event(&link->ev, &ngx_posted_events);
}


static void
ngx_http_wapress_redis_release(ngx_http_wapress_redis_link_t *link)
{
    if (--link->busy == 0 && link->dead) {
        ngx_free(link);
    }
}


static void
ngx_http_wapress_redis_add_read(void *data)
{
    ngx_event_t                    *rev;
    ngx_http_wapress_redis_link_t  *link;

    link = data;
    rev = link->c->read;

    if (!rev->active) {
        if (ngx_add_event(rev, NGX_READ_EVENT,
                          ngx_http_wapress_redis_event_flags())
            != NGX_OK)
        {
            ngx_http_wapress_redis_abort(link);
        }
    }
}


static void
ngx_http_wapress_redis_del_read(void *data)
{
    ngx_event_t                    *rev;
    ngx_http_wapress_redis_link_t  *link;

    link = data;

    /*
     * With edge-triggered events the read event stays registered, as
     * nginx does for its own connections: deleting one of two events
     * would re-add the other one level-triggered.
     */

    if (ngx_event_flags & NGX_USE_CLEAR_EVENT) {
        return;
    }

    rev = link->c->read;

    if (rev->active) {
        if (ngx_del_event(rev, NGX_READ_EVENT, 0) != NGX_OK) {
            ngx_http_wapress_redis_abort(link);
        }
    }
}


/*
 * hiredis asks to write whenever a command is queued.  Once connected,
 * the write is posted to the end of this event loop turn, so that every
 * command queued in the turn (by all requests) leaves in one write(2).
 * While connecting, or when that write could not send everything, the
 * real write event is needed.
 */

static void
ngx_http_wapress_redis_add_write(void *data)
{
    ngx_event_t                    *wev;
    ngx_http_wapress_redis_link_t  *link;

    link = data;
    wev = link->c->write;

    link->want_write = 1;

    if (link->ready && !link->ev.timer_set) {
        /* the stall watchdog: replies are due from now on */
        link->last_read = ngx_current_msec;
        ngx_add_timer(&link->ev, NGX_HTTP_WAPRESS_REDIS_STALL);
    }

    if (link->connected && !link->writing) {
        ngx_post_event(wev, &ngx_posted_events);
        return;
    }

    if (!wev->active) {
        if (ngx_add_event(wev, NGX_WRITE_EVENT,
                          ngx_http_wapress_redis_event_flags())
            != NGX_OK)
        {
            ngx_http_wapress_redis_abort(link);
        }
    }
}


static void
ngx_http_wapress_redis_del_write(void *data)
{
    ngx_event_t                    *wev;
    ngx_http_wapress_redis_link_t  *link;

    link = data;

    link->want_write = 0;

    /* edge-triggered: stays registered, the handler ignores it */

    if (ngx_event_flags & NGX_USE_CLEAR_EVENT) {
        return;
    }

    wev = link->c->write;

    if (wev->active) {
        if (ngx_del_event(wev, NGX_WRITE_EVENT, 0) != NGX_OK) {
            ngx_http_wapress_redis_abort(link);
        }
    }
}


/*
 * Called by hiredis (possibly more than once) when the context dies, for
 * whatever reason: connect failure, lost connection, redisAsyncFree() or
 * redisAsyncDisconnect().  hiredis closes the socket itself right after.
 * Pending command callbacks get a NULL reply (hiredis 0.14 before this
 * hook, 1.x after it).
 */

static void
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

    ngx_http_wapress_redis_close_connection(link->c);
    ngx_http_wapress_stats_redis(conn->server, NGX_HTTP_WAPRESS_STATS_CLOSED,
                                 link->ready);

    ngx_queue_remove(&link->queue);

    if (conn->ac == ac) {
        conn->ac = NULL;
    }

    if (!link->closing && !conn->exiting) {
        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1, "%s: %s",
                         link->connected ? "connection lost"
                                         : "connect failed",
                         ac->c.err ? ac->c.errstr : "closed");
        *p = '\0';

        conn->lost = link->connected;
        ngx_http_wapress_redis_fail(conn, text);
        conn->lost = 0;
    }

    link->ac = NULL;
    link->c = NULL;
    link->dead = 1;

    if (link->busy == 0) {
        ngx_free(link);
    }
}


/*
 * What ngx_close_connection() does, except closing the socket: hiredis
 * closes it right after the cleanup hook, and with NGX_CLOSE_EVENT the
 * event modules skip the epoll_ctl()/kevent() that the close makes
 * needless.  c->fd = -1 lets the event loop ignore stale events for it.
 */

static void
ngx_http_wapress_redis_close_connection(ngx_connection_t *c)
{
    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (ngx_del_conn) {
        ngx_del_conn(c, NGX_CLOSE_EVENT);

    } else {
        if (c->read->active || c->read->disabled) {
            ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active || c->write->disabled) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


/*
 * hiredis reads at most 16 KB per call, and an edge-triggered event does
 * not fire again for bytes left in the socket: read until it is empty,
 * and once more if the peer has closed (EPOLLRDHUP) to see the EOF.
 */

static void
ngx_http_wapress_redis_read_handler(ngx_event_t *rev)
{
    ngx_int_t                       n;
    ngx_uint_t                      eof;
    ngx_connection_t               *c;
    ngx_http_wapress_redis_link_t  *link;

    c = rev->data;
    link = c->data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "wapress redis read handler, fd:%d", c->fd);

    link->busy++;
    link->last_read = ngx_current_msec;
    eof = 0;

    for ( ;; ) {
        redisAsyncHandleRead(link->ac);

        if (link->dead) {
            /* c is free (maybe reused) now */
            break;
        }

        n = ngx_http_wapress_redis_nread(c);

        if (n > 0) {
            continue;
        }

        if (n == 0 && rev->pending_eof && !eof) {
            eof = 1;
            continue;
        }

        break;
    }

    ngx_http_wapress_redis_release(link);
}


static ngx_int_t
ngx_http_wapress_redis_nread(ngx_connection_t *c)
{
    int     n;
#if !(NGX_HAVE_FIONREAD)
    u_char  buf[1];
#endif

#if (NGX_HAVE_FIONREAD)

    if (ngx_socket_nread(c->fd, &n) == -1) {
        ngx_log_error(NGX_LOG_ALERT, c->log, ngx_socket_errno,
                      ngx_socket_nread_n " failed");
        return NGX_ERROR;
    }

#else

    n = recv(c->fd, buf, 1, MSG_PEEK);

    if (n == -1) {
        return (ngx_socket_errno == NGX_EAGAIN) ? 0 : NGX_ERROR;
    }

#endif

    return n;
}


static void
ngx_http_wapress_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t               *c;
    ngx_http_wapress_redis_link_t  *link;

    c = wev->data;
    link = c->data;

    if (link->connected && !link->want_write) {
        /* an edge-triggered report, or a post already served */
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "wapress redis write handler, fd:%d", c->fd);

    link->busy++;
    link->writing = 1;

    redisAsyncHandleWrite(link->ac);

    link->writing = 0;

    ngx_http_wapress_redis_release(link);
}


/*
 * The connect deadline; the stall watchdog of a ready connection (replies
 * due and nothing read for NGX_HTTP_WAPRESS_REDIS_STALL ms: a Redis that
 * accepts and never answers would otherwise pile up callbacks forever);
 * or an abort posted by an event hook.
 */

static void
ngx_http_wapress_redis_link_handler(ngx_event_t *ev)
{
    u_char                         *p;
    ngx_msec_t                      idle;
    ngx_http_wapress_redis_conn_t  *conn;
    ngx_http_wapress_redis_link_t  *link;
    u_char                          text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    link = ev->data;
    conn = link->conn;

    if (ev->timedout && link->ready) {
        ev->timedout = 0;

        if (link->ac->replies.head == NULL) {
            return;
        }

        idle = ngx_current_msec - link->last_read;

        if (idle < NGX_HTTP_WAPRESS_REDIS_STALL) {
            ngx_add_timer(ev, NGX_HTTP_WAPRESS_REDIS_STALL - idle);
            return;
        }

        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "replies due and nothing read for %Mms, "
                         "connection dropped", idle);
        *p = '\0';

        ngx_http_wapress_redis_fail(conn, text);

        link->closing = 1;

        if (conn->ac == link->ac) {
            conn->ac = NULL;
        }

    } else if (ev->timedout) {
        ev->timedout = 0;

        if (link->connected) {
            p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                             "no reply to AUTH/SELECT in %Mms",
                             link->timeout);

        } else {
            p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                             "connect timed out (%Mms)", link->timeout);
        }

        *p = '\0';

        ngx_http_wapress_redis_fail(conn, text);

        link->closing = 1;

        if (conn->ac == link->ac) {
            conn->ac = NULL;
        }
    }

    /* pending callbacks get a NULL reply, then our cleanup hook runs */

    link->busy++;

    redisAsyncFree(link->ac);

    ngx_http_wapress_redis_release(link);
}


void
ngx_http_wapress_redis_cleanup(ngx_array_t *servers)
{
    ngx_uint_t                         i;
    ngx_queue_t                       *q;
    ngx_http_wapress_redis_conn_t     *conn;
    ngx_http_wapress_redis_link_t     *link;
    ngx_http_wapress_redis_server_t  **sp;

    if (servers == NULL) {
        return;
    }

    sp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        conn = sp[i]->conn;

        if (conn == NULL) {
            continue;
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
    }
}
