
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_JSON_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* stored attributes larger than this are not parsed for the previous host */
#define NGX_HTTP_SHARED_SESSION_ATTR_PARSE_MAX  65536


typedef struct {
    ngx_str_t   id;
    ngx_str_t   host;
    int64_t     last_updated;
    ngx_str_t   previous_host;     /* data == NULL: JSON null */
    int64_t     creation_time;
    ngx_uint_t  is_new;
} ngx_http_shared_session_json_body_t;


/*
 * The attribute as GenericJackson2JsonRedisSerializer writes the seed's
 * SampleSession: {"@class":C,"host":H,"lastUpdatedAt":["java.util.Date",T]}
 */
ngx_int_t ngx_http_shared_session_json_attribute(ngx_pool_t *pool,
    ngx_str_t *class, ngx_str_t *host, int64_t now, ngx_str_t *out);

/* The "host" of a stored attribute: NGX_OK, or NGX_DECLINED if it has none. */
ngx_int_t ngx_http_shared_session_json_host(ngx_pool_t *pool,
    ngx_str_t *attribute, ngx_str_t *host);

/*
 * A stored attribute that holds a String, as the JSON serializer writes
 * it ("text"): NGX_OK with the text, or NGX_DECLINED.
 */
ngx_int_t ngx_http_shared_session_json_text(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out);

/*
 * The name of the authentication in Spring Security's SecurityContextImpl
 * as GenericJackson2JsonRedisSerializer writes it: its "name", else its
 * "principal" when that is a String, else the principal's "username".
 * NGX_OK, or NGX_DECLINED.
 */
ngx_int_t ngx_http_shared_session_json_principal(ngx_pool_t *pool,
    ngx_str_t *in, ngx_str_t *out);

/*
 * A stored attribute that holds a String, decoded by cJSON into buf (as
 * long as "in" at least): NGX_OK, or NGX_DECLINED if it is not a String.
 */
ngx_int_t ngx_http_shared_session_json_decode_string(ngx_pool_t *pool,
    ngx_str_t *in, u_char *buf, ngx_str_t *out);

/* The shared_session endpoint's response body. */
ngx_int_t ngx_http_shared_session_json_body(ngx_pool_t *pool,
    ngx_http_shared_session_json_body_t *body, ngx_str_t *out);


#endif /* _NGX_HTTP_SHARED_SESSION_JSON_H_INCLUDED_ */
