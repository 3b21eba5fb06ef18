
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
     * ARGV: prefix, now, serializer, 4-11 as NGX_HTTP_SHARED_SESSION_LUA_
     * TOUCH says, 12 the field, 13 the value, then per key (ids, new_id)
     * with buckets or the sorted set: the shadow key and the member
     * ("expires:<id>" or "<id>" serialized).  Returns {index or 0,
     * creationTime as stored, previous attribute, then per bad id: its
     * index and the other format it is in, or ""}.
     *
     * The first write (ZADD or SADD to the expirations, SET of the shadow
     * key, HMSET in the default repository) is the only one that can
     * fail, on a key of another type or when Redis is out of memory (the
     * hash was just read as a hash; SET replaces any type): Redis does not
     * undo a script's writes, so it fails before anything is written.
     * Spring's created event for a new session is published after the
     * script (scripted_reply()).
     */

    ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    NGX_HTTP_SHARED_SESSION_LUA_TOUCH
    "local field, value = ARGV[12], ARGV[13]\n"
    "local stride = layout == 'default' and 0 or 2\n"
    "local bad = {}\n"
    "for i = 1, #KEYS - 1 do\n"
    "  local state, f, la, n = fields(KEYS[i], s_conf, conf, field)\n"
    "  if state == 'ok' then\n"
    "    local j = 13 + stride * (i - 1)\n"
    "    save(KEYS[i], n, la, ARGV[j + 1], ARGV[j + 2],\n"
    "         'lastAccessedTime', ARGV[11], field, value)\n"
    "    return {i, f[1], f[4], unpack(bad)}\n"
    "  elseif state == 'bad' then\n"
    "    bad[#bad + 1] = i\n"
    "    bad[#bad + 1] = f\n"
    "  end\n"
    "end\n"
    "local key = KEYS[#KEYS]\n"
    "if redis.call('EXISTS', key) == 1 then\n"
    "  return redis.error_reply('ERR session id collision')\n"
    "end\n"
    "local j = 13 + stride * (#KEYS - 1)\n"
    "save(key, conf, nil, ARGV[j + 1], ARGV[j + 2],\n"
    "     'creationTime', ARGV[11], 'maxInactiveInterval', s_conf,\n"
    "     'lastAccessedTime', ARGV[11], field, value)\n"
    "return {0, ARGV[2], false, unpack(bad)}\n"),

    /*
     * KEYS: the hashes of the candidate ids; ARGV: prefix, now,
     * serializer, repository, expiration store, 0 serialized, the
     * principal's field, its index's key prefix, then per id: id,
     * "expires:<id>" and "<id>" serialized.  Returns {index or 0, then
     * per bad id: its index and the other format it is in, or ""}
     *
     * As Spring's deleteById: the default repository deletes the hash; the
     * indexed one removes the id from its principal's index (Spring's own
     * attribute: a principal in a Spring Security context is not read)
     * and from its expirations, deletes the shadow key, sets
     * maxInactiveInterval 0 for 300 s, and with buckets adds the member to
     * the bucket of lastAccessedTime + 0 for 300 s, which Spring's cleanup
     * job then probes (the sorted set keeps no entry: Spring's listener
     * removes the one its save adds).  The principal's name is the stored
     * String decoded: JSON by cjson, JDK from Java's modified UTF-8, as
     * Spring makes the index's key of it.
     */

    ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    "local repo, store = ARGV[4], ARGV[5]\n"
    "local function bucket(expiry)\n"
    "  local m = (math.floor(expiry / 60000) + 1) * 60000\n"
    "  return prefix .. 'expirations:' .. string.format('%.0f', m)\n"
    "end\n"
    "local function principal(v)\n"
    "  if not v then return nil end\n"
    "  if ser == 'json' then\n"
    "    local ok, s = pcall(cjson.decode, v)\n"
    "    if ok and type(s) == 'string' then return s end\n"
    "    return nil\n"
    "  end\n"
    "  local a, b = string.byte(v, 6, 7)\n"
    "  if string.sub(v, 1, 5) ~= '\\172\\237\\0\\5t' or not b\n"
    "     or #v ~= 7 + a * 256 + b then\n"
    "    return nil\n"
    "  end\n"
    "  local s = string.gsub(string.sub(v, 8),\n"
    "    '\\237([\\160-\\175])([\\128-\\191])'\n"
    "    .. '\\237([\\176-\\191])([\\128-\\191])',\n"
    "    function(h1, h2, l1, l2)\n"
    "      local c = 65536 + ((string.byte(h1) - 160) * 64\n"
    "                         + string.byte(h2) - 128) * 1024\n"
    "                + (string.byte(l1) - 176) * 64 + string.byte(l2) - 128\n"
    "      return string.char(240 + math.floor(c / 262144),\n"
    "                         128 + math.floor(c / 4096) % 64,\n"
    "                         128 + math.floor(c / 64) % 64, 128 + c % 64)\n"
    "    end)\n"
    "  s = string.gsub(s, '\\237[\\160-\\191][\\128-\\191]', '?')\n"
    "  return (string.gsub(s, '\\192\\128', '\\0'))\n"
    "end\n"
    "local bad = {}\n"
    "for i = 1, #KEYS do\n"
    "  local id, member, zmember = ARGV[8 + 3 * i - 2], ARGV[8 + 3 * i - 1],\n"
    "                              ARGV[8 + 3 * i]\n"
    "  local state, f, la, n = fields(KEYS[i], nil, nil, ARGV[7])\n"
    "  if state == 'bad' then\n"
    "    bad[#bad + 1] = i\n"
    "    bad[#bad + 1] = f\n"
    "  elseif state == 'ok' then\n"
    "    if repo == 'default' then\n"
    "      redis.call('DEL', KEYS[i])\n"
    "      return {i, unpack(bad)}\n"
    "    end\n"
    "    local name = principal(f[4])\n"
    "    if name then\n"
    "      redis.pcall('SREM', ARGV[8] .. name, zmember)\n"
    "    end\n"
    "    if store == 'zset' then\n"
    "      redis.pcall('ZREM', prefix .. 'sessions:expirations', zmember)\n"
    "    elseif n >= 0 then\n"
    "      redis.pcall('SREM', bucket(la + n * 1000), member)\n"
    "    end\n"
    "    redis.call('DEL', prefix .. 'sessions:expires:' .. id)\n"
    "    redis.call('HMSET', KEYS[i], 'maxInactiveInterval', ARGV[6])\n"
    "    redis.call('PEXPIRE', KEYS[i], '300000')\n"
    "    if store == 'buckets' then\n"
    "      local b = bucket(la)\n"
    "      if type(redis.pcall('SADD', b, member)) == 'number' then\n"
    "        redis.call('PEXPIRE', b, '300000')\n"
    "      end\n"
    "    end\n"
    "    return {i, unpack(bad)}\n"
    "  end\n"
    "end\n"
    "return {0, unpack(bad)}\n"),

    /*
     * KEYS: the hashes of the candidate ids; ARGV: prefix, now, serializer,
     * 4-11 as NGX_HTTP_SHARED_SESSION_LUA_TOUCH says, 12 "1" to touch, 13
     * the touch interval's threshold (now - shared_session_touch_interval,
     * "" for none), 14 the number of names, the names (lowercase hash
     * fields), then per id with buckets or the sorted set: the shadow key
     * and the member.  Returns {index, {bad ids}, creationTime,
     * lastAccessedTime, maxInactiveInterval as stored, the names' values
     * (nil: absent)}, or {0, {bad ids}}; a bad id is its index and the
     * other format it is in, or "".
     *
     * The touch is the endpoint's for a session found, without the
     * attribute: the session is never created, and an ended one is left
     * as it is.  A session touched since the threshold whose bucket stays
     * is not written at all (ngx_http_shared_session_store_fresh()).
     * Hash fields are compared with the names without case (the names
     * come from nginx variables, which nginx lowercases): with names, one
     * HGETALL reads the numbers and the attributes.
     */

    ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    NGX_HTTP_SHARED_SESSION_LUA_TOUCH
    "local touch, fresh = ARGV[12] == '1', tonumber(ARGV[13])\n"
    "local nn = tonumber(ARGV[14])\n"
    "local stride = layout == 'default' and 0 or 2\n"
    "local function read(key)\n"
    "  if nn == 0 then return fields(key, s_conf, conf) end\n"
    "  local h = redis.pcall('HGETALL', key)\n"
    "  if h.err then return 'bad', '' end\n"
    "  if #h == 0 then return 'none' end\n"
    "  local want, f, v = {}, {false, false, false}, {}\n"
    "  for j = 1, nn do\n"
    "    want[ARGV[14 + j]] = j\n"
    "    v[j] = false\n"
    "  end\n"
    "  for k = 1, #h, 2 do\n"
    "    local name = h[k]\n"
    "    if name == 'creationTime' then\n"
    "      f[1] = h[k + 1]\n"
    "    elseif name == 'lastAccessedTime' then\n"
    "      f[2] = h[k + 1]\n"
    "    elseif name == 'maxInactiveInterval' then\n"
    "      f[3] = h[k + 1]\n"
    "    else\n"
    "      local j = want[string.lower(name)]\n"
    "      if j and not v[j] then v[j] = h[k + 1] end\n"
    "    end\n"
    "  end\n"
    "  local state, g, la, n = judge(f, s_conf, conf)\n"
    "  return state, g, la, n, v\n"
    "end\n"
    "local bad = {}\n"
    "for i = 1, #KEYS do\n"
    "  local state, f, la, n, v = read(KEYS[i])\n"
    "  if state == 'ok' then\n"
    "    if touch and not (fresh and la > fresh and kept(n, la)) then\n"
    "      local j = 14 + nn + stride * (i - 1)\n"
    "      save(KEYS[i], n, la, ARGV[j + 1], ARGV[j + 2],\n"
    "           'lastAccessedTime', ARGV[11])\n"
    "    end\n"
    "    if nn == 0 then return {i, bad, f[1], f[2], f[3]} end\n"
    "    return {i, bad, f[1], f[2], f[3], unpack(v, 1, nn)}\n"
    "  elseif state == 'bad' then\n"
    "    bad[#bad + 1] = i\n"
    "    bad[#bad + 1] = f\n"
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
static void ngx_http_shared_session_scripted_common(
    ngx_http_shared_session_scripted_t *sc);
