
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_shared_session_cluster.h"
#include "ngx_http_shared_session_conn.h"
#include "ngx_http_shared_session_metrics.h"


/*
 * Redis Cluster on top of the per-node connections: each worker keeps the
 * slot map that CLUSTER SLOTS returns, sends a command to the primary that
 * owns its key's slot and follows what the cluster answers (MOVED, ASK,
 * TRYAGAIN, CLUSTERDOWN) within the command's timeout.  Commands that come
 * before the first map wait for it in the cluster's queue.
 */


#define NGX_HTTP_SHARED_SESSION_CLUSTER_SLOTS      16384
#define NGX_HTTP_SHARED_SESSION_CLUSTER_MAX_NODES  1024
#define NGX_HTTP_SHARED_SESSION_CLUSTER_THROTTLE   100
#define NGX_HTTP_SHARED_SESSION_CLUSTER_REDIRECTS  5
#define NGX_HTTP_SHARED_SESSION_CLUSTER_RETRIES    5
#define NGX_HTTP_SHARED_SESSION_CLUSTER_DELAY      20
#define NGX_HTTP_SHARED_SESSION_CLUSTER_DELAY_MAX  200
#define NGX_HTTP_SHARED_SESSION_CLUSTER_REPLY_TIME 1000
#define NGX_HTTP_SHARED_SESSION_CLUSTER_ERRLEN     256
#define NGX_HTTP_SHARED_SESSION_CLUSTER_MAX_HOST   255
#define NGX_HTTP_SHARED_SESSION_CLUSTER_ROUND_MAX  16
#define NGX_HTTP_SHARED_SESSION_CLUSTER_REPLICAS   16

/*
 * Command records kept for reuse per cluster, and the bytes of argument
 * copies kept with them: a session script's arguments take a few hundred
 * bytes; a record whose copy was larger is kept without it.
 */
#define NGX_HTTP_SHARED_SESSION_CLUSTER_FREE_COMMANDS 128
#define NGX_HTTP_SHARED_SESSION_CLUSTER_FREE_ARGS  (256 * 1024)


typedef struct {
    ngx_http_shared_session_redis_t          *redis;
    ngx_uint_t                                learned;  /* destroyed here */
    ngx_uint_t                                mark;     /* map generation */
    ngx_uint_t                                round;    /* last asked in */
} ngx_http_shared_session_cluster_node_t;


struct ngx_http_shared_session_cluster_s {
    ngx_http_shared_session_redis_t         **seeds;
    ngx_uint_t                                nseeds;
    ngx_http_shared_session_redis_conf_t     *conf;

    /* this worker's */

    ngx_log_t                                *log;
    ngx_http_shared_session_redis_t         **slots;    /* NULL: no map */
    uint32_t                                  fingerprint;
    ngx_uint_t                                mapped;
    ngx_uint_t                                generation;

    ngx_http_shared_session_cluster_node_t   *nodes;    /* seeds first */
    ngx_uint_t                                nnodes;
    ngx_uint_t                                nalloc;
    ngx_uint_t                                too_many;

    ngx_http_shared_session_redis_cmd_t      *refresh;  /* CLUSTER SLOTS */
    ngx_http_shared_session_redis_t          *asked;
    ngx_uint_t                                asked_n;  /* its index */
    ngx_int_t                                 answered; /* index, or -1 */
    ngx_http_shared_session_redis_t          *exclude;
    ngx_uint_t                                round;
    ngx_uint_t                                phase;    /* in the order */
    ngx_uint_t                                cursor;
    ngx_uint_t                                attempts; /* in this round */
    ngx_uint_t                                failed;   /* in this round */
    ngx_uint_t                                unlogged; /* cl->error */
    ngx_uint_t                                again;
    ngx_uint_t                                refreshed;
    ngx_msec_t                                refreshed_at;
    ngx_event_t                               refresh_timer;

    ngx_queue_t                               commands; /* all, for exit */
    ngx_queue_t                               parked;   /* waiting for map */

    ngx_http_shared_session_cluster_cmd_t    *free;     /* records to reuse */
    ngx_uint_t                                nfree;
    size_t                                    free_size; /* their copies */

    ngx_str_t                                 error;
    u_char                                    errbuf[
                                        NGX_HTTP_SHARED_SESSION_CLUSTER_ERRLEN];
};


struct ngx_http_shared_session_cluster_cmd_s {
    ngx_http_shared_session_cluster_cmd_t    *next;     /* cl->free: first,
                                                           not poisoned */
    u_char                                   *copy;     /* argv, argvlen, */
    size_t                                    size;     /* their bytes; kept
                                                           with the record */
    ngx_http_shared_session_cluster_t        *cluster;
    ngx_http_shared_session_redis_handler_pt  handler;
    void                                     *data;
    ngx_log_t                                *log;

    int                                       argc;
    const char                              **argv;    /* in "copy" */
    size_t                                   *argvlen;
    ngx_uint_t                                slot;

    ngx_msec_t                                deadline;
    ngx_msec_t                                timeout;  /* the whole */
    ngx_msec_t                                delay;
    ngx_uint_t                                retries;
    ngx_uint_t                                redirects;

    ngx_http_shared_session_redis_t          *node;
    ngx_http_shared_session_redis_cmd_t      *inner;
    ngx_event_t                               timer;
    ngx_queue_t                               queue;    /* cl->commands */
    ngx_queue_t                               park;     /* cl->parked */
    ngx_uint_t                                parked;

    ngx_str_t                                 error;
    u_char                                    errbuf[
                                        NGX_HTTP_SHARED_SESSION_CLUSTER_ERRLEN];
};


static ngx_int_t ngx_http_shared_session_cluster_init(
    ngx_http_shared_session_cluster_t *cl, ngx_log_t *log);
static ngx_http_shared_session_cluster_cmd_t *
    ngx_http_shared_session_cluster_cmd_alloc(
    ngx_http_shared_session_cluster_t *cl, size_t size, ngx_log_t *log);
static void ngx_http_shared_session_cluster_cmd_free(
    ngx_http_shared_session_cluster_cmd_t *cmd);
static ngx_int_t ngx_http_shared_session_cluster_dispatch(
    ngx_http_shared_session_cluster_cmd_t *cmd);
static ngx_int_t ngx_http_shared_session_cluster_send_to(
    ngx_http_shared_session_cluster_cmd_t *cmd,
    ngx_http_shared_session_redis_t *node, ngx_uint_t asking);
static ngx_int_t ngx_http_shared_session_cluster_retry(
    ngx_http_shared_session_cluster_cmd_t *cmd);
static void ngx_http_shared_session_cluster_handler(void *data,
    redisReply *reply, ngx_str_t *error);
static ngx_int_t ngx_http_shared_session_cluster_redirect(
    ngx_http_shared_session_cluster_cmd_t *cmd, redisReply *reply);
static void ngx_http_shared_session_cluster_asking_handler(void *data,
    redisReply *reply, ngx_str_t *error);
static void ngx_http_shared_session_cluster_timer_handler(ngx_event_t *ev);
static void ngx_http_shared_session_cluster_finish(
    ngx_http_shared_session_cluster_cmd_t *cmd, redisReply *reply,
    ngx_str_t *error);

static void ngx_http_shared_session_cluster_request_refresh(
    ngx_http_shared_session_cluster_t *cl,
    ngx_http_shared_session_redis_t *exclude);
static void ngx_http_shared_session_cluster_refresh_timer(ngx_event_t *ev);
static void ngx_http_shared_session_cluster_refresh(
    ngx_http_shared_session_cluster_t *cl);
