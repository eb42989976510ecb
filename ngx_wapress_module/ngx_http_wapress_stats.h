
/*
 * ngx_http_wapress_stats.h: the module's counters, shared by all workers
 * (wapress_status shows them), the X-Wapress debug header and the
 * $wapress_fragments_missing / _default variables.
 *
 * The rest of the module reports to it through a few one-line hooks:
 * ngx_http_wapress_stats_location() when a location is merged,
 * ngx_http_wapress_stats_page() when a page's context is created (the
 * page and its fragments are counted when its pool goes),
 * ngx_http_wapress_stats_cause() when a fragment's failure is logged, and
 * ngx_http_wapress_stats_redis() on a Redis connection's events.  The
 * age of a copy from the cache is kept in the result (res->age).
 */


#ifndef _NGX_HTTP_WAPRESS_STATS_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_STATS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_cache.h"


/* why a fragment failed: res->error, the "cause" label */
#define NGX_HTTP_WAPRESS_STATS_ERR_NONE        0
#define NGX_HTTP_WAPRESS_STATS_ERR_TIMEOUT     1
#define NGX_HTTP_WAPRESS_STATS_ERR_CONNECTION  2
#define NGX_HTTP_WAPRESS_STATS_ERR_REPLY       3   /* Redis error reply */
#define NGX_HTTP_WAPRESS_STATS_ERR_JSON        4   /* bad JSON */
#define NGX_HTTP_WAPRESS_STATS_ERR_TOO_LARGE   5
#define NGX_HTTP_WAPRESS_STATS_ERR_RENDER      6   /* template failed */
#define NGX_HTTP_WAPRESS_STATS_ERR_OTHER       7
#define NGX_HTTP_WAPRESS_STATS_NERR            7   /* causes, none excluded */

/* events of ngx_http_wapress_stats_redis() */
#define NGX_HTTP_WAPRESS_STATS_CONNECT         0   /* an attempt starts */
#define NGX_HTTP_WAPRESS_STATS_UP              1   /* ready (AUTH, SELECT) */
#define NGX_HTTP_WAPRESS_STATS_FAILURE         2   /* connect failed, lost */
#define NGX_HTTP_WAPRESS_STATS_CLOSED          3   /* value: it was up */
#define NGX_HTTP_WAPRESS_STATS_SENT            4   /* a command queued */
#define NGX_HTTP_WAPRESS_STATS_REPLY           5   /* value: ms since sent */
#define NGX_HTTP_WAPRESS_STATS_DROPPED         6   /* NULL reply: no answer */

/* the value of a REPLY whose send time is not known */
#define NGX_HTTP_WAPRESS_STATS_NO_RTT          ((ngx_msec_t) -1)


/* what the status page shows of one location (read by _status.c) */
struct ngx_http_wapress_stats_loc_s {
    ngx_str_t                        server;     /* its first server_name */
    ngx_str_t                        location;   /* its name */
    ngx_str_t                        layout;     /* path, or empty */
    ngx_array_t                     *fragments;  /* fragment_t, or NULL */
    ngx_uint_t                       nfragments;
    ngx_uint_t                       offset;     /* of its counters */
    ngx_uint_t                       zone;       /* its cache zone's index
                                                    + 1, 0: none */
    ngx_http_wapress_stats_conf_t   *conf;
    ngx_http_wapress_cache_zone_t   *cache;      /* or NULL */
};


/* per configuration cycle (ngx_http_wapress_main_conf_t's "stats") */
struct ngx_http_wapress_stats_conf_s {
    ngx_array_t                      locations;  /* stats_loc_t * */
    ngx_array_t                      servers;    /* redis_server_t * */
    ngx_str_t                       *server_names; /* labels, per server */
    ngx_array_t                      zones;      /* cache_zone_t * */
    ngx_uint_t                       server_offset;
    ngx_uint_t                       zone_offset;
    ngx_uint_t                       ncounters;
    ngx_shm_zone_t                  *shm_zone;
    ngx_atomic_t                    *counters;   /* in shared memory */
};


/* counters of a location: pages by status, then per fragment */
#define NGX_HTTP_WAPRESS_STATS_PAGE_200        0
#define NGX_HTTP_WAPRESS_STATS_PAGE_404        1
#define NGX_HTTP_WAPRESS_STATS_PAGE_503        2
#define NGX_HTTP_WAPRESS_STATS_PAGE_OTHER      3
#define NGX_HTTP_WAPRESS_STATS_NPAGE           4

