
/*
 * ngx_http_wapress_headers.c: HTTP caching of an assembled page (layout
 * mode: the content handler knows every byte before the header goes).
 *
 *   ETag           wapress_etag on (the default): a strong validator, a
 *                  64-bit hash made of the hashes of the page's parts in
 *                  order: each static run of the layout (hashed when the
 *                  layout is loaded) and each fragment's value as sent
 *                  (hashed once per value: as it is read from Redis or
 *                  rendered, kept with its memo and cache entries), each
 *                  with its length.  Any byte changed changes its part's
 *                  hash and so the ETag; equal pages made of different
 *                  parts may differ in ETag, which only costs a 304.
 *                  nginx's not_modified filter then answers a matching
 *                  If-None-Match with 304 and no body.
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


static uint64_t ngx_http_wapress_headers_etag(ngx_http_wapress_page_t *page);
static ngx_inline uint64_t ngx_http_wapress_headers_run(u_char *dst,
    u_char *p, size_t len, ngx_uint_t copy);
static ngx_inline uint64_t ngx_http_wapress_headers_fmix(uint64_t h);
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
    ngx_uint_t                    i;
    ngx_table_elt_t              *etag;
    ngx_http_request_t           *r;
    ngx_http_wapress_loc_conf_t  *wlcf;

    static u_char                 hex[] = "0123456789abcdef";

    r = page->request;
    wlcf = page->conf;

    if (wlcf->etag) {
        h = ngx_http_wapress_headers_etag(page);

        etag = ngx_http_wapress_headers_add(r, "ETag", sizeof("ETag") - 1);
        if (etag == NULL) {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(r->pool, sizeof("\"wp-\"") - 1 + 16);
        if (p == NULL) {
            return NGX_ERROR;
        }

        etag->value.data = p;
        etag->value.len = sizeof("\"wp-\"") - 1 + 16;

        p = ngx_cpymem(p, "\"wp-", sizeof("\"wp-") - 1);

        for (i = 0; i < 16; i++) {
            p[i] = hex[(h >> (60 - 4 * i)) & 0xf];
        }

        p[16] = '"';

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
 * The page's parts in the order of the layout, as
 * ngx_http_wapress_handler_send() and ngx_http_wapress_page_buf() send
 * them: a value found, else the fragment's default.  Each part's hash and
 * length go through one bijective step, so that a different part gives a
 * different state, then the state is mixed.
 */

static uint64_t
ngx_http_wapress_headers_etag(ngx_http_wapress_page_t *page)
{
    size_t                        len;
    uint64_t                      h, v;
    ngx_uint_t                    i, n;
    ngx_http_wapress_part_t      *part;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;

    part = page->conf->layout->parts.elts;
    n = page->conf->layout->parts.nelts;
    frag = page->conf->fragments ? page->conf->fragments->elts : NULL;

    h = NGX_HTTP_WAPRESS_ETAG_SEED;

    for (i = 0; i < n; i++) {

        v = part[i].hash;
        len = part[i].text.len;

        if (v == 0) {
            v = ngx_http_wapress_headers_hash(part[i].text.data, len);
        }

        h = (h ^ v) * 0x87c37b91114253d5ULL;
        h = ((h << 31) | (h >> 33)) ^ len;

        if (part[i].name.len == 0) {
            break;
        }

        res = &page->results[part[i].fragment];

        if (res->state == NGX_HTTP_WAPRESS_FOUND) {
            if (res->hash == 0) {
                res->hash = ngx_http_wapress_headers_hash(res->value.data,
                                                          res->value.len);
            }

            v = res->hash;
            len = res->value.len;

        } else {
            /* defaults are short: hashed when used */
            len = frag[part[i].fragment].deflt.len;
            v = ngx_http_wapress_headers_hash(
                                 frag[part[i].fragment].deflt.data, len);
        }

        h = (h ^ v) * 0x4cf5ad432745937fULL;
        h = ((h << 29) | (h >> 35)) ^ len;
    }

    return ngx_http_wapress_headers_fmix(h ^ n);
}


/*
 * A 64-bit hash of a run of bytes, four lanes of eight bytes at a time (a
 * multiply and a rotation each, independent so that they overlap), mixed
 * at the end with the length: it runs once per value (a value read from
 * Redis as html, a rendering when it is made), so it must cost little per
 * byte (about 0.6 instructions).  Only equality matters: the same bytes
 * give the same hash in every worker and across restarts.  Never 0, which
 * means "not computed" in a result.  With "copy", the bytes are copied
 * to dst in the same pass.
 */

static ngx_inline uint64_t
ngx_http_wapress_headers_run(u_char *dst, u_char *p, size_t len,
    ngx_uint_t copy)
{
    size_t    n;
    uint64_t  a, b, c, d, h1, h2, h3, h4, w[4];

    n = len;
    h1 = NGX_HTTP_WAPRESS_ETAG_SEED;
    h2 = h1 ^ 0x87c37b91114253d5ULL;
    h3 = h1 ^ 0x4cf5ad432745937fULL;
    h4 = h1 ^ 0x52dce729da3ed0abULL;

    while (len >= 32) {

        if (copy) {
            /* a block copy of its own: the words below stay scalar */
            ngx_memcpy(dst, p, 32);
            dst += 32;
        }

        ngx_memcpy(&a, p, 8);
        ngx_memcpy(&b, p + 8, 8);
        ngx_memcpy(&c, p + 16, 8);
        ngx_memcpy(&d, p + 24, 8);

        h1 = (h1 ^ a) * 0x87c37b91114253d5ULL;
        h1 = (h1 << 31) | (h1 >> 33);
        h2 = (h2 ^ b) * 0x4cf5ad432745937fULL;
        h2 = (h2 << 29) | (h2 >> 35);
        h3 = (h3 ^ c) * 0x52dce729da3ed0abULL;
        h3 = (h3 << 27) | (h3 >> 37);
        h4 = (h4 ^ d) * 0x9e3779b97f4a7c15ULL;
        h4 = (h4 << 33) | (h4 >> 31);

        p += 32;
        len -= 32;
    }

    /* the last 0 to 31 bytes, zero-padded: the length tells them apart */

    w[0] = 0;
    w[1] = 0;
    w[2] = 0;
    w[3] = 0;

    if (len) {
        ngx_memcpy(w, p, len);

        if (copy) {
            ngx_memcpy(dst, p, len);
        }
    }

    h1 = (h1 ^ w[0]) * 0x87c37b91114253d5ULL;
    h2 = (h2 ^ w[1]) * 0x4cf5ad432745937fULL;
    h3 = (h3 ^ w[2]) * 0x52dce729da3ed0abULL;
    h4 = (h4 ^ w[3] ^ n) * 0x9e3779b97f4a7c15ULL;

    h1 ^= (h2 << 17) | (h2 >> 47);
    h1 ^= (h3 << 31) | (h3 >> 33);
    h1 ^= (h4 << 43) | (h4 >> 21);

    h1 = ngx_http_wapress_headers_fmix(h1);

    return h1 ? h1 : 1;
}


static ngx_inline uint64_t
ngx_http_wapress_headers_fmix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


uint64_t
ngx_http_wapress_headers_hash(u_char *p, size_t len)
{
    return ngx_http_wapress_headers_run(NULL, p, len, 0);
}


uint64_t
ngx_http_wapress_headers_copy(u_char *dst, u_char *src, size_t len)
{
    return ngx_http_wapress_headers_run(dst, src, len, 1);
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
