
/*
 * ngx_http_wapress_redis_cluster.c: "wapress_redis cluster HOST:PORT ...":
 * which node of a Redis Cluster a command goes to.  Per worker and
 * server:
 *
 * - a table of the nodes (at most 64: the seeds, then those the map or a
 *   redirect names), each with a server object of its own (its name
 *   "IP:PORT", the cluster's user and password) and so one ordinary
 *   connection of the layer (_redis.c: non-blocking connect, AUTH,
 *   READONLY with read=replica, backoff, watchdog), whose events
 *   wapress_status counts under the cluster's server;
 * - the slot map, the node of each of the 16384 slots, from CLUSTER
 *   SLOTS (every Redis >= 3), asked of the nodes in turn (each answer
 *   within 1 s or the next node is asked): at worker start, after a
 *   MOVED, when a node's connection ends, and every 30 s, never more
 *   often than once a second.  A reply that is not a map is one error
 *   line and the map is kept;
 * - where a command goes, and MOVED and ASK: _redis_cluster_route.c.
 *
 * Every change of the topology (the map, a node added or gone) is one
 * notice.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_cluster.h"


static void ngx_http_wapress_cluster_ask(ngx_http_wapress_redis_cluster_t *cl);
static void ngx_http_wapress_cluster_ask_node(
    ngx_http_wapress_redis_cluster_t *cl);
static void ngx_http_wapress_cluster_next(ngx_http_wapress_redis_cluster_t *cl,
    const char *why, size_t len);
static void ngx_http_wapress_cluster_done(ngx_http_wapress_redis_cluster_t *cl);
static void ngx_http_wapress_cluster_timer(ngx_event_t *ev);
static void ngx_http_wapress_cluster_slots_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static ngx_int_t ngx_http_wapress_cluster_map(
    ngx_http_wapress_redis_cluster_t *cl, ngx_http_wapress_cluster_node_t *from,
    redisReply *reply);
static ngx_uint_t ngx_http_wapress_cluster_addr(
    ngx_http_wapress_redis_cluster_t *cl, ngx_http_wapress_cluster_node_t *from,
    redisReply *r);


ngx_int_t
ngx_http_wapress_redis_cluster_init_process(
    ngx_http_wapress_redis_server_t *srv)
{
    ngx_uint_t                         i;
    ngx_http_wapress_redis_cluster_t  *cl;

    cl = srv->cluster;

    cl->log = ngx_cycle->log;
    cl->timer.handler = ngx_http_wapress_cluster_timer;
    cl->timer.data = cl;
    cl->timer.log = cl->log;
    cl->timer.cancelable = 1;

    cl->nodes = ngx_pcalloc(ngx_cycle->pool,
                            NGX_HTTP_WAPRESS_CLUSTER_NODES
                            * sizeof(ngx_http_wapress_cluster_node_t));
    cl->slots = ngx_palloc(ngx_cycle->pool,
                           3 * NGX_HTTP_WAPRESS_REDIS_SLOTS * sizeof(uint16_t));

    if (cl->nodes == NULL || cl->slots == NULL) {
        return NGX_ERROR;
    }

    cl->next = cl->slots + NGX_HTTP_WAPRESS_REDIS_SLOTS;
    cl->last = cl->next + NGX_HTTP_WAPRESS_REDIS_SLOTS;

    for (i = 0; i < NGX_HTTP_WAPRESS_REDIS_SLOTS; i++) {
        cl->slots[i] = NGX_HTTP_WAPRESS_CLUSTER_NONE;
        cl->last[i] = NGX_HTTP_WAPRESS_CLUSTER_NONE;
    }

    for (i = 0; i < cl->nseeds; i++) {
        (void) ngx_http_wapress_redis_cluster_node(cl, cl->seeds[i].host.data,
                                                   cl->seeds[i].host.len,
                                                   cl->seeds[i].port, NULL);
    }

    ngx_http_wapress_cluster_ask(cl);

    return NGX_OK;
}


void
ngx_http_wapress_redis_cluster_cleanup(ngx_http_wapress_redis_server_t *srv)
{
    ngx_uint_t                         i;
    ngx_http_wapress_redis_cluster_t  *cl;

    cl = srv->cluster;
    cl->exiting = 1;
    cl->busy = 0;

    if (cl->timer.timer_set) {
        ngx_del_timer(&cl->timer);
    }

    for (i = 0; i < cl->nnodes; i++) {
        ngx_http_wapress_redis_conn_free(cl->nodes[i].server->conn);
    }
}


/*
 * The node at host:port (an IP literal), added if new (with its server:
 * how != NULL says why, for the notice).  NONE if the table is full.
 */

