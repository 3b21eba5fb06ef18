
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>
#include <cjson/cJSON.h>

#include "ngx_http_shared_session.h"
#include "ngx_http_shared_session_metrics.h"
#include "ngx_http_shared_session_status.h"
#include "ngx_http_shared_session_response.h"


/*
 * The status page: what the zone holds, as JSON (the default) or as the
 * Prometheus text format 0.0.4, and the readiness check ?check=ready.
 * Nothing here talks to Redis, except the readiness check of a worker that
 * finds a Redis not ready: it tries to reconnect, so that an instance a
 * load balancer took out of service (and so sends no requests) becomes
 * ready again by itself.
 */


#define NGX_HTTP_SHARED_SESSION_STATUS_JSON        0
#define NGX_HTTP_SHARED_SESSION_STATUS_PROMETHEUS  1

/* a line's fixed part; names are added to it */
#define NGX_HTTP_SHARED_SESSION_STATUS_LINE        256

/* a worker tries to reconnect for the readiness check at most this often */
#define NGX_HTTP_SHARED_SESSION_STATUS_PROBE       1000


typedef struct {
    size_t                                    zone_size;
    ngx_uint_t                                status;   /* a location has it */
    ngx_shm_zone_t                           *zone;
} ngx_http_shared_session_status_main_conf_t;


typedef struct {
    ngx_http_request_t                       *request;
    ngx_chain_t                              *first;
    ngx_chain_t                             **last;
    ngx_buf_t                                *buf;
    off_t                                     len;
    ngx_uint_t                                failed;
    ngx_uint_t                                json;     /* escaping */
} ngx_http_shared_session_status_out_t;


/* the zone's entries with their names escaped for the output's format */
typedef struct {
    ngx_http_shared_session_metrics_redis_t  *redis;
    ngx_str_t                                 name;
    ngx_int_t                                 ready;    /* -1: not ours */
} ngx_http_shared_session_status_redis_t;

typedef struct {
    ngx_http_shared_session_metrics_node_t   *node;
    ngx_str_t                                 name;
    ngx_str_t                                *redis;   /* escaped */
} ngx_http_shared_session_status_node_t;

typedef struct {
    ngx_http_shared_session_metrics_shm_t    *sh;
    ngx_array_t                               redis;
    ngx_array_t                               nodes;
    ngx_uint_t                                ready;    /* all of ours */
} ngx_http_shared_session_status_view_t;


typedef struct {
    const char                               *prometheus;
    const char                               *json;
    const char                               *help;
} ngx_http_shared_session_status_counter_t;


