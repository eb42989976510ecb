
/*
 * ngx_http_wapress_redis_resolve.c: a Redis server named by a host name
 * ("wapress_redis redis.example:6379") whose address may change at run
 * time (Kubernetes, managed Redis).  With a "resolver" (the core
 * module's, in the block where the server is first named, or inherited
 * there), each new connection of the server first asks that resolver,
 * asynchronously, and connects to the first address of its answer (nginx
 * rotates them); the resolver's own cache keeps the answer for its TTL,
 * or for "valid=".  Meanwhile the connection is "connecting": commands
 * wait in its queue, bounded by the pages' deadlines.  A failed
 * resolution (NXDOMAIN, no answer in time) uses the last address found,
 * if there is one; else it fails like a refused connect (the backoff, one
 * log line).  Without a resolver the name is resolved when the
 * configuration loads, as always.  Nothing here blocks the worker: the
 * resolver's context belongs to the connection (conn->resolve), ended
 * by its answer or by the worker's exit, exactly once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"
#include "ngx_http_wapress_redis_sentinel.h"


static ngx_int_t ngx_http_wapress_redis_resolve_server(ngx_conf_t *cf,
    ngx_http_wapress_redis_server_t *srv);
static void ngx_http_wapress_redis_resolve_handler(ngx_resolver_ctx_t *ctx);
static void ngx_http_wapress_redis_resolve_notify(
    ngx_http_wapress_redis_conn_t *conn);
static ngx_int_t ngx_http_wapress_redis_resolve_now(ngx_conf_t *cf,
    ngx_http_wapress_redis_server_t *srv);


ngx_int_t
ngx_http_wapress_redis_resolve_parse(ngx_conf_t *cf, ngx_str_t *addr,
    ngx_http_wapress_redis_server_t *srv, in_port_t default_port)
{
    u_char     *p;
    ngx_url_t   u;
    ngx_addr_t  a;

    if (addr->len >= 5
        && ngx_strncasecmp(addr->data, (u_char *) "unix:", 5) == 0)
    {
        return NGX_DECLINED;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *addr;
    u.default_port = default_port;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK
        || u.host.len == 0
        || u.host.data[0] == '['
        || ngx_parse_addr(cf->pool, &a, u.host.data, u.host.len) == NGX_OK)
    {
        /* an IP literal, or an error that parse_address() reports */
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(cf->pool, u.host.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(p, u.host.data, u.host.len + 1);

    srv->hostname.data = p;
    srv->hostname.len = u.host.len;
    srv->port = u.no_port ? default_port : u.port;

    /* the address found last, a NUL-terminated IP literal: none yet */

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p[0] = '\0';

    srv->host.data = p;
    srv->host.len = 0;
    srv->unix_path.data = (u_char *) "";
    srv->unix_path.len = 0;

    /* its "resolver" is known once the configuration is merged */

    srv->clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    srv->conf_file = cf->conf_file->file.name;
    srv->conf_line = cf->conf_file->line;

    return NGX_OK;
}


