
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_store.h"


/*
 * The scripted back end: each request is one script, so that reading,
 * checking expiry and writing a session happen atomically: a touch racing
 * an invalidation or an expiry never recreates a partial hash, and a
 * request costs one round trip.  A script reaches every key it writes only
 * on one server: a Redis Cluster has the plain back end.
 */


#define NGX_HTTP_SHARED_SESSION_TOUCH       0
#define NGX_HTTP_SHARED_SESSION_INVALIDATE  1
#define NGX_HTTP_SHARED_SESSION_LOAD        2


typedef struct {
    ngx_http_shared_session_store_t     *st;
    ngx_uint_t                           script;
    ngx_http_shared_session_conn_cmd_t   cmd;
    ngx_http_shared_session_args_t       args;
} ngx_http_shared_session_scripted_t;


static ngx_str_t  ngx_http_shared_session_scripted_texts[] = {

    /*
     * KEYS: the hashes of the candidate ids, then the hash of new_id;
     * ARGV: prefix, now, field, value, maxInactiveInterval, new_id, and for
     * that interval: the hash TTL, the shadow key TTL and the bucket (ms),
     * then the ids; returns {index or 0, creationTime as stored, previous
     * attribute, bad ids...}
     *
     * The first write (SADD to the bucket, or SET of the shadow key for a
     * session that never expires) is the only one that can fail, on a key
     * of another type or when Redis is out of memory: Redis does not undo a
     * script's writes, so it fails before anything is written.  A member
     * already in its bucket was added, and the bucket's TTL set, by an
     * earlier touch of the same minute: that TTL outlives the bucket's
     * minute by more than the 300 s margin Spring gives it.
     */

    ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    "local field, value, conf = ARGV[3], ARGV[4], tonumber(ARGV[5])\n"
    "local function touch(id, key, n, old, fields)\n"
    "  local shadow = prefix .. 'sessions:expires:' .. id\n"
    "  if n < 0 then\n"
    "    redis.call('SET', shadow, '')\n"
    "    redis.call('HMSET', key, unpack(fields))\n"
    "    redis.call('PERSIST', key)\n"
    "    return\n"
    "  end\n"
    "  local ttl, sttl, b\n"
    "  if n == conf then\n"
    "    ttl, sttl, b = ARGV[7], ARGV[8], prefix .. 'expirations:' .. ARGV[9]\n"
    "  else\n"
    "    ttl = string.format('%.0f', (n + 300) * 1000)\n"
    "    sttl = string.format('%.0f', n * 1000)\n"
    "    b = bucket(now + n * 1000)\n"
    "  end\n"
    "  local member = '\"expires:' .. id .. '\"'\n"
    "  if redis.call('SADD', b, member) == 1 then\n"
    "    redis.call('PEXPIRE', b, ttl)\n"
    "  end\n"
    "  if old and bucket(old + n * 1000) ~= b then\n"
    "    redis.pcall('SREM', bucket(old + n * 1000), member)\n"
    "  end\n"
    "  redis.call('SET', shadow, '', 'PX', sttl)\n"
    "  redis.call('HMSET', key, unpack(fields))\n"
    "  redis.call('PEXPIRE', key, ttl)\n"
    "end\n"
    "local bad = {}\n"
    "for i = 1, #KEYS - 1 do\n"
    "  local id = ARGV[9 + i]\n"
    "  local state, f, ct, la, n = fields(KEYS[i], field)\n"
    "  if state == 'ok' then\n"
    "    touch(id, KEYS[i], n, la,\n"
    "          {'lastAccessedTime', ARGV[2], field, value})\n"
    "    return {i, f[1], f[4], unpack(bad)}\n"
    "  elseif state == 'bad' then\n"
    "    bad[#bad + 1] = id\n"
    "  end\n"
    "end\n"
    "local key = KEYS[#KEYS]\n"
    "if redis.call('EXISTS', key) == 1 then\n"
    "  return redis.error_reply('ERR session id collision')\n"
    "end\n"
    "touch(ARGV[6], key, conf, nil,\n"
    "      {'creationTime', ARGV[2], 'maxInactiveInterval', ARGV[5],\n"
    "       'lastAccessedTime', ARGV[2], field, value})\n"
    "return {0, ARGV[2], false, unpack(bad)}\n"),

    /*
     * KEYS: the hashes of the candidate ids; ARGV: prefix, now, ids...
     * returns {index or 0, bad ids...}
     */

    ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    "local bad = {}\n"
    "for i = 1, #KEYS do\n"
    "  local id = ARGV[2 + i]\n"
    "  local state, f, ct, la, n = fields(KEYS[i])\n"
    "  if state == 'bad' then\n"
    "    bad[#bad + 1] = id\n"
    "  elseif state == 'ok' then\n"
    "    if n >= 0 then\n"
    "      redis.pcall('SREM', bucket(la + n * 1000),\n"
    "                  '\"expires:' .. id .. '\"')\n"
    "    end\n"
    "    redis.call('DEL', prefix .. 'sessions:expires:' .. id)\n"
    "    redis.call('HMSET', KEYS[i], 'maxInactiveInterval', '0')\n"
    "    redis.call('PEXPIRE', KEYS[i], '300000')\n"
    "    return {i, unpack(bad)}\n"
    "  end\n"
    "end\n"
    "return {0, unpack(bad)}\n"),

    /*
     * KEYS: the hashes of the candidate ids; ARGV: prefix, now, "1" to
     * touch, the number of names, the names (lowercase hash fields), the
     * ids; returns {index, {bad ids}, creationTime, lastAccessedTime,
     * maxInactiveInterval as stored, the names' values (nil: absent)}, or
     * {0, {bad ids}}.
     *
     * The touch is the first script's for a session found, without the
     * attribute: the session is never created, and an ended one is left
     * as it is.  Hash fields are compared with the names without case (the
     * names come from nginx variables, which nginx lowercases): HKEYS only
     * when there are names.
     */

    ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    "local touch, nn = ARGV[3] == '1', tonumber(ARGV[4])\n"
    "local function refresh(id, key, n, la)\n"
    "  local shadow = prefix .. 'sessions:expires:' .. id\n"
    "  if n < 0 then\n"
    "    redis.call('SET', shadow, '')\n"
    "    redis.call('HSET', key, 'lastAccessedTime', ARGV[2])\n"
    "    redis.call('PERSIST', key)\n"
    "    return\n"
    "  end\n"
    "  local ttl = string.format('%.0f', (n + 300) * 1000)\n"
    "  local b = bucket(now + n * 1000)\n"
    "  local member = '\"expires:' .. id .. '\"'\n"
    "  if redis.call('SADD', b, member) == 1 then\n"
    "    redis.call('PEXPIRE', b, ttl)\n"
    "  end\n"
    "  if bucket(la + n * 1000) ~= b then\n"
    "    redis.pcall('SREM', bucket(la + n * 1000), member)\n"
    "  end\n"
    "  redis.call('SET', shadow, '', 'PX', string.format('%.0f', n * 1000))\n"
    "  redis.call('HSET', key, 'lastAccessedTime', ARGV[2])\n"
    "  redis.call('PEXPIRE', key, ttl)\n"
    "end\n"
    "local function values(key)\n"
    "  local v, want = {}, {}\n"
    "  if nn == 0 then return v end\n"
    "  for j = 1, nn do want[ARGV[4 + j]] = j; v[j] = false end\n"
    "  for _, name in ipairs(redis.call('HKEYS', key)) do\n"
    "    local j = want[string.lower(name)]\n"
    "    if j and not v[j] then v[j] = redis.call('HGET', key, name) end\n"
    "  end\n"
    "  return v\n"
    "end\n"
    "local bad = {}\n"
    "for i = 1, #KEYS do\n"
    "  local id = ARGV[4 + nn + i]\n"
    "  local state, f, ct, la, n = fields(KEYS[i])\n"
    "  if state == 'ok' then\n"
    "    local v = values(KEYS[i])\n"
    "    if touch then refresh(id, KEYS[i], n, la) end\n"
    "    return {i, bad, f[1], f[2], f[3], unpack(v, 1, nn)}\n"
    "  elseif state == 'bad' then\n"
    "    bad[#bad + 1] = id\n"
    "  end\n"
    "end\n"
    "return {0, bad}\n")
};


