
/*
 * ngx_http_wapress_scan.c: the streaming marker scanner (see the header).
 *
 * Every '<' is asked of the marker parser.  A marker is at most
 * NGX_HTTP_WAPRESS_MARKER_MAX bytes long, and the parser answers AGAIN
 * only for fewer, so whether a marker is recognised never depends on
 * where the ranges split: a range that ends in a possible marker has
 * those bytes held, and the next range completes them.  A held partial
 * marker starts with its only '<' (a marker has no other), so when it
 * turns out to be no marker, it is text as a whole.
 */


#include <string.h>

#include "ngx_http_wapress_scan.h"


static int ngx_http_wapress_scan_resume(ngx_http_wapress_scan_t *st,
    const unsigned char **pp, const unsigned char *last,
    ngx_http_wapress_scan_pt handler, void *data);


#define ngx_http_wapress_scan_text(start, end)                                \
    if ((end) > (start)                                                       \
        && handler(data, NGX_HTTP_WAPRESS_SCAN_TEXT, start, (end) - (start),  \
                   NULL)                                                      \
           == -1)                                                             \
    {                                                                         \
        return -1;                                                            \
    }


int
ngx_http_wapress_scan(ngx_http_wapress_scan_t *st, const unsigned char *p,
    const unsigned char *last, ngx_http_wapress_scan_pt handler, void *data)
{
    int                   rc, rv;
    size_t                len;
    const char           *err;
    const unsigned char  *q, *start, *name, *end;

    if (st->nheld) {
        if (ngx_http_wapress_scan_resume(st, &p, last, handler, data) == -1) {
            return -1;
        }
    }

    start = p;

    while (p < last) {

        q = memchr(p, '<', last - p);

        if (q == NULL) {
            break;
        }

        rc = ngx_http_wapress_marker_parse(q, last, &name, &len, &end, &err);

        if (rc == NGX_HTTP_WAPRESS_MARKER_OK
            && end - q <= NGX_HTTP_WAPRESS_MARKER_MAX)
        {
            ngx_http_wapress_scan_text(start, q);

            rv = handler(data, NGX_HTTP_WAPRESS_SCAN_MARKER, name, len, NULL);

            if (rv == -1) {
                return -1;
            }

            /* replaced, or (1) left in the text that follows */
            start = (rv == 0) ? end : q;
            p = end;
            continue;
        }

        if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN
            && last - q < NGX_HTTP_WAPRESS_MARKER_MAX)
        {
            /* maybe a marker that the next range completes */

            ngx_http_wapress_scan_text(start, q);

            st->nheld = last - q;
            memcpy(st->held, q, st->nheld);

            return 0;
        }

        if (rc == NGX_HTTP_WAPRESS_MARKER_BAD) {
            ngx_http_wapress_scan_text(start, q);
            start = q;

            if (handler(data, NGX_HTTP_WAPRESS_SCAN_BAD, q, 0, err) == -1) {
                return -1;
            }
        }

        p = q + 1;
    }

    ngx_http_wapress_scan_text(start, last);

    return 0;
}


/* the held partial marker, completed with the first bytes of the range */

static int
ngx_http_wapress_scan_resume(ngx_http_wapress_scan_t *st,
    const unsigned char **pp, const unsigned char *last,
    ngx_http_wapress_scan_pt handler, void *data)
{
    int                   rc, rv;
    size_t                n, len, w;
    const char           *err;
    const unsigned char  *name, *end;

    n = last - *pp;

    if (n > NGX_HTTP_WAPRESS_MARKER_MAX - st->nheld) {
        n = NGX_HTTP_WAPRESS_MARKER_MAX - st->nheld;
    }

    memcpy(st->held + st->nheld, *pp, n);
    w = st->nheld + n;

    rc = ngx_http_wapress_marker_parse(st->held, st->held + w, &name, &len,
                                       &end, &err);

    if (rc == NGX_HTTP_WAPRESS_MARKER_OK && end > st->held + st->nheld) {

        rv = handler(data, NGX_HTTP_WAPRESS_SCAN_MARKER, name, len, NULL);

        if (rv == -1) {
            return -1;
        }

        if (rv == 1
            && handler(data, NGX_HTTP_WAPRESS_SCAN_HELD, st->held,
                       end - st->held, NULL)
               == -1)
        {
            return -1;
        }

        *pp += (end - st->held) - st->nheld;
        st->nheld = 0;

        return 0;
    }

    if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN
        && w < NGX_HTTP_WAPRESS_MARKER_MAX)
    {
        /* still a prefix: the whole range joins it (n is all of it) */

        st->nheld = w;
        *pp = last;

        return 0;
    }

    if (rc == NGX_HTTP_WAPRESS_MARKER_BAD
        && handler(data, NGX_HTTP_WAPRESS_SCAN_BAD, st->held, 0, err) == -1)
    {
        return -1;
    }

    /* no marker: the held bytes are text, the range is scanned as usual */

    n = st->nheld;
    st->nheld = 0;

    return handler(data, NGX_HTTP_WAPRESS_SCAN_HELD, st->held, n, NULL);
}


int
ngx_http_wapress_scan_end(ngx_http_wapress_scan_t *st,
    ngx_http_wapress_scan_pt handler, void *data)
{
    size_t  n;

    if (st->nheld == 0) {
        return 0;
    }

    n = st->nheld;
    st->nheld = 0;

    return handler(data, NGX_HTTP_WAPRESS_SCAN_HELD, st->held, n, NULL);
}