ngx_int_t
ngx_http_wapress_redis_resolve_init(ngx_conf_t *cf, ngx_array_t *servers)
{
    ngx_uint_t                          i, j;
    ngx_http_wapress_redis_server_t   **sp;
    ngx_http_wapress_redis_sentinel_t  *sn;

    sp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {

        if (sp[i]->sentinel == NULL) {
            if (ngx_http_wapress_redis_resolve_server(cf, sp[i]) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        /* "wapress_redis sentinel": the Sentinels' own addresses */

        sn = sp[i]->sentinel;

        for (j = 0; j < sn->npeers; j++) {
            if (ngx_http_wapress_redis_resolve_server(cf,
                                                      sn->peers[j].server)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_wapress_redis_resolve_server(ngx_conf_t *cf,
    ngx_http_wapress_redis_server_t *srv)
{
    ngx_resolver_t  *r;

    if (srv->hostname.len == 0) {
        return NGX_OK;
    }

    /* merged: http{} has a resolver without name servers at least */

    r = srv->clcf ? srv->clcf->resolver : NULL;

    /*
     * "localhost" is the system's (/etc/hosts), not a DNS server's: a
     * resolver added for proxy_pass must not move it
     */

    if (r != NULL && r->connections.nelts > 0
        && !(srv->hostname.len == sizeof("localhost") - 1
             && ngx_strncasecmp(srv->hostname.data, (u_char *) "localhost",
                                srv->hostname.len)
                == 0))
    {
        srv->resolver = r;
        return NGX_OK;
    }

    return ngx_http_wapress_redis_resolve_now(cf, srv);
}


/* no resolver: the name is resolved now, as it always was */

static ngx_int_t
ngx_http_wapress_redis_resolve_now(ngx_conf_t *cf,
    ngx_http_wapress_redis_server_t *srv)
{
    size_t     len;
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = srv->hostname;
    u.default_port = srv->port;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK
        || u.naddrs == 0 || u.addrs == NULL)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "host not found in redis address \"%V:%d\" in %V:%ui",
                      &srv->hostname, (int) srv->port, &srv->conf_file,
                      srv->conf_line);
        return NGX_ERROR;
    }

    /* port 0: the bare address, an IPv6 one without brackets */

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                        srv->host.data, NGX_SOCKADDR_STRLEN, 0);
    srv->host.data[len] = '\0';
    srv->host.len = len;

    if (u.naddrs > 1) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "redis address \"%V:%d\" resolves to %ui addresses, "
                      "using %V in %V:%ui", &srv->hostname, (int) srv->port,
                      u.naddrs, &srv->host, &srv->conf_file, srv->conf_line);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_wapress_redis_resolve_start(ngx_http_wapress_redis_conn_t *conn,
    ngx_msec_t connect_timeout)
{
    u_char                           *p;
    ngx_resolver_ctx_t               *ctx;
    ngx_http_wapress_redis_server_t  *srv;
    u_char                            text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    srv = conn->server;

    ctx = ngx_resolve_start(srv->resolver, NULL);

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "resolve failed: %s",
                         ctx == NULL ? "no memory" : "no resolver");
        *p = '\0';

        ngx_http_wapress_redis_fail(conn, text, NGX_LOG_ERR);
        return NGX_ERROR;
    }

    ctx->name = srv->hostname;
    ctx->handler = ngx_http_wapress_redis_resolve_handler;
    ctx->data = conn;
    ctx->timeout = connect_timeout ? connect_timeout
                                   : NGX_HTTP_WAPRESS_REDIS_STALL;

    /* a worker that exits gracefully does not wait for the answer */
    ctx->cancelable = 1;

    conn->resolve = ctx;
    conn->connect_timeout = connect_timeout;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, conn->log, 0,
                   "wapress redis %V: resolving \"%V\"",
                   &srv->name, &srv->hostname);

    /* a cached answer calls the handler before this returns */

    if (ngx_resolve_name(ctx) != NGX_OK) {
        /* the resolver freed ctx */
        conn->resolve = NULL;

        ngx_http_wapress_redis_fail(conn, (u_char *)
                                    "resolve failed: the resolver failed",
                                    NGX_LOG_ERR);
        return NGX_ERROR;
    }

    if (conn->resolve != NULL) {
        return NGX_AGAIN;
    }

    return conn->ac ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_wapress_redis_resolve_handler(ngx_resolver_ctx_t *ctx)
{
    u_char                           *p;
    size_t                            len;
    ngx_int_t                         state;
    ngx_uint_t                        level, changed;
    ngx_http_wapress_redis_conn_t    *conn;
    ngx_http_wapress_redis_server_t  *srv;
    u_char                            text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
    u_char                            old[NGX_SOCKADDR_STRLEN + 1];

    conn = ctx->data;
    srv = conn->server;
    state = ctx->state;
    changed = 0;

    if (state == NGX_OK && ctx->naddrs > 0) {
        ngx_cpystrn(old, srv->host.data, sizeof(old));

        /* port 0: the bare address, an IPv6 one without brackets */

        len = ngx_sock_ntop(ctx->addrs[0].sockaddr, ctx->addrs[0].socklen,
                            srv->host.data, NGX_SOCKADDR_STRLEN, 0);
        srv->host.data[len] = '\0';
        srv->host.len = len;

        changed = (ngx_strcmp(old, srv->host.data) != 0);

        if (changed && old[0] != '\0') {
            ngx_log_error(NGX_LOG_NOTICE, conn->log, 0,
                          "wapress: redis %V: \"%V\" is now %V (was %s)",
                          &srv->name, &srv->hostname, &srv->host, old);
        }

    } else {
        p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "resolve failed: %s",
                         state == NGX_OK ? "no address"
                                         : ngx_resolver_strerror(state));
        *p = '\0';
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, conn->log, 0,
                   "wapress redis %V: resolved, state:%i \"%V\"",
                   &srv->name, state, &srv->host);

    ngx_resolve_name_done(ctx);
    conn->resolve = NULL;

    if (state != NGX_OK || srv->host.len == 0) {

        if (srv->host.len == 0) {
            /* nothing to fall back to: a failed connect */
            ngx_http_wapress_redis_fail(conn, text, NGX_LOG_ERR);
            goto failed;
        }

        /* the last address found: one warning, until a name resolves */

        level = srv->resolve_failed ? NGX_LOG_INFO : NGX_LOG_WARN;
        srv->resolve_failed = 1;

        ngx_log_error(level, conn->log, 0,
                      "wapress: redis %V: %s, using the last address %V",
                      &srv->name, text, &srv->host);

    } else {
        srv->resolve_failed = 0;
    }

    if (ngx_http_wapress_redis_connect(conn, conn->connect_timeout)
        != NGX_OK)
    {
        goto failed;
    }

    /* the commands that waited for the address go */

    ngx_http_wapress_redis_cmd_flush(conn);

    ngx_http_wapress_redis_resolve_notify(conn);

    return;

failed:

    p = ngx_snprintf(conn->why, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "redis %V: %s", &srv->name, conn->errstr);
    *p = '\0';

    ngx_http_wapress_redis_cmd_fail_waiting(conn, NGX_HTTP_WAPRESS_REDIS_LOST,
                                            conn->why);

    ngx_http_wapress_redis_resolve_notify(conn);
}


/* the one who waits for the end of the resolution (a Sentinel round) */

static void
ngx_http_wapress_redis_resolve_notify(ngx_http_wapress_redis_conn_t *conn)
{
    void  (*resolved)(ngx_http_wapress_redis_conn_t *conn);

    resolved = conn->resolved;

    if (resolved != NULL && conn->resolve == NULL) {
        conn->resolved = NULL;
        resolved(conn);
    }
}


void
ngx_http_wapress_redis_resolve_cancel(ngx_http_wapress_redis_conn_t *conn)
{
    conn->resolved = NULL;

    if (conn->resolve == NULL) {
        return;
    }

    ngx_resolve_name_done(conn->resolve);
    conn->resolve = NULL;
}
