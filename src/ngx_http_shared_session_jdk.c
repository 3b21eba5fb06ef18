
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_shared_session_jdk.h"


/* java.io.ObjectStreamConstants */
#define NGX_JDK_TC_NULL          0x70
#define NGX_JDK_TC_REFERENCE     0x71
#define NGX_JDK_TC_CLASSDESC     0x72
#define NGX_JDK_TC_OBJECT        0x73
#define NGX_JDK_TC_STRING        0x74
#define NGX_JDK_TC_BLOCKDATA     0x77
#define NGX_JDK_TC_ENDBLOCKDATA  0x78
#define NGX_JDK_TC_LONGSTRING    0x7c

#define NGX_JDK_SC_SERIALIZABLE  0x02

#define NGX_JDK_BASE_HANDLE      0x7e0000

/* java.util.Date's serialVersionUID */
#define NGX_JDK_DATE_SUID        0x686a81014b597419LL

/*
 * The bean's stream holds a handful of handles (its class, two type
 * strings, itself, the host, Date's class and a Date); these bounds leave
 * room for another version of the class and are far below what any input
 * could make a reader hold.
 */
#define NGX_JDK_MAX_FIELDS       16
#define NGX_JDK_MAX_HANDLES      64


typedef enum {
    NGX_JDK_HANDLE_OTHER = 0,
    NGX_JDK_HANDLE_STRING,
    NGX_JDK_HANDLE_DATE_CLASS,
    NGX_JDK_HANDLE_DATE
} ngx_http_shared_session_jdk_handle_e;


typedef struct {
    ngx_http_shared_session_jdk_handle_e  type;
    ngx_str_t                             text;  /* modified UTF-8 */
    int64_t                               ms;
} ngx_http_shared_session_jdk_handle_t;


typedef enum {
    NGX_JDK_FIELD_PRIMITIVE = 0,
    NGX_JDK_FIELD_STRING,
    NGX_JDK_FIELD_DATE,
    NGX_JDK_FIELD_HOST,
    NGX_JDK_FIELD_LAST_UPDATED
} ngx_http_shared_session_jdk_field_e;


typedef struct {
    u_char                                *pos;
    u_char                                *last;
    ngx_uint_t                             nhandles;
    ngx_http_shared_session_jdk_handle_t   handles[NGX_JDK_MAX_HANDLES];
} ngx_http_shared_session_jdk_reader_t;


static size_t ngx_http_shared_session_jdk_utf_len(ngx_str_t *s);
static u_char *ngx_http_shared_session_jdk_write_utf(u_char *d,
    ngx_str_t *s);
static u_char *ngx_http_shared_session_jdk_write_char(u_char *d,
    uint32_t c);
static ngx_int_t ngx_http_shared_session_jdk_utf_decode(ngx_str_t *in,
    u_char *buf, ngx_str_t *out);
static u_char *ngx_http_shared_session_jdk_write_be(u_char *p, uint64_t n,
    ngx_uint_t size);
static uint64_t ngx_http_shared_session_jdk_be(u_char *p, ngx_uint_t size);
static u_char *ngx_http_shared_session_jdk_write_string_object(u_char *p,
    ngx_str_t *s, size_t len);

static u_char *ngx_http_shared_session_jdk_read(
    ngx_http_shared_session_jdk_reader_t *rd, size_t n);
static ngx_int_t ngx_http_shared_session_jdk_read_utf(
    ngx_http_shared_session_jdk_reader_t *rd, ngx_str_t *s);
static ngx_http_shared_session_jdk_handle_t *
    ngx_http_shared_session_jdk_new_handle(
    ngx_http_shared_session_jdk_reader_t *rd);
static ngx_http_shared_session_jdk_handle_t *
    ngx_http_shared_session_jdk_read_handle(
    ngx_http_shared_session_jdk_reader_t *rd,
    ngx_http_shared_session_jdk_handle_e type);
static ngx_int_t ngx_http_shared_session_jdk_read_string(
    ngx_http_shared_session_jdk_reader_t *rd, ngx_uint_t nullable,
    ngx_str_t *s);
static ngx_int_t ngx_http_shared_session_jdk_read_fields(
    ngx_http_shared_session_jdk_reader_t *rd,
    ngx_http_shared_session_jdk_field_e *fields, ngx_uint_t *nfields,
    size_t *prim);