static char *ngx_http_shared_session_status(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_shared_session_status_zone(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_shared_session_status_postconfiguration(
    ngx_conf_t *cf);
static void *ngx_http_shared_session_status_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_shared_session_status_init_module(
    ngx_cycle_t *cycle);
static ngx_int_t ngx_http_shared_session_status_init_process(
    ngx_cycle_t *cycle);
static void ngx_http_shared_session_status_exit_process(ngx_cycle_t *cycle);

static ngx_int_t ngx_http_shared_session_status_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_shared_session_status_format(ngx_http_request_t *r,
    ngx_uint_t *format);
static ngx_int_t ngx_http_shared_session_status_view(ngx_http_request_t *r,
    ngx_http_shared_session_status_view_t *view, ngx_uint_t json);
static ngx_int_t ngx_http_shared_session_status_ready(ngx_http_request_t *r);
static void ngx_http_shared_session_status_probe(void);
static void ngx_http_shared_session_status_pong(void *data,
    redisReply *reply, ngx_str_t *error);
static void ngx_http_shared_session_status_json(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_view_t *view);
static void ngx_http_shared_session_status_json_node(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_node_t *sn);
static void ngx_http_shared_session_status_prometheus(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_view_t *view);
static void ngx_http_shared_session_status_prometheus_nodes(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_view_t *view);
static void ngx_http_shared_session_status_histogram(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_view_t *view);
static void ngx_http_shared_session_status_family(
    ngx_http_shared_session_status_out_t *o, const char *name,
    const char *type, const char *help);
static void ngx_http_shared_session_status_print(
    ngx_http_shared_session_status_out_t *o, size_t max, const char *fmt,
    ...);
static ngx_int_t ngx_http_shared_session_status_escape(ngx_pool_t *pool,
    ngx_str_t *src, ngx_str_t *dst, ngx_uint_t json);
static ngx_int_t ngx_http_shared_session_status_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *type,
    ngx_http_shared_session_status_out_t *o);


static ngx_command_t  ngx_http_shared_session_status_commands[] = {

    { ngx_string("shared_session_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_shared_session_status,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("shared_session_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_status_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shared_session_status_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_shared_session_status_postconfiguration, /* postconfiguration */

    ngx_http_shared_session_status_create_main_conf, /* create main conf */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_shared_session_status_module = {
    NGX_MODULE_V1,
    &ngx_http_shared_session_status_module_ctx, /* module context */
    ngx_http_shared_session_status_commands, /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_shared_session_status_init_module, /* init module */
    ngx_http_shared_session_status_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_shared_session_status_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static const char  *ngx_http_shared_session_status_states[] = {
    "unknown", "up", "connecting", "backing_off", "down"
};

static const char  *ngx_http_shared_session_status_endpoints[] = {
    "shared_session", "invalidate", "require", "load"
};

static const char  *ngx_http_shared_session_status_outcomes[] = {
    "reused", "new", "expired", "invalid", "invalidated", "missing",
    "unavailable"
};

/*
 * The outcomes of each endpoint in the order they are listed; those it
 * can have are listed even at zero, the others only once counted.
 */

#define ngx_http_shared_session_status_out(o)  NGX_HTTP_SHARED_SESSION_OUT_ ## o

static const ngx_uint_t  ngx_http_shared_session_status_order[]
                                             [NGX_HTTP_SHARED_SESSION_OUT_N] = {
    { ngx_http_shared_session_status_out(REUSED),
      ngx_http_shared_session_status_out(NEW),
      ngx_http_shared_session_status_out(EXPIRED),
      ngx_http_shared_session_status_out(INVALID),
      ngx_http_shared_session_status_out(UNAVAILABLE),
      ngx_http_shared_session_status_out(INVALIDATED),
      ngx_http_shared_session_status_out(MISSING) },

    { ngx_http_shared_session_status_out(INVALIDATED),
      ngx_http_shared_session_status_out(MISSING),
      ngx_http_shared_session_status_out(EXPIRED),
      ngx_http_shared_session_status_out(INVALID),
      ngx_http_shared_session_status_out(UNAVAILABLE),
      ngx_http_shared_session_status_out(REUSED),
      ngx_http_shared_session_status_out(NEW) }
};

/* how many of them each endpoint lists even at zero (require, load: 0) */
static const ngx_uint_t  ngx_http_shared_session_status_listed[] = {
    5, 5, 0, 0
};

/* the histogram's upper bounds as Prometheus and the JSON print them */
static const char  *ngx_http_shared_session_status_le[] = {
    "0.0005", "0.001", "0.002", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "0.5", "1", "+Inf"
};

static const char  *ngx_http_shared_session_status_le_ms[] = {
    "0.5", "1", "2", "5", "10", "25", "50", "100", "250", "500", "1000",
    "+Inf"
};

/* in the order of NGX_HTTP_SHARED_SESSION_NODE_* */
static ngx_http_shared_session_status_counter_t
    ngx_http_shared_session_status_counters[] = {

    { "connects_total", "connects",
      "Connections established (TCP, and TLS when used)." },
    { "reconnects_total", "reconnects",
      "Connections established by a worker that had been connected to the "
      "node before." },
    { "connect_timeouts_total", "connect_timeouts",
      "Connection attempts that timed out (name resolution, TCP connect or "
      "TLS handshake)." },
    { "read_timeouts_total", "read_timeouts",
      "Commands that got no reply in time." },
    { "protocol_errors_total", "protocol_errors",
      "Connections closed for a reply that was not RESP, not expected or "
      "too large." },
    { "auth_failures_total", "auth_failures",
      "AUTH commands the node refused." },
    { "tls_failures_total", "tls_failures",
      "TLS handshakes that failed, and certificates not verified or not "
      "matching." },
    { "moved_total", "moved", "MOVED redirections received." },
    { "ask_total", "ask", "ASK redirections received." },
    { "slot_map_refreshes_total", "slot_map_refreshes",
      "Slot maps (CLUSTER SLOTS) received from the node and applied." },
    { "noscript_total", "noscript",
      "NOSCRIPT replies (the script is then sent with EVAL)." },
    { "commands_total", "commands", "Commands sent." },
    { "replies_total", "replies", "Replies received." },
    { "received_bytes_total", "bytes_received",
      "Bytes read from the node." },
    { "sent_bytes_total", "bytes_sent", "Bytes written to the node." }
};


static char *
ngx_http_shared_session_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_shared_session_status_main_conf_t *ssmcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_shared_session_status_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_shared_session_status_handler;
    ssmcf->status = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_shared_session_status_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_shared_session_status_main_conf_t *ssmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (ssmcf->zone_size != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone size \"%V\" is too small: at least %uz",
                           &value[1], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    ssmcf->zone_size = size;

    return NGX_CONF_OK;
}


/*
 * The zone exists whenever the module is used: a location with a session
 * endpoint (they all added a Redis when merged), a status page, or the
 * zone's directive.
 */

static ngx_int_t
ngx_http_shared_session_status_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_shared_session_main_conf_t         *smcf;
    ngx_http_shared_session_status_main_conf_t  *ssmcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shared_session_module);
    ssmcf = ngx_http_conf_get_module_main_conf(cf,
                                       ngx_http_shared_session_status_module);

    if (smcf->servers.nelts == 0 && !ssmcf->status
        && ssmcf->zone_size == NGX_CONF_UNSET_SIZE)
    {
        return NGX_OK;
    }

    ngx_http_shared_session_metrics_namer(ngx_http_shared_session_redis_name);

    ssmcf->zone = ngx_http_shared_session_metrics_zone(cf,
                               ssmcf->zone_size == NGX_CONF_UNSET_SIZE
                               ? 0 : ssmcf->zone_size);

    return ssmcf->zone ? NGX_OK : NGX_ERROR;
}


static void *
ngx_http_shared_session_status_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_shared_session_status_main_conf_t  *ssmcf;

    ssmcf = ngx_pcalloc(cf->pool,
                        sizeof(ngx_http_shared_session_status_main_conf_t));
    if (ssmcf == NULL) {
        return NULL;
    }

    ssmcf->zone_size = NGX_CONF_UNSET_SIZE;

    return ssmcf;
}


/* the cycle is complete: its zone (or none) is the one to count in */

static ngx_int_t
ngx_http_shared_session_status_init_module(ngx_cycle_t *cycle)
{
    ngx_http_shared_session_status_main_conf_t  *ssmcf;

    ssmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                       ngx_http_shared_session_status_module);

    ngx_http_shared_session_metrics_use(ssmcf ? ssmcf->zone : NULL);

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_status_init_process(ngx_cycle_t *cycle)
{
    ngx_http_shared_session_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_shared_session_module);
    if (smcf == NULL) {
        return NGX_OK;
    }

    ngx_http_shared_session_metrics_init_worker(&smcf->servers);

    return NGX_OK;
}


/* after the session module's exit, which closed the connections */

static void
ngx_http_shared_session_status_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_shared_session_metrics_exit_worker();
}


