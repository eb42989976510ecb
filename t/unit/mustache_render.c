
/*
 * t/unit/mustache_render.c: what the Mustache spec does not pin down for
 * ngx_http_wapress_mustache.c: exact escaping, value formatting, bare
 * root values, compile error positions, depth limits, output growth,
 * allocation failures, and the seed page's fragment templates.  TAP.
 *
 * usage: mustache_render SEED_DIR   (e.g. examples/seed-page)
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ngx_http_wapress_mustache.h>
#include <ngx_http_wapress_json.h>
#include <ngx_http_wapress_json_arena.h>


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


typedef struct {
    int                                      rc;
    size_t                                   len;
    const char                              *data;
    ngx_http_wapress_mustache_t             *tpl;
    ngx_http_wapress_mustache_compile_t      cc;
    char                                     err[256];
} ngx_http_wapress_mustache_test_t;


static void *ngx_http_wapress_mustache_test_alloc(void *data, size_t size);
static void *ngx_http_wapress_mustache_test_fail(void *data, size_t size);
static int ngx_http_wapress_mustache_test_partial(void *data,
    const char *name, size_t name_len, const char **text, size_t *len);
static json_t *ngx_http_wapress_mustache_test_json(const char *text);
static int ngx_http_wapress_mustache_test_render(
    ngx_http_wapress_mustache_test_t *t, const char *tpl, json_t *root,
    json_t *partials);
static void ngx_http_wapress_mustache_test_is(const char *tpl,
    const char *json, const char *expected);
static void ngx_http_wapress_mustache_test_error(const char *what,
    const char *tpl, const char *partials, const char *err, unsigned line,
    const char *partial);
static void ngx_http_wapress_mustache_test_deep(void);
static void ngx_http_wapress_mustache_test_work(void);
static void ngx_http_wapress_mustache_test_growth(void);
static void ngx_http_wapress_mustache_test_nomem(void);
static void ngx_http_wapress_mustache_test_limit(void);
static void ngx_http_wapress_mustache_test_decode(void);
static void ngx_http_wapress_mustache_test_arena(void);
static void ngx_http_wapress_mustache_test_same(const char *desc,
    const char *text, size_t len);
static void *ngx_http_wapress_mustache_test_count(void *data, size_t size);
static void ngx_http_wapress_mustache_test_loader(void);
static void ngx_http_wapress_mustache_test_seed(const char *dir);
static char *ngx_http_wapress_mustache_test_read(const char *dir,
    const char *file, size_t *len);
static const char *ngx_http_wapress_mustache_test_find(const char *hay,
    size_t hay_len, const char *needle, size_t len);
static int ngx_http_wapress_mustache_test_ok(int ok, const char *fmt, ...);


static unsigned                                 ngx_http_wapress_test_n;
static unsigned                                 ngx_http_wapress_test_failed;
static unsigned                                 ngx_http_wapress_test_loads;
static ngx_http_wapress_mustache_test_block_t  *ngx_http_wapress_test_blocks;


int
main(int argc, char **argv)
{
    ngx_http_wapress_mustache_test_block_t  *b, *next;

    if (argc != 2) {
        printf("Bail out! usage: %s SEED_PAGE_DIR\n", argv[0]);
        return 2;
    }

    /* escaping: exactly & < > " ' */

    ngx_http_wapress_mustache_test_is("{{s}}",
        "{\"s\": \"&<>\\\"'\"}", "&amp;&lt;&gt;&quot;&#39;");
    ngx_http_wapress_mustache_test_is("{{s}}",
        "{\"s\": \"a/b`c=d\\\\e&f\"}", "a/b`c=d\\e&amp;f");
    ngx_http_wapress_mustache_test_is("{{{s}}}|{{&s}}",
        "{\"s\": \"&<>\\\"'\"}", "&<>\"'|&<>\"'");
    ngx_http_wapress_mustache_test_is("{{s}}",
        "{\"s\": \"\\u2019\\u20a6\\u00a0\\u00e9 \\ud83d\\ude00<\"}",
        "\xe2\x80\x99\xe2\x82\xa6\xc2\xa0\xc3\xa9 \xf0\x9f\x98\x80&lt;");
    ngx_http_wapress_mustache_test_is("{{s}}", "{\"s\": \"\"}", "");

    /* values */

    ngx_http_wapress_mustache_test_is("{{a}} {{b}} {{c}} {{d}}",
        "{\"a\": 0, \"b\": -42, \"c\": 9223372036854775807,"
        " \"d\": -9223372036854775808}",
        "0 -42 9223372036854775807 -9223372036854775808");
    ngx_http_wapress_mustache_test_is("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}",
        "{\"a\": 1.21, \"b\": 0.1, \"c\": 0.3333333333333333,"
        " \"d\": 100.0, \"e\": -2.5, \"f\": 1e21}",
        "1.21 0.1 0.3333333333333333 100 -2.5 1e+21");
    ngx_http_wapress_mustache_test_is("{{t}} {{f}} [{{n}}] [{{m}}]",
        "{\"t\": true, \"f\": false, \"n\": null}", "true false [] []");
    ngx_http_wapress_mustache_test_is("[{{o}}] [{{a}}] [{{{o}}}]",
        "{\"o\": {\"x\": 1}, \"a\": [1, 2]}", "[] [] []");
    ngx_http_wapress_mustache_test_is(
        "{{#z}}z{{/z}}{{#e}}e{{/e}}{{#o}}o{{/o}}{{^a}}!a{{/a}}"
        "{{^n}}!n{{/n}}{{^f}}!f{{/f}}{{^m}}!m{{/m}}",
        "{\"z\": 0, \"e\": \"\", \"o\": {}, \"a\": [], \"n\": null,"
        " \"f\": false}", "zeo!a!n!f!m");

    /* bare root values */

    ngx_http_wapress_mustache_test_is(
        "<span data-count=\"{{.}}\">{{.}} Comments</span>\n", "0",
        "<span data-count=\"0\">0 Comments</span>\n");
    ngx_http_wapress_mustache_test_is("<p>{{.}}</p>",
        "\"It's <b>\"", "<p>It&#39;s &lt;b&gt;</p>");
    ngx_http_wapress_mustache_test_is("{{#.}}[{{.}}]{{/.}}{{^.}}none{{/.}}",
        "[1, \"a\", true]", "[1][a][true]");
    ngx_http_wapress_mustache_test_is("{{#.}}[{{.}}]{{/.}}{{^.}}none{{/.}}",
        "[]", "none");
    ngx_http_wapress_mustache_test_is("{{#.}}{{x}}{{/.}}",
        "[{\"x\": 1}, {\"x\": 2}]", "12");

    /* compile errors and their positions */

    ngx_http_wapress_mustache_test_error("unclosed section",
        "a\nb\n{{#rates}}\n{{x}}\n", NULL, "unclosed section \"rates\"",
        3, NULL);
    ngx_http_wapress_mustache_test_error("stray closing tag",
        "a\n\n{{/x}}\n", NULL, "unexpected closing tag \"x\"", 3, NULL);
    ngx_http_wapress_mustache_test_error("mismatched closing tag",
        "{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}", NULL,
        "unexpected closing tag \"a\"", 3, NULL);
    ngx_http_wapress_mustache_test_error("unclosed tag at EOF",
        "a\nb\nc {{x", NULL, "unclosed tag", 3, NULL);
    ngx_http_wapress_mustache_test_error("unclosed triple mustache",
        "{{{x}}\n", NULL, "unclosed tag", 1, NULL);
    ngx_http_wapress_mustache_test_error("invalid delimiters",
        "x\n{{=<% =}}\n", NULL, "invalid delimiters", 2, NULL);
    ngx_http_wapress_mustache_test_error("empty tag", "{{ }}", NULL,
        "empty tag", 1, NULL);
    ngx_http_wapress_mustache_test_error("bad name", "\n{{a..b}}", NULL,
        "invalid tag name \"a..b\"", 2, NULL);
    ngx_http_wapress_mustache_test_error("error inside a partial",
        "x\n{{>p}}\n", "{\"p\": \"1\\n2\\n{{#a}}\\n\"}",
        "unclosed section \"a\"", 3, "p");
    ngx_http_wapress_mustache_test_error("error inside a nested partial",
        "{{>p}}", "{\"p\": \"  {{>q}}\\n\", \"q\": \"\\n\\n\\n{{/x}}\"}",
        "unexpected closing tag \"x\"", 4, "q");
    ngx_http_wapress_mustache_test_error("exponential partial copies",
        "{{>a}}", "{\"a\": \"\\t{{>a}}\\n {{>a}}\\n\"}",
        "too many partial copies", 1, "a");

    ngx_http_wapress_mustache_test_deep();
    ngx_http_wapress_mustache_test_work();
    ngx_http_wapress_mustache_test_growth();
    ngx_http_wapress_mustache_test_nomem();
    ngx_http_wapress_mustache_test_limit();
    ngx_http_wapress_mustache_test_decode();
    ngx_http_wapress_mustache_test_loader();
    ngx_http_wapress_mustache_test_seed(argv[1]);

    printf("1..%u\n", ngx_http_wapress_test_n);

    for (b = ngx_http_wapress_test_blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    return ngx_http_wapress_test_failed ? 1 : 0;
}


