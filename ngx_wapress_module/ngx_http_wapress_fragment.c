
/*
 * ngx_http_wapress_fragment.c: the wapress_fragment directive.  Each
 * fragment names a Redis key (and hash field), how its value becomes HTML
 * (html as is; json decoded with jansson and rendered by a Mustache
 * template; text rendered with the string as the template's root), a
 * default and whether the page needs it.  Templates and their partials
 * are read and compiled once, when the configuration loads (_template.c);
 * the default is rendered then too.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_fragment.h"
#include "ngx_http_wapress_marker.h"
#include "ngx_http_wapress_template.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_json.h"
#include "ngx_http_wapress_json_arena.h"
#include "ngx_http_wapress_headers.h"


static ngx_int_t ngx_http_wapress_fragment_template(ngx_pool_t *pool,
    ngx_http_wapress_fragment_t *frag, u_char *value, size_t len,
    ngx_str_t *out, u_char *err, size_t err_size);
static size_t ngx_http_wapress_fragment_memo_size(void);
static void *ngx_http_wapress_nalloc(void *data, size_t size);


char *
ngx_http_wapress_fragment(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wapress_loc_conf_t *wlcf = conf;

    u_char                            *p;
    u_char                             err[NGX_MAX_ERROR_STR];
    ngx_int_t                          rc;
    ngx_str_t                         *value, s, deflt, tname;
    ngx_uint_t                         i, type_set;
    ngx_http_wapress_fragment_t       *frag;
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

    if (ngx_http_wapress_fragment_find(wlcf, value[1].data, value[1].len)
        != NGX_DECLINED)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate fragment \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    frag = ngx_array_push(wlcf->fragments);
    if (frag == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(frag, sizeof(ngx_http_wapress_fragment_t));

    frag->name = value[1];
    frag->max_size = &wlcf->max_size;
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

        rc = ngx_http_wapress_cache_parse_time(&value[i], &frag->valid,
                                               &frag->stale);
        if (rc == NGX_OK) {
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
                                              deflt.len, &frag->deflt, NULL,
                                              NULL, err, sizeof(err));
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


ngx_int_t
ngx_http_wapress_fragment_find(ngx_http_wapress_loc_conf_t *wlcf,
    u_char *name, size_t len)
{
    ngx_uint_t                    i;
    ngx_http_wapress_fragment_t  *frag;

    if (wlcf->fragments == NULL || wlcf->fragments == NGX_CONF_UNSET_PTR) {
        return NGX_DECLINED;
    }

    frag = wlcf->fragments->elts;

    for (i = 0; i < wlcf->fragments->nelts; i++) {
        if (frag[i].name.len == len
            && ngx_strncmp(frag[i].name.data, name, len) == 0)
        {
            return i;
        }
    }

    return NGX_DECLINED;
}


/*
 * A json or text fragment: from the worker's memo when this value was
 * rendered (or failed) before, else decoded and rendered, within the
 * fragment's wapress_fragment_max_size, and remembered.
 */

ngx_int_t
ngx_http_wapress_fragment_render(ngx_pool_t *pool,
    ngx_http_wapress_fragment_t *frag, u_char *value, size_t len,
    ngx_str_t *out, uint64_t *out_hash, ngx_uint_t *memo, u_char *err,
    size_t err_size)
{
    size_t      budget;
    uint32_t    hash;
    uint64_t    html_hash;
    ngx_int_t   rc;
    ngx_str_t   html;

    if (frag->type == NGX_HTTP_WAPRESS_TYPE_HTML) {
        out->data = ngx_pnalloc(pool, len);
        if (out->data == NULL && len) {
            return NGX_ERROR;
        }

        out->len = len;

        if (out_hash) {
            /* hashed as it is copied: one pass */
            *out_hash = ngx_http_wapress_headers_copy(out->data, value, len);

        } else {
            ngx_memcpy(out->data, value, len);
        }

        return NGX_OK;
    }

    budget = frag->memoize ? ngx_http_wapress_fragment_memo_size() : 0;

    if (memo) {
        *memo = NGX_HTTP_WAPRESS_MEMO_MISS;
    }

    if (budget == 0) {
        rc = ngx_http_wapress_fragment_template(pool, frag, value, len,
                                                out, err, err_size);

        if (rc == NGX_OK && out_hash) {
            *out_hash = ngx_http_wapress_headers_hash(out->data, out->len);
        }

        return rc;
    }

    hash = ngx_http_wapress_memo_hash(value, len);

    rc = ngx_http_wapress_memo_find(frag->memo, hash, value, len, &html,
                                    &html_hash);

    if (rc != NGX_AGAIN) {
        if (memo) {
            *memo = NGX_HTTP_WAPRESS_MEMO_HIT;
        }

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                       "wapress memo hit: fragment \"%V\"%s, %uz bytes",
                       &frag->name,
                       rc == NGX_DECLINED ? " (rendering failed)" : "", len);

        if (rc == NGX_DECLINED) {
            ngx_cpystrn(err, html.data, err_size);
            return NGX_DECLINED;
        }

        out->data = ngx_pnalloc(pool, html.len);
        if (out->data == NULL && html.len) {
            return NGX_ERROR;
        }

        ngx_memcpy(out->data, html.data, html.len);
        out->len = html.len;

        if (out_hash) {
            *out_hash = html_hash;
        }

        return NGX_OK;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                   "wapress memo miss: fragment \"%V\", %uz bytes",
                   &frag->name, len);

    rc = ngx_http_wapress_fragment_template(pool, frag, value, len, out,
                                            err, err_size);

    if (rc == NGX_OK) {
        /* hashed once per rendering, for every page that uses it */
        html_hash = ngx_http_wapress_headers_hash(out->data, out->len);

        if (out_hash) {
            *out_hash = html_hash;
        }

        ngx_http_wapress_memo_store(&frag->memo, hash, value, len, out,
                                    html_hash, 0, budget, pool->log);

    } else if (rc == NGX_DECLINED) {
        /* the same bytes fail the same way: not worth trying again */
        html.data = err;
        html.len = ngx_strlen(err);

        ngx_http_wapress_memo_store(&frag->memo, hash, value, len, &html, 0,
                                    1, budget, pool->log);
    }

    return rc;
}