static ngx_int_t
ngx_http_shared_session_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                               rc;
    ngx_str_t                               check;
    ngx_uint_t                              format;
    ngx_table_elt_t                        *h;
    ngx_http_shared_session_status_out_t    o;
    ngx_http_shared_session_status_view_t   view;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        h = ngx_http_shared_session_response_header(r, "Allow",
                                                    "GET, HEAD");
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_arg(r, (u_char *) "check", 5, &check) == NGX_OK) {

        if (check.len == 5 && ngx_strncmp(check.data, "ready", 5) == 0) {
            return ngx_http_shared_session_status_ready(r);
        }

        return NGX_HTTP_BAD_REQUEST;
    }

    if (ngx_http_shared_session_status_format(r, &format) != NGX_OK) {
        return NGX_HTTP_BAD_REQUEST;
    }

    ngx_memzero(&o, sizeof(ngx_http_shared_session_status_out_t));
    o.request = r;
    o.last = &o.first;
    o.json = (format == NGX_HTTP_SHARED_SESSION_STATUS_JSON);

    if (ngx_http_shared_session_status_view(r, &view, o.json) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (o.json) {
        ngx_http_shared_session_status_json(&o, &view);

        return ngx_http_shared_session_status_send(r, NGX_HTTP_OK,
                                                   "application/json", &o);
    }

    ngx_http_shared_session_status_prometheus(&o, &view);

    return ngx_http_shared_session_status_send(r, NGX_HTTP_OK,
                              "text/plain; version=0.0.4; charset=utf-8", &o);
}


/* ?format=json|prometheus, else Prometheus for an Accept of text/plain */

static ngx_int_t
ngx_http_shared_session_status_format(ngx_http_request_t *r,
    ngx_uint_t *format)
{
    ngx_str_t         arg;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    *format = NGX_HTTP_SHARED_SESSION_STATUS_JSON;

    if (ngx_http_arg(r, (u_char *) "format", 6, &arg) == NGX_OK) {

        if (arg.len == 10 && ngx_strncmp(arg.data, "prometheus", 10) == 0) {
            *format = NGX_HTTP_SHARED_SESSION_STATUS_PROMETHEUS;
            return NGX_OK;
        }

        if (arg.len == 4 && ngx_strncmp(arg.data, "json", 4) == 0) {
            return NGX_OK;
        }

        return NGX_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 6
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept", 6) == 0
            && ngx_strlcasestrn(h[i].value.data,
                                h[i].value.data + h[i].value.len,
                                (u_char *) "text/plain", 10 - 1)
               != NULL)
        {
            *format = NGX_HTTP_SHARED_SESSION_STATUS_PROMETHEUS;
            break;
        }
    }

    return NGX_OK;
}


