
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * fuzz_cookie: ngx_http_shared_session_cookie_ids() over a request's Cookie
 * headers, the strict Base64 decoder, id validation and the Set-Cookie
 * header built back from what was found.
 *
 * Input: one byte of settings, then the Cookie header values, one per
 * '\n' (a byte a header value can never hold).  Settings:
 *
 *   bit 0     shared_session_cookie_base64 on
 *   bits 1-3  how many ids the caller asks for, minus one (1..8)
 *   bits 4-5  cookie name: SESSION, JSESSIONID, S, a.b-c
 *   bit 6     a cookie domain
 *   bit 7     HttpOnly and SameSite=Lax, Secure on
 *
 * Checked: the ids are exactly those of an independent reference parser
 * (RFC 6265 pairs, SP/HTAB trimmed, java.util.Base64's strict decoding
 * written apart from the module's, nginx's ngx_decode_base64 for the
 * arithmetic); each is 1..128 bytes of A-Z a-z 0-9 - _; no
 * duplicates; no more than asked.  Every id found, and the input itself
 * when it is a valid id, makes a Set-Cookie whose value parses back to
 * the same single id.  decode(encode(x)) == x for padded and unpadded
 * Base64 of arbitrary bytes, and the module's decoder agrees with the
 * reference on the raw input.
 */


#include "ngx_fuzz.h"
#include <ngx_http.h>

#include "ngx_http_shared_session_cookie.h"


#define FUZZ_MAX_IDS  NGX_HTTP_SHARED_SESSION_MAX_IDS


static ngx_str_t  fuzz_names[] = {
    ngx_string("SESSION"),
    ngx_string("JSESSIONID"),
    ngx_string("S"),
    ngx_string("a.b-c"),
};


/* the reference: written from RFC 6265 and java.util.Base64, not the module */

static ngx_uint_t
ref_b64_char(u_char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '+' || c == '/';
}


static ngx_int_t
ref_b64_decode(ngx_str_t *src, ngx_str_t *dst)
{
    size_t     len, trail, i;
    ngx_str_t  s;

    len = src->len;

    for (trail = 0; trail < len && src->data[len - 1 - trail] == '='; trail++)
    {
        /* void */
    }

    if (trail > 2 || (trail && len % 4)) {
        return NGX_ERROR;
    }

    len -= trail;

    if (len % 4 == 1) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!ref_b64_char(src->data[i])) {
            return NGX_ERROR;
        }
    }

    s.data = src->data;
    s.len = len;

    /* all of s is in the alphabet: nginx's decoder does the arithmetic */
    return ngx_decode_base64(dst, &s);
}


static ngx_uint_t
ref_id_char(u_char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}


