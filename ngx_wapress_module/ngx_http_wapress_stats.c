
/*
 * ngx_http_wapress_stats.c: the module's counters in shared memory, for
 * wapress_status (_status.c prints them).
 *
 * The zone is created whenever a location assembles pages (a layout or
 * wapress_filter), sized when the configuration is loaded: per location
 * 4 page counters and 14 per fragment, 19 per Redis server, 13 per cache
 * zone, one ngx_atomic_t each, plus 8 pages for the slab pool.  Its name
 * carries a checksum of all the labels, so a reload that changes them
 * starts afresh, and one that does not keeps the counts.  Every counter
 * is updated with one atomic add: no lock is taken.
 *
 * A page is counted when its pool goes (its status, then each of its
 * fragments by result), so that a page that became an error page, maybe
 * through error_page, is counted once, with its final status.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_stats.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_report.h"


static ngx_int_t ngx_http_wapress_stats_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_wapress_stats_names(ngx_conf_t *cf,
    ngx_http_wapress_stats_conf_t *scf);
static void ngx_http_wapress_stats_done(void *data);
static void ngx_http_wapress_stats_stale(ngx_http_wapress_stats_conf_t *scf,
    ngx_uint_t z, ngx_msec_t age);


/* the finite upper bounds of the round-trip histogram, in microseconds */
ngx_uint_t  ngx_http_wapress_stats_buckets[] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000
};


static ngx_str_t  ngx_http_wapress_stats_causes[] = {
    ngx_string("timeout"),
    ngx_string("connection"),
    ngx_string("error_reply"),
    ngx_string("bad_json"),
    ngx_string("too_large"),
    ngx_string("render"),
    ngx_string("other")
};


ngx_int_t
ngx_http_wapress_stats_location(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *conf)
{
    u_char                          *p;
    ngx_uint_t                       i, dup;
    ngx_http_core_srv_conf_t        *cscf;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_wapress_stats_loc_t    *sl, **slp, **all;
    ngx_http_wapress_main_conf_t    *wmcf;
    ngx_http_wapress_stats_conf_t   *scf;

    if ((conf->layout == NULL && !conf->filter) || conf->stats != NULL) {
        return NGX_OK;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wapress_module);
    scf = wmcf->stats;

    if (scf == NULL) {
        scf = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_stats_conf_t));
        if (scf == NULL) {
            return NGX_ERROR;
        }

        if (ngx_array_init(&scf->locations, cf->pool, 8,
                           sizeof(ngx_http_wapress_stats_loc_t *))
            != NGX_OK
            || ngx_array_init(&scf->servers, cf->pool, 2,
                              sizeof(ngx_http_wapress_redis_server_t *))
               != NGX_OK
            || ngx_array_init(&scf->zones, cf->pool, 2,
                              sizeof(ngx_http_wapress_cache_zone_t *))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        wmcf->stats = scf;
    }

    sl = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_stats_loc_t));
    if (sl == NULL) {
        return NGX_ERROR;
    }

    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    sl->conf = scf;
    sl->server = cscf->server_name;
    sl->location = clcf->name;
    sl->fragments = conf->fragments;
    sl->nfragments = conf->fragments ? conf->fragments->nelts : 0;
    sl->cache = conf->cache ? conf->cache->zone : NULL;

    if (conf->layout != NULL) {
        sl->layout = conf->layout->path;
    }

    /* two locations with the same labels: "#2", "#3", ... */

    all = scf->locations.elts;
    dup = 1;

    for (i = 0; i < scf->locations.nelts; i++) {
        if (all[i]->server.len == sl->server.len
            && all[i]->location.len >= sl->location.len
            && (sl->server.len == 0
                || ngx_strncmp(all[i]->server.data, sl->server.data,
                               sl->server.len) == 0)
            && (sl->location.len == 0
                || ngx_strncmp(all[i]->location.data, sl->location.data,
                               sl->location.len) == 0)
            && (all[i]->location.len == sl->location.len
                || all[i]->location.data[sl->location.len] == '#'))
        {
            dup++;
        }
    }

    if (dup > 1) {
        p = ngx_pnalloc(cf->pool, sl->location.len + 1 + NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        sl->location.len = ngx_sprintf(p, "%V#%ui", &sl->location, dup)
                           - p;
        sl->location.data = p;
    }

    slp = ngx_array_push(&scf->locations);
    if (slp == NULL) {
        return NGX_ERROR;
    }

    *slp = sl;
    conf->stats = sl;

    return NGX_OK;
}


