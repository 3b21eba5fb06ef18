
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * fuzz_store: the reply of the session scripts.  The hash fields are read
 * and checked by the Lua scripts inside Redis; what reaches C is their
 * reply, which the scripted back end's ngx_http_shared_session_scripted_
 * reply() and _scripted_parse() (static) turn into st->found,
 * st->creation_time, st->previous and st->error.  This file #includes the
 * scripted back end's .c to reach them (build.sh leaves the module's own
 * object of it out of this target's link), and feeds them whatever
 * hiredis's redisReader makes of arbitrary RESP bytes: a connection's
 * reader (arrays of at most 16384 elements, the 64M check), its objects
 * in a reply arena reset after each piece of input's replies were handled,
 * with ASan's redzones after every object (ngx_fuzz_reply.h).
 *
 * Input: one byte of settings, then RESP.  Settings:
 *
 *   bit 0     0: the touch script's reply, 1: the invalidate script's
 *   bits 1-4  how many candidate ids were sent (0..15, at most 8 used)
 *   bit 5     1: the lookup script's reply (shared_session_require,
 *             _load) instead, with
 *   bits 6-7  how many attribute names were sent (0..3)
 *
 * Every complete reply in the input is handed over in turn, each to a
 * fresh store context.  Checked: rc is NGX_OK or NGX_ERROR; NGX_ERROR
 * always has a cause; NGX_OK means a well-formed reply: found <= nids,
 * creation_time the exact decimal text Redis sent, previous a copy of the
 * bulk string or absent; a lookup's numbers those of the text Redis sent
 * (decimal or typed) and its values copies of the bulk strings or absent.
 * The warning logged for a bad id is formatted in full (the log writer
 * reads every byte of it).
 */


#include "ngx_fuzz.h"
#include <ctype.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>

#include "ngx_http_shared_session_cookie.h"
#include "ngx_http_shared_session_store_script.c"
#include "ngx_fuzz_reply.h"


static ngx_pool_t                       *fuzz_conf_pool;
static ngx_http_shared_session_redis_t  *fuzz_redis;
static ngx_http_shared_session_conn_t    fuzz_conn;
static ngx_cycle_t                       fuzz_cycle;
static ngx_uint_t                        fuzz_called;
static ngx_int_t                         fuzz_rc;

/* a load's attribute names (shared_session_require, _load) */
static ngx_str_t                         fuzz_names[] = {
    ngx_string("sessionattr:tenantid"),
    ngx_string("sessionattr:spring_security_context"),
    ngx_string("sessionattr:role")
};


static void
fuzz_handler(ngx_http_request_t *r, ngx_http_shared_session_store_t *st,
    ngx_int_t rc)
{
    fuzz_called++;
    fuzz_rc = rc;
}


/* a real server entry, as the configuration makes it (nothing connects) */

/* the bad ids' format is named after the location's serializer */
static ngx_http_shared_session_serializer_t  fuzz_ser = {
    NGX_HTTP_SHARED_SESSION_JSON, ngx_null_string, 0
};


static void
fuzz_init_redis(void)
{
    ngx_str_t                              addr;
    ngx_conf_t                             cf;
    ngx_array_t                           *servers;
    ngx_http_shared_session_redis_conf_t  *conf;

    if (fuzz_redis) {
        return;
    }

    /* the reply arena allocates with ngx_cycle->log, as in a worker */
    fuzz_cycle.log = &ngx_fuzz_log;
    ngx_cycle = &fuzz_cycle;

    ngx_memzero(&cf, sizeof(ngx_conf_t));
    /* kept for the process' life, as the configuration's pool is */
    fuzz_conf_pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, &ngx_fuzz_log);
    if (fuzz_conf_pool == NULL) {
        abort();
    }

    cf.pool = fuzz_conf_pool;
    cf.temp_pool = fuzz_conf_pool;
    cf.log = &ngx_fuzz_log;

    servers = ngx_array_create(cf.pool, 1, sizeof(void *));
    if (servers == NULL) {
        abort();
    }

    ngx_str_set(&addr, "127.0.0.1:6379");

    conf = ngx_pcalloc(cf.pool, sizeof(ngx_http_shared_session_redis_conf_t));
    if (conf == NULL) {
        abort();
    }

    conf->connect_timeout = 1000;

    fuzz_redis = ngx_http_shared_session_redis_add(&cf, servers, &addr, conf);
    if (fuzz_redis == NULL) {
        abort();
    }

    fuzz_conn.ops = &ngx_http_shared_session_redis_conn_ops;
    fuzz_conn.peer = fuzz_redis;
}


