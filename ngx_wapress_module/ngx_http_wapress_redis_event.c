
/*
 * ngx_http_wapress_redis_event.c: hiredis's socket on nginx's event loop.
 * The socket is wrapped in an nginx connection and hiredis's event hooks
 * (addRead, delRead, addWrite, delWrite) are nginx events; commands
 * queued during one event loop turn leave in one write (a posted event);
 * replies are read until the socket is empty (epoll is edge-triggered,
 * hiredis reads 16 KB per call).  Between reads the reader is watched:
 * a string reply whose announced length is over the limit of the command
 * it answers is not read (the connection is dropped before hiredis
 * gathers it), and a read buffer that grew large is given back once it
 * is empty.  The link's own timer is handled here too: the connect
 * deadline, then the stall watchdog.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"


#define ngx_http_wapress_redis_event_flags()                                  \
    ((ngx_event_flags & NGX_USE_CLEAR_EVENT) ? NGX_CLEAR_EVENT                \
                                             : NGX_LEVEL_EVENT)

#if (HIREDIS_MAJOR >= 1)
#define ngx_http_wapress_redis_task_type(r, i)  ((r)->task[i]->type)
#else
#define ngx_http_wapress_redis_task_type(r, i)  ((r)->rstack[i].type)
#endif


static void ngx_http_wapress_redis_add_read(void *data);
static void ngx_http_wapress_redis_del_read(void *data);
static void ngx_http_wapress_redis_add_write(void *data);
static void ngx_http_wapress_redis_del_write(void *data);
static void ngx_http_wapress_redis_close_connection(ngx_connection_t *c);

static void ngx_http_wapress_redis_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_wapress_redis_nread(ngx_connection_t *c);
static ngx_int_t ngx_http_wapress_redis_check_reply(
    ngx_http_wapress_redis_link_t *link);
static void ngx_http_wapress_redis_shrink(ngx_http_wapress_redis_link_t *link);
static void ngx_http_wapress_redis_write_handler(ngx_event_t *wev);
static void ngx_http_wapress_redis_watchdog(
    ngx_http_wapress_redis_link_t *link);


ngx_connection_t *
ngx_http_wapress_redis_event_attach(ngx_http_wapress_redis_link_t *link,
    redisAsyncContext *ac, ngx_log_t *log)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(ac->c.fd, log);
    if (c == NULL) {
        return NULL;
    }

    c->data = link;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    c->read->handler = ngx_http_wapress_redis_read_handler;
    c->write->handler = ngx_http_wapress_redis_write_handler;
    c->read->log = c->log;
    c->write->log = c->log;

    link->c = c;

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

    return c;
}


void
ngx_http_wapress_redis_event_detach(ngx_http_wapress_redis_link_t *link)
{
    ngx_http_wapress_redis_close_connection(link->c);
    link->c = NULL;
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

    if (link->ac->replies.head != NULL
        && link->ac->replies.head == link->ac->replies.tail)
    {
        /* the only reply due: nothing was due before this command */
        link->due_since = ngx_current_msec;
    }

    if (link->ready && !link->ev.timer_set) {
        /* the stall watchdog: replies are due from now on */
        link->last_read = ngx_current_msec;
        ngx_add_timer(&link->ev,
                      ngx_http_wapress_redis_stall(link->conn->server));
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

        if (ngx_http_wapress_redis_check_reply(link) != NGX_OK) {
            /* dropped: a reply too large */
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

    if (!link->dead) {
        ngx_http_wapress_redis_shrink(link);
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


/*
 * Called after each read: if hiredis is in the middle of a string reply
 * (its "$" read, the reader's cursor on the length), the announced length
 * is compared with the limit of the command that the reply answers, the
 * oldest one due.  Over it, the connection is dropped at once: the reply
 * is never gathered in memory (nor read, at 16 KB a call, while the
 * worker's other events wait).
 */

static ngx_int_t
ngx_http_wapress_redis_check_reply(ngx_http_wapress_redis_link_t *link)
{
    int            type;
    u_char        *p, *last;
    size_t         len, limit;
    redisReader   *r;
    u_char         text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    r = link->ac->c.reader;

    if (r->len > link->peak) {
        link->peak = r->len;
    }

    if (r->ridx < 0) {
        return NGX_OK;
    }

    type = ngx_http_wapress_redis_task_type(r, r->ridx);

    if (type != REDIS_REPLY_STRING
#ifdef REDIS_REPLY_VERB
        && type != REDIS_REPLY_VERB
#endif
       )
    {
        return NGX_OK;
    }

    p = (u_char *) r->buf + r->pos;
    last = (u_char *) r->buf + r->len;
    len = 0;

    /* the digits seen so far: more of them only make it larger */

    while (p < last && *p >= '0' && *p <= '9') {

        if (len >= NGX_MAX_SIZE_T_VALUE / 10 - 10) {
            len = NGX_MAX_SIZE_T_VALUE;
            break;
        }

        len = len * 10 + (*p++ - '0');
    }

    limit = ngx_http_wapress_redis_cmd_limit(link->conn, link->ac);

    if (limit == 0 || len <= limit) {
        return NGX_OK;
    }

    ngx_http_wapress_redis_cmd_too_large(link->ac, len);

    p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "reply of %uz bytes is larger than the limit %uz, "
                     "connection dropped", len, limit);
    *p = '\0';

    ngx_http_wapress_redis_drop(link, NGX_LOG_INFO, text);

    return NGX_DECLINED;
}


/*
 * hiredis keeps its read buffer between replies (reader->maxbuf is 0:
 * freeing and allocating it on nearly every read costs more), so one
 * large reply would keep its memory for the life of the connection.
 * Once the buffer grew past NGX_HTTP_WAPRESS_REDIS_READ_BUF and holds
 * nothing unread, the reader is replaced by a new one.
 */

static void
ngx_http_wapress_redis_shrink(ngx_http_wapress_redis_link_t *link)
{
    redisReader  *r, *nr;

    r = link->ac->c.reader;

    if (link->peak <= NGX_HTTP_WAPRESS_REDIS_READ_BUF || r->pos != r->len) {
        return;
    }

    /* no reply begun: no task, or only the first with its type unread */

    if (r->ridx > 0
        || (r->ridx == 0 && ngx_http_wapress_redis_task_type(r, 0) >= 0)
        || r->reply != NULL)
    {
        return;
    }

    nr = redisReaderCreate();
    if (nr == NULL) {
        return;
    }

    nr->fn = r->fn;
    nr->privdata = r->privdata;
    nr->maxbuf = r->maxbuf;
#if (HIREDIS_MAJOR >= 1)
    nr->maxelements = r->maxelements;
#endif

    redisReaderFree(r);

    link->ac->c.reader = nr;
    link->peak = 0;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, link->conn->log, 0,
                   "wapress redis %V: read buffer given back",
                   &link->conn->server->name);
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
 * The connect deadline (it covers the setup commands too); the stall
 * watchdog of a ready connection; or an abort posted by an event hook.
 */

void
ngx_http_wapress_redis_link_handler(ngx_event_t *ev)
{
    u_char                         *p;
    ngx_uint_t                      level;
    ngx_http_wapress_redis_link_t  *link;
    u_char                          text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    link = ev->data;

    if (ev->timedout && link->ready) {
        ev->timedout = 0;
        ngx_http_wapress_redis_watchdog(link);
        return;
    }

    if (ev->timedout) {
        ev->timedout = 0;

        if (link->connected) {
            /* up, but not answering: like the watchdog, a warning */
            level = NGX_LOG_WARN;

            p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                             "no reply to %s in %Mms",
                             link->conn->server->password.len
                             ? "AUTH" : (link->conn->server->db ? "SELECT"
                                                                : "PING"),
                             link->timeout);

        } else {
            level = NGX_LOG_ERR;

            p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                             "connect timed out (%Mms)", link->timeout);
        }

        *p = '\0';

        ngx_http_wapress_redis_drop(link, level, text);
        return;
    }

    /* posted by ngx_http_wapress_redis_abort() */

    link->busy++;

    redisAsyncFree(link->ac);

    ngx_http_wapress_redis_release(link);
}