/*
 * Collects the zone's entries once, their names escaped, and which Redis
 * this configuration uses (only those make the instance ready or not).
 */

static ngx_int_t
ngx_http_shared_session_status_view(ngx_http_request_t *r,
    ngx_http_shared_session_status_view_t *view, ngx_uint_t json)
{
    ngx_uint_t                                 i, j, n;
    ngx_http_shared_session_metrics_node_t    *node;
    ngx_http_shared_session_metrics_redis_t   *redis, **conf;
    ngx_http_shared_session_status_node_t     *sn;
    ngx_http_shared_session_status_redis_t    *sr;

    ngx_memzero(view, sizeof(ngx_http_shared_session_status_view_t));

    view->sh = ngx_http_shared_session_metrics_shm();

    if (ngx_array_init(&view->redis, r->pool, 4,
                       sizeof(ngx_http_shared_session_status_redis_t))
        != NGX_OK
        || ngx_array_init(&view->nodes, r->pool, 8,
                          sizeof(ngx_http_shared_session_status_node_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    conf = ngx_http_shared_session_metrics_configured(&n);
    view->ready = 1;

    if (view->sh == NULL) {
        return NGX_OK;
    }

    for (redis = view->sh->redis; redis; redis = redis->next) {
        sr = ngx_array_push(&view->redis);
        if (sr == NULL) {
            return NGX_ERROR;
        }

        sr->redis = redis;
        sr->ready = -1;

        for (i = 0; i < n; i++) {
            if (conf[i] == redis) {
                sr->ready = ngx_http_shared_session_metrics_ready(redis);

                if (!sr->ready) {
                    view->ready = 0;
                }

                break;
            }
        }

        if (ngx_http_shared_session_status_escape(r->pool, &redis->name,
                                                  &sr->name, json)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (node = view->sh->nodes; node; node = node->next) {
        sn = ngx_array_push(&view->nodes);
        if (sn == NULL) {
            return NGX_ERROR;
        }

        sn->node = node;
        sn->redis = NULL;

        sr = view->redis.elts;

        for (j = 0; j < view->redis.nelts; j++) {
            if (sr[j].redis == node->redis) {
                sn->redis = &sr[j].name;
                break;
            }
        }

        if (sn->redis == NULL) {
            /* linked after the walk above began: shown next time */
            view->nodes.nelts--;
            continue;
        }

        if (ngx_http_shared_session_status_escape(r->pool, &node->name,
                                                  &sn->name, json)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * 200 when every Redis of this configuration is ready as the zone knows
 * it, 503 otherwise (with the ones that are not).  No command is sent to
 * answer; see ngx_http_shared_session_status_probe() for what the check
 * starts for the next one.
 */

static ngx_int_t
ngx_http_shared_session_status_ready(ngx_http_request_t *r)
{
    ngx_str_t                                 name;
    ngx_uint_t                                i, n, first;
    ngx_http_shared_session_metrics_redis_t **conf;
    ngx_http_shared_session_status_out_t      o;

    ngx_http_shared_session_status_probe();

    ngx_memzero(&o, sizeof(ngx_http_shared_session_status_out_t));
    o.request = r;
    o.last = &o.first;
    o.json = 1;

    conf = ngx_http_shared_session_metrics_configured(&n);
    first = 1;

    for (i = 0; i < n; i++) {
        if (ngx_http_shared_session_metrics_ready(conf[i])) {
            continue;
        }

        if (ngx_http_shared_session_status_escape(r->pool, &conf[i]->name,
                                                  &name, 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_shared_session_status_print(&o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE + name.len,
                              "%s\"%V\"",
                              first ? "{\"ready\":false,\"not_ready\":[" : ",",
                              &name);
        first = 0;
    }

    if (first) {
        ngx_http_shared_session_status_print(&o,
                                            NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                                            "{\"ready\":true}\n");

        return ngx_http_shared_session_status_send(r, NGX_HTTP_OK,
                                                   "application/json", &o);
    }

    ngx_http_shared_session_status_print(&o,
                                         NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                                         "]}\n");

    return ngx_http_shared_session_status_send(r,
                                              NGX_HTTP_SERVICE_UNAVAILABLE,
                                              "application/json", &o);
}


/*
 * Without requests nothing would reconnect: an instance that a load
 * balancer took out of service would stay out.  So a check, at most once
 * a second per worker, has its worker try again what is not up: a PING to
 * each such node that matters (a standalone server, a primary of the
 * newest slot map, any node of a cluster without one) and a slot map
 * refresh of a cluster that is not ready.  While all is up, nothing is
 * sent; a connection lost but not yet tried again still counts as ready,
 * until this attempt says otherwise.
 */

static void
ngx_http_shared_session_status_probe(void)
{
    size_t                                    len;
    ngx_str_t                                 err;
    ngx_uint_t                                i, n, refresh;
    const char                               *argv;
    ngx_http_shared_session_metrics_node_t   *node;
    ngx_http_shared_session_metrics_local_t **locals, *l;
    ngx_http_shared_session_main_conf_t      *smcf;

    static ngx_uint_t                         probed;
    static ngx_msec_t                         probed_at;

    if (probed
        && ngx_current_msec - probed_at < NGX_HTTP_SHARED_SESSION_STATUS_PROBE)
    {
        return;
    }

    probed = 1;
    probed_at = ngx_current_msec;

    locals = ngx_http_shared_session_metrics_locals(&n);
    refresh = 0;

    argv = "PING";
    len = sizeof("PING") - 1;

    for (i = 0; i < n; i++) {
        l = locals[i];
        node = l->node;

        if (l->key == NULL || l->rs == NULL || node == NULL) {
            continue;
        }

        if (l->redis->cluster) {
            if (!ngx_http_shared_session_metrics_ready(l->redis)) {
                refresh = 1;
            }

            if (l->redis->map_done
                && !ngx_http_shared_session_metrics_primary(node))
            {
                continue;
            }
        }

        if (node->state == NGX_HTTP_SHARED_SESSION_NODE_UP || l->ping) {
            continue;
        }

        l->ping = ngx_http_shared_session_redis_send(l->rs, ngx_cycle->log,
                                NGX_HTTP_SHARED_SESSION_STATUS_PROBE,
                                NGX_HTTP_SHARED_SESSION_STATUS_PROBE,
                                1, &argv, &len,
                                ngx_http_shared_session_status_pong, l, &err);
    }

    if (refresh) {
        smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_shared_session_module);
        ngx_http_shared_session_cluster_init_all(&smcf->clusters,
                                                 ngx_cycle->log);
    }
}


static void
ngx_http_shared_session_status_pong(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_metrics_local_t  *l = data;

    /* the connection's own events have told the zone what happened */

    l->ping = NULL;
}


static void
ngx_http_shared_session_status_json(ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_view_t *view)
{
    ngx_uint_t                                e, k, n, i, j, first, listed;
    ngx_http_shared_session_metrics_redis_t  *redis;
    ngx_http_shared_session_status_node_t    *sn;
    ngx_http_shared_session_status_redis_t   *sr;

    ngx_http_shared_session_status_print(o,
                                 NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                                 "{\n  \"version\": \"%s\",\n"
                                 "  \"nginx\": \"%s\",\n"
                                 "  \"hiredis\": \"%d.%d.%d\",\n"
                                 "  \"cjson\": \"%s\",\n"
                                 "  \"started\": %T,\n"
                                 "  \"time\": %T,\n"
                                 "  \"ready\": %s,\n"
                                 "  \"redis\": [",
                                 NGX_HTTP_SHARED_SESSION_VERSION,
                                 NGINX_VERSION, HIREDIS_MAJOR, HIREDIS_MINOR,
                                 HIREDIS_PATCH, cJSON_Version(),
                                 view->sh ? view->sh->started : 0,
                                 ngx_time(),
                                 view->ready ? "true" : "false");

    sr = view->redis.elts;
    sn = view->nodes.elts;

    for (i = 0; i < view->redis.nelts; i++) {
        redis = sr[i].redis;

        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + sr[i].name.len,
                              "%s\n    {\n      \"name\": \"%V\",\n"
                              "      \"cluster\": %s,\n"
                              "      \"configured\": %s,\n"
                              "      \"ready\": %s,\n",
                              i ? "," : "", &sr[i].name,
                              redis->cluster ? "true" : "false",
                              sr[i].ready >= 0 ? "true" : "false",
                              sr[i].ready > 0 ? "true" : "false");

        if (redis->cluster) {
            ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "      \"slots\": %uA,\n",
                              redis->map_done ? redis->slots : 0);
        }

        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "      \"requests\": {");

        first = 1;

        for (e = 0; e < NGX_HTTP_SHARED_SESSION_EP_N; e++) {
            listed = 0;

            for (n = 0; n < NGX_HTTP_SHARED_SESSION_OUT_N; n++) {
                k = ngx_http_shared_session_status_order[
                        e == NGX_HTTP_SHARED_SESSION_EP_INVALIDATE][n];

                if (n >= ngx_http_shared_session_status_listed[e]
                    && redis->requests[e][k] == 0)
                {
                    continue;
                }

                if (!listed) {
                    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "%s        \"%s\": {", first ? "\n" : ",\n",
                              ngx_http_shared_session_status_endpoints[e]);
                }

                ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "%s\"%s\": %uA", listed ? ", " : "",
                              ngx_http_shared_session_status_outcomes[k],
                              redis->requests[e][k]);
                listed = 1;
                first = 0;
            }

            if (listed) {
                ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE, "}");
            }
        }

        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "\n      },\n      \"nodes\": [");

        first = 1;

        for (j = 0; j < view->nodes.nelts; j++) {
            if (sn[j].node->redis != redis) {
                continue;
            }

            ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              first ? "\n" : ",\n");
            first = 0;

            ngx_http_shared_session_status_json_node(o, &sn[j]);
        }

        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "\n      ]\n    }");
    }

    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "\n  ]\n}\n");
}