static ngx_int_t ngx_http_shared_session_cluster_candidate(
    ngx_http_shared_session_cluster_t *cl);
static void ngx_http_shared_session_cluster_refresh_next(
    ngx_http_shared_session_cluster_t *cl);
static void ngx_http_shared_session_cluster_refresh_handler(void *data,
    redisReply *reply, ngx_str_t *error);
static void ngx_http_shared_session_cluster_refresh_done(
    ngx_http_shared_session_cluster_t *cl, ngx_uint_t ok);
static const char *ngx_http_shared_session_cluster_check(redisReply *reply);
static ngx_int_t ngx_http_shared_session_cluster_apply(
    ngx_http_shared_session_cluster_t *cl, redisReply *reply);
static ngx_int_t ngx_http_shared_session_cluster_valid_host(u_char *p,
    size_t len);
static ngx_int_t ngx_http_shared_session_cluster_replica(
    ngx_http_shared_session_cluster_t *cl, redisReply *entry);
static ngx_int_t ngx_http_shared_session_cluster_usable(
    ngx_http_shared_session_cluster_t *cl, ngx_str_t *host);
static ngx_int_t ngx_http_shared_session_cluster_find(
    ngx_http_shared_session_cluster_t *cl, ngx_str_t *host, in_port_t port);
static ngx_int_t ngx_http_shared_session_cluster_node(
    ngx_http_shared_session_cluster_t *cl, ngx_str_t *host, in_port_t port,
    ngx_http_shared_session_redis_t *origin, ngx_log_t *log);

static void ngx_http_shared_session_cluster_set_error(ngx_str_t *error,
    u_char *buf, const char *fmt, ...);


static uint16_t    ngx_http_shared_session_cluster_crc16[256];
static ngx_uint_t  ngx_http_shared_session_cluster_crc16_built;


ngx_http_shared_session_cluster_t *
ngx_http_shared_session_cluster_add(ngx_conf_t *cf, ngx_array_t *clusters,
    ngx_array_t *seeds, ngx_http_shared_session_redis_conf_t *conf)
{
    size_t                               size;
    ngx_uint_t                           i, j, k;
    ngx_http_shared_session_redis_t    **rsp;
    ngx_http_shared_session_cluster_t  **clp, *cl;

    if (seeds->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "redis cluster without seed nodes");
        return NULL;
    }

    rsp = seeds->elts;
    clp = clusters->elts;

    /* the seeds are deduplicated: the same set means the same cluster */

    for (i = 0; i < clusters->nelts; i++) {
        cl = clp[i];

        if (cl->nseeds != seeds->nelts) {
            continue;
        }

        for (j = 0; j < seeds->nelts; j++) {
            for (k = 0; k < cl->nseeds; k++) {
                if (cl->seeds[k] == rsp[j]) {
                    break;
                }
            }

            if (k == cl->nseeds) {
                break;
            }
        }

        if (j == seeds->nelts) {
            return cl;
        }
    }

    cl = ngx_pcalloc(cf->pool, sizeof(ngx_http_shared_session_cluster_t));
    if (cl == NULL) {
        return NULL;
    }

    size = seeds->nelts * sizeof(ngx_http_shared_session_redis_t *);

    cl->seeds = ngx_palloc(cf->pool, size);
    if (cl->seeds == NULL) {
        return NULL;
    }

    ngx_memcpy(cl->seeds, rsp, size);
    cl->nseeds = seeds->nelts;
    cl->conf = conf;

    clp = ngx_array_push(clusters);
    if (clp == NULL) {
        return NULL;
    }

    *clp = cl;

    return cl;
}


ngx_str_t *
ngx_http_shared_session_cluster_name(ngx_http_shared_session_cluster_t *cl)
{
    return ngx_http_shared_session_redis_name(cl->seeds[0]);
}


ngx_http_shared_session_cluster_cmd_t *
ngx_http_shared_session_cluster_send(ngx_http_shared_session_cluster_t *cl,
    ngx_log_t *log, ngx_msec_t timeout, ngx_uint_t key, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error)
{
    int                                     i;
    size_t                                  size;
    u_char                                 *p;
    ngx_int_t                               rc;
    ngx_http_shared_session_cluster_cmd_t  *cmd;

    if (cl->nodes == NULL
        && ngx_http_shared_session_cluster_init(cl, log) != NGX_OK)
    {
        ngx_str_set(error, "out of memory");
        return NULL;
    }

    if (key == 0 || key >= (ngx_uint_t) argc) {
        ngx_str_set(error, "a cluster command needs a key");
        return NULL;
    }

    /*
     * The command is sent again after MOVED, ASK or TRYAGAIN, after its
     * caller's buffers may be gone: it keeps a copy.
     */

    size = argc * (sizeof(char *) + sizeof(size_t));

    for (i = 0; i < argc; i++) {
        size += argvlen[i];
    }

    cmd = ngx_http_shared_session_cluster_cmd_alloc(cl, size, log);
    if (cmd == NULL) {
        ngx_str_set(error, "out of memory");
        return NULL;
    }

    cmd->argv = (const char **) cmd->copy;
    cmd->argvlen = (size_t *) &cmd->argv[argc];
    p = (u_char *) &cmd->argvlen[argc];

    for (i = 0; i < argc; i++) {
        cmd->argv[i] = (const char *) p;
        cmd->argvlen[i] = argvlen[i];
        p = ngx_cpymem(p, argv[i], argvlen[i]);
    }

    cmd->cluster = cl;
    cmd->handler = handler;
    cmd->data = data;
    cmd->log = log;
    cmd->argc = argc;
    cmd->slot = ngx_http_shared_session_cluster_slot((u_char *) argv[key],
                                                     argvlen[key]);
    cmd->deadline = ngx_current_msec + timeout;
    cmd->timeout = timeout;
    cmd->delay = NGX_HTTP_SHARED_SESSION_CLUSTER_DELAY;

    cmd->timer.handler = ngx_http_shared_session_cluster_timer_handler;
    cmd->timer.data = cmd;
    cmd->timer.log = log;

    ngx_queue_insert_tail(&cl->commands, &cmd->queue);

    rc = ngx_http_shared_session_cluster_dispatch(cmd);

    if (rc == NGX_ERROR) {
        /* the cluster's buffer outlives the command */

        cl->error.len = cmd->error.len;
        cl->error.data = cl->errbuf;
        ngx_memcpy(cl->errbuf, cmd->error.data, cmd->error.len);

        *error = cl->error;

        ngx_queue_remove(&cmd->queue);
        ngx_http_shared_session_cluster_cmd_free(cmd);

        return NULL;
    }

    return cmd;
}


/*
 * A record with room for "size" bytes of arguments: one freed before
 * (its copy grown if too small), or a new one.  Zeroed but for the copy.
 */

static ngx_http_shared_session_cluster_cmd_t *
ngx_http_shared_session_cluster_cmd_alloc(ngx_http_shared_session_cluster_t *cl,
    size_t size, ngx_log_t *log)
{
    u_char                                 *copy;
    size_t                                  have;
    ngx_http_shared_session_cluster_cmd_t  *cmd;

    cmd = cl->free;

    if (cmd) {
        ngx_http_shared_session_unpoison(cmd, sizeof(*cmd));

        cl->free = cmd->next;
        cl->nfree--;
        cl->free_size -= cmd->size;

        copy = cmd->copy;
        have = cmd->size;

    } else {
        cmd = ngx_alloc(sizeof(ngx_http_shared_session_cluster_cmd_t), log);
        if (cmd == NULL) {
            return NULL;
        }

        copy = NULL;
        have = 0;
    }

    if (have < size) {
        ngx_free(copy);

        have = ngx_max(size, 512);

        copy = ngx_alloc(have, log);
        if (copy == NULL) {
            ngx_free(cmd);
            return NULL;
        }
    }

    ngx_http_shared_session_unpoison(copy, have);

    ngx_memzero(cmd, sizeof(ngx_http_shared_session_cluster_cmd_t));

    cmd->copy = copy;
    cmd->size = have;

    return cmd;
}


