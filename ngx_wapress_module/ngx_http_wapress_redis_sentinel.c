
/*
 * ngx_http_wapress_redis_sentinel.c: "wapress_redis sentinel HOST:PORT ...
 * master=NAME": where a primary managed by Redis Sentinel is, and its
 * replicas.  Per worker and server:
 *
 * - the Sentinels are asked in turn ("SENTINEL get-master-addr-by-name
 *   NAME", then with read=replica|prefer-replica "SENTINEL replicas
 *   NAME"), each answer within 1 s or the next one is asked; at worker
 *   start, every second after, when a node named as the primary says
 *   (ROLE) it is not one, and after a failover.  When none answers the
 *   last known primary is kept (one error line, then info);
 * - one connection per Sentinel subscribes to +switch-master: the
 *   primary's connection (srv->conn) is dropped and made again to the
 *   new primary at once, without a reload; commands in flight on the old
 *   one fail as a lost connection;
 * - with read=, GET and HGET go to one replica's connection (the
 *   replica a worker reads from is chosen by its pid among the healthy
 *   ones the Sentinels report), see _route().
 *
 * Every connection here is an ordinary one of the layer (_redis.c:
 * non-blocking connect, AUTH, backoff, watchdog); the Sentinels' own are
 * made to server objects of their own (the sentinel_password's), never
 * counted by wapress_status.  Every change of the topology is one notice.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"


#define NGX_HTTP_WAPRESS_SENTINEL_PORT       26379
#define NGX_HTTP_WAPRESS_SENTINEL_MAX        16   /* Sentinels */
#define NGX_HTTP_WAPRESS_SENTINEL_REPLICAS   16   /* replicas kept */
#define NGX_HTTP_WAPRESS_SENTINEL_ANSWER     1000 /* a Sentinel's deadline */
#define NGX_HTTP_WAPRESS_SENTINEL_CONNECT    500
#define NGX_HTTP_WAPRESS_SENTINEL_REFRESH    1000 /* asked again */
#define NGX_HTTP_WAPRESS_SENTINEL_RETRY      250  /* a subscription */
#define NGX_HTTP_WAPRESS_SENTINEL_RETRY_ERR  5000

#define NGX_HTTP_WAPRESS_SENTINEL_PRIMARY    0
#define NGX_HTTP_WAPRESS_SENTINEL_REPLICA    1
#define NGX_HTTP_WAPRESS_SENTINEL_PREFER     2


typedef struct {
    u_char                              host[NGX_SOCKADDR_STRLEN + 1];
    in_port_t                           port;      /* 0: none */
} ngx_http_wapress_sentinel_node_t;


typedef struct {
    ngx_http_wapress_redis_sentinel_t  *sn;
    ngx_http_wapress_redis_server_t    *server;    /* the Sentinel */
    ngx_http_wapress_redis_conn_t      *query;     /* per worker */
    ngx_http_wapress_redis_conn_t      *sub;
    redisAsyncContext                  *sub_ac;    /* subscribing or up */
    ngx_event_t                         retry;
} ngx_http_wapress_sentinel_peer_t;


struct ngx_http_wapress_redis_sentinel_s {
    ngx_http_wapress_redis_server_t    *server;
    ngx_str_t                           master;    /* NUL-terminated */
    ngx_str_t                           key;       /* the directive's args */
    ngx_uint_t                          read;
    ngx_http_wapress_sentinel_peer_t   *peers;
    ngx_uint_t                          npeers;

