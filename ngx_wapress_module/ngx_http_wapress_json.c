
/*
 * ngx_http_wapress_json.c: a json fragment's value decoded in one pass.
 * jansson stays the JSON library (the values, their lookups, their
 * memory): only the reading of the bytes is ours.  jansson's lexer costs
 * about 140 instructions per byte (a stream callback, a UTF-8 check and a
 * one-byte append per character, every token copied twice); here a
 * string is a table-driven scan and, without escapes, one copy into its
 * json_t.  What is accepted and what is built are json_loadb()'s with
 * JSON_DECODE_ANY (fuzz/json_fragment.c checks both on every input).
 */


#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_wapress_json.h"


/* as jansson converts a json_int_t */
#if JSON_INTEGER_IS_LONG_LONG
#define ngx_http_wapress_json_strtoint  strtoll
#else
#define ngx_http_wapress_json_strtoint  strtol
#endif

/* what a byte is inside a string */
#define NGX_HTTP_WAPRESS_JSON_PLAIN    0
#define NGX_HTTP_WAPRESS_JSON_QUOTE    1
#define NGX_HTTP_WAPRESS_JSON_ESCAPE   2
#define NGX_HTTP_WAPRESS_JSON_CONTROL  3
#define NGX_HTTP_WAPRESS_JSON_UTF8     4


typedef struct {
    const unsigned char           *start;
    const unsigned char           *p;
    const unsigned char           *last;
    size_t                         depth;
    json_error_t                  *err;

    /* decoded strings with escapes, and keys (NUL-terminated) */
    char                          *buf;
    size_t                         size;
} ngx_http_wapress_json_parser_t;


static json_t *ngx_http_wapress_json_value(
    ngx_http_wapress_json_parser_t *ps);
static json_t *ngx_http_wapress_json_object(
    ngx_http_wapress_json_parser_t *ps);
static json_t *ngx_http_wapress_json_array(
    ngx_http_wapress_json_parser_t *ps);
static int ngx_http_wapress_json_string(ngx_http_wapress_json_parser_t *ps,
    const char **data, size_t *len);
static json_t *ngx_http_wapress_json_number(
    ngx_http_wapress_json_parser_t *ps);
static int ngx_http_wapress_json_buf(ngx_http_wapress_json_parser_t *ps,
    size_t size);
static unsigned char *ngx_http_wapress_json_encode(unsigned char *d,
    unsigned long u);
static int ngx_http_wapress_json_unicode(ngx_http_wapress_json_parser_t *ps,
    unsigned long *value);
static const unsigned char *ngx_http_wapress_json_digits(
    const unsigned char *p, const unsigned char *last);
static size_t ngx_http_wapress_json_utf8(const unsigned char *p,
    const unsigned char *last);
static void ngx_http_wapress_json_error(ngx_http_wapress_json_parser_t *ps,
    const char *fmt, ...);


static const unsigned char  ngx_http_wapress_json_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4
};


/* JSON's whitespace */
#define ngx_http_wapress_json_skip(ps)                                       \
    while ((ps)->p < (ps)->last                                              \
           && (*(ps)->p == ' ' || *(ps)->p == '\n' || *(ps)->p == '\r'        \
               || *(ps)->p == '\t'))                                         \
    {                                                                        \
        (ps)->p++;                                                           \
    }


json_t *
ngx_http_wapress_json_load(const char *buf, size_t len, json_error_t *err)
{
    json_t                          *v;
    ngx_http_wapress_json_parser_t   ps;

    ps.start = (const unsigned char *) buf;
    ps.p = ps.start;
    ps.last = ps.start + len;
    ps.depth = 0;
    ps.err = err;
    ps.buf = NULL;
    ps.size = 0;

    if (err != NULL) {
        memset(err, 0, sizeof(json_error_t));
        err->line = -1;
        err->column = -1;
    }

    v = ngx_http_wapress_json_value(&ps);

    if (v != NULL) {
        ngx_http_wapress_json_skip(&ps);

        if (ps.p != ps.last) {
            ngx_http_wapress_json_error(&ps, "end of file expected");
            json_decref(v);
            v = NULL;
        }
    }

    free(ps.buf);

    return v;
}


