
/*
 * ngx_http_wapress_module.c: the module's surface: the wapress_*
 * directives, creating and merging the configurations, and the worker
 * exit hook.  The work is done in the other files (docs/design.md has
 * the table): _layout.c (layouts), _fragment.c (fragments, rendering),
 * _handler.c and _filter.c (the two front ends) over _page.c (the page
 * model), _fresh.c (the cache's freshness policy), _fetch.c (one
 * fragment's lookup), _redis*.c (the Redis layer).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_layout.h"
#include "ngx_http_wapress_fragment.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_var.h"
#include "ngx_http_wapress_filter.h"
#include "ngx_http_wapress_purge.h"
#include "ngx_http_wapress_track.h"
#include "ngx_http_wapress_stats.h"
#include "ngx_http_wapress_status.h"


static void *ngx_http_wapress_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_wapress_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_wapress_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_wapress_init_process(ngx_cycle_t *cycle);
static void ngx_http_wapress_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_wapress_postconfiguration(ngx_conf_t *cf);


static ngx_command_t  ngx_http_wapress_commands[] = {

    { ngx_string("wapress_layout"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_wapress_layout,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wapress_fragment"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_wapress_fragment,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wapress_redis"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_wapress_redis,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wapress_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, timeout),
      NULL },

    { ngx_string("wapress_redis_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, connect_timeout),
      &ngx_http_wapress_redis_connect_timeout_post },

    { ngx_string("wapress_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_wapress_cache,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wapress_fragment_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, max_size),
      NULL },

    { ngx_string("wapress_filter"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_wapress_filter_flag,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, filter),
      NULL },

    { ngx_string("wapress_filter_types"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_types_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, filter_types_keys),
      &ngx_http_html_default_types[0] },

    { ngx_string("wapress_etag"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, etag),
      NULL },

    { ngx_string("wapress_cache_control"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, cache_control),
      NULL },

    { ngx_string("wapress_surrogate_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, surrogate_key),
      NULL },

    { ngx_string("wapress_purge"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_wapress_purge,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wapress_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_wapress_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wapress_memo_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_wapress_main_conf_t, memo_size),
      NULL },

    { ngx_string("wapress_debug_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wapress_loc_conf_t, debug_header),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_wapress_module_ctx = {
    ngx_http_wapress_add_variables,        /* preconfiguration */
    ngx_http_wapress_postconfiguration,    /* postconfiguration */

    ngx_http_wapress_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_wapress_create_loc_conf,      /* create location configuration */
    ngx_http_wapress_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_wapress_module = {
    NGX_MODULE_V1,
    &ngx_http_wapress_module_ctx,          /* module context */
    ngx_http_wapress_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_wapress_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_wapress_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_wapress_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_wapress_main_conf_t  *wmcf;

    wmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_main_conf_t));
    if (wmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wmcf->default_server = NULL;
     *     wmcf->filter = 0;
     */

    wmcf->memo_size = NGX_CONF_UNSET_SIZE;     /* default: in _fragment.c */

    if (ngx_array_init(&wmcf->servers, cf->pool, 2,
                       sizeof(ngx_http_wapress_redis_server_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&wmcf->trackers, cf->pool, 1,
                       sizeof(ngx_http_wapress_track_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&wmcf->templates, cf->pool, 8,
                       sizeof(ngx_http_wapress_template_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return wmcf;
}


static void *
ngx_http_wapress_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_wapress_loc_conf_t  *wlcf;

    wlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_loc_conf_t));
    if (wlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wlcf->layout = NULL;
     *     wlcf->used = NULL;
     *     wlcf->nused = 0;
     *     wlcf->filter_types = { NULL };
     *     wlcf->filter_types_keys = NULL;
     *     wlcf->filter_required = 0;
     *     wlcf->purge = 0;
     */

    wlcf->fragments = NGX_CONF_UNSET_PTR;
    wlcf->redis = NGX_CONF_UNSET_PTR;
    wlcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    wlcf->cache = NGX_CONF_UNSET_PTR;
    wlcf->max_size = NGX_CONF_UNSET_SIZE;
    wlcf->timeout = NGX_CONF_UNSET_MSEC;
    wlcf->filter = NGX_CONF_UNSET;
    wlcf->etag = NGX_CONF_UNSET;
    wlcf->cache_control = NGX_CONF_UNSET;
    wlcf->surrogate_key = NGX_CONF_UNSET;
    wlcf->debug_header = NGX_CONF_UNSET;

    return wlcf;
}


static char *
ngx_http_wapress_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_wapress_loc_conf_t *prev = parent;
    ngx_http_wapress_loc_conf_t *conf = child;

    ngx_str_t                      addr;
    ngx_uint_t                     i;
    ngx_http_wapress_fragment_t   *frag;
    ngx_http_wapress_main_conf_t  *wmcf;

    ngx_conf_merge_ptr_value(conf->fragments, prev->fragments, NULL);
    ngx_conf_merge_ptr_value(conf->redis, prev->redis, NULL);
    ngx_conf_merge_msec_value(conf->connect_timeout, prev->connect_timeout,
                              500);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 500);
    ngx_conf_merge_ptr_value(conf->cache, prev->cache, NULL);
    ngx_conf_merge_size_value(conf->max_size, prev->max_size, 1024 * 1024);
    ngx_conf_merge_value(conf->filter, prev->filter, 0);
    ngx_conf_merge_value(conf->etag, prev->etag, 1);
    ngx_conf_merge_value(conf->cache_control, prev->cache_control, 0);
    ngx_conf_merge_value(conf->surrogate_key, prev->surrogate_key, 0);

    if (conf->cache != NULL
        && ngx_http_wapress_cache_merge(cf, conf->cache) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }
    ngx_conf_merge_value(conf->debug_header, prev->debug_header, 0);

    if (ngx_http_merge_types(cf, &conf->filter_types_keys,
                             &conf->filter_types, &prev->filter_types_keys,
                             &prev->filter_types,
                             ngx_http_html_default_types)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->purge && conf->cache == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "wapress_purge needs a wapress_cache zone in "
                           "its location (or inherited)");
        return NGX_CONF_ERROR;
    }

    if (conf->layout == NULL && !conf->filter) {
        return NGX_CONF_OK;
    }

    if (conf->redis == NULL) {
        wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wapress_module);

        if (wmcf->default_server == NULL) {
            ngx_str_set(&addr, "127.0.0.1:6379");

            if (ngx_http_wapress_redis_parse(cf, &addr, 1, &wmcf->servers,
                                             &wmcf->default_server)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }
        }

        conf->redis = wmcf->default_server;
    }

    ngx_http_wapress_redis_use(conf->redis, conf->timeout, conf->max_size);

    if (conf->cache != NULL && conf->fragments != NULL) {
        frag = conf->fragments->elts;

        conf->render_ids = ngx_palloc(cf->pool, conf->fragments->nelts
                                               * sizeof(uint32_t));
        if (conf->render_ids == NULL) {
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < conf->fragments->nelts; i++) {
            conf->render_ids[i] = ngx_http_wapress_cache_id(&frag[i],
                                                           conf->redis);
        }
    }

    if (conf->cache != NULL && conf->cache->invalidate
        && conf->fragments != NULL && conf->redis->cluster != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalidate=on is not supported with "
                           "wapress_redis cluster yet");
        return NGX_CONF_ERROR;
    }

    if (conf->cache != NULL && conf->cache->invalidate
        && conf->fragments != NULL
        && ngx_http_wapress_track_conf(cf, conf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->filter && ngx_http_wapress_filter_merge(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->layout != NULL
        && ngx_http_wapress_layout_resolve(cf, conf, prev) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_wapress_stats_location(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_wapress_init_process(ngx_cycle_t *cycle)
{
    ngx_http_wapress_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_wapress_module);

    if (wmcf != NULL
        && ngx_http_wapress_redis_init_process(&wmcf->servers) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_wapress_track_init_process(cycle);
}


/* the counters' header filter goes below the filter module's */

static ngx_int_t
ngx_http_wapress_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_wapress_stats_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_wapress_filter_init(cf);
}


static void
ngx_http_wapress_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_wapress_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_wapress_module);
    if (wmcf == NULL) {
        return;
    }

    ngx_http_wapress_redis_cleanup(&wmcf->servers);
}
