
/*
 * ngx_http_wapress_cache.c: the shared-memory fragment cache.
 *
 * An entry is a fragment rendered to HTML (or the fact that Redis said
 * nil), keyed by what was asked (Redis server, key, field) and by how it
 * was rendered (type, and a checksum of the template and its partials):
 * a hit is a lookup and one copy, and a template edited before a reload
 * cannot be served with renderings of the old one.  Entries live in a
 * slab pool, in a hash table of chains (by a hash of the key, then the
 * key itself) and a queue in least recently used order; when the pool is
 * full the oldest entries are evicted until the new one fits.  The zone
 * is found again by name and size on reload and its entries are kept.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_cache_int.h"
#include "ngx_http_wapress_headers.h"


#define NGX_HTTP_WAPRESS_CACHE_DEFAULT_VALID  1000
#define NGX_HTTP_WAPRESS_CACHE_DEFAULT_STALE  3600000

/* with invalidate=on, valid= while Redis's invalidations are not followed */
#define NGX_HTTP_WAPRESS_CACHE_FALLBACK       1000

/* at most this many entries are evicted to make room for one */
#define NGX_HTTP_WAPRESS_CACHE_EVICT_MAX      64


static ngx_int_t ngx_http_wapress_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_wapress_cache_cmp(ngx_http_wapress_cache_key_t *ck,
    ngx_http_wapress_cache_node_t *cn);
static ngx_http_wapress_cache_node_t *ngx_http_wapress_cache_lookup(
    ngx_http_wapress_cache_zone_t *zone, ngx_http_wapress_cache_key_t *ck);


char *
ngx_http_wapress_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wapress_loc_conf_t *wlcf = conf;

    u_char                         *p;
    ssize_t                         size;
    ngx_str_t                      *value, name, s;
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_wapress_cache_conf_t  *cc;
    ngx_http_wapress_cache_zone_t  *zone;

    if (wlcf->cache != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            return "takes no parameters after \"off\"";
        }

        wlcf->cache = NULL;
        return NGX_CONF_OK;
    }

    cc = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_cache_conf_t));
    if (cc == NULL) {
        return NGX_CONF_ERROR;
    }

    cc->valid = NGX_CONF_UNSET_MSEC;
    cc->stale = NGX_CONF_UNSET_MSEC;

    ngx_str_null(&name);
    size = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0 && name.data == NULL) {
            name.data = value[i].data + 5;

            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                name.len = value[i].len - 5;

            } else {
                name.len = p - name.data;

                s.data = p + 1;
                s.len = value[i].data + value[i].len - s.data;

                size = ngx_parse_size(&s);

                if (size == NGX_ERROR) {
                    goto invalid;
                }

                if (size < (ssize_t) (8 * ngx_pagesize)) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "wapress_cache zone \"%V\" is too "
                                       "small, at least %uz bytes",
                                       &name, 8 * ngx_pagesize);
                    return NGX_CONF_ERROR;
                }
            }

            if (name.len == 0) {
                goto invalid;
            }

            continue;
        }

        rc = ngx_http_wapress_cache_parse_time(&value[i], &cc->valid,
                                               &cc->stale);
        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            goto invalid;
        }

        if (ngx_strcmp(value[i].data, "stale_while_revalidate") == 0
            && !cc->swr)
        {
            cc->swr = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "invalidate=on") == 0
            && !cc->invalidate)
        {
            cc->invalidate = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "invalidate=off") == 0) {
            continue;
        }

        goto invalid;
    }

    if (name.data == NULL) {
        return "needs zone=NAME[:SIZE]";
    }

    ngx_conf_init_msec_value(cc->valid, NGX_HTTP_WAPRESS_CACHE_DEFAULT_VALID);
    ngx_conf_init_msec_value(cc->stale, NGX_HTTP_WAPRESS_CACHE_DEFAULT_STALE);

    /* a zone named without a size is declared with one elsewhere */

    shm_zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_wapress_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone = shm_zone->data;

    if (zone == NULL) {
        zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_cache_zone_t));
        if (zone == NULL) {
            return NGX_CONF_ERROR;
        }

        zone->shm_zone = shm_zone;
        zone->fallback = NGX_HTTP_WAPRESS_CACHE_FALLBACK;

        if (ngx_array_init(&zone->servers, cf->pool, 1,
                           sizeof(ngx_http_wapress_redis_server_t *))
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        shm_zone->init = ngx_http_wapress_cache_init_zone;
        shm_zone->data = zone;
    }

    if (cc->invalidate) {
        /* the zone follows the Redis servers of its locations */
        zone->invalidate = 1;
    }

    if (size == 0 && zone->ref_file == NULL) {
        zone->ref_file = cf->conf_file->file.name.data;
        zone->ref_line = cf->conf_file->line;
    }

    cc->zone = zone;
    wlcf->cache = cc;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid or repeated parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * Called when a location's configuration is merged, after every
 * wapress_cache was read: a zone named only without a size would
 * otherwise fail as nginx's "zero size shared memory zone".
 */

