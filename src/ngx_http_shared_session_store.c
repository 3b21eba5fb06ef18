
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_http_shared_session_store.h"




/*
 * Each request is one script, so that reading, checking expiry and writing
 * a session happen atomically: a touch racing an invalidation or an expiry
 * never recreates a partial hash, and a request costs one round trip.
 *
 * A maxInactiveInterval of 0 is an ended session (Spring 3.4's invalidation
 * writes it) whatever lastAccessedTime says: one ahead of this clock (another
 * host's, or a request that began later) must not revive it.
 *
 * Whether a session is still live is judged by Redis's clock (TIME), the
 * one clock every host sharing the sessions sees: a host whose clock lags,
 * or a request that waited, must not revive a session that Spring already
 * took for expired.  The request's time is still what is written
 * (lastAccessedTime, the expiry bucket), as each Spring host writes its
 * own.  A script that reads TIME and then writes is replicated by its
 * effects: the default from Redis 5 on (the only way in Redis 7), asked
 * for with redis.replicate_commands() on Redis 3.2 to 4.
 *
 * Numbers are read as decimal text, or as ["java.lang.Long",n] and
 * ["java.lang.Integer",n] (spring-data-redis 2.7.0-2.7.1), and written as
 * decimal text, as GenericJackson2JsonRedisSerializer does.  Lua numbers
 * are doubles: anything past 2^53 is refused rather than rounded.
 */

#define NGX_HTTP_SHARED_SESSION_LUA_COMMON                                    \
    "if redis.replicate_commands then redis.replicate_commands() end\n"       \
    "local prefix, now = ARGV[1], tonumber(ARGV[2])\n"                        \
    "local t = redis.call('TIME')\n"                                          \
    "local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"\
    "local function num(v)\n"                                                 \
    "  if not v then return nil end\n"                                        \
    "  local d = string.match(v, '^%-?%d+$')\n"                               \
    "    or string.match(v, '^%[\"java%.lang%.Long\",(%-?%d+)%]$')\n"         \
    "    or string.match(v, '^%[\"java%.lang%.Integer\",(%-?%d+)%]$')\n"      \
    "  if not d or #d > 17 then return nil end\n"                             \
    "  local n = tonumber(d)\n"                                               \
    "  if n >= 2^53 or n <= -2^53 then return nil end\n"                      \
    "  return n\n"                                                            \
    "end\n"                                                                   \
    "local function fields(key, ...)\n"                                       \
    "  local f = redis.pcall('HMGET', key, 'creationTime',\n"                 \
    "                        'lastAccessedTime', 'maxInactiveInterval', ...)\n"\
    "  if f.err then return 'bad' end\n"                                      \
    "  if not (f[1] or f[2] or f[3]) then\n"                                  \
    "    if redis.call('EXISTS', key) == 0 then return 'none' end\n"          \
    "    return 'bad'\n"                                                      \
    "  end\n"                                                                 \
    "  local ct, la, n = num(f[1]), num(f[2]), num(f[3])\n"                   \
    "  if not (ct and la and n) or n < -2147483648 or n > 2147483647 then\n"  \
    "    return 'bad'\n"                                                      \
    "  end\n"                                                                 \
    "  if n == 0 or n > 0 and clock >= la + n * 1000 then\n"                 \
    "    return 'expired'\n"                                                  \
    "  end\n"                                                                 \
    "  return 'ok', f, ct, la, n\n"                                           \
    "end\n"                                                                   \
    "local function bucket(expiry)\n"                                         \
    "  return prefix .. 'expirations:'\n"                                     \
    "         .. string.format('%.0f', (math.floor(expiry / 60000) + 1)\n"    \
    "                                  * 60000)\n"                            \
    "end\n"