ngx_int_t
ngx_http_wapress_stats_init(ngx_conf_t *cf)
{
    size_t                           size;
    u_char                          *p;
    uint32_t                         crc;
    ngx_str_t                        name;
    ngx_uint_t                       i, k, n;
    ngx_http_wapress_fragment_t     *frag;
    ngx_http_wapress_stats_loc_t   **sl;
    ngx_http_wapress_main_conf_t    *wmcf;
    ngx_http_wapress_stats_conf_t   *scf;
    ngx_http_wapress_cache_zone_t  **zone, **z;
    ngx_http_wapress_redis_server_t **srv, **s;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wapress_module);
    scf = wmcf->stats;

    if (ngx_http_wapress_report_init(cf, scf != NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    if (scf == NULL) {
        /* no location assembles pages */
        return NGX_OK;
    }

    srv = wmcf->servers.elts;

    for (i = 0; i < wmcf->servers.nelts; i++) {
        s = ngx_array_push(&scf->servers);
        if (s == NULL) {
            return NGX_ERROR;
        }

        *s = srv[i];
    }

    if (ngx_http_wapress_stats_names(cf, scf) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_crc32_init(crc);

    sl = scf->locations.elts;
    n = 0;

    for (i = 0; i < scf->locations.nelts; i++) {
        sl[i]->offset = n;
        n += NGX_HTTP_WAPRESS_STATS_NPAGE
             + sl[i]->nfragments * NGX_HTTP_WAPRESS_STATS_NFRAGMENT;

        ngx_crc32_update(&crc, sl[i]->server.data, sl[i]->server.len);
        ngx_crc32_update(&crc, (u_char *) "\0", 1);
        ngx_crc32_update(&crc, sl[i]->location.data, sl[i]->location.len);
        ngx_crc32_update(&crc, (u_char *) "\0", 1);

        frag = sl[i]->fragments ? sl[i]->fragments->elts : NULL;

        for (k = 0; k < sl[i]->nfragments; k++) {
            ngx_crc32_update(&crc, frag[k].name.data, frag[k].name.len);
            ngx_crc32_update(&crc, (u_char *) "\0", 1);
        }

        if (sl[i]->cache == NULL) {
            continue;
        }

        zone = scf->zones.elts;

        for (k = 0; k < scf->zones.nelts; k++) {
            if (zone[k] == sl[i]->cache) {
                break;
            }
        }

        if (k == scf->zones.nelts) {
            z = ngx_array_push(&scf->zones);
            if (z == NULL) {
                return NGX_ERROR;
            }

            *z = sl[i]->cache;
        }

        sl[i]->zone = k + 1;
    }

    scf->server_offset = n;
    n += scf->servers.nelts * NGX_HTTP_WAPRESS_STATS_NSERVER;

    for (i = 0; i < scf->servers.nelts; i++) {
        ngx_crc32_update(&crc, srv[i]->name.data, srv[i]->name.len);
        ngx_crc32_update(&crc, (u_char *) "\0", 1);
    }

    scf->zone_offset = n;
    n += scf->zones.nelts * NGX_HTTP_WAPRESS_STATS_NZONE;

    zone = scf->zones.elts;

    for (i = 0; i < scf->zones.nelts; i++) {
        name = *ngx_http_wapress_cache_name(zone[i]);
        ngx_crc32_update(&crc, name.data, name.len);
        ngx_crc32_update(&crc, (u_char *) "\0", 1);
    }

    scf->ncounters = n;

    ngx_crc32_update(&crc, (u_char *) &n, sizeof(ngx_uint_t));
    ngx_crc32_final(crc);

    p = ngx_pnalloc(cf->pool, sizeof("wapress_status_") - 1 + 8);
    if (p == NULL) {
        return NGX_ERROR;
    }

    name.data = p;
    name.len = ngx_sprintf(p, "wapress_status_%08xD", crc) - p;

    size = 8 * ngx_pagesize
           + ngx_align(n * sizeof(ngx_atomic_t), ngx_pagesize);

    scf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                          &ngx_http_wapress_module);
    if (scf->shm_zone == NULL) {
        return NGX_ERROR;
    }

    scf->shm_zone->init = ngx_http_wapress_stats_init_zone;
    scf->shm_zone->data = scf;

    return NGX_OK;
}


/*
 * The "redis" labels: a server's name (its address, db and user), with
 * "#2", "#3", ... for servers that differ only in their password.
 */

static ngx_int_t
ngx_http_wapress_stats_names(ngx_conf_t *cf,
    ngx_http_wapress_stats_conf_t *scf)
{
    u_char                            *p;
    ngx_str_t                         *name;
    ngx_uint_t                         i, k, dup;
    ngx_http_wapress_redis_server_t  **srv;

    srv = scf->servers.elts;

    scf->server_names = ngx_palloc(cf->pool, (scf->servers.nelts + 1)
                                             * sizeof(ngx_str_t));
    if (scf->server_names == NULL) {
        return NGX_ERROR;
    }

    name = scf->server_names;

    for (i = 0; i < scf->servers.nelts; i++) {
        name[i] = srv[i]->name;
        dup = 1;

        for (k = 0; k < i; k++) {
            if (srv[k]->name.len == srv[i]->name.len
                && ngx_strncmp(srv[k]->name.data, srv[i]->name.data,
                               srv[i]->name.len) == 0)
            {
                dup++;
            }
        }

        if (dup == 1) {
            continue;
        }

        p = ngx_pnalloc(cf->pool, name[i].len + 1 + NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        name[i].len = ngx_sprintf(p, "%V#%ui", &srv[i]->name, dup) - p;
        name[i].data = p;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_wapress_stats_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_wapress_stats_conf_t *oscf = data;

    size_t                          size;
    ngx_slab_pool_t                *shpool;
    ngx_http_wapress_stats_conf_t  *scf;

    scf = shm_zone->data;

    if (oscf) {
        /* a reload with the same labels: the counts go on */
        scf->counters = oscf->counters;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        scf->counters = shpool->data;
        return NGX_OK;
    }

    size = scf->ncounters * sizeof(ngx_atomic_t);

    scf->counters = ngx_slab_alloc(shpool, size);
    if (scf->counters == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero((void *) scf->counters, size);

    shpool->data = (void *) scf->counters;

    return NGX_OK;
}


void
ngx_http_wapress_stats_page(ngx_http_wapress_page_t *ctx)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_wapress_stats_loc_t  *sl;

    sl = ctx->conf->stats;

    if (sl == NULL || sl->conf->counters == NULL) {
        return;
    }

    cln = ngx_pool_cleanup_add(ctx->request->pool, 0);
    if (cln == NULL) {
        /* not counted */
        return;
    }

    cln->handler = ngx_http_wapress_stats_done;
    cln->data = ctx;
}


/*
 * The page's pool goes: its status (if a header was sent, error pages
 * included), then its fragments, those that were asked and answered.
 */

static void
ngx_http_wapress_stats_done(void *data)
{
    ngx_http_wapress_page_t *ctx = data;

    ngx_uint_t                     i, k;
    ngx_atomic_t                  *c, *f;
    ngx_http_request_t            *r;
    ngx_http_wapress_result_t     *res;
    ngx_http_wapress_fragment_t   *frag;
    ngx_http_wapress_stats_loc_t  *sl;

    r = ctx->request;
    sl = ctx->conf->stats;
    c = sl->conf->counters + sl->offset;

    if (r->header_sent) {

        switch (r->headers_out.status) {

        case NGX_HTTP_OK:
            k = NGX_HTTP_WAPRESS_STATS_PAGE_200;
            break;

        case NGX_HTTP_NOT_FOUND:
            k = NGX_HTTP_WAPRESS_STATS_PAGE_404;
            break;

        case NGX_HTTP_SERVICE_UNAVAILABLE:
            k = NGX_HTTP_WAPRESS_STATS_PAGE_503;
            break;

        default:
            k = NGX_HTTP_WAPRESS_STATS_PAGE_OTHER;
        }

        (void) ngx_atomic_fetch_add(&c[k], 1);
    }

    if (sl->fragments == NULL) {
        return;
    }

    frag = sl->fragments->elts;

    for (i = 0; i < sl->nfragments; i++) {
        res = &ctx->results[i];

        k = ngx_http_wapress_stats_result(res);

        if (k == NGX_HTTP_WAPRESS_STATS_NRESULT) {
            /* not asked, or no answer before the request went */
            continue;
        }

        f = c + NGX_HTTP_WAPRESS_STATS_NPAGE
            + i * NGX_HTTP_WAPRESS_STATS_NFRAGMENT;

        (void) ngx_atomic_fetch_add(&f[k], 1);

        if (k == NGX_HTTP_WAPRESS_STATS_ERROR) {
            k = res->error ? res->error : NGX_HTTP_WAPRESS_STATS_ERR_OTHER;
            (void) ngx_atomic_fetch_add(&f[NGX_HTTP_WAPRESS_STATS_DEFAULT + k],
                                        1);
        }

        if (ngx_http_wapress_stats_defaulted(&frag[i], res)) {
            (void) ngx_atomic_fetch_add(&f[NGX_HTTP_WAPRESS_STATS_DEFAULT], 1);
        }

        if (res->memo != NGX_HTTP_WAPRESS_MEMO_NONE) {
            (void) ngx_atomic_fetch_add(
                           &f[NGX_HTTP_WAPRESS_STATS_MEMO + res->memo - 1], 1);
        }

        if (sl->zone
            && (res->cache == NGX_HTTP_WAPRESS_CACHE_STALE
                || res->cache == NGX_HTTP_WAPRESS_CACHE_UPDATING))
        {
            ngx_http_wapress_stats_stale(sl->conf, sl->zone - 1, res->age);
        }
    }
}


/* the "result" label of an answered fragment, NRESULT if unanswered */

ngx_uint_t
ngx_http_wapress_stats_result(ngx_http_wapress_result_t *res)
{
    switch (res->state) {

    case NGX_HTTP_WAPRESS_FOUND:

        switch (res->cache) {

        case NGX_HTTP_WAPRESS_CACHE_HIT:
            return NGX_HTTP_WAPRESS_STATS_HIT;

        case NGX_HTTP_WAPRESS_CACHE_UPDATING:
            return NGX_HTTP_WAPRESS_STATS_UPDATING;

        case NGX_HTTP_WAPRESS_CACHE_STALE:
            return NGX_HTTP_WAPRESS_STATS_STALE;

        default:
            return NGX_HTTP_WAPRESS_STATS_MISS;
        }

    case NGX_HTTP_WAPRESS_MISSING:
        return NGX_HTTP_WAPRESS_STATS_NOT_FOUND;

    case NGX_HTTP_WAPRESS_FAILED:
        return NGX_HTTP_WAPRESS_STATS_ERROR;

    default:
        return NGX_HTTP_WAPRESS_STATS_NRESULT;
    }
}


/* an optional fragment that shows its default value */

ngx_uint_t
ngx_http_wapress_stats_defaulted(ngx_http_wapress_fragment_t *frag,
    ngx_http_wapress_result_t *res)
{
    return (res->state == NGX_HTTP_WAPRESS_MISSING
            || res->state == NGX_HTTP_WAPRESS_FAILED)
           && frag->has_default && !frag->required;
}


/*
 * A stale copy of zone z was served: counted, and its age kept as the
 * largest of its ten-second slot (a slot is reused after a minute).
 */

static void
ngx_http_wapress_stats_stale(ngx_http_wapress_stats_conf_t *scf,
    ngx_uint_t z, ngx_msec_t age)
{
    ngx_atomic_t      *c, *slot;
    ngx_atomic_uint_t  now, t, max;

    c = scf->counters + scf->zone_offset + z * NGX_HTTP_WAPRESS_STATS_NZONE;

    (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_Z_STALE], 1);

    now = (ngx_atomic_uint_t) ngx_time() / 10;
    slot = c + NGX_HTTP_WAPRESS_STATS_Z_SLOTS
           + 2 * (now % NGX_HTTP_WAPRESS_STATS_NSLOT);

    t = slot[0];

    if (t != now && ngx_atomic_cmp_set(&slot[0], t, now)) {
        slot[1] = 0;
    }

    for ( ;; ) {
        max = slot[1];

        if ((ngx_atomic_uint_t) age <= max
            || ngx_atomic_cmp_set(&slot[1], max, (ngx_atomic_uint_t) age))
        {
            break;
        }
    }
}


ngx_msec_t
ngx_http_wapress_stats_oldest(ngx_http_wapress_stats_conf_t *scf,
    ngx_uint_t z)
{
    ngx_uint_t         i;
    ngx_atomic_t      *c, *slot;
    ngx_atomic_uint_t  now, max;

    c = scf->counters + scf->zone_offset + z * NGX_HTTP_WAPRESS_STATS_NZONE;
    now = (ngx_atomic_uint_t) ngx_time() / 10;
    max = 0;

    for (i = 0; i < NGX_HTTP_WAPRESS_STATS_NSLOT; i++) {
        slot = c + NGX_HTTP_WAPRESS_STATS_Z_SLOTS + 2 * i;

        if (now - slot[0] < NGX_HTTP_WAPRESS_STATS_NSLOT) {
            max = ngx_max(max, slot[1]);
        }
    }

    return (ngx_msec_t) max;
}


/*
 * The cause of a failure, from the text that is logged for it: the text
 * is what the fetch code knows at that point, and one place to classify
 * it keeps the hook to one line.  t/171-status-causes.t checks every
 * cause, so that a changed message is noticed.
 */

void
ngx_http_wapress_stats_cause(ngx_http_wapress_page_t *ctx, ngx_uint_t i,
    const char *cause)
{
    ngx_uint_t                  err;
    ngx_http_wapress_result_t  *res;

    res = &ctx->results[i];

    if (res->state != NGX_HTTP_WAPRESS_FAILED || cause == NULL) {
        return;
    }

#define ngx_http_wapress_stats_prefix(s)                                      \
    (ngx_strncmp(cause, s, sizeof(s) - 1) == 0)

    if (ngx_http_wapress_stats_prefix("timed out")
        || ngx_http_wapress_stats_prefix("not asked"))
    {
        err = NGX_HTTP_WAPRESS_STATS_ERR_TIMEOUT;

    } else if (ngx_http_wapress_stats_prefix("Redis error")
               || ngx_http_wapress_stats_prefix("unexpected Redis reply"))
    {
        err = NGX_HTTP_WAPRESS_STATS_ERR_REPLY;

    } else if (ngx_http_wapress_stats_prefix("invalid JSON")) {
        err = NGX_HTTP_WAPRESS_STATS_ERR_JSON;

    } else if (ngx_http_wapress_stats_prefix("value of ")) {
        err = NGX_HTTP_WAPRESS_STATS_ERR_TOO_LARGE;

    } else if (ngx_http_wapress_stats_prefix("template ")) {
        err = NGX_HTTP_WAPRESS_STATS_ERR_RENDER;

    } else if (ngx_http_wapress_stats_prefix("no memory")
               || ngx_http_wapress_stats_prefix("out of memory"))
    {
        err = NGX_HTTP_WAPRESS_STATS_ERR_OTHER;

    } else {
        /* the connection's own texts: refused, lost, closing, backoff */
        err = NGX_HTTP_WAPRESS_STATS_ERR_CONNECTION;
    }

#undef ngx_http_wapress_stats_prefix

    res->error = err;
}


ngx_str_t *
ngx_http_wapress_stats_cause_name(ngx_uint_t cause)
{
    return &ngx_http_wapress_stats_causes[cause - 1];
}


void
ngx_http_wapress_stats_redis(ngx_http_wapress_redis_server_t *srv,
    ngx_uint_t event, ngx_msec_t value)
{
    ngx_uint_t                         i, b;
    ngx_atomic_t                      *c;
    ngx_http_wapress_main_conf_t      *wmcf;
    ngx_http_wapress_stats_conf_t     *scf;
    ngx_http_wapress_redis_server_t  **s;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_wapress_module);

    if (wmcf == NULL || wmcf->stats == NULL
        || wmcf->stats->counters == NULL)
    {
        return;
    }

    scf = wmcf->stats;
    s = scf->servers.elts;

    for (i = 0; i < scf->servers.nelts; i++) {
        if (s[i] == srv) {
            break;
        }
    }

    if (i == scf->servers.nelts) {
        return;
    }

    c = scf->counters + scf->server_offset
        + i * NGX_HTTP_WAPRESS_STATS_NSERVER;

    switch (event) {

    case NGX_HTTP_WAPRESS_STATS_CONNECT:
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_CONNECTS], 1);
        break;

    case NGX_HTTP_WAPRESS_STATS_UP:
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_UP], 1);
        break;

    case NGX_HTTP_WAPRESS_STATS_FAILURE:
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_FAILURES], 1);
        break;

    case NGX_HTTP_WAPRESS_STATS_CLOSED:
        if (value) {
            (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_UP],
                                        (ngx_atomic_int_t) -1);
        }
        break;

    case NGX_HTTP_WAPRESS_STATS_SENT:
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_SENT], 1);
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_IN_FLIGHT],
                                    1);
        break;

    case NGX_HTTP_WAPRESS_STATS_REPLY:
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_REPLIES], 1);
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_IN_FLIGHT],
                                    (ngx_atomic_int_t) -1);

        if (value == NGX_HTTP_WAPRESS_STATS_NO_RTT) {
            break;
        }

        for (b = 0; b < NGX_HTTP_WAPRESS_STATS_NBUCKET - 1; b++) {
            if (value * 1000 <= ngx_http_wapress_stats_buckets[b]) {
                break;
            }
        }

        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_RTT_SUM],
                                    (ngx_atomic_int_t) value);
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_BUCKETS + b],
                                    1);
        break;

    default: /* NGX_HTTP_WAPRESS_STATS_DROPPED */
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_DROPPED], 1);
        (void) ngx_atomic_fetch_add(&c[NGX_HTTP_WAPRESS_STATS_R_IN_FLIGHT],
                                    (ngx_atomic_int_t) -1);
        break;
    }
}
