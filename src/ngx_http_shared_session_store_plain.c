
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_cookie.h"
#include "ngx_http_shared_session_store.h"


/*
 * The store's operations as single-key commands: for Redis-compatible
 * servers that forbid scripting (shared_session_redis_scripts off), and for
 * Redis Cluster, where a session's keys live on different shards and each
 * command goes to its key's (there, unless scripts are off, the hash is
 * written by a one-key script that writes only a session still live).  One
 * pipelined HMGET per candidate id (and TIME, for Redis's clock), then,
 * decided here, the writes.  The writes keep Spring's layout and the order
 * that makes a failing write the first one.
 *
 * Unlike the scripts, the plain writes cannot check that the session is
 * still there: one deleted between the two round trips (DEL, as a Spring
 * Boot 3 app invalidates) is written back whole, with the creationTime and
 * maxInactiveInterval it was read with, and is live again for every reader
 * (Spring included) with the module's attribute alone; one invalidated
 * meanwhile by maxInactiveInterval 0 (Spring 3.4) stays ended, as HSETNX
 * leaves that field alone.  No hash is left without creationTime,
 * lastAccessedTime or maxInactiveInterval: Spring Session 3 throws on such
 * a hash (IllegalStateException), Spring Session 2 fills it with defaults.
 * (A hash deleted meanwhile has maxInactiveInterval alone between the
 * HSETNX and the HMSET that follows it in the same pipeline.)
 *
 * With the hash script (Redis Cluster, scripts on), the hash is written
 * first and alone: its shard's clock and contents decide.  A session that
 * ended meanwhile is an ended session (a new one is made), and its shadow
 * key and expiry bucket are not written.
 *
 * A load (shared_session_require, _load) is a touch without the module's
 * attribute that never creates a session: the reads are HGETALL when it
 * asks for attributes (their names are compared without case), and with
 * shared_session_touch off nothing is written.
 */


#define NGX_HTTP_SHARED_SESSION_PLAIN_NONE     0
#define NGX_HTTP_SHARED_SESSION_PLAIN_BAD      1
#define NGX_HTTP_SHARED_SESSION_PLAIN_EXPIRED  2
#define NGX_HTTP_SHARED_SESSION_PLAIN_OK       3

/* at most SADD, PEXPIRE, SREM, SET, HSETNX, HMSET, PEXPIRE; or EVALSHA, EVAL */
#define NGX_HTTP_SHARED_SESSION_PLAIN_WRITES   7

/* the hash's fields and values a write sets, at most */
#define NGX_HTTP_SHARED_SESSION_FIELDS         8

/* the reads: one HMGET per candidate id, and TIME */
#define NGX_HTTP_SHARED_SESSION_PLAIN_READS                                    \
    (NGX_HTTP_SHARED_SESSION_MAX_IDS + 1)

#define NGX_HTTP_SHARED_SESSION_PLAIN_SLOTS                                    \
    ngx_max(NGX_HTTP_SHARED_SESSION_PLAIN_READS,                               \
            NGX_HTTP_SHARED_SESSION_PLAIN_WRITES)


typedef struct ngx_http_shared_session_plain_s  ngx_http_shared_session_plain_t;

typedef struct {
    ngx_http_shared_session_plain_t           *plain;
    void                                      *cmd;  /* redis or cluster */
    ngx_http_shared_session_redis_handler_pt   handler;

    /* an EVALSHA of the hash script, sent as EVAL again after NOSCRIPT */
    int                                        argc;
    const char                               **argv;
    size_t                                    *argvlen;
} ngx_http_shared_session_plain_slot_t;


struct ngx_http_shared_session_plain_s {
    ngx_http_shared_session_store_t       *st;
    ngx_uint_t                             op;
    ngx_uint_t                             pending;
    ngx_uint_t                             failed;
    ngx_uint_t                             warned;   /* bad ids logged */
    ngx_uint_t                             nslots;
    ngx_http_shared_session_plain_slot_t   slots[
                                           NGX_HTTP_SHARED_SESSION_PLAIN_SLOTS];

    /* Redis's clock when it read the hashes (ms), if it told it */
    int64_t                                redis_now;
    ngx_uint_t                             redis_now_set;

    /* what the reads found, per candidate id */
    ngx_uint_t                             state[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];
    int64_t                                created[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];
    int64_t                                accessed[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];
    int64_t                                interval[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];
    ngx_str_t                              attribute[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];

    /* a load's: the values of st->names (NULL: none found) */
    ngx_str_t                             *values[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];

    /* creationTime and maxInactiveInterval as stored, to write them back */
    ngx_str_t                              raw_created[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];
    ngx_str_t                              raw_interval[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];
};


static ngx_int_t ngx_http_shared_session_plain_reads(
    ngx_http_shared_session_plain_t *plain);
static ngx_int_t ngx_http_shared_session_plain_send(
    ngx_http_shared_session_plain_t *plain,
    ngx_http_shared_session_redis_handler_pt handler, int argc,
    const char **argv, size_t *argvlen);
static void ngx_http_shared_session_plain_read(void *data, redisReply *reply,
    ngx_str_t *error);
static void ngx_http_shared_session_plain_time(void *data, redisReply *reply,
    ngx_str_t *error);
static void ngx_http_shared_session_plain_read_done(
    ngx_http_shared_session_plain_t *plain);
