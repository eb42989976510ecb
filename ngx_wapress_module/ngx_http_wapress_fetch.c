
/*
 * ngx_http_wapress_fetch.c: sends all of a page's lookups (GET, or HGET
 * with field=) at once on the worker's shared Redis connection and turns
 * each reply into the fragment's HTML.
 *
 * Replies can arrive after the request is gone (client closed, deadline
 * passed): hiredis is given, as private data, slots of a "batch" that is
 * allocated outside the request pool.  The request detaches from the
 * batch when it stops waiting; the batch is freed by whichever comes
 * last, the request letting go or the last reply (hiredis calls every
 * callback exactly once, with a NULL reply if the connection drops).
 *
 * With wapress_cache, a fragment is looked up in the shared zone before
 * it is asked: a copy younger than valid= is used as is (HIT).  Replies
 * (values rendered, and nils) are stored.  When Redis cannot answer
 * (unreachable, lost connection, error reply, deadline), a copy younger
 * than stale= stands in (STALE); a nil is an answer and is never masked.
 * With stale_while_revalidate, an expired copy is used at once
 * (UPDATING) and one refresh per key is sent, with private data of its
 * own that points into no request; its reply only updates the zone.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_fetch.h"
#include "ngx_http_wapress_fragment.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_stats.h"


typedef struct {
    ngx_http_wapress_batch_t        *batch;
    ngx_uint_t                       fragment;
} ngx_http_wapress_slot_t;


struct ngx_http_wapress_batch_s {
    ngx_http_wapress_ctx_t          *ctx;        /* NULL: detached */
    ngx_http_wapress_batch_t        *next;       /* of the same request */
    ngx_uint_t                       pending;    /* callbacks to come */
    ngx_http_wapress_redis_server_t *server;     /* for wapress_status */
    ngx_msec_t                       sent;
    ngx_http_wapress_slot_t          slots[1];
};


/* a stale_while_revalidate refresh: belongs to no request */
typedef struct {
    ngx_http_wapress_loc_conf_t     *conf;       /* the worker's cycle's */
    ngx_uint_t                       fragment;
    ngx_str_t                        key;        /* in data */
    ngx_str_t                        field;      /* in data */
    u_char                           data[1];
} ngx_http_wapress_refresh_t;


static u_char *ngx_http_wapress_fetch_arg(u_char *p, ngx_str_t *arg);
static void ngx_http_wapress_fetch_cleanup(void *data);
static void ngx_http_wapress_fetch_reply(redisAsyncContext *ac, void *rep,
    void *privdata);
static void ngx_http_wapress_fetch_result(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i, redisAsyncContext *ac, redisReply *reply);
static void ngx_http_wapress_fetch_fail(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i, const char *cause);

static void ngx_http_wapress_fetch_times(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_http_wapress_fragment_t *frag, ngx_msec_t *valid, ngx_msec_t *stale);
static ngx_int_t ngx_http_wapress_fetch_cached(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i);
static void ngx_http_wapress_fetch_store(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_str_t *key, ngx_str_t *field, ngx_str_t *value,
    ngx_uint_t missing);
static void ngx_http_wapress_fetch_refresh(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i);
static void ngx_http_wapress_fetch_refreshed(redisAsyncContext *ac,
    void *rep, void *privdata);
static void ngx_http_wapress_log_stale(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i, const char *cause, ngx_msec_t age);