static void
ngx_http_wapress_mustache_test_deep(void)
{
    int                                i;
    char                               tpl[1024];
    json_t                            *root, *partials;
    ngx_http_wapress_mustache_test_t   t;

    /* 64 nested sections compile and render, 65 do not compile */

    tpl[0] = '\0';

    for (i = 0; i < 64; i++) {
        strcat(tpl, "{{#a}}");
    }

    strcat(tpl, "x");

    for (i = 0; i < 64; i++) {
        strcat(tpl, "{{/a}}");
    }

    root = ngx_http_wapress_mustache_test_json("{\"a\": true}");

    ngx_http_wapress_mustache_test_render(&t, tpl, root, NULL);
    ngx_http_wapress_mustache_test_ok(t.rc == NGX_HTTP_WAPRESS_MUSTACHE_OK
                                      && t.len == 1 && t.data[0] == 'x',
                                      "64 nested sections render");

    memmove(tpl + 6, tpl, strlen(tpl) + 1);
    memcpy(tpl, "{{#a}}", 6);
    strcat(tpl, "{{/a}}");

    ngx_http_wapress_mustache_test_render(&t, tpl, root, NULL);
    ngx_http_wapress_mustache_test_ok(t.tpl == NULL
        && strcmp(t.err, "sections nested too deeply") == 0
        && t.cc.err_line == 1,
        "65 nested sections: compile error (%s)", t.err);

    /* recursive partials on self-similar data end with TOO_DEEP */

    partials = ngx_http_wapress_mustache_test_json(
        "{\"r\": \"{{#a}}<{{>r}}>{{/a}}\","
        " \"s\": \"{{#a}}{{#a}}{{#a}}{{>s}}{{/a}}{{/a}}{{/a}}\","
        " \"p\": \"x{{>p}}\","
        " \"i\": \"x\\n  {{>i}}\\n\"}");

    ngx_http_wapress_mustache_test_render(&t, "{{>r}}", root, partials);
    ngx_http_wapress_mustache_test_ok(
        t.rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP,
        "recursive partial in a section: TOO_DEEP (%d)", t.rc);

    ngx_http_wapress_mustache_test_render(&t, "{{>s}}", root, partials);
    ngx_http_wapress_mustache_test_ok(
        t.rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP,
        "recursive partial, 3 sections a level: TOO_DEEP (%d)", t.rc);

    ngx_http_wapress_mustache_test_render(&t, "{{>p}}", root, partials);
    ngx_http_wapress_mustache_test_ok(
        t.rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP,
        "unconditional recursive partial: TOO_DEEP (%d)", t.rc);

    ngx_http_wapress_mustache_test_render(&t, "{{>i}}", root, partials);
    ngx_http_wapress_mustache_test_ok(
        t.rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_DEEP,
        "recursive partial with growing indentation: TOO_DEEP (%d)", t.rc);

    /* a recursive partial on finite data with growing indentation */

    json_decref(partials);
    json_decref(root);

    partials = ngx_http_wapress_mustache_test_json(
        "{\"n\": \"{{name}}\\n{{#kids}}\\n  {{>n}}\\n{{/kids}}\\n\"}");
    root = ngx_http_wapress_mustache_test_json(
        "{\"name\": \"a\", \"kids\": [{\"name\": \"b\", \"kids\": "
        "[{\"name\": \"c\", \"kids\": []}]},"
        " {\"name\": \"d\", \"kids\": []}]}");

    ngx_http_wapress_mustache_test_render(&t, "{{>n}}", root, partials);
    ngx_http_wapress_mustache_test_ok(t.rc == NGX_HTTP_WAPRESS_MUSTACHE_OK
        && t.len == strlen("a\n  b\n    c\n  d\n")
        && memcmp(t.data, "a\n  b\n    c\n  d\n", t.len) == 0,
        "recursive partial with indentation on finite data");

    json_decref(partials);
    json_decref(root);
}


