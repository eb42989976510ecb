
/*
 * ngx_http_wapress_headers.h: the assembled page's HTTP caching headers
 * (ETag, Cache-Control, Surrogate-Key).
 */


#ifndef _NGX_HTTP_WAPRESS_HEADERS_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_HEADERS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/*
 * Before the header of a 200 page whose body is "out" (every buffer in
 * memory): the headers the location asks for.  NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_wapress_headers_set(ngx_http_wapress_page_t *page,
    ngx_chain_t *out);


#endif /* _NGX_HTTP_WAPRESS_HEADERS_H_INCLUDED_ */
