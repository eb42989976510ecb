
/*
 * ngx_http_wapress_cache.h: the shared-memory fragment cache
 * (wapress_cache): rendered fragments keyed by what was asked of Redis
 * and how it was rendered, shared by all workers, evicted least recently
 * used first, kept across reloads.
 */


#ifndef _NGX_HTTP_WAPRESS_CACHE_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/*
 * How the cache took part in one fragment of one page.  The order is
 * that of $wapress_cache_status: a page reports the largest value of its
 * fragments.
 */
#define NGX_HTTP_WAPRESS_CACHE_NONE      0   /* not looked at (yet) */
#define NGX_HTTP_WAPRESS_CACHE_HIT       1   /* fresh copy, Redis not asked */
#define NGX_HTTP_WAPRESS_CACHE_BYPASS    2   /* no cache, or valid=0 */
#define NGX_HTTP_WAPRESS_CACHE_MISS      3   /* no fresh copy, Redis asked */
#define NGX_HTTP_WAPRESS_CACHE_UPDATING  4   /* stale copy while refreshed */
#define NGX_HTTP_WAPRESS_CACHE_STALE     5   /* stale copy: Redis failed */

#define NGX_HTTP_WAPRESS_CACHE_LAST      5


typedef struct ngx_http_wapress_cache_zone_s  ngx_http_wapress_cache_zone_t;


/* one wapress_cache directive (the typedef is in _module.h) */
struct ngx_http_wapress_cache_conf_s {
    ngx_http_wapress_cache_zone_t   *zone;
    ngx_msec_t                       valid;
    ngx_msec_t                       stale;
    unsigned                         swr:1;      /* stale_while_revalidate */
    unsigned                         invalidate:1;  /* invalidate=on */
};


/* what identifies an entry; cache_key() fills it */
typedef struct {
    uint32_t                         hash;
    uint32_t                         id;         /* rendering and server */
    ngx_str_t                        key;
    ngx_str_t                        field;
    ngx_msec_t                       asked;      /* when Redis was asked;
                                                    0: now (set by put's
                                                    caller) */
} ngx_http_wapress_cache_key_t;


/* an entry found */
typedef struct {
    ngx_str_t                        value;      /* rendered, a copy */
    uint64_t                         hash;       /* its ETag hash, or 0 */
    ngx_msec_t                       age;
    unsigned                         missing:1;  /* Redis said nil */
    unsigned                         refresh:1;  /* the caller refreshes */
} ngx_http_wapress_cache_entry_t;


/* wapress_cache zone=NAME[:SIZE] [valid=T] [stale=T] [stale_while_...] */
char *ngx_http_wapress_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* at merge: fails for a zone that no wapress_cache gave a size */
ngx_int_t ngx_http_wapress_cache_merge(ngx_conf_t *cf,
    ngx_http_wapress_cache_conf_t *cc);

/*
 * valid=TIME / stale=TIME, for wapress_cache and wapress_fragment:
 * NGX_OK (stored), NGX_DECLINED (neither), NGX_ERROR (bad or repeated).
 */
ngx_int_t ngx_http_wapress_cache_parse_time(ngx_str_t *value,
    ngx_msec_t *valid, ngx_msec_t *stale);

/*
 * The part of an entry's identity that the configuration fixes: the
 * fragment's rendering (type, template) and the Redis server; computed
 * once per location and fragment, when the configuration is merged.
 */
uint32_t ngx_http_wapress_cache_id(ngx_http_wapress_fragment_t *frag,
    ngx_http_wapress_redis_server_t *srv);

/* per request: the id with the evaluated key and field */
void ngx_http_wapress_cache_key(ngx_http_wapress_cache_key_t *ck,
    uint32_t id, ngx_str_t *key, ngx_str_t *field);

/*
 * Looks the entry up.  NGX_OK: younger than "valid", *e is filled (the
 * value copied into pool).  NGX_AGAIN: older, but "swr" is set and it is
 * younger than "stale": *e is filled, and e->refresh is set if no other
 * refresh of it started less than "swr" ms ago (this one is now marked
 * as started).  NGX_DECLINED: nothing usable.  NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_wapress_cache_get(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_key_t *ck, ngx_msec_t valid, ngx_msec_t stale,
    ngx_msec_t swr, ngx_pool_t *pool, ngx_http_wapress_cache_entry_t *e);

/*
 * Stores a reply (value rendered with its ETag hash, 0 if not computed,
 * or missing), replacing the entry; it
 * may be dropped after "keep" ms.  Evicts the least recently used
 * entries when the zone is full; a value that cannot fit is not stored.
 */
void ngx_http_wapress_cache_put(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_key_t *ck, ngx_str_t *value, uint64_t hash,
    ngx_uint_t missing, ngx_msec_t keep);

/*
 * Invalidation (invalidate=on; _cache_inval.c).  At configuration time a
 * location's Redis server gets a tracker slot in its zone (NGX_ERROR:
 * too many servers).  The worker that follows the server's invalidations
 * reports its subscription (_TRACK_UP when made, _TRACK_ALIVE at least
 * once a second, _TRACK_DOWN when lost) and each key written, or a
 * FLUSHALL; entries asked before are then not fresh.
 */
#define NGX_HTTP_WAPRESS_CACHE_TRACK_DOWN    0
#define NGX_HTTP_WAPRESS_CACHE_TRACK_UP      1
#define NGX_HTTP_WAPRESS_CACHE_TRACK_ALIVE   2

ngx_int_t ngx_http_wapress_cache_track_slot(
    ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_redis_server_t *srv);
void ngx_http_wapress_cache_tracking(ngx_http_wapress_cache_zone_t *zone,
    ngx_uint_t slot, ngx_uint_t state);
void ngx_http_wapress_cache_invalidate(ngx_http_wapress_cache_zone_t *zone,
    u_char *key, size_t len);
void ngx_http_wapress_cache_flush(ngx_http_wapress_cache_zone_t *zone);

/*
 * wapress_purge: drops the entries of "key" (or of every key beginning
 * with it, if "prefix"); up to "max" distinct keys dropped are listed in
 * "keys" (an array of ngx_str_t).  Returns how many entries went.
 */
ngx_uint_t ngx_http_wapress_cache_purge(ngx_http_wapress_cache_zone_t *zone,
    ngx_str_t *key, ngx_uint_t prefix, ngx_array_t *keys, ngx_uint_t max);

/* the zone's name, for logs */
ngx_str_t *ngx_http_wapress_cache_name(ngx_http_wapress_cache_zone_t *zone);


/* what wapress_status shows of a zone */
typedef struct {
    size_t                           size;       /* of the shared memory */
    size_t                           used;       /* not in free pages */
    ngx_uint_t                       entries;
    ngx_uint_t                       evictions;  /* to make room */
} ngx_http_wapress_cache_stats_t;

void ngx_http_wapress_cache_stats(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_stats_t *st);


#endif /* _NGX_HTTP_WAPRESS_CACHE_H_INCLUDED_ */
