
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_conn.h"
#include "ngx_http_shared_session_cookie.h"
#include "ngx_http_shared_session_jdk.h"
#include "ngx_http_shared_session_serializer.h"


/*
 * The session store: what the endpoints ask (touch, invalidate) and the
 * lookup of shared_session_require and _load (load), Spring
 * Session's layout in Redis (ngx_http_shared_session_store.c), and two
 * back ends that do it, one chosen per location when its configuration is
 * merged: Lua scripts, one atomic round trip per request
 * (ngx_http_shared_session_store_script.c), or single-key commands, two
 * pipelined round trips, for servers without scripting and for Redis
 * Cluster (ngx_http_shared_session_store_plain.c).  Both send through the
 * connection interface (ngx_http_shared_session_conn.h) and neither knows
 * what is behind it.
 */


/* shared_session_repository: which Spring Session repository's layout */
#define NGX_HTTP_SHARED_SESSION_REPO_INDEXED    0  /* RedisIndexedSession.. */
#define NGX_HTTP_SHARED_SESSION_REPO_DEFAULT    1  /* RedisSessionRepository */

/* shared_session_expiration_store (indexed): minute buckets or a zset */
#define NGX_HTTP_SHARED_SESSION_EXPIRY_BUCKETS  0
#define NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET     1

/* FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME */
#define NGX_HTTP_SHARED_SESSION_PRINCIPAL                                     \
    "org.springframework.session.FindByIndexNameSessionRepository."           \
    "PRINCIPAL_NAME_INDEX_NAME"


typedef struct ngx_http_shared_session_store_s
    ngx_http_shared_session_store_t;

/* rc is NGX_OK, or NGX_ERROR with the cause in st->error */
typedef void (*ngx_http_shared_session_store_handler_pt)(
    ngx_http_request_t *r, ngx_http_shared_session_store_t *st, ngx_int_t rc);


/*
 * A back end.  touch() and invalidate() return NGX_OK when the request was
 * sent (st->handler follows), NGX_DECLINED when Redis cannot be asked now
 * (cause in st->error), or NGX_ERROR.  After NGX_DECLINED or NGX_ERROR
 * nothing of the request is outstanding: st->handler is never called for
 * it, even if the request lives on (a body still to discard).
 */
typedef struct {
    /* at configuration: the scripts to SCRIPT LOAD on each connection */
    ngx_str_t  *(*scripts)(ngx_uint_t *n);

    /*
     * Finds the first live session among st->ids and touches it
     * (lastAccessedTime, the attribute, TTLs, shadow key, expiry bucket)
     * as Spring Session does, or creates st->new_id if there is none.
     */
    ngx_int_t   (*touch)(ngx_http_request_t *r,
                         ngx_http_shared_session_store_t *st);

    /* Ends the first live session among st->ids as Spring 3.4 does. */
    ngx_int_t   (*invalidate)(ngx_http_request_t *r,
                              ngx_http_shared_session_store_t *st);

    /*
     * Finds the first live session among st->ids (there is one at least)
     * and, with st->touch, touches it as touch() does but for the
     * attribute; never creates one.  Reads the hash fields named in
     * st->names, compared without case, into st->values.
     */
    ngx_int_t   (*load)(ngx_http_request_t *r,
                        ngx_http_shared_session_store_t *st);
} ngx_http_shared_session_store_ops_t;


/* one request's */
struct ngx_http_shared_session_store_s {
    /* set by the caller */
    ngx_http_shared_session_store_ops_t        *ops;
    ngx_http_shared_session_conn_t             *conn;
    ngx_msec_t                                  timeout;
    ngx_str_t                                   prefix;   /* "<namespace>:" */
    int64_t                                     now;      /* ms */
    ngx_str_t                                  *ids;      /* from cookies */
    ngx_uint_t                                  nids;

    /* how the Spring application stores its sessions */
    ngx_http_shared_session_serializer_t       *ser;
    ngx_uint_t                                  repository;
    ngx_uint_t                                  expiration_store;
    ngx_int_t                                   database; /* event channel */

