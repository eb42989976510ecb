
/*
 * ngx_http_wapress_fragment.c: the wapress_fragment directive.  Each
 * fragment names a Redis key (and hash field), how its value becomes HTML
 * (html as is; json decoded with jansson and rendered by a Mustache
 * template; text rendered with the string as the template's root), a
 * default and whether the page needs it.  Templates and their partials
 * are read and compiled here, once, when the configuration loads; the
 * default is rendered then too.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_fragment.h"
#include "ngx_http_wapress_marker.h"


typedef struct {
    ngx_conf_t                      *cf;
    ngx_str_t                        dir;      /* with the trailing '/' */
    ngx_str_t                       *path;     /* of the template */
    uint32_t                         crc;      /* of all the text read */
} ngx_http_wapress_partial_ctx_t;


static ngx_http_wapress_template_t *ngx_http_wapress_template_load(
    ngx_conf_t *cf, ngx_str_t *name);
static ngx_int_t ngx_http_wapress_read_file(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *text, ngx_uint_t quiet);
static int ngx_http_wapress_partial(void *data, const char *name,
    size_t name_len, const char **text, size_t *len);
static void *ngx_http_wapress_alloc(void *data, size_t size);
static void *ngx_http_wapress_nalloc(void *data, size_t size);


char *
ngx_http_wapress_fragment(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wapress_loc_conf_t *wlcf = conf;

    u_char                            *p;
    u_char                             err[NGX_MAX_ERROR_STR];
    ngx_int_t                          rc, t;
    ngx_str_t                         *value, s, deflt, tname;
    ngx_uint_t                         i, type_set;
    ngx_http_wapress_fragment_t       *frag, *f;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    if (wlcf->fragments == NGX_CONF_UNSET_PTR) {
        wlcf->fragments = ngx_array_create(cf->pool, 8,
                                           sizeof(ngx_http_wapress_fragment_t));
        if (wlcf->fragments == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0 || value[1].len > NGX_HTTP_WAPRESS_MARKER_NAME_MAX) {
        return "has a fragment name that is empty or longer than 64";
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!ngx_http_wapress_marker_name_char(*p)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid fragment name \"%V\": use letters, "
                               "digits, \"_\", \"-\", \".\" and \":\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    f = wlcf->fragments->elts;

    for (i = 0; i < wlcf->fragments->nelts; i++) {
        if (f[i].name.len == value[1].len
            && ngx_strncmp(f[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate fragment \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    frag = ngx_array_push(wlcf->fragments);
    if (frag == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(frag, sizeof(ngx_http_wapress_fragment_t));

    frag->name = value[1];
    frag->valid = NGX_CONF_UNSET_MSEC;
    frag->stale = NGX_CONF_UNSET_MSEC;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &frag->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    type_set = 0;
    ngx_str_null(&tname);
    ngx_str_null(&deflt);

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "field=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            if (s.len == 0 || frag->field != NULL) {
                goto invalid;
            }

            frag->field = ngx_palloc(cf->pool,
                                     sizeof(ngx_http_complex_value_t));
            if (frag->field == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
            ccv.cf = cf;
            ccv.value = &s;
            ccv.complex_value = frag->field;

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "type=", 5) == 0 && !type_set) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (s.len == 4 && ngx_strncmp(s.data, "html", 4) == 0) {
                frag->type = NGX_HTTP_WAPRESS_TYPE_HTML;

            } else if (s.len == 4 && ngx_strncmp(s.data, "json", 4) == 0) {
                frag->type = NGX_HTTP_WAPRESS_TYPE_JSON;

            } else if (s.len == 4 && ngx_strncmp(s.data, "text", 4) == 0) {
                frag->type = NGX_HTTP_WAPRESS_TYPE_TEXT;

            } else {
                goto invalid;
            }

            type_set = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "template=", 9) == 0
            && tname.data == NULL)
        {
            tname.data = value[i].data + 9;
            tname.len = value[i].len - 9;

            if (tname.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "default=", 8) == 0
            && !frag->has_default)
        {
            deflt.data = value[i].data + 8;
            deflt.len = value[i].len - 8;
            frag->has_default = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "required") == 0 && !frag->required) {
            frag->required = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "valid=", 6) == 0
            && frag->valid == NGX_CONF_UNSET_MSEC)
        {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            t = ngx_parse_time(&s, 0);
            if (t == NGX_ERROR) {
                goto invalid;
            }

            frag->valid = (ngx_msec_t) t;
            continue;
        }

        if (ngx_strncmp(value[i].data, "stale=", 6) == 0
            && frag->stale == NGX_CONF_UNSET_MSEC)
        {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            t = ngx_parse_time(&s, 0);
            if (t == NGX_ERROR) {
                goto invalid;
            }

            frag->stale = (ngx_msec_t) t;
            continue;
        }

        goto invalid;
    }

    if (!type_set) {
        frag->type = tname.data ? NGX_HTTP_WAPRESS_TYPE_JSON
                                : NGX_HTTP_WAPRESS_TYPE_HTML;
    }

    if (frag->type == NGX_HTTP_WAPRESS_TYPE_HTML && tname.data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "fragment \"%V\": type=html takes no template",
                           &frag->name);
        return NGX_CONF_ERROR;
    }

    if (frag->type != NGX_HTTP_WAPRESS_TYPE_HTML && tname.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "fragment \"%V\": type=json and type=text need "
                           "template=FILE", &frag->name);
        return NGX_CONF_ERROR;
    }

    if (tname.data != NULL) {
        frag->template = ngx_http_wapress_template_load(cf, &tname);
        if (frag->template == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /*
     * What the rendering depends on besides the value: cached renderings
     * of an edited template are not found after a reload.
     */

    ngx_crc32_init(frag->render_id);
    ngx_crc32_update(&frag->render_id, (u_char *) &frag->type,
                     sizeof(ngx_uint_t));

    if (frag->template != NULL) {
        ngx_crc32_update(&frag->render_id, (u_char *) &frag->template->crc,
                         sizeof(uint32_t));
    }

    ngx_crc32_final(frag->render_id);

    if (frag->has_default) {
        rc = ngx_http_wapress_fragment_render(cf->pool, frag, deflt.data,
                                              deflt.len, &frag->deflt, err,
                                              sizeof(err));
        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DECLINED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "fragment \"%V\": default \"%V\": %s",
                               &frag->name, &deflt, err);
            return NGX_CONF_ERROR;
        }
    }

    /* from now on, in the workers, renderings are remembered */
    frag->memoize = (frag->type != NGX_HTTP_WAPRESS_TYPE_HTML);

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid or repeated parameter \"%V\" of fragment "
                       "\"%V\"", &value[i], &frag->name);

    return NGX_CONF_ERROR;
}


