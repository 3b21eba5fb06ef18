
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_metrics.h"


/*
 * How a server is named, given by the module that knows servers: the
 * counters depend on no connection code (the connection layer calls them).
 */
static ngx_http_shared_session_metrics_name_pt
    ngx_http_shared_session_metrics_name_of;


/*
 * The counters live in one shared memory zone: a list of the configured
 * Redis deployments and a list of the nodes they have, each entry
 * allocated once (under the slab pool's mutex) the first time a worker
 * meets its name, and never freed.  Entries are appended whole and linked
 * last, so the status handler reads the lists without the mutex; every
 * counter is an ngx_atomic_t changed with ngx_atomic_fetch_add(), so the
 * request path takes no lock.
 *
 * A worker finds its entries through a small table of its own, keyed by
 * the address of the server (or cluster) it talks to: the connection
 * layer's hooks pass that address, and the name is looked at only once.
 */


#define NGX_HTTP_SHARED_SESSION_METRICS_SLOTS  16384


typedef struct {
    ngx_cycle_t                                *cycle;
    ngx_http_shared_session_metrics_local_t   **hash;    /* open addressing */
    ngx_uint_t                                  size;    /* a power of 2 */
    ngx_uint_t                                  used;
    ngx_http_shared_session_metrics_local_t    *last;    /* one-entry cache */

    ngx_array_t                                 locals;      /* all */
    ngx_array_t                                 configured;  /* redis */

    ngx_http_shared_session_redis_t            *replying;
    ngx_uint_t                                  full;    /* logged once */
} ngx_http_shared_session_metrics_worker_t;


static ngx_int_t ngx_http_shared_session_metrics_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static ngx_http_shared_session_metrics_local_t *
    ngx_http_shared_session_metrics_find(void *key);
static ngx_http_shared_session_metrics_local_t *
    ngx_http_shared_session_metrics_node_local(
    ngx_http_shared_session_redis_t *rs);
static ngx_http_shared_session_metrics_local_t *
    ngx_http_shared_session_metrics_local(void *key,
    ngx_http_shared_session_redis_t *rs, ngx_str_t *redis,
    ngx_uint_t cluster);
static ngx_int_t ngx_http_shared_session_metrics_insert(
    ngx_http_shared_session_metrics_local_t *l);
static ngx_uint_t ngx_http_shared_session_metrics_slot(
    ngx_http_shared_session_metrics_local_t **hash, ngx_uint_t mask,
    void *key);
static ngx_int_t ngx_http_shared_session_metrics_reserve(ngx_array_t *a,
    ngx_uint_t first);
static void ngx_http_shared_session_metrics_configure(
    ngx_http_shared_session_metrics_redis_t *redis);
static ngx_http_shared_session_metrics_redis_t *
    ngx_http_shared_session_metrics_redis(ngx_str_t *name,
    ngx_uint_t cluster);
static ngx_http_shared_session_metrics_node_t *
    ngx_http_shared_session_metrics_node(
    ngx_http_shared_session_metrics_redis_t *redis, ngx_str_t *name);
static void *ngx_http_shared_session_metrics_alloc(ngx_slab_pool_t *shpool,
    size_t size, ngx_str_t *name);
static void ngx_http_shared_session_metrics_state(
    ngx_http_shared_session_metrics_node_t *node, ngx_uint_t state);
static ngx_uint_t ngx_http_shared_session_metrics_raise(ngx_atomic_t *a,
    ngx_atomic_uint_t value);


const ngx_uint_t  ngx_http_shared_session_metrics_bounds[] = {
    500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000
};


/* the zone's tag: the same across reloads while the module stays loaded */
static ngx_uint_t                                ngx_http_shared_session_tag;

static ngx_shm_zone_t                           *ngx_http_shared_session_zone;
static ngx_http_shared_session_metrics_worker_t  ngx_http_shared_session_w;