/* from a preset 1-byte buffer to over 200 KB */

/*
 * a name a section does not find in an element is looked up in the
 * enclosing contexts, so the data alone can repeat a nested section:
 * the render stops after MAX_VISITS nodes and repetitions
 */

static void
ngx_http_wapress_mustache_test_work(void)
{
    size_t                             i;
    json_t                            *a, *root;
    ngx_http_wapress_mustache_test_t   t;

    a = json_array();

    for (i = 0; i < 3000; i++) {
        json_array_append_new(a, json_integer(1));
    }

    root = json_pack("{sOsO}", "comments", a, "tags", a);

    /* 3000 x 3000 repetitions and 3000 more: under the budget */

    ngx_http_wapress_mustache_test_render(&t,
        "{{#comments}}{{#tags}}{{/tags}}{{/comments}}", root, NULL);
    ngx_http_wapress_mustache_test_ok(t.rc == NGX_HTTP_WAPRESS_MUSTACHE_OK,
        "9 million section repetitions render (%d)", t.rc);

    /* a third level: 27 billion, stopped at MAX_VISITS */

    json_object_set(root, "likes", a);

    ngx_http_wapress_mustache_test_render(&t,
        "{{#comments}}{{#tags}}{{#likes}}x{{/likes}}{{/tags}}{{/comments}}",
        root, NULL);
    ngx_http_wapress_mustache_test_ok(
        t.rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_LONG,
        "data that repeats nested sections 3000^3 times: TOO_LONG (%d)",
        t.rc);

    json_decref(a);
    json_decref(root);
}