static void
ngx_http_shared_session_status_json_node(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_node_t *sn)
{
    ngx_uint_t                               i;
    ngx_atomic_uint_t                        count, sum, cumulative;
    ngx_atomic_uint_t                        buckets[
                                              NGX_HTTP_SHARED_SESSION_BUCKETS];
    ngx_http_shared_session_metrics_node_t  *node;

    node = sn->node;

    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + sn->name.len,
                              "        {\n          \"address\": \"%V\",\n"
                              "          \"state\": \"%s\",\n"
                              "          \"state_since\": %uA,\n",
                              &sn->name,
                              ngx_http_shared_session_status_states[
                                                                 node->state],
                              node->state_time);

    if (node->redis->cluster) {
        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "          \"primary\": %s,\n",
                              ngx_http_shared_session_metrics_primary(node)
                              ? "true" : "false");
    }

    for (i = 0; i < NGX_HTTP_SHARED_SESSION_NODE_NCOUNTERS; i++) {
        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "%s\"%s\": %uA,%s",
                              i % 3 ? " " : "          ",
                              ngx_http_shared_session_status_counters[i].json,
                              node->counters[i], i % 3 == 2 ? "\n" : "");
    }

    count = 0;

    for (i = 0; i < NGX_HTTP_SHARED_SESSION_BUCKETS; i++) {
        buckets[i] = node->buckets[i];
        count += buckets[i];
    }

    sum = node->sum;

    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "          \"queued\": %A,\n"
                              "          \"round_trips\": {\"count\": %uA, "
                              "\"sum_ms\": %uA.%03uA,\n"
                              "            \"le_ms\": {",
                              (ngx_atomic_int_t) node->queued, count,
                              sum / 1000, sum % 1000);

    cumulative = 0;

    for (i = 0; i < NGX_HTTP_SHARED_SESSION_BUCKETS; i++) {
        cumulative += buckets[i];

        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "%s\"%s\": %uA", i ? ", " : "",
                              ngx_http_shared_session_status_le_ms[i],
                              cumulative);
    }

    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "}}\n        }");
}


