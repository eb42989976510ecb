
/*
 * ngx_http_wapress_var.h: the $wapress_* variables: how the fragment
 * cache served a page ($wapress_cache_status, one per fragment with
 * $wapress_cache_status_NAME) and counters of its fragments by outcome
 * ($wapress_fragments_hit, ..._failed), for the access log.
 */


#ifndef _NGX_HTTP_WAPRESS_VAR_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_VAR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* preconfiguration */
ngx_int_t ngx_http_wapress_add_variables(ngx_conf_t *cf);


#endif /* _NGX_HTTP_WAPRESS_VAR_H_INCLUDED_ */
