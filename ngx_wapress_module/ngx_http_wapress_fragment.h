
/*
 * ngx_http_wapress_fragment.h: the wapress_fragment directive, finding a
 * fragment by name, and turning a Redis value into a fragment's HTML
 * (templates are loaded by _template.c).
 */


#ifndef _NGX_HTTP_WAPRESS_FRAGMENT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FRAGMENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/* the default of wapress_fragment_max_size */
#define NGX_HTTP_WAPRESS_FRAGMENT_MAX_SIZE  (1024 * 1024)


char *ngx_http_wapress_fragment(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * The index in wlcf->fragments of the fragment called "name", or
 * NGX_DECLINED if the location has none of that name.
 */
ngx_int_t ngx_http_wapress_fragment_find(ngx_http_wapress_loc_conf_t *wlcf,
    u_char *name, size_t len);

/*
 * Renders "value" as the fragment's HTML into out (from pool).  Returns
 * NGX_OK, NGX_DECLINED for a value that cannot be used (*err says why,
 * e.g. "invalid JSON: ..." or a rendering larger than the fragment's
 * wapress_fragment_max_size, which stops there), or NGX_ERROR (out of
 * memory).  Renderings, and failures, are remembered by the worker's
 * memo (_memo.c) once the configuration is loaded.  With out_hash, the
 * ETag's hash of out is set too (ngx_http_wapress_headers_hash(): of a
 * rendering, kept with it in the memo; of html, as it is copied).  With
 * memo, *memo says whether a json or text value's rendering came from the
 * memo (NGX_HTTP_WAPRESS_MEMO_HIT) or was made (_MISS; left as it was for
 * html).
 */
ngx_int_t ngx_http_wapress_fragment_render(ngx_pool_t *pool,
    ngx_http_wapress_fragment_t *frag, u_char *value, size_t len,
    ngx_str_t *out, uint64_t *out_hash, ngx_uint_t *memo, u_char *err,
    size_t err_size);


#endif /* _NGX_HTTP_WAPRESS_FRAGMENT_H_INCLUDED_ */