static ngx_str_t  ngx_http_shared_session_scripts[] = {

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
    "  if old and math.floor((old + n * 1000) / 60000)\n"
    "             ~= math.floor((now + n * 1000) / 60000) then\n"
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


/*
 * The session's hash alone, for Redis Cluster, where the shadow key and the
 * expiry bucket live on other shards and are written with plain commands:
 * KEYS: the hash; ARGV: prefix, now, "1" to create (else: only if the
 * session is still live), the TTL in ms ("" for none), then the fields and
 * values to set.  Returns 1, or 0 when the session ended meanwhile.
 */

static ngx_str_t  ngx_http_shared_session_hash_script = ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    "local key = KEYS[1]\n"
    "if ARGV[3] == '1' then\n"
    "  if redis.call('EXISTS', key) == 1 then\n"
    "    return redis.error_reply('ERR session id collision')\n"
    "  end\n"
    "elseif fields(key) ~= 'ok' then\n"
    "  return 0\n"
    "end\n"
    "redis.call('HMSET', key, unpack(ARGV, 5))\n"
    "if ARGV[4] == '' then\n"
    "  redis.call('PERSIST', key)\n"
    "else\n"
    "  redis.call('PEXPIRE', key, ARGV[4])\n"
    "end\n"
    "return 1\n");


#define NGX_HTTP_SHARED_SESSION_NSCRIPTS                                      \
    (sizeof(ngx_http_shared_session_scripts) / sizeof(ngx_str_t))

static u_char
    ngx_http_shared_session_sha[NGX_HTTP_SHARED_SESSION_NSCRIPTS][40];
static u_char  ngx_http_shared_session_hash_sha[40];


static ngx_int_t ngx_http_shared_session_store_run(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t nargs);
static u_char *ngx_http_shared_session_store_arg(
    ngx_http_shared_session_store_t *st, ngx_uint_t i, u_char *p,
    const char *fmt, ...);
static ngx_int_t ngx_http_shared_session_store_send(
    ngx_http_shared_session_store_t *st);
static void ngx_http_shared_session_store_reply(void *data,
    redisReply *reply, ngx_str_t *error);
static ngx_int_t ngx_http_shared_session_store_parse(
    ngx_http_shared_session_store_t *st, redisReply *reply);
static ngx_int_t ngx_http_shared_session_store_parse_load(
    ngx_http_shared_session_store_t *st, redisReply *reply);
static ngx_int_t ngx_http_shared_session_store_error(
    ngx_http_shared_session_store_t *st, redisReply *reply);
static void ngx_http_shared_session_store_cleanup(void *data);


ngx_int_t
ngx_http_shared_session_store_init(ngx_conf_t *cf)
{
    u_char      digest[20];
    ngx_uint_t  i;
    ngx_sha1_t  sha1;

    for (i = 0; i < NGX_HTTP_SHARED_SESSION_NSCRIPTS; i++) {
        ngx_sha1_init(&sha1);
        ngx_sha1_update(&sha1, ngx_http_shared_session_scripts[i].data,
                        ngx_http_shared_session_scripts[i].len);
        ngx_sha1_final(digest, &sha1);

        ngx_hex_dump(ngx_http_shared_session_sha[i], digest, sizeof(digest));
    }

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, ngx_http_shared_session_hash_script.data,
                    ngx_http_shared_session_hash_script.len);
    ngx_sha1_final(digest, &sha1);

    ngx_hex_dump(ngx_http_shared_session_hash_sha, digest, sizeof(digest));

    return NGX_OK;
}


/*
 * The endpoints' scripts.  The lookup's (shared_session_require, _load) is
 * not loaded with each connection: the first lookup after Redis started
 * (or flushed its scripts) gets NOSCRIPT and sends it once as EVAL, which
 * caches it for every connection.
 */

ngx_str_t *
ngx_http_shared_session_store_scripts(ngx_uint_t *n)
{
    *n = NGX_HTTP_SHARED_SESSION_OP_LOAD;

    return ngx_http_shared_session_scripts;
}


ngx_str_t *
ngx_http_shared_session_store_hash_script(ngx_str_t *sha)
{
    if (sha) {
        sha->data = ngx_http_shared_session_hash_sha;
        sha->len = sizeof(ngx_http_shared_session_hash_sha);
    }

    return &ngx_http_shared_session_hash_script;
}


