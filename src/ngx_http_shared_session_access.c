
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session.h"
#include "ngx_http_shared_session_access.h"
#include "ngx_http_shared_session_cookie.h"
#include "ngx_http_shared_session_jdk.h"
#include "ngx_http_shared_session_json.h"
#include "ngx_http_shared_session_response.h"
#include "ngx_http_shared_session_store.h"
#include "ngx_http_shared_session_variables.h"


/*
 * The access-phase lookup: require / load, per main request once.
 *
 * It runs first in the location's rewrite phase rather than among the
 * access handlers: the location's "if", "set" and "return" must see the
 * variables, and a "return" must not answer before the session was
 * required.  So a session is required before allow/deny, auth_basic and
 * auth_request are asked, whatever order the modules were loaded in; all
 * must pass, and "satisfy any" does not waive it.
 *
 * The lookup belongs to the main request: its record is the one the
 * variables read (ngx_http_shared_session_lookup(), which finds it again
 * after an internal redirect empties the module contexts).  An error_page,
 * try_files' fallback or named location runs this handler again, which
 * decides with the record.  A subrequest (an auth_request) has no access
 * phase but a rewrite phase: it waits for, or starts, the main request's
 * lookup.  Whoever waits is posted again when the store answers, and runs
 * this handler again.
 */


/* the principal's attributes come first in the names a lookup reads */
#define NGX_HTTP_SHARED_SESSION_PRINCIPAL_INDEX  0
#define NGX_HTTP_SHARED_SESSION_SECURITY_CONTEXT 1


typedef struct {
    ngx_http_shared_session_store_t     store;     /* first: loaded() casts */
    ngx_http_shared_session_lookup_t   *lookup;
} ngx_http_shared_session_access_ctx_t;


static ngx_int_t ngx_http_shared_session_access_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_shared_session_access_start(ngx_http_request_t *r,
    ngx_http_shared_session_lookup_t *lk,
    ngx_http_shared_session_loc_conf_t *sscf);
static ngx_int_t ngx_http_shared_session_access_wait(ngx_http_request_t *r,
    ngx_http_shared_session_lookup_t *lk);
static void ngx_http_shared_session_access_loaded(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc);
static void ngx_http_shared_session_access_result(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc);
static void ngx_http_shared_session_access_found(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st,
    ngx_http_shared_session_lookup_t *lk);
static ngx_int_t ngx_http_shared_session_access_text(ngx_pool_t *pool,
    ngx_str_t *in, ngx_str_t *out);
static ngx_int_t ngx_http_shared_session_access_decide(ngx_http_request_t *r,
    ngx_http_shared_session_lookup_t *lk,
    ngx_http_shared_session_loc_conf_t *sscf);
static ngx_int_t ngx_http_shared_session_access_redirect(
    ngx_http_request_t *r, ngx_http_shared_session_loc_conf_t *sscf);
static ngx_int_t ngx_http_shared_session_access_deny(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);
static ngx_int_t ngx_http_shared_session_access_names(ngx_conf_t *cf,
    ngx_http_core_main_conf_t *cmcf);
static ngx_int_t ngx_http_shared_session_access_add_name(ngx_conf_t *cf,
    ngx_array_t *names, u_char *name, size_t len);


static ngx_str_t  ngx_http_shared_session_required_body =
    ngx_string("{\"error\":\"session required\"}");

static ngx_str_t  ngx_http_shared_session_unavailable_body =
    ngx_string("{\"error\":\"session store unavailable\"}");


/* Spring's names, lowercase: the names a lookup reads are compared so */

static ngx_str_t  ngx_http_shared_session_principal_names[] = {
    ngx_string("sessionattr:org.springframework.session."
               "findbyindexnamesessionrepository.principal_name_index_name"),
    ngx_string("sessionattr:spring_security_context")
};


#define NGX_HTTP_SHARED_SESSION_ATTR_VAR  "shared_session_attr_"


ngx_int_t
ngx_http_shared_session_access_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * Handlers of a phase run in the reverse order of their registration:
     * this module's postconfiguration comes after the rewrite module's,
     * compiled in or loaded, so this runs before the location's "if".
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_shared_session_access_handler;

    return ngx_http_shared_session_access_names(cf, cmcf);
}