static void ngx_http_shared_session_scripted_layout(
    ngx_http_shared_session_scripted_t *sc);
static void ngx_http_shared_session_scripted_id(
    ngx_http_shared_session_scripted_t *sc, ngx_uint_t i);
static void ngx_http_shared_session_scripted_plan(
    ngx_http_shared_session_scripted_t *sc);
static void ngx_http_shared_session_scripted_pair(
    ngx_http_shared_session_scripted_t *sc, ngx_uint_t i);
static ngx_int_t ngx_http_shared_session_scripted_publish(
    ngx_http_shared_session_scripted_t *sc);
static void ngx_http_shared_session_scripted_published(void *data,
    redisReply *reply, ngx_str_t *error);
static ngx_uint_t ngx_http_shared_session_scripted_bad(
    ngx_http_shared_session_store_t *st, redisReply **e, size_t n);
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
    ngx_str_t                            key;
    ngx_uint_t                           i;
    ngx_http_shared_session_args_t      *a;
    ngx_http_shared_session_scripted_t  *sc;

    /*
     * EVALSHA sha numkeys, KEYS: the ids and the new one, ARGV: 13, then 2
     * per key
     */

    sc = ngx_http_shared_session_scripted_start(r, st,
                                              NGX_HTTP_SHARED_SESSION_TOUCH,
                                              3 * st->nids + 19);
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

    ngx_http_shared_session_scripted_common(sc);
    ngx_http_shared_session_scripted_plan(sc);
    ngx_http_shared_session_args_push_str(a, &st->field);
    ngx_http_shared_session_args_push_str(a, &st->value);

    for (i = 0; i <= st->nids; i++) {
        ngx_http_shared_session_scripted_pair(sc, i);
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

    /* EVALSHA sha numkeys, KEYS: the ids, ARGV: 8, then 3 per id */

    sc = ngx_http_shared_session_scripted_start(r, st,
                                          NGX_HTTP_SHARED_SESSION_INVALIDATE,
                                          4 * st->nids + 11);
    if (sc == NULL) {
        return NGX_ERROR;
    }

    a = &sc->args;

    ngx_http_shared_session_args_push_int(a, st->nids);
    ngx_http_shared_session_scripted_keys(sc);

    ngx_http_shared_session_scripted_common(sc);
    ngx_http_shared_session_scripted_layout(sc);
    ngx_http_shared_session_args_push_str(a, &st->s_zero);
    ngx_http_shared_session_args_push(a,
                             "sessionAttr:" NGX_HTTP_SHARED_SESSION_PRINCIPAL);
    ngx_http_shared_session_args_push_str(a, &st->index);

    for (i = 0; i < st->nids; i++) {
        ngx_http_shared_session_scripted_id(sc, i);
    }

    return ngx_http_shared_session_scripted_send(sc);
}


