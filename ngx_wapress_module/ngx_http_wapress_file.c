
/*
 * ngx_http_wapress_file.c: the one file reader of the configuration:
 * layouts (_layout.c), templates and their partials (_template.c) are
 * read whole, once, when the configuration loads.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_wapress_file.h"


ngx_int_t
ngx_http_wapress_file_read(ngx_conf_t *cf, ngx_str_t *path,
    const char *what, ngx_uint_t quiet, ngx_str_t *text)
{
    ssize_t           n;
    ngx_err_t         e;
    ngx_file_t        file;
    const char       *op;
    ngx_file_info_t   fi;

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = *path;
    file.log = cf->log;

    file.fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        if (!quiet) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "wapress: cannot open %s \"%V\"", what, path);
        }

        return NGX_DECLINED;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        e = ngx_errno;
        op = "stat";
        goto failed;
    }

    text->len = ngx_file_size(&fi);
    text->data = ngx_pnalloc(cf->pool, text->len + 1);
    if (text->data == NULL) {
        (void) ngx_close_file(file.fd);
        return NGX_ERROR;
    }

    n = ngx_read_file(&file, text->data, text->len, 0);
    if (n == NGX_ERROR || (size_t) n != text->len) {
        e = (n == NGX_ERROR) ? ngx_errno : 0;
        op = "read";
        goto failed;
    }

    text->data[text->len] = '\0';

    (void) ngx_close_file(file.fd);

    return NGX_OK;

failed:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, e, "wapress: cannot %s %s \"%V\"",
                       op, what, path);

    (void) ngx_close_file(file.fd);

    return NGX_ERROR;
}
