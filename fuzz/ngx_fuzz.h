
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * What every fuzz target needs of nginx outside a running worker: the page
 * size, the cached time, a log that formats every message (so that a bad
 * format argument is caught) but writes nothing, and a fresh pool per
 * input.  nginx is built with NGX_DEBUG_PALLOC, so that each pool
 * allocation is a malloc() of its own and AddressSanitizer checks its
 * bounds; destroying the pool frees it all.
 */


#ifndef _NGX_FUZZ_H_INCLUDED_
#define _NGX_FUZZ_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <stdio.h>
#include <stdlib.h>


extern ngx_uint_t  ngx_use_stderr;


static ngx_log_t        ngx_fuzz_log;
static ngx_open_file_t  ngx_fuzz_log_file;


/*
 * Drops the line: formatting it (ngx_vslprintf(), instrumented) is what
 * reads the arguments, e.g. the bytes of a "%*s".  An alert or worse is a
 * bug whatever the input (e.g. cJSON blocks outliving their pool): the
 * line goes to stderr and the target aborts, so that libFuzzer keeps the
 * input.
 */

static void
ngx_fuzz_log_writer(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    if (level > NGX_LOG_ALERT) {
        return;
    }

    fprintf(stderr, "%.*s\n", (int) len, buf);
    abort();
}


static void
ngx_fuzz_init(void)
{
    ngx_uint_t  n;

    if (ngx_pagesize) {
        return;
    }

    ngx_pagesize = getpagesize();
    ngx_cacheline_size = NGX_CPU_CACHE_LINE;

    for (n = ngx_pagesize; n >>= 1; ngx_pagesize_shift++) { /* void */ }

    ngx_time_init();

    /* the writer drops everything; nothing goes to stderr either */
    ngx_use_stderr = 0;

    ngx_fuzz_log_file.fd = NGX_INVALID_FILE;
    ngx_fuzz_log.file = &ngx_fuzz_log_file;
    /* every level and debug kind but the allocator's, a line per malloc */
    ngx_fuzz_log.log_level = NGX_LOG_DEBUG
                             | (NGX_LOG_DEBUG_ALL & ~NGX_LOG_DEBUG_ALLOC);
    ngx_fuzz_log.writer = ngx_fuzz_log_writer;
}


static ngx_pool_t *
ngx_fuzz_pool(void)
{
    ngx_pool_t  *pool;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, &ngx_fuzz_log);
    if (pool == NULL) {
        abort();
    }

    return pool;
}


#define ngx_fuzz_check(expr)                                                  \
    if (!(expr)) {                                                            \
        fprintf(stderr, "%s:%d: invariant failed: %s\n",                      \
                __FILE__, __LINE__, #expr);                                   \
        abort();                                                              \
    }


/*
 * Strict RFC 3629 UTF-8: shortest form, no surrogates, at most U+10FFFF.
 * Returns the length of the sequence at p, or 0 if it is not valid.
 */

static size_t
ngx_fuzz_utf8_len(const u_char *p, size_t n)
{
    size_t    len, i;
    uint32_t  u, min;

    if (p[0] < 0x80) {
        return 1;
    }

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2; u = p[0] & 0x1f; min = 0x80;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3; u = p[0] & 0x0f; min = 0x800;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4; u = p[0] & 0x07; min = 0x10000;

    } else {
        return 0;
    }

    if (n < len) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        u = (u << 6) | (p[i] & 0x3f);
    }

    if (u < min || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
        return 0;
    }

    return len;
}


static ngx_uint_t
ngx_fuzz_utf8_valid(const u_char *p, size_t n)
{
    size_t  len;

    while (n) {
        len = ngx_fuzz_utf8_len(p, n);
        if (len == 0) {
            return 0;
        }

        p += len;
        n -= len;
    }

    return 1;
}


#endif /* _NGX_FUZZ_H_INCLUDED_ */
