
/*
 * ngx_http_wapress_memo.c: a worker's memo of renderings, one hash
 * table per fragment: value bytes -> HTML (or the reason the rendering
 * failed) and the HTML's hash for the ETag.  A slot, chosen by a hash of
 * the value, holds a chain of entries; an entry is used only when the
 * whole value is equal, so a hit returns exactly what rendering would.
 * All the entries of the worker are on one queue in least recently used
 * order and counted in bytes: storing past the
 * budget (wapress_memo_size) drops the oldest first.  Tables live in the
 * worker (created on first use) and are freed with the cycle; the queue
 * and the count are the process's, so that a table freed with an old
 * cycle takes its entries off them.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_wapress_memo.h"
#include "ngx_http_wapress_headers.h"


typedef struct ngx_http_wapress_memo_entry_s  ngx_http_wapress_memo_entry_t;

struct ngx_http_wapress_memo_entry_s {
    ngx_queue_t                      queue;      /* the worker's LRU */
    ngx_http_wapress_memo_entry_t   *next;       /* in its slot's chain */
    ngx_http_wapress_memo_t         *memo;       /* the owner */
    uint64_t                         html_hash;
    size_t                           size;       /* counted bytes */
    size_t                           len;        /* of the value */
    ngx_str_t                        html;       /* or the reason */
    uint32_t                         hash;
    unsigned                         failed:1;
    u_char                           value[1];   /* value, html */
};


struct ngx_http_wapress_memo_s {
    ngx_http_wapress_memo_entry_t   *slots[NGX_HTTP_WAPRESS_MEMO_SLOTS];
};


typedef struct {
    ngx_queue_t                      lru;        /* most recent first */
    size_t                           used;
} ngx_http_wapress_memo_worker_t;


static void ngx_http_wapress_memo_drop(ngx_http_wapress_memo_entry_t *e);
static void ngx_http_wapress_memo_free(void *data);


/* the process's: a worker is single-threaded */
static ngx_http_wapress_memo_worker_t  ngx_http_wapress_memo_worker;


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

    return (uint32_t) (ngx_http_wapress_headers_hash(buf, n) >> 32);
}


ngx_int_t
ngx_http_wapress_memo_find(ngx_http_wapress_memo_t *memo, uint32_t hash,
    u_char *value, size_t len, ngx_str_t *html, uint64_t *html_hash)
{
    ngx_http_wapress_memo_entry_t  *e;

    if (memo == NULL) {
        return NGX_AGAIN;
    }

    for (e = memo->slots[hash % NGX_HTTP_WAPRESS_MEMO_SLOTS];
         e != NULL;
         e = e->next)
    {
        if (e->hash == hash
            && e->len == len
            && ngx_memcmp(e->value, value, len) == 0)
        {
            break;
        }
    }

    if (e == NULL) {
        return NGX_AGAIN;
    }

    ngx_queue_remove(&e->queue);
    ngx_queue_insert_head(&ngx_http_wapress_memo_worker.lru, &e->queue);

    *html = e->html;
    *html_hash = e->html_hash;

    return e->failed ? NGX_DECLINED : NGX_OK;
}


void
ngx_http_wapress_memo_store(ngx_http_wapress_memo_t **memo, uint32_t hash,
    u_char *value, size_t len, ngx_str_t *html, uint64_t html_hash,
    ngx_uint_t failed, size_t budget, ngx_log_t *log)
{
    size_t                           size;
    ngx_queue_t                     *q;
    ngx_pool_cleanup_t              *cln;
    ngx_http_wapress_memo_t         *m;
    ngx_http_wapress_memo_entry_t   *e, **slot;
    ngx_http_wapress_memo_worker_t  *w;

    w = &ngx_http_wapress_memo_worker;

    size = offsetof(ngx_http_wapress_memo_entry_t, value) + len + html->len
           + (failed ? 1 : 0);

    if (len > NGX_HTTP_WAPRESS_MEMO_VALUE_MAX || size > budget / 8) {
        return;
    }

    if (w->lru.next == NULL) {
        ngx_queue_init(&w->lru);
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

    /* the least recently used make room */

    while (w->used + size > budget && !ngx_queue_empty(&w->lru)) {
        q = ngx_queue_last(&w->lru);
        ngx_http_wapress_memo_drop(
                    ngx_queue_data(q, ngx_http_wapress_memo_entry_t, queue));
    }

    e = ngx_alloc(size, log);
    if (e == NULL) {
        return;
    }

    /* after the drops above, which may have emptied the slot */

    slot = &m->slots[hash % NGX_HTTP_WAPRESS_MEMO_SLOTS];

    e->memo = m;
    e->size = size;
    e->len = len;
    e->hash = hash;
    e->html_hash = html_hash;
    e->failed = failed ? 1 : 0;
    e->html.data = ngx_cpymem(e->value, value, len);
    e->html.len = html->len;
    ngx_memcpy(e->html.data, html->data, html->len);

    if (failed) {
        e->html.data[html->len] = '\0';
    }

    ngx_queue_insert_head(&w->lru, &e->queue);
    w->used += size;

    e->next = *slot;
    *slot = e;
}


static void
ngx_http_wapress_memo_drop(ngx_http_wapress_memo_entry_t *e)
{
    ngx_http_wapress_memo_t *m = e->memo;

    ngx_http_wapress_memo_entry_t  **pe;

    for (pe = &m->slots[e->hash % NGX_HTTP_WAPRESS_MEMO_SLOTS];
         *pe != e;
         pe = &(*pe)->next)
    {
        /* void */
    }

    *pe = e->next;

    ngx_queue_remove(&e->queue);
    ngx_http_wapress_memo_worker.used -= e->size;

    ngx_free(e);
}


static void
ngx_http_wapress_memo_free(void *data)
{
    ngx_http_wapress_memo_t *m = data;

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_WAPRESS_MEMO_SLOTS; i++) {
        while (m->slots[i] != NULL) {
            ngx_http_wapress_memo_drop(m->slots[i]);
        }
    }

    ngx_free(m);
}
