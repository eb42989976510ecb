
/*
 * ngx_http_wapress_page.c: the page model, under both front ends.
 *
 * A page has one result per fragment of its location.  A fragment is
 * looked up once, when its front end first needs it: in the cache zone
 * first (ngx_http_wapress_fresh.c), else in Redis (one command each,
 * ngx_http_wapress_fetch.c; commands sent in one event-loop turn leave
 * together).  A command's data is its result, in r->pool: the page
 * cancels every command still in flight when it stops waiting (deadline,
 * status decided, or its pool's cleanup), so no reply can reach freed
 * memory.
 *
 * The deadline is wapress_redis_timeout after the oldest lookup in
 * flight.  Redis answers in order: when that one has not answered, no
 * later one has, so all of them fail, and the page asks Redis no more
 * (later fragments of a filtered page still use the cache).  A fragment
 * that fails gets a stale copy if the cache has one, else its default
 * (or, if required, the page is 503).
 *
 * Replies arrive from the Redis layer's handler; the front end goes on
 * from the page's posted event, outside of it.
 *
 * A fragment that fails or is not found has its log line held
 * (ngx_http_wapress_log.c) until the lookups of one call (of a filtered
 * page: until its last markers are asked), or the replies and the
 * deadline of one event, are done: fragments that fail for one cause
 * share one line.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_page.h"
#include "ngx_http_wapress_fresh.h"
#include "ngx_http_wapress_fetch.h"
#include "ngx_http_wapress_cache.h"
#include "ngx_http_wapress_log.h"
#include "ngx_http_wapress_stats.h"
#include "ngx_http_wapress_filter.h"


static void ngx_http_wapress_page_cleanup(void *data);
static void ngx_http_wapress_page_event(ngx_event_t *ev);
static void ngx_http_wapress_page_timer(ngx_http_wapress_page_t *page);
static void ngx_http_wapress_page_expire(ngx_http_wapress_page_t *page);
static void ngx_http_wapress_page_reply(
    ngx_http_wapress_redis_reply_t *reply, void *data);
static void ngx_http_wapress_page_fail(ngx_http_wapress_page_t *page,
    ngx_uint_t i, const char *cause);
static void ngx_http_wapress_page_log(ngx_http_wapress_page_t *page,
    ngx_uint_t i, const char *cause);
static const char *ngx_http_wapress_page_outcome(
    ngx_http_wapress_page_t *page, ngx_uint_t i);


ngx_http_wapress_page_t *
ngx_http_wapress_page_create(ngx_http_request_t *r,
    ngx_http_wapress_loc_conf_t *wlcf, size_t extra,
    ngx_http_wapress_page_pt resume)
{
    ngx_uint_t                i, n;
    ngx_pool_cleanup_t       *cln;
    ngx_http_wapress_page_t  *page;

    n = wlcf->fragments ? wlcf->fragments->nelts : 0;

    page = ngx_pcalloc(r->pool, sizeof(ngx_http_wapress_page_t)
                                + n * sizeof(ngx_http_wapress_result_t)
                                + extra);
    if (page == NULL) {
        return NULL;
    }

    page->request = r;
    page->conf = wlcf;
    page->results = (ngx_http_wapress_result_t *) &page[1];
    page->resume = resume;

    for (i = 0; i < n; i++) {
        page->results[i].page = page;
    }

    page->event.handler = ngx_http_wapress_page_event;
    page->event.data = page;
    page->event.log = r->connection->log;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_wapress_page_cleanup;
    cln->data = page;

    ngx_http_set_ctx(r, page, ngx_http_wapress_module);

    ngx_http_wapress_stats_page(page);

    return page;
}


static void
ngx_http_wapress_page_cleanup(void *data)
{
    ngx_http_wapress_page_t *page = data;

    if (page->event.posted) {
        ngx_delete_posted_event(&page->event);
    }

    ngx_http_wapress_page_stop(page);

    ngx_http_wapress_log_flush(page);
}


ngx_int_t
ngx_http_wapress_page_lookup(ngx_http_wapress_page_t *page,
    ngx_uint_t *frags, ngx_uint_t n)
{
    ngx_int_t                     rc;
    ngx_uint_t                    i, k;
    const char                   *err;
    ngx_http_request_t           *r;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;

    r = page->request;
    frag = page->conf->fragments ? page->conf->fragments->elts : NULL;

    for (k = 0; k < n; k++) {
        i = frags[k];
        res = &page->results[i];

        if (res->state != NGX_HTTP_WAPRESS_UNASKED) {
            continue;
        }

        if (ngx_http_complex_value(r, &frag[i].key, &res->key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (frag[i].field != NULL
            && ngx_http_complex_value(r, frag[i].field, &res->field)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        rc = ngx_http_wapress_fresh_lookup(page, i);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            /* the cache answered */

            if (res->state == NGX_HTTP_WAPRESS_MISSING) {
                ngx_http_wapress_page_log(page, i, "not found (cached)");
            }

            continue;
        }

        if (page->gave_up) {
            ngx_http_wapress_page_fail(page, i, "not asked, an earlier "
                                       "lookup of the page timed out");
            continue;
        }

        if (ngx_http_wapress_fetch_send(&res->wait, page->conf, i, &res->key,
                                        &res->field,
                                        ngx_http_wapress_page_reply, res,
                                        &res->asked, r->connection->log,
                                        &err)
            != NGX_OK)
        {
            ngx_http_wapress_page_fail(page, i, err);
            continue;
        }

        res->state = NGX_HTTP_WAPRESS_PENDING;
        page->waiting++;
    }

    if (page->filter == NULL || page->filter->eof) {
        /* a filtered page's lines wait for its last markers */
        ngx_http_wapress_log_flush(page);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "wapress page waits for %ui lookups", page->waiting);

    ngx_http_wapress_page_timer(page);

    return NGX_OK;
}