ngx_uint_t
ngx_http_wapress_redis_cluster_node(ngx_http_wapress_redis_cluster_t *cl,
    u_char *host, size_t hlen, ngx_uint_t port, const char *how)
{
    u_char                           *p;
    ngx_uint_t                        i, level;
    ngx_http_wapress_redis_server_t  *srv, *parent;
    ngx_http_wapress_cluster_node_t  *node;

    for (i = 0; i < cl->nnodes; i++) {
        node = &cl->nodes[i];

        if (node->port == port && ngx_strlen(node->host) == hlen
            && ngx_strncmp(node->host, host, hlen) == 0)
        {
            return i;
        }
    }

    parent = cl->server;

    if (cl->nnodes == NGX_HTTP_WAPRESS_CLUSTER_NODES
        || hlen > NGX_SOCKADDR_STRLEN || port == 0 || port > 65535)
    {
        level = cl->full ? NGX_LOG_INFO : NGX_LOG_ERR;

        ngx_log_error(level, cl->log, 0,
                      "wapress: redis %V: node %*s:%ui not added (at most "
                      "%d nodes)", &parent->name, ngx_min(hlen, 64), host,
                      port, NGX_HTTP_WAPRESS_CLUSTER_NODES);
        cl->full = 1;
        return NGX_HTTP_WAPRESS_CLUSTER_NONE;
    }

    srv = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_http_wapress_redis_server_t));
    p = ngx_pnalloc(ngx_cycle->pool, hlen + sizeof("[]:65535"));

    if (srv == NULL || p == NULL) {
        return NGX_HTTP_WAPRESS_CLUSTER_NONE;
    }

    node = &cl->nodes[cl->nnodes];

    ngx_memcpy(node->host, host, hlen);
    node->host[hlen] = '\0';
    node->port = (in_port_t) port;
    node->server = srv;
    node->replica = NGX_HTTP_WAPRESS_CLUSTER_NONE;

    srv->name.data = p;

    if (ngx_strlchr(host, host + hlen, ':') != NULL) {
        p = ngx_sprintf(p, "[%*s]:%ui", hlen, host, port);

    } else {
        p = ngx_sprintf(p, "%*s:%ui", hlen, host, port);
    }

    srv->name.len = p - srv->name.data;
    srv->host.data = node->host;
    srv->host.len = hlen;
    ngx_str_set(&srv->unix_path, "");
    srv->port = (in_port_t) port;
    srv->user = parent->user;
    srv->password = parent->password;
    srv->max_reply = parent->max_reply;
    srv->stall = parent->stall;
    srv->parent = parent;
    srv->readonly = (cl->read != NGX_HTTP_WAPRESS_CLUSTER_PRIMARY);

    if (how) {
        ngx_log_error(NGX_LOG_NOTICE, cl->log, 0,
                      "wapress: redis %V: node %V added (%s)",
                      &parent->name, &srv->name, how);
    }

    return cl->nnodes++;
}


/* a refresh: now, or when a second has passed since the last one */

void
ngx_http_wapress_redis_cluster_refresh(ngx_http_wapress_redis_cluster_t *cl)
{
    ngx_msec_int_t  left;

    if (cl->exiting || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (cl->busy) {
        cl->again = 1;
        return;
    }

    left = (ngx_msec_int_t) (cl->asked + NGX_HTTP_WAPRESS_CLUSTER_MIN
                             - ngx_current_msec);

    if (left <= 0) {
        ngx_http_wapress_cluster_ask(cl);
        return;
    }

    if (cl->timer.timer_set
        && (ngx_msec_int_t) (cl->timer.timer.key - ngx_current_msec) <= left)
    {
        return;
    }

    ngx_add_timer(&cl->timer, (ngx_msec_t) left);
}


void
ngx_http_wapress_redis_cluster_lost(ngx_http_wapress_redis_conn_t *conn)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, conn->log, 0,
                   "wapress redis %V: a node's connection ended, the map "
                   "is asked for", &conn->server->name);

    ngx_http_wapress_redis_cluster_refresh(conn->server->parent->cluster);
}


