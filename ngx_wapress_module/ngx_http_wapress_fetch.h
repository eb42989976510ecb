
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
 * Evaluates the keys of fragments frags[0 .. n - 1] (indexes into the
 * location's fragments; those asked before are skipped) and sends their
 * lookups together.  ctx->waiting counts the replies to come; fragments
 * that cannot be asked are marked failed at once.  As replies arrive,
 * ctx->wake(ctx) is called: after each one if ctx->wake_each, else after
 * the last.  NGX_ERROR: out of memory or a key that cannot be evaluated.
 */
ngx_int_t ngx_http_wapress_fetch(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t *frags, ngx_uint_t n);

/*
 * The request no longer waits (deadline, finished, or gone): replies
 * still in flight will be dropped; fragments still pending are marked
 * failed, with a log line naming "cause" unless it is NULL.
 */
void ngx_http_wapress_fetch_detach(ngx_http_wapress_ctx_t *ctx,
    const char *cause);

/*
 * Creates a page's context in r->pool, for the handler and the filter
 * alike: one result slot per fragment, then "extra" bytes for the
 * caller (at ctx->results + nfragments); its event calls "handler"; a
 * pool cleanup stops the event and lets go of the replies in flight.
 */
ngx_http_wapress_ctx_t *ngx_http_wapress_ctx_create(ngx_http_request_t *r,
    ngx_http_wapress_loc_conf_t *wlcf, size_t extra,
    ngx_http_wapress_wake_pt wake, ngx_event_handler_pt handler);

/* logs one line for a fragment that was not found or failed */
void ngx_http_wapress_log_result(ngx_http_wapress_ctx_t *ctx,
    ngx_uint_t i, const char *cause);


#endif /* _NGX_HTTP_WAPRESS_FETCH_H_INCLUDED_ */
