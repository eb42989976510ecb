
/*
 * fuzz/mustache.c: libFuzzer target for the Mustache compiler and
 * renderer, template and data both fuzzed.
 *
 * Input: TEMPLATE [ NUL DATA [ NUL PARTIALS ] ]: DATA is JSON of any type
 * (the render root; a fixed object when absent or invalid, so that
 * template bytes are never wasted), PARTIALS a JSON object of partial
 * templates by name ("{{>name}}"; a partial not in it renders empty).
 * Each part is copied to a buffer of its own size first, so that ASan
 * sees any read past it.  Compile must either succeed or say why and
 * where; render must return one of its codes, stay within its output,
 * and give the same bytes twice.
 */


#include "fuzz_mustache.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ngx_http_wapress_fuzz_partial(void *data, const char *name,
    size_t name_len, const char **text, size_t *len);
static char *ngx_http_wapress_fuzz_part(const uint8_t **p,
    const uint8_t *last, size_t *len);


/* a root with every kind of value, for inputs that give no data */
static const char  ngx_http_wapress_fuzz_data[] =
    "{\"a\": [1, 2, {\"a\": null, \"b\": \"<&>\"}],"
    " \"b\": {\"c\": {\"d\": 1.5}}, \"s\": \"x'\\\"y\", \"t\": true,"
    " \"f\": false, \"n\": null, \"z\": 0,"
    " \"e\": [], \"o\": {}, \"i\": -9223372036854775808, \"r\": 1e300}";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                                 *tpl_src, *data_src, *part_src;
    char                                  err[128];
    size_t                                tpl_len, data_len, part_len;
    json_t                               *root, *partials;
    const uint8_t                        *p, *last;
    ngx_http_wapress_mustache_t          *tpl;
    ngx_http_wapress_fuzz_pool_t          pool;
    ngx_http_wapress_mustache_compile_t   cc;

    p = data;
    last = data + size;

    tpl_src = ngx_http_wapress_fuzz_part(&p, last, &tpl_len);
    data_src = ngx_http_wapress_fuzz_part(&p, last, &data_len);
    part_src = ngx_http_wapress_fuzz_part(&p, last, &part_len);

    root = NULL;

    if (data_src != NULL) {
        root = json_loadb(data_src, data_len, JSON_DECODE_ANY, NULL);
    }

    if (root == NULL) {
        root = json_loads(ngx_http_wapress_fuzz_data, 0, NULL);
        ngx_http_wapress_fuzz_assert(root != NULL, "the default data");
    }

    partials = NULL;

    if (part_src != NULL) {
        partials = json_loadb(part_src, part_len, 0, NULL);
    }

    pool.blocks = NULL;
    pool.used = 0;

    memset(&cc, 0, sizeof(cc));
    cc.alloc = ngx_http_wapress_fuzz_alloc;
    cc.alloc_data = &pool;
    cc.partial = ngx_http_wapress_fuzz_partial;
    cc.partial_data = partials;
    cc.err = err;
    cc.err_size = sizeof(err);

    tpl = ngx_http_wapress_mustache_compile(&cc, tpl_src, tpl_len);

    if (tpl == NULL) {
        ngx_http_wapress_fuzz_assert(err[0] != '\0' && cc.err_line >= 1,
                                     "compile fails without saying why");

    } else {
        ngx_http_wapress_fuzz_render(&pool, tpl, root, 0, 0);
    }

    ngx_http_wapress_fuzz_pool_free(&pool);

    json_decref(root);
    json_decref(partials);

    free(tpl_src);
    free(data_src);
    free(part_src);

    return 0;
}


/* the partial's source: a string member of PARTIALS */

static int
ngx_http_wapress_fuzz_partial(void *data, const char *name, size_t name_len,
    const char **text, size_t *len)
{
    json_t  *partials = data;

    json_t  *v;

    ngx_http_wapress_fuzz_assert(strlen(name) == name_len,
                                 "the partial name is not NUL-terminated");

    if (partials == NULL) {
        return -1;
    }

    v = json_object_getn(partials, name, name_len);

    if (!json_is_string(v)) {
        return -1;
    }

    *text = json_string_value(v);
    *len = json_string_length(v);

    return 0;
}


/* the next NUL-separated part, in a malloc()ed copy of its exact size */

static char *
ngx_http_wapress_fuzz_part(const uint8_t **p, const uint8_t *last,
    size_t *len)
{
    char           *copy;
    const uint8_t  *start, *nul;

    start = *p;

    if (start == NULL) {
        *len = 0;
        return NULL;
    }

    nul = memchr(start, '\0', last - start);

    *len = (nul != NULL) ? (size_t) (nul - start) : (size_t) (last - start);
    *p = (nul != NULL) ? nul + 1 : NULL;

    copy = malloc(*len ? *len : 1);
    ngx_http_wapress_fuzz_assert(copy != NULL, "out of memory");

    if (*len) {
        memcpy(copy, start, *len);
    }

    return copy;
}
