
/*
 * ngx_http_wapress_module.h: what the module's files share: the module
 * object, the main and location configurations, the fragment and layout
 * types, and a page: the per-request state of the page model
 * (ngx_http_wapress_page.c), read by both front ends (the content
 * handler and the body filter) and by the variables.
 */


#ifndef _NGX_HTTP_WAPRESS_MODULE_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_wapress_mustache.h"
#include "ngx_http_wapress_redis.h"
#include "ngx_http_wapress_memo.h"


#define NGX_HTTP_WAPRESS_TYPE_HTML           0
#define NGX_HTTP_WAPRESS_TYPE_JSON           1
#define NGX_HTTP_WAPRESS_TYPE_TEXT           2

/* the state of one fragment of one page */
#define NGX_HTTP_WAPRESS_UNASKED             0
#define NGX_HTTP_WAPRESS_PENDING             1
#define NGX_HTTP_WAPRESS_FOUND               2
#define NGX_HTTP_WAPRESS_MISSING             3
#define NGX_HTTP_WAPRESS_FAILED              4


typedef struct {
    ngx_str_t                        path;
    ngx_http_wapress_mustache_t     *tpl;
    uint32_t                         crc;        /* of it and its partials */
} ngx_http_wapress_template_t;


typedef struct {
    ngx_str_t                        name;
    ngx_http_complex_value_t         key;
    ngx_http_complex_value_t        *field;      /* NULL: GET, else HGET */
    ngx_http_wapress_template_t     *template;   /* NULL for type=html */
    ngx_str_t                        deflt;      /* rendered default */
    ngx_uint_t                       type;       /* NGX_HTTP_WAPRESS_TYPE_* */
    ngx_msec_t                       valid;      /* valid=, or UNSET */
    ngx_msec_t                       stale;      /* stale=, or UNSET */
    uint32_t                         render_id;  /* type and template */
    ngx_http_wapress_memo_t         *memo;       /* the worker's renderings */
    size_t                          *max_size;   /* of its rendering: the
                                                    wapress_fragment_max_size
                                                    where it is defined */
    unsigned                         has_default:1;
    unsigned                         required:1;
    unsigned                         memoize:1;  /* set once configured */
} ngx_http_wapress_fragment_t;


/* one static run of a layout and the marker that follows it, if any */
typedef struct {
    ngx_str_t                        text;
    ngx_str_t                        name;       /* empty after the last */
    ngx_uint_t                       line;       /* of the marker */
    ngx_uint_t                       fragment;   /* index, set at merge */
    uint64_t                         hash;       /* of text, for the ETag */
} ngx_http_wapress_part_t;


typedef struct {
    ngx_str_t                        path;
    ngx_array_t                      parts;      /* ngx_http_wapress_part_t */
    u_char                          *conf_file;  /* of wapress_layout, */
    ngx_uint_t                       conf_line;  /* for merge's messages */
} ngx_http_wapress_layout_t;


typedef struct ngx_http_wapress_stats_conf_s  ngx_http_wapress_stats_conf_t;
typedef struct ngx_http_wapress_stats_loc_s  ngx_http_wapress_stats_loc_t;


typedef struct {
    ngx_array_t                      servers;    /* redis_server_t * */
    ngx_array_t                      templates;  /* template_t * */
    ngx_http_wapress_redis_server_t *default_server;
    ngx_uint_t                       filter;     /* wapress_filter used */
    ngx_array_t                      trackers;   /* track_t *, invalidate=on */

    /* the worker's lookups in flight, shared (ngx_http_wapress_fetch.c) */
    ngx_rbtree_t                     flights;
    ngx_rbtree_node_t                flights_sentinel;
    size_t                           memo_size;  /* wapress_memo_size */
    ngx_http_wapress_stats_conf_t   *stats;      /* counters, _stats.c */
} ngx_http_wapress_main_conf_t;


typedef struct ngx_http_wapress_cache_conf_s  ngx_http_wapress_cache_conf_t;
typedef struct ngx_http_wapress_track_s  ngx_http_wapress_track_t;


