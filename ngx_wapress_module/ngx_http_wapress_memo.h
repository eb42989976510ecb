
/*
 * ngx_http_wapress_memo.h: a worker's memo of renderings.  Rendering a
 * json or text fragment depends only on its template and on the bytes of
 * the value, so when a value read from Redis is byte for byte one seen
 * before, its HTML is taken from the memo instead of decoding the JSON
 * and rendering the template again; a value whose rendering failed
 * (invalid JSON, too deep, too long, too large) fails again at once.
 * Redis is still asked every time: the memo never serves a value that
 * Redis did not just return.
 *
 * Memory: all the memo's entries of a worker hold at most
 * wapress_memo_size bytes (value, HTML and bookkeeping), the least
 * recently used are dropped first (a fragment's table has a fixed number
 * of slots, each a chain: the budget, not the table, bounds how many
 * values are remembered); one entry may take an eighth of that
 * at most, and a value over NGX_HTTP_WAPRESS_MEMO_VALUE_MAX is never
 * remembered.
 */


#ifndef _NGX_HTTP_WAPRESS_MEMO_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_MEMO_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* values larger than this are not remembered */
#define NGX_HTTP_WAPRESS_MEMO_VALUE_MAX      65536

/* slots of a fragment's table (chained: as many entries as fit) */
#define NGX_HTTP_WAPRESS_MEMO_SLOTS          1024

/* how a value's rendering went, for wapress_status */
#define NGX_HTTP_WAPRESS_MEMO_NONE           0   /* not a rendering */
#define NGX_HTTP_WAPRESS_MEMO_HIT            1
#define NGX_HTTP_WAPRESS_MEMO_MISS           2   /* rendered (memo off too) */

/* the default of wapress_memo_size: bytes per worker */
#define NGX_HTTP_WAPRESS_MEMO_SIZE           (8 * 1024 * 1024)


typedef struct ngx_http_wapress_memo_s  ngx_http_wapress_memo_t;


/*
 * Picks the slot: a hash of the length and of the value's first and last
 * 32 bytes only, so that it costs the same for any size; a hit compares
 * the whole value anyway.
 */
uint32_t ngx_http_wapress_memo_hash(u_char *value, size_t len);

/*
 * NGX_OK, *html (memo memory: copy it before anything else runs) and
 * *html_hash (its ngx_http_wapress_headers_hash()) when "value" was
 * rendered before; NGX_DECLINED and *html the reason (NUL-terminated)
 * when its rendering failed before; NGX_AGAIN when it is not remembered.
 */
ngx_int_t ngx_http_wapress_memo_find(ngx_http_wapress_memo_t *memo,
    uint32_t hash, u_char *value, size_t len, ngx_str_t *html,
    uint64_t *html_hash);

/*
 * Remembers a rendering ("failed": *html is the reason it failed),
 * within "budget" bytes for the whole worker (0: nothing is kept).  The
 * table is created on first use, in the worker, and freed with the
 * cycle's pool when the worker exits.
 */
void ngx_http_wapress_memo_store(ngx_http_wapress_memo_t **memo,
    uint32_t hash, u_char *value, size_t len, ngx_str_t *html,
    uint64_t html_hash, ngx_uint_t failed, size_t budget, ngx_log_t *log);


#endif /* _NGX_HTTP_WAPRESS_MEMO_H_INCLUDED_ */
