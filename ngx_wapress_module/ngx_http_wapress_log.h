
/*
 * ngx_http_wapress_log.h: the one format of the module's log lines about
 * a fragment:
 *
 *     wapress: fragment "NAME" key "KEY"[ field "FIELD"]: WHAT
 *
 * with the key and field (which may come from the client) escaped; and
 * a page's lines, held and written together, so that fragments that fail
 * for one cause with one outcome share one line:
 *
 *     wapress: fragments "A", "B" (keys "K1", "K2"[ field "F2"]): WHAT
 */


#ifndef _NGX_HTTP_WAPRESS_LOG_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_LOG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


void ngx_cdecl ngx_http_wapress_log_fragment(ngx_uint_t level,
    ngx_log_t *log, ngx_http_wapress_fragment_t *frag, ngx_str_t *key,
    ngx_str_t *field, const char *fmt, ...);


/*
 * Holds a line about fragment i of the page (in r->pool) until
 * ngx_http_wapress_log_flush(): "outcome" is static text; with "stale"
 * (NGX_HTTP_WAPRESS_LOG_STALE_*) it follows a stale copy "age" ms old.
 * A line under the log's level is not held.
 */
void ngx_http_wapress_log_hold(ngx_http_wapress_page_t *page, ngx_uint_t i,
    ngx_uint_t level, const char *cause, const char *outcome,
    ngx_uint_t stale, ngx_msec_t age);

/* writes the page's lines held: one per level, cause and outcome */
void ngx_http_wapress_log_flush(ngx_http_wapress_page_t *page);


#define NGX_HTTP_WAPRESS_LOG_STALE_NONE     0
#define NGX_HTTP_WAPRESS_LOG_STALE_COPY     1   /* a stale value shown */
#define NGX_HTTP_WAPRESS_LOG_STALE_MISSING  2   /* a stale "not found" */


#endif /* _NGX_HTTP_WAPRESS_LOG_H_INCLUDED_ */