ngx_int_t
ngx_http_wapress_fetch(ngx_http_wapress_ctx_t *ctx, ngx_uint_t *frags,
    ngx_uint_t n)
{
    size_t                        len;
    u_char                       *cmd, *p;
    ngx_int_t                     rc;
    ngx_uint_t                    i, k, asked;
    const char                   *err;
    redisAsyncContext            *ac;
    ngx_http_request_t           *r;
    ngx_http_wapress_batch_t     *batch;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;
    ngx_http_wapress_loc_conf_t  *wlcf;

    if (n == 0) {
        return NGX_OK;
    }

    r = ctx->request;
    wlcf = ctx->conf;
    frag = wlcf->fragments->elts;
    asked = 0;

    for (k = 0; k < n; k++) {
        i = frags[k];
        res = &ctx->results[i];

        if (res->state != NGX_HTTP_WAPRESS_UNASKED) {
            continue;
        }

        if (ngx_http_complex_value(r, &frag[i].key, &res->key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (frag[i].field != NULL
            && ngx_http_complex_value(r, frag[i].field, &res->field)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (wlcf->cache == NULL) {
            res->cache = NGX_HTTP_WAPRESS_CACHE_BYPASS;

        } else {
            rc = ngx_http_wapress_fetch_cached(ctx, i);

            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc == NGX_OK) {
                /* served from the zone */
                continue;
            }
        }

        res->state = NGX_HTTP_WAPRESS_PENDING;
        asked++;
    }

    if (asked == 0) {
        return NGX_OK;
    }

    ac = ngx_http_wapress_redis_get(wlcf->redis, wlcf->connect_timeout,
                                    r->connection->log, &err);

    batch = NULL;

    if (ac != NULL) {
        batch = ngx_alloc(sizeof(ngx_http_wapress_batch_t)
                          + (asked - 1) * sizeof(ngx_http_wapress_slot_t),
                          r->connection->log);
        if (batch == NULL) {
            return NGX_ERROR;
        }

        batch->ctx = ctx;
        batch->pending = 0;
        batch->server = wlcf->redis;
        batch->sent = ngx_current_msec;
        batch->next = ctx->batches;
        ctx->batches = batch;
    }

    for (k = 0; k < n; k++) {
        i = frags[k];
        res = &ctx->results[i];

        if (res->state != NGX_HTTP_WAPRESS_PENDING) {
            continue;
        }

        if (ac == NULL) {
            ngx_http_wapress_fetch_fail(ctx, i, err);
            continue;
        }

        /*
         * The command is written in RESP here, with the key and field as
         * length-prefixed arguments: hiredis's own formatting costs more
         * than the whole lookup otherwise does.
         */

        len = sizeof("*3\r\n$4\r\nHGET\r\n") - 1
              + 2 * (sizeof("$\r\n\r\n") - 1 + NGX_SIZE_T_LEN)
              + res->key.len + res->field.len;

        cmd = ngx_pnalloc(r->pool, len);
        if (cmd == NULL) {
            return NGX_ERROR;
        }

        if (frag[i].field == NULL) {
            p = ngx_cpymem(cmd, "*2\r\n$3\r\nGET\r\n",
                           sizeof("*2\r\n$3\r\nGET\r\n") - 1);
            p = ngx_http_wapress_fetch_arg(p, &res->key);

        } else {
            p = ngx_cpymem(cmd, "*3\r\n$4\r\nHGET\r\n",
                           sizeof("*3\r\n$4\r\nHGET\r\n") - 1);
            p = ngx_http_wapress_fetch_arg(p, &res->key);
            p = ngx_http_wapress_fetch_arg(p, &res->field);
        }

        batch->slots[batch->pending].batch = batch;
        batch->slots[batch->pending].fragment = i;

        if (redisAsyncFormattedCommand(ac, ngx_http_wapress_fetch_reply,
                                       &batch->slots[batch->pending],
                                       (char *) cmd, p - cmd)
            != REDIS_OK)
        {
            ngx_http_wapress_fetch_fail(ctx, i,
                                        "the Redis connection is closing");
            continue;
        }

        batch->pending++;
        ctx->waiting++;
        ngx_http_wapress_stats_redis(wlcf->redis,
                                     NGX_HTTP_WAPRESS_STATS_SENT, 0);
    }

    return NGX_OK;
}


/* a RESP bulk string: "$" length CRLF bytes CRLF */

static u_char *
ngx_http_wapress_fetch_arg(u_char *p, ngx_str_t *arg)
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
ngx_http_wapress_fetch_detach(ngx_http_wapress_ctx_t *ctx,
    const char *cause)
{
    ngx_uint_t                 i;
    ngx_http_wapress_batch_t  *batch, *next;

    for (batch = ctx->batches; batch; batch = next) {
        next = batch->next;

        if (batch->pending == 0) {
            ngx_free(batch);
            continue;
        }

        /* the replies still to come free it */
        batch->ctx = NULL;
    }

    ctx->batches = NULL;
    ctx->waiting = 0;

    if (ctx->conf->fragments == NULL) {
        return;
    }

    for (i = 0; i < ctx->conf->fragments->nelts; i++) {
        if (ctx->results[i].state == NGX_HTTP_WAPRESS_PENDING) {

            if (cause != NULL) {
                /* the deadline: a stale copy may stand in */
                ngx_http_wapress_fetch_fail(ctx, i, cause);

            } else {
                ctx->results[i].state = NGX_HTTP_WAPRESS_FAILED;
            }
        }
    }
}


ngx_http_wapress_ctx_t *
ngx_http_wapress_ctx_create(ngx_http_request_t *r,
    ngx_http_wapress_loc_conf_t *wlcf, size_t extra,
    ngx_http_wapress_wake_pt wake, ngx_event_handler_pt handler)
{
    ngx_uint_t               n;
    ngx_pool_cleanup_t      *cln;
    ngx_http_wapress_ctx_t  *ctx;

    n = wlcf->fragments ? wlcf->fragments->nelts : 0;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_wapress_ctx_t)
                               + n * sizeof(ngx_http_wapress_result_t)
                               + extra);
    if (ctx == NULL) {
        return NULL;
    }

    ctx->request = r;
    ctx->conf = wlcf;
    ctx->results = (ngx_http_wapress_result_t *) &ctx[1];

    ctx->wake = wake;
    ctx->event.handler = handler;
    ctx->event.data = ctx;
    ctx->event.log = r->connection->log;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_wapress_fetch_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_wapress_module);
    ngx_http_wapress_stats_page(ctx);

    return ctx;
}


