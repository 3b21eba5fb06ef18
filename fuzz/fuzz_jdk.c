
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * fuzz_jdk: the Java serialization of src/ngx_http_shared_session_jdk.c.
 *
 *   - The input, in an allocation of its own size, as a hash value to each
 *     decoder, and as the text of a String stream to the String decoder.
 *     Long and Integer: taken iff the input is exactly the reference
 *     stream of that number.  String: taken iff a reading written
 *     here after java.io.DataInputStream.readUTF() (lenient, to UTF-16)
 *     takes it and DataOutputStream.writeUTF() writes those very bytes
 *     back (Java's canonical form); the text is then the UTF-16 in UTF-8,
 *     an unpaired surrogate as U+FFFD, and without one re-encodes to the
 *     input.  Bean: class and host are valid UTF-8, written again they are
 *     the reference stream of the values, which decodes to the same.
 *   - The input's bytes as a number, a text, a class name and host for
 *     each encoder: the length announced is the length written, the bytes
 *     are the reference's (UTF-8 -> UTF-16 with U+FFFD for a byte that
 *     starts no valid sequence -> writeUTF()), and they decode back.
 *   - The serializer on top (ngx_http_shared_session_serializer.c): the
 *     input as a stored number (a JDK one taken iff it is a reference
 *     stream) and String, in either format; its bytes as the numbers,
 *     member text, attribute name and host of each writer, in both formats:
 *     numbers and members read back as written, the score text as the
 *     number, the created event's JSON parses with its five keys.
 */


#include "ngx_fuzz.h"

#include "ngx_http_shared_session_jdk.h"
#include "ngx_http_shared_session_json.h"
#include "ngx_http_shared_session_serializer.h"

#include <cjson/cJSON.h>


typedef struct {
    u_char  *data;
    size_t   len;
} ref_buf_t;


typedef struct {
    uint16_t  *data;
    size_t     len;
} ref_utf16_t;


static ngx_pool_t  *pool;


static void *
alloc(size_t n)
{
    void  *p;

    p = ngx_pnalloc(pool, n ? n : 1);
    if (p == NULL) {
        abort();
    }

    return p;
}


static u_char *
copy(const u_char *data, size_t len)
{
    u_char  *p;

    p = alloc(len);
    if (len) {
        memcpy(p, data, len);
    }

    return p;
}


static ngx_uint_t
same(const u_char *a, size_t alen, const u_char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}


static void
put(ref_buf_t *b, const void *data, size_t len)
{
    if (len) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
    }
}


static void
put_be(ref_buf_t *b, uint64_t n, int size)
{
    while (size--) {
        b->data[b->len++] = (u_char) (n >> (size * 8));
    }
}


#define put_lit(b, s)  put(b, s, sizeof(s) - 1)


/* UTF-8 (any bytes) to UTF-16: U+FFFD for a byte that starts nothing */

static void
ref_utf8_to_utf16(const u_char *p, size_t n, ref_utf16_t *u)
{
    size_t    i, len, k;
    uint32_t  c;

    u->data = alloc((n + 1) * sizeof(uint16_t));
    u->len = 0;

    for (i = 0; i < n; i += len) {
        len = ngx_fuzz_utf8_len(p + i, n - i);

        if (len == 0) {
            u->data[u->len++] = 0xfffd;
            len = 1;
            continue;
        }

        c = (len == 1) ? p[i] : (p[i] & (0xff >> (len + 1)));

        for (k = 1; k < len; k++) {
            c = (c << 6) | (p[i + k] & 0x3f);
        }

        if (c >= 0x10000) {
            c -= 0x10000;
            u->data[u->len++] = (uint16_t) (0xd800 + (c >> 10));
            u->data[u->len++] = (uint16_t) (0xdc00 + (c & 0x3ff));

        } else {
            u->data[u->len++] = (uint16_t) c;
        }
    }
}


/* UTF-16 to UTF-8, an unpaired surrogate as U+FFFD */

