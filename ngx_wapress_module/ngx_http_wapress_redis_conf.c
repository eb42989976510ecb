
/*
 * ngx_http_wapress_redis_conf.c: the Redis layer's configuration: the
 * wapress_redis directive, "ADDRESS [db=N] [password=P] [user=U]",
 * parsed when the configuration loads, the check of
 * wapress_redis_connect_timeout, and what the locations that use a
 * server ask of its connection (the largest timeout and value size).
 * Host names are resolved here (or, with a "resolver", at run time by
 * _redis_resolve.c), because redisAsyncConnect() would call
 * getaddrinfo() on a name, which blocks; identical servers are shared,
 * so that a worker keeps one connection per server.  No error message
 * repeats what follows a "=" in a parameter: it may be a password.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_module.h"
#include "ngx_http_wapress_redis_int.h"


#define NGX_HTTP_WAPRESS_REDIS_PORT          6379

/* the stall watchdog waits this much longer than the longest timeout */
#define NGX_HTTP_WAPRESS_REDIS_STALL_MARGIN  100


static void ngx_http_wapress_redis_param_name(ngx_str_t *value,
    ngx_str_t *name);
static char *ngx_http_wapress_redis_check_connect_timeout(ngx_conf_t *cf,
    void *post, void *data);


ngx_conf_post_t  ngx_http_wapress_redis_connect_timeout_post = {
    ngx_http_wapress_redis_check_connect_timeout
};


char *
ngx_http_wapress_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wapress_loc_conf_t *wlcf = conf;

    ngx_str_t                     *value;
    ngx_http_wapress_main_conf_t  *wmcf;

    if (wlcf->redis != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wapress_module);
    value = cf->args->elts;

    return ngx_http_wapress_redis_parse(cf, &value[1], cf->args->nelts - 1,
                                        &wmcf->servers, &wlcf->redis);
}


static char *
ngx_http_wapress_redis_check_connect_timeout(ngx_conf_t *cf, void *post,
    void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms == 0) {
        return "must be greater than 0";
    }

    return NGX_CONF_OK;
}


void
ngx_http_wapress_redis_use(ngx_http_wapress_redis_server_t *srv,
    ngx_msec_t timeout, size_t max_size)
{
    if (timeout + NGX_HTTP_WAPRESS_REDIS_STALL_MARGIN > srv->stall) {
        srv->stall = timeout + NGX_HTTP_WAPRESS_REDIS_STALL_MARGIN;
    }

    if (max_size > srv->max_reply) {
        srv->max_reply = max_size;
    }
}


