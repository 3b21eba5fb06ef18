
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * What fuzz_store and fuzz_cluster feed their code: the replies a
 * connection's reader makes of the input, built as in production, in a
 * reply arena (src/ngx_http_shared_session_reply.c) and used as the
 * connection (ngx_http_shared_session_redis.c) uses it: the input arrives
 * in pieces; after each piece the complete replies are taken, the 64M
 * check made, the replies handled in turn, then the arena reset, which
 * keeps the blocks of a reply still being read.  With AddressSanitizer
 * the arena leaves a poisoned redzone after every object: a parser that
 * reads past a string or an element array is reported, not fed the next
 * object.  A fresh arena per input, so that a crash is the input's alone.
 */


#ifndef _NGX_FUZZ_REPLY_H_INCLUDED_
#define _NGX_FUZZ_REPLY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>

#include "ngx_http_shared_session_reply.h"


/* more than a piece of at most 61 bytes can complete: "+\r\n" is 3 */
#define NGX_FUZZ_REPLY_BATCH  64


typedef void (*ngx_fuzz_reply_pt)(void *data, redisReply *reply);


/*
 * Takes up to NGX_FUZZ_REPLY_BATCH complete replies; NGX_ERROR: the
 * reader failed (the connection would be closed), NGX_DECLINED: it failed
 * with an array over the limit (closed with no reply handed out).
 */

static ngx_int_t
ngx_fuzz_reply_take(ngx_http_shared_session_reply_arena_t *arena,
    redisReply **replies, ngx_uint_t *n)
{
    void  *reply;

    *n = 0;

    while (*n < NGX_FUZZ_REPLY_BATCH) {
        reply = NULL;

        if (redisReaderGetReply(arena->reader, &reply) != REDIS_OK) {
            return arena->reader->err == REDIS_ERR_OOM ? NGX_DECLINED
                                                       : NGX_ERROR;
        }

        if (reply == NULL) {
            break;
        }

        ngx_http_shared_session_reply_taken(arena);

        replies[(*n)++] = reply;
    }

    return NGX_OK;
}


/*
 * Feeds "data" in pieces of 1..61 bytes (their sizes set by "flags") and
 * hands every complete reply to "handler", until the input ends or the
 * connection would be closed.
 */

static void
ngx_fuzz_replies(const uint8_t *data, size_t size, ngx_uint_t flags,
    ngx_fuzz_reply_pt handler, void *hdata)
{
    size_t                                  chunk;
    ngx_int_t                               rc;
    ngx_uint_t                              n, i, pieces;
    redisReply                             *replies[NGX_FUZZ_REPLY_BATCH];
    ngx_http_shared_session_reply_arena_t   arena;

    static ngx_str_t  name = ngx_string("fuzz");

    ngx_memzero(&arena, sizeof(ngx_http_shared_session_reply_arena_t));

    if (ngx_http_shared_session_reply_reader_create(&arena, &name) != NGX_OK)
    {
        abort();
    }

    pieces = 0;

    while (size) {
        chunk = ngx_min(size, (size_t) 1 + (pieces * 7 + flags) % 61);

        if (redisReaderFeed(arena.reader, (const char *) data, chunk)
            != REDIS_OK)
        {
            break;
        }

        data += chunk;
        size -= chunk;
        pieces++;

        do {
            rc = ngx_fuzz_reply_take(&arena, replies, &n);

            if (rc == NGX_DECLINED) {
                size = 0;
                break;
            }

            if (ngx_http_shared_session_reply_too_large(&arena)) {
                /* "sent a reply over 64M": closed, nothing handed out */
                size = 0;
                break;
            }

            for (i = 0; i < n; i++) {
                handler(hdata, replies[i]);
            }

            /* no reply is alive now, but the one being read, if any */
            ngx_http_shared_session_reply_reset(&arena);

            if (rc == NGX_ERROR) {
                /* a protocol error after the replies handed out: closed */
                size = 0;
                break;
            }

        } while (n == NGX_FUZZ_REPLY_BATCH);
    }

    /* the connection closes, then the worker exits */

    ngx_http_shared_session_reply_reader_free(&arena);
    ngx_http_shared_session_reply_reset(&arena);
    ngx_http_shared_session_reply_free(&arena);
}


#endif /* _NGX_FUZZ_REPLY_H_INCLUDED_ */