void
ngx_http_wapress_page_stop(ngx_http_wapress_page_t *page)
{
    ngx_uint_t                  i, n;
    ngx_http_wapress_result_t  *res;

    if (page->event.timer_set) {
        ngx_del_timer(&page->event);
    }

    n = page->conf->fragments ? page->conf->fragments->nelts : 0;

    for (i = 0; page->waiting && i < n; i++) {
        res = &page->results[i];

        if (res->state == NGX_HTTP_WAPRESS_PENDING) {
            ngx_http_wapress_fetch_cancel(&res->wait);
            res->state = NGX_HTTP_WAPRESS_FAILED;
            page->waiting--;
        }
    }

    page->waiting = 0;
}


/* the deadline: wapress_redis_timeout after the oldest lookup in flight */

static void
ngx_http_wapress_page_timer(ngx_http_wapress_page_t *page)
{
    ngx_msec_t                  oldest;
    ngx_uint_t                  i, n, found;
    ngx_msec_int_t              left;
    ngx_http_wapress_result_t  *res;

    if (page->event.timer_set) {
        ngx_del_timer(&page->event);
    }

    if (page->waiting == 0) {
        return;
    }

    n = page->conf->fragments->nelts;
    found = 0;
    oldest = 0;

    for (i = 0; i < n; i++) {
        res = &page->results[i];

        if (res->state == NGX_HTTP_WAPRESS_PENDING
            && (!found || (ngx_msec_int_t) (res->asked - oldest) < 0))
        {
            oldest = res->asked;
            found = 1;
        }
    }

    left = (ngx_msec_int_t) (oldest + page->conf->timeout
                             - ngx_current_msec);

    ngx_add_timer(&page->event, left > 0 ? (ngx_msec_t) left : 1);
}


