
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#ifndef _NGX_HTTP_SHARED_SESSION_NUM_H_INCLUDED_
#define _NGX_HTTP_SHARED_SESSION_NUM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Decimal numbers for the hot paths: a RESP header per argument, the
 * script's numeric arguments, the numbers of the JSON answer.  They do
 * what ngx_sprintf("%uL") and ("%L") do, without interpreting a format:
 * ngx_vslprintf() and ngx_sprintf_num() cost about 250 instructions a
 * number, a fifth of a reused request's instructions when a request
 * formatted some 35 of them.  "p" must have room for NGX_INT64_LEN bytes.
 */

static ngx_inline u_char *
ngx_http_shared_session_uint(u_char *p, uint64_t n)
{
    u_char  *t, tmp[NGX_INT64_LEN];

    t = tmp + NGX_INT64_LEN;

    do {
        *--t = (u_char) (n % 10 + '0');
        n /= 10;
    } while (n);

    return ngx_cpymem(p, t, tmp + NGX_INT64_LEN - t);
}


static ngx_inline u_char *
ngx_http_shared_session_int(u_char *p, int64_t n)
{
    if (n < 0) {
        *p++ = '-';
        return ngx_http_shared_session_uint(p, - (uint64_t) n);
    }

    return ngx_http_shared_session_uint(p, (uint64_t) n);
}


#endif /* _NGX_HTTP_SHARED_SESSION_NUM_H_INCLUDED_ */
