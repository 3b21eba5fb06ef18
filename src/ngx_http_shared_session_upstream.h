
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_UPSTREAM_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_UPSTREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session.h"


/*
 * "shared_session_redis_upstream name { ... }" at http level: a named
 * Redis (one server, or a cluster's seeds) with all its connection
 * settings, which locations point at by name.
 */
char *ngx_http_shared_session_upstream_block(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * "shared_session_redis name | address": a block's name (the block may
 * come later in the file), or an address of the location's implicit block.
 */
char *ngx_http_shared_session_upstream_redis(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * Once the http block is read: the implicit blocks' default address (from
 * the environment), every name used has its block, the blocks' servers.
 */
char *ngx_http_shared_session_upstream_init_main_conf(ngx_conf_t *cf,
    ngx_http_shared_session_main_conf_t *smcf);

/*
 * A level's Redis: inherited, refused if it mixes a named block with
 * location-level settings, and for a location with an endpoint the Redis
 * it talks to (conf->conn) and the store's back end (conf->store).
 */
char *ngx_http_shared_session_upstream_merge(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *prev,
    ngx_http_shared_session_loc_conf_t *conf);


#endif /* _NGX_HTTP_SHARED_SESSION_UPSTREAM_H_INCLUDED_ */
