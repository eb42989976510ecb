
/*
 * ngx_http_wapress_json_arena.h: where jansson allocates while a json or
 * text fragment is decoded and rendered.
 */


#ifndef _NGX_HTTP_WAPRESS_JSON_ARENA_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_JSON_ARENA_H_INCLUDED_


#include <jansson.h>


/*
 * Between begin() and end(), jansson allocates from a per-process arena
 * (a bump allocator; free is a no-op) and end() takes it all back at
 * once, keeping one 64 KB chunk for the next time: every value made in
 * between must be json_decref()ed before end().  The allocator that was
 * set before (jansson's are process-wide, and another module may use
 * jansson) is put back by end(), so nothing else sees the arena.  For a
 * single-threaded process (an nginx worker).
 */
void ngx_http_wapress_json_begin(void);
void ngx_http_wapress_json_end(void);


#endif /* _NGX_HTTP_WAPRESS_JSON_ARENA_H_INCLUDED_ */
