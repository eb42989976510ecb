
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
 * Before the header of a 200 page whose body is "out" (the layout's runs
 * and the page's values, as ngx_http_wapress_page_buf() gives them): the
 * headers the location asks for.  NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_wapress_headers_set(ngx_http_wapress_page_t *page,
    ngx_chain_t *out);


/*
 * The hash of a value, or of a layout's static run, of which the ETag is
 * made (never 0: 0 means "not computed"); _copy() also copies the bytes
 * to dst, in the same pass.
 */
uint64_t ngx_http_wapress_headers_hash(u_char *p, size_t len);
uint64_t ngx_http_wapress_headers_copy(u_char *dst, u_char *src, size_t len);


#endif /* _NGX_HTTP_WAPRESS_HEADERS_H_INCLUDED_ */