ngx_shm_zone_t *
ngx_http_shared_session_metrics_zone(ngx_conf_t *cf, size_t size)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *zone;

    ngx_str_set(&name, NGX_HTTP_SHARED_SESSION_METRICS_ZONE);

    if (size == 0) {
        size = NGX_HTTP_SHARED_SESSION_METRICS_ZONE_SIZE;
    }

    zone = ngx_shared_memory_add(cf, &name, size,
                                 &ngx_http_shared_session_tag);
    if (zone == NULL) {
        return NULL;
    }

    zone->init = ngx_http_shared_session_metrics_init_zone;

    return zone;
}


/*
 * A reload that keeps the zone's name and size hands over the old zone
 * (data): its counters go on.  A new size, or a restart, starts at zero.
 */

static ngx_int_t
ngx_http_shared_session_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data)
{
    size_t                                  len;
    ngx_slab_pool_t                        *shpool;
    ngx_http_shared_session_metrics_shm_t  *sh;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_shared_session_metrics_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->started = ngx_time();

    shpool->data = sh;
    shm_zone->data = sh;

    len = sizeof(" in shared session zone \"\"") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in shared session zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is reported once per worker, by name: see _alloc() */
    shpool->log_nomem = 0;

    return NGX_OK;
}


void
ngx_http_shared_session_metrics_use(ngx_shm_zone_t *zone)
{
    ngx_http_shared_session_zone = zone;
}


ngx_http_shared_session_metrics_shm_t *
ngx_http_shared_session_metrics_shm(void)
{
    return ngx_http_shared_session_zone ? ngx_http_shared_session_zone->data
                                        : NULL;
}


void
ngx_http_shared_session_metrics_node_add(ngx_http_shared_session_redis_t *rs,
    ngx_str_t *redis)
{
    ngx_http_shared_session_metrics_local_t  *l;

    if (ngx_http_shared_session_zone == NULL) {
        return;
    }

    l = ngx_http_shared_session_metrics_find(rs);

    if (l == NULL) {
        l = ngx_http_shared_session_metrics_local(rs, rs, redis, 1);
    }

    if (l && l->redis) {
        ngx_http_shared_session_metrics_configure(l->redis);
    }
}


void
ngx_http_shared_session_metrics_node_forget(
    ngx_http_shared_session_redis_t *rs)
{
    ngx_http_shared_session_metrics_local_t  *l;

    if (ngx_http_shared_session_zone == NULL) {
        return;
    }

    l = ngx_http_shared_session_metrics_find(rs);

    if (l) {
        /* a tombstone: its slot stays taken, its key matches nothing */
        l->key = NULL;
        l->rs = NULL;
        ngx_http_shared_session_w.last = NULL;
    }
}


void
ngx_http_shared_session_metrics_node_event(ngx_http_shared_session_redis_t *rs,
    ngx_uint_t event)
{
    ngx_uint_t                                n;
    ngx_http_shared_session_metrics_node_t   *node;
    ngx_http_shared_session_metrics_local_t  *l;

    l = ngx_http_shared_session_metrics_node_local(rs);
    if (l == NULL) {
        return;
    }

    node = l->node;

    switch (event) {

    case NGX_HTTP_SHARED_SESSION_METRIC_CONNECTING:
        ngx_http_shared_session_metrics_state(node,
                                     NGX_HTTP_SHARED_SESSION_NODE_CONNECTING);
        return;

    case NGX_HTTP_SHARED_SESSION_METRIC_CONNECTED:
        (void) ngx_atomic_fetch_add(
                   &node->counters[NGX_HTTP_SHARED_SESSION_NODE_CONNECTS], 1);

        if (l->connected) {
            (void) ngx_atomic_fetch_add(
                 &node->counters[NGX_HTTP_SHARED_SESSION_NODE_RECONNECTS], 1);
        }

        l->connected = 1;
        node->connect_ok = 1;
        ngx_http_shared_session_metrics_state(node,
                                             NGX_HTTP_SHARED_SESSION_NODE_UP);
        return;

    case NGX_HTTP_SHARED_SESSION_METRIC_CONNECT_TIMEOUT:
        n = NGX_HTTP_SHARED_SESSION_NODE_CONNECT_TIMEOUTS;
        break;

    case NGX_HTTP_SHARED_SESSION_METRIC_READ_TIMEOUT:
        n = NGX_HTTP_SHARED_SESSION_NODE_READ_TIMEOUTS;
        break;

    case NGX_HTTP_SHARED_SESSION_METRIC_PROTOCOL_ERROR:
        n = NGX_HTTP_SHARED_SESSION_NODE_PROTOCOL_ERRORS;
        break;

    default: /* NGX_HTTP_SHARED_SESSION_METRIC_TLS_FAILURE */
        n = NGX_HTTP_SHARED_SESSION_NODE_TLS_FAILURES;
        break;
    }

    (void) ngx_atomic_fetch_add(&node->counters[n], 1);
}