static json_t *
ngx_http_wapress_json_value(ngx_http_wapress_json_parser_t *ps)
{
    size_t       len;
    json_t      *v;
    const char  *data;

    ngx_http_wapress_json_skip(ps);

    if (ps->p == ps->last) {
        ngx_http_wapress_json_error(ps, "a value expected near end of "
                                    "file");
        return NULL;
    }

    /* as jansson: every value counts, scalars too */

    if (++ps->depth > NGX_HTTP_WAPRESS_JSON_MAX_DEPTH) {
        ngx_http_wapress_json_error(ps, "maximum parsing depth reached");
        return NULL;
    }

    switch (*ps->p) {

    case '{':
        ps->p++;
        v = ngx_http_wapress_json_object(ps);
        break;

    case '[':
        ps->p++;
        v = ngx_http_wapress_json_array(ps);
        break;

    case '"':
        ps->p++;

        if (ngx_http_wapress_json_string(ps, &data, &len) != 0) {
            return NULL;
        }

        v = json_stringn_nocheck(data, len);
        if (v == NULL) {
            ngx_http_wapress_json_error(ps, "out of memory");
        }

        break;

    case 't':
        if (ps->last - ps->p >= 4 && memcmp(ps->p, "true", 4) == 0) {
            ps->p += 4;
            v = json_true();
            break;
        }

        goto invalid;

    case 'f':
        if (ps->last - ps->p >= 5 && memcmp(ps->p, "false", 5) == 0) {
            ps->p += 5;
            v = json_false();
            break;
        }

        goto invalid;

    case 'n':
        if (ps->last - ps->p >= 4 && memcmp(ps->p, "null", 4) == 0) {
            ps->p += 4;
            v = json_null();
            break;
        }

        goto invalid;

    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
            v = ngx_http_wapress_json_number(ps);
            break;
        }

        goto invalid;
    }

    ps->depth--;

    return v;

invalid:

    ngx_http_wapress_json_error(ps, "invalid token");

    return NULL;
}


static json_t *
ngx_http_wapress_json_object(ngx_http_wapress_json_parser_t *ps)
{
    int          rc;
    char         small[64], *key;     /* 2048 levels of these at most */
    size_t       len;
    json_t      *obj, *v;
    const char  *data;

    obj = json_object();
    if (obj == NULL) {
        ngx_http_wapress_json_error(ps, "out of memory");
        return NULL;
    }

    ngx_http_wapress_json_skip(ps);

    if (ps->p < ps->last && *ps->p == '}') {
        ps->p++;
        return obj;
    }

    for ( ;; ) {

        ngx_http_wapress_json_skip(ps);

        if (ps->p == ps->last || *ps->p != '"') {
            ngx_http_wapress_json_error(ps, "string or '}' expected");
            goto failed;
        }

        ps->p++;

        if (ngx_http_wapress_json_string(ps, &data, &len) != 0) {
            goto failed;
        }

        if (memchr(data, '\0', len) != NULL) {
            ngx_http_wapress_json_error(ps, "NUL byte in object key not "
                                        "supported");
            goto failed;
        }

        ngx_http_wapress_json_skip(ps);

        if (ps->p == ps->last || *ps->p != ':') {
            ngx_http_wapress_json_error(ps, "':' expected");
            goto failed;
        }

        ps->p++;

        /* the value may reuse ps->buf: the key is kept NUL-terminated */

        key = (len < sizeof(small)) ? small : malloc(len + 1);
        if (key == NULL) {
            ngx_http_wapress_json_error(ps, "out of memory");
            goto failed;
        }

        memcpy(key, data, len);
        key[len] = '\0';

        v = ngx_http_wapress_json_value(ps);

        rc = (v != NULL) ? json_object_set_new_nocheck(obj, key, v) : -1;

        if (key != small) {
            free(key);
        }

        if (rc != 0) {
            if (v != NULL) {
                ngx_http_wapress_json_error(ps, "out of memory");
            }

            goto failed;
        }

        ngx_http_wapress_json_skip(ps);

        if (ps->p < ps->last && *ps->p == ',') {
            ps->p++;
            continue;
        }

        if (ps->p < ps->last && *ps->p == '}') {
            ps->p++;
            return obj;
        }

        ngx_http_wapress_json_error(ps, "'}' expected");
        goto failed;
    }

failed:

    json_decref(obj);

    return NULL;
}