ngx_int_t
ngx_http_wapress_cache_merge(ngx_conf_t *cf, ngx_http_wapress_cache_conf_t *cc)
{
    ngx_http_wapress_cache_zone_t  *zone;

    zone = cc->zone;

    if (zone->shm_zone->shm.size != 0) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "wapress_cache zone \"%V\" is never given a size: one "
                  "wapress_cache must declare it as zone=%V:SIZE "
                  "in %s:%ui", &zone->shm_zone->shm.name,
                  &zone->shm_zone->shm.name, zone->ref_file, zone->ref_line);

    return NGX_ERROR;
}


/*
 * valid=TIME and stale=TIME, of wapress_cache and of wapress_fragment:
 * NGX_OK when "value" is one of them (the time is stored), NGX_DECLINED
 * when it is neither, NGX_ERROR for a bad or repeated one.  *valid and
 * *stale are NGX_CONF_UNSET_MSEC until set.
 */

ngx_int_t
ngx_http_wapress_cache_parse_time(ngx_str_t *value, ngx_msec_t *valid,
    ngx_msec_t *stale)
{
    ngx_int_t    t;
    ngx_str_t    s;
    ngx_msec_t  *msec;

    if (value->len >= 6 && ngx_strncmp(value->data, "valid=", 6) == 0) {
        msec = valid;

    } else if (value->len >= 6
               && ngx_strncmp(value->data, "stale=", 6) == 0)
    {
        msec = stale;

    } else {
        return NGX_DECLINED;
    }

    if (*msec != NGX_CONF_UNSET_MSEC) {
        return NGX_ERROR;
    }

    s.data = value->data + 6;
    s.len = value->len - 6;

    t = ngx_parse_time(&s, 0);
    if (t == NGX_ERROR) {
        return NGX_ERROR;
    }

    *msec = (ngx_msec_t) t;

    return NGX_OK;
}


