
/*
 * ngx_http_wapress_redis.h: the Redis side of the module.  Parses the
 * wapress_redis directive, keeps one persistent hiredis async connection
 * per worker per Redis server, and drives it from nginx's event loop
 * (read/write events on the hiredis socket, nginx timers for connect
 * deadlines, reconnect with backoff).  Never blocks the worker.
 */


#ifndef _NGX_HTTP_WAPRESS_REDIS_H_INCLUDED_
#define _NGX_HTTP_WAPRESS_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>


typedef struct ngx_http_wapress_redis_conn_s  ngx_http_wapress_redis_conn_t;


typedef struct {
    ngx_str_t                        name;       /* as configured, for logs */
    ngx_str_t                        host;       /* IP literal, NUL-terminated;
                                                    empty for unix sockets */
    ngx_str_t                        unix_path;  /* NUL-terminated or empty */
    in_port_t                        port;
    ngx_int_t                        db;         /* 0: no SELECT */
    ngx_str_t                        user;       /* empty: no ACL user */
    ngx_str_t                        password;   /* empty: no AUTH */

    /* the worker's connection, created on first use */
    ngx_http_wapress_redis_conn_t   *conn;
} ngx_http_wapress_redis_server_t;


/*
 * Parses "ADDRESS [db=N] [password=P] [user=U]" (args[0..nargs-1], the
 * directive name excluded); ADDRESS is host[:port] (default port 6379) or
 * unix:/path.  Host names are resolved here, at configuration time.
 * Identical servers are shared: the result is found in or added to
 * "servers" (an array of ngx_http_wapress_redis_server_t *).
 */
char *ngx_http_wapress_redis_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_array_t *servers,
    ngx_http_wapress_redis_server_t **srv);

/*
 * Returns the worker's connection context for "srv", connected or still
 * connecting (commands may be queued on it at once: hiredis writes them
 * after AUTH and SELECT once connected), starting a connection if there
 * is none and the backoff allows.  Returns NULL when the server cannot
 * be used now; *err then says why (a NUL-terminated text, valid until
 * the next call for this server, e.g. "Connection refused, next attempt
 * in 400ms").  Commands are written in one batch per event loop
 * turn (the write is a posted event).
 */
redisAsyncContext *ngx_http_wapress_redis_get(
    ngx_http_wapress_redis_server_t *srv, ngx_msec_t connect_timeout,
    ngx_log_t *log, const char **err);

/* exit_process: frees every connection of this worker */
void ngx_http_wapress_redis_cleanup(ngx_array_t *servers);


#endif /* _NGX_HTTP_WAPRESS_REDIS_H_INCLUDED_ */
