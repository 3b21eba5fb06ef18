
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_METRICS_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_redis.h"


/*
 * The module's counters in shared memory: one zone for all workers, kept
 * across "nginx -s reload", updated with atomic additions.  The hooks
 * below are what the connection, cluster and request code call; each one
 * does nothing while there is no zone (a worker without the module in use,
 * the fuzzers).
 */


#define NGX_HTTP_SHARED_SESSION_METRICS_ZONE       "shared_session"
#define NGX_HTTP_SHARED_SESSION_METRICS_ZONE_SIZE  (512 * 1024)

/* node events (ngx_http_shared_session_metrics_node_event) */
#define NGX_HTTP_SHARED_SESSION_METRIC_CONNECTING       0
#define NGX_HTTP_SHARED_SESSION_METRIC_CONNECTED        1
#define NGX_HTTP_SHARED_SESSION_METRIC_CONNECT_TIMEOUT  2
#define NGX_HTTP_SHARED_SESSION_METRIC_READ_TIMEOUT     3
#define NGX_HTTP_SHARED_SESSION_METRIC_PROTOCOL_ERROR   4
#define NGX_HTTP_SHARED_SESSION_METRIC_TLS_FAILURE      5

/* a node's counters, in the order the status page lists them */
#define NGX_HTTP_SHARED_SESSION_NODE_CONNECTS           0
#define NGX_HTTP_SHARED_SESSION_NODE_RECONNECTS         1
#define NGX_HTTP_SHARED_SESSION_NODE_CONNECT_TIMEOUTS   2
#define NGX_HTTP_SHARED_SESSION_NODE_READ_TIMEOUTS      3
#define NGX_HTTP_SHARED_SESSION_NODE_PROTOCOL_ERRORS    4
#define NGX_HTTP_SHARED_SESSION_NODE_AUTH_FAILURES      5
#define NGX_HTTP_SHARED_SESSION_NODE_TLS_FAILURES       6
#define NGX_HTTP_SHARED_SESSION_NODE_MOVED              7
#define NGX_HTTP_SHARED_SESSION_NODE_ASK                8
#define NGX_HTTP_SHARED_SESSION_NODE_SLOT_REFRESHES     9
#define NGX_HTTP_SHARED_SESSION_NODE_NOSCRIPT           10
#define NGX_HTTP_SHARED_SESSION_NODE_COMMANDS           11
#define NGX_HTTP_SHARED_SESSION_NODE_REPLIES            12
#define NGX_HTTP_SHARED_SESSION_NODE_BYTES_IN           13
#define NGX_HTTP_SHARED_SESSION_NODE_BYTES_OUT          14
#define NGX_HTTP_SHARED_SESSION_NODE_NCOUNTERS          15

/* a node's state, as the last worker to see it change left it */
#define NGX_HTTP_SHARED_SESSION_NODE_UNKNOWN            0
#define NGX_HTTP_SHARED_SESSION_NODE_UP                 1
#define NGX_HTTP_SHARED_SESSION_NODE_CONNECTING         2
#define NGX_HTTP_SHARED_SESSION_NODE_BACKING_OFF        3
#define NGX_HTTP_SHARED_SESSION_NODE_DOWN               4
#define NGX_HTTP_SHARED_SESSION_NODE_NSTATES            5

/* where a request asked for its session, and what came of it */
#define NGX_HTTP_SHARED_SESSION_EP_SESSION              0
#define NGX_HTTP_SHARED_SESSION_EP_INVALIDATE           1
#define NGX_HTTP_SHARED_SESSION_EP_REQUIRE              2
#define NGX_HTTP_SHARED_SESSION_EP_LOAD                 3
#define NGX_HTTP_SHARED_SESSION_EP_N                    4

#define NGX_HTTP_SHARED_SESSION_OUT_REUSED              0
#define NGX_HTTP_SHARED_SESSION_OUT_NEW                 1
#define NGX_HTTP_SHARED_SESSION_OUT_EXPIRED             2
#define NGX_HTTP_SHARED_SESSION_OUT_INVALID             3
#define NGX_HTTP_SHARED_SESSION_OUT_INVALIDATED         4
#define NGX_HTTP_SHARED_SESSION_OUT_MISSING             5
#define NGX_HTTP_SHARED_SESSION_OUT_UNAVAILABLE         6
#define NGX_HTTP_SHARED_SESSION_OUT_N                   7

/* round-trip histogram: upper bounds in microseconds, then +Inf */
#define NGX_HTTP_SHARED_SESSION_BUCKETS                 12


typedef struct ngx_http_shared_session_metrics_redis_s
    ngx_http_shared_session_metrics_redis_t;
typedef struct ngx_http_shared_session_metrics_node_s
    ngx_http_shared_session_metrics_node_t;


/* one configured Redis: a standalone server, or a cluster by its name */
struct ngx_http_shared_session_metrics_redis_s {
    ngx_http_shared_session_metrics_redis_t  *next;
    ngx_str_t                                 name;
    ngx_uint_t                                cluster;

    ngx_atomic_t                              requests[
                                                NGX_HTTP_SHARED_SESSION_EP_N]
                                                [NGX_HTTP_SHARED_SESSION_OUT_N];

    /* cluster: the newest slot map any worker applied */
    ngx_atomic_t                              map_seq;   /* maps begun */
    ngx_atomic_t                              map_done;  /* newest ended */
    ngx_atomic_t                              slots;     /* it covers */
};


struct ngx_http_shared_session_metrics_node_s {
    ngx_http_shared_session_metrics_node_t   *next;
    ngx_http_shared_session_metrics_redis_t  *redis;
    ngx_str_t                                 name;

    ngx_atomic_t                              state;
    ngx_atomic_t                              state_time;  /* s */
    ngx_atomic_t                              connect_ok;  /* the last */
    ngx_atomic_t                              primary;     /* map_seq */

