
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_REDIS_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <hiredis/hiredis.h>


/*
 * Memory kept for reuse (free lists, the reply arena) is poisoned while
 * unused under AddressSanitizer, which then reports a use after "free"
 * as it would for the heap.
 */
#if defined(__SANITIZE_ADDRESS__)
#define NGX_HTTP_SHARED_SESSION_ASAN  1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NGX_HTTP_SHARED_SESSION_ASAN  1
#endif
#endif

#ifdef NGX_HTTP_SHARED_SESSION_ASAN
#include <sanitizer/asan_interface.h>
#define ngx_http_shared_session_poison(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define ngx_http_shared_session_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ngx_http_shared_session_poison(p, n)
#define ngx_http_shared_session_unpoison(p, n)
#endif


typedef struct ngx_http_shared_session_redis_s
    ngx_http_shared_session_redis_t;
typedef struct ngx_http_shared_session_redis_cmd_s
    ngx_http_shared_session_redis_cmd_t;


/*
 * What every connection to one Redis deployment shares: one for a
 * standalone server, one for all the nodes of a cluster.  Filled in at
 * configuration time (ngx_http_shared_session_redis_conf_add) and never
 * changed afterwards.
 */
typedef struct {
    ngx_str_t                  username;
    ngx_str_t                  password;
    ngx_int_t                  database;
    ngx_msec_t                 connect_timeout;  /* the largest asked */

    ngx_str_t                 *scripts;          /* to SCRIPT LOAD */
    ngx_uint_t                 nscripts;

    ngx_resolver_t            *resolver;         /* NULL: resolved at start */
    ngx_msec_t                 resolver_timeout;

    ngx_flag_t                 tls;
    ngx_flag_t                 tls_verify;
    ngx_str_t                  tls_trusted_certificate;
    ngx_str_t                  tls_certificate;
    ngx_str_t                  tls_certificate_key;
    ngx_str_t                  tls_server_name;  /* empty: the node's host */

#if (NGX_SSL)
    ngx_ssl_t                 *ssl;              /* created by conf_add */
#endif
} ngx_http_shared_session_redis_conf_t;


/*
 * Called exactly once per command unless cancelled: with the reply (which
 * may be an error reply; it lives in the connection's reply arena until
 * the handler returns: copy what is kept, never free it), or with
 * reply == NULL and the cause in "error".  Never called from inside
 * ngx_http_shared_session_redis_send().
 */
typedef void (*ngx_http_shared_session_redis_handler_pt)(void *data,
    redisReply *reply, ngx_str_t *error);


/*
 * Finds or adds the settings equal to "conf" (a template on the caller's
 * stack), creating the TLS context once for all who share them.
 */
ngx_http_shared_session_redis_conf_t *ngx_http_shared_session_redis_conf_add(
    ngx_conf_t *cf, ngx_array_t *confs,
    ngx_http_shared_session_redis_conf_t *conf);

/*
 * Finds or adds the Redis server for an address ("host[:port]" or
 * "unix:/path") and settings from ngx_http_shared_session_redis_conf_add.
 * A host name is resolved now, at configuration time, unless the settings
 * have a resolver: it is then resolved with it each time a connection
 * starts.
 */
ngx_http_shared_session_redis_t *ngx_http_shared_session_redis_add(
    ngx_conf_t *cf, ngx_array_t *servers, ngx_str_t *address,
    ngx_http_shared_session_redis_conf_t *conf);

/*
 * A server learned at run time (a cluster node from CLUSTER SLOTS or a
 * MOVED reply): "host" is an IP address, or a name that needs conf's
 * resolver.  Memory is the worker's (ngx_alloc); returns NULL with the
 * cause logged.
 */
ngx_http_shared_session_redis_t *ngx_http_shared_session_redis_create(
    ngx_http_shared_session_redis_conf_t *conf, ngx_str_t *host,
    in_port_t port, ngx_log_t *log);

/* Closes the connection, failing what is pending, and frees the server. */
void ngx_http_shared_session_redis_destroy(
    ngx_http_shared_session_redis_t *rs);

/* "host:port" or "unix:/path", for logs */
ngx_str_t *ngx_http_shared_session_redis_name(
    ngx_http_shared_session_redis_t *rs);

/* the host and port as configured or learned (for comparisons) */
ngx_str_t *ngx_http_shared_session_redis_host(
    ngx_http_shared_session_redis_t *rs);
in_port_t ngx_http_shared_session_redis_port(
    ngx_http_shared_session_redis_t *rs);

/* whether the last connection attempt failed and no retry is due yet */
ngx_uint_t ngx_http_shared_session_redis_backing_off(
    ngx_http_shared_session_redis_t *rs);

/*
 * Queues a command on this worker's connection (resolving and connecting
 * first if needed), to be answered within "timeout".  "wait" is the whole
 * time its caller allows for an answer (the request's timeout, of which a
 * retry may have only the rest): a connection is taken for stalled only
 * when no reply came for that long.  Returns NULL if it cannot be sent
 * now; the cause is then in "error".
 */
ngx_http_shared_session_redis_cmd_t *ngx_http_shared_session_redis_send(
    ngx_http_shared_session_redis_t *rs, ngx_log_t *log, ngx_msec_t timeout,
    ngx_msec_t wait, int argc, const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error);

/* The handler will not be called; a late reply is dropped. */
void ngx_http_shared_session_redis_cancel(
    ngx_http_shared_session_redis_cmd_t *cmd);

/* Closes this worker's connections (at worker exit). */
void ngx_http_shared_session_redis_close_all(ngx_array_t *servers);


#endif /* _NGX_HTTP_SHARED_SESSION_REDIS_H_INCLUDED_ */
