
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_cookie.h"
#include "ngx_http_shared_session_store.h"


/*
 * The plain back end: the store's operations as single-key commands, for
 * Redis-compatible servers that forbid scripting (shared_session_redis_
 * scripts off), and for Redis Cluster, where a session's keys live on
 * different shards and each command goes to its key's (there, unless
 * scripts are off, the hash is written by a one-key script that writes
 * only a session still live: the "hash" variant).  One pipelined HMGET per
 * candidate id (and TIME, for Redis's clock, where there is one server),
 * then, decided here, the writes.  The writes keep Spring's layout and the
 * order that makes a failing write the first one.
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
 * With the hash script, the hash is written by it, beside the shadow key
 * and the expiry bucket: still two round trips.  The script checks the
 * session with its shard's clock and contents; one that ended meanwhile
 * is an ended session: the shadow key written beside it is deleted and
 * its id taken out of the bucket again, then the next live candidate, or
 * a new session, is written as if the read had found it ended.
 *
 * A load (shared_session_require, _load) is a touch without the module's
 * attribute that never creates a session: the reads are HGETALL when it
 * asks for attributes (their names are compared without case), and with
 * shared_session_touch off, or within shared_session_touch_interval of the
 * last touch (ngx_http_shared_session_store_fresh()), nothing is written.
 */

#define NGX_HTTP_SHARED_SESSION_PLAIN_TOUCH       0
#define NGX_HTTP_SHARED_SESSION_PLAIN_INVALIDATE  1
#define NGX_HTTP_SHARED_SESSION_PLAIN_LOAD        2


/*
 * at most SADD, PEXPIRE, SREM, SET, HSETNX, HMSET, PEXPIRE (a touch), or
 * SADD, PEXPIRE, SET, HMSET, PEXPIRE, PUBLISH (a creation), or DEL, SREM
 * (a session that ended meanwhile) and SADD, PEXPIRE, SREM, SET, EVALSHA
 * or SADD, PEXPIRE, SET, EVALSHA, PUBLISH; or SREM, SREM, DEL, HMSET,
 * PEXPIRE, SADD, PEXPIRE (an invalidation)
 */
#define NGX_HTTP_SHARED_SESSION_PLAIN_WRITES   8

/* the reads: one HMGET per candidate id, and TIME */
#define NGX_HTTP_SHARED_SESSION_PLAIN_READS                                    \
    (NGX_HTTP_SHARED_SESSION_MAX_IDS + 1)

#define NGX_HTTP_SHARED_SESSION_PLAIN_SLOTS                                    \
    ngx_max(NGX_HTTP_SHARED_SESSION_PLAIN_READS,                               \
            NGX_HTTP_SHARED_SESSION_PLAIN_WRITES)


typedef struct ngx_http_shared_session_plain_s  ngx_http_shared_session_plain_t;

typedef struct {
    ngx_http_shared_session_plain_t           *plain;
    ngx_http_shared_session_conn_cmd_t         cmd;
    ngx_http_shared_session_args_t             args;
} ngx_http_shared_session_plain_slot_t;


/* a candidate id as read */
typedef struct {
    /* creationTime, lastAccessedTime, maxInactiveInterval, the attribute */
    ngx_str_t                                  fields[4];
    ngx_uint_t                                 state;
    ngx_http_shared_session_times_t            times;
    ngx_str_t                                 *values;   /* a load's */
} ngx_http_shared_session_candidate_t;


struct ngx_http_shared_session_plain_s {
    ngx_http_shared_session_store_t           *st;
    ngx_uint_t                                 invalidate;
    ngx_uint_t                                 load;
    ngx_uint_t                                 hash;     /* the script */
    ngx_uint_t                                 ended;    /* its 0: i + 1 */
    ngx_uint_t                                 pending;
    ngx_uint_t                                 failed;
    ngx_uint_t                                 nslots;
    ngx_http_shared_session_plain_slot_t       slots[
                                           NGX_HTTP_SHARED_SESSION_PLAIN_SLOTS];

    /* Redis's clock when it read the hashes (ms), if it told it */
    int64_t                                    redis_now;
    ngx_uint_t                                 redis_now_set;

    ngx_http_shared_session_candidate_t        candidates[
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS];
};


static ngx_str_t *ngx_http_shared_session_plain_scripts(ngx_uint_t *n);
static ngx_str_t *ngx_http_shared_session_hash_scripts(ngx_uint_t *n);
static ngx_int_t ngx_http_shared_session_plain_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
static ngx_int_t ngx_http_shared_session_plain_invalidate(
    ngx_http_request_t *r, ngx_http_shared_session_store_t *st);
static ngx_int_t ngx_http_shared_session_hash_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
static ngx_int_t ngx_http_shared_session_hash_invalidate(
    ngx_http_request_t *r, ngx_http_shared_session_store_t *st);
static ngx_int_t ngx_http_shared_session_plain_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
static ngx_int_t ngx_http_shared_session_hash_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
static ngx_int_t ngx_http_shared_session_plain_start(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t op, ngx_uint_t hash);
static ngx_int_t ngx_http_shared_session_plain_reads(
    ngx_http_shared_session_plain_t *plain);
static ngx_http_shared_session_plain_slot_t *ngx_http_shared_session_plain_slot(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t n);
static ngx_int_t ngx_http_shared_session_plain_send(
    ngx_http_shared_session_plain_slot_t *slot,
    ngx_http_shared_session_redis_handler_pt handler, ngx_uint_t key);
static void ngx_http_shared_session_plain_read(void *data, redisReply *reply,
    ngx_str_t *error);
static ngx_int_t ngx_http_shared_session_plain_copy(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *to, redisReply *e);
static ngx_uint_t ngx_http_shared_session_plain_read_all(
    ngx_http_shared_session_plain_t *plain,
    ngx_http_shared_session_candidate_t *cand, redisReply *reply);