/*
 * A command is done with: its timer is not set, it is in no queue.  Kept
 * for the next send() unless the list holds enough; its copy is kept with
 * it within NGX_HTTP_SHARED_SESSION_CLUSTER_FREE_ARGS.
 */

static void
ngx_http_shared_session_cluster_cmd_free(
    ngx_http_shared_session_cluster_cmd_t *cmd)
{
    ngx_http_shared_session_cluster_t  *cl;

    cl = cmd->cluster;

    if (cl->nfree >= NGX_HTTP_SHARED_SESSION_CLUSTER_FREE_COMMANDS) {
        ngx_free(cmd->copy);
        ngx_free(cmd);
        return;
    }

    if (cl->free_size + cmd->size > NGX_HTTP_SHARED_SESSION_CLUSTER_FREE_ARGS)
    {
        ngx_free(cmd->copy);
        cmd->copy = NULL;
        cmd->size = 0;
    }

    cmd->next = cl->free;
    cl->free = cmd;
    cl->nfree++;
    cl->free_size += cmd->size;

    if (cmd->copy) {
        ngx_http_shared_session_poison(cmd->copy, cmd->size);
    }

    ngx_http_shared_session_poison(&cmd->copy,
                                   sizeof(*cmd) - offsetof(
                                       ngx_http_shared_session_cluster_cmd_t,
                                       copy));
}


void
ngx_http_shared_session_cluster_cancel(
    ngx_http_shared_session_cluster_cmd_t *cmd)
{
    if (cmd->inner) {
        ngx_http_shared_session_redis_cancel(cmd->inner);
    }

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    if (cmd->parked) {
        ngx_queue_remove(&cmd->park);
    }

    ngx_queue_remove(&cmd->queue);
    ngx_http_shared_session_cluster_cmd_free(cmd);
}


/* CRC16/XMODEM: polynomial 0x1021, initial value 0, as Redis Cluster */

ngx_uint_t
ngx_http_shared_session_cluster_slot(u_char *key, size_t len)
{
    u_char     *p, *last, *open, *close;
    uint16_t    crc;
    ngx_uint_t  i, k;

    if (!ngx_http_shared_session_cluster_crc16_built) {
        for (i = 0; i < 256; i++) {
            crc = (uint16_t) (i << 8);

            for (k = 0; k < 8; k++) {
                crc = (crc & 0x8000) ? (uint16_t) ((crc << 1) ^ 0x1021)
                                     : (uint16_t) (crc << 1);
            }

            ngx_http_shared_session_cluster_crc16[i] = crc;
        }

        ngx_http_shared_session_cluster_crc16_built = 1;
    }

    /* a non-empty {hash tag}: only it is hashed */

    last = key + len;
    open = ngx_strlchr(key, last, '{');

    if (open) {
        close = ngx_strlchr(open + 1, last, '}');

        if (close && close > open + 1) {
            key = open + 1;
            last = close;
        }
    }

    crc = 0;

    for (p = key; p < last; p++) {
        crc = (uint16_t) ((crc << 8)
                          ^ ngx_http_shared_session_cluster_crc16[
                                                   ((crc >> 8) ^ *p) & 0xff]);
    }

    return crc & (NGX_HTTP_SHARED_SESSION_CLUSTER_SLOTS - 1);
}


void
ngx_http_shared_session_cluster_init_all(ngx_array_t *clusters,
    ngx_log_t *log)
{
    ngx_uint_t                           i;
    ngx_http_shared_session_cluster_t  **clp, *cl;

    clp = clusters->elts;

    for (i = 0; i < clusters->nelts; i++) {
        cl = clp[i];

        if (cl->nodes == NULL
            && ngx_http_shared_session_cluster_init(cl, log) != NGX_OK)
        {
            continue;
        }

        ngx_http_shared_session_cluster_refresh(cl);
    }
}


void
ngx_http_shared_session_cluster_close_all(ngx_array_t *clusters)
{
    ngx_uint_t                              i, n;
    ngx_queue_t                            *q;
    ngx_http_shared_session_cluster_t     **clp, *cl;
    ngx_http_shared_session_cluster_cmd_t  *cmd;

    clp = clusters->elts;

    for (i = 0; i < clusters->nelts; i++) {
        cl = clp[i];

        if (cl->nodes == NULL) {
            continue;
        }

        /* no handler runs at exit: nothing here outlives the worker */

        while (!ngx_queue_empty(&cl->commands)) {
            q = ngx_queue_head(&cl->commands);
            cmd = ngx_queue_data(q, ngx_http_shared_session_cluster_cmd_t,
                                 queue);
            ngx_http_shared_session_cluster_cancel(cmd);
        }

        while (cl->free) {
            cmd = cl->free;
            cl->free = cmd->next;

            ngx_http_shared_session_unpoison(cmd, sizeof(*cmd));

            if (cmd->copy) {
                ngx_http_shared_session_unpoison(cmd->copy, cmd->size);
                ngx_free(cmd->copy);
            }

            ngx_free(cmd);
        }

        cl->nfree = 0;
        cl->free_size = 0;

        if (cl->refresh) {
            ngx_http_shared_session_redis_cancel(cl->refresh);
            cl->refresh = NULL;
        }

        if (cl->refresh_timer.timer_set) {
            ngx_del_timer(&cl->refresh_timer);
        }

        for (n = 0; n < cl->nnodes; n++) {
            if (cl->nodes[n].learned) {
                ngx_http_shared_session_redis_destroy(cl->nodes[n].redis);
            }
        }

        ngx_free(cl->nodes);
        cl->nodes = NULL;
        cl->nnodes = 0;

        ngx_free(cl->slots);
        cl->slots = NULL;
    }
}


/* the worker's part: the seeds are its first nodes */

static ngx_int_t
ngx_http_shared_session_cluster_init(ngx_http_shared_session_cluster_t *cl,
    ngx_log_t *log)
{
    ngx_uint_t  i;

    cl->nalloc = ngx_max(cl->nseeds, 8);

    cl->nodes = ngx_alloc(cl->nalloc
                          * sizeof(ngx_http_shared_session_cluster_node_t),
                          log);
    if (cl->nodes == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < cl->nseeds; i++) {
        cl->nodes[i].redis = cl->seeds[i];
        cl->nodes[i].learned = 0;
        cl->nodes[i].mark = 0;
        cl->nodes[i].round = 0;
        ngx_http_shared_session_metrics_node_add(cl->seeds[i],
                                    ngx_http_shared_session_cluster_name(cl));
    }

    cl->nnodes = cl->nseeds;
    cl->answered = -1;
    cl->log = ngx_cycle->log;

    ngx_queue_init(&cl->commands);
    ngx_queue_init(&cl->parked);

    cl->refresh_timer.handler = ngx_http_shared_session_cluster_refresh_timer;
    cl->refresh_timer.data = cl;
    cl->refresh_timer.log = cl->log;
    cl->refresh_timer.cancelable = 1;

    return NGX_OK;
}


