
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_SERIALIZER_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_SERIALIZER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The bytes Spring's serializers write for the values this module stores:
 * numbers, the attribute, set and sorted set members, the created event;
 * and the readers of what they wrote.  No I/O.
 *
 * JSON is GenericJackson2JsonRedisSerializer, as the seed's application
 * configures it (springSessionDefaultRedisSerializer); JDK is Spring's
 * default, JdkSerializationRedisSerializer (one ObjectOutputStream per
 * value, src/ngx_http_shared_session_jdk.c).  Both write the same bytes
 * in Spring Session 2.7 and 3.5 (t/spring/FORMAT.md, section 2).
 */


/* shared_session_serializer */
#define NGX_HTTP_SHARED_SESSION_JSON  0
#define NGX_HTTP_SHARED_SESSION_JDK   1

/* what a stored number was found to be, besides the two formats */
#define NGX_HTTP_SHARED_SESSION_FORMAT_NONE  2


typedef struct {
    ngx_uint_t   format;  /* NGX_HTTP_SHARED_SESSION_JSON or _JDK */
    ngx_str_t    class;   /* the attribute's class */
    int64_t      suid;    /* its serialVersionUID (JDK) */
} ngx_http_shared_session_serializer_t;


/*
 * The created event's body: the new session's delta, a java.util.HashMap
 * of these four entries, as Spring Session 3 publishes it (2.7 publishes
 * an empty map, and reads this one as well).
 */
typedef struct {
    int64_t      creation_time;
    int64_t      last_accessed_time;
    int32_t      max_inactive_interval;
    ngx_str_t    field;      /* "sessionAttr:<name>" */
    ngx_str_t    attribute;  /* its value, serialized by the same format */
} ngx_http_shared_session_serializer_event_t;


/* the longest score text: "-9.007199254740991E15" */
#define NGX_HTTP_SHARED_SESSION_SCORE_LEN  24


/*
 * Writers: the value, serialized, in "out", allocated from "pool".
 * NGX_ERROR only when out of memory (or a class name Java cannot hold).
 */

/* java.lang.Long: creationTime, lastAccessedTime */
ngx_int_t ngx_http_shared_session_serialize_long(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser, int64_t n, ngx_str_t *out);

/* java.lang.Integer: maxInactiveInterval */
ngx_int_t ngx_http_shared_session_serialize_integer(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser, int32_t n, ngx_str_t *out);

/*
 * java.lang.String "<prefix><s>" (prefix may be NULL): the expiry bucket's
 * member "expires:<id>", the principal index's and the sorted set's "<id>"
 */
ngx_int_t ngx_http_shared_session_serialize_string(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser, char *prefix, ngx_str_t *s,
    ngx_str_t *out);

/* the seed's SampleSession { host, lastUpdatedAt = new Date(ms) } */
ngx_int_t ngx_http_shared_session_serialize_attribute(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser, ngx_str_t *host, int64_t ms,
    ngx_str_t *out);

/* the body of PUBLISH <P>event:<db>:created:<id> */
ngx_int_t ngx_http_shared_session_serialize_event(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser,
    ngx_http_shared_session_serializer_event_t *ev, ngx_str_t *out);

/*
 * A sorted set score, epoch ms, as Java's Double.toString() writes it and
 * Spring sends it to ZADD: "1.796395090249E12".  "buf" holds
 * NGX_HTTP_SHARED_SESSION_SCORE_LEN bytes; |ms| must be below 2^53.
 * Returns the end of what was written.
 */
u_char *ngx_http_shared_session_serialize_score(u_char *buf, int64_t ms);


/*
 * Readers.  A number, JSON (decimal text, or ["java.lang.Long",n] and
 * ["java.lang.Integer",n], as spring-data-redis 2.7.0-2.7.1 wrote it) or
 * JDK (a Long or an Integer); within +-2^53, as the session scripts read
 * numbers.  NGX_OK with the format it was in, or NGX_DECLINED (then
 * "format" still says which format it looked like).
 */
ngx_int_t ngx_http_shared_session_read_number(u_char *p, size_t len,
    int64_t *n, ngx_uint_t *format);

/* JSON or JDK, by the first bytes: what a value looks like */
ngx_uint_t ngx_http_shared_session_format_of(u_char *p, size_t len);

/* "json" or "JDK" serialization, for logs */
char *ngx_http_shared_session_format_name(ngx_uint_t format);

/*
 * The host of a stored SampleSession, either format (as the seed's app
 * wrote it, or another version of its class): NGX_OK, NGX_DECLINED if it
 * has none, NGX_ERROR when out of memory.
 */
ngx_int_t ngx_http_shared_session_read_host(ngx_pool_t *pool,
    ngx_str_t *attribute, ngx_str_t *host);

/*
 * A stored java.lang.String, either format, as UTF-8 (the principal name):
 * NGX_OK, NGX_DECLINED if it is not one, NGX_ERROR when out of memory.
 */
ngx_int_t ngx_http_shared_session_read_string(ngx_pool_t *pool,
    ngx_str_t *value, ngx_str_t *s);


#endif /* _NGX_HTTP_SHARED_SESSION_SERIALIZER_H_INCLUDED_ */