/* what every script takes first: the prefix, the time, the serializer */

static void
ngx_http_shared_session_scripted_common(ngx_http_shared_session_scripted_t *sc)
{
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    ngx_http_shared_session_args_push_str(&sc->args, &st->prefix);
    ngx_http_shared_session_args_push_int(&sc->args, st->now);
    ngx_http_shared_session_args_push_str(&sc->args,
                &ngx_http_shared_session_store_serializers[st->ser->format]);
}


/* the repository and the expiration store, as the scripts name them */

static void
ngx_http_shared_session_scripted_layout(ngx_http_shared_session_scripted_t *sc)
{
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    ngx_http_shared_session_args_push(&sc->args,
                          st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT
                          ? "default" : "indexed");
    ngx_http_shared_session_args_push(&sc->args,
                          st->expiration_store
                          == NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET
                          ? "zset" : "buckets");
}


/*
 * ARGV 4-11 of the touch and the lookup (NGX_HTTP_SHARED_SESSION_LUA_
 * TOUCH): the layout, and what a touch of a session with the configured
 * interval writes, computed here from the request's time rather than in
 * Lua for every request.
 */

static void
ngx_http_shared_session_scripted_plan(ngx_http_shared_session_scripted_t *sc)
{
    u_char                           *p;
    int64_t                           n, expiry;
    ngx_str_t                         score;
    ngx_http_shared_session_args_t   *a;
    ngx_http_shared_session_store_t  *st;

    st = sc->st;
    a = &sc->args;

    n = st->max_inactive_interval;
    expiry = st->now + n * 1000;

    if (st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT) {
        ngx_http_shared_session_args_push(a, "default");

    } else if (st->expiration_store == NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET) {
        ngx_http_shared_session_args_push(a, "zset");

    } else {
        ngx_http_shared_session_args_push(a, "buckets");
    }

    ngx_http_shared_session_args_push_str(a, &st->s_interval);
    ngx_http_shared_session_args_push_int(a, n);
    ngx_http_shared_session_args_push_int(a,
                                          ngx_http_shared_session_store_ttl(n));
    ngx_http_shared_session_args_push_int(a, n * 1000);

    /* the bucket's minute, less the interval: where lastAccessedTime is */

    ngx_http_shared_session_args_push_int(a,
                          ngx_http_shared_session_store_bucket(expiry) - 60000
                          - n * 1000);

    if (st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT) {
        ngx_http_shared_session_args_push_int(a, expiry);

    } else if (st->expiration_store == NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET) {

        /* SortedSetRedisSessionExpirationStore's score: Java's text */

        p = ngx_pnalloc(st->request->pool, NGX_HTTP_SHARED_SESSION_SCORE_LEN);
        if (p == NULL) {
            a->failed = 1;
            return;
        }

        score.data = p;
        score.len = ngx_http_shared_session_serialize_score(p, expiry) - p;

        ngx_http_shared_session_args_push_str(a, &score);

    } else {
        ngx_http_shared_session_args_push(a, "");
    }

    ngx_http_shared_session_args_push_str(a, &st->s_now);
}


