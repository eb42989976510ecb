
/*
 * ngx_http_wapress_log.c: log lines about a fragment, in one format.
 * Bytes of a key or field that are not printable ASCII, and '"' and
 * '\', are written as \xHH; a long key is cut at 256 bytes.
 *
 * A page's lines are held and written together: fragments with the same
 * level, cause and outcome share one line, so that a page whose Redis is
 * down logs one line, not one per fragment.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_log.h"


#define NGX_HTTP_WAPRESS_LOG_KEY_MAX  256

/* the names and keys of a shared line stop there, to leave its cause */
#define NGX_HTTP_WAPRESS_LOG_LIST_MAX  (NGX_MAX_ERROR_STR / 2)


typedef struct {
    ngx_uint_t                       frag;
    ngx_uint_t                       level;
    ngx_str_t                        cause;      /* in r->pool */
    const char                      *outcome;
    ngx_msec_t                       age;
    ngx_uint_t                       stale;      /* ..._LOG_STALE_* */
    ngx_uint_t                       done;
} ngx_http_wapress_log_line_t;


static ngx_uint_t ngx_http_wapress_log_same(ngx_http_wapress_log_line_t *a,
    ngx_http_wapress_log_line_t *b);
static void ngx_http_wapress_log_group(ngx_http_wapress_page_t *page,
    ngx_http_wapress_log_line_t *line, ngx_uint_t n);
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


void
ngx_http_wapress_log_hold(ngx_http_wapress_page_t *page, ngx_uint_t i,
    ngx_uint_t level, const char *cause, const char *outcome,
    ngx_uint_t stale, ngx_msec_t age)
{
    size_t                        len;
    ngx_uint_t                    k;
    ngx_http_request_t           *r;
    ngx_http_wapress_log_line_t  *line, *prev;

    r = page->request;

    if (r->connection->log->log_level < level) {
        return;
    }

    if (page->logs == NULL) {
        page->logs = ngx_array_create(r->pool, 4,
                                      sizeof(ngx_http_wapress_log_line_t));
        if (page->logs == NULL) {
            return;
        }
    }

    line = ngx_array_push(page->logs);
    if (line == NULL) {
        return;
    }

    line->frag = i;
    line->level = level;
    line->outcome = outcome;
    line->age = age;
    line->stale = stale;
    line->done = 0;

    /* a cause held before is shared, not copied again */

    len = ngx_strlen(cause);
    prev = page->logs->elts;

    for (k = 0; k < page->logs->nelts - 1; k++) {
        if (prev[k].cause.len == len
            && ngx_strncmp(prev[k].cause.data, cause, len) == 0)
        {
            line->cause = prev[k].cause;
            return;
        }
    }

    line->cause.data = ngx_pnalloc(r->pool, len);
    if (line->cause.data == NULL) {
        page->logs->nelts--;
        return;
    }

    ngx_memcpy(line->cause.data, cause, len);
    line->cause.len = len;
}


void
ngx_http_wapress_log_flush(ngx_http_wapress_page_t *page)
{
    ngx_uint_t                    k, n;
    ngx_http_wapress_log_line_t  *line;

    if (page->logs == NULL || page->logs->nelts == 0) {
        return;
    }

    line = page->logs->elts;
    n = page->logs->nelts;

    for (k = 0; k < n; k++) {
        if (!line[k].done) {
            ngx_http_wapress_log_group(page, &line[k], n - k);
        }
    }

    page->logs->nelts = 0;
}


static ngx_uint_t
ngx_http_wapress_log_same(ngx_http_wapress_log_line_t *a,
    ngx_http_wapress_log_line_t *b)
{
    return a->level == b->level
           && a->outcome == b->outcome
           && a->stale == b->stale
           && a->cause.len == b->cause.len
           && ngx_strncmp(a->cause.data, b->cause.data, a->cause.len) == 0;
}


/* one line for line[0] and the lines after it like it */