#define NGX_HTTP_WAPRESS_STATS_HIT             0
#define NGX_HTTP_WAPRESS_STATS_MISS            1
#define NGX_HTTP_WAPRESS_STATS_STALE           2
#define NGX_HTTP_WAPRESS_STATS_UPDATING        3
#define NGX_HTTP_WAPRESS_STATS_NOT_FOUND       4
#define NGX_HTTP_WAPRESS_STATS_ERROR           5
#define NGX_HTTP_WAPRESS_STATS_NRESULT         6
#define NGX_HTTP_WAPRESS_STATS_DEFAULT         6   /* then the causes */
/*
 * then renderings from the memo, at + NGX_HTTP_WAPRESS_MEMO_HIT - 1, and
 * made anew, at + NGX_HTTP_WAPRESS_MEMO_MISS - 1
 */
#define NGX_HTTP_WAPRESS_STATS_MEMO                                           \
    (NGX_HTTP_WAPRESS_STATS_NRESULT + 1 + NGX_HTTP_WAPRESS_STATS_NERR)
#define NGX_HTTP_WAPRESS_STATS_NFRAGMENT  (NGX_HTTP_WAPRESS_STATS_MEMO + 2)

/* counters of a Redis server */
#define NGX_HTTP_WAPRESS_STATS_R_CONNECTS      0
#define NGX_HTTP_WAPRESS_STATS_R_FAILURES      1
#define NGX_HTTP_WAPRESS_STATS_R_UP            2   /* gauge */
#define NGX_HTTP_WAPRESS_STATS_R_SENT          3
#define NGX_HTTP_WAPRESS_STATS_R_REPLIES       4
#define NGX_HTTP_WAPRESS_STATS_R_DROPPED       5
#define NGX_HTTP_WAPRESS_STATS_R_IN_FLIGHT     6   /* gauge */
#define NGX_HTTP_WAPRESS_STATS_R_RTT_SUM       7   /* ms */
#define NGX_HTTP_WAPRESS_STATS_R_BUCKETS       8   /* then one per bucket */
#define NGX_HTTP_WAPRESS_STATS_NBUCKET         11  /* the last is +Inf */
#define NGX_HTTP_WAPRESS_STATS_NSERVER                                        \
    (NGX_HTTP_WAPRESS_STATS_R_BUCKETS + NGX_HTTP_WAPRESS_STATS_NBUCKET)

/* counters of a cache zone: stale copies served, their ages by 10 s */
#define NGX_HTTP_WAPRESS_STATS_Z_STALE         0
#define NGX_HTTP_WAPRESS_STATS_Z_SLOTS         1   /* then (time, age) */
#define NGX_HTTP_WAPRESS_STATS_NSLOT           6
#define NGX_HTTP_WAPRESS_STATS_NZONE                                          \
    (NGX_HTTP_WAPRESS_STATS_Z_SLOTS + 2 * NGX_HTTP_WAPRESS_STATS_NSLOT)


/* the upper bounds of the round-trip histogram, in microseconds */
extern ngx_uint_t  ngx_http_wapress_stats_buckets[];


/* merge_loc_conf, every location: registers one that assembles pages */
ngx_int_t ngx_http_wapress_stats_location(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *conf);

/*
 * postconfiguration, before the filter module's: the shared zone, the
 * debug header's filter and the variables
 */
ngx_int_t ngx_http_wapress_stats_init(ngx_conf_t *cf);

/* a page's context was created: it is counted when r->pool goes */
void ngx_http_wapress_stats_page(ngx_http_wapress_page_t *ctx);

/* fragment i failed (or was not found) for "cause", as logged */
void ngx_http_wapress_stats_cause(ngx_http_wapress_page_t *ctx,
    ngx_uint_t i, const char *cause);

/* an event of the worker's connection to srv */
void ngx_http_wapress_stats_redis(ngx_http_wapress_redis_server_t *srv,
    ngx_uint_t event, ngx_msec_t value);

/* the oldest stale copy of zone z served in the last minute, in ms */
ngx_msec_t ngx_http_wapress_stats_oldest(ngx_http_wapress_stats_conf_t *scf,
    ngx_uint_t z);

/* the "result" label of a fragment: _STATS_HIT .. _ERROR, or NRESULT */
ngx_uint_t ngx_http_wapress_stats_result(ngx_http_wapress_result_t *res);

/* an optional fragment that shows its default value */
ngx_uint_t ngx_http_wapress_stats_defaulted(
    ngx_http_wapress_fragment_t *frag, ngx_http_wapress_result_t *res);

/* the label of a cause, NGX_HTTP_WAPRESS_STATS_ERR_TIMEOUT .. _OTHER */
ngx_str_t *ngx_http_wapress_stats_cause_name(ngx_uint_t cause);


#endif /* _NGX_HTTP_WAPRESS_STATS_H_INCLUDED_ */
