
/*
 * ngx_http_wapress_redis_cluster_redirect.c: a cluster node's redirects,
 * followed inside the layer (the caller never sees them; the command
 * keeps its RESP bytes):
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