static void
ngx_http_wapress_log_group(ngx_http_wapress_page_t *page,
    ngx_http_wapress_log_line_t *line, ngx_uint_t n)
{
    u_char                       *p, *last, *list, *names;
    ngx_log_t                    *log;
    ngx_msec_t                    age;
    ngx_uint_t                    k, count, more, first;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;
    u_char                        text[NGX_MAX_ERROR_STR];

    log = page->request->connection->log;
    frag = page->conf->fragments->elts;
    last = text + sizeof(text);
    list = text + NGX_HTTP_WAPRESS_LOG_LIST_MAX;
    names = text + NGX_HTTP_WAPRESS_LOG_LIST_MAX / 2;

    count = 0;
    age = line[0].age;

    for (k = 0; k < n; k++) {
        if (ngx_http_wapress_log_same(&line[0], &line[k])) {
            count++;

            if (line[k].age > age) {
                age = line[k].age;
            }
        }
    }

    if (count == 1) {
        line[0].done = 1;
        res = &page->results[line[0].frag];

        p = ngx_slprintf(text, last, "fragment \"%V\" key \"",
                         &frag[line[0].frag].name);
        p = ngx_http_wapress_log_escape(p, last, &res->key);

        if (res->field.len) {
            p = ngx_slprintf(p, last, "\" field \"");
            p = ngx_http_wapress_log_escape(p, last, &res->field);
        }

        p = ngx_slprintf(p, last, "\": ");

    } else {
        /* the names, then the keys, each list cut where the text is full */

        p = ngx_slprintf(text, last, "fragments ");
        first = 1;
        more = 0;

        for (k = 0; k < n; k++) {
            if (!ngx_http_wapress_log_same(&line[0], &line[k])) {
                continue;
            }

            if (p + frag[line[k].frag].name.len + 4 > names) {
                more++;
                continue;
            }

            p = ngx_slprintf(p, last, "%s\"%V\"", first ? "" : ", ",
                             &frag[line[k].frag].name);
            first = 0;
        }

        if (more) {
            p = ngx_slprintf(p, last, " and %ui more", more);
        }

        p = ngx_slprintf(p, last, " (keys ");
        first = 1;
        more = 0;

        for (k = 0; k < n; k++) {
            if (!ngx_http_wapress_log_same(&line[0], &line[k])) {
                continue;
            }

            line[k].done = 1;
            res = &page->results[line[k].frag];

            if (p >= list) {
                more++;
                continue;
            }

            p = ngx_slprintf(p, last, "%s\"", first ? "" : ", ");
            p = ngx_http_wapress_log_escape(p, list, &res->key);

            if (res->field.len) {
                p = ngx_slprintf(p, list, "\" field \"");
                p = ngx_http_wapress_log_escape(p, list, &res->field);
            }

            p = ngx_slprintf(p, last, "\"");
            first = 0;
        }

        if (more) {
            p = ngx_slprintf(p, last, " and %ui more", more);
        }

        p = ngx_slprintf(p, last, "): ");
    }

    switch (line[0].stale) {

    case NGX_HTTP_WAPRESS_LOG_STALE_COPY:
        p = ngx_slprintf(p, last, (count == 1)
                                  ? "%V, using a stale copy %Mms old"
                                  : "%V, using stale copies, the oldest "
                                    "%Mms old",
                         &line[0].cause, age);
        break;

    case NGX_HTTP_WAPRESS_LOG_STALE_MISSING:
        p = ngx_slprintf(p, last, (count == 1)
                                  ? "%V, stale \"not found\" %Mms old, %s"
                                  : "%V, stale \"not found\" (the oldest "
                                    "%Mms old), %s",
                         &line[0].cause, age, line[0].outcome);
        break;

    default:
        p = ngx_slprintf(p, last, "%V, %s", &line[0].cause, line[0].outcome);
        break;
    }

    ngx_log_error(line[0].level, log, 0, "wapress: %*s", p - text, text);
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
