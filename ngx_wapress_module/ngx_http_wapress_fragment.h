
/*
 * ngx_http_wapress_fragment.h: the wapress_fragment directive, Mustache
 * templates loaded at configuration time, and turning a Redis value into
 * a fragment's HTML.
 */


#ifndef _NGX_HTTP_WAPRESS_FRAGMENT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FRAGMENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


char *ngx_http_wapress_fragment(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Renders "value" as the fragment's HTML into out (from pool).  Returns
 * NGX_OK, NGX_DECLINED for a value that cannot be used (*err says why,
 * e.g. "invalid JSON: ..."), or NGX_ERROR (out of memory).
 */
ngx_int_t ngx_http_wapress_fragment_render(ngx_pool_t *pool,
    ngx_http_wapress_fragment_t *frag, u_char *value, size_t len,
    ngx_str_t *out, u_char *err, size_t err_size);


#endif /* _NGX_HTTP_WAPRESS_FRAGMENT_H_INCLUDED_ */
