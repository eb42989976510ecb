
/*
 * fuzz/marker_split.c: libFuzzer target for the body filter's streaming
 * scanner, ngx_http_wapress_scan() (the very code the filter runs), on a
 * document that arrives in pieces.
 *
 * Input: two bytes that choose the piece sizes, then the document.  Every
 * piece is a buffer of its own size, freed as soon as it was scanned, so
 * that ASan sees any read past it or any pointer the scanner kept into
 * it.  The result (text, markers, malformed markers, in order and at the
 * same places) must equal the whole-document scan of fuzz_marker.h.
 */


#include <stdint.h>

#include "fuzz_marker.h"
#include "ngx_http_wapress_scan.h"


typedef struct {
    ngx_http_wapress_fuzz_log_t   log;
    unsigned char                *names;    /* copies of marker names */
    size_t                        nnames;
} ngx_http_wapress_fuzz_stream_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ngx_http_wapress_fuzz_handler(void *data, int what,
    const unsigned char *p, size_t len, const char *err);
static void ngx_http_wapress_fuzz_compare(ngx_http_wapress_fuzz_log_t *a,
    ngx_http_wapress_fuzz_log_t *b);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                          n, max;
    uint32_t                        rnd;
    unsigned char                  *piece;
    const unsigned char            *p, *last;
    ngx_http_wapress_scan_t         scan;
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
    st.names = malloc(size);
    st.nnames = 0;
    ngx_http_wapress_fuzz_assert(st.names != NULL, "out of memory");

    ngx_http_wapress_scan_init(&scan);

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

        ngx_http_wapress_fuzz_assert(
            ngx_http_wapress_scan(&scan, piece, piece + n,
                                  ngx_http_wapress_fuzz_handler, &st) == 0,
            "the scan failed");

        ngx_http_wapress_fuzz_assert(scan.nheld < NGX_HTTP_WAPRESS_MARKER_MAX,
                                     "holds a whole marker's length");

        /* the scanner may not keep pointers into a piece it was fed */
        free(piece);
        p += n;
    }

    /* the end of the document: whatever is held is text */

    ngx_http_wapress_fuzz_assert(
        ngx_http_wapress_scan_end(&scan, ngx_http_wapress_fuzz_handler, &st)
        == 0, "the end of the scan failed");

    ngx_http_wapress_fuzz_compare(&ref, &st.log);

    ngx_http_wapress_fuzz_log_free(&ref);
    ngx_http_wapress_fuzz_log_free(&st.log);
    free(st.names);

    return 0;
}


static int
ngx_http_wapress_fuzz_handler(void *data, int what, const unsigned char *p,
    size_t len, const char *err)
{
    ngx_http_wapress_fuzz_stream_t *st = data;

    unsigned char  *copy;

    switch (what) {

    case NGX_HTTP_WAPRESS_SCAN_TEXT:
    case NGX_HTTP_WAPRESS_SCAN_HELD:
        ngx_http_wapress_fuzz_assert(len > 0, "an empty text run");
        ngx_http_wapress_fuzz_text(&st->log, p, len);
        return 0;

    case NGX_HTTP_WAPRESS_SCAN_MARKER:
        ngx_http_wapress_fuzz_assert(len >= 1
                                     && len <= NGX_HTTP_WAPRESS_MARKER_NAME_MAX,
                                     "a marker name of a bad length");

        /* the name lives in a piece or the state: copy it */
        copy = st->names + st->nnames;
        memcpy(copy, p, len);
        st->nnames += len;

        ngx_http_wapress_fuzz_event(&st->log, NGX_HTTP_WAPRESS_FUZZ_MARKER,
                                    copy, len, NULL);
        return 0;

    case NGX_HTTP_WAPRESS_SCAN_BAD:
        ngx_http_wapress_fuzz_assert(err != NULL && err[0] != '\0',
                                     "BAD without a reason");
        ngx_http_wapress_fuzz_event(&st->log, NGX_HTTP_WAPRESS_FUZZ_BAD,
                                    NULL, 0, err);
        return 0;

    default:
        ngx_http_wapress_fuzz_assert(0, "an unknown report");
        return -1;
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
