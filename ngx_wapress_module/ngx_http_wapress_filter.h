
/*
 * ngx_http_wapress_filter.h: filter mode (wapress_filter): fragment
 * markers replaced in any HTML response that nginx passes through.  The
 * filter's state is shared by its two halves: ngx_http_wapress_filter.c
 * (the directives, the header filter, and the body parsed into a queue)
 * and ngx_http_wapress_filter_send.c (the queue sent).
 */


#ifndef _NGX_HTTP_WAPRESS_FILTER_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_FILTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_scan.h"


/*
 * r->buffered is 4 bits: ssi 0x01, sub 0x02 and copy 0x04 are nginx's;
 * 0x08 is free in nginx itself (the image filter's 0x08 is c->buffered)
 */
#define NGX_HTTP_WAPRESS_BUFFERED            0x08

/*
 * b->num of the filter's own buffers: 0 for text, > 0 for the slot of
 * fragment num - 1 (still to be filled), COPY for a buffer that owns
 * NGX_HTTP_WAPRESS_MARKER_MAX bytes (a partial marker that was no marker)
 */
#define NGX_HTTP_WAPRESS_BUF_COPY            -1

/* warnings about the markers of one response; then one line counts */
#define NGX_HTTP_WAPRESS_MARKER_WARN_MAX     3


typedef enum {
    ngx_http_wapress_filter_hold = 0,  /* header held, status unknown */
    ngx_http_wapress_filter_stream,    /* header sent, body streams */
    ngx_http_wapress_filter_failed,    /* the page is an error: the body
                                          is dropped until ... */
    ngx_http_wapress_filter_pass       /* ... nginx sends the error page */
} ngx_http_wapress_filter_phase_e;


struct ngx_http_wapress_filter_ctx_s {
    ngx_chain_t                     *queue;      /* parsed, not yet sent */
    ngx_chain_t                    **last;
    ngx_chain_t                     *busy;       /* sent, not yet written */
    ngx_chain_t                     *free;
    ngx_chain_t                     *free_copies;
    ngx_buf_t                       *tail;       /* last text of an input
                                                    buffer, to carry its
                                                    flags and shadow */
    ngx_buf_t                       *from;       /* the buffer scanned, or
                                                    NULL for a copy */
    ngx_uint_t                      *ask;        /* to look up in this call */
    ngx_uint_t                       nask;
    ngx_uint_t                       phase;      /* _phase_e */
    ngx_int_t                        status;     /* of a failed page */
    ngx_uint_t                       unknown;    /* markers naming no
                                                    fragment */
    ngx_uint_t                       malformed;  /* markers not parsed */
    unsigned                         discard:1;  /* the page will be an
                                                    error: keep no text */
    unsigned                         eof:1;      /* last_buf parsed */
    ngx_http_wapress_scan_t          scan;
};


/* the next filters, for ngx_http_wapress_filter_send.c */
extern ngx_http_output_header_filter_pt  ngx_http_wapress_next_header_filter;
extern ngx_http_output_body_filter_pt    ngx_http_wapress_next_body_filter;


/* the wapress_filter directive: a flag that also marks the filter used */
char *ngx_http_wapress_filter_flag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* a location with wapress_filter on, once merged */
ngx_int_t ngx_http_wapress_filter_merge(ngx_conf_t *cf,
    ngx_http_wapress_loc_conf_t *wlcf);

/* postconfiguration: installs the filter if some location uses it */
ngx_int_t ngx_http_wapress_filter_init(ngx_conf_t *cf);

/* sends what can go: the queue up to the first fragment still pending */
ngx_int_t ngx_http_wapress_filter_output(ngx_http_wapress_page_t *page);

/* the page's event: a reply is in, the deadline passed, or an error page */
void ngx_http_wapress_filter_resume(ngx_http_wapress_page_t *page);

/* a held page is an error page: its body is dropped, the error sent */
void ngx_http_wapress_filter_fail(ngx_http_wapress_page_t *page,
    ngx_int_t status);

/*
 * ngx_http_wapress_filter_encoding.c: wapress_filter locations ask
 * upstreams for an identity body (a preaccess handler, installed with the
 * filter); a compressed response passes with a warning (NGX_DECLINED) or,
 * with required fragments, is 502 (NGX_OK)
 */
ngx_int_t ngx_http_wapress_filter_encoding_init(ngx_conf_t *cf);
ngx_int_t ngx_http_wapress_filter_encoded(ngx_http_request_t *r,
    ngx_http_wapress_loc_conf_t *wlcf);


#endif /* _NGX_HTTP_WAPRESS_FILTER_H_INCLUDED_ */
