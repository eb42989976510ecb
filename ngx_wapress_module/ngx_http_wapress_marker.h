
/*
 * ngx_http_wapress_marker.h: the fragment marker syntax,
 *
 *     <!--# wapress fragment="NAME" -->
 *
 * recognised by the layout reader and by the body filter.  Plain C with
 * no nginx headers, so that unit tests and fuzzers can link it alone.
 */


#ifndef _NGX_HTTP_WAPRESS_MARKER_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_MARKER_H_INCLUDED_


#include <stddef.h>


/* a marker longer than this is malformed */
#define NGX_HTTP_WAPRESS_MARKER_MAX          256
#define NGX_HTTP_WAPRESS_MARKER_NAME_MAX     64

#define NGX_HTTP_WAPRESS_MARKER_OK           0
#define NGX_HTTP_WAPRESS_MARKER_NO           1   /* not a wapress marker */
#define NGX_HTTP_WAPRESS_MARKER_AGAIN        2   /* the text ends too soon */
#define NGX_HTTP_WAPRESS_MARKER_BAD          3   /* malformed */


#define ngx_http_wapress_marker_name_char(c)                                  \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z')                \
     || ((c) >= '0' && (c) <= '9') || (c) == '_' || (c) == '-'                \
     || (c) == '.' || (c) == ':')


/*
 * Looks at the text that starts at p (a '<') and ends before last.
 * OK: a marker; *name and *name_len give its fragment name, *end follows
 * the "-->".  NO: not a wapress marker (it may still be another comment).
 * AGAIN: the text ends before this can be told; it is only returned for
 * fewer than NGX_HTTP_WAPRESS_MARKER_MAX bytes, and no byte past those
 * changes the answer, so a streaming caller needs to hold no more.  BAD:
 * the text begins "<!--# wapress " but is no valid marker; *err says why.
 */
int ngx_http_wapress_marker_parse(const unsigned char *p,
    const unsigned char *last, const unsigned char **name, size_t *name_len,
    const unsigned char **end, const char **err);


#endif /* _NGX_HTTP_WAPRESS_MARKER_H_INCLUDED_ */