static void
ngx_http_wapress_mustache_test_growth(void)
{
    int                                  rc;
    char                                 item[101], *exp, *p;
    size_t                               i, len;
    json_t                              *root, *items;
    unsigned char                        one[1];
    ngx_http_wapress_mustache_t         *tpl;
    ngx_http_wapress_mustache_out_t      out;
    ngx_http_wapress_mustache_compile_t  cc;

    for (i = 0; i < 100; i++) {
        item[i] = (char) ('a' + i % 26);
    }

    item[50] = '&';
    item[100] = '\0';

    root = json_object();
    items = json_array();
    json_object_set_new(root, "items", items);

    for (i = 0; i < 2000; i++) {
        json_array_append_new(items, json_pack("{s:s, s:i}", "s", item,
                                               "i", (int) i));
    }

    memset(&cc, 0, sizeof(cc));
    cc.alloc = ngx_http_wapress_mustache_test_alloc;

    tpl = ngx_http_wapress_mustache_compile(&cc,
                                          "{{#items}}{{i}}:{{s}}\n{{/items}}",
                                          32);

    one[0] = 'X';
    out.start = one;
    out.pos = one;
    out.end = one + 1;
    out.alloc = ngx_http_wapress_mustache_test_alloc;
    out.alloc_data = NULL;
    out.max = 0;

    rc = tpl ? ngx_http_wapress_mustache_render(tpl, root, &out) : -100;

    exp = malloc(2000 * 120);
    p = exp;

    for (i = 0; i < 2000; i++) {
        p += sprintf(p, "%u:%.50s&amp;%s\n", (unsigned) i, item,
                     item + 51);
    }

    len = p - exp;

    ngx_http_wapress_mustache_test_ok(rc == NGX_HTTP_WAPRESS_MUSTACHE_OK
        && len > 200 * 1024
        && (size_t) (out.pos - out.start) == len
        && memcmp(out.start, exp, len) == 0
        && out.start != one,
        "growth from a 1-byte buffer to %zu bytes", len);

    free(exp);
    json_decref(root);
}


static void
ngx_http_wapress_mustache_test_nomem(void)
{
    int                                  rc;
    char                                 err[64];
    json_t                              *root;
    ngx_http_wapress_mustache_t         *tpl;
    ngx_http_wapress_mustache_out_t      out;
    ngx_http_wapress_mustache_compile_t  cc;

    memset(&cc, 0, sizeof(cc));
    cc.alloc = ngx_http_wapress_mustache_test_fail;
    cc.err = err;
    cc.err_size = sizeof(err);

    tpl = ngx_http_wapress_mustache_compile(&cc, "{{x}}", 5);
    ngx_http_wapress_mustache_test_ok(tpl == NULL
                                      && strcmp(err, "out of memory") == 0,
                                      "compile: out of memory");

    cc.alloc = ngx_http_wapress_mustache_test_alloc;
    tpl = ngx_http_wapress_mustache_compile(&cc, "{{x}}", 5);

    root = ngx_http_wapress_mustache_test_json("{\"x\": \"y\"}");

    memset(&out, 0, sizeof(out));
    out.alloc = ngx_http_wapress_mustache_test_fail;

    rc = ngx_http_wapress_mustache_render(tpl, root, &out);
    ngx_http_wapress_mustache_test_ok(rc == NGX_HTTP_WAPRESS_MUSTACHE_NOMEM,
                                      "render: NOMEM (%d)", rc);

    json_decref(root);
}


/*
 * out.max bounds the output: a small value repeated by a section stops
 * at the limit, having allocated about the limit, not the whole output
 */