static json_t *
ngx_http_wapress_json_array(ngx_http_wapress_json_parser_t *ps)
{
    json_t  *arr, *v;

    arr = json_array();
    if (arr == NULL) {
        ngx_http_wapress_json_error(ps, "out of memory");
        return NULL;
    }

    ngx_http_wapress_json_skip(ps);

    if (ps->p < ps->last && *ps->p == ']') {
        ps->p++;
        return arr;
    }

    for ( ;; ) {
        v = ngx_http_wapress_json_value(ps);
        if (v == NULL) {
            goto failed;
        }

        if (json_array_append_new(arr, v) != 0) {
            ngx_http_wapress_json_error(ps, "out of memory");
            goto failed;
        }

        ngx_http_wapress_json_skip(ps);

        if (ps->p < ps->last && *ps->p == ',') {
            ps->p++;
            continue;
        }

        if (ps->p < ps->last && *ps->p == ']') {
            ps->p++;
            return arr;
        }

        ngx_http_wapress_json_error(ps, "']' expected");
        goto failed;
    }

failed:

    json_decref(arr);

    return NULL;
}


/*
 * ps->p is after the opening quote; on success it is after the closing
 * one, and *data, *len are the decoded bytes: in the input when there
 * was no escape, else in ps->buf (decoded from the first escape on)
 */

static int
ngx_http_wapress_json_string(ngx_http_wapress_json_parser_t *ps,
    const char **data, size_t *len)
{
    size_t                n;
    unsigned char        *d;
    unsigned long         u;
    const unsigned char  *p, *start, *run;

    start = ps->p;
    p = start;
    d = NULL;

    for ( ;; ) {
        run = p;

        while (p < ps->last
               && ngx_http_wapress_json_class[*p]
                  == NGX_HTTP_WAPRESS_JSON_PLAIN)
        {
            p++;
        }

        if (d != NULL) {
            memcpy(d, run, p - run);
            d += p - run;
        }

        if (p == ps->last) {
            ps->p = p;
            ngx_http_wapress_json_error(ps, "premature end of input");
            return -1;
        }

        switch (ngx_http_wapress_json_class[*p]) {

        case NGX_HTTP_WAPRESS_JSON_QUOTE:
            if (d == NULL) {
                *data = (const char *) start;
                *len = p - start;

            } else {
                *data = ps->buf;
                *len = d - (unsigned char *) ps->buf;
            }

            ps->p = p + 1;
            return 0;

        case NGX_HTTP_WAPRESS_JSON_UTF8:
            n = ngx_http_wapress_json_utf8(p, ps->last);
            if (n == 0) {
                ps->p = p;
                ngx_http_wapress_json_error(ps, "unable to decode byte "
                                            "0x%x", *p);
                return -1;
            }

            if (d != NULL) {
                memcpy(d, p, n);
                d += n;
            }

            p += n;
            continue;

        case NGX_HTTP_WAPRESS_JSON_CONTROL:
            ps->p = p;
            ngx_http_wapress_json_error(ps, "control character 0x%x", *p);
            return -1;

        default: /* NGX_HTTP_WAPRESS_JSON_ESCAPE */
            break;
        }

        if (d == NULL) {
            /* the first escape: the rest is decoded into ps->buf */

            if (ngx_http_wapress_json_buf(ps, ps->last - start + 1) != 0) {
                return -1;
            }

            d = (unsigned char *) ps->buf;
            memcpy(d, start, p - start);
            d += p - start;
        }

        if (ps->last - p < 2) {
            ps->p = ps->last;
            ngx_http_wapress_json_error(ps, "premature end of input");
            return -1;
        }

        switch (p[1]) {

        case '"':
        case '\\':
        case '/':
            *d++ = p[1];
            break;

        case 'b':
            *d++ = '\b';
            break;

        case 'f':
            *d++ = '\f';
            break;

        case 'n':
            *d++ = '\n';
            break;

        case 'r':
            *d++ = '\r';
            break;

        case 't':
            *d++ = '\t';
            break;

        case 'u':
            ps->p = p;

            if (ngx_http_wapress_json_unicode(ps, &u) != 0) {
                return -1;
            }

            p = ps->p;
            d = ngx_http_wapress_json_encode(d, u);
            continue;

        default:
            ps->p = p;
            ngx_http_wapress_json_error(ps, "invalid escape");
            return -1;
        }

        p += 2;
    }
}