static void
ngx_http_shared_session_status_prometheus(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_view_t *view)
{
    ngx_uint_t                                e, k, n, i;
    ngx_http_shared_session_metrics_redis_t  *redis;
    ngx_http_shared_session_status_redis_t   *sr;

    ngx_http_shared_session_status_family(o, "build_info", "gauge",
                              "The module's version and the versions of "
                              "nginx, hiredis and cJSON it was built with.");

    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "nginx_shared_session_build_info{"
                              "version=\"%s\",nginx=\"%s\","
                              "hiredis=\"%d.%d.%d\",cjson=\"%s\"} 1\n",
                              NGX_HTTP_SHARED_SESSION_VERSION, NGINX_VERSION,
                              HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH,
                              cJSON_Version());

    ngx_http_shared_session_status_family(o, "start_time_seconds", "gauge",
                              "When the counters started (nginx started, or "
                              "the zone's size changed), in Unix time.");

    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "nginx_shared_session_start_time_seconds %T\n",
                              view->sh ? view->sh->started : 0);

    ngx_http_shared_session_status_family(o, "ready", "gauge",
                              "1 when every Redis this configuration uses is "
                              "ready (what ?check=ready answers with 200).");

    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE,
                              "nginx_shared_session_ready %ui\n",
                              view->ready);

    sr = view->redis.elts;

    ngx_http_shared_session_status_family(o, "redis_ready", "gauge",
                              "1 when the Redis is ready: a standalone "
                              "server's connection is up, or a cluster has "
                              "a full slot map and every primary is up.");

    for (i = 0; i < view->redis.nelts; i++) {
        if (sr[i].ready >= 0) {
            ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + sr[i].name.len,
                              "nginx_shared_session_redis_ready"
                              "{redis=\"%V\"} %i\n",
                              &sr[i].name, sr[i].ready);
        }
    }

    ngx_http_shared_session_status_family(o, "requests_total", "counter",
                              "Session requests by endpoint and outcome.");

    for (i = 0; i < view->redis.nelts; i++) {
        redis = sr[i].redis;

        for (e = 0; e < NGX_HTTP_SHARED_SESSION_EP_N; e++) {
            for (n = 0; n < NGX_HTTP_SHARED_SESSION_OUT_N; n++) {
                k = ngx_http_shared_session_status_order[
                        e == NGX_HTTP_SHARED_SESSION_EP_INVALIDATE][n];

                if (n >= ngx_http_shared_session_status_listed[e]
                    && redis->requests[e][k] == 0)
                {
                    continue;
                }

                ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + sr[i].name.len,
                              "nginx_shared_session_requests_total{"
                              "redis=\"%V\",endpoint=\"%s\",outcome=\"%s\"} "
                              "%uA\n",
                              &sr[i].name,
                              ngx_http_shared_session_status_endpoints[e],
                              ngx_http_shared_session_status_outcomes[k],
                              redis->requests[e][k]);
            }
        }
    }

    ngx_http_shared_session_status_family(o, "cluster_slots", "gauge",
                              "Hash slots that the newest slot map of a "
                              "cluster assigns to a primary (of 16384).");

    for (i = 0; i < view->redis.nelts; i++) {
        redis = sr[i].redis;

        if (redis->cluster) {
            ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + sr[i].name.len,
                              "nginx_shared_session_cluster_slots"
                              "{redis=\"%V\"} %uA\n",
                              &sr[i].name,
                              redis->map_done ? redis->slots : 0);
        }
    }

    ngx_http_shared_session_status_prometheus_nodes(o, view);
    ngx_http_shared_session_status_histogram(o, view);
}


