
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_CONN_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_CONN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_shared_session_redis.h"


/*
 * The one interface the store sends its commands through, whatever it
 * talks to: a standalone server (ngx_http_shared_session_redis.c) or a
 * Redis Cluster (ngx_http_shared_session_cluster.c).  Each implements the
 * operations below; which one a location uses is chosen when its
 * configuration is merged, as nginx chooses its event actions
 * (ngx_event_actions_t) or an upstream's balancer (ngx_http_upstream_peer_t).
 */


/* all keys on one server: commands without a key (TIME) reach it too */
#define NGX_HTTP_SHARED_SESSION_CONN_ONE_SERVER  0x01


/*
 * Sends argv to "peer" within "timeout": "key" is the index of the key
 * argument, by which a cluster chooses the node (0: none).  argv is read
 * during the call only.  Returns the command, for cancel(), or NULL with
 * the cause in "error"; the handler is then called exactly once unless
 * the command is cancelled, never from inside send().
 */
typedef void *(*ngx_http_shared_session_conn_send_pt)(void *peer,
    ngx_log_t *log, ngx_msec_t timeout, ngx_uint_t key, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error);

/* The handler will not be called; a late reply is dropped. */
typedef void (*ngx_http_shared_session_conn_cancel_pt)(void *cmd);

/* for logs */
typedef ngx_str_t *(*ngx_http_shared_session_conn_name_pt)(void *peer);


typedef struct {
    ngx_http_shared_session_conn_send_pt     send;
    ngx_http_shared_session_conn_cancel_pt   cancel;
    ngx_http_shared_session_conn_name_pt     name;
    ngx_uint_t                               flags;
} ngx_http_shared_session_conn_ops_t;


typedef struct {
    ngx_http_shared_session_conn_ops_t        *ops;
    void                                      *peer;  /* server, cluster */
} ngx_http_shared_session_conn_t;


/* a Lua script, sent by its SHA1 (EVALSHA) */
typedef struct {
    ngx_str_t                                  text;
    u_char                                     sha1[40];
} ngx_http_shared_session_script_t;


/*
 * A command's arguments, built in a pool: at most "nalloc" of them.  A
 * push that fails (no memory, no room) is remembered: send() then refuses
 * the command with NGX_ERROR.
 */
typedef struct {
    int                                        argc;
    int                                        nalloc;
    const char                               **argv;
    size_t                                    *argvlen;
    ngx_pool_t                                *pool;
    ngx_http_shared_session_script_t          *script;
    ngx_uint_t                                 failed;
} ngx_http_shared_session_args_t;


/*
 * One command of a caller, in the caller's memory: a stable handle for
 * cancel() through what the connection does for it (a script sent again
 * after NOSCRIPT).
 */
typedef struct {
    /* set by the caller */
    ngx_http_shared_session_conn_t            *conn;
    ngx_log_t                                 *log;
    ngx_msec_t                                 timeout;
    ngx_http_shared_session_redis_handler_pt   handler;
    void                                      *data;

    /* private */
    void                                      *inner;  /* NULL: none */
    ngx_http_shared_session_args_t            *args;
    ngx_uint_t                                 key;
    ngx_uint_t                                 retried;
} ngx_http_shared_session_conn_cmd_t;


ngx_int_t ngx_http_shared_session_args_init(
    ngx_http_shared_session_args_t *args, ngx_pool_t *pool, ngx_uint_t n);
void ngx_http_shared_session_args_push(ngx_http_shared_session_args_t *args,
    const char *s);
void ngx_http_shared_session_args_push_str(
    ngx_http_shared_session_args_t *args, ngx_str_t *s);
void ngx_http_shared_session_args_push_int(
    ngx_http_shared_session_args_t *args, int64_t n);

/*
 * "EVALSHA <sha1>": the command is the script; when a server answers
 * NOSCRIPT (its script cache was flushed), the connection layer sends it
 * once more as "EVAL <text>", with the same arguments.
 */
void ngx_http_shared_session_args_script(ngx_http_shared_session_args_t *args,
    ngx_http_shared_session_script_t *script);

/* the script's SHA1, once, at configuration */
void ngx_http_shared_session_script_init(
    ngx_http_shared_session_script_t *script);

/*
 * Sends the command built in "args", which must stay as they are until
 * the handler is called or the command is cancelled.  NGX_OK: sent, the
 * handler follows; NGX_DECLINED: it cannot be sent now, the cause in
 * "error"; NGX_ERROR: the arguments could not be built.
 */
ngx_int_t ngx_http_shared_session_conn_send(
    ngx_http_shared_session_conn_cmd_t *cmd,
    ngx_http_shared_session_args_t *args, ngx_uint_t key, ngx_str_t *error);

/* if in flight: the handler will not be called */
void ngx_http_shared_session_conn_cancel(
    ngx_http_shared_session_conn_cmd_t *cmd);

#define ngx_http_shared_session_conn_name(conn)                               \
    (conn)->ops->name((conn)->peer)


/* the two implementations */
extern ngx_http_shared_session_conn_ops_t
    ngx_http_shared_session_redis_conn_ops;
extern ngx_http_shared_session_conn_ops_t
    ngx_http_shared_session_cluster_conn_ops;


#endif /* _NGX_HTTP_SHARED_SESSION_CONN_H_INCLUDED_ */