static ngx_http_shared_session_script_t  ngx_http_shared_session_scripted[3];


static ngx_str_t *ngx_http_shared_session_scripted_scripts(ngx_uint_t *n);
static ngx_int_t ngx_http_shared_session_scripted_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
static ngx_int_t ngx_http_shared_session_scripted_invalidate(
    ngx_http_request_t *r, ngx_http_shared_session_store_t *st);
static ngx_int_t ngx_http_shared_session_scripted_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
static ngx_http_shared_session_scripted_t *
    ngx_http_shared_session_scripted_start(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t script, ngx_uint_t n);
static void ngx_http_shared_session_scripted_keys(
    ngx_http_shared_session_scripted_t *sc);
static ngx_int_t ngx_http_shared_session_scripted_send(
    ngx_http_shared_session_scripted_t *sc);
static void ngx_http_shared_session_scripted_reply(void *data,
    redisReply *reply, ngx_str_t *error);
static ngx_int_t ngx_http_shared_session_scripted_parse(
    ngx_http_shared_session_scripted_t *sc, redisReply *reply);
static ngx_int_t ngx_http_shared_session_scripted_parse_load(
    ngx_http_shared_session_scripted_t *sc, redisReply *reply);
static ngx_int_t ngx_http_shared_session_scripted_error(
    ngx_http_shared_session_scripted_t *sc, redisReply *reply);