static void
ref_utf16_to_utf8(ref_utf16_t *u, ref_buf_t *out)
{
    size_t    i;
    uint32_t  c;

    out->data = alloc(u->len * 3 + 1);
    out->len = 0;

    for (i = 0; i < u->len; i++) {
        c = u->data[i];

        if (c >= 0xd800 && c <= 0xdbff && i + 1 < u->len
            && u->data[i + 1] >= 0xdc00 && u->data[i + 1] <= 0xdfff)
        {
            c = 0x10000 + ((c - 0xd800) << 10) + (u->data[++i] - 0xdc00);

        } else if (c >= 0xd800 && c <= 0xdfff) {
            c = 0xfffd;
        }

        if (c < 0x80) {
            out->data[out->len++] = (u_char) c;

        } else if (c < 0x800) {
            out->data[out->len++] = (u_char) (0xc0 | (c >> 6));
            out->data[out->len++] = (u_char) (0x80 | (c & 0x3f));

        } else if (c < 0x10000) {
            out->data[out->len++] = (u_char) (0xe0 | (c >> 12));
            out->data[out->len++] = (u_char) (0x80 | ((c >> 6) & 0x3f));
            out->data[out->len++] = (u_char) (0x80 | (c & 0x3f));

        } else {
            out->data[out->len++] = (u_char) (0xf0 | (c >> 18));
            out->data[out->len++] = (u_char) (0x80 | ((c >> 12) & 0x3f));
            out->data[out->len++] = (u_char) (0x80 | ((c >> 6) & 0x3f));
            out->data[out->len++] = (u_char) (0x80 | (c & 0x3f));
        }
    }
}


static ngx_uint_t
ref_has_unpaired(ref_utf16_t *u)
{
    size_t  i;

    for (i = 0; i < u->len; i++) {
        if (u->data[i] >= 0xd800 && u->data[i] <= 0xdbff && i + 1 < u->len
            && u->data[i + 1] >= 0xdc00 && u->data[i + 1] <= 0xdfff)
        {
            i++;
            continue;
        }

        if (u->data[i] >= 0xd800 && u->data[i] <= 0xdfff) {
            return 1;
        }
    }

    return 0;
}


/* DataOutputStream.writeUTF()'s bytes, without the length */

static size_t
ref_mutf8_len(ref_utf16_t *u)
{
    size_t  i, n;

    for (n = 0, i = 0; i < u->len; i++) {
        n += (u->data[i] >= 1 && u->data[i] <= 0x7f) ? 1
             : (u->data[i] > 0x7ff) ? 3 : 2;
    }

    return n;
}


static void
ref_put_mutf8(ref_buf_t *b, ref_utf16_t *u)
{
    size_t    i;
    uint16_t  c;

    for (i = 0; i < u->len; i++) {
        c = u->data[i];

        if (c >= 1 && c <= 0x7f) {
            b->data[b->len++] = (u_char) c;

        } else if (c > 0x7ff) {
            b->data[b->len++] = (u_char) (0xe0 | (c >> 12));
            b->data[b->len++] = (u_char) (0x80 | ((c >> 6) & 0x3f));
            b->data[b->len++] = (u_char) (0x80 | (c & 0x3f));

        } else {
            b->data[b->len++] = (u_char) (0xc0 | (c >> 6));
            b->data[b->len++] = (u_char) (0x80 | (c & 0x3f));
        }
    }
}


/* DataInputStream.readUTF()'s decoding: what Java reads, overlongs too */

