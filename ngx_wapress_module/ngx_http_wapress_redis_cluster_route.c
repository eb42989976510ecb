
/*
 * ngx_http_wapress_redis_cluster_route.c: where a cluster's command goes.
 *
 * The key (argv[1]) gives the slot, the slot its primary's connection
 * (the commands of every page to one node share it and leave in one
 * write per event-loop turn); with read=replica GET and HGET go to one
 * of the primary's replicas (chosen by the worker's pid when the map is
 * read), with read=prefer-replica only while that one's connection is
 * up.  A slot not known yet goes to a node that is up (MOVED fixes it).
 *
 * A node's redirects are followed inside the layer (the caller never
 * sees them; the command keeps its RESP bytes):
 *
 * - "MOVED slot ip:port": the slot is that node's from now on (the node
 *   added if new), the map is asked for again (at most once a second),
 *   and the command is sent there (after those waiting on that node);
 * - "ASK slot ip:port": ASKING and the command are written to that node
 *   at once, adjacent (the slot migrates; the map does not change).
 *
 * At most 5 redirects per command, then the error goes to the handler.
 * A cancelled command is never sent again (_redis_cmd.c frees it before
 * asking here); the page's own deadline bounds the rest.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_cluster.h"


static ngx_int_t ngx_http_wapress_cluster_up(
    ngx_http_wapress_cluster_node_t *node);
static redisAsyncContext *ngx_http_wapress_cluster_any(
    ngx_http_wapress_redis_cluster_t *cl, ngx_msec_t connect_timeout,
    ngx_log_t *log, ngx_http_wapress_redis_conn_t **conn, const char **err);


ngx_int_t
ngx_http_wapress_redis_cluster_redirect(ngx_http_wapress_redis_cmd_t *cmd,
    redisReply *reply)
{
    u_char                            *p, *last, *sp, *colon;
    ngx_int_t                          slot, port;
    ngx_uint_t                         ask, n;
    const char                        *err;
    redisAsyncContext                 *ac;
    ngx_http_wapress_redis_conn_t     *from;
    ngx_http_wapress_redis_server_t   *srv;
    ngx_http_wapress_redis_cluster_t  *cl;
    u_char                             buf[16];

    from = cmd->conn;
    cl = from->server->parent->cluster;

    p = (u_char *) reply->str;
    last = p + reply->len;

    if (reply->len > 6 && ngx_strncmp(p, "MOVED ", 6) == 0) {
        ask = 0;
        p += 6;

    } else if (reply->len > 4 && ngx_strncmp(p, "ASK ", 4) == 0) {
        ask = 1;
        p += 4;

    } else {
        if (reply->len >= 11 && ngx_strncmp(p, "CLUSTERDOWN", 11) == 0) {
            /* a primary failed: the map is asked for (once a second) */
            ngx_http_wapress_redis_cluster_refresh(cl);
        }

        return NGX_DECLINED;
    }

    /* "slot ip:port": the port after the last ":" (IPv6) */

    sp = ngx_strlchr(p, last, ' ');

    if (sp == NULL) {
        return NGX_DECLINED;
    }

    slot = ngx_atoi(p, sp - p);

    for (colon = last - 1; colon > sp && *colon != ':'; colon--) {
        /* void */
    }

    if (colon == sp || slot == NGX_ERROR
        || slot >= NGX_HTTP_WAPRESS_REDIS_SLOTS)
    {
        return NGX_DECLINED;
    }

    port = ngx_atoi(colon + 1, last - colon - 1);

    if (port == NGX_ERROR || port < 1 || port > 65535 || cl->exiting) {
        return NGX_DECLINED;
    }

    sp++;

    if (sp < colon && *sp == '[' && *(colon - 1) == ']') {
        sp++;
        colon--;
    }

    if (ngx_inet_addr(sp, colon - sp) == INADDR_NONE
#if (NGX_HAVE_INET6)
        && ngx_inet6_addr(sp, colon - sp, buf) != NGX_OK
#endif
       )
    {
        return NGX_DECLINED;
    }

    ngx_log_debug6(NGX_LOG_DEBUG_HTTP, cl->log, 0,
                   "wapress redis %V: %s %i %*s:%i",
                   &cl->server->name, ask ? "ASK" : "MOVED", slot,
                   (size_t) (colon - sp), sp, port);

    if (cmd->redirects >= NGX_HTTP_WAPRESS_CLUSTER_REDIRECTS) {
        ngx_log_error(NGX_LOG_INFO, cl->log, 0,
                      "wapress: redis %V: a command was redirected %d "
                      "times, given up", &cl->server->name,
                      NGX_HTTP_WAPRESS_CLUSTER_REDIRECTS);
        return NGX_DECLINED;
    }

    n = ngx_http_wapress_redis_cluster_node(cl, sp, colon - sp,
                                            (ngx_uint_t) port,
                                            ask ? "ASK" : "MOVED");

    if (n == NGX_HTTP_WAPRESS_CLUSTER_NONE) {
        return NGX_DECLINED;
    }

    if (!ask) {
        cl->slots[slot] = (uint16_t) n;
        cl->nodes[n].primary = 1;
        ngx_http_wapress_redis_cluster_refresh(cl);
    }

    srv = cl->nodes[n].server;

    ac = ngx_http_wapress_redis_get(srv, cmd->connect_timeout, cl->log, &err);

    if (ac == NULL) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cl->log, 0,
                       "wapress redis %V: redirect not followed: %s",
                       &cl->server->name, err);
        return NGX_DECLINED;
    }

    cmd->redirects++;

    /* a replica's MOVED names the primary: the read is the primary's now */

    cmd->replica = 0;

    if (ngx_http_wapress_redis_cmd_resend(srv->conn, ac, cmd, ask) != NGX_OK) {
        cmd->conn = from;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


redisAsyncContext *
ngx_http_wapress_redis_cluster_route(ngx_http_wapress_redis_server_t *srv,
    ngx_str_t *argv, ngx_uint_t argc, ngx_msec_t connect_timeout,
    ngx_log_t *log, ngx_http_wapress_redis_conn_t **connp, ngx_uint_t *slot,
    ngx_uint_t *replica, const char **err)
{
    const char                        *e;
    ngx_uint_t                         n;
    redisAsyncContext                 *ac;
    ngx_http_wapress_cluster_node_t   *node, *rnode;
    ngx_http_wapress_redis_cluster_t  *cl;

    cl = srv->cluster;

    if (cl->nodes == NULL) {
        *err = "the cluster is not set up in this process";
        return NULL;
    }

    if (argc < 2) {
        /* no key: any node */
        return ngx_http_wapress_cluster_any(cl, connect_timeout, log, connp,
                                            err);
    }

    *slot = ngx_http_wapress_redis_slot(argv[1].data, argv[1].len);
    n = cl->slots[*slot];

    if (n == NGX_HTTP_WAPRESS_CLUSTER_NONE) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                       "wapress redis %V: slot %ui not known yet",
                       &srv->name, *slot);

        ngx_http_wapress_redis_cluster_refresh(cl);

        return ngx_http_wapress_cluster_any(cl, connect_timeout, log, connp,
                                            err);
    }

    node = &cl->nodes[n];

    if (cl->read != NGX_HTTP_WAPRESS_CLUSTER_PRIMARY
        && node->replica != NGX_HTTP_WAPRESS_CLUSTER_NONE
        && ((argv[0].len == 3
             && ngx_strncasecmp(argv[0].data, (u_char *) "GET", 3) == 0)
            || (argv[0].len == 4
                && ngx_strncasecmp(argv[0].data, (u_char *) "HGET", 4) == 0)))
    {
        rnode = &cl->nodes[node->replica];

        if (cl->read == NGX_HTTP_WAPRESS_CLUSTER_REPLICA
            || ngx_http_wapress_cluster_up(rnode) == NGX_OK)
        {
            ac = ngx_http_wapress_redis_get(rnode->server, connect_timeout,
                                            log, &e);
            if (ac != NULL) {
                *connp = rnode->server->conn;
                *replica = 1;
                return ac;
            }

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                           "wapress redis %V: read from the primary: %s",
                           &srv->name, e);

        } else if (rnode->server->conn == NULL
                   || rnode->server->conn->ac == NULL)
        {
            /* prefer-replica: connected for the next reads */
            (void) ngx_http_wapress_redis_get(rnode->server, connect_timeout,
                                              log, &e);
        }
    }

    ac = ngx_http_wapress_redis_get(node->server, connect_timeout, log, err);

    if (ac == NULL) {
        /*
         * the slot's primary cannot be used (down, its backoff): it may
         * have been replaced; the map is asked for (once a second), not
         * left until the backoff lets its connection try again
         */
        ngx_http_wapress_redis_cluster_refresh(cl);
        return NULL;
    }

    *connp = node->server->conn;

    return ac;
}