/*
 * A connection closed: a working one leaves the node "down" (the next
 * request reconnects), a failed attempt "backing off".  Its commands are
 * no longer queued.  A worker that exits says nothing of the node's state:
 * the other workers, and the next generation after a reload, know better.
 */

void
ngx_http_shared_session_metrics_node_closed(
    ngx_http_shared_session_redis_t *rs, ngx_uint_t backing_off,
    ngx_uint_t queued)
{
    ngx_http_shared_session_metrics_node_t   *node;
    ngx_http_shared_session_metrics_local_t  *l;

    l = ngx_http_shared_session_metrics_node_local(rs);
    if (l == NULL) {
        return;
    }

    node = l->node;

    if (queued) {
        (void) ngx_atomic_fetch_add(&node->queued,
                                    - (ngx_atomic_int_t) queued);
    }

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (backing_off) {
        node->connect_ok = 0;
        ngx_http_shared_session_metrics_state(node,
                                    NGX_HTTP_SHARED_SESSION_NODE_BACKING_OFF);

    } else {
        ngx_http_shared_session_metrics_state(node,
                                           NGX_HTTP_SHARED_SESSION_NODE_DOWN);
    }
}


void
ngx_http_shared_session_metrics_node_init_failed(
    ngx_http_shared_session_redis_t *rs, const char *init)
{
    ngx_http_shared_session_metrics_local_t  *l;

    if (ngx_strcmp(init, "AUTH") != 0) {
        return;
    }

    l = ngx_http_shared_session_metrics_node_local(rs);

    if (l) {
        (void) ngx_atomic_fetch_add(
            &l->node->counters[NGX_HTTP_SHARED_SESSION_NODE_AUTH_FAILURES], 1);
    }
}


void
ngx_http_shared_session_metrics_node_bytes(ngx_http_shared_session_redis_t *rs,
    size_t in, size_t out)
{
    ngx_http_shared_session_metrics_node_t   *node;
    ngx_http_shared_session_metrics_local_t  *l;

    l = ngx_http_shared_session_metrics_node_local(rs);
    if (l == NULL) {
        return;
    }

    node = l->node;

    if (in) {
        (void) ngx_atomic_fetch_add(
                   &node->counters[NGX_HTTP_SHARED_SESSION_NODE_BYTES_IN], in);
    }

    if (out) {
        (void) ngx_atomic_fetch_add(
                 &node->counters[NGX_HTTP_SHARED_SESSION_NODE_BYTES_OUT], out);
    }
}


uint64_t
ngx_http_shared_session_metrics_node_command(
    ngx_http_shared_session_redis_t *rs)
{
    ngx_http_shared_session_metrics_node_t   *node;
    ngx_http_shared_session_metrics_local_t  *l;

    l = ngx_http_shared_session_metrics_node_local(rs);
    if (l == NULL) {
        return 0;
    }

    node = l->node;

    (void) ngx_atomic_fetch_add(
                   &node->counters[NGX_HTTP_SHARED_SESSION_NODE_COMMANDS], 1);
    (void) ngx_atomic_fetch_add(&node->queued, 1);

    return ngx_http_shared_session_metrics_now();
}


void
ngx_http_shared_session_metrics_node_unqueued(
    ngx_http_shared_session_redis_t *rs, ngx_uint_t n)
{
    ngx_http_shared_session_metrics_local_t  *l;

    l = ngx_http_shared_session_metrics_node_local(rs);
    if (l == NULL || n == 0) {
        return;
    }

    (void) ngx_atomic_fetch_add(&l->node->queued, - (ngx_atomic_int_t) n);
}


