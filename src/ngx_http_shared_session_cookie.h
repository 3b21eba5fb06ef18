
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_COOKIE_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_COOKIE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_SHARED_SESSION_ID_MAX       128

/* at most this many distinct ids from one request are looked up */
#define NGX_HTTP_SHARED_SESSION_MAX_IDS      8

#define NGX_HTTP_SHARED_SESSION_SECURE_OFF   0
#define NGX_HTTP_SHARED_SESSION_SECURE_ON    1
#define NGX_HTTP_SHARED_SESSION_SECURE_AUTO  2


/* the shared_session_cookie_* directives, in the README's order */
typedef struct {
    ngx_str_t    name;
    ngx_str_t    path;
    ngx_str_t    domain;
    ngx_uint_t   secure;
    ngx_flag_t   httponly;
    ngx_str_t    samesite;       /* empty: "off" */
    ngx_flag_t   base64;
} ngx_http_shared_session_cookie_conf_t;


/*
 * Collects the session ids carried by every cookie named cf->name, in
 * request order, decoded and validated as Spring's DefaultCookieSerializer
 * does; values that fail are skipped, duplicates dropped.  Returns the
 * number of ids stored in "ids" (at most "max").
 */
ngx_uint_t ngx_http_shared_session_cookie_ids(ngx_http_request_t *r,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_str_t *ids, ngx_uint_t max);

/* A cookie of that name was sent, whatever its value. */
ngx_uint_t ngx_http_shared_session_cookie_sent(ngx_http_request_t *r,
    ngx_str_t *name);

/* Adds the Set-Cookie header for "id", or the expiring one if id is NULL. */
ngx_int_t ngx_http_shared_session_cookie_set(ngx_http_request_t *r,
    ngx_http_shared_session_cookie_conf_t *cf, ngx_str_t *id);

/* Checks a cookie attribute from the configuration (name, path, domain). */
ngx_int_t ngx_http_shared_session_cookie_valid_attr(ngx_str_t *value,
    ngx_uint_t is_name);

/* Strict RFC 4648 Base64 (padding optional); NGX_ERROR on any bad input. */
ngx_int_t ngx_http_shared_session_base64_decode(ngx_str_t *dst,
    ngx_str_t *src);

/* An id is 1..128 bytes of A-Z a-z 0-9 - _ (a UUID's characters and more) */
ngx_int_t ngx_http_shared_session_id_valid(ngx_str_t *id);


#endif /* _NGX_HTTP_SHARED_SESSION_COOKIE_H_INCLUDED_ */
