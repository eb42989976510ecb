
/*
 * ngx_http_wapress_layout.h: layouts (HTML files with fragment markers)
 * and the marker syntax <!--# wapress fragment="NAME" --> shared by the
 * content handler and the body filter.
 */


#ifndef _NGX_HTTP_WAPRESS_LAYOUT_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_LAYOUT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/* a marker longer than this is malformed */
#define NGX_HTTP_WAPRESS_MARKER_MAX          256


/*
 * Looks at the text that starts at p ('<') and ends before last:
 * NGX_OK: a marker, *name is its fragment name and *end follows "-->";
 * NGX_DECLINED: not a wapress marker (may still be another comment);
 * NGX_AGAIN: the text ends before this can be told;
 * NGX_ERROR: "<!--# wapress" begins a malformed marker, *err says why.
 */
ngx_int_t ngx_http_wapress_marker_parse(u_char *p, u_char *last,
    ngx_str_t *name, u_char **end, char **err);

char *ngx_http_wapress_layout(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_wapress_layout_resolve(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf);


#endif /* _NGX_HTTP_WAPRESS_LAYOUT_H_INCLUDED_ */
