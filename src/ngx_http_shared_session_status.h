
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_STATUS_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* the module's own version, in the status page's build information */
#define NGX_HTTP_SHARED_SESSION_VERSION  "0.1.0"


/*
 * shared_session_status (the status page: JSON, Prometheus text, the
 * readiness check) and shared_session_zone; its request context is the
 * session lookup record of ngx_http_shared_session_variables.c.
 */
extern ngx_module_t  ngx_http_shared_session_status_module;


#endif /* _NGX_HTTP_SHARED_SESSION_STATUS_H_INCLUDED_ */
