
/*
 * ngx_http_wapress_report.h: the X-Wapress debug header.
 */


#ifndef _NGX_HTTP_WAPRESS_REPORT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REPORT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* postconfiguration: the header filter, if "used" (a location has pages) */
ngx_int_t ngx_http_wapress_report_init(ngx_conf_t *cf, ngx_uint_t used);


#endif /* _NGX_HTTP_WAPRESS_REPORT_H_INCLUDED_ */
