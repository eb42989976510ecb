
/*
 * fuzz/json_fragment.c: libFuzzer target for the path a Redis value takes
 * through a json or text fragment, in plain C: it does what
 * ngx_http_wapress_fragment_render() (ngx_http_wapress_fragment.c) does,
 * without nginx: ngx_http_wapress_json_load() for type=json (checked
 * against jansson's json_loadb(JSON_DECODE_ANY): the same inputs
 * accepted, equal values built), or
 * json_stringn_nocheck() for type=text, then the Mustache render into an
 * output of the value's length + 512 that grows from the allocator, up to
 * a rendering limit (wapress_fragment_max_size; smaller here, so that
 * the fuzzer reaches it).  Keep the two in step when the fragment code
 * changes.
 *
 * Input: one selector byte (bit 0: json or text; the rest: which
 * template), then the value.  The templates are fixed: a few built in
 * that reach every kind of tag (and a recursive partial, for deep data),
 * and the seed page's templates, read from $WAPRESS_FUZZ_TEMPLATES
 * (default examples/seed-page/templates, relative to the repository
 * root) when the target starts.
 */


#include <dirent.h>
#include <errno.h>

#include "fuzz_mustache.h"
#include "ngx_http_wapress_json.c"
#include "ngx_http_wapress_json_arena.c"


#define NGX_HTTP_WAPRESS_FUZZ_TEMPLATES  32

/* the rendering limit, as wapress_fragment_max_size */
#define NGX_HTTP_WAPRESS_FUZZ_MAX_SIZE   (64 * 1024)


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ngx_http_wapress_fuzz_cmp(const void *a, const void *b);
static void ngx_http_wapress_fuzz_add(const char *name, const char *text,
    size_t len);
static int ngx_http_wapress_fuzz_partial(void *data, const char *name,
    size_t name_len, const char **text, size_t *len);


static const char  *ngx_http_wapress_fuzz_builtin[] = {
    "{{.}}|{{{.}}}|{{& .}}|{{#.}}<{{.}}>{{/.}}{{^.}}empty{{/.}}\n",
    "{{#items}}{{name}}: {{#tags}}{{.}}, {{/tags}}{{^tags}}-{{/tags}}\n"
    "{{/items}}{{a.b.c}} {{{html}}} {{count}} {{price}}\n",
    "{{>tree}}",
    "  {{#rows}}\n  {{>cell}}\n  {{/rows}}\n{{! a comment }}"
    "{{=<% %>=}}<%title%> <%{raw}%><%={{ }}=%>{{title}}\n",
    NULL
};


static ngx_http_wapress_mustache_t  *ngx_http_wapress_fuzz_tpl
                                        [NGX_HTTP_WAPRESS_FUZZ_TEMPLATES];
static unsigned                      ngx_http_wapress_fuzz_ntpl;
static ngx_http_wapress_fuzz_pool_t  ngx_http_wapress_fuzz_conf_pool;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE           *f;
    char            path[4096], *text;
    char           *names[NGX_HTTP_WAPRESS_FUZZ_TEMPLATES];
    long            len;
    size_t          n, i, nnames;
    const char     *dir, **b;
    struct dirent  *de;
    DIR            *d;

    (void) argc;
    (void) argv;

    for (b = ngx_http_wapress_fuzz_builtin; *b != NULL; b++) {
        ngx_http_wapress_fuzz_add("builtin", *b, strlen(*b));
    }

    dir = getenv("WAPRESS_FUZZ_TEMPLATES");
    if (dir == NULL) {
        dir = "examples/seed-page/templates";
    }

    d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "json_fragment: cannot open %s: %s (set "
                "WAPRESS_FUZZ_TEMPLATES or run from the repository root)\n",
                dir, strerror(errno));
        exit(1);
    }

    /* sorted, so that a seed's selector byte means the same everywhere */

    nnames = 0;

    while (nnames < NGX_HTTP_WAPRESS_FUZZ_TEMPLATES
           && (de = readdir(d)) != NULL)
    {
        n = strlen(de->d_name);

        if (n < 9 || strcmp(de->d_name + n - 9, ".mustache") != 0) {
            continue;
        }

        names[nnames] = strdup(de->d_name);
        ngx_http_wapress_fuzz_assert(names[nnames] != NULL, "out of memory");
        nnames++;
    }

    closedir(d);

    qsort(names, nnames, sizeof(char *), ngx_http_wapress_fuzz_cmp);

    for (i = 0; i < nnames; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        free(names[i]);

        f = fopen(path, "rb");
        if (f == NULL || fseek(f, 0, SEEK_END) != 0
            || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        {
            fprintf(stderr, "json_fragment: cannot read %s\n", path);
            exit(1);
        }

        text = malloc(len + 1);
        if (text == NULL || fread(text, 1, len, f) != (size_t) len) {
            fprintf(stderr, "json_fragment: cannot read %s\n", path);
            exit(1);
        }

        fclose(f);

        ngx_http_wapress_fuzz_add(path, text, len);
        free(text);
    }

    return 0;
}


