
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_store.h"


/*
 * The face of the store, and Spring Session's layout in Redis, which both
 * back ends write: a session is the hash "<prefix>sessions:<id>" with
 * creationTime, lastAccessedTime (ms), maxInactiveInterval (s) and the
 * attributes.  Spring's indexed repository adds its shadow key
 * "<prefix>sessions:expires:<id>", whose expiry tells Spring the session
 * expired; its id in the expiry bucket "<prefix>expirations:<minute after
 * the expiry>" or in the sorted set "<prefix>sessions:expirations", which
 * Spring's cleanup job reads; the principal's index; and a created event
 * for each new session.  Its default repository (Spring Boot 3's) keeps the
 * hash alone.  Values are serialized as the application's serializer does
 * it (JSON or JDK).  The scripts have the same rules in Lua
 * (NGX_HTTP_SHARED_SESSION_LUA_COMMON).
 */


#define NGX_HTTP_SHARED_SESSION_OP_TOUCH       0
#define NGX_HTTP_SHARED_SESSION_OP_INVALIDATE  1
#define NGX_HTTP_SHARED_SESSION_OP_LOAD        2


static ngx_int_t ngx_http_shared_session_store_values(
    ngx_http_shared_session_store_t *st, ngx_uint_t op);


/* ARGV[3] of every script: the serializer of the values */
ngx_str_t  ngx_http_shared_session_store_serializers[] = {
    ngx_string("json"),                     /* NGX_HTTP_SHARED_SESSION_JSON */
    ngx_string("jdk")                       /* NGX_HTTP_SHARED_SESSION_JDK */
};


ngx_int_t
ngx_http_shared_session_store_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    st->request = r;

    if (ngx_http_shared_session_store_values(st,
                                            NGX_HTTP_SHARED_SESSION_OP_TOUCH)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return st->ops->touch(r, st);
}


ngx_int_t
ngx_http_shared_session_store_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    st->request = r;

    if (ngx_http_shared_session_store_values(st,
                                       NGX_HTTP_SHARED_SESSION_OP_INVALIDATE)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return st->ops->invalidate(r, st);
}


/*
 * The values both back ends send, serialized as the location's Spring
 * application does: per id, its bucket member "expires:<id>" and its
 * index and sorted set member "<id>"; the numbers (store_created() adds
 * the created event, once a session is new).
 */

