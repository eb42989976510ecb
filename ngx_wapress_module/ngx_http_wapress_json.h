
/*
 * ngx_http_wapress_json.h: decoding a json fragment's value into jansson
 * values.  It accepts exactly what json_loadb(JSON_DECODE_ANY) accepts
 * (RFC 8259 JSON, UTF-8 checked, no "\u0000", 2048 levels at most,
 * integers within json_int_t) and builds the same values with jansson's
 * constructors, in one pass over the bytes instead of jansson's lexer,
 * which reads a character at a time through a stream and copies every
 * token twice (docs/performance.md).  Error texts differ from jansson's,
 * and a NUL byte is refused anywhere (jansson's lexer loses one that
 * directly follows a number or a literal: it accepts "8\0").
 * Plain C99 + jansson, no nginx headers: unit tests and fuzzers link it
 * alone (fuzz/json_fragment.c compares it with json_loadb()).
 */


#ifndef _NGX_HTTP_WAPRESS_JSON_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_JSON_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>


/* as jansson's parser */
#define NGX_HTTP_WAPRESS_JSON_MAX_DEPTH  2048


/*
 * The value, with a reference for the caller (json_decref() it), or NULL
 * with *err filled (text, line, column, position) for invalid JSON or
 * when out of memory (json_error_code(err) is json_error_out_of_memory).
 */
json_t *ngx_http_wapress_json_load(const char *buf, size_t len,
    json_error_t *err);


#endif /* _NGX_HTTP_WAPRESS_JSON_H_INCLUDED_ */