static void ngx_http_shared_session_scripted_cleanup(void *data);


ngx_http_shared_session_store_ops_t
    ngx_http_shared_session_store_script_ops =
{
    ngx_http_shared_session_scripted_scripts,
    ngx_http_shared_session_scripted_touch,
    ngx_http_shared_session_scripted_invalidate,
    ngx_http_shared_session_scripted_load
};


/*
 * The endpoints' scripts are loaded on each connection.  The lookup's
 * (shared_session_require, _load) is not: the first lookup after Redis
 * started (or flushed its scripts) gets NOSCRIPT and sends it once as
 * EVAL, which caches it for every connection.
 */

static ngx_str_t *
ngx_http_shared_session_scripted_scripts(ngx_uint_t *n)
{
    ngx_uint_t  i;

    for (i = 0; i < 3; i++) {
        ngx_http_shared_session_scripted[i].text =
                                     ngx_http_shared_session_scripted_texts[i];
        ngx_http_shared_session_script_init(
                                     &ngx_http_shared_session_scripted[i]);
    }

    *n = 2;

    return ngx_http_shared_session_scripted_texts;
}


static ngx_int_t
ngx_http_shared_session_scripted_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    int64_t                              n;
    ngx_uint_t                           i;
    ngx_str_t                            key;
    ngx_http_shared_session_args_t      *a;
    ngx_http_shared_session_scripted_t  *sc;

    /* EVALSHA sha numkeys, KEYS: the ids and the new one, ARGV: 9, the ids */

    sc = ngx_http_shared_session_scripted_start(r, st,
                                              NGX_HTTP_SHARED_SESSION_TOUCH,
                                              2 * st->nids + 13);
    if (sc == NULL) {
        return NGX_ERROR;
    }

    a = &sc->args;

    ngx_http_shared_session_args_push_int(a, st->nids + 1);
    ngx_http_shared_session_scripted_keys(sc);

    if (ngx_http_shared_session_store_key(st, NGX_HTTP_SHARED_SESSION_HASH,
                                          &st->new_id, &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_shared_session_args_push_str(a, &key);

    ngx_http_shared_session_args_push_str(a, &st->prefix);
    ngx_http_shared_session_args_push_int(a, st->now);
    ngx_http_shared_session_args_push_str(a, &st->field);
    ngx_http_shared_session_args_push_str(a, &st->value);

    n = st->max_inactive_interval;

    ngx_http_shared_session_args_push_int(a, n);
    ngx_http_shared_session_args_push_str(a, &st->new_id);

    /* what Spring computes from the interval, for the configured one */

    ngx_http_shared_session_args_push_int(a,
                                          ngx_http_shared_session_store_ttl(n));
    ngx_http_shared_session_args_push_int(a, n * 1000);
    ngx_http_shared_session_args_push_int(a,
                         ngx_http_shared_session_store_bucket(st->now
                                                              + n * 1000));

    for (i = 0; i < st->nids; i++) {
        ngx_http_shared_session_args_push_str(a, &st->ids[i]);
    }

    return ngx_http_shared_session_scripted_send(sc);
}


static ngx_int_t
ngx_http_shared_session_scripted_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    ngx_uint_t                           i;
    ngx_http_shared_session_args_t      *a;
    ngx_http_shared_session_scripted_t  *sc;

    /* EVALSHA sha numkeys, KEYS: the ids, ARGV: prefix, now, the ids */

    sc = ngx_http_shared_session_scripted_start(r, st,
                                          NGX_HTTP_SHARED_SESSION_INVALIDATE,
                                          2 * st->nids + 5);
    if (sc == NULL) {
        return NGX_ERROR;
    }

    a = &sc->args;

    ngx_http_shared_session_args_push_int(a, st->nids);
    ngx_http_shared_session_scripted_keys(sc);

    ngx_http_shared_session_args_push_str(a, &st->prefix);
    ngx_http_shared_session_args_push_int(a, st->now);

    for (i = 0; i < st->nids; i++) {
        ngx_http_shared_session_args_push_str(a, &st->ids[i]);
    }

    return ngx_http_shared_session_scripted_send(sc);
}


