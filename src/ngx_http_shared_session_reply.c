
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>

#include "ngx_http_shared_session_reply.h"
#include "ngx_http_shared_session_redis.h"


/*
 * Redis replies: hiredis's redisReader with the module's limits, its
 * reply objects in a per-server arena.  The connection
 * (ngx_http_shared_session_redis.c) feeds the reader and takes the
 * replies; what they cost and where they live is this file's.
 *
 * What may outlive what (nothing here is allocated per request):
 *
 *   - A reply (its redisReply objects, their strings and element arrays)
 *     lives in its server's reply arena, from the moment the reader parses
 *     it until its handler returns.  A handler copies what it keeps (into
 *     its request's pool) and keeps no pointer into the reply; nobody
 *     calls freeReplyObject() on it.  The arena's blocks are reused once
 *     no reply parsed from them is alive: after each batch of replies was
 *     handed out (only the blocks of a reply still being read are kept),
 *     and when the connection closes outside of a batch.  Up to
 *     NGX_HTTP_SHARED_SESSION_REPLY_ARENA_KEEP bytes of empty blocks are
 *     kept for the next replies; what a larger reply took goes back to
 *     the heap once it was handled.
 *   - A command record lives from send() until its reply was handed, it
 *     was failed (a timeout, the connection closed) or dropped unsent
 *     (cancelled while held for the setup); cancel() only forgets its
 *     handler.  It then goes to its server's free list, for the next
 *     send(), or back to the heap when NGX_HTTP_SHARED_SESSION_REDIS_
 *     FREE_COMMANDS are kept already (ngx_http_shared_session_redis.c).
 *   - The server, its arena, free list and buffers live until the worker
 *     exits (ngx_http_shared_session_redis_destroy()), or for a node a
 *     cluster learned, until the cluster forgets it.
 */


/*
 * The scripts' replies have a dozen elements, CLUSTER SLOTS one per slot
 * range: at most 16384.  Larger arrays are hostile.
 */
#define NGX_HTTP_SHARED_SESSION_REPLY_MAX_ELEMENTS 16384

/*
 * What a reply in progress may cost: its bytes not parsed yet, plus what
 * its parsed elements take (a redisReply and its share of the parent's
 * array, about 64 bytes, plus a string's bytes, plus 8 bytes per array
 * slot).  The largest legitimate replies, a CLUSTER SLOTS of 16384 ranges
 * or a session whose attribute is several MB, cost a few MB; 64 MB of
 * small integers would take over a GB parsed.  The parser's buffer keeps
 * the size of the largest bulk string, so a worker holds at most about
 * twice this per connection.
 */
#define NGX_HTTP_SHARED_SESSION_REPLY_MAX_REPLY    (64 * 1024 * 1024)
#define NGX_HTTP_SHARED_SESSION_REPLY_ELEMENT      64

/*
 * The reply arena: blocks of 8 KB (a session script's reply takes a few
 * hundred bytes), larger for a larger string; at most 64 KB of empty
 * blocks kept across replies.
 */
#define NGX_HTTP_SHARED_SESSION_REPLY_ARENA_BLOCK  8192
#define NGX_HTTP_SHARED_SESSION_REPLY_ARENA_KEEP   65536

/*
 * Objects are packed side by side: under AddressSanitizer each is followed
 * by poisoned bytes, so that reading past a string's NUL or an array's
 * last element is reported instead of reading the next object.  Nothing
 * without it.
 */
#ifdef NGX_HTTP_SHARED_SESSION_ASAN
#define NGX_HTTP_SHARED_SESSION_REPLY_REDZONE      32
#else
#define NGX_HTTP_SHARED_SESSION_REPLY_REDZONE      0
#endif


struct ngx_http_shared_session_reply_block_s {
    ngx_http_shared_session_reply_block_t  *next;
    u_char                                 *last;     /* free from here */
    u_char                                 *end;
};

#define NGX_HTTP_SHARED_SESSION_REPLY_BLOCK_HEADER                            \
    ngx_align(sizeof(ngx_http_shared_session_reply_block_t), NGX_ALIGNMENT)


static void *ngx_http_shared_session_reply_arena_alloc(
    ngx_http_shared_session_reply_arena_t *arena, size_t size);
static void ngx_http_shared_session_reply_arena_release(
    ngx_http_shared_session_reply_arena_t *arena,
    ngx_http_shared_session_reply_block_t *keep);
static redisReply *ngx_http_shared_session_reply_arena_object(
    const redisReadTask *task, int type, size_t size);
static void *ngx_http_shared_session_reply_arena_string(
    const redisReadTask *task, char *str, size_t len);
static void *ngx_http_shared_session_reply_arena_array(
    const redisReadTask *task, int elements);
static void *ngx_http_shared_session_reply_arena_integer(
    const redisReadTask *task, long long value);
static void *ngx_http_shared_session_reply_arena_nil(
    const redisReadTask *task);
