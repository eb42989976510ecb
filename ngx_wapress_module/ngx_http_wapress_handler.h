
/*
 * ngx_http_wapress_handler.h: the content handler of locations with
 * wapress_layout: waits for a page's fragments, then sends the page.
 */


#ifndef _NGX_HTTP_WAPRESS_HANDLER_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_HANDLER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


ngx_int_t ngx_http_wapress_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_WAPRESS_HANDLER_H_INCLUDED_ */
