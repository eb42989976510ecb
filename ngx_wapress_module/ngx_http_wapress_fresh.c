
/*
 * ngx_http_wapress_fresh.c: the freshness policy of wapress_cache.
 *
 * A fragment is looked up in the shared zone before it is asked: a copy
 * younger than valid= is used as is (HIT).  Replies (values rendered, and
 * nils) are stored.  When Redis cannot answer (unreachable, lost
 * connection, error reply, deadline), a copy younger than stale= stands
 * in (STALE); a nil is an answer and is never masked.  With
 * stale_while_revalidate, an expired copy is used at once (UPDATING) and
 * one refresh per entry is sent, with data of its own (ngx_alloc'd,
 * freed by its handler) that points into no request; its reply only
 * updates the zone.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_fresh.h"
#include "ngx_http_wapress_fetch.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_log.h"


/* a stale_while_revalidate refresh: belongs to no request */
typedef struct {
    ngx_http_wapress_loc_conf_t     *conf;       /* the worker's cycle's */
    ngx_uint_t                       fragment;
    ngx_msec_t                       asked;      /* when it was sent */
    ngx_http_wapress_wait_t          wait;
    ngx_str_t                        key;        /* in data */
    ngx_str_t                        field;      /* in data */
    u_char                           data[1];
} ngx_http_wapress_refresh_t;


static void ngx_http_wapress_fresh_times(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_msec_t *valid, ngx_msec_t *stale);
static void ngx_http_wapress_fresh_refresh(ngx_http_wapress_page_t *page,
    ngx_uint_t i);
static void ngx_http_wapress_fresh_refreshed(
    ngx_http_wapress_redis_reply_t *reply, void *data);


static void
ngx_http_wapress_fresh_times(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_msec_t *valid, ngx_msec_t *stale)
{
    ngx_http_wapress_fragment_t  *frag;

    frag = wlcf->fragments->elts;

    *valid = (frag[i].valid != NGX_CONF_UNSET_MSEC) ? frag[i].valid
                                                    : wlcf->cache->valid;
    *stale = (frag[i].stale != NGX_CONF_UNSET_MSEC) ? frag[i].stale
                                                    : wlcf->cache->stale;
}


ngx_int_t
ngx_http_wapress_fresh_lookup(ngx_http_wapress_page_t *page, ngx_uint_t i)
{
    ngx_int_t                        rc;
    ngx_msec_t                       valid, stale;
    ngx_http_wapress_result_t       *res;
    ngx_http_wapress_loc_conf_t     *wlcf;
    ngx_http_wapress_cache_key_t     ck;
    ngx_http_wapress_cache_entry_t   e;

    wlcf = page->conf;
    res = &page->results[i];

    if (wlcf->cache == NULL) {
        res->cache = NGX_HTTP_WAPRESS_CACHE_BYPASS;
        return NGX_DECLINED;
    }

    ngx_http_wapress_fresh_times(wlcf, i, &valid, &stale);

    if (valid == 0) {
        /* always asked; the reply is still kept for stale= */
        res->cache = NGX_HTTP_WAPRESS_CACHE_BYPASS;
        return NGX_DECLINED;
    }

    ngx_http_wapress_cache_key(&ck, wlcf->render_ids[i], &res->key,
                               &res->field);

    rc = ngx_http_wapress_cache_get(wlcf->cache->zone, &ck, valid, stale,
                                    wlcf->cache->swr ? wlcf->timeout : 0,
                                    page->request->pool, &e);

    switch (rc) {

    case NGX_OK:
        res->cache = NGX_HTTP_WAPRESS_CACHE_HIT;
        break;

    case NGX_AGAIN:
        res->cache = NGX_HTTP_WAPRESS_CACHE_UPDATING;

        if (e.refresh) {
            ngx_http_wapress_fresh_refresh(page, i);
        }

        break;

    case NGX_DECLINED:
        res->cache = NGX_HTTP_WAPRESS_CACHE_MISS;
        return NGX_DECLINED;

    default: /* NGX_ERROR */
        return NGX_ERROR;
    }

    res->value = e.value;
    res->hash = e.hash;
    res->age = e.age;
    res->state = e.missing ? NGX_HTTP_WAPRESS_MISSING
                           : NGX_HTTP_WAPRESS_FOUND;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, page->request->connection->log, 0,
                   "wapress cache %s, fragment %ui key \"%V\" age:%M",
                   rc == NGX_OK ? "hit" : "updating", i, &res->key, e.age);

    return NGX_OK;
}


ngx_int_t
ngx_http_wapress_fresh_stale(ngx_http_wapress_page_t *page, ngx_uint_t i,
    ngx_msec_t *age)
{
    ngx_int_t                        rc;
    ngx_msec_t                       valid, stale;
    ngx_http_wapress_result_t       *res;
    ngx_http_wapress_loc_conf_t     *wlcf;
    ngx_http_wapress_cache_key_t     ck;
    ngx_http_wapress_cache_entry_t   e;

    wlcf = page->conf;
    res = &page->results[i];

    if (wlcf->cache == NULL) {
        return NGX_DECLINED;
    }

    ngx_http_wapress_fresh_times(wlcf, i, &valid, &stale);

    if (stale == 0) {
        return NGX_DECLINED;
    }

    ngx_http_wapress_cache_key(&ck, wlcf->render_ids[i], &res->key,
                               &res->field);

    rc = ngx_http_wapress_cache_get(wlcf->cache->zone, &ck, stale, stale, 0,
                                    page->request->pool, &e);
    if (rc != NGX_OK) {
        return NGX_DECLINED;
    }

    res->value = e.value;
    res->hash = e.hash;
    res->state = e.missing ? NGX_HTTP_WAPRESS_MISSING
                           : NGX_HTTP_WAPRESS_FOUND;
    res->cache = NGX_HTTP_WAPRESS_CACHE_STALE;
    res->age = e.age;
    *age = e.age;

    return NGX_OK;
}