static void
ngx_http_shared_session_status_prometheus_nodes(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_view_t *view)
{
    size_t                                     max;
    ngx_uint_t                                 i, j, s;
    ngx_http_shared_session_metrics_node_t    *node;
    ngx_http_shared_session_status_node_t     *sn;
    ngx_http_shared_session_status_counter_t  *counter;

    sn = view->nodes.elts;

    ngx_http_shared_session_status_family(o, "node_state", "gauge",
                              "The state of the connection to the node, as "
                              "the last worker to see it change left it: "
                              "unknown (not tried yet), up, connecting, "
                              "backing_off (the last attempt failed), down "
                              "(a working connection was lost).");

    for (j = 0; j < view->nodes.nelts; j++) {
        node = sn[j].node;
        max = NGX_HTTP_SHARED_SESSION_STATUS_LINE + sn[j].redis->len
              + sn[j].name.len;

        for (s = 0; s < NGX_HTTP_SHARED_SESSION_NODE_NSTATES; s++) {
            ngx_http_shared_session_status_print(o, max,
                              "nginx_shared_session_node_state{"
                              "redis=\"%V\",node=\"%V\",state=\"%s\"} %d\n",
                              sn[j].redis, &sn[j].name,
                              ngx_http_shared_session_status_states[s],
                              node->state == s ? 1 : 0);
        }
    }

    ngx_http_shared_session_status_family(o, "node_primary", "gauge",
                              "1 when the node is a primary of the newest "
                              "slot map of its cluster.");

    for (j = 0; j < view->nodes.nelts; j++) {
        node = sn[j].node;

        if (node->redis->cluster) {
            ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + sn[j].redis->len + sn[j].name.len,
                              "nginx_shared_session_node_primary{"
                              "redis=\"%V\",node=\"%V\"} %ui\n",
                              sn[j].redis, &sn[j].name,
                              ngx_http_shared_session_metrics_primary(node));
        }
    }

    for (i = 0; i < NGX_HTTP_SHARED_SESSION_NODE_NCOUNTERS; i++) {
        counter = &ngx_http_shared_session_status_counters[i];

        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + ngx_strlen(counter->help),
                              "# HELP nginx_shared_session_node_%s %s\n"
                              "# TYPE nginx_shared_session_node_%s counter\n",
                              counter->prometheus, counter->help,
                              counter->prometheus);

        for (j = 0; j < view->nodes.nelts; j++) {
            ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + sn[j].redis->len + sn[j].name.len,
                              "nginx_shared_session_node_%s{"
                              "redis=\"%V\",node=\"%V\"} %uA\n",
                              counter->prometheus,
                              sn[j].redis, &sn[j].name,
                              sn[j].node->counters[i]);
        }
    }

    ngx_http_shared_session_status_family(o, "node_queued_commands",
                              "gauge",
                              "Commands sent to the node and waiting for "
                              "their replies, all workers together.");

    for (j = 0; j < view->nodes.nelts; j++) {
        ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + sn[j].redis->len + sn[j].name.len,
                              "nginx_shared_session_node_queued_commands{"
                              "redis=\"%V\",node=\"%V\"} %A\n",
                              sn[j].redis, &sn[j].name,
                              (ngx_atomic_int_t) sn[j].node->queued);
    }
}


