
/*
 * ngx_http_wapress_file.h: reading a whole file (a layout, a template or
 * a partial) when the configuration loads.
 */


#ifndef _NGX_HTTP_WAPRESS_FILE_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FILE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Reads the file at "path" (NUL-terminated, as ngx_conf_full_name()
 * leaves it) into cf->pool; text->data is NUL-terminated too.  "what"
 * names the file in messages ("layout", "template").  Returns NGX_OK;
 * NGX_DECLINED if it cannot be opened (logged unless "quiet"); NGX_ERROR
 * if it cannot be read (logged) or on allocation failure.
 */
ngx_int_t ngx_http_wapress_file_read(ngx_conf_t *cf, ngx_str_t *path,
    const char *what, ngx_uint_t quiet, ngx_str_t *text);


#endif /* _NGX_HTTP_WAPRESS_FILE_H_INCLUDED_ */