static void
ngx_http_wapress_page_expire(ngx_http_wapress_page_t *page)
{
    ngx_uint_t                  i, n;
    ngx_http_wapress_result_t  *res;
    u_char                      cause[64];

    ngx_snprintf(cause, sizeof(cause), "timed out after %Mms%Z",
                 page->conf->timeout);

    n = page->conf->fragments->nelts;

    for (i = 0; i < n; i++) {
        res = &page->results[i];

        if (res->state == NGX_HTTP_WAPRESS_PENDING) {
            ngx_http_wapress_fetch_cancel(&res->wait);
            ngx_http_wapress_page_fail(page, i, (char *) cause);
        }
    }

    page->waiting = 0;
    page->gave_up = 1;
}


static void
ngx_http_wapress_page_event(ngx_event_t *ev)
{
    ngx_http_wapress_page_t *page = ev->data;

    ngx_http_request_t  *r;

    r = page->request;

    ngx_http_set_log_request(r->connection->log, r);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "wapress page event, timed out: %d, waiting: %ui",
                   ev->timedout, page->waiting);

    if (ev->posted) {
        /* the deadline, with a reply's event still to come: one will do */
        ngx_delete_posted_event(ev);
    }

    if (ev->timedout) {
        ev->timedout = 0;

        if (page->waiting) {
            ngx_http_wapress_page_expire(page);
        }
    }

    ngx_http_wapress_log_flush(page);

    page->resume(page);
}


static void
ngx_http_wapress_page_reply(ngx_http_wapress_redis_reply_t *reply,
    void *data)
{
    ngx_http_wapress_result_t *res = data;

    uint64_t                  hash;
    ngx_str_t                 value;
    ngx_uint_t                i, rc;
    ngx_http_wapress_page_t  *page;
    u_char                    err[NGX_MAX_ERROR_STR];

    page = res->page;
    i = res - page->results;

    page->waiting--;
    hash = 0;

    /* the ETag's hash: taken as the value is made (a layout's page) */

    rc = ngx_http_wapress_fetch_value(page->conf, i, reply,
                                      page->request->pool, &value,
                                      (page->filter == NULL
                                       && page->conf->etag) ? &hash : NULL,
                                      &res->memo, err, sizeof(err));

    switch (rc) {

    case NGX_HTTP_WAPRESS_FETCH_VALUE:
        res->value = value;
        res->hash = hash;
        res->state = NGX_HTTP_WAPRESS_FOUND;
        ngx_http_wapress_fresh_store(page->conf, i, &res->key, &res->field,
                                     &res->value, hash, 0, res->asked);
        break;

    case NGX_HTTP_WAPRESS_FETCH_NIL:
        res->state = NGX_HTTP_WAPRESS_MISSING;
        ngx_str_null(&res->value);
        res->hash = 0;
        ngx_http_wapress_fresh_store(page->conf, i, &res->key, &res->field,
                                     &res->value, 0, 1, res->asked);
        ngx_http_wapress_page_log(page, i, "not found");
        break;

    case NGX_HTTP_WAPRESS_FETCH_BAD:
        res->state = NGX_HTTP_WAPRESS_FAILED;
        ngx_http_wapress_page_log(page, i, (char *) err);
        break;

    default: /* NGX_HTTP_WAPRESS_FETCH_FAILED */
        ngx_http_wapress_page_fail(page, i, (char *) err);
        break;
    }

    if (page->waiting == 0 || page->each) {
        ngx_http_wapress_page_timer(page);
        ngx_post_event(&page->event, &ngx_posted_events);
    }
}


/*
 * Redis could not answer for fragment i: a stale copy if the cache has
 * one, else the fragment fails (its default, or the page is 503).
 */

static void
ngx_http_wapress_page_fail(ngx_http_wapress_page_t *page, ngx_uint_t i,
    const char *cause)
{
    ngx_msec_t                  age;
    ngx_http_wapress_result_t  *res;

    res = &page->results[i];
    res->state = NGX_HTTP_WAPRESS_FAILED;

    if (ngx_http_wapress_fresh_stale(page, i, &age) != NGX_OK) {
        ngx_http_wapress_page_log(page, i, cause);
        return;
    }

    if (res->state == NGX_HTTP_WAPRESS_MISSING) {
        /* what Redis said last was nil: as then */
        ngx_http_wapress_log_hold(page, i, NGX_LOG_WARN, cause,
                                  ngx_http_wapress_page_outcome(page, i),
                                  NGX_HTTP_WAPRESS_LOG_STALE_MISSING, age);
        return;
    }

    ngx_http_wapress_log_hold(page, i, NGX_LOG_WARN, cause, NULL,
                              NGX_HTTP_WAPRESS_LOG_STALE_COPY, age);
}