/*
 * A touch's two arguments per key (st->nids: new_id), but in the default
 * repository, which has neither: the shadow key, and the member of the
 * bucket ("expires:<id>" serialized) or of the sorted set ("<id>").
 */

static void
ngx_http_shared_session_scripted_pair(ngx_http_shared_session_scripted_t *sc,
    ngx_uint_t i)
{
    ngx_str_t                         key;
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    if (st->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT) {
        return;
    }

    if (ngx_http_shared_session_store_key(st, NGX_HTTP_SHARED_SESSION_SHADOW,
                                          i < st->nids ? &st->ids[i]
                                                       : &st->new_id,
                                          &key)
        != NGX_OK)
    {
        sc->args.failed = 1;
        return;
    }

    ngx_http_shared_session_args_push_str(&sc->args, &key);
    ngx_http_shared_session_args_push_str(&sc->args,
                                    st->expiration_store
                                    == NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET
                                    ? &st->s_ids[i] : &st->members[i]);
}


/* a key's three arguments: id, "expires:<id>" and "<id>" serialized */

static void
ngx_http_shared_session_scripted_id(ngx_http_shared_session_scripted_t *sc,
    ngx_uint_t i)
{
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    ngx_http_shared_session_args_push_str(&sc->args,
                                      i < st->nids ? &st->ids[i]
                                                   : &st->new_id);
    ngx_http_shared_session_args_push_str(&sc->args, &st->members[i]);
    ngx_http_shared_session_args_push_str(&sc->args, &st->s_ids[i]);
}