static ngx_int_t ngx_http_shared_session_jdk_read_date(
    ngx_http_shared_session_jdk_reader_t *rd, int64_t *ms,
    ngx_uint_t *null);
static ngx_int_t ngx_http_shared_session_jdk_read_date_class(
    ngx_http_shared_session_jdk_reader_t *rd);


static u_char  ngx_http_shared_session_jdk_magic[] = { 0xac, 0xed, 0x00, 0x05 };

/* TC_OBJECT, TC_CLASSDESC "java.lang.Long", its serialVersionUID, "J value" */
static u_char  ngx_http_shared_session_jdk_long_class[] =
    "\x73\x72\x00\x0ejava.lang.Long\x3b\x8b\xe4\x90\xcc\x8f\x23\xdf"
    "\x02\x00\x01\x4a\x00\x05value\x78";

static u_char  ngx_http_shared_session_jdk_integer_class[] =
    "\x73\x72\x00\x11java.lang.Integer\x12\xe2\xa0\xa4\xf7\x81\x87\x38"
    "\x02\x00\x01\x49\x00\x05value\x78";

/* the superclass of both, no fields, then TC_NULL for its superclass */
static u_char  ngx_http_shared_session_jdk_number_class[] =
    "\x72\x00\x10java.lang.Number\x86\xac\x95\x1d\x0b\x94\xe0\x8b"
    "\x02\x00\x00\x78\x70";

/* SC_SERIALIZABLE, 2 fields, sorted by name; no annotation; no superclass */
static u_char  ngx_http_shared_session_jdk_session_fields[] =
    "\x02\x00\x02"
    "\x4c\x00\x04host\x74\x00\x12Ljava/lang/String;"
    "\x4c\x00\x0dlastUpdatedAt\x74\x00\x10Ljava/util/Date;"
    "\x78\x70";

/* a Date: SC_WRITE_METHOD, no fields; its writeObject() writes the time */
static u_char  ngx_http_shared_session_jdk_date[] =
    "\x73\x72\x00\x0ejava.util.Date\x68\x6a\x81\x01\x4b\x59\x74\x19"
    "\x03\x00\x00\x78\x70\x77\x08";


#define ngx_jdk_const_len(c)  (sizeof(c) - 1)


ngx_uint_t
ngx_http_shared_session_jdk_is_serialized(u_char *p, size_t len)
{
    return len >= sizeof(ngx_http_shared_session_jdk_magic)
           && ngx_memcmp(p, ngx_http_shared_session_jdk_magic,
                         sizeof(ngx_http_shared_session_jdk_magic)) == 0;
}


/*
 * A Long or an Integer alone on its stream is always the same bytes but
 * for the value: anything else is not what Spring wrote for the field.
 */

ngx_int_t
ngx_http_shared_session_jdk_long(u_char *p, size_t len, int64_t *n)
{
    u_char   buf[NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN];
    int64_t  v;

    if (len != NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN) {
        return NGX_DECLINED;
    }

    v = (int64_t) ngx_http_shared_session_jdk_be(p + len - 8, 8);

    (void) ngx_http_shared_session_jdk_write_long(buf, v);

    if (ngx_memcmp(p, buf, len) != 0) {
        return NGX_DECLINED;
    }

    *n = v;

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_jdk_integer(u_char *p, size_t len, int32_t *n)
{
    u_char   buf[NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN];
    int32_t  v;

    if (len != NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN) {
        return NGX_DECLINED;
    }

    v = (int32_t) ngx_http_shared_session_jdk_be(p + len - 4, 4);

    (void) ngx_http_shared_session_jdk_write_integer(buf, v);

    if (ngx_memcmp(p, buf, len) != 0) {
        return NGX_DECLINED;
    }

    *n = v;

    return NGX_OK;
}


u_char *
ngx_http_shared_session_jdk_write_long(u_char *p, int64_t n)
{
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_magic,
                   sizeof(ngx_http_shared_session_jdk_magic));
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_long_class,
                   ngx_jdk_const_len(ngx_http_shared_session_jdk_long_class));
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_number_class,
                   ngx_jdk_const_len(
                       ngx_http_shared_session_jdk_number_class));

    return ngx_http_shared_session_jdk_write_be(p, (uint64_t) n, 8);
}