static void
ngx_http_wapress_fetch_cleanup(void *data)
{
    ngx_http_wapress_ctx_t *ctx = data;

    if (ctx->event.timer_set) {
        ngx_del_timer(&ctx->event);
    }

    if (ctx->event.posted) {
        ngx_delete_posted_event(&ctx->event);
    }

    ngx_http_wapress_fetch_detach(ctx, NULL);
}


static void
ngx_http_wapress_fetch_reply(redisAsyncContext *ac, void *rep,
    void *privdata)
{
    ngx_http_wapress_slot_t *slot = privdata;

    ngx_http_wapress_ctx_t    *ctx;
    ngx_http_wapress_batch_t  *batch;

    batch = slot->batch;
    batch->pending--;
    ctx = batch->ctx;
    ngx_http_wapress_stats_redis(batch->server,
                                 rep ? NGX_HTTP_WAPRESS_STATS_REPLY
                                     : NGX_HTTP_WAPRESS_STATS_DROPPED,
                                 ngx_current_msec - batch->sent);

    if (ctx == NULL) {
        /* a late reply: its request is gone */

        if (batch->pending == 0) {
            ngx_free(batch);
        }

        return;
    }

    ngx_http_wapress_fetch_result(ctx, slot->fragment, ac, rep);

    ctx->waiting--;

    if (ctx->waiting == 0 || ctx->wake_each) {
        ctx->wake(ctx);
    }
}


