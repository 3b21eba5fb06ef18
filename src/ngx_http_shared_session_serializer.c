
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_shared_session_serializer.h"
#include "ngx_http_shared_session_jdk.h"
#include "ngx_http_shared_session_json.h"
#include "ngx_http_shared_session_num.h"


/*
 * The created event's map, as java.util.HashMap writes itself: its class
 * descriptor (serialVersionUID 362498820763181265, SC_SERIALIZABLE |
 * SC_WRITE_METHOD, fields float loadFactor and int threshold), then
 * loadFactor 0.75 and threshold 12, and in block data the table's capacity
 * (16) and the number of entries (4): a HashMap after four put()s into
 * new HashMap<>(), as Spring's RedisSession builds its delta.
 */
static u_char  ngx_http_shared_session_jdk_hashmap[] =
    "\xac\xed\x00\x05"
    "\x73\x72\x00\x11java.util.HashMap\x05\x07\xda\xc1\xc3\x16\x60\xd1"
    "\x03\x00\x02\x46\x00\x0aloadFactor\x49\x00\x09threshold\x78\x70"
    "\x3f\x40\x00\x00\x00\x00\x00\x0c"
    "\x77\x08\x00\x00\x00\x10\x00\x00\x00\x04";

#define NGX_JDK_HASHMAP_CAPACITY  16

/*
 * Inside the map's stream, the handles are: 0x7e0000 HashMap's class,
 * 0x7e0001 the map, then what each entry makes.  A Long after the first
 * one refers to Long's class descriptor, an Integer to Number's, instead
 * of writing them again; the bean makes only new objects (it refers to
 * nothing written before it), so its own stream is embedded as it is.
 */
#define NGX_JDK_TC_OBJECT     0x73
#define NGX_JDK_TC_REFERENCE  0x71
#define NGX_JDK_TC_ENDBLOCK   0x78

/*
 * The handles the bean's stream makes: its class descriptor, the two
 * field type strings, itself, the host, Date's class descriptor, the Date
 * (src/ngx_http_shared_session_jdk.c writes the host as "", never null).
 */
#define NGX_JDK_BEAN_HANDLES  7

#define NGX_JDK_MAGIC_LEN     4
#define NGX_JDK_BASE_HANDLE   0x7e0000

/*
 * A Long or Integer alone: magic, TC_OBJECT, its class descriptor, then
 * Number's (with TC_NULL for Number's superclass), then the value.
 */
#define NGX_JDK_NUMBER_DESC_LEN  32
#define NGX_JDK_LONG_DESC_LEN                                                 \
    (NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN - NGX_JDK_MAGIC_LEN - 1             \
     - NGX_JDK_NUMBER_DESC_LEN - 8)
#define NGX_JDK_INTEGER_DESC_LEN                                              \
    (NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN - NGX_JDK_MAGIC_LEN - 1          \
     - NGX_JDK_NUMBER_DESC_LEN - 4)


typedef enum {
    NGX_SER_ENTRY_CREATION = 0,
    NGX_SER_ENTRY_INTERVAL,
    NGX_SER_ENTRY_ACCESSED,
    NGX_SER_ENTRY_ATTRIBUTE
} ngx_http_shared_session_entry_e;


static void ngx_http_shared_session_event_order(ngx_str_t *field,
    ngx_uint_t *order);
static uint32_t ngx_http_shared_session_java_hash(ngx_str_t *s);
static size_t ngx_http_shared_session_json_escaped_len(u_char *p,
    size_t len);
static u_char *ngx_http_shared_session_json_escape(u_char *d, u_char *p,
    size_t len);
static ngx_int_t ngx_http_shared_session_event_json(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_event_t *ev, ngx_uint_t *order,
    ngx_str_t *out);
static ngx_int_t ngx_http_shared_session_event_jdk(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_event_t *ev, ngx_uint_t *order,
    ngx_str_t *out);
