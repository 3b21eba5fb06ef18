
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_conn.h"


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

    /* touch only */
    ngx_str_t                                   field;    /* sessionAttr:.. */
    ngx_str_t                                   value;
    time_t                                      max_inactive_interval;
    ngx_str_t                                   new_id;

    /* load only: the attributes to read, lowercase "sessionattr:<name>" */
    ngx_flag_t                                  touch;
    ngx_str_t                                  *names;
    ngx_uint_t                                  nnames;

    ngx_http_shared_session_store_handler_pt    handler;

    /* results: ids[found - 1] is the session, or 0: none (touch: new_id) */
    ngx_uint_t                                  found;
    int64_t                                     creation_time;
    ngx_str_t                                   previous; /* NULL: absent */
    ngx_str_t                                   error;

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

/* "<prefix>expirations:<bucket>" */
ngx_int_t ngx_http_shared_session_store_bucket_key(
    ngx_http_shared_session_store_t *st, int64_t expiry, ngx_str_t *key);

/* a bucket's member: "expires:<id>" serialized as JSON, with the quotes */
ngx_int_t ngx_http_shared_session_store_member(
    ngx_http_shared_session_store_t *st, ngx_str_t *id, ngx_str_t *member);

/* a stored number: decimal text, or ["java.lang.Long",n] and the like */
ngx_int_t ngx_http_shared_session_store_number(u_char *p, size_t len,
    int64_t *n);

/*
 * A session by its creationTime, lastAccessedTime and maxInactiveInterval
 * as read (data NULL: absent) at "now" (ms, Redis's clock if it told):
 * the scripts' fields().  The times are set for LIVE.
 */
ngx_uint_t ngx_http_shared_session_store_state(ngx_str_t *fields,
    int64_t now, ngx_http_shared_session_times_t *times);

/* logs a candidate that is not a session (BAD) */
void ngx_http_shared_session_store_invalid(ngx_http_shared_session_store_t *st,
    ngx_str_t *id);


/*
 * The scripts' part of the layout: their arguments start with the prefix
 * and the request's time (ms); "clock" is Redis's (TIME).
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
 * num() is ngx_http_shared_session_store_number(): Lua numbers are
 * doubles, anything past 2^53 is refused rather than rounded.  fields()
 * is ngx_http_shared_session_store_state(), but for a hash without any of
 * the three fields, which it tells from no hash at all (EXISTS): 'bad'.
 * bucket() is ngx_http_shared_session_store_bucket_key().
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


#endif /* _NGX_HTTP_SHARED_SESSION_STORE_H_INCLUDED_ */