static void
ngx_http_wapress_cluster_ask(ngx_http_wapress_redis_cluster_t *cl)
{
    if (cl->exiting || cl->nnodes == 0
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        return;
    }

    cl->busy = 1;
    cl->again = 0;
    cl->tried = 0;
    cl->asked = ngx_current_msec;
    cl->why[0] = '\0';

    ngx_http_wapress_cluster_ask_node(cl);
}


/* CLUSTER SLOTS, asked of nodes[asking] on its ordinary connection */

static void
ngx_http_wapress_cluster_ask_node(ngx_http_wapress_redis_cluster_t *cl)
{
    const char                       *err;
    redisAsyncContext                *ac;
    ngx_http_wapress_cluster_node_t  *node;

    node = &cl->nodes[cl->asking];

    ac = ngx_http_wapress_redis_get(node->server,
                                    NGX_HTTP_WAPRESS_CLUSTER_CONNECT,
                                    cl->log, &err);
    if (ac == NULL) {
        ngx_http_wapress_cluster_next(cl, err, ngx_strlen(err));
        return;
    }

    if (redisAsyncCommand(ac, ngx_http_wapress_cluster_slots_reply, node,
                          "CLUSTER SLOTS")
        != REDIS_OK)
    {
        ngx_http_wapress_cluster_next(cl, "connection is closing",
                                      sizeof("connection is closing") - 1);
        return;
    }

    if (cl->timer.timer_set) {
        ngx_del_timer(&cl->timer);
    }

    ngx_add_timer(&cl->timer, NGX_HTTP_WAPRESS_CLUSTER_ANSWER);
}


/* this node did not answer: the next one, or the round failed */

static void
ngx_http_wapress_cluster_next(ngx_http_wapress_redis_cluster_t *cl,
    const char *why, size_t len)
{
    u_char      *p;
    ngx_uint_t   level;

    p = ngx_snprintf(cl->why, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "%V: %*s", &cl->nodes[cl->asking].server->name,
                     ngx_min(len, 160), why);
    *p = '\0';

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cl->log, 0,
                   "wapress redis %V: %s", &cl->server->name, cl->why);

    cl->asking = (cl->asking + 1) % cl->nnodes;

    if (++cl->tried < cl->nnodes && !cl->exiting) {
        ngx_http_wapress_cluster_ask_node(cl);
        return;
    }

    cl->busy = 0;

    if (cl->timer.timer_set) {
        ngx_del_timer(&cl->timer);
    }

    level = cl->failed ? NGX_LOG_INFO : NGX_LOG_ERR;

    ngx_log_error(level, cl->log, 0,
                  "wapress: redis %V: no node answered CLUSTER SLOTS (%ui "
                  "asked, last %s), %s", &cl->server->name, cl->nnodes,
                  cl->why, cl->mapped ? "keeping the map" : "no map yet");

    cl->failed = 1;

    if (!(ngx_exiting || ngx_quit || ngx_terminate)) {
        ngx_add_timer(&cl->timer, NGX_HTTP_WAPRESS_CLUSTER_MIN);
    }
}


static void
ngx_http_wapress_cluster_done(ngx_http_wapress_redis_cluster_t *cl)
{
    cl->busy = 0;

    if (cl->failed) {
        cl->failed = 0;

        ngx_log_error(NGX_LOG_NOTICE, cl->log, 0,
                      "wapress: redis %V: the nodes answer again (%V)",
                      &cl->server->name, &cl->nodes[cl->asking].server->name);
    }

    if (cl->timer.timer_set) {
        ngx_del_timer(&cl->timer);
    }

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(&cl->timer, cl->again ? NGX_HTTP_WAPRESS_CLUSTER_MIN
                                        : NGX_HTTP_WAPRESS_CLUSTER_EVERY);
    cl->again = 0;
}


/* an answer is due (the next node), or a refresh */

static void
ngx_http_wapress_cluster_timer(ngx_event_t *ev)
{
    u_char                            *p;
    ngx_http_wapress_redis_cluster_t  *cl;
    u_char                             text[64];

    cl = ev->data;

    if (!cl->busy) {
        ngx_http_wapress_cluster_ask(cl);
        return;
    }

    p = ngx_sprintf(text, "no answer in %dms",
                    NGX_HTTP_WAPRESS_CLUSTER_ANSWER);

    ngx_http_wapress_cluster_next(cl, (char *) text, p - text);
}


