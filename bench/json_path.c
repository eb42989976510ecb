
/*
 * bench/json_path.c: the JSON path of a page, without nginx or Redis, for
 * callgrind (docs/performance.md): renders the seed page's json and text
 * fragments ITERATIONS times the way ngx_http_wapress_fragment_render()
 * does with the render memo cold (every value as if new): decode into
 * jansson values (ngx_http_wapress_json.c, as the module does; with
 * JSON_PATH_JANSSON=1 in the environment, json_loadb() and malloc() as
 * the module did before), render with the compiled template into an
 * output of the value's length + 512 that grows, free (the values all at
 * once: ngx_http_wapress_json_end()).
 *
 *   cc -O2 -g -Ingx_wapress_module bench/json_path.c \
 *       ngx_wapress_module/ngx_http_wapress_mustache.c \
 *       ngx_wapress_module/ngx_http_wapress_json.c \
 *       ngx_wapress_module/ngx_http_wapress_json_arena.c -ljansson \
 *       -o build/json_path
 *   valgrind --tool=callgrind build/json_path examples/seed-page 0
 *   valgrind --tool=callgrind build/json_path examples/seed-page 1000
 *
 * The difference of the two totals over 1000 is the instructions of the
 * JSON path per page.  It prints the rendered bytes per page as a check.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_wapress_mustache.h"
#include "ngx_http_wapress_json.h"
#include "ngx_http_wapress_json_arena.h"


typedef struct {
    const char                      *key;
    const char                      *template;
    int                              json;
    char                            *value;
    size_t                           len;
    ngx_http_wapress_mustache_t     *tpl;
} ngx_http_wapress_bench_frag_t;


static char *ngx_http_wapress_bench_read(const char *dir, const char *file,
    size_t *len);
static void *ngx_http_wapress_bench_alloc(void *data, size_t size);


static ngx_http_wapress_bench_frag_t  ngx_http_wapress_bench_frags[] = {
    { "comments:niger-junta-revokes-eu-security-agreements",
      "comments.mustache", 1, NULL, 0, NULL },
    { "related:niger-junta-revokes-eu-security-agreements",
      "related.mustache", 1, NULL, 0, NULL },
    { "features:home", "features.mustache", 1, NULL, 0, NULL },
    { "history:today", "history.mustache", 0, NULL, 0, NULL },
    { "rates:USD", "rates.mustache", 1, NULL, 0, NULL },
    { NULL, NULL, 0, NULL, 0, NULL }
};


int
main(int argc, char **argv)
{
    int                                   rc, jansson;
    char                                  path[4096], *text;
    long                                  n, i;
    size_t                                len, total;
    json_t                               *root;
    json_error_t                          jerr;
    ngx_http_wapress_bench_frag_t        *f;
    ngx_http_wapress_mustache_out_t       out;
    ngx_http_wapress_mustache_compile_t   cc;

    if (argc != 3) {
        fprintf(stderr, "usage: json_path SEED-PAGE-DIR ITERATIONS\n");
        return 2;
    }

    n = atol(argv[2]);
    jansson = (getenv("JSON_PATH_JANSSON") != NULL);

    for (f = ngx_http_wapress_bench_frags; f->key; f++) {
        snprintf(path, sizeof(path), "redis/%s", f->key);
        f->value = ngx_http_wapress_bench_read(argv[1], path, &f->len);

        snprintf(path, sizeof(path), "templates/%s", f->template);
        text = ngx_http_wapress_bench_read(argv[1], path, &len);

        memset(&cc, 0, sizeof(cc));
        cc.alloc = ngx_http_wapress_bench_alloc;
        f->tpl = ngx_http_wapress_mustache_compile(&cc, text, len);

        if (f->value == NULL || f->tpl == NULL) {
            fprintf(stderr, "json_path: cannot load %s\n", f->key);
            return 1;
        }
    }

    total = 0;

    for (i = 0; i < n; i++) {
        for (f = ngx_http_wapress_bench_frags; f->key; f++) {

            if (!jansson) {
                ngx_http_wapress_json_begin();
            }

            if (f->json && jansson) {
                root = json_loadb(f->value, f->len, JSON_DECODE_ANY, &jerr);

            } else if (f->json) {
                root = ngx_http_wapress_json_load(f->value, f->len, &jerr);

            } else {
                root = json_stringn_nocheck(f->value, f->len);
            }

            if (root == NULL) {
                fprintf(stderr, "json_path: %s: %s\n", f->key, jerr.text);
                return 1;
            }

            len = f->len + 512;

            out.start = malloc(len);
            out.pos = out.start;
            out.end = out.start + len;
            out.alloc = ngx_http_wapress_bench_alloc;
            out.alloc_data = NULL;
            out.max = 1024 * 1024;

            rc = ngx_http_wapress_mustache_render(f->tpl, root, &out);

            json_decref(root);

            if (!jansson) {
                ngx_http_wapress_json_end();
            }

            if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
                fprintf(stderr, "json_path: %s: render %d\n", f->key, rc);
                return 1;
            }

            if (i == 0) {
                total += out.pos - out.start;
            }

            /* a grown buffer is leaked, as a pool would keep it */
            free(out.start);
        }
    }

    printf("%ld pages, %zu bytes of rendered fragments per page\n", n,
           total);

    return 0;
}


static char *
ngx_http_wapress_bench_read(const char *dir, const char *file, size_t *len)
{
    FILE  *fp;
    char   path[4096], *buf;
    long   size;

    snprintf(path, sizeof(path), "%s/%s", dir, file);

    fp = fopen(path, "rb");
    if (fp == NULL) {
        return NULL;
    }

    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fseek(fp, 0, SEEK_SET);

    buf = malloc(size + 1);
    if (buf == NULL || fread(buf, 1, size, fp) != (size_t) size) {
        fclose(fp);
        return NULL;
    }

    fclose(fp);

    buf[size] = '\0';
    *len = size;

    return buf;
}


static void *
ngx_http_wapress_bench_alloc(void *data, size_t size)
{
    (void) data;

    return malloc(size);
}
