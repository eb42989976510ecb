
/*
 * ngx_http_wapress_fetch.h: one page's Redis lookups, written together,
 * and the replies that may outlive the request that asked for them.
 */


#ifndef _NGX_HTTP_WAPRESS_FETCH_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FETCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/*
 * Evaluates the keys of the fragments the page uses and sends their
 * lookups.  ctx->waiting counts the replies to wait for; fragments that
 * cannot be asked are marked failed at once.  When the last reply is in,
 * ngx_http_wapress_wake() is called.  NGX_ERROR: out of memory.
 */
ngx_int_t ngx_http_wapress_fetch(ngx_http_wapress_ctx_t *ctx);

/* the request no longer waits: replies still in flight are dropped */
void ngx_http_wapress_fetch_detach(ngx_http_wapress_ctx_t *ctx);

/* logs one line for a fragment that was not found or failed */
void ngx_http_wapress_log_result(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i, const char *cause);


#endif /* _NGX_HTTP_WAPRESS_FETCH_H_INCLUDED_ */
