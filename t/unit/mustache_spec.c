
/*
 * t/unit/mustache_spec.c: runs the official Mustache spec vectors
 * (comments, delimiters, interpolation, inverted, partials, sections)
 * against ngx_http_wapress_mustache.c and prints TAP.
 *
 * usage: mustache_spec DIR   (DIR holds the spec's *.json files)
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ngx_http_wapress_mustache.h>


typedef struct ngx_http_wapress_mustache_test_block_s
    ngx_http_wapress_mustache_test_block_t;

struct ngx_http_wapress_mustache_test_block_s {
    ngx_http_wapress_mustache_test_block_t  *next;
    union {
        long double                          ld;
        long long                            ll;
        void                                *p;
    } align;
};


static void *ngx_http_wapress_mustache_test_alloc(void *data, size_t size);
static void ngx_http_wapress_mustache_test_free(
    ngx_http_wapress_mustache_test_block_t **blocks);
static int ngx_http_wapress_mustache_test_partial(void *data,
    const char *name, size_t name_len, const char **text, size_t *len);
static int ngx_http_wapress_mustache_test_run(json_t *test, char *diag,
    size_t diag_size);
static void ngx_http_wapress_mustache_test_quote(const char *s, size_t n);


static const char  *ngx_http_wapress_mustache_test_files[] = {
    "comments", "delimiters", "interpolation", "inverted", "partials",
    "sections"
};

#define NFILES  (sizeof(ngx_http_wapress_mustache_test_files)                \
                 / sizeof(ngx_http_wapress_mustache_test_files[0]))


int
main(int argc, char **argv)
{
    int           failed, rc;
    char          path[4096], diag[512];
    size_t        f, i, n, total;
    json_t       *spec[NFILES], *tests, *test;
    const char   *name;
    json_error_t  jerr;

    if (argc != 2) {
        printf("Bail out! usage: %s SPEC_DIR\n", argv[0]);
        return 2;
    }

    total = 0;

    for (f = 0; f < NFILES; f++) {
        snprintf(path, sizeof(path), "%s/%s.json", argv[1],
                 ngx_http_wapress_mustache_test_files[f]);

        spec[f] = json_load_file(path, 0, &jerr);
        if (spec[f] == NULL) {
            printf("Bail out! %s: %s (line %d)\n", path, jerr.text,
                   jerr.line);
            return 2;
        }

        tests = json_object_get(spec[f], "tests");
        if (!json_is_array(tests)) {
            printf("Bail out! %s: no \"tests\" array\n", path);
            return 2;
        }

        total += json_array_size(tests);
    }

    printf("1..%zu\n", total);

    failed = 0;
    n = 0;

    for (f = 0; f < NFILES; f++) {
        tests = json_object_get(spec[f], "tests");

        for (i = 0; i < json_array_size(tests); i++) {
            test = json_array_get(tests, i);
            name = json_string_value(json_object_get(test, "name"));

            diag[0] = '\0';
            rc = ngx_http_wapress_mustache_test_run(test, diag, sizeof(diag));

            printf("%sok %zu - %s: %s\n", rc == 0 ? "" : "not ", ++n,
                   ngx_http_wapress_mustache_test_files[f],
                   name ? name : "?");

            if (rc != 0) {
                failed++;
                if (diag[0]) {
                    printf("# %s\n", diag);
                }
            }
        }

        json_decref(spec[f]);
    }

    if (failed) {
        printf("# failed %d of %zu\n", failed, n);
    }

    return failed ? 1 : 0;
}


/* 0: passed */