void
ngx_http_shared_session_metrics_node_reply(ngx_http_shared_session_redis_t *rs,
    uint64_t sent, redisReply *reply)
{
    uint64_t                                  us;
    ngx_uint_t                                i, n;
    ngx_http_shared_session_metrics_node_t   *node;
    ngx_http_shared_session_metrics_local_t  *l;

    ngx_http_shared_session_w.replying = rs;

    if (rs == NULL) {
        return;
    }

    l = ngx_http_shared_session_metrics_node_local(rs);
    if (l == NULL) {
        return;
    }

    node = l->node;

    (void) ngx_atomic_fetch_add(
                    &node->counters[NGX_HTTP_SHARED_SESSION_NODE_REPLIES], 1);
    (void) ngx_atomic_fetch_add(&node->queued, (ngx_atomic_int_t) -1);

    if (sent) {
        us = ngx_http_shared_session_metrics_now() - sent;

        for (i = 0; i < NGX_HTTP_SHARED_SESSION_BUCKETS - 1; i++) {
            if (us <= ngx_http_shared_session_metrics_bounds[i]) {
                break;
            }
        }

        (void) ngx_atomic_fetch_add(&node->buckets[i], 1);
        (void) ngx_atomic_fetch_add(&node->sum, (ngx_atomic_int_t) us);
    }

    if (reply->type != REDIS_REPLY_ERROR || reply->str == NULL) {
        return;
    }

    /* what a cluster or a flushed script cache answered */

    if (reply->len >= 8 && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        n = NGX_HTTP_SHARED_SESSION_NODE_NOSCRIPT;

    } else if (reply->len > 6 && ngx_strncmp(reply->str, "MOVED ", 6) == 0) {
        n = NGX_HTTP_SHARED_SESSION_NODE_MOVED;

    } else if (reply->len > 4 && ngx_strncmp(reply->str, "ASK ", 4) == 0) {
        n = NGX_HTTP_SHARED_SESSION_NODE_ASK;

    } else {
        return;
    }

    (void) ngx_atomic_fetch_add(&node->counters[n], 1);
}


/*
 * Marks the primaries of a new slot map with its sequence number: the
 * readiness check takes the newest map any worker applied.  A map that
 * ends after a newer one changes nothing (the numbers only rise).
 */

void
ngx_http_shared_session_metrics_slot_map(ngx_str_t *cluster,
    ngx_http_shared_session_redis_t *asked,
    ngx_http_shared_session_redis_t **slots)
{
    ngx_uint_t                                s, covered;
    ngx_atomic_uint_t                         seq;
    ngx_http_shared_session_redis_t          *prev;
    ngx_http_shared_session_metrics_local_t  *l;
    ngx_http_shared_session_metrics_redis_t  *redis;

    if (ngx_http_shared_session_zone == NULL) {
        return;
    }

    l = ngx_http_shared_session_metrics_node_local(asked);
    if (l == NULL) {
        return;
    }

    redis = l->redis;

    (void) ngx_atomic_fetch_add(
             &l->node->counters[NGX_HTTP_SHARED_SESSION_NODE_SLOT_REFRESHES],
             1);

    seq = ngx_atomic_fetch_add(&redis->map_seq, 1) + 1;

    covered = 0;
    prev = NULL;

    for (s = 0; s < NGX_HTTP_SHARED_SESSION_METRICS_SLOTS; s++) {
        if (slots[s] == NULL) {
            continue;
        }

        covered++;

        if (slots[s] == prev) {
            continue;
        }

        prev = slots[s];

        l = ngx_http_shared_session_metrics_node_local(prev);

        if (l && l->redis == redis) {
            (void) ngx_http_shared_session_metrics_raise(&l->node->primary,
                                                         seq);
        }
    }

    if (ngx_http_shared_session_metrics_raise(&redis->map_done, seq)) {
        redis->slots = covered;
    }
}


