
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_VARIABLES_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_VARIABLES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_store.h"


/* $shared_session_status */
#define NGX_HTTP_SHARED_SESSION_STATUS_NONE      0
#define NGX_HTTP_SHARED_SESSION_STATUS_VALID     1
#define NGX_HTTP_SHARED_SESSION_STATUS_NEW       2
#define NGX_HTTP_SHARED_SESSION_STATUS_MISSING   3
#define NGX_HTTP_SHARED_SESSION_STATUS_EXPIRED   4
#define NGX_HTTP_SHARED_SESSION_STATUS_INVALID   5
#define NGX_HTTP_SHARED_SESSION_STATUS_ERROR     6


/* the lookup of shared_session_require and _load (..._access.c) */
#define NGX_HTTP_SHARED_SESSION_LOOKUP_NONE      0
#define NGX_HTTP_SHARED_SESSION_LOOKUP_PENDING   1
#define NGX_HTTP_SHARED_SESSION_LOOKUP_DONE      2


typedef struct ngx_http_shared_session_waiter_s
    ngx_http_shared_session_waiter_t;

/* a request (the main one or a subrequest) waiting for the lookup */
struct ngx_http_shared_session_waiter_s {
    ngx_http_request_t                 *request;
    ngx_http_shared_session_waiter_t   *next;
};


/* what the session lookup of a (main) request found, for the variables */
typedef struct {
    ngx_uint_t                          status;
    uint64_t                            start;   /* us; 0: Redis not asked */
    uint64_t                            time;    /* us spent on Redis */
    ngx_str_t                           node;    /* the node that answered */

    /* the session: an endpoint's (id, creation), or a lookup's (all) */
    ngx_str_t                           id;
    int64_t                             creation_time;
    int64_t                             last_accessed_time;
    ngx_str_t                           principal;
    ngx_str_t                          *values;  /* as smcf->names */
    ngx_uint_t                          nvalues;

    /* shared_session_require and _load: once per main request */
    ngx_uint_t                          state;
    ngx_http_shared_session_waiter_t   *waiting;
} ngx_http_shared_session_lookup_t;


/*
 * Preconfiguration: $shared_session_status, _redis_time, _redis_node, _id,
 * _creation_time, _last_accessed_time, _principal, _attr_NAME.
 */
ngx_int_t ngx_http_shared_session_variables_add(ngx_conf_t *cf);

/*
 * The main request's record, kept across internal redirects; created when
 * "create" is set (NULL then only when out of memory).
 */
ngx_http_shared_session_lookup_t *ngx_http_shared_session_lookup(
    ngx_http_request_t *r, ngx_uint_t create);

/* The handlers' hooks: before the store is asked, and with its result. */
void ngx_http_shared_session_lookup_begin(ngx_http_request_t *r);

/*
 * rc: NGX_OK when the store answered (st->found, st->nids tell the rest),
 * anything else when it did not (503).  Sets the status and counts the
 * outcome for the location's endpoint.
 */
void ngx_http_shared_session_lookup_done(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc);

/* The time spent on Redis and the node that answered, when it answers. */
void ngx_http_shared_session_lookup_timed(ngx_http_request_t *r,
    ngx_http_shared_session_lookup_t *lk);


#endif /* _NGX_HTTP_SHARED_SESSION_VARIABLES_H_INCLUDED_ */