static void ngx_http_shared_session_reply_arena_no_free(void *reply);


/* a connection's: the limits, the objects in the server's arena */
static redisReplyObjectFunctions  ngx_http_shared_session_reply_arena_fn = {
    ngx_http_shared_session_reply_arena_string,
    ngx_http_shared_session_reply_arena_array,
    ngx_http_shared_session_reply_arena_integer,
    ngx_http_shared_session_reply_arena_nil,
    ngx_http_shared_session_reply_arena_no_free
};


/*
 * A connection's reader: the limits below, the reply objects in the
 * server's arena (ngx_http_shared_session_reply_arena_*), hiredis's
 * layout of redisReply kept, so that handlers read them as before.
 */

ngx_int_t
ngx_http_shared_session_reply_reader_create(
    ngx_http_shared_session_reply_arena_t *arena, ngx_str_t *name)
{
    arena->reader = redisReaderCreate();
    if (arena->reader == NULL) {
        return NGX_ERROR;
    }

    arena->reader->fn = &ngx_http_shared_session_reply_arena_fn;
    arena->reader->privdata = arena;

    arena->cost = 0;
    arena->name = name;

    return NGX_OK;
}


void
ngx_http_shared_session_reply_reader_free(
    ngx_http_shared_session_reply_arena_t *arena)
{
    if (arena->reader) {
        redisReaderFree(arena->reader);
        arena->reader = NULL;
    }

    arena->cost = 0;
}


ngx_uint_t
ngx_http_shared_session_reply_too_large(
    ngx_http_shared_session_reply_arena_t *arena)
{
    redisReader  *reader;

    reader = arena->reader;

    return reader->len - reader->pos + arena->cost
           > NGX_HTTP_SHARED_SESSION_REPLY_MAX_REPLY;
}


void
ngx_http_shared_session_reply_taken(
    ngx_http_shared_session_reply_arena_t *arena)
{
    arena->cost = 0;
}


/*
 * "size" bytes, aligned, from the newest block in use, else from an empty
 * one that has room, else from a new block; under AddressSanitizer
 * followed by a poisoned redzone, the alignment's padding poisoned too.
 */

static void *
ngx_http_shared_session_reply_arena_alloc(
    ngx_http_shared_session_reply_arena_t *arena, size_t size)
{
    u_char                                 *p;
    size_t                                  n;
#ifdef NGX_HTTP_SHARED_SESSION_ASAN
    size_t                                  want = size;
#endif
    ngx_http_shared_session_reply_block_t  *b, **link;

    size = ngx_align(size, NGX_ALIGNMENT)
           + NGX_HTTP_SHARED_SESSION_REPLY_REDZONE;

    b = arena->last;

    if (b && (size_t) (b->end - b->last) >= size) {
        goto found;
    }

    for (link = &arena->spare; *link; link = &(*link)->next) {
        b = *link;

        if ((size_t) (b->end - b->last) >= size) {
            *link = b->next;
            arena->spare_size -= b->end - (u_char *) b;
            goto append;
        }
    }

    n = ngx_max(NGX_HTTP_SHARED_SESSION_REPLY_ARENA_BLOCK,
                NGX_HTTP_SHARED_SESSION_REPLY_BLOCK_HEADER + size);

    b = ngx_alloc(n, ngx_cycle->log);
    if (b == NULL) {
        return NULL;
    }

    b->last = (u_char *) b + NGX_HTTP_SHARED_SESSION_REPLY_BLOCK_HEADER;
    b->end = (u_char *) b + n;

append:

    b->next = NULL;

    if (arena->last) {
        arena->last->next = b;

    } else {
        arena->used = b;
    }

    arena->last = b;

found:

    p = b->last;
    b->last += size;

#ifdef NGX_HTTP_SHARED_SESSION_ASAN
    /*
     * only the object's own bytes are addressable (a spare block is
     * poisoned): ASan tracks the first n bytes of an 8-byte granule, so
     * the padding after a string's NUL is poisoned too
     */
    ngx_http_shared_session_poison(p, size);
    ngx_http_shared_session_unpoison(p, want);
#endif

    return p;
}


/*
 * No reply is alive but the one the reader is in the middle of, whose
 * objects are in the blocks from arena->reply_block on: the blocks before
 * it are reused.
 */

void
ngx_http_shared_session_reply_reset(
    ngx_http_shared_session_reply_arena_t *arena)
{
    ngx_http_shared_session_reply_arena_release(arena,
                    (arena->reader && arena->reader->reply) ? arena->reply_block
                                                            : NULL);
}


/*
 * The blocks in use before "keep" (NULL: all) become empty ones, up to
 * NGX_HTTP_SHARED_SESSION_REPLY_ARENA_KEEP bytes of them; the others go
 * back to the heap.
 */

