
/*
 * ngx_http_wapress_layout.c: reads a layout when the configuration loads
 * and splits it into static runs and fragment markers, so that a request
 * only sends the runs (from configuration memory, without copying) and
 * the fragments between them.  The marker syntax is in _marker.c, the
 * file is read by _file.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_layout.h"
#include "ngx_http_wapress_marker.h"
#include "ngx_http_wapress_handler.h"
#include "ngx_http_wapress_fragment.h"
#include "ngx_http_wapress_file.h"
#include "ngx_http_wapress_headers.h"


static ngx_int_t ngx_http_wapress_layout_split(ngx_conf_t *cf,
    ngx_http_wapress_layout_t *layout, ngx_str_t *text);
static ngx_uint_t ngx_http_wapress_line(u_char *start, u_char *p);
static void ngx_http_wapress_layout_unknown(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf, ngx_http_wapress_loc_conf_t *prev,
    ngx_http_wapress_part_t *part);


char *
ngx_http_wapress_layout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wapress_loc_conf_t *wlcf = conf;

    ngx_str_t                  *value, text;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_wapress_layout_t  *layout;

    if (wlcf->layout != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    layout = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_layout_t));
    if (layout == NULL) {
        return NGX_CONF_ERROR;
    }

    layout->path = value[1];
    layout->conf_file = cf->conf_file->file.name.data;
    layout->conf_line = cf->conf_file->line;

    if (ngx_conf_full_name(cf->cycle, &layout->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_wapress_file_read(cf, &layout->path, "layout", 0, &text)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_wapress_layout_split(cf, layout, &text) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    wlcf->layout = layout;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_wapress_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_wapress_layout_split(ngx_conf_t *cf,
    ngx_http_wapress_layout_t *layout, ngx_str_t *text)
{
    int                       rc;
    u_char                   *p, *last, *run;
    size_t                    len;
    const char               *err;
    const u_char             *name, *end;
    ngx_http_wapress_part_t  *part;

    if (ngx_array_init(&layout->parts, cf->pool, 8,
                       sizeof(ngx_http_wapress_part_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = text->data;
    last = p + text->len;
    run = p;

    for ( ;; ) {
        p = ngx_strlchr(p, last, '<');

        if (p == NULL) {
            break;
        }

        err = NULL;
        rc = ngx_http_wapress_marker_parse(p, last, &name, &len, &end, &err);

        if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN) {
            /* the layout ends inside what may be a marker */

            if (ngx_strnstr(p, "wapress", last - p) == NULL) {
                break;
            }

            err = "unterminated marker";
            rc = NGX_HTTP_WAPRESS_MARKER_BAD;
        }

        if (rc == NGX_HTTP_WAPRESS_MARKER_BAD) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "wapress: malformed marker in layout "
                               "\"%V\", line %ui: %s",
                               &layout->path,
                               ngx_http_wapress_line(text->data, p), err);
            return NGX_ERROR;
        }

        if (rc == NGX_HTTP_WAPRESS_MARKER_NO) {
            p++;
            continue;
        }

        part = ngx_array_push(&layout->parts);
        if (part == NULL) {
            return NGX_ERROR;
        }

        part->text.data = run;
        part->text.len = p - run;
        part->hash = ngx_http_wapress_headers_hash(run, p - run);
        part->name.data = (u_char *) name;
        part->name.len = len;
        part->line = ngx_http_wapress_line(text->data, p);
        part->fragment = 0;

        p = (u_char *) end;
        run = p;
    }

    part = ngx_array_push(&layout->parts);
    if (part == NULL) {
        return NGX_ERROR;
    }

    part->text.data = run;
    part->text.len = last - run;
    part->hash = ngx_http_wapress_headers_hash(run, last - run);
    ngx_str_null(&part->name);
    part->line = 0;
    part->fragment = 0;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_wapress_line(u_char *start, u_char *p)
{
    ngx_uint_t  line;

    line = 1;

    while (start < p) {
        if (*start++ == '\n') {
            line++;
        }
    }

    return line;
}


/*
 * Called when the location's configuration is merged, so that markers
 * can name fragments defined at any level: every marker must name a
 * fragment of the location.  "prev" is the enclosing level, merged
 * already: a fragment found only there was hidden by the location's own
 * wapress_fragment, which the message says.
 */

ngx_int_t
ngx_http_wapress_layout_resolve(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf, ngx_http_wapress_loc_conf_t *prev)
{
    ngx_int_t                 j;
    ngx_uint_t                i, k, n;
    ngx_http_wapress_part_t  *part;

    part = wlcf->layout->parts.elts;
    n = wlcf->fragments ? wlcf->fragments->nelts : 0;

    wlcf->used = ngx_palloc(cf->pool, (n + 1) * sizeof(ngx_uint_t));
    if (wlcf->used == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < wlcf->layout->parts.nelts; i++) {

        if (part[i].name.len == 0) {
            continue;
        }

        j = ngx_http_wapress_fragment_find(wlcf, part[i].name.data,
                                           part[i].name.len);

        if (j == NGX_DECLINED) {
            ngx_http_wapress_layout_unknown(cf, wlcf, prev, &part[i]);
            return NGX_ERROR;
        }

        part[i].fragment = j;

        for (k = 0; k < wlcf->nused; k++) {
            if (wlcf->used[k] == (ngx_uint_t) j) {
                break;
            }
        }

        if (k == wlcf->nused) {
            wlcf->used[wlcf->nused++] = j;
        }
    }

    return NGX_OK;
}


static void
ngx_http_wapress_layout_unknown(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf, ngx_http_wapress_loc_conf_t *prev,
    ngx_http_wapress_part_t *part)
{
    if (prev != NULL
        && prev->fragments != NGX_CONF_UNSET_PTR
        && prev->fragments != wlcf->fragments
        && ngx_http_wapress_fragment_find(prev, part->name.data,
                                          part->name.len)
           != NGX_DECLINED)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "wapress: layout \"%V\", line %ui: marker names "
                      "fragment \"%V\", which is defined at an enclosing "
                      "level but hidden by the location's own "
                      "wapress_fragment (fragments are not merged: a "
                      "location that defines any defines all) in %s:%ui",
                      &wlcf->layout->path, part->line, &part->name,
                      wlcf->layout->conf_file, wlcf->layout->conf_line);
        return;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "wapress: layout \"%V\", line %ui: marker names "
                  "fragment \"%V\", which is not defined by a "
                  "wapress_fragment of the location in %s:%ui",
                  &wlcf->layout->path, part->line, &part->name,
                  wlcf->layout->conf_file, wlcf->layout->conf_line);
}