/*
 * Sends the command to its slot's primary, or parks it until there is a
 * map, or waits for a retry.  NGX_OK: sent; NGX_AGAIN: waiting;
 * NGX_ERROR: failed, the cause in cmd->error.
 */

static ngx_int_t
ngx_http_shared_session_cluster_dispatch(
    ngx_http_shared_session_cluster_cmd_t *cmd)
{
    ngx_msec_int_t                      left;
    ngx_http_shared_session_redis_t    *node;
    ngx_http_shared_session_cluster_t  *cl;

    cl = cmd->cluster;

    left = (ngx_msec_int_t) (cmd->deadline - ngx_current_msec);

    if (left <= 0) {
        ngx_str_set(&cmd->error, "timed out");
        return NGX_ERROR;
    }

    if (cl->slots == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                       "shared session: redis cluster %V: waiting for "
                       "the slot map",
                       ngx_http_shared_session_cluster_name(cl));

        ngx_queue_insert_tail(&cl->parked, &cmd->park);
        cmd->parked = 1;
        ngx_add_timer(&cmd->timer, (ngx_msec_t) left);

        ngx_http_shared_session_cluster_request_refresh(cl, NULL);

        return NGX_AGAIN;
    }

    node = cl->slots[cmd->slot];

    if (node == NULL) {
        ngx_http_shared_session_cluster_request_refresh(cl, NULL);

        if (ngx_http_shared_session_cluster_retry(cmd) == NGX_OK) {
            return NGX_AGAIN;
        }

        ngx_http_shared_session_cluster_set_error(&cmd->error, cmd->errbuf,
                                     "redis cluster %V: hash slot %ui "
                                     "not served",
                                     ngx_http_shared_session_cluster_name(cl),
                                     cmd->slot);
        return NGX_ERROR;
    }

    return ngx_http_shared_session_cluster_send_to(cmd, node, 0);
}


static ngx_int_t
ngx_http_shared_session_cluster_send_to(
    ngx_http_shared_session_cluster_cmd_t *cmd,
    ngx_http_shared_session_redis_t *node, ngx_uint_t asking)
{
    size_t                                len;
    ngx_str_t                             err;
    ngx_msec_t                            timeout;
    const char                           *argv;
    ngx_msec_int_t                        left;
    ngx_http_shared_session_redis_cmd_t  *inner;

    left = (ngx_msec_int_t) (cmd->deadline - ngx_current_msec);
    timeout = (left > 0) ? (ngx_msec_t) left : 1;

    if (asking) {
        /* pipelined: ASKING reaches the node just before the command */

        argv = "ASKING";
        len = sizeof("ASKING") - 1;

        /* not cancelled with the request: the cycle's log outlives it */

        inner = ngx_http_shared_session_redis_send(node,
                               cmd->cluster->log, timeout, cmd->timeout, 1,
                               &argv, &len,
                               ngx_http_shared_session_cluster_asking_handler,
                               NULL, &err);
        if (inner == NULL) {
            goto failed;
        }
    }

    inner = ngx_http_shared_session_redis_send(node, cmd->log, timeout,
                                    cmd->timeout, cmd->argc, cmd->argv,
                                    cmd->argvlen,
                                    ngx_http_shared_session_cluster_handler,
                                    cmd, &err);
    if (inner == NULL) {
        goto failed;
    }

    cmd->node = node;
    cmd->inner = inner;

    return NGX_OK;

failed:

    ngx_http_shared_session_cluster_set_error(&cmd->error, cmd->errbuf,
                                     "%V: %V",
                                     ngx_http_shared_session_redis_name(node),
                                     &err);

    ngx_http_shared_session_cluster_request_refresh(cmd->cluster, node);

    return NGX_ERROR;
}


/* a bounded number of retries, each a little later, within the deadline */

static ngx_int_t
ngx_http_shared_session_cluster_retry(
    ngx_http_shared_session_cluster_cmd_t *cmd)
{
    ngx_msec_int_t  left;

    left = (ngx_msec_int_t) (cmd->deadline - ngx_current_msec);

    if (cmd->retries >= NGX_HTTP_SHARED_SESSION_CLUSTER_RETRIES
        || left <= (ngx_msec_int_t) cmd->delay)
    {
        return NGX_DECLINED;
    }

    cmd->retries++;
    ngx_add_timer(&cmd->timer, cmd->delay);

    cmd->delay = ngx_min(cmd->delay * 2,
                         NGX_HTTP_SHARED_SESSION_CLUSTER_DELAY_MAX);

    return NGX_OK;
}


static void
ngx_http_shared_session_cluster_handler(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_cluster_cmd_t  *cmd = data;

    ngx_int_t                           rc;
    ngx_uint_t                          down;
    ngx_http_shared_session_redis_t    *node;
    ngx_http_shared_session_cluster_t  *cl;

    /* the inner command is the redis layer's again, whatever follows */

    cmd->inner = NULL;
    cl = cmd->cluster;
    node = cmd->node;

    if (reply == NULL) {
        /* not sent again: the command may have been applied */

        ngx_http_shared_session_cluster_set_error(&cmd->error, cmd->errbuf,
                                     "%V: %V",
                                     ngx_http_shared_session_redis_name(node),
                                     error);

        ngx_http_shared_session_cluster_request_refresh(cl, node);
        ngx_http_shared_session_cluster_finish(cmd, NULL, &cmd->error);
        return;
    }

    if (reply->type != REDIS_REPLY_ERROR || reply->str == NULL) {
        ngx_http_shared_session_cluster_finish(cmd, reply, NULL);
        return;
    }

    if ((reply->len > 6 && ngx_strncmp(reply->str, "MOVED ", 6) == 0)
        || (reply->len > 4 && ngx_strncmp(reply->str, "ASK ", 4) == 0))
    {
        rc = ngx_http_shared_session_cluster_redirect(cmd, reply);

        if (rc == NGX_OK) {
            return;
        }

        if (rc == NGX_ERROR) {
            ngx_http_shared_session_cluster_finish(cmd, NULL, &cmd->error);
            return;
        }

        /* NGX_DECLINED: not a redirection that can be read */

        ngx_http_shared_session_cluster_finish(cmd, reply, NULL);
        return;
    }

    down = (reply->len >= 11
            && ngx_strncmp(reply->str, "CLUSTERDOWN", 11) == 0
            && (reply->len == 11 || reply->str[11] == ' '));

    if (down
        || (reply->len >= 8 && ngx_strncmp(reply->str, "TRYAGAIN", 8) == 0
            && (reply->len == 8 || reply->str[8] == ' ')))
    {
        if (down) {
            ngx_http_shared_session_cluster_request_refresh(cl, NULL);
        }

        if (ngx_http_shared_session_cluster_retry(cmd) == NGX_OK) {
            ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                           "shared session: redis cluster %V: \"%*s\", "
                           "retrying",
                           ngx_http_shared_session_cluster_name(cl),
                           ngx_min(reply->len, 64), reply->str);
            return;
        }
    }

    ngx_http_shared_session_cluster_finish(cmd, reply, NULL);
}


/*
 * "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>".  NGX_OK: sent
 * again; NGX_ERROR: failed, the cause in cmd->error; NGX_DECLINED: not
 * readable, the reply goes to the caller as it is.
 */