static ngx_int_t
ngx_http_shared_session_scripted_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    ngx_uint_t                           i;
    ngx_http_shared_session_args_t      *a;
    ngx_http_shared_session_scripted_t  *sc;

    /*
     * EVALSHA sha numkeys, KEYS: the ids, ARGV: 14, the names, then 2 per
     * id
     */

    sc = ngx_http_shared_session_scripted_start(r, st,
                                              NGX_HTTP_SHARED_SESSION_LOAD,
                                              3 * st->nids + st->nnames + 17);
    if (sc == NULL) {
        return NGX_ERROR;
    }

    a = &sc->args;

    ngx_http_shared_session_args_push_int(a, st->nids);
    ngx_http_shared_session_scripted_keys(sc);

    ngx_http_shared_session_scripted_common(sc);
    ngx_http_shared_session_scripted_plan(sc);
    ngx_http_shared_session_args_push(a, st->touch ? "1" : "0");

    if (st->touch_interval) {
        ngx_http_shared_session_args_push_int(a,
                                  st->now - (int64_t) st->touch_interval);

    } else {
        ngx_http_shared_session_args_push(a, "");
    }

    ngx_http_shared_session_args_push_int(a, st->nnames);

    for (i = 0; i < st->nnames; i++) {
        ngx_http_shared_session_args_push_str(a, &st->names[i]);
    }

    for (i = 0; i < st->nids; i++) {
        ngx_http_shared_session_scripted_pair(sc, i);
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

    if (rc == NGX_OK && sc->script == NGX_HTTP_SHARED_SESSION_TOUCH
        && st->found == 0)
    {
        rc = ngx_http_shared_session_scripted_publish(sc);

        if (rc == NGX_DONE) {
            /* published() answers the request */
            return;
        }
    }

    st->handler(st->request, st, rc);
}


/*
 * The script created new_id: Spring's created event for it, as its own
 * save() publishes it, on the same connection; only then is the request
 * answered.  NGX_DONE: sent; NGX_OK: none to send (the default
 * repository), or a server that cannot be asked now (logged: the session
 * is written, the event missing); NGX_ERROR: out of memory.
 */

