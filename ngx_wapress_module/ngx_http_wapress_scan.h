
/*
 * ngx_http_wapress_scan.h: the streaming marker scanner of filter mode.
 * It is fed a document in byte ranges of any size, split anywhere, and
 * reports, in order: runs of text, markers and malformed markers, exactly
 * as if it had seen the whole document at once.  It holds at most
 * NGX_HTTP_WAPRESS_MARKER_MAX bytes of a partial marker between ranges,
 * in its own state; it keeps no pointer into a range it was fed.  Plain
 * C with no nginx headers: the marker_split fuzz target runs this code.
 */


#ifndef _NGX_HTTP_WAPRESS_SCAN_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_SCAN_H_INCLUDED_


#include <stddef.h>

#include "ngx_http_wapress_marker.h"


/* what the scanner reports */
#define NGX_HTTP_WAPRESS_SCAN_TEXT      0   /* text: p, len in the range */
#define NGX_HTTP_WAPRESS_SCAN_HELD      1   /* text: p, len in the state,
                                               valid during the call */
#define NGX_HTTP_WAPRESS_SCAN_MARKER    2   /* a marker: p, len its name,
                                               valid during the call */
#define NGX_HTTP_WAPRESS_SCAN_BAD       3   /* a malformed marker starts
                                               here (err says why); its
                                               text follows as text */

/*
 * The handler: returns 0, or -1 to stop the scan (an error); for a
 * marker, 1 leaves it in the document as text (an unknown name).
 */
typedef int (*ngx_http_wapress_scan_pt)(void *data, int what,
    const unsigned char *p, size_t len, const char *err);


typedef struct {
    unsigned char                    held[NGX_HTTP_WAPRESS_MARKER_MAX];
    size_t                           nheld;
} ngx_http_wapress_scan_t;


#define ngx_http_wapress_scan_init(st)  (st)->nheld = 0


/* scans p .. last; 0, or -1 if the handler stopped it */
int ngx_http_wapress_scan(ngx_http_wapress_scan_t *st,
    const unsigned char *p, const unsigned char *last,
    ngx_http_wapress_scan_pt handler, void *data);

/* the end of the document: a partial marker still held is text */
int ngx_http_wapress_scan_end(ngx_http_wapress_scan_t *st,
    ngx_http_wapress_scan_pt handler, void *data);


#endif /* _NGX_HTTP_WAPRESS_SCAN_H_INCLUDED_ */