static void
ngx_http_wapress_cluster_slots_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_uint_t                         level;
    redisReply                        *reply;
    ngx_http_wapress_cluster_node_t   *node;
    ngx_http_wapress_redis_cluster_t  *cl;

    reply = r;
    node = privdata;
    cl = node->server->parent->cluster;

    if (cl->exiting || !cl->busy || &cl->nodes[cl->asking] != node) {
        /* too late: another node is asked now */
        return;
    }

    if (reply == NULL) {
        ngx_http_wapress_cluster_next(cl, "connection lost",
                                      sizeof("connection lost") - 1);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_wapress_cluster_next(cl, reply->str, reply->len);
        return;
    }

    if (ngx_http_wapress_cluster_map(cl, node, reply) != NGX_OK) {
        level = cl->garbage ? NGX_LOG_INFO : NGX_LOG_ERR;

        ngx_log_error(level, cl->log, 0,
                      "wapress: redis %V: bad reply to CLUSTER SLOTS from "
                      "%V, %s", &cl->server->name, &node->server->name,
                      cl->mapped ? "keeping the map" : "no map yet");
        cl->garbage = 1;

    } else {
        cl->garbage = 0;
    }

    ngx_http_wapress_cluster_done(cl);
}


/*
 * CLUSTER SLOTS: [[start, end, [ip, port, ...], [replica ip, port, ...],
 * ...], ...].  Read whole into cl->next before anything changes.
 */

static ngx_int_t
ngx_http_wapress_cluster_map(ngx_http_wapress_redis_cluster_t *cl,
    ngx_http_wapress_cluster_node_t *from, redisReply *reply)
{
    u_char                           *p, *last;
    size_t                            i, j;
    ngx_int_t                         start, end;
    ngx_uint_t                        k, n, pi, ri, nr, changed, routing,
                                      pick;
    redisReply                       *range;
    ngx_http_wapress_cluster_node_t  *node;
    uint16_t                          replica[NGX_HTTP_WAPRESS_CLUSTER_NODES];
    u_char                            text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        return NGX_ERROR;
    }

    for (i = 0; i < reply->elements; i++) {
        range = reply->element[i];

        if (range->type != REDIS_REPLY_ARRAY || range->elements < 3
            || range->element[0]->type != REDIS_REPLY_INTEGER
            || range->element[1]->type != REDIS_REPLY_INTEGER
            || range->element[0]->integer < 0
            || range->element[1]->integer >= NGX_HTTP_WAPRESS_REDIS_SLOTS
            || range->element[0]->integer > range->element[1]->integer)
        {
            return NGX_ERROR;
        }

        for (j = 2; j < range->elements; j++) {
            if (range->element[j]->type != REDIS_REPLY_ARRAY
                || range->element[j]->elements < 2
                || range->element[j]->element[0]->type != REDIS_REPLY_STRING
                || range->element[j]->element[1]->type != REDIS_REPLY_INTEGER)
            {
                return NGX_ERROR;
            }
        }
    }

    /* a good map: read it */

    for (k = 0; k < NGX_HTTP_WAPRESS_REDIS_SLOTS; k++) {
        cl->next[k] = NGX_HTTP_WAPRESS_CLUSTER_NONE;
    }

    for (k = 0; k < NGX_HTTP_WAPRESS_CLUSTER_NODES; k++) {
        replica[k] = NGX_HTTP_WAPRESS_CLUSTER_NONE;
        cl->nodes[k].seen = 0;
    }

    n = 0;

    for (i = 0; i < reply->elements; i++) {
        range = reply->element[i];
        start = range->element[0]->integer;
        end = range->element[1]->integer;

        pi = ngx_http_wapress_cluster_addr(cl, from, range->element[2]);

        if (pi == NGX_HTTP_WAPRESS_CLUSTER_NONE) {
            continue;
        }

        cl->nodes[pi].seen = 1;

        /* the replica this worker reads from: one of them, by pid */

        nr = range->elements - 3;
        pick = nr ? (ngx_uint_t) ngx_pid % nr : 0;

        for (j = 3; j < range->elements; j++) {
            ri = ngx_http_wapress_cluster_addr(cl, from, range->element[j]);

            if (ri == NGX_HTTP_WAPRESS_CLUSTER_NONE) {
                continue;
            }

            cl->nodes[ri].seen = 1;

            if (j - 3 == pick || replica[pi] == NGX_HTTP_WAPRESS_CLUSTER_NONE)
            {
                replica[pi] = (uint16_t) ri;
            }
        }

        for (k = (ngx_uint_t) start; k <= (ngx_uint_t) end; k++) {
            cl->next[k] = (uint16_t) pi;
        }

        n += end - start + 1;
    }

    /*
     * Compared with the last map read, not with the table in use: a
     * MOVED has patched that already, and the move must still be told.
     */

    changed = ngx_memcmp(cl->next, cl->last,
                         NGX_HTTP_WAPRESS_REDIS_SLOTS * sizeof(uint16_t))
              != 0;

    routing = ngx_memcmp(cl->next, cl->slots,
                         NGX_HTTP_WAPRESS_REDIS_SLOTS * sizeof(uint16_t))
              != 0;

    for (k = 0; k < cl->nnodes; k++) {
        node = &cl->nodes[k];

        if (node->replica != replica[k]) {
            changed = 1;
            node->replica = replica[k];
        }

        if (node->listed && !node->seen) {
            ngx_log_error(NGX_LOG_NOTICE, cl->log, 0,
                          "wapress: redis %V: node %V is gone from the map",
                          &cl->server->name, &node->server->name);
        }

        node->listed = node->seen;
    }

    cl->mapped = 1;

    if (!changed && !routing) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cl->log, 0,
                       "wapress redis %V: the slot map is the same",
                       &cl->server->name);
        return NGX_OK;
    }

    ngx_memcpy(cl->slots, cl->next,
               NGX_HTTP_WAPRESS_REDIS_SLOTS * sizeof(uint16_t));
    ngx_memcpy(cl->last, cl->next,
               NGX_HTTP_WAPRESS_REDIS_SLOTS * sizeof(uint16_t));

    p = text;
    last = text + sizeof(text) - 1;

    for (k = 0; k < cl->nnodes; k++) {
        node = &cl->nodes[k];
        node->primary = 0;

        for (i = 0; i < NGX_HTTP_WAPRESS_REDIS_SLOTS; i++) {
            if (cl->slots[i] == k) {
                node->primary = 1;
                break;
            }
        }

        if (node->primary) {
            p = ngx_slprintf(p, last, " %V", &node->server->name);

            if (node->replica != NGX_HTTP_WAPRESS_CLUSTER_NONE) {
                p = ngx_slprintf(p, last, " (replica %V)",
                                 &cl->nodes[node->replica].server->name);
            }
        }
    }

    *p = '\0';

    if (!changed) {
        /* only what MOVED had patched differed: told already */
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cl->log, 0,
                       "wapress redis %V: the slot map is the one read",
                       &cl->server->name);
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_NOTICE, cl->log, 0,
                  "wapress: redis %V: slot map from %V: %ui of %d slots "
                  "on%s", &cl->server->name, &from->server->name, n,
                  NGX_HTTP_WAPRESS_REDIS_SLOTS, text);

    return NGX_OK;
}


