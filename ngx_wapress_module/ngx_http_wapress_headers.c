
/*
 * ngx_http_wapress_headers.c: HTTP caching of an assembled page (layout
 * mode: the content handler knows every byte before the header goes).
 *
 *   ETag           wapress_etag on (the default): a strong validator, a
 *                  64-bit hash of the page's bytes, the layout's and each
 *                  fragment's as sent.  nginx's not_modified filter then
 *                  answers a matching If-None-Match with 304 and no body.
 *   Cache-Control  wapress_cache_control on: "max-age=N", N the shortest
 *                  time any of the page's fragments stays fresh in the
 *                  cache zone (0 when one is not cached, stale or a
 *                  default).
 *   Surrogate-Key  wapress_surrogate_key on: the page's Redis keys, so
 *                  that a CDN's purge by tag lines up with them (spaces,
 *                  quotes and control bytes %-escaped).
 *
 * Filter mode sets none: its header leaves before the fragments are
 * known (docs/filter.md).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_fresh.h"
#include "ngx_http_wapress_headers.h"


#define NGX_HTTP_WAPRESS_ETAG_SEED       0x9e3779b97f4a7c15ULL


static uint64_t ngx_http_wapress_headers_hash(uint64_t h, u_char *p,
    size_t len);
static ngx_table_elt_t *ngx_http_wapress_headers_add(ngx_http_request_t *r,
    char *name, size_t len);
static ngx_int_t ngx_http_wapress_headers_cache_control(
    ngx_http_wapress_page_t *page);
static ngx_int_t ngx_http_wapress_headers_surrogate(
    ngx_http_wapress_page_t *page);


ngx_int_t
ngx_http_wapress_headers_set(ngx_http_wapress_page_t *page, ngx_chain_t *out)
{
    u_char                       *p;
    uint64_t                      h;
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl;
    ngx_table_elt_t              *etag;
    ngx_http_request_t           *r;
    ngx_http_wapress_loc_conf_t  *wlcf;

    r = page->request;
    wlcf = page->conf;

    if (wlcf->etag) {
        h = NGX_HTTP_WAPRESS_ETAG_SEED;

        for (cl = out; cl; cl = cl->next) {
            b = cl->buf;
            h = ngx_http_wapress_headers_hash(h, b->pos, b->last - b->pos);
        }

        etag = ngx_http_wapress_headers_add(r, "ETag", sizeof("ETag") - 1);
        if (etag == NULL) {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(r->pool, sizeof("\"wp-\"") - 1 + 16);
        if (p == NULL) {
            return NGX_ERROR;
        }

        etag->value.data = p;
        etag->value.len = ngx_sprintf(p, "\"wp-%016xL\"", h) - p;

        r->headers_out.etag = etag;
    }

    if (wlcf->cache_control
        && ngx_http_wapress_headers_cache_control(page) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (wlcf->surrogate_key
        && ngx_http_wapress_headers_surrogate(page) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A 64-bit hash of the page's bytes, two lanes of eight bytes at a time
 * (a multiply and a rotation each, independent so that they overlap),
 * mixed at the end: the page is hashed on every response, so it must
 * cost little per byte (about half an instruction).  Only equality
 * matters: the same bytes give the same ETag in every worker and across
 * restarts.
 */

static uint64_t
ngx_http_wapress_headers_hash(uint64_t h, u_char *p, size_t len)
{
    size_t    n;
    uint64_t  a, b, h2;

    n = len;
    h2 = h ^ 0x9e3779b97f4a7c15ULL;

    while (len >= 16) {
        ngx_memcpy(&a, p, 8);
        ngx_memcpy(&b, p + 8, 8);

        h = (h ^ a) * 0x87c37b91114253d5ULL;
        h = (h << 31) | (h >> 33);
        h2 = (h2 ^ b) * 0x4cf5ad432745937fULL;
        h2 = (h2 << 29) | (h2 >> 35);

        p += 16;
        len -= 16;
    }

    a = 0;
    b = 0;

    if (len > 8) {
        ngx_memcpy(&a, p, 8);
        ngx_memcpy(&b, p + 8, len - 8);

    } else if (len) {
        ngx_memcpy(&a, p, len);
    }

    h = (h ^ a) * 0x87c37b91114253d5ULL;
    h2 = (h2 ^ b ^ n) * 0x4cf5ad432745937fULL;

    h ^= (h2 << 17) | (h2 >> 47);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


static ngx_int_t
ngx_http_wapress_headers_cache_control(ngx_http_wapress_page_t *page)
{
    u_char                       *p;
    ngx_uint_t                    i;
    ngx_msec_t                    left, min;
    ngx_table_elt_t              *cc;
    ngx_http_request_t           *r;
    ngx_http_wapress_loc_conf_t  *wlcf;

    r = page->request;
    wlcf = page->conf;
    min = NGX_MAX_INT32_VALUE;

    for (i = 0; i < wlcf->nused; i++) {
        left = ngx_http_wapress_fresh_left(page, wlcf->used[i]);
        min = ngx_min(min, left);
    }

    if (wlcf->nused == 0) {
        min = 0;
    }

    cc = ngx_http_wapress_headers_add(r, "Cache-Control",
                                      sizeof("Cache-Control") - 1);
    if (cc == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("max-age=") - 1 + NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cc->value.data = p;
    cc->value.len = ngx_sprintf(p, "max-age=%M", min / 1000) - p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_wapress_headers_surrogate(ngx_http_wapress_page_t *page)
{
    u_char                       *p;
    size_t                        len;
    ngx_str_t                    *key, *other;
    ngx_uint_t                    i, k, dup;
    ngx_table_elt_t              *sk;
    ngx_http_request_t           *r;
    ngx_http_wapress_loc_conf_t  *wlcf;

    r = page->request;
    wlcf = page->conf;
    len = 0;

    for (i = 0; i < wlcf->nused; i++) {
        key = &page->results[wlcf->used[i]].key;
        len += 1 + key->len
               + 2 * ngx_escape_uri(NULL, key->data, key->len,
                                    NGX_ESCAPE_URI_COMPONENT);
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    sk = ngx_http_wapress_headers_add(r, "Surrogate-Key",
                                      sizeof("Surrogate-Key") - 1);
    if (sk == NULL) {
        return NGX_ERROR;
    }

    sk->value.data = p;

    for (i = 0; i < wlcf->nused; i++) {
        key = &page->results[wlcf->used[i]].key;

        if (key->len == 0) {
            continue;
        }

        /* one page may use a key twice (two fields of one hash) */

        dup = 0;

        for (k = 0; k < i; k++) {
            other = &page->results[wlcf->used[k]].key;

            if (other->len == key->len
                && ngx_memcmp(other->data, key->data, key->len) == 0)
            {
                dup = 1;
                break;
            }
        }

        if (dup) {
            continue;
        }

        if (p != sk->value.data) {
            *p++ = ' ';
        }

        p = (u_char *) ngx_escape_uri(p, key->data, key->len,
                                      NGX_ESCAPE_URI_COMPONENT);
    }

    sk->value.len = p - sk->value.data;

    return NGX_OK;
}


static ngx_table_elt_t *
ngx_http_wapress_headers_add(ngx_http_request_t *r, char *name, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) name;
    h->key.len = len;

    return h;
}
