
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_CLUSTER_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_CLUSTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_shared_session_redis.h"


typedef struct ngx_http_shared_session_cluster_s
    ngx_http_shared_session_cluster_t;
typedef struct ngx_http_shared_session_cluster_cmd_s
    ngx_http_shared_session_cluster_cmd_t;


/*
 * Finds or adds the Redis Cluster whose seed nodes are "seeds" (an array
 * of ngx_http_shared_session_redis_t *, from ngx_http_shared_session_redis_add
 * with "conf"); nodes learned later share "conf".
 */
ngx_http_shared_session_cluster_t *ngx_http_shared_session_cluster_add(
    ngx_conf_t *cf, ngx_array_t *clusters, ngx_array_t *seeds,
    ngx_http_shared_session_redis_conf_t *conf);

/* for logs: the first seed's "host:port" */
ngx_str_t *ngx_http_shared_session_cluster_name(
    ngx_http_shared_session_cluster_t *cl);

/*
 * Sends a single-key command (argv[key] is the key, 0 < key < argc) to the
 * primary that owns the key's hash slot, following MOVED and ASK and
 * retrying TRYAGAIN and CLUSTERDOWN within "timeout".  The same contract
 * as ngx_http_shared_session_redis_send(): NULL with the cause in "error"
 * if it cannot be sent now, otherwise the handler is called exactly once
 * unless cancelled, never from inside this call.  argv is copied: it may
 * go away when this returns.
 */
ngx_http_shared_session_cluster_cmd_t *ngx_http_shared_session_cluster_send(
    ngx_http_shared_session_cluster_t *cl, ngx_log_t *log, ngx_msec_t timeout,
    ngx_uint_t key, int argc, const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error);

void ngx_http_shared_session_cluster_cancel(
    ngx_http_shared_session_cluster_cmd_t *cmd);

/* the hash slot of a key, honouring {hash tags} (CRC16/XMODEM mod 16384) */
ngx_uint_t ngx_http_shared_session_cluster_slot(u_char *key, size_t len);

/* At worker start: fetches each cluster's slot map ahead of requests. */
void ngx_http_shared_session_cluster_init_all(ngx_array_t *clusters,
    ngx_log_t *log);

/* At worker exit: closes the nodes this worker learned and frees them. */
void ngx_http_shared_session_cluster_close_all(ngx_array_t *clusters);


#endif /* _NGX_HTTP_SHARED_SESSION_CLUSTER_H_INCLUDED_ */
