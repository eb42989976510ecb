
/*
 * ngx_http_wapress_memo.c: a worker's memo of renderings, one small
 * direct-mapped table per fragment: value bytes -> HTML.  A slot is
 * chosen by a hash of the value and used only when the whole value is
 * equal, so a hit returns exactly what rendering would.  Tables live in
 * the worker (created on first use) and are freed with the cycle.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_wapress_memo.h"


typedef struct {
    uint32_t                         hash;
    size_t                           len;
    u_char                          *value;      /* NULL: empty slot */
    ngx_str_t                        html;       /* in the same block */
} ngx_http_wapress_memo_slot_t;


struct ngx_http_wapress_memo_s {
    ngx_http_wapress_memo_slot_t     slots[NGX_HTTP_WAPRESS_MEMO_SLOTS];
};


static void ngx_http_wapress_memo_free(void *data);


uint32_t
ngx_http_wapress_memo_hash(u_char *value, size_t len)
{
    size_t  n;
    u_char  buf[sizeof(size_t) + 64];

    ngx_memcpy(buf, &len, sizeof(size_t));

    if (len <= 64) {
        ngx_memcpy(buf + sizeof(size_t), value, len);
        n = sizeof(size_t) + len;

    } else {
        ngx_memcpy(buf + sizeof(size_t), value, 32);
        ngx_memcpy(buf + sizeof(size_t) + 32, value + len - 32, 32);
        n = sizeof(buf);
    }

    return ngx_murmur_hash2(buf, n);
}


ngx_int_t
ngx_http_wapress_memo_find(ngx_http_wapress_memo_t *memo, uint32_t hash,
    u_char *value, size_t len, ngx_str_t *html)
{
    ngx_http_wapress_memo_slot_t  *slot;

    if (memo == NULL) {
        return NGX_DECLINED;
    }

    slot = &memo->slots[hash % NGX_HTTP_WAPRESS_MEMO_SLOTS];

    if (slot->value == NULL
        || slot->hash != hash
        || slot->len != len
        || ngx_memcmp(slot->value, value, len) != 0)
    {
        return NGX_DECLINED;
    }

    *html = slot->html;

    return NGX_OK;
}


void
ngx_http_wapress_memo_store(ngx_http_wapress_memo_t **memo, uint32_t hash,
    u_char *value, size_t len, ngx_str_t *html, ngx_log_t *log)
{
    u_char                        *p;
    ngx_pool_cleanup_t            *cln;
    ngx_http_wapress_memo_t       *m;
    ngx_http_wapress_memo_slot_t  *slot;

    if (len > NGX_HTTP_WAPRESS_MEMO_VALUE_MAX) {
        return;
    }

    m = *memo;

    if (m == NULL) {
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return;
        }

        m = ngx_calloc(sizeof(ngx_http_wapress_memo_t), log);
        if (m == NULL) {
            return;
        }

        cln->handler = ngx_http_wapress_memo_free;
        cln->data = m;

        *memo = m;
    }

    p = ngx_alloc(len + html->len + 1, log);
    if (p == NULL) {
        return;
    }

    slot = &m->slots[hash % NGX_HTTP_WAPRESS_MEMO_SLOTS];

    if (slot->value != NULL) {
        ngx_free(slot->value);
    }

    slot->hash = hash;
    slot->len = len;
    slot->value = p;
    slot->html.data = ngx_cpymem(p, value, len);
    slot->html.len = html->len;
    ngx_memcpy(slot->html.data, html->data, html->len);
}


static void
ngx_http_wapress_memo_free(void *data)
{
    ngx_http_wapress_memo_t *m = data;

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_WAPRESS_MEMO_SLOTS; i++) {
        if (m->slots[i].value != NULL) {
            ngx_free(m->slots[i].value);
        }
    }

    ngx_free(m);
}
