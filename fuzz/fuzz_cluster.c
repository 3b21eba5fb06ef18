
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * fuzz_cluster: what Redis Cluster nodes answer, played against the
 * cluster layer (src/ngx_http_shared_session_cluster.c) of one worker.
 * This file #includes the Redis adapter's and the cluster's .c for their
 * static functions (build.sh leaves the module's own objects of these two
 * out of this target's link).
 *
 * Nothing is sent: the cluster's calls of ngx_http_shared_session_redis_send()
 * go to fuzz_redis_send(), which records the node and the command and queues
 * a stand-in for the redis layer's command (or fails, as a node that
 * refuses connections does).  Every complete reply that hiredis's
 * redisReader makes of the input (a connection's reader: its limits, its
 * reply arena reset after each piece's replies, ASan's redzones after
 * every object; ngx_fuzz_reply.h) goes to the oldest command "sent", as on
 * a connection: to the CLUSTER SLOTS refresh handler
 * (_cluster_refresh_handler(): _check(),
 * _apply(), nodes made with ngx_http_shared_session_redis_create(), which
 * only allocates), to a command's handler (_cluster_handler(): MOVED and
 * ASK through _cluster_redirect(), TRYAGAIN, CLUSTERDOWN), or to an ASKING.
 * When nothing waits for a reply, one is started for it: a refresh (as at
 * worker start) for an array, a command for anything else (the other way
 * round with bit 7).  Between replies the clock moves on and the timers
 * that are due run (retries, the throttled refresh, deadlines) with
 * nginx's own timer tree.  The status reply "+CLOSED" stands for a
 * connection lost: the handler gets NULL and a cause.  Each command has a
 * log of its own, freed when its handler runs (the request is over): a
 * later use of it, e.g. by an ASKING still queued, is ASan's to report.
 *
 * Input: one byte of settings, then RESP.  Settings:
 *
 *   bit 0     the configuration has a resolver: nodes may be host names
 *   bit 1     every third send fails at once
 *   bits 2-3  both set: the worker already knows 1021 nodes, 3 below the
 *             cap of 1024
 *   bits 4-6  how far the clock moves between replies: 1 + 40 * n ms
 *   bit 7     an array reply that nothing waits for starts a command,
 *             any other a refresh (not the other way round)
 *
 * Checked: no sanitizer report; every slot maps to NULL or one of the
 * cluster's nodes, the nodes stay unique and within the cap; a CLUSTER
 * SLOTS reply is taken iff a reference check written here accepts it, and
 * then the map is exactly the one a reference computes (a range's primary,
 * its host "", "?" or nil meaning the node asked, a host name needing the
 * resolver, later ranges overriding earlier ones), and the nodes are the
 * reference's (the primaries, then the usable replicas listed with each
 * primary's first range, at most 16 each), otherwise the map and the nodes
 * stay as they were; a refresh round asks each node once at most, and at
 * most 16 of them; a MOVED or ASK read as a reference parser
 * reads it goes to the node it names (ASKING first for ASK, the slot
 * remapped for MOVED), at most 5 times; every send goes to a known node,
 * with wait >= timeout, an ASKING with the cycle's log;
 * a command's handler runs once at most, never from inside
 * ngx_http_shared_session_cluster_send(), with the reply delivered or a
 * cause; the hash slot of the raw input and of each command's key is the
 * one a bitwise CRC16/XMODEM with the hash tag rule gives.  At the end of
 * each input ngx_http_shared_session_cluster_close_all() cancels what is
 * left and frees the learned nodes: no timer may remain, no memory leak.
 */


#include "ngx_fuzz.h"
#include <ngx_event.h>
#include <hiredis/hiredis.h>


/* the adapter, its send() renamed: the cluster's sends come here */

#define ngx_http_shared_session_redis_send                                    \
    ngx_http_shared_session_redis_send_real
#include "ngx_http_shared_session_redis.c"
#undef ngx_http_shared_session_redis_send


/* the real one, for the module's other objects (store, store_plain) */

ngx_http_shared_session_redis_cmd_t *ngx_http_shared_session_redis_send(
    ngx_http_shared_session_redis_t *rs, ngx_log_t *log, ngx_msec_t timeout,
    ngx_msec_t wait, int argc, const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error);

ngx_http_shared_session_redis_cmd_t *
ngx_http_shared_session_redis_send(ngx_http_shared_session_redis_t *rs,
    ngx_log_t *log, ngx_msec_t timeout, ngx_msec_t wait, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error)
{
    return ngx_http_shared_session_redis_send_real(rs, log, timeout, wait,
                                                   argc, argv, argvlen,
                                                   handler, data, error);
}


static ngx_http_shared_session_redis_cmd_t *fuzz_redis_send(
    ngx_http_shared_session_redis_t *rs, ngx_log_t *log, ngx_msec_t timeout,
    ngx_msec_t wait, int argc, const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error);

#define ngx_http_shared_session_redis_send  fuzz_redis_send
#include "ngx_http_shared_session_cluster.c"
#undef ngx_http_shared_session_redis_send

#include "ngx_fuzz_reply.h"


