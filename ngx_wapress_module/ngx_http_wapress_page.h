
/*
 * ngx_http_wapress_page.h: one page, whichever front end assembles it
 * (the content handler from a layout's parts, the body filter from the
 * markers it scans): its fragments' lookups (the cache first, then
 * Redis), the deadline, the status, and each fragment's output buffer.
 */


#ifndef _NGX_HTTP_WAPRESS_PAGE_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_PAGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/*
 * Creates the request's page in r->pool, "extra" bytes after its results
 * for the front end (at page->results + nfragments).  "resume" is called
 * from a posted event: after the last reply, after each if page->each,
 * at the deadline, or when the front end posts page->event itself.  A
 * pool cleanup cancels the lookups still in flight.
 */
ngx_http_wapress_page_t *ngx_http_wapress_page_create(ngx_http_request_t *r,
    ngx_http_wapress_loc_conf_t *wlcf, size_t extra,
    ngx_http_wapress_page_pt resume);

/*
 * Looks up fragments frags[0 .. n - 1] (indexes into the location's
 * fragments; those asked before are skipped): each is answered by the
 * cache, sent to Redis (page->waiting counts them; the deadline is
 * wapress_redis_timeout after the oldest in flight) or fails at once.
 * NGX_ERROR: no memory, or a key that cannot be evaluated.
 */
ngx_int_t ngx_http_wapress_page_lookup(ngx_http_wapress_page_t *page,
    ngx_uint_t *frags, ngx_uint_t n);

/*
 * The page waits no more (its status is decided): lookups in flight are
 * cancelled and fail without a log line; the deadline is stopped.
 */
void ngx_http_wapress_page_stop(ngx_http_wapress_page_t *page);

/*
 * The page's status from its required fragments: NGX_HTTP_OK, or
 * NGX_HTTP_NOT_FOUND (one is missing), or NGX_HTTP_SERVICE_UNAVAILABLE
 * (one cannot be read; it wins).  *wait is set if one is still pending,
 * or, unless "complete", not yet seen: the status may then still change
 * (from 200 to 404 or 503, or from 404 to 503).
 */
ngx_int_t ngx_http_wapress_page_status(ngx_http_wapress_page_t *page,
    ngx_uint_t complete, ngx_uint_t *wait);

/*
 * Points b at what fragment i shows (its value, else its default; it
 * must be known): b->memory, as the bytes are not the request's to
 * change; or, with "copy" and a later filter that edits in place
 * (r->filter_need_temporary: charset recoding), a b->temporary copy in
 * r->pool.  A buffer of no bytes is left empty.
 */
ngx_int_t ngx_http_wapress_page_buf(ngx_http_wapress_page_t *page,
    ngx_uint_t i, ngx_buf_t *b, ngx_uint_t copy);


#endif /* _NGX_HTTP_WAPRESS_PAGE_H_INCLUDED_ */