void
ngx_http_shared_session_metrics_request(void *key, ngx_str_t *name,
    ngx_uint_t cluster, ngx_uint_t endpoint, ngx_uint_t outcome)
{
    ngx_http_shared_session_metrics_local_t  *l;

    if (ngx_http_shared_session_zone == NULL) {
        return;
    }

    l = ngx_http_shared_session_metrics_find(key);

    if (l == NULL) {
        l = ngx_http_shared_session_metrics_local(key,
                                                  cluster ? NULL : key,
                                                  name, cluster);
        if (l == NULL) {
            return;
        }
    }

    if (l->redis) {
        (void) ngx_atomic_fetch_add(&l->redis->requests[endpoint][outcome],
                                    1);
    }
}


ngx_str_t *
ngx_http_shared_session_metrics_replying(void)
{
    if (ngx_http_shared_session_w.replying == NULL
        || ngx_http_shared_session_metrics_name_of == NULL)
    {
        return NULL;
    }

    return ngx_http_shared_session_metrics_name_of(
                                        ngx_http_shared_session_w.replying);
}


uint64_t
ngx_http_shared_session_metrics_now(void)
{
#if (NGX_HAVE_CLOCK_MONOTONIC)
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#else
    struct timeval   tv;

    ngx_gettimeofday(&tv);

    return (uint64_t) tv.tv_sec * 1000000 + tv.tv_usec;
#endif
}


void
ngx_http_shared_session_metrics_namer(
    ngx_http_shared_session_metrics_name_pt name)
{
    ngx_http_shared_session_metrics_name_of = name;
}


void
ngx_http_shared_session_metrics_init_worker(ngx_array_t *servers)
{
    ngx_uint_t                                 i;
    ngx_http_shared_session_redis_t          **rsp;
    ngx_http_shared_session_metrics_local_t   *l;

    if (ngx_http_shared_session_zone == NULL) {
        return;
    }

    /* the clusters' seeds came first (the cluster layer's worker start) */

    rsp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        l = ngx_http_shared_session_metrics_find(rsp[i]);

        if (l == NULL) {
            l = ngx_http_shared_session_metrics_local(rsp[i], rsp[i],
                          ngx_http_shared_session_metrics_name_of(rsp[i]), 0);
        }

        if (l && l->redis && !l->redis->cluster) {
            ngx_http_shared_session_metrics_configure(l->redis);
        }
    }
}


/* this worker's records go with it (the zone stays, for the others) */

void
ngx_http_shared_session_metrics_exit_worker(void)
{
    ngx_uint_t                                 i;
    ngx_http_shared_session_metrics_local_t  **lp;
    ngx_http_shared_session_metrics_worker_t  *w;

    w = &ngx_http_shared_session_w;
    lp = w->locals.elts;

    for (i = 0; i < w->locals.nelts; i++) {
        ngx_free(lp[i]);
    }

    ngx_free(w->locals.elts);
    ngx_free(w->configured.elts);
    ngx_free(w->hash);

    ngx_memzero(w, sizeof(ngx_http_shared_session_metrics_worker_t));
}


ngx_http_shared_session_metrics_redis_t **
ngx_http_shared_session_metrics_configured(ngx_uint_t *n)
{
    ngx_http_shared_session_metrics_worker_t  *w;

    w = &ngx_http_shared_session_w;

    if (w->cycle != ngx_cycle || w->configured.elts == NULL) {
        *n = 0;
        return NULL;
    }

    *n = w->configured.nelts;

    return w->configured.elts;
}


ngx_http_shared_session_metrics_local_t **
ngx_http_shared_session_metrics_locals(ngx_uint_t *n)
{
    ngx_http_shared_session_metrics_worker_t  *w;

    w = &ngx_http_shared_session_w;

    if (w->cycle != ngx_cycle || w->locals.elts == NULL) {
        *n = 0;
        return NULL;
    }

    *n = w->locals.nelts;

    return w->locals.elts;
}


/*
 * Ready: the connection is up, or it is being made again (or was lost
 * while working) and the last attempt succeeded.  A node that has never
 * been reached, or whose last attempt failed, is not.
 */