    /* touch only */
    ngx_str_t                                   field;    /* sessionAttr:.. */
    ngx_str_t                                   value;
    ngx_str_t                                   new_id;

    /* a new session's, and the one the scripts' TTLs come precomputed for */
    time_t                                      max_inactive_interval;

    /* load only: the attributes to read, lowercase "sessionattr:<name>" */
    ngx_flag_t                                  touch;
    ngx_msec_t                                  touch_interval;
    ngx_str_t                                  *names;
    ngx_uint_t                                  nnames;

    ngx_http_shared_session_store_handler_pt    handler;

    /* results: ids[found - 1] is the session, or 0: none (touch: new_id) */
    ngx_uint_t                                  found;
    int64_t                                     creation_time;
    ngx_str_t                                   previous; /* NULL: absent */
    ngx_str_t                                   error;

    /*
     * The values as Spring serializes them, by store_touch() and
     * store_invalidate() for the back end; per candidate id, then new_id
     * (touch): "expires:<id>" (bucket member) and "<id>" (index and sorted
     * set member)
     */
    ngx_str_t                                   s_now;      /* Long */
    ngx_str_t                                   s_interval; /* Integer */
    ngx_str_t                                   s_zero;     /* Integer 0 */
    ngx_str_t                                   members[
                                          NGX_HTTP_SHARED_SESSION_MAX_IDS + 1];
    ngx_str_t                                   s_ids[
                                          NGX_HTTP_SHARED_SESSION_MAX_IDS + 1];
    ngx_str_t                                   channel;  /* store_created() */
    ngx_str_t                                   event;
    ngx_str_t                                   index;    /* "<P>index:..:" */

    /* load's results: as stored before this request; values: per name */
    int64_t                                     last_accessed_time;
    int64_t                                     interval;
    ngx_str_t                                  *values;  /* NULL: absent */
    ngx_uint_t                                  bad;     /* not sessions */

    /* the back end's */
    ngx_http_request_t                         *request;
    void                                       *data;
};


/*
 * The back ends: the scripts, and the plain commands without or with the
 * one-key hash script (Redis Cluster with scripting).
 */
extern ngx_http_shared_session_store_ops_t
    ngx_http_shared_session_store_script_ops;
extern ngx_http_shared_session_store_ops_t
    ngx_http_shared_session_store_plain_ops;
extern ngx_http_shared_session_store_ops_t
    ngx_http_shared_session_store_hash_ops;


ngx_int_t ngx_http_shared_session_store_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
ngx_int_t ngx_http_shared_session_store_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
ngx_int_t ngx_http_shared_session_store_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);


/*
 * Spring Session's layout, for both back ends.  The Lua text below is the
 * same rules for the scripts; a change to one is a change to the other.
 */

#define NGX_HTTP_SHARED_SESSION_HASH     "sessions:"
#define NGX_HTTP_SHARED_SESSION_SHADOW   "sessions:expires:"

/* what a session's hash says, by ngx_http_shared_session_store_state() */
#define NGX_HTTP_SHARED_SESSION_NONE     0   /* no such session */
#define NGX_HTTP_SHARED_SESSION_BAD      1   /* not Spring's: left alone */
#define NGX_HTTP_SHARED_SESSION_EXPIRED  2   /* ended */
#define NGX_HTTP_SHARED_SESSION_LIVE     3


typedef struct {
    int64_t                                     created;  /* ms */
    int64_t                                     accessed; /* ms */
    int64_t                                     interval; /* s, < 0: never */
} ngx_http_shared_session_times_t;


/* "<prefix><kind><id>", kind being one of the two above */
ngx_int_t ngx_http_shared_session_store_key(
    ngx_http_shared_session_store_t *st, const char *kind, ngx_str_t *id,
    ngx_str_t *key);

/* the expiry bucket (ms) of a session that expires at "expiry" (ms) */
int64_t ngx_http_shared_session_store_bucket(int64_t expiry);

/* the hash's TTL (ms) for a maxInactiveInterval (s) */
int64_t ngx_http_shared_session_store_ttl(int64_t interval);