static void
ngx_http_wapress_fetch_result(ngx_http_wapress_ctx_t *ctx, ngx_uint_t i,
    redisAsyncContext *ac, redisReply *reply)
{
    u_char                        err[NGX_MAX_ERROR_STR];
    ngx_int_t                     rc;
    ngx_http_request_t           *r;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;

    r = ctx->request;
    res = &ctx->results[i];
    frag = ctx->conf->fragments->elts;
    frag = &frag[i];

    if (reply == NULL) {
        ngx_snprintf(err, sizeof(err), "Redis connection lost: %s%Z",
                     ac->err ? ac->errstr : "closed");
        ngx_http_wapress_fetch_fail(ctx, i, (char *) err);
        return;
    }

    switch (reply->type) {

    case REDIS_REPLY_STRING:

        if (reply->len > ctx->conf->max_size) {
            /* a bad value, not a Redis failure: no stale copy */
            res->state = NGX_HTTP_WAPRESS_FAILED;
            ngx_snprintf(err, sizeof(err), "value of %uz bytes is larger "
                         "than wapress_fragment_max_size %uz%Z",
                         (size_t) reply->len, ctx->conf->max_size);
            ngx_http_wapress_log_result(ctx, i, (char *) err);
            return;
        }

        rc = ngx_http_wapress_fragment_render(r->pool, frag,
                                              (u_char *) reply->str,
                                              reply->len, &res->value, err,
                                              sizeof(err));
        if (rc == NGX_OK) {
            res->state = NGX_HTTP_WAPRESS_FOUND;

            if (ctx->conf->cache != NULL) {
                ngx_http_wapress_fetch_store(ctx->conf, i, &res->key,
                                             &res->field, &res->value, 0);
            }

            return;
        }

        res->state = NGX_HTTP_WAPRESS_FAILED;

        ngx_http_wapress_log_result(ctx, i, rc == NGX_DECLINED ? (char *) err
                                                               : "no memory");
        return;

    case REDIS_REPLY_NIL:
        res->state = NGX_HTTP_WAPRESS_MISSING;

        if (ctx->conf->cache != NULL) {
            ngx_str_null(&res->value);
            ngx_http_wapress_fetch_store(ctx->conf, i, &res->key,
                                         &res->field, &res->value, 1);
        }

        ngx_http_wapress_log_result(ctx, i, "not found");
        return;

    case REDIS_REPLY_ERROR:
        ngx_snprintf(err, sizeof(err), "Redis error: %*s%Z",
                     (size_t) ngx_min(reply->len, 200), reply->str);
        ngx_http_wapress_fetch_fail(ctx, i, (char *) err);
        return;

    default:
        ngx_snprintf(err, sizeof(err), "unexpected Redis reply type %d%Z",
                     reply->type);
        ngx_http_wapress_fetch_fail(ctx, i, (char *) err);
        return;
    }
}


/*
 * Redis could not answer for fragment i: a copy younger than stale= is
 * used if the zone has one, else the fragment fails (default, or 503).
 */

static void
ngx_http_wapress_fetch_fail(ngx_http_wapress_ctx_t *ctx, ngx_uint_t i,
    const char *cause)
{
    ngx_int_t                        rc;
    ngx_msec_t                       valid, stale;
    ngx_http_wapress_result_t       *res;
    ngx_http_wapress_fragment_t     *frag;
    ngx_http_wapress_loc_conf_t     *wlcf;
    ngx_http_wapress_cache_key_t     ck;
    ngx_http_wapress_cache_entry_t   e;

    wlcf = ctx->conf;
    res = &ctx->results[i];
    frag = wlcf->fragments->elts;
    frag = &frag[i];

    res->state = NGX_HTTP_WAPRESS_FAILED;

    if (wlcf->cache != NULL) {
        ngx_http_wapress_fetch_times(wlcf, frag, &valid, &stale);

        if (stale) {
            ngx_http_wapress_cache_key(&ck, wlcf->cache_ids[i], &res->key,
                                       &res->field);

            rc = ngx_http_wapress_cache_get(wlcf->cache->zone, &ck, stale,
                                            stale, 0, ctx->request->pool,
                                            &e);
            if (rc == NGX_OK) {
                res->value = e.value;
                res->state = e.missing ? NGX_HTTP_WAPRESS_MISSING
                                       : NGX_HTTP_WAPRESS_FOUND;
                res->cache = NGX_HTTP_WAPRESS_CACHE_STALE;
                res->age = e.age;

                ngx_http_wapress_log_stale(ctx, i, cause, e.age);
                return;
            }
        }
    }

    ngx_http_wapress_log_result(ctx, i, cause);
}