static void
ngx_http_shared_session_status_histogram(
    ngx_http_shared_session_status_out_t *o,
    ngx_http_shared_session_status_view_t *view)
{
    size_t                                   max;
    ngx_uint_t                               i, j;
    ngx_atomic_uint_t                        sum, cumulative;
    ngx_http_shared_session_status_node_t   *sn;

    sn = view->nodes.elts;

    ngx_http_shared_session_status_family(o, "node_round_trip_seconds",
                              "histogram",
                              "Time from a command's queueing to the reading "
                              "of its reply.");

    for (j = 0; j < view->nodes.nelts; j++) {
        max = NGX_HTTP_SHARED_SESSION_STATUS_LINE + sn[j].redis->len
              + sn[j].name.len;
        cumulative = 0;

        for (i = 0; i < NGX_HTTP_SHARED_SESSION_BUCKETS; i++) {
            cumulative += sn[j].node->buckets[i];

            ngx_http_shared_session_status_print(o, max,
                              "nginx_shared_session_node_round_trip_seconds_"
                              "bucket{redis=\"%V\",node=\"%V\",le=\"%s\"} "
                              "%uA\n",
                              sn[j].redis, &sn[j].name,
                              ngx_http_shared_session_status_le[i],
                              cumulative);
        }

        sum = sn[j].node->sum;

        ngx_http_shared_session_status_print(o, 2 * max,
                              "nginx_shared_session_node_round_trip_seconds_"
                              "sum{redis=\"%V\",node=\"%V\"} %uA.%06uA\n"
                              "nginx_shared_session_node_round_trip_seconds_"
                              "count{redis=\"%V\",node=\"%V\"} %uA\n",
                              sn[j].redis, &sn[j].name,
                              sum / 1000000, sum % 1000000,
                              sn[j].redis, &sn[j].name, cumulative);
    }
}


static void
ngx_http_shared_session_status_family(ngx_http_shared_session_status_out_t *o,
    const char *name, const char *type, const char *help)
{
    ngx_http_shared_session_status_print(o,
                              NGX_HTTP_SHARED_SESSION_STATUS_LINE
                              + ngx_strlen(help),
                              "# HELP nginx_shared_session_%s %s\n"
                              "# TYPE nginx_shared_session_%s %s\n",
                              name, help, name, type);
}


/*
 * Appends to the response, in buffers of a page or more: "max" bounds
 * what the format can print.  Out of memory, the output is dropped.
 */

static void
ngx_http_shared_session_status_print(ngx_http_shared_session_status_out_t *o,
    size_t max, const char *fmt, ...)
{
    u_char       *p;
    va_list       args;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (o->failed) {
        return;
    }

    b = o->buf;

    if (b == NULL || (size_t) (b->end - b->last) < max) {
        b = ngx_create_temp_buf(o->request->pool, ngx_max(max, 4096));
        cl = ngx_alloc_chain_link(o->request->pool);

        if (b == NULL || cl == NULL) {
            o->failed = 1;
            return;
        }

        cl->buf = b;
        cl->next = NULL;
        *o->last = cl;
        o->last = &cl->next;
        o->buf = b;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(b->last, b->last + max, fmt, args);
    va_end(args);

    o->len += p - b->last;
    b->last = p;
}


/*
 * Names come from the configuration or from CLUSTER SLOTS and MOVED: '"'
 * and '\' are escaped for both formats, control characters for JSON as
 * \u00XX and a line feed for Prometheus as \n.
 */

static ngx_int_t
ngx_http_shared_session_status_escape(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst, ngx_uint_t json)
{
    u_char      c, *p;
    ngx_uint_t  i, n;

    n = 0;

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if (c == '"' || c == '\\' || c == '\n') {
            n++;

        } else if (json && c < 0x20) {
            n += 5;
        }
    }

    if (n == 0) {
        *dst = *src;
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, src->len + n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst->data = p;

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;

        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else if (json && c < 0x20) {
            p = ngx_sprintf(p, "\\u%04xd", (ngx_int_t) c);

        } else {
            *p++ = c;
        }
    }

    dst->len = p - dst->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_status_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_http_shared_session_status_out_t *o)
{
    u_char           *p;
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    if (o->failed || o->first == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    r->headers_out.status = status;
    r->headers_out.content_length_n = o->len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);

    /* the type alone, without its parameters */
    p = (u_char *) ngx_strchr(type, ';');
    r->headers_out.content_type_len = p ? (size_t) (p - (u_char *) type)
                                        : r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    o->buf->last_buf = (r == r->main) ? 1 : 0;
    o->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, o->first);
}
