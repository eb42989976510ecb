
/*
 * fuzz/marker.c: libFuzzer target for ngx_http_wapress_marker_parse() on
 * a whole document (the layout reader's case).  Every '<' is parsed and
 * the result checked against the parser's contract (fuzz_marker.h); for
 * each marker found, the parse of exactly its bytes must give the same
 * marker and the parse of any shorter prefix AGAIN (the prefixes are
 * copied to buffers of their own size, so that ASan sees any read past
 * them); the text between markers and the markers must add up to the
 * input.
 */


#include <stdint.h>

#include "fuzz_marker.h"


/* at most this many '<' get the prefix checks, to keep one run short */
#define NGX_HTTP_WAPRESS_FUZZ_PREFIX_CHECKS  64


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ngx_http_wapress_fuzz_prefix(const unsigned char *q,
    size_t n, int expect, const unsigned char *name, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                           rc;
    size_t                        len, total, checks;
    const char                   *err;
    const unsigned char          *p, *q, *last, *name, *end;
    ngx_http_wapress_fuzz_log_t   log;

    p = data;
    last = p + size;

    ngx_http_wapress_fuzz_log_init(&log, size);
    ngx_http_wapress_fuzz_scan(&log, p, last);
    ngx_http_wapress_fuzz_log_free(&log);

    /* prefix checks and the length balance, marker by marker */

    checks = 0;
    total = 0;

    while (p < last) {
        q = memchr(p, '<', last - p);
        if (q == NULL) {
            total += last - p;
            break;
        }

        total += q - p;

        name = NULL;
        end = NULL;
        err = NULL;
        len = 0;

        rc = ngx_http_wapress_marker_parse(q, last, &name, &len, &end, &err);
        ngx_http_wapress_fuzz_check(rc, q, last, name, len, end, err);

        if (rc != NGX_HTTP_WAPRESS_MARKER_OK) {
            total++;
            p = q + 1;
            continue;
        }

        if (checks++ < NGX_HTTP_WAPRESS_FUZZ_PREFIX_CHECKS) {
            ngx_http_wapress_fuzz_prefix(q, end - q,
                                         NGX_HTTP_WAPRESS_MARKER_OK,
                                         name, len);
            ngx_http_wapress_fuzz_prefix(q, end - q - 1,
                                         NGX_HTTP_WAPRESS_MARKER_AGAIN,
                                         NULL, 0);
            ngx_http_wapress_fuzz_prefix(q, (name - q) + len / 2,
                                         NGX_HTTP_WAPRESS_MARKER_AGAIN,
                                         NULL, 0);
        }

        total += end - q;
        p = end;
    }

    ngx_http_wapress_fuzz_assert(total == size,
                                 "text and markers do not add up");

    return 0;
}


/* parses a private copy of q[0 .. n) and expects the result "expect" */

static void
ngx_http_wapress_fuzz_prefix(const unsigned char *q, size_t n, int expect,
    const unsigned char *name, size_t len)
{
    int                   rc;
    size_t                nlen;
    const char           *err;
    unsigned char        *copy;
    const unsigned char  *nm, *end;

    copy = malloc(n ? n : 1);
    ngx_http_wapress_fuzz_assert(copy != NULL, "out of memory");
    memcpy(copy, q, n);

    nm = NULL;
    end = NULL;
    err = NULL;
    nlen = 0;

    rc = ngx_http_wapress_marker_parse(copy, copy + n, &nm, &nlen, &end, &err);
    ngx_http_wapress_fuzz_check(rc, copy, copy + n, nm, nlen, end, err);

    ngx_http_wapress_fuzz_assert(rc == expect,
                                 "a prefix of a marker parses differently");

    if (rc == NGX_HTTP_WAPRESS_MARKER_OK) {
        ngx_http_wapress_fuzz_assert(end == copy + n && nlen == len
                                     && memcmp(nm, name, len) == 0,
                                     "the marker's own bytes give another "
                                     "marker");
    }

    free(copy);
}