/* what a touch's reply says, read here without the module's code */

static void
check_touch(ngx_http_shared_session_store_t *st, redisReply *reply)
{
    int32_t      i;
    int64_t      l;
    long long    v;
    char        *end;
    redisReply  *e;

    e = reply->element[1];
    ngx_fuzz_check(e->type == REDIS_REPLY_STRING);

    if (e->len >= 4 && memcmp(e->str, "\xac\xed\x00\x05", 4) == 0) {
        /* a JDK-serialized Long or Integer (fuzz_jdk fuzzes that codec) */

        if (ngx_http_shared_session_jdk_long((u_char *) e->str, e->len, &l)
            != NGX_OK)
        {
            ngx_fuzz_check(ngx_http_shared_session_jdk_integer(
                               (u_char *) e->str, e->len, &i)
                           == NGX_OK);
            l = i;
        }

        ngx_fuzz_check(l == st->creation_time);
        goto previous;
    }

    /* -?[0-9]+, within int64 (but not -2^63, which nginx cannot parse) */
    ngx_fuzz_check(e->len > 0 && e->len == strlen(e->str));
    ngx_fuzz_check(isdigit((u_char) e->str[e->str[0] == '-']));

    errno = 0;
    v = strtoll(e->str, &end, 10);
    ngx_fuzz_check(errno == 0 && *end == '\0');
    ngx_fuzz_check(v == st->creation_time);

previous:

    e = reply->element[2];

    if (e->type == REDIS_REPLY_NIL) {
        ngx_fuzz_check(st->previous.data == NULL);

    } else {
        ngx_fuzz_check(e->type == REDIS_REPLY_STRING);
        ngx_fuzz_check(st->previous.data != NULL
                       && st->previous.len == e->len
                       && memcmp(st->previous.data, e->str, e->len) == 0);
    }
}


/* a stored number, decimal or ["java.lang.Long",n] (Integer), in int64 */

static ngx_int_t
ref_number(redisReply *e, int64_t *n)
{
    char         *p, *end;
    size_t        len;
    long long     v;
    const char  **t;

    static const char  *typed[] = {
        "[\"java.lang.Long\",", "[\"java.lang.Integer\",", NULL
    };

    if (e->type != REDIS_REPLY_STRING || e->len != strlen(e->str)) {
        return NGX_ERROR;
    }

    p = e->str;
    len = e->len;

    for (t = typed; *t; t++) {
        if (len > strlen(*t) && strncmp(p, *t, strlen(*t)) == 0
            && p[len - 1] == ']')
        {
            p += strlen(*t);
            len -= strlen(*t) + 1;
            break;
        }
    }

    if (len == 0 || !isdigit((u_char) p[p[0] == '-']) || (p[0] == '-'
                                                          && len == 1))
    {
        return NGX_ERROR;
    }

    errno = 0;
    v = strtoll(p, &end, 10);

    if (errno != 0 || end != p + len) {
        return NGX_ERROR;
    }

    *n = v;

    return NGX_OK;
}


/* what a load's reply says, read here without the module's code */

static void
check_load(ngx_http_shared_session_store_t *st, redisReply *reply)
{
    size_t       i;
    int64_t      v;
    redisReply  *e;

    ngx_fuzz_check(reply->elements >= 2
                   && reply->element[1]->type == REDIS_REPLY_ARRAY);

    if (st->found == 0) {
        ngx_fuzz_check(st->values == NULL);
        return;
    }

    ngx_fuzz_check(reply->elements == 5 + st->nnames);

    ngx_fuzz_check(ref_number(reply->element[2], &v) == NGX_OK
                   && v == st->creation_time);
    ngx_fuzz_check(ref_number(reply->element[3], &v) == NGX_OK
                   && v == st->last_accessed_time);
    ngx_fuzz_check(ref_number(reply->element[4], &v) == NGX_OK
                   && v == st->interval);

    for (i = 0; i < st->nnames; i++) {
        e = reply->element[5 + i];

        if (e->type == REDIS_REPLY_NIL) {
            ngx_fuzz_check(st->values == NULL || st->values[i].data == NULL);
            continue;
        }

        ngx_fuzz_check(e->type == REDIS_REPLY_STRING);
        ngx_fuzz_check(st->values != NULL
                       && st->values[i].data != NULL
                       && st->values[i].len == e->len
                       && memcmp(st->values[i].data, e->str, e->len) == 0);
    }
}