static ngx_int_t
ref_read_mutf8(const u_char *p, size_t n, ref_utf16_t *u)
{
    size_t  i;

    u->data = alloc((n + 1) * sizeof(uint16_t));
    u->len = 0;

    for (i = 0; i < n; /* void */) {

        switch (p[i] >> 4) {

        case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
            u->data[u->len++] = p[i];
            i += 1;
            break;

        case 12: case 13:
            if (i + 2 > n || (p[i + 1] & 0xc0) != 0x80) {
                return NGX_ERROR;
            }

            u->data[u->len++] = (uint16_t) (((p[i] & 0x1f) << 6)
                                            | (p[i + 1] & 0x3f));
            i += 2;
            break;

        case 14:
            if (i + 3 > n || (p[i + 1] & 0xc0) != 0x80
                || (p[i + 2] & 0xc0) != 0x80)
            {
                return NGX_ERROR;
            }

            u->data[u->len++] = (uint16_t) (((p[i] & 0x0f) << 12)
                                            | ((p[i + 1] & 0x3f) << 6)
                                            | (p[i + 2] & 0x3f));
            i += 3;
            break;

        default:
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* ObjectOutputStream.writeString()'s element: TC_STRING or TC_LONGSTRING */

static void
ref_put_string(ref_buf_t *b, ref_utf16_t *u)
{
    size_t  n;

    n = ref_mutf8_len(u);

    if (n > 0xffff) {
        b->data[b->len++] = 0x7c;
        put_be(b, n, 8);

    } else {
        b->data[b->len++] = 0x74;
        put_be(b, n, 2);
    }

    ref_put_mutf8(b, u);
}


static void
ref_string_stream(ref_utf16_t *u, ref_buf_t *b)
{
    b->data = alloc(4 + 1 + 8 + u->len * 3);
    b->len = 0;

    put_lit(b, "\xac\xed\x00\x05");
    ref_put_string(b, u);
}


/* the research note's hex, bytes for bytes (a Long's prefix, an Integer's) */

static void
ref_number_stream(int integer, uint64_t n, ref_buf_t *b)
{
    b->data = alloc(128);
    b->len = 0;

    put_lit(b, "\xac\xed\x00\x05\x73\x72");

    if (integer) {
        put_lit(b, "\x00\x11java.lang.Integer"
                   "\x12\xe2\xa0\xa4\xf7\x81\x87\x38\x02\x00\x01I");
    } else {
        put_lit(b, "\x00\x0ejava.lang.Long"
                   "\x3b\x8b\xe4\x90\xcc\x8f\x23\xdf\x02\x00\x01J");
    }

    put_lit(b, "\x00\x05value\x78\x72\x00\x10java.lang.Number"
               "\x86\xac\x95\x1d\x0b\x94\xe0\x8b\x02\x00\x00\x78\x70");

    put_be(b, n, integer ? 4 : 8);
}


/* the bean as ObjectOutputStream writes it (golden-session-* in the corpus) */

static void
ref_session_stream(ngx_http_shared_session_jdk_session_t *s, ref_buf_t *b)
{
    ref_utf16_t  class, host;

    ref_utf8_to_utf16(s->class.data, s->class.len, &class);
    ref_utf8_to_utf16(s->host.data, s->host.len, &host);

    b->data = alloc(256 + (class.len + host.len) * 3);
    b->len = 0;

    put_lit(b, "\xac\xed\x00\x05\x73\x72");
    put_be(b, ref_mutf8_len(&class), 2);
    ref_put_mutf8(b, &class);
    put_be(b, (uint64_t) s->suid, 8);
    put_lit(b, "\x02\x00\x02"
               "L\x00\x04host\x74\x00\x12Ljava/lang/String;"
               "L\x00\x0dlastUpdatedAt\x74\x00\x10Ljava/util/Date;"
               "\x78\x70");

    if (s->host.data == NULL) {
        put_lit(b, "\x70");

    } else {
        ref_put_string(b, &host);
    }

    if (s->no_date) {
        put_lit(b, "\x70");
        return;
    }

    put_lit(b, "\x73\x72\x00\x0ejava.util.Date\x68\x6a\x81\x01\x4b\x59\x74"
               "\x19\x03\x00\x00\x78\x70\x77\x08");
    put_be(b, (uint64_t) s->last_updated, 8);
    put_lit(b, "\x78");
}


static void
sanitize(const u_char *p, size_t n, ref_buf_t *out)
{
    ref_utf16_t  u;

    ref_utf8_to_utf16(p, n, &u);
    ref_utf16_to_utf8(&u, out);
}


static uint64_t
be(const u_char *p, int size)
{
    uint64_t  n;

    for (n = 0; size--; p++) {
        n = (n << 8) | *p;
    }

    return n;
}


/* the input as a hash value */

static void
fuzz_numbers(u_char *in, size_t size)
{
    int        k;
    int32_t    i;
    int64_t    n;
    uint64_t   v;
    ngx_int_t  rc;
    ref_buf_t  ref;

    for (k = 0; k < 2; k++) {
        /* the number the input would hold if it were one */
        v = (size >= 8) ? be(in + size - (k ? 4 : 8), k ? 4 : 8) : 0;

        ref_number_stream(k, v, &ref);

        if (k) {
            i = 0;
            rc = ngx_http_shared_session_jdk_integer(in, size, &i);
            n = i;

        } else {
            n = 0;
            rc = ngx_http_shared_session_jdk_long(in, size, &n);
        }

        ngx_fuzz_check(rc == NGX_OK || rc == NGX_DECLINED);
        ngx_fuzz_check((rc == NGX_OK) == same(in, size, ref.data, ref.len));

        if (rc == NGX_OK) {
            ngx_fuzz_check(k ? (uint32_t) n == (uint32_t) v
                             : (uint64_t) n == v);
        }
    }
}


static void
fuzz_string(u_char *in, size_t size)
{
    u_char       *buf, *out;
    size_t        n;
    uint64_t      len;
    ngx_int_t     rc, java;
    ngx_str_t     s;
    ref_buf_t     ref;
    ref_utf16_t   u;

    buf = alloc(size);

    rc = ngx_http_shared_session_jdk_string(in, size, buf, &s);

    ngx_fuzz_check(rc == NGX_OK || rc == NGX_DECLINED);

    /* what Java reads, and whether its writer would write these bytes */

    java = NGX_ERROR;

    if (size >= 7 && memcmp(in, "\xac\xed\x00\x05", 4) == 0) {
        n = (in[4] == 0x7c) ? 13 : 7;
        len = (in[4] == 0x7c && size >= 13) ? be(in + 5, 8)
              : (in[4] == 0x74) ? be(in + 5, 2) : UINT64_MAX;

        if (size >= n && len == size - n
            && ref_read_mutf8(in + n, size - n, &u) == NGX_OK)
        {
            ref_string_stream(&u, &ref);

            if (same(in, size, ref.data, ref.len)) {
                java = NGX_OK;
            }
        }
    }

    ngx_fuzz_check((rc == NGX_OK) == (java == NGX_OK));

    if (rc != NGX_OK) {
        return;
    }

    ref_utf16_to_utf8(&u, &ref);

    ngx_fuzz_check(s.data == buf && s.len <= size);
    ngx_fuzz_check(same(s.data, s.len, ref.data, ref.len));
    ngx_fuzz_check(ngx_fuzz_utf8_valid(s.data, s.len));

    if (ref_has_unpaired(&u)) {
        return;
    }

    /* canonical: it writes back to the very input */

    n = ngx_http_shared_session_jdk_string_len(&s);
    out = alloc(n);

    ngx_fuzz_check(ngx_http_shared_session_jdk_write_string(out, &s)
                   == out + n);
    ngx_fuzz_check(same(out, n, in, size));
}


static void
check_session_values(ngx_http_shared_session_jdk_session_t *got,
    ngx_http_shared_session_jdk_session_t *want)
{
    ngx_fuzz_check(same(got->class.data, got->class.len, want->class.data,
                        want->class.len));
    ngx_fuzz_check(got->suid == want->suid);
    ngx_fuzz_check((got->host.data == NULL) == (want->host.data == NULL));
    ngx_fuzz_check(same(got->host.data, got->host.len, want->host.data,
                        want->host.len));
    ngx_fuzz_check(got->no_date == want->no_date);
    ngx_fuzz_check(got->no_date || got->last_updated == want->last_updated);
}


/*
 * Encodes the bean, checks the bytes against the reference and that they
 * decode to "want" (the values as the module should read them back).
 */

static void
encode_session(ngx_http_shared_session_jdk_session_t *s,
    ngx_http_shared_session_jdk_session_t *want)
{
    u_char                                 *out, *buf;
    size_t                                  n;
    ref_buf_t                               ref;
    ref_utf16_t                             class;
    ngx_http_shared_session_jdk_session_t   back;

    ref_utf8_to_utf16(s->class.data, s->class.len, &class);

    n = ngx_http_shared_session_jdk_session_len(s);

    /* 0: a class name longer than DataOutput.writeUTF() takes */
    ngx_fuzz_check((n == 0) == (ref_mutf8_len(&class) > 0xffff));

    if (n == 0) {
        return;
    }

    ref_session_stream(s, &ref);

    out = alloc(n);

    ngx_fuzz_check(ngx_http_shared_session_jdk_write_session(out, s)
                   == out + n);
    ngx_fuzz_check(same(out, n, ref.data, ref.len));

    buf = alloc(n);
    ngx_memzero(&back, sizeof(back));

    ngx_fuzz_check(ngx_http_shared_session_jdk_session(out, n, buf, &back)
                   == NGX_OK);

    check_session_values(&back, want);
}


static void
fuzz_session(u_char *in, size_t size)
{
    u_char                                 *buf;
    ngx_int_t                               rc;
    ngx_http_shared_session_jdk_session_t   s;

    buf = alloc(size);
    ngx_memzero(&s, sizeof(s));

    rc = ngx_http_shared_session_jdk_session(in, size, buf, &s);

    ngx_fuzz_check(rc == NGX_OK || rc == NGX_DECLINED);

    if (rc != NGX_OK) {
        return;
    }

    ngx_fuzz_check(ngx_http_shared_session_jdk_is_serialized(in, size));
    ngx_fuzz_check(s.class.len + s.host.len <= size);
    ngx_fuzz_check(ngx_fuzz_utf8_valid(s.class.data, s.class.len));
    ngx_fuzz_check(s.host.data == NULL
                   || ngx_fuzz_utf8_valid(s.host.data, s.host.len));
    ngx_fuzz_check(s.no_date == 0 || s.no_date == 1);

    /* written again: the reference's bytes, read back to the same */

    encode_session(&s, &s);
}


/* the input's bytes as values for the encoders */

static void
fuzz_encoders(u_char *in, size_t size)
{
    u_char                                 *out, *buf;
    size_t                                  n, split;
    int32_t                                 i;
    int64_t                                 v;
    ngx_str_t                               text, back;
    ref_buf_t                               ref, clean, cclean;
    ref_utf16_t                             u;
    ngx_http_shared_session_jdk_session_t   s, want;

    v = (int64_t) ((size >= 8) ? be(in, 8) : be(in, (int) size));

    out = alloc(NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN);
    ngx_fuzz_check(ngx_http_shared_session_jdk_write_long(out, v)
                   == out + NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN);
    ref_number_stream(0, (uint64_t) v, &ref);
    ngx_fuzz_check(same(out, NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN,
                        ref.data, ref.len));

    out = alloc(NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN);
    ngx_fuzz_check(ngx_http_shared_session_jdk_write_integer(out, (int32_t) v)
                   == out + NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN);
    ref_number_stream(1, (uint32_t) v, &ref);
    ngx_fuzz_check(same(out, NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN,
                        ref.data, ref.len));
    ngx_fuzz_check(ngx_http_shared_session_jdk_integer(out, ref.len, &i)
                   == NGX_OK && i == (int32_t) v);

    /* the whole input as UTF-8 text */

    text.data = in;
    text.len = size;

    ref_utf8_to_utf16(in, size, &u);
    ref_string_stream(&u, &ref);
    sanitize(in, size, &clean);

    n = ngx_http_shared_session_jdk_string_len(&text);
    out = alloc(n);

    ngx_fuzz_check(ngx_http_shared_session_jdk_write_string(out, &text)
                   == out + n);
    ngx_fuzz_check(same(out, n, ref.data, ref.len));

    buf = alloc(n);
    ngx_fuzz_check(ngx_http_shared_session_jdk_string(out, n, buf, &back)
                   == NGX_OK);
    ngx_fuzz_check(same(back.data, back.len, clean.data, clean.len));

    /*
     * The bean: byte 0 says which of host and date are null, bytes 1-16
     * are the serialVersionUID and the time, byte 17 where the class
     * name ends and the host starts in the rest.
     */

    if (size < 18) {
        return;
    }

    ngx_memzero(&s, sizeof(s));

    s.suid = (int64_t) be(in + 1, 8);
    s.last_updated = (int64_t) be(in + 9, 8);
    s.no_date = in[0] & 1;

    split = (size - 18) * in[17] / 256;

    s.class.data = in + 18;
    s.class.len = split;

    if (!(in[0] & 2)) {
        s.host.data = in + 18 + split;
        s.host.len = size - 18 - split;
    }

    want = s;

    sanitize(s.class.data, s.class.len, &cclean);
    want.class.data = cclean.data;
    want.class.len = cclean.len;

    if (s.host.data) {
        sanitize(s.host.data, s.host.len, &clean);
        want.host.data = clean.data;
        want.host.len = clean.len;
    }

    encode_session(&s, &want);
}


/*
 * The serializer (src/ngx_http_shared_session_serializer.c): the input as a
 * stored number and as a stored String, read in either format; its bytes
 * as the numbers, member text, field name and host of every writer, whose
 * output reads back.
 */

static void
fuzz_serializer(u_char *in, size_t size)
{
    u_char                                      *p, score[
                                      NGX_HTTP_SHARED_SESSION_SCORE_LEN + 1];
    double                                       d;
    int32_t                                      i;
    int64_t                                      n, m;
    ngx_int_t                                    rc;
    ngx_str_t                                    v, s, out, attr, text;
    ngx_uint_t                                   format, f, k;
    ref_buf_t                                    ref;
    cJSON                                       *json, *item;
    ngx_http_shared_session_serializer_t         ser;
    ngx_http_shared_session_serializer_event_t   ev;

    v.data = in;
    v.len = size;

    /* a stored number: a JDK one is exactly a reference stream */

    rc = ngx_http_shared_session_read_number(in, size, &n, &format);
    ngx_fuzz_check(rc == NGX_OK || rc == NGX_DECLINED);
    ngx_fuzz_check(format == (size >= 4 && memcmp(in, "\xac\xed\x00\x05", 4)
                              == 0 ? NGX_HTTP_SHARED_SESSION_JDK
                                   : NGX_HTTP_SHARED_SESSION_JSON));

    if (rc == NGX_OK) {
        ngx_fuzz_check(n < ((int64_t) 1 << 53) && n > -((int64_t) 1 << 53));

        if (format == NGX_HTTP_SHARED_SESSION_JDK) {
            ref_number_stream(size == NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN,
                              (uint64_t) n, &ref);
            ngx_fuzz_check(same(in, size, ref.data, ref.len));
        }
    }

    /* a stored String: what the JDK decoder or cJSON reads */

    rc = ngx_http_shared_session_read_string(pool, &v, &s);
    ngx_fuzz_check(rc == NGX_OK || rc == NGX_DECLINED);

    if (rc == NGX_OK) {
        ngx_fuzz_check(s.len <= size);
    }

    ser.class.data = in;
    ser.class.len = size;
    ser.suid = (int64_t) (size >= 8 ? be(in, 8) : size);

    n = (int64_t) (size >= 8 ? be(in + size - 8, 8) : size)
        % ((int64_t) 1 << 53);
    i = (int32_t) (size >= 4 ? be(in, 4) : size);

    /* the score: Java's text, which reads back as the number */

    p = ngx_http_shared_session_serialize_score(score, n);
    ngx_fuzz_check(p - score <= NGX_HTTP_SHARED_SESSION_SCORE_LEN);
    *p = '\0';
    d = strtod((char *) score, (char **) &p);
    ngx_fuzz_check(*p == '\0' && d == (double) n);
    ngx_fuzz_check(strchr((char *) score, '.') != NULL);

    for (f = 0; f < 2; f++) {
        ser.format = f;

        /* numbers read back, in the format they were written in */

        ngx_fuzz_check(ngx_http_shared_session_serialize_long(pool, &ser, n,
                                                              &out)
                       == NGX_OK);
        ngx_fuzz_check(ngx_http_shared_session_read_number(out.data, out.len,
                                                           &m, &format)
                       == NGX_OK && m == n && format == f);

        ngx_fuzz_check(ngx_http_shared_session_serialize_integer(pool, &ser,
                                                                 i, &out)
                       == NGX_OK);
        ngx_fuzz_check(ngx_http_shared_session_read_number(out.data, out.len,
                                                           &m, &format)
                       == NGX_OK && m == i && format == f);

        /* a member "expires:<input>" is a String of that text */

        ngx_fuzz_check(ngx_http_shared_session_serialize_string(pool, &ser,
                                                    "expires:", &v, &out)
                       == NGX_OK);
        rc = ngx_http_shared_session_read_string(pool, &out, &text);

        sanitize(in, size, &ref);

        if (f == NGX_HTTP_SHARED_SESSION_JDK) {
            ngx_fuzz_check(rc == NGX_OK
                           || out.len > NGX_HTTP_SHARED_SESSION_ATTR_PARSE_MAX);
            if (rc == NGX_OK) {
                ngx_fuzz_check(text.len == 8 + ref.len
                               && memcmp(text.data, "expires:", 8) == 0
                               && memcmp(text.data + 8, ref.data, ref.len)
                                  == 0);
            }

        } else if (out.len <= NGX_HTTP_SHARED_SESSION_ATTR_PARSE_MAX) {
            /* cJSON's strings end at a NUL */
            ngx_fuzz_check(rc == NGX_OK);
            ngx_fuzz_check(memchr(in, '\0', size)
                           || (text.len == 8 + size
                               && memcmp(text.data + 8, in, size) == 0));
        }

        /* the created event, the input as the attribute's name and host */

        attr.len = sizeof("sessionAttr:") - 1 + size;
        attr.data = alloc(attr.len);
        memcpy(attr.data, "sessionAttr:", sizeof("sessionAttr:") - 1);
        memcpy(attr.data + sizeof("sessionAttr:") - 1, in, size);

        if (ngx_http_shared_session_serialize_attribute(pool, &ser, &v, n,
                                                        &ev.attribute)
            != NGX_OK)
        {
            /* only a class name Java cannot hold */
            ngx_fuzz_check(f == NGX_HTTP_SHARED_SESSION_JDK);
            continue;
        }

        ev.creation_time = n;
        ev.last_accessed_time = n;
        ev.max_inactive_interval = i;
        ev.field = attr;

        ngx_fuzz_check(ngx_http_shared_session_serialize_event(pool, &ser, &ev,
                                                               &out)
                       == NGX_OK);

        if (f == NGX_HTTP_SHARED_SESSION_JDK) {
            ngx_fuzz_check(out.len > 50 && out.data[out.len - 1] == 0x78
                           && memcmp(out.data + 6, "\x00\x11java.util.HashMap",
                                     19) == 0);
            continue;
        }

        /* valid JSON: the map's class and its four entries */

        json = cJSON_ParseWithLength((char *) out.data, out.len);
        ngx_fuzz_check(json != NULL);

        k = 0;
        cJSON_ArrayForEach(item, json) {
            k++;
        }

        ngx_fuzz_check(k == 5);

        item = cJSON_GetObjectItemCaseSensitive(json, "maxInactiveInterval");
        ngx_fuzz_check(cJSON_IsNumber(item) && item->valuedouble == i);

        cJSON_Delete(json);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char     *in;
    ref_buf_t   wrapped;

    ngx_fuzz_init();

    pool = ngx_fuzz_pool();

    /* an allocation of exactly the input's size: ASan sees a read past it */
    in = copy(data, size);

    fuzz_numbers(in, size);
    fuzz_string(in, size);

    /* and as the text of a String, so that most inputs reach its reading */
    wrapped.data = alloc(size + 13);
    wrapped.len = 0;
    put_lit(&wrapped, "\xac\xed\x00\x05");

    if (size > 0xffff) {
        put_lit(&wrapped, "\x7c");
        put_be(&wrapped, size, 8);

    } else {
        put_lit(&wrapped, "\x74");
        put_be(&wrapped, size, 2);
    }

    put(&wrapped, in, size);
    fuzz_string(wrapped.data, wrapped.len);

    fuzz_session(in, size);
    fuzz_encoders(in, size);
    fuzz_serializer(in, size);

    ngx_destroy_pool(pool);

    return 0;
}
