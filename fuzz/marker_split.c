
/*
 * fuzz/marker_split.c: libFuzzer target for ngx_http_wapress_marker_parse()
 * on a document that arrives in pieces, the body filter's case.
 *
 * Input: two bytes that choose the piece sizes, then the document.  The
 * document is fed through a small streaming driver that works like a
 * filter: it scans each piece for '<', and when the piece ends inside
 * what may be a marker it holds those bytes (in a buffer of exactly
 * NGX_HTTP_WAPRESS_MARKER_MAX bytes, as the parser's contract promises)
 * and completes them from the next pieces.  Every piece is a buffer of
 * its own size, so that ASan sees any read past it.  The result (text,
 * markers, malformed markers, in order and at the same places) must equal
 * the whole-document scan of fuzz_marker.h.
 */


#include <stdint.h>

#include "fuzz_marker.h"


typedef struct {
    ngx_http_wapress_fuzz_log_t   log;
    unsigned char                 held[NGX_HTTP_WAPRESS_MARKER_MAX];
    size_t                        nheld;
    unsigned char                *names;    /* copies of marker names */
    size_t                        nnames;
} ngx_http_wapress_fuzz_stream_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ngx_http_wapress_fuzz_feed(ngx_http_wapress_fuzz_stream_t *st,
    const unsigned char *p, const unsigned char *last);
static void ngx_http_wapress_fuzz_release(ngx_http_wapress_fuzz_stream_t *st);
static void ngx_http_wapress_fuzz_marker(ngx_http_wapress_fuzz_stream_t *st,
    int rc, const unsigned char *name, size_t len, const char *err);
static void ngx_http_wapress_fuzz_compare(ngx_http_wapress_fuzz_log_t *a,
    ngx_http_wapress_fuzz_log_t *b);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                          n, max;
    uint32_t                        rnd;
    unsigned char                  *piece;
    const unsigned char            *p, *last;
    ngx_http_wapress_fuzz_log_t     ref;
    ngx_http_wapress_fuzz_stream_t  st;

    if (size < 2) {
        return 0;
    }

    /* piece sizes: 1 .. max, pseudo-random from the first two bytes */

    max = 1 + data[0] % 64;
    rnd = 0x9e3779b9u ^ ((uint32_t) data[0] << 8) ^ data[1];

    p = data + 2;
    last = data + size;

    ngx_http_wapress_fuzz_log_init(&ref, size);
    ngx_http_wapress_fuzz_scan(&ref, p, last);

    ngx_http_wapress_fuzz_log_init(&st.log, size);
    st.nheld = 0;
    st.names = malloc(size);
    st.nnames = 0;
    ngx_http_wapress_fuzz_assert(st.names != NULL, "out of memory");

    while (p < last) {
        rnd ^= rnd << 13;
        rnd ^= rnd >> 17;
        rnd ^= rnd << 5;

        n = 1 + rnd % max;
        if (n > (size_t) (last - p)) {
            n = last - p;
        }

        piece = malloc(n);
        ngx_http_wapress_fuzz_assert(piece != NULL, "out of memory");
        memcpy(piece, p, n);

        ngx_http_wapress_fuzz_feed(&st, piece, piece + n);

        /* a filter may not keep pointers into a buffer it has passed on */
        free(piece);
        p += n;
    }

    /* the last buffer: whatever is held is text */

    while (st.nheld) {
        ngx_http_wapress_fuzz_release(&st);
    }

    ngx_http_wapress_fuzz_compare(&ref, &st.log);

    ngx_http_wapress_fuzz_log_free(&ref);
    ngx_http_wapress_fuzz_log_free(&st.log);
    free(st.names);

    return 0;
}