static void
ngx_http_wapress_fetch_times(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_http_wapress_fragment_t *frag, ngx_msec_t *valid, ngx_msec_t *stale)
{
    *valid = (frag->valid != NGX_CONF_UNSET_MSEC) ? frag->valid
                                                   : wlcf->cache->valid;
    *stale = (frag->stale != NGX_CONF_UNSET_MSEC) ? frag->stale
                                                   : wlcf->cache->stale;
}


/*
 * Before fragment i is asked: NGX_OK if the zone answered for it (a
 * fresh copy, or a stale one while a refresh runs), NGX_DECLINED if
 * Redis is to be asked.
 */

static ngx_int_t
ngx_http_wapress_fetch_cached(ngx_http_wapress_ctx_t *ctx, ngx_uint_t i)
{
    ngx_int_t                        rc;
    ngx_msec_t                       valid, stale;
    ngx_http_wapress_result_t       *res;
    ngx_http_wapress_fragment_t     *frag;
    ngx_http_wapress_loc_conf_t     *wlcf;
    ngx_http_wapress_cache_key_t     ck;
    ngx_http_wapress_cache_entry_t   e;

    wlcf = ctx->conf;
    res = &ctx->results[i];
    frag = wlcf->fragments->elts;
    frag = &frag[i];

    ngx_http_wapress_fetch_times(wlcf, frag, &valid, &stale);

    if (valid == 0) {
        /* always asked; the reply is still kept for stale= */
        res->cache = NGX_HTTP_WAPRESS_CACHE_BYPASS;
        return NGX_DECLINED;
    }

    ngx_http_wapress_cache_key(&ck, wlcf->cache_ids[i], &res->key,
                               &res->field);

    rc = ngx_http_wapress_cache_get(wlcf->cache->zone, &ck, valid, stale,
                                    wlcf->cache->swr ? wlcf->timeout : 0,
                                    ctx->request->pool, &e);

    switch (rc) {

    case NGX_OK:
        res->cache = NGX_HTTP_WAPRESS_CACHE_HIT;
        break;

    case NGX_AGAIN:
        res->cache = NGX_HTTP_WAPRESS_CACHE_UPDATING;

        if (e.refresh) {
            ngx_http_wapress_fetch_refresh(ctx, i);
        }

        break;

    case NGX_DECLINED:
        res->cache = NGX_HTTP_WAPRESS_CACHE_MISS;
        return NGX_DECLINED;

    default: /* NGX_ERROR */
        return NGX_ERROR;
    }

    res->value = e.value;
    res->age = e.age;

    if (e.missing) {
        res->state = NGX_HTTP_WAPRESS_MISSING;
        ngx_http_wapress_log_result(ctx, i, "not found (cached)");

    } else {
        res->state = NGX_HTTP_WAPRESS_FOUND;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "wapress cache %s \"%V\" key \"%V\" age:%M",
                   rc == NGX_OK ? "hit" : "updating", &frag->name, &res->key,
                   e.age);

    return NGX_OK;
}


static void
ngx_http_wapress_fetch_store(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_str_t *key, ngx_str_t *field, ngx_str_t *value,
    ngx_uint_t missing)
{
    ngx_msec_t                     valid, stale;
    ngx_http_wapress_fragment_t   *frag;
    ngx_http_wapress_cache_key_t   ck;

    frag = wlcf->fragments->elts;
    frag = &frag[i];

    ngx_http_wapress_fetch_times(wlcf, frag, &valid, &stale);

    if (valid == 0 && stale == 0) {
        return;
    }

    ngx_http_wapress_cache_key(&ck, wlcf->cache_ids[i], key, field);

    ngx_http_wapress_cache_put(wlcf->cache->zone, &ck, value, missing,
                               ngx_max(valid, stale));
}


/*
 * Sends the one refresh of fragment i's entry.  Its private data is its
 * own (ngx_alloc), freed by its callback, which hiredis calls exactly
 * once: with the reply, or NULL when the connection goes (also when the
 * worker exits).  If it cannot be sent, the entry's mark expires after
 * wapress_redis_timeout and a later request tries again.
 */