u_char *
ngx_http_shared_session_jdk_write_integer(u_char *p, int32_t n)
{
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_magic,
                   sizeof(ngx_http_shared_session_jdk_magic));
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_integer_class,
                   ngx_jdk_const_len(
                       ngx_http_shared_session_jdk_integer_class));
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_number_class,
                   ngx_jdk_const_len(
                       ngx_http_shared_session_jdk_number_class));

    return ngx_http_shared_session_jdk_write_be(p, (uint32_t) n, 4);
}


ngx_int_t
ngx_http_shared_session_jdk_string(u_char *p, size_t len, u_char *buf,
    ngx_str_t *s)
{
    ngx_http_shared_session_jdk_reader_t  rd;

    if (!ngx_http_shared_session_jdk_is_serialized(p, len)) {
        return NGX_DECLINED;
    }

    rd.pos = p + sizeof(ngx_http_shared_session_jdk_magic);
    rd.last = p + len;
    rd.nhandles = 0;

    if (ngx_http_shared_session_jdk_read_string(&rd, 0, s) != NGX_OK
        || rd.pos != rd.last)
    {
        return NGX_DECLINED;
    }

    return ngx_http_shared_session_jdk_utf_decode(s, buf, s);
}


size_t
ngx_http_shared_session_jdk_string_len(ngx_str_t *s)
{
    size_t  n;

    n = ngx_http_shared_session_jdk_utf_len(s);

    /* ObjectOutputStream.writeString(): TC_LONGSTRING past 65535 bytes */

    return sizeof(ngx_http_shared_session_jdk_magic) + n
           + (n > 0xffff ? 1 + 8 : 1 + 2);
}


u_char *
ngx_http_shared_session_jdk_write_string(u_char *p, ngx_str_t *s)
{
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_magic,
                   sizeof(ngx_http_shared_session_jdk_magic));

    return ngx_http_shared_session_jdk_write_string_object(p, s,
                                ngx_http_shared_session_jdk_utf_len(s));
}


static u_char *
ngx_http_shared_session_jdk_write_string_object(u_char *p, ngx_str_t *s,
    size_t len)
{
    if (len > 0xffff) {
        *p++ = NGX_JDK_TC_LONGSTRING;
        p = ngx_http_shared_session_jdk_write_be(p, len, 8);

    } else {
        *p++ = NGX_JDK_TC_STRING;
        p = ngx_http_shared_session_jdk_write_be(p, len, 2);
    }

    return ngx_http_shared_session_jdk_write_utf(p, s);
}


size_t
ngx_http_shared_session_jdk_session_len(
    ngx_http_shared_session_jdk_session_t *session)
{
    size_t  len, n;

    n = ngx_http_shared_session_jdk_utf_len(&session->class);

    if (n > 0xffff) {
        /* DataOutput.writeUTF() refuses it */
        return 0;
    }

    len = sizeof(ngx_http_shared_session_jdk_magic) + 2 + 2 + n + 8
          + ngx_jdk_const_len(ngx_http_shared_session_jdk_session_fields);

    if (session->host.data == NULL) {
        len++;

    } else {
        len += ngx_http_shared_session_jdk_string_len(&session->host)
               - sizeof(ngx_http_shared_session_jdk_magic);
    }

    if (session->no_date) {
        len++;

    } else {
        len += ngx_jdk_const_len(ngx_http_shared_session_jdk_date) + 8 + 1;
    }

    return len;
}


/*
 * As ObjectOutputStream writes a new object of a new class: the class
 * descriptor (handle 0x7e0000), its fields' type strings (0x7e0001,
 * 0x7e0002), the object (0x7e0003), then the field values, the host a new
 * string and the Date a new object of a new class.  Nothing in it repeats
 * an earlier object, so no TC_REFERENCE is written.
 */

u_char *
ngx_http_shared_session_jdk_write_session(u_char *p,
    ngx_http_shared_session_jdk_session_t *session)
{
    p = ngx_cpymem(p, ngx_http_shared_session_jdk_magic,
                   sizeof(ngx_http_shared_session_jdk_magic));

    *p++ = NGX_JDK_TC_OBJECT;
    *p++ = NGX_JDK_TC_CLASSDESC;

    p = ngx_http_shared_session_jdk_write_be(p,
                ngx_http_shared_session_jdk_utf_len(&session->class), 2);
    p = ngx_http_shared_session_jdk_write_utf(p, &session->class);
    p = ngx_http_shared_session_jdk_write_be(p, (uint64_t) session->suid, 8);

    p = ngx_cpymem(p, ngx_http_shared_session_jdk_session_fields,
                   ngx_jdk_const_len(
                       ngx_http_shared_session_jdk_session_fields));

    if (session->host.data == NULL) {
        *p++ = NGX_JDK_TC_NULL;

    } else {
        p = ngx_http_shared_session_jdk_write_string_object(p, &session->host,
                        ngx_http_shared_session_jdk_utf_len(&session->host));
    }

    if (session->no_date) {
        *p++ = NGX_JDK_TC_NULL;
        return p;
    }

    p = ngx_cpymem(p, ngx_http_shared_session_jdk_date,
                   ngx_jdk_const_len(ngx_http_shared_session_jdk_date));
    p = ngx_http_shared_session_jdk_write_be(p,
                                        (uint64_t) session->last_updated, 8);
    *p++ = NGX_JDK_TC_ENDBLOCKDATA;

    return p;
}


