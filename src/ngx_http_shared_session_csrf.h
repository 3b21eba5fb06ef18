
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_CSRF_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_CSRF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * Whether the request may use its location's endpoint: a method the
 * endpoint accepts (shared_session: GET and HEAD; shared_session_invalidate:
 * shared_session_invalidate_methods) and, with
 * shared_session_invalidate_check_origin on, not sent on another site's
 * behalf.  NGX_OK, or the status to answer with: NGX_HTTP_NOT_ALLOWED
 * (Allow added) or NGX_HTTP_FORBIDDEN; an invalidation refused is logged
 * at info.
 */
ngx_int_t ngx_http_shared_session_csrf_check(ngx_http_request_t *r);


#endif /* _NGX_HTTP_SHARED_SESSION_CSRF_H_INCLUDED_ */
