
/*
 * ngx_http_wapress_redis.h: the Redis layer as the rest of the module sees
 * it: the wapress_redis servers, and "send this command, call me back".
 * hiredis stays inside the layer (ngx_http_wapress_redis*.c, with their
 * private header ngx_http_wapress_redis_int.h): no hiredis type appears
 * here.  Nothing in the layer blocks the worker.
 */


#ifndef _NGX_HTTP_WAPRESS_REDIS_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct ngx_http_wapress_redis_conn_s  ngx_http_wapress_redis_conn_t;
typedef struct ngx_http_wapress_redis_sentinel_s
    ngx_http_wapress_redis_sentinel_t;
typedef struct ngx_http_wapress_redis_cluster_s
    ngx_http_wapress_redis_cluster_t;
typedef struct ngx_http_wapress_redis_server_s
    ngx_http_wapress_redis_server_t;


struct ngx_http_wapress_redis_server_s {
    ngx_str_t                        name;       /* as configured, for logs */
    ngx_str_t                        host;       /* IP literal, NUL-terminated;
                                                    empty for unix sockets */
    ngx_str_t                        unix_path;  /* NUL-terminated or empty */
    in_port_t                        port;
    ngx_int_t                        db;         /* 0: no SELECT */
    ngx_str_t                        user;       /* empty: no ACL user */
    ngx_str_t                        password;   /* empty: no AUTH */

    /* of the locations that use this server, the largest ... */
    size_t                           max_reply;  /* ... max_size */
    ngx_msec_t                       stall;      /* ... timeout + 100ms */

    /* the worker's connection, created on first use */
    ngx_http_wapress_redis_conn_t   *conn;

    /* the invalidation subscription's, in the worker that follows it */
    ngx_http_wapress_redis_conn_t   *track;

    /*
     * "wapress_redis sentinel ...": the Sentinels say where the primary
     * (and the replicas) are; host, port and unix_path are then unused.
     * NULL for "wapress_redis ADDRESS".
     */
    ngx_http_wapress_redis_sentinel_t  *sentinel;

    /*
     * "wapress_redis cluster ...": the slot map says which node a key's
     * command goes to; host, port and unix_path are then unused.  NULL
     * for the other forms.
     */
    ngx_http_wapress_redis_cluster_t   *cluster;

    /*
     * a cluster node's server (per worker, made by the layer): the
     * cluster's server, whose counters its connection's events go to
     */
    ngx_http_wapress_redis_server_t    *parent;

    /* a cluster node's connection says READONLY (read=replica) */
    unsigned                            readonly:1;
};


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
#define NGX_HTTP_WAPRESS_REDIS_TOO_LARGE     2   /* reply over max_size;
                                                    integer: its length */
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
    int64_t                          integer;    /* _INTEGER, _TOO_LARGE */
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
 * read into memory: the command FAILS with _TOO_LARGE (integer: the
 * announced length), and the connection is made again.
 *
 * A connection has at most 256 commands in flight; the others wait in
 * the layer (written as replies come, oldest first), at most 16384.
 *
 * Returns the command: its handler is then called exactly once, later,
 * from the event loop (never from inside this call), unless the caller
 * cancels it first.  A _FAILED reply's str names the server and the
 * cause, e.g. "redis 127.0.0.1:6379 db=2: connection lost: Server closed
 * the connection".  Returns NULL if the server cannot be used now (no
 * connection and the backoff forbids one, too many commands waiting, the
 * worker is exiting, no memory): *err then says why in a NUL-terminated
 * text valid until the next call for this server, e.g. "redis
 * 127.0.0.1:6379: connect failed: Connection refused, next attempt in
 * 400ms"; the handler is never called.
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


/*
 * Follows the invalidations of keys beginning with one of prefixes[0 ..
 * n - 1] (n == 0: every key), written, expired, evicted or deleted on
 * "srv" (CLIENT TRACKING in broadcasting mode, redirected to the same
 * connection, subscribed to __redis__:invalidate: RESP2, any hiredis).
 * The handler is told _UP when the subscription is made, _KEY for each
 * key, _FLUSH when the whole database goes (FLUSHALL, FLUSHDB), and
 * _DOWN when the connection is lost; the layer reconnects by itself
 * (at once, then backing off up to 5 s).  For the worker's life.
 */
#define NGX_HTTP_WAPRESS_REDIS_TRACK_UP      1
#define NGX_HTTP_WAPRESS_REDIS_TRACK_DOWN    2
#define NGX_HTTP_WAPRESS_REDIS_TRACK_KEY     3
#define NGX_HTTP_WAPRESS_REDIS_TRACK_FLUSH   4

typedef void (*ngx_http_wapress_redis_track_pt)(ngx_uint_t event,
    ngx_str_t *key, void *data);

ngx_int_t ngx_http_wapress_redis_track(ngx_http_wapress_redis_server_t *srv,
    ngx_str_t *prefixes, ngx_uint_t n,
    ngx_http_wapress_redis_track_pt handler, void *data, ngx_log_t *log);


/*
 * Parses "ADDRESS [db=N] [password=P] [user=U]" (args[0..nargs-1], the
 * directive name excluded); ADDRESS is host[:port] (default port 6379) or
 * unix:/path.  Host names are resolved here, at configuration time.
 * Identical servers are shared: the result is found in or added to
 * "servers" (an array of ngx_http_wapress_redis_server_t *).
 */
char *ngx_http_wapress_redis_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_array_t *servers,
    ngx_http_wapress_redis_server_t **srv);

/* the wapress_redis directive */
char *ngx_http_wapress_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* wapress_redis_connect_timeout's post handler: 0 is rejected */
extern ngx_conf_post_t  ngx_http_wapress_redis_connect_timeout_post;

/*
 * A location uses "srv" with this wapress_redis_timeout and
 * wapress_fragment_max_size (called when the configuration is merged):
 * the connection's reader limit and stall watchdog follow the largest.
 */
void ngx_http_wapress_redis_use(ngx_http_wapress_redis_server_t *srv,
    ngx_msec_t timeout, size_t max_size);

/*
 * init_process: every "wapress_redis sentinel" server asks its Sentinels
 * where its primary is and subscribes to their +switch-master
 */
ngx_int_t ngx_http_wapress_redis_sentinel_init_process(ngx_array_t *servers);

/*
 * init_process: the above, and every "wapress_redis cluster" server asks
 * its seed nodes for the slot map
 */
ngx_int_t ngx_http_wapress_redis_init_process(ngx_array_t *servers);

/* exit_process: frees every connection of this worker */
void ngx_http_wapress_redis_cleanup(ngx_array_t *servers);


#endif /* _NGX_HTTP_WAPRESS_REDIS_H_INCLUDED_ */