static void ngx_http_shared_session_plain_time(void *data, redisReply *reply,
    ngx_str_t *error);
static void ngx_http_shared_session_plain_read_done(
    ngx_http_shared_session_plain_t *plain);
static ngx_int_t ngx_http_shared_session_plain_decide(
    ngx_http_shared_session_plain_t *plain);
static ngx_int_t ngx_http_shared_session_plain_expire(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t k, int64_t n,
    int64_t old);
static ngx_int_t ngx_http_shared_session_plain_write_hash(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t k, int64_t n,
    ngx_http_shared_session_candidate_t *cand);
static ngx_int_t ngx_http_shared_session_plain_publish(
    ngx_http_shared_session_plain_t *plain);
static ngx_int_t ngx_http_shared_session_plain_end(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t k,
    ngx_http_shared_session_candidate_t *cand);
static ngx_int_t ngx_http_shared_session_plain_principal(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t k,
    ngx_http_shared_session_candidate_t *cand);
static ngx_http_shared_session_plain_slot_t *ngx_http_shared_session_plain_eval(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *key, ngx_uint_t create,
    int64_t n, ngx_uint_t nfields);
static ngx_str_t *ngx_http_shared_session_plain_id(
    ngx_http_shared_session_plain_t *plain, ngx_uint_t k);
static ngx_int_t ngx_http_shared_session_plain_write(
    ngx_http_shared_session_plain_t *plain, const char *name, ngx_str_t *key,
    ngx_str_t *arg);
static void ngx_http_shared_session_plain_written(void *data,
    redisReply *reply, ngx_str_t *error);
static void ngx_http_shared_session_plain_hashed(void *data,
    redisReply *reply, ngx_str_t *error);
static void ngx_http_shared_session_plain_published(void *data,
    redisReply *reply, ngx_str_t *error);
static void ngx_http_shared_session_plain_done(
    ngx_http_shared_session_plain_t *plain);
static ngx_int_t ngx_http_shared_session_plain_undo(
    ngx_http_shared_session_plain_t *plain);
static void ngx_http_shared_session_plain_fail(
    ngx_http_shared_session_plain_t *plain, ngx_str_t *error);
static void ngx_http_shared_session_plain_abort(
    ngx_http_shared_session_plain_t *plain);
static void ngx_http_shared_session_plain_cleanup(void *data);


ngx_http_shared_session_store_ops_t
    ngx_http_shared_session_store_plain_ops =
{
    ngx_http_shared_session_plain_scripts,
    ngx_http_shared_session_plain_touch,
    ngx_http_shared_session_plain_invalidate,
    ngx_http_shared_session_plain_load
};


ngx_http_shared_session_store_ops_t
    ngx_http_shared_session_store_hash_ops =
{
    ngx_http_shared_session_hash_scripts,
    ngx_http_shared_session_hash_touch,
    ngx_http_shared_session_hash_invalidate,
    ngx_http_shared_session_hash_load
};


/*
 * The session's hash alone, where the shadow key and the expirations live
 * on other shards and are written with plain commands: KEYS: the hash;
 * ARGV: prefix, now, serializer, "1" to create (else: only if the session
 * is still live), how it expires ("PEXPIRE" ms, "PEXPIREAT" ms, or
 * "PERSIST" ""), then the fields and values to set.  Returns 1, or 0 when
 * the session ended meanwhile.
 */

static ngx_http_shared_session_script_t  ngx_http_shared_session_hash_script
    = { ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    "local key = KEYS[1]\n"
    "if ARGV[4] == '1' then\n"
    "  if redis.call('EXISTS', key) == 1 then\n"
    "    return redis.error_reply('ERR session id collision')\n"
    "  end\n"
    "elseif fields(key) ~= 'ok' then\n"
    "  return 0\n"
    "end\n"
    "redis.call('HMSET', key, unpack(ARGV, 7))\n"
    "if ARGV[5] == 'PERSIST' then\n"
    "  redis.call('PERSIST', key)\n"
    "else\n"
    "  redis.call(ARGV[5], key, ARGV[6])\n"
    "end\n"
    "return 1\n"), { 0 } };


static ngx_str_t *
ngx_http_shared_session_plain_scripts(ngx_uint_t *n)
{
    *n = 0;

    return NULL;
}


static ngx_str_t *
ngx_http_shared_session_hash_scripts(ngx_uint_t *n)
{
    ngx_http_shared_session_script_init(&ngx_http_shared_session_hash_script);

    *n = 1;

    return &ngx_http_shared_session_hash_script.text;
}


static ngx_int_t
ngx_http_shared_session_plain_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    return ngx_http_shared_session_plain_start(r, st,
                                       NGX_HTTP_SHARED_SESSION_PLAIN_TOUCH, 0);
}


static ngx_int_t
ngx_http_shared_session_plain_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    return ngx_http_shared_session_plain_start(r, st,
                                  NGX_HTTP_SHARED_SESSION_PLAIN_INVALIDATE, 0);
}


static ngx_int_t
ngx_http_shared_session_plain_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    return ngx_http_shared_session_plain_start(r, st,
                                        NGX_HTTP_SHARED_SESSION_PLAIN_LOAD, 0);
}


static ngx_int_t
ngx_http_shared_session_hash_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    return ngx_http_shared_session_plain_start(r, st,
                                       NGX_HTTP_SHARED_SESSION_PLAIN_TOUCH, 1);
}


static ngx_int_t
ngx_http_shared_session_hash_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    return ngx_http_shared_session_plain_start(r, st,
                                  NGX_HTTP_SHARED_SESSION_PLAIN_INVALIDATE, 1);
}