/* the line of a fragment that was not found or failed, held */

static void
ngx_http_wapress_page_log(ngx_http_wapress_page_t *page, ngx_uint_t i,
    const char *cause)
{
    ngx_uint_t                    level;
    ngx_http_wapress_result_t    *res;
    ngx_http_wapress_fragment_t  *frag;

    res = &page->results[i];
    frag = page->conf->fragments->elts;

    ngx_http_wapress_stats_cause(page, i, cause);

    if (res->state == NGX_HTTP_WAPRESS_MISSING) {
        level = NGX_LOG_INFO;

    } else {
        level = frag[i].required ? NGX_LOG_ERR : NGX_LOG_WARN;
    }

    ngx_http_wapress_log_hold(page, i, level, cause,
                              ngx_http_wapress_page_outcome(page, i),
                              NGX_HTTP_WAPRESS_LOG_STALE_NONE, 0);
}


static const char *
ngx_http_wapress_page_outcome(ngx_http_wapress_page_t *page, ngx_uint_t i)
{
    ngx_http_wapress_fragment_t  *frag;

    frag = page->conf->fragments->elts;

    if (frag[i].required) {
        return (page->results[i].state == NGX_HTTP_WAPRESS_MISSING)
               ? "the page is 404" : "the page is 503";
    }

    return frag[i].has_default ? "using the default" : "left empty";
}


ngx_int_t
ngx_http_wapress_page_status(ngx_http_wapress_page_t *page,
    ngx_uint_t complete, ngx_uint_t *wait)
{
    ngx_int_t                     status;
    ngx_uint_t                    i, n;
    ngx_http_wapress_fragment_t  *frag;

    n = page->conf->fragments ? page->conf->fragments->nelts : 0;
    frag = n ? page->conf->fragments->elts : NULL;
    status = NGX_HTTP_OK;
    *wait = 0;

    for (i = 0; i < n; i++) {

        if (!frag[i].required) {
            continue;
        }

        switch (page->results[i].state) {

        case NGX_HTTP_WAPRESS_FOUND:
            break;

        case NGX_HTTP_WAPRESS_MISSING:
            status = NGX_HTTP_NOT_FOUND;
            break;

        case NGX_HTTP_WAPRESS_FAILED:
            *wait = 0;
            return NGX_HTTP_SERVICE_UNAVAILABLE;

        case NGX_HTTP_WAPRESS_PENDING:
            *wait = 1;
            break;

        default: /* NGX_HTTP_WAPRESS_UNASKED: not seen (yet) */
            if (!complete) {
                *wait = 1;
            }

            break;
        }
    }

    return status;
}


ngx_int_t
ngx_http_wapress_page_buf(ngx_http_wapress_page_t *page, ngx_uint_t i,
    ngx_buf_t *b, ngx_uint_t copy)
{
    u_char                       *p;
    ngx_str_t                    *v;
    ngx_http_wapress_fragment_t  *frag;

    if (page->results[i].state == NGX_HTTP_WAPRESS_FOUND) {
        v = &page->results[i].value;

    } else {
        frag = page->conf->fragments->elts;
        v = &frag[i].deflt;
    }

    if (v->len == 0) {
        return NGX_OK;
    }

    if (copy && page->request->filter_need_temporary) {
        p = ngx_pnalloc(page->request->pool, v->len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, v->data, v->len);

        b->temporary = 1;
        b->start = p;

    } else {
        /* memory, not temporary: no filter may change it in place */
        b->memory = 1;
        b->start = v->data;
    }

    b->pos = b->start;
    b->last = b->start + v->len;
    b->end = b->last;

    return NGX_OK;
}