/* [ip, port, ...] of a map: the node (added if new), or NONE */

static ngx_uint_t
ngx_http_wapress_cluster_addr(ngx_http_wapress_redis_cluster_t *cl,
    ngx_http_wapress_cluster_node_t *from, redisReply *r)
{
    u_char     *host;
    size_t      hlen;
    long long   port;
    u_char      buf[NGX_SOCKADDR_STRLEN];

    host = (u_char *) r->element[0]->str;
    hlen = r->element[0]->len;
    port = r->element[1]->integer;

    if (hlen == 0 || (hlen == 1 && host[0] == '?')) {
        /* the node asked does not know its own address: where we asked */
        host = from->host;
        hlen = ngx_strlen(from->host);
    }

    /* an IP literal: hiredis would resolve a name, blocking */

    if (hlen > NGX_SOCKADDR_STRLEN || port < 1 || port > 65535
        || (ngx_inet_addr(host, hlen) == INADDR_NONE
#if (NGX_HAVE_INET6)
            && ngx_inet6_addr(host, hlen, buf) != NGX_OK
#endif
           ))
    {
        ngx_log_error(NGX_LOG_INFO, cl->log, 0,
                      "wapress: redis %V: a node is not at an IP address, "
                      "skipped", &cl->server->name);
        return NGX_HTTP_WAPRESS_CLUSTER_NONE;
    }

    return ngx_http_wapress_redis_cluster_node(cl, host, hlen,
                                               (ngx_uint_t) port, "the map");
}