static void
ngx_http_wapress_fuzz_feed(ngx_http_wapress_fuzz_stream_t *st,
    const unsigned char *p, const unsigned char *last)
{
    int                   rc;
    size_t                n, len;
    const char           *err;
    const unsigned char  *q, *name, *end;
    unsigned char         buf[NGX_HTTP_WAPRESS_MARKER_MAX];

    while (p < last) {

        if (st->nheld) {
            /*
             * complete the held bytes with as many new ones as fit; the
             * parse works on a private copy that is exactly that long
             */

            n = NGX_HTTP_WAPRESS_MARKER_MAX - st->nheld;
            if (n > (size_t) (last - p)) {
                n = last - p;
            }

            memcpy(buf, st->held, st->nheld);
            memcpy(buf + st->nheld, p, n);

            name = NULL;
            end = NULL;
            err = NULL;
            len = 0;

            rc = ngx_http_wapress_marker_parse(buf, buf + st->nheld + n,
                                               &name, &len, &end, &err);
            ngx_http_wapress_fuzz_check(rc, buf, buf + st->nheld + n, name,
                                        len, end, err);

            if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN) {
                memcpy(st->held + st->nheld, p, n);
                st->nheld += n;
                p += n;
                continue;
            }

            if (rc == NGX_HTTP_WAPRESS_MARKER_OK) {
                ngx_http_wapress_fuzz_assert((size_t) (end - buf) > st->nheld,
                                             "a marker ends in bytes that "
                                             "were AGAIN before");
                ngx_http_wapress_fuzz_marker(st, rc, name, len, NULL);
                p += (end - buf) - st->nheld;
                st->nheld = 0;
                continue;
            }

            /* NO or BAD: the held '<' is text, the rest is scanned again */

            ngx_http_wapress_fuzz_marker(st, rc, NULL, 0, err);
            ngx_http_wapress_fuzz_release(st);
            continue;
        }

        q = memchr(p, '<', last - p);

        if (q == NULL) {
            ngx_http_wapress_fuzz_text(&st->log, p, last - p);
            return;
        }

        ngx_http_wapress_fuzz_text(&st->log, p, q - p);

        name = NULL;
        end = NULL;
        err = NULL;
        len = 0;

        rc = ngx_http_wapress_marker_parse(q, last, &name, &len, &end, &err);
        ngx_http_wapress_fuzz_check(rc, q, last, name, len, end, err);

        if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN) {
            /* the contract: fewer than MARKER_MAX bytes (checked above) */
            memcpy(st->held, q, last - q);
            st->nheld = last - q;
            return;
        }

        if (rc == NGX_HTTP_WAPRESS_MARKER_OK) {
            ngx_http_wapress_fuzz_marker(st, rc, name, len, NULL);
            p = end;
            continue;
        }

        ngx_http_wapress_fuzz_marker(st, rc, NULL, 0, err);
        ngx_http_wapress_fuzz_text(&st->log, q, 1);
        p = q + 1;
    }
}


/* the held '<' becomes text and the bytes after it are fed again */

static void
ngx_http_wapress_fuzz_release(ngx_http_wapress_fuzz_stream_t *st)
{
    size_t         n;
    unsigned char  rest[NGX_HTTP_WAPRESS_MARKER_MAX];

    n = st->nheld - 1;
    memcpy(rest, st->held + 1, n);

    ngx_http_wapress_fuzz_text(&st->log, st->held, 1);
    st->nheld = 0;

    ngx_http_wapress_fuzz_feed(st, rest, rest + n);
}


static void
ngx_http_wapress_fuzz_marker(ngx_http_wapress_fuzz_stream_t *st, int rc,
    const unsigned char *name, size_t len, const char *err)
{
    unsigned char  *copy;

    if (rc == NGX_HTTP_WAPRESS_MARKER_OK) {
        /* the name lives in a piece or a buffer that goes away: copy it */
        copy = st->names + st->nnames;
        memcpy(copy, name, len);
        st->nnames += len;

        ngx_http_wapress_fuzz_event(&st->log, NGX_HTTP_WAPRESS_FUZZ_MARKER,
                                    copy, len, NULL);
        return;
    }

    if (rc == NGX_HTTP_WAPRESS_MARKER_BAD) {
        ngx_http_wapress_fuzz_event(&st->log, NGX_HTTP_WAPRESS_FUZZ_BAD,
                                    NULL, 0, err);
    }
}


static void
ngx_http_wapress_fuzz_compare(ngx_http_wapress_fuzz_log_t *a,
    ngx_http_wapress_fuzz_log_t *b)
{
    size_t                          i;
    ngx_http_wapress_fuzz_event_t  *x, *y;

    ngx_http_wapress_fuzz_assert(a->ntext == b->ntext
                                 && memcmp(a->text, b->text, a->ntext) == 0,
                                 "split input: the text differs");
    ngx_http_wapress_fuzz_assert(a->nev == b->nev,
                                 "split input: another number of markers "
                                 "or errors");

    for (i = 0; i < a->nev; i++) {
        x = &a->ev[i];
        y = &b->ev[i];

        ngx_http_wapress_fuzz_assert(x->type == y->type && x->at == y->at,
                                     "split input: another marker or error");

        if (x->type == NGX_HTTP_WAPRESS_FUZZ_MARKER) {
            ngx_http_wapress_fuzz_assert(x->len == y->len
                                         && memcmp(x->name, y->name, x->len)
                                            == 0,
                                         "split input: another name");
        }

        if (x->type == NGX_HTTP_WAPRESS_FUZZ_BAD) {
            ngx_http_wapress_fuzz_assert(strcmp(x->err, y->err) == 0,
                                         "split input: another error");
        }
    }
}
