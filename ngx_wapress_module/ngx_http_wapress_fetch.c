
/*
 * ngx_http_wapress_fetch.c: one fragment's lookup, sent through the Redis
 * layer's command API, and the one classifier of its replies.  The page
 * (ngx_http_wapress_page.c) and the cache's stale-while-revalidate
 * refresh (ngx_http_wapress_fresh.c) both ask and read through here.
 *
 * Lookups of the worker that ask the same server for the same key (and
 * field) while one is in flight share it: a "flight" (one command,
 * ngx_alloc'd, found by key in the main configuration's tree) with a
 * queue of waiters that live in their callers' memory.  A waiter that
 * gives up leaves the queue; the last one to leave cancels the command
 * and frees the flight; otherwise the reply frees it, after every waiter
 * got it.  So a hot key missing from the cache costs one GET per
 * worker, however many pages ask for it at once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_fetch.h"
#include "ngx_http_wapress_fragment.h"
#include "ngx_http_wapress_stats.h"


struct ngx_http_wapress_flight_s {
    ngx_rbtree_node_t                    node;       /* key: the hash */
    ngx_rbtree_t                        *tree;       /* NULL: left it */
    ngx_http_wapress_redis_server_t     *server;
    ngx_http_wapress_redis_cmd_t        *cmd;
    ngx_queue_t                          waiters;
    ngx_msec_t                           sent;
    size_t                               max_size;
    ngx_str_t                            key;        /* in data */
    ngx_str_t                            field;      /* in data */
    unsigned                             hget:1;
    u_char                               data[1];
};


static ngx_http_wapress_flight_t *ngx_http_wapress_fetch_find(
    ngx_rbtree_t *tree, ngx_http_wapress_flight_t *q);
static ngx_int_t ngx_http_wapress_fetch_cmp(ngx_http_wapress_flight_t *a,
    ngx_http_wapress_flight_t *b);
static ngx_int_t ngx_http_wapress_fetch_strcmp(ngx_str_t *a, ngx_str_t *b);
static void ngx_http_wapress_fetch_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_wapress_fetch_reply(
    ngx_http_wapress_redis_reply_t *reply, void *data);


ngx_int_t
ngx_http_wapress_fetch_send(ngx_http_wapress_wait_t *w,
    ngx_http_wapress_loc_conf_t *wlcf, ngx_uint_t i, ngx_str_t *key,
    ngx_str_t *field, ngx_http_wapress_redis_handler_pt handler, void *data,
    ngx_msec_t *asked, ngx_log_t *log, const char **err)
{
    uint32_t                       hash;
    ngx_str_t                      argv[3];
    ngx_uint_t                     argc, hget;
    ngx_http_wapress_flight_t     *fl, q;
    ngx_http_wapress_fragment_t   *frag;
    ngx_http_wapress_main_conf_t  *wmcf;

    frag = wlcf->fragments->elts;
    hget = (frag[i].field != NULL);

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_wapress_module);

    if (wmcf->flights.root == NULL) {
        ngx_rbtree_init(&wmcf->flights, &wmcf->flights_sentinel,
                        ngx_http_wapress_fetch_insert);
    }

    ngx_crc32_init(hash);
    ngx_crc32_update(&hash, key->data, key->len);

    if (hget) {
        ngx_crc32_update(&hash, field->data, field->len);
    }

    ngx_crc32_final(hash);

    q.node.key = hash;
    q.server = wlcf->redis;
    q.max_size = wlcf->max_size;
    q.hget = hget;
    q.key = *key;

    if (hget) {
        q.field = *field;

    } else {
        ngx_str_null(&q.field);
    }

    fl = ngx_http_wapress_fetch_find(&wmcf->flights, &q);

    if (fl != NULL) {
        /* the same question is on its way: its answer will do */

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "wapress fetch shares the lookup of \"%V\" in flight",
                       key);
        goto wait;
    }

    fl = ngx_alloc(sizeof(ngx_http_wapress_flight_t) + key->len + q.field.len,
                   log);
    if (fl == NULL) {
        *err = "no memory";
        return NGX_DECLINED;
    }

    fl->node.key = hash;
    fl->tree = &wmcf->flights;
    fl->server = wlcf->redis;
    fl->max_size = wlcf->max_size;
    fl->hget = hget;
    fl->sent = ngx_current_msec;
    ngx_queue_init(&fl->waiters);

    fl->key.data = fl->data;
    fl->key.len = key->len;

    if (key->len) {
        ngx_memcpy(fl->key.data, key->data, key->len);
    }

    fl->field.data = fl->data + key->len;
    fl->field.len = q.field.len;

    if (q.field.len) {
        ngx_memcpy(fl->field.data, q.field.data, q.field.len);
    }

    argv[1] = fl->key;

    if (hget) {
        ngx_str_set(&argv[0], "HGET");
        argv[2] = fl->field;
        argc = 3;

    } else {
        ngx_str_set(&argv[0], "GET");
        argc = 2;
    }

    fl->cmd = ngx_http_wapress_redis_send(wlcf->redis, argv, argc,
                                          wlcf->max_size,
                                          wlcf->connect_timeout,
                                          ngx_http_wapress_fetch_reply, fl,
                                          log, err);
    if (fl->cmd == NULL) {
        ngx_free(fl);
        return NGX_DECLINED;
    }

    ngx_http_wapress_stats_redis(wlcf->redis, NGX_HTTP_WAPRESS_STATS_SENT, 0);

    ngx_rbtree_insert(fl->tree, &fl->node);