    /* per worker */
    ngx_log_t                          *log;
    ngx_http_wapress_redis_conn_t      *replica_conn;
    ngx_http_wapress_sentinel_node_t    primary;
    ngx_http_wapress_sentinel_node_t    replica;   /* the one read from */
    ngx_http_wapress_sentinel_node_t    replicas[NGX_HTTP_WAPRESS_SENTINEL_REPLICAS];
    ngx_uint_t                          nreplicas;
    ngx_uint_t                          asking;    /* peers[asking] */
    ngx_uint_t                          tried;     /* in this round */
    ngx_event_t                         timer;     /* answer due, or next */
    unsigned                            busy:1;    /* a round is on */
    unsigned                            again:1;   /* another at its end */
    unsigned                            failed:1;  /* said none answered */
    unsigned                            listed:1;  /* replicas known */
    unsigned                            exiting:1;
    u_char                              why[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
};


static void ngx_http_wapress_sentinel_ask(
    ngx_http_wapress_redis_sentinel_t *sn);
static void ngx_http_wapress_sentinel_ask_peer(
    ngx_http_wapress_redis_sentinel_t *sn);
static void ngx_http_wapress_sentinel_next(
    ngx_http_wapress_redis_sentinel_t *sn, const char *why, size_t len);
static void ngx_http_wapress_sentinel_done(
    ngx_http_wapress_redis_sentinel_t *sn);
static void ngx_http_wapress_sentinel_timer(ngx_event_t *ev);
static void ngx_http_wapress_sentinel_master_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_wapress_sentinel_replicas_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static ngx_int_t ngx_http_wapress_sentinel_peer_ok(
    ngx_http_wapress_sentinel_peer_t *peer, redisAsyncContext *ac,
    redisReply *reply);
static void ngx_http_wapress_sentinel_set_primary(
    ngx_http_wapress_redis_sentinel_t *sn, u_char *host, size_t hlen,
    u_char *port, size_t plen, const char *how);
static void ngx_http_wapress_sentinel_choose(
    ngx_http_wapress_redis_sentinel_t *sn);
static void ngx_http_wapress_sentinel_move(ngx_http_wapress_redis_conn_t *conn,
    ngx_http_wapress_sentinel_node_t *node);
static void ngx_http_wapress_sentinel_sub_start(ngx_event_t *ev);
static void ngx_http_wapress_sentinel_sub_message(redisAsyncContext *ac,
    void *r, void *privdata);
static ngx_int_t ngx_http_wapress_sentinel_node(
    ngx_http_wapress_sentinel_node_t *node, u_char *host, size_t hlen,
    u_char *port, size_t plen);
static redisReply *ngx_http_wapress_sentinel_field(redisReply *r,
    const char *name);


/* configuration */

char *
ngx_http_wapress_redis_sentinel_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_array_t *servers,
    ngx_http_wapress_redis_server_t **srvp)
{
    u_char                             *p, *eq;
    size_t                              len;
    ngx_int_t                           db;
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
    len = 0;

    for (i = 1; i < nargs; i++) {
        len += args[i].len + 1;

        eq = ngx_strlchr(args[i].data, args[i].data + args[i].len, '=');

        if (eq == NULL) {
            if (i != naddrs + 1) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "redis sentinel addresses must come "
                                   "before the parameters");
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

    n = NGX_HTTP_WAPRESS_SENTINEL_PRIMARY;

    if (read.len == 0 || (read.len == 7
                          && ngx_strncmp(read.data, "primary", 7) == 0))
    {
        n = NGX_HTTP_WAPRESS_SENTINEL_PRIMARY;

    } else if (read.len == 7 && ngx_strncmp(read.data, "replica", 7) == 0) {
        n = NGX_HTTP_WAPRESS_SENTINEL_REPLICA;

    } else if (read.len == 14
               && ngx_strncmp(read.data, "prefer-replica", 14) == 0)
    {
        n = NGX_HTTP_WAPRESS_SENTINEL_PREFER;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis \"read=\" value (expected "
                           "\"primary\", \"replica\" or \"prefer-replica\")");
        return NGX_CONF_ERROR;
    }

    /* the same arguments: the same server, one connection per worker */

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    v.data = p;

    for (i = 1; i < nargs; i++) {
        p = ngx_cpymem(p, args[i].data, args[i].len);
        *p++ = ' ';
    }

    v.len = p - v.data;

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
        if (ngx_http_wapress_redis_parse_address(cf, &args[1 + i], &s[i],
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


/* the worker starts: ask, and subscribe to +switch-master */

ngx_int_t
ngx_http_wapress_redis_sentinel_init_process(ngx_array_t *servers)
{
    ngx_uint_t                          i, j;
    ngx_http_wapress_redis_server_t   **sp;
    ngx_http_wapress_sentinel_peer_t   *peer;
    ngx_http_wapress_redis_sentinel_t  *sn;

    sp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        sn = sp[i]->sentinel;

        if (sn == NULL) {
            continue;
        }

        sn->log = ngx_cycle->log;
        sn->timer.handler = ngx_http_wapress_sentinel_timer;
        sn->timer.data = sn;
        sn->timer.log = sn->log;
        sn->timer.cancelable = 1;

        if (sn->read != NGX_HTTP_WAPRESS_SENTINEL_PRIMARY) {
            sn->replica_conn = ngx_http_wapress_redis_conn_new(sn->server);
            if (sn->replica_conn == NULL) {
                return NGX_ERROR;
            }

            sn->replica_conn->replica = 1;
        }

        for (j = 0; j < sn->npeers; j++) {
            peer = &sn->peers[j];

            peer->query = ngx_http_wapress_redis_conn_new(peer->server);
            peer->sub = ngx_http_wapress_redis_conn_new(peer->server);

            if (peer->query == NULL || peer->sub == NULL) {
                return NGX_ERROR;
            }

            peer->retry.handler = ngx_http_wapress_sentinel_sub_start;
            peer->retry.data = peer;
            peer->retry.log = sn->log;
            peer->retry.cancelable = 1;

            ngx_http_wapress_sentinel_sub_start(&peer->retry);
        }

        ngx_http_wapress_sentinel_ask(sn);
    }

    return NGX_OK;
}


void
ngx_http_wapress_redis_sentinel_cleanup(ngx_http_wapress_redis_server_t *srv)
{
    ngx_uint_t                          i;
    ngx_http_wapress_redis_sentinel_t  *sn;

    sn = srv->sentinel;
    sn->exiting = 1;
    sn->busy = 0;

    if (sn->timer.timer_set) {
        ngx_del_timer(&sn->timer);
    }

    ngx_http_wapress_redis_conn_free(sn->replica_conn);

    for (i = 0; i < sn->npeers; i++) {
        if (sn->peers[i].retry.timer_set) {
            ngx_del_timer(&sn->peers[i].retry);
        }

        sn->peers[i].sub_ac = NULL;
        ngx_http_wapress_redis_conn_free(sn->peers[i].query);
        ngx_http_wapress_redis_conn_free(sn->peers[i].sub);
    }
}


/* the hooks of _redis.c and _redis_cmd.c */

ngx_int_t
ngx_http_wapress_redis_sentinel_addr(ngx_http_wapress_redis_conn_t *conn,
    const char **host, in_port_t *port)
{
    u_char                             *p;
    ngx_http_wapress_sentinel_node_t   *node;
    ngx_http_wapress_redis_sentinel_t  *sn;

    sn = conn->server->sentinel;
    node = conn->replica ? &sn->replica : &sn->primary;

    if (node->port == 0) {
        p = ngx_snprintf(conn->err, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                         "redis %V: no %s known yet, the Sentinels are "
                         "asked", &conn->server->name,
                         conn->replica ? "replica" : "primary");
        *p = '\0';

        return NGX_DECLINED;
    }

    if (host) {
        *host = (const char *) node->host;
        *port = node->port;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_wapress_redis_sentinel_role(ngx_http_wapress_redis_link_t *link,
    redisReply *reply, u_char *text)
{
    u_char                             *p;
    redisReply                         *role;
    ngx_http_wapress_redis_sentinel_t  *sn;

    sn = link->conn->server->sentinel;

    if (link->conn->replica) {
        /* a replica promoted meanwhile serves reads as well */
        return NGX_OK;
    }

    role = (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
           ? reply->element[0] : NULL;

    if (role && role->type == REDIS_REPLY_STRING
        && role->len == sizeof("master") - 1
        && ngx_strncmp(role->str, "master", role->len) == 0)
    {
        return NGX_OK;
    }

    p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "%s:%d is not the primary (ROLE: %*s), the Sentinels "
                     "are asked again", sn->primary.host,
                     (int) sn->primary.port,
                     (size_t) (role && role->type == REDIS_REPLY_STRING
                               ? ngx_min(role->len, 16) : 1),
                     role && role->type == REDIS_REPLY_STRING
                     ? role->str : "?");
    *p = '\0';

    if (sn->busy) {
        sn->again = 1;

    } else {
        ngx_http_wapress_sentinel_ask(sn);
    }

    return NGX_DECLINED;
}


/*
 * read=replica: a read waits for the replica's connection, connected or
 * connecting, and goes to the primary only when there is none (no
 * replica known, or its connection failed and backs off).
 * read=prefer-replica: a read goes to the replica only when its
 * connection is up (healthy); otherwise to the primary, while a
 * connection to the replica is started.
 */

redisAsyncContext *
ngx_http_wapress_redis_sentinel_route(ngx_http_wapress_redis_server_t *srv,
    ngx_str_t *argv, ngx_uint_t argc, ngx_msec_t connect_timeout,
    ngx_log_t *log, ngx_http_wapress_redis_conn_t **connp)
{
    const char                         *err;
    redisAsyncContext                  *ac;
    ngx_http_wapress_redis_link_t      *link;
    ngx_http_wapress_redis_conn_t      *conn;
    ngx_http_wapress_redis_sentinel_t  *sn;

    sn = srv->sentinel;
    conn = sn->replica_conn;

    if (conn == NULL || sn->replica.port == 0 || argc == 0
        || !((argv[0].len == 3
              && ngx_strncasecmp(argv[0].data, (u_char *) "GET", 3) == 0)
             || (argv[0].len == 4
                 && ngx_strncasecmp(argv[0].data, (u_char *) "HGET", 4)
                    == 0)))
    {
        return NULL;
    }

    if (sn->read == NGX_HTTP_WAPRESS_SENTINEL_PREFER) {
        ac = conn->ac;
        link = ac ? ac->data : NULL;

        if (link == NULL || !link->ready
            || (ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)))
        {
            if (ac == NULL) {
                (void) ngx_http_wapress_redis_conn_get(conn, connect_timeout,
                                                       log, &err);
            }

            return NULL;
        }
    }

    ac = ngx_http_wapress_redis_conn_get(conn, connect_timeout, log, &err);

    if (ac == NULL) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                       "wapress redis %V: read from the primary: %s",
                       &srv->name, err);
        return NULL;
    }

    *connp = conn;

    return ac;
}


/* asking the Sentinels, one after the other */

static void
ngx_http_wapress_sentinel_ask(ngx_http_wapress_redis_sentinel_t *sn)
{
    if (sn->exiting || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    sn->busy = 1;
    sn->again = 0;
    sn->tried = 0;
    sn->why[0] = '\0';

    ngx_http_wapress_sentinel_ask_peer(sn);
}


static void
ngx_http_wapress_sentinel_ask_peer(ngx_http_wapress_redis_sentinel_t *sn)
{
    const char                        *argv[3], *err;
    size_t                             argvlen[3];
    redisAsyncContext                 *ac;
    ngx_http_wapress_sentinel_peer_t  *peer;

    peer = &sn->peers[sn->asking];

    ac = ngx_http_wapress_redis_conn_get(peer->query,
                                         NGX_HTTP_WAPRESS_SENTINEL_CONNECT,
                                         sn->log, &err);
    if (ac == NULL) {
        ngx_http_wapress_sentinel_next(sn, err, ngx_strlen(err));
        return;
    }

    argv[0] = "SENTINEL";
    argvlen[0] = sizeof("SENTINEL") - 1;
    argv[1] = "get-master-addr-by-name";
    argvlen[1] = sizeof("get-master-addr-by-name") - 1;
    argv[2] = (const char *) sn->master.data;
    argvlen[2] = sn->master.len;

    if (redisAsyncCommandArgv(ac, ngx_http_wapress_sentinel_master_reply,
                              peer, 3, argv, argvlen)
        != REDIS_OK)
    {
        ngx_http_wapress_sentinel_next(sn, "connection is closing",
                                       sizeof("connection is closing") - 1);
        return;
    }

    if (sn->timer.timer_set) {
        ngx_del_timer(&sn->timer);
    }

    ngx_add_timer(&sn->timer, NGX_HTTP_WAPRESS_SENTINEL_ANSWER);
}


/* this Sentinel did not answer right: the next one, or the round failed */

static void
ngx_http_wapress_sentinel_next(ngx_http_wapress_redis_sentinel_t *sn,
    const char *why, size_t len)
{
    u_char      *p;
    ngx_uint_t   level;

    p = ngx_snprintf(sn->why, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "%V: %*s", &sn->peers[sn->asking].server->name,
                     ngx_min(len, 160), why);
    *p = '\0';

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sn->log, 0,
                   "wapress redis %V: %s", &sn->server->name, sn->why);

    sn->asking = (sn->asking + 1) % sn->npeers;

    if (++sn->tried < sn->npeers && !sn->exiting) {
        ngx_http_wapress_sentinel_ask_peer(sn);
        return;
    }

    sn->busy = 0;

    if (sn->timer.timer_set) {
        ngx_del_timer(&sn->timer);
    }

    level = sn->failed ? NGX_LOG_INFO : NGX_LOG_ERR;

    if (sn->primary.port) {
        ngx_log_error(level, sn->log, 0,
                      "wapress: redis %V: no Sentinel answered (%ui asked, "
                      "last %s), keeping the primary %s:%d",
                      &sn->server->name, sn->npeers, sn->why,
                      sn->primary.host, (int) sn->primary.port);

    } else {
        ngx_log_error(level, sn->log, 0,
                      "wapress: redis %V: no Sentinel answered (%ui asked, "
                      "last %s), no primary known",
                      &sn->server->name, sn->npeers, sn->why);
    }

    sn->failed = 1;

    if (!(ngx_exiting || ngx_quit || ngx_terminate)) {
        ngx_add_timer(&sn->timer, NGX_HTTP_WAPRESS_SENTINEL_REFRESH);
    }
}


static void
ngx_http_wapress_sentinel_done(ngx_http_wapress_redis_sentinel_t *sn)
{
    sn->busy = 0;

    if (sn->failed) {
        sn->failed = 0;

        ngx_log_error(NGX_LOG_NOTICE, sn->log, 0,
                      "wapress: redis %V: the Sentinels answer again (%V)",
                      &sn->server->name, &sn->peers[sn->asking].server->name);
    }

    if (sn->timer.timer_set) {
        ngx_del_timer(&sn->timer);
    }

    if (sn->again) {
        ngx_http_wapress_sentinel_ask(sn);
        return;
    }

    if (!(ngx_exiting || ngx_quit || ngx_terminate)) {
        ngx_add_timer(&sn->timer, NGX_HTTP_WAPRESS_SENTINEL_REFRESH);
    }
}


/* an answer is due (the Sentinel is too slow: the next one), or a refresh */

static void
ngx_http_wapress_sentinel_timer(ngx_event_t *ev)
{
    u_char                             *p;
    ngx_http_wapress_redis_sentinel_t  *sn;
    u_char                              text[64];

    sn = ev->data;

    if (!sn->busy) {
        ngx_http_wapress_sentinel_ask(sn);
        return;
    }

    p = ngx_sprintf(text, "no answer in %dms",
                    NGX_HTTP_WAPRESS_SENTINEL_ANSWER);

    ngx_http_wapress_sentinel_next(sn, (char *) text, p - text);
}


/* a reply of the Sentinel asked now, or NGX_DECLINED */

static ngx_int_t
ngx_http_wapress_sentinel_peer_ok(ngx_http_wapress_sentinel_peer_t *peer,
    redisAsyncContext *ac, redisReply *reply)
{
    ngx_http_wapress_redis_sentinel_t  *sn;

    sn = peer->sn;

    if (sn->exiting || !sn->busy || &sn->peers[sn->asking] != peer) {
        /* too late: another one is asked now */
        return NGX_DECLINED;
    }

    if (reply == NULL) {
        ngx_http_wapress_sentinel_next(sn, "connection lost",
                                       sizeof("connection lost") - 1);
        return NGX_DECLINED;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_wapress_sentinel_next(sn, reply->str, reply->len);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_http_wapress_sentinel_master_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    const char                         *argv[3];
    size_t                              argvlen[3];
    redisReply                         *reply;
    ngx_http_wapress_sentinel_peer_t   *peer;
    ngx_http_wapress_redis_sentinel_t  *sn;

    reply = r;
    peer = privdata;
    sn = peer->sn;

    if (ngx_http_wapress_sentinel_peer_ok(peer, ac, reply) != NGX_OK) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_http_wapress_sentinel_next(sn, "does not know the master",
                                       sizeof("does not know the master")
                                       - 1);
        return;
    }

    ngx_http_wapress_sentinel_set_primary(sn,
                                          (u_char *) reply->element[0]->str,
                                          reply->element[0]->len,
                                          (u_char *) reply->element[1]->str,
                                          reply->element[1]->len,
                                          "the Sentinels say");

    if (sn->read == NGX_HTTP_WAPRESS_SENTINEL_PRIMARY) {
        ngx_http_wapress_sentinel_done(sn);
        return;
    }

    argv[0] = "SENTINEL";
    argvlen[0] = sizeof("SENTINEL") - 1;
    argv[1] = "replicas";
    argvlen[1] = sizeof("replicas") - 1;
    argv[2] = (const char *) sn->master.data;
    argvlen[2] = sn->master.len;

    if (redisAsyncCommandArgv(ac, ngx_http_wapress_sentinel_replicas_reply,
                              peer, 3, argv, argvlen)
        != REDIS_OK)
    {
        ngx_http_wapress_sentinel_next(sn, "connection is closing",
                                       sizeof("connection is closing") - 1);
    }
}


/* the replicas: those up, with their link to the primary up, are kept */

static void
ngx_http_wapress_sentinel_replicas_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    u_char                             *p, *last;
    size_t                              i, j, k;
    ngx_uint_t                          n, changed;
    redisReply                         *reply, *ip, *port, *flags, *link;
    ngx_http_wapress_sentinel_peer_t   *peer;
    ngx_http_wapress_redis_sentinel_t  *sn;
    ngx_http_wapress_sentinel_node_t    nodes[NGX_HTTP_WAPRESS_SENTINEL_REPLICAS];
    u_char                              text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    reply = r;
    peer = privdata;
    sn = peer->sn;

    if (ngx_http_wapress_sentinel_peer_ok(peer, ac, reply) != NGX_OK) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        ngx_http_wapress_sentinel_next(sn, "bad reply to SENTINEL replicas",
                                       sizeof("bad reply to SENTINEL "
                                              "replicas") - 1);
        return;
    }

    n = 0;

    for (i = 0; i < reply->elements; i++) {
        ip = ngx_http_wapress_sentinel_field(reply->element[i], "ip");
        port = ngx_http_wapress_sentinel_field(reply->element[i], "port");
        flags = ngx_http_wapress_sentinel_field(reply->element[i], "flags");
        link = ngx_http_wapress_sentinel_field(reply->element[i],
                                               "master-link-status");

        if (ip == NULL || port == NULL || flags == NULL
            || n == NGX_HTTP_WAPRESS_SENTINEL_REPLICAS
            || ngx_strlcasestrn((u_char *) flags->str,
                                (u_char *) flags->str + flags->len,
                                (u_char *) "down", 4 - 1)
               != NULL
            || ngx_strlcasestrn((u_char *) flags->str,
                                (u_char *) flags->str + flags->len,
                                (u_char *) "disconnected", 12 - 1)
               != NULL
            || (link && (link->len != 2
                         || ngx_strncmp(link->str, "ok", 2) != 0)))
        {
            continue;
        }

        if (ngx_http_wapress_sentinel_node(&nodes[n], (u_char *) ip->str,
                                           ip->len, (u_char *) port->str,
                                           port->len)
            == NGX_OK)
        {
            n++;
        }
    }

    /* the same set, in any order: nothing to say */

    changed = (n != sn->nreplicas) || !sn->listed;

    for (j = 0; !changed && j < n; j++) {
        for (k = 0; k < sn->nreplicas; k++) {
            if (nodes[j].port == sn->replicas[k].port
                && ngx_strcmp(nodes[j].host, sn->replicas[k].host) == 0)
            {
                break;
            }
        }

        changed = (k == sn->nreplicas);
    }

    if (changed) {
        ngx_memcpy(sn->replicas, nodes, n * sizeof(nodes[0]));
        sn->nreplicas = n;
        sn->listed = 1;

        p = text;
        last = text + sizeof(text) - 1;

        for (j = 0; j < n; j++) {
            p = ngx_slprintf(p, last, "%s%s:%d", j ? ", " : "",
                             nodes[j].host, (int) nodes[j].port);
        }

        *p = '\0';

        ngx_log_error(NGX_LOG_NOTICE, sn->log, 0,
                      "wapress: redis %V: %ui healthy replicas%s%s",
                      &sn->server->name, n, n ? ": " : "", text);

        ngx_http_wapress_sentinel_choose(sn);
    }

    ngx_http_wapress_sentinel_done(sn);
}