static void
ngx_http_wapress_mustache_test_limit(void)
{
    int                                  rc;
    char                                *s;
    size_t                               i, allocated;
    json_t                              *root, *a;
    ngx_http_wapress_mustache_t         *tpl;
    ngx_http_wapress_mustache_out_t      out;
    ngx_http_wapress_mustache_compile_t  cc;

    s = malloc(10240 + 1);
    memset(s, 's', 10240);
    s[10240] = '\0';

    root = json_object();
    a = json_array();
    json_object_set_new(root, "a", a);
    json_object_set_new(root, "s", json_string(s));

    for (i = 0; i < 1000; i++) {
        json_array_append_new(a, json_integer(1));
    }

    memset(&cc, 0, sizeof(cc));
    cc.alloc = ngx_http_wapress_mustache_test_alloc;

    tpl = ngx_http_wapress_mustache_compile(&cc, "{{#a}}{{{s}}}{{/a}}", 19);

    /* 10 MB of output, limited to 64 KB */

    allocated = 0;
    memset(&out, 0, sizeof(out));
    out.alloc = ngx_http_wapress_mustache_test_count;
    out.alloc_data = &allocated;
    out.max = 65536;

    rc = ngx_http_wapress_mustache_render(tpl, root, &out);

    ngx_http_wapress_mustache_test_ok(
        rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_LARGE
        && (size_t) (out.pos - out.start) <= 65536
        && allocated <= 2 * 65536,
        "limit: TOO_LARGE (%d), %zu bytes written, %zu allocated", rc,
        (size_t) (out.pos - out.start), allocated);

    /* exactly the limit passes, one byte less does not */

    json_array_clear(a);

    for (i = 0; i < 6; i++) {
        json_array_append_new(a, json_integer(1));
    }

    memset(&out, 0, sizeof(out));
    out.alloc = ngx_http_wapress_mustache_test_alloc;
    out.max = 6 * 10240;

    rc = ngx_http_wapress_mustache_render(tpl, root, &out);

    ngx_http_wapress_mustache_test_ok(rc == NGX_HTTP_WAPRESS_MUSTACHE_OK
        && (size_t) (out.pos - out.start) == 6 * 10240,
        "limit: output of exactly out.max renders (%d)", rc);

    memset(&out, 0, sizeof(out));
    out.alloc = ngx_http_wapress_mustache_test_alloc;
    out.max = 6 * 10240 - 1;

    rc = ngx_http_wapress_mustache_render(tpl, root, &out);

    ngx_http_wapress_mustache_test_ok(
        rc == NGX_HTTP_WAPRESS_MUSTACHE_TOO_LARGE,
        "limit: one byte over out.max is TOO_LARGE (%d)", rc);

    free(s);
    json_decref(root);
}


/*
 * ngx_http_wapress_json_load() accepts what json_loadb(JSON_DECODE_ANY)
 * accepts and builds equal values (fuzz/json_fragment.c checks the same
 * on generated inputs; these are the edges)
 */

static void
ngx_http_wapress_mustache_test_decode(void)
{
    char         *deep;
    size_t        i, n;
    const char  **t;

    static const char  *cases[] = {
        "", " ", "0", "-0", "01", "-", "1.", ".5", "1.5", "1e5", "1E+5",
        "-1.5e-3", "1e", "1e+", "2.", "00", "-01", "1.0e-0",
        "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809",
        "123456789012345678901234567890", "1e400", "-1e400", "1e-400",
        "0.1234567890123456789012345678901234567890123456789012345678901234567",
        "true", "tru", "truex", "false", "null", "nul", "nulll",
        "[]", "[1,2]", "[1,2,]", "[,]", "[1 2]", "[", "]", " [ 1 , [ ] ] ",
        "{}", "{\"a\":1}", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}", "{1:2}",
        "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":[true,false,null]}}",
        "{\"\":0}", "{\"a\"", "{\"a\":1", "{\"a\":1 \"b\":2}",
        "\"\"", "\"abc", "\"a\\qb\"", "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
        "\"\\u0041\\u00e9\\u20AC\"", "\"\\u0000\"", "{\"a\\u0000b\":1}",
        "\"\\ud800\"", "\"\\ud800\\udc00\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"\\uD83D\\uDE00\"", "\"\\u12\"",
        "\"\\u12G4\"", "\"\\ud800x\"",
        "\"\xc3\xa9\"", "\"\xc0\xaf\"", "\"\xc3\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xf0\x9f\x98\x80\"", "\"\xe0\x80\xaf\"",
        "\"\xf0\x80\x80\x80\"", "\"\xff\"", "\"\x01\"", "\"\x7f\"",
        "\"a\nb\"", "[1] x", "[1] ", "1 2", " \n[\t1\r]\n",
        "{\"k\":[{\"x\":[]}],\"n\":-12.5e+2}", "\xc3\xa9", "[\"\xe2\x82\xac\"]",
        NULL
    };

    for (t = cases; *t != NULL; t++) {
        ngx_http_wapress_mustache_test_same(*t, *t, strlen(*t));
    }

    ngx_http_wapress_mustache_test_same("a NUL byte in a string",
                                        "\"a\0b\"", 5);
    ngx_http_wapress_mustache_test_same("a NUL byte after the value",
                                        "[1]\0", 4);

    /* 2048 values deep is the limit: 2047 arrays and a number, then one
     * array more */

    n = 2048;
    deep = malloc(2 * n + 2);

    for (i = 0; i < 2; i++) {
        memset(deep, '[', n - 1 + i);
        deep[n - 1 + i] = '1';
        memset(deep + n + i, ']', n - 1 + i);

        ngx_http_wapress_mustache_test_same(i ? "2049 deep" : "2048 deep",
                                            deep, 2 * (n - 1 + i) + 1);
    }

    free(deep);

    ngx_http_wapress_mustache_test_arena();
}