#define FUZZ_SLOTS      NGX_HTTP_SHARED_SESSION_CLUSTER_SLOTS
#define FUZZ_MAX_NODES  NGX_HTTP_SHARED_SESSION_CLUSTER_MAX_NODES
#define FUZZ_MAX_REQS   64
#define FUZZ_MAX_SENDS  8
#define FUZZ_TIMEOUT    1000

/*
 * The references and checks loop over 16384 slots and up to 1024 nodes:
 * left out of the coverage that guides libFuzzer (which is the module's),
 * they would be most of what it measures and compares.
 */
#define FUZZ_NOCOV  __attribute__((no_sanitize("coverage"), noinline))


typedef struct {
    ngx_uint_t                         called;
    ngx_uint_t                         failed;
    redisReply                        *reply;
    ngx_log_t                         *log;     /* freed when it ends */
} fuzz_req_t;


typedef struct {
    ngx_http_shared_session_redis_t   *rs;
    ngx_uint_t                         asking;
} fuzz_send_t;


typedef struct {
    u_char                            *host;
    size_t                             len;
    ngx_uint_t                         port;
} fuzz_node_t;


static ngx_pool_t                         *fuzz_conf_pool;
static ngx_array_t                        *fuzz_seeds;
static ngx_http_shared_session_redis_conf_t  *fuzz_conf;
static ngx_resolver_t                      fuzz_resolver;
static ngx_cycle_t                         fuzz_cycle;

/* this input's */

static uint8_t                             fuzz_flags;
static ngx_pool_t                         *fuzz_pool;
static ngx_http_shared_session_cluster_t  *fuzz_cl;
static ngx_queue_t                         fuzz_pending;
static ngx_uint_t                          fuzz_nsent;
static fuzz_send_t                         fuzz_sends[FUZZ_MAX_SENDS];
static ngx_uint_t                          fuzz_nsends;
static ngx_uint_t                          fuzz_in_send;
static redisReply                         *fuzz_delivering;
static fuzz_req_t                          fuzz_reqs[FUZZ_MAX_REQS];
static ngx_uint_t                          fuzz_nreqs;
static ngx_uint_t                          fuzz_round;
static ngx_http_shared_session_redis_t    *fuzz_asked[
                                    NGX_HTTP_SHARED_SESSION_CLUSTER_ROUND_MAX];
static ngx_uint_t                          fuzz_nasked;

/* the references' */

static ngx_http_shared_session_redis_t    *fuzz_old_slots[FUZZ_SLOTS];
static ngx_int_t                           fuzz_ref_slots[FUZZ_SLOTS];
static ngx_int_t                           fuzz_ref_first[FUZZ_SLOTS];
static u_char                              fuzz_ref_seen[FUZZ_MAX_NODES];
static fuzz_node_t                         fuzz_ref_nodes[FUZZ_MAX_NODES];
static ngx_http_shared_session_redis_t    *fuzz_sorted[FUZZ_MAX_NODES];


/* a reference: CRC16/XMODEM bit by bit, the hash tag rule of Redis Cluster */

FUZZ_NOCOV static ngx_uint_t
fuzz_ref_slot(const u_char *key, size_t len)
{
    size_t    i, s, e;
    uint16_t  crc;
    int       b;

    for (s = 0; s < len && key[s] != '{'; s++) { /* void */ }

    if (s < len) {
        for (e = s + 1; e < len && key[e] != '}'; e++) { /* void */ }

        if (e < len && e != s + 1) {
            key += s + 1;
            len = e - s - 1;
        }
    }

    crc = 0;

    for (i = 0; i < len; i++) {
        crc ^= (uint16_t) (key[i] << 8);

        for (b = 0; b < 8; b++) {
            crc = (crc & 0x8000) ? (uint16_t) ((crc << 1) ^ 0x1021)
                                 : (uint16_t) (crc << 1);
        }
    }

    return crc % 16384;
}


static void
fuzz_init(void)
{
    ngx_str_t                              addr;
    ngx_uint_t                             i;
    ngx_conf_t                             cf;
    ngx_array_t                           *servers;
    ngx_http_shared_session_redis_t      **seed;

    static char  *seeds[] = {
        "127.0.0.1:7000", "127.0.0.1:7001", "10.0.0.3:6379", "[::1]:7002"
    };

    if (fuzz_conf) {
        return;
    }

    /* the test vector of CRC16/XMODEM: "123456789" is 0x31c3 */
    ngx_fuzz_check(fuzz_ref_slot((u_char *) "123456789", 9) == 0x31c3);
    ngx_fuzz_check(ngx_http_shared_session_cluster_slot((u_char *) "123456789",
                                                        9) == 0x31c3);

    fuzz_cycle.log = &ngx_fuzz_log;
    ngx_cycle = &fuzz_cycle;

    ngx_event_timer_init(&ngx_fuzz_log);

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    /* kept for the process' life, as the configuration's pool is */
    fuzz_conf_pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, &ngx_fuzz_log);
    if (fuzz_conf_pool == NULL) {
        abort();
    }

    cf.pool = fuzz_conf_pool;
    cf.temp_pool = fuzz_conf_pool;
    cf.log = &ngx_fuzz_log;

    servers = ngx_array_create(cf.pool, 4, sizeof(void *));
    fuzz_seeds = ngx_array_create(cf.pool, 4, sizeof(void *));
    fuzz_conf = ngx_pcalloc(cf.pool,
                            sizeof(ngx_http_shared_session_redis_conf_t));
    if (servers == NULL || fuzz_seeds == NULL || fuzz_conf == NULL) {
        abort();
    }

    fuzz_conf->connect_timeout = 1000;

    for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        addr.data = (u_char *) seeds[i];
        addr.len = ngx_strlen(seeds[i]);

        seed = ngx_array_push(fuzz_seeds);
        if (seed == NULL) {
            abort();
        }

        *seed = ngx_http_shared_session_redis_add(&cf, servers, &addr,
                                                  fuzz_conf);
        if (*seed == NULL) {
            abort();
        }
    }
}


