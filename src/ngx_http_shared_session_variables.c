
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session.h"
#include "ngx_http_shared_session_metrics.h"
#include "ngx_http_shared_session_status.h"
#include "ngx_http_shared_session_cookie.h"
#include "ngx_http_shared_session_variables.h"


/*
 * The record of a request's session lookup, which the access log reads
 * through variables, and the outcome counted in the zone.  It hangs on the
 * main request as the status module's context, and on its pool's cleanup
 * list too: an internal redirect (error_page) empties the contexts, not
 * the pool.
 */


static ngx_int_t ngx_http_shared_session_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_shared_session_variable_session(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_shared_session_variable_attr(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_shared_session_variables_cleanup(void *data);


#define NGX_HTTP_SHARED_SESSION_VAR_STATUS     0
#define NGX_HTTP_SHARED_SESSION_VAR_TIME       1
#define NGX_HTTP_SHARED_SESSION_VAR_NODE       2
#define NGX_HTTP_SHARED_SESSION_VAR_ID         3
#define NGX_HTTP_SHARED_SESSION_VAR_CREATED    4
#define NGX_HTTP_SHARED_SESSION_VAR_ACCESSED   5
#define NGX_HTTP_SHARED_SESSION_VAR_PRINCIPAL  6

#define NGX_HTTP_SHARED_SESSION_ATTR_VAR       "shared_session_attr_"


static ngx_http_variable_t  ngx_http_shared_session_variables[] = {

    { ngx_string("shared_session_status"), NULL,
      ngx_http_shared_session_variable, NGX_HTTP_SHARED_SESSION_VAR_STATUS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("shared_session_redis_time"), NULL,
      ngx_http_shared_session_variable, NGX_HTTP_SHARED_SESSION_VAR_TIME,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("shared_session_redis_node"), NULL,
      ngx_http_shared_session_variable, NGX_HTTP_SHARED_SESSION_VAR_NODE,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("shared_session_id"), NULL,
      ngx_http_shared_session_variable_session,
      NGX_HTTP_SHARED_SESSION_VAR_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("shared_session_creation_time"), NULL,
      ngx_http_shared_session_variable_session,
      NGX_HTTP_SHARED_SESSION_VAR_CREATED, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("shared_session_last_accessed_time"), NULL,
      ngx_http_shared_session_variable_session,
      NGX_HTTP_SHARED_SESSION_VAR_ACCESSED, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("shared_session_principal"), NULL,
      ngx_http_shared_session_variable_session,
      NGX_HTTP_SHARED_SESSION_VAR_PRINCIPAL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string(NGX_HTTP_SHARED_SESSION_ATTR_VAR), NULL,
      ngx_http_shared_session_variable_attr, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_shared_session_statuses[] = {
    ngx_null_string,
    ngx_string("valid"),
    ngx_string("new"),
    ngx_string("missing"),
    ngx_string("expired"),
    ngx_string("invalid"),
    ngx_string("error")
};


ngx_int_t
ngx_http_shared_session_variables_add(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_shared_session_variables; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


ngx_http_shared_session_lookup_t *
ngx_http_shared_session_lookup(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_pool_cleanup_t                *cln;
    ngx_http_shared_session_lookup_t  *lk;

    r = r->main;

    lk = ngx_http_get_module_ctx(r, ngx_http_shared_session_status_module);

    if (lk == NULL && (r->internal || r->filter_finalize)) {
        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_shared_session_variables_cleanup) {
                lk = cln->data;
                ngx_http_set_ctx(r, lk, ngx_http_shared_session_status_module);
                break;
            }
        }
    }

    if (lk || !create) {
        return lk;
    }

    /* the record is the cleanup's data: one allocation */

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_shared_session_lookup_t));
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_shared_session_variables_cleanup;

    lk = cln->data;
    ngx_memzero(lk, sizeof(ngx_http_shared_session_lookup_t));

    ngx_http_set_ctx(r, lk, ngx_http_shared_session_status_module);

    return lk;
}


void
ngx_http_shared_session_lookup_begin(ngx_http_request_t *r)
{
    ngx_http_shared_session_lookup_t  *lk;

    lk = ngx_http_shared_session_lookup(r, 1);

    if (lk) {
        lk->start = ngx_http_shared_session_metrics_now();
    }
}


void
ngx_http_shared_session_lookup_done(ngx_http_request_t *r,
    ngx_http_shared_session_store_t *st, ngx_int_t rc)
{
    ngx_uint_t                           endpoint, outcome, status;
    ngx_http_shared_session_lookup_t    *lk;
    ngx_http_shared_session_loc_conf_t  *sscf;

    sscf = ngx_http_get_module_loc_conf(r, ngx_http_shared_session_module);

    endpoint = (sscf->endpoint == NGX_HTTP_SHARED_SESSION_INVALIDATE)
               ? NGX_HTTP_SHARED_SESSION_EP_INVALIDATE
               : NGX_HTTP_SHARED_SESSION_EP_SESSION;

    /*
     * The scripts tell a live session from none, not why there is none:
     * an id that Redis no longer has, or has as ended, is "expired".
     */

    if (rc != NGX_OK) {
        outcome = NGX_HTTP_SHARED_SESSION_OUT_UNAVAILABLE;
        status = NGX_HTTP_SHARED_SESSION_STATUS_ERROR;

    } else if (st->found) {
        outcome = (endpoint == NGX_HTTP_SHARED_SESSION_EP_INVALIDATE)
                  ? NGX_HTTP_SHARED_SESSION_OUT_INVALIDATED
                  : NGX_HTTP_SHARED_SESSION_OUT_REUSED;
        status = NGX_HTTP_SHARED_SESSION_STATUS_VALID;

    } else if (st->nids) {
        outcome = NGX_HTTP_SHARED_SESSION_OUT_EXPIRED;
        status = NGX_HTTP_SHARED_SESSION_STATUS_EXPIRED;

    } else if (ngx_http_shared_session_cookie_sent(r, &sscf->cookie.name))
    {
        outcome = NGX_HTTP_SHARED_SESSION_OUT_INVALID;
        status = NGX_HTTP_SHARED_SESSION_STATUS_INVALID;

    } else if (endpoint == NGX_HTTP_SHARED_SESSION_EP_INVALIDATE) {
        outcome = NGX_HTTP_SHARED_SESSION_OUT_MISSING;
        status = NGX_HTTP_SHARED_SESSION_STATUS_MISSING;

    } else {
        outcome = NGX_HTTP_SHARED_SESSION_OUT_NEW;
        status = NGX_HTTP_SHARED_SESSION_STATUS_NEW;
    }

    ngx_http_shared_session_metrics_request(st->conn->peer,
                        ngx_http_shared_session_conn_name(st->conn),
                        !(st->conn->ops->flags
                          & NGX_HTTP_SHARED_SESSION_CONN_ONE_SERVER),
                        endpoint, outcome);

    lk = ngx_http_shared_session_lookup(r, 1);
    if (lk == NULL) {
        return;
    }

    lk->status = status;

    if (status == NGX_HTTP_SHARED_SESSION_STATUS_VALID
        && endpoint == NGX_HTTP_SHARED_SESSION_EP_SESSION)
    {
        lk->id = st->ids[st->found - 1];
        lk->creation_time = st->creation_time;

    } else if (status == NGX_HTTP_SHARED_SESSION_STATUS_NEW) {
        lk->id = st->new_id;
        lk->creation_time = st->creation_time;
    }

    ngx_http_shared_session_lookup_timed(r, lk);
}


void
ngx_http_shared_session_lookup_timed(ngx_http_request_t *r,
    ngx_http_shared_session_lookup_t *lk)
{
    ngx_str_t  *node;

    if (lk->start) {
        lk->time = ngx_http_shared_session_metrics_now() - lk->start;
    }

    /* the node lives as long as the worker: its name is copied anyway */

    node = ngx_http_shared_session_metrics_replying();

    if (node) {
        lk->node.data = ngx_pnalloc(r->pool, node->len);

        if (lk->node.data) {
            ngx_memcpy(lk->node.data, node->data, node->len);
            lk->node.len = node->len;
        }
    }
}


static ngx_int_t
ngx_http_shared_session_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                            *p;
    ngx_str_t                         *s;
    ngx_http_shared_session_lookup_t  *lk;

    lk = ngx_http_shared_session_lookup(r, 0);

    if (lk == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_SHARED_SESSION_VAR_STATUS:
        s = &ngx_http_shared_session_statuses[lk->status];
        break;

    case NGX_HTTP_SHARED_SESSION_VAR_TIME:

        if (lk->start == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        /* milliseconds, microsecond precision: 0.245 is 245 us */

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 4);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->len = ngx_sprintf(p, "%uL.%03uL", lk->time / 1000, lk->time % 1000)
                 - p;
        v->data = p;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;

        return NGX_OK;

    default: /* NGX_HTTP_SHARED_SESSION_VAR_NODE */
        s = &lk->node;
        break;
    }

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->data = s->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * The session's: an endpoint's (id, creationTime) or a lookup's; empty
 * where there is none.  lastAccessedTime is a lookup's, as stored before
 * the request touched it.
 */

static ngx_int_t
ngx_http_shared_session_variable_session(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                            *p;
    int64_t                            ms;
    ngx_str_t                          s;
    ngx_http_shared_session_lookup_t  *lk;

    lk = ngx_http_shared_session_lookup(r, 0);

    v->not_found = 1;

    if (lk == NULL || lk->id.len == 0) {
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_SHARED_SESSION_VAR_ID:
        s = lk->id;
        break;

    case NGX_HTTP_SHARED_SESSION_VAR_PRINCIPAL:
        s = lk->principal;
        break;

    default: /* the times, in ms */

        if (data == NGX_HTTP_SHARED_SESSION_VAR_ACCESSED
            && lk->state != NGX_HTTP_SHARED_SESSION_LOOKUP_DONE)
        {
            return NGX_OK;
        }

        ms = (data == NGX_HTTP_SHARED_SESSION_VAR_CREATED)
             ? lk->creation_time : lk->last_accessed_time;

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        s.data = p;
        s.len = ngx_sprintf(p, "%L", ms) - p;
        break;
    }

    if (s.len) {
        v->len = s.len;
        v->data = s.data;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
    }

    return NGX_OK;
}


/*
 * data: the variable's name, "shared_session_attr_<name>"; the lookup
 * read the attributes of smcf->names (see ..._access.c), the principal's
 * two first.
 */

static ngx_int_t
ngx_http_shared_session_variable_attr(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *var = (ngx_str_t *) data;

    size_t                                prefix, skip;
    ngx_str_t                            *names, *s;
    ngx_uint_t                            i;
    ngx_http_shared_session_lookup_t     *lk;
    ngx_http_shared_session_main_conf_t  *smcf;

    lk = ngx_http_shared_session_lookup(r, 0);
    smcf = ngx_http_get_module_main_conf(r, ngx_http_shared_session_module);

    v->not_found = 1;

    if (lk == NULL || lk->values == NULL || smcf->names == NULL) {
        return NGX_OK;
    }

    prefix = sizeof(NGX_HTTP_SHARED_SESSION_ATTR_VAR) - 1;
    skip = sizeof("sessionattr:") - 1;
    names = smcf->names->elts;

    for (i = smcf->principal ? 2 : 0; i < lk->nvalues; i++) {
        if (names[i].len - skip == var->len - prefix
            && ngx_strncasecmp(names[i].data + skip, var->data + prefix,
                               var->len - prefix)
               == 0)
        {
            s = &lk->values[i];

            if (s->len) {
                v->len = s->len;
                v->data = s->data;
                v->valid = 1;
                v->no_cacheable = 1;
                v->not_found = 0;
            }

            break;
        }
    }

    return NGX_OK;
}



static void
ngx_http_shared_session_variables_cleanup(void *data)
{
    /* only a marker: see ngx_http_shared_session_lookup() */
}