/*
 * Between json_begin() and json_end() jansson allocates from the arena;
 * end() puts the allocator back; a value larger than a chunk works, and
 * so does the next round
 */

static void
ngx_http_wapress_mustache_test_arena(void)
{
    int             round, ok;
    char           *big, *p;
    size_t          i;
    json_t         *v, *ref;
    json_free_t     f0, f1;
    json_error_t    jerr;
    json_malloc_t   m0, m1;

    big = malloc(20000 * 16 + 16);
    p = big;
    *p++ = '[';

    for (i = 0; i < 20000; i++) {
        p += sprintf(p, "%s\"s%06u\"", i ? "," : "", (unsigned) i);
    }

    *p++ = ']';

    ref = json_loadb(big, p - big, 0, &jerr);

    for (round = 0; round < 2; round++) {
        json_get_alloc_funcs(&m0, &f0);

        ngx_http_wapress_json_begin();

        v = ngx_http_wapress_json_load(big, p - big, &jerr);
        ok = (v != NULL && json_equal(v, ref));
        json_decref(v);

        v = ngx_http_wapress_json_load("{\"a\":[1,2]}", 11, &jerr);
        ok = ok && v != NULL && json_array_size(json_object_get(v, "a")) == 2;
        json_decref(v);

        ngx_http_wapress_json_end();

        json_get_alloc_funcs(&m1, &f1);

        ngx_http_wapress_mustache_test_ok(ok && m0 == m1 && f0 == f1,
            "json arena, round %d: %zu bytes of values, jansson's "
            "allocator put back", round + 1, (size_t) (p - big));
    }

    json_decref(ref);
    free(big);
}


static void
ngx_http_wapress_mustache_test_same(const char *desc, const char *text,
    size_t len)
{
    int            same;
    char           name[44];
    size_t         i;
    json_t        *a, *b;
    json_error_t   ea, eb;

    /* printable, for the TAP line */

    for (i = 0; i < 40 && desc[i]; i++) {
        name[i] = (desc[i] >= 0x20 && desc[i] < 0x7f) ? desc[i] : '?';
    }

    strcpy(name + i, desc[i] ? "..." : "");

    a = ngx_http_wapress_json_load(text, len, &ea);
    b = json_loadb(text, len, JSON_DECODE_ANY, &eb);

    same = (a == NULL && b == NULL)
           || (a != NULL && b != NULL && json_equal(a, b));

    ngx_http_wapress_mustache_test_ok(same && (a != NULL || ea.text[0]),
                                      "json: %s as jansson: %s%s%s", name,
                                      b ? "accepted" : "refused (",
                                      b ? "" : eb.text, b ? "" : ")");

    if (!same) {
        printf("# ours: %s\n", a ? "accepted" : ea.text);
    }

    json_decref(a);
    json_decref(b);
}


/* each partial is loaded once; a missing one renders empty */

static void
ngx_http_wapress_mustache_test_loader(void)
{
    json_t                            *root, *partials;
    ngx_http_wapress_mustache_test_t   t;

    root = ngx_http_wapress_mustache_test_json("{\"x\": 1}");
    partials = ngx_http_wapress_mustache_test_json("{\"p\": \"<{{x}}>\"}");

    ngx_http_wapress_test_loads = 0;

    ngx_http_wapress_mustache_test_render(&t,
        "{{>p}}{{>missing}}{{>p}}\n  {{>p}}\n{{>missing}}", root, partials);
    ngx_http_wapress_mustache_test_ok(t.rc == NGX_HTTP_WAPRESS_MUSTACHE_OK
        && t.len == 12 && memcmp(t.data, "<1><1>\n  <1>", 12) == 0
        && ngx_http_wapress_test_loads == 2,
        "partials loaded once per name (%u loads)",
        ngx_http_wapress_test_loads);

    json_decref(partials);
    json_decref(root);
}