static ngx_http_wapress_template_t *
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

    if (ngx_http_wapress_read_file(cf, &path, &text, 0) != NGX_OK) {
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
    cc.alloc = ngx_http_wapress_alloc;
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


static ngx_int_t
ngx_http_wapress_read_file(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *text,
    ngx_uint_t quiet)
{
    ssize_t          n;
    ngx_err_t        e;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = *path;
    file.log = cf->log;

    file.fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        if (!quiet) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "wapress: cannot open template \"%V\"", path);
        }

        return NGX_DECLINED;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        e = ngx_errno;
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
        e = ngx_errno;
        goto failed;
    }

    text->data[text->len] = '\0';

    (void) ngx_close_file(file.fd);

    return NGX_OK;

failed:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, e,
                       "wapress: cannot read template \"%V\"", path);

    (void) ngx_close_file(file.fd);

    return NGX_ERROR;
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

    rc = ngx_http_wapress_read_file(pctx->cf, &path, &src, 1);

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


ngx_int_t
ngx_http_wapress_fragment_render(ngx_pool_t *pool,
    ngx_http_wapress_fragment_t *frag, u_char *value, size_t len,
    ngx_str_t *out, u_char *err, size_t err_size)
{
    int                               rc;
    json_t                           *root;
    uint32_t                          hash;
    json_error_t                      jerr;
    ngx_http_wapress_mustache_out_t   o;

    if (frag->type == NGX_HTTP_WAPRESS_TYPE_HTML) {
        out->data = ngx_pnalloc(pool, len);
        if (out->data == NULL && len) {
            return NGX_ERROR;
        }

        ngx_memcpy(out->data, value, len);
        out->len = len;

        return NGX_OK;
    }

    hash = 0;

    if (frag->memoize) {
        hash = ngx_http_wapress_memo_hash(value, len);

        if (ngx_http_wapress_memo_find(frag->memo, hash, value, len, out)
            == NGX_OK)
        {
            value = out->data;
            len = out->len;

            out->data = ngx_pnalloc(pool, len);
            if (out->data == NULL && len) {
                return NGX_ERROR;
            }

            ngx_memcpy(out->data, value, len);

            return NGX_OK;
        }
    }

    if (frag->type == NGX_HTTP_WAPRESS_TYPE_JSON) {
        root = json_loadb((const char *) value, len, JSON_DECODE_ANY, &jerr);

        if (root == NULL) {
            ngx_snprintf(err, err_size, "invalid JSON: %s (line %d, "
                         "column %d)%Z", jerr.text, jerr.line, jerr.column);
            err[err_size - 1] = '\0';
            return NGX_DECLINED;
        }

    } else {
        root = json_stringn_nocheck((const char *) value, len);
        if (root == NULL) {
            return NGX_ERROR;
        }
    }

    o.start = ngx_pnalloc(pool, len + 512);
    if (o.start == NULL) {
        json_decref(root);
        return NGX_ERROR;
    }

    o.pos = o.start;
    o.end = o.start + len + 512;
    o.alloc = ngx_http_wapress_nalloc;
    o.alloc_data = pool;

    rc = ngx_http_wapress_mustache_render(frag->template->tpl, root, &o);

    json_decref(root);

    if (rc == NGX_HTTP_WAPRESS_MUSTACHE_NOMEM) {
        return NGX_ERROR;
    }

    if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
        ngx_snprintf(err, err_size, "template \"%V\": %s%Z",
                     &frag->template->path,
                     rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP
                     ? "data nested too deep"
                     : "rendering too long (more than 10 million steps)");
        err[err_size - 1] = '\0';
        return NGX_DECLINED;
    }

    out->data = o.start;
    out->len = o.pos - o.start;

    if (frag->memoize) {
        ngx_http_wapress_memo_store(&frag->memo, hash, value, len, out,
                                    pool->log);
    }

    return NGX_OK;
}


static void *
ngx_http_wapress_alloc(void *data, size_t size)
{
    return ngx_palloc(data, size);
}


static void *
ngx_http_wapress_nalloc(void *data, size_t size)
{
    return ngx_pnalloc(data, size);
}