FUZZ_NOCOV static ngx_uint_t
fuzz_is_node(ngx_http_shared_session_redis_t *rs)
{
    ngx_uint_t  i;

    for (i = 0; i < fuzz_cl->nnodes; i++) {
        if (fuzz_cl->nodes[i].redis == rs) {
            return 1;
        }
    }

    return 0;
}


FUZZ_NOCOV static ngx_uint_t
fuzz_same(ngx_http_shared_session_redis_t *rs, u_char *host, size_t len,
    ngx_uint_t port)
{
    return rs->port == port
           && rs->host.len == len
           && ngx_strncasecmp(rs->host.data, host, len) == 0;
}


static ngx_http_shared_session_redis_cmd_t *
fuzz_redis_send(ngx_http_shared_session_redis_t *rs, ngx_log_t *log,
    ngx_msec_t timeout, ngx_msec_t wait, int argc, const char **argv,
    const size_t *argvlen, ngx_http_shared_session_redis_handler_pt handler,
    void *data, ngx_str_t *error)
{
    ngx_uint_t                            i, asking;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    ngx_fuzz_check(fuzz_is_node(rs));
    ngx_fuzz_check(argc >= 1 && handler != NULL && log != NULL);
    ngx_fuzz_check(timeout > 0 && wait >= timeout);

    asking = (argvlen[0] == 6 && ngx_strncmp(argv[0], "ASKING", 6) == 0);

    /* ASKING is never cancelled: it must not hold a request's log */
    ngx_fuzz_check(!asking || log == fuzz_cl->log);

    /* a refresh round asks a node once at most, and a bounded number */

    if (handler == ngx_http_shared_session_cluster_refresh_handler) {
        if (fuzz_round != fuzz_cl->round) {
            fuzz_round = fuzz_cl->round;
            fuzz_nasked = 0;
        }

        for (i = 0; i < fuzz_nasked; i++) {
            ngx_fuzz_check(fuzz_asked[i] != rs);
        }

        ngx_fuzz_check(fuzz_nasked
                       < NGX_HTTP_SHARED_SESSION_CLUSTER_ROUND_MAX);
        fuzz_asked[fuzz_nasked++] = rs;
    }

    if (fuzz_nsends < FUZZ_MAX_SENDS) {
        fuzz_sends[fuzz_nsends].rs = rs;
        fuzz_sends[fuzz_nsends].asking = asking;
    }

    fuzz_nsends++;

    if ((fuzz_flags & 2) && fuzz_nsent++ % 3 == 2) {
        ngx_str_set(error, "connect() failed (111: Connection refused)");
        return NULL;
    }

    cmd = ngx_pcalloc(fuzz_pool, sizeof(ngx_http_shared_session_redis_cmd_t));
    if (cmd == NULL) {
        abort();
    }

    cmd->rs = rs;
    cmd->handler = handler;
    cmd->data = data;
    cmd->wait = wait;
    cmd->timer.log = log;     /* the adapter's timer would use it */

    ngx_queue_insert_tail(&fuzz_pending, &cmd->queue);

    return cmd;
}


/* the invariants of the cluster's state, after every step */

FUZZ_NOCOV static int
fuzz_ptr_cmp(const void *a, const void *b)
{
    uintptr_t  x = (uintptr_t) *(void **) a, y = (uintptr_t) *(void **) b;

    return (x > y) - (x < y);
}