/*
 * the seed page: each template fragment must appear in expected.html,
 * and the layout with every marker replaced must equal it exactly
 */

static void
ngx_http_wapress_mustache_test_seed(const char *dir)
{
    int                                i, ok;
    char                              *tpl, *val, *layout, *html, *page, *p;
    char                               file[256], marker[128];
    size_t                             tpl_len, val_len, layout_len,
                                       html_len, len, n;
    json_t                            *root;
    const char                        *m;
    json_error_t                       jerr;
    ngx_http_wapress_mustache_test_t   t;

    static const char  *slots[][3] = {
        { "article", "article:niger-junta-revokes-eu-security-agreements",
          "html" },
        { "comments", "comments:niger-junta-revokes-eu-security-agreements",
          "json" },
        { "related", "related:niger-junta-revokes-eu-security-agreements",
          "json" },
        { "features", "features:home", "json" },
        { "history", "history:today", "text" },
        { "rates", "rates:USD", "json" }
    };

    layout = ngx_http_wapress_mustache_test_read(dir, "layout.html",
                                                 &layout_len);
    html = ngx_http_wapress_mustache_test_read(dir, "expected.html",
                                               &html_len);
    if (layout == NULL || html == NULL) {
        printf("Bail out! %s: no layout.html or expected.html\n", dir);
        exit(2);
    }

    page = malloc(layout_len + html_len + 1);
    memcpy(page, layout, layout_len);
    len = layout_len;

    for (i = 0; i < 6; i++) {
        snprintf(file, sizeof(file), "redis/%s", slots[i][1]);
        val = ngx_http_wapress_mustache_test_read(dir, file, &val_len);

        snprintf(file, sizeof(file), "templates/%s.mustache", slots[i][0]);
        tpl = (i == 0) ? NULL
                       : ngx_http_wapress_mustache_test_read(dir, file,
                                                             &tpl_len);

        if (val == NULL || (i > 0 && tpl == NULL)) {
            printf("Bail out! %s: missing %s or its value\n", dir,
                   slots[i][0]);
            exit(2);
        }

        t.data = val;
        t.len = val_len;

        if (i > 0) {
            if (strcmp(slots[i][2], "json") == 0) {
                /* as the module decodes it */
                root = ngx_http_wapress_json_load(val, val_len, &jerr);

            } else {
                root = json_stringn(val, val_len);
            }

            ngx_http_wapress_mustache_test_render(&t, tpl, root, NULL);
            json_decref(root);

            ok = t.rc == NGX_HTTP_WAPRESS_MUSTACHE_OK
                 && t.len > 0 && t.data[t.len - 1] == '\n'
                 && ngx_http_wapress_mustache_test_find(html, html_len,
                                                        t.data, t.len)
                    != NULL;

            if (!ngx_http_wapress_mustache_test_ok(ok,
                                  "seed page: %s fragment", slots[i][0]))
            {
                printf("# got (%d): %.*s\n", t.rc, (int) t.len, t.data);
            }
        }

        /* splice the fragment into the page */

        n = snprintf(marker, sizeof(marker),
                     "<!--# wapress fragment=\"%s\" -->", slots[i][0]);
        m = ngx_http_wapress_mustache_test_find(page, len, marker, n);

        if (m != NULL && len - n + t.len <= layout_len + html_len) {
            p = page + (m - page);
            memmove(p + t.len, p + n, len - (m - page) - n);
            memcpy(p, t.data, t.len);
            len = len - n + t.len;
        }

        free(val);
        free(tpl);
    }

    ngx_http_wapress_mustache_test_ok(len == html_len
                                      && memcmp(page, html, len) == 0,
                                      "seed page: assembled page equals "
                                      "expected.html");

    free(page);
    free(layout);
    free(html);
}


static int
ngx_http_wapress_mustache_test_render(ngx_http_wapress_mustache_test_t *t,
    const char *tpl, json_t *root, json_t *partials)
{
    ngx_http_wapress_mustache_out_t  out;

    memset(t, 0, sizeof(*t));
    t->cc.alloc = ngx_http_wapress_mustache_test_alloc;
    t->cc.partial = ngx_http_wapress_mustache_test_partial;
    t->cc.partial_data = partials;
    t->cc.err = t->err;
    t->cc.err_size = sizeof(t->err);

    t->tpl = ngx_http_wapress_mustache_compile(&t->cc, tpl, strlen(tpl));
    if (t->tpl == NULL) {
        t->rc = -100;
        t->data = "";
        return t->rc;
    }

    memset(&out, 0, sizeof(out));
    out.alloc = ngx_http_wapress_mustache_test_alloc;

    t->rc = ngx_http_wapress_mustache_render(t->tpl, root, &out);
    t->data = (char *) out.start;
    t->len = out.pos - out.start;

    return t->rc;
}