static void
ngx_http_wapress_fetch_refresh(ngx_http_wapress_ctx_t *ctx, ngx_uint_t i)
{
    int                           argc;
    size_t                        argvlen[3];
    const char                   *argv[3], *err;
    redisAsyncContext            *ac;
    ngx_http_request_t           *r;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_refresh_t   *rf;
    ngx_http_wapress_fragment_t  *frag;
    ngx_http_wapress_loc_conf_t  *wlcf;

    r = ctx->request;
    wlcf = ctx->conf;
    res = &ctx->results[i];

    ac = ngx_http_wapress_redis_get(wlcf->redis, wlcf->connect_timeout,
                                    r->connection->log, &err);
    if (ac == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wapress cache refresh not sent: %s", err);
        return;
    }

    rf = ngx_alloc(sizeof(ngx_http_wapress_refresh_t) + res->key.len
                   + res->field.len, r->connection->log);
    if (rf == NULL) {
        return;
    }

    rf->conf = wlcf;
    rf->fragment = i;

    rf->key.data = rf->data;
    rf->key.len = res->key.len;
    ngx_memcpy(rf->key.data, res->key.data, res->key.len);

    rf->field.data = rf->data + res->key.len;
    rf->field.len = res->field.len;

    if (res->field.len) {
        ngx_memcpy(rf->field.data, res->field.data, res->field.len);
    }

    argv[1] = (const char *) rf->key.data;
    argvlen[1] = rf->key.len;

    frag = wlcf->fragments->elts;

    if (frag[i].field == NULL) {
        argv[0] = "GET";
        argvlen[0] = sizeof("GET") - 1;
        argc = 2;

    } else {
        argv[0] = "HGET";
        argvlen[0] = sizeof("HGET") - 1;
        argv[2] = (const char *) rf->field.data;
        argvlen[2] = rf->field.len;
        argc = 3;
    }

    if (redisAsyncCommandArgv(ac, ngx_http_wapress_fetch_refreshed, rf,
                              argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(rf);
        return;
    }

    ngx_http_wapress_stats_redis(wlcf->redis, NGX_HTTP_WAPRESS_STATS_SENT,
                                 0);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "wapress cache refresh sent, key \"%V\"", &rf->key);
}


static void
ngx_http_wapress_fetch_refreshed(redisAsyncContext *ac, void *rep,
    void *privdata)
{
    ngx_http_wapress_refresh_t *rf = privdata;

    u_char                       *cause;
    ngx_int_t                     rc;
    ngx_str_t                     value;
    ngx_log_t                    *log;
    ngx_pool_t                   *pool;
    redisReply                   *reply;
    ngx_http_wapress_fragment_t  *frag;
    ngx_http_wapress_loc_conf_t  *wlcf;
    u_char                        err[NGX_MAX_ERROR_STR];

    reply = rep;
    wlcf = rf->conf;
    frag = wlcf->fragments->elts;
    frag = &frag[rf->fragment];
    log = ngx_cycle->log;
    cause = err;
    ngx_http_wapress_stats_redis(wlcf->redis,
                                 rep ? NGX_HTTP_WAPRESS_STATS_REPLY
                                     : NGX_HTTP_WAPRESS_STATS_DROPPED,
                                 NGX_HTTP_WAPRESS_STATS_NO_RTT);

    if (reply == NULL) {
        if (ngx_exiting || ngx_terminate || ngx_quit) {
            goto done;
        }

        ngx_snprintf(err, sizeof(err), "Redis connection lost: %s%Z",
                     ac->err ? ac->errstr : "closed");
        goto failed;
    }

    switch (reply->type) {

    case REDIS_REPLY_STRING:

        if (reply->len > wlcf->max_size) {
            ngx_snprintf(err, sizeof(err), "value of %uz bytes is larger "
                         "than wapress_fragment_max_size %uz%Z",
                         (size_t) reply->len, wlcf->max_size);
            goto failed;
        }

        pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, log);
        if (pool == NULL) {
            goto done;
        }

        rc = ngx_http_wapress_fragment_render(pool, frag,
                                              (u_char *) reply->str,
                                              reply->len, &value, err,
                                              sizeof(err));
        if (rc == NGX_OK) {
            ngx_http_wapress_fetch_store(wlcf, rf->fragment, &rf->key,
                                         &rf->field, &value, 0);
        }

        ngx_destroy_pool(pool);

        if (rc == NGX_OK) {
            goto done;
        }

        if (rc == NGX_ERROR) {
            cause = (u_char *) "no memory";
        }

        goto failed;

    case REDIS_REPLY_NIL:
        ngx_str_null(&value);
        ngx_http_wapress_fetch_store(wlcf, rf->fragment, &rf->key,
                                     &rf->field, &value, 1);
        goto done;

    case REDIS_REPLY_ERROR:
        ngx_snprintf(err, sizeof(err), "Redis error: %*s%Z",
                     (size_t) ngx_min(reply->len, 200), reply->str);
        goto failed;

    default:
        ngx_snprintf(err, sizeof(err), "unexpected Redis reply type %d%Z",
                     reply->type);
        goto failed;
    }

