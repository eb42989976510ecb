
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
 * counted by wapress_status, and log only crit and alert themselves (the
 * round's line says why a Sentinel failed, AUTH refused included).  Every
 * change of the topology is one notice.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_sentinel.h"


static void ngx_http_wapress_sentinel_ask_peer(
    ngx_http_wapress_redis_sentinel_t *sn);
static void ngx_http_wapress_sentinel_next(
    ngx_http_wapress_redis_sentinel_t *sn, const char *why, size_t len);
static void ngx_http_wapress_sentinel_done(
    ngx_http_wapress_redis_sentinel_t *sn);
static void ngx_http_wapress_sentinel_timer(ngx_event_t *ev);
static void ngx_http_wapress_sentinel_resolved(
    ngx_http_wapress_redis_conn_t *conn);
static void ngx_http_wapress_sentinel_master_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_wapress_sentinel_replicas_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static ngx_int_t ngx_http_wapress_sentinel_peer_ok(
    ngx_http_wapress_sentinel_peer_t *peer, redisAsyncContext *ac,
    redisReply *reply);
static redisReply *ngx_http_wapress_sentinel_field(redisReply *r,
    const char *name);


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

        /*
         * The Sentinels' own connections fail quietly (but for crit and
         * alert): the round's line says why the last one failed, once
         * (a wrong sentinel_password would be three error lines a
         * Sentinel otherwise, and again at every retry)
         */

        sn->quiet = *ngx_cycle->log;

        if ((sn->quiet.log_level & (NGX_LOG_DEBUG_FIRST - 1))
            > NGX_LOG_CRIT)
        {
            sn->quiet.log_level = (sn->quiet.log_level
                                   & ~(NGX_LOG_DEBUG_FIRST - 1))
                                  | NGX_LOG_CRIT;
        }

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

            peer->query->log = &sn->quiet;
            peer->sub->log = &sn->quiet;

            peer->retry.handler = ngx_http_wapress_redis_sentinel_sub_start;
            peer->retry.data = peer;
            peer->retry.log = sn->log;
            peer->retry.cancelable = 1;

            ngx_http_wapress_redis_sentinel_sub_start(&peer->retry);
        }

        ngx_http_wapress_redis_sentinel_ask(sn);
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


/* asking the Sentinels, one after the other */

void
ngx_http_wapress_redis_sentinel_ask(ngx_http_wapress_redis_sentinel_t *sn)
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
    if (ac == NULL && peer->query->resolve != NULL) {

        /*
         * a Sentinel named by a host name, resolved through the
         * "resolver": asked once it is, within the answer's deadline
         */

        peer->query->resolved = ngx_http_wapress_sentinel_resolved;
        peer->query->data = peer;

        if (sn->timer.timer_set) {
            ngx_del_timer(&sn->timer);
        }

        ngx_add_timer(&sn->timer, NGX_HTTP_WAPRESS_SENTINEL_ANSWER);
        return;
    }

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


/* the Sentinel's name is resolved: asked now, if it still is its turn */

static void
ngx_http_wapress_sentinel_resolved(ngx_http_wapress_redis_conn_t *conn)
{
    ngx_http_wapress_sentinel_peer_t   *peer;
    ngx_http_wapress_redis_sentinel_t  *sn;

    peer = conn->data;
    sn = peer->sn;

    if (sn->exiting || !sn->busy || &sn->peers[sn->asking] != peer) {
        return;
    }

    ngx_http_wapress_sentinel_ask_peer(sn);
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
        ngx_http_wapress_redis_sentinel_ask(sn);
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
        ngx_http_wapress_redis_sentinel_ask(sn);
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
        /* ended by the layer (an AUTH refused, ...): ac->errstr says why */

        if (ac->err && ac->errstr && ac->errstr[0]) {
            ngx_http_wapress_sentinel_next(sn, ac->errstr,
                                           ngx_strlen(ac->errstr));

        } else {
            ngx_http_wapress_sentinel_next(sn, "connection lost",
                                           sizeof("connection lost") - 1);
        }

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

    ngx_http_wapress_redis_sentinel_set_primary(sn,
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
    ngx_http_wapress_sentinel_node_t    nodes[NGX_HTTP_WAPRESS_SENTINEL_NODES];
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
            || n == NGX_HTTP_WAPRESS_SENTINEL_NODES
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

        if (ngx_http_wapress_redis_sentinel_node(&nodes[n], (u_char *) ip->str,
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

        ngx_http_wapress_redis_sentinel_choose(sn);
    }

    ngx_http_wapress_sentinel_done(sn);
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
