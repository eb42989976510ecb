
/*
 * ngx_http_wapress_cache_int.h: the shared zone's layout, for the cache's
 * own files (ngx_http_wapress_cache.c: entries; _cache_inval.c:
 * invalidation and purge).  Nothing else includes it.
 */


#ifndef _NGX_HTTP_WAPRESS_CACHE_INT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_CACHE_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_cache.h"


/* Redis servers whose invalidations one zone can follow */
#define NGX_HTTP_WAPRESS_CACHE_TRACKERS      16


/* what the zone knows of one Redis server's invalidation subscription */
typedef struct {
    ngx_msec_t                       since;      /* subscribed then; 0: not */
    ngx_msec_t                       heartbeat;  /* last seen alive */
    ngx_pid_t                        owner;      /* the worker following */
} ngx_http_wapress_cache_tracker_t;


typedef struct ngx_http_wapress_cache_node_s  ngx_http_wapress_cache_node_t;


/*
 * A key hash's bucket, mixed with the zone's random seed: the keys
 * follow request variables, and a client that could choose keys of one
 * bucket (the low bits of a hash anyone can compute) would make every
 * lookup walk a chain as long as the zone.  The seed lives in the zone,
 * so that every worker, and the workers after a reload, agree.
 */
#define ngx_http_wapress_cache_bucket(sh, h)                                  \
    (((((uint32_t) (h) ^ (sh)->seed) * 0x9e3779b1U) >> 16                     \
      ^ (((uint32_t) (h) ^ (sh)->seed) * 0x85ebca6bU))                        \
     & ((sh)->nbuckets - 1))


typedef struct {
    /*
     * the entries by their key's hash: chains, a bucket per KB of the
     * zone (a lookup touches a bucket and the nodes of its chain, not a
     * tree's path through a zone of many MB)
     */
    ngx_http_wapress_cache_node_t  **buckets;
    ngx_uint_t                       nbuckets;   /* a power of two */
    uint32_t                         seed;       /* random, per zone */
    ngx_queue_t                      lru;        /* most recent first */
    ngx_uint_t                       entries;    /* for wapress_status */
    ngx_uint_t                       evictions;

    /* invalidations: keys written lately, newest first */
    ngx_rbtree_t                     inval_tree;
    ngx_rbtree_node_t                inval_sentinel;
    ngx_queue_t                      inval_queue;
    ngx_uint_t                       inval_count;

    /* entries fetched at or before this are not fresh (FLUSHALL, ...) */
    ngx_msec_t                       flushed;

    ngx_http_wapress_cache_tracker_t trackers[NGX_HTTP_WAPRESS_CACHE_TRACKERS];
} ngx_http_wapress_cache_sh_t;


struct ngx_http_wapress_cache_zone_s {
    ngx_http_wapress_cache_sh_t     *sh;
    ngx_slab_pool_t                 *shpool;
    ngx_shm_zone_t                  *shm_zone;

    /* the first "zone=NAME" without a size, for the message if none has */
    u_char                          *ref_file;
    ngx_uint_t                       ref_line;

    /* invalidate=on: the servers followed, in tracker slot order */
    ngx_array_t                      servers;    /* redis_server_t * */
    ngx_msec_t                       fallback;   /* valid= while not */
    unsigned                         invalidate:1;
};


struct ngx_http_wapress_cache_node_s {
    ngx_http_wapress_cache_node_t   *next;       /* in its bucket */
    uint32_t                         key_hash;   /* ck->hash */
    ngx_queue_t                      queue;
    ngx_msec_t                       fetched;    /* asked of Redis then */
    ngx_msec_t                       expires;    /* may be dropped after */
    ngx_msec_t                       refreshing; /* a refresh started then */
    uint64_t                         hash;       /* the value's, ETag */
    uint32_t                         id;
    uint32_t                         key_len;
    uint32_t                         field_len;
    uint32_t                         value_len;
    unsigned                         missing:1;
    unsigned                         updating:1; /* "refreshing" is set */
    u_char                           data[1];    /* key, field, value */
};


/* a key written (or expired, evicted, deleted) at "at" */
typedef struct {
    ngx_rbtree_node_t                node;       /* node.key: crc32 of key */
    ngx_queue_t                      queue;
    ngx_msec_t                       at;
    uint32_t                         key_len;
    u_char                           data[1];
} ngx_http_wapress_cache_inval_t;


/* _cache_inval.c */
void ngx_http_wapress_cache_inval_init(ngx_http_wapress_cache_sh_t *sh);
ngx_msec_t ngx_http_wapress_cache_fresh_for(
    ngx_http_wapress_cache_zone_t *zone, ngx_http_wapress_cache_node_t *cn,
    ngx_msec_t valid);
void ngx_http_wapress_cache_free(ngx_http_wapress_cache_zone_t *zone,
    ngx_http_wapress_cache_node_t *cn);


#endif /* _NGX_HTTP_WAPRESS_CACHE_INT_H_INCLUDED_ */