/* the replica this worker reads from: kept while healthy, else by pid */

static void
ngx_http_wapress_sentinel_choose(ngx_http_wapress_redis_sentinel_t *sn)
{
    ngx_uint_t                         i;
    ngx_http_wapress_sentinel_node_t   none, *node;

    for (i = 0; i < sn->nreplicas; i++) {
        if (sn->replicas[i].port == sn->replica.port
            && ngx_strcmp(sn->replicas[i].host, sn->replica.host) == 0)
        {
            return;
        }
    }

    if (sn->nreplicas) {
        node = &sn->replicas[(ngx_uint_t) ngx_pid % sn->nreplicas];

    } else {
        ngx_memzero(&none, sizeof(none));
        node = &none;
    }

    ngx_http_wapress_sentinel_move(sn->replica_conn, node);
}


static void
ngx_http_wapress_sentinel_set_primary(ngx_http_wapress_redis_sentinel_t *sn,
    u_char *host, size_t hlen, u_char *port, size_t plen, const char *how)
{
    ngx_http_wapress_sentinel_node_t  node;

    if (ngx_http_wapress_sentinel_node(&node, host, hlen, port, plen)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, sn->log, 0,
                      "wapress: redis %V: bad primary address from the "
                      "Sentinels", &sn->server->name);
        return;
    }

    if (node.port == sn->primary.port
        && ngx_strcmp(node.host, sn->primary.host) == 0)
    {
        return;
    }

    if (sn->primary.port == 0) {
        ngx_log_error(NGX_LOG_NOTICE, sn->log, 0,
                      "wapress: redis %V: primary is %s:%d (%s)",
                      &sn->server->name, node.host, (int) node.port, how);

    } else {
        ngx_log_error(NGX_LOG_NOTICE, sn->log, 0,
                      "wapress: redis %V: primary moved from %s:%d to "
                      "%s:%d (%s), failover followed",
                      &sn->server->name, sn->primary.host,
                      (int) sn->primary.port, node.host, (int) node.port,
                      how);
    }

    if (sn->server->conn == NULL) {
        sn->server->conn = ngx_http_wapress_redis_conn_new(sn->server);
    }

    if (sn->server->conn == NULL) {
        sn->primary = node;
        return;
    }

    ngx_http_wapress_sentinel_move(sn->server->conn, &node);
}