static ngx_uint_t
ref_id_valid(ngx_str_t *id)
{
    size_t  i;

    if (id->len < 1 || id->len > 128) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        if (!ref_id_char(id->data[i])) {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ref_ws(u_char c)
{
    return c == ' ' || c == '\t';
}


static void
ref_value(ngx_pool_t *pool, ngx_str_t *value, ngx_uint_t base64,
    ngx_str_t *ids, ngx_uint_t *n, ngx_uint_t max)
{
    ngx_str_t   id;
    ngx_uint_t  i;

    if (value->len == 0) {
        return;
    }

    if (base64) {
        if (value->len > 172) {
            return;
        }

        id.data = ngx_pnalloc(pool, value->len);
        if (id.data == NULL || ref_b64_decode(value, &id) != NGX_OK) {
            return;
        }

    } else {
        id = *value;
    }

    if (!ref_id_valid(&id)) {
        return;
    }

    for (i = 0; i < *n; i++) {
        if (ids[i].len == id.len && memcmp(ids[i].data, id.data, id.len) == 0)
        {
            return;
        }
    }

    if (*n < max) {
        ids[(*n)++] = id;
    }
}


static ngx_uint_t
ref_ids(ngx_pool_t *pool, ngx_str_t *headers, ngx_uint_t nheaders,
    ngx_str_t *name, ngx_uint_t base64, ngx_str_t *ids, ngx_uint_t max)
{
    size_t      start, end, eq, a, b;
    ngx_str_t   value, *h;
    ngx_uint_t  k, n;

    n = 0;

    for (k = 0; k < nheaders; k++) {
        h = &headers[k];

        for (start = 0; start < h->len; start = end + 1) {

            for (end = start; end < h->len && h->data[end] != ';'; end++) {
                /* void */
            }

            a = start;
            while (a < end && ref_ws(h->data[a])) {
                a++;
            }

            for (eq = a; eq < end && h->data[eq] != '='; eq++) {
                /* void */
            }

            if (eq == end) {
                continue;
            }

            b = eq;
            while (b > a && ref_ws(h->data[b - 1])) {
                b--;
            }

            if (b - a != name->len
                || memcmp(h->data + a, name->data, name->len) != 0)
            {
                continue;
            }

            a = eq + 1;
            b = end;

            while (a < b && ref_ws(h->data[a])) {
                a++;
            }

            while (b > a && ref_ws(h->data[b - 1])) {
                b--;
            }

            value.data = h->data + a;
            value.len = b - a;

            ref_value(pool, &value, base64, ids, &n, max);
        }
    }

    return n;
}


static ngx_http_request_t *
fuzz_request(ngx_pool_t *pool, ngx_str_t *headers, ngx_uint_t n)
{
    ngx_uint_t           i;
    ngx_table_elt_t     *h, **hp;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    if (r == NULL || c == NULL) {
        abort();
    }

    c->log = &ngx_fuzz_log;
    c->pool = pool;
    r->connection = c;
    r->pool = pool;

    if (ngx_array_init(&r->headers_in.cookies, pool, n ? n : 1,
                       sizeof(ngx_table_elt_t *))
        != NGX_OK
        || ngx_list_init(&r->headers_out.headers, pool, 4,
                         sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        abort();
    }

    for (i = 0; i < n; i++) {
        h = ngx_pcalloc(pool, sizeof(ngx_table_elt_t));
        hp = ngx_array_push(&r->headers_in.cookies);
        if (h == NULL || hp == NULL) {
            abort();
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Cookie");
        h->value = headers[i];
        h->lowcase_key = (u_char *) "cookie";
        *hp = h;
    }

    return r;
}


static ngx_uint_t
fuzz_ids(ngx_pool_t *pool, ngx_str_t *headers, ngx_uint_t n,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_str_t *ids,
    ngx_uint_t max)
{
    ngx_http_request_t  *r;

    r = fuzz_request(pool, headers, n);

    return ngx_http_shared_session_cookie_ids(r, cf, ids, max);
}


/* Set-Cookie for id, then the cookie it sets must give back exactly id */

static void
fuzz_set_cookie(ngx_pool_t *pool, ngx_http_shared_session_cookie_conf_t *cf,
    ngx_str_t *id)
{
    u_char              *semi;
    size_t               i;
    ngx_str_t            hv, back, *got, enc;
    ngx_uint_t           n;
    ngx_list_part_t     *part;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;

    r = fuzz_request(pool, NULL, 0);

    ngx_fuzz_check(ngx_http_shared_session_cookie_set(r, cf, id) == NGX_OK);

    part = &r->headers_out.headers.part;
    ngx_fuzz_check(part->nelts == 1);
    h = part->elts;

    ngx_fuzz_check(h->key.len == sizeof("Set-Cookie") - 1);

    hv = h->value;

    for (i = 0; i < hv.len; i++) {
        /* no header splitting, nothing a client would not take */
        ngx_fuzz_check(hv.data[i] >= 0x20 && hv.data[i] < 0x7f);
    }

    ngx_fuzz_check(hv.len > cf->name.len
                   && memcmp(hv.data, cf->name.data, cf->name.len) == 0
                   && hv.data[cf->name.len] == '=');

    semi = memchr(hv.data, ';', hv.len);
    ngx_fuzz_check(semi != NULL);

    /* the cookie-pair alone, as a browser would send it back */
    back.data = hv.data;
    back.len = semi - hv.data;

    enc.data = hv.data + cf->name.len + 1;
    enc.len = semi - enc.data;

    got = malloc(FUZZ_MAX_IDS * sizeof(ngx_str_t));
    if (got == NULL) {
        abort();
    }

    n = fuzz_ids(pool, &back, 1, cf, got, FUZZ_MAX_IDS);

    if (id == NULL) {
        ngx_fuzz_check(enc.len == 0 && n == 0);
        ngx_fuzz_check(ngx_strlcasestrn(hv.data, hv.data + hv.len,
                                        (u_char *) "max-age=0", 9 - 1)
                       != NULL);

    } else {
        ngx_fuzz_check(n == 1 && got[0].len == id->len
                       && memcmp(got[0].data, id->data, id->len) == 0);

        if (!cf->base64) {
            ngx_fuzz_check(enc.len == id->len
                           && memcmp(enc.data, id->data, id->len) == 0);
        }
    }

    free(got);
}


/* decode(encode(x)) == x, with and without the padding */

static void
fuzz_base64_round_trip(ngx_pool_t *pool, const u_char *data, size_t size)
{
    ngx_str_t  x, enc, dec;

    x.data = (u_char *) data;
    x.len = size;

    enc.len = ngx_base64_encoded_length(size);
    enc.data = ngx_pnalloc(pool, enc.len);
    dec.data = ngx_pnalloc(pool, ngx_base64_decoded_length(enc.len));
    if (enc.data == NULL || dec.data == NULL) {
        abort();
    }

    ngx_encode_base64(&enc, &x);

    ngx_fuzz_check(ngx_http_shared_session_base64_decode(&dec, &enc)
                   == NGX_OK);
    ngx_fuzz_check(dec.len == size && memcmp(dec.data, data, size) == 0);

    while (enc.len && enc.data[enc.len - 1] == '=') {
        enc.len--;
    }

    /* a buffer sized for the unpadded text, as the module sizes it */
    dec.data = ngx_pnalloc(pool, ngx_base64_decoded_length(enc.len));
    if (dec.data == NULL) {
        abort();
    }

    ngx_fuzz_check(ngx_http_shared_session_base64_decode(&dec, &enc)
                   == NGX_OK);
    ngx_fuzz_check(dec.len == size && memcmp(dec.data, data, size) == 0);
}


/* the module's decoder and the reference agree on arbitrary text */

static void
fuzz_base64_decode(ngx_pool_t *pool, const u_char *data, size_t size)
{
    ngx_int_t  rc, ref;
    ngx_str_t  src, dec, dec_ref;

    src.data = ngx_pnalloc(pool, size);
    dec.data = ngx_pnalloc(pool, ngx_base64_decoded_length(size));
    dec_ref.data = ngx_pnalloc(pool, ngx_base64_decoded_length(size));
    if (src.data == NULL || dec.data == NULL || dec_ref.data == NULL) {
        abort();
    }

    ngx_memcpy(src.data, data, size);
    src.len = size;

    rc = ngx_http_shared_session_base64_decode(&dec, &src);
    ref = ref_b64_decode(&src, &dec_ref);

    ngx_fuzz_check(rc == ref);

    if (rc == NGX_OK) {
        ngx_fuzz_check(dec.len == dec_ref.len
                       && memcmp(dec.data, dec_ref.data, dec.len) == 0);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                                 *p, *last, *nl;
    uint8_t                                 flags;
    ngx_str_t                              *headers, *ids, *ref, whole;
    ngx_uint_t                              nh, i, j, n, nref, max;
    ngx_pool_t                             *pool;
    ngx_http_shared_session_cookie_conf_t   cf;

    ngx_fuzz_init();

    if (size == 0) {
        return 0;
    }

    flags = data[0];
    data++;
    size--;

    pool = ngx_fuzz_pool();

    ngx_memzero(&cf, sizeof(cf));
    cf.base64 = flags & 1;
    max = ((flags >> 1) & 7) + 1;
    cf.name = fuzz_names[(flags >> 4) & 3];
    ngx_str_set(&cf.path, "/");

    if (flags & 0x40) {
        ngx_str_set(&cf.domain, "example.com");
    }

    if (flags & 0x80) {
        cf.httponly = 1;
        ngx_str_set(&cf.samesite, "Lax");
        cf.secure = NGX_HTTP_SHARED_SESSION_SECURE_ON;
    }

    /* every header value in a buffer of its own */

    nh = 1;
    for (i = 0; i < size; i++) {
        nh += (data[i] == '\n');
    }

    headers = ngx_pcalloc(pool, nh * sizeof(ngx_str_t));
    if (headers == NULL) {
        abort();
    }

    p = (u_char *) data;
    last = p + size;

    for (i = 0; i < nh; i++) {
        nl = memchr(p, '\n', last - p);
        if (nl == NULL) {
            nl = last;
        }

        headers[i].len = nl - p;
        headers[i].data = ngx_pnalloc(pool, headers[i].len);
        if (headers[i].data == NULL) {
            abort();
        }

        ngx_memcpy(headers[i].data, p, headers[i].len);
        p = nl + 1;
    }

    /* exactly "max" slots, each array a malloc() of its own */

    ids = malloc(max * sizeof(ngx_str_t));
    ref = malloc(max * sizeof(ngx_str_t));
    if (ids == NULL || ref == NULL) {
        abort();
    }

    n = fuzz_ids(pool, headers, nh, &cf, ids, max);
    nref = ref_ids(pool, headers, nh, &cf.name, cf.base64, ref, max);

    ngx_fuzz_check(n <= max);
    ngx_fuzz_check(n == nref);

    for (i = 0; i < n; i++) {
        ngx_fuzz_check(ids[i].len == ref[i].len
                       && memcmp(ids[i].data, ref[i].data, ids[i].len) == 0);

        ngx_fuzz_check(ref_id_valid(&ids[i]));
        ngx_fuzz_check(ngx_http_shared_session_id_valid(&ids[i]) == NGX_OK);

        for (j = 0; j < i; j++) {
            ngx_fuzz_check(ids[j].len != ids[i].len
                           || memcmp(ids[j].data, ids[i].data, ids[i].len));
        }

        fuzz_set_cookie(pool, &cf, &ids[i]);
    }

    free(ids);
    free(ref);

    /* the whole input as one value: an id, Base64 text, raw bytes */

    whole.data = headers[0].data;
    whole.len = headers[0].len;

    ngx_fuzz_check((ngx_http_shared_session_id_valid(&whole) == NGX_OK)
                   == ref_id_valid(&whole));

    if (ref_id_valid(&whole)) {
        fuzz_set_cookie(pool, &cf, &whole);
    }

    fuzz_set_cookie(pool, &cf, NULL);

    fuzz_base64_decode(pool, data, size);
    fuzz_base64_round_trip(pool, data, size);

    (void) ngx_http_shared_session_cookie_valid_attr(&whole, flags & 1);

    ngx_destroy_pool(pool);

    return 0;
}