/* a read failed on a replica: the connection of its slot's primary */

redisAsyncContext *
ngx_http_wapress_redis_cluster_primary(ngx_http_wapress_redis_cmd_t *cmd,
    ngx_http_wapress_redis_conn_t **connp)
{
    const char                        *err;
    ngx_uint_t                         n;
    redisAsyncContext                 *ac;
    ngx_http_wapress_redis_server_t   *srv;
    ngx_http_wapress_redis_cluster_t  *cl;

    cl = cmd->conn->server->parent->cluster;

    if (cmd->slot == NGX_HTTP_WAPRESS_REDIS_NO_SLOT || cl->exiting) {
        return NULL;
    }

    n = cl->slots[cmd->slot];

    if (n == NGX_HTTP_WAPRESS_CLUSTER_NONE) {
        return NULL;
    }

    srv = cl->nodes[n].server;

    ac = ngx_http_wapress_redis_get(srv, cmd->connect_timeout, cl->log, &err);

    *connp = srv->conn;

    return ac;
}


/* the node's connection is up (its setup replies came) */

static ngx_int_t
ngx_http_wapress_cluster_up(ngx_http_wapress_cluster_node_t *node)
{
    redisAsyncContext              *ac;
    ngx_http_wapress_redis_link_t  *link;

    ac = node->server->conn ? node->server->conn->ac : NULL;
    link = ac ? ac->data : NULL;

    if (link == NULL || !link->ready || link->closing
        || (ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)))
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * A command whose slot is not known (or without a key): a node that is
 * up, the next one each time; else any whose connection may be made.
 */

static redisAsyncContext *
ngx_http_wapress_cluster_any(ngx_http_wapress_redis_cluster_t *cl,
    ngx_msec_t connect_timeout, ngx_log_t *log,
    ngx_http_wapress_redis_conn_t **connp, const char **err)
{
    ngx_uint_t                        i, n;
    redisAsyncContext                *ac;
    ngx_http_wapress_cluster_node_t  *node;

    *err = "no cluster node known";

    for (i = 0; i < cl->nnodes; i++) {
        n = (cl->route + i) % cl->nnodes;
        node = &cl->nodes[n];

        if (ngx_http_wapress_cluster_up(node) == NGX_OK) {
            cl->route = n + 1;
            *connp = node->server->conn;
            return node->server->conn->ac;
        }
    }

    for (i = 0; i < cl->nnodes; i++) {
        n = (cl->route + i) % cl->nnodes;
        node = &cl->nodes[n];

        ac = ngx_http_wapress_redis_get(node->server, connect_timeout, log,
                                        err);
        if (ac != NULL) {
            cl->route = n + 1;
            *connp = node->server->conn;
            return ac;
        }
    }

    return NULL;
}