ngx_int_t
ngx_http_shared_session_store_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    u_char      *p;
    time_t       n;
    int64_t      expiry;
    ngx_uint_t   i, k, a;

    if (!st->scripts) {
        return ngx_http_shared_session_store_plain(r, st,
                                              NGX_HTTP_SHARED_SESSION_OP_TOUCH);
    }

    /* EVALSHA sha numkeys, keys: ids + new, args: 9 + ids */

    if (ngx_http_shared_session_store_run(r, st,
                                          NGX_HTTP_SHARED_SESSION_OP_TOUCH,
                                          st->nids + 1, 9 + st->nids)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    k = 3;
    a = 3 + st->nids + 1;

    for (i = 0; i < st->nids; i++) {
        st->argv[k] = (const char *) ngx_http_shared_session_store_key(
                                  r->pool, &st->prefix, "sessions:",
                                  &st->ids[i],
                                  &st->argvlen[k]);
        if (st->argv[k++] == NULL) {
            return NGX_ERROR;
        }

        st->argv[a + 9 + i] = (const char *) st->ids[i].data;
        st->argvlen[a + 9 + i] = st->ids[i].len;
    }

    st->argv[k] = (const char *) ngx_http_shared_session_store_key(r->pool,
                                  &st->prefix, "sessions:", &st->new_id,
                                  &st->argvlen[k]);
    if (st->argv[k] == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 3 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    st->argv[a + 2] = (const char *) st->field.data;
    st->argvlen[a + 2] = st->field.len;
    st->argv[a + 3] = (const char *) st->value.data;
    st->argvlen[a + 3] = st->value.len;
    st->argv[a + 5] = (const char *) st->new_id.data;
    st->argvlen[a + 5] = st->new_id.len;

    /* what Spring computes from the interval, for the configured one */

    n = st->max_inactive_interval;
    expiry = st->now + (int64_t) n * 1000;

    p = ngx_http_shared_session_store_arg(st, a + 4, p, "%T", n);
    p = ngx_http_shared_session_store_arg(st, a + 6, p, "%L",
                                          ((int64_t) n + 300) * 1000);
    p = ngx_http_shared_session_store_arg(st, a + 7, p, "%L",
                                          (int64_t) n * 1000);
    (void) ngx_http_shared_session_store_arg(st, a + 8, p, "%L",
                                             (expiry / 60000 + 1) * 60000);

    return ngx_http_shared_session_store_send(st);
}


ngx_int_t
ngx_http_shared_session_store_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    u_char      *p;
    ngx_uint_t   i, a;

    if (!st->scripts) {
        return ngx_http_shared_session_store_plain(r, st,
                                               NGX_HTTP_SHARED_SESSION_OP_LOAD);
    }

    /* EVALSHA sha numkeys, keys: ids, args: 4 + names + ids */

    if (ngx_http_shared_session_store_run(r, st,
                                          NGX_HTTP_SHARED_SESSION_OP_LOAD,
                                          st->nids,
                                          4 + st->nnames + st->nids)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    a = 3 + st->nids;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    st->argv[a + 2] = st->touch ? "1" : "0";
    st->argvlen[a + 2] = 1;
    (void) ngx_http_shared_session_store_arg(st, a + 3, p, "%ui", st->nnames);

    for (i = 0; i < st->nnames; i++) {
        st->argv[a + 4 + i] = (const char *) st->names[i].data;
        st->argvlen[a + 4 + i] = st->names[i].len;
    }

    a += 4 + st->nnames;

    for (i = 0; i < st->nids; i++) {
        st->argv[3 + i] = (const char *) ngx_http_shared_session_store_key(
                                  r->pool, &st->prefix, "sessions:",
                                  &st->ids[i],
                                  &st->argvlen[3 + i]);
        if (st->argv[3 + i] == NULL) {
            return NGX_ERROR;
        }

        st->argv[a + i] = (const char *) st->ids[i].data;
        st->argvlen[a + i] = st->ids[i].len;
    }

    return ngx_http_shared_session_store_send(st);
}


ngx_int_t
ngx_http_shared_session_store_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    ngx_uint_t  i, a;

    if (!st->scripts) {
        return ngx_http_shared_session_store_plain(r, st,
                                         NGX_HTTP_SHARED_SESSION_OP_INVALIDATE);
    }

    if (ngx_http_shared_session_store_run(r, st,
                                          NGX_HTTP_SHARED_SESSION_OP_INVALIDATE,
                                          st->nids, 2 + st->nids)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    a = 3 + st->nids;

    for (i = 0; i < st->nids; i++) {
        st->argv[3 + i] = (const char *) ngx_http_shared_session_store_key(
                                  r->pool, &st->prefix, "sessions:",
                                  &st->ids[i],
                                  &st->argvlen[3 + i]);
        if (st->argv[3 + i] == NULL) {
            return NGX_ERROR;
        }

        st->argv[a + 2 + i] = (const char *) st->ids[i].data;
        st->argvlen[a + 2 + i] = st->ids[i].len;
    }

    return ngx_http_shared_session_store_send(st);
}


/* Prints one argument at p; returns the end of what it printed. */

static u_char *
ngx_http_shared_session_store_arg(ngx_http_shared_session_store_t *st,
    ngx_uint_t i, u_char *p, const char *fmt, ...)
{
    u_char   *last;
    va_list   args;

    va_start(args, fmt);
    last = ngx_vslprintf(p, p + NGX_INT64_LEN, fmt, args);
    va_end(args);

    st->argv[i] = (const char *) p;
    st->argvlen[i] = last - p;

    return last;
}


/* Lays out "EVALSHA sha numkeys" and the two arguments every script has. */

static ngx_int_t
ngx_http_shared_session_store_run(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t script, ngx_uint_t nkeys,
    ngx_uint_t nargs)
{
    u_char              *p;
    ngx_uint_t           a;
    ngx_pool_cleanup_t  *cln;

    st->request = r;
    st->script = script;
    st->argc = 3 + nkeys + nargs;

    st->argv = ngx_palloc(r->pool, st->argc * sizeof(char *));
    st->argvlen = ngx_palloc(r->pool, st->argc * sizeof(size_t));
    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + NGX_INT64_LEN);

    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (st->argv == NULL || st->argvlen == NULL || p == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_shared_session_store_cleanup;
    cln->data = st;

    st->argv[0] = "EVALSHA";
    st->argvlen[0] = sizeof("EVALSHA") - 1;
    st->argv[1] = (const char *) ngx_http_shared_session_sha[script];
    st->argvlen[1] = 40;

    st->argv[2] = (const char *) p;
    st->argvlen[2] = ngx_sprintf(p, "%ui", nkeys) - p;
    p += st->argvlen[2];

    a = 3 + nkeys;

    st->argv[a] = (const char *) st->prefix.data;
    st->argvlen[a] = st->prefix.len;
    st->argv[a + 1] = (const char *) p;
    st->argvlen[a + 1] = ngx_sprintf(p, "%L", st->now) - p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_store_send(ngx_http_shared_session_store_t *st)
{
    st->cmd = ngx_http_shared_session_redis_send(st->redis,
                                         st->request->connection->log,
                                         st->timeout, st->timeout,
                                         st->argc, st->argv,
                                         st->argvlen,
                                         ngx_http_shared_session_store_reply,
                                         st, &st->error);

    return st->cmd ? NGX_OK : NGX_DECLINED;
}


static void
ngx_http_shared_session_store_reply(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_store_t  *st = data;

    ngx_int_t            rc;
    ngx_http_request_t  *r;

    st->cmd = NULL;
    r = st->request;

    if (reply == NULL) {
        st->error = *error;
        st->handler(r, st, NGX_ERROR);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR
        && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0
        && !st->retried)
    {
        /* the script cache was flushed: send the script itself, once */

        st->retried = 1;
        st->argv[0] = "EVAL";
        st->argvlen[0] = sizeof("EVAL") - 1;
        st->argv[1] = (const char *)
                          ngx_http_shared_session_scripts[st->script].data;
        st->argvlen[1] = ngx_http_shared_session_scripts[st->script].len;

        if (ngx_http_shared_session_store_send(st) == NGX_OK) {
            return;
        }

        st->handler(r, st, NGX_ERROR);
        return;
    }

    if (st->script == NGX_HTTP_SHARED_SESSION_OP_LOAD) {
        rc = ngx_http_shared_session_store_parse_load(st, reply);

    } else {
        rc = ngx_http_shared_session_store_parse(st, reply);
    }

    st->handler(r, st, rc);
}


static ngx_int_t
ngx_http_shared_session_store_parse(ngx_http_shared_session_store_t *st,
    redisReply *reply)
{
    size_t               i, first;
    redisReply          *e;
    ngx_http_request_t  *r;

    r = st->request;

    if (reply->type == REDIS_REPLY_ERROR) {
        return ngx_http_shared_session_store_error(st, reply);
    }

    first = (st->script == NGX_HTTP_SHARED_SESSION_OP_TOUCH) ? 3 : 1;

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
            ngx_http_shared_session_store_invalid(st, (u_char *) e->str,
                                                  e->len);
        }
    }

    if (st->script != NGX_HTTP_SHARED_SESSION_OP_TOUCH) {
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
ngx_http_shared_session_store_parse_load(ngx_http_shared_session_store_t *st,
    redisReply *reply)
{
    size_t               i;
    int64_t              n;
    redisReply          *e, *bad;
    ngx_http_request_t  *r;

    r = st->request;

    if (reply->type == REDIS_REPLY_ERROR) {
        return ngx_http_shared_session_store_error(st, reply);
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
            ngx_http_shared_session_store_invalid(st, (u_char *) e->str,
                                                  e->len);
            st->bad++;
        }
    }

    if (st->found == 0) {
        return NGX_OK;
    }

    if (reply->elements != 5 + st->nnames) {
        goto invalid;
    }

    for (i = 2; i < 5; i++) {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING
            || ngx_http_shared_session_store_number((u_char *) e->str,
                                                    e->len, &n)
               != NGX_OK)
        {
            goto invalid;
        }

        if (i == 2) {
            st->creation_time = n;

        } else if (i == 3) {
            st->last_accessed_time = n;

        } else {
            st->interval = n;
        }
    }

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
ngx_http_shared_session_store_error(ngx_http_shared_session_store_t *st,
    redisReply *reply)
{
    st->error.len = reply->len;
    st->error.data = ngx_pnalloc(st->request->pool, reply->len);

    if (st->error.data == NULL) {
        ngx_str_set(&st->error, "error reply");
        return NGX_ERROR;
    }

    ngx_memcpy(st->error.data, reply->str, reply->len);

    return NGX_ERROR;
}


/*
 * A stored number: decimal text, or typed as spring-data-redis 2.7.0-2.7.1
 * wrote it, ["java.lang.Long",n] or ["java.lang.Integer",n].
 */

ngx_int_t
ngx_http_shared_session_store_number(u_char *p, size_t len, int64_t *n)
{
    off_t       v;
    ngx_str_t  *t;
    ngx_uint_t  minus;

    static ngx_str_t  typed[] = {
        ngx_string("[\"java.lang.Long\","),
        ngx_string("[\"java.lang.Integer\","),
        ngx_null_string
    };

    for (t = typed; t->len; t++) {
        if (len > t->len && p[len - 1] == ']'
            && ngx_strncmp(p, t->data, t->len) == 0)
        {
            p += t->len;
            len -= t->len + 1;
            break;
        }
    }

    minus = (len && *p == '-');

    /* as the scripts read numbers: at most 17 characters, below 2^53 */

    if (len > 17) {
        return NGX_ERROR;
    }

    v = ngx_atoof(p + minus, len - minus);
    if (v == NGX_ERROR || v >= ((off_t) 1 << 53)) {
        return NGX_ERROR;
    }

    *n = minus ? -v : v;

    return NGX_OK;
}


/* the request is going away before its reply: the reply must not touch it */

static void
ngx_http_shared_session_store_cleanup(void *data)
{
    ngx_http_shared_session_store_t  *st = data;

    if (st->cmd) {
        ngx_http_shared_session_redis_cancel(st->cmd);
        st->cmd = NULL;
    }
}


/* "<prefix><kind><id>", kind being "sessions:" or "sessions:expires:" */

u_char *
ngx_http_shared_session_store_key(ngx_pool_t *pool, ngx_str_t *prefix,
    const char *kind, ngx_str_t *id, size_t *len)
{
    u_char  *key, *p;
    size_t   n;

    n = ngx_strlen(kind);
    *len = prefix->len + n + id->len;

    key = ngx_pnalloc(pool, *len);
    if (key == NULL) {
        return NULL;
    }

    p = ngx_cpymem(key, prefix->data, prefix->len);
    p = ngx_cpymem(p, kind, n);
    ngx_memcpy(p, id->data, id->len);

    return key;
}


void
ngx_http_shared_session_store_invalid(ngx_http_shared_session_store_t *st,
    u_char *id, size_t len)
{
    ngx_log_error(NGX_LOG_WARN, st->request->connection->log, 0,
                  "shared session: invalid session \"%*s\" in redis %V: "
                  "not a hash with creationTime, lastAccessedTime and "
                  "maxInactiveInterval; left untouched",
                  len, id, st->name);
}