static ngx_int_t
ngx_http_shared_session_store_values(ngx_http_shared_session_store_t *st,
    ngx_uint_t op)
{
    ngx_str_t                             *id;
    ngx_uint_t                             i, n;
    ngx_pool_t                            *pool;
    ngx_http_shared_session_serializer_t  *ser;

    pool = st->request->pool;
    ser = st->ser;
    n = (op == NGX_HTTP_SHARED_SESSION_OP_TOUCH) ? st->nids + 1 : st->nids;

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

    if (op == NGX_HTTP_SHARED_SESSION_OP_INVALIDATE) {
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
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * A load's touch writes lastAccessedTime alone and never creates; its
     * script still takes the configured interval serialized: a stored one
     * equal to it is known without parsing (judge() in Lua).
     */

    if (ngx_http_shared_session_serialize_integer(pool, ser,
                                      (int32_t) st->max_inactive_interval,
                                      &st->s_interval)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The created event Spring publishes on saving a new session (its
 * listeners' SessionCreatedEvent), for new_id, once a back end created it:
 * NGX_DECLINED if the repository has none (the default one), NGX_ERROR
 * when out of memory.
 */

ngx_int_t
ngx_http_shared_session_store_created(ngx_http_shared_session_store_t *st)
{
    u_char                                      *p;
    ngx_pool_t                                  *pool;
    ngx_http_shared_session_serializer_event_t   ev;

    if (st->repository != NGX_HTTP_SHARED_SESSION_REPO_INDEXED) {
        return NGX_DECLINED;
    }

    pool = st->request->pool;

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

    return ngx_http_shared_session_serialize_event(pool, st->ser, &ev,
                                                   &st->event);
}


/* a created event that a server refused (an ACL without PUBLISH) */

void
ngx_http_shared_session_store_unpublished(ngx_http_shared_session_store_t *st,
    u_char *error, size_t len)
{
    ngx_log_error(NGX_LOG_WARN, st->request->connection->log, 0,
                  "shared session: redis %V: created event of session "
                  "\"%V\" not published: %*s",
                  ngx_http_shared_session_conn_name(st->conn), &st->new_id,
                  len, error);
}


ngx_int_t
ngx_http_shared_session_store_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    st->request = r;

    if (ngx_http_shared_session_store_values(st,
                                             NGX_HTTP_SHARED_SESSION_OP_LOAD)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return st->ops->load(r, st);
}


ngx_int_t
ngx_http_shared_session_store_key(ngx_http_shared_session_store_t *st,
    const char *kind, ngx_str_t *id, ngx_str_t *key)
{
    u_char  *p;
    size_t   n;

    n = ngx_strlen(kind);
    key->len = st->prefix.len + n + id->len;

    key->data = ngx_pnalloc(st->request->pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, st->prefix.data, st->prefix.len);
    p = ngx_cpymem(p, kind, n);
    ngx_memcpy(p, id->data, id->len);

    return NGX_OK;
}


/* the minute after the expiry, as Spring rounds it (and bucket() in Lua) */

int64_t
ngx_http_shared_session_store_bucket(int64_t expiry)
{
    return (expiry / 60000 + 1) * 60000;
}


/* the hash outlives its session by 5 minutes, as Spring sets it */

int64_t
ngx_http_shared_session_store_ttl(int64_t interval)
{
    return (interval + 300) * 1000;
}


/*
 * shared_session_touch_interval: a lookup's touch sends no write when the
 * session was touched less than the interval ago and its expiry would stay
 * in the same minute's bucket (so its hash and shadow key TTLs, its bucket
 * and Spring's view of its expiry move by less than the interval, and never
 * across a minute).  The request's clock, which the touch would write,
 * decides; one that lags behind lastAccessedTime skips too, within the
 * same minute.  A session that never expires has no bucket.
 */

ngx_uint_t
ngx_http_shared_session_store_fresh(ngx_http_shared_session_store_t *st,
    int64_t accessed, int64_t n)
{
    if (st->touch_interval == 0
        || st->now - accessed >= (int64_t) st->touch_interval)
    {
        return 0;
    }

    if (n < 0) {
        return 1;
    }

    return ngx_http_shared_session_store_bucket(accessed + n * 1000)
           == ngx_http_shared_session_store_bucket(st->now + n * 1000);
}


ngx_int_t
ngx_http_shared_session_store_bucket_key(ngx_http_shared_session_store_t *st,
    int64_t expiry, ngx_str_t *key)
{
    key->data = ngx_pnalloc(st->request->pool, st->prefix.len
                            + sizeof("expirations:") - 1 + NGX_INT64_LEN);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    key->len = ngx_sprintf(key->data, "%Vexpirations:%L", &st->prefix,
                           ngx_http_shared_session_store_bucket(expiry))
               - key->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_store_zset_key(ngx_http_shared_session_store_t *st,
    ngx_str_t *key)
{
    key->len = st->prefix.len + sizeof("sessions:expirations") - 1;

    key->data = ngx_pnalloc(st->request->pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(key->data, "%Vsessions:expirations", &st->prefix);

    return NGX_OK;
}


/* A stored number, in either of Spring's formats; num() in Lua */

ngx_int_t
ngx_http_shared_session_store_number(u_char *p, size_t len, int64_t *n)
{
    ngx_uint_t  format;

    return ngx_http_shared_session_read_number(p, len, n, &format) == NGX_OK
           ? NGX_OK : NGX_ERROR;
}


/*
 * Spring's rules, as fields() in Lua: all three numbers, an interval that
 * fits Java's int; a maxInactiveInterval of 0 is an ended session (Spring
 * 3.4's invalidation writes it) whatever lastAccessedTime says, one ahead
 * of this clock (another host's, or a request that began later) must not
 * revive it; a negative one never expires.
 */

ngx_uint_t
ngx_http_shared_session_store_state(ngx_http_shared_session_store_t *st,
    ngx_str_t *fields, int64_t now, ngx_http_shared_session_times_t *times,
    ngx_uint_t *format)
{
    int64_t     v[3];
    ngx_int_t   rc[3];
    ngx_uint_t  k, f[3];

    *format = NGX_HTTP_SHARED_SESSION_FORMAT_NONE;

    if (fields[0].data == NULL && fields[1].data == NULL
        && fields[2].data == NULL)
    {
        return NGX_HTTP_SHARED_SESSION_NONE;
    }

    for (k = 0; k < 3; k++) {
        if (fields[k].data == NULL) {
            return NGX_HTTP_SHARED_SESSION_BAD;
        }

        rc[k] = ngx_http_shared_session_read_number(fields[k].data,
                                                    fields[k].len, &v[k],
                                                    &f[k]);
    }

    /* another application's, all three in the other format: never mixed */

    if (f[0] == f[1] && f[0] == f[2] && f[0] != st->ser->format) {
        *format = f[0];
        return NGX_HTTP_SHARED_SESSION_BAD;
    }

    for (k = 0; k < 3; k++) {
        if (rc[k] != NGX_OK || f[k] != st->ser->format) {
            return NGX_HTTP_SHARED_SESSION_BAD;
        }
    }

    if (v[2] < -2147483648LL || v[2] > 2147483647LL) {
        return NGX_HTTP_SHARED_SESSION_BAD;
    }

    if (v[2] == 0 || (v[2] > 0 && now >= v[1] + v[2] * 1000)) {
        return NGX_HTTP_SHARED_SESSION_EXPIRED;
    }

    times->created = v[0];
    times->accessed = v[1];
    times->interval = v[2];

    return NGX_HTTP_SHARED_SESSION_LIVE;
}


void
ngx_http_shared_session_store_invalid(ngx_http_shared_session_store_t *st,
    ngx_str_t *id, ngx_uint_t format)
{
    if (format == NGX_HTTP_SHARED_SESSION_FORMAT_NONE) {
        ngx_log_error(NGX_LOG_WARN, st->request->connection->log, 0,
                      "shared session: invalid session \"%V\" in redis %V: "
                      "not a hash with creationTime, lastAccessedTime and "
                      "maxInactiveInterval; left untouched",
                      id, ngx_http_shared_session_conn_name(st->conn));
        return;
    }

    /* never written over in another format: Spring would fail to read it */

    ngx_log_error(NGX_LOG_WARN, st->request->connection->log, 0,
                  "shared session: session \"%V\" in redis %V is stored "
                  "with %s serialization, not the %s of "
                  "\"shared_session_serializer %V\"; left untouched",
                  id, ngx_http_shared_session_conn_name(st->conn),
                  ngx_http_shared_session_format_name(format),
                  ngx_http_shared_session_format_name(st->ser->format),
                  &ngx_http_shared_session_store_serializers[st->ser->format]);
}