wait:

    w->flight = fl;
    w->handler = handler;
    w->data = data;
    ngx_queue_insert_tail(&fl->waiters, &w->queue);

    *asked = fl->sent;

    return NGX_OK;
}


void
ngx_http_wapress_fetch_cancel(ngx_http_wapress_wait_t *w)
{
    ngx_http_wapress_flight_t  *fl;

    fl = w->flight;

    if (fl == NULL) {
        return;
    }

    ngx_queue_remove(&w->queue);
    w->flight = NULL;

    if (!ngx_queue_empty(&fl->waiters)) {
        return;
    }

    /* no one waits any more: the command is not written, or forgotten */

    ngx_http_wapress_redis_cancel(fl->cmd);

    ngx_rbtree_delete(fl->tree, &fl->node);
    ngx_free(fl);
}


/*
 * The reply, for every waiter.  The flight leaves the tree first, so that
 * a handler that looks the same key up again starts a new one; waiters
 * are taken off one at a time, so that one of them cancelling another
 * (a page whose two fragments share the key) is harmless.
 */

static void
ngx_http_wapress_fetch_reply(ngx_http_wapress_redis_reply_t *reply,
    void *data)
{
    ngx_http_wapress_flight_t *fl = data;

    ngx_queue_t              *q;
    ngx_http_wapress_wait_t  *w;

    ngx_rbtree_delete(fl->tree, &fl->node);

    if (reply->type == NGX_HTTP_WAPRESS_REDIS_FAILED) {
        ngx_http_wapress_stats_redis(fl->server,
                                     NGX_HTTP_WAPRESS_STATS_DROPPED, 0);

    } else {
        ngx_http_wapress_stats_redis(fl->server, NGX_HTTP_WAPRESS_STATS_REPLY,
                                     ngx_current_msec - fl->sent);
    }

    while (!ngx_queue_empty(&fl->waiters)) {
        q = ngx_queue_head(&fl->waiters);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_http_wapress_wait_t, queue);
        w->flight = NULL;

        w->handler(reply, w->data);
    }

    ngx_free(fl);
}


