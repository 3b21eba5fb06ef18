
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * Which requests may use an endpoint.  A SameSite=Lax cookie rides on
 * another site's links (top-level GET navigations), so an invalidation by
 * GET ends the session of anyone who follows such a link; POST and a check
 * of where the request comes from keep other sites out.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session.h"
#include "ngx_http_shared_session_csrf.h"
#include "ngx_http_shared_session_response.h"


static ngx_int_t ngx_http_shared_session_csrf_method(ngx_http_request_t *r,
    ngx_uint_t methods, ngx_uint_t log);
static ngx_int_t ngx_http_shared_session_csrf_site(ngx_http_request_t *r);
static ngx_int_t ngx_http_shared_session_csrf_origin(ngx_str_t *origin,
    ngx_str_t *host);
static ngx_table_elt_t *ngx_http_shared_session_csrf_header(
    ngx_http_request_t *r, ngx_str_t *lowcase);


ngx_int_t
ngx_http_shared_session_csrf_check(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_http_shared_session_loc_conf_t  *sscf;

    sscf = ngx_http_get_module_loc_conf(r, ngx_http_shared_session_module);

    if (sscf->endpoint != NGX_HTTP_SHARED_SESSION_INVALIDATE) {
        return ngx_http_shared_session_csrf_method(r,
                                          NGX_HTTP_GET|NGX_HTTP_HEAD, 0);
    }

    rc = ngx_http_shared_session_csrf_method(r, sscf->invalidate_methods, 1);

    if (rc != NGX_OK || !sscf->invalidate_check_origin) {
        return rc;
    }

    return ngx_http_shared_session_csrf_site(r);
}


static ngx_int_t
ngx_http_shared_session_csrf_method(ngx_http_request_t *r,
    ngx_uint_t methods, ngx_uint_t log)
{
    ngx_table_elt_t  *h;

    if (r->method & methods) {
        return NGX_OK;
    }

    if (log) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "shared session: invalidation refused: "
                      "method \"%V\" not allowed", &r->method_name);
    }

    h = ngx_http_shared_session_response_header(r, "Allow", NULL);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if ((methods & (NGX_HTTP_GET|NGX_HTTP_POST))
        == (NGX_HTTP_GET|NGX_HTTP_POST))
    {
        ngx_str_set(&h->value, "GET, HEAD, POST");

    } else if (methods & NGX_HTTP_POST) {
        ngx_str_set(&h->value, "POST");

    } else {
        ngx_str_set(&h->value, "GET, HEAD");
    }

    return NGX_HTTP_NOT_ALLOWED;
}


/*
 * Sec-Fetch-Site, which browsers set and pages cannot, says it best;
 * without it, Origin, which every browser sends with a POST.  A request
 * with neither comes from no browser's form or script (curl), or is an
 * older browser's GET: the README says what that leaves open.
 */

static ngx_int_t
ngx_http_shared_session_csrf_site(ngx_http_request_t *r)
{
    ngx_str_t         host;
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    static ngx_str_t  site = ngx_string("sec-fetch-site");
    static ngx_str_t  origin = ngx_string("origin");
    static ngx_str_t  ours[] = {
        ngx_string("same-origin"), ngx_string("same-site"), ngx_string("none")
    };

    h = ngx_http_shared_session_csrf_header(r, &site);

    if (h) {
        for (i = 0; i < sizeof(ours) / sizeof(ngx_str_t); i++) {
            if (h->value.len == ours[i].len
                && ngx_strncmp(h->value.data, ours[i].data, ours[i].len) == 0)
            {
                return NGX_OK;
            }
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "shared session: invalidation refused: a cross-site "
                      "request (Sec-Fetch-Site: \"%V\")", &h->value);

        return NGX_HTTP_FORBIDDEN;
    }

    h = ngx_http_shared_session_csrf_header(r, &origin);

    if (h == NULL) {
        return NGX_OK;
    }

    if (r->headers_in.host) {
        host = r->headers_in.host->value;

    } else {
        ngx_str_null(&host);
    }

    if (ngx_http_shared_session_csrf_origin(&h->value, &host) == NGX_OK) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "shared session: invalidation refused: Origin \"%V\" "
                  "is not Host \"%V\"", &h->value, &host);

    return NGX_HTTP_FORBIDDEN;
}


/*
 * A browser writes Origin as "scheme://host[:port]"; its host and port
 * must be the Host header's.  The scheme is not compared with this
 * connection's: behind a load balancer that ends TLS, nginx sees http where
 * the browser has https.  The default port of Origin's scheme may be
 * written or left out on either side.
 */

static ngx_int_t
ngx_http_shared_session_csrf_origin(ngx_str_t *origin, ngx_str_t *host)
{
    ngx_str_t   a, b, port;
    ngx_uint_t  skip;

    if (origin->len > sizeof("http://") - 1
        && ngx_strncasecmp(origin->data, (u_char *) "http://",
                           sizeof("http://") - 1)
           == 0)
    {
        skip = sizeof("http://") - 1;
        ngx_str_set(&port, ":80");

    } else if (origin->len > sizeof("https://") - 1
               && ngx_strncasecmp(origin->data, (u_char *) "https://",
                                  sizeof("https://") - 1)
                  == 0)
    {
        skip = sizeof("https://") - 1;
        ngx_str_set(&port, ":443");

    } else {
        return NGX_DECLINED;
    }

    a.data = origin->data + skip;
    a.len = origin->len - skip;
    b = *host;

    if (a.len > port.len
        && ngx_strncmp(a.data + a.len - port.len, port.data, port.len) == 0)
    {
        a.len -= port.len;
    }

    if (b.len > port.len
        && ngx_strncmp(b.data + b.len - port.len, port.data, port.len) == 0)
    {
        b.len -= port.len;
    }

    if (a.len == 0 || a.len != b.len
        || ngx_strncasecmp(a.data, b.data, a.len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the first request header of that name: a browser sends one */

static ngx_table_elt_t *
ngx_http_shared_session_csrf_header(ngx_http_request_t *r,
    ngx_str_t *lowcase)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == lowcase->len
            && ngx_strncmp(h[i].lowcase_key, lowcase->data, lowcase->len)
               == 0)
        {
            return &h[i];
        }
    }
}