FUZZ_NOCOV static void
fuzz_check_cluster(void)
{
    ngx_uint_t                          i, j, n;
    ngx_http_shared_session_redis_t    *rs, *last, **seeds;
    ngx_http_shared_session_cluster_t  *cl = fuzz_cl;

    n = cl->nnodes;
    seeds = fuzz_seeds->elts;

    ngx_fuzz_check(n >= cl->nseeds && n <= cl->nalloc);
    ngx_fuzz_check(n <= FUZZ_MAX_NODES);

    for (i = 0; i < n; i++) {
        rs = cl->nodes[i].redis;

        if (i < cl->nseeds) {
            ngx_fuzz_check(rs == seeds[i] && !cl->nodes[i].learned);
            continue;
        }

        ngx_fuzz_check(cl->nodes[i].learned && rs->runtime);
        ngx_fuzz_check(rs->host.len > 0 && rs->port > 0);
        ngx_fuzz_check(rs->host.data[rs->host.len] == '\0');
    }

    for (i = 0; i < n; i++) {
        fuzz_sorted[i] = cl->nodes[i].redis;
    }

    qsort(fuzz_sorted, n, sizeof(void *), fuzz_ptr_cmp);

    for (i = 1; i < n; i++) {
        ngx_fuzz_check(fuzz_sorted[i] != fuzz_sorted[i - 1]);
    }

    /* a learned node is none of the others (the search is O(n^2): sampled) */

    if (n <= 64) {
        for (i = cl->nseeds; i < n; i++) {
            rs = cl->nodes[i].redis;

            for (j = 0; j < i; j++) {
                ngx_fuzz_check(!fuzz_same(cl->nodes[j].redis, rs->host.data,
                                          rs->host.len, rs->port));
            }
        }
    }

    if (cl->slots == NULL) {
        return;
    }

    last = NULL;

    for (i = 0; i < FUZZ_SLOTS; i++) {
        rs = cl->slots[i];

        if (rs == NULL || rs == last) {
            continue;
        }

        ngx_fuzz_check(bsearch(&rs, fuzz_sorted, n, sizeof(void *),
                               fuzz_ptr_cmp) != NULL);
        last = rs;
    }
}


/* a command's handler, the module's caller's */

static void
fuzz_req_handler(void *data, redisReply *reply, ngx_str_t *error)
{
    fuzz_req_t  *req = data;

    ngx_fuzz_check(!fuzz_in_send);
    ngx_fuzz_check(req->called == 0);

    req->called = 1;
    req->reply = reply;

    if (reply == NULL) {
        ngx_fuzz_check(error != NULL && error->data != NULL && error->len > 0);
        req->failed = 1;

        /* the log reads every byte of it */
        ngx_log_error(NGX_LOG_ERR, &ngx_fuzz_log, 0, "command failed: %V",
                      error);

    } else {
        ngx_fuzz_check(reply == fuzz_delivering);
    }

    /* the request is over, its pool and log go: ASan sees later uses */
    ngx_free(req->log);
    req->log = NULL;
}


static void
fuzz_command(void)
{
    int                                     argc, i, k;
    fuzz_req_t                             *req;
    ngx_str_t                               error;
    ngx_uint_t                              n;
    const char                            **argv;
    size_t                                 *argvlen;
    ngx_http_shared_session_cluster_cmd_t  *cmd;

    static const char  *keys[] = {
        "spring:session:sessions:0b3f2c9e-4f0a-4a8e-9d6a-2f1e6a1c7b55",
        "{spring:session:sessions:0b3f2c9e}:attrs",
        "foo{}{bar}", "{}", "a{b", "user1000", "{user1000}.following"
    };

    if (fuzz_nreqs == FUZZ_MAX_REQS) {
        return;
    }

    n = fuzz_nreqs;
    req = &fuzz_reqs[fuzz_nreqs++];

    argv = ngx_palloc(fuzz_pool, 4 * sizeof(char *));
    argvlen = ngx_palloc(fuzz_pool, 4 * sizeof(size_t));
    /* a request's own log, as r->connection->log */
    req->log = ngx_alloc(sizeof(ngx_log_t), &ngx_fuzz_log);

    if (argv == NULL || argvlen == NULL || req->log == NULL) {
        abort();
    }

    *req->log = ngx_fuzz_log;

    if (n % 3 == 2) {
        argv[0] = "EVALSHA";
        argv[1] = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
        argv[2] = "1";
        argv[3] = keys[n % 7];
        argc = 4;
        k = 3;

    } else {
        argv[0] = (n % 3) ? "HGETALL" : "GET";
        argv[1] = keys[n % 7];
        argc = 2;
        k = 1;
    }

    for (i = 0; i < argc; i++) {
        argvlen[i] = ngx_strlen(argv[i]);
    }

    fuzz_in_send = 1;
    error.len = 0;
    error.data = NULL;

    cmd = ngx_http_shared_session_cluster_send(fuzz_cl, req->log,
                                               FUZZ_TIMEOUT, k, argc, argv,
                                               argvlen, fuzz_req_handler, req,
                                               &error);
    fuzz_in_send = 0;

    ngx_fuzz_check(req->called == 0);

    if (cmd == NULL) {
        ngx_fuzz_check(error.data != NULL && error.len > 0);
        req->called = 1;
        ngx_free(req->log);
        req->log = NULL;
        return;
    }

    ngx_fuzz_check(cmd->slot == fuzz_ref_slot((u_char *) argv[k],
                                              argvlen[k]));
}


/* a reference check of a CLUSTER SLOTS reply's shape */