/* "conn" goes to "node" now: its commands in flight fail as lost */

static void
ngx_http_wapress_sentinel_move(ngx_http_wapress_redis_conn_t *conn,
    ngx_http_wapress_sentinel_node_t *node)
{
    u_char                             *p;
    ngx_http_wapress_sentinel_node_t   *old;
    ngx_http_wapress_redis_sentinel_t  *sn;
    u_char                              text[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];

    sn = conn->server->sentinel;
    old = conn->replica ? &sn->replica : &sn->primary;

    if (conn->replica && (old->port || node->port)) {
        ngx_log_error(NGX_LOG_NOTICE, sn->log, 0,
                      "wapress: redis %V: reads go to %s%s%s%d",
                      &sn->server->name,
                      node->port ? "the replica " : "the primary",
                      node->port ? (char *) node->host : "",
                      node->port ? ":" : "", (int) node->port);
    }

    *old = *node;

    /* a new node: no backoff inherited from the old one */

    conn->failures = 0;
    conn->delay = 0;
    conn->next_attempt = ngx_current_msec;

    if (conn->ac == NULL || conn->ac->data == NULL) {
        return;
    }

    p = ngx_snprintf(text, NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN - 1,
                     "connection lost: %s moved to %s:%d",
                     conn->replica ? "the replica" : "the primary",
                     node->host, (int) node->port);
    *p = '\0';

    ngx_http_wapress_redis_drop(conn->ac->data, NGX_LOG_INFO, text);
}


