
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_REPLY_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_REPLY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>


typedef struct ngx_http_shared_session_reply_block_s
    ngx_http_shared_session_reply_block_t;


/*
 * A connection's replies: hiredis's redisReader with the module's limits,
 * and the arena its redisReply objects are built in.  Embedded in the
 * server (ngx_http_shared_session_redis.c), zeroed with it, and the
 * reader's privdata.
 */
typedef struct {
    redisReader                            *reader;  /* NULL: no connection */
    size_t                                  cost;    /* of the reply being
                                                        parsed, so far */

    /* blocks in use, oldest first; empty ones kept, and their bytes */
    ngx_http_shared_session_reply_block_t  *used;
    ngx_http_shared_session_reply_block_t  *last;
    ngx_http_shared_session_reply_block_t  *reply_block; /* where the reply
                                                            being read began */
    ngx_http_shared_session_reply_block_t  *spare;
    size_t                                  spare_size;

    ngx_str_t                              *name;    /* the server's, for
                                                        the debug log */
} ngx_http_shared_session_reply_arena_t;


/*
 * A new reader for a connection, its objects in "arena"; NGX_ERROR: out
 * of memory.  Arrays of more than 16384 elements make it fail with
 * REDIS_ERR_OOM.
 */
ngx_int_t ngx_http_shared_session_reply_reader_create(
    ngx_http_shared_session_reply_arena_t *arena, ngx_str_t *name);

/* frees the reader (the connection closed); the arena's blocks stay */
void ngx_http_shared_session_reply_reader_free(
    ngx_http_shared_session_reply_arena_t *arena);

/*
 * Whether the reply being read, its bytes not parsed yet and what its
 * parsed objects take, costs more than 64 MB: a hostile peer.
 */
ngx_uint_t ngx_http_shared_session_reply_too_large(
    ngx_http_shared_session_reply_arena_t *arena);

/* a complete reply was taken from the reader: the next one costs nothing */
void ngx_http_shared_session_reply_taken(
    ngx_http_shared_session_reply_arena_t *arena);

/*
 * No reply taken from the reader is alive any more (all were handled):
 * their blocks are reused, but those of the reply being read.
 */
void ngx_http_shared_session_reply_reset(
    ngx_http_shared_session_reply_arena_t *arena);

/* frees every block (at worker exit, the reader freed already) */
void ngx_http_shared_session_reply_free(
    ngx_http_shared_session_reply_arena_t *arena);


#endif /* _NGX_HTTP_SHARED_SESSION_REPLY_H_INCLUDED_ */
