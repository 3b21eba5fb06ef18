
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session_cookie.h"
#include "ngx_http_shared_session_redis.h"
#include "ngx_http_shared_session_cluster.h"
#include "ngx_http_shared_session_conn.h"
#include "ngx_http_shared_session_serializer.h"
#include "ngx_http_shared_session_store.h"


#define NGX_HTTP_SHARED_SESSION_OFF         0
#define NGX_HTTP_SHARED_SESSION_ENDPOINT    1
#define NGX_HTTP_SHARED_SESSION_INVALIDATE  2

#define NGX_HTTP_SHARED_SESSION_ON_ERROR_FAIL  0
#define NGX_HTTP_SHARED_SESSION_ON_ERROR_PASS  1


/* a shared_session_redis_upstream block (ngx_http_shared_session_upstream.c) */
typedef struct ngx_http_shared_session_upstream_s
    ngx_http_shared_session_upstream_t;


typedef struct {
    ngx_array_t                            servers;
    ngx_array_t                            clusters;
    ngx_array_t                            redis_confs;
    ngx_array_t                            upstreams;       /* named */
    ngx_str_t                              default_redis;   /* from env */

    /* what a lookup reads: see ngx_http_shared_session_access.c */
    ngx_array_t                           *names;    /* of ngx_str_t */
    ngx_flag_t                             principal; /* names[0], [1] */
} ngx_http_shared_session_main_conf_t;


/* one field per directive, in the README's order */
typedef struct {
    ngx_uint_t                             endpoint;
    ngx_str_t                              invalidate_redirect;
    ngx_uint_t                             invalidate_methods;
    ngx_flag_t                             invalidate_check_origin;
    ngx_flag_t                             require;
    ngx_http_complex_value_t              *require_redirect;
    ngx_flag_t                             load;
    ngx_flag_t                             touch;
    ngx_msec_t                             touch_interval;
    ngx_uint_t                             on_error;
    ngx_array_t                           *redis;    /* of ngx_str_t */
    ngx_http_shared_session_upstream_t    *redis_upstream;  /* or a name */
    ngx_flag_t                             redis_cluster;
    ngx_msec_t                             redis_timeout;
    ngx_str_t                              redis_password;
    ngx_str_t                              redis_username;
    ngx_int_t                              redis_database;
    ngx_flag_t                             redis_scripts;
    ngx_flag_t                             redis_tls;
    ngx_str_t                              redis_tls_trusted_certificate;
    ngx_flag_t                             redis_tls_verify;
    ngx_str_t                              redis_tls_server_name;
    ngx_str_t                              redis_tls_certificate;
    ngx_str_t                              redis_tls_certificate_key;
    ngx_http_complex_value_t              *host;
    ngx_str_t                              namespace;
    time_t                                 max_inactive_interval;
    ngx_str_t                              attribute;
    ngx_str_t                              attribute_class;
    ngx_uint_t                             serializer;
    ngx_str_t                              jdk_serial_version_uid;
    ngx_uint_t                             repository;
    ngx_uint_t                             expiration_store;
    ngx_http_shared_session_cookie_conf_t  cookie;

    /* derived when merged */
    ngx_str_t                              prefix;   /* "<namespace>:" */
    ngx_str_t                              field;    /* "sessionAttr:<a>" */
    ngx_http_shared_session_serializer_t   ser;      /* serializer_* */
    /* the first shared_session_redis_* connection setting, here or above */
    char                                  *redis_shorthand;
    ngx_http_shared_session_conn_t         conn;     /* server, cluster */
    ngx_http_shared_session_store_ops_t   *store;    /* the back end */
} ngx_http_shared_session_loc_conf_t;


/* an endpoint, or a lookup (require, load): the location's Redis is set up */
#define ngx_http_shared_session_asks_redis(conf)                              \
    ((conf)->endpoint != NGX_HTTP_SHARED_SESSION_OFF                          \
     || (conf)->require || (conf)->load)


/* the content handlers of shared_session and shared_session_invalidate */
ngx_int_t ngx_http_shared_session_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_shared_session_invalidate_handler(ngx_http_request_t *r);

/* a request's store: its cookies' ids, the time, the location's Redis */
ngx_int_t ngx_http_shared_session_store_begin(ngx_http_request_t *r,
    ngx_http_shared_session_loc_conf_t *sscf,
    ngx_http_shared_session_store_t *st);


extern ngx_module_t  ngx_http_shared_session_module;


#endif /* _NGX_HTTP_SHARED_SESSION_H_INCLUDED_ */