static ngx_uint_t ngx_http_shared_session_plain_parse(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t i, redisReply *reply);
static ngx_uint_t ngx_http_shared_session_plain_parse_all(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t i, redisReply *reply);
static ngx_uint_t ngx_http_shared_session_plain_fields(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t i, redisReply **e);
static ngx_int_t ngx_http_shared_session_plain_decide(
    ngx_http_shared_session_plain_t *plain);
static ngx_int_t ngx_http_shared_session_plain_expire(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *id, int64_t n,
    int64_t old);
static ngx_int_t ngx_http_shared_session_plain_write_hash(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *id, int64_t n,
    ngx_int_t read);
static ngx_int_t ngx_http_shared_session_plain_copy(ngx_pool_t *pool,
    ngx_str_t *to, redisReply *e);
static ngx_int_t ngx_http_shared_session_plain_end(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *id, int64_t n,
    int64_t accessed);
static ngx_int_t ngx_http_shared_session_plain_eval(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *key, ngx_str_t *now,
    ngx_uint_t create, ngx_str_t *ttl, int nfields, const char **fields,
    size_t *flen, ngx_http_shared_session_redis_handler_pt handler);
static ngx_int_t ngx_http_shared_session_plain_write(
    ngx_http_shared_session_plain_t *plain, const char *name, ngx_str_t *key,
    ngx_str_t *arg);
static ngx_str_t *ngx_http_shared_session_plain_member(ngx_pool_t *pool,
    ngx_str_t *id);
static void ngx_http_shared_session_plain_written(void *data,
    redisReply *reply, ngx_str_t *error);
static void ngx_http_shared_session_plain_hashed(void *data,
    redisReply *reply, ngx_str_t *error);
static ngx_int_t ngx_http_shared_session_plain_noscript(
    ngx_http_shared_session_plain_slot_t *slot, redisReply *reply);
static void ngx_http_shared_session_plain_fail(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *error);
static void ngx_http_shared_session_plain_abort(
    ngx_http_shared_session_plain_t *plain);
static void ngx_http_shared_session_plain_cleanup(void *data);
static ngx_str_t *ngx_http_shared_session_plain_bucket(
    ngx_http_shared_session_plain_t *plain, int64_t expiry);
static ngx_str_t *ngx_http_shared_session_plain_number(ngx_pool_t *pool,
    int64_t n);


