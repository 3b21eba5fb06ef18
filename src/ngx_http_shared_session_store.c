
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_http_shared_session_store.h"
#include "ngx_http_shared_session_jdk.h"


#define NGX_HTTP_SHARED_SESSION_TOUCH       0
#define NGX_HTTP_SHARED_SESSION_INVALIDATE  1


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
 * Numbers are read in both of Spring's formats (ARGV[3] says which one
 * the location writes): JSON, decimal text or ["java.lang.Long",n] and
 * ["java.lang.Integer",n] (spring-data-redis 2.7.0-2.7.1), and JDK, a
 * serialized Long or Integer.  A hash whose numbers are in the other
 * format, or in no one format, is not a session for this location: it is
 * left as it is, and reported with the format found ("<id>:json",
 * "<id>:jdk", or "<id>" alone).  Every value written comes serialized
 * from nginx (src/ngx_http_shared_session_serializer.c).  Lua numbers are
 * doubles: anything past 2^53 is refused rather than rounded.
 */

#define NGX_HTTP_SHARED_SESSION_LUA_COMMON                                    \
    "if redis.replicate_commands then redis.replicate_commands() end\n"       \
    "local prefix, now, ser = ARGV[1], tonumber(ARGV[2]), ARGV[3]\n"          \
    "local t = redis.call('TIME')\n"                                          \
    "local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"\
    NGX_HTTP_SHARED_SESSION_JDK_LUA                                           \
    "local function json_num(v)\n"                                            \
    "  local d = string.match(v, '^%-?%d+$')\n"                               \
    "    or string.match(v, '^%[\"java%.lang%.Long\",(%-?%d+)%]$')\n"         \
    "    or string.match(v, '^%[\"java%.lang%.Integer\",(%-?%d+)%]$')\n"      \
    "  if not d or #d > 17 then return nil end\n"                             \
    "  local n = tonumber(d)\n"                                               \
    "  if n >= 2^53 or n <= -2^53 then return nil end\n"                      \
    "  return n\n"                                                            \
    "end\n"                                                                   \
    "local function num(v)\n"                                                 \
    "  if not v then return nil end\n"                                        \
    "  if string.sub(v, 1, 4) == '\\172\\237\\0\\5' then\n"                   \
    "    return jdk_long(v) or jdk_integer(v), 'jdk'\n"                       \
    "  end\n"                                                                 \
    "  return json_num(v), 'json'\n"                                          \
    "end\n"                                                                   \
    "local function fields(key, ...)\n"                                       \
    "  local f = redis.pcall('HMGET', key, 'creationTime',\n"                 \
    "                        'lastAccessedTime', 'maxInactiveInterval', ...)\n"\
    "  if f.err then return 'bad', '' end\n"                                  \
    "  if not (f[1] or f[2] or f[3]) then\n"                                  \
    "    if redis.call('EXISTS', key) == 0 then return 'none' end\n"          \
    "    return 'bad', ''\n"                                                  \
    "  end\n"                                                                 \
    "  local ct, a = num(f[1])\n"                                             \
    "  local la, b = num(f[2])\n"                                             \
    "  local n, c = num(f[3])\n"                                              \
    "  if a and a == b and a == c and a ~= ser then return 'bad', a end\n"    \
    "  if not (ct and la and n) or a ~= ser or b ~= ser or c ~= ser\n"        \
    "    or n < -2147483648 or n > 2147483647\n"                              \
    "  then\n"                                                                \
    "    return 'bad', ''\n"                                                  \
    "  end\n"                                                                 \
    "  if n == 0 or n > 0 and clock >= la + n * 1000 then\n"                 \
    "    return 'expired'\n"                                                  \
    "  end\n"                                                                 \
    "  return 'ok', f, ct, la, n\n"                                           \
    "end\n"                                                                   \
    "local function bad_id(id, format)\n"                                     \
    "  if format == '' then return id end\n"                                  \
    "  return id .. ':' .. format\n"                                          \
    "end\n"                                                                   \
    "local function bucket(expiry)\n"                                         \
    "  return prefix .. 'expirations:'\n"                                     \
    "         .. string.format('%.0f', (math.floor(expiry / 60000) + 1)\n"    \
    "                                  * 60000)\n"                            \
    "end\n"


