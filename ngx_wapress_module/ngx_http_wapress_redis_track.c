
/*
 * ngx_http_wapress_redis_track.c: the Redis side of invalidate=on.  One
 * connection of its own per followed server (in the worker that follows
 * it, see _track.c) does
 *
 *     CLIENT ID
 *     CLIENT TRACKING on REDIRECT <its own id> BCAST PREFIX p1 PREFIX p2
 *     SUBSCRIBE __redis__:invalidate
 *
 * after the usual AUTH/SELECT: Redis then sends, as messages on that
 * channel, every key with one of the prefixes that any client writes,
 * or that expires, is evicted or deleted (an array of keys), and a nil
 * for FLUSHALL/FLUSHDB.  This works over RESP2 with any hiredis.  A lost
 * connection, or one that never gets that far, is retried every 250 ms
 * (within the connection's own backoff; 5 s after an error reply, such as
 * that of a Redis older than 6.0); tracking state dies with the
 * connection, so every new one sets it up again.
 *
 * A burst of invalidations is bounded per event-loop turn: past
 * NGX_HTTP_WAPRESS_REDIS_TRACK_BUDGET keys in one turn, the rest of the
 * turn's keys are reported as one flush, which loses no invalidation (it
 * widens them to every key) and keeps the worker responsive.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"


#define NGX_HTTP_WAPRESS_REDIS_TRACK_RETRY   250
#define NGX_HTTP_WAPRESS_REDIS_TRACK_RETRY_ERR  5000
#define NGX_HTTP_WAPRESS_REDIS_TRACK_CONNECT 1000
#define NGX_HTTP_WAPRESS_REDIS_TRACK_BUDGET  2000
#define NGX_HTTP_WAPRESS_REDIS_TRACK_CHANNEL "__redis__:invalidate"


typedef struct {
    ngx_http_wapress_redis_server_t  *server;
    ngx_str_t                        *prefixes;
    ngx_uint_t                        nprefixes;
    ngx_http_wapress_redis_track_pt   handler;
    void                             *data;
    ngx_log_t                        *log;
    redisAsyncContext                *ac;        /* being set up, or up */
    ngx_event_t                       retry;
    ngx_msec_t                        turn;      /* of the budget */
    ngx_uint_t                        spent;
    unsigned                          up:1;
    unsigned                          flushed:1; /* this turn, over budget */
    unsigned                          failed:1;  /* said once */
} ngx_http_wapress_redis_tracker_t;


static void ngx_http_wapress_redis_track_start(ngx_event_t *ev);
static void ngx_http_wapress_redis_track_id(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_wapress_redis_track_on(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_wapress_redis_track_message(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_wapress_redis_track_keys(
    ngx_http_wapress_redis_tracker_t *t, redisReply *keys);
static void ngx_http_wapress_redis_track_lost(
    ngx_http_wapress_redis_tracker_t *t, redisAsyncContext *ac,
    redisReply *reply, const char *what);


ngx_int_t
ngx_http_wapress_redis_track(ngx_http_wapress_redis_server_t *srv,
    ngx_str_t *prefixes, ngx_uint_t n,
    ngx_http_wapress_redis_track_pt handler, void *data, ngx_log_t *log)
{
    ngx_http_wapress_redis_tracker_t  *t;

    t = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_http_wapress_redis_tracker_t));
    if (t == NULL) {
        return NGX_ERROR;
    }

    if (srv->track == NULL) {
        srv->track = ngx_http_wapress_redis_conn_new(srv);
        if (srv->track == NULL) {
            return NGX_ERROR;
        }
    }

    t->server = srv;
    t->prefixes = prefixes;
    t->nprefixes = n;
    t->handler = handler;
    t->data = data;
    t->log = log;

    t->retry.handler = ngx_http_wapress_redis_track_start;
    t->retry.data = t;
    t->retry.log = log;
    t->retry.cancelable = 1;

    ngx_http_wapress_redis_track_start(&t->retry);

    return NGX_OK;
}


static void
ngx_http_wapress_redis_track_start(ngx_event_t *ev)
{
    ngx_http_wapress_redis_tracker_t *t = ev->data;

    const char         *err;
    redisAsyncContext  *ac;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ac = ngx_http_wapress_redis_conn_get(t->server->track,
                                         NGX_HTTP_WAPRESS_REDIS_TRACK_CONNECT,
                                         t->log, &err);

    if (ac == NULL
        || redisAsyncCommand(ac, ngx_http_wapress_redis_track_id, t,
                             "CLIENT ID")
           != REDIS_OK)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, t->log, 0,
                       "wapress redis %V: invalidations not followed: %s",
                       &t->server->name, ac ? "closing" : err);

        ngx_add_timer(&t->retry, NGX_HTTP_WAPRESS_REDIS_TRACK_RETRY);
        return;
    }

    t->ac = ac;
}