static int
ngx_http_wapress_fuzz_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static void
ngx_http_wapress_fuzz_add(const char *name, const char *text, size_t len)
{
    char                                  err[128];
    ngx_http_wapress_mustache_t          *tpl;
    ngx_http_wapress_mustache_compile_t   cc;

    if (ngx_http_wapress_fuzz_ntpl == NGX_HTTP_WAPRESS_FUZZ_TEMPLATES) {
        return;
    }

    memset(&cc, 0, sizeof(cc));
    cc.alloc = ngx_http_wapress_fuzz_alloc;
    cc.alloc_data = &ngx_http_wapress_fuzz_conf_pool;
    cc.partial = ngx_http_wapress_fuzz_partial;
    cc.err = err;
    cc.err_size = sizeof(err);

    tpl = ngx_http_wapress_mustache_compile(&cc, text, len);

    if (tpl == NULL) {
        fprintf(stderr, "json_fragment: %s, line %u: %s\n", name,
                cc.err_line, err);
        exit(1);
    }

    ngx_http_wapress_fuzz_tpl[ngx_http_wapress_fuzz_ntpl++] = tpl;
}


/* the built-in templates' partials */

static int
ngx_http_wapress_fuzz_partial(void *data, const char *name, size_t name_len,
    const char **text, size_t *len)
{
    (void) data;

    if (name_len == 4 && memcmp(name, "tree", 4) == 0) {
        *text = "[{{name}}{{#kids}}{{>tree}}{{/kids}}]";

    } else if (name_len == 4 && memcmp(name, "cell", 4) == 0) {
        *text = "{{#.}}\n<td>{{.}}</td>\n{{/.}}\n";

    } else {
        return -1;
    }

    *len = strlen(*text);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                            rc, rc2;
    char                          *value;
    size_t                         len, initial;
    json_t                        *root, *ref;
    json_error_t                   jerr, rerr;
    ngx_http_wapress_mustache_t   *tpl;
    ngx_http_wapress_fuzz_pool_t   pool;

    if (size < 1) {
        return 0;
    }

    tpl = ngx_http_wapress_fuzz_tpl[(data[0] >> 1)
                                    % ngx_http_wapress_fuzz_ntpl];

    /* the value in a buffer of its own size, like a Redis reply */

    len = size - 1;
    value = malloc(len ? len : 1);
    ngx_http_wapress_fuzz_assert(value != NULL, "out of memory");

    if (len) {
        memcpy(value, data + 1, len);
    }

    if (data[0] & 1) {
        root = json_stringn_nocheck(value, len);
        ngx_http_wapress_fuzz_assert(root != NULL, "json_stringn_nocheck");

    } else {
        root = ngx_http_wapress_json_load(value, len, &jerr);

        /* what jansson's own parser makes of it: the same */

        ref = json_loadb(value, len, JSON_DECODE_ANY, &rerr);

        /*
         * one difference is known: jansson's lexer loses a NUL byte that
         * directly follows a number or a literal ("8\0" is accepted: its
         * unget leaves the NUL as the end of its character buffer);
         * ngx_http_wapress_json_load() refuses a NUL byte anywhere
         */

        ngx_http_wapress_fuzz_assert((root == NULL) == (ref == NULL)
                                     || (root == NULL
                                         && memchr(value, '\0', len) != NULL),
                                     "json_load: accepts differently from "
                                     "json_loadb");
        ngx_http_wapress_fuzz_assert(root == NULL || json_equal(root, ref),
                                     "json_load: a value unlike "
                                     "json_loadb's");
        json_decref(ref);

        if (root == NULL) {
            /* the fragment's log line uses these */
            ngx_http_wapress_fuzz_assert(
                jerr.text[0] != '\0'
                && memchr(jerr.text, '\0', sizeof(jerr.text)) != NULL,
                "json_load: no error text, or not terminated");
            free(value);
            return 0;
        }
    }

    pool.blocks = NULL;
    pool.used = 0;

    /* as the fragment: an output of min(length + 512, the limit) */

    initial = (len + 512 < NGX_HTTP_WAPRESS_FUZZ_MAX_SIZE)
              ? len + 512 : NGX_HTTP_WAPRESS_FUZZ_MAX_SIZE;

    rc = ngx_http_wapress_fuzz_render(&pool, tpl, root, initial,
                                      NGX_HTTP_WAPRESS_FUZZ_MAX_SIZE);

    ngx_http_wapress_fuzz_pool_free(&pool);
    json_decref(root);

    /*
     * again as the module does it, the values in _json.c's arena (above,
     * with malloc(), so that the sanitizers see each one)
     */

    ngx_http_wapress_json_begin();

    root = (data[0] & 1) ? json_stringn_nocheck(value, len)
                         : ngx_http_wapress_json_load(value, len, &jerr);
    ngx_http_wapress_fuzz_assert(root != NULL, "json_load: in the arena, "
                                 "not as with malloc()");

    rc2 = ngx_http_wapress_fuzz_render(&pool, tpl, root, initial,
                                       NGX_HTTP_WAPRESS_FUZZ_MAX_SIZE);
    ngx_http_wapress_fuzz_assert(rc2 == rc, "render: in the arena, not as "
                                 "with malloc()");

    ngx_http_wapress_fuzz_pool_free(&pool);
    json_decref(root);

    ngx_http_wapress_json_end();

    free(value);

    return 0;
}