/*
 * 1: a load's touch of a session last accessed at "accessed" (ms), with
 * the interval "n" (s), is skipped (shared_session_touch_interval)
 */
ngx_uint_t ngx_http_shared_session_store_fresh(
    ngx_http_shared_session_store_t *st, int64_t accessed, int64_t n);

/* "<prefix>expirations:<bucket>" */
ngx_int_t ngx_http_shared_session_store_bucket_key(
    ngx_http_shared_session_store_t *st, int64_t expiry, ngx_str_t *key);

/* "<prefix>sessions:expirations", the sorted set of expirations */
ngx_int_t ngx_http_shared_session_store_zset_key(
    ngx_http_shared_session_store_t *st, ngx_str_t *key);

/* a stored number, in either of Spring's formats */
ngx_int_t ngx_http_shared_session_store_number(u_char *p, size_t len,
    int64_t *n);

/*
 * A session by its creationTime, lastAccessedTime and maxInactiveInterval
 * as read (data NULL: absent) at "now" (ms, Redis's clock if it told):
 * the scripts' fields().  The times are set for LIVE; for BAD, "format" is
 * the one format all three are in, when it is not st->ser's (else
 * NGX_HTTP_SHARED_SESSION_FORMAT_NONE).
 */
ngx_uint_t ngx_http_shared_session_store_state(
    ngx_http_shared_session_store_t *st, ngx_str_t *fields, int64_t now,
    ngx_http_shared_session_times_t *times, ngx_uint_t *format);

/*
 * logs a candidate that is not a session (BAD): "format" is the other
 * serializer's, or NGX_HTTP_SHARED_SESSION_FORMAT_NONE
 */
void ngx_http_shared_session_store_invalid(ngx_http_shared_session_store_t *st,
    ngx_str_t *id, ngx_uint_t format);

/*
 * The created event of new_id (st->channel, st->event), which the back
 * end publishes once it created the session: NGX_OK, NGX_DECLINED (the
 * default repository has none), NGX_ERROR (out of memory).
 */
ngx_int_t ngx_http_shared_session_store_created(
    ngx_http_shared_session_store_t *st);

/* logs a created event that a server refused (an ACL without PUBLISH) */
void ngx_http_shared_session_store_unpublished(
    ngx_http_shared_session_store_t *st, u_char *error, size_t len);

/* the scripts' names of the serializers (ARGV[3]): "json", "jdk" */
extern ngx_str_t  ngx_http_shared_session_store_serializers[];


/*
 * The scripts' part of the layout: their arguments start with the prefix,
 * the request's time (ms) and the location's serializer ("json", "jdk");
 * "clock" is Redis's (TIME).
 *
 * Whether a session is still live is judged by Redis's clock, the one
 * clock every host sharing the sessions sees: a host whose clock lags, or
 * a request that waited, must not revive a session that Spring already
 * took for expired.  The request's time is still what is written
 * (lastAccessedTime, the expiry bucket), as each Spring host writes its
 * own.  A script that reads TIME and then writes is replicated by its
 * effects: the default from Redis 5 on (the only way in Redis 7), asked
 * for with redis.replicate_commands() on Redis 3.2 to 4.
 *
 * num() is ngx_http_shared_session_store_number(), in both formats: JSON
 * (decimal text, ["java.lang.Long",n], ["java.lang.Integer",n]) and JDK
 * (a serialized Long or Integer), and says which; Lua numbers are
 * doubles, anything past 2^53 is refused rather than rounded.  With
 * "check", a JSON number that cannot reach 2^53 is only checked, not
 * converted (creationTime: nginx reads it from the reply).  The JDK
 * decoder is made on the first JDK value only.  judge() is
 * ngx_http_shared_session_store_state() on HMGET's (or HGETALL's) three
 * fields: a maxInactiveInterval that is the configured one as nginx
 * serialized it (s_conf) is taken as "conf" without parsing it.  A hash in
 * another format is another application's: left as it is, reported with
 * that format.  fields() reads them, and tells a hash without any of the
 * three fields ('bad') from no hash at all (EXISTS).  Every value written
 * comes serialized from nginx (ngx_http_shared_session_serializer.c).
 *
 * Each redis.call costs Redis about as much as the Lua around it, and
 * each argument about a tenth of a call: the scripts read and write what
 * a request needs and no more, and what nginx knows comes precomputed.
 */

