
/*
 * ngx_http_wapress_cache_inval.c: how entries of the shared zone stop
 * being fresh before their valid= time: invalidations pushed by Redis
 * (wapress_cache ... invalidate=on, see _redis_track.c) and purges asked
 * by an operator (wapress_purge).
 *
 * An invalidation is not a deletion.  The zone keeps, per key written
 * lately, the time the invalidation arrived; an entry asked of Redis at
 * or before that time is no longer fresh (the next page asks again) but
 * still serves as a stale copy if Redis fails.  Comparing with the time
 * the entry was *asked*, not answered, closes the race of a reply that
 * left Redis before the write but is stored after its invalidation.
 *
 * The record table is bounded: when it is full the oldest record goes
 * and the zone's "flushed" mark moves up to its time, so an invalidation
 * is never lost, only widened (entries asked before it are refetched).
 * A FLUSHALL moves the mark to now.  While a followed Redis server's
 * subscription is not known to be alive (never made, lost, its worker
 * gone: no heartbeat), entries are fresh for at most the fallback time.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_cache_int.h"


/* invalidation records kept at most, per zone */
#define NGX_HTTP_WAPRESS_CACHE_INVAL_MAX     65536

/* a subscription not seen alive for this long is taken as lost */
#define NGX_HTTP_WAPRESS_CACHE_HEARTBEAT     3000


static ngx_http_wapress_cache_inval_t *ngx_http_wapress_cache_inval_find(
    ngx_http_wapress_cache_sh_t *sh, uint32_t hash, u_char *key, size_t len);
static void ngx_http_wapress_cache_inval_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_wapress_cache_inval_drop(
    ngx_http_wapress_cache_zone_t *zone, ngx_http_wapress_cache_inval_t *iv);
static ngx_uint_t ngx_http_wapress_cache_tracked(
    ngx_http_wapress_cache_zone_t *zone, ngx_msec_t asked);


void
ngx_http_wapress_cache_inval_init(ngx_http_wapress_cache_sh_t *sh)
{
    ngx_rbtree_init(&sh->inval_tree, &sh->inval_sentinel,
                    ngx_http_wapress_cache_inval_insert);

    ngx_queue_init(&sh->inval_queue);

    sh->inval_count = 0;
    sh->flushed = 0;

    ngx_memzero(sh->trackers, sizeof(sh->trackers));
}


/*
 * With the zone locked: how long entry cn may be used without asking
 * Redis, given that it would be "valid" ms otherwise.
 */

ngx_msec_t
ngx_http_wapress_cache_fresh_for(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_node_t *cn, ngx_msec_t valid)
{
    uint32_t                         hash;
    ngx_http_wapress_cache_sh_t     *sh;
    ngx_http_wapress_cache_inval_t  *iv;

    sh = zone->sh;

    if ((ngx_msec_int_t) (cn->fetched - sh->flushed) <= 0) {
        return 0;
    }

    if (sh->inval_count) {
        hash = ngx_crc32_short(cn->data, cn->key_len);

        iv = ngx_http_wapress_cache_inval_find(sh, hash, cn->data,
                                               cn->key_len);

        if (iv != NULL && (ngx_msec_int_t) (cn->fetched - iv->at) <= 0) {
            return 0;
        }
    }

    if (!ngx_http_wapress_cache_tracked(zone, cn->fetched)) {
        return ngx_min(valid, zone->fallback);
    }

    return valid;
}


/*
 * Every followed server has been subscribed since before "asked" and
 * was seen alive lately: what was asked then would have been invalidated.
 */

static ngx_uint_t
ngx_http_wapress_cache_tracked(ngx_http_wapress_cache_zone_t *zone,
    ngx_msec_t asked)
{
    ngx_uint_t                         i, n;
    ngx_http_wapress_cache_tracker_t  *t;

    n = ngx_min(zone->servers.nelts, NGX_HTTP_WAPRESS_CACHE_TRACKERS);

    if (n == 0) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        t = &zone->sh->trackers[i];

        if (t->since == 0
            || (ngx_msec_int_t) (asked - t->since) < 0
            || (ngx_msec_int_t) (ngx_current_msec - t->heartbeat)
               > NGX_HTTP_WAPRESS_CACHE_HEARTBEAT)
        {
            return 0;
        }
    }

    return 1;
}


