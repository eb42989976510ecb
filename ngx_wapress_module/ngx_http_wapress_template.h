
/*
 * ngx_http_wapress_template.h: Mustache templates of json and text
 * fragments, read and compiled once when the configuration loads.
 */


#ifndef _NGX_HTTP_WAPRESS_TEMPLATE_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_TEMPLATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"


/*
 * The template at "name" (relative to the prefix), with its partials
 * ("{{> card}}" is "card.mustache" beside it), compiled into cf->pool.
 * The same file named by several fragments is compiled once.  NULL on
 * error (logged with the file and line).
 */
ngx_http_wapress_template_t *ngx_http_wapress_template_load(ngx_conf_t *cf,
    ngx_str_t *name);


#endif /* _NGX_HTTP_WAPRESS_TEMPLATE_H_INCLUDED_ */