#define NGX_HTTP_SHARED_SESSION_LUA_COMMON                                    \
    "if redis.replicate_commands then redis.replicate_commands() end\n"       \
    "local prefix, ser = ARGV[1], ARGV[3]\n"                                  \
    "local t = redis.call('TIME')\n"                                          \
    "local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"\
    "local jdk\n"                                                             \
    "local function num(v, check)\n"                                          \
    "  if not v then return nil end\n"                                        \
    "  if string.byte(v) == 172\n"                                            \
    "     and string.sub(v, 1, 4) == '\\172\\237\\0\\5'\n"                    \
    "  then\n"                                                                \
    "    if not jdk then\n"                                                   \
    "      jdk = (function()\n"                                               \
    NGX_HTTP_SHARED_SESSION_JDK_LUA                                           \
    "        return function(s) return jdk_long(s) or jdk_integer(s) end\n"   \
    "      end)()\n"                                                          \
    "    end\n"                                                               \
    "    return jdk(v), 'jdk'\n"                                              \
    "  end\n"                                                                 \
    "  local d = string.match(v, '^%-?%d+$')\n"                               \
    "    or string.match(v, '^%[\"java%.lang%.Long\",(%-?%d+)%]$')\n"         \
    "    or string.match(v, '^%[\"java%.lang%.Integer\",(%-?%d+)%]$')\n"      \
    "  if not d or #d > 17 then return nil, 'json' end\n"                     \
    "  if check and #d < 16 then return true, 'json' end\n"                   \
    "  local n = tonumber(d)\n"                                               \
    "  if n >= 2^53 or n <= -2^53 then return nil, 'json' end\n"              \
    "  return n, 'json'\n"                                                    \
    "end\n"                                                                   \
    "local function judge(f, s_conf, conf)\n"                                 \
    "  local ct, a = num(f[1], true)\n"                                       \
    "  local la, b = num(f[2])\n"                                             \
    "  local n, c = conf, ser\n"                                              \
    "  if f[3] ~= s_conf then n, c = num(f[3]) end\n"                         \
    "  if a and a == b and a == c and a ~= ser then return 'bad', a end\n"    \
    "  if not (ct and la and n) or a ~= ser or b ~= ser or c ~= ser\n"        \
    "    or n < -2147483648 or n > 2147483647\n"                              \
    "  then\n"                                                                \
    "    return 'bad', ''\n"                                                  \
    "  end\n"                                                                 \
    "  if n == 0 or n > 0 and clock >= la + n * 1000 then\n"                  \
    "    return 'expired'\n"                                                  \
    "  end\n"                                                                 \
    "  return 'ok', f, la, n\n"                                               \
    "end\n"                                                                   \
    "local function fields(key, s_conf, conf, ...)\n"                         \
    "  local f = redis.pcall('HMGET', key, 'creationTime',\n"                 \
    "                        'lastAccessedTime', 'maxInactiveInterval', ...)\n"\
    "  if f.err then return 'bad', '' end\n"                                  \
    "  if not (f[1] or f[2] or f[3]) and redis.call('EXISTS', key) == 0 then\n"\
    "    return 'none'\n"                                                     \
    "  end\n"                                                                 \
    "  return judge(f, s_conf, conf)\n"                                       \
    "end\n"