static ngx_int_t
ngx_http_shared_session_cluster_redirect(
    ngx_http_shared_session_cluster_cmd_t *cmd, redisReply *reply)
{
    u_char                             *p, *last, *sp, *colon;
    ngx_int_t                           slot, port, n;
    ngx_str_t                           host;
    ngx_uint_t                          moved;
    ngx_http_shared_session_redis_t    *node, *target;
    ngx_http_shared_session_cluster_t  *cl;

    cl = cmd->cluster;
    node = cmd->node;

    p = (u_char *) reply->str;
    last = p + reply->len;
    moved = (p[0] == 'M');
    p += moved ? 6 : 4;

    sp = ngx_strlchr(p, last, ' ');
    if (sp == NULL) {
        goto bad;
    }

    slot = ngx_atoi(p, sp - p);
    if (slot == NGX_ERROR || slot >= NGX_HTTP_SHARED_SESSION_CLUSTER_SLOTS) {
        goto bad;
    }

    /* the last colon: an IPv6 address has its own */

    p = sp + 1;
    colon = NULL;

    for (sp = p; sp < last; sp++) {
        if (*sp == ':') {
            colon = sp;
        }
    }

    if (colon == NULL) {
        goto bad;
    }

    port = ngx_atoi(colon + 1, last - colon - 1);
    if (port < 1 || port > 65535) {
        goto bad;
    }

    host.data = p;
    host.len = colon - p;

    if (host.len >= 2 && host.data[0] == '[' && host.data[host.len - 1] == ']')
    {
        host.data++;
        host.len -= 2;
    }

    if (ngx_http_shared_session_cluster_valid_host(host.data, host.len)
        != NGX_OK)
    {
        goto bad;
    }

    if (++cmd->redirects > NGX_HTTP_SHARED_SESSION_CLUSTER_REDIRECTS) {
        ngx_str_set(&cmd->error, "too many redirections");
        return NGX_ERROR;
    }

    n = ngx_http_shared_session_cluster_node(cl, &host, (in_port_t) port,
                                             node, cmd->log);
    if (n == NGX_ERROR) {
        ngx_http_shared_session_cluster_set_error(&cmd->error, cmd->errbuf,
                                     "redis cluster %V: no node for "
                                     "\"%*s\"",
                                     ngx_http_shared_session_cluster_name(cl),
                                     (size_t) (last - p), p);
        return NGX_ERROR;
    }

    target = cl->nodes[n].redis;

    ngx_log_error(NGX_LOG_INFO, cmd->log, 0,
                  "shared session: redis cluster %V: %s slot %ui to %V",
                  ngx_http_shared_session_cluster_name(cl),
                  moved ? "MOVED" : "ASK", (ngx_uint_t) slot,
                  ngx_http_shared_session_redis_name(target));

    if (moved) {
        if (cl->slots) {
            cl->slots[slot] = target;
        }

        ngx_http_shared_session_cluster_request_refresh(cl, NULL);
    }

    return ngx_http_shared_session_cluster_send_to(cmd, target, !moved);

bad:

    ngx_log_error(NGX_LOG_ERR, cmd->log, 0,
                  "shared session: redis cluster %V: bad redirection "
                  "from %V: \"%*s\"",
                  ngx_http_shared_session_cluster_name(cl),
                  ngx_http_shared_session_redis_name(node),
                  ngx_min(reply->len, 128), reply->str);

    return NGX_DECLINED;
}


static void
ngx_http_shared_session_cluster_asking_handler(void *data, redisReply *reply,
    ngx_str_t *error)
{
    /* the command's own reply follows on the same connection and tells */
}


static void
ngx_http_shared_session_cluster_timer_handler(ngx_event_t *ev)
{
    ngx_http_shared_session_cluster_cmd_t  *cmd = ev->data;

    if (cmd->parked) {
        ngx_queue_remove(&cmd->park);
        cmd->parked = 0;

        ngx_str_set(&cmd->error, "timed out");
        ngx_http_shared_session_cluster_finish(cmd, NULL, &cmd->error);
        return;
    }

    /* a retry is due */

    if (ngx_http_shared_session_cluster_dispatch(cmd) == NGX_ERROR) {
        ngx_http_shared_session_cluster_finish(cmd, NULL, &cmd->error);
    }
}


/* "error" may be cmd->error: it lives until the handler returns */

static void
ngx_http_shared_session_cluster_finish(
    ngx_http_shared_session_cluster_cmd_t *cmd, redisReply *reply,
    ngx_str_t *error)
{
    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    if (cmd->parked) {
        ngx_queue_remove(&cmd->park);
        cmd->parked = 0;
    }

    ngx_queue_remove(&cmd->queue);

    cmd->handler(cmd->data, reply, error);

    ngx_http_shared_session_cluster_cmd_free(cmd);
}


/*
 * A refresh is never started here: this runs inside sends and reply
 * handlers, and a refresh that fails at once fails the parked commands.
 * The timer starts it after the throttle window, or on the next turn of
 * the event loop.
 */

static void
ngx_http_shared_session_cluster_request_refresh(
    ngx_http_shared_session_cluster_t *cl,
    ngx_http_shared_session_redis_t *exclude)
{
    ngx_msec_t  elapsed, delay;

    if (cl->refresh) {
        cl->again = 1;
        return;
    }

    if (cl->refresh_timer.timer_set) {
        return;
    }

    cl->exclude = exclude;
    delay = 0;

    if (cl->refreshed) {
        elapsed = ngx_current_msec - cl->refreshed_at;

        if (elapsed < NGX_HTTP_SHARED_SESSION_CLUSTER_THROTTLE) {
            delay = NGX_HTTP_SHARED_SESSION_CLUSTER_THROTTLE - elapsed;
        }
    }

    ngx_add_timer(&cl->refresh_timer, delay);
}


static void
ngx_http_shared_session_cluster_refresh_timer(ngx_event_t *ev)
{
    ngx_http_shared_session_cluster_t  *cl = ev->data;

    ngx_http_shared_session_cluster_refresh(cl);
}


/*
 * A round: one node after the other until one answers or all were asked.
 * A node that fails, at once or later (refused, reset, timed out, an error
 * or a bad reply), moves the round on to the next one.
 */

static void
ngx_http_shared_session_cluster_refresh(ngx_http_shared_session_cluster_t *cl)
{
    ngx_uint_t  i;

    if (cl->refresh) {
        return;
    }

    cl->refreshed = 1;
    cl->refreshed_at = ngx_current_msec;
    cl->round++;
    cl->phase = 0;
    cl->cursor = 0;
    cl->attempts = 0;
    cl->failed = 0;
    cl->unlogged = 0;
    cl->again = 0;

    ngx_str_set(&cl->error, "no node to ask");

    /* the node whose connection just failed is not asked again at once */

    if (cl->exclude && cl->nnodes > 1) {
        for (i = 0; i < cl->nnodes; i++) {
            if (cl->nodes[i].redis == cl->exclude) {
                cl->nodes[i].round = cl->round;
                break;
            }
        }
    }

    cl->exclude = NULL;

    ngx_http_shared_session_cluster_refresh_next(cl);
}


/*
 * The order of a round: the node that answered the last one (the likeliest
 * to answer again), the seeds as configured, the nodes of the last map (its
 * primaries, then its replicas), then those no map names any more.  Each
 * node once per round.  Returns its index in cl->nodes, or NGX_DECLINED.
 */