/* ps->buf of at least "size" bytes: decoded strings never grow */

static int
ngx_http_wapress_json_buf(ngx_http_wapress_json_parser_t *ps, size_t size)
{
    if (ps->size >= size) {
        return 0;
    }

    free(ps->buf);

    ps->buf = malloc(size);
    if (ps->buf == NULL) {
        ps->size = 0;
        ngx_http_wapress_json_error(ps, "out of memory");
        return -1;
    }

    ps->size = size;

    return 0;
}


/* a code point as UTF-8 at d; returns the end */

static unsigned char *
ngx_http_wapress_json_encode(unsigned char *d, unsigned long u)
{
    if (u < 0x80) {
        *d++ = (unsigned char) u;

    } else if (u < 0x800) {
        *d++ = (unsigned char) (0xc0 | (u >> 6));
        *d++ = (unsigned char) (0x80 | (u & 0x3f));

    } else if (u < 0x10000) {
        *d++ = (unsigned char) (0xe0 | (u >> 12));
        *d++ = (unsigned char) (0x80 | ((u >> 6) & 0x3f));
        *d++ = (unsigned char) (0x80 | (u & 0x3f));

    } else {
        *d++ = (unsigned char) (0xf0 | (u >> 18));
        *d++ = (unsigned char) (0x80 | ((u >> 12) & 0x3f));
        *d++ = (unsigned char) (0x80 | ((u >> 6) & 0x3f));
        *d++ = (unsigned char) (0x80 | (u & 0x3f));
    }

    return d;
}


/*
 * "\uXXXX" at ps->p, or a surrogate pair "\uD8XX\uDCXX": the code point,
 * ps->p after it.  "\u0000" is refused, as by jansson without
 * JSON_ALLOW_NUL.
 */

static int
ngx_http_wapress_json_unicode(ngx_http_wapress_json_parser_t *ps,
    unsigned long *value)
{
    int                   k, i;
    unsigned char         c;
    unsigned long         u[2];
    const unsigned char  *p;

    p = ps->p;

    for (k = 0; k < 2; k++) {

        if (ps->last - p < 6 || p[0] != '\\' || p[1] != 'u') {
            if (k == 1) {
                ngx_http_wapress_json_error(ps, "invalid Unicode '\\u%04lX'",
                                            u[0]);
                return -1;
            }

            ngx_http_wapress_json_error(ps, "invalid escape");
            return -1;
        }

        u[k] = 0;

        for (i = 2; i < 6; i++) {
            c = p[i];
            u[k] <<= 4;

            if (c >= '0' && c <= '9') {
                u[k] += c - '0';

            } else if (c >= 'a' && c <= 'f') {
                u[k] += c - 'a' + 10;

            } else if (c >= 'A' && c <= 'F') {
                u[k] += c - 'A' + 10;

            } else {
                ngx_http_wapress_json_error(ps, "invalid escape");
                return -1;
            }
        }

        p += 6;

        if (k == 0) {
            if (u[0] == 0) {
                ngx_http_wapress_json_error(ps, "\\u0000 is not allowed");
                return -1;
            }

            if (u[0] >= 0xdc00 && u[0] <= 0xdfff) {
                ngx_http_wapress_json_error(ps, "invalid Unicode '\\u%04lX'",
                                            u[0]);
                return -1;
            }

            if (u[0] < 0xd800 || u[0] > 0xdbff) {
                *value = u[0];
                ps->p = p;
                return 0;
            }

        } else if (u[1] < 0xdc00 || u[1] > 0xdfff) {
            ngx_http_wapress_json_error(ps, "invalid Unicode "
                                        "'\\u%04lX\\u%04lX'", u[0], u[1]);
            return -1;
        }
    }

    *value = ((u[0] - 0xd800) << 10) + (u[1] - 0xdc00) + 0x10000;
    ps->p = p;

    return 0;
}


/*
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?: an integer without
 * fraction or exponent, else a real, converted as jansson does (strtoll()
 * with "too big" for ERANGE, strtod() with "real number overflow" for an
 * infinity)
 */