/*
 * What ObjectInputStream would read as an object of the bean's shape.  The
 * host is looked up by name, so that another version of the class (a
 * different serialVersionUID, fields added or gone) still gives it; every
 * other shape is declined rather than guessed at.
 */

ngx_int_t
ngx_http_shared_session_jdk_session(u_char *p, size_t len, u_char *buf,
    ngx_http_shared_session_jdk_session_t *session)
{
    u_char                               *d;
    size_t                                prim;
    int64_t                               ms;
    ngx_str_t                             class, host, s;
    ngx_uint_t                            i, nfields, null;
    ngx_http_shared_session_jdk_field_e   fields[NGX_JDK_MAX_FIELDS];
    ngx_http_shared_session_jdk_reader_t  rd;

    if (!ngx_http_shared_session_jdk_is_serialized(p, len)) {
        return NGX_DECLINED;
    }

    rd.pos = p + sizeof(ngx_http_shared_session_jdk_magic);
    rd.last = p + len;
    rd.nhandles = 0;

    d = ngx_http_shared_session_jdk_read(&rd, 2);

    if (d == NULL || d[0] != NGX_JDK_TC_OBJECT
        || d[1] != NGX_JDK_TC_CLASSDESC
        || ngx_http_shared_session_jdk_read_utf(&rd, &class) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    d = ngx_http_shared_session_jdk_read(&rd, 8 + 1);

    if (d == NULL || d[8] != NGX_JDK_SC_SERIALIZABLE
        || ngx_http_shared_session_jdk_new_handle(&rd) == NULL)
    {
        /* a custom writeObject(), Externalizable, an enum: not the bean */
        return NGX_DECLINED;
    }

    session->suid = (int64_t) ngx_http_shared_session_jdk_be(d, 8);

    if (ngx_http_shared_session_jdk_read_fields(&rd, fields, &nfields, &prim)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    /* no class annotation, no serializable superclass */

    d = ngx_http_shared_session_jdk_read(&rd, 2);

    if (d == NULL || d[0] != NGX_JDK_TC_ENDBLOCKDATA
        || d[1] != NGX_JDK_TC_NULL
        || ngx_http_shared_session_jdk_new_handle(&rd) == NULL
        || ngx_http_shared_session_jdk_read(&rd, prim) == NULL)
    {
        return NGX_DECLINED;
    }

    ngx_str_null(&host);
    session->last_updated = 0;
    session->no_date = 1;

    for (i = 0; i < nfields; i++) {

        switch (fields[i]) {

        case NGX_JDK_FIELD_PRIMITIVE:
            break;

        case NGX_JDK_FIELD_HOST:
        case NGX_JDK_FIELD_STRING:
            if (ngx_http_shared_session_jdk_read_string(&rd, 1, &s) != NGX_OK
                || (s.data
                    && ngx_http_shared_session_jdk_utf_decode(&s, NULL, NULL)
                       != NGX_OK))
            {
                return NGX_DECLINED;
            }

            if (fields[i] == NGX_JDK_FIELD_HOST) {
                host = s;
            }

            break;

        case NGX_JDK_FIELD_LAST_UPDATED:
            if (ngx_http_shared_session_jdk_read_date(&rd,
                                    &session->last_updated, &session->no_date)
                != NGX_OK)
            {
                return NGX_DECLINED;
            }

            break;

        default: /* NGX_JDK_FIELD_DATE */
            if (ngx_http_shared_session_jdk_read_date(&rd, &ms, &null)
                != NGX_OK)
            {
                return NGX_DECLINED;
            }
        }
    }

    if (rd.pos != rd.last
        || ngx_http_shared_session_jdk_utf_decode(&class, buf,
                                                  &session->class)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (host.data == NULL) {
        ngx_str_null(&session->host);
        return NGX_OK;
    }

    /* both fit: each is at most as long as its own bytes in the stream */

    return ngx_http_shared_session_jdk_utf_decode(&host,
                                                  buf + session->class.len,
                                                  &session->host);
}


/*
 * The field descriptors: primitives are only skipped; object fields must
 * be String or Date, as in every version of the bean this module knows.
 * ObjectInputStream itself refuses a primitive after an object field.
 */

static ngx_int_t
ngx_http_shared_session_jdk_read_fields(
    ngx_http_shared_session_jdk_reader_t *rd,
    ngx_http_shared_session_jdk_field_e *fields, ngx_uint_t *nfields,
    size_t *prim)
{
    u_char      *d;
    ngx_str_t    name, type;
    ngx_uint_t   i, n, objects, host, date;

    static ngx_str_t  string_type = ngx_string("Ljava/lang/String;");
    static ngx_str_t  date_type = ngx_string("Ljava/util/Date;");

    d = ngx_http_shared_session_jdk_read(rd, 2);
    if (d == NULL) {
        return NGX_DECLINED;
    }

    n = (ngx_uint_t) ngx_http_shared_session_jdk_be(d, 2);

    if (n > NGX_JDK_MAX_FIELDS) {
        return NGX_DECLINED;
    }

    *nfields = n;
    *prim = 0;
    objects = 0;
    host = 0;
    date = 0;

    for (i = 0; i < n; i++) {

        d = ngx_http_shared_session_jdk_read(rd, 1);

        if (d == NULL
            || ngx_http_shared_session_jdk_read_utf(rd, &name) != NGX_OK
            || ngx_http_shared_session_jdk_utf_decode(&name, NULL, NULL)
               != NGX_OK)
        {
            return NGX_DECLINED;
        }

        fields[i] = NGX_JDK_FIELD_PRIMITIVE;

        switch (*d) {

        case 'B':
        case 'Z':
            *prim += 1;
            break;

        case 'C':
        case 'S':
            *prim += 2;
            break;

        case 'F':
        case 'I':
            *prim += 4;
            break;

        case 'D':
        case 'J':
            *prim += 8;
            break;

        case 'L':
            if (ngx_http_shared_session_jdk_read_string(rd, 0, &type)
                != NGX_OK)
            {
                return NGX_DECLINED;
            }

            if (type.len == string_type.len
                && ngx_memcmp(type.data, string_type.data, type.len) == 0)
            {
                fields[i] = NGX_JDK_FIELD_STRING;

            } else if (type.len == date_type.len
                       && ngx_memcmp(type.data, date_type.data, type.len)
                          == 0)
            {
                fields[i] = NGX_JDK_FIELD_DATE;

            } else {
                return NGX_DECLINED;
            }

            objects++;
            break;

        default:
            /* arrays, or not a type code */
            return NGX_DECLINED;
        }

        if (objects && fields[i] == NGX_JDK_FIELD_PRIMITIVE) {
            return NGX_DECLINED;
        }

        if (name.len == 4 && ngx_memcmp(name.data, "host", 4) == 0) {
            if (fields[i] != NGX_JDK_FIELD_STRING || host++) {
                return NGX_DECLINED;
            }

            fields[i] = NGX_JDK_FIELD_HOST;

        } else if (name.len == 13
                   && ngx_memcmp(name.data, "lastUpdatedAt", 13) == 0)
        {
            if (fields[i] != NGX_JDK_FIELD_DATE || date++) {
                return NGX_DECLINED;
            }

            fields[i] = NGX_JDK_FIELD_LAST_UPDATED;
        }
    }

    return NGX_OK;
}


/*
 * A String: TC_STRING, TC_LONGSTRING (which Java writes only past 65535
 * bytes), a reference to one read before, or with "nullable", TC_NULL
 * (s->data is then NULL).  s is the modified UTF-8 as in the stream.
 */

static ngx_int_t
ngx_http_shared_session_jdk_read_string(
    ngx_http_shared_session_jdk_reader_t *rd, ngx_uint_t nullable,
    ngx_str_t *s)
{
    u_char                                *d;
    uint64_t                               n;
    ngx_http_shared_session_jdk_handle_t  *h;

    d = ngx_http_shared_session_jdk_read(rd, 1);
    if (d == NULL) {
        return NGX_DECLINED;
    }

    switch (*d) {

    case NGX_JDK_TC_NULL:
        if (!nullable) {
            return NGX_DECLINED;
        }

        ngx_str_null(s);
        return NGX_OK;

    case NGX_JDK_TC_REFERENCE:
        h = ngx_http_shared_session_jdk_read_handle(rd,
                                                    NGX_JDK_HANDLE_STRING);
        if (h == NULL) {
            return NGX_DECLINED;
        }

        *s = h->text;
        return NGX_OK;

    case NGX_JDK_TC_STRING:
        if (ngx_http_shared_session_jdk_read_utf(rd, s) != NGX_OK) {
            return NGX_DECLINED;
        }

        break;

    case NGX_JDK_TC_LONGSTRING:
        d = ngx_http_shared_session_jdk_read(rd, 8);
        if (d == NULL) {
            return NGX_DECLINED;
        }

        n = ngx_http_shared_session_jdk_be(d, 8);

        if (n <= 0xffff || n > (uint64_t) (rd->last - rd->pos)) {
            return NGX_DECLINED;
        }

        s->len = (size_t) n;
        s->data = ngx_http_shared_session_jdk_read(rd, s->len);
        break;

    default:
        return NGX_DECLINED;
    }

    h = ngx_http_shared_session_jdk_new_handle(rd);
    if (h == NULL) {
        return NGX_DECLINED;
    }

    h->type = NGX_JDK_HANDLE_STRING;
    h->text = *s;

    return NGX_OK;
}


/*
 * A java.util.Date: TC_NULL, a reference to one read before, or a new one,
 * whose writeObject() writes its time as 8 bytes of block data.
 */

static ngx_int_t
ngx_http_shared_session_jdk_read_date(
    ngx_http_shared_session_jdk_reader_t *rd, int64_t *ms, ngx_uint_t *null)
{
    u_char                                *d;
    ngx_http_shared_session_jdk_handle_t  *h;

    d = ngx_http_shared_session_jdk_read(rd, 1);
    if (d == NULL) {
        return NGX_DECLINED;
    }

    if (*d == NGX_JDK_TC_NULL) {
        *null = 1;
        return NGX_OK;
    }

    if (*d == NGX_JDK_TC_REFERENCE) {
        h = ngx_http_shared_session_jdk_read_handle(rd, NGX_JDK_HANDLE_DATE);
        if (h == NULL) {
            return NGX_DECLINED;
        }

        *ms = h->ms;
        *null = 0;

        return NGX_OK;
    }

    if (*d != NGX_JDK_TC_OBJECT
        || ngx_http_shared_session_jdk_read_date_class(rd) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    h = ngx_http_shared_session_jdk_new_handle(rd);
    d = ngx_http_shared_session_jdk_read(rd, 2 + 8 + 1);

    if (h == NULL || d == NULL || d[0] != NGX_JDK_TC_BLOCKDATA || d[1] != 8
        || d[10] != NGX_JDK_TC_ENDBLOCKDATA)
    {
        return NGX_DECLINED;
    }

    h->type = NGX_JDK_HANDLE_DATE;
    h->ms = (int64_t) ngx_http_shared_session_jdk_be(d + 2, 8);

    *ms = h->ms;
    *null = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_jdk_read_date_class(
    ngx_http_shared_session_jdk_reader_t *rd)
{
    u_char                                *d;
    size_t                                 len;
    ngx_http_shared_session_jdk_handle_t  *h;

    d = ngx_http_shared_session_jdk_read(rd, 1);
    if (d == NULL) {
        return NGX_DECLINED;
    }

    if (*d == NGX_JDK_TC_REFERENCE) {
        h = ngx_http_shared_session_jdk_read_handle(rd,
                                                NGX_JDK_HANDLE_DATE_CLASS);
        return h ? NGX_OK : NGX_DECLINED;
    }

    /* the whole descriptor but its first byte and the handle is constant */

    len = ngx_jdk_const_len(ngx_http_shared_session_jdk_date) - 1 - 2;

    rd->pos--;
    d = ngx_http_shared_session_jdk_read(rd, len);

    if (d == NULL
        || ngx_memcmp(d, ngx_http_shared_session_jdk_date + 1, len) != 0)
    {
        return NGX_DECLINED;
    }

    h = ngx_http_shared_session_jdk_new_handle(rd);
    if (h == NULL) {
        return NGX_DECLINED;
    }

    h->type = NGX_JDK_HANDLE_DATE_CLASS;

    return NGX_OK;
}


/* n bytes from the stream, or NULL past its end */

static u_char *
ngx_http_shared_session_jdk_read(ngx_http_shared_session_jdk_reader_t *rd,
    size_t n)
{
    u_char  *p;

    if ((size_t) (rd->last - rd->pos) < n) {
        return NULL;
    }

    p = rd->pos;
    rd->pos += n;

    return p;
}


/* DataInput.readUTF(): a 2-byte length, then the bytes */

static ngx_int_t
ngx_http_shared_session_jdk_read_utf(
    ngx_http_shared_session_jdk_reader_t *rd, ngx_str_t *s)
{
    u_char  *d;

    d = ngx_http_shared_session_jdk_read(rd, 2);
    if (d == NULL) {
        return NGX_DECLINED;
    }

    s->len = (size_t) ngx_http_shared_session_jdk_be(d, 2);
    s->data = ngx_http_shared_session_jdk_read(rd, s->len);

    return s->data ? NGX_OK : NGX_DECLINED;
}


/* handles are numbered from 0x7e0000 in the order the stream makes them */

static ngx_http_shared_session_jdk_handle_t *
ngx_http_shared_session_jdk_new_handle(
    ngx_http_shared_session_jdk_reader_t *rd)
{
    ngx_http_shared_session_jdk_handle_t  *h;

    if (rd->nhandles == NGX_JDK_MAX_HANDLES) {
        return NULL;
    }

    h = &rd->handles[rd->nhandles++];
    h->type = NGX_JDK_HANDLE_OTHER;

    return h;
}


static ngx_http_shared_session_jdk_handle_t *
ngx_http_shared_session_jdk_read_handle(
    ngx_http_shared_session_jdk_reader_t *rd,
    ngx_http_shared_session_jdk_handle_e type)
{
    u_char    *d;
    uint64_t   n;

    d = ngx_http_shared_session_jdk_read(rd, 4);
    if (d == NULL) {
        return NULL;
    }

    n = ngx_http_shared_session_jdk_be(d, 4);

    if (n < NGX_JDK_BASE_HANDLE
        || n - NGX_JDK_BASE_HANDLE >= rd->nhandles
        || rd->handles[n - NGX_JDK_BASE_HANDLE].type != type)
    {
        return NULL;
    }

    return &rd->handles[n - NGX_JDK_BASE_HANDLE];
}


/*
 * Modified UTF-8 (DataInput) to UTF-8: C0 80 is NUL, a supplementary
 * character is a surrogate pair, each half in 3 bytes.  Only the forms
 * Java writes are taken: no raw NUL, no other overlong form, no 4-byte
 * sequence.  With buf == NULL, only checks.  UTF-8 is never longer.
 */

static ngx_int_t
ngx_http_shared_session_jdk_utf_decode(ngx_str_t *in, u_char *buf,
    ngx_str_t *out)
{
    u_char    *p, *last, *d;
    uint32_t   c, lo;

    p = in->data;
    last = p + in->len;
    d = buf;

    while (p < last) {

        if (*p >= 0x01 && *p < 0x80) {
            c = *p++;

        } else if ((*p & 0xe0) == 0xc0) {
            if (last - p < 2 || (p[1] & 0xc0) != 0x80) {
                return NGX_DECLINED;
            }

            c = ((p[0] & 0x1f) << 6) | (p[1] & 0x3f);

            if (c != 0 && c < 0x80) {
                return NGX_DECLINED;
            }

            p += 2;

        } else if ((*p & 0xf0) == 0xe0) {
            if (last - p < 3 || (p[1] & 0xc0) != 0x80
                || (p[2] & 0xc0) != 0x80)
            {
                return NGX_DECLINED;
            }

            c = ((p[0] & 0x0f) << 12) | ((p[1] & 0x3f) << 6) | (p[2] & 0x3f);

            if (c < 0x800) {
                return NGX_DECLINED;
            }

            p += 3;

            if (c >= 0xd800 && c <= 0xdbff
                && last - p >= 3 && p[0] == 0xed && (p[1] & 0xf0) == 0xb0
                && (p[2] & 0xc0) == 0x80)
            {
                lo = 0xdc00 | ((p[1] & 0x0f) << 6) | (p[2] & 0x3f);
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                p += 3;

            } else if (c >= 0xd800 && c <= 0xdfff) {
                c = 0xfffd;
            }

        } else {
            return NGX_DECLINED;
        }

        if (buf == NULL) {
            continue;
        }

        if (c < 0x80) {
            *d++ = (u_char) c;

        } else if (c < 0x800) {
            *d++ = (u_char) (0xc0 | (c >> 6));
            *d++ = (u_char) (0x80 | (c & 0x3f));

        } else if (c < 0x10000) {
            *d++ = (u_char) (0xe0 | (c >> 12));
            *d++ = (u_char) (0x80 | ((c >> 6) & 0x3f));
            *d++ = (u_char) (0x80 | (c & 0x3f));

        } else {
            *d++ = (u_char) (0xf0 | (c >> 18));
            *d++ = (u_char) (0x80 | ((c >> 12) & 0x3f));
            *d++ = (u_char) (0x80 | ((c >> 6) & 0x3f));
            *d++ = (u_char) (0x80 | (c & 0x3f));
        }
    }

    if (out) {
        out->data = buf;
        out->len = d - buf;
    }

    return NGX_OK;
}


/*
 * The next character of UTF-8 text: a well-formed sequence (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or U+FFFD for one
 * byte that starts none, as the module's JSON writer does.
 */

uint32_t
ngx_http_shared_session_jdk_utf8_next(u_char **pp, u_char *last)
{
    u_char      *p;
    uint32_t     c, min;
    ngx_uint_t   n, i;

    p = *pp;

    if (*p < 0x80) {
        (*pp)++;
        return *p;
    }

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2; c = *p & 0x1f; min = 0x80;

    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3; c = *p & 0x0f; min = 0x800;

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4; c = *p & 0x07; min = 0x10000;

    } else {
        goto invalid;
    }

    if ((size_t) (last - p) < n) {
        goto invalid;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            goto invalid;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        goto invalid;
    }

    *pp = p + n;

    return c;

invalid:

    (*pp)++;

    return 0xfffd;
}


/* the length of UTF-8 text in modified UTF-8 */

static size_t
ngx_http_shared_session_jdk_utf_len(ngx_str_t *s)
{
    u_char    *p, *last;
    size_t     len;
    uint32_t   c;

    p = s->data;
    last = p + s->len;
    len = 0;

    while (p < last) {
        c = ngx_http_shared_session_jdk_utf8_next(&p, last);

        if (c == 0) {
            len += 2;

        } else if (c < 0x80) {
            len += 1;

        } else if (c < 0x800) {
            len += 2;

        } else if (c < 0x10000) {
            len += 3;

        } else {
            len += 6;
        }
    }

    return len;
}


static u_char *
ngx_http_shared_session_jdk_write_utf(u_char *d, ngx_str_t *s)
{
    u_char    *p, *last;
    uint32_t   c;

    p = s->data;
    last = p + s->len;

    while (p < last) {
        c = ngx_http_shared_session_jdk_utf8_next(&p, last);

        if (c >= 0x10000) {
            /* as Java holds it: a surrogate pair */
            c -= 0x10000;
            d = ngx_http_shared_session_jdk_write_char(d, 0xd800 + (c >> 10));
            c = 0xdc00 + (c & 0x3ff);
        }

        d = ngx_http_shared_session_jdk_write_char(d, c);
    }

    return d;
}


/* one UTF-16 unit as DataOutput.writeUTF() writes it */

static u_char *
ngx_http_shared_session_jdk_write_char(u_char *d, uint32_t c)
{
    if (c >= 0x01 && c < 0x80) {
        *d++ = (u_char) c;

    } else if (c < 0x800) {
        *d++ = (u_char) (0xc0 | (c >> 6));
        *d++ = (u_char) (0x80 | (c & 0x3f));

    } else {
        *d++ = (u_char) (0xe0 | (c >> 12));
        *d++ = (u_char) (0x80 | ((c >> 6) & 0x3f));
        *d++ = (u_char) (0x80 | (c & 0x3f));
    }

    return d;
}


static u_char *
ngx_http_shared_session_jdk_write_be(u_char *p, uint64_t n, ngx_uint_t size)
{
    while (size--) {
        *p++ = (u_char) (n >> (size * 8));
    }

    return p;
}


static uint64_t
ngx_http_shared_session_jdk_be(u_char *p, ngx_uint_t size)
{
    uint64_t  n;

    n = 0;

    while (size--) {
        n = (n << 8) | *p++;
    }

    return n;
}
