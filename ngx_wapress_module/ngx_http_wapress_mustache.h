
/*
 * ngx_http_wapress_mustache.h: a Mustache template engine over jansson
 * values.  Templates (and their partials) are compiled once, at
 * configuration time, into flat node arrays; each request renders one
 * with a json_t as the root context.  Pure C99 + libc + jansson, no nginx
 * headers, so that unit tests and fuzzers can link this file alone.
 * All memory comes from the caller's allocator and is never freed
 * individually (nginx pool semantics).
 */


#ifndef _NGX_HTTP_WAPRESS_MUSTACHE_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_MUSTACHE_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>


#define NGX_HTTP_WAPRESS_MUSTACHE_OK            0
#define NGX_HTTP_WAPRESS_MUSTACHE_NOMEM        -1
#define NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP     -2
#define NGX_HTTP_WAPRESS_MUSTACHE_TOO_LONG     -3
#define NGX_HTTP_WAPRESS_MUSTACHE_TOO_LARGE    -4

/* nested sections (compile and render) and nested partials (render) */
#define NGX_HTTP_WAPRESS_MUSTACHE_MAX_SECTIONS  64
#define NGX_HTTP_WAPRESS_MUSTACHE_MAX_PARTIALS  32

/*
 * node visits of one render: sections repeated by the data (a name not
 * found in an element is looked up in the enclosing contexts) make the
 * work polynomial in the data, with the nesting as the exponent
 */
#define NGX_HTTP_WAPRESS_MUSTACHE_MAX_VISITS    (10 * 1000 * 1000)


typedef struct ngx_http_wapress_mustache_s  ngx_http_wapress_mustache_t;


/*
 * allocator for everything compile and render produce; memory is never
 * freed individually (the caller frees it all at once)
 */
typedef void *(*ngx_http_wapress_mustache_alloc_pt)(void *data, size_t size);

/*
 * partial loader, called at compile time only: on success returns 0 and
 * sets *text and *len to the partial's source (it must stay valid until
 * compile returns); returns -1 if there is no such partial (it then
 * renders empty; the loader itself logs a warning).  Called at most once
 * per distinct name and compile.
 */
typedef int (*ngx_http_wapress_mustache_partial_pt)(void *data,
    const char *name, size_t name_len, const char **text, size_t *len);


typedef struct {
    ngx_http_wapress_mustache_alloc_pt     alloc;
    void                                  *alloc_data;
    ngx_http_wapress_mustache_partial_pt   partial;      /* NULL: none */
    void                                  *partial_data;

    /* out, on failure: */
    char                                  *err;          /* caller's */
    size_t                                 err_size;
    unsigned                               err_line;     /* 1-based */
    const char                            *err_partial;  /* NULL: main */
} ngx_http_wapress_mustache_compile_t;


typedef struct {
    unsigned char                         *start;
    unsigned char                         *pos;          /* write position */
    unsigned char                         *end;
    ngx_http_wapress_mustache_alloc_pt     alloc;        /* for growth */
    void                                  *alloc_data;
    size_t                                 max;          /* 0: no limit */
} ngx_http_wapress_mustache_out_t;


/*
 * Returns NULL on a syntax error (cc->err, err_line and err_partial say
 * what and where) or on allocation failure ("out of memory").  The
 * template text is copied; it need not outlive the call.
 */
ngx_http_wapress_mustache_t *ngx_http_wapress_mustache_compile(
    ngx_http_wapress_mustache_compile_t *cc, const char *text, size_t len);

/*
 * Appends the rendering to out (growing it through out->alloc by
 * doubling: a new block, a copy, the old block abandoned).  Returns
 * NGX_HTTP_WAPRESS_MUSTACHE_OK, _NOMEM, _TOO_DEEP, _TOO_LONG (more than
 * MAX_VISITS nodes and section repetitions) or _TOO_LARGE (the output
 * would pass out->max bytes: rendering stops there, so a small value
 * repeated by nested sections cannot build a huge intermediate); on
 * failure the output written so far is incomplete and should be
 * discarded.
 */
int ngx_http_wapress_mustache_render(const ngx_http_wapress_mustache_t *tpl,
    json_t *root, ngx_http_wapress_mustache_out_t *out);


#endif /* _NGX_HTTP_WAPRESS_MUSTACHE_H_INCLUDED_ */