ngx_uint_t
ngx_http_shared_session_metrics_node_ready(
    ngx_http_shared_session_metrics_node_t *node)
{
    switch (node->state) {

    case NGX_HTTP_SHARED_SESSION_NODE_UP:
        return 1;

    case NGX_HTTP_SHARED_SESSION_NODE_CONNECTING:
    case NGX_HTTP_SHARED_SESSION_NODE_DOWN:
        return node->connect_ok ? 1 : 0;

    default:
        return 0;
    }
}


/* a primary of the newest slot map */

ngx_uint_t
ngx_http_shared_session_metrics_primary(
    ngx_http_shared_session_metrics_node_t *node)
{
    return node->redis->cluster && node->redis->map_done
           && node->primary == node->redis->map_done;
}


/*
 * A standalone server: its node is ready.  A cluster: a slot map covers
 * all 16384 slots and each of its primaries is ready.
 */

ngx_uint_t
ngx_http_shared_session_metrics_ready(
    ngx_http_shared_session_metrics_redis_t *redis)
{
    ngx_uint_t                               primaries;
    ngx_http_shared_session_metrics_shm_t   *sh;
    ngx_http_shared_session_metrics_node_t  *node;

    sh = ngx_http_shared_session_metrics_shm();
    if (sh == NULL) {
        return 0;
    }

    if (redis->cluster
        && (redis->map_done == 0
            || redis->slots != NGX_HTTP_SHARED_SESSION_METRICS_SLOTS))
    {
        return 0;
    }

    primaries = 0;

    for (node = sh->nodes; node; node = node->next) {
        if (node->redis != redis) {
            continue;
        }

        if (redis->cluster && !ngx_http_shared_session_metrics_primary(node)) {
            continue;
        }

        if (!ngx_http_shared_session_metrics_node_ready(node)) {
            return 0;
        }

        primaries++;
    }

    return primaries ? 1 : 0;
}


/*
 * This worker's record of a key, or NULL.  The records belong to one
 * configuration cycle: with "master_process off", a reload starts afresh.
 */

static ngx_http_shared_session_metrics_local_t *
ngx_http_shared_session_metrics_find(void *key)
{
    ngx_uint_t                                 i, mask;
    ngx_http_shared_session_metrics_local_t   *l;
    ngx_http_shared_session_metrics_worker_t  *w;

    w = &ngx_http_shared_session_w;

    if (w->cycle != ngx_cycle) {
        return NULL;
    }

    if (w->last && w->last->key == key) {
        return w->last;
    }

    if (w->size == 0) {
        return NULL;
    }

    mask = w->size - 1;

    for (i = ((uintptr_t) key >> 4) & mask; w->hash[i]; i = (i + 1) & mask) {
        l = w->hash[i];

        if (l->key == key) {
            w->last = l;
            return l;
        }
    }

    return NULL;
}


/* a node's record, made on its first event if no one added it before */

static ngx_http_shared_session_metrics_local_t *
ngx_http_shared_session_metrics_node_local(
    ngx_http_shared_session_redis_t *rs)
{
    ngx_http_shared_session_metrics_local_t  *l;

    if (ngx_http_shared_session_zone == NULL) {
        return NULL;
    }

    l = ngx_http_shared_session_metrics_find(rs);

    if (l == NULL) {
        l = ngx_http_shared_session_metrics_local(rs, rs,
                              ngx_http_shared_session_metrics_name_of(rs), 0);
        if (l == NULL) {
            return NULL;
        }
    }

    return l->node ? l : NULL;
}


/*
 * Makes the record of a server (rs, a node of the Redis named "redis") or
 * of a cluster (rs NULL), with their entries in the zone.  A zone too full
 * for them leaves the record without entries: nothing is counted for it.
 */

static ngx_http_shared_session_metrics_local_t *
ngx_http_shared_session_metrics_local(void *key,
    ngx_http_shared_session_redis_t *rs, ngx_str_t *redis, ngx_uint_t cluster)
{
    ngx_http_shared_session_metrics_local_t  *l;

    l = ngx_calloc(sizeof(ngx_http_shared_session_metrics_local_t),
                   ngx_cycle->log);
    if (l == NULL) {
        return NULL;
    }

    l->key = key;
    l->rs = rs;

    l->redis = ngx_http_shared_session_metrics_redis(redis, cluster);

    if (l->redis && rs) {
        l->node = ngx_http_shared_session_metrics_node(l->redis,
                                  ngx_http_shared_session_metrics_name_of(rs));
    }

    if (ngx_http_shared_session_metrics_insert(l) != NGX_OK) {
        ngx_free(l);
        return NULL;
    }

    return l;
}


