
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_JDK_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_JDK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Java serialization of the few types Spring Session's default serializer
 * (JdkSerializationRedisSerializer: one ObjectOutputStream per value)
 * writes for this module: decode and encode, no I/O.
 *
 * Decoders take the exact bytes of one hash value and return NGX_OK or
 * NGX_DECLINED (anything ObjectOutputStream would not have written for
 * that type); they never read outside [p, p + len).  Encoders write into
 * a buffer the caller sized with the matching _LEN macro or _len()
 * function and return the end of what they wrote.
 */


/* what ObjectOutputStream writes for a java.lang.Long, an Integer */
#define NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN     82
#define NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN  81

/*
 * The serialVersionUID the JVM computes for the seed's SampleSession
 * (Lombok's @AllArgsConstructor @NoArgsConstructor @Builder @Data, two
 * private fields, none declared), as javac 17 compiles it.
 */
#define NGX_HTTP_SHARED_SESSION_JDK_SAMPLE_SUID  0x204acd3ade8be876LL


/*
 * The seed's session-scoped bean: class (any name, Serializable, no
 * serializable superclass) with the fields String host and java.util.Date
 * lastUpdatedAt.  Strings are UTF-8 here.
 */
typedef struct {
    ngx_str_t   class;
    int64_t     suid;
    ngx_str_t   host;            /* data == NULL: null */
    int64_t     last_updated;    /* ms since the epoch */
    ngx_uint_t  no_date;         /* lastUpdatedAt is null */
} ngx_http_shared_session_jdk_session_t;


/* Whether the bytes start as every Java serialization stream does. */
ngx_uint_t ngx_http_shared_session_jdk_is_serialized(u_char *p, size_t len);

ngx_int_t ngx_http_shared_session_jdk_long(u_char *p, size_t len,
    int64_t *n);
ngx_int_t ngx_http_shared_session_jdk_integer(u_char *p, size_t len,
    int32_t *n);
u_char *ngx_http_shared_session_jdk_write_long(u_char *p, int64_t n);
u_char *ngx_http_shared_session_jdk_write_integer(u_char *p, int32_t n);

/*
 * A java.lang.String, decoded to UTF-8 into "buf", which must hold "len"
 * bytes (UTF-8 is never longer than Java's modified UTF-8).  An unpaired
 * surrogate, which UTF-8 cannot carry, becomes U+FFFD.
 */
ngx_int_t ngx_http_shared_session_jdk_string(u_char *p, size_t len,
    u_char *buf, ngx_str_t *s);

/*
 * The stream of a String holding the UTF-8 text "s"; each byte of "s" that
 * starts no well-formed UTF-8 sequence is written as U+FFFD.
 */
size_t ngx_http_shared_session_jdk_string_len(ngx_str_t *s);
u_char *ngx_http_shared_session_jdk_write_string(u_char *p, ngx_str_t *s);

/*
 * The bean, class name and host decoded into "buf", which must hold "len"
 * bytes.  A host or lastUpdatedAt missing from the stream (another version
 * of the class) reads as null; other String, Date and primitive fields are
 * skipped.
 */
ngx_int_t ngx_http_shared_session_jdk_session(u_char *p, size_t len,
    u_char *buf, ngx_http_shared_session_jdk_session_t *session);

/* 0 if the class name is too long for Java (65535 bytes) */
size_t ngx_http_shared_session_jdk_session_len(
    ngx_http_shared_session_jdk_session_t *session);
u_char *ngx_http_shared_session_jdk_write_session(u_char *p,
    ngx_http_shared_session_jdk_session_t *session);

/*
 * The next character of UTF-8 text at *pp (before "last"), *pp moved past
 * it: a well-formed sequence, or U+FFFD for one byte that starts none, as
 * Java's decoder makes it.
 */
uint32_t ngx_http_shared_session_jdk_utf8_next(u_char **pp, u_char *last);


/*
 * For the session scripts inside Redis (Lua 5.1, where numbers are
 * doubles): jdk_long(v) and jdk_integer(v) return the number a
 * JDK-serialized Long or Integer holds, or nil if "v" is not exactly one
 * (false for a field HMGET did not find, another type, a Long beyond
 * +-2^53, which a double cannot hold exactly).
 */
#define NGX_HTTP_SHARED_SESSION_JDK_LUA                                       \
    "local JDK_NUMBER = '\\0\\5valuexr\\0\\16java.lang.Number'"               \
        " .. '\\134\\172\\149\\29\\11\\148\\224\\139\\2\\0\\0xp'\n"           \
    "local JDK_LONG = '\\172\\237\\0\\5sr\\0\\14java.lang.Long'"              \
        " .. ';\\139\\228\\144\\204\\143#\\223\\2\\0\\1J' .. JDK_NUMBER\n"    \
    "local JDK_INTEGER = '\\172\\237\\0\\5sr\\0\\17java.lang.Integer'"        \
        " .. '\\18\\226\\160\\164\\247\\129\\1358\\2\\0\\1I' .. JDK_NUMBER\n" \
    "local function jdk_integer(v)\n"                                         \
    "    if type(v) ~= 'string' or #v ~= 81\n"                                \
    "        or string.sub(v, 1, 77) ~= JDK_INTEGER\n"                        \
    "    then\n"                                                              \
    "        return nil\n"                                                    \
    "    end\n"                                                               \
    "    local a, b, c, d = string.byte(v, 78, 81)\n"                         \
    "    local n = ((a * 256 + b) * 256 + c) * 256 + d\n"                     \
    "    if a >= 128 then\n"                                                  \
    "        n = n - 4294967296\n"                                            \
    "    end\n"                                                               \
    "    return n\n"                                                          \
    "end\n"                                                                   \
    "local function jdk_long(v)\n"                                            \
    "    if type(v) ~= 'string' or #v ~= 82\n"                                \
    "        or string.sub(v, 1, 74) ~= JDK_LONG\n"                           \
    "    then\n"                                                              \
    "        return nil\n"                                                    \
    "    end\n"                                                               \
    "    local a, b, c, d, e, f, g, h = string.byte(v, 75, 82)\n"             \
    "    local hi = ((a * 256 + b) * 256 + c) * 256 + d\n"                    \
    "    local lo = ((e * 256 + f) * 256 + g) * 256 + h\n"                    \
    "    if a >= 128 then\n"                                                  \
    "        hi = hi - 4294967296\n"                                          \
    "    end\n"                                                               \
    "    if hi > 2097152 or (hi == 2097152 and lo > 0)\n"                     \
    "        or hi < -2097152\n"                                              \
    "    then\n"                                                              \
    "        return nil\n"                                                    \
    "    end\n"                                                               \
    "    return hi * 4294967296 + lo\n"                                       \
    "end\n"


#endif /* _NGX_HTTP_SHARED_SESSION_JDK_H_INCLUDED_ */
