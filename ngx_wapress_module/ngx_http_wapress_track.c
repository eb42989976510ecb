
/*
 * ngx_http_wapress_track.c: wapress_cache ... invalidate=on, the nginx
 * side.  At configuration time each Redis server used by a location
 * whose cache zone has invalidate=on gets a tracker: the zones to tell
 * and the key prefixes to follow (each fragment's key up to its first
 * variable: "article:$slug" follows "article:").  In one worker per
 * nginx instance (the worker numbered 0, which nginx restarts with the
 * same number if it dies, and which a reload replaces) the Redis layer
 * subscribes to the server's invalidations (_redis_track.c) and this
 * file passes them on to the zones (_cache_inval.c), with a heartbeat
 * every second so that the other workers can tell the subscription is
 * alive.  Until it is, and whenever it is not, the zones use their short
 * fallback freshness.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_track.h"


#define NGX_HTTP_WAPRESS_TRACK_HEARTBEAT     1000


typedef struct {
    ngx_http_wapress_cache_zone_t   *zone;
    ngx_uint_t                       slot;
} ngx_http_wapress_track_zone_t;


struct ngx_http_wapress_track_s {
    ngx_http_wapress_redis_server_t *server;
    ngx_array_t                      zones;      /* track_zone_t */
    ngx_array_t                      prefixes;   /* ngx_str_t */
    ngx_event_t                      heartbeat;
    unsigned                         all:1;      /* a key without prefix */
    unsigned                         up:1;
};


static ngx_int_t ngx_http_wapress_track_prefix(ngx_conf_t *cf,
    ngx_http_wapress_track_t *t, ngx_str_t *key);
static void ngx_http_wapress_track_prune(ngx_http_wapress_track_t *t);
static void ngx_http_wapress_track_event(ngx_uint_t event, ngx_str_t *key,
    void *data);
static void ngx_http_wapress_track_zones(ngx_http_wapress_track_t *t,
    ngx_uint_t state);
static void ngx_http_wapress_track_heartbeat(ngx_event_t *ev);


