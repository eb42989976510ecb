
/*
 * ngx_http_wapress_redis_sentinel_conf.c: the form "wapress_redis
 * sentinel HOST:PORT [HOST:PORT ...] master=NAME [read=primary|replica|
 * prefer-replica] [password=P] [user=U] [sentinel_password=SP] [db=N]",
 * parsed when the configuration loads (_redis_conf.c hands it over).
 * No error repeats what follows a "=".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_sentinel.h"


char *
ngx_http_wapress_redis_sentinel_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_array_t *servers,
    ngx_http_wapress_redis_server_t **srvp)
{
    u_char                             *p, *eq;
    ngx_int_t                           db, rc;
    ngx_str_t                           v, name, master, read, user, pass,
                                        spass;
    ngx_uint_t                          i, n, naddrs;
    ngx_http_wapress_redis_server_t    *srv, *s, **sp;
    ngx_http_wapress_sentinel_peer_t   *peer;
    ngx_http_wapress_redis_sentinel_t  *sn;
    ngx_str_t                          *value[7];

    ngx_str_null(&master);
    ngx_str_null(&read);
    ngx_str_null(&user);
    ngx_str_null(&pass);
    ngx_str_null(&spass);
    ngx_str_null(&name);

    value[0] = &master;
    value[1] = &read;
    value[2] = &user;
    value[3] = &pass;
    value[4] = &spass;
    value[5] = &name;    /* db= */
    value[6] = NULL;

    naddrs = 0;

    for (i = 1; i < nargs; i++) {
        eq = ngx_strlchr(args[i].data, args[i].data + args[i].len, '=');

        if (eq == NULL) {
            if (i != naddrs + 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "redis sentinel addresses must come "
                                   "before the parameters");
                return NGX_CONF_ERROR;
            }

            if (ngx_strlchr(args[i].data, args[i].data + args[i].len, ':')
                == NULL)
            {
                /* a bare word may be a password without its "password=" */
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid redis sentinel address %ui "
                                   "(expected \"HOST:PORT\")", i);
                return NGX_CONF_ERROR;
            }

            naddrs++;
            continue;
        }

        v.data = args[i].data;
        v.len = eq - args[i].data;

#define ngx_http_wapress_sentinel_is(s)                                       \
        (v.len == sizeof(s) - 1 && ngx_strncmp(v.data, s, v.len) == 0)

        n = ngx_http_wapress_sentinel_is("master") ? 0
            : ngx_http_wapress_sentinel_is("read") ? 1
            : ngx_http_wapress_sentinel_is("user") ? 2
            : ngx_http_wapress_sentinel_is("password") ? 3
            : ngx_http_wapress_sentinel_is("sentinel_password") ? 4
            : ngx_http_wapress_sentinel_is("db") ? 5 : 6;

        if (n == 6) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis sentinel parameter \"%V=...\" "
                               "(expected \"master=\", \"read=\", "
                               "\"password=\", \"user=\", "
                               "\"sentinel_password=\" or \"db=\")", &v);
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
                           "no redis sentinel address (\"wapress_redis "
                           "sentinel HOST:PORT ... master=NAME\")");
        return NGX_CONF_ERROR;
    }

    if (naddrs > NGX_HTTP_WAPRESS_SENTINEL_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many redis sentinel addresses (at most %d)",
                           NGX_HTTP_WAPRESS_SENTINEL_MAX);
        return NGX_CONF_ERROR;
    }

    if (master.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "redis sentinel requires \"master=NAME\"");
        return NGX_CONF_ERROR;
    }

    db = 0;

    if (name.len) {
        db = ngx_atoi(name.data, name.len);

        if (db == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis db value \"db=%V\"", &name);
            return NGX_CONF_ERROR;
        }
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

    /* the same arguments: the same server, one connection per worker */

    v = ngx_http_wapress_redis_args_key(cf, args, nargs);
    if (v.data == NULL) {
        return NGX_CONF_ERROR;
    }

    sp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        sn = sp[i]->sentinel;

        if (sn && sn->key.len == v.len
            && ngx_memcmp(sn->key.data, v.data, v.len) == 0)
        {
            *srvp = sp[i];
            return NGX_CONF_OK;
        }
    }

    srv = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_redis_server_t));
    sn = ngx_pcalloc(cf->pool, sizeof(ngx_http_wapress_redis_sentinel_t));
    peer = ngx_pcalloc(cf->pool,
                       naddrs * sizeof(ngx_http_wapress_sentinel_peer_t));
    s = ngx_pcalloc(cf->pool, naddrs * sizeof(ngx_http_wapress_redis_server_t));
    p = ngx_pnalloc(cf->pool, sizeof("sentinel master= db= user= #")
                              + master.len + 2 * NGX_INT_T_LEN + user.len);

    if (srv == NULL || sn == NULL || peer == NULL || s == NULL || p == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the name in logs: never a password */

    srv->name.data = p;
    p = ngx_sprintf(p, "sentinel master=%V", &master);

    if (db) {
        p = ngx_sprintf(p, " db=%i", db);
    }

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
    srv->db = db;
    srv->user = user;
    srv->password = pass;
    srv->sentinel = sn;

    sn->server = srv;
    sn->key = v;
    sn->read = n;
    sn->peers = peer;
    sn->npeers = naddrs;

    sn->master.data = ngx_pnalloc(cf->pool, master.len + 1);
    if (sn->master.data == NULL) {
        return NGX_CONF_ERROR;
    }

    sn->master.len = master.len;
    ngx_cpystrn(sn->master.data, master.data, master.len + 1);

    for (i = 0; i < naddrs; i++) {

        /* a host name: resolved once the "resolver" is known */

        rc = ngx_http_wapress_redis_resolve_parse(cf, &args[1 + i], &s[i],
                                               NGX_HTTP_WAPRESS_SENTINEL_PORT);
        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DECLINED
            && ngx_http_wapress_redis_parse_address(cf, &args[1 + i], &s[i],
                                               NGX_HTTP_WAPRESS_SENTINEL_PORT)
               != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        s[i].name.data = ngx_pnalloc(cf->pool,
                                     sizeof("sentinel ") + args[1 + i].len);
        if (s[i].name.data == NULL) {
            return NGX_CONF_ERROR;
        }

        s[i].name.len = ngx_sprintf(s[i].name.data, "sentinel %V",
                                    &args[1 + i])
                        - s[i].name.data;
        s[i].password = spass;

        peer[i].sn = sn;
        peer[i].server = &s[i];
    }

    sp = ngx_array_push(servers);
    if (sp == NULL) {
        return NGX_CONF_ERROR;
    }

    *sp = srv;
    *srvp = srv;

    return NGX_CONF_OK;
}