static ngx_int_t
ngx_http_shared_session_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_http_shared_session_lookup_t    *lk;
    ngx_http_shared_session_loc_conf_t  *sscf;

    sscf = ngx_http_get_module_loc_conf(r, ngx_http_shared_session_module);

    /* the endpoints find (or make) their session themselves */

    if ((!sscf->require && !sscf->load)
        || sscf->endpoint != NGX_HTTP_SHARED_SESSION_OFF)
    {
        return NGX_DECLINED;
    }

    lk = ngx_http_shared_session_lookup(r, 1);
    if (lk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lk->state == NGX_HTTP_SHARED_SESSION_LOOKUP_NONE) {
        rc = ngx_http_shared_session_access_start(r, lk, sscf);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (lk->state == NGX_HTTP_SHARED_SESSION_LOOKUP_PENDING) {
        return ngx_http_shared_session_access_wait(r, lk);
    }

    return ngx_http_shared_session_access_decide(r, lk, sscf);
}


/*
 * Without an id in the cookies, Redis is not asked.  The store's command
 * belongs to the main request, whose pool every subrequest shares: its
 * cleanup cancels the command when the request goes.
 */

static ngx_int_t
ngx_http_shared_session_access_start(ngx_http_request_t *r,
    ngx_http_shared_session_lookup_t *lk,
    ngx_http_shared_session_loc_conf_t *sscf)
{
    ngx_int_t                              rc;
    ngx_http_request_t                    *mr;
    ngx_http_shared_session_store_t       *st;
    ngx_http_shared_session_main_conf_t   *smcf;
    ngx_http_shared_session_access_ctx_t  *ctx;

    mr = r->main;

    ctx = ngx_pcalloc(mr->pool, sizeof(ngx_http_shared_session_access_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->lookup = lk;
    st = &ctx->store;

    if (ngx_http_shared_session_store_begin(mr, sscf, st) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (st->nids == 0) {
        lk->status = ngx_http_shared_session_cookie_sent(mr,
                                                       &sscf->cookie.name)
                     ? NGX_HTTP_SHARED_SESSION_STATUS_INVALID
                     : NGX_HTTP_SHARED_SESSION_STATUS_MISSING;
        lk->state = NGX_HTTP_SHARED_SESSION_LOOKUP_DONE;
        return NGX_OK;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_shared_session_module);

    st->touch = sscf->touch;
    st->touch_interval = sscf->touch_interval;
    st->max_inactive_interval = sscf->max_inactive_interval;

    if (smcf->names) {
        st->names = smcf->names->elts;
        st->nnames = smcf->names->nelts;
    }

    st->handler = ngx_http_shared_session_access_loaded;

    ngx_http_shared_session_lookup_begin(mr);

    rc = ngx_http_shared_session_store_load(mr, st);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        /* nothing was sent: the error is this request's answer at once */
        ngx_http_shared_session_access_result(mr, st, NGX_ERROR);
        return NGX_OK;
    }

    lk->state = NGX_HTTP_SHARED_SESSION_LOOKUP_PENDING;

    return NGX_OK;
}


/*
 * NGX_DONE stops the phases without finalizing; the request is posted
 * again by loaded().  Another event (a write event on the connection) may
 * run the phases again meanwhile: a request already waiting waits on.
 */

static ngx_int_t
ngx_http_shared_session_access_wait(ngx_http_request_t *r,
    ngx_http_shared_session_lookup_t *lk)
{
    ngx_http_shared_session_waiter_t  *w, **last;

    for (last = &lk->waiting; *last; last = &(*last)->next) {
        if ((*last)->request == r) {
            return NGX_DONE;
        }
    }

    w = ngx_palloc(r->pool, sizeof(ngx_http_shared_session_waiter_t));
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->request = r;
    w->next = NULL;
    *last = w;

    if (r == r->main) {
        /* a client that leaves ends the request, and the command with it */
        r->read_event_handler = ngx_http_test_reading;
    }

    return NGX_DONE;
}


/* the store's answer: every request that waits for it runs again */

static void
ngx_http_shared_session_access_loaded(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc)
{
    ngx_connection_t                  *c;
    ngx_http_request_t                *wr;
    ngx_http_shared_session_waiter_t  *w;
    ngx_http_shared_session_lookup_t  *lk;

    lk = ((ngx_http_shared_session_access_ctx_t *) st)->lookup;

    ngx_http_shared_session_access_result(r, st, rc);

    c = r->connection;
    w = lk->waiting;
    lk->waiting = NULL;

    for ( /* void */ ; w; w = w->next) {
        wr = w->request;

        if (wr == wr->main) {
            wr->read_event_handler = ngx_http_block_reading;
        }

        if (ngx_http_post_request(wr, NULL) != NGX_OK) {
            wr->write_event_handler(wr);
        }
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_shared_session_access_result(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc)
{
    ngx_http_shared_session_lookup_t  *lk;

    lk = ((ngx_http_shared_session_access_ctx_t *) st)->lookup;

    if (rc == NGX_OK) {
        ngx_http_shared_session_access_found(r, st, lk);

    } else {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "shared session: redis %V %V",
                      ngx_http_shared_session_conn_name(st->conn),
                      &st->error);

        lk->status = NGX_HTTP_SHARED_SESSION_STATUS_ERROR;
    }

    ngx_http_shared_session_lookup_timed(r, lk);

    lk->state = NGX_HTTP_SHARED_SESSION_LOOKUP_DONE;
}


static void
ngx_http_shared_session_access_found(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_http_shared_session_lookup_t *lk)
{
    ngx_uint_t                            i;
    ngx_http_shared_session_main_conf_t  *smcf;

    if (st->found == 0) {
        lk->status = st->bad ? NGX_HTTP_SHARED_SESSION_STATUS_INVALID
                             : NGX_HTTP_SHARED_SESSION_STATUS_EXPIRED;
        return;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_shared_session_module);

    lk->status = NGX_HTTP_SHARED_SESSION_STATUS_VALID;
    lk->id = st->ids[st->found - 1];
    lk->creation_time = st->creation_time;
    lk->last_accessed_time = st->last_accessed_time;

    if (st->nnames == 0) {
        return;
    }

    lk->values = ngx_pcalloc(r->pool, st->nnames * sizeof(ngx_str_t));
    if (lk->values == NULL) {
        return;
    }

    lk->nvalues = st->nnames;

    for (i = 0; i < st->nnames; i++) {
        if (st->values[i].data) {
            (void) ngx_http_shared_session_access_text(r->pool,
                                                       &st->values[i],
                                                       &lk->values[i]);
        }
    }

    if (!smcf->principal) {
        return;
    }

    lk->principal = lk->values[NGX_HTTP_SHARED_SESSION_PRINCIPAL_INDEX];

    if (lk->principal.len == 0
        && st->values[NGX_HTTP_SHARED_SESSION_SECURITY_CONTEXT].data
        && ngx_http_shared_session_json_principal(r->pool,
                    &st->values[NGX_HTTP_SHARED_SESSION_SECURITY_CONTEXT],
                    &lk->principal)
           != NGX_OK)
    {
        ngx_str_null(&lk->principal);
    }

    for (i = 0; i < lk->principal.len; i++) {
        if (lk->principal.data[i] < 0x20 || lk->principal.data[i] == 0x7f) {
            ngx_str_null(&lk->principal);
            break;
        }
    }
}


/*
 * A stored String as a variable's value, as either serializer writes it:
 * JSON (GenericJackson2JsonRedisSerializer) or Java serialization (Spring
 * Session's default).  A value with control characters reads as empty:
 * put in a header it could end the header.
 */

static ngx_int_t
ngx_http_shared_session_access_text(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out)
{
    size_t     i;
    u_char    *buf;
    ngx_int_t  rc;

    ngx_str_null(out);

    if (ngx_http_shared_session_jdk_is_serialized(in->data, in->len)) {
        buf = ngx_pnalloc(pool, in->len);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_shared_session_jdk_string(in->data, in->len, buf, out);

    } else {
        rc = ngx_http_shared_session_json_text(pool, in, out);
    }

    if (rc != NGX_OK) {
        ngx_str_null(out);
        return NGX_DECLINED;
    }

    for (i = 0; i < out->len; i++) {
        if (out->data[i] < 0x20 || out->data[i] == 0x7f) {
            ngx_str_null(out);
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * A session: the request goes on, to the access phase's modules.  None:
 * 401, or the redirect.  The store failed: 503, or on with the status
 * "error".  A "load" only goes on, but for a failed store.
 */

static ngx_int_t
ngx_http_shared_session_access_decide(ngx_http_request_t *r,
    ngx_http_shared_session_lookup_t *lk,
    ngx_http_shared_session_loc_conf_t *sscf)
{
    switch (lk->status) {

    case NGX_HTTP_SHARED_SESSION_STATUS_VALID:
        return NGX_DECLINED;

    case NGX_HTTP_SHARED_SESSION_STATUS_ERROR:

        if (sscf->on_error == NGX_HTTP_SHARED_SESSION_ON_ERROR_PASS) {
            return NGX_DECLINED;
        }

        return ngx_http_shared_session_access_deny(r,
                                     NGX_HTTP_SERVICE_UNAVAILABLE,
                                     &ngx_http_shared_session_unavailable_body);

    default:

        if (!sscf->require) {
            return NGX_DECLINED;
        }

        /* auth_request takes 401 and 403 from a subrequest, not 302 */

        if (sscf->require_redirect && r == r->main) {
            return ngx_http_shared_session_access_redirect(r, sscf);
        }

        return ngx_http_shared_session_access_deny(r, NGX_HTTP_UNAUTHORIZED,
                                       &ngx_http_shared_session_required_body);
    }
}


static ngx_int_t
ngx_http_shared_session_access_redirect(ngx_http_request_t *r,
    ngx_http_shared_session_loc_conf_t *sscf)
{
    ngx_str_t         uri;
    ngx_table_elt_t  *h;

    if (ngx_http_complex_value(r, sscf->require_redirect, &uri) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_shared_session_response_header(r, "Cache-Control", "no-store")
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_clear_location(r);

    h = ngx_http_shared_session_response_header(r, "Location", NULL);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value = uri;
    r->headers_out.location = h;

    return NGX_HTTP_MOVED_TEMPORARILY;
}


/*
 * The JSON answer, unless nginx is to answer: to a subrequest (its parent
 * reads the status alone) or where an error_page takes the status.
 */

static ngx_int_t
ngx_http_shared_session_access_deny(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_http_err_page_t       *err_page;
    ngx_http_core_loc_conf_t  *clcf;

    if (r != r->main) {
        return status;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->error_pages && !r->error_page) {
        err_page = clcf->error_pages->elts;

        for (i = 0; i < clcf->error_pages->nelts; i++) {
            if (err_page[i].status == (ngx_int_t) status) {
                return status;
            }
        }
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_shared_session_response_json(r, status, body);
}


/*
 * The attributes a lookup reads: the principal's two if
 * $shared_session_principal is used, and those the configuration's
 * $shared_session_attr_NAME name.  nginx has lowercased variable names by
 * now: hash fields are compared without case, as $cookie_NAME is.
 */

static ngx_int_t
ngx_http_shared_session_access_names(ngx_conf_t *cf,
    ngx_http_core_main_conf_t *cmcf)
{
    size_t                                prefix;
    ngx_str_t                            *name;
    ngx_uint_t                            i, principal;
    ngx_array_t                          *names;
    ngx_http_variable_t                  *v;
    ngx_http_shared_session_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shared_session_module);

    names = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
    if (names == NULL) {
        return NGX_ERROR;
    }

    v = cmcf->variables.elts;
    prefix = sizeof(NGX_HTTP_SHARED_SESSION_ATTR_VAR) - 1;
    principal = 0;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len == sizeof("shared_session_principal") - 1
            && ngx_strncmp(v[i].name.data, "shared_session_principal",
                           v[i].name.len)
               == 0)
        {
            principal = 1;
        }
    }

    if (principal) {
        for (i = 0; i < 2; i++) {
            name = ngx_array_push(names);
            if (name == NULL) {
                return NGX_ERROR;
            }

            *name = ngx_http_shared_session_principal_names[i];
        }
    }

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len > prefix
            && ngx_strncmp(v[i].name.data, NGX_HTTP_SHARED_SESSION_ATTR_VAR,
                           prefix)
               == 0
            && ngx_http_shared_session_access_add_name(cf, names,
                                                    v[i].name.data + prefix,
                                                    v[i].name.len - prefix)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    smcf->principal = principal;
    smcf->names = names->nelts ? names : NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_access_add_name(ngx_conf_t *cf, ngx_array_t *names,
    u_char *name, size_t len)
{
    ngx_str_t   *n;
    ngx_uint_t   i;

    n = names->elts;

    for (i = 0; i < names->nelts; i++) {
        if (n[i].len == sizeof("sessionattr:") - 1 + len
            && ngx_strncmp(n[i].data + sizeof("sessionattr:") - 1, name, len)
               == 0)
        {
            return NGX_OK;
        }
    }

    n = ngx_array_push(names);
    if (n == NULL) {
        return NGX_ERROR;
    }

    n->len = sizeof("sessionattr:") - 1 + len;
    n->data = ngx_pnalloc(cf->pool, n->len);
    if (n->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(n->data, "sessionattr:", sizeof("sessionattr:") - 1),
               name, len);

    return NGX_OK;
}
