
/*
 * ngx_http_wapress_json_arena.c: jansson allocates every object, hash
 * table, key and string of a value with malloc() and frees them one by
 * one: a tenth of a memo-cold page.  Around one decoding and rendering
 * its allocator hooks point here instead: a bump allocator over chunks
 * of 64 KB, whose free() does nothing, and end() takes everything back
 * at once and puts the previous hooks back (they are process-wide, and
 * another module may use jansson).  Plain C99 + jansson, no nginx
 * headers.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ngx_http_wapress_json_arena.h"


#define NGX_HTTP_WAPRESS_JSON_CHUNK  (64 * 1024)


/* the arena's chunks: most recent first */
typedef struct ngx_http_wapress_json_chunk_s  ngx_http_wapress_json_chunk_t;

struct ngx_http_wapress_json_chunk_s {
    ngx_http_wapress_json_chunk_t  *next;
    size_t                          size;     /* of the data */
    size_t                          used;
    double                          align[1]; /* the data, aligned */
};


static void *ngx_http_wapress_json_alloc(size_t size);
static void ngx_http_wapress_json_free(void *p);


/* the process's: the arena and the allocator it stands in for */
static ngx_http_wapress_json_chunk_t  *ngx_http_wapress_json_arena;
static json_malloc_t                   ngx_http_wapress_json_saved_malloc;
static json_free_t                     ngx_http_wapress_json_saved_free;

void
ngx_http_wapress_json_begin(void)
{
    json_get_alloc_funcs(&ngx_http_wapress_json_saved_malloc,
                         &ngx_http_wapress_json_saved_free);
    json_set_alloc_funcs(ngx_http_wapress_json_alloc,
                         ngx_http_wapress_json_free);
}


void
ngx_http_wapress_json_end(void)
{
    ngx_http_wapress_json_chunk_t  *c;

    json_set_alloc_funcs(ngx_http_wapress_json_saved_malloc,
                         ngx_http_wapress_json_saved_free);

    /* the first chunk (the last on the list) stays, if of the usual size */

    while ((c = ngx_http_wapress_json_arena) != NULL) {
        if (c->next == NULL && c->size == NGX_HTTP_WAPRESS_JSON_CHUNK) {
            c->used = 0;
            break;
        }

        ngx_http_wapress_json_arena = c->next;
        free(c);
    }
}


static void *
ngx_http_wapress_json_alloc(size_t size)
{
    size_t                          n;
    unsigned char                  *p;
    ngx_http_wapress_json_chunk_t  *c;

    size = (size + 15) & ~(size_t) 15;
    c = ngx_http_wapress_json_arena;

    if (c == NULL || c->size - c->used < size) {
        n = (size > NGX_HTTP_WAPRESS_JSON_CHUNK) ? size
                                                 : NGX_HTTP_WAPRESS_JSON_CHUNK;

        c = malloc(offsetof(ngx_http_wapress_json_chunk_t, align) + n + 16);
        if (c == NULL) {
            return NULL;
        }

        c->size = n;
        c->used = 0;

        /* the first chunk ever stays last on the list: end() keeps it */

        c->next = ngx_http_wapress_json_arena;
        ngx_http_wapress_json_arena = c;
    }

    p = (unsigned char *) c->align;
    p += (16 - ((uintptr_t) p & 15)) & 15;
    p += c->used;

    c->used += size;

    return p;
}


static void
ngx_http_wapress_json_free(void *p)
{
    /* all at once, in ngx_http_wapress_json_end() */

    (void) p;
}