static u_char *ngx_http_shared_session_jdk_ref(u_char *p, uint32_t handle);
static ngx_int_t ngx_http_shared_session_read_json_number(u_char *p,
    size_t len, int64_t *n);
static ngx_int_t ngx_http_shared_session_jdk_host(ngx_pool_t *pool,
    ngx_str_t *attribute, ngx_str_t *host);


static ngx_str_t  ngx_http_shared_session_entry_names[] = {
    ngx_string("creationTime"),
    ngx_string("maxInactiveInterval"),
    ngx_string("lastAccessedTime"),
    ngx_null_string               /* the attribute: ev->field */
};


ngx_int_t
ngx_http_shared_session_serialize_long(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser, int64_t n, ngx_str_t *out)
{
    if (ser->format == NGX_HTTP_SHARED_SESSION_JDK) {
        out->data = ngx_pnalloc(pool, NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN);
        if (out->data == NULL) {
            return NGX_ERROR;
        }

        out->len = ngx_http_shared_session_jdk_write_long(out->data, n)
                   - out->data;
        return NGX_OK;
    }

    /* Jackson writes a Long field of the hash as a bare number */

    out->data = ngx_pnalloc(pool, NGX_INT64_LEN);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_http_shared_session_int(out->data, n) - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_serialize_integer(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser, int32_t n, ngx_str_t *out)
{
    if (ser->format == NGX_HTTP_SHARED_SESSION_JDK) {
        out->data = ngx_pnalloc(pool,
                                NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN);
        if (out->data == NULL) {
            return NGX_ERROR;
        }

        out->len = ngx_http_shared_session_jdk_write_integer(out->data, n)
                   - out->data;
        return NGX_OK;
    }

    out->data = ngx_pnalloc(pool, NGX_INT64_LEN);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_http_shared_session_int(out->data, n) - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_serialize_string(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser, char *prefix, ngx_str_t *s,
    ngx_str_t *out)
{
    u_char     *p;
    size_t      n, len;
    ngx_str_t   text;

    n = prefix ? ngx_strlen(prefix) : 0;

    if (ser->format == NGX_HTTP_SHARED_SESSION_JDK) {
        text.len = n + s->len;
        text.data = ngx_pnalloc(pool, text.len);
        if (text.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(text.data, prefix, n);
        ngx_memcpy(p, s->data, s->len);

        out->data = ngx_pnalloc(pool,
                                ngx_http_shared_session_jdk_string_len(&text));
        if (out->data == NULL) {
            return NGX_ERROR;
        }

        out->len = ngx_http_shared_session_jdk_write_string(out->data, &text)
                   - out->data;
        return NGX_OK;
    }

    /* a JSON string, with the quotes */

    len = ngx_http_shared_session_json_escaped_len(s->data, s->len);

    out->data = ngx_pnalloc(pool, 2 + n + len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;
    *p++ = '"';

    if (n) {
        /* the prefix is ours, without anything to escape */
        p = ngx_cpymem(p, prefix, n);
    }

    if (len == s->len) {
        /* nothing to escape: a session id always */
        p = ngx_cpymem(p, s->data, s->len);

    } else {
        p = ngx_http_shared_session_json_escape(p, s->data, s->len);
    }

    *p++ = '"';

    out->len = p - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_serialize_attribute(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser, ngx_str_t *host, int64_t ms,
    ngx_str_t *out)
{
    size_t                                 len;
    ngx_http_shared_session_jdk_session_t  bean;

    if (ser->format == NGX_HTTP_SHARED_SESSION_JSON) {
        return ngx_http_shared_session_json_attribute(pool, &ser->class,
                                                      host, ms, out);
    }

    bean.class = ser->class;
    bean.suid = ser->suid;
    bean.host = *host;
    bean.last_updated = ms;
    bean.no_date = 0;

    if (bean.host.data == NULL) {
        /* an empty host is "", not null */
        bean.host.data = (u_char *) "";
    }

    len = ngx_http_shared_session_jdk_session_len(&bean);
    if (len == 0) {
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = ngx_http_shared_session_jdk_write_session(out->data, &bean)
               - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_serialize_event(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_t *ser,
    ngx_http_shared_session_serializer_event_t *ev, ngx_str_t *out)
{
    ngx_uint_t  order[4];

    ngx_http_shared_session_event_order(&ev->field, order);

    if (ser->format == NGX_HTTP_SHARED_SESSION_JDK) {
        return ngx_http_shared_session_event_jdk(pool, ev, order, out);
    }

    return ngx_http_shared_session_event_json(pool, ev, order, out);
}


/*
 * The order a HashMap of 16 buckets iterates its entries in, which is the
 * order both serializers write them: by bucket (the key's String.hashCode(),
 * its high half folded in, modulo 16), and within one bucket in the order
 * they were put, as RedisSession puts them: creationTime,
 * maxInactiveInterval, lastAccessedTime, then the attribute.  Spring reads
 * the map whatever its order; this one is the bytes Java writes
 * (lastAccessedTime, maxInactiveInterval, creationTime, then the seed's
 * attribute).
 */

static void
ngx_http_shared_session_event_order(ngx_str_t *field, ngx_uint_t *order)
{
    uint32_t    h, bucket[4];
    ngx_str_t  *name;
    ngx_uint_t  i, j, k;

    for (i = 0; i < 4; i++) {
        name = (i == NGX_SER_ENTRY_ATTRIBUTE)
               ? field : &ngx_http_shared_session_entry_names[i];

        h = ngx_http_shared_session_java_hash(name);
        bucket[i] = (h ^ (h >> 16)) & (NGX_JDK_HASHMAP_CAPACITY - 1);
    }

    k = 0;

    for (j = 0; j < NGX_JDK_HASHMAP_CAPACITY; j++) {
        for (i = 0; i < 4; i++) {
            if (bucket[i] == j) {
                order[k++] = i;
            }
        }
    }
}


/*
 * String.hashCode() of UTF-8 text: over its UTF-16 code units, as Java
 * holds it once decoded (a byte that starts no well-formed sequence is
 * U+FFFD, as the JDK writer and Java's own decoder make it).
 */

static uint32_t
ngx_http_shared_session_java_hash(ngx_str_t *s)
{
    u_char    *p, *last;
    uint32_t   h, c;

    h = 0;
    p = s->data;
    last = p + s->len;

    while (p < last) {
        c = ngx_http_shared_session_jdk_utf8_next(&p, last);

        if (c >= 0x10000) {
            c -= 0x10000;
            h = 31 * h + (0xd800 + (c >> 10));
            h = 31 * h + (0xdc00 + (c & 0x3ff));

        } else {
            h = 31 * h + c;
        }
    }

    return h;
}


/*
 * {"@class":"java.util.HashMap",<entries>}: Jackson's default typing
 * types the map and the Longs in it; an Integer is a bare number, the
 * attribute carries its own "@class".
 */

static ngx_int_t
ngx_http_shared_session_event_json(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_event_t *ev, ngx_uint_t *order,
    ngx_str_t *out)
{
    u_char      *p;
    size_t       len;
    ngx_str_t   *name;
    ngx_uint_t   i;

    static u_char  head[] = "{\"@class\":\"java.util.HashMap\"";
    static u_char  typed[] = "[\"java.lang.Long\",";

    len = sizeof(head) - 1 + 1
          + 3 * (4 + sizeof(typed) - 1 + NGX_INT64_LEN + 1 + 32)
          + 4 + ngx_http_shared_session_json_escaped_len(ev->field.data,
                                                         ev->field.len)
          + ev->attribute.len;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    p = ngx_cpymem(p, head, sizeof(head) - 1);

    for (i = 0; i < 4; i++) {
        name = (order[i] == NGX_SER_ENTRY_ATTRIBUTE)
               ? &ev->field : &ngx_http_shared_session_entry_names[order[i]];

        *p++ = ',';
        *p++ = '"';
        p = ngx_http_shared_session_json_escape(p, name->data, name->len);
        *p++ = '"';
        *p++ = ':';

        switch (order[i]) {

        case NGX_SER_ENTRY_CREATION:
            p = ngx_sprintf(p, "%s%L]", typed, ev->creation_time);
            break;

        case NGX_SER_ENTRY_ACCESSED:
            p = ngx_sprintf(p, "%s%L]", typed, ev->last_accessed_time);
            break;

        case NGX_SER_ENTRY_INTERVAL:
            p = ngx_sprintf(p, "%D", ev->max_inactive_interval);
            break;

        default: /* NGX_SER_ENTRY_ATTRIBUTE */
            p = ngx_cpymem(p, ev->attribute.data, ev->attribute.len);
        }
    }

    *p++ = '}';

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * The HashMap's stream: its header, then each key (a new String) and
 * value, then TC_ENDBLOCKDATA.  The values are the streams the JDK codec
 * writes, without their magic; the first Long writes Long's class
 * descriptor, the first number Number's, and a later one refers to them.
 * Handles count from 0x7e0002 (after the map's descriptor and the map):
 * one per String, class descriptor and object, in the order written.
 */

static ngx_int_t
ngx_http_shared_session_event_jdk(ngx_pool_t *pool,
    ngx_http_shared_session_serializer_event_t *ev, ngx_uint_t *order,
    ngx_str_t *out)
{
    u_char      *p, *v, number[NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN];
    size_t       len, desc;
    int64_t      value;
    uint32_t     handle, long_desc, number_desc;
    ngx_str_t   *name;
    ngx_uint_t   i;

    if (!ngx_http_shared_session_jdk_is_serialized(ev->attribute.data,
                                                   ev->attribute.len))
    {
        return NGX_ERROR;
    }

    len = sizeof(ngx_http_shared_session_jdk_hashmap) - 1 + 1
          + ev->attribute.len;

    for (i = 0; i < 4; i++) {
        name = (order[i] == NGX_SER_ENTRY_ATTRIBUTE)
               ? &ev->field : &ngx_http_shared_session_entry_names[order[i]];

        len += ngx_http_shared_session_jdk_string_len(name)
               + NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN;
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_hashmap,
                   sizeof(ngx_http_shared_session_jdk_hashmap) - 1);

    handle = NGX_JDK_BASE_HANDLE + 2;
    long_desc = 0;
    number_desc = 0;

    for (i = 0; i < 4; i++) {
        name = (order[i] == NGX_SER_ENTRY_ATTRIBUTE)
               ? &ev->field : &ngx_http_shared_session_entry_names[order[i]];

        /* the key: a new String */

        v = p;
        p = ngx_http_shared_session_jdk_write_string(p, name);
        ngx_memmove(v, v + NGX_JDK_MAGIC_LEN, p - v - NGX_JDK_MAGIC_LEN);
        p -= NGX_JDK_MAGIC_LEN;
        handle++;

        if (order[i] == NGX_SER_ENTRY_ATTRIBUTE) {
            /*
             * The bean refers to nothing before it: the same bytes.  (It
             * never comes before lastAccessedTime, whose bucket is 0, so
             * the descriptors a later number refers to are written before
             * it; its handles are counted all the same.)
             */

            p = ngx_cpymem(p, ev->attribute.data + NGX_JDK_MAGIC_LEN,
                           ev->attribute.len - NGX_JDK_MAGIC_LEN);
            handle += NGX_JDK_BEAN_HANDLES;
            continue;
        }

        if (order[i] == NGX_SER_ENTRY_INTERVAL) {
            (void) ngx_http_shared_session_jdk_write_integer(number,
                                                 ev->max_inactive_interval);
            desc = NGX_JDK_INTEGER_DESC_LEN;
            len = 4;

        } else {
            value = (order[i] == NGX_SER_ENTRY_CREATION)
                    ? ev->creation_time : ev->last_accessed_time;

            (void) ngx_http_shared_session_jdk_write_long(number, value);
            desc = NGX_JDK_LONG_DESC_LEN;
            len = 8;
        }

        v = number + NGX_JDK_MAGIC_LEN + 1;     /* the class descriptor */
        *p++ = NGX_JDK_TC_OBJECT;

        if (order[i] != NGX_SER_ENTRY_INTERVAL && long_desc) {
            p = ngx_http_shared_session_jdk_ref(p, long_desc);

        } else {
            p = ngx_cpymem(p, v, desc);

            if (order[i] != NGX_SER_ENTRY_INTERVAL) {
                long_desc = handle;
            }

            handle++;

            /* its superclass, java.lang.Number */

            if (number_desc) {
                p = ngx_http_shared_session_jdk_ref(p, number_desc);

            } else {
                p = ngx_cpymem(p, v + desc, NGX_JDK_NUMBER_DESC_LEN);
                number_desc = handle++;
            }
        }

        handle++;                               /* the Long or Integer */

        p = ngx_cpymem(p, v + desc + NGX_JDK_NUMBER_DESC_LEN, len);
    }

    *p++ = NGX_JDK_TC_ENDBLOCK;

    out->len = p - out->data;

    return NGX_OK;
}


/* TC_REFERENCE to a handle */

static u_char *
ngx_http_shared_session_jdk_ref(u_char *p, uint32_t handle)
{
    *p++ = NGX_JDK_TC_REFERENCE;
    *p++ = (u_char) (handle >> 24);
    *p++ = (u_char) (handle >> 16);
    *p++ = (u_char) (handle >> 8);
    *p++ = (u_char) handle;

    return p;
}


/*
 * Double.toString() of an integral double below 2^53 in magnitude: its
 * digits are exact there (no shorter text reads back as the same double),
 * "1796395090249.0" written as Java does past 10^7, "1.796395090249E12",
 * and below it as "1234.0".
 */

u_char *
ngx_http_shared_session_serialize_score(u_char *buf, int64_t ms)
{
    u_char      digits[NGX_INT64_LEN], *p, *last;
    uint64_t    v;
    ngx_uint_t  n, exp;

    p = buf;

    if (ms < 0) {
        *p++ = '-';
        v = (uint64_t) -ms;

    } else {
        v = (uint64_t) ms;
    }

    if (v < 10000000) {
        return ngx_sprintf(p, "%uL.0", v);
    }

    last = ngx_sprintf(digits, "%uL", v);
    n = last - digits;
    exp = n - 1;

    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }

    *p++ = digits[0];
    *p++ = '.';

    if (n == 1) {
        *p++ = '0';

    } else {
        p = ngx_cpymem(p, digits + 1, n - 1);
    }

    return ngx_sprintf(p, "E%ui", exp);
}


ngx_int_t
ngx_http_shared_session_read_number(u_char *p, size_t len, int64_t *n,
    ngx_uint_t *format)
{
    int32_t  i;

    *format = ngx_http_shared_session_format_of(p, len);

    if (*format == NGX_HTTP_SHARED_SESSION_JSON) {
        return ngx_http_shared_session_read_json_number(p, len, n);
    }

    if (ngx_http_shared_session_jdk_integer(p, len, &i) == NGX_OK) {
        *n = i;
        return NGX_OK;
    }

    if (ngx_http_shared_session_jdk_long(p, len, n) == NGX_OK
        && *n < ((int64_t) 1 << 53) && *n > -((int64_t) 1 << 53))
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * Decimal text, or typed as spring-data-redis 2.7.0-2.7.1 wrote it:
 * ["java.lang.Long",n] or ["java.lang.Integer",n].  As the scripts read
 * numbers: at most 17 characters, within +-2^53.
 */

static ngx_int_t
ngx_http_shared_session_read_json_number(u_char *p, size_t len, int64_t *n)
{
    off_t        v;
    ngx_str_t   *t;
    ngx_uint_t   minus;

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

    if (len > 17) {
        return NGX_DECLINED;
    }

    v = ngx_atoof(p + minus, len - minus);
    if (v == NGX_ERROR || v >= ((off_t) 1 << 53)) {
        return NGX_DECLINED;
    }

    *n = minus ? -v : v;

    return NGX_OK;
}


ngx_uint_t
ngx_http_shared_session_format_of(u_char *p, size_t len)
{
    return ngx_http_shared_session_jdk_is_serialized(p, len)
           ? NGX_HTTP_SHARED_SESSION_JDK : NGX_HTTP_SHARED_SESSION_JSON;
}


char *
ngx_http_shared_session_format_name(ngx_uint_t format)
{
    switch (format) {

    case NGX_HTTP_SHARED_SESSION_JSON:
        return "JSON";

    case NGX_HTTP_SHARED_SESSION_JDK:
        return "JDK";

    default:
        return "an unknown";
    }
}


ngx_int_t
ngx_http_shared_session_read_host(ngx_pool_t *pool, ngx_str_t *attribute,
    ngx_str_t *host)
{
    if (ngx_http_shared_session_format_of(attribute->data, attribute->len)
        == NGX_HTTP_SHARED_SESSION_JDK)
    {
        return ngx_http_shared_session_jdk_host(pool, attribute, host);
    }

    return ngx_http_shared_session_json_host(pool, attribute, host);
}


static ngx_int_t
ngx_http_shared_session_jdk_host(ngx_pool_t *pool, ngx_str_t *attribute,
    ngx_str_t *host)
{
    u_char                                 *buf;
    ngx_http_shared_session_jdk_session_t   bean;

    if (attribute->len > NGX_HTTP_SHARED_SESSION_ATTR_PARSE_MAX) {
        return NGX_DECLINED;
    }

    buf = ngx_pnalloc(pool, attribute->len);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_shared_session_jdk_session(attribute->data, attribute->len,
                                            buf, &bean)
        != NGX_OK
        || bean.host.data == NULL)
    {
        /* not the bean, or its host is null: no previous host */
        return NGX_DECLINED;
    }

    *host = bean.host;

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_read_string(ngx_pool_t *pool, ngx_str_t *value,
    ngx_str_t *s)
{
    u_char  *buf;

    if (value->len > NGX_HTTP_SHARED_SESSION_ATTR_PARSE_MAX) {
        return NGX_DECLINED;
    }

    buf = ngx_pnalloc(pool, value->len + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_shared_session_format_of(value->data, value->len)
        == NGX_HTTP_SHARED_SESSION_JDK)
    {
        return ngx_http_shared_session_jdk_string(value->data, value->len,
                                                  buf, s);
    }

    /* what cJSON decodes is never longer than the JSON it came from */

    return ngx_http_shared_session_json_decode_string(pool, value, buf, s);
}


/* Jackson's escapes: \" \\ \b \t \n \f \r, other controls as \u00XX */

static size_t
ngx_http_shared_session_json_escaped_len(u_char *p, size_t len)
{
    size_t  n;

    for (n = len; len--; p++) {
        if (*p == '"' || *p == '\\') {
            n++;

        } else if (*p < 0x20) {
            n += 5;
        }
    }

    return n;
}


static u_char *
ngx_http_shared_session_json_escape(u_char *d, u_char *p, size_t len)
{
    u_char  *last;

    static u_char  hex[] = "0123456789abcdef";

    for (last = p + len; p < last; p++) {

        if (*p == '"' || *p == '\\') {
            *d++ = '\\';
            *d++ = *p;
            continue;
        }

        if (*p >= 0x20) {
            *d++ = *p;
            continue;
        }

        *d++ = '\\';

        switch (*p) {
        case '\b': *d++ = 'b'; break;
        case '\t': *d++ = 't'; break;
        case '\n': *d++ = 'n'; break;
        case '\f': *d++ = 'f'; break;
        case '\r': *d++ = 'r'; break;
        default:
            d = ngx_cpymem(d, "u00", 3);
            *d++ = hex[*p >> 4];
            *d++ = hex[*p & 0xf];
        }
    }

    return d;
}
