
/*
 * ngx_http_wapress_purge.c: wapress_purge, the content handler that drops
 * entries of the location's fragment cache zone by Redis key
 * (?key=KEY) or by key prefix (?prefix=PREFIX), for every field,
 * rendering and server, and answers in JSON what it dropped.  It is an
 * operator's tool: protect it with allow/deny (access phase, before this
 * handler runs) as any nginx status location.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_purge.h"


/* distinct keys listed in an answer at most */
#define NGX_HTTP_WAPRESS_PURGE_LIST          100


static ngx_int_t ngx_http_wapress_purge_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_wapress_purge_arg(ngx_http_request_t *r,
    char *name, size_t len, ngx_str_t *value);
static json_t *ngx_http_wapress_purge_string(ngx_str_t *s);
static ngx_int_t ngx_http_wapress_purge_send(ngx_http_request_t *r,
    ngx_uint_t status, json_t *answer);


char *
ngx_http_wapress_purge(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wapress_loc_conf_t *wlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (wlcf->purge) {
        return "is duplicate";
    }

    wlcf->purge = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_wapress_purge_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_wapress_purge_handler(ngx_http_request_t *r)
{
    u_char                        *p;
    size_t                         len;
    json_t                        *answer, *list, *s;
    ngx_int_t                      rc, has_key, has_prefix;
    ngx_str_t                      key, prefix, *k, *what;
    ngx_uint_t                     i, n, truncated;
    ngx_array_t                    keys;
    ngx_http_wapress_loc_conf_t   *wlcf;
    u_char                         text[NGX_MAX_ERROR_STR];

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_POST|NGX_HTTP_DELETE))
        && !(r->method_name.len == 5
             && ngx_strncmp(r->method_name.data, "PURGE", 5) == 0))
    {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_wapress_module);

    has_key = ngx_http_wapress_purge_arg(r, "key", 3, &key);
    has_prefix = ngx_http_wapress_purge_arg(r, "prefix", 6, &prefix);

    if (has_key == NGX_ERROR || has_prefix == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if ((has_key == NGX_OK) == (has_prefix == NGX_OK)) {
        answer = json_pack("{s:s}", "error", "give one of ?key=KEY "
                           "or ?prefix=PREFIX");
        return ngx_http_wapress_purge_send(r, NGX_HTTP_BAD_REQUEST, answer);
    }

    what = (has_key == NGX_OK) ? &key : &prefix;

    if (ngx_array_init(&keys, r->pool, 8, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_http_wapress_cache_purge(wlcf->cache->zone, what,
                                     has_prefix == NGX_OK, &keys,
                                     NGX_HTTP_WAPRESS_PURGE_LIST);

    /* the key as logged: control bytes and quotes escaped */

    len = ngx_min(what->len, 200);
    p = (u_char *) ngx_escape_uri(text, what->data, len,
                                  NGX_ESCAPE_URI_COMPONENT);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "wapress: purge of %s \"%*s%s\" dropped %ui entries "
                  "from zone \"%V\"",
                  has_key == NGX_OK ? "key" : "prefix", p - text, text,
                  len < what->len ? "..." : "", n,
                  ngx_http_wapress_cache_name(wlcf->cache->zone));

    answer = json_object();
    list = json_array();

    if (answer == NULL || list == NULL) {
        json_decref(answer);
        json_decref(list);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json_object_set_new(answer, "zone", ngx_http_wapress_purge_string(
                            ngx_http_wapress_cache_name(wlcf->cache->zone)));
    json_object_set_new(answer, has_key == NGX_OK ? "key" : "prefix",
                        ngx_http_wapress_purge_string(what));
    json_object_set_new(answer, "dropped", json_integer((json_int_t) n));

    k = keys.elts;

    for (i = 0; i < keys.nelts; i++) {
        s = ngx_http_wapress_purge_string(&k[i]);

        if (s != NULL) {
            json_array_append_new(list, s);
        }
    }

    json_object_set_new(answer, "keys", list);
    truncated = (keys.nelts == NGX_HTTP_WAPRESS_PURGE_LIST);

    json_object_set_new(answer, "keys_truncated", json_boolean(truncated));

    return ngx_http_wapress_purge_send(r, NGX_HTTP_OK, answer);
}


/* NGX_OK and the unescaped value, NGX_DECLINED if absent */

static ngx_int_t
ngx_http_wapress_purge_arg(ngx_http_request_t *r, char *name, size_t len,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, len, &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(r->pool, raw.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    dst = value->data;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, 0);

    value->len = dst - value->data;

    return NGX_OK;
}


/* a JSON string of any bytes: not UTF-8 is shown %-escaped */

static json_t *
ngx_http_wapress_purge_string(ngx_str_t *s)
{
    u_char  *p, *q;
    json_t  *j;

    j = json_stringn((const char *) s->data, s->len);

    if (j != NULL) {
        return j;
    }

    p = ngx_alloc(3 * s->len + 1, ngx_cycle->log);
    if (p == NULL) {
        return NULL;
    }

    q = (u_char *) ngx_escape_uri(p, s->data, s->len,
                                  NGX_ESCAPE_URI_COMPONENT);

    j = json_stringn((const char *) p, q - p);

    ngx_free(p);

    return j;
}


static ngx_int_t
ngx_http_wapress_purge_send(ngx_http_request_t *r, ngx_uint_t status,
    json_t *answer)
{
    size_t        len;
    ngx_buf_t    *b;
    ngx_int_t     rc;
    ngx_chain_t   out;

    if (answer == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = json_dumpb(answer, NULL, 0, JSON_COMPACT);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        json_decref(answer);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last += json_dumpb(answer, (char *) b->pos, len, JSON_COMPACT);
    *b->last++ = LF;

    json_decref(answer);

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = sizeof("application/json") - 1;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
