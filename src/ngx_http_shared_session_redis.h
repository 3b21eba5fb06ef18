
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_REDIS_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>


typedef struct ngx_http_shared_session_redis_s
    ngx_http_shared_session_redis_t;
typedef struct ngx_http_shared_session_redis_cmd_s
    ngx_http_shared_session_redis_cmd_t;

/*
 * Called exactly once per command unless cancelled: with the reply (which
 * may be an error reply and is freed when the handler returns), or with
 * reply == NULL and the cause in "error".  Never called from inside
 * ngx_http_shared_session_redis_send().
 */
typedef void (*ngx_http_shared_session_redis_handler_pt)(void *data,
    redisReply *reply, ngx_str_t *error);


/*
 * Finds or adds the Redis server for an address ("host[:port]" or
 * "unix:/path", resolved now, at configuration time), credentials and
 * whether scripts are loaded on its connections.
 */
ngx_http_shared_session_redis_t *ngx_http_shared_session_redis_add(
    ngx_conf_t *cf, ngx_array_t *servers, ngx_str_t *address,
    ngx_str_t *username, ngx_str_t *password, ngx_int_t database,
    ngx_flag_t scripts, ngx_msec_t connect_timeout);

/* Scripts to SCRIPT LOAD on every new connection, after AUTH and SELECT. */
void ngx_http_shared_session_redis_set_scripts(
    ngx_http_shared_session_redis_t *rs, ngx_str_t *scripts, ngx_uint_t n);

ngx_str_t *ngx_http_shared_session_redis_name(
    ngx_http_shared_session_redis_t *rs);

/*
 * Queues a command on this worker's connection (connecting first if
 * needed).  Returns NULL if it cannot be sent now; the cause is then in
 * "error".
 */
ngx_http_shared_session_redis_cmd_t *ngx_http_shared_session_redis_send(
    ngx_http_shared_session_redis_t *rs, ngx_log_t *log, ngx_msec_t timeout,
    int argc, const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error);

/* The handler will not be called; a late reply is dropped. */
void ngx_http_shared_session_redis_cancel(
    ngx_http_shared_session_redis_cmd_t *cmd);

/* Closes this worker's connections (at worker exit). */
void ngx_http_shared_session_redis_close_all(ngx_array_t *servers);


#endif /* _NGX_HTTP_SHARED_SESSION_REDIS_H_INCLUDED_ */
