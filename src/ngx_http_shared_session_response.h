
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_RESPONSE_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_RESPONSE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* Adds a response header; its value is "value", or left to the caller. */
ngx_table_elt_t *ngx_http_shared_session_response_header(
    ngx_http_request_t *r, char *key, char *value);

/* Sends "body" as application/json, never cached, with "status". */
ngx_int_t ngx_http_shared_session_response_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);


#endif /* _NGX_HTTP_SHARED_SESSION_RESPONSE_H_INCLUDED_ */
