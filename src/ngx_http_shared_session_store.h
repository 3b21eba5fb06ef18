
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_redis.h"
#include "ngx_http_shared_session_cluster.h"


typedef struct ngx_http_shared_session_store_s
    ngx_http_shared_session_store_t;


/* the operations, and the scripts' indexes */
#define NGX_HTTP_SHARED_SESSION_OP_TOUCH       0
#define NGX_HTTP_SHARED_SESSION_OP_INVALIDATE  1
#define NGX_HTTP_SHARED_SESSION_OP_LOAD        2

/* rc is NGX_OK, or NGX_ERROR with the cause in st->error */
typedef void (*ngx_http_shared_session_store_handler_pt)(
    ngx_http_request_t *r, ngx_http_shared_session_store_t *st, ngx_int_t rc);


struct ngx_http_shared_session_store_s {
    /* set by the caller */
    ngx_http_shared_session_redis_t           *redis;    /* standalone */
    ngx_http_shared_session_cluster_t         *cluster;  /* or cluster */
    ngx_str_t                                 *name;     /* for logs */
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

    /* load only: the attributes to read, lowercase "sessionAttr:<name>" */
    ngx_flag_t                                 touch;
    ngx_str_t                                 *names;
    ngx_uint_t                                 nnames;

    ngx_http_shared_session_store_handler_pt   handler;

    /* results: ids[found - 1] is the session, or 0: none (touch: new_id) */
    ngx_uint_t                                 found;
    int64_t                                    creation_time;
    ngx_str_t                                  previous; /* NULL: absent */
    ngx_str_t                                  error;

    /* load's results: as stored before this request; values: per name */
    int64_t                                    last_accessed_time;
    int64_t                                    interval;
    ngx_str_t                                 *values;   /* NULL: absent */
    ngx_uint_t                                 bad;      /* not sessions */

    /* private */
    ngx_http_request_t                        *request;
    ngx_http_shared_session_redis_cmd_t       *cmd;
    void                                      *plain;
    ngx_uint_t                                 script;
    ngx_uint_t                                 retried;
    int                                        argc;
    const char                               **argv;
    size_t                                    *argvlen;
};


/* Computes the scripts' SHA1 digests; once, at configuration. */
ngx_int_t ngx_http_shared_session_store_init(ngx_conf_t *cf);

/* The Lua scripts, for the adapter to SCRIPT LOAD on each connection. */
ngx_str_t *ngx_http_shared_session_store_scripts(ngx_uint_t *n);

/*
 * The one-key script that writes a session's hash in a Redis Cluster (to
 * SCRIPT LOAD on each node's connection), and its SHA1 in "sha".
 */
ngx_str_t *ngx_http_shared_session_store_hash_script(ngx_str_t *sha);

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

/*
 * Atomically finds the first live session among st->ids and, with
 * st->touch, touches it as touch() does but for the attribute; never
 * creates one.  Reads the hash fields named in st->names, compared
 * without case, into st->values.
 */
ngx_int_t ngx_http_shared_session_store_load(ngx_http_request_t *r,
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
    ngx_http_shared_session_store_t *st, ngx_uint_t op);

/* shared by both variants */
ngx_int_t ngx_http_shared_session_store_number(u_char *p, size_t len,
    int64_t *n);
void ngx_http_shared_session_store_invalid(ngx_http_shared_session_store_t *st,
    u_char *id, size_t len);
u_char *ngx_http_shared_session_store_key(ngx_pool_t *pool, ngx_str_t *prefix,
    const char *kind, ngx_str_t *id, size_t *len);


#endif /* _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_ */
