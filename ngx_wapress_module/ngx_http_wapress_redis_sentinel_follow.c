
/*
 * ngx_http_wapress_redis_sentinel_follow.c: where a "wapress_redis
 * sentinel" server's connections go.  The primary's connection (the
 * server's own, srv->conn) connects to the primary the Sentinels named,
 * and its ROLE must say "master" (else it is left at once and the
 * Sentinels asked again); a +switch-master of any Sentinel moves it at
 * once (the commands in flight on the old one fail as a lost
 * connection: the cache's stale copies cover them), and so does the
 * invalidation subscription's (srv->track, invalidate=on).  With read=,
 * GET and HGET go to a replica's connection (conn->replica), see
 * _route().
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_sentinel.h"


static void ngx_http_wapress_sentinel_move(ngx_http_wapress_redis_conn_t *conn,
    ngx_http_wapress_sentinel_node_t *node);
static void ngx_http_wapress_sentinel_sub_message(redisAsyncContext *ac,
    void *r, void *privdata);


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
        ngx_http_wapress_redis_sentinel_ask(sn);
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


/* the replica this worker reads from: kept while healthy, else by pid */

void
ngx_http_wapress_redis_sentinel_choose(ngx_http_wapress_redis_sentinel_t *sn)
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


void
ngx_http_wapress_redis_sentinel_set_primary(
    ngx_http_wapress_redis_sentinel_t *sn, u_char *host, size_t hlen,
    u_char *port, size_t plen, const char *how)
{
    ngx_uint_t                         switched;
    ngx_http_wapress_redis_link_t     *link;
    ngx_http_wapress_redis_conn_t     *conn;
    ngx_http_wapress_sentinel_node_t   node;

    if (ngx_http_wapress_redis_sentinel_node(&node, host, hlen, port, plen)
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

    conn = sn->server->conn;

    switched = (ngx_strcmp(how, NGX_HTTP_WAPRESS_SENTINEL_SWITCH) == 0);

    if (!switched && sn->primary.port) {

        /*
         * An answer to a question, not the failover's message: a
         * Sentinel that has not heard of a failover yet (they tell each
         * other within 2 s) would move us back.  It is believed only
         * when the primary's connection is not up and checked by ROLE,
         * and not within 5 s of a +switch-master.
         */

        link = (conn && conn->ac) ? conn->ac->data : NULL;

        if ((link != NULL && link->ready && !link->closing)
            || (sn->switched
                && ngx_current_msec - sn->switched
                   < NGX_HTTP_WAPRESS_SENTINEL_TRUST))
        {
            ngx_log_debug4(NGX_LOG_DEBUG_HTTP, sn->log, 0,
                           "wapress redis %V: a Sentinel says %s:%d, "
                           "keeping %s", &sn->server->name, node.host,
                           (int) node.port, sn->primary.host);
            return;
        }
    }

    if (switched) {
        sn->switched = ngx_current_msec ? ngx_current_msec : 1;
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

    if (conn == NULL) {
        conn = ngx_http_wapress_redis_conn_new(sn->server);
        sn->server->conn = conn;
    }

    if (conn == NULL) {
        sn->primary = node;

    } else {
        ngx_http_wapress_sentinel_move(conn, &node);
    }

    /*
     * invalidate=on: the subscription (_redis_track.c) goes too.  Left
     * on the old primary it would look alive while the writes go to the
     * new one (an old primary paused or cut off, not demoted, hears of
     * none of them): dropped, the zones fall back to their short
     * freshness until it is made again on the new primary.
     */

    if (sn->server->track) {
        ngx_http_wapress_sentinel_move(sn->server->track, &node);
    }
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

void
ngx_http_wapress_redis_sentinel_sub_start(ngx_event_t *ev)
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

    ngx_http_wapress_redis_sentinel_set_primary(sn, f[3], len[3], f[4], len[4],
                                          NGX_HTTP_WAPRESS_SENTINEL_SWITCH);

    /* the replicas changed too */

    if (sn->busy) {
        sn->again = 1;

    } else {
        ngx_http_wapress_redis_sentinel_ask(sn);
    }
}


ngx_int_t
ngx_http_wapress_redis_sentinel_node(ngx_http_wapress_sentinel_node_t *node,
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