static ngx_int_t
ngx_http_shared_session_cluster_candidate(ngx_http_shared_session_cluster_t *cl)
{
    ngx_uint_t  i, in_map;

    for ( ;; ) {

        switch (cl->phase) {

        case 0:
            cl->phase = 1;
            cl->cursor = 0;

            if (cl->answered < 0 || (ngx_uint_t) cl->answered >= cl->nnodes) {
                continue;
            }

            i = (ngx_uint_t) cl->answered;
            break;

        case 1:
            if (cl->cursor >= cl->nseeds) {
                cl->phase = 2;
                cl->cursor = cl->nseeds;
                continue;
            }

            i = cl->cursor++;
            break;

        default: /* 2: named by the last map; 3: the others */

            if (cl->cursor >= cl->nnodes) {
                if (cl->phase == 3) {
                    return NGX_DECLINED;
                }

                cl->phase = 3;
                cl->cursor = cl->nseeds;
                continue;
            }

            i = cl->cursor++;
            in_map = (cl->nodes[i].mark == cl->generation);

            if (in_map != (cl->phase == 2)) {
                continue;
            }

            break;
        }

        if (cl->nodes[i].round != cl->round) {
            cl->nodes[i].round = cl->round;
            return i;
        }
    }
}


static void
ngx_http_shared_session_cluster_refresh_next(
    ngx_http_shared_session_cluster_t *cl)
{
    size_t                                len[2];
    ngx_int_t                             n;
    ngx_str_t                             err, *name;
    ngx_msec_t                            timeout;
    const char                           *argv[2];
    ngx_http_shared_session_redis_t      *node;
    ngx_http_shared_session_redis_cmd_t  *refresh;

    argv[0] = "CLUSTER";
    len[0] = sizeof("CLUSTER") - 1;
    argv[1] = "SLOTS";
    len[1] = sizeof("SLOTS") - 1;

    timeout = cl->conf->connect_timeout
              + NGX_HTTP_SHARED_SESSION_CLUSTER_REPLY_TIME;

    /* bounded: a map may name a thousand nodes that all refuse */

    while (cl->attempts < NGX_HTTP_SHARED_SESSION_CLUSTER_ROUND_MAX) {

        n = ngx_http_shared_session_cluster_candidate(cl);
        if (n == NGX_DECLINED) {
            break;
        }

        node = cl->nodes[n].redis;
        name = ngx_http_shared_session_redis_name(node);

        if (ngx_http_shared_session_redis_backing_off(node)) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cl->log, 0,
                           "shared session: redis cluster %V: %V is backing "
                           "off, not asked",
                           ngx_http_shared_session_cluster_name(cl), name);

            /* the cause if nothing better comes */

            if (cl->failed == 0) {
                ngx_http_shared_session_cluster_set_error(&cl->error,
                                                          cl->errbuf,
                                                          "%V: backing off",
                                                          name);
            }

            continue;
        }

        /* the last failure is logged once, with where the round goes */

        if (cl->unlogged) {
            ngx_log_error(NGX_LOG_WARN, cl->log, 0,
                          "shared session: redis cluster %V: slot map "
                          "refresh: %V, asking %V",
                          ngx_http_shared_session_cluster_name(cl),
                          &cl->error, name);
            cl->unlogged = 0;
        }

        cl->attempts++;

        refresh = ngx_http_shared_session_redis_send(node, cl->log, timeout,
                             timeout, 2, argv, len,
                             ngx_http_shared_session_cluster_refresh_handler,
                             cl, &err);
        if (refresh) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cl->log, 0,
                           "shared session: redis cluster %V: "
                           "CLUSTER SLOTS to %V",
                           ngx_http_shared_session_cluster_name(cl), name);

            cl->refresh = refresh;
            cl->asked = node;
            cl->asked_n = n;
            return;
        }

        ngx_http_shared_session_cluster_set_error(&cl->error, cl->errbuf,
                                                  "%V: %V", name, &err);
        cl->failed++;
        cl->unlogged = 1;
    }

    ngx_http_shared_session_cluster_refresh_done(cl, 0);
}


static void
ngx_http_shared_session_cluster_refresh_handler(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_cluster_t  *cl = data;

    ngx_str_t                        *name;
    const char                       *bad;
    ngx_http_shared_session_redis_t  *node;

    cl->refresh = NULL;
    node = cl->asked;
    name = ngx_http_shared_session_redis_name(node);

    if (reply == NULL) {
        ngx_http_shared_session_cluster_set_error(&cl->error, cl->errbuf,
                                                  "%V: %V", name, error);
        goto failed;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_shared_session_cluster_set_error(&cl->error, cl->errbuf,
                                                  "%V: %*s", name,
                                                  reply->len, reply->str);
        goto failed;
    }

    bad = ngx_http_shared_session_cluster_check(reply);

    if (bad) {
        ngx_log_error(NGX_LOG_ERR, cl->log, 0,
                      "shared session: redis cluster %V: bad CLUSTER SLOTS "
                      "reply from %V: %s",
                      ngx_http_shared_session_cluster_name(cl), name, bad);

        ngx_http_shared_session_cluster_set_error(&cl->error, cl->errbuf,
                                     "%V: bad CLUSTER SLOTS reply", name);
        goto failed;
    }

    if (ngx_http_shared_session_cluster_apply(cl, reply) != NGX_OK) {
        ngx_str_set(&cl->error, "out of memory");
        ngx_http_shared_session_cluster_refresh_done(cl, 0);
        return;
    }

    cl->answered = (ngx_int_t) cl->asked_n;

    ngx_http_shared_session_cluster_refresh_done(cl, 1);
    return;

failed:

    /* with or without a map: the round goes on with the next node */

    cl->failed++;
    cl->unlogged = 1;

    ngx_http_shared_session_cluster_refresh_next(cl);
}


/*
 * The end of a round: the parked commands are sent with the new map, or
 * fail with the refresh's cause when there is no map at all.
 */

static void
ngx_http_shared_session_cluster_refresh_done(
    ngx_http_shared_session_cluster_t *cl, ngx_uint_t ok)
{
    ngx_queue_t                             parked, *q;
    ngx_http_shared_session_cluster_cmd_t  *cmd;

    if (!ok) {
        ngx_log_error(NGX_LOG_WARN, cl->log, 0,
                      "shared session: redis cluster %V: slot map "
                      "refresh failed: %V",
                      ngx_http_shared_session_cluster_name(cl), &cl->error);
    }

    cl->unlogged = 0;

    if (ngx_queue_empty(&cl->parked)) {
        goto again;
    }

    /*
     * A handler may cancel other parked commands, or park new ones: those
     * taken now are moved aside and always taken from the head.
     */

    ngx_queue_init(&parked);
    ngx_queue_add(&parked, &cl->parked);
    ngx_queue_init(&cl->parked);

    while (!ngx_queue_empty(&parked)) {
        q = ngx_queue_head(&parked);
        cmd = ngx_queue_data(q, ngx_http_shared_session_cluster_cmd_t, park);

        ngx_queue_remove(q);
        cmd->parked = 0;

        if (cmd->timer.timer_set) {
            ngx_del_timer(&cmd->timer);
        }

        if (cl->slots == NULL) {
            cmd->error.len = cl->error.len;
            cmd->error.data = cmd->errbuf;
            ngx_memcpy(cmd->errbuf, cl->error.data, cl->error.len);

            ngx_http_shared_session_cluster_finish(cmd, NULL, &cmd->error);
            continue;
        }

        if (ngx_http_shared_session_cluster_dispatch(cmd) == NGX_ERROR) {
            ngx_http_shared_session_cluster_finish(cmd, NULL, &cmd->error);
        }
    }

again:

    if (cl->again && cl->nodes) {
        cl->again = 0;
        ngx_http_shared_session_cluster_request_refresh(cl, NULL);
    }
}