static ngx_str_t  ngx_http_shared_session_scripts[] = {

    /*
     * KEYS: the hashes of the candidate ids, then the hash of new_id;
     * ARGV: prefix, now, serializer, field, value, maxInactiveInterval (n),
     * repository ("indexed", "default"), expiration store ("buckets",
     * "zset"), then for n: the hash TTL, the shadow key TTL, the bucket
     * (ms), the expiry (ms) and the sorted set score (Java's text); now
     * and n serialized, the created event's channel ("" for none) and body,
     * then per key (ids, new_id): id, "expires:<id>" and "<id>" serialized.
     * Returns {index or 0, creationTime as stored, previous attribute,
     * bad ids...}
     *
     * The first write (ZADD or SADD to the expirations, SET of the shadow
     * key for a session that never expires, HMSET in the default
     * repository) is the only one that can fail, on a key of another type
     * or when Redis is out of memory: Redis does not undo a script's
     * writes, so it fails before anything is written.  A member already in
     * its bucket was added, and the bucket's TTL set, by an earlier touch
     * of the same minute: that TTL outlives the bucket's minute by more
     * than the 300 s margin Spring gives it.
     */

    ngx_string(
    NGX_HTTP_SHARED_SESSION_LUA_COMMON
    "local field, value, conf = ARGV[4], ARGV[5], tonumber(ARGV[6])\n"
    "local repo, store = ARGV[7], ARGV[8]\n"
    "local function expiry(n, i)\n"
    "  if n == conf then return ARGV[i] end\n"
    "  return string.format('%.0f', now + n * 1000)\n"
    "end\n"
    "local function touch(j, key, n, old, fields)\n"
    "  local id, member = ARGV[17 + 3 * j - 2], ARGV[17 + 3 * j - 1]\n"
    "  local zmember = ARGV[17 + 3 * j]\n"
    "  if repo == 'default' then\n"
    "    redis.call('HMSET', key, unpack(fields))\n"
    "    if n < 0 then\n"
    "      redis.call('PERSIST', key)\n"
    "    else\n"
    "      redis.call('PEXPIREAT', key, expiry(n, 12))\n"
    "    end\n"
    "    return\n"
    "  end\n"
    "  local shadow = prefix .. 'sessions:expires:' .. id\n"
    "  if store == 'zset' then\n"
    "    redis.call('ZADD', prefix .. 'sessions:expirations', expiry(n, 13),\n"
    "               zmember)\n"
    "  end\n"
    "  if n < 0 then\n"
    "    redis.call('SET', shadow, '')\n"
    "    redis.call('HMSET', key, unpack(fields))\n"
    "    redis.call('PERSIST', key)\n"
    "    return\n"
    "  end\n"
    "  local ttl, sttl, b\n"
    "  if n == conf then\n"
    "    ttl, sttl = ARGV[9], ARGV[10]\n"
    "    b = prefix .. 'expirations:' .. ARGV[11]\n"
    "  else\n"
    "    ttl = string.format('%.0f', (n + 300) * 1000)\n"
    "    sttl = string.format('%.0f', n * 1000)\n"
    "    b = bucket(now + n * 1000)\n"
    "  end\n"
    "  if store == 'buckets' then\n"
    "    if redis.call('SADD', b, member) == 1 then\n"
    "      redis.call('PEXPIRE', b, ttl)\n"
    "    end\n"
    "    if old and math.floor((old + n * 1000) / 60000)\n"
    "               ~= math.floor((now + n * 1000) / 60000) then\n"
    "      redis.pcall('SREM', bucket(old + n * 1000), member)\n"
    "    end\n"
    "  end\n"
    "  redis.call('SET', shadow, '', 'PX', sttl)\n"
    "  redis.call('HMSET', key, unpack(fields))\n"
    "  redis.call('PEXPIRE', key, ttl)\n"
    "end\n"
    "local bad = {}\n"
    "for i = 1, #KEYS - 1 do\n"
    "  local id = ARGV[17 + 3 * i - 2]\n"
    "  local state, f, ct, la, n = fields(KEYS[i], field)\n"
    "  if state == 'ok' then\n"
    "    touch(i, KEYS[i], n, la,\n"
    "          {'lastAccessedTime', ARGV[14], field, value})\n"
    "    return {i, f[1], f[4], unpack(bad)}\n"
    "  elseif state == 'bad' then\n"
    "    bad[#bad + 1] = bad_id(id, f)\n"
    "  end\n"
    "end\n"
    "local key = KEYS[#KEYS]\n"
    "if redis.call('EXISTS', key) == 1 then\n"
    "  return redis.error_reply('ERR session id collision')\n"
    "end\n"
    "touch(#KEYS, key, conf, nil,\n"
    "      {'creationTime', ARGV[14], 'maxInactiveInterval', ARGV[15],\n"
    "       'lastAccessedTime', ARGV[14], field, value})\n"
    "if ARGV[16] ~= '' then\n"
    "  redis.call('PUBLISH', ARGV[16], ARGV[17])\n"
    "end\n"
    "return {0, ARGV[2], false, unpack(bad)}\n"),

    /*
     * KEYS: the hashes of the candidate ids; ARGV: prefix, now,
     * serializer, repository, expiration store, 0 serialized, the
     * principal's field, its index's key prefix, then per id: id,
     * "expires:<id>" and "<id>" serialized.  Returns {index or 0, bad
     * ids...}
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
    "  local state, f, ct, la, n = fields(KEYS[i], ARGV[7])\n"
    "  if state == 'bad' then\n"
    "    bad[#bad + 1] = bad_id(id, f)\n"
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
    "return {0, unpack(bad)}\n")
};


/*
 * The session's hash alone, for Redis Cluster, where the shadow key and the
 * expirations live on other shards and are written with plain commands:
 * KEYS: the hash; ARGV: prefix, now, serializer, "1" to create (else: only
 * if the session is still live), how it expires ("PEXPIRE" ms, "PEXPIREAT"
 * ms, or "PERSIST" ""), then the fields and values to set.  Returns 1, or
 * 0 when the session ended meanwhile.
 */

static ngx_str_t  ngx_http_shared_session_hash_script = ngx_string(
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
    "return 1\n");


/* ARGV[3] of every script: the serializer of the values */
ngx_str_t  ngx_http_shared_session_store_serializers[] = {
    ngx_string("json"),                     /* NGX_HTTP_SHARED_SESSION_JSON */
    ngx_string("jdk")                       /* NGX_HTTP_SHARED_SESSION_JDK */
};


static u_char  ngx_http_shared_session_sha[2][40];
static u_char  ngx_http_shared_session_hash_sha[40];


static void ngx_http_shared_session_store_id_args(
    ngx_http_shared_session_store_t *st, ngx_uint_t k, ngx_uint_t i);
static void ngx_http_shared_session_store_layout_args(
    ngx_http_shared_session_store_t *st, ngx_uint_t k);
static void ngx_http_shared_session_store_str_arg(
    ngx_http_shared_session_store_t *st, ngx_uint_t k, ngx_str_t *s);
static void ngx_http_shared_session_store_bad(
    ngx_http_shared_session_store_t *st, u_char *s, size_t len);
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
static void ngx_http_shared_session_store_cleanup(void *data);


ngx_int_t
ngx_http_shared_session_store_init(ngx_conf_t *cf)
{
    u_char      digest[20];
    ngx_uint_t  i;
    ngx_sha1_t  sha1;

    for (i = 0; i < 2; i++) {
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


ngx_str_t *
ngx_http_shared_session_store_scripts(ngx_uint_t *n)
{
    *n = sizeof(ngx_http_shared_session_scripts) / sizeof(ngx_str_t);

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

    if (ngx_http_shared_session_store_values(r, st, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!st->scripts) {
        return ngx_http_shared_session_store_plain(r, st, 0);
    }

    /* EVALSHA sha numkeys, keys: ids + new, args: 17 + 3 per key */

    if (ngx_http_shared_session_store_run(r, st, NGX_HTTP_SHARED_SESSION_TOUCH,
                                          st->nids + 1,
                                          17 + 3 * (st->nids + 1))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    k = 3;
    a = 3 + st->nids + 1;

    for (i = 0; i <= st->nids; i++) {
        st->argv[k] = (const char *) ngx_http_shared_session_store_key(
                                  r->pool, &st->prefix, "sessions:",
                                  i < st->nids ? &st->ids[i] : &st->new_id,
                                  &st->argvlen[k]);
        if (st->argv[k++] == NULL) {
            return NGX_ERROR;
        }

        ngx_http_shared_session_store_id_args(st, a + 17 + 3 * i, i);
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 4 * NGX_INT64_LEN
                             + NGX_HTTP_SHARED_SESSION_SCORE_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_shared_session_store_str_arg(st, a + 3, &st->field);
    ngx_http_shared_session_store_str_arg(st, a + 4, &st->value);
    ngx_http_shared_session_store_layout_args(st, a + 6);
    ngx_http_shared_session_store_str_arg(st, a + 13, &st->s_now);
    ngx_http_shared_session_store_str_arg(st, a + 14, &st->s_interval);
    ngx_http_shared_session_store_str_arg(st, a + 15, &st->channel);
    ngx_http_shared_session_store_str_arg(st, a + 16, &st->event);

    /* what Spring computes from the interval, for the configured one */

    n = st->max_inactive_interval;
    expiry = st->now + (int64_t) n * 1000;

    p = ngx_http_shared_session_store_arg(st, a + 5, p, "%T", n);
    p = ngx_http_shared_session_store_arg(st, a + 8, p, "%L",
                                          ((int64_t) n + 300) * 1000);
    p = ngx_http_shared_session_store_arg(st, a + 9, p, "%L",
                                          (int64_t) n * 1000);
    p = ngx_http_shared_session_store_arg(st, a + 10, p, "%L",
                                          (expiry / 60000 + 1) * 60000);
    p = ngx_http_shared_session_store_arg(st, a + 11, p, "%L", expiry);

    st->argv[a + 12] = (const char *) p;
    st->argvlen[a + 12] = ngx_http_shared_session_serialize_score(p, expiry)
                          - p;

    return ngx_http_shared_session_store_send(st);
}


ngx_int_t
ngx_http_shared_session_store_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    ngx_uint_t  i, a;

    static ngx_str_t  principal = ngx_string(
        "sessionAttr:" NGX_HTTP_SHARED_SESSION_PRINCIPAL);

    if (ngx_http_shared_session_store_values(r, st, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!st->scripts) {
        return ngx_http_shared_session_store_plain(r, st, 1);
    }

    if (ngx_http_shared_session_store_run(r, st,
                                          NGX_HTTP_SHARED_SESSION_INVALIDATE,
                                          st->nids, 8 + 3 * st->nids)
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

        ngx_http_shared_session_store_id_args(st, a + 8 + 3 * i, i);
    }

    ngx_http_shared_session_store_layout_args(st, a + 3);
    ngx_http_shared_session_store_str_arg(st, a + 5, &st->s_zero);
    ngx_http_shared_session_store_str_arg(st, a + 6, &principal);
    ngx_http_shared_session_store_str_arg(st, a + 7, &st->index);

    return ngx_http_shared_session_store_send(st);
}


/*
 * The values both variants send, serialized as the location's Spring
 * application does: per id, its bucket member "expires:<id>" and its
 * index and sorted set member "<id>"; the numbers; for a new session in
 * the indexed repository, the created event Spring publishes on saving
 * one (its listeners' SessionCreatedEvent).
 */

ngx_int_t
ngx_http_shared_session_store_values(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_uint_t invalidate)
{
    u_char                                      *p;
    ngx_str_t                                   *id;
    ngx_uint_t                                   i, n;
    ngx_pool_t                                  *pool;
    ngx_http_shared_session_serializer_t        *ser;
    ngx_http_shared_session_serializer_event_t   ev;

    pool = r->pool;
    ser = st->ser;
    n = invalidate ? st->nids : st->nids + 1;

    for (i = 0; i < n; i++) {
        id = (i < st->nids) ? &st->ids[i] : &st->new_id;

        if (ngx_http_shared_session_serialize_string(pool, ser, "expires:",
                                                     id, &st->members[i])
            != NGX_OK
            || ngx_http_shared_session_serialize_string(pool, ser, NULL, id,
                                                        &st->s_ids[i])
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_str_set(&st->channel, "");
    ngx_str_set(&st->event, "");

    if (invalidate) {
        st->index.len = st->prefix.len + sizeof("index:") - 1
                        + sizeof(NGX_HTTP_SHARED_SESSION_PRINCIPAL ":") - 1;
        st->index.data = ngx_pnalloc(pool, st->index.len);
        if (st->index.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(st->index.data, "%Vindex:%s:", &st->prefix,
                    NGX_HTTP_SHARED_SESSION_PRINCIPAL);

        return ngx_http_shared_session_serialize_integer(pool, ser, 0,
                                                         &st->s_zero);
    }

    if (ngx_http_shared_session_serialize_long(pool, ser, st->now,
                                               &st->s_now)
        != NGX_OK
        || ngx_http_shared_session_serialize_integer(pool, ser,
                                      (int32_t) st->max_inactive_interval,
                                      &st->s_interval)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (st->repository != NGX_HTTP_SHARED_SESSION_REPO_INDEXED) {
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, st->prefix.len + sizeof("event::created:") - 1
                          + NGX_INT_T_LEN + st->new_id.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    st->channel.data = p;
    st->channel.len = ngx_sprintf(p, "%Vevent:%i:created:%V", &st->prefix,
                                  st->database, &st->new_id)
                      - p;

    ev.creation_time = st->now;
    ev.last_accessed_time = st->now;
    ev.max_inactive_interval = (int32_t) st->max_inactive_interval;
    ev.field = st->field;
    ev.attribute = st->value;

    return ngx_http_shared_session_serialize_event(pool, ser, &ev,
                                                   &st->event);
}


/* the three arguments of one key: id, "expires:<id>", "<id>" serialized */

static void
ngx_http_shared_session_store_id_args(ngx_http_shared_session_store_t *st,
    ngx_uint_t k, ngx_uint_t i)
{
    ngx_str_t  *id;

    id = (i < st->nids) ? &st->ids[i] : &st->new_id;

    ngx_http_shared_session_store_str_arg(st, k, id);
    ngx_http_shared_session_store_str_arg(st, k + 1, &st->members[i]);
    ngx_http_shared_session_store_str_arg(st, k + 2, &st->s_ids[i]);
}


/* the repository and the expiration store, as the scripts name them */

static void
ngx_http_shared_session_store_layout_args(ngx_http_shared_session_store_t *st,
    ngx_uint_t k)
{
    static ngx_str_t  repositories[] = {
        ngx_string("indexed"), ngx_string("default")
    };

    static ngx_str_t  stores[] = {
        ngx_string("buckets"), ngx_string("zset")
    };

    ngx_http_shared_session_store_str_arg(st, k,
                                          &repositories[st->repository]);
    ngx_http_shared_session_store_str_arg(st, k + 1,
                                          &stores[st->expiration_store]);
}


static void
ngx_http_shared_session_store_str_arg(ngx_http_shared_session_store_t *st,
    ngx_uint_t k, ngx_str_t *s)
{
    st->argv[k] = (const char *) s->data;
    st->argvlen[k] = s->len;
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


/*
 * Lays out "EVALSHA sha numkeys" and the three arguments every script has:
 * prefix, now, serializer.
 */

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

    ngx_http_shared_session_store_str_arg(st, a + 2,
                &ngx_http_shared_session_store_serializers[st->ser->format]);

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

    rc = ngx_http_shared_session_store_parse(st, reply);

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
        st->error.len = reply->len;
        st->error.data = ngx_pnalloc(r->pool, reply->len);
        if (st->error.data == NULL) {
            ngx_str_set(&st->error, "error reply");
            return NGX_ERROR;
        }

        ngx_memcpy(st->error.data, reply->str, reply->len);
        return NGX_ERROR;
    }

    first = (st->script == NGX_HTTP_SHARED_SESSION_TOUCH) ? 3 : 1;

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
            ngx_http_shared_session_store_bad(st, (u_char *) e->str, e->len);
        }
    }

    if (st->script != NGX_HTTP_SHARED_SESSION_TOUCH) {
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


/* A stored number, in either of Spring's formats (the scripts check which) */

ngx_int_t
ngx_http_shared_session_store_number(u_char *p, size_t len, int64_t *n)
{
    ngx_uint_t  format;

    return ngx_http_shared_session_read_number(p, len, n, &format) == NGX_OK
           ? NGX_OK : NGX_ERROR;
}


/* a script's "bad id" entry: "<id>", or "<id>:<the format it found>" */

static void
ngx_http_shared_session_store_bad(ngx_http_shared_session_store_t *st,
    u_char *s, size_t len)
{
    size_t      n;
    ngx_uint_t  i, format;

    format = NGX_HTTP_SHARED_SESSION_FORMAT_NONE;

    for (i = 0; i < 2; i++) {
        n = ngx_http_shared_session_store_serializers[i].len;

        if (len > n + 1 && s[len - n - 1] == ':'
            && ngx_strncmp(s + len - n,
                           ngx_http_shared_session_store_serializers[i].data,
                           n)
               == 0)
        {
            format = i;
            len -= n + 1;
            break;
        }
    }

    ngx_http_shared_session_store_invalid(st, s, len, format);
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
    u_char *id, size_t len, ngx_uint_t format)
{
    if (format == NGX_HTTP_SHARED_SESSION_FORMAT_NONE) {
        ngx_log_error(NGX_LOG_WARN, st->request->connection->log, 0,
                      "shared session: invalid session \"%*s\" in redis %V: "
                      "not a hash with creationTime, lastAccessedTime and "
                      "maxInactiveInterval; left untouched",
                      len, id, st->name);
        return;
    }

    /* never written over in another format: Spring would fail to read it */

    ngx_log_error(NGX_LOG_WARN, st->request->connection->log, 0,
                  "shared session: session \"%*s\" in redis %V is stored "
                  "with %s serialization, not the %s of "
                  "\"shared_session_serializer %V\"; left untouched",
                  len, id, st->name,
                  ngx_http_shared_session_format_name(format),
                  ngx_http_shared_session_format_name(st->ser->format),
                  &ngx_http_shared_session_store_serializers[st->ser->format]);
}