static void
ngx_http_wapress_mustache_test_is(const char *tpl, const char *json,
    const char *expected)
{
    json_t                            *root;
    ngx_http_wapress_mustache_test_t   t;

    root = ngx_http_wapress_mustache_test_json(json);

    ngx_http_wapress_mustache_test_render(&t, tpl, root, NULL);

    if (!ngx_http_wapress_mustache_test_ok(t.rc == 0
                                           && t.len == strlen(expected)
                                           && memcmp(t.data, expected,
                                                     t.len) == 0,
                                           "%s with %s", tpl, json))
    {
        printf("#      got: %.*s (rc %d%s%s)\n# expected: %s\n", (int) t.len,
               t.data, t.rc, t.err[0] ? ", " : "", t.err, expected);
    }

    json_decref(root);
}


static void
ngx_http_wapress_mustache_test_error(const char *what, const char *tpl,
    const char *partials, const char *err, unsigned line, const char *partial)
{
    json_t                            *p;
    ngx_http_wapress_mustache_test_t   t;

    p = partials ? ngx_http_wapress_mustache_test_json(partials) : NULL;

    ngx_http_wapress_mustache_test_render(&t, tpl, NULL, p);

    if (!ngx_http_wapress_mustache_test_ok(t.tpl == NULL
            && strcmp(t.err, err) == 0
            && t.cc.err_line == line
            && (partial == NULL
                ? t.cc.err_partial == NULL
                : t.cc.err_partial != NULL
                  && strcmp(t.cc.err_partial, partial) == 0),
            "compile error: %s", what))
    {
        printf("# got: \"%s\" line %u in %s\n", t.err, t.cc.err_line,
               t.cc.err_partial ? t.cc.err_partial : "(main)");
    }

    json_decref(p);
}


static json_t *
ngx_http_wapress_mustache_test_json(const char *text)
{
    json_t        *v;
    json_error_t   jerr;

    v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (v == NULL) {
        printf("Bail out! bad test JSON %s: %s\n", text, jerr.text);
        exit(2);
    }

    return v;
}


static int
ngx_http_wapress_mustache_test_partial(void *data, const char *name,
    size_t name_len, const char **text, size_t *len)
{
    json_t  *v;

    ngx_http_wapress_test_loads++;

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


static char *
ngx_http_wapress_mustache_test_read(const char *dir, const char *file,
    size_t *len)
{
    long   size;
    char  *buf, path[4096];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, file);

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    buf = NULL;

    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0)
    {
        buf = malloc(size + 1);

        if (buf != NULL && fread(buf, 1, size, f) != (size_t) size) {
            free(buf);
            buf = NULL;
        }

        if (buf != NULL) {
            buf[size] = '\0';
            *len = size;
        }
    }

    fclose(f);

    return buf;
}


static const char *
ngx_http_wapress_mustache_test_find(const char *hay, size_t hay_len,
    const char *needle, size_t len)
{
    size_t  i;

    for (i = 0; len <= hay_len && i <= hay_len - len; i++) {
        if (memcmp(hay + i, needle, len) == 0) {
            return hay + i;
        }
    }

    return NULL;
}


static int
ngx_http_wapress_mustache_test_ok(int ok, const char *fmt, ...)
{
    char     *p, buf[256];
    va_list   args;

    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    /* keep the description on one line */

    for (p = buf; *p; p++) {
        if (*p == '\n') {
            *p = ' ';
        }
    }

    printf("%sok %u - %s\n", ok ? "" : "not ", ++ngx_http_wapress_test_n,
           buf);

    if (!ok) {
        ngx_http_wapress_test_failed++;
    }

    return ok;
}


/* every block is kept on one list and freed at exit */

static void *
ngx_http_wapress_mustache_test_alloc(void *data, size_t size)
{
    ngx_http_wapress_mustache_test_block_t  *b;

    (void) data;

    b = malloc(sizeof(*b) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = ngx_http_wapress_test_blocks;
    ngx_http_wapress_test_blocks = b;

    return &b->align;
}


/* the alloc of test_limit: counts into *(size_t *) data */

static void *
ngx_http_wapress_mustache_test_count(void *data, size_t size)
{
    *(size_t *) data += size;

    return ngx_http_wapress_mustache_test_alloc(NULL, size);
}


static void *
ngx_http_wapress_mustache_test_fail(void *data, size_t size)
{
    (void) data;
    (void) size;

    return NULL;
}