static ngx_int_t
ngx_http_shared_session_scripted_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    ngx_uint_t                           i;
    ngx_http_shared_session_args_t      *a;
    ngx_http_shared_session_scripted_t  *sc;

    /*
     * EVALSHA sha numkeys, KEYS: the ids, ARGV: prefix, now, touch, the
     * number of names, the names, the ids
     */

    sc = ngx_http_shared_session_scripted_start(r, st,
                                              NGX_HTTP_SHARED_SESSION_LOAD,
                                              2 * st->nids + st->nnames + 7);
    if (sc == NULL) {
        return NGX_ERROR;
    }

    a = &sc->args;

    ngx_http_shared_session_args_push_int(a, st->nids);
    ngx_http_shared_session_scripted_keys(sc);

    ngx_http_shared_session_args_push_str(a, &st->prefix);
    ngx_http_shared_session_args_push_int(a, st->now);
    ngx_http_shared_session_args_push(a, st->touch ? "1" : "0");
    ngx_http_shared_session_args_push_int(a, st->nnames);

    for (i = 0; i < st->nnames; i++) {
        ngx_http_shared_session_args_push_str(a, &st->names[i]);
    }

    for (i = 0; i < st->nids; i++) {
        ngx_http_shared_session_args_push_str(a, &st->ids[i]);
    }

    return ngx_http_shared_session_scripted_send(sc);
}


/* the request's state, and "EVALSHA <sha>" for "n" arguments in all */