failed:

    /* one line per refresh: at most one per key and deadline */

    if (rf->field.len) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "wapress: fragment \"%V\" key \"%V\" field \"%V\": "
                      "refresh failed: %s, the stale copy stays",
                      &frag->name, &rf->key, &rf->field, cause);

    } else {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "wapress: fragment \"%V\" key \"%V\": refresh "
                      "failed: %s, the stale copy stays",
                      &frag->name, &rf->key, cause);
    }

done:

    ngx_free(rf);
}


void
ngx_http_wapress_log_result(ngx_http_wapress_ctx_t *ctx, ngx_uint_t i,
    const char *cause)
{
    char                         *outcome;
    ngx_uint_t                    level;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;

    res = &ctx->results[i];
    frag = ctx->conf->fragments->elts;
    frag = &frag[i];
    ngx_http_wapress_stats_cause(ctx, i, cause);

    if (res->state == NGX_HTTP_WAPRESS_MISSING) {
        level = NGX_LOG_INFO;
        outcome = frag->required ? "the page is 404"
                  : frag->has_default ? "using the default" : "left empty";

    } else {
        level = frag->required ? NGX_LOG_ERR : NGX_LOG_WARN;
        outcome = frag->required ? "the page is 503"
                  : frag->has_default ? "using the default" : "left empty";
    }

    if (res->field.len) {
        ngx_log_error(level, ctx->request->connection->log, 0,
                      "wapress: fragment \"%V\" key \"%V\" field \"%V\": "
                      "%s, %s", &frag->name, &res->key, &res->field, cause,
                      outcome);
        return;
    }

    ngx_log_error(level, ctx->request->connection->log, 0,
                  "wapress: fragment \"%V\" key \"%V\": %s, %s",
                  &frag->name, &res->key, cause, outcome);
}


static void
ngx_http_wapress_log_stale(ngx_http_wapress_ctx_t *ctx, ngx_uint_t i,
    const char *cause, ngx_msec_t age)
{
    u_char                       *p;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;
    u_char                        text[NGX_MAX_ERROR_STR];

    res = &ctx->results[i];
    frag = ctx->conf->fragments->elts;
    frag = &frag[i];

    if (res->state == NGX_HTTP_WAPRESS_MISSING) {
        /* what Redis said last was nil: as then */
        p = ngx_snprintf(text, sizeof(text) - 1, "%s, stale \"not found\" "
                         "%Mms old, %s", cause, age,
                         frag->required ? "the page is 404"
                         : frag->has_default ? "using the default"
                                             : "left empty");

    } else {
        p = ngx_snprintf(text, sizeof(text) - 1,
                         "%s, using a stale copy %Mms old", cause, age);
    }

    *p = '\0';

    if (res->field.len) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "wapress: fragment \"%V\" key \"%V\" field \"%V\": "
                      "%s", &frag->name, &res->key, &res->field, text);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                  "wapress: fragment \"%V\" key \"%V\": %s",
                  &frag->name, &res->key, text);
}
