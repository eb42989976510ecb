
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


#include "ngx_http_wapress_stats.h"


char *ngx_http_wapress_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* _status_json.c: the JSON body in r->pool */
ngx_int_t ngx_http_wapress_status_json(ngx_http_request_t *r,
    ngx_http_wapress_stats_conf_t *scf, ngx_str_t *body);


/* label values by counter index */
extern const char  *ngx_http_wapress_status_codes[];
extern const char  *ngx_http_wapress_status_results[];
extern const char  *ngx_http_wapress_status_le[];


#endif /* _NGX_HTTP_WAPRESS_STATUS_H_INCLUDED_ */