typedef struct {
    ngx_http_wapress_layout_t       *layout;
    ngx_array_t                     *fragments;  /* fragment_t */
    ngx_http_wapress_redis_server_t *redis;
    uint32_t                        *render_ids; /* per fragment, with
                                                    wapress_cache: its
                                                    rendering and server */
    ngx_msec_t                       connect_timeout;
    ngx_msec_t                       timeout;
    ngx_http_wapress_cache_conf_t   *cache;      /* NULL: off */
    size_t                           max_size;   /* of a Redis value */

    /* of a location with a layout: which fragments the layout uses */
    ngx_uint_t                      *used;
    ngx_uint_t                       nused;

    /* filter mode: wapress_filter, wapress_filter_types */
    ngx_flag_t                       filter;
    ngx_hash_t                       filter_types;
    ngx_array_t                     *filter_types_keys;
    ngx_uint_t                       filter_required;  /* how many */

    ngx_flag_t                       purge;      /* wapress_purge */

    /* HTTP caching of the page: wapress_etag, _cache_control, ... */
    ngx_flag_t                       etag;
    ngx_flag_t                       cache_control;
    ngx_flag_t                       surrogate_key;
    ngx_http_wapress_stats_loc_t    *stats;      /* its counters */
    ngx_flag_t                       debug_header;
} ngx_http_wapress_loc_conf_t;


typedef struct ngx_http_wapress_page_s  ngx_http_wapress_page_t;
typedef struct ngx_http_wapress_filter_ctx_s  ngx_http_wapress_filter_ctx_t;


typedef struct ngx_http_wapress_flight_s  ngx_http_wapress_flight_t;


/*
 * one lookup waiting for its reply, in its caller's memory
 * (ngx_http_wapress_fetch.c)
 */
typedef struct {
    ngx_queue_t                          queue;      /* in its flight */
    ngx_http_wapress_flight_t           *flight;     /* NULL: none */
    ngx_http_wapress_redis_handler_pt    handler;
    void                                *data;
} ngx_http_wapress_wait_t;


/* what one page knows of one of its fragments */
typedef struct {
    ngx_http_wapress_page_t         *page;
    ngx_http_wapress_wait_t          wait;       /* its lookup in flight */
    ngx_str_t                        key;
    ngx_str_t                        field;      /* of HGET, else empty */
    ngx_str_t                        value;      /* rendered */
    uint64_t                         hash;       /* of value, for the ETag;
                                                    0: not computed yet */
    ngx_msec_t                       asked;      /* when */
    ngx_uint_t                       state;      /* NGX_HTTP_WAPRESS_* */
    ngx_uint_t                       cache;      /* ..._WAPRESS_CACHE_* */
    ngx_msec_t                       age;        /* of a copy from the
                                                    cache */
    ngx_uint_t                       error;      /* ..._STATS_ERR_* */
    ngx_uint_t                       memo;       /* ..._MEMO_*: how its
                                                    rendering went */
} ngx_http_wapress_result_t;


/* the front end goes on: a reply is in, or the deadline passed */
typedef void (*ngx_http_wapress_page_pt)(ngx_http_wapress_page_t *page);


struct ngx_http_wapress_page_s {
    ngx_http_request_t              *request;
    ngx_http_wapress_loc_conf_t     *conf;
    ngx_http_wapress_result_t       *results;    /* one per fragment */
    ngx_uint_t                       waiting;    /* lookups in flight */
    ngx_http_wapress_page_pt         resume;
    ngx_event_t                      event;      /* the deadline; posted
                                                    when a reply is in */
    ngx_http_wapress_filter_ctx_t   *filter;     /* NULL: the handler's */
    ngx_array_t                     *logs;       /* lines held, of
                                                    ngx_http_wapress_log.c */
    unsigned                         each:1;     /* resume after every
                                                    reply, not the last */
    unsigned                         gave_up:1;  /* a lookup timed out:
                                                    Redis is not asked
                                                    again */
};


extern ngx_module_t  ngx_http_wapress_module;


#endif /* _NGX_HTTP_WAPRESS_MODULE_H_INCLUDED_ */