/*
 * The stall watchdog judges a connection by the age of its oldest reply
 * due, not by the time since something was read: a server that answers
 * slowly but steadily reads something every few milliseconds while its
 * backlog grows.  A reply due for longer than the longest
 * wapress_redis_timeout of the locations that use this server is of use
 * to nobody, and so is every reply behind it: the connection is dropped
 * (the next command reconnects at once) instead of making each new page
 * wait its deadline behind the backlog.
 */

static void
ngx_http_wapress_redis_watchdog(ngx_http_wapress_redis_link_t *link)
{
    u_char                         *p;
    ngx_msec_t                      since, age, stall;
    ngx_http_wapress_redis_conn_t  *conn;
    u_char                          text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    conn = link->conn;
    stall = ngx_http_wapress_redis_stall(conn->server);

    since = ngx_http_wapress_redis_cmd_oldest(conn);

    if (since) {
        /* written while connecting: due from when the link was ready */

        if ((ngx_msec_int_t) (link->ready_at - since) > 0) {
            since = link->ready_at;
        }

    } else if (link->ac->replies.head != NULL) {
        /*
         * replies due to commands that are not ours: due at least since
         * the last read, or since the first of them was queued
         */
        since = link->last_read;

        if ((ngx_msec_int_t) (link->due_since - since) > 0) {
            since = link->due_since;
        }

    } else {
        /* nothing due: addWrite arms the watchdog again */
        return;
    }

    age = ngx_current_msec - since;

    if (age < stall) {
        ngx_add_timer(&link->ev, stall - age);
        return;
    }

    p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "a reply due for %Mms (limit %Mms), connection "
                     "dropped", age, stall);
    *p = '\0';

    /* warn: the pages waiting on it have logged their timeouts already */

    ngx_http_wapress_redis_drop(link, NGX_LOG_WARN, text);
}