static ngx_http_shared_session_scripted_t *
ngx_http_shared_session_scripted_start(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t script, ngx_uint_t n)
{
    ngx_pool_cleanup_t                  *cln;
    ngx_http_shared_session_scripted_t  *sc;

    sc = ngx_pcalloc(r->pool, sizeof(ngx_http_shared_session_scripted_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (sc == NULL || cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_shared_session_scripted_cleanup;
    cln->data = sc;

    sc->st = st;
    sc->script = script;
    st->data = sc;

    if (ngx_http_shared_session_args_init(&sc->args, r->pool, n) != NGX_OK) {
        return NULL;
    }

    ngx_http_shared_session_args_script(&sc->args,
                                  &ngx_http_shared_session_scripted[script]);

    return sc;
}


/* the candidates' hashes */

static void
ngx_http_shared_session_scripted_keys(ngx_http_shared_session_scripted_t *sc)
{
    ngx_str_t                         key;
    ngx_uint_t                        i;
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    for (i = 0; i < st->nids; i++) {
        if (ngx_http_shared_session_store_key(st,
                                              NGX_HTTP_SHARED_SESSION_HASH,
                                              &st->ids[i], &key)
            != NGX_OK)
        {
            sc->args.failed = 1;
            return;
        }

        ngx_http_shared_session_args_push_str(&sc->args, &key);
    }
}


static ngx_int_t
ngx_http_shared_session_scripted_send(ngx_http_shared_session_scripted_t *sc)
{
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    sc->cmd.conn = st->conn;
    sc->cmd.log = st->request->connection->log;
    sc->cmd.timeout = st->timeout;
    sc->cmd.handler = ngx_http_shared_session_scripted_reply;
    sc->cmd.data = sc;

    /* the first key follows "EVALSHA sha numkeys" */

    return ngx_http_shared_session_conn_send(&sc->cmd, &sc->args, 3,
                                             &st->error);
}


static void
ngx_http_shared_session_scripted_reply(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_scripted_t  *sc = data;

    ngx_int_t                         rc;
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    if (reply == NULL) {
        st->error = *error;
        st->handler(st->request, st, NGX_ERROR);
        return;
    }

    if (sc->script == NGX_HTTP_SHARED_SESSION_LOAD) {
        rc = ngx_http_shared_session_scripted_parse_load(sc, reply);

    } else {
        rc = ngx_http_shared_session_scripted_parse(sc, reply);
    }

    st->handler(st->request, st, rc);
}


static ngx_int_t
ngx_http_shared_session_scripted_parse(ngx_http_shared_session_scripted_t *sc,
    redisReply *reply)
{
    size_t                            i, first;
    ngx_str_t                         id;
    redisReply                       *e;
    ngx_http_request_t               *r;
    ngx_http_shared_session_store_t  *st;

    st = sc->st;
    r = st->request;

    if (reply->type == REDIS_REPLY_ERROR) {
        return ngx_http_shared_session_scripted_error(sc, reply);
    }

    first = (sc->script == NGX_HTTP_SHARED_SESSION_TOUCH) ? 3 : 1;

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements < first
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer < 0
        || (ngx_uint_t) reply->element[0]->integer > st->nids)
    {
        goto invalid;
    }

    st->found = (ngx_uint_t) reply->element[0]->integer;

    for (i = first; i < reply->elements; i++) {
        e = reply->element[i];

        if (e->type == REDIS_REPLY_STRING) {
            id.data = (u_char *) e->str;
            id.len = e->len;
            ngx_http_shared_session_store_invalid(st, &id);
        }
    }

    if (sc->script != NGX_HTTP_SHARED_SESSION_TOUCH) {
        return NGX_OK;
    }

    e = reply->element[1];

    if (e->type != REDIS_REPLY_STRING
        || ngx_http_shared_session_store_number((u_char *) e->str, e->len,
                                                &st->creation_time)
           != NGX_OK)
    {
        goto invalid;
    }

    e = reply->element[2];

    if (e->type == REDIS_REPLY_STRING) {
        st->previous.len = e->len;
        st->previous.data = ngx_pnalloc(r->pool, e->len + 1);
        if (st->previous.data == NULL) {
            ngx_str_set(&st->error, "out of memory");
            return NGX_ERROR;
        }

        ngx_memcpy(st->previous.data, e->str, e->len);

    } else if (e->type != REDIS_REPLY_NIL) {
        goto invalid;
    }

    return NGX_OK;

invalid:

    ngx_str_set(&st->error, "unexpected reply to session script");

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_shared_session_scripted_parse_load(
    ngx_http_shared_session_scripted_t *sc, redisReply *reply)
{
    size_t                            i;
    int64_t                           v[3];
    ngx_str_t                         id;
    redisReply                       *e, *bad;
    ngx_http_request_t               *r;
    ngx_http_shared_session_store_t  *st;

    st = sc->st;
    r = st->request;

    if (reply->type == REDIS_REPLY_ERROR) {
        return ngx_http_shared_session_scripted_error(sc, reply);
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[0]->integer < 0
        || (ngx_uint_t) reply->element[0]->integer > st->nids
        || reply->element[1]->type != REDIS_REPLY_ARRAY)
    {
        goto invalid;
    }

    st->found = (ngx_uint_t) reply->element[0]->integer;
    bad = reply->element[1];

    for (i = 0; i < bad->elements; i++) {
        e = bad->element[i];

        if (e->type == REDIS_REPLY_STRING) {
            id.data = (u_char *) e->str;
            id.len = e->len;
            ngx_http_shared_session_store_invalid(st, &id);
            st->bad++;
        }
    }

    if (st->found == 0) {
        return NGX_OK;
    }

    if (reply->elements != 5 + st->nnames) {
        goto invalid;
    }

    for (i = 0; i < 3; i++) {
        e = reply->element[2 + i];

        if (e->type != REDIS_REPLY_STRING
            || ngx_http_shared_session_store_number((u_char *) e->str,
                                                    e->len, &v[i])
               != NGX_OK)
        {
            goto invalid;
        }
    }

    st->creation_time = v[0];
    st->last_accessed_time = v[1];
    st->interval = v[2];

    if (st->nnames == 0) {
        return NGX_OK;
    }

    st->values = ngx_pcalloc(r->pool, st->nnames * sizeof(ngx_str_t));
    if (st->values == NULL) {
        ngx_str_set(&st->error, "out of memory");
        return NGX_ERROR;
    }

    for (i = 0; i < st->nnames; i++) {
        e = reply->element[5 + i];

        if (e->type == REDIS_REPLY_NIL) {
            continue;
        }

        if (e->type != REDIS_REPLY_STRING) {
            goto invalid;
        }

        /* the reply is freed after its handler returns */

        st->values[i].data = ngx_pnalloc(r->pool, e->len + 1);
        if (st->values[i].data == NULL) {
            ngx_str_set(&st->error, "out of memory");
            return NGX_ERROR;
        }

        ngx_memcpy(st->values[i].data, e->str, e->len);
        st->values[i].len = e->len;
    }

    return NGX_OK;

invalid:

    ngx_str_set(&st->error, "unexpected reply to session script");

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_shared_session_scripted_error(ngx_http_shared_session_scripted_t *sc,
    redisReply *reply)
{
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    st->error.len = reply->len;
    st->error.data = ngx_pnalloc(st->request->pool, reply->len);

    if (st->error.data == NULL) {
        ngx_str_set(&st->error, "error reply");
        return NGX_ERROR;
    }

    ngx_memcpy(st->error.data, reply->str, reply->len);

    return NGX_ERROR;
}


/* the request is going away before its reply: the reply must not touch it */

static void
ngx_http_shared_session_scripted_cleanup(void *data)
{
    ngx_http_shared_session_scripted_t  *sc = data;

    ngx_http_shared_session_conn_cancel(&sc->cmd);
}