char *
ngx_http_wapress_redis_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_array_t *servers,
    ngx_http_wapress_redis_server_t **srv)
{
    u_char                           *p;
    ngx_int_t                         db, rc;
    ngx_str_t                         user, password, value, name;
    ngx_uint_t                        i;
    ngx_http_wapress_redis_server_t   tmp, *s, **sp;

    if (nargs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "no redis address");
        return NGX_CONF_ERROR;
    }

    if (args[0].len == sizeof("sentinel") - 1
        && ngx_strncmp(args[0].data, "sentinel", args[0].len) == 0)
    {
        /* "sentinel HOST:PORT ... master=NAME ...": _redis_sentinel.c */
        return ngx_http_wapress_redis_sentinel_parse(cf, args, nargs,
                                                     servers, srv);
    }

    if (args[0].len == sizeof("cluster") - 1
        && ngx_strncmp(args[0].data, "cluster", args[0].len) == 0)
    {
        /* "cluster HOST:PORT ... [read=...]": _redis_cluster_conf.c */
        return ngx_http_wapress_redis_cluster_parse(cf, args, nargs,
                                                    servers, srv);
    }

    db = NGX_CONF_UNSET;
    ngx_str_null(&user);
    ngx_str_null(&password);

    for (i = 1; i < nargs; i++) {
        value = args[i];

        if (value.len > 3 && ngx_strncmp(value.data, "db=", 3) == 0) {

            if (db != NGX_CONF_UNSET) {
                goto duplicate;
            }

            db = ngx_atoi(value.data + 3, value.len - 3);

            if (db == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid redis db value \"%V\"", &value);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (value.len > 9 && ngx_strncmp(value.data, "password=", 9) == 0) {

            if (password.len) {
                goto duplicate;
            }

            password.data = value.data + 9;
            password.len = value.len - 9;
            continue;
        }

        if (value.len > 5 && ngx_strncmp(value.data, "user=", 5) == 0) {

            if (user.len) {
                goto duplicate;
            }

            user.data = value.data + 5;
            user.len = value.len - 5;
            continue;
        }

        ngx_http_wapress_redis_param_name(&value, &name);

        if (name.len == value.len) {
            /* a bare word may be a password without its "password=" */
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis parameter %ui (expected "
                               "\"db=\", \"password=\" or \"user=\")",
                               i);

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis parameter \"%V=...\"", &name);
        }

        return NGX_CONF_ERROR;
    }

    if (user.len && password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "redis \"user=\" requires \"password=\"");
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&tmp, sizeof(ngx_http_wapress_redis_server_t));

    /* a host name: resolved once the "resolver" is known */

    rc = ngx_http_wapress_redis_resolve_parse(cf, &args[0], &tmp,
                                              NGX_HTTP_WAPRESS_REDIS_PORT);
    if (rc == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if (rc == NGX_DECLINED
        && ngx_http_wapress_redis_parse_address(cf, &args[0], &tmp,
                                                NGX_HTTP_WAPRESS_REDIS_PORT)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    tmp.db = (db == NGX_CONF_UNSET) ? 0 : db;
    tmp.user = user;
    tmp.password = password;

    /* identical servers share one connection */

    sp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        s = sp[i];

        if (s->port == tmp.port
            && s->db == tmp.db
            && s->host.len == tmp.host.len
            && s->hostname.len == tmp.hostname.len
            && s->unix_path.len == tmp.unix_path.len
            && s->user.len == tmp.user.len
            && s->sentinel == NULL
            && s->cluster == NULL
            && s->password.len == tmp.password.len
            && ngx_memcmp(s->host.data, tmp.host.data, tmp.host.len) == 0
            && ngx_memcmp(s->hostname.data, tmp.hostname.data,
                          tmp.hostname.len)
               == 0
            && ngx_memcmp(s->unix_path.data, tmp.unix_path.data,
                          tmp.unix_path.len)
               == 0
            && ngx_memcmp(s->user.data, tmp.user.data, tmp.user.len) == 0
            && ngx_memcmp(s->password.data, tmp.password.data,
                          tmp.password.len)
               == 0)
        {
            *srv = s;
            return NGX_CONF_OK;
        }
    }

    /* the name in logs: the address, db and user, never the password */

    p = ngx_pnalloc(cf->pool, args[0].len + sizeof(" db=") - 1 + NGX_INT_T_LEN
                              + sizeof(" user=") - 1 + user.len
                              + sizeof(" #") - 1 + NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    tmp.name.data = p;
    p = ngx_cpymem(p, args[0].data, args[0].len);

    if (tmp.db) {
        p = ngx_sprintf(p, " db=%i", tmp.db);
    }

    if (user.len) {
        p = ngx_sprintf(p, " user=%V", &user);
    }

    tmp.name.len = p - tmp.name.data;

    /* the same name for another server (another password): numbered */

    for (i = 0; i < servers->nelts; i++) {
        if (sp[i]->name.len == tmp.name.len
            && ngx_strncmp(sp[i]->name.data, tmp.name.data, tmp.name.len)
               == 0)
        {
            p = ngx_sprintf(p, " #%ui", servers->nelts + 1);
            tmp.name.len = p - tmp.name.data;
            break;
        }
    }

    s = ngx_palloc(cf->pool, sizeof(ngx_http_wapress_redis_server_t));
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    *s = tmp;

    sp = ngx_array_push(servers);
    if (sp == NULL) {
        return NGX_CONF_ERROR;
    }

    *sp = s;
    *srv = s;

    return NGX_CONF_OK;

duplicate:

    ngx_http_wapress_redis_param_name(&value, &name);

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "duplicate redis parameter \"%V=\"", &name);
    return NGX_CONF_ERROR;
}