static void
fuzz_reply(ngx_pool_t *pool, ngx_http_request_t *r, uint8_t flags,
    redisReply *reply)
{
    ngx_uint_t                           nids, i;
    ngx_str_t                           *ids;
    ngx_http_shared_session_store_t     *st;
    ngx_http_shared_session_scripted_t  *sc;

    nids = (flags >> 1) & 15;

    if (nids > NGX_HTTP_SHARED_SESSION_MAX_IDS) {
        nids = NGX_HTTP_SHARED_SESSION_MAX_IDS;
    }

    st = ngx_pcalloc(pool, sizeof(ngx_http_shared_session_store_t));
    sc = ngx_pcalloc(pool, sizeof(ngx_http_shared_session_scripted_t));
    ids = ngx_pcalloc(pool, (nids + 1) * sizeof(ngx_str_t));
    if (st == NULL || sc == NULL || ids == NULL) {
        abort();
    }

    for (i = 0; i < nids; i++) {
        ngx_str_set(&ids[i], "0b3f2c9e-4f0a-4a8e-9d6a-2f1e6a1c7b55");
    }

    st->conn = &fuzz_conn;
    st->ser = &fuzz_ser;

    /* no created event: a new session's reply is the last one here */
    st->repository = NGX_HTTP_SHARED_SESSION_REPO_DEFAULT;
    st->timeout = 1000;
    ngx_str_set(&st->prefix, "spring:session:");
    st->now = 1700000000000LL;
    st->ids = ids;
    st->nids = nids;
    st->handler = fuzz_handler;

    st->request = r;
    st->ops = &ngx_http_shared_session_store_script_ops;
    st->data = sc;

    sc->st = st;
    sc->script = (flags & 1) ? NGX_HTTP_SHARED_SESSION_INVALIDATE
                             : NGX_HTTP_SHARED_SESSION_TOUCH;

    if (flags & 0x20) {
        sc->script = NGX_HTTP_SHARED_SESSION_LOAD;
        st->names = fuzz_names;
        st->nnames = (flags >> 6) & 3;
    }

    fuzz_called = 0;

    /* as the connection layer hands a reply over, NOSCRIPT being handled */

    ngx_http_shared_session_scripted_reply(sc, reply, NULL);

    ngx_fuzz_check(fuzz_called == 1);
    ngx_fuzz_check(fuzz_rc == NGX_OK || fuzz_rc == NGX_ERROR);
    ngx_fuzz_check(sc->cmd.inner == NULL);

    if (fuzz_rc == NGX_ERROR) {
        ngx_fuzz_check(st->error.data != NULL
                       && (st->error.len > 0
                           || (reply->type == REDIS_REPLY_ERROR
                               && reply->len == 0)));
        return;
    }

    ngx_fuzz_check(reply->type == REDIS_REPLY_ARRAY);
    ngx_fuzz_check(reply->elements >= 1);
    ngx_fuzz_check(reply->element[0]->type == REDIS_REPLY_INTEGER);
    ngx_fuzz_check(st->found <= st->nids);
    ngx_fuzz_check((long long) st->found == reply->element[0]->integer);

    if (sc->script == NGX_HTTP_SHARED_SESSION_TOUCH) {
        ngx_fuzz_check(reply->elements >= 3);
        check_touch(st, reply);
    }

    if (sc->script == NGX_HTTP_SHARED_SESSION_LOAD) {
        check_load(st, reply);
    }
}


/* what fuzz_reply() needs besides a reply, for ngx_fuzz_replies() */
typedef struct {
    ngx_pool_t          *pool;
    ngx_http_request_t  *r;
    uint8_t              flags;
} fuzz_input_t;


static void
fuzz_input_reply(void *data, redisReply *reply)
{
    fuzz_input_t  *in = data;

    fuzz_reply(in->pool, in->r, in->flags, reply);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t              flags;
    ngx_pool_t          *pool;
    fuzz_input_t         in;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    ngx_fuzz_init();
    fuzz_init_redis();

    if (size == 0) {
        return 0;
    }

    flags = data[0];
    data++;
    size--;

    pool = ngx_fuzz_pool();

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    if (r == NULL || c == NULL) {
        abort();
    }

    c->log = &ngx_fuzz_log;
    c->pool = pool;
    r->connection = c;
    r->pool = pool;

    in.pool = pool;
    in.r = r;
    in.flags = flags;

    ngx_fuzz_replies(data, size, flags, fuzz_input_reply, &in);

    ngx_destroy_pool(pool);

    return 0;
}
