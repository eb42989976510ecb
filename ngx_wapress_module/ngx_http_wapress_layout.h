
/*
 * ngx_http_wapress_layout.h: layouts, HTML files with fragment markers
 * that the content handler serves.
 */


#ifndef _NGX_HTTP_WAPRESS_LAYOUT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_LAYOUT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


char *ngx_http_wapress_layout(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_wapress_layout_resolve(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf, ngx_http_wapress_loc_conf_t *prev);


#endif /* _NGX_HTTP_WAPRESS_LAYOUT_H_INCLUDED_ */
