
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
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_fetch.h"
#include "ngx_http_wapress_fragment.h"


typedef struct {
    ngx_http_wapress_batch_t        *batch;
    ngx_uint_t                       fragment;
} ngx_http_wapress_slot_t;


struct ngx_http_wapress_batch_s {
    ngx_http_wapress_ctx_t          *ctx;        /* NULL: detached */
    ngx_http_wapress_batch_t        *next;       /* of the same request */
    ngx_uint_t                       pending;    /* callbacks to come */
    ngx_http_wapress_slot_t          slots[1];
};


static void ngx_http_wapress_fetch_reply(redisAsyncContext *ac, void *rep,
    void *privdata);
static void ngx_http_wapress_fetch_result(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i, redisAsyncContext *ac, redisReply *reply);


ngx_int_t
ngx_http_wapress_fetch(ngx_http_wapress_ctx_t *ctx, ngx_uint_t *frags,
    ngx_uint_t n)
{
    size_t                        len;
    u_char                       *cmd, *p;
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
            res->state = NGX_HTTP_WAPRESS_FAILED;
            ngx_http_wapress_log_result(ctx, i, err);
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
            p = ngx_sprintf(cmd, "*2\r\n$3\r\nGET\r\n$%uz\r\n%V\r\n",
                            res->key.len, &res->key);

        } else {
            p = ngx_sprintf(cmd, "*3\r\n$4\r\nHGET\r\n$%uz\r\n%V\r\n"
                            "$%uz\r\n%V\r\n", res->key.len, &res->key,
                            res->field.len, &res->field);
        }

        batch->slots[batch->pending].batch = batch;
        batch->slots[batch->pending].fragment = i;

        if (redisAsyncFormattedCommand(ac, ngx_http_wapress_fetch_reply,
                                       &batch->slots[batch->pending],
                                       (char *) cmd, p - cmd)
            != REDIS_OK)
        {
            res->state = NGX_HTTP_WAPRESS_FAILED;
            ngx_http_wapress_log_result(ctx, i,
                                        "the Redis connection is closing");
            continue;
        }

        batch->pending++;
        ctx->waiting++;
    }

    return NGX_OK;
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
            ctx->results[i].state = NGX_HTTP_WAPRESS_FAILED;

            if (cause != NULL) {
                ngx_http_wapress_log_result(ctx, i, cause);
            }
        }
    }
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
        res->state = NGX_HTTP_WAPRESS_FAILED;
        ngx_snprintf(err, sizeof(err), "Redis connection lost: %s%Z",
                     ac->err ? ac->errstr : "closed");
        ngx_http_wapress_log_result(ctx, i, (char *) err);
        return;
    }

    switch (reply->type) {

    case REDIS_REPLY_STRING:
        rc = ngx_http_wapress_fragment_render(r->pool, frag,
                                              (u_char *) reply->str,
                                              reply->len, &res->value, err,
                                              sizeof(err));
        if (rc == NGX_OK) {
            res->state = NGX_HTTP_WAPRESS_FOUND;
            return;
        }

        res->state = NGX_HTTP_WAPRESS_FAILED;

        ngx_http_wapress_log_result(ctx, i, rc == NGX_DECLINED ? (char *) err
                                                               : "no memory");
        return;

    case REDIS_REPLY_NIL:
        res->state = NGX_HTTP_WAPRESS_MISSING;
        ngx_http_wapress_log_result(ctx, i, "not found");
        return;

    case REDIS_REPLY_ERROR:
        res->state = NGX_HTTP_WAPRESS_FAILED;
        ngx_snprintf(err, sizeof(err), "Redis error: %*s%Z",
                     (size_t) ngx_min(reply->len, 200), reply->str);
        ngx_http_wapress_log_result(ctx, i, (char *) err);
        return;

    default:
        res->state = NGX_HTTP_WAPRESS_FAILED;
        ngx_snprintf(err, sizeof(err), "unexpected Redis reply type %d%Z",
                     reply->type);
        ngx_http_wapress_log_result(ctx, i, (char *) err);
        return;
    }
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