static ngx_http_wapress_flight_t *
ngx_http_wapress_fetch_find(ngx_rbtree_t *tree, ngx_http_wapress_flight_t *q)
{
    ngx_int_t           rc;
    ngx_rbtree_node_t  *node, *sentinel;

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        rc = ngx_http_wapress_fetch_cmp(q, (ngx_http_wapress_flight_t *) node);

        if (rc == 0) {
            return (ngx_http_wapress_flight_t *) node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* a total order of flights: the hash, then all that tells them apart */

static ngx_int_t
ngx_http_wapress_fetch_cmp(ngx_http_wapress_flight_t *a,
    ngx_http_wapress_flight_t *b)
{
    ngx_int_t  rc;

    if (a->node.key != b->node.key) {
        return (a->node.key < b->node.key) ? -1 : 1;
    }

    if (a->server != b->server) {
        return ((uintptr_t) a->server < (uintptr_t) b->server) ? -1 : 1;
    }

    if (a->max_size != b->max_size) {
        return (a->max_size < b->max_size) ? -1 : 1;
    }

    if (a->hget != b->hget) {
        return a->hget ? 1 : -1;
    }

    rc = ngx_http_wapress_fetch_strcmp(&a->key, &b->key);

    if (rc != 0) {
        return rc;
    }

    return ngx_http_wapress_fetch_strcmp(&a->field, &b->field);
}


/* ngx_memn2cmp() that may be given an empty string without its bytes */

static ngx_int_t
ngx_http_wapress_fetch_strcmp(ngx_str_t *a, ngx_str_t *b)
{
    if (a->len == 0 || b->len == 0) {
        return (a->len > b->len) - (a->len < b->len);
    }

    return ngx_memn2cmp(a->data, b->data, a->len, b->len);
}


static void
ngx_http_wapress_fetch_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t  **p;

    for ( ;; ) {

        p = (ngx_http_wapress_fetch_cmp((ngx_http_wapress_flight_t *) node,
                                        (ngx_http_wapress_flight_t *) temp)
             < 0)
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_uint_t
ngx_http_wapress_fetch_value(ngx_http_wapress_loc_conf_t *wlcf,
    ngx_uint_t i, ngx_http_wapress_redis_reply_t *reply, ngx_pool_t *pool,
    ngx_str_t *value, uint64_t *hash, ngx_uint_t *memo, u_char *err,
    size_t len)
{
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_http_wapress_fragment_t  *frag;

    frag = wlcf->fragments->elts;

    switch (reply->type) {

    case NGX_HTTP_WAPRESS_REDIS_STRING:

        rc = ngx_http_wapress_fragment_render(pool, &frag[i],
                                              reply->str.data,
                                              reply->str.len, value, hash,
                                              memo, err, len);
        if (rc == NGX_OK) {
            return NGX_HTTP_WAPRESS_FETCH_VALUE;
        }

        if (rc == NGX_ERROR) {
            p = ngx_snprintf(err, len - 1, "no memory");
            *p = '\0';
        }

        return NGX_HTTP_WAPRESS_FETCH_BAD;

    case NGX_HTTP_WAPRESS_REDIS_NIL:
        return NGX_HTTP_WAPRESS_FETCH_NIL;

    case NGX_HTTP_WAPRESS_REDIS_ERROR:
        p = ngx_snprintf(err, len - 1, "Redis error: %*s",
                         ngx_min(reply->str.len, 200), reply->str.data);
        *p = '\0';
        return NGX_HTTP_WAPRESS_FETCH_FAILED;

    case NGX_HTTP_WAPRESS_REDIS_FAILED:

        switch (reply->failure) {

        case NGX_HTTP_WAPRESS_REDIS_TOO_LARGE:
            /* a bad value, not a Redis failure: no stale copy */
            p = ngx_snprintf(err, len - 1, "value of %L bytes is larger "
                             "than wapress_fragment_max_size %uz",
                             reply->integer, wlcf->max_size);
            *p = '\0';
            return NGX_HTTP_WAPRESS_FETCH_BAD;

        default: /* lost, dropped: the text says it */
            p = ngx_snprintf(err, len - 1, "%V", &reply->str);
            *p = '\0';
            return NGX_HTTP_WAPRESS_FETCH_FAILED;
        }

    default:
        p = ngx_snprintf(err, len - 1, "unexpected Redis reply type %ui",
                         reply->type);
        *p = '\0';
        return NGX_HTTP_WAPRESS_FETCH_FAILED;
    }
}
