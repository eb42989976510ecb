
/*
 * ngx_http_wapress_redis_sentinel.h: what the Sentinel files of the Redis
 * layer share (_redis_sentinel.c: asking the Sentinels;
 * _redis_sentinel_follow.c: where the connections go, the +switch-master
 * subscription, the hooks of _redis.c and _redis_cmd.c;
 * _redis_sentinel_conf.c: the directive's form).  Private to the layer.
 */


#ifndef _NGX_HTTP_WAPRESS_REDIS_SENTINEL_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REDIS_SENTINEL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"


#define NGX_HTTP_WAPRESS_SENTINEL_PORT       26379
#define NGX_HTTP_WAPRESS_SENTINEL_MAX        16   /* Sentinels */
#define NGX_HTTP_WAPRESS_SENTINEL_NODES      16   /* replicas kept */
#define NGX_HTTP_WAPRESS_SENTINEL_ANSWER     1000 /* a Sentinel's deadline */
#define NGX_HTTP_WAPRESS_SENTINEL_CONNECT    500
#define NGX_HTTP_WAPRESS_SENTINEL_REFRESH    1000 /* asked again */
#define NGX_HTTP_WAPRESS_SENTINEL_RETRY      250  /* a subscription */
#define NGX_HTTP_WAPRESS_SENTINEL_RETRY_ERR  5000

/* a query's answer is not believed this long after a +switch-master */
#define NGX_HTTP_WAPRESS_SENTINEL_TRUST      5000
#define NGX_HTTP_WAPRESS_SENTINEL_SWITCH     "+switch-master"

#define NGX_HTTP_WAPRESS_SENTINEL_PRIMARY NGX_HTTP_WAPRESS_REDIS_READ_PRIMARY
#define NGX_HTTP_WAPRESS_SENTINEL_REPLICA NGX_HTTP_WAPRESS_REDIS_READ_REPLICA
#define NGX_HTTP_WAPRESS_SENTINEL_PREFER NGX_HTTP_WAPRESS_REDIS_READ_PREFER


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
    ngx_log_t                           quiet;     /* the Sentinels' conns */
    ngx_http_wapress_redis_conn_t      *replica_conn;
    ngx_http_wapress_sentinel_node_t    primary;
    ngx_http_wapress_sentinel_node_t    replica;   /* the one read from */
    ngx_http_wapress_sentinel_node_t    replicas[
                                            NGX_HTTP_WAPRESS_SENTINEL_NODES];
    ngx_uint_t                          nreplicas;
    ngx_uint_t                          asking;    /* peers[asking] */
    ngx_uint_t                          tried;     /* in this round */
    ngx_msec_t                          switched;  /* last +switch-master */
    ngx_event_t                         timer;     /* answer due, or next */
    unsigned                            busy:1;    /* a round is on */
    unsigned                            again:1;   /* another at its end */
    unsigned                            failed:1;  /* said none answered */
    unsigned                            listed:1;  /* replicas known */
    unsigned                            exiting:1;
    u_char                              why[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
};


/* a new round of questions (or another at the end of this one) */
void ngx_http_wapress_redis_sentinel_ask(
    ngx_http_wapress_redis_sentinel_t *sn);

/* the Sentinels named the primary: the connection goes there */
void ngx_http_wapress_redis_sentinel_set_primary(
    ngx_http_wapress_redis_sentinel_t *sn, u_char *host, size_t hlen,
    u_char *port, size_t plen, const char *how);

/* the replica set changed: the one this worker reads from */
void ngx_http_wapress_redis_sentinel_choose(
    ngx_http_wapress_redis_sentinel_t *sn);

/* the subscription to +switch-master (a peer's retry event) */
void ngx_http_wapress_redis_sentinel_sub_start(ngx_event_t *ev);

/* "IP", "PORT" into a node; NGX_ERROR unless an IP literal and a port */
ngx_int_t ngx_http_wapress_redis_sentinel_node(
    ngx_http_wapress_sentinel_node_t *node, u_char *host, size_t hlen,
    u_char *port, size_t plen);


#endif /* _NGX_HTTP_WAPRESS_REDIS_SENTINEL_H_INCLUDED_ */
