
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_conn.h"


typedef struct ngx_http_shared_session_store_s
    ngx_http_shared_session_store_t;

/* rc is NGX_OK, or NGX_ERROR with the cause in st->error */
typedef void (*ngx_http_shared_session_store_handler_pt)(
    ngx_http_request_t *r, ngx_http_shared_session_store_t *st, ngx_int_t rc);


struct ngx_http_shared_session_store_s {
    /* set by the caller */
    ngx_http_shared_session_conn_t            *conn;
    ngx_msec_t                                 timeout;
    ngx_flag_t                                 scripts;  /* else: plain */
    ngx_flag_t                                 hash_script; /* plain too */
    ngx_str_t                                  prefix;   /* "<namespace>:" */
    int64_t                                    now;      /* ms */
    ngx_str_t                                 *ids;      /* from cookies */
    ngx_uint_t                                 nids;

    /* touch only */
    ngx_str_t                                  field;    /* sessionAttr:.. */
    ngx_str_t                                  value;
    time_t                                     max_inactive_interval;
    ngx_str_t                                  new_id;

    ngx_http_shared_session_store_handler_pt   handler;

    /* results: ids[found - 1] is the session, or 0: none (touch: new_id) */
    ngx_uint_t                                 found;
    int64_t                                    creation_time;
    ngx_str_t                                  previous; /* NULL: absent */
    ngx_str_t                                  error;

    /* private */
    ngx_http_request_t                        *request;
    ngx_http_shared_session_conn_cmd_t         cmd;
    void                                      *plain;
    ngx_uint_t                                 script;
    ngx_http_shared_session_args_t             args;
};


/* Computes the scripts' SHA1 digests; once, at configuration. */
ngx_int_t ngx_http_shared_session_store_init(ngx_conf_t *cf);

/* The Lua scripts, for the adapter to SCRIPT LOAD on each connection. */
ngx_str_t *ngx_http_shared_session_store_scripts(ngx_uint_t *n);

/*
 * The one-key script that writes a session's hash in a Redis Cluster (to
 * SCRIPT LOAD on each node's connection).
 */
ngx_http_shared_session_script_t *ngx_http_shared_session_store_hash_script(
    void);

/*
 * Both return NGX_OK when the script was sent (st->handler follows),
 * NGX_DECLINED when Redis cannot be asked now (cause in st->error), or
 * NGX_ERROR.  After NGX_DECLINED or NGX_ERROR nothing of the request is
 * outstanding: st->handler is never called for it.
 *
 * Atomically finds the first live session among st->ids and touches it
 * (lastAccessedTime, the attribute, TTLs, shadow key, expiry bucket) as
 * Spring Session does, or creates st->new_id if there is none.
 */
ngx_int_t ngx_http_shared_session_store_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);

/* Atomically ends the first live session among st->ids as Spring 3.4 does. */
ngx_int_t ngx_http_shared_session_store_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);


/*
 * The same operations as plain pipelined commands, for Redis-compatible
 * servers that forbid scripting and for Redis Cluster, where each key goes
 * to its own shard (ngx_http_shared_session_store_plain.c): two round
 * trips, and a touch is not atomic with a concurrent invalidation.
 */
ngx_int_t ngx_http_shared_session_store_plain(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t invalidate);

/* shared by both variants */
ngx_int_t ngx_http_shared_session_store_number(u_char *p, size_t len,
    int64_t *n);
void ngx_http_shared_session_store_invalid(ngx_http_shared_session_store_t *st,
    u_char *id, size_t len);
u_char *ngx_http_shared_session_store_key(ngx_pool_t *pool, ngx_str_t *prefix,
    const char *kind, ngx_str_t *id, size_t *len);


#endif /* _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_ */