/*
 * The touch of the endpoint's script and the lookup's, which share these
 * arguments after the common three: 4 the layout ("buckets", "zset", or
 * "default": the default repository), 5 and 6 the configured
 * maxInactiveInterval (shared_session_max_inactive_interval) serialized
 * and in seconds, and for it, computed by nginx from the request's time:
 * 7 the hash's TTL, 8 the shadow key's TTL, 9 the first lastAccessedTime
 * whose expiry falls in the same bucket as this request's ("lo": the
 * bucket is kept for lo <= lastAccessedTime < lo + 60000), 10 the expiry
 * as the layout writes it (the sorted set's score as Java's text, the
 * default repository's PEXPIREAT time, "" with buckets); 11 now
 * serialized.  plan() is those for a session's own interval n, computed
 * here for an interval another application set.
 *
 * save() writes a touch (la: the stored lastAccessedTime, nil for a new
 * session; the hash fields follow), in Spring's order, the write that can
 * fail first (see ngx_http_shared_session_store_script.c).  A session
 * whose expiry stays in its bucket is in it since the touch that wrote its
 * lastAccessedTime: no SADD, no SREM.  A bucket's TTL is set when the
 * member is added: it outlives the bucket's minute by more than the 300 s
 * margin Spring gives it.  The bucket's key is built here, once per minute
 * of a session, rather than sent with every request.
 */

#define NGX_HTTP_SHARED_SESSION_LUA_TOUCH                                     \
    "local layout, s_conf, conf = ARGV[4], ARGV[5], tonumber(ARGV[6])\n"      \
    "local function plan(n)\n"                                                \
    "  if n == conf then\n"                                                   \
    "    return ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10]\n"              \
    "  end\n"                                                                 \
    "  local e = tonumber(ARGV[2]) + n * 1000\n"                              \
    "  return string.format('%.0f', (n + 300) * 1000),\n"                     \
    "         string.format('%.0f', n * 1000),\n"                             \
    "         math.floor(e / 60000) * 60000 - n * 1000,\n"                    \
    "         string.format('%.0f', e)\n"                                     \
    "end\n"                                                                   \
    "local function kept(n, la)\n"                                            \
    "  if n < 0 then return true end\n"                                       \
    "  local _, _, lo = plan(n)\n"                                            \
    "  return la >= lo and la < lo + 60000\n"                                 \
    "end\n"                                                                   \
    "local function bucket(expiry)\n"                                         \
    "  local m = (math.floor(expiry / 60000) + 1) * 60000\n"                  \
    "  return prefix .. 'expirations:' .. string.format('%.0f', m)\n"         \
    "end\n"                                                                   \
    "local function save(key, n, la, shadow, member, ...)\n"                  \
    "  if n < 0 then\n"                                                       \
    "    if layout == 'zset' then\n"                                          \
    "      local e = string.format('%.0f', tonumber(ARGV[2]) + n * 1000)\n"   \
    "      redis.call('ZADD', prefix .. 'sessions:expirations', e, member)\n" \
    "    end\n"                                                               \
    "    if layout ~= 'default' then redis.call('SET', shadow, '') end\n"     \
    "    redis.call('HMSET', key, ...)\n"                                     \
    "    redis.call('PERSIST', key)\n"                                        \
    "    return\n"                                                            \
    "  end\n"                                                                 \
    "  local ttl, sttl, lo, e = plan(n)\n"                                    \
    "  if layout == 'default' then\n"                                         \
    "    redis.call('HMSET', key, ...)\n"                                     \
    "    redis.call('PEXPIREAT', key, e)\n"                                   \
    "    return\n"                                                            \
    "  end\n"                                                                 \
    "  if layout == 'zset' then\n"                                            \
    "    redis.call('ZADD', prefix .. 'sessions:expirations', e, member)\n"   \
    "  elseif not (la and la >= lo and la < lo + 60000) then\n"               \
    "    local b = bucket(lo + n * 1000)\n"                                   \
    "    if redis.call('SADD', b, member) == 1 then\n"                        \
    "      redis.call('PEXPIRE', b, ttl)\n"                                   \
    "    end\n"                                                               \
    "    if la then redis.pcall('SREM', bucket(la + n * 1000), member) end\n" \
    "  end\n"                                                                 \
    "  redis.call('SET', shadow, '', 'PX', sttl)\n"                           \
    "  redis.call('HMSET', key, ...)\n"                                       \
    "  redis.call('PEXPIRE', key, ttl)\n"                                     \
    "end\n"


#endif /* _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_ */
