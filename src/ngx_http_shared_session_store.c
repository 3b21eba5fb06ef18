
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
 * attributes; its shadow key "<prefix>sessions:expires:<id>", whose expiry
 * tells Spring the session expired; and its id in the expiry bucket
 * "<prefix>expirations:<minute after the expiry>", which Spring's cleanup
 * job reads.  The scripts have the same rules in Lua
 * (NGX_HTTP_SHARED_SESSION_LUA_COMMON).
 */


ngx_int_t
ngx_http_shared_session_store_touch(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    st->request = r;

    return st->ops->touch(r, st);
}


ngx_int_t
ngx_http_shared_session_store_invalidate(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    st->request = r;

    return st->ops->invalidate(r, st);
}


ngx_int_t
ngx_http_shared_session_store_load(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    st->request = r;

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
ngx_http_shared_session_store_member(ngx_http_shared_session_store_t *st,
    ngx_str_t *id, ngx_str_t *member)
{
    member->len = sizeof("\"expires:\"") - 1 + id->len;

    member->data = ngx_pnalloc(st->request->pool, member->len);
    if (member->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(member->data, "\"expires:%V\"", id);

    return NGX_OK;
}


/*
 * A stored number: decimal text, or typed as spring-data-redis 2.7.0-2.7.1
 * wrote it, ["java.lang.Long",n] or ["java.lang.Integer",n]; num() in Lua.
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


/*
 * Spring's rules, as fields() in Lua: all three numbers, an interval that
 * fits Java's int; a maxInactiveInterval of 0 is an ended session (Spring
 * 3.4's invalidation writes it) whatever lastAccessedTime says, one ahead
 * of this clock (another host's, or a request that began later) must not
 * revive it; a negative one never expires.
 */

ngx_uint_t
ngx_http_shared_session_store_state(ngx_str_t *fields, int64_t now,
    ngx_http_shared_session_times_t *times)
{
    int64_t     v[3];
    ngx_uint_t  k;

    if (fields[0].data == NULL && fields[1].data == NULL
        && fields[2].data == NULL)
    {
        return NGX_HTTP_SHARED_SESSION_NONE;
    }

    for (k = 0; k < 3; k++) {
        if (fields[k].data == NULL
            || ngx_http_shared_session_store_number(fields[k].data,
                                                    fields[k].len, &v[k])
               != NGX_OK)
        {
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
    ngx_str_t *id)
{
    ngx_log_error(NGX_LOG_WARN, st->request->connection->log, 0,
                  "shared session: invalid session \"%V\" in redis %V: "
                  "not a hash with creationTime, lastAccessedTime and "
                  "maxInactiveInterval; left untouched",
                  id, ngx_http_shared_session_conn_name(st->conn));
}
