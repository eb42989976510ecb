
/*
 * ngx_http_wapress_fresh.h: the freshness policy of a page's fragments
 * with wapress_cache: when the shared zone answers instead of Redis, when
 * a stale copy stands in, what is kept, and the stale-while-revalidate
 * refresh.
 */


#ifndef _NGX_HTTP_WAPRESS_FRESH_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FRESH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/*
 * Before fragment i of the page is asked (its key evaluated): NGX_OK if
 * the zone answered (a fresh copy, HIT, or with stale_while_revalidate an
 * expired one, UPDATING, and the entry's one refresh is sent if no other
 * is under way): the result's value, state and cache are set.
 * NGX_DECLINED: Redis is to be asked (the result's cache says MISS or
 * BYPASS).  NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_wapress_fresh_lookup(ngx_http_wapress_page_t *page,
    ngx_uint_t i);

/*
 * Redis could not answer for fragment i: NGX_OK if a copy younger than
 * stale= is now its result (cache STALE), *age its age; else
 * NGX_DECLINED.
 */
ngx_int_t ngx_http_wapress_fresh_stale(ngx_http_wapress_page_t *page,
    ngx_uint_t i, ngx_msec_t *age);

/*
 * How long fragment i's answer stays fresh from now (for Cache-Control):
 * a cached copy's valid= time less its age, a value just read and kept
 * its valid= time; 0 for anything else (not cached, stale, a default).
 */
ngx_msec_t ngx_http_wapress_fresh_left(ngx_http_wapress_page_t *page,
    ngx_uint_t i);

/*
 * keeps Redis's answer for fragment i: a rendered value (and its ETag
 * hash, 0 if not computed), or a nil
 */
void ngx_http_wapress_fresh_store(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_str_t *key, ngx_str_t *field, ngx_str_t *value,
    uint64_t hash, ngx_uint_t missing, ngx_msec_t asked);


#endif /* _NGX_HTTP_WAPRESS_FRESH_H_INCLUDED_ */