static void
ngx_http_wapress_redis_track_id(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_wapress_redis_tracker_t *t = privdata;

    u_char       *p, *id;
    size_t       *argvlen;
    ngx_uint_t    i, argc;
    redisReply   *reply;
    const char  **argv;
    u_char        buf[NGX_INT64_LEN];

    reply = r;

    if (ac != t->ac) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ngx_http_wapress_redis_track_lost(t, ac, reply, "CLIENT ID");
        return;
    }

    id = buf;
    p = ngx_sprintf(buf, "%L", (int64_t) reply->integer);

    argc = 6 + 2 * t->nprefixes;

    argv = ngx_alloc(argc * (sizeof(char *) + sizeof(size_t)), t->log);
    if (argv == NULL) {
        ngx_http_wapress_redis_track_lost(t, ac, NULL, "no memory");
        return;
    }

    argvlen = (size_t *) &argv[argc];

    argv[0] = "CLIENT"; argvlen[0] = sizeof("CLIENT") - 1;
    argv[1] = "TRACKING"; argvlen[1] = sizeof("TRACKING") - 1;
    argv[2] = "on"; argvlen[2] = sizeof("on") - 1;
    argv[3] = "REDIRECT"; argvlen[3] = sizeof("REDIRECT") - 1;
    argv[4] = (const char *) id; argvlen[4] = p - id;
    argv[5] = "BCAST"; argvlen[5] = sizeof("BCAST") - 1;

    for (i = 0; i < t->nprefixes; i++) {
        argv[6 + 2 * i] = "PREFIX";
        argvlen[6 + 2 * i] = sizeof("PREFIX") - 1;
        argv[7 + 2 * i] = (const char *) t->prefixes[i].data;
        argvlen[7 + 2 * i] = t->prefixes[i].len;
    }

    if (redisAsyncCommandArgv(ac, ngx_http_wapress_redis_track_on, t,
                              (int) argc, argv, argvlen)
        != REDIS_OK)
    {
        t->ac = NULL;
        ngx_add_timer(&t->retry, NGX_HTTP_WAPRESS_REDIS_TRACK_RETRY);
    }

    ngx_free(argv);
}


static void
ngx_http_wapress_redis_track_on(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_wapress_redis_tracker_t *t = privdata;

    redisReply  *reply;

    reply = r;

    if (ac != t->ac) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_STATUS) {
        ngx_http_wapress_redis_track_lost(t, ac, reply, "CLIENT TRACKING");
        return;
    }

    if (redisAsyncCommand(ac, ngx_http_wapress_redis_track_message, t,
                          "SUBSCRIBE %s",
                          NGX_HTTP_WAPRESS_REDIS_TRACK_CHANNEL)
        != REDIS_OK)
    {
        t->ac = NULL;
        ngx_add_timer(&t->retry, NGX_HTTP_WAPRESS_REDIS_TRACK_RETRY);
    }
}


/* the subscription's callback: "subscribe", then every "message" */

