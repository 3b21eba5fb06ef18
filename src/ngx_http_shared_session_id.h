
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_ID_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_ID_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */
#define NGX_HTTP_SHARED_SESSION_ID_LEN  36


/*
 * Writes a fresh random (version 4) UUID in lowercase text, as Java's
 * UUID.randomUUID().toString() does, into "id", which must hold
 * NGX_HTTP_SHARED_SESSION_ID_LEN bytes.
 */
ngx_int_t ngx_http_shared_session_id_generate(u_char *id, ngx_log_t *log);


#endif /* _NGX_HTTP_SHARED_SESSION_ID_H_INCLUDED_ */