/*
 * Decoded into jansson values allocated from _json.c's arena (all given
 * back at once when the rendering is done), rendered within "max".
 */

static ngx_int_t
ngx_http_wapress_fragment_template(ngx_pool_t *pool,
    ngx_http_wapress_fragment_t *frag, u_char *value, size_t len,
    ngx_str_t *out, u_char *err, size_t err_size)
{
    int                               rc;
    size_t                            max;
    json_t                           *root;
    json_error_t                      jerr;
    ngx_http_wapress_mustache_out_t   o;

    max = *frag->max_size;

    if (max == NGX_CONF_UNSET_SIZE) {
        max = NGX_HTTP_WAPRESS_FRAGMENT_MAX_SIZE;
    }

    o.start = ngx_pnalloc(pool, ngx_min(len + 512, max));
    if (o.start == NULL) {
        return NGX_ERROR;
    }

    o.pos = o.start;
    o.end = o.start + ngx_min(len + 512, max);
    o.alloc = ngx_http_wapress_nalloc;
    o.alloc_data = pool;
    o.max = max;

    ngx_http_wapress_json_begin();

    if (frag->type == NGX_HTTP_WAPRESS_TYPE_JSON) {
        root = ngx_http_wapress_json_load((const char *) value, len, &jerr);

    } else {
        root = json_stringn_nocheck((const char *) value, len);
        jerr.text[JSON_ERROR_TEXT_LENGTH - 1] = json_error_out_of_memory;
    }

    if (root == NULL) {
        ngx_http_wapress_json_end();

        if (json_error_code(&jerr) == json_error_out_of_memory) {
            return NGX_ERROR;
        }

        ngx_snprintf(err, err_size, "invalid JSON: %s (line %d, "
                     "column %d)%Z", jerr.text, jerr.line, jerr.column);
        err[err_size - 1] = '\0';

        return NGX_DECLINED;
    }

    rc = ngx_http_wapress_mustache_render(frag->template->tpl, root, &o);

    json_decref(root);
    ngx_http_wapress_json_end();

    switch (rc) {

    case NGX_HTTP_WAPRESS_MUSTACHE_OK:
        out->data = o.start;
        out->len = o.pos - o.start;
        return NGX_OK;

    case NGX_HTTP_WAPRESS_MUSTACHE_NOMEM:
        return NGX_ERROR;

    case NGX_HTTP_WAPRESS_MUSTACHE_TOO_LARGE:
        ngx_snprintf(err, err_size, "template \"%V\": rendering larger "
                     "than wapress_fragment_max_size %uz%Z",
                     &frag->template->path, max);
        break;

    case NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP:
        ngx_snprintf(err, err_size, "template \"%V\": data nested too "
                     "deep%Z", &frag->template->path);
        break;

    default: /* NGX_HTTP_WAPRESS_MUSTACHE_TOO_LONG */
        ngx_snprintf(err, err_size, "template \"%V\": rendering too long "
                     "(more than 10 million steps)%Z",
                     &frag->template->path);
        break;
    }

    err[err_size - 1] = '\0';

    return NGX_DECLINED;
}


/* wapress_memo_size, in the worker (0: off) */

static size_t
ngx_http_wapress_fragment_memo_size(void)
{
    ngx_http_wapress_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_wapress_module);

    if (wmcf == NULL || wmcf->memo_size == NGX_CONF_UNSET_SIZE) {
        return NGX_HTTP_WAPRESS_MEMO_SIZE;
    }

    return wmcf->memo_size;
}


static void *
ngx_http_wapress_nalloc(void *data, size_t size)
{
    return ngx_pnalloc(data, size);
}
