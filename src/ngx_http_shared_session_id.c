
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <sys/random.h>

#include "ngx_http_shared_session_id.h"


ngx_int_t
ngx_http_shared_session_id_generate(u_char *id, ngx_log_t *log)
{
    u_char      *p;
    ssize_t      n;
    ngx_uint_t   i;
    u_char       rnd[16];

    static u_char  hex[] = "0123456789abcdef";

    /*
     * GRND_NONBLOCK: the kernel pool is initialized long before nginx runs;
     * should it not be, failing the request beats blocking the worker
     */

    n = getrandom(rnd, sizeof(rnd), GRND_NONBLOCK);

    if (n != (ssize_t) sizeof(rnd)) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "shared session: getrandom() failed");
        return NGX_ERROR;
    }

    rnd[6] = (rnd[6] & 0x0f) | 0x40;      /* version 4 */
    rnd[8] = (rnd[8] & 0x3f) | 0x80;      /* IETF variant */

    p = id;

    for (i = 0; i < sizeof(rnd); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }

        *p++ = hex[rnd[i] >> 4];
        *p++ = hex[rnd[i] & 0x0f];
    }

    return NGX_OK;
}
