
/*
 * ngx_http_wapress_log.h: the one format of the module's log lines about
 * a fragment:
 *
 *     wapress: fragment "NAME" key "KEY"[ field "FIELD"]: WHAT
 *
 * with the key and field (which may come from the client) escaped.
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


#endif /* _NGX_HTTP_WAPRESS_LOG_H_INCLUDED_ */