static ngx_int_t
ngx_http_shared_session_hash_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    return ngx_http_shared_session_plain_start(r, st,
                                        NGX_HTTP_SHARED_SESSION_PLAIN_LOAD, 1);
}


static ngx_int_t
ngx_http_shared_session_plain_start(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t op, ngx_uint_t hash)
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
    plain->invalidate = (op == NGX_HTTP_SHARED_SESSION_PLAIN_INVALIDATE);
    plain->load = (op == NGX_HTTP_SHARED_SESSION_PLAIN_LOAD);
    plain->hash = hash;

    st->data = plain;

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
    ngx_int_t                              rc;
    ngx_str_t                              key;
    ngx_uint_t                             i;
    ngx_http_shared_session_args_t        *a;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_plain_slot_t  *slot;

    st = plain->st;

    for (i = 0; i < st->nids; i++) {
        slot = ngx_http_shared_session_plain_slot(plain, 6);

        if (slot == NULL
            || ngx_http_shared_session_store_key(st,
                                                 NGX_HTTP_SHARED_SESSION_HASH,
                                                 &st->ids[i], &key)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        a = &slot->args;

        if (plain->load && st->nnames) {
            ngx_http_shared_session_args_push(a, "HGETALL");
            ngx_http_shared_session_args_push_str(a, &key);

        } else {
            ngx_http_shared_session_args_push(a, "HMGET");
            ngx_http_shared_session_args_push_str(a, &key);
            ngx_http_shared_session_args_push(a, "creationTime");
            ngx_http_shared_session_args_push(a, "lastAccessedTime");
            ngx_http_shared_session_args_push(a, "maxInactiveInterval");
        }

        /*
         * A touch also reads the attribute, for the previous host; an
         * invalidation the principal's name, for its index (Spring's own
         * attribute: a principal in a Spring Security context is not read).
         */

        if (plain->invalidate) {
            ngx_http_shared_session_args_push(a,
                             "sessionAttr:" NGX_HTTP_SHARED_SESSION_PRINCIPAL);

        } else if (!plain->load) {
            ngx_http_shared_session_args_push_str(a, &st->field);
        }

        rc = ngx_http_shared_session_plain_send(slot,
                                            ngx_http_shared_session_plain_read,
                                            1);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    /*
     * Expiry is judged by Redis's clock, as the scripts judge it: TIME,
     * right behind the reads on the same connection.  A cluster has no
     * one clock and TIME no key to route it by: there, the request's
     * clock decides, and the hash script (scripts on) checks again with
     * the clock of the hash's node before it writes.
     */

    if (!(st->conn->ops->flags & NGX_HTTP_SHARED_SESSION_CONN_ONE_SERVER)) {
        return NGX_OK;
    }

    slot = ngx_http_shared_session_plain_slot(plain, 1);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    ngx_http_shared_session_args_push(&slot->args, "TIME");

    return ngx_http_shared_session_plain_send(slot,
                                            ngx_http_shared_session_plain_time,
                                            0);
}


/* the next command's slot, with room for "n" arguments */

static ngx_http_shared_session_plain_slot_t *
ngx_http_shared_session_plain_slot(ngx_http_shared_session_plain_t *plain,
    ngx_uint_t n)
{
    ngx_http_shared_session_plain_slot_t  *slot;

    if (plain->nslots == NGX_HTTP_SHARED_SESSION_PLAIN_SLOTS) {
        return NULL;
    }

    slot = &plain->slots[plain->nslots];
    slot->plain = plain;

    if (ngx_http_shared_session_args_init(&slot->args,
                                          plain->st->request->pool, n)
        != NGX_OK)
    {
        return NULL;
    }

    return slot;
}


/* NGX_DECLINED: Redis cannot be asked now, the cause in st->error */

static ngx_int_t
ngx_http_shared_session_plain_send(ngx_http_shared_session_plain_slot_t *slot,
    ngx_http_shared_session_redis_handler_pt handler, ngx_uint_t key)
{
    ngx_int_t                         rc;
    ngx_http_shared_session_store_t  *st;
    ngx_http_shared_session_plain_t  *plain;

    plain = slot->plain;
    st = plain->st;

    slot->cmd.conn = st->conn;
    slot->cmd.log = st->request->connection->log;
    slot->cmd.timeout = st->timeout;
    slot->cmd.handler = handler;
    slot->cmd.data = slot;

    rc = ngx_http_shared_session_conn_send(&slot->cmd, &slot->args, key,
                                           &st->error);
    if (rc != NGX_OK) {
        return rc;
    }

    plain->nslots++;
    plain->pending++;

    return NGX_OK;
}


static void
ngx_http_shared_session_plain_read(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_plain_slot_t  *slot = data;

    ngx_str_t                              e;
    ngx_uint_t                             k;
    ngx_http_shared_session_plain_t       *plain;
    ngx_http_shared_session_candidate_t   *cand;

    plain = slot->plain;
    plain->pending--;

    if (plain->failed) {
        /* the request was answered: nothing more is read or written */
        return;
    }

    if (reply == NULL) {
        ngx_http_shared_session_plain_fail(plain, error);
        return;
    }

    cand = &plain->candidates[slot - plain->slots];

    if (reply->type == REDIS_REPLY_ERROR) {

        if (ngx_strncmp(reply->str, "WRONGTYPE", 9) != 0) {
            e.data = (u_char *) reply->str;
            e.len = reply->len;
            ngx_http_shared_session_plain_fail(plain, &e);
            return;
        }

        cand->state = NGX_HTTP_SHARED_SESSION_BAD;

    } else if (plain->load && plain->st->nnames) {
        cand->state = ngx_http_shared_session_plain_read_all(plain, cand,
                                                             reply);

    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
        cand->state = NGX_HTTP_SHARED_SESSION_BAD;

    } else {
        /* judged when all is read (read_done()) */

        for (k = 0; k < reply->elements && k < 4; k++) {
            if (ngx_http_shared_session_plain_copy(plain, &cand->fields[k],
                                                   reply->element[k])
                != NGX_OK)
            {
                cand->state = NGX_HTTP_SHARED_SESSION_BAD;
                break;
            }
        }
    }

    ngx_http_shared_session_plain_read_done(plain);
}


/*
 * HGETALL's field and value pairs: the numbers, and the names asked for;
 * the candidate is judged, as after HMGET, when all is read.  Its state
 * is BAD, or left as it is (0).
 */

static ngx_uint_t
ngx_http_shared_session_plain_read_all(ngx_http_shared_session_plain_t *plain,
    ngx_http_shared_session_candidate_t *cand, redisReply *reply)
{
    size_t                            k;
    ngx_uint_t                        j;
    redisReply                       *f, *v;
    ngx_http_shared_session_store_t  *st;

    static ngx_str_t  numbers[] = {
        ngx_string("creationTime"),
        ngx_string("lastAccessedTime"),
        ngx_string("maxInactiveInterval")
    };

    st = plain->st;

    if (reply->type != REDIS_REPLY_ARRAY) {
        return NGX_HTTP_SHARED_SESSION_BAD;
    }

    cand->values = ngx_pcalloc(st->request->pool,
                               st->nnames * sizeof(ngx_str_t));
    if (cand->values == NULL) {
        return NGX_HTTP_SHARED_SESSION_BAD;
    }

    for (k = 0; k + 1 < reply->elements; k += 2) {
        f = reply->element[k];
        v = reply->element[k + 1];

        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            return NGX_HTTP_SHARED_SESSION_BAD;
        }

        for (j = 0; j < 3; j++) {
            if (f->len == numbers[j].len
                && ngx_strncmp(f->str, numbers[j].data, f->len) == 0)
            {
                break;
            }
        }

        if (j < 3) {
            if (ngx_http_shared_session_plain_copy(plain, &cand->fields[j], v)
                != NGX_OK)
            {
                return NGX_HTTP_SHARED_SESSION_BAD;
            }

            continue;
        }

        for (j = 0; j < st->nnames; j++) {
            if (cand->values[j].data == NULL
                && f->len == st->names[j].len
                && ngx_strncasecmp((u_char *) f->str, st->names[j].data,
                                   f->len)
                   == 0)
            {
                if (ngx_http_shared_session_plain_copy(plain,
                                                       &cand->values[j], v)
                    != NGX_OK)
                {
                    return NGX_HTTP_SHARED_SESSION_BAD;
                }

                break;
            }
        }
    }

    return cand->state;
}