ngx_msec_t
ngx_http_wapress_fresh_left(ngx_http_wapress_page_t *page, ngx_uint_t i)
{
    ngx_msec_t                  valid, stale;
    ngx_http_wapress_result_t  *res;

    res = &page->results[i];

    if (page->conf->cache == NULL
        || (res->state != NGX_HTTP_WAPRESS_FOUND
            && res->state != NGX_HTTP_WAPRESS_MISSING))
    {
        return 0;
    }

    ngx_http_wapress_fresh_times(page->conf, i, &valid, &stale);

    switch (res->cache) {

    case NGX_HTTP_WAPRESS_CACHE_HIT:
        return (res->age < valid) ? valid - res->age : 0;

    case NGX_HTTP_WAPRESS_CACHE_MISS:
        return valid;

    default:
        return 0;
    }
}


void
ngx_http_wapress_fresh_store(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_str_t *key, ngx_str_t *field, ngx_str_t *value,
    uint64_t hash, ngx_uint_t missing, ngx_msec_t asked)
{
    ngx_msec_t                     valid, stale;
    ngx_http_wapress_cache_key_t   ck;

    if (wlcf->cache == NULL) {
        return;
    }

    ngx_http_wapress_fresh_times(wlcf, i, &valid, &stale);

    if (valid == 0 && stale == 0) {
        return;
    }

    ngx_http_wapress_cache_key(&ck, wlcf->render_ids[i], key, field);

    /* an invalidation that came after it was asked makes it not fresh */
    ck.asked = asked;

    ngx_http_wapress_cache_put(wlcf->cache->zone, &ck, value, hash, missing,
                               ngx_max(valid, stale));
}


/*
 * Sends the one refresh of fragment i's entry.  If it cannot be sent,
 * the entry's mark expires after wapress_redis_timeout and a later
 * request tries again.
 */

static void
ngx_http_wapress_fresh_refresh(ngx_http_wapress_page_t *page, ngx_uint_t i)
{
    const char                   *err;
    ngx_log_t                    *log;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_refresh_t   *rf;

    log = page->request->connection->log;
    res = &page->results[i];

    rf = ngx_alloc(sizeof(ngx_http_wapress_refresh_t) + res->key.len
                   + res->field.len, log);
    if (rf == NULL) {
        return;
    }

    rf->conf = page->conf;
    rf->fragment = i;

    rf->key.data = rf->data;
    rf->key.len = res->key.len;

    if (res->key.len) {
        ngx_memcpy(rf->key.data, res->key.data, res->key.len);
    }

    rf->field.data = rf->data + res->key.len;
    rf->field.len = res->field.len;

    if (res->field.len) {
        ngx_memcpy(rf->field.data, res->field.data, res->field.len);
    }

    if (ngx_http_wapress_fetch_send(&rf->wait, rf->conf, i, &rf->key,
                                    &rf->field,
                                    ngx_http_wapress_fresh_refreshed, rf,
                                    &rf->asked, ngx_cycle->log, &err)
        != NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "wapress cache refresh not sent: %s", err);
        ngx_free(rf);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "wapress cache refresh sent, key \"%V\"", &rf->key);
}


static void
ngx_http_wapress_fresh_refreshed(ngx_http_wapress_redis_reply_t *reply,
    void *data)
{
    ngx_http_wapress_refresh_t *rf = data;

    uint64_t                      hash;
    ngx_str_t                     value;
    ngx_uint_t                    rc;
    ngx_pool_t                   *pool;
    ngx_http_wapress_fragment_t  *frag;
    u_char                        err[NGX_MAX_ERROR_STR];

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
    if (pool == NULL) {
        ngx_free(rf);
        return;
    }

    hash = 0;

    rc = ngx_http_wapress_fetch_value(rf->conf, rf->fragment, reply, pool,
                                      &value, rf->conf->etag ? &hash : NULL,
                                      NULL, err, sizeof(err));

    switch (rc) {

    case NGX_HTTP_WAPRESS_FETCH_VALUE:
        ngx_http_wapress_fresh_store(rf->conf, rf->fragment, &rf->key,
                                     &rf->field, &value, hash, 0, rf->asked);
        break;

    case NGX_HTTP_WAPRESS_FETCH_NIL:
        ngx_str_null(&value);
        ngx_http_wapress_fresh_store(rf->conf, rf->fragment, &rf->key,
                                     &rf->field, &value, 0, 1, rf->asked);
        break;

    default:

        if (reply->type == NGX_HTTP_WAPRESS_REDIS_FAILED
            && (ngx_exiting || ngx_terminate || ngx_quit))
        {
            break;
        }

        /* one line per refresh: at most one per entry and deadline */

        frag = rf->conf->fragments->elts;

        ngx_http_wapress_log_fragment(NGX_LOG_WARN, ngx_cycle->log,
                                      &frag[rf->fragment], &rf->key,
                                      &rf->field, "refresh failed: %s, the "
                                      "stale copy stays", err);
        break;
    }

    ngx_destroy_pool(pool);
    ngx_free(rf);
}
