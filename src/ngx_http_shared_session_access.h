
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_ACCESS_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_ACCESS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * The lookup behind shared_session_require and shared_session_load: a
 * request's session, found (and touched) once per main request.
 */

/*
 * Postconfiguration: the phase handler, and the attributes the
 * configuration's variables name, which every lookup reads (the variables
 * are in ngx_http_shared_session_variables.c).
 */
ngx_int_t ngx_http_shared_session_access_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_SHARED_SESSION_ACCESS_H_INCLUDED_ */