ngx_int_t
ngx_http_wapress_cache_track_slot(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_redis_server_t *srv)
{
    ngx_uint_t                         i;
    ngx_http_wapress_redis_server_t  **sp;

    sp = zone->servers.elts;

    for (i = 0; i < zone->servers.nelts; i++) {
        if (sp[i] == srv) {
            return i;
        }
    }

    if (zone->servers.nelts == NGX_HTTP_WAPRESS_CACHE_TRACKERS) {
        return NGX_ERROR;
    }

    sp = ngx_array_push(&zone->servers);
    if (sp == NULL) {
        return NGX_ERROR;
    }

    *sp = srv;

    return zone->servers.nelts - 1;
}


void
ngx_http_wapress_cache_tracking(ngx_http_wapress_cache_zone_t *zone,
    ngx_uint_t slot, ngx_uint_t state)
{
    ngx_http_wapress_cache_tracker_t  *t;

    if (zone->sh == NULL || slot >= NGX_HTTP_WAPRESS_CACHE_TRACKERS) {
        return;
    }

    t = &zone->sh->trackers[slot];

    ngx_shmtx_lock(&zone->shpool->mutex);

    /*
     * After a reload the old worker may still report for a while: only
     * the worker that made the latest subscription speaks for the slot.
     */

    switch (state) {

    case NGX_HTTP_WAPRESS_CACHE_TRACK_UP:
        t->since = ngx_current_msec;
        t->heartbeat = ngx_current_msec;
        t->owner = ngx_pid;
        break;

    case NGX_HTTP_WAPRESS_CACHE_TRACK_ALIVE:
        if (t->owner == ngx_pid) {
            t->heartbeat = ngx_current_msec;
        }

        break;

    default: /* NGX_HTTP_WAPRESS_CACHE_TRACK_DOWN */
        if (t->owner == ngx_pid) {
            t->since = 0;
        }

        break;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


void
ngx_http_wapress_cache_flush(ngx_http_wapress_cache_zone_t *zone)
{
    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->sh->flushed = ngx_current_msec;
    ngx_shmtx_unlock(&zone->shpool->mutex);
}


void
ngx_http_wapress_cache_invalidate(ngx_http_wapress_cache_zone_t *zone,
    u_char *key, size_t len)
{
    size_t                           size;
    uint32_t                         hash;
    ngx_uint_t                       n;
    ngx_queue_t                     *q;
    ngx_http_wapress_cache_sh_t     *sh;
    ngx_http_wapress_cache_inval_t  *iv;

    sh = zone->sh;
    hash = ngx_crc32_short(key, len);
    size = offsetof(ngx_http_wapress_cache_inval_t, data) + len;

    ngx_shmtx_lock(&zone->shpool->mutex);

    iv = ngx_http_wapress_cache_inval_find(sh, hash, key, len);

    if (iv != NULL) {
        iv->at = ngx_current_msec;
        ngx_queue_remove(&iv->queue);
        ngx_queue_insert_head(&sh->inval_queue, &iv->queue);
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return;
    }

    for (n = 0; /* void */; n++) {

        if (sh->inval_count < NGX_HTTP_WAPRESS_CACHE_INVAL_MAX) {
            iv = ngx_slab_alloc_locked(zone->shpool, size);

            if (iv != NULL) {
                break;
            }
        }

        if (ngx_queue_empty(&sh->inval_queue) || n == 64) {
            /* no room to say which key: every entry asked until now */
            sh->flushed = ngx_current_msec;
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return;
        }

        q = ngx_queue_last(&sh->inval_queue);
        ngx_http_wapress_cache_inval_drop(zone,
                   ngx_queue_data(q, ngx_http_wapress_cache_inval_t, queue));
    }

    iv->node.key = hash;
    iv->at = ngx_current_msec;
    iv->key_len = (uint32_t) len;
    ngx_memcpy(iv->data, key, len);

    ngx_rbtree_insert(&sh->inval_tree, &iv->node);
    ngx_queue_insert_head(&sh->inval_queue, &iv->queue);
    sh->inval_count++;

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* the oldest record goes: what it said is kept by the "flushed" mark */

static void
ngx_http_wapress_cache_inval_drop(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_inval_t *iv)
{
    ngx_http_wapress_cache_sh_t  *sh;

    sh = zone->sh;

    if ((ngx_msec_int_t) (iv->at - sh->flushed) > 0) {
        sh->flushed = iv->at;
    }

    ngx_queue_remove(&iv->queue);
    ngx_rbtree_delete(&sh->inval_tree, &iv->node);
    ngx_slab_free_locked(zone->shpool, iv);
    sh->inval_count--;
}


/*
 * wapress_purge: drops the entries whose key is "key" (or begins with it,
 * if "prefix"); the distinct keys dropped, up to "max", are copied into
 * "keys" (ngx_str_t, from its pool).  Returns the number of entries.
 */

ngx_uint_t
ngx_http_wapress_cache_purge(ngx_http_wapress_cache_zone_t *zone,
    ngx_str_t *key, ngx_uint_t prefix, ngx_array_t *keys, ngx_uint_t max)
{
    ngx_str_t                      *s, *k;
    ngx_uint_t                      n, i, seen;
    ngx_queue_t                    *q, *next;
    ngx_http_wapress_cache_node_t  *cn;

    n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(&zone->sh->lru);
         q != ngx_queue_sentinel(&zone->sh->lru);
         q = next)
    {
        next = ngx_queue_next(q);
        cn = ngx_queue_data(q, ngx_http_wapress_cache_node_t, queue);

        if (prefix ? (cn->key_len < key->len
                      || ngx_memcmp(cn->data, key->data, key->len) != 0)
                   : (cn->key_len != key->len
                      || ngx_memcmp(cn->data, key->data, key->len) != 0))
        {
            continue;
        }

        n++;

        if (keys != NULL && keys->nelts < max) {
            k = keys->elts;
            seen = 0;

            for (i = 0; i < keys->nelts; i++) {
                if (k[i].len == cn->key_len
                    && ngx_memcmp(k[i].data, cn->data, cn->key_len) == 0)
                {
                    seen = 1;
                    break;
                }
            }

            if (!seen) {
                s = ngx_array_push(keys);

                if (s != NULL) {
                    s->len = cn->key_len;
                    s->data = ngx_pnalloc(keys->pool, cn->key_len + 1);

                    if (s->data == NULL) {
                        keys->nelts--;

                    } else {
                        ngx_memcpy(s->data, cn->data, cn->key_len);
                    }
                }
            }
        }

        ngx_http_wapress_cache_free(zone, cn);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return n;
}


static ngx_http_wapress_cache_inval_t *
ngx_http_wapress_cache_inval_find(ngx_http_wapress_cache_sh_t *sh,
    uint32_t hash, u_char *key, size_t len)
{
    ngx_int_t                        rc;
    ngx_rbtree_node_t               *node, *sentinel;
    ngx_http_wapress_cache_inval_t  *iv;

    node = sh->inval_tree.root;
    sentinel = sh->inval_tree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        iv = (ngx_http_wapress_cache_inval_t *) node;

        rc = ngx_memn2cmp(key, iv->data, len, iv->key_len);

        if (rc == 0) {
            return iv;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_wapress_cache_inval_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t               **p;
    ngx_http_wapress_cache_inval_t   *iv, *it;

    iv = (ngx_http_wapress_cache_inval_t *) node;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            it = (ngx_http_wapress_cache_inval_t *) temp;
            p = (ngx_memn2cmp(iv->data, it->data, iv->key_len, it->key_len)
                 < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
