
/*
 * ngx_http_wapress_filter.h: filter mode (wapress_filter): fragment
 * markers replaced in any HTML response that nginx passes through.
 */


#ifndef _NGX_HTTP_WAPRESS_FILTER_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FILTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/* the wapress_filter directive: a flag that also marks the filter used */
char *ngx_http_wapress_filter_flag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* a location with wapress_filter on, once merged */
ngx_int_t ngx_http_wapress_filter_merge(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf);

/* postconfiguration: installs the filter if some location uses it */
ngx_int_t ngx_http_wapress_filter_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_WAPRESS_FILTER_H_INCLUDED_ */