/* "name=value": the name only; a value is never logged */

static void
ngx_http_wapress_redis_param_name(ngx_str_t *value, ngx_str_t *name)
{
    u_char  *eq;

    name->data = value->data;

    eq = ngx_strlchr(value->data, value->data + value->len, '=');

    name->len = (eq != NULL) ? (size_t) (eq - value->data) : value->len;
}


ngx_int_t
ngx_http_wapress_redis_parse_address(ngx_conf_t *cf, ngx_str_t *addr,
    ngx_http_wapress_redis_server_t *srv, in_port_t default_port)
{
    size_t      len;
    u_char     *p;
    ngx_url_t   u;

    if (addr->len >= 5
        && ngx_strncasecmp(addr->data, (u_char *) "unix:", 5) == 0)
    {
        len = addr->len - 5;

        if (len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "no path in redis address \"%V\"", addr);
            return NGX_ERROR;
        }

        if (len >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "too long path in redis address \"%V\"",
                               addr);
            return NGX_ERROR;
        }

        p = ngx_pnalloc(cf->pool, len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(p, addr->data + 5, len + 1);

        srv->unix_path.data = p;
        srv->unix_path.len = len;
        srv->host.data = (u_char *) "";
        srv->host.len = 0;

        return NGX_OK;
    }

    /*
     * redisAsyncConnect() would call getaddrinfo() on a name, which
     * blocks: resolve it now and give hiredis an IP literal
     */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *addr;
    u.default_port = default_port;
    u.no_resolve = 0;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in redis address \"%V\"", u.err, addr);
        }

        return NGX_ERROR;
    }

    if (u.naddrs == 0 || u.addrs == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "host not found in redis address \"%V\"", addr);
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* port 0: the bare address, an IPv6 one without brackets */

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, p,
                        NGX_SOCKADDR_STRLEN, 0);
    p[len] = '\0';

    srv->host.data = p;
    srv->host.len = len;
    srv->port = ngx_inet_get_port(u.addrs[0].sockaddr);
    srv->unix_path.data = (u_char *) "";
    srv->unix_path.len = 0;

    if (u.naddrs > 1) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "redis address \"%V\" resolves to %ui addresses, "
                           "using %s", addr, u.naddrs, p);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_wapress_redis_parse_read(ngx_conf_t *cf, ngx_str_t *read)
{
    if (read->len == 0
        || (read->len == 7 && ngx_strncmp(read->data, "primary", 7) == 0))
    {
        return NGX_HTTP_WAPRESS_REDIS_READ_PRIMARY;
    }

    if (read->len == 7 && ngx_strncmp(read->data, "replica", 7) == 0) {
        return NGX_HTTP_WAPRESS_REDIS_READ_REPLICA;
    }

    if (read->len == 14 && ngx_strncmp(read->data, "prefer-replica", 14) == 0)
    {
        return NGX_HTTP_WAPRESS_REDIS_READ_PREFER;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid redis \"read=\" value (expected "
                       "\"primary\", \"replica\" or \"prefer-replica\")");

    return NGX_ERROR;
}


ngx_str_t
ngx_http_wapress_redis_args_key(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs)
{
    size_t      len;
    u_char     *p;
    ngx_str_t   key;
    ngx_uint_t  i;

    len = 0;

    for (i = 1; i < nargs; i++) {
        len += args[i].len + 1;
    }

    ngx_str_null(&key);

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return key;
    }

    key.data = p;

    for (i = 1; i < nargs; i++) {
        p = ngx_cpymem(p, args[i].data, args[i].len);
        *p++ = ' ';
    }

    key.len = p - key.data;

    return key;
}