/*
 * The reply comes from the network: its whole shape is checked before any
 * of it is used.  Returns NULL, or what is wrong.
 */

static const char *
ngx_http_shared_session_cluster_check(redisReply *reply)
{
    size_t       i;
    redisReply  *range, *node, *host, *port;

    if (reply->type != REDIS_REPLY_ARRAY) {
        return "not an array";
    }

    if (reply->elements == 0) {
        return "no slot ranges";
    }

    for (i = 0; i < reply->elements; i++) {
        range = reply->element[i];

        if (range == NULL
            || range->type != REDIS_REPLY_ARRAY
            || range->elements < 3
            || range->element[0] == NULL
            || range->element[1] == NULL
            || range->element[2] == NULL)
        {
            return "a range is not an array of 3 or more elements";
        }

        if (range->element[0]->type != REDIS_REPLY_INTEGER
            || range->element[1]->type != REDIS_REPLY_INTEGER)
        {
            return "a slot is not an integer";
        }

        if (range->element[0]->integer < 0
            || range->element[1]->integer < range->element[0]->integer
            || range->element[1]->integer
               >= NGX_HTTP_SHARED_SESSION_CLUSTER_SLOTS)
        {
            return "a slot range is out of bounds";
        }

        node = range->element[2];

        if (node->type != REDIS_REPLY_ARRAY
            || node->elements < 2
            || node->element[0] == NULL
            || node->element[1] == NULL)
        {
            return "a primary is not an array of 2 or more elements";
        }

        host = node->element[0];
        port = node->element[1];

        /* nil: the endpoint is unknown, the node asked is meant */

        if (host->type != REDIS_REPLY_NIL
            && (host->type != REDIS_REPLY_STRING
                || ngx_http_shared_session_cluster_valid_host(
                       (u_char *) host->str, host->len)
                   != NGX_OK))
        {
            return "a primary's host is not a host name or address";
        }

        if (port->type != REDIS_REPLY_INTEGER
            || port->integer < 1 || port->integer > 65535)
        {
            return "a primary's port is not a port";
        }
    }

    return NULL;
}


/*
 * The slot map from each range's primary; each primary's replicas (listed
 * again with each of its ranges) are taken once, after all the primaries,
 * as nodes a refresh may ask: no command is sent to them.
 */

static ngx_int_t
ngx_http_shared_session_cluster_apply(ngx_http_shared_session_cluster_t *cl,
    redisReply *reply)
{
    size_t                             i, j, last;
    uint32_t                           crc;
    ngx_int_t                          n, *first;
    ngx_str_t                          host;
    ngx_uint_t                         s, start, end, primaries, replicas;
    redisReply                        *range, *node;
    ngx_http_shared_session_redis_t   *rs;

    /* per range: the index of its primary if first seen there, else -1 */

    first = ngx_alloc(reply->elements * sizeof(ngx_int_t), cl->log);
    if (first == NULL) {
        return NGX_ERROR;
    }

    if (cl->slots == NULL) {
        cl->slots = ngx_alloc(NGX_HTTP_SHARED_SESSION_CLUSTER_SLOTS
                              * sizeof(ngx_http_shared_session_redis_t *),
                              cl->log);
        if (cl->slots == NULL) {
            ngx_free(first);
            return NGX_ERROR;
        }
    }

    ngx_memzero(cl->slots, NGX_HTTP_SHARED_SESSION_CLUSTER_SLOTS
                           * sizeof(ngx_http_shared_session_redis_t *));

    cl->generation++;
    primaries = 0;
    replicas = 0;

    ngx_crc32_init(crc);

    for (i = 0; i < reply->elements; i++) {
        range = reply->element[i];
        node = range->element[2];
        first[i] = -1;

        start = (ngx_uint_t) range->element[0]->integer;
        end = (ngx_uint_t) range->element[1]->integer;

        if (node->element[0]->type == REDIS_REPLY_NIL) {
            ngx_str_null(&host);

        } else {
            host.data = (u_char *) node->element[0]->str;
            host.len = node->element[0]->len;
        }

        /* a node that could not be added leaves its slots unserved */

        n = ngx_http_shared_session_cluster_node(cl, &host,
                                     (in_port_t) node->element[1]->integer,
                                     cl->asked, cl->log);
        if (n == NGX_ERROR) {
            continue;
        }

        rs = cl->nodes[n].redis;

        if (cl->nodes[n].mark != cl->generation) {
            cl->nodes[n].mark = cl->generation;
            primaries++;
            first[i] = n;
        }

        for (s = start; s <= end; s++) {
            cl->slots[s] = rs;
        }

        ngx_crc32_update(&crc, (u_char *) &start, sizeof(ngx_uint_t));
        ngx_crc32_update(&crc, (u_char *) &end, sizeof(ngx_uint_t));
        ngx_crc32_update(&crc, (u_char *) &rs, sizeof(rs));
    }

    for (i = 0; i < reply->elements; i++) {
        if (first[i] == -1) {
            continue;
        }

        range = reply->element[i];
        last = ngx_min(range->elements,
                       3 + NGX_HTTP_SHARED_SESSION_CLUSTER_REPLICAS);

        for (j = 3; j < last; j++) {
            n = ngx_http_shared_session_cluster_replica(cl,
                                                        range->element[j]);
            if (n == NGX_DECLINED) {
                continue;
            }

            rs = cl->nodes[n].redis;

            if (cl->nodes[n].mark != cl->generation) {
                cl->nodes[n].mark = cl->generation;
                replicas++;
            }

            ngx_crc32_update(&crc, (u_char *) &first[i], sizeof(ngx_int_t));
            ngx_crc32_update(&crc, (u_char *) &rs, sizeof(rs));
        }
    }

    ngx_free(first);

    ngx_crc32_final(crc);

    ngx_http_shared_session_metrics_slot_map(
                ngx_http_shared_session_cluster_name(cl), cl->asked, cl->slots);

    if (!cl->mapped || crc != cl->fingerprint) {
        ngx_log_error(NGX_LOG_INFO, cl->log, 0,
                      "shared session: redis cluster %V: slot map from %V: "
                      "%ui ranges, %ui primaries, %ui replicas",
                      ngx_http_shared_session_cluster_name(cl),
                      ngx_http_shared_session_redis_name(cl->asked),
                      (ngx_uint_t) reply->elements, primaries, replicas);

    } else if (cl->failed || (ngx_int_t) cl->asked_n != cl->answered) {

        /* who answers now, after a failure or instead of another node */

        ngx_log_error(NGX_LOG_INFO, cl->log, 0,
                      "shared session: redis cluster %V: slot map from %V: "
                      "unchanged",
                      ngx_http_shared_session_cluster_name(cl),
                      ngx_http_shared_session_redis_name(cl->asked));

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cl->log, 0,
                       "shared session: redis cluster %V: slot map from %V: "
                       "unchanged",
                       ngx_http_shared_session_cluster_name(cl),
                       ngx_http_shared_session_redis_name(cl->asked));
    }

    cl->fingerprint = crc;
    cl->mapped = 1;

    return NGX_OK;
}


/*
 * A replica, [host, port, ...]: one that cannot be used is left out
 * quietly, since no command would go to it, and a replica never takes the
 * place of a primary under the node cap.  Returns its index in cl->nodes,
 * or NGX_DECLINED.
 */

