
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session.h"
#include "ngx_http_shared_session_csrf.h"
#include "ngx_http_shared_session_id.h"
#include "ngx_http_shared_session_json.h"
#include "ngx_http_shared_session_response.h"
#include "ngx_http_shared_session_store.h"
#include "ngx_http_shared_session_variables.h"


/* the request's: ngx_http_get_module_ctx() */
typedef struct {
    ngx_str_t                         host;
    ngx_http_shared_session_store_t   store;
} ngx_http_shared_session_ctx_t;


static ngx_int_t ngx_http_shared_session_start(ngx_http_request_t *r,
    ngx_http_shared_session_store_t **stp);
static void ngx_http_shared_session_touched(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc);
static ngx_int_t ngx_http_shared_session_respond(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);
static void ngx_http_shared_session_invalidated(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc);
static ngx_int_t ngx_http_shared_session_redirect(ngx_http_request_t *r);
static ngx_int_t ngx_http_shared_session_unavailable(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st);


static ngx_str_t  ngx_http_shared_session_unavailable_body =
    ngx_string("{\"error\":\"session store unavailable\"}");


ngx_int_t
ngx_http_shared_session_handler(ngx_http_request_t *r)
{
    u_char                              *id;
    ngx_int_t                            rc;
    ngx_http_shared_session_ctx_t       *ctx;
    ngx_http_shared_session_store_t     *st;
    ngx_http_shared_session_loc_conf_t  *sscf;

    rc = ngx_http_shared_session_start(r, &st);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_shared_session_module);
    sscf = ngx_http_get_module_loc_conf(r, ngx_http_shared_session_module);

    if (sscf->host) {
        if (ngx_http_complex_value(r, sscf->host, &ctx->host) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        ctx->host = ngx_cycle->hostname;
    }

    if (ngx_http_shared_session_serialize_attribute(r->pool, &sscf->ser,
                                                    &ctx->host, st->now,
                                                    &st->value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a fresh id every time: the client's id is never adopted (fixation) */

    id = ngx_pnalloc(r->pool, NGX_HTTP_SHARED_SESSION_ID_LEN);
    if (id == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_shared_session_id_generate(id, r->connection->log)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->new_id.data = id;
    st->new_id.len = NGX_HTTP_SHARED_SESSION_ID_LEN;
    st->field = sscf->field;
    st->max_inactive_interval = sscf->max_inactive_interval;
    st->handler = ngx_http_shared_session_touched;

    ngx_http_shared_session_lookup_begin(r);
    rc = ngx_http_shared_session_store_touch(r, st);

    /*
     * Answered now, without NGX_DONE: the store cancelled whatever it had
     * already sent, so touched() is not called for this request, even if
     * it lives on (a body still to discard).
     */

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_shared_session_unavailable(r, st);
    }

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;

    return NGX_DONE;
}


ngx_int_t
ngx_http_shared_session_invalidate_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_shared_session_store_t  *st;

    rc = ngx_http_shared_session_start(r, &st);
    if (rc != NGX_OK) {
        return rc;
    }

    if (st->nids == 0) {
        ngx_http_shared_session_lookup_done(r, st, NGX_OK);
        return ngx_http_shared_session_redirect(r);
    }

    st->handler = ngx_http_shared_session_invalidated;

    ngx_http_shared_session_lookup_begin(r);
    rc = ngx_http_shared_session_store_invalidate(r, st);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_shared_session_unavailable(r, st);
    }

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;

    return NGX_DONE;
}


/* What both endpoints do first: method, body, cookies, clock, store. */

