
/*
 * ngx_http_wapress_redis_int.h: what the Redis layer's own files share
 * (ngx_http_wapress_redis*.c), hiredis types included.  Nothing outside
 * the layer includes it: the rest of the module sees
 * ngx_http_wapress_redis.h only.
 *
 * The layer's files: _redis.c (a connection's life: connect, health and
 * backoff, the watchdog, the end), _redis_setup.c (a new connection's
 * handshake: AUTH/SELECT/ROLE/READONLY or PING), _redis_event.c
 * (hiredis's socket on nginx's event loop, and the reader's limits),
 * _redis_cmd.c (the command API and its bounded queue), _redis_conf.c
 * (the wapress_redis directive), _redis_track.c (the invalidation
 * subscription), _redis_sentinel.c (where a Sentinel-managed primary
 * and its replicas are), _redis_cluster.c (a Redis Cluster's nodes and
 * slot map), _redis_cluster_route.c (which node a command goes to, MOVED
 * and ASK), _redis_slot.c (a key's hash slot), _redis_resolve.c (host
 * names re-resolved through nginx's resolver).
 */


#ifndef _NGX_HTTP_WAPRESS_REDIS_INT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REDIS_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_wapress_redis.h"
#include "ngx_http_wapress_stats.h"


#define NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN    256

/* commands handed to hiredis and not answered yet, per connection */
#define NGX_HTTP_WAPRESS_REDIS_MAX_FLIGHT    256

/* commands waiting for a place among those, per connection */
#define NGX_HTTP_WAPRESS_REDIS_MAX_WAITING   16384

/* a read buffer that grew past this is given back once it is empty */
#define NGX_HTTP_WAPRESS_REDIS_READ_BUF      (64 * 1024)

/* a command that has no key, or not a cluster's: no slot */
#define NGX_HTTP_WAPRESS_REDIS_NO_SLOT       0xffff

/* the watchdog's threshold when no location gave a wapress_redis_timeout */
#define NGX_HTTP_WAPRESS_REDIS_STALL         3000


#define ngx_http_wapress_redis_stall(srv)                                     \
    ((srv)->stall ? (srv)->stall : NGX_HTTP_WAPRESS_REDIS_STALL)


typedef struct ngx_http_wapress_redis_link_s  ngx_http_wapress_redis_link_t;


/*
 * One hiredis context and the nginx connection that carries its socket.
 * It lives from redisAsyncConnect() until hiredis calls our cleanup hook
 * (or, if a handler of ours is on the stack then, until it returns).
 */
struct ngx_http_wapress_redis_link_s {
    ngx_queue_t                      queue;      /* in conn->links */
    redisAsyncContext               *ac;
    ngx_connection_t                *c;
    ngx_http_wapress_redis_conn_t   *conn;
    ngx_event_t                      ev;         /* connect deadline, then
                                                    the stall watchdog, or
                                                    posted to abort */
    ngx_msec_t                       timeout;
    ngx_msec_t                       last_read;
    ngx_msec_t                       ready_at;
    ngx_msec_t                       due_since;
    ngx_uint_t                       busy;       /* our frames on the stack */
    ngx_uint_t                       setup;      /* setup replies due */
    size_t                           peak;       /* of the read buffer */

    unsigned                         connected:1;
    unsigned                         ready:1;    /* a good reply came */
    unsigned                         writing:1;  /* in redisAsyncHandleWrite */
    unsigned                         want_write:1;
    unsigned                         closing:1;  /* ended by us, logged */
    unsigned                         dead:1;     /* hiredis cleaned it up */

    /* why we ended it, for the commands it takes along; or empty */
    u_char                           reason[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
};


/* per worker, per server; allocated from the cycle pool on first use */
struct ngx_http_wapress_redis_conn_s {
    ngx_http_wapress_redis_server_t  *server;
    redisAsyncContext                *ac;        /* the one to use, or NULL */
    ngx_queue_t                       links;     /* every live context */
    ngx_log_t                        *log;
    ngx_msec_t                        next_attempt;
    ngx_msec_t                        delay;     /* current backoff */
    ngx_uint_t                        failures;  /* consecutive */

    ngx_queue_t                       flight;    /* commands in hiredis */
    ngx_queue_t                       waiting;   /* commands not yet there */
    ngx_uint_t                        nflight;
    ngx_uint_t                        nwaiting;

    /* a resolution of the server's host name under way (or NULL) */
    ngx_resolver_ctx_t               *resolve;
    ngx_msec_t                        connect_timeout;