static ngx_int_t
ngx_http_wapress_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_wapress_cache_zone_t *ozone = data;

    size_t                          len;
    ngx_uint_t                      n;
    ngx_http_wapress_cache_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /* a reload: the same name and size, the entries are kept */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    zone->sh = ngx_slab_alloc(zone->shpool,
                              sizeof(ngx_http_wapress_cache_sh_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    /* a bucket per KB of the zone, at least 16 */

    for (n = 16; n < shm_zone->shm.size / 1024; n *= 2) { /* void */ }

    len = n * sizeof(ngx_http_wapress_cache_node_t *);

    zone->sh->buckets = ngx_slab_alloc(zone->shpool, len);
    if (zone->sh->buckets == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(zone->sh->buckets, len);
    zone->sh->nbuckets = n;
    zone->sh->seed = (uint32_t) ngx_random();

    ngx_queue_init(&zone->sh->lru);
    zone->sh->entries = 0;
    zone->sh->evictions = 0;

    ngx_http_wapress_cache_inval_init(zone->sh);

    len = sizeof(" in wapress_cache zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in wapress_cache zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is normal: the oldest entries make room */
    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_str_t *
ngx_http_wapress_cache_name(ngx_http_wapress_cache_zone_t *zone)
{
    return &zone->shm_zone->shm.name;
}


uint32_t
ngx_http_wapress_cache_id(ngx_http_wapress_fragment_t *frag,
    ngx_http_wapress_redis_server_t *srv)
{
    uint32_t  crc;

    /* the same key on another server or database is another entry */

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, (u_char *) &frag->render_id, sizeof(uint32_t));
    ngx_crc32_update(&crc, srv->name.data, srv->name.len);
    ngx_crc32_update(&crc, (u_char *) &srv->db, sizeof(ngx_int_t));
    ngx_crc32_update(&crc, srv->user.data, srv->user.len);
    ngx_crc32_final(crc);

    return crc;
}


void
ngx_http_wapress_cache_key(ngx_http_wapress_cache_key_t *ck, uint32_t id,
    ngx_str_t *key, ngx_str_t *field)
{
    uint64_t  h;

    ck->id = id;
    ck->key = *key;
    ck->field = *field;
    ck->asked = 0;

    /* no NULL pointers to memcmp() and memcpy(), even with 0 bytes */

    if (ck->key.len == 0) {
        ck->key.data = (u_char *) "";
    }

    if (ck->field.len == 0) {
        ck->field.data = (u_char *) "";
    }

    /*
     * the ETag's hash (a fraction of crc32's cost per byte): only the
     * spread matters, entries with one hash are told apart by cmp()
     */

    h = ngx_http_wapress_headers_hash(ck->key.data, ck->key.len);

    if (ck->field.len) {
        h ^= ngx_http_wapress_headers_hash(ck->field.data, ck->field.len)
             * 0x9e3779b97f4a7c15ULL;
    }

    h = (h ^ id) * 0xff51afd7ed558ccdULL;

    ck->hash = (uint32_t) (h >> 32);
}


ngx_int_t
ngx_http_wapress_cache_get(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_key_t *ck, ngx_msec_t valid, ngx_msec_t stale,
    ngx_msec_t swr, ngx_pool_t *pool, ngx_http_wapress_cache_entry_t *e)
{
    u_char                         *p;
    ngx_int_t                       rc;
    ngx_msec_t                      now;
    ngx_msec_int_t                  age;
    ngx_http_wapress_cache_node_t  *cn;

    now = ngx_current_msec;

    ngx_shmtx_lock(&zone->shpool->mutex);

    cn = ngx_http_wapress_cache_lookup(zone, ck);

    if (cn == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    /* another worker's clock may be a little ahead */

    age = (ngx_msec_int_t) (now - cn->fetched);
    if (age < 0) {
        age = 0;
    }

    e->refresh = 0;

    if (zone->invalidate) {
        /* written since, or not followed: shorter */
        valid = ngx_http_wapress_cache_fresh_for(zone, cn, valid);
    }

    if ((ngx_msec_t) age < valid) {
        rc = NGX_OK;

    } else if (swr && (ngx_msec_t) age < stale) {
        rc = NGX_AGAIN;

        if (!cn->updating
            || (ngx_msec_int_t) (now - cn->refreshing)
               >= (ngx_msec_int_t) swr)
        {
            cn->updating = 1;
            cn->refreshing = now;
            e->refresh = 1;
        }

    } else {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    p = NULL;

    if (cn->value_len) {
        p = ngx_pnalloc(pool, cn->value_len);
        if (p == NULL) {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return NGX_ERROR;
        }

        ngx_memcpy(p, cn->data + cn->key_len + cn->field_len, cn->value_len);
    }

    e->value.data = p;
    e->value.len = cn->value_len;
    e->hash = cn->hash;
    e->missing = cn->missing;
    e->age = (ngx_msec_t) age;

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&zone->sh->lru, &cn->queue);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


void
ngx_http_wapress_cache_put(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_key_t *ck, ngx_str_t *value, uint64_t hash,
    ngx_uint_t missing, ngx_msec_t keep)
{
    size_t                          size;
    u_char                         *p;
    ngx_uint_t                      n;
    ngx_msec_t                      now;
    ngx_queue_t                    *q;
    ngx_http_wapress_cache_sh_t    *sh;
    ngx_http_wapress_cache_node_t  *cn, **b;

    now = ngx_current_msec;
    sh = zone->sh;

    size = offsetof(ngx_http_wapress_cache_node_t, data)
           + ck->key.len + ck->field.len + value->len;

    ngx_shmtx_lock(&zone->shpool->mutex);

    /* the previous answer goes, whether or not this one can be kept */

    cn = ngx_http_wapress_cache_lookup(zone, ck);

    if (cn != NULL) {
        ngx_http_wapress_cache_free(zone, cn);
    }

    if (size > zone->shm_zone->shm.size / 4) {
        /* it would flush much of the zone */
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "wapress cache: %uz bytes are too many for \"%V\"",
                       size, &zone->shm_zone->shm.name);
        return;
    }

    /* drop up to two entries past their time, as limit_req does */

    for (n = 0; n < 2 && !ngx_queue_empty(&sh->lru); n++) {
        q = ngx_queue_last(&sh->lru);
        cn = ngx_queue_data(q, ngx_http_wapress_cache_node_t, queue);

        if ((ngx_msec_int_t) (now - cn->expires) < 0) {
            break;
        }

        ngx_http_wapress_cache_free(zone, cn);
    }

    for (n = 0; /* void */; n++) {
        cn = ngx_slab_alloc_locked(zone->shpool, size);

        if (cn != NULL) {
            break;
        }

        if (ngx_queue_empty(&sh->lru)
            || n == NGX_HTTP_WAPRESS_CACHE_EVICT_MAX)
        {
            ngx_shmtx_unlock(&zone->shpool->mutex);

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                           "wapress cache: no room for %uz bytes in \"%V\"",
                           size, &zone->shm_zone->shm.name);
            return;
        }

        /* full: the least recently used make room */

        q = ngx_queue_last(&sh->lru);
        sh->evictions++;
        ngx_http_wapress_cache_free(zone,
                   ngx_queue_data(q, ngx_http_wapress_cache_node_t, queue));
    }

    cn->key_hash = ck->hash;
    cn->fetched = ck->asked ? ck->asked : now;
    cn->expires = now + keep;
    cn->refreshing = 0;
    cn->hash = hash;
    cn->id = ck->id;
    cn->key_len = (uint32_t) ck->key.len;
    cn->field_len = (uint32_t) ck->field.len;
    cn->value_len = (uint32_t) value->len;
    cn->missing = missing ? 1 : 0;
    cn->updating = 0;

    p = ngx_cpymem(cn->data, ck->key.data, ck->key.len);
    p = ngx_cpymem(p, ck->field.data, ck->field.len);

    if (value->len) {
        ngx_memcpy(p, value->data, value->len);
    }

    b = &sh->buckets[ngx_http_wapress_cache_bucket(sh, ck->hash)];
    cn->next = *b;
    *b = cn;

    ngx_queue_insert_head(&sh->lru, &cn->queue);
    sh->entries++;

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


static ngx_http_wapress_cache_node_t *
ngx_http_wapress_cache_lookup(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_key_t *ck)
{
    ngx_http_wapress_cache_node_t  *cn;

    for (cn = zone->sh->buckets[ngx_http_wapress_cache_bucket(zone->sh,
                                                              ck->hash)];
         cn != NULL;
         cn = cn->next)
    {
        if (cn->key_hash == ck->hash
            && ngx_http_wapress_cache_cmp(ck, cn) == 0)
        {
            return cn;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_wapress_cache_cmp(ngx_http_wapress_cache_key_t *ck,
    ngx_http_wapress_cache_node_t *cn)
{
    ngx_int_t  rc;

    if (ck->id != cn->id) {
        return (ck->id < cn->id) ? -1 : 1;
    }

    rc = ngx_memn2cmp(ck->key.data, cn->data, ck->key.len, cn->key_len);

    if (rc != 0) {
        return rc;
    }

    return ngx_memn2cmp(ck->field.data, cn->data + cn->key_len,
                        ck->field.len, cn->field_len);
}


void
ngx_http_wapress_cache_free(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_node_t *cn)
{
    ngx_http_wapress_cache_node_t  **p;

    ngx_queue_remove(&cn->queue);

    for (p = &zone->sh->buckets[ngx_http_wapress_cache_bucket(zone->sh,
                                                              cn->key_hash)];
         *p != cn;
         p = &(*p)->next)
    {
        /* void */
    }

    *p = cn->next;

    ngx_slab_free_locked(zone->shpool, cn);
    zone->sh->entries--;
}


void
ngx_http_wapress_cache_stats(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_stats_t *st)
{
    ngx_slab_pool_t  *shpool;

    shpool = zone->shpool;

    st->size = zone->shm_zone->shm.size;

    ngx_shmtx_lock(&shpool->mutex);

    st->used = st->size - shpool->pfree * ngx_pagesize;
    st->entries = zone->sh->entries;
    st->evictions = zone->sh->evictions;

    ngx_shmtx_unlock(&shpool->mutex);
}
