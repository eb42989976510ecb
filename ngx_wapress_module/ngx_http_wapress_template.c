
/*
 * ngx_http_wapress_template.c: loading a fragment's Mustache template
 * when the configuration loads: the file and its partials are read
 * (_file.c) and compiled (_mustache.c) into the configuration pool, once
 * per file, with a checksum of all the text read so that renderings
 * cached before an edit are not found after a reload.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_template.h"
#include "ngx_http_wapress_file.h"


typedef struct {
    ngx_conf_t                      *cf;
    ngx_str_t                        dir;      /* with the trailing '/' */
    ngx_str_t                       *path;     /* of the template */
    uint32_t                         crc;      /* of all the text read */
} ngx_http_wapress_partial_ctx_t;


static int ngx_http_wapress_partial(void *data, const char *name,
    size_t name_len, const char **text, size_t *len);
static void *ngx_http_wapress_template_alloc(void *data, size_t size);


ngx_http_wapress_template_t *
ngx_http_wapress_template_load(ngx_conf_t *cf, ngx_str_t *name)
{
    u_char                               *p;
    ngx_str_t                             path, text;
    ngx_uint_t                            i;
    ngx_http_wapress_template_t          *t, **tp;
    ngx_http_wapress_main_conf_t         *wmcf;
    ngx_http_wapress_partial_ctx_t        pctx;
    ngx_http_wapress_mustache_compile_t   cc;
    char                                  err[256];

    path = *name;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NULL;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wapress_module);
    tp = wmcf->templates.elts;

    for (i = 0; i < wmcf->templates.nelts; i++) {
        if (tp[i]->path.len == path.len
            && ngx_strncmp(tp[i]->path.data, path.data, path.len) == 0)
        {
            return tp[i];
        }
    }

    if (ngx_http_wapress_file_read(cf, &path, "template", 0, &text) != NGX_OK) {
        return NULL;
    }

    t = ngx_palloc(cf->pool, sizeof(ngx_http_wapress_template_t));
    if (t == NULL) {
        return NULL;
    }

    t->path = path;

    pctx.cf = cf;
    pctx.path = &t->path;

    ngx_crc32_init(pctx.crc);
    ngx_crc32_update(&pctx.crc, text.data, text.len);
    pctx.dir.data = path.data;
    pctx.dir.len = 0;

    for (p = path.data + path.len; p > path.data; p--) {
        if (p[-1] == '/') {
            pctx.dir.len = p - path.data;
            break;
        }
    }

    ngx_memzero(&cc, sizeof(ngx_http_wapress_mustache_compile_t));
    cc.alloc = ngx_http_wapress_template_alloc;
    cc.alloc_data = cf->pool;
    cc.partial = ngx_http_wapress_partial;
    cc.partial_data = &pctx;
    cc.err = err;
    cc.err_size = sizeof(err);
    err[0] = '\0';

    t->tpl = ngx_http_wapress_mustache_compile(&cc, (char *) text.data,
                                               text.len);
    if (t->tpl == NULL) {
        if (cc.err_partial != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "wapress: template \"%V\": partial \"%V%s"
                               ".mustache\", line %ui: %s", &path,
                               &pctx.dir, cc.err_partial,
                               (ngx_uint_t) cc.err_line, err);

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "wapress: template \"%V\", line %ui: %s",
                               &path, (ngx_uint_t) cc.err_line, err);
        }

        return NULL;
    }

    ngx_crc32_final(pctx.crc);
    t->crc = pctx.crc;

    tp = ngx_array_push(&wmcf->templates);
    if (tp == NULL) {
        return NULL;
    }

    *tp = t;

    return t;
}


/* partials "{{> card}}" are "card.mustache" beside the template */

static int
ngx_http_wapress_partial(void *data, const char *name, size_t name_len,
    const char **text, size_t *len)
{
    ngx_http_wapress_partial_ctx_t *pctx = data;

    u_char     *p;
    ngx_int_t   rc;
    ngx_str_t   path, src;

    path.len = pctx->dir.len + name_len + sizeof(".mustache") - 1;
    path.data = ngx_pnalloc(pctx->cf->pool, path.len + 1);
    if (path.data == NULL) {
        return -1;
    }

    p = ngx_cpymem(path.data, pctx->dir.data, pctx->dir.len);
    p = ngx_cpymem(p, name, name_len);
    p = ngx_cpymem(p, ".mustache", sizeof(".mustache") - 1);
    *p = '\0';

    rc = ngx_http_wapress_file_read(pctx->cf, &path, "template", 1, &src);

    ngx_crc32_update(&pctx->crc, path.data, path.len);

    if (rc == NGX_OK) {
        ngx_crc32_update(&pctx->crc, src.data, src.len);
    }

    if (rc != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_WARN, pctx->cf, 0,
                           "wapress: template \"%V\": partial \"%V\" "
                           "not found, it renders empty", pctx->path, &path);
        return -1;
    }

    *text = (const char *) src.data;
    *len = src.len;

    return 0;
}


static void *
ngx_http_wapress_template_alloc(void *data, size_t size)
{
    return ngx_palloc(data, size);
}