    /* called once, when the resolution under way has ended */
    void                            (*resolved)(
                                        ngx_http_wapress_redis_conn_t *conn);
    void                             *data;

    unsigned                          exiting:1;
    unsigned                          lost:1;    /* a ready one dropped */
    unsigned                          flushing:1;
    unsigned                          replica:1; /* a Sentinel's replica's */
    u_char                            errstr[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
    u_char                            err[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
    u_char                            why[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
};


/*
 * _redis.c.  Returns the worker's connection context for "srv", connected
 * or still connecting (commands may be queued on it at once: hiredis
 * writes them after the setup commands once connected), starting a
 * connection if there is none and the backoff allows.  Returns NULL when
 * the server cannot be used now; *err then says why (a NUL-terminated
 * text, valid until the next call for this server, e.g. "redis
 * 127.0.0.1:6379: connect failed: Connection refused, next attempt in
 * 400ms").  Commands are written in one batch per event loop turn (the
 * write is a posted event).
 */
redisAsyncContext *ngx_http_wapress_redis_get(
    ngx_http_wapress_redis_server_t *srv, ngx_msec_t connect_timeout,
    ngx_log_t *log, const char **err);

/*
 * Ends a link on purpose; its commands fail, saying "text".  At "level"
 * NGX_LOG_ERR or NGX_LOG_WARN it is a failure: it counts for the backoff
 * and is logged at that level (a failure of the same kind as the last
 * one at info); at NGX_LOG_INFO (a reply over its limit: not the
 * server's fault) it is logged at info and the next command reconnects
 * at once.
 */
void ngx_http_wapress_redis_drop(ngx_http_wapress_redis_link_t *link,
    ngx_uint_t level, u_char *text);

/*
 * Starts a connect of "conn" to the server's address (srv->host, the
 * Sentinels' node, or the unix socket): NGX_OK with conn->ac set, or
 * NGX_ERROR, the failure recorded (the backoff) and logged.
 */
ngx_int_t ngx_http_wapress_redis_connect(ngx_http_wapress_redis_conn_t *conn,
    ngx_msec_t connect_timeout);

/* records a failed attempt: the backoff, one log line */
void ngx_http_wapress_redis_fail(ngx_http_wapress_redis_conn_t *conn,
    u_char *text, ngx_uint_t level);

/*
 * _redis_setup.c: the handshake of a new link: _setup() queues the setup
 * commands (AUTH, SELECT, ROLE, READONLY, or PING) as connect(2) starts;
 * _connected() is hiredis's connect callback.  The link is ready (and
 * the backoff reset) when every setup reply came back right.
 */
void ngx_http_wapress_redis_setup(ngx_http_wapress_redis_link_t *link);
void ngx_http_wapress_redis_connected(const redisAsyncContext *ac,
    int status);

/* one of our frames leaves: frees a link that died meanwhile */
void ngx_http_wapress_redis_release(ngx_http_wapress_redis_link_t *link);

/* an event hook failed where the context cannot be freed: posted */
void ngx_http_wapress_redis_abort(ngx_http_wapress_redis_link_t *link);

/* hiredis's cleanup hook (the context dies) */
void ngx_http_wapress_redis_ev_cleanup(void *data);

/*
 * Why a command on "ac" got no reply (hiredis gave it a NULL reply): a
 * NUL-terminated text such as "redis 127.0.0.1:6379: connect failed:
 * Connection refused".
 */
u_char *ngx_http_wapress_redis_why(ngx_http_wapress_redis_conn_t *conn,
    const redisAsyncContext *ac);

/* the link's handler of its own timer: connect deadline and watchdog */
void ngx_http_wapress_redis_link_handler(ngx_event_t *ev);

/* _redis_event.c: hooks hiredis's context "ac" to the nginx connection */
ngx_connection_t *ngx_http_wapress_redis_event_attach(
    ngx_http_wapress_redis_link_t *link, redisAsyncContext *ac,
    ngx_log_t *log);

/* the context is gone: the nginx connection is freed, the socket kept */
void ngx_http_wapress_redis_event_detach(ngx_http_wapress_redis_link_t *link);

/* _redis_cmd.c */

/* a command, from _send() until its handler ran or it was cancelled */
struct ngx_http_wapress_redis_cmd_s {
    ngx_queue_t                         queue;      /* conn->flight or
                                                       conn->waiting */
    ngx_http_wapress_redis_conn_t      *conn;
    ngx_http_wapress_redis_handler_pt   handler;
    void                               *data;
    size_t                              max_size;
    size_t                              too_large;  /* announced length */
    ngx_msec_t                          sent;
    ngx_msec_t                          connect_timeout;
    ngx_uint_t                          slot;       /* a cluster's, or
                                                       _CLUSTER_NONE */
    ngx_uint_t                          redirects;  /* MOVED, ASK */
    size_t                              len;        /* of the RESP bytes */
    u_char                             *resp;       /* follow the struct */
    unsigned                            cancelled:1;
    unsigned                            waiting:1;
    unsigned                            replica:1;  /* a read on a replica */
    unsigned                            fellback:1; /* re-sent to the
                                                       primary */
};

/*
 * The command goes (again) to "conn": written at once if the cap allows
 * and nothing waits, else it waits.  With "asking", ASKING is written
 * right before it, bypassing the waiting ones (a redirect: bounded by
 * _CLUSTER_REDIRECTS per command).  NGX_ERROR: the context is closing.
 */
ngx_int_t ngx_http_wapress_redis_cmd_resend(
    ngx_http_wapress_redis_conn_t *conn, redisAsyncContext *ac,
    ngx_http_wapress_redis_cmd_t *cmd, ngx_uint_t asking);

/* the largest reply the oldest command due may read (0: no limit) */
size_t ngx_http_wapress_redis_cmd_limit(ngx_http_wapress_redis_conn_t *conn,
    redisAsyncContext *ac);

/* the oldest command due on "ac" gets _TOO_LARGE instead of _LOST */
void ngx_http_wapress_redis_cmd_too_large(redisAsyncContext *ac, size_t len);

/* when the oldest command in flight was written, or 0 if none is */
ngx_msec_t ngx_http_wapress_redis_cmd_oldest(
    ngx_http_wapress_redis_conn_t *conn);

/* hands waiting commands to the connection while the cap allows */
void ngx_http_wapress_redis_cmd_flush(ngx_http_wapress_redis_conn_t *conn);

/* the connection is gone: the waiting commands fail */
void ngx_http_wapress_redis_cmd_fail_waiting(
    ngx_http_wapress_redis_conn_t *conn, ngx_uint_t failure, u_char *why);

/*
 * wapress_status counts the connection the commands share, not the
 * invalidation subscription's
 */
#define ngx_http_wapress_redis_stats(conn, event, value)                     \
    if ((conn) == (conn)->server->conn) {                                     \
        ngx_http_wapress_stats_redis((conn)->server->parent                   \
                                     ? (conn)->server->parent                 \
                                     : (conn)->server, event, value);         \
    }


/*
 * A connection of the worker's own to "srv", apart from the one the
 * commands share (the invalidation subscription's), and the same as
 * ngx_http_wapress_redis_get() for it: connected or connecting, backoff.
 */
ngx_http_wapress_redis_conn_t *ngx_http_wapress_redis_conn_new(
    ngx_http_wapress_redis_server_t *srv);
redisAsyncContext *ngx_http_wapress_redis_conn_get(
    ngx_http_wapress_redis_conn_t *conn, ngx_msec_t connect_timeout,
    ngx_log_t *log, const char **err);

void ngx_http_wapress_redis_conn_free(ngx_http_wapress_redis_conn_t *conn);

/* read= of the sentinel and cluster forms */
#define NGX_HTTP_WAPRESS_REDIS_READ_PRIMARY  0
#define NGX_HTTP_WAPRESS_REDIS_READ_REPLICA  1
#define NGX_HTTP_WAPRESS_REDIS_READ_PREFER   2

/*
 * _redis_conf.c, for the sentinel and cluster forms: the read= value
 * (empty: primary) as one of the above, or NGX_ERROR (logged); and the
 * directive's arguments joined, the key that tells two such servers
 * apart (NULL data: no memory).
 */
ngx_int_t ngx_http_wapress_redis_parse_read(ngx_conf_t *cf, ngx_str_t *read);
ngx_str_t ngx_http_wapress_redis_args_key(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs);

/* _redis_conf.c: "host[:port]" or "unix:/path" into srv, resolved now */
ngx_int_t ngx_http_wapress_redis_parse_address(ngx_conf_t *cf,
    ngx_str_t *addr, ngx_http_wapress_redis_server_t *srv,
    in_port_t default_port);


/*
 * _redis_resolve.c.  _parse(): a "HOST[:PORT]" whose HOST is a name is
 * kept as a name (srv->hostname; resolved later, by
 * ngx_http_wapress_redis_resolve_init()); NGX_DECLINED: not a name.
 * _start(): a new connection of a server with a resolver resolves the
 * name first; NGX_OK: connecting (conn->ac), NGX_AGAIN: resolving
 * (conn->resolve; commands wait in conn->waiting), NGX_ERROR: failed,
 * recorded as a failed connect; conn->resolved, if set meanwhile, is
 * called when it ends.  _cancel(): the worker exits.
 */
ngx_int_t ngx_http_wapress_redis_resolve_parse(ngx_conf_t *cf,
    ngx_str_t *addr, ngx_http_wapress_redis_server_t *srv,
    in_port_t default_port);
ngx_int_t ngx_http_wapress_redis_resolve_start(
    ngx_http_wapress_redis_conn_t *conn, ngx_msec_t connect_timeout);
void ngx_http_wapress_redis_resolve_cancel(
    ngx_http_wapress_redis_conn_t *conn);


/*
 * _redis_sentinel.c, the hooks of "wapress_redis sentinel" in the layer:
 *
 * _parse(): the directive's form "sentinel HOST:PORT ... master=NAME ...";
 * _addr(): where "conn" connects now (the primary, or for a replica
 * connection the replica), NGX_DECLINED with conn->err set if unknown;
 * _role(): a new connection's ROLE reply: NGX_DECLINED (text says why)
 * when the primary's connection reached a node that is not a master;
 * _route(): a read command's connection (a replica's, or NULL: the
 * primary's, srv->conn), as read= says;
 * _cleanup(): the worker exits.
 */
char *ngx_http_wapress_redis_sentinel_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_array_t *servers,
    ngx_http_wapress_redis_server_t **srv);
ngx_int_t ngx_http_wapress_redis_sentinel_addr(
    ngx_http_wapress_redis_conn_t *conn, const char **host, in_port_t *port);
ngx_int_t ngx_http_wapress_redis_sentinel_role(
    ngx_http_wapress_redis_link_t *link, redisReply *reply, u_char *text);
redisAsyncContext *ngx_http_wapress_redis_sentinel_route(
    ngx_http_wapress_redis_server_t *srv, ngx_str_t *argv, ngx_uint_t argc,
    ngx_msec_t connect_timeout, ngx_log_t *log,
    ngx_http_wapress_redis_conn_t **conn);
void ngx_http_wapress_redis_sentinel_cleanup(
    ngx_http_wapress_redis_server_t *srv);


/*
 * _redis_cluster*.c, the hooks of "wapress_redis cluster" in the layer:
 *
 * _parse(): the directive's form "cluster HOST:PORT ... [read=...]";
 * _init_process(): the worker's node table and slot map, asked for;
 * _route(): the connection of a command (argv[1], its key, gives the
 * slot, *slot; a read on a replica sets *replica), NULL with *err set;
 * _redirect(): an error reply: MOVED or ASK re-sends the command and
 * returns NGX_OK, else NGX_DECLINED;
 * _primary(): the primary's connection for a read that failed on a
 * replica (conn->server is a node's), or NULL;
 * _lost(): a node's connection ended: the map is asked again;
 * _cleanup(): the worker exits.
 */
char *ngx_http_wapress_redis_cluster_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_array_t *servers,
    ngx_http_wapress_redis_server_t **srv);
ngx_int_t ngx_http_wapress_redis_cluster_init_process(
    ngx_http_wapress_redis_server_t *srv);
redisAsyncContext *ngx_http_wapress_redis_cluster_route(
    ngx_http_wapress_redis_server_t *srv, ngx_str_t *argv, ngx_uint_t argc,
    ngx_msec_t connect_timeout, ngx_log_t *log,
    ngx_http_wapress_redis_conn_t **conn, ngx_uint_t *slot,
    ngx_uint_t *replica, const char **err);
ngx_int_t ngx_http_wapress_redis_cluster_redirect(
    ngx_http_wapress_redis_cmd_t *cmd, redisReply *reply);
redisAsyncContext *ngx_http_wapress_redis_cluster_primary(
    ngx_http_wapress_redis_cmd_t *cmd, ngx_http_wapress_redis_conn_t **conn);
void ngx_http_wapress_redis_cluster_lost(ngx_http_wapress_redis_conn_t *conn);
void ngx_http_wapress_redis_cluster_cleanup(
    ngx_http_wapress_redis_server_t *srv);


#endif /* _NGX_HTTP_WAPRESS_REDIS_INT_H_INCLUDED_ */