ngx_int_t
ngx_http_wapress_track_conf(ngx_conf_t *cf, ngx_http_wapress_loc_conf_t *wlcf)
{
    ngx_int_t                        slot;
    ngx_uint_t                       i;
    ngx_http_wapress_track_t       **tp, *t;
    ngx_http_wapress_fragment_t     *frag;
    ngx_http_wapress_track_zone_t   *tz;
    ngx_http_wapress_main_conf_t    *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wapress_module);

    slot = ngx_http_wapress_cache_track_slot(wlcf->cache->zone, wlcf->redis);

    if (slot == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "wapress_cache zone \"%V\": invalidate=on follows "
                           "at most 16 Redis servers",
                           ngx_http_wapress_cache_name(wlcf->cache->zone));
        return NGX_ERROR;
    }

    t = NULL;
    tp = wmcf->trackers.elts;

    for (i = 0; i < wmcf->trackers.nelts; i++) {
        if (tp[i]->server == wlcf->redis) {
            t = tp[i];
            break;
        }
    }

    if (t == NULL) {
        t = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_track_t));
        if (t == NULL) {
            return NGX_ERROR;
        }

        t->server = wlcf->redis;

        if (ngx_array_init(&t->zones, cf->pool, 1,
                           sizeof(ngx_http_wapress_track_zone_t))
            != NGX_OK
            || ngx_array_init(&t->prefixes, cf->pool, 4, sizeof(ngx_str_t))
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        tp = ngx_array_push(&wmcf->trackers);
        if (tp == NULL) {
            return NGX_ERROR;
        }

        *tp = t;
    }

    tz = t->zones.elts;

    for (i = 0; i < t->zones.nelts; i++) {
        if (tz[i].zone == wlcf->cache->zone) {
            break;
        }
    }

    if (i == t->zones.nelts) {
        tz = ngx_array_push(&t->zones);
        if (tz == NULL) {
            return NGX_ERROR;
        }

        tz->zone = wlcf->cache->zone;
        tz->slot = (ngx_uint_t) slot;
    }

    frag = wlcf->fragments->elts;

    for (i = 0; i < wlcf->fragments->nelts; i++) {
        if (ngx_http_wapress_track_prefix(cf, t, &frag[i].key.value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a key's text up to its first variable */

static ngx_int_t
ngx_http_wapress_track_prefix(ngx_conf_t *cf, ngx_http_wapress_track_t *t,
    ngx_str_t *key)
{
    u_char      *p;
    ngx_str_t   *s, prefix;
    ngx_uint_t   i;

    p = ngx_strlchr(key->data, key->data + key->len, '$');

    prefix.data = key->data;
    prefix.len = (p == NULL) ? key->len : (size_t) (p - key->data);

    if (prefix.len == 0) {
        t->all = 1;
        return NGX_OK;
    }

    s = t->prefixes.elts;

    for (i = 0; i < t->prefixes.nelts; i++) {
        if (s[i].len == prefix.len
            && ngx_memcmp(s[i].data, prefix.data, prefix.len) == 0)
        {
            return NGX_OK;
        }
    }

    s = ngx_array_push(&t->prefixes);
    if (s == NULL) {
        return NGX_ERROR;
    }

    *s = prefix;

    return NGX_OK;
}


/*
 * Redis refuses prefixes that overlap ("a" and "ab"): the shorter one
 * covers both.  With a key that has no prefix, everything is followed.
 */

static void
ngx_http_wapress_track_prune(ngx_http_wapress_track_t *t)
{
    ngx_str_t   *s;
    ngx_uint_t   i, j, n;

    if (t->all) {
        t->prefixes.nelts = 0;
        return;
    }

    s = t->prefixes.elts;
    n = 0;

    for (i = 0; i < t->prefixes.nelts; i++) {

        for (j = 0; j < t->prefixes.nelts; j++) {
            if (j != i
                && s[j].len <= s[i].len
                && ngx_memcmp(s[j].data, s[i].data, s[j].len) == 0
                && (s[j].len < s[i].len || j < i))
            {
                break;
            }
        }

        if (j == t->prefixes.nelts) {
            s[n++] = s[i];
        }
    }

    t->prefixes.nelts = n;
}


ngx_int_t
ngx_http_wapress_track_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_http_wapress_track_t      **tp, *t;
    ngx_http_wapress_main_conf_t   *wmcf;

    if (ngx_worker != 0
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    wmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_wapress_module);
    if (wmcf == NULL) {
        return NGX_OK;
    }

    tp = wmcf->trackers.elts;

    for (i = 0; i < wmcf->trackers.nelts; i++) {
        t = tp[i];

        ngx_http_wapress_track_prune(t);

        t->heartbeat.handler = ngx_http_wapress_track_heartbeat;
        t->heartbeat.data = t;
        t->heartbeat.log = cycle->log;
        t->heartbeat.cancelable = 1;

        if (ngx_http_wapress_redis_track(t->server, t->prefixes.elts,
                                         t->prefixes.nelts,
                                         ngx_http_wapress_track_event, t,
                                         cycle->log)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_add_timer(&t->heartbeat, NGX_HTTP_WAPRESS_TRACK_HEARTBEAT);
    }

    return NGX_OK;
}


static void
ngx_http_wapress_track_event(ngx_uint_t event, ngx_str_t *key, void *data)
{
    ngx_http_wapress_track_t *t = data;

    ngx_uint_t                      i;
    ngx_http_wapress_track_zone_t  *tz;

    tz = t->zones.elts;

    switch (event) {

    case NGX_HTTP_WAPRESS_REDIS_TRACK_UP:
        t->up = 1;
        ngx_http_wapress_track_zones(t, NGX_HTTP_WAPRESS_CACHE_TRACK_UP);
        break;

    case NGX_HTTP_WAPRESS_REDIS_TRACK_DOWN:
        t->up = 0;
        ngx_http_wapress_track_zones(t, NGX_HTTP_WAPRESS_CACHE_TRACK_DOWN);
        break;

    case NGX_HTTP_WAPRESS_REDIS_TRACK_KEY:

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "wapress invalidate key \"%V\"", key);

        for (i = 0; i < t->zones.nelts; i++) {
            ngx_http_wapress_cache_invalidate(tz[i].zone, key->data,
                                              key->len);
        }

        break;

    default: /* NGX_HTTP_WAPRESS_REDIS_TRACK_FLUSH */

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "wapress invalidate all");

        for (i = 0; i < t->zones.nelts; i++) {
            ngx_http_wapress_cache_flush(tz[i].zone);
        }

        break;
    }
}


static void
ngx_http_wapress_track_zones(ngx_http_wapress_track_t *t, ngx_uint_t state)
{
    ngx_uint_t                      i;
    ngx_http_wapress_track_zone_t  *tz;

    tz = t->zones.elts;

    for (i = 0; i < t->zones.nelts; i++) {
        ngx_http_wapress_cache_tracking(tz[i].zone, tz[i].slot, state);
    }
}


static void
ngx_http_wapress_track_heartbeat(ngx_event_t *ev)
{
    ngx_http_wapress_track_t *t = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (t->up) {
        ngx_http_wapress_track_zones(t, NGX_HTTP_WAPRESS_CACHE_TRACK_ALIVE);
    }

    ngx_add_timer(ev, NGX_HTTP_WAPRESS_TRACK_HEARTBEAT);
}
