
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <sys/random.h>

#include "ngx_http_shared_session_id.h"


/*
 * getrandom() is a system call, and the endpoint draws a candidate id on
 * every request (the script creates the session under it if none is
 * live): one call per request was a tenth of a reused request's system
 * time.  Ids are taken from a buffer of kernel randomness, read 4096 bytes
 * (256 ids) at a time.  The buffer belongs to the process that filled it:
 * a worker never uses bytes read before its fork (by the master, or by the
 * process image it was forked from), and bytes handed out are wiped.
 */

#define NGX_HTTP_SHARED_SESSION_ID_RANDOM  16

static u_char     ngx_http_shared_session_id_pool[4096];
static size_t     ngx_http_shared_session_id_left;
static ngx_pid_t  ngx_http_shared_session_id_owner = -1;


static ngx_int_t ngx_http_shared_session_id_fill(ngx_log_t *log);


ngx_int_t
ngx_http_shared_session_id_generate(u_char *id, ngx_log_t *log)
{
    u_char      *p, *rnd;
    ngx_uint_t   i;

    static u_char  hex[] = "0123456789abcdef";

    if (ngx_http_shared_session_id_owner != ngx_pid
        || ngx_http_shared_session_id_left < NGX_HTTP_SHARED_SESSION_ID_RANDOM)
    {
        if (ngx_http_shared_session_id_fill(log) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    rnd = ngx_http_shared_session_id_pool
          + sizeof(ngx_http_shared_session_id_pool)
          - ngx_http_shared_session_id_left;

    ngx_http_shared_session_id_left -= NGX_HTTP_SHARED_SESSION_ID_RANDOM;

    rnd[6] = (rnd[6] & 0x0f) | 0x40;      /* version 4 */
    rnd[8] = (rnd[8] & 0x3f) | 0x80;      /* IETF variant */

    p = id;

    for (i = 0; i < NGX_HTTP_SHARED_SESSION_ID_RANDOM; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }

        *p++ = hex[rnd[i] >> 4];
        *p++ = hex[rnd[i] & 0x0f];
    }

    ngx_explicit_memzero(rnd, NGX_HTTP_SHARED_SESSION_ID_RANDOM);

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_id_fill(ngx_log_t *log)
{
    ssize_t  n;

    ngx_explicit_memzero(ngx_http_shared_session_id_pool,
                         sizeof(ngx_http_shared_session_id_pool));
    ngx_http_shared_session_id_left = 0;

    /*
     * GRND_NONBLOCK: the kernel pool is initialized long before nginx runs;
     * should it not be, failing the request beats blocking the worker.
     * More than 256 bytes may come back short (a signal): what came is
     * used, from the end of the buffer, where ids are taken from.
     */

    n = getrandom(ngx_http_shared_session_id_pool,
                  sizeof(ngx_http_shared_session_id_pool), GRND_NONBLOCK);

    if (n < NGX_HTTP_SHARED_SESSION_ID_RANDOM) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "shared session: getrandom() failed");
        return NGX_ERROR;
    }

    if ((size_t) n < sizeof(ngx_http_shared_session_id_pool)) {
        ngx_memmove(ngx_http_shared_session_id_pool
                    + sizeof(ngx_http_shared_session_id_pool) - n,
                    ngx_http_shared_session_id_pool, n);
        ngx_explicit_memzero(ngx_http_shared_session_id_pool,
                             sizeof(ngx_http_shared_session_id_pool) - n);
    }

    ngx_http_shared_session_id_left = n;
    ngx_http_shared_session_id_owner = ngx_pid;

    return NGX_OK;
}
