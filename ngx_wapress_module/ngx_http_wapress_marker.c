
/*
 * ngx_http_wapress_marker.c: recognises one fragment marker,
 *
 *     <!--# wapress fragment="NAME" -->
 *
 * White space is free around the parts and the name may be in single
 * quotes; names are 1 to 64 of [A-Za-z0-9_.:-].  Text that merely starts
 * like a marker ("<!--#", "<!--# include", "<!--# wapressx") is not one.
 * The parser works on any prefix of the input, so a caller that streams
 * can hold a partial marker (at most NGX_HTTP_WAPRESS_MARKER_MAX bytes)
 * and ask again when more has arrived.
 */


#include <string.h>

#include "ngx_http_wapress_marker.h"


#define ngx_http_wapress_marker_space(c)                                      \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')


static const unsigned char *ngx_http_wapress_marker_skip(
    const unsigned char *p, const unsigned char *last);
static int ngx_http_wapress_marker_match(const unsigned char **pp,
    const unsigned char *last, const char *word, size_t len);


int
ngx_http_wapress_marker_parse(const unsigned char *p,
    const unsigned char *last, const unsigned char **name, size_t *name_len,
    const unsigned char **end, const char **err)
{
    int                   rc;
    unsigned char         quote;
    const unsigned char  *start, *n;

    start = p;

    /*
     * a marker is at most MARKER_MAX bytes: the answer never depends on
     * what follows them, so that a streaming caller that holds that much
     * gets the same answer as one that has the whole text
     */

    if ((size_t) (last - p) > NGX_HTTP_WAPRESS_MARKER_MAX) {
        last = p + NGX_HTTP_WAPRESS_MARKER_MAX;
    }

    rc = ngx_http_wapress_marker_match(&p, last, "<!--#", 5);
    if (rc != NGX_HTTP_WAPRESS_MARKER_OK) {
        return rc;
    }

    p = ngx_http_wapress_marker_skip(p, last);

    rc = ngx_http_wapress_marker_match(&p, last, "wapress", 7);
    if (rc == NGX_HTTP_WAPRESS_MARKER_NO) {
        return rc;
    }

    if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN || p == last) {
        /* "<!--#" and MARKER_MAX bytes of white space: not a marker */
        return (last - start >= NGX_HTTP_WAPRESS_MARKER_MAX)
               ? NGX_HTTP_WAPRESS_MARKER_NO : NGX_HTTP_WAPRESS_MARKER_AGAIN;
    }

    if (!ngx_http_wapress_marker_space(*p)) {
        /* "<!--# wapressx": some other command */
        return NGX_HTTP_WAPRESS_MARKER_NO;
    }

    /* from here on it is ours: anything unexpected is an error */

    p = ngx_http_wapress_marker_skip(p, last);

    rc = ngx_http_wapress_marker_match(&p, last, "fragment", 8);
    if (rc == NGX_HTTP_WAPRESS_MARKER_NO) {
        *err = "expected fragment=\"NAME\"";
        return NGX_HTTP_WAPRESS_MARKER_BAD;
    }

    if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN) {
        goto again;
    }

    p = ngx_http_wapress_marker_skip(p, last);

    if (p == last) {
        goto again;
    }

    if (*p++ != '=') {
        *err = "expected \"=\" after \"fragment\"";
        return NGX_HTTP_WAPRESS_MARKER_BAD;
    }

    p = ngx_http_wapress_marker_skip(p, last);

    if (p == last) {
        goto again;
    }

    quote = *p++;

    if (quote != '"' && quote != '\'') {
        *err = "expected a quoted fragment name";
        return NGX_HTTP_WAPRESS_MARKER_BAD;
    }

    n = p;

    while (p < last && ngx_http_wapress_marker_name_char(*p)) {
        if (p - n == NGX_HTTP_WAPRESS_MARKER_NAME_MAX) {
            /* said at once, whether or not the quote has arrived */
            *err = "a fragment name has 1 to 64 characters";
            return NGX_HTTP_WAPRESS_MARKER_BAD;
        }

        p++;
    }

    if (p == last) {
        goto again;
    }

    if (*p != quote) {
        *err = "invalid character in fragment name";
        return NGX_HTTP_WAPRESS_MARKER_BAD;
    }

    if (p == n) {
        *err = "a fragment name has 1 to 64 characters";
        return NGX_HTTP_WAPRESS_MARKER_BAD;
    }

    *name = n;
    *name_len = p - n;

    p = ngx_http_wapress_marker_skip(p + 1, last);

    rc = ngx_http_wapress_marker_match(&p, last, "-->", 3);
    if (rc == NGX_HTTP_WAPRESS_MARKER_NO) {
        *err = "expected \"-->\" after the fragment name";
        return NGX_HTTP_WAPRESS_MARKER_BAD;
    }

    if (rc == NGX_HTTP_WAPRESS_MARKER_AGAIN) {
        goto again;
    }

    *end = p;

    return NGX_HTTP_WAPRESS_MARKER_OK;

again:

    if (last - start >= NGX_HTTP_WAPRESS_MARKER_MAX) {
        *err = "unterminated marker";
        return NGX_HTTP_WAPRESS_MARKER_BAD;
    }

    return NGX_HTTP_WAPRESS_MARKER_AGAIN;
}


static const unsigned char *
ngx_http_wapress_marker_skip(const unsigned char *p,
    const unsigned char *last)
{
    while (p < last && ngx_http_wapress_marker_space(*p)) {
        p++;
    }

    return p;
}


/* OK with *pp moved past "word", NO, or AGAIN for a prefix of it */

static int
ngx_http_wapress_marker_match(const unsigned char **pp,
    const unsigned char *last, const char *word, size_t len)
{
    size_t                n;
    const unsigned char  *p;

    p = *pp;
    n = (size_t) (last - p) < len ? (size_t) (last - p) : len;

    if (memcmp(p, word, n) != 0) {
        return NGX_HTTP_WAPRESS_MARKER_NO;
    }

    if (n < len) {
        return NGX_HTTP_WAPRESS_MARKER_AGAIN;
    }

    *pp = p + len;

    return NGX_HTTP_WAPRESS_MARKER_OK;
}