FUZZ_NOCOV static ngx_uint_t
fuzz_ref_valid_host(redisReply *h)
{
    size_t  i;

    if (h->type == REDIS_REPLY_NIL) {
        return 1;
    }

    if (h->type != REDIS_REPLY_STRING || h->len > 255) {
        return 0;
    }

    for (i = 0; i < h->len; i++) {
        if ((u_char) h->str[i] < 0x21 || (u_char) h->str[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


FUZZ_NOCOV static ngx_uint_t
fuzz_ref_slots_valid(redisReply *reply)
{
    size_t       i;
    redisReply  *r, *p;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        return 0;
    }

    for (i = 0; i < reply->elements; i++) {
        r = reply->element[i];

        if (r->type != REDIS_REPLY_ARRAY || r->elements < 3
            || r->element[0]->type != REDIS_REPLY_INTEGER
            || r->element[1]->type != REDIS_REPLY_INTEGER
            || r->element[0]->integer < 0
            || r->element[1]->integer < r->element[0]->integer
            || r->element[1]->integer > 16383)
        {
            return 0;
        }

        p = r->element[2];

        if (p->type != REDIS_REPLY_ARRAY || p->elements < 2
            || !fuzz_ref_valid_host(p->element[0])
            || p->element[1]->type != REDIS_REPLY_INTEGER
            || p->element[1]->integer < 1 || p->element[1]->integer > 65535)
        {
            return 0;
        }
    }

    return 1;
}


/*
 * The node a reference finds or adds for host:port, as an index into
 * fuzz_ref_nodes (which starts as the cluster's nodes), or -1: at the cap,
 * or not usable (usable: an address, or a name when there is a resolver).
 * The host of the seed "[::1]:7002" is kept without its brackets, so "",
 * "?" or nil from that seed name the seed itself.
 */

FUZZ_NOCOV static ngx_int_t
fuzz_ref_node(ngx_uint_t *n, u_char *host, size_t len, ngx_uint_t port,
    ngx_http_shared_session_redis_t *origin)
{
    u_char      a6[16];
    ngx_uint_t  i;

    if (len == 0 || (len == 1 && host[0] == '?')) {
        host = origin->host.data;
        len = origin->host.len;
    }

    for (i = 0; i < *n; i++) {
        if (fuzz_ref_nodes[i].port == port && fuzz_ref_nodes[i].len == len
            && ngx_strncasecmp(fuzz_ref_nodes[i].host, host, len) == 0)
        {
            return i;
        }
    }

    if (*n >= FUZZ_MAX_NODES) {
        return -1;
    }

    if (len == 0 || len > NGX_MAXHOSTNAMELEN
        || (ngx_inet_addr(host, len) == INADDR_NONE
            && ngx_inet6_addr(host, len, a6) != NGX_OK
            && fuzz_conf->resolver == NULL))
    {
        return -1;
    }

    fuzz_ref_nodes[*n].host = host;
    fuzz_ref_nodes[*n].len = len;
    fuzz_ref_nodes[*n].port = port;

    return (*n)++;
}


FUZZ_NOCOV static void
fuzz_ref_nodes_init(ngx_uint_t *n)
{
    ngx_uint_t                        i;
    ngx_http_shared_session_redis_t  *rs;

    for (i = 0; i < fuzz_cl->nnodes; i++) {
        rs = fuzz_cl->nodes[i].redis;
        fuzz_ref_nodes[i].host = rs->host.data;
        fuzz_ref_nodes[i].len = rs->host.len;
        fuzz_ref_nodes[i].port = rs->port;
    }

    *n = fuzz_cl->nnodes;
}


FUZZ_NOCOV static void
fuzz_check_nodes(ngx_uint_t n)
{
    ngx_uint_t                        i;
    ngx_http_shared_session_redis_t  *rs;

    ngx_fuzz_check(fuzz_cl->nnodes == n);

    for (i = 0; i < n; i++) {
        rs = fuzz_cl->nodes[i].redis;
        ngx_fuzz_check(fuzz_same(rs, fuzz_ref_nodes[i].host,
                                 fuzz_ref_nodes[i].len,
                                 fuzz_ref_nodes[i].port));
    }
}


/* a replica entry the cluster takes: [host, port, ...] as a primary's */

FUZZ_NOCOV static ngx_uint_t
fuzz_ref_replica_valid(redisReply *e)
{
    return e->type == REDIS_REPLY_ARRAY && e->elements >= 2
           && fuzz_ref_valid_host(e->element[0])
           && e->element[1]->type == REDIS_REPLY_INTEGER
           && e->element[1]->integer >= 1 && e->element[1]->integer <= 65535;
}


/*
 * The map a CLUSTER SLOTS reply that fuzz_ref_slots_valid() accepts makes:
 * fuzz_ref_slots[] holds indexes into fuzz_ref_nodes, -1 for no node.  The
 * replicas come after all the primaries, those of each primary's first
 * range only, 16 at most, the unusable ones left out.
 */

FUZZ_NOCOV static void
fuzz_ref_map(redisReply *reply, ngx_uint_t *n,
    ngx_http_shared_session_redis_t *origin)
{
    size_t       i, j;
    ngx_int_t    idx;
    ngx_uint_t   s;
    redisReply  *r, *p, *h, *e;

    for (s = 0; s < FUZZ_SLOTS; s++) {
        fuzz_ref_slots[s] = -1;
    }

    ngx_memzero(fuzz_ref_seen, sizeof(fuzz_ref_seen));

    for (i = 0; i < reply->elements; i++) {
        r = reply->element[i];
        p = r->element[2];
        h = p->element[0];
        fuzz_ref_first[i] = -1;

        /* nil: the node asked, as "" and "?" */

        idx = fuzz_ref_node(n, (h->type == REDIS_REPLY_NIL) ? (u_char *) ""
                                                            : (u_char *) h->str,
                            (h->type == REDIS_REPLY_NIL) ? 0 : h->len,
                            (ngx_uint_t) p->element[1]->integer, origin);

        if (idx == -1) {
            continue;
        }

        if (!fuzz_ref_seen[idx]) {
            fuzz_ref_seen[idx] = 1;
            fuzz_ref_first[i] = idx;
        }

        for (s = (ngx_uint_t) r->element[0]->integer;
             s <= (ngx_uint_t) r->element[1]->integer;
             s++)
        {
            fuzz_ref_slots[s] = idx;
        }
    }

    for (i = 0; i < reply->elements; i++) {
        if (fuzz_ref_first[i] == -1) {
            continue;
        }

        r = reply->element[i];

        for (j = 3; j < r->elements && j < 3 + 16; j++) {
            e = r->element[j];

            if (!fuzz_ref_replica_valid(e)) {
                continue;
            }

            h = e->element[0];

            (void) fuzz_ref_node(n, (h->type == REDIS_REPLY_NIL)
                                    ? (u_char *) "" : (u_char *) h->str,
                                 (h->type == REDIS_REPLY_NIL) ? 0 : h->len,
                                 (ngx_uint_t) e->element[1]->integer, origin);
        }
    }
}


FUZZ_NOCOV static void
fuzz_check_map(ngx_uint_t had, ngx_uint_t valid)
{
    ngx_uint_t                          s;
    ngx_http_shared_session_cluster_t  *cl = fuzz_cl;

    if (!valid) {
        /* a refresh that failed leaves the map as it was */

        if (had) {
            ngx_fuzz_check(cl->slots != NULL);
            ngx_fuzz_check(ngx_memcmp(cl->slots, fuzz_old_slots,
                                      sizeof(fuzz_old_slots)) == 0);
        } else {
            ngx_fuzz_check(cl->slots == NULL);
        }

        return;
    }

    ngx_fuzz_check(cl->slots != NULL && cl->mapped);

    for (s = 0; s < FUZZ_SLOTS; s++) {
        if (fuzz_ref_slots[s] == -1) {
            ngx_fuzz_check(cl->slots[s] == NULL);

        } else {
            ngx_fuzz_check(cl->slots[s]
                           == cl->nodes[fuzz_ref_slots[s]].redis);
        }
    }
}


/* a CLUSTER SLOTS reply (NULL: the connection was lost) */

static void
fuzz_slots_reply(ngx_http_shared_session_redis_cmd_t *rcmd, redisReply *reply)
{
    ngx_str_t                           err;
    ngx_uint_t                          n, had, valid;
    ngx_http_shared_session_cluster_t  *cl = fuzz_cl;

    ngx_fuzz_check(cl->refresh == rcmd && cl->asked == rcmd->rs);

    had = (cl->slots != NULL);

    if (had) {
        ngx_memcpy(fuzz_old_slots, cl->slots, sizeof(fuzz_old_slots));
    }

    fuzz_ref_nodes_init(&n);

    valid = (reply != NULL && fuzz_ref_slots_valid(reply));

    if (valid) {
        fuzz_ref_map(reply, &n, rcmd->rs);
    }

    ngx_str_set(&err, "connection closed by the fuzzer");

    fuzz_nsends = 0;

    rcmd->handler(rcmd->data, reply, reply ? NULL : &err);

    fuzz_check_nodes(n);
    fuzz_check_map(had, valid);
}


/* a reference parser of "MOVED <slot> <host>:<port>", "ASK ..." */

typedef struct {
    ngx_uint_t  moved;
    ngx_uint_t  slot;
    u_char     *host;
    size_t      len;
    ngx_uint_t  port;
} fuzz_redirect_t;


FUZZ_NOCOV static ngx_uint_t
fuzz_ref_number(u_char *p, u_char *last, ngx_uint_t max, ngx_uint_t *v)
{
    if (p == last) {
        return 0;
    }

    *v = 0;

    for ( ; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return 0;
        }

        *v = *v * 10 + (*p - '0');

        if (*v > max) {
            return 0;
        }
    }

    return 1;
}


/* -1: not a redirection, 0: one that cannot be read, 1: read */

FUZZ_NOCOV static ngx_int_t
fuzz_ref_redirect(redisReply *reply, fuzz_redirect_t *rd)
{
    u_char      *p, *last, *sp, *colon, *q;
    size_t       i;
    ngx_uint_t   pre;

    if (reply->type != REDIS_REPLY_ERROR || reply->str == NULL) {
        return -1;
    }

    p = (u_char *) reply->str;
    last = p + reply->len;

    if (reply->len > 6 && memcmp(p, "MOVED ", 6) == 0) {
        rd->moved = 1;
        pre = 6;

    } else if (reply->len > 4 && memcmp(p, "ASK ", 4) == 0) {
        rd->moved = 0;
        pre = 4;

    } else {
        return -1;
    }

    p += pre;
    sp = memchr(p, ' ', last - p);

    if (sp == NULL || !fuzz_ref_number(p, sp, 16383, &rd->slot)) {
        return 0;
    }

    colon = NULL;

    for (q = sp + 1; q < last; q++) {
        if (*q == ':') {
            colon = q;
        }
    }

    if (colon == NULL || !fuzz_ref_number(colon + 1, last, 65535, &rd->port)
        || rd->port == 0)
    {
        return 0;
    }

    rd->host = sp + 1;
    rd->len = colon - rd->host;

    if (rd->len >= 2 && rd->host[0] == '[' && rd->host[rd->len - 1] == ']') {
        rd->host++;
        rd->len -= 2;
    }

    if (rd->len > 255) {
        return 0;
    }

    for (i = 0; i < rd->len; i++) {
        if (rd->host[i] < 0x21 || rd->host[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


/* a reply to a command (NULL: the connection was lost) */

static void
fuzz_command_reply(ngx_http_shared_session_redis_cmd_t *rcmd,
    redisReply *reply)
{
    ngx_int_t                               rd_rc, idx;
    ngx_str_t                               err;
    ngx_uint_t                              n, redirects, called_before;
    fuzz_req_t                             *req;
    fuzz_redirect_t                         rd;
    ngx_http_shared_session_redis_t        *target;
    ngx_http_shared_session_cluster_cmd_t  *cmd;

    cmd = rcmd->data;
    req = cmd->data;

    ngx_fuzz_check(cmd->inner == rcmd && cmd->node == rcmd->rs);
    ngx_fuzz_check(req->called == 0);

    redirects = cmd->redirects;
    called_before = req->called;
    rd_rc = (reply == NULL) ? -1 : fuzz_ref_redirect(reply, &rd);

    fuzz_ref_nodes_init(&n);

    idx = -1;

    if (rd_rc == 1 && redirects < NGX_HTTP_SHARED_SESSION_CLUSTER_REDIRECTS) {
        idx = fuzz_ref_node(&n, rd.host, rd.len, rd.port, rcmd->rs);
    }

    ngx_str_set(&err, "connection closed by the fuzzer");

    fuzz_nsends = 0;

    /* cmd may be freed from here on */
    rcmd->handler(cmd, reply, reply ? NULL : &err);

    fuzz_check_nodes(n);

    if (reply == NULL) {
        ngx_fuzz_check(req->called && req->failed);
        ngx_fuzz_check(fuzz_nsends == 0);
        return;
    }

    if (reply->type != REDIS_REPLY_ERROR) {
        ngx_fuzz_check(req->called && req->reply == reply);
        ngx_fuzz_check(fuzz_nsends == 0);
        return;
    }

    if (rd_rc == -1) {
        ngx_fuzz_check(fuzz_nsends == 0);
        ngx_fuzz_check(!req->called || req->reply == reply);
        return;
    }

    if (rd_rc == 0) {
        /* not read: the reply is the caller's */
        ngx_fuzz_check(req->called && req->reply == reply);
        ngx_fuzz_check(fuzz_nsends == 0);
        return;
    }

    if (redirects >= NGX_HTTP_SHARED_SESSION_CLUSTER_REDIRECTS || idx == -1) {
        ngx_fuzz_check(req->called && req->failed);
        ngx_fuzz_check(fuzz_nsends == 0);
        return;
    }

    target = fuzz_cl->nodes[idx].redis;

    if (rd.moved) {
        ngx_fuzz_check(fuzz_cl->slots[rd.slot] == target);
    }

    ngx_fuzz_check(fuzz_nsends >= 1 && fuzz_nsends <= 2);
    ngx_fuzz_check(fuzz_sends[0].rs == target);
    ngx_fuzz_check(fuzz_sends[0].asking == !rd.moved);

    if (fuzz_nsends == 2) {
        ngx_fuzz_check(!rd.moved);
        ngx_fuzz_check(fuzz_sends[1].rs == target && !fuzz_sends[1].asking);
    }

    /* sent on: waiting, unless a send failed */
    ngx_fuzz_check(req->called == (ngx_uint_t) (called_before
                                   || req->failed));
}


static void
fuzz_deliver(redisReply *reply)
{
    ngx_str_t                             err;
    ngx_queue_t                          *q;
    ngx_http_shared_session_redis_cmd_t  *rcmd;

    q = ngx_queue_head(&fuzz_pending);
    ngx_queue_remove(q);
    rcmd = ngx_queue_data(q, ngx_http_shared_session_redis_cmd_t, queue);

    if (rcmd->handler == NULL) {
        /* cancelled: the reply is dropped, as the adapter does */
        return;
    }

    /* what the adapter's timer and logging would read */
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, rcmd->timer.log, 0,
                   "fuzz: reply for a command");

    if (reply->type == REDIS_REPLY_STATUS && reply->len == 6
        && ngx_strncmp(reply->str, "CLOSED", 6) == 0)
    {
        reply = NULL;
    }

    fuzz_delivering = reply;

    if (rcmd->handler == ngx_http_shared_session_cluster_refresh_handler) {
        fuzz_slots_reply(rcmd, reply);

    } else if (rcmd->handler == ngx_http_shared_session_cluster_handler) {
        fuzz_command_reply(rcmd, reply);

    } else {
        ngx_fuzz_check(rcmd->handler
                       == ngx_http_shared_session_cluster_asking_handler);
        ngx_str_set(&err, "connection closed by the fuzzer");
        rcmd->handler(rcmd->data, reply, reply ? NULL : &err);
    }

    fuzz_delivering = NULL;
}


/* the worker knows 1021 nodes already (seeds included) */

static void
fuzz_prefill(void)
{
    u_char                                   buf[NGX_INET_ADDRSTRLEN];
    ngx_str_t                                host;
    ngx_uint_t                               i;
    ngx_http_shared_session_redis_t         *rs;
    ngx_http_shared_session_cluster_t       *cl = fuzz_cl;
    ngx_http_shared_session_cluster_node_t  *nodes;

    nodes = ngx_alloc(FUZZ_MAX_NODES * sizeof(*nodes), &ngx_fuzz_log);
    if (nodes == NULL) {
        abort();
    }

    ngx_memcpy(nodes, cl->nodes, cl->nnodes * sizeof(*nodes));
    ngx_free(cl->nodes);
    cl->nodes = nodes;
    cl->nalloc = FUZZ_MAX_NODES;

    for (i = 0; cl->nnodes < FUZZ_MAX_NODES - 3; i++) {
        host.data = buf;
        host.len = ngx_sprintf(buf, "10.9.%ui.%ui", i / 250, i % 250 + 1)
                   - buf;

        rs = ngx_http_shared_session_redis_create(cl->conf, &host, 7000,
                                                  &ngx_fuzz_log);
        if (rs == NULL) {
            abort();
        }

        cl->nodes[cl->nnodes].redis = rs;
        cl->nodes[cl->nnodes].learned = 1;
        cl->nodes[cl->nnodes].mark = 0;
        cl->nnodes++;
    }
}


/* one reply: to what waits for it, else to what it starts */

static void
fuzz_step(void *data, redisReply *reply)
{
    ngx_msec_t  step;
    ngx_uint_t  kick;

    step = 1 + ((fuzz_flags >> 4) & 7) * 40;
    kick = fuzz_flags >> 7;   /* 0 or 1 */

    /* nodes and slots change only with a reply: checked then */

    ngx_current_msec += step;
    ngx_event_expire_timers();

    if (ngx_queue_empty(&fuzz_pending)) {
        if ((reply->type == REDIS_REPLY_ARRAY) ^ kick) {
            ngx_http_shared_session_cluster_refresh(fuzz_cl);

        } else {
            fuzz_command();
        }

        /* a refresh asked for now starts on the next turn */
        ngx_event_expire_timers();
    }

    if (!ngx_queue_empty(&fuzz_pending)) {
        fuzz_deliver(reply);
        fuzz_check_cluster();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_uint_t    i;
    ngx_conf_t    cf;
    ngx_array_t  *clusters;

    ngx_fuzz_init();
    fuzz_init();

    if (size == 0) {
        return 0;
    }

    fuzz_flags = data[0];
    data++;
    size--;

    /* the hash slot of any bytes */

    ngx_fuzz_check(ngx_http_shared_session_cluster_slot((u_char *) data, size)
                   == fuzz_ref_slot(data, size));

    fuzz_pool = ngx_fuzz_pool();

    /* as the configuration makes it, the worker's part as at worker start */

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    cf.pool = fuzz_pool;
    cf.temp_pool = fuzz_pool;
    cf.log = &ngx_fuzz_log;

    clusters = ngx_array_create(fuzz_pool, 1, sizeof(void *));
    if (clusters == NULL) {
        abort();
    }

    /* the resolver is only looked at when a node is made */
    fuzz_conf->resolver = (fuzz_flags & 1) ? &fuzz_resolver : NULL;

    fuzz_cl = ngx_http_shared_session_cluster_add(&cf, clusters, fuzz_seeds,
                                                  fuzz_conf);
    if (fuzz_cl == NULL
        || ngx_http_shared_session_cluster_add(&cf, clusters, fuzz_seeds,
                                               fuzz_conf) != fuzz_cl
        || ngx_http_shared_session_cluster_init(fuzz_cl, &ngx_fuzz_log)
           != NGX_OK)
    {
        abort();
    }

    ngx_queue_init(&fuzz_pending);
    fuzz_nsent = 0;
    fuzz_nreqs = 0;
    fuzz_round = 0;
    fuzz_nasked = 0;
    ngx_memzero(fuzz_reqs, sizeof(fuzz_reqs));

    if ((fuzz_flags & 0x0c) == 0x0c) {
        fuzz_prefill();
    }

    fuzz_check_cluster();

    ngx_fuzz_replies(data, size, fuzz_flags, fuzz_step, NULL);

    /* worker exit: what is left is cancelled, the learned nodes freed */

    ngx_http_shared_session_cluster_close_all(clusters);

    ngx_fuzz_check(fuzz_cl->nodes == NULL && fuzz_cl->slots == NULL);
    ngx_fuzz_check(ngx_event_timer_rbtree.root
                   == ngx_event_timer_rbtree.sentinel);

    for (i = 0; i < fuzz_nreqs; i++) {
        ngx_fuzz_check(fuzz_reqs[i].called <= 1);
        /* cancelled: the request ends now */
        ngx_free(fuzz_reqs[i].log);
    }

    ngx_destroy_pool(fuzz_pool);
    fuzz_pool = NULL;
    fuzz_cl = NULL;

    return 0;
}