/* a field of HMGET's reply, which is freed after its handler returns */

static ngx_int_t
ngx_http_shared_session_plain_copy(ngx_http_shared_session_plain_t *plain,
    ngx_str_t *to, redisReply *e)
{
    if (e->type == REDIS_REPLY_NIL) {
        ngx_str_null(to);
        return NGX_OK;
    }

    if (e->type != REDIS_REPLY_STRING) {
        return NGX_ERROR;
    }

    to->len = e->len;
    to->data = ngx_pnalloc(plain->st->request->pool, e->len + 1);
    if (to->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(to->data, e->str, e->len);

    return NGX_OK;
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


/* all reads are in: each candidate judged by Spring's rules, once */

static void
ngx_http_shared_session_plain_read_done(ngx_http_shared_session_plain_t *plain)
{
    int64_t                                now;
    ngx_uint_t                             i, format;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_candidate_t   *cand;

    if (plain->pending) {
        return;
    }

    st = plain->st;
    now = plain->redis_now_set ? plain->redis_now : st->now;

    for (i = 0; i < st->nids; i++) {
        cand = &plain->candidates[i];

        format = NGX_HTTP_SHARED_SESSION_FORMAT_NONE;

        if (cand->state != NGX_HTTP_SHARED_SESSION_BAD) {
            cand->state = ngx_http_shared_session_store_state(st,
                                                              cand->fields,
                                                              now,
                                                              &cand->times,
                                                              &format);
        }

        if (cand->state == NGX_HTTP_SHARED_SESSION_BAD) {
            ngx_http_shared_session_store_invalid(st, &st->ids[i], format);
            st->bad++;
        }
    }

    plain->nslots = 0;

    if (ngx_http_shared_session_plain_decide(plain) != NGX_OK) {
        ngx_http_shared_session_plain_fail(plain, &st->error);
    }
}


/* pick the session, send the writes */

static ngx_int_t
ngx_http_shared_session_plain_decide(ngx_http_shared_session_plain_t *plain)
{
    ngx_int_t                              rc;
    ngx_uint_t                             i;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_candidate_t   *cand;

    st = plain->st;

    for (i = 0; i < st->nids; i++) {
        if (plain->candidates[i].state == NGX_HTTP_SHARED_SESSION_LIVE) {
            break;
        }
    }

    if (i < st->nids) {
        cand = &plain->candidates[i];

        st->found = i + 1;
        st->creation_time = cand->times.created;
        st->previous = cand->fields[3];
        st->last_accessed_time = cand->times.accessed;
        st->interval = cand->times.interval;
        st->values = cand->values;

        if (plain->invalidate) {
            rc = ngx_http_shared_session_plain_end(plain, i, cand);

        } else if (plain->load
                   && (!st->touch
                       || ngx_http_shared_session_store_fresh(st,
                                                      cand->times.accessed,
                                                      cand->times.interval)))
        {
            /* touch off, or touched within shared_session_touch_interval */
            rc = NGX_OK;

        } else {
            rc = ngx_http_shared_session_plain_expire(plain, i,
                                                      cand->times.interval,
                                                      cand->times.accessed);
            if (rc == NGX_OK) {
                rc = ngx_http_shared_session_plain_write_hash(plain, i,
                                                      cand->times.interval,
                                                      cand);
            }
        }

    } else if (plain->invalidate || plain->load) {
        /* nothing to end; a load never creates a session */
        st->found = 0;
        st->values = NULL;
        rc = NGX_OK;

    } else {
        st->found = 0;
        st->creation_time = st->now;
        ngx_str_null(&st->previous);

        rc = ngx_http_shared_session_plain_expire(plain, st->nids,
                                                  st->max_inactive_interval,
                                                  -1);
        if (rc == NGX_OK) {
            rc = ngx_http_shared_session_plain_write_hash(plain, st->nids,
                                                  st->max_inactive_interval,
                                                  NULL);
        }
    }

    if (rc != NGX_OK) {
        if (rc == NGX_ERROR || st->error.len == 0) {
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
 * The expirations first: SADD to the bucket (ZADD to the sorted set) is
 * the write that can meet a key of another type or Redis out of memory;
 * when it fails, nothing else is written (the commands after it fail the
 * same way or are cancelled with the request).  In a cluster, each goes to
 * its own shard.  The default repository keeps nothing but the hash.  "k"
 * is the id's index, st->nids for new_id.
 */

static ngx_int_t
ngx_http_shared_session_plain_expire(ngx_http_shared_session_plain_t *plain,
    ngx_uint_t k, int64_t n, int64_t old)
{
    u_char                                *p;
    int64_t                                expiry;
    ngx_int_t                              rc;
    ngx_str_t                              b, ob, shadow, zset, score, *id;
    ngx_http_shared_session_args_t        *a;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_plain_slot_t  *slot;

    st = plain->st;
    id = ngx_http_shared_session_plain_id(plain, k);
    expiry = st->now + n * 1000;

    if (st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT) {
        return NGX_OK;
    }

    if (ngx_http_shared_session_store_key(st, NGX_HTTP_SHARED_SESSION_SHADOW,
                                          id, &shadow)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (st->expiration_store == NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET) {

        /* SortedSetRedisSessionExpirationStore.save(): Java's score text */

        p = ngx_pnalloc(st->request->pool, NGX_HTTP_SHARED_SESSION_SCORE_LEN);
        if (p == NULL
            || ngx_http_shared_session_store_zset_key(st, &zset) != NGX_OK)
        {
            return NGX_ERROR;
        }

        score.data = p;
        score.len = ngx_http_shared_session_serialize_score(p, expiry) - p;

        slot = ngx_http_shared_session_plain_slot(plain, 4);
        if (slot == NULL) {
            return NGX_ERROR;
        }

        a = &slot->args;

        ngx_http_shared_session_args_push(a, "ZADD");
        ngx_http_shared_session_args_push_str(a, &zset);
        ngx_http_shared_session_args_push_str(a, &score);
        ngx_http_shared_session_args_push_str(a, &st->s_ids[k]);

        rc = ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);
        if (rc != NGX_OK) {
            return rc;
        }

    } else if (n >= 0) {
        if (ngx_http_shared_session_store_bucket_key(st, expiry, &b) != NGX_OK)
        {
            return NGX_ERROR;
        }

        rc = ngx_http_shared_session_plain_write(plain, "SADD", &b,
                                                 &st->members[k]);
        if (rc != NGX_OK) {
            return rc;
        }

        slot = ngx_http_shared_session_plain_slot(plain, 3);
        if (slot == NULL) {
            return NGX_ERROR;
        }

        ngx_http_shared_session_args_push(&slot->args, "PEXPIRE");
        ngx_http_shared_session_args_push_str(&slot->args, &b);
        ngx_http_shared_session_args_push_int(&slot->args,
                                          ngx_http_shared_session_store_ttl(n));

        rc = ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);
        if (rc != NGX_OK) {
            return rc;
        }

        if (old >= 0
            && ngx_http_shared_session_store_bucket(old + n * 1000)
               != ngx_http_shared_session_store_bucket(expiry))
        {
            if (ngx_http_shared_session_store_bucket_key(st, old + n * 1000,
                                                         &ob)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            rc = ngx_http_shared_session_plain_write(plain, "SREM", &ob,
                                                     &st->members[k]);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    slot = ngx_http_shared_session_plain_slot(plain, 5);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    a = &slot->args;

    ngx_http_shared_session_args_push(a, "SET");
    ngx_http_shared_session_args_push_str(a, &shadow);
    ngx_http_shared_session_args_push(a, "");

    if (n >= 0) {
        ngx_http_shared_session_args_push(a, "PX");
        ngx_http_shared_session_args_push_int(a, n * 1000);
    }

    return ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);
}


/*
 * The hash: a new session's every field ("cand" is NULL), or an existing
 * one's lastAccessedTime and attribute, then its TTL: (n + 300) s in the
 * indexed repository, until lastAccessedTime + n in the default one, none
 * if n < 0; and for a new session in the indexed repository, the created
 * event.
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
    ngx_http_shared_session_plain_t *plain, ngx_uint_t k, int64_t n,
    ngx_http_shared_session_candidate_t *cand)
{
    ngx_int_t                              rc;
    ngx_str_t                              key;
    ngx_uint_t                             nfields;
    ngx_http_shared_session_args_t        *a;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_plain_slot_t  *slot;

    st = plain->st;

    if (ngx_http_shared_session_store_key(st, NGX_HTTP_SHARED_SESSION_HASH,
                                          ngx_http_shared_session_plain_id(
                                                                   plain, k),
                                          &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (cand && !plain->hash) {
        slot = ngx_http_shared_session_plain_slot(plain, 4);
        if (slot == NULL) {
            return NGX_ERROR;
        }

        a = &slot->args;

        ngx_http_shared_session_args_push(a, "HSETNX");
        ngx_http_shared_session_args_push_str(a, &key);
        ngx_http_shared_session_args_push(a, "maxInactiveInterval");
        ngx_http_shared_session_args_push_str(a, &cand->fields[2]);

        rc = ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    /*
     * The fields: a new session's four; an existing one's lastAccessedTime
     * and attribute, and its creationTime but with the script, which
     * writes only into a session still live.
     */

    nfields = (cand == NULL) ? 4 : (plain->hash ? 2 : 3);

    /* a load leaves the module's attribute alone */

    if (plain->load) {
        nfields--;
    }

    if (plain->hash) {
        slot = ngx_http_shared_session_plain_eval(plain, &key, cand == NULL,
                                                  n, nfields);
    } else {
        slot = ngx_http_shared_session_plain_slot(plain, 2 + 2 * nfields);

        if (slot) {
            ngx_http_shared_session_args_push(&slot->args, "HMSET");
            ngx_http_shared_session_args_push_str(&slot->args, &key);
        }
    }

    if (slot == NULL) {
        return NGX_ERROR;
    }

    a = &slot->args;

    if (cand == NULL) {
        /* a new session has the configured interval: st->s_interval */
        ngx_http_shared_session_args_push(a, "creationTime");
        ngx_http_shared_session_args_push_str(a, &st->s_now);
        ngx_http_shared_session_args_push(a, "maxInactiveInterval");
        ngx_http_shared_session_args_push_str(a, &st->s_interval);

    } else if (!plain->hash) {
        ngx_http_shared_session_args_push(a, "creationTime");
        ngx_http_shared_session_args_push_str(a, &cand->fields[0]);
    }

    ngx_http_shared_session_args_push(a, "lastAccessedTime");
    ngx_http_shared_session_args_push_str(a, &st->s_now);

    if (!plain->load) {
        ngx_http_shared_session_args_push_str(a, &st->field);
        ngx_http_shared_session_args_push_str(a, &st->value);
    }

    if (plain->hash) {
        rc = ngx_http_shared_session_plain_send(slot,
                                   cand == NULL
                                   ? ngx_http_shared_session_plain_written
                                   : ngx_http_shared_session_plain_hashed,
                                   3);
        goto created;
    }

    rc = ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);
    if (rc != NGX_OK) {
        return rc;
    }

    slot = ngx_http_shared_session_plain_slot(plain, 3);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    a = &slot->args;

    if (n < 0) {
        ngx_http_shared_session_args_push(a, "PERSIST");
        ngx_http_shared_session_args_push_str(a, &key);

    } else if (st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT) {
        ngx_http_shared_session_args_push(a, "PEXPIREAT");
        ngx_http_shared_session_args_push_str(a, &key);
        ngx_http_shared_session_args_push_int(a, st->now + n * 1000);

    } else {
        ngx_http_shared_session_args_push(a, "PEXPIRE");
        ngx_http_shared_session_args_push_str(a, &key);
        ngx_http_shared_session_args_push_int(a,
                                          ngx_http_shared_session_store_ttl(n));
    }

    rc = ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);

created:

    if (rc != NGX_OK || cand) {
        return rc;
    }

    rc = ngx_http_shared_session_store_created(st);

    if (rc == NGX_DECLINED) {
        /* the default repository has no event */
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_shared_session_plain_publish(plain);
}


/*
 * Spring's SessionCreatedEvent for a session it did not create: the
 * PUBLISH its own save() sends (RedisIndexedSessionRepository), after the
 * writes, which it follows on the connection (in a cluster, any node
 * publishes to all).
 */

static ngx_int_t
ngx_http_shared_session_plain_publish(ngx_http_shared_session_plain_t *plain)
{
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_plain_slot_t  *slot;

    st = plain->st;

    slot = ngx_http_shared_session_plain_slot(plain, 3);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    ngx_http_shared_session_args_push(&slot->args, "PUBLISH");
    ngx_http_shared_session_args_push_str(&slot->args, &st->channel);
    ngx_http_shared_session_args_push_str(&slot->args, &st->event);

    return ngx_http_shared_session_plain_send(slot,
                                       ngx_http_shared_session_plain_published,
                                       1);
}


/*
 * The created event's answer: a server that refuses it (an ACL without
 * PUBLISH) leaves the session written and the event missing, which is
 * logged; the request goes on.
 */

static void
ngx_http_shared_session_plain_published(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_plain_slot_t  *slot = data;

    ngx_http_shared_session_store_t  *st;
    ngx_http_shared_session_plain_t  *plain;

    plain = slot->plain;

    if (plain->failed || reply == NULL || reply->type != REDIS_REPLY_ERROR) {
        ngx_http_shared_session_plain_written(data, reply, error);
        return;
    }

    plain->pending--;
    st = plain->st;

    ngx_http_shared_session_store_unpublished(st, (u_char *) reply->str,
                                              reply->len);

    ngx_http_shared_session_plain_done(plain);
}


/*
 * Spring's deleteById, as the invalidate script does it: the default
 * repository deletes the hash; the indexed one takes the id out of its
 * principal's index and its expirations, deletes the shadow key, ends the
 * hash (maxInactiveInterval 0, Spring's TTL for it), and with buckets adds
 * the member to the bucket of lastAccessedTime + 0 for 300 s, as Spring's
 * save after that does (its cleanup job probes it at that minute).
 */

static ngx_int_t
ngx_http_shared_session_plain_end(ngx_http_shared_session_plain_t *plain,
    ngx_uint_t k, ngx_http_shared_session_candidate_t *cand)
{
    ngx_int_t                              rc;
    ngx_str_t                              b, key, *id;
    ngx_http_shared_session_args_t        *a;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_times_t       *times;
    ngx_http_shared_session_plain_slot_t  *slot;

    st = plain->st;
    id = &st->ids[k];
    times = &cand->times;

    if (ngx_http_shared_session_store_key(st, NGX_HTTP_SHARED_SESSION_HASH,
                                          id, &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT) {
        return ngx_http_shared_session_plain_write(plain, "DEL", &key, NULL);
    }

    rc = ngx_http_shared_session_plain_principal(plain, k, cand);
    if (rc != NGX_OK) {
        return rc;
    }

    if (st->expiration_store == NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET) {
        if (ngx_http_shared_session_store_zset_key(st, &b) != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_http_shared_session_plain_write(plain, "ZREM", &b,
                                                 &st->s_ids[k]);
        if (rc != NGX_OK) {
            return rc;
        }

    } else if (times->interval >= 0) {
        if (ngx_http_shared_session_store_bucket_key(st, times->accessed
                                                     + times->interval * 1000,
                                                     &b)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        rc = ngx_http_shared_session_plain_write(plain, "SREM", &b,
                                                 &st->members[k]);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (ngx_http_shared_session_store_key(st, NGX_HTTP_SHARED_SESSION_SHADOW,
                                          id, &b)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_shared_session_plain_write(plain, "DEL", &b, NULL);
    if (rc != NGX_OK) {
        return rc;
    }

    /* an ended session's hash: maxInactiveInterval 0, Spring's TTL for it */

    if (plain->hash) {
        slot = ngx_http_shared_session_plain_eval(plain, &key, 0, 0, 1);

    } else {
        slot = ngx_http_shared_session_plain_slot(plain, 4);

        if (slot) {
            ngx_http_shared_session_args_push(&slot->args, "HMSET");
            ngx_http_shared_session_args_push_str(&slot->args, &key);
        }
    }

    if (slot == NULL) {
        return NGX_ERROR;
    }

    a = &slot->args;

    ngx_http_shared_session_args_push(a, "maxInactiveInterval");
    ngx_http_shared_session_args_push_str(a, &st->s_zero);

    rc = ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         plain->hash ? 3 : 1);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!plain->hash) {
        slot = ngx_http_shared_session_plain_slot(plain, 3);
        if (slot == NULL) {
            return NGX_ERROR;
        }

        ngx_http_shared_session_args_push(&slot->args, "PEXPIRE");
        ngx_http_shared_session_args_push_str(&slot->args, &key);
        ngx_http_shared_session_args_push_int(&slot->args,
                                          ngx_http_shared_session_store_ttl(0));

        rc = ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (st->expiration_store != NGX_HTTP_SHARED_SESSION_EXPIRY_BUCKETS) {
        return NGX_OK;
    }

    if (ngx_http_shared_session_store_bucket_key(st, times->accessed, &b)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_shared_session_plain_write(plain, "SADD", &b,
                                             &st->members[k]);
    if (rc != NGX_OK) {
        return rc;
    }

    slot = ngx_http_shared_session_plain_slot(plain, 3);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    ngx_http_shared_session_args_push(&slot->args, "PEXPIRE");
    ngx_http_shared_session_args_push_str(&slot->args, &b);
    ngx_http_shared_session_args_push_int(&slot->args,
                                          ngx_http_shared_session_store_ttl(0));

    return ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);
}


/*
 * SREM of the id from its principal's index, when the session has the
 * principal's attribute (read as cand->fields[3]): its name, decoded
 * (JSON or JDK), ends the index's key, as Spring makes it.
 */

static ngx_int_t
ngx_http_shared_session_plain_principal(ngx_http_shared_session_plain_t *plain,
    ngx_uint_t k, ngx_http_shared_session_candidate_t *cand)
{
    ngx_int_t                         rc;
    ngx_str_t                         name, key;
    ngx_http_shared_session_store_t  *st;

    st = plain->st;

    if (cand->fields[3].data == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_shared_session_read_string(st->request->pool,
                                             &cand->fields[3], &name);
    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    key.len = st->index.len + name.len;
    key.data = ngx_pnalloc(st->request->pool, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(key.data, st->index.data, st->index.len),
               name.data, name.len);

    return ngx_http_shared_session_plain_write(plain, "SREM", &key,
                                               &st->s_ids[k]);
}


/*
 * The hash script's command up to its fields ("nfields" pairs follow): on
 * the hash's shard, a session that ended since it was read is not written
 * again.  Its expiry for the interval "n" (s): (n + 300) s in the indexed
 * repository, lastAccessedTime + n in the default one, none if n < 0.  The
 * script is loaded on every connection; after NOSCRIPT, the connection
 * layer sends it as EVAL.
 */

static ngx_http_shared_session_plain_slot_t *
ngx_http_shared_session_plain_eval(ngx_http_shared_session_plain_t *plain,
    ngx_str_t *key, ngx_uint_t create, int64_t n, ngx_uint_t nfields)
{
    ngx_http_shared_session_args_t        *a;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_plain_slot_t  *slot;

    st = plain->st;

    slot = ngx_http_shared_session_plain_slot(plain, 10 + 2 * nfields);
    if (slot == NULL) {
        return NULL;
    }

    a = &slot->args;

    ngx_http_shared_session_args_script(a,
                                     &ngx_http_shared_session_hash_script);
    ngx_http_shared_session_args_push(a, "1");
    ngx_http_shared_session_args_push_str(a, key);
    ngx_http_shared_session_args_push_str(a, &st->prefix);
    ngx_http_shared_session_args_push_int(a, st->now);
    ngx_http_shared_session_args_push_str(a,
                &ngx_http_shared_session_store_serializers[st->ser->format]);
    ngx_http_shared_session_args_push(a, create ? "1" : "0");

    if (n < 0) {
        ngx_http_shared_session_args_push(a, "PERSIST");
        ngx_http_shared_session_args_push(a, "");

    } else if (st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT) {
        ngx_http_shared_session_args_push(a, "PEXPIREAT");
        ngx_http_shared_session_args_push_int(a, st->now + n * 1000);

    } else {
        ngx_http_shared_session_args_push(a, "PEXPIRE");
        ngx_http_shared_session_args_push_int(a,
                                          ngx_http_shared_session_store_ttl(n));
    }

    return slot;
}


/* the id of index k: a candidate's, or st->nids: new_id */

static ngx_str_t *
ngx_http_shared_session_plain_id(ngx_http_shared_session_plain_t *plain,
    ngx_uint_t k)
{
    ngx_http_shared_session_store_t  *st;

    st = plain->st;

    return (k < st->nids) ? &st->ids[k] : &st->new_id;
}


/* "name key [arg]", one of the writes */

static ngx_int_t
ngx_http_shared_session_plain_write(ngx_http_shared_session_plain_t *plain,
    const char *name, ngx_str_t *key, ngx_str_t *arg)
{
    ngx_http_shared_session_plain_slot_t  *slot;

    slot = ngx_http_shared_session_plain_slot(plain, 3);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    ngx_http_shared_session_args_push(&slot->args, name);
    ngx_http_shared_session_args_push_str(&slot->args, key);

    if (arg) {
        ngx_http_shared_session_args_push_str(&slot->args, arg);
    }

    return ngx_http_shared_session_plain_send(slot,
                                         ngx_http_shared_session_plain_written,
                                         1);
}


static void
ngx_http_shared_session_plain_written(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_plain_slot_t  *slot = data;

    ngx_str_t                         e;
    ngx_http_shared_session_plain_t  *plain;

    plain = slot->plain;
    plain->pending--;

    if (plain->failed) {
        return;
    }

    if (reply == NULL) {
        ngx_http_shared_session_plain_fail(plain, error);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        e.data = (u_char *) reply->str;
        e.len = reply->len;
        ngx_http_shared_session_plain_fail(plain, &e);
        return;
    }

    ngx_http_shared_session_plain_done(plain);
}


/*
 * The hash script's answer for a session read as live (the hash variant):
 * 1, written; 0, the session ended meanwhile (expired by its shard's
 * clock, invalidated, deleted): an ended session, whose shadow key and
 * bucket, written beside the script, are taken back when all the writes
 * have answered (done()).
 */

static void
ngx_http_shared_session_plain_hashed(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_plain_slot_t  *slot = data;

    ngx_str_t                         e;
    ngx_http_shared_session_store_t  *st;
    ngx_http_shared_session_plain_t  *plain;

    plain = slot->plain;
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

    if (reply->integer == 0) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, st->request->connection->log, 0,
                       "shared session: session \"%V\" ended meanwhile",
                       &st->ids[st->found - 1]);

        plain->candidates[st->found - 1].state =
                                          NGX_HTTP_SHARED_SESSION_EXPIRED;
        plain->ended = st->found;
    }

    ngx_http_shared_session_plain_done(plain);
}


/*
 * A write answered: when all are in, so is the request, unless the hash
 * script found its session ended: then its shadow key and bucket are taken
 * back, and the next candidate or a new session written, in one more
 * round trip.
 */

static void
ngx_http_shared_session_plain_done(ngx_http_shared_session_plain_t *plain)
{
    ngx_int_t                         rc;
    ngx_http_shared_session_store_t  *st;

    if (plain->pending) {
        return;
    }

    st = plain->st;

    if (!plain->ended) {
        st->handler(st->request, st, NGX_OK);
        return;
    }

    plain->nslots = 0;

    rc = ngx_http_shared_session_plain_undo(plain);

    if (rc == NGX_OK) {
        rc = ngx_http_shared_session_plain_decide(plain);
    }

    if (rc != NGX_OK) {
        if (rc == NGX_ERROR || st->error.len == 0) {
            ngx_str_set(&st->error, "out of memory");
        }

        ngx_http_shared_session_plain_fail(plain, &st->error);
    }
}


/*
 * The shadow key, SET without a condition beside the script, is deleted:
 * the session is gone or ended, and Spring takes a shadow key for a live
 * session.  Its id goes out of the bucket it was added to.
 */

static ngx_int_t
ngx_http_shared_session_plain_undo(ngx_http_shared_session_plain_t *plain)
{
    int64_t                               n;
    ngx_int_t                             rc;
    ngx_str_t                             key, *id;
    ngx_uint_t                            k;
    ngx_http_shared_session_store_t      *st;
    ngx_http_shared_session_candidate_t  *cand;

    st = plain->st;
    k = plain->ended - 1;
    id = &st->ids[k];
    cand = &plain->candidates[k];
    n = cand->times.interval;

    plain->ended = 0;

    if (st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT) {
        /* nothing was written beside the script */
        return NGX_OK;
    }

    if (ngx_http_shared_session_store_key(st, NGX_HTTP_SHARED_SESSION_SHADOW,
                                          id, &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_shared_session_plain_write(plain, "DEL", &key, NULL);
    if (rc != NGX_OK) {
        return rc;
    }

    if (st->expiration_store == NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET) {
        if (ngx_http_shared_session_store_zset_key(st, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_shared_session_plain_write(plain, "ZREM", &key,
                                                   &st->s_ids[k]);
    }

    if (n < 0) {
        return NGX_OK;
    }

    if (ngx_http_shared_session_store_bucket_key(st, st->now + n * 1000, &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_shared_session_plain_write(plain, "SREM", &key,
                                               &st->members[k]);
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
        ngx_http_shared_session_conn_cancel(&plain->slots[i].cmd);
    }
}
