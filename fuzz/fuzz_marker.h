
/*
 * fuzz/fuzz_marker.h: what the marker fuzz targets share: an event log
 * (text runs, markers, malformed markers) and the whole-input scanner
 * that produces the reference log, the way the layout reader and a body
 * filter see a document: every '<' is asked; a marker is replaced, a
 * non-marker or a malformed one passes as text, and text that ends
 * inside a possible marker is text too.
 */


#ifndef _NGX_HTTP_WAPRESS_FUZZ_MARKER_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FUZZ_MARKER_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_wapress_marker.h"


#define NGX_HTTP_WAPRESS_FUZZ_TEXT    0
#define NGX_HTTP_WAPRESS_FUZZ_MARKER  1
#define NGX_HTTP_WAPRESS_FUZZ_BAD     2


typedef struct {
    int                    type;
    size_t                 at;        /* text offset of the event */
    size_t                 len;
    const unsigned char   *name;      /* in the caller's copy */
    const char            *err;
} ngx_http_wapress_fuzz_event_t;


typedef struct {
    unsigned char                  *text;       /* all text, concatenated */
    size_t                          ntext;
    ngx_http_wapress_fuzz_event_t  *ev;
    size_t                          nev;
    size_t                          nalloc;
} ngx_http_wapress_fuzz_log_t;


#define ngx_http_wapress_fuzz_assert(expr, what)                              \
    if (!(expr)) {                                                            \
        fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, what,         \
                #expr);                                                       \
        abort();                                                              \
    }


static void
ngx_http_wapress_fuzz_log_init(ngx_http_wapress_fuzz_log_t *log,
    size_t size)
{
    log->text = malloc(size + 1);
    log->ntext = 0;
    log->nalloc = size / 8 + 4;
    log->ev = malloc(log->nalloc * sizeof(ngx_http_wapress_fuzz_event_t));
    log->nev = 0;

    ngx_http_wapress_fuzz_assert(log->text != NULL && log->ev != NULL,
                                 "out of memory");
}


static void
ngx_http_wapress_fuzz_log_free(ngx_http_wapress_fuzz_log_t *log)
{
    free(log->text);
    free(log->ev);
}


static void
ngx_http_wapress_fuzz_event(ngx_http_wapress_fuzz_log_t *log, int type,
    const unsigned char *name, size_t len, const char *err)
{
    ngx_http_wapress_fuzz_event_t  *ev;

    if (log->nev == log->nalloc) {
        log->nalloc *= 2;
        log->ev = realloc(log->ev,
                          log->nalloc * sizeof(ngx_http_wapress_fuzz_event_t));
        ngx_http_wapress_fuzz_assert(log->ev != NULL, "out of memory");
    }

    ev = &log->ev[log->nev++];
    ev->type = type;
    ev->at = log->ntext;
    ev->name = name;
    ev->len = len;
    ev->err = err;
}


static void
ngx_http_wapress_fuzz_text(ngx_http_wapress_fuzz_log_t *log,
    const unsigned char *p, size_t len)
{
    memcpy(log->text + log->ntext, p, len);
    log->ntext += len;
}


/*
 * Checks what the parser said about the text at p..last (p is a '<'),
 * whatever the caller: the parser's own contract.
 */

static void
ngx_http_wapress_fuzz_check(int rc, const unsigned char *p,
    const unsigned char *last, const unsigned char *name, size_t len,
    const unsigned char *end, const char *err)
{
    size_t  i;

    switch (rc) {

    case NGX_HTTP_WAPRESS_MARKER_OK:
        ngx_http_wapress_fuzz_assert(end > p && end <= last,
                                     "OK: end out of range");
        ngx_http_wapress_fuzz_assert(end - p <= NGX_HTTP_WAPRESS_MARKER_MAX,
                                     "OK: marker longer than MARKER_MAX");
        ngx_http_wapress_fuzz_assert(memcmp(end - 3, "-->", 3) == 0,
                                     "OK: marker does not end with -->");
        ngx_http_wapress_fuzz_assert(name > p + 5 && name + len < end,
                                     "OK: name out of range");
        ngx_http_wapress_fuzz_assert(len >= 1
                                     && len <= NGX_HTTP_WAPRESS_MARKER_NAME_MAX,
                                     "OK: bad name length");
        ngx_http_wapress_fuzz_assert((name[-1] == '"' || name[-1] == '\'')
                                     && name[len] == name[-1],
                                     "OK: name not quoted");

        for (i = 0; i < len; i++) {
            ngx_http_wapress_fuzz_assert(
                ngx_http_wapress_marker_name_char(name[i]),
                "OK: bad character in the name");
        }

        break;

    case NGX_HTTP_WAPRESS_MARKER_NO:
        break;

    case NGX_HTTP_WAPRESS_MARKER_AGAIN:
        ngx_http_wapress_fuzz_assert(last - p < NGX_HTTP_WAPRESS_MARKER_MAX,
                                     "AGAIN on MARKER_MAX bytes or more: a "
                                     "streaming caller cannot hold them");
        break;

    case NGX_HTTP_WAPRESS_MARKER_BAD:
        ngx_http_wapress_fuzz_assert(err != NULL && err[0] != '\0',
                                     "BAD without a reason");
        ngx_http_wapress_fuzz_assert(
            last - p >= 13 && memcmp(p, "<!--#", 5) == 0,
            "BAD for text that is not ours");
        break;

    default:
        ngx_http_wapress_fuzz_assert(0, "unknown return code");
    }
}


/* the reference: the whole document at once */

static void
ngx_http_wapress_fuzz_scan(ngx_http_wapress_fuzz_log_t *log,
    const unsigned char *p, const unsigned char *last)
{
    int                   rc;
    size_t                len;
    const char           *err;
    const unsigned char  *q, *name, *end;

    while (p < last) {
        q = memchr(p, '<', last - p);

        if (q == NULL) {
            ngx_http_wapress_fuzz_text(log, p, last - p);
            return;
        }

        ngx_http_wapress_fuzz_text(log, p, q - p);

        name = NULL;
        end = NULL;
        err = NULL;
        len = 0;

        rc = ngx_http_wapress_marker_parse(q, last, &name, &len, &end, &err);
        ngx_http_wapress_fuzz_check(rc, q, last, name, len, end, err);

        if (rc == NGX_HTTP_WAPRESS_MARKER_OK) {
            ngx_http_wapress_fuzz_event(log, NGX_HTTP_WAPRESS_FUZZ_MARKER,
                                        name, len, NULL);
            p = end;
            continue;
        }

        if (rc == NGX_HTTP_WAPRESS_MARKER_BAD) {
            ngx_http_wapress_fuzz_event(log, NGX_HTTP_WAPRESS_FUZZ_BAD,
                                        NULL, 0, err);
        }

        /* NO, BAD, or AGAIN at the end of the document: a text '<' */

        ngx_http_wapress_fuzz_text(log, q, 1);
        p = q + 1;
    }
}


#endif /* _NGX_HTTP_WAPRESS_FUZZ_MARKER_H_INCLUDED_ */