static ngx_int_t
ngx_http_shared_session_start(ngx_http_request_t *r,
    ngx_http_shared_session_store_t **stp)
{
    ngx_int_t                            rc;
    ngx_http_shared_session_ctx_t       *ctx;
    ngx_http_shared_session_store_t     *st;
    ngx_http_shared_session_loc_conf_t  *sscf;

    rc = ngx_http_shared_session_csrf_check(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    sscf = ngx_http_get_module_loc_conf(r, ngx_http_shared_session_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_shared_session_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_shared_session_module);

    st = &ctx->store;

    if (ngx_http_shared_session_store_begin(r, sscf, st) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *stp = st;

    return NGX_OK;
}


/*
 * What every request that asks Redis (the endpoints, the lookup of
 * access.c) gives its store: the ids of its session cookies, the time and
 * the location's Redis and layout.
 */

ngx_int_t
ngx_http_shared_session_store_begin(ngx_http_request_t *r,
    ngx_http_shared_session_loc_conf_t *sscf,
    ngx_http_shared_session_store_t *st)
{
    ngx_time_t  *tp;

    st->ids = ngx_palloc(r->pool,
                       NGX_HTTP_SHARED_SESSION_MAX_IDS * sizeof(ngx_str_t));
    if (st->ids == NULL) {
        return NGX_ERROR;
    }

    st->nids = ngx_http_shared_session_cookie_ids(r, &sscf->cookie, st->ids,
                                           NGX_HTTP_SHARED_SESSION_MAX_IDS);

    tp = ngx_timeofday();

    st->now = (int64_t) tp->sec * 1000 + tp->msec;
    st->ops = sscf->store;
    st->conn = &sscf->conn;
    st->timeout = sscf->redis_timeout;
    st->prefix = sscf->prefix;
    st->ser = &sscf->ser;
    st->repository = sscf->repository;
    st->expiration_store = sscf->expiration_store;
    st->database = sscf->redis_database;     /* 0 in a cluster */

    return NGX_OK;
}


static void
ngx_http_shared_session_touched(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    if (rc == NGX_OK) {
        ngx_http_shared_session_lookup_done(r, st, NGX_OK);
        rc = ngx_http_shared_session_respond(r, st);

    } else {
        rc = ngx_http_shared_session_unavailable(r, st);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_shared_session_respond(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    ngx_int_t                             rc;
    ngx_str_t                             body;
    ngx_http_shared_session_ctx_t        *ctx;
    ngx_http_shared_session_json_body_t   json;
    ngx_http_shared_session_loc_conf_t   *sscf;

    sscf = ngx_http_get_module_loc_conf(r, ngx_http_shared_session_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_shared_session_module);

    ngx_memzero(&json, sizeof(ngx_http_shared_session_json_body_t));

    if (st->found) {
        json.id = st->ids[st->found - 1];

        if (st->previous.data) {
            rc = ngx_http_shared_session_read_host(r->pool, &st->previous,
                                                   &json.previous_host);
            if (rc == NGX_ERROR) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

    } else {
        json.id = st->new_id;
        json.is_new = 1;
    }

    json.host = ctx->host;
    json.last_updated = st->now;
    json.creation_time = st->creation_time;

    if (ngx_http_shared_session_json_body(r->pool, &json, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* Spring sends the cookie when the session is not the requested one */

    if (st->found != 1) {
        if (ngx_http_shared_session_cookie_set(r, &sscf->cookie, &json.id)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_shared_session_response_json(r, NGX_HTTP_OK, &body);
}


static void
ngx_http_shared_session_invalidated(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    if (rc == NGX_OK) {
        ngx_http_shared_session_lookup_done(r, st, NGX_OK);
        rc = ngx_http_shared_session_redirect(r);

    } else {
        rc = ngx_http_shared_session_unavailable(r, st);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_shared_session_redirect(ngx_http_request_t *r)
{
    ngx_table_elt_t                     *h;
    ngx_http_shared_session_loc_conf_t  *sscf;

    sscf = ngx_http_get_module_loc_conf(r, ngx_http_shared_session_module);

    if (ngx_http_shared_session_cookie_set(r, &sscf->cookie, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_clear_location(r);

    h = ngx_http_shared_session_response_header(r, "Location", NULL);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value = sscf->invalidate_redirect;
    r->headers_out.location = h;

    return NGX_HTTP_MOVED_TEMPORARILY;
}


static ngx_int_t
ngx_http_shared_session_unavailable(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st)
{
    ngx_http_shared_session_lookup_done(r, st, NGX_ERROR);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "shared session: redis %V %V",
                  ngx_http_shared_session_conn_name(st->conn), &st->error);

    return ngx_http_shared_session_response_json(r,
                                    NGX_HTTP_SERVICE_UNAVAILABLE,
                                    &ngx_http_shared_session_unavailable_body);
}
