
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_cookie.h"


static void ngx_http_shared_session_cookie_parse(ngx_str_t *header,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_pool_t *pool,
    ngx_str_t *ids, ngx_uint_t *n, ngx_uint_t max);
static void ngx_http_shared_session_cookie_add(ngx_str_t *value,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_pool_t *pool,
    ngx_str_t *ids, ngx_uint_t *n, ngx_uint_t max);


#define ngx_http_shared_session_b64_invalid  0xff


static u_char  ngx_http_shared_session_b64[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255,  62, 255, 255, 255,  63,  52,  53,  54,  55,  56,  57,  58,  59,
     60,  61, 255, 255, 255, 255, 255, 255, 255,   0,   1,   2,   3,   4,
      5,   6,   7,   8,   9,  10,  11,  12,  13,  14,  15,  16,  17,  18,
     19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255, 255, 255,  26,
     27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255
};


ngx_uint_t
ngx_http_shared_session_cookie_ids(ngx_http_request_t *r,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_str_t *ids, ngx_uint_t max)
{
    ngx_uint_t         n;
#if (nginx_version >= 1023000)
    ngx_table_elt_t   *h;

    n = 0;

    for (h = r->headers_in.cookie; h; h = h->next) {
        ngx_http_shared_session_cookie_parse(&h->value, cf, r->pool,
                                             ids, &n, max);
    }

#else
    ngx_uint_t         i;
    ngx_table_elt_t  **h;

    n = 0;
    h = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        ngx_http_shared_session_cookie_parse(&h[i]->value, cf, r->pool,
                                             ids, &n, max);
    }
#endif

    return n;
}


/* RFC 6265 cookie-string: "name=value; name=value", whitespace tolerated */

static void
ngx_http_shared_session_cookie_parse(ngx_str_t *header,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_pool_t *pool,
    ngx_str_t *ids, ngx_uint_t *n, ngx_uint_t max)
{
    u_char     *p, *last, *pair, *end, *eq;
    ngx_str_t   name, value;

    p = header->data;
    last = p + header->len;

    while (p < last && *n < max) {

        pair = p;
        end = ngx_strlchr(p, last, ';');
        if (end == NULL) {
            end = last;
        }

        p = (end < last) ? end + 1 : last;

        while (pair < end && (*pair == ' ' || *pair == '\t')) {
            pair++;
        }

        eq = ngx_strlchr(pair, end, '=');
        if (eq == NULL) {
            continue;
        }

        name.data = pair;
        name.len = eq - pair;

        while (name.len
               && (name.data[name.len - 1] == ' '
                   || name.data[name.len - 1] == '\t'))
        {
            name.len--;
        }

        if (name.len != cf->name.len
            || ngx_strncmp(name.data, cf->name.data, name.len) != 0)
        {
            continue;
        }

        value.data = eq + 1;
        value.len = end - value.data;

        while (value.len && (*value.data == ' ' || *value.data == '\t')) {
            value.data++;
            value.len--;
        }

        while (value.len
               && (value.data[value.len - 1] == ' '
                   || value.data[value.len - 1] == '\t'))
        {
            value.len--;
        }

        ngx_http_shared_session_cookie_add(&value, cf, pool, ids, n, max);
    }
}


static void
ngx_http_shared_session_cookie_add(ngx_str_t *value,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_pool_t *pool,
    ngx_str_t *ids, ngx_uint_t *n, ngx_uint_t max)
{
    ngx_str_t   id;
    ngx_uint_t  i;

    if (value->len == 0) {
        return;
    }

    if (cf->base64) {
        /* the decoded id must be at most 128 bytes: cheap early refusal */
        if (value->len > ngx_base64_encoded_length(
                                          NGX_HTTP_SHARED_SESSION_ID_MAX))
        {
            return;
        }

        id.data = ngx_pnalloc(pool, ngx_base64_decoded_length(value->len));
        if (id.data == NULL) {
            return;
        }

        if (ngx_http_shared_session_base64_decode(&id, value) != NGX_OK) {
            return;
        }

    } else {
        id = *value;
    }

    if (ngx_http_shared_session_id_valid(&id) != NGX_OK) {
        return;
    }

    for (i = 0; i < *n; i++) {
        if (ids[i].len == id.len
            && ngx_strncmp(ids[i].data, id.data, id.len) == 0)
        {
            return;
        }
    }

    if (*n < max) {
        ids[(*n)++] = id;
    }
}