static ngx_int_t
ngx_http_shared_session_metrics_insert(
    ngx_http_shared_session_metrics_local_t *l)
{
    ngx_uint_t                                 i, mask, size;
    ngx_http_shared_session_metrics_local_t  **hash, **lp;
    ngx_http_shared_session_metrics_worker_t  *w;

    w = &ngx_http_shared_session_w;

    if (w->cycle != ngx_cycle) {
        /* a new cycle in this process ("master_process off"): start over */
        ngx_http_shared_session_metrics_exit_worker();
        w->cycle = (ngx_cycle_t *) ngx_cycle;
    }

    if (ngx_http_shared_session_metrics_reserve(&w->locals, 16) != NGX_OK) {
        return NGX_ERROR;
    }

    if (2 * (w->used + 1) > w->size) {
        size = w->size ? 2 * w->size : 64;

        hash = ngx_calloc(size * sizeof(void *), ngx_cycle->log);
        if (hash == NULL) {
            return NGX_ERROR;
        }

        mask = size - 1;
        lp = w->locals.elts;
        w->used = 0;

        for (i = 0; i < w->locals.nelts; i++) {
            if (lp[i]->key) {   /* tombstones are left out */
                hash[ngx_http_shared_session_metrics_slot(hash, mask,
                                                          lp[i]->key)] = lp[i];
                w->used++;
            }
        }

        ngx_free(w->hash);
        w->hash = hash;
        w->size = size;
    }

    mask = w->size - 1;
    w->hash[ngx_http_shared_session_metrics_slot(w->hash, mask, l->key)] = l;
    w->used++;

    lp = w->locals.elts;
    lp[w->locals.nelts++] = l;

    return NGX_OK;
}


/* the first free slot on the key's probe sequence */

static ngx_uint_t
ngx_http_shared_session_metrics_slot(
    ngx_http_shared_session_metrics_local_t **hash, ngx_uint_t mask,
    void *key)
{
    ngx_uint_t  i;

    for (i = ((uintptr_t) key >> 4) & mask; hash[i]; i = (i + 1) & mask) {
        /* void */
    }

    return i;
}


/*
 * Room for one more pointer in one of the worker's lists ("first" slots
 * the first time, then twice as many): heap memory, as the lists live as
 * long as the worker and grow while it runs.
 */