static void
ngx_http_wapress_redis_track_message(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_wapress_redis_tracker_t *t = privdata;

    redisReply  *reply, *kind, *payload;

    reply = r;

    if (ac != t->ac) {
        return;
    }

    if (reply == NULL
        || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        ngx_http_wapress_redis_track_lost(t, ac, reply, "SUBSCRIBE");
        return;
    }

    kind = reply->element[0];
    payload = reply->element[2];

    if (kind->len == sizeof("subscribe") - 1
        && ngx_strncmp(kind->str, "subscribe", kind->len) == 0)
    {
        t->up = 1;
        t->failed = 0;

        ngx_log_error(NGX_LOG_NOTICE, t->log, 0,
                      "wapress: redis %V: following invalidations of %ui "
                      "key prefixes", &t->server->name, t->nprefixes);

        t->handler(NGX_HTTP_WAPRESS_REDIS_TRACK_UP, NULL, t->data);
        return;
    }

    if (kind->len != sizeof("message") - 1
        || ngx_strncmp(kind->str, "message", kind->len) != 0)
    {
        return;
    }

    if (payload->type == REDIS_REPLY_ARRAY) {
        ngx_http_wapress_redis_track_keys(t, payload);
        return;
    }

    /* nil: the database was flushed */

    ngx_log_error(NGX_LOG_INFO, t->log, 0,
                  "wapress: redis %V: the database was flushed",
                  &t->server->name);

    t->handler(NGX_HTTP_WAPRESS_REDIS_TRACK_FLUSH, NULL, t->data);
}


static void
ngx_http_wapress_redis_track_keys(ngx_http_wapress_redis_tracker_t *t,
    redisReply *keys)
{
    size_t       i;
    ngx_str_t    key;
    redisReply  *k;

    if (t->turn != ngx_current_msec) {
        t->turn = ngx_current_msec;
        t->spent = 0;
        t->flushed = 0;
    }

    if (t->flushed) {
        return;
    }

    if (t->spent + keys->elements > NGX_HTTP_WAPRESS_REDIS_TRACK_BUDGET) {
        /* a storm: everything asked until now is refetched instead */

        t->flushed = 1;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, t->log, 0,
                       "wapress redis %V: %uz invalidations in one turn, "
                       "taken as a flush",
                       &t->server->name, t->spent + keys->elements);

        t->handler(NGX_HTTP_WAPRESS_REDIS_TRACK_FLUSH, NULL, t->data);
        return;
    }

    t->spent += keys->elements;

    for (i = 0; i < keys->elements; i++) {
        k = keys->element[i];

        if (k->type != REDIS_REPLY_STRING) {
            continue;
        }

        key.data = (u_char *) k->str;
        key.len = k->len;

        t->handler(NGX_HTTP_WAPRESS_REDIS_TRACK_KEY, &key, t->data);
    }
}


/*
 * The setup failed or the connection is gone: the zones stop trusting
 * their entries (_DOWN), and a new connection is tried shortly.  An
 * error reply (Redis older than 6.0 has no CLIENT TRACKING) is logged
 * once, and the connection dropped.
 */

static void
ngx_http_wapress_redis_track_lost(ngx_http_wapress_redis_tracker_t *t,
    redisAsyncContext *ac, redisReply *reply, const char *what)
{
    t->ac = NULL;

    if (t->up) {
        t->up = 0;

        if (!(ngx_exiting || ngx_quit || ngx_terminate)) {
            /* not at a reload's or a stop's end: the next worker takes on */

            ngx_log_error(NGX_LOG_WARN, t->log, 0,
                          "wapress: redis %V: invalidations no longer "
                          "followed, cache entries fall back to a short "
                          "freshness until they are", &t->server->name);
        }

        t->handler(NGX_HTTP_WAPRESS_REDIS_TRACK_DOWN, NULL, t->data);
    }

    if (reply != NULL) {

        if (!t->failed) {
            t->failed = 1;

            if (reply->type == REDIS_REPLY_ERROR) {
                ngx_log_error(NGX_LOG_ERR, t->log, 0,
                              "wapress: redis %V: %s failed: %*s",
                              &t->server->name, what,
                              (size_t) ngx_min(reply->len, 200), reply->str);

            } else {
                ngx_log_error(NGX_LOG_ERR, t->log, 0,
                              "wapress: redis %V: unexpected reply to %s",
                              &t->server->name, what);
            }
        }

        /* hiredis frees it when this callback returns */
        redisAsyncFree(ac);
    }

    if (!t->retry.timer_set && !(ngx_exiting || ngx_quit || ngx_terminate)) {
        ngx_add_timer(&t->retry, (reply != NULL)
                                 ? NGX_HTTP_WAPRESS_REDIS_TRACK_RETRY_ERR
                                 : NGX_HTTP_WAPRESS_REDIS_TRACK_RETRY);
    }
}