static int
ngx_http_wapress_mustache_test_run(json_t *test, char *diag, size_t diag_size)
{
    int                                      rc;
    char                                     err[256];
    size_t                                   got_len, exp_len;
    json_t                                  *data, *partials, *expected;
    const char                              *text, *exp;
    ngx_http_wapress_mustache_t             *tpl;
    ngx_http_wapress_mustache_out_t          out;
    ngx_http_wapress_mustache_compile_t      cc;
    ngx_http_wapress_mustache_test_block_t  *blocks;

    text = json_string_value(json_object_get(test, "template"));
    data = json_object_get(test, "data");
    partials = json_object_get(test, "partials");
    expected = json_object_get(test, "expected");

    if (text == NULL || data == NULL || !json_is_string(expected)) {
        snprintf(diag, diag_size, "malformed test");
        return -1;
    }

    blocks = NULL;

    memset(&cc, 0, sizeof(cc));
    cc.alloc = ngx_http_wapress_mustache_test_alloc;
    cc.alloc_data = &blocks;
    cc.partial = ngx_http_wapress_mustache_test_partial;
    cc.partial_data = partials;
    cc.err = err;
    cc.err_size = sizeof(err);

    tpl = ngx_http_wapress_mustache_compile(&cc, text,
                              json_string_length(json_object_get(test,
                                                                 "template")));
    if (tpl == NULL) {
        snprintf(diag, diag_size, "compile error: %s at %s line %u", err,
                 cc.err_partial ? cc.err_partial : "template", cc.err_line);
        ngx_http_wapress_mustache_test_free(&blocks);
        return -1;
    }

    memset(&out, 0, sizeof(out));
    out.alloc = ngx_http_wapress_mustache_test_alloc;
    out.alloc_data = &blocks;

    rc = ngx_http_wapress_mustache_render(tpl, data, &out);
    if (rc != NGX_HTTP_WAPRESS_MUSTACHE_OK) {
        snprintf(diag, diag_size, "render failed: %d", rc);
        ngx_http_wapress_mustache_test_free(&blocks);
        return -1;
    }

    got_len = out.pos - out.start;
    exp = json_string_value(expected);
    exp_len = json_string_length(expected);

    rc = (got_len == exp_len && memcmp(out.start, exp, exp_len) == 0) ? 0 : -1;

    if (rc != 0) {
        printf("#      got: ");
        ngx_http_wapress_mustache_test_quote((char *) out.start, got_len);
        printf("\n# expected: ");
        ngx_http_wapress_mustache_test_quote(exp, exp_len);
        printf("\n");
    }

    ngx_http_wapress_mustache_test_free(&blocks);

    return rc;
}


static int
ngx_http_wapress_mustache_test_partial(void *data, const char *name,
    size_t name_len, const char **text, size_t *len)
{
    json_t  *v;

    if (data == NULL) {
        return -1;
    }

    v = json_object_getn(data, name, name_len);
    if (!json_is_string(v)) {
        return -1;
    }

    *text = json_string_value(v);
    *len = json_string_length(v);

    return 0;
}


static void
ngx_http_wapress_mustache_test_quote(const char *s, size_t n)
{
    size_t  i;

    putchar('"');

    for (i = 0; i < n; i++) {
        switch (s[i]) {

        case '\n':
            fputs("\\n", stdout);
            break;

        case '\r':
            fputs("\\r", stdout);
            break;

        case '\t':
            fputs("\\t", stdout);
            break;

        case '"':
        case '\\':
            putchar('\\');
            putchar(s[i]);
            break;

        default:
            putchar(s[i]);
        }
    }

    putchar('"');
}


/* every block is kept on a list and freed at the end of the test */

static void *
ngx_http_wapress_mustache_test_alloc(void *data, size_t size)
{
    ngx_http_wapress_mustache_test_block_t  **blocks, *b;

    blocks = data;

    b = malloc(sizeof(*b) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = *blocks;
    *blocks = b;

    return &b->align;
}


static void
ngx_http_wapress_mustache_test_free(
    ngx_http_wapress_mustache_test_block_t **blocks)
{
    ngx_http_wapress_mustache_test_block_t  *b, *next;

    for (b = *blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    *blocks = NULL;
}
