
/*
 * ngx_http_wapress_log.c: log lines about a fragment, in one format.
 * Bytes of a key or field that are not printable ASCII, and '"' and
 * '\', are written as \xHH; a long key is cut at 256 bytes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_log.h"


#define NGX_HTTP_WAPRESS_LOG_KEY_MAX  256


static u_char *ngx_http_wapress_log_escape(u_char *p, u_char *last,
    ngx_str_t *s);


void ngx_cdecl
ngx_http_wapress_log_fragment(ngx_uint_t level, ngx_log_t *log,
    ngx_http_wapress_fragment_t *frag, ngx_str_t *key, ngx_str_t *field,
    const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;
    u_char    text[NGX_MAX_ERROR_STR];

    if (log->log_level < level) {
        return;
    }

    last = text + sizeof(text);

    p = ngx_slprintf(text, last, "fragment \"%V\" key \"", &frag->name);
    p = ngx_http_wapress_log_escape(p, last, key);

    if (field != NULL && field->len) {
        p = ngx_slprintf(p, last, "\" field \"");
        p = ngx_http_wapress_log_escape(p, last, field);
    }

    p = ngx_slprintf(p, last, "\": ");

    va_start(args, fmt);
    p = ngx_vslprintf(p, last, fmt, args);
    va_end(args);

    ngx_log_error(level, log, 0, "wapress: %*s", p - text, text);
}


static u_char *
ngx_http_wapress_log_escape(u_char *p, u_char *last, ngx_str_t *s)
{
    u_char      c;
    size_t      i, n;
    static u_char  hex[] = "0123456789abcdef";

    n = ngx_min(s->len, NGX_HTTP_WAPRESS_LOG_KEY_MAX);

    for (i = 0; i < n && last - p >= 4; i++) {
        c = s->data[i];

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            *p++ = c;
            continue;
        }

        *p++ = '\\';
        *p++ = 'x';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 0xf];
    }

    if (n < s->len) {
        p = ngx_slprintf(p, last, "...");
    }

    return p;
}
