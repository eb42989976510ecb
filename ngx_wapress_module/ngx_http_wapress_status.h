
/*
 * ngx_http_wapress_status.h: the wapress_status directive, a content
 * handler that shows the module's counters (_stats.c) as Prometheus text
 * or as JSON.
 */


#ifndef _NGX_HTTP_WAPRESS_STATUS_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


char *ngx_http_wapress_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_WAPRESS_STATUS_H_INCLUDED_ */
