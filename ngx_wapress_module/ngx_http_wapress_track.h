
/*
 * ngx_http_wapress_track.h: following Redis's invalidations into the
 * fragment cache (wapress_cache ... invalidate=on).
 */


#ifndef _NGX_HTTP_WAPRESS_TRACK_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_TRACK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/* merge: a location whose cache has invalidate=on */
ngx_int_t ngx_http_wapress_track_conf(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf);

/* init_process: worker 0 subscribes */
ngx_int_t ngx_http_wapress_track_init_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_WAPRESS_TRACK_H_INCLUDED_ */