static void
ngx_http_shared_session_reply_arena_release(
    ngx_http_shared_session_reply_arena_t *arena,
    ngx_http_shared_session_reply_block_t *keep)
{
    size_t                                  size, freed;
    ngx_http_shared_session_reply_block_t  *b;

    freed = 0;

    while (arena->used && arena->used != keep) {
        b = arena->used;
        arena->used = b->next;
        size = b->end - (u_char *) b;

        if (arena->spare_size + size > NGX_HTTP_SHARED_SESSION_REPLY_ARENA_KEEP)
        {
            freed += size;
            ngx_free(b);
            continue;
        }

        b->last = (u_char *) b + NGX_HTTP_SHARED_SESSION_REPLY_BLOCK_HEADER;
        ngx_http_shared_session_poison(b->last, b->end - b->last);

        b->next = arena->spare;
        arena->spare = b;
        arena->spare_size += size;
    }

    if (arena->used == NULL) {
        arena->last = NULL;
    }

    if (freed) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "shared session: redis %V: reply arena: %uz bytes "
                       "freed, %uz kept", arena->name, freed,
                       arena->spare_size);
    }
}


void
ngx_http_shared_session_reply_free(
    ngx_http_shared_session_reply_arena_t *arena)
{
    ngx_http_shared_session_reply_block_t  *b;

    arena->spare_size = 0;
    arena->last = NULL;
    arena->reply_block = NULL;

    while (arena->used) {
        b = arena->used;
        arena->used = b->next;
        ngx_free(b);
    }

    while (arena->spare) {
        b = arena->spare;
        arena->spare = b->next;
        ngx_free(b);
    }
}


/*
 * A redisReply of "type" followed by "size" bytes (a string, an array's
 * elements), set as its parent's element as hiredis does; what it costs
 * is counted against NGX_HTTP_SHARED_SESSION_REPLY_MAX_REPLY.
 */

static redisReply *
ngx_http_shared_session_reply_arena_object(const redisReadTask *task,
    int type, size_t size)
{
    ngx_http_shared_session_reply_arena_t  *arena = task->privdata;

    redisReply  *r, *parent;

    arena->cost += NGX_HTTP_SHARED_SESSION_REPLY_ELEMENT + size;

    r = ngx_http_shared_session_reply_arena_alloc(arena,
                                                  sizeof(redisReply) + size);
    if (r == NULL) {
        return NULL;
    }

    ngx_memzero(r, sizeof(redisReply));
    r->type = type;

    if (task->parent) {
        parent = task->parent->obj;
        parent->element[task->idx] = r;

    } else {
        /* the reply's first object: nothing before this block is its */
        arena->reply_block = arena->last;
    }

    return r;
}


static void *
ngx_http_shared_session_reply_arena_string(const redisReadTask *task,
    char *str, size_t len)
{
    redisReply  *r;

    r = ngx_http_shared_session_reply_arena_object(task, task->type, len + 1);
    if (r == NULL) {
        return NULL;
    }

    r->str = (char *) &r[1];
    r->len = len;

    ngx_memcpy(r->str, str, len);
    r->str[len] = '\0';

    return r;
}


/*
 * hiredis asks for an array of the size the peer declares before a single
 * element arrives: "*2000000000" would cost gigabytes.  Larger arrays
 * than NGX_HTTP_SHARED_SESSION_REPLY_MAX_ELEMENTS make the reader fail
 * (REDIS_ERR_OOM), which closes the connection.
 */

static void *
ngx_http_shared_session_reply_arena_array(const redisReadTask *task,
    int elements)
{
    size_t       size;
    redisReply  *r;

    if (elements < 0 || elements > NGX_HTTP_SHARED_SESSION_REPLY_MAX_ELEMENTS)
    {
        return NULL;
    }

    size = (size_t) elements * sizeof(redisReply *);

    r = ngx_http_shared_session_reply_arena_object(task, REDIS_REPLY_ARRAY,
                                                   size);
    if (r == NULL) {
        return NULL;
    }

    if (elements) {
        r->element = (redisReply **) &r[1];
        ngx_memzero(r->element, size);
    }

    r->elements = elements;

    return r;
}


static void *
ngx_http_shared_session_reply_arena_integer(const redisReadTask *task,
    long long value)
{
    redisReply  *r;

    r = ngx_http_shared_session_reply_arena_object(task, REDIS_REPLY_INTEGER,
                                                   0);
    if (r == NULL) {
        return NULL;
    }

    r->integer = value;

    return r;
}


static void *
ngx_http_shared_session_reply_arena_nil(const redisReadTask *task)
{
    return ngx_http_shared_session_reply_arena_object(task, REDIS_REPLY_NIL,
                                                      0);
}


/*
 * hiredis frees a reply in progress when the reader fails or is freed:
 * its objects are the arena's, which is reset when no reply is alive.
 */

static void
ngx_http_shared_session_reply_arena_no_free(void *reply)
{
}