ngx_int_t
ngx_http_shared_session_store_plain(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t op)
{
    ngx_int_t                         rc;
    ngx_pool_cleanup_t               *cln;
    ngx_http_shared_session_plain_t  *plain;

    plain = ngx_pcalloc(r->pool, sizeof(ngx_http_shared_session_plain_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (plain == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_shared_session_plain_cleanup;
    cln->data = plain;

    plain->st = st;
    plain->op = op;

    st->request = r;
    st->plain = plain;

    if (st->nids == 0) {
        rc = ngx_http_shared_session_plain_decide(plain);

    } else {
        rc = ngx_http_shared_session_plain_reads(plain);
    }

    if (rc != NGX_OK) {
        /*
         * The caller answers now, and the request may live on (a body
         * still to discard): what was sent must not answer it again.
         */
        ngx_http_shared_session_plain_abort(plain);
    }

    return rc;
}


/* one pipelined HMGET (a load that reads attributes: HGETALL) per id */

static ngx_int_t
ngx_http_shared_session_plain_reads(ngx_http_shared_session_plain_t *plain)
{
    int                               argc;
    size_t                            len[6];
    ngx_uint_t                        i;
    const char                       *argv[6];
    ngx_http_shared_session_store_t  *st;

    st = plain->st;

    argv[0] = "HMGET";
    len[0] = sizeof("HMGET") - 1;
    argv[2] = "creationTime";
    len[2] = sizeof("creationTime") - 1;
    argv[3] = "lastAccessedTime";
    len[3] = sizeof("lastAccessedTime") - 1;
    argv[4] = "maxInactiveInterval";
    len[4] = sizeof("maxInactiveInterval") - 1;

    /* a touch also reads the attribute, for the previous host */

    argv[5] = (const char *) st->field.data;
    len[5] = st->field.len;
    argc = (plain->op == NGX_HTTP_SHARED_SESSION_OP_TOUCH) ? 6 : 5;

    if (plain->op == NGX_HTTP_SHARED_SESSION_OP_LOAD && st->nnames) {
        argv[0] = "HGETALL";
        len[0] = sizeof("HGETALL") - 1;
        argc = 2;
    }

    for (i = 0; i < st->nids; i++) {
        argv[1] = (const char *) ngx_http_shared_session_store_key(
                                         st->request->pool, &st->prefix,
                                         "sessions:", &st->ids[i], &len[1]);
        if (argv[1] == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_shared_session_plain_send(plain,
                                      ngx_http_shared_session_plain_read,
                                      argc, argv, len)
            != NGX_OK)
        {
            return NGX_DECLINED;
        }
    }

    /*
     * Expiry is judged by Redis's clock, as the scripts judge it: TIME,
     * right behind the reads on the same connection.  A cluster has no
     * one clock and TIME no key to route it by: there, the request's
     * clock decides, and the hash script (scripts on) checks again with
     * the clock of the hash's node before it writes.
     */

    if (st->cluster) {
        return NGX_OK;
    }

    argv[0] = "TIME";
    len[0] = sizeof("TIME") - 1;

    if (ngx_http_shared_session_plain_send(plain,
                                      ngx_http_shared_session_plain_time,
                                      1, argv, len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_plain_send(ngx_http_shared_session_plain_t *plain,
    ngx_http_shared_session_redis_handler_pt handler, int argc,
    const char **argv, size_t *argvlen)
{
    size_t                                *vlen;
    const char                           **v;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_plain_slot_t  *slot;

    st = plain->st;

    if (plain->nslots == NGX_HTTP_SHARED_SESSION_PLAIN_SLOTS) {
        ngx_str_set(&st->error, "too many commands");
        return NGX_DECLINED;
    }

    slot = &plain->slots[plain->nslots++];
    slot->plain = plain;
    slot->handler = handler;
    slot->argv = NULL;

    if (st->cluster) {
        /* a cluster may send it again (MOVED, ASK): argv must outlive us */

        v = ngx_palloc(st->request->pool, argc * sizeof(char *));
        vlen = ngx_palloc(st->request->pool, argc * sizeof(size_t));
        if (v == NULL || vlen == NULL) {
            ngx_str_set(&st->error, "out of memory");
            return NGX_DECLINED;
        }

        ngx_memcpy(v, argv, argc * sizeof(char *));
        ngx_memcpy(vlen, argvlen, argc * sizeof(size_t));
        argv = v;
        argvlen = vlen;

        if (argvlen[0] == 7 && ngx_strncmp(argv[0], "EVALSHA", 7) == 0) {
            slot->argc = argc;
            slot->argv = v;
            slot->argvlen = vlen;
        }

        slot->cmd = ngx_http_shared_session_cluster_send(st->cluster,
                                            st->request->connection->log,
                                            st->timeout, argc, argv, argvlen,
                                            handler, slot, &st->error);
    } else {
        slot->cmd = ngx_http_shared_session_redis_send(st->redis,
                                            st->request->connection->log,
                                            st->timeout, st->timeout,
                                            argc, argv, argvlen,
                                            handler, slot, &st->error);
    }
    if (slot->cmd == NULL) {
        return NGX_DECLINED;
    }

    plain->pending++;

    return NGX_OK;
}


static void
ngx_http_shared_session_plain_read(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_plain_slot_t  *slot = data;

    ngx_str_t                         e;
    ngx_uint_t                        i;
    ngx_http_shared_session_plain_t  *plain;

    plain = slot->plain;
    slot->cmd = NULL;
    plain->pending--;

    if (plain->failed) {
        /* the request was answered: nothing more is read or written */
        return;
    }

    if (reply == NULL) {
        ngx_http_shared_session_plain_fail(plain, error);
        return;
    }

    i = slot - plain->slots;

    if (reply->type == REDIS_REPLY_ERROR) {

        if (ngx_strncmp(reply->str, "WRONGTYPE", 9) != 0) {
            e.data = (u_char *) reply->str;
            e.len = reply->len;
            ngx_http_shared_session_plain_fail(plain, &e);
            return;
        }

        plain->state[i] = NGX_HTTP_SHARED_SESSION_PLAIN_BAD;

    } else {
        plain->state[i] = ngx_http_shared_session_plain_parse(plain, i, reply);
    }

    ngx_http_shared_session_plain_read_done(plain);
}


/*
 * TIME's reply: seconds and microseconds.  A server that refuses it (a
 * proxy that forwards keyed commands only) leaves the request's clock to
 * judge, as in a cluster.
 */

static void
ngx_http_shared_session_plain_time(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_plain_slot_t  *slot = data;

    ngx_int_t                         sec, usec;
    ngx_http_shared_session_plain_t  *plain;

    plain = slot->plain;
    slot->cmd = NULL;
    plain->pending--;

    if (plain->failed) {
        return;
    }

    if (reply == NULL) {
        ngx_http_shared_session_plain_fail(plain, error);
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY
        && reply->elements == 2
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[1]->type == REDIS_REPLY_STRING)
    {
        sec = ngx_atoi((u_char *) reply->element[0]->str,
                       reply->element[0]->len);
        usec = ngx_atoi((u_char *) reply->element[1]->str,
                        reply->element[1]->len);

        if (sec != NGX_ERROR && usec != NGX_ERROR && usec < 1000000) {
            plain->redis_now = (int64_t) sec * 1000 + usec / 1000;
            plain->redis_now_set = 1;
        }
    }

    if (!plain->redis_now_set) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP,
                       plain->st->request->connection->log, 0,
                       "shared session: no TIME from redis, "
                       "expiry judged by this host's clock");
    }

    ngx_http_shared_session_plain_read_done(plain);
}


static void
ngx_http_shared_session_plain_read_done(ngx_http_shared_session_plain_t *plain)
{
    if (plain->pending == 0
        && ngx_http_shared_session_plain_decide(plain) != NGX_OK)
    {
        ngx_http_shared_session_plain_fail(plain, &plain->st->error);
    }
}


/* the script's fields(): the same rules, in C */

static ngx_uint_t
ngx_http_shared_session_plain_parse(ngx_http_shared_session_plain_t *plain,
    ngx_uint_t i, redisReply *reply)
{
    size_t       k;
    redisReply  *e[4];

    if (reply->type != REDIS_REPLY_ARRAY) {
        return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
    }

    if (plain->op == NGX_HTTP_SHARED_SESSION_OP_LOAD && plain->st->nnames) {
        return ngx_http_shared_session_plain_parse_all(plain, i, reply);
    }

    if (reply->elements < 3) {
        return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
    }

    for (k = 0; k < 4; k++) {
        e[k] = (k < reply->elements) ? reply->element[k] : NULL;
    }

    return ngx_http_shared_session_plain_fields(plain, i, e);
}


/* HGETALL's field and value pairs: the numbers, and the names asked for */

static ngx_uint_t
ngx_http_shared_session_plain_parse_all(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t i, redisReply *reply)
{
    size_t                            k;
    ngx_str_t                        *names, *values;
    ngx_uint_t                        j;
    redisReply                       *e[4], *f, *v;
    ngx_http_shared_session_store_t  *st;

    static ngx_str_t  numbers[] = {
        ngx_string("creationTime"),
        ngx_string("lastAccessedTime"),
        ngx_string("maxInactiveInterval")
    };

    st = plain->st;
    names = st->names;

    values = ngx_pcalloc(st->request->pool, st->nnames * sizeof(ngx_str_t));
    if (values == NULL) {
        return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
    }

    plain->values[i] = values;
    e[0] = e[1] = e[2] = e[3] = NULL;

    for (k = 0; k + 1 < reply->elements; k += 2) {
        f = reply->element[k];
        v = reply->element[k + 1];

        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
        }

        for (j = 0; j < 3; j++) {
            if (f->len == numbers[j].len
                && ngx_strncmp(f->str, numbers[j].data, f->len) == 0)
            {
                e[j] = v;
                break;
            }
        }

        if (j < 3) {
            continue;
        }

        for (j = 0; j < st->nnames; j++) {
            if (values[j].data == NULL
                && f->len == names[j].len
                && ngx_strncasecmp((u_char *) f->str, names[j].data, f->len)
                   == 0)
            {
                if (ngx_http_shared_session_plain_copy(st->request->pool,
                                                       &values[j], v)
                    != NGX_OK)
                {
                    return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
                }

                break;
            }
        }
    }

    return ngx_http_shared_session_plain_fields(plain, i, e);
}


/* e: creationTime, lastAccessedTime, maxInactiveInterval, the attribute */

static ngx_uint_t
ngx_http_shared_session_plain_fields(ngx_http_shared_session_plain_t *plain,
    ngx_uint_t i, redisReply **e)
{
    int64_t                           v[3];
    ngx_uint_t                        k;
    ngx_pool_t                       *pool;
    ngx_http_shared_session_store_t  *st;

    st = plain->st;

    for (k = 0; k < 3; k++) {
        if (e[k] && e[k]->type != REDIS_REPLY_NIL) {
            break;
        }
    }

    if (k == 3) {
        return NGX_HTTP_SHARED_SESSION_PLAIN_NONE;
    }

    for (k = 0; k < 3; k++) {
        if (e[k] == NULL
            || e[k]->type != REDIS_REPLY_STRING
            || ngx_http_shared_session_store_number((u_char *) e[k]->str,
                                                    e[k]->len, &v[k])
               != NGX_OK)
        {
            return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
        }
    }

    if (v[2] < -2147483648LL || v[2] > 2147483647LL) {
        return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
    }

    /* 0: ended, whatever the clocks say (as the scripts); else: decide() */

    if (v[2] == 0) {
        return NGX_HTTP_SHARED_SESSION_PLAIN_EXPIRED;
    }

    plain->created[i] = v[0];
    plain->accessed[i] = v[1];
    plain->interval[i] = v[2];

    pool = st->request->pool;

    if (ngx_http_shared_session_plain_copy(pool, &plain->raw_created[i], e[0])
        != NGX_OK
        || ngx_http_shared_session_plain_copy(pool, &plain->raw_interval[i],
                                              e[2])
           != NGX_OK)
    {
        return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
    }

    if (e[3] && e[3]->type == REDIS_REPLY_STRING
        && ngx_http_shared_session_plain_copy(pool, &plain->attribute[i],
                                              e[3])
           != NGX_OK)
    {
        return NGX_HTTP_SHARED_SESSION_PLAIN_BAD;
    }

    return NGX_HTTP_SHARED_SESSION_PLAIN_OK;
}


/* a bulk string of a reply, which is freed after its handler returns */

static ngx_int_t
ngx_http_shared_session_plain_copy(ngx_pool_t *pool, ngx_str_t *to,
    redisReply *e)
{
    to->len = e->len;
    to->data = ngx_pnalloc(pool, e->len + 1);
    if (to->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(to->data, e->str, e->len);

    return NGX_OK;
}


/* all reads are in: pick the session, send the writes */

static ngx_int_t
ngx_http_shared_session_plain_decide(ngx_http_shared_session_plain_t *plain)
{
    int64_t                           now;
    ngx_int_t                         rc;
    ngx_uint_t                        i;
    ngx_http_shared_session_store_t  *st;

    st = plain->st;
    plain->nslots = 0;
    st->bad = 0;

    now = plain->redis_now_set ? plain->redis_now : st->now;

    for (i = 0; i < st->nids; i++) {
        if (plain->state[i] == NGX_HTTP_SHARED_SESSION_PLAIN_OK
            && plain->interval[i] > 0
            && now >= plain->accessed[i] + plain->interval[i] * 1000)
        {
            plain->state[i] = NGX_HTTP_SHARED_SESSION_PLAIN_EXPIRED;
        }

        if (plain->state[i] == NGX_HTTP_SHARED_SESSION_PLAIN_BAD
            && !(plain->warned & ((ngx_uint_t) 1 << i)))
        {
            plain->warned |= (ngx_uint_t) 1 << i;
            ngx_http_shared_session_store_invalid(st, st->ids[i].data,
                                                  st->ids[i].len);
        }

        if (plain->state[i] == NGX_HTTP_SHARED_SESSION_PLAIN_BAD) {
            st->bad++;
        }

        if (plain->state[i] == NGX_HTTP_SHARED_SESSION_PLAIN_OK) {
            break;
        }
    }

    if (i < st->nids) {
        st->found = i + 1;
        st->creation_time = plain->created[i];
        st->previous = plain->attribute[i];
        st->last_accessed_time = plain->accessed[i];
        st->interval = plain->interval[i];
        st->values = plain->values[i];

        if (plain->op == NGX_HTTP_SHARED_SESSION_OP_INVALIDATE) {
            rc = ngx_http_shared_session_plain_end(plain, &st->ids[i],
                                                   plain->interval[i],
                                                   plain->accessed[i]);

        } else if (plain->op == NGX_HTTP_SHARED_SESSION_OP_LOAD
                   && !st->touch)
        {
            rc = NGX_OK;

        } else if (st->hash_script) {
            /*
             * The hash first, alone: its shard says whether the session is
             * still live; the shadow key and the bucket follow (hashed()).
             */

            rc = ngx_http_shared_session_plain_write_hash(plain, &st->ids[i],
                                                  plain->interval[i],
                                                  (ngx_int_t) i);

        } else {
            rc = ngx_http_shared_session_plain_expire(plain, &st->ids[i],
                                                      plain->interval[i],
                                                      plain->accessed[i]);
            if (rc == NGX_OK) {
                rc = ngx_http_shared_session_plain_write_hash(plain,
                                                 &st->ids[i],
                                                 plain->interval[i],
                                                 (ngx_int_t) i);
            }
        }

    } else if (plain->op != NGX_HTTP_SHARED_SESSION_OP_TOUCH) {
        /* nothing to end; a load never creates a session */
        st->found = 0;
        st->values = NULL;
        rc = NGX_OK;

    } else {
        st->found = 0;
        st->creation_time = st->now;
        ngx_str_null(&st->previous);

        rc = ngx_http_shared_session_plain_expire(plain, &st->new_id,
                                                  st->max_inactive_interval,
                                                  -1);
        if (rc == NGX_OK) {
            rc = ngx_http_shared_session_plain_write_hash(plain, &st->new_id,
                                                  st->max_inactive_interval,
                                                  -1);
        }
    }

    if (rc != NGX_OK) {
        if (st->error.len == 0) {
            ngx_str_set(&st->error, "out of memory");
        }

        return rc;
    }

    if (plain->pending == 0) {
        /* nothing to write (no live session to end or load, touch off) */
        st->handler(st->request, st, NGX_OK);
    }

    return NGX_OK;
}


/*
 * The bucket first: SADD is the write that can meet a key of another type
 * or Redis out of memory; when it fails, nothing else is written (the
 * commands after it fail the same way or are cancelled with the request).
 * In a cluster, each goes to its own shard, and an existing session's hash
 * script has gone first (decide()).
 */

static ngx_int_t
ngx_http_shared_session_plain_expire(ngx_http_shared_session_plain_t *plain,
    ngx_str_t *id, int64_t n, int64_t old)
{
    size_t                            len[5];
    ngx_int_t                         rc;
    ngx_str_t                        *b, *ob, *ttl, *sttl, *member, shadow;
    const char                       *argv[5];
    ngx_pool_t                       *pool;
    ngx_http_shared_session_store_t  *st;

    st = plain->st;
    pool = st->request->pool;

    shadow.data = ngx_http_shared_session_store_key(pool, &st->prefix,
                                                    "sessions:expires:", id,
                                                    &shadow.len);
    if (shadow.data == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "SET";
    len[0] = 3;
    argv[1] = (const char *) shadow.data;
    len[1] = shadow.len;
    argv[2] = "";
    len[2] = 0;

    if (n < 0) {
        return ngx_http_shared_session_plain_send(plain,
                                      ngx_http_shared_session_plain_written,
                                      3, argv, len);
    }

    sttl = ngx_http_shared_session_plain_number(pool, n * 1000);
    ttl = ngx_http_shared_session_plain_number(pool, (n + 300) * 1000);
    b = ngx_http_shared_session_plain_bucket(plain, st->now + n * 1000);
    member = ngx_http_shared_session_plain_member(pool, id);

    if (sttl == NULL || ttl == NULL || b == NULL || member == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_shared_session_plain_write(plain, "SADD", b, member);

    if (rc == NGX_OK) {
        rc = ngx_http_shared_session_plain_write(plain, "PEXPIRE", b, ttl);
    }

    if (rc == NGX_OK
        && old >= 0
        && (old + n * 1000) / 60000 != (st->now + n * 1000) / 60000)
    {
        ob = ngx_http_shared_session_plain_bucket(plain, old + n * 1000);
        if (ob == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_shared_session_plain_write(plain, "SREM", ob, member);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    argv[3] = "PX";
    len[3] = 2;
    argv[4] = (const char *) sttl->data;
    len[4] = sttl->len;

    return ngx_http_shared_session_plain_send(plain,
                                      ngx_http_shared_session_plain_written,
                                      5, argv, len);
}


/*
 * The hash: a new session's every field, or an existing one's
 * lastAccessedTime and attribute ("read" is its index; -1: create).
 *
 * Without the hash script, a session deleted since it was read (DEL by a
 * Spring Boot 3 app's invalidation) would come back as a hash of
 * lastAccessedTime and the attribute alone, which Spring Session 3 cannot
 * read (IllegalStateException) and Spring Session 2 fills with defaults.
 * So the two other numbers go along as they were read: creationTime in the
 * HMSET (it never changes), maxInactiveInterval with HSETNX before it,
 * which writes it only into a hash that lacks it, so that an invalidation
 * that set it to 0 meanwhile stays in force.
 */

static ngx_int_t
ngx_http_shared_session_plain_write_hash(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *id, int64_t n,
    ngx_int_t read)
{
    int                               argc;
    size_t                            len[10];
    ngx_str_t                        *now, *mii, *ttl, key;
    const char                       *argv[10];
    ngx_pool_t                       *pool;
    ngx_http_shared_session_store_t  *st;

    st = plain->st;
    pool = st->request->pool;

    now = ngx_http_shared_session_plain_number(pool, st->now);
    mii = ngx_http_shared_session_plain_number(pool, n);
    ttl = ngx_http_shared_session_plain_number(pool, (n + 300) * 1000);

    key.data = ngx_http_shared_session_store_key(pool, &st->prefix,
                                                 "sessions:", id, &key.len);

    if (now == NULL || mii == NULL || ttl == NULL || key.data == NULL) {
        return NGX_ERROR;
    }

    if (read >= 0 && !st->hash_script) {
        argv[0] = "HSETNX";
        len[0] = sizeof("HSETNX") - 1;
        argv[1] = (const char *) key.data;
        len[1] = key.len;
        argv[2] = "maxInactiveInterval";
        len[2] = sizeof("maxInactiveInterval") - 1;
        argv[3] = (const char *) plain->raw_interval[read].data;
        len[3] = plain->raw_interval[read].len;

        if (ngx_http_shared_session_plain_send(plain,
                                      ngx_http_shared_session_plain_written,
                                      4, argv, len)
            != NGX_OK)
        {
            return NGX_DECLINED;
        }
    }

    argv[1] = (const char *) key.data;
    len[1] = key.len;

    argv[0] = "HMSET";
    len[0] = 5;
    argc = 2;

    if (read < 0) {
        argv[argc] = "creationTime";
        len[argc++] = sizeof("creationTime") - 1;
        argv[argc] = (const char *) now->data;
        len[argc++] = now->len;
        argv[argc] = "maxInactiveInterval";
        len[argc++] = sizeof("maxInactiveInterval") - 1;
        argv[argc] = (const char *) mii->data;
        len[argc++] = mii->len;

    } else if (!st->hash_script) {
        argv[argc] = "creationTime";
        len[argc++] = sizeof("creationTime") - 1;
        argv[argc] = (const char *) plain->raw_created[read].data;
        len[argc++] = plain->raw_created[read].len;
    }

    argv[argc] = "lastAccessedTime";
    len[argc++] = sizeof("lastAccessedTime") - 1;
    argv[argc] = (const char *) now->data;
    len[argc++] = now->len;

    /* a load leaves the module's attribute alone */

    if (plain->op == NGX_HTTP_SHARED_SESSION_OP_TOUCH) {
        argv[argc] = (const char *) st->field.data;
        len[argc++] = st->field.len;
        argv[argc] = (const char *) st->value.data;
        len[argc++] = st->value.len;
    }

    if (st->hash_script) {
        /* the script writes only a session still live: no field needed */

        return ngx_http_shared_session_plain_eval(plain, &key, now, read < 0,
                                      n < 0 ? NULL : ttl, argc - 2,
                                      &argv[2], &len[2],
                                      read < 0
                                      ? ngx_http_shared_session_plain_written
                                      : ngx_http_shared_session_plain_hashed);
    }

    if (ngx_http_shared_session_plain_send(plain,
                                      ngx_http_shared_session_plain_written,
                                      argc, argv, len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (n < 0) {
        return ngx_http_shared_session_plain_write(plain, "PERSIST", &key,
                                                   NULL);
    }

    return ngx_http_shared_session_plain_write(plain, "PEXPIRE", &key, ttl);
}


/* Spring 3.4's deleteById, as the invalidate script does it */

static ngx_int_t
ngx_http_shared_session_plain_end(ngx_http_shared_session_plain_t *plain,
    ngx_str_t *id, int64_t n, int64_t accessed)
{
    size_t                            len[4];
    ngx_int_t                         rc;
    ngx_str_t                        *b, *member, *now, key, ttl;
    const char                       *argv[4];
    ngx_pool_t                       *pool;
    ngx_http_shared_session_store_t  *st;

    st = plain->st;
    pool = st->request->pool;

    if (n >= 0) {
        b = ngx_http_shared_session_plain_bucket(plain, accessed + n * 1000);
        member = ngx_http_shared_session_plain_member(pool, id);

        if (b == NULL || member == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_shared_session_plain_write(plain, "SREM", b, member);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    key.data = ngx_http_shared_session_store_key(pool, &st->prefix,
                                                 "sessions:expires:", id,
                                                 &key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_shared_session_plain_write(plain, "DEL", &key, NULL);
    if (rc != NGX_OK) {
        return rc;
    }

    key.data = ngx_http_shared_session_store_key(pool, &st->prefix,
                                                 "sessions:", id, &key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "HMSET";
    len[0] = 5;
    argv[1] = (const char *) key.data;
    len[1] = key.len;
    argv[2] = "maxInactiveInterval";
    len[2] = sizeof("maxInactiveInterval") - 1;
    argv[3] = "0";
    len[3] = 1;

    ngx_str_set(&ttl, "300000");

    if (st->hash_script) {
        now = ngx_http_shared_session_plain_number(pool, st->now);
        if (now == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_shared_session_plain_eval(plain, &key, now, 0, &ttl,
                                      2, &argv[2], &len[2],
                                      ngx_http_shared_session_plain_written);
    }

    if (ngx_http_shared_session_plain_send(plain,
                                      ngx_http_shared_session_plain_written,
                                      4, argv, len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return ngx_http_shared_session_plain_write(plain, "PEXPIRE", &key, &ttl);
}


/*
 * The hash's writes as one script on the hash's shard (Redis Cluster):
 * a session that ended since it was read is not written again.
 */

static ngx_int_t
ngx_http_shared_session_plain_eval(ngx_http_shared_session_plain_t *plain,
    ngx_str_t *key, ngx_str_t *now, ngx_uint_t create, ngx_str_t *ttl,
    int nfields, const char **fields, size_t *flen,
    ngx_http_shared_session_redis_handler_pt handler)
{
    int                               i, argc;
    size_t                            len[8 + NGX_HTTP_SHARED_SESSION_FIELDS];
    ngx_str_t                         sha;
    const char                       *argv[8 + NGX_HTTP_SHARED_SESSION_FIELDS];
    ngx_http_shared_session_store_t  *st;

    st = plain->st;

    (void) ngx_http_shared_session_store_hash_script(&sha);

    /* the script is loaded on every connection (NOSCRIPT: sent as EVAL) */

    argv[0] = "EVALSHA";
    len[0] = 7;
    argv[1] = (const char *) sha.data;
    len[1] = sha.len;
    argv[2] = "1";
    len[2] = 1;
    argv[3] = (const char *) key->data;
    len[3] = key->len;
    argv[4] = (const char *) st->prefix.data;
    len[4] = st->prefix.len;
    argv[5] = (const char *) now->data;
    len[5] = now->len;
    argv[6] = create ? "1" : "0";
    len[6] = 1;
    argv[7] = ttl ? (const char *) ttl->data : "";
    len[7] = ttl ? ttl->len : 0;

    argc = 8;

    for (i = 0; i < nfields && i < NGX_HTTP_SHARED_SESSION_FIELDS; i++) {
        argv[argc] = fields[i];
        len[argc++] = flen[i];
    }

    return ngx_http_shared_session_plain_send(plain, handler, argc, argv,
                                              len);
}


/* "name key [arg]", one of the writes */

static ngx_int_t
ngx_http_shared_session_plain_write(ngx_http_shared_session_plain_t *plain,
    const char *name, ngx_str_t *key, ngx_str_t *arg)
{
    size_t       len[3];
    const char  *argv[3];

    argv[0] = name;
    len[0] = ngx_strlen(name);
    argv[1] = (const char *) key->data;
    len[1] = key->len;

    if (arg) {
        argv[2] = (const char *) arg->data;
        len[2] = arg->len;
    }

    return ngx_http_shared_session_plain_send(plain,
                                      ngx_http_shared_session_plain_written,
                                      arg ? 3 : 2, argv, len);
}


/* the bucket member: "expires:<id>" serialized as JSON, with the quotes */

static ngx_str_t *
ngx_http_shared_session_plain_member(ngx_pool_t *pool, ngx_str_t *id)
{
    ngx_str_t  *m;

    m = ngx_palloc(pool, sizeof(ngx_str_t));
    if (m == NULL) {
        return NULL;
    }

    m->len = sizeof("\"expires:\"") - 1 + id->len;
    m->data = ngx_pnalloc(pool, m->len);
    if (m->data == NULL) {
        return NULL;
    }

    ngx_sprintf(m->data, "\"expires:%V\"", id);

    return m;
}


static void
ngx_http_shared_session_plain_written(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_plain_slot_t  *slot = data;

    ngx_str_t                         e;
    ngx_http_shared_session_plain_t  *plain;

    plain = slot->plain;
    slot->cmd = NULL;
    plain->pending--;

    if (plain->failed) {
        return;
    }

    if (reply == NULL) {
        ngx_http_shared_session_plain_fail(plain, error);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {

        if (ngx_http_shared_session_plain_noscript(slot, reply) == NGX_OK) {
            return;
        }

        e.data = (u_char *) reply->str;
        e.len = reply->len;
        ngx_http_shared_session_plain_fail(plain, &e);
        return;
    }

    if (plain->pending == 0) {
        plain->st->handler(plain->st->request, plain->st, NGX_OK);
    }
}


/*
 * The hash script's answer for a session read as live (Redis Cluster):
 * 1, written: now its shadow key and expiry bucket; 0, the session ended
 * meanwhile (expired by its shard's clock, invalidated, deleted): it is an
 * ended session, and the next live candidate, or a new session, is chosen
 * as if the read had found it ended.  Nothing else is in flight here.
 */

static void
ngx_http_shared_session_plain_hashed(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_plain_slot_t  *slot = data;

    ngx_int_t                         rc;
    ngx_str_t                         e;
    ngx_uint_t                        i;
    ngx_http_shared_session_store_t  *st;
    ngx_http_shared_session_plain_t  *plain;

    plain = slot->plain;
    slot->cmd = NULL;
    plain->pending--;

    if (plain->failed) {
        return;
    }

    if (reply == NULL) {
        ngx_http_shared_session_plain_fail(plain, error);
        return;
    }

    st = plain->st;

    if (reply->type == REDIS_REPLY_ERROR) {

        if (ngx_http_shared_session_plain_noscript(slot, reply) == NGX_OK) {
            return;
        }

        e.data = (u_char *) reply->str;
        e.len = reply->len;
        ngx_http_shared_session_plain_fail(plain, &e);
        return;
    }

    if (reply->type != REDIS_REPLY_INTEGER
        || (reply->integer != 0 && reply->integer != 1)
        || st->found == 0)
    {
        ngx_str_set(&e, "unexpected reply to the hash script");
        ngx_http_shared_session_plain_fail(plain, &e);
        return;
    }

    i = st->found - 1;

    if (reply->integer == 1) {
        rc = ngx_http_shared_session_plain_expire(plain, &st->ids[i],
                                                  plain->interval[i],
                                                  plain->accessed[i]);

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, st->request->connection->log, 0,
                       "shared session: session \"%V\" ended meanwhile",
                       &st->ids[i]);

        plain->state[i] = NGX_HTTP_SHARED_SESSION_PLAIN_EXPIRED;

        rc = ngx_http_shared_session_plain_decide(plain);
    }

    if (rc != NGX_OK) {
        if (st->error.len == 0) {
            ngx_str_set(&st->error, "out of memory");
        }

        ngx_http_shared_session_plain_fail(plain, &st->error);
    }
}


/*
 * NOSCRIPT from a node whose scripts were flushed: the hash script once
 * more, as EVAL, to the same handler.  NGX_DECLINED: not that case.
 */

static ngx_int_t
ngx_http_shared_session_plain_noscript(
    ngx_http_shared_session_plain_slot_t *slot, redisReply *reply)
{
    ngx_str_t                         *script;
    const char                       **argv;
    ngx_http_shared_session_plain_t   *plain;

    if (slot->argv == NULL
        || reply->len < 8 || ngx_strncmp(reply->str, "NOSCRIPT", 8) != 0)
    {
        return NGX_DECLINED;
    }

    plain = slot->plain;
    script = ngx_http_shared_session_store_hash_script(NULL);

    argv = slot->argv;
    slot->argv = NULL;

    argv[0] = "EVAL";
    slot->argvlen[0] = 4;
    argv[1] = (const char *) script->data;
    slot->argvlen[1] = script->len;

    if (ngx_http_shared_session_plain_send(plain, slot->handler, slot->argc,
                                           argv, slot->argvlen)
        != NGX_OK)
    {
        ngx_http_shared_session_plain_fail(plain, &plain->st->error);
    }

    return NGX_OK;
}


/* the first failure answers the request; later replies are dropped */

static void
ngx_http_shared_session_plain_fail(ngx_http_shared_session_plain_t *plain,
    ngx_str_t *error)
{
    ngx_http_shared_session_store_t  *st;

    if (plain->failed) {
        return;
    }

    st = plain->st;

    if (error != &st->error) {
        st->error.len = error->len;
        st->error.data = ngx_pnalloc(st->request->pool, error->len);

        if (st->error.data == NULL) {
            ngx_str_set(&st->error, "out of memory");

        } else {
            ngx_memcpy(st->error.data, error->data, error->len);
        }
    }

    ngx_http_shared_session_plain_abort(plain);

    st->handler(st->request, st, NGX_ERROR);
}


/*
 * The request is answered (or about to be) with an error: the commands in
 * flight are cancelled, and a reply already on its way is dropped.  Those
 * sent still run in Redis, but no write is sent after their replies.
 */

static void
ngx_http_shared_session_plain_abort(ngx_http_shared_session_plain_t *plain)
{
    plain->failed = 1;

    ngx_http_shared_session_plain_cleanup(plain);
}


static void
ngx_http_shared_session_plain_cleanup(void *data)
{
    ngx_http_shared_session_plain_t  *plain = data;

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_SHARED_SESSION_PLAIN_SLOTS; i++) {
        if (plain->slots[i].cmd == NULL) {
            continue;
        }

        if (plain->st->cluster) {
            ngx_http_shared_session_cluster_cancel(plain->slots[i].cmd);

        } else {
            ngx_http_shared_session_redis_cancel(plain->slots[i].cmd);
        }

        plain->slots[i].cmd = NULL;
    }
}


static ngx_str_t *
ngx_http_shared_session_plain_bucket(ngx_http_shared_session_plain_t *plain,
    int64_t expiry)
{
    ngx_str_t                        *b;
    ngx_http_shared_session_store_t  *st;

    st = plain->st;

    b = ngx_palloc(st->request->pool, sizeof(ngx_str_t));
    if (b == NULL) {
        return NULL;
    }

    b->data = ngx_pnalloc(st->request->pool, st->prefix.len
                          + sizeof("expirations:") - 1 + NGX_INT64_LEN + 1);
    if (b->data == NULL) {
        return NULL;
    }

    b->len = ngx_sprintf(b->data, "%Vexpirations:%L", &st->prefix,
                         (expiry / 60000 + 1) * 60000)
             - b->data;

    return b;
}


static ngx_str_t *
ngx_http_shared_session_plain_number(ngx_pool_t *pool, int64_t n)
{
    ngx_str_t  *s;

    s = ngx_palloc(pool, sizeof(ngx_str_t));
    if (s == NULL) {
        return NULL;
    }

    s->data = ngx_pnalloc(pool, NGX_INT64_LEN + 1);
    if (s->data == NULL) {
        return NULL;
    }

    s->len = ngx_sprintf(s->data, "%L", n) - s->data;

    return s;
}