/* the subscription to +switch-master, one per Sentinel */

static void
ngx_http_wapress_sentinel_sub_start(ngx_event_t *ev)
{
    const char                        *err;
    redisAsyncContext                 *ac;
    ngx_http_wapress_sentinel_peer_t  *peer;

    peer = ev->data;

    if (peer->sn->exiting || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ac = ngx_http_wapress_redis_conn_get(peer->sub,
                                         NGX_HTTP_WAPRESS_SENTINEL_CONNECT,
                                         peer->sn->log, &err);

    if (ac == NULL
        || redisAsyncCommand(ac, ngx_http_wapress_sentinel_sub_message, peer,
                             "SUBSCRIBE +switch-master")
           != REDIS_OK)
    {
        ngx_add_timer(&peer->retry, NGX_HTTP_WAPRESS_SENTINEL_RETRY);
        return;
    }

    peer->sub_ac = ac;
}


static void
ngx_http_wapress_sentinel_sub_message(redisAsyncContext *ac, void *r,
    void *privdata)
{
    u_char                             *s, *e, *f[5];
    size_t                              len[5];
    ngx_uint_t                          i;
    redisReply                         *reply, *payload;
    ngx_http_wapress_sentinel_peer_t   *peer;
    ngx_http_wapress_redis_sentinel_t  *sn;

    reply = r;
    peer = privdata;
    sn = peer->sn;

    if (ac != peer->sub_ac || sn->exiting) {
        return;
    }

    if (reply == NULL
        || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        peer->sub_ac = NULL;

        if (reply != NULL) {
            ngx_log_error(NGX_LOG_ERR, sn->log, 0,
                          "wapress: redis %V: %V: unexpected reply to "
                          "SUBSCRIBE", &sn->server->name,
                          &peer->server->name);

            /* hiredis frees it when this callback returns */
            redisAsyncFree(ac);
        }

        if (!peer->retry.timer_set
            && !(ngx_exiting || ngx_quit || ngx_terminate))
        {
            ngx_add_timer(&peer->retry, reply
                                        ? NGX_HTTP_WAPRESS_SENTINEL_RETRY_ERR
                                        : NGX_HTTP_WAPRESS_SENTINEL_RETRY);
        }

        return;
    }

    payload = reply->element[2];

    if (reply->element[0]->len != sizeof("message") - 1
        || ngx_strncmp(reply->element[0]->str, "message", 7) != 0
        || payload->type != REDIS_REPLY_STRING)
    {
        /* "subscribe" */
        return;
    }

    /* "NAME OLDIP OLDPORT NEWIP NEWPORT" */

    s = (u_char *) payload->str;
    e = s + payload->len;

    for (i = 0; i < 5; i++) {
        f[i] = s;

        while (s < e && *s != ' ') {
            s++;
        }

        len[i] = s - f[i];

        if (s < e) {
            s++;
        }
    }

    if (len[0] != sn->master.len
        || ngx_strncmp(f[0], sn->master.data, len[0]) != 0)
    {
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sn->log, 0,
                   "wapress redis %V: +switch-master \"%*s\"",
                   &sn->server->name, payload->len, payload->str);

    ngx_http_wapress_sentinel_set_primary(sn, f[3], len[3], f[4], len[4],
                                          "+switch-master");

    /* the replicas changed too */

    if (sn->busy) {
        sn->again = 1;

    } else {
        ngx_http_wapress_sentinel_ask(sn);
    }
}


static ngx_int_t
ngx_http_wapress_sentinel_node(ngx_http_wapress_sentinel_node_t *node,
    u_char *host, size_t hlen, u_char *port, size_t plen)
{
    ngx_int_t  n;

    n = ngx_atoi(port, plen);

    /* an IP literal: hiredis would resolve a name, blocking */

    if (n < 1 || n > 65535 || hlen == 0 || hlen > NGX_SOCKADDR_STRLEN
        || (ngx_inet_addr(host, hlen) == INADDR_NONE
#if (NGX_HAVE_INET6)
            && ngx_inet6_addr(host, hlen, (u_char *) &node->host[0]) != NGX_OK
#endif
           ))
    {
        return NGX_ERROR;
    }

    ngx_memcpy(node->host, host, hlen);
    node->host[hlen] = '\0';
    node->port = (in_port_t) n;

    return NGX_OK;
}


/* a field of a flat "name value ..." array (SENTINEL replicas) */

static redisReply *
ngx_http_wapress_sentinel_field(redisReply *r, const char *name)
{
    size_t  i, len;

    if (r->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }

    len = ngx_strlen(name);

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type == REDIS_REPLY_STRING
            && r->element[i]->len == len
            && ngx_strncmp(r->element[i]->str, name, len) == 0
            && r->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            return r->element[i + 1];
        }
    }

    return NULL;
}