static ngx_int_t
ngx_http_shared_session_cluster_replica(ngx_http_shared_session_cluster_t *cl,
    redisReply *entry)
{
    ngx_int_t    n;
    ngx_str_t    host, *h;
    in_port_t    port;
    redisReply  *hr, *pr;

    if (entry == NULL
        || entry->type != REDIS_REPLY_ARRAY
        || entry->elements < 2
        || entry->element[0] == NULL
        || entry->element[1] == NULL)
    {
        return NGX_DECLINED;
    }

    hr = entry->element[0];
    pr = entry->element[1];

    if (pr->type != REDIS_REPLY_INTEGER
        || pr->integer < 1 || pr->integer > 65535)
    {
        return NGX_DECLINED;
    }

    if (hr->type == REDIS_REPLY_NIL) {
        ngx_str_null(&host);

    } else if (hr->type == REDIS_REPLY_STRING
               && ngx_http_shared_session_cluster_valid_host(
                      (u_char *) hr->str, hr->len)
                  == NGX_OK)
    {
        host.data = (u_char *) hr->str;
        host.len = hr->len;

    } else {
        return NGX_DECLINED;
    }

    port = (in_port_t) pr->integer;
    h = &host;

    if (h->len == 0 || (h->len == 1 && h->data[0] == '?')) {
        h = ngx_http_shared_session_redis_host(cl->asked);
    }

    n = ngx_http_shared_session_cluster_find(cl, h, port);

    if (n != NGX_DECLINED) {
        return n;
    }

    if (cl->nnodes >= NGX_HTTP_SHARED_SESSION_CLUSTER_MAX_NODES
        || ngx_http_shared_session_cluster_usable(cl, h) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    n = ngx_http_shared_session_cluster_node(cl, h, port, cl->asked, cl->log);

    return (n == NGX_ERROR) ? NGX_DECLINED : n;
}


/* what ngx_http_shared_session_redis_create() accepts, without its logs */

static ngx_int_t
ngx_http_shared_session_cluster_usable(ngx_http_shared_session_cluster_t *cl,
    ngx_str_t *host)
{
#if (NGX_HAVE_INET6)
    u_char  inaddr6[16];
#endif

    if (host->len == 0 || host->len > NGX_MAXHOSTNAMELEN) {
        return NGX_DECLINED;
    }

    if (cl->conf->resolver
        || ngx_inet_addr(host->data, host->len) != INADDR_NONE)
    {
        return NGX_OK;
    }

#if (NGX_HAVE_INET6)
    if (ngx_inet6_addr(host->data, host->len, inaddr6) == NGX_OK) {
        return NGX_OK;
    }
#endif

    return NGX_DECLINED;
}


/* printable, no spaces, not too long; empty and "?" mean "the same host" */

static ngx_int_t
ngx_http_shared_session_cluster_valid_host(u_char *p, size_t len)
{
    u_char  *last;

    if (len > NGX_HTTP_SHARED_SESSION_CLUSTER_MAX_HOST) {
        return NGX_ERROR;
    }

    for (last = p + len; p < last; p++) {
        if (*p <= ' ' || *p >= 0x7f) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Finds or adds the node for host:port; an empty or unknown ("?") host is
 * the host of "origin", the node that answered.  Returns its index in
 * cl->nodes, or NGX_ERROR with the cause logged.
 */

static ngx_int_t
ngx_http_shared_session_cluster_node(ngx_http_shared_session_cluster_t *cl,
    ngx_str_t *host, in_port_t port, ngx_http_shared_session_redis_t *origin,
    ngx_log_t *log)
{
    ngx_int_t                                n;
    ngx_uint_t                               i;
    ngx_http_shared_session_redis_t         *rs;
    ngx_http_shared_session_cluster_node_t  *nodes;

    if (host->len == 0 || (host->len == 1 && host->data[0] == '?')) {
        host = ngx_http_shared_session_redis_host(origin);
    }

    n = ngx_http_shared_session_cluster_find(cl, host, port);

    if (n != NGX_DECLINED) {
        return n;
    }

    if (cl->nnodes >= NGX_HTTP_SHARED_SESSION_CLUSTER_MAX_NODES) {
        if (!cl->too_many) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "shared session: redis cluster %V: more than %d "
                          "nodes, \"%V:%d\" and further ones ignored",
                          ngx_http_shared_session_cluster_name(cl),
                          NGX_HTTP_SHARED_SESSION_CLUSTER_MAX_NODES,
                          host, (int) port);
            cl->too_many = 1;
        }

        return NGX_ERROR;
    }

    if (cl->nnodes == cl->nalloc) {
        nodes = ngx_alloc(2 * cl->nalloc
                          * sizeof(ngx_http_shared_session_cluster_node_t),
                          log);
        if (nodes == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(nodes, cl->nodes,
                   cl->nnodes * sizeof(ngx_http_shared_session_cluster_node_t));
        ngx_free(cl->nodes);

        cl->nodes = nodes;
        cl->nalloc *= 2;
    }

    rs = ngx_http_shared_session_redis_create(cl->conf, host, port, log);
    if (rs == NULL) {
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "shared session: redis cluster %V: new node %V",
                   ngx_http_shared_session_cluster_name(cl),
                   ngx_http_shared_session_redis_name(rs));

    ngx_http_shared_session_metrics_node_add(rs,
                                    ngx_http_shared_session_cluster_name(cl));

    i = cl->nnodes++;

    cl->nodes[i].redis = rs;
    cl->nodes[i].learned = 1;
    cl->nodes[i].mark = 0;
    cl->nodes[i].round = 0;

    return i;
}


/* the index of the node host:port in cl->nodes, or NGX_DECLINED */

static ngx_int_t
ngx_http_shared_session_cluster_find(ngx_http_shared_session_cluster_t *cl,
    ngx_str_t *host, in_port_t port)
{
    ngx_str_t                        *h;
    ngx_uint_t                        i;
    ngx_http_shared_session_redis_t  *rs;

    for (i = 0; i < cl->nnodes; i++) {
        rs = cl->nodes[i].redis;
        h = ngx_http_shared_session_redis_host(rs);

        if (ngx_http_shared_session_redis_port(rs) == port
            && h->len == host->len
            && ngx_strncasecmp(h->data, host->data, host->len) == 0)
        {
            return i;
        }
    }

    return NGX_DECLINED;
}


static void
ngx_http_shared_session_cluster_set_error(ngx_str_t *error, u_char *buf,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + NGX_HTTP_SHARED_SESSION_CLUSTER_ERRLEN, fmt,
                      args);
    va_end(args);

    error->len = p - buf;

    error->data = buf;
}


/* the connection interface (ngx_http_shared_session_conn.h) of a cluster */

static void *
ngx_http_shared_session_cluster_conn_send(void *peer, ngx_log_t *log,
    ngx_msec_t timeout, ngx_uint_t key, int argc, const char **argv,
    const size_t *argvlen, ngx_http_shared_session_redis_handler_pt handler,
    void *data, ngx_str_t *error)
{
    return ngx_http_shared_session_cluster_send(peer, log, timeout, key, argc,
                                                argv, argvlen, handler, data,
                                                error);
}


static void
ngx_http_shared_session_cluster_conn_cancel(void *cmd)
{
    ngx_http_shared_session_cluster_cancel(cmd);
}


static ngx_str_t *
ngx_http_shared_session_cluster_conn_name(void *peer)
{
    return ngx_http_shared_session_cluster_name(peer);
}


ngx_http_shared_session_conn_ops_t
    ngx_http_shared_session_cluster_conn_ops =
{
    ngx_http_shared_session_cluster_conn_send,
    ngx_http_shared_session_cluster_conn_cancel,
    ngx_http_shared_session_cluster_conn_name,
    0
};
