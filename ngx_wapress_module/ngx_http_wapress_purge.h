
/*
 * ngx_http_wapress_purge.h: wapress_purge, dropping entries of the
 * fragment cache by key or key prefix.
 */


#ifndef _NGX_HTTP_WAPRESS_PURGE_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_PURGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


char *ngx_http_wapress_purge(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


#endif /* _NGX_HTTP_WAPRESS_PURGE_H_INCLUDED_ */