static json_t *
ngx_http_wapress_json_number(ngx_http_wapress_json_parser_t *ps)
{
    int                   real;
    char                  small[64], *text;
    double                d;
    size_t                n;
    json_t               *v;
    json_int_t            i;
    const unsigned char  *p;

    p = ps->p + (*ps->p == '-');
    real = 0;
    d = 0;
    i = 0;

    if (p == ps->last || *p < '0' || *p > '9') {
        goto invalid;
    }

    if (*p == '0') {
        p++;

        if (p < ps->last && *p >= '0' && *p <= '9') {
            goto invalid;
        }

    } else {
        p = ngx_http_wapress_json_digits(p, ps->last);
    }

    if (p < ps->last && *p == '.') {
        real = 1;
        p++;

        if (p == ps->last || *p < '0' || *p > '9') {
            goto invalid;
        }

        p = ngx_http_wapress_json_digits(p, ps->last);
    }

    if (p < ps->last && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;

        if (p < ps->last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == ps->last || *p < '0' || *p > '9') {
            goto invalid;
        }

        p = ngx_http_wapress_json_digits(p, ps->last);
    }

    n = p - ps->p;

    text = (n < sizeof(small)) ? small : malloc(n + 1);
    if (text == NULL) {
        ngx_http_wapress_json_error(ps, "out of memory");
        return NULL;
    }

    memcpy(text, ps->p, n);
    text[n] = '\0';

    errno = 0;

    if (real) {
        d = strtod(text, NULL);

    } else {
        i = ngx_http_wapress_json_strtoint(text, NULL, 10);
    }

    if (text != small) {
        free(text);
    }

    if (real && (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE) {
        ngx_http_wapress_json_error(ps, "real number overflow");
        return NULL;
    }

    if (!real && errno == ERANGE) {
        ngx_http_wapress_json_error(ps, *ps->p == '-'
                                        ? "too big negative integer"
                                        : "too big integer");
        return NULL;
    }

    ps->p = p;

    v = real ? json_real(d) : json_integer(i);
    if (v == NULL) {
        ngx_http_wapress_json_error(ps, "out of memory");
    }

    return v;

invalid:

    ps->p = p;
    ngx_http_wapress_json_error(ps, "invalid number");

    return NULL;
}


static const unsigned char *
ngx_http_wapress_json_digits(const unsigned char *p,
    const unsigned char *last)
{
    while (p < last && *p >= '0' && *p <= '9') {
        p++;
    }

    return p;
}


/*
 * The length of the UTF-8 sequence at p, or 0 if it is not one that
 * jansson accepts (no overlong forms, no surrogates, at most U+10FFFF).
 */

static size_t
ngx_http_wapress_json_utf8(const unsigned char *p, const unsigned char *last)
{
    size_t         n, i;
    unsigned long  u;

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2;
        u = *p & 0x1f;

    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3;
        u = *p & 0x0f;

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4;
        u = *p & 0x07;

    } else {
        return 0;
    }

    if ((size_t) (last - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        u = (u << 6) | (p[i] & 0x3f);
    }

    if ((n == 3 && u < 0x800)
        || (n == 4 && u < 0x10000)
        || u > 0x10ffff
        || (u >= 0xd800 && u <= 0xdfff))
    {
        return 0;
    }

    return n;
}


/* the first error only, with its line and column (bytes) */

static void
ngx_http_wapress_json_error(ngx_http_wapress_json_parser_t *ps,
    const char *fmt, ...)
{
    int                   line, column;
    va_list               args;
    const unsigned char  *p;

    if (ps->err == NULL || ps->err->text[0] != '\0') {
        return;
    }

    line = 1;
    column = 0;

    for (p = ps->start; p < ps->p && p < ps->last; p++) {
        if (*p == '\n') {
            line++;
            column = 0;

        } else {
            column++;
        }
    }

    /* the last byte of the text is the code, as jansson keeps it */

    va_start(args, fmt);
    vsnprintf(ps->err->text, JSON_ERROR_TEXT_LENGTH - 1, fmt, args);
    va_end(args);

    ps->err->text[JSON_ERROR_TEXT_LENGTH - 1] =
                        (char) (strcmp(fmt, "out of memory") == 0
                                ? json_error_out_of_memory
                                : json_error_invalid_syntax);

    ps->err->line = line;
    ps->err->column = column + 1;
    ps->err->position = (int) (ps->p - ps->start);
    snprintf(ps->err->source, JSON_ERROR_SOURCE_LENGTH, "<buffer>");
}

