
/*
 * ngx_http_wapress_redis_cluster_conf.c: the form "wapress_redis cluster
 * HOST:PORT [HOST:PORT ...] [read=primary|replica|prefer-replica]
 * [password=P] [user=U]", parsed when the configuration loads
 * (_redis_conf.c hands it over).  The seeds' host names are resolved
 * here.  A cluster has only db 0: "db=" is an error.  No error repeats
 * what follows a "=".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_cluster.h"


char *
ngx_http_wapress_redis_cluster_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_array_t *servers,
    ngx_http_wapress_redis_server_t **srvp)
{
    u_char                            *p, *eq;
    ngx_str_t                          v, read, user, pass;
    ngx_uint_t                         i, n, naddrs;
    ngx_http_wapress_redis_server_t   *srv, *s, **sp;
    ngx_http_wapress_redis_cluster_t  *cl;
    ngx_str_t                         *value[4];

    ngx_str_null(&read);
    ngx_str_null(&user);
    ngx_str_null(&pass);

    value[0] = &read;
    value[1] = &user;
    value[2] = &pass;
    value[3] = NULL;

    naddrs = 0;

    for (i = 1; i < nargs; i++) {
        eq = ngx_strlchr(args[i].data, args[i].data + args[i].len, '=');

        if (eq == NULL) {
            if (i != naddrs + 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "redis cluster addresses must come "
                                   "before the parameters");
                return NGX_CONF_ERROR;
            }

            if (ngx_strlchr(args[i].data, args[i].data + args[i].len, ':')
                == NULL
                || (args[i].len >= 5
                    && ngx_strncasecmp(args[i].data, (u_char *) "unix:", 5)
                       == 0))
            {
                /* a bare word may be a password without its "password=" */
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid redis cluster address %ui "
                                   "(expected \"HOST:PORT\")", i);
                return NGX_CONF_ERROR;
            }

            naddrs++;
            continue;
        }

        v.data = args[i].data;
        v.len = eq - args[i].data;

#define ngx_http_wapress_cluster_is(s)                                        \
        (v.len == sizeof(s) - 1 && ngx_strncmp(v.data, s, v.len) == 0)

        if (ngx_http_wapress_cluster_is("db")) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis cluster parameter \"db=\": "
                               "Redis Cluster has only db 0");
            return NGX_CONF_ERROR;
        }

        n = ngx_http_wapress_cluster_is("read") ? 0
            : ngx_http_wapress_cluster_is("user") ? 1
            : ngx_http_wapress_cluster_is("password") ? 2 : 3;

        if (n == 3) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis cluster parameter \"%V=...\" "
                               "(expected \"read=\", \"password=\" or "
                               "\"user=\")", &v);
            return NGX_CONF_ERROR;
        }

        if (value[n]->len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate redis parameter \"%V=\"", &v);
            return NGX_CONF_ERROR;
        }

        value[n]->data = eq + 1;
        value[n]->len = args[i].data + args[i].len - (eq + 1);

        if (value[n]->len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "empty redis parameter \"%V=\"", &v);
            return NGX_CONF_ERROR;
        }
    }

    if (naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no redis cluster address (\"wapress_redis "
                           "cluster HOST:PORT ...\")");
        return NGX_CONF_ERROR;
    }

    if (naddrs > NGX_HTTP_WAPRESS_CLUSTER_SEEDS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many redis cluster addresses (at most %d)",
                           NGX_HTTP_WAPRESS_CLUSTER_SEEDS);
        return NGX_CONF_ERROR;
    }

    if (user.len && pass.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "redis \"user=\" requires \"password=\"");
        return NGX_CONF_ERROR;
    }

    n = ngx_http_wapress_redis_parse_read(cf, &read);
    if (n == (ngx_uint_t) NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    /* the same arguments: the same server, one connection per node */

    v = ngx_http_wapress_redis_args_key(cf, args, nargs);
    if (v.data == NULL) {
        return NGX_CONF_ERROR;
    }

    sp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        cl = sp[i]->cluster;

        if (cl && cl->key.len == v.len
            && ngx_memcmp(cl->key.data, v.data, v.len) == 0)
        {
            *srvp = sp[i];
            return NGX_CONF_OK;
        }
    }

    srv = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_redis_server_t));
    cl = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_redis_cluster_t));
    s = ngx_pcalloc(cf->pool, naddrs * sizeof(ngx_http_wapress_redis_server_t));
    p = ngx_pnalloc(cf->pool, sizeof("cluster  user= #") + args[1].len
                              + NGX_INT_T_LEN + user.len);

    if (srv == NULL || cl == NULL || s == NULL || p == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the name in logs: the first seed, never a password */

    srv->name.data = p;
    p = ngx_sprintf(p, "cluster %V", &args[1]);

    if (user.len) {
        p = ngx_sprintf(p, " user=%V", &user);
    }

    srv->name.len = p - srv->name.data;

    for (i = 0; i < servers->nelts; i++) {
        if (sp[i]->name.len == srv->name.len
            && ngx_strncmp(sp[i]->name.data, srv->name.data, srv->name.len)
               == 0)
        {
            p = ngx_sprintf(p, " #%ui", servers->nelts + 1);
            srv->name.len = p - srv->name.data;
            break;
        }
    }

    ngx_str_set(&srv->host, "");
    ngx_str_set(&srv->unix_path, "");
    srv->user = user;
    srv->password = pass;
    srv->cluster = cl;

    cl->server = srv;
    cl->key = v;
    cl->read = n;
    cl->seeds = s;
    cl->nseeds = naddrs;

    for (i = 0; i < naddrs; i++) {
        if (ngx_http_wapress_redis_parse_address(cf, &args[1 + i], &s[i],
                                                 NGX_HTTP_WAPRESS_CLUSTER_PORT)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    sp = ngx_array_push(servers);
    if (sp == NULL) {
        return NGX_CONF_ERROR;
    }

    *sp = srv;
    *srvp = srv;

    return NGX_CONF_OK;
}