ngx_int_t
ngx_http_shared_session_base64_decode(ngx_str_t *dst, ngx_str_t *src)
{
    u_char      *s, *d, c[4];
    size_t       len, pad, i;
    ngx_uint_t   k;

    len = src->len;
    s = src->data;

    pad = 0;

    while (pad < 2 && len > pad && s[len - pad - 1] == '=') {
        pad++;
    }

    /* like java.util.Base64: padding is optional, but when present exact */

    if (pad && len % 4 != 0) {
        return NGX_ERROR;
    }

    len -= pad;

    if (len % 4 == 1) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (ngx_http_shared_session_b64[s[i]]
            == ngx_http_shared_session_b64_invalid)
        {
            return NGX_ERROR;
        }
    }

    d = dst->data;

    for (i = 0; i + 4 <= len; i += 4) {
        for (k = 0; k < 4; k++) {
            c[k] = ngx_http_shared_session_b64[s[i + k]];
        }

        *d++ = (u_char) (c[0] << 2 | c[1] >> 4);
        *d++ = (u_char) (c[1] << 4 | c[2] >> 2);
        *d++ = (u_char) (c[2] << 6 | c[3]);
    }

    if (len - i > 1) {
        c[0] = ngx_http_shared_session_b64[s[i]];
        c[1] = ngx_http_shared_session_b64[s[i + 1]];
        *d++ = (u_char) (c[0] << 2 | c[1] >> 4);

        if (len - i > 2) {
            c[2] = ngx_http_shared_session_b64[s[i + 2]];
            *d++ = (u_char) (c[1] << 4 | c[2] >> 2);
        }
    }

    dst->len = d - dst->data;

    return NGX_OK;
}


/*
 * The id becomes part of key names: "{...}" would choose a cluster slot,
 * ":" and glob characters would blur what a key is.  A UUID's characters,
 * and the letters and "_" of other generators' ids, are all it may hold.
 */

ngx_int_t
ngx_http_shared_session_id_valid(ngx_str_t *id)
{
    u_char  *p, *last;

    if (id->len == 0 || id->len > NGX_HTTP_SHARED_SESSION_ID_MAX) {
        return NGX_ERROR;
    }

    last = id->data + id->len;

    for (p = id->data; p < last; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_cookie_valid_attr(ngx_str_t *value,
    ngx_uint_t is_name)
{
    u_char  *p, *last;

    if (value->len == 0) {
        return NGX_ERROR;
    }

    last = value->data + value->len;

    for (p = value->data; p < last; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == ';' || *p == ','
            || (is_name && (*p == '=' || *p == '"' || *p == '\\')))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Attributes in the order of Spring's DefaultCookieSerializer:
 * Max-Age, Expires, Domain, Path, Secure, HttpOnly, SameSite.
 */

ngx_int_t
ngx_http_shared_session_cookie_set(ngx_http_request_t *r,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_str_t *id)
{
    size_t            len;
    u_char           *p;
    ngx_str_t         enc;
    ngx_uint_t        secure;
    ngx_table_elt_t  *h;

    static ngx_str_t  expire = ngx_string(
                   "; Max-Age=0; Expires=Thu, 1 Jan 1970 00:00:00 GMT");

    secure = (cf->secure == NGX_HTTP_SHARED_SESSION_SECURE_ON);

#if (NGX_HTTP_SSL)
    if (cf->secure == NGX_HTTP_SHARED_SESSION_SECURE_AUTO
        && r->connection->ssl)
    {
        secure = 1;
    }
#endif

    len = cf->name.len + 1;

    if (id == NULL) {
        ngx_str_null(&enc);
        len += expire.len;

    } else if (cf->base64) {
        enc.len = ngx_base64_encoded_length(id->len);
        enc.data = ngx_pnalloc(r->pool, enc.len);
        if (enc.data == NULL) {
            return NGX_ERROR;
        }

        ngx_encode_base64(&enc, id);

    } else {
        enc = *id;
    }

    len += enc.len;

    if (cf->domain.len) {
        len += sizeof("; Domain=") - 1 + cf->domain.len;
    }

    len += sizeof("; Path=") - 1 + cf->path.len;

    if (secure) {
        len += sizeof("; Secure") - 1;
    }

    if (cf->httponly) {
        len += sizeof("; HttpOnly") - 1;
    }

    if (cf->samesite.len) {
        len += sizeof("; SameSite=") - 1 + cf->samesite.len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = p;

    p = ngx_cpymem(p, cf->name.data, cf->name.len);
    *p++ = '=';

    if (enc.len) {
        p = ngx_cpymem(p, enc.data, enc.len);
    }

    if (id == NULL) {
        p = ngx_cpymem(p, expire.data, expire.len);
    }

    if (cf->domain.len) {
        p = ngx_cpymem(p, "; Domain=", sizeof("; Domain=") - 1);
        p = ngx_cpymem(p, cf->domain.data, cf->domain.len);
    }

    p = ngx_cpymem(p, "; Path=", sizeof("; Path=") - 1);
    p = ngx_cpymem(p, cf->path.data, cf->path.len);

    if (secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    if (cf->httponly) {
        p = ngx_cpymem(p, "; HttpOnly", sizeof("; HttpOnly") - 1);
    }

    if (cf->samesite.len) {
        p = ngx_cpymem(p, "; SameSite=", sizeof("; SameSite=") - 1);
        p = ngx_cpymem(p, cf->samesite.data, cf->samesite.len);
    }

    h->value.len = p - h->value.data;

    return NGX_OK;
}


ngx_uint_t
ngx_http_shared_session_cookie_sent(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_str_t  value;

#if (nginx_version >= 1023000)
    return ngx_http_parse_multi_header_lines(r, r->headers_in.cookie, name,
                                             &value)
           != NULL;
#else
    return ngx_http_parse_multi_header_lines(&r->headers_in.cookies, name,
                                             &value)
           != NGX_DECLINED;
#endif
}