static ngx_int_t
ngx_http_shared_session_scripted_publish(ngx_http_shared_session_scripted_t *sc)
{
    ngx_int_t                         rc;
    ngx_str_t                         error;
    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    rc = ngx_http_shared_session_store_created(st);
    if (rc != NGX_OK) {
        if (rc == NGX_ERROR) {
            ngx_str_set(&st->error, "out of memory");
        }

        return rc == NGX_DECLINED ? NGX_OK : NGX_ERROR;
    }

    if (ngx_http_shared_session_args_init(&sc->args, st->request->pool, 3)
        != NGX_OK)
    {
        ngx_str_set(&st->error, "out of memory");
        return NGX_ERROR;
    }

    ngx_http_shared_session_args_push(&sc->args, "PUBLISH");
    ngx_http_shared_session_args_push_str(&sc->args, &st->channel);
    ngx_http_shared_session_args_push_str(&sc->args, &st->event);

    sc->cmd.handler = ngx_http_shared_session_scripted_published;

    ngx_str_null(&error);

    rc = ngx_http_shared_session_conn_send(&sc->cmd, &sc->args, 1, &error);

    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    if (rc == NGX_ERROR) {
        ngx_str_set(&st->error, "out of memory");
        return NGX_ERROR;
    }

    ngx_http_shared_session_store_unpublished(st, error.data, error.len);

    return NGX_OK;
}


/*
 * The created event's answer: the session is written whatever it says; a
 * refusal (an ACL without PUBLISH) or a lost connection leaves the event
 * missing, logged.
 */

static void
ngx_http_shared_session_scripted_published(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_scripted_t  *sc = data;

    ngx_http_shared_session_store_t  *st;

    st = sc->st;

    if (reply == NULL) {
        ngx_http_shared_session_store_unpublished(st, error->data,
                                                  error->len);

    } else if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_shared_session_store_unpublished(st, (u_char *) reply->str,
                                                  reply->len);
    }

    st->handler(st->request, st, NGX_OK);
}


static ngx_int_t
ngx_http_shared_session_scripted_parse(ngx_http_shared_session_scripted_t *sc,
    redisReply *reply)
{
    size_t                            first;
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

    (void) ngx_http_shared_session_scripted_bad(st, reply->element + first,
                                                reply->elements - first);

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


/*
 * A script's bad ids, logged: per id its index among st->ids and the other
 * serializer's name if all of its numbers are in that one, or "".  What is
 * not that is passed over.  Returns how many there were.
 */

static ngx_uint_t
ngx_http_shared_session_scripted_bad(ngx_http_shared_session_store_t *st,
    redisReply **e, size_t n)
{
    size_t       i;
    ngx_str_t   *name;
    ngx_uint_t   k, format, count;
    redisReply  *f;

    count = 0;

    for (i = 0; i < n; i++) {
        if (e[i]->type != REDIS_REPLY_INTEGER
            || e[i]->integer < 1
            || (unsigned long long) e[i]->integer > st->nids)
        {
            continue;
        }

        k = (ngx_uint_t) e[i]->integer - 1;
        format = NGX_HTTP_SHARED_SESSION_FORMAT_NONE;

        if (i + 1 < n && e[i + 1]->type == REDIS_REPLY_STRING) {
            f = e[++i];

            for (format = 0; format < 2; format++) {
                name = &ngx_http_shared_session_store_serializers[format];

                if (f->len == name->len
                    && ngx_strncmp(f->str, name->data, f->len) == 0)
                {
                    break;
                }
            }

            if (format == 2) {
                format = NGX_HTTP_SHARED_SESSION_FORMAT_NONE;
            }
        }

        ngx_http_shared_session_store_invalid(st, &st->ids[k], format);
        count++;
    }

    return count;
}


static ngx_int_t
ngx_http_shared_session_scripted_parse_load(
    ngx_http_shared_session_scripted_t *sc, redisReply *reply)
{
    size_t                            i;
    int64_t                           v[3];
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

    st->bad = ngx_http_shared_session_scripted_bad(st, bad->element,
                                                   bad->elements);

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