static ngx_int_t
ngx_http_shared_session_metrics_reserve(ngx_array_t *a, ngx_uint_t first)
{
    void        **p;
    ngx_uint_t    size;

    if (a->nelts < a->nalloc) {
        return NGX_OK;
    }

    size = a->nalloc ? 2 * a->nalloc : first;

    p = ngx_alloc(size * sizeof(void *), ngx_cycle->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (a->nelts) {
        ngx_memcpy(p, a->elts, a->nelts * sizeof(void *));
    }

    ngx_free(a->elts);
    a->elts = p;
    a->nalloc = size;
    a->size = sizeof(void *);

    return NGX_OK;
}


static void
ngx_http_shared_session_metrics_configure(
    ngx_http_shared_session_metrics_redis_t *redis)
{
    ngx_uint_t                                 i;
    ngx_http_shared_session_metrics_redis_t  **rp;
    ngx_http_shared_session_metrics_worker_t  *w;

    w = &ngx_http_shared_session_w;
    rp = w->configured.elts;

    for (i = 0; i < w->configured.nelts; i++) {
        if (rp[i] == redis) {
            return;
        }
    }

    if (ngx_http_shared_session_metrics_reserve(&w->configured, 8) != NGX_OK)
    {
        return;
    }

    rp = w->configured.elts;
    rp[w->configured.nelts++] = redis;
}


/* finds or adds the zone's entry of a Redis deployment */

static ngx_http_shared_session_metrics_redis_t *
ngx_http_shared_session_metrics_redis(ngx_str_t *name, ngx_uint_t cluster)
{
    ngx_slab_pool_t                          *shpool;
    ngx_http_shared_session_metrics_shm_t    *sh;
    ngx_http_shared_session_metrics_redis_t  *redis;

    sh = ngx_http_shared_session_zone->data;
    shpool = (ngx_slab_pool_t *) ngx_http_shared_session_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    for (redis = sh->redis; redis; redis = redis->next) {
        if (redis->cluster == cluster
            && redis->name.len == name->len
            && ngx_strncmp(redis->name.data, name->data, name->len) == 0)
        {
            goto done;
        }
    }

    redis = ngx_http_shared_session_metrics_alloc(shpool,
                     sizeof(ngx_http_shared_session_metrics_redis_t), name);
    if (redis == NULL) {
        goto done;
    }

    redis->name.len = name->len;
    redis->name.data = (u_char *) (redis + 1);
    ngx_memcpy(redis->name.data, name->data, name->len);
    redis->cluster = cluster;

    /* whole before it is linked: readers take no lock */

    ngx_memory_barrier();

    if (sh->redis_last) {
        sh->redis_last->next = redis;

    } else {
        sh->redis = redis;
    }

    sh->redis_last = redis;

done:

    ngx_shmtx_unlock(&shpool->mutex);

    return redis;
}


static ngx_http_shared_session_metrics_node_t *
ngx_http_shared_session_metrics_node(
    ngx_http_shared_session_metrics_redis_t *redis, ngx_str_t *name)
{
    ngx_slab_pool_t                         *shpool;
    ngx_http_shared_session_metrics_shm_t   *sh;
    ngx_http_shared_session_metrics_node_t  *node;

    sh = ngx_http_shared_session_zone->data;
    shpool = (ngx_slab_pool_t *) ngx_http_shared_session_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    for (node = sh->nodes; node; node = node->next) {
        if (node->redis == redis
            && node->name.len == name->len
            && ngx_strncmp(node->name.data, name->data, name->len) == 0)
        {
            goto done;
        }
    }

    node = ngx_http_shared_session_metrics_alloc(shpool,
                      sizeof(ngx_http_shared_session_metrics_node_t), name);
    if (node == NULL) {
        goto done;
    }

    node->name.len = name->len;
    node->name.data = (u_char *) (node + 1);
    ngx_memcpy(node->name.data, name->data, name->len);
    node->redis = redis;
    node->state_time = ngx_time();

    ngx_memory_barrier();

    if (sh->nodes_last) {
        sh->nodes_last->next = node;

    } else {
        sh->nodes = node;
    }

    sh->nodes_last = node;

done:

    ngx_shmtx_unlock(&shpool->mutex);

    return node;
}


/* "size" bytes and the name's after them; called with the mutex held */

static void *
ngx_http_shared_session_metrics_alloc(ngx_slab_pool_t *shpool, size_t size,
    ngx_str_t *name)
{
    void  *p;

    p = ngx_slab_calloc_locked(shpool, size + name->len);

    if (p == NULL && !ngx_http_shared_session_w.full) {
        ngx_http_shared_session_w.full = 1;
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "shared session: zone \"%V\" is full, \"%V\" and "
                      "what follows are not counted; increase "
                      "\"shared_session_zone\"",
                      &ngx_http_shared_session_zone->shm.name, name);
    }

    return p;
}


static void
ngx_http_shared_session_metrics_state(
    ngx_http_shared_session_metrics_node_t *node, ngx_uint_t state)
{
    if (node->state != state) {
        node->state = state;
        node->state_time = ngx_time();
    }
}


/* *a = max(*a, value); whether value was written */

static ngx_uint_t
ngx_http_shared_session_metrics_raise(ngx_atomic_t *a, ngx_atomic_uint_t value)
{
    ngx_atomic_uint_t  old;

    for ( ;; ) {
        old = *a;

        if (old >= value) {
            return 0;
        }

        if (ngx_atomic_cmp_set(a, old, value)) {
            return 1;
        }
    }
}