    ngx_atomic_t                              counters[
                                        NGX_HTTP_SHARED_SESSION_NODE_NCOUNTERS];
    ngx_atomic_t                              queued;      /* signed */
    ngx_atomic_t                              buckets[
                                        NGX_HTTP_SHARED_SESSION_BUCKETS];
    ngx_atomic_t                              sum;         /* us */
};


typedef struct {
    ngx_http_shared_session_metrics_redis_t  *redis;     /* lists */
    ngx_http_shared_session_metrics_redis_t  *redis_last;
    ngx_http_shared_session_metrics_node_t   *nodes;
    ngx_http_shared_session_metrics_node_t   *nodes_last;
    time_t                                    started;
} ngx_http_shared_session_metrics_shm_t;


/* what this worker knows of a server or a cluster (never shared) */
typedef struct {
    void                                     *key;       /* rs or cluster */
    ngx_http_shared_session_redis_t          *rs;        /* NULL: cluster */
    ngx_http_shared_session_metrics_node_t   *node;
    ngx_http_shared_session_metrics_redis_t  *redis;
    ngx_uint_t                                connected; /* ever, here */
    ngx_http_shared_session_redis_cmd_t      *ping;      /* readiness */
} ngx_http_shared_session_metrics_local_t;


/* Configuration: adds the zone ("size" 0: the default). */
ngx_shm_zone_t *ngx_http_shared_session_metrics_zone(ngx_conf_t *cf,
    size_t size);

/* The zone of the cycle now starting, or NULL: set once it is created. */
void ngx_http_shared_session_metrics_use(ngx_shm_zone_t *zone);

/* the zone's contents, NULL without one */
ngx_http_shared_session_metrics_shm_t *ngx_http_shared_session_metrics_shm(
    void);

/* upper bounds of the histogram's buckets, in microseconds */
extern const ngx_uint_t  ngx_http_shared_session_metrics_bounds[];


/* Hooks of the connection layer: rs is the server a worker talks to. */

/* a node of the cluster (or server) named "redis"; first seen, or seed */
void ngx_http_shared_session_metrics_node_add(
    ngx_http_shared_session_redis_t *rs, ngx_str_t *redis);
void ngx_http_shared_session_metrics_node_forget(
    ngx_http_shared_session_redis_t *rs);
void ngx_http_shared_session_metrics_node_event(
    ngx_http_shared_session_redis_t *rs, ngx_uint_t event);
void ngx_http_shared_session_metrics_node_closed(
    ngx_http_shared_session_redis_t *rs, ngx_uint_t backing_off,
    ngx_uint_t queued);
void ngx_http_shared_session_metrics_node_init_failed(
    ngx_http_shared_session_redis_t *rs, const char *init);
void ngx_http_shared_session_metrics_node_bytes(
    ngx_http_shared_session_redis_t *rs, size_t in, size_t out);

/* a command queued: returns the time to give node_reply (us) */
uint64_t ngx_http_shared_session_metrics_node_command(
    ngx_http_shared_session_redis_t *rs);

/* n commands counted by node_command left the queue unsent */
void ngx_http_shared_session_metrics_node_unqueued(
    ngx_http_shared_session_redis_t *rs, ngx_uint_t n);

/*
 * A reply is handed out: its round trip is counted, and rs is the node
 * that answered until the same call with rs == NULL, after its handler.
 */
void ngx_http_shared_session_metrics_node_reply(
    ngx_http_shared_session_redis_t *rs, uint64_t sent, redisReply *reply);

/* a cluster's slot map applied, asked from "asked" (16384 entries) */
void ngx_http_shared_session_metrics_slot_map(ngx_str_t *cluster,
    ngx_http_shared_session_redis_t *asked,
    ngx_http_shared_session_redis_t **slots);


/* Requests: "key" is the server or cluster (a store's redis or cluster). */
void ngx_http_shared_session_metrics_request(void *key, ngx_str_t *name,
    ngx_uint_t cluster, ngx_uint_t endpoint, ngx_uint_t outcome);

/* the node whose reply is being handled, or NULL */
ngx_str_t *ngx_http_shared_session_metrics_replying(void);

/* monotonic microseconds */
uint64_t ngx_http_shared_session_metrics_now(void);


/* how a server is named in the counters; set once, at configuration */
typedef ngx_str_t *(*ngx_http_shared_session_metrics_name_pt)(
    ngx_http_shared_session_redis_t *rs);

void ngx_http_shared_session_metrics_namer(
    ngx_http_shared_session_metrics_name_pt name);

/* Worker start: the standalone servers of this configuration. */
void ngx_http_shared_session_metrics_init_worker(ngx_array_t *servers);

/* Worker exit, after the connections were closed. */
void ngx_http_shared_session_metrics_exit_worker(void);

/*
 * This worker's view: the Redis deployments configured in its cycle, and
 * everything it talks to (for the readiness check).
 */
ngx_http_shared_session_metrics_redis_t **
    ngx_http_shared_session_metrics_configured(ngx_uint_t *n);
ngx_http_shared_session_metrics_local_t **
    ngx_http_shared_session_metrics_locals(ngx_uint_t *n);

/* whether a Redis is ready, from the zone alone */
ngx_uint_t ngx_http_shared_session_metrics_ready(
    ngx_http_shared_session_metrics_redis_t *redis);
ngx_uint_t ngx_http_shared_session_metrics_node_ready(
    ngx_http_shared_session_metrics_node_t *node);
ngx_uint_t ngx_http_shared_session_metrics_primary(
    ngx_http_shared_session_metrics_node_t *node);


#endif /* _NGX_HTTP_SHARED_SESSION_METRICS_H_INCLUDED_ */
