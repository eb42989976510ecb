
/*
 * ngx_http_wapress_redis_cluster.h: what the Redis Cluster files of the
 * Redis layer share (_redis_cluster.c: the nodes, the slot map and its
 * refresh; _redis_cluster_route.c: where a command goes, MOVED and ASK;
 * _redis_cluster_conf.c: the directive's form).  Private to the layer.
 */


#ifndef _NGX_HTTP_WAPRESS_REDIS_CLUSTER_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REDIS_CLUSTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wapress_redis_int.h"
#include "ngx_http_wapress_redis_slot.h"


#define NGX_HTTP_WAPRESS_CLUSTER_PORT        6379
#define NGX_HTTP_WAPRESS_CLUSTER_SEEDS       16
#define NGX_HTTP_WAPRESS_CLUSTER_NODES       64    /* per cluster, worker */
#define NGX_HTTP_WAPRESS_CLUSTER_NONE        0xffff
#define NGX_HTTP_WAPRESS_CLUSTER_ANSWER      1000  /* a node's deadline */
#define NGX_HTTP_WAPRESS_CLUSTER_CONNECT     500
#define NGX_HTTP_WAPRESS_CLUSTER_MIN         1000  /* refreshes at most */
#define NGX_HTTP_WAPRESS_CLUSTER_EVERY       30000 /* and at least */
#define NGX_HTTP_WAPRESS_CLUSTER_REDIRECTS   5     /* per command */

#define NGX_HTTP_WAPRESS_CLUSTER_PRIMARY NGX_HTTP_WAPRESS_REDIS_READ_PRIMARY
#define NGX_HTTP_WAPRESS_CLUSTER_REPLICA NGX_HTTP_WAPRESS_REDIS_READ_REPLICA
#define NGX_HTTP_WAPRESS_CLUSTER_PREFER NGX_HTTP_WAPRESS_REDIS_READ_PREFER


typedef struct {
    u_char                              host[NGX_SOCKADDR_STRLEN + 1];
    in_port_t                           port;
    ngx_http_wapress_redis_server_t    *server;    /* its connection's */
    ngx_uint_t                          replica;   /* a primary's replica
                                                      read from, or NONE */
    unsigned                            primary:1; /* serves slots */
    unsigned                            listed:1;  /* in the last map */
    unsigned                            seen:1;    /* in the map read */
} ngx_http_wapress_cluster_node_t;


struct ngx_http_wapress_redis_cluster_s {
    ngx_http_wapress_redis_server_t    *server;
    ngx_str_t                           key;       /* the directive's args */
    ngx_uint_t                          read;
    ngx_http_wapress_redis_server_t    *seeds;     /* host and port */
    ngx_uint_t                          nseeds;

    /* per worker */
    ngx_log_t                          *log;
    ngx_http_wapress_cluster_node_t    *nodes;     /* [_CLUSTER_NODES] */
    ngx_uint_t                          nnodes;
    uint16_t                           *slots;     /* node of each slot */
    uint16_t                           *next;      /* the map being read */
    uint16_t                           *last;      /* the last map read */
    ngx_uint_t                          asking;    /* nodes[asking] */
    ngx_uint_t                          tried;     /* in this round */
    ngx_uint_t                          route;     /* the next unknown slot's
                                                      node */
    ngx_msec_t                          asked;     /* a round began */
    ngx_event_t                         timer;     /* answer due, or next */
    unsigned                            busy:1;    /* a round is on */
    unsigned                            again:1;   /* another at its end */
    unsigned                            failed:1;  /* said none answered */
    unsigned                            garbage:1; /* said a map was bad */
    unsigned                            full:1;    /* said the table is */
    unsigned                            mapped:1;  /* a map was read */
    unsigned                            exiting:1;
    u_char                              why[NGX_HTTP_WAPRESS_REDIS_ERRSTR_LEN];
};


/* the map is asked for again, at most once per _CLUSTER_MIN */
void ngx_http_wapress_redis_cluster_refresh(
    ngx_http_wapress_redis_cluster_t *cl);

/* the node at "host" (an IP literal) and "port", added if new; or NONE */
ngx_uint_t ngx_http_wapress_redis_cluster_node(
    ngx_http_wapress_redis_cluster_t *cl, u_char *host, size_t hlen,
    ngx_uint_t port, const char *how);


#endif /* _NGX_HTTP_WAPRESS_REDIS_CLUSTER_H_INCLUDED_ */
