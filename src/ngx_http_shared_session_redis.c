
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <hiredis/hiredis.h>

#include "ngx_http_shared_session_redis.h"
#include "ngx_http_shared_session_reply.h"
#include "ngx_http_shared_session_conn.h"
#include "ngx_http_shared_session_metrics.h"
#include "ngx_http_shared_session_num.h"


/*
 * One pipelined connection per worker and Redis server.  nginx owns the
 * socket, as it owns an upstream's: nginx's resolver finds the address,
 * ngx_event_connect_peer() connects, ngx_ssl speaks TLS, c->send() and
 * c->recv() move the bytes.  hiredis is the protocol: commands are RESP
 * text, and its redisReader turns the bytes read into redisReply objects,
 * which go to the commands in the order they were sent.
 *
 * What may outlive what: ngx_http_shared_session_reply.c.
 */


#define NGX_HTTP_SHARED_SESSION_REDIS_PORT         6379
#define NGX_HTTP_SHARED_SESSION_REDIS_BACKOFF      100
#define NGX_HTTP_SHARED_SESSION_REDIS_BACKOFF_MAX  1000
#define NGX_HTTP_SHARED_SESSION_REDIS_ERRLEN       256
#define NGX_HTTP_SHARED_SESSION_REDIS_READ         16384

/*
 * A turn of the event loop stops reading a connection after these bytes,
 * or once these replies were handed out (a 16 KB read may bring more):
 * the read event is posted for the next turn, so that other connections
 * and timers are not kept waiting by a peer that keeps the socket full.
 */
#define NGX_HTTP_SHARED_SESSION_REDIS_TURN_BYTES   (4 * 16384)
#define NGX_HTTP_SHARED_SESSION_REDIS_TURN_REPLIES 128

/*
 * Commands on one connection (sent and not answered, or waiting for the
 * connection's setup), and bytes not written to the socket yet, at most.
 * A healthy Redis keeps a few dozen commands and no bytes waiting; 8192
 * session scripts are some 0.3 s of Redis's time and, at about 500 bytes
 * each, 4 MB.  These bound what a paused or slow Redis costs a worker.
 */
#define NGX_HTTP_SHARED_SESSION_REDIS_MAX_COMMANDS 8192
#define NGX_HTTP_SHARED_SESSION_REDIS_MAX_OUTPUT_M 8

/*
 * Command records kept for reuse per server: more than a worker's usual
 * commands in flight; those of a burst beyond go back to the heap.
 */
#define NGX_HTTP_SHARED_SESSION_REDIS_FREE_COMMANDS 128

#define NGX_HTTP_SHARED_SESSION_REDIS_IDLE         0
#define NGX_HTTP_SHARED_SESSION_REDIS_RESOLVING    1
#define NGX_HTTP_SHARED_SESSION_REDIS_CONNECTING   2
#define NGX_HTTP_SHARED_SESSION_REDIS_HANDSHAKE    3
#define NGX_HTTP_SHARED_SESSION_REDIS_CONNECTED    4

#if (NGX_SSL)
#define ngx_http_shared_session_redis_io(c, text)                            \
    ((c)->ssl ? "TLS " text : text)
#else
#define ngx_http_shared_session_redis_io(c, text)  text
#endif


struct ngx_http_shared_session_redis_s {
    ngx_str_t                              name;     /* for logs */
    ngx_str_t                              host;     /* NUL-ended */
    in_port_t                              port;
    ngx_uint_t                             resolve;  /* a name, resolver */
    ngx_uint_t                             runtime;  /* ngx_alloc()ed */
    ngx_http_shared_session_redis_conf_t  *conf;

    ngx_sockaddr_t                         sockaddr;
    socklen_t                              socklen;

    /* this worker's connection */

    ngx_uint_t                             state;
    ngx_peer_connection_t                  peer;
    ngx_log_t                              log;      /* the connection's:
                                                        names the server */
    ngx_resolver_ctx_t                    *resolver_ctx;
    ngx_buf_t                              out;      /* RESP not yet sent */
    ngx_buf_t                              held;     /* RESP of commands
                                                        waiting for setup */
    ngx_queue_t                            commands; /* in the order sent,
                                                        then those held */
    ngx_event_t                            connect_timer;
    ngx_event_t                            watchdog; /* oldest command */
    ngx_uint_t                             init_pending;
    ngx_uint_t                             ready;
    ngx_uint_t                             failures;
    ngx_msec_t                             retry_at;
    ngx_msec_t                             progress; /* last reply */
    ngx_uint_t                             generation; /* closes so far */
    ngx_uint_t                             queued;   /* sent, unanswered */
    ngx_uint_t                             nheld;
    redisReply                           **replies;  /* read, not handled */
    ngx_uint_t                             nreplies;
    ngx_uint_t                             nalloc;
    ngx_uint_t                             handing;  /* replies handed out
                                                        (nested) */

    ngx_http_shared_session_reply_arena_t  reply;    /* the reader, its
                                                        objects */

    ngx_http_shared_session_redis_cmd_t   *free;     /* records to reuse */
    ngx_uint_t                             nfree;
    ngx_uint_t                             unkept;   /* freed in a burst */

    unsigned                               exiting:1;

    u_char                                 error[
                                         NGX_HTTP_SHARED_SESSION_REDIS_ERRLEN];
    size_t                                 error_len;
};


struct ngx_http_shared_session_redis_cmd_s {
    ngx_http_shared_session_redis_cmd_t       *next;   /* rs->free: first,
                                                          not poisoned */
    ngx_http_shared_session_redis_t           *rs;
    ngx_http_shared_session_redis_handler_pt   handler;
    void                                      *data;
    const char                                *init;   /* AUTH, SELECT.. */
    ngx_msec_t                                 sent;
    uint64_t                                   queued;  /* us, metrics */
    ngx_msec_t                                 wait;
    ngx_event_t                                timer;
    ngx_queue_t                                queue;
    size_t                                     start;  /* in rs->held */
    size_t                                     len;
    unsigned                                   held:1;
};


static void ngx_http_shared_session_redis_init_server(
    ngx_http_shared_session_redis_t *rs);
static ngx_int_t ngx_http_shared_session_redis_tls_init(ngx_conf_t *cf,
    ngx_http_shared_session_redis_conf_t *conf);
static ngx_int_t ngx_http_shared_session_redis_connect(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_resolve_handler(
    ngx_resolver_ctx_t *ctx);
static void ngx_http_shared_session_redis_connect_peer(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_connected(
    ngx_http_shared_session_redis_t *rs);
#if (NGX_SSL)
static void ngx_http_shared_session_redis_tls_handshake(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_tls_handshaked(ngx_connection_t *c);
static ngx_str_t *ngx_http_shared_session_redis_tls_name(
    ngx_http_shared_session_redis_t *rs, ngx_uint_t *address);
static ngx_int_t ngx_http_shared_session_redis_tls_check_name(
    ngx_connection_t *c, ngx_str_t *name, ngx_uint_t address);
#endif
static size_t ngx_http_shared_session_redis_resp_len(int argc,
    const size_t *argvlen);
static ngx_http_shared_session_redis_cmd_t *
    ngx_http_shared_session_redis_cmd_alloc(
    ngx_http_shared_session_redis_t *rs, ngx_log_t *log);
static void ngx_http_shared_session_redis_cmd_free(
    ngx_http_shared_session_redis_t *rs,
    ngx_http_shared_session_redis_cmd_t *cmd);
static void ngx_http_shared_session_redis_burst_done(
    ngx_http_shared_session_redis_t *rs);
static ngx_http_shared_session_redis_cmd_t *
    ngx_http_shared_session_redis_queue(ngx_http_shared_session_redis_t *rs,
    ngx_log_t *log, int argc, const char **argv, const size_t *argvlen,
    size_t len, const char *init);
static ngx_int_t ngx_http_shared_session_redis_reserve(ngx_buf_t *b,
    size_t len, ngx_log_t *log);
static void ngx_http_shared_session_redis_post_write(
    ngx_http_shared_session_redis_t *rs);
static ngx_int_t ngx_http_shared_session_redis_init(
    ngx_http_shared_session_redis_t *rs);
static ngx_int_t ngx_http_shared_session_redis_init_command(
    ngx_http_shared_session_redis_t *rs, const char *name, int argc,
    const char **argv, const size_t *argvlen);
static void ngx_http_shared_session_redis_init_reply(
    ngx_http_shared_session_redis_cmd_t *cmd, redisReply *reply);
static void ngx_http_shared_session_redis_release(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_shared_session_redis_cmd_timeout(ngx_event_t *ev);
static void ngx_http_shared_session_redis_watch(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_watchdog(ngx_event_t *ev);
static u_char *ngx_http_shared_session_redis_log_error(ngx_log_t *log,
    u_char *buf, size_t len);
static void ngx_http_shared_session_redis_read_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_shared_session_redis_receive(
    ngx_http_shared_session_redis_t *rs, size_t *bytes);
static ngx_int_t ngx_http_shared_session_redis_dispatch(
    ngx_http_shared_session_redis_t *rs, ngx_uint_t *handed);
static void ngx_http_shared_session_redis_hand(
    ngx_http_shared_session_redis_t *rs, redisReply *reply,
    ngx_uint_t generation);
static ngx_int_t ngx_http_shared_session_redis_replies(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_write_handler(ngx_event_t *ev);
static void ngx_http_shared_session_redis_flush(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_close(
    ngx_http_shared_session_redis_t *rs, ngx_uint_t level, const char *fmt,
    ...);
static void ngx_http_shared_session_redis_fail(ngx_queue_t *commands,
    ngx_str_t *error);
static void ngx_http_shared_session_redis_backoff(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_set_error(
    ngx_http_shared_session_redis_t *rs, const char *fmt, ...);


ngx_http_shared_session_redis_conf_t *
ngx_http_shared_session_redis_conf_add(ngx_conf_t *cf, ngx_array_t *confs,
    ngx_http_shared_session_redis_conf_t *conf)
{
    ngx_uint_t                              i;
    ngx_http_shared_session_redis_conf_t  **rcp, *rc;

#define ngx_http_shared_session_str_eq(a, b)                                  \
    ((a).len == (b).len && ngx_strncmp((a).data, (b).data, (a).len) == 0)

    rcp = confs->elts;

    for (i = 0; i < confs->nelts; i++) {
        rc = rcp[i];

        if (ngx_http_shared_session_str_eq(rc->username, conf->username)
            && ngx_http_shared_session_str_eq(rc->password, conf->password)
            && rc->database == conf->database
            && rc->scripts == conf->scripts
            && rc->resolver == conf->resolver
            && rc->resolver_timeout == conf->resolver_timeout
            && rc->tls == conf->tls
            && rc->tls_verify == conf->tls_verify
            && ngx_http_shared_session_str_eq(rc->tls_trusted_certificate,
                                              conf->tls_trusted_certificate)
            && ngx_http_shared_session_str_eq(rc->tls_certificate,
                                              conf->tls_certificate)
            && ngx_http_shared_session_str_eq(rc->tls_certificate_key,
                                              conf->tls_certificate_key)
            && ngx_http_shared_session_str_eq(rc->tls_server_name,
                                              conf->tls_server_name))
        {
            rc->connect_timeout = ngx_max(rc->connect_timeout,
                                          conf->connect_timeout);
            return rc;
        }
    }

#undef ngx_http_shared_session_str_eq

    rc = ngx_palloc(cf->pool, sizeof(ngx_http_shared_session_redis_conf_t));
    if (rc == NULL) {
        return NULL;
    }

    *rc = *conf;

    if (rc->tls && ngx_http_shared_session_redis_tls_init(cf, rc) != NGX_OK) {
        return NULL;
    }

    rcp = ngx_array_push(confs);
    if (rcp == NULL) {
        return NULL;
    }

    *rcp = rc;

    return rc;
}


static ngx_int_t
ngx_http_shared_session_redis_tls_init(ngx_conf_t *cf,
    ngx_http_shared_session_redis_conf_t *conf)
{
#if (NGX_SSL)
    ngx_str_t            ciphers;
    ngx_pool_cleanup_t  *cln;

    conf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (conf->ssl == NULL) {
        return NGX_ERROR;
    }

    conf->ssl->log = cf->log;

    if (ngx_ssl_create(conf->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(conf->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = conf->ssl;

    ngx_str_set(&ciphers, "DEFAULT");

    if (ngx_ssl_ciphers(cf, conf->ssl, &ciphers, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (conf->tls_certificate.len) {

        if (conf->tls_certificate_key.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "no \"shared_session_redis_tls_certificate_key\""
                               " is defined for certificate \"%V\"",
                               &conf->tls_certificate);
            return NGX_ERROR;
        }

        if (ngx_ssl_certificate(cf, conf->ssl, &conf->tls_certificate,
                                &conf->tls_certificate_key, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (conf->tls_certificate_key.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"shared_session_redis_tls_certificate_key\" "
                           "requires \"shared_session_redis_tls_certificate\"");
        return NGX_ERROR;
    }

    if (conf->tls_verify) {
        if (conf->tls_trusted_certificate.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "no \"shared_session_redis_tls_trusted_"
                               "certificate\" for "
                               "\"shared_session_redis_tls_verify\"");
            return NGX_ERROR;
        }

        if (ngx_ssl_trusted_certificate(cf, conf->ssl,
                                        &conf->tls_trusted_certificate, 4)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"shared_session_redis_tls\" requires nginx built "
                       "with OpenSSL");
    return NGX_ERROR;

#endif
}


ngx_http_shared_session_redis_t *
ngx_http_shared_session_redis_add(ngx_conf_t *cf, ngx_array_t *servers,
    ngx_str_t *address, ngx_http_shared_session_redis_conf_t *conf)
{
    ngx_url_t                          u;
    ngx_str_t                          name, host;
    ngx_uint_t                         i;
    ngx_http_shared_session_redis_t  **rsp, *rs;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *address;
    u.default_port = NGX_HTTP_SHARED_SESSION_REDIS_PORT;

    /* with a resolver, a name is resolved only when connecting */
    u.no_resolve = (conf->resolver != NULL);

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in redis address \"%V\"", u.err, &u.url);
        }

        return NULL;
    }

    if (u.family == AF_UNIX) {
        name = u.url;

    } else {
        name.data = ngx_pnalloc(cf->pool, u.host.len + NGX_INT_T_LEN + 1);
        if (name.data == NULL) {
            return NULL;
        }

        name.len = ngx_sprintf(name.data, "%V:%d", &u.host, (int) u.port)
                   - name.data;
    }

    rsp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        rs = rsp[i];

        if (rs->conf == conf
            && rs->name.len == name.len
            && ngx_strncmp(rs->name.data, name.data, name.len) == 0)
        {
            return rs;
        }
    }

    if (u.naddrs == 0 && (u.no_resolve == 0 || u.family == AF_UNIX)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for redis \"%V\"", &u.url);
        return NULL;
    }

    rs = ngx_pcalloc(cf->pool, sizeof(ngx_http_shared_session_redis_t));
    if (rs == NULL) {
        return NULL;
    }

    rs->name = name;
    rs->conf = conf;
    rs->port = u.port;

    host = u.host;

    if (host.len > 2 && host.data[0] == '[') {
        /* an IPv6 address as CLUSTER SLOTS and the resolver write it */
        host.data++;
        host.len -= 2;
    }

    rs->host.len = host.len;
    rs->host.data = ngx_pnalloc(cf->pool, host.len + 1);
    if (rs->host.data == NULL) {
        return NULL;
    }

    ngx_memcpy(rs->host.data, host.data, host.len);
    rs->host.data[host.len] = '\0';

    if (u.naddrs == 0) {
        rs->resolve = 1;

    } else {
        ngx_memcpy(&rs->sockaddr, u.addrs[0].sockaddr, u.addrs[0].socklen);
        rs->socklen = u.addrs[0].socklen;

        if (u.naddrs > 1) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "redis \"%V\" resolves to several addresses, "
                               "using %V", &u.url, &u.addrs[0].name);
        }
    }

    ngx_http_shared_session_redis_init_server(rs);

    rsp = ngx_array_push(servers);
    if (rsp == NULL) {
        return NULL;
    }

    *rsp = rs;

    return rs;
}


ngx_http_shared_session_redis_t *
ngx_http_shared_session_redis_create(ngx_http_shared_session_redis_conf_t *conf,
    ngx_str_t *host, in_port_t port, ngx_log_t *log)
{
    u_char                           *p;
    in_addr_t                         inaddr;
    struct sockaddr_in               *sin;
    ngx_http_shared_session_redis_t  *rs;
#if (NGX_HAVE_INET6)
    u_char                            inaddr6[16];
    struct sockaddr_in6              *sin6;
#endif

    if (host->len == 0 || host->len > NGX_MAXHOSTNAMELEN || port == 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "shared session: invalid redis node \"%V:%d\"",
                      host, (int) port);
        return NULL;
    }

    rs = ngx_alloc(sizeof(ngx_http_shared_session_redis_t)
                   + 2 * (host->len + NGX_INT_T_LEN + 2), log);
    if (rs == NULL) {
        return NULL;
    }

    ngx_memzero(rs, sizeof(ngx_http_shared_session_redis_t));

    p = (u_char *) rs + sizeof(ngx_http_shared_session_redis_t);

    rs->host.data = p;
    rs->host.len = host->len;
    p = ngx_cpymem(p, host->data, host->len);
    *p++ = '\0';

    rs->name.data = p;
    rs->name.len = ngx_sprintf(p, "%V:%d", host, (int) port) - p;

    rs->conf = conf;
    rs->port = port;
    rs->runtime = 1;

    inaddr = ngx_inet_addr(host->data, host->len);

    if (inaddr != INADDR_NONE) {
        sin = &rs->sockaddr.sockaddr_in;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = inaddr;
        rs->socklen = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr(host->data, host->len, inaddr6) == NGX_OK) {
        sin6 = &rs->sockaddr.sockaddr_in6;
        sin6->sin6_family = AF_INET6;
        ngx_memcpy(sin6->sin6_addr.s6_addr, inaddr6, 16);
        rs->socklen = sizeof(struct sockaddr_in6);
#endif

    } else if (conf->resolver) {
        rs->resolve = 1;

    } else {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "shared session: redis node \"%V\" is a name, and no "
                      "\"resolver\" is configured to resolve it", &rs->name);
        ngx_free(rs);
        return NULL;
    }

    if (!rs->resolve) {
        ngx_inet_set_port(&rs->sockaddr.sockaddr, port);
    }

    ngx_http_shared_session_redis_init_server(rs);

    return rs;
}


static void
ngx_http_shared_session_redis_init_server(ngx_http_shared_session_redis_t *rs)
{
    u_char  *p;

    /* the timer's log is set when connecting: cf->cycle->log is not final */

    rs->connect_timer.handler = ngx_http_shared_session_redis_connect_timeout;
    rs->connect_timer.data = rs;
    rs->connect_timer.cancelable = 1;

    rs->watchdog.handler = ngx_http_shared_session_redis_watchdog;
    rs->watchdog.data = rs;
    rs->watchdog.cancelable = 1;

    ngx_queue_init(&rs->commands);

    p = ngx_cpymem(rs->error, "not connected", sizeof("not connected") - 1);
    rs->error_len = p - rs->error;
}


void
ngx_http_shared_session_redis_destroy(ngx_http_shared_session_redis_t *rs)
{
    ngx_queue_t                          *q;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    ngx_http_shared_session_metrics_node_forget(rs);

    for (q = ngx_queue_head(&rs->commands);
         q != ngx_queue_sentinel(&rs->commands);
         q = ngx_queue_next(q))
    {
        ngx_http_shared_session_redis_cancel(ngx_queue_data(q,
                                 ngx_http_shared_session_redis_cmd_t, queue));
    }

    if (rs->state != NGX_HTTP_SHARED_SESSION_REDIS_IDLE) {
        rs->exiting = 1;
        ngx_http_shared_session_redis_close(rs, NGX_LOG_DEBUG,
                                            "worker exiting");
        rs->exiting = 0;
    }

    ngx_free(rs->out.start);
    ngx_memzero(&rs->out, sizeof(ngx_buf_t));

    ngx_free(rs->held.start);
    ngx_memzero(&rs->held, sizeof(ngx_buf_t));

    ngx_free(rs->replies);
    rs->replies = NULL;
    rs->nalloc = 0;

    ngx_http_shared_session_reply_free(&rs->reply);

    while (rs->free) {
        cmd = rs->free;
        rs->free = cmd->next;
        ngx_http_shared_session_unpoison(cmd, sizeof(*cmd));
        ngx_free(cmd);
    }

    rs->nfree = 0;

    if (rs->runtime) {
        ngx_free(rs);
    }
}


ngx_str_t *
ngx_http_shared_session_redis_name(ngx_http_shared_session_redis_t *rs)
{
    return &rs->name;
}


ngx_str_t *
ngx_http_shared_session_redis_host(ngx_http_shared_session_redis_t *rs)
{
    return &rs->host;
}


in_port_t
ngx_http_shared_session_redis_port(ngx_http_shared_session_redis_t *rs)
{
    return rs->port;
}


ngx_uint_t
ngx_http_shared_session_redis_backing_off(ngx_http_shared_session_redis_t *rs)
{
    return rs->state == NGX_HTTP_SHARED_SESSION_REDIS_IDLE
           && rs->failures
           && (ngx_msec_int_t) (rs->retry_at - ngx_current_msec) > 0;
}


ngx_http_shared_session_redis_cmd_t *
ngx_http_shared_session_redis_send(ngx_http_shared_session_redis_t *rs,
    ngx_log_t *log, ngx_msec_t timeout, ngx_msec_t wait, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_shared_session_redis_handler_pt handler, void *data,
    ngx_str_t *error)
{
    size_t                                len;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    if (rs->state == NGX_HTTP_SHARED_SESSION_REDIS_IDLE) {

        if (ngx_http_shared_session_redis_backing_off(rs)) {
            /* answer at once with the last cause */
            goto failed;
        }

        if (ngx_http_shared_session_redis_connect(rs) != NGX_OK) {
            goto failed;
        }
    }

    /* a Redis that does not keep up: more would only wait longer */

    if (rs->queued + rs->nheld >= NGX_HTTP_SHARED_SESSION_REDIS_MAX_COMMANDS) {
        ngx_str_set(error, "too many commands waiting ("
                    ngx_value(NGX_HTTP_SHARED_SESSION_REDIS_MAX_COMMANDS) ")");
        return NULL;
    }

    len = ngx_http_shared_session_redis_resp_len(argc, argvlen);

    if ((size_t) (rs->out.last - rs->out.pos)
        + (size_t) (rs->held.last - rs->held.pos) + len
        > (size_t) NGX_HTTP_SHARED_SESSION_REDIS_MAX_OUTPUT_M << 20)
    {
        ngx_str_set(error, "too much output waiting ("
                    ngx_value(NGX_HTTP_SHARED_SESSION_REDIS_MAX_OUTPUT_M)
                    "M)");
        return NULL;
    }

    cmd = ngx_http_shared_session_redis_queue(rs, log, argc, argv, argvlen,
                                              len, NULL);
    if (cmd == NULL) {
        goto failed;
    }

    cmd->handler = handler;
    cmd->data = data;
    cmd->wait = ngx_max(wait, timeout);

    ngx_add_timer(&cmd->timer, timeout);

    if (!cmd->held) {
        ngx_http_shared_session_redis_watch(rs);
    }

    return cmd;

failed:

    error->data = rs->error;
    error->len = rs->error_len;

    return NULL;
}


/* the length of a command's RESP text, at most (numbers at full width) */

static size_t
ngx_http_shared_session_redis_resp_len(int argc, const size_t *argvlen)
{
    int     i;
    size_t  len;

    len = 1 + NGX_INT_T_LEN + 2;

    for (i = 0; i < argc; i++) {
        len += 1 + NGX_SIZE_T_LEN + 2 + argvlen[i] + 2;
    }

    return len;
}


/* a command record: one freed before, or a new one; zeroed */

static ngx_http_shared_session_redis_cmd_t *
ngx_http_shared_session_redis_cmd_alloc(ngx_http_shared_session_redis_t *rs,
    ngx_log_t *log)
{
    ngx_http_shared_session_redis_cmd_t  *cmd;

    cmd = rs->free;

    if (cmd) {
        rs->free = cmd->next;
        rs->nfree--;
        ngx_http_shared_session_unpoison(cmd, sizeof(*cmd));

    } else {
        cmd = ngx_alloc(sizeof(ngx_http_shared_session_redis_cmd_t), log);
        if (cmd == NULL) {
            return NULL;
        }
    }

    ngx_memzero(cmd, sizeof(ngx_http_shared_session_redis_cmd_t));

    return cmd;
}


/*
 * A command is done with: its timer is not set, it is in no queue.  Kept
 * for the next send() unless the list holds enough already.
 */

static void
ngx_http_shared_session_redis_cmd_free(ngx_http_shared_session_redis_t *rs,
    ngx_http_shared_session_redis_cmd_t *cmd)
{
    if (rs->nfree >= NGX_HTTP_SHARED_SESSION_REDIS_FREE_COMMANDS) {
        ngx_free(cmd);
        rs->unkept++;
        return;
    }

    cmd->next = rs->free;
    rs->free = cmd;
    rs->nfree++;

    ngx_http_shared_session_poison(&cmd->rs,
                                   sizeof(*cmd) - offsetof(
                                       ngx_http_shared_session_redis_cmd_t,
                                       rs));
}


/*
 * Once no command waits any more: how many records a burst left on the
 * free list and how many went back to the heap (t/080 reads this).
 */

static void
ngx_http_shared_session_redis_burst_done(ngx_http_shared_session_redis_t *rs)
{
    if (rs->unkept == 0 || !ngx_queue_empty(&rs->commands)) {
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "shared session: redis %V: %ui command records kept, "
                   "%ui freed", &rs->name, rs->nfree, rs->unkept);

    rs->unkept = 0;
}


/*
 * Appends the command's RESP text ("len" bytes at most) to the output
 * buffer, in one pass, and queues it for its reply.  The buffer is written
 * once per event loop iteration, however many commands were added.  Until
 * the connection's setup (AUTH, SELECT, SCRIPT LOAD: "init" commands)
 * succeeded, other commands are held in a buffer of their own: if the
 * setup fails, they must not run in the wrong database or as the wrong
 * user.
 */

static ngx_http_shared_session_redis_cmd_t *
ngx_http_shared_session_redis_queue(ngx_http_shared_session_redis_t *rs,
    ngx_log_t *log, int argc, const char **argv, const size_t *argvlen,
    size_t len, const char *init)
{
    int                                   i;
    u_char                               *p;
    ngx_buf_t                            *b;
    ngx_uint_t                            held;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    held = (init == NULL && !rs->ready);
    b = held ? &rs->held : &rs->out;

    if (ngx_http_shared_session_redis_reserve(b, len, log) != NGX_OK) {
        ngx_http_shared_session_redis_set_error(rs, "out of memory");
        return NULL;
    }

    cmd = ngx_http_shared_session_redis_cmd_alloc(rs, log);
    if (cmd == NULL) {
        ngx_http_shared_session_redis_set_error(rs, "out of memory");
        return NULL;
    }

    cmd->rs = rs;
    cmd->init = init;
    cmd->sent = ngx_current_msec;
    cmd->queued = ngx_http_shared_session_metrics_node_command(rs);
    cmd->timer.handler = ngx_http_shared_session_redis_cmd_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = log;

    p = b->last;
    *p++ = '*';
    p = ngx_http_shared_session_uint(p, argc);
    *p++ = '\r'; *p++ = '\n';

    for (i = 0; i < argc; i++) {
        *p++ = '$';
        p = ngx_http_shared_session_uint(p, argvlen[i]);
        *p++ = '\r'; *p++ = '\n';
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = '\r'; *p++ = '\n';
    }

    if (held) {
        /* b->pos is b->start until the setup ends: offsets stay valid */
        cmd->held = 1;
        cmd->start = b->last - b->start;
        cmd->len = p - b->last;
        rs->nheld++;

    } else {
        rs->queued++;
    }

    b->last = p;

    if (ngx_queue_empty(&rs->commands)) {
        rs->progress = ngx_current_msec;
    }

    ngx_queue_insert_tail(&rs->commands, &cmd->queue);

    if (!held) {
        ngx_http_shared_session_redis_post_write(rs);
    }

    return cmd;
}


/*
 * Makes room for "len" more bytes at b->last, moving what the buffer holds
 * from b->pos on to its start or to a larger buffer.  A TLS write that
 * waits for the socket may thus be retried from another address: the
 * connection accepts that (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
 */

static ngx_int_t
ngx_http_shared_session_redis_reserve(ngx_buf_t *b, size_t len,
    ngx_log_t *log)
{
    size_t   size;
    u_char  *p;

    if ((size_t) (b->end - b->last) >= len) {
        return NGX_OK;
    }

    size = (b->last - b->pos) + len;

    if (b->start && (size_t) (b->end - b->start) >= size) {
        b->last = ngx_movemem(b->start, b->pos, b->last - b->pos);
        b->pos = b->start;
        return NGX_OK;
    }

    size = ngx_max(size, 4096);
    size = ngx_max(size, 2 * (size_t) (b->end - b->start));

    p = ngx_alloc(size, log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (b->last > b->pos) {
        b->last = ngx_cpymem(p, b->pos, b->last - b->pos);

    } else {
        b->last = p;
    }

    ngx_free(b->start);
    b->start = p;
    b->pos = p;
    b->end = p + size;

    return NGX_OK;
}


static void
ngx_http_shared_session_redis_post_write(ngx_http_shared_session_redis_t *rs)
{
    ngx_connection_t  *c;

    c = rs->peer.connection;

    if (rs->state == NGX_HTTP_SHARED_SESSION_REDIS_CONNECTED
        && c->write->ready && !c->write->posted)
    {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


void
ngx_http_shared_session_redis_cancel(ngx_http_shared_session_redis_cmd_t *cmd)
{
    cmd->handler = NULL;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }
}


void
ngx_http_shared_session_redis_close_all(ngx_array_t *servers)
{
    ngx_uint_t                         i;
    ngx_http_shared_session_redis_t  **rsp;

    rsp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        ngx_http_shared_session_redis_destroy(rsp[i]);
    }
}


static ngx_int_t
ngx_http_shared_session_redis_connect(ngx_http_shared_session_redis_t *rs)
{
    ngx_log_t           *log;
    ngx_resolver_ctx_t  *ctx;

    log = ngx_cycle->log;

    if (ngx_http_shared_session_reply_reader_create(&rs->reply, &rs->name)
        != NGX_OK)
    {
        ngx_http_shared_session_redis_set_error(rs, "out of memory");
        ngx_http_shared_session_redis_backoff(rs);
        return NGX_ERROR;
    }

    rs->ready = 0;
    rs->connect_timer.log = log;
    rs->watchdog.log = log;
    ngx_add_timer(&rs->connect_timer, rs->conf->connect_timeout);

    /* AUTH, SELECT and SCRIPT LOAD go first, sent once connected */

    rs->state = NGX_HTTP_SHARED_SESSION_REDIS_RESOLVING;
    ngx_http_shared_session_metrics_node_event(rs,
                                     NGX_HTTP_SHARED_SESSION_METRIC_CONNECTING);

    if (ngx_http_shared_session_redis_init(rs) != NGX_OK) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR, "out of memory");
        return NGX_ERROR;
    }

    if (!rs->resolve) {
        ngx_http_shared_session_redis_connect_peer(rs);
        goto done;
    }

    ctx = ngx_resolve_start(rs->conf->resolver, NULL);
    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "resolver failed to start");
        goto done;
    }

    ctx->name = rs->host;
    ctx->handler = ngx_http_shared_session_redis_resolve_handler;
    ctx->data = rs;
    ctx->timeout = rs->conf->resolver_timeout;

    rs->resolver_ctx = ctx;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "shared session: redis %V resolving", &rs->name);

    if (ngx_resolve_name(ctx) != NGX_OK) {
        rs->resolver_ctx = NULL;
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "resolver failed");
    }

done:

    /* a failure to start closed it and set the cause */

    return rs->state == NGX_HTTP_SHARED_SESSION_REDIS_IDLE ? NGX_ERROR
                                                           : NGX_OK;
}


static void
ngx_http_shared_session_redis_resolve_handler(ngx_resolver_ctx_t *ctx)
{
    ngx_http_shared_session_redis_t  *rs = ctx->data;

    u_char     text[NGX_SOCKADDR_STRLEN];
    ngx_str_t  old, addr;
    u_char     old_text[NGX_SOCKADDR_STRLEN];

    rs->resolver_ctx = NULL;

    if (ctx->state) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "%V could not be resolved "
                                            "(%i: %s)", &ctx->name,
                                            ctx->state,
                                            ngx_resolver_strerror(ctx->state));
        ngx_resolve_name_done(ctx);
        return;
    }

    old.len = 0;
    old.data = old_text;

    if (rs->socklen) {
        old.len = ngx_sock_ntop(&rs->sockaddr.sockaddr, rs->socklen,
                                old_text, NGX_SOCKADDR_STRLEN, 1);
    }

    ngx_memcpy(&rs->sockaddr, ctx->addrs[0].sockaddr, ctx->addrs[0].socklen);
    rs->socklen = ctx->addrs[0].socklen;
    ngx_inet_set_port(&rs->sockaddr.sockaddr, rs->port);

    ngx_resolve_name_done(ctx);

    addr.data = text;
    addr.len = ngx_sock_ntop(&rs->sockaddr.sockaddr, rs->socklen, text,
                             NGX_SOCKADDR_STRLEN, 1);

    if (addr.len != old.len || ngx_strncmp(text, old_text, old.len) != 0) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "shared session: redis %V resolved to %V",
                      &rs->name, &addr);
    }

    ngx_http_shared_session_redis_connect_peer(rs);
}


static void
ngx_http_shared_session_redis_connect_peer(ngx_http_shared_session_redis_t *rs)
{
    int                     keepalive;
    u_char                 *p;
    ngx_int_t               rc;
    ngx_err_t               err;
    ngx_connection_t       *c;
    ngx_peer_connection_t  *pc;
    u_char                  text[NGX_MAX_ERROR_STR];

    pc = &rs->peer;
    ngx_memzero(pc, sizeof(ngx_peer_connection_t));

    pc->sockaddr = &rs->sockaddr.sockaddr;
    pc->socklen = rs->socklen;
    pc->name = &rs->name;
    pc->get = ngx_event_get_peer;
    /*
     * What nginx itself logs about the connection (connect(), SSL and
     * socket errors) names the Redis server, as upstream's log->action does
     */

    rs->log = *ngx_cycle->log;
    rs->log.handler = ngx_http_shared_session_redis_log_error;
    rs->log.data = rs;
    rs->log.action = "talking to redis";

    pc->log = &rs->log;
    pc->log_error = NGX_ERROR_INFO;
    pc->tries = 1;

    rs->state = NGX_HTTP_SHARED_SESSION_REDIS_CONNECTING;

    rc = ngx_event_connect_peer(pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        err = ngx_socket_errno;
        pc->connection = NULL;

        if (rc == NGX_DECLINED && err) {
            p = ngx_strerror(err, text, NGX_MAX_ERROR_STR);
            ngx_http_shared_session_redis_close(rs, NGX_LOG_DEBUG,
                                                "connect failed: %*s",
                                                p - text, text);
        } else {
            ngx_http_shared_session_redis_close(rs, NGX_LOG_DEBUG,
                                                "connect failed");
        }

        return;
    }

    c = pc->connection;

#if (NGX_SSL)
    if (rs->conf->ssl) {
        /* where ngx_ssl keeps its per-connection state */

        c->pool = ngx_create_pool(1024, c->log);
        if (c->pool == NULL) {
            ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                                "out of memory");
            return;
        }
    }
#endif

    c->data = rs;
    c->read->handler = ngx_http_shared_session_redis_read_handler;
    c->write->handler = ngx_http_shared_session_redis_write_handler;
    c->log_error = NGX_ERROR_INFO;

    if (rs->sockaddr.sockaddr.sa_family != AF_UNIX) {
        /* a peer gone without a word is noticed even when idle */

        keepalive = 1;

        if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE,
                       (const void *) &keepalive, sizeof(int))
            == -1)
        {
            ngx_log_error(NGX_LOG_WARN, c->log, ngx_socket_errno,
                          "shared session: setsockopt(SO_KEEPALIVE) failed");
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "shared session: redis %V connecting, fd:%d",
                   &rs->name, c->fd);

    if (rc == NGX_OK) {
        /* connected at once (a unix socket, usually) */
        ngx_http_shared_session_redis_write_handler(c->write);
    }
}


static void
ngx_http_shared_session_redis_connected(ngx_http_shared_session_redis_t *rs)
{
    ngx_queue_t                          *q;
    ngx_connection_t                     *c;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    c = rs->peer.connection;

    if (rs->connect_timer.timer_set) {
        ngx_del_timer(&rs->connect_timer);
    }

    rs->state = NGX_HTTP_SHARED_SESSION_REDIS_CONNECTED;
    ngx_http_shared_session_metrics_node_event(rs,
                                      NGX_HTTP_SHARED_SESSION_METRIC_CONNECTED);

    /* what was queued meanwhile is sent now; the watchdog counts from here */

    for (q = ngx_queue_head(&rs->commands);
         q != ngx_queue_sentinel(&rs->commands);
         q = ngx_queue_next(q))
    {
        cmd = ngx_queue_data(q, ngx_http_shared_session_redis_cmd_t, queue);

        if (!cmd->held) {
            cmd->sent = ngx_current_msec;
        }
    }

    ngx_http_shared_session_redis_watch(rs);

    c->read->handler = ngx_http_shared_session_redis_read_handler;
    c->write->handler = ngx_http_shared_session_redis_write_handler;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "shared session: redis %V connected", &rs->name);

    ngx_http_shared_session_redis_flush(rs);

    if (rs->state == NGX_HTTP_SHARED_SESSION_REDIS_CONNECTED
        && c->read->ready)
    {
        ngx_http_shared_session_redis_read_handler(c->read);
    }
}


#if (NGX_SSL)

static void
ngx_http_shared_session_redis_tls_handshake(
    ngx_http_shared_session_redis_t *rs)
{
    ngx_int_t          rc;
    ngx_str_t         *name;
    ngx_uint_t         address;
    ngx_connection_t  *c;

    c = rs->peer.connection;

    if (ngx_ssl_create_connection(rs->conf->ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "TLS connection setup failed");
        return;
    }

    /*
     * c->send() writes from rs->out, which moves when commands are added
     * (ngx_http_shared_session_redis_reserve): a write that waited for
     * the socket is retried from the new address, with the same bytes
     * first.
     */

    SSL_set_mode(c->ssl->connection, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    name = ngx_http_shared_session_redis_tls_name(rs, &address);

#ifdef SSL_CTRL_SET_TLSEXT_HOSTNAME

    /* no SNI for an IP address (RFC 6066); both strings are NUL-ended */

    if (!address
        && SSL_set_tlsext_host_name(c->ssl->connection, (char *) name->data)
           == 0)
    {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "TLS server name \"%V\" "
                                            "not set", name);
        return;
    }

#endif

    rs->state = NGX_HTTP_SHARED_SESSION_REDIS_HANDSHAKE;

    /* the handshake's failures are the cause: nginx logs the details */
    c->log_error = NGX_ERROR_ERR;

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_shared_session_redis_tls_handshaked;
        return;
    }

    ngx_http_shared_session_redis_tls_handshaked(c);
}


static void
ngx_http_shared_session_redis_tls_handshaked(ngx_connection_t *c)
{
    long                              rc;
    ngx_str_t                        *name;
    ngx_uint_t                        address;
    ngx_http_shared_session_redis_t  *rs;

    rs = c->data;

    c->log_error = NGX_ERROR_INFO;

    if (!c->ssl->handshaked) {
        ngx_http_shared_session_metrics_node_event(rs,
                                    NGX_HTTP_SHARED_SESSION_METRIC_TLS_FAILURE);
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "TLS handshake failed");
        return;
    }

    if (rs->conf->tls_verify) {
        name = ngx_http_shared_session_redis_tls_name(rs, &address);

        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            ngx_http_shared_session_metrics_node_event(rs,
                                    NGX_HTTP_SHARED_SESSION_METRIC_TLS_FAILURE);
            ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "TLS certificate verify failed: "
                                            "(%l:%s)", rc,
                                            X509_verify_cert_error_string(rc));
            return;
        }

        if (ngx_http_shared_session_redis_tls_check_name(c, name, address)
            != NGX_OK)
        {
            ngx_http_shared_session_metrics_node_event(rs,
                                    NGX_HTTP_SHARED_SESSION_METRIC_TLS_FAILURE);
            ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "TLS certificate does not match "
                                            "\"%V\"", name);
            return;
        }
    }

    ngx_http_shared_session_redis_connected(rs);
}



/*
 * The name sent as SNI and verified: shared_session_redis_tls_server_name,
 * or the server's host.  "address": whether it is an IP address.
 */

static ngx_str_t *
ngx_http_shared_session_redis_tls_name(ngx_http_shared_session_redis_t *rs,
    ngx_uint_t *address)
{
    ngx_str_t  *name;

    name = rs->conf->tls_server_name.len ? &rs->conf->tls_server_name
                                         : &rs->host;

    *address = ngx_inet_addr(name->data, name->len) != INADDR_NONE
               || ngx_strlchr(name->data, name->data + name->len, ':');

    return name;
}


/*
 * ngx_ssl_check_host() matches DNS names only: a Redis configured by IP
 * address is checked against the certificate's IP addresses instead.
 */

static ngx_int_t
ngx_http_shared_session_redis_tls_check_name(ngx_connection_t *c,
    ngx_str_t *name, ngx_uint_t address)
{
    X509  *cert;
    int    rc;

    if (!address) {
        return ngx_ssl_check_host(c, name);
    }

    cert = SSL_get_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return NGX_ERROR;
    }

    /* name->data is NUL-ended: the host of a server, or a directive value */

    rc = X509_check_ip_asc(cert, (char *) name->data, 0);

    X509_free(cert);

    return rc == 1 ? NGX_OK : NGX_ERROR;
}

#endif


/*
 * AUTH, SELECT and SCRIPT LOAD, pipelined; other commands are sent once
 * they all succeeded.  NGX_ERROR: one could not be queued (out of memory).
 */

static ngx_int_t
ngx_http_shared_session_redis_init(ngx_http_shared_session_redis_t *rs)
{
    int                                    argc;
    u_char                                 db[NGX_INT_T_LEN];
    size_t                                 argvlen[3];
    ngx_uint_t                             i;
    const char                            *argv[3];
    ngx_http_shared_session_redis_conf_t  *conf;

    conf = rs->conf;
    rs->init_pending = 0;

    if (conf->password.len) {
        argc = 0;
        argv[argc] = "AUTH";
        argvlen[argc++] = 4;

        if (conf->username.len) {
            argv[argc] = (const char *) conf->username.data;
            argvlen[argc++] = conf->username.len;
        }

        argv[argc] = (const char *) conf->password.data;
        argvlen[argc++] = conf->password.len;

        if (ngx_http_shared_session_redis_init_command(rs, "AUTH", argc, argv,
                                                       argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (conf->database) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", conf->database) - db;

        if (ngx_http_shared_session_redis_init_command(rs, "SELECT", 2, argv,
                                                       argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < conf->nscripts; i++) {
        argv[0] = "SCRIPT";
        argvlen[0] = 6;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = (const char *) conf->scripts[i].data;
        argvlen[2] = conf->scripts[i].len;

        if (ngx_http_shared_session_redis_init_command(rs, "SCRIPT LOAD", 3,
                                                       argv, argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (rs->init_pending == 0) {
        rs->ready = 1;
    }

    return NGX_OK;
}


/*
 * Init commands have no timer of their own: the watchdog closes the
 * connection if their replies do not come within the connect timeout.
 */

static ngx_int_t
ngx_http_shared_session_redis_init_command(ngx_http_shared_session_redis_t *rs,
    const char *name, int argc, const char **argv, const size_t *argvlen)
{
    ngx_http_shared_session_redis_cmd_t  *cmd;

    cmd = ngx_http_shared_session_redis_queue(rs, ngx_cycle->log, argc, argv,
                                argvlen,
                                ngx_http_shared_session_redis_resp_len(argc,
                                                                   argvlen),
                                name);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cmd->wait = rs->conf->connect_timeout;
    rs->init_pending++;

    return NGX_OK;
}


static void
ngx_http_shared_session_redis_init_reply(
    ngx_http_shared_session_redis_cmd_t *cmd, redisReply *reply)
{
    ngx_http_shared_session_redis_t  *rs;

    rs = cmd->rs;

    if (reply->type == REDIS_REPLY_ERROR) {
        /* the commands held fail with this cause, never sent */
        ngx_http_shared_session_metrics_node_init_failed(rs, cmd->init);
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR, "%s failed: %*s",
                                            cmd->init, (size_t) reply->len,
                                            reply->str);
        return;
    }

    if (--rs->init_pending == 0) {
        rs->ready = 1;
        rs->failures = 0;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "shared session: redis %V ready", &rs->name);

        ngx_http_shared_session_redis_release(rs);
    }
}


/*
 * The setup succeeded: the commands held are sent, in the order they
 * came, but for those whose request went away or timed out meanwhile,
 * which are dropped unsent.
 */

static void
ngx_http_shared_session_redis_release(ngx_http_shared_session_redis_t *rs)
{
    size_t                                len;
    ngx_queue_t                          *q, *next;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    if (rs->nheld == 0) {
        return;
    }

    len = 0;

    for (q = ngx_queue_head(&rs->commands);
         q != ngx_queue_sentinel(&rs->commands);
         q = ngx_queue_next(q))
    {
        cmd = ngx_queue_data(q, ngx_http_shared_session_redis_cmd_t, queue);

        if (cmd->held && cmd->handler) {
            len += cmd->len;
        }
    }

    if (ngx_http_shared_session_redis_reserve(&rs->out, len, ngx_cycle->log)
        != NGX_OK)
    {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR, "out of memory");
        return;
    }

    for (q = ngx_queue_head(&rs->commands);
         q != ngx_queue_sentinel(&rs->commands);
         q = next)
    {
        next = ngx_queue_next(q);
        cmd = ngx_queue_data(q, ngx_http_shared_session_redis_cmd_t, queue);

        if (!cmd->held) {
            continue;
        }

        rs->nheld--;

        if (cmd->handler == NULL) {
            ngx_queue_remove(q);
            ngx_http_shared_session_redis_cmd_free(rs, cmd);
            ngx_http_shared_session_metrics_node_unqueued(rs, 1);
            continue;
        }

        rs->out.last = ngx_cpymem(rs->out.last, rs->held.start + cmd->start,
                                  cmd->len);
        cmd->held = 0;
        cmd->sent = ngx_current_msec;
        rs->queued++;
    }

    rs->held.pos = rs->held.start;
    rs->held.last = rs->held.start;

    ngx_http_shared_session_redis_post_write(rs);
    ngx_http_shared_session_redis_watch(rs);
}


static void
ngx_http_shared_session_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_shared_session_redis_t  *rs;

    rs = ev->data;

    ngx_http_shared_session_metrics_node_event(rs,
                                NGX_HTTP_SHARED_SESSION_METRIC_CONNECT_TIMEOUT);

    if (rs->state == NGX_HTTP_SHARED_SESSION_REDIS_RESOLVING) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                            "%V could not be resolved "
                                            "(timed out)", &rs->host);
        return;
    }

    ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                          rs->state == NGX_HTTP_SHARED_SESSION_REDIS_HANDSHAKE
                          ? "TLS handshake timed out" : "connect timed out");
}


static void
ngx_http_shared_session_redis_cmd_timeout(ngx_event_t *ev)
{
    ngx_http_shared_session_redis_cmd_t  *cmd = ev->data;

    ngx_str_t                                 error;
    ngx_http_shared_session_redis_t          *rs;
    ngx_http_shared_session_redis_handler_pt  handler;

    rs = cmd->rs;
    handler = cmd->handler;
    cmd->handler = NULL;

    ngx_http_shared_session_metrics_node_event(rs,
                                   NGX_HTTP_SHARED_SESSION_METRIC_READ_TIMEOUT);

    ngx_str_set(&error, "timed out");

    if (handler) {
        handler(cmd->data, NULL, &error);
    }

    /*
     * Replies come in order: if this command is the oldest one waiting and
     * was sent a whole "wait" ago, or nothing at all arrived for that long,
     * the connection is stalled (a paused or vanished peer) and every
     * command behind this one would time out too.  A retry sent with the
     * rest of its request's time does not make a healthy peer stalled.
     */

    if (rs->state != NGX_HTTP_SHARED_SESSION_REDIS_IDLE
        && ((ngx_queue_head(&rs->commands) == &cmd->queue
             && ngx_current_msec - cmd->sent >= cmd->wait)
            || ngx_current_msec - rs->progress >= cmd->wait))
    {
        /* not answering: back off as after a failed connect */
        rs->ready = 0;
        ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN, "timed out");
    }
}


/*
 * The watchdog: a timer on the oldest command sent, whatever became of
 * its request.  A command's own timer goes with its request (a client
 * that leaves cancels it), so without this a paused Redis whose clients
 * all left would keep the connection, and every command queued on it,
 * until TCP gives up.  Set again as the oldest command changes.
 */

static void
ngx_http_shared_session_redis_watch(ngx_http_shared_session_redis_t *rs)
{
    ngx_msec_int_t                        left;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    if (rs->state != NGX_HTTP_SHARED_SESSION_REDIS_CONNECTED
        || rs->queued == 0)
    {
        /* a timer still set finds nothing to do */
        return;
    }

    /* the commands held for the setup come after those sent */

    cmd = ngx_queue_data(ngx_queue_head(&rs->commands),
                         ngx_http_shared_session_redis_cmd_t, queue);

    left = (ngx_msec_int_t) (cmd->sent + cmd->wait - ngx_current_msec);

    ngx_add_timer(&rs->watchdog, left > 0 ? (ngx_msec_t) left : 1);
}


static void
ngx_http_shared_session_redis_watchdog(ngx_event_t *ev)
{
    ngx_http_shared_session_redis_t      *rs;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    rs = ev->data;

    if (rs->state != NGX_HTTP_SHARED_SESSION_REDIS_CONNECTED
        || rs->queued == 0)
    {
        return;
    }

    cmd = ngx_queue_data(ngx_queue_head(&rs->commands),
                         ngx_http_shared_session_redis_cmd_t, queue);

    if (ngx_current_msec - cmd->sent < cmd->wait) {
        /* answered meanwhile: the next one is watched */
        ngx_http_shared_session_redis_watch(rs);
        return;
    }

    /* stalled: back off as after a failed connect */
    rs->ready = 0;
    ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN, "timed out");
}


static u_char *
ngx_http_shared_session_redis_log_error(ngx_log_t *log, u_char *buf,
    size_t len)
{
    ngx_http_shared_session_redis_t  *rs;

    rs = log->data;

    if (log->action == NULL) {
        return buf;
    }

    return ngx_snprintf(buf, len, " while %s %V", log->action, &rs->name);
}


static void
ngx_http_shared_session_redis_read_handler(ngx_event_t *rev)
{
    size_t                            bytes;
    ngx_int_t                         rc;
    ngx_uint_t                        handed;
    ngx_connection_t                 *c;
    ngx_http_shared_session_redis_t  *rs;

    c = rev->data;
    rs = c->data;

    if (rs->state == NGX_HTTP_SHARED_SESSION_REDIS_CONNECTING) {
        /* completes or fails the connect, as the write handler would */
        ngx_http_shared_session_redis_write_handler(c->write);
        return;
    }

    if (rev->posted) {
        /*
         * Reported by epoll while posted by the last turn (below): read
         * once per turn, when the posted events run.
         */
        return;
    }

    bytes = 0;
    handed = 0;

    for ( ;; ) {

        if (bytes >= NGX_HTTP_SHARED_SESSION_REDIS_TURN_BYTES
            || handed >= NGX_HTTP_SHARED_SESSION_REDIS_TURN_REPLIES)
        {
            /* the rest on the next turn, after the other events */
            ngx_post_event(rev, &ngx_posted_next_events);
            break;
        }

        rc = ngx_http_shared_session_redis_receive(rs, &bytes);

        if (rc == NGX_AGAIN) {
            break;
        }

        if (rc == NGX_ERROR) {
            return;
        }

        if (ngx_http_shared_session_redis_dispatch(rs, &handed) != NGX_OK) {
            return;
        }
    }

    if (handed) {
        ngx_http_shared_session_redis_watch(rs);
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "adding read event failed");
    }
}


/*
 * One recv() into the reader.  NGX_AGAIN: nothing to read now; NGX_ERROR:
 * the connection is closed.
 */

static ngx_int_t
ngx_http_shared_session_redis_receive(ngx_http_shared_session_redis_t *rs,
    size_t *bytes)
{
    ssize_t            n;
    ngx_connection_t  *c;
    u_char             buf[NGX_HTTP_SHARED_SESSION_REDIS_READ];

    c = rs->peer.connection;

    n = c->recv(c, buf, sizeof(buf));

    if (n == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (n == 0) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                "connection lost: closed by the server");
        return NGX_ERROR;
    }

    if (n == NGX_ERROR) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                            "connection lost: %s",
                                ngx_http_shared_session_redis_io(c,
                                                    "read failed"));
        return NGX_ERROR;
    }

    *bytes += n;
    ngx_http_shared_session_metrics_node_bytes(rs, n, 0);

    /* the reader copies what it is fed */

    if (redisReaderFeed(rs->reply.reader, (char *) buf, n) != REDIS_OK) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                            "out of memory");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Takes the complete replies from the reader and hands each to its
 * command, in order; adds their number to *handed.  NGX_ERROR: the
 * connection is closed (c and the reader are gone).
 */

static ngx_int_t
ngx_http_shared_session_redis_dispatch(ngx_http_shared_session_redis_t *rs,
    ngx_uint_t *handed)
{
    ngx_int_t     rc;
    ngx_uint_t    i, generation;

    generation = rs->generation;

    rc = ngx_http_shared_session_redis_replies(rs);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* the complete replies are taken: what is left is the one begun */

    if (ngx_http_shared_session_reply_too_large(&rs->reply)) {
        /* the replies taken are the arena's, reused when it is closed */
        rs->nreplies = 0;

        rs->ready = 0;
        ngx_http_shared_session_metrics_node_event(rs,
                             NGX_HTTP_SHARED_SESSION_METRIC_PROTOCOL_ERROR);
        ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                            "sent a reply over 64M");
        return NGX_ERROR;
    }

    *handed += rs->nreplies;

    rs->handing++;

    for (i = 0; i < rs->nreplies; i++) {
        ngx_http_shared_session_redis_hand(rs, rs->replies[i], generation);

        if (rs->generation != generation) {
            /* closed meanwhile: c and the reader are gone */
            break;
        }
    }

    rs->nreplies = 0;

    if (--rs->handing == 0) {
        /* no reply is alive now, but the one being read, if any */
        ngx_http_shared_session_reply_reset(&rs->reply);
    }

    if (rs->generation != generation) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        /* formatted before the reader is freed */
        ngx_http_shared_session_metrics_node_event(rs,
                             NGX_HTTP_SHARED_SESSION_METRIC_PROTOCOL_ERROR);
        ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                            "connection lost: %s",
                                            rs->reply.reader->errstr);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Hands one reply to the oldest command, whose record is then reused; a
 * READONLY answer closes the connection (rs->generation then differs from
 * generation).
 */

static void
ngx_http_shared_session_redis_hand(ngx_http_shared_session_redis_t *rs,
    redisReply *reply, ngx_uint_t generation)
{
    ngx_uint_t                            readonly;
    ngx_queue_t                          *q;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    q = ngx_queue_head(&rs->commands);
    cmd = ngx_queue_data(q, ngx_http_shared_session_redis_cmd_t, queue);
    ngx_queue_remove(q);
    rs->queued--;

    rs->progress = ngx_current_msec;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    ngx_http_shared_session_metrics_node_reply(rs, cmd->queued, reply);

    if (cmd->init) {
        ngx_http_shared_session_redis_init_reply(cmd, reply);

    } else if (cmd->handler) {
        cmd->handler(cmd->data, reply, NULL);
    }

    ngx_http_shared_session_metrics_node_reply(NULL, 0, NULL);

    readonly = (rs->generation == generation
                && reply->type == REDIS_REPLY_ERROR
                && reply->len >= 8
                && ngx_strncmp(reply->str, "READONLY", 8) == 0);

    /* the reply is the arena's: dispatch() reuses it when all are handed */

    ngx_http_shared_session_redis_cmd_free(rs, cmd);
    ngx_http_shared_session_redis_burst_done(rs);

    if (readonly) {
        /*
         * A primary demoted to a replica (a failover that moved the name
         * elsewhere): the next connection resolves again.
         */

        ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                        "answered READONLY (a replica now)");
    }
}


/*
 * Takes the complete replies out of the reader, all of them before any is
 * handled: when there are more than commands waiting, which reply belongs
 * to which command is unknown, and none is handed out (NGX_ERROR, closed).
 * NGX_DECLINED: a protocol error follows the replies taken, the cause is
 * in the reader's errstr.
 */

static ngx_int_t
ngx_http_shared_session_redis_replies(ngx_http_shared_session_redis_t *rs)
{
    void         *r, **replies;
    size_t        len;
    ngx_uint_t    n;
    redisReply   *extra;
    redisReader *reader;

    reader = rs->reply.reader;

    for ( ;; ) {
        if (redisReaderGetReply(reader, &r) != REDIS_OK) {

            if (reader->err == REDIS_ERR_OOM) {
                /* a hostile peer: back off as after a failed connect */
                rs->ready = 0;
                ngx_http_shared_session_metrics_node_event(rs,
                                 NGX_HTTP_SHARED_SESSION_METRIC_PROTOCOL_ERROR);
                ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                        "sent an invalid reply: an array over 16384 elements");
                goto failed;
            }

            /*
             * A protocol error: the replies complete before it are good,
             * and handed out; then the connection is closed.
             */

            return NGX_DECLINED;
        }

        if (r == NULL) {
            return NGX_OK;
        }

        ngx_http_shared_session_reply_taken(&rs->reply);

        if (rs->nreplies == rs->nalloc) {
            n = rs->nalloc ? 2 * rs->nalloc : 64;

            replies = ngx_alloc(n * sizeof(void *), ngx_cycle->log);
            if (replies == NULL) {
                ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                                    "out of memory");
                goto failed;
            }

            if (rs->nreplies) {
                ngx_memcpy(replies, rs->replies, rs->nreplies * sizeof(void *));
            }

            ngx_free(rs->replies);
            rs->replies = (redisReply **) replies;
            rs->nalloc = n;
        }

        rs->replies[rs->nreplies++] = r;

        if (rs->nreplies > rs->queued) {
            extra = r;
            len = (extra->type == REDIS_REPLY_ERROR)
                  ? (size_t) ngx_min(extra->len, 128) : 0;

            rs->ready = 0;
            ngx_http_shared_session_metrics_node_event(rs,
                                 NGX_HTTP_SHARED_SESSION_METRIC_PROTOCOL_ERROR);
            ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                                "sent an unexpected reply%s%*s",
                                                len ? ": " : "", len,
                                                extra->str);
            goto failed;
        }
    }

failed:

    /* the replies taken go with the arena, reset by the close */

    rs->nreplies = 0;

    return NGX_ERROR;
}


static void
ngx_http_shared_session_redis_write_handler(ngx_event_t *wev)
{
    int                               err;
    u_char                           *p;
    socklen_t                         len;
    ngx_connection_t                 *c;
    ngx_http_shared_session_redis_t  *rs;
    u_char                            text[NGX_MAX_ERROR_STR];

    c = wev->data;
    rs = c->data;

    if (rs->state == NGX_HTTP_SHARED_SESSION_REDIS_CONNECTING) {

        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            p = ngx_strerror(err, text, NGX_MAX_ERROR_STR);
            ngx_http_shared_session_redis_close(rs, NGX_LOG_DEBUG,
                                                "connect failed: %*s",
                                                p - text, text);
            return;
        }

#if (NGX_SSL)
        if (rs->conf->ssl) {
            ngx_http_shared_session_redis_tls_handshake(rs);
            return;
        }
#endif

        ngx_http_shared_session_redis_connected(rs);
        return;
    }

    if (rs->state == NGX_HTTP_SHARED_SESSION_REDIS_CONNECTED) {
        ngx_http_shared_session_redis_flush(rs);
    }
}


static void
ngx_http_shared_session_redis_flush(ngx_http_shared_session_redis_t *rs)
{
    ssize_t            n;
    ngx_buf_t         *b;
    ngx_connection_t  *c;

    c = rs->peer.connection;
    b = &rs->out;

    while (b->pos < b->last) {

        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR) {
            ngx_http_shared_session_redis_close(rs, NGX_LOG_WARN,
                                                "connection lost: %s",
                                    ngx_http_shared_session_redis_io(c,
                                                        "write failed"));
            return;
        }

        b->pos += n;
        ngx_http_shared_session_metrics_node_bytes(rs, 0, n);
    }

    if (b->pos == b->last) {
        b->pos = b->start;
        b->last = b->start;
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_shared_session_redis_close(rs, NGX_LOG_ERR,
                                            "adding write event failed");
    }
}


/*
 * Closes the connection (or stops resolving), and fails every command that
 * was waiting on it with the cause, which is also logged at "level" once.
 * The state is clean again before the first handler runs: a handler may
 * send at once (to this server, which then backs off or reconnects).
 */

static void
ngx_http_shared_session_redis_close(ngx_http_shared_session_redis_t *rs,
    ngx_uint_t level, const char *fmt, ...)
{
    u_char            *p;
    va_list            args;
    ngx_str_t          error;
    ngx_pool_t        *pool;
    ngx_queue_t        commands;
    ngx_connection_t  *c;

    va_start(args, fmt);
    p = ngx_vslprintf(rs->error, rs->error + sizeof(rs->error), fmt, args);
    va_end(args);

    rs->error_len = p - rs->error;
    rs->generation++;

    if (level != NGX_LOG_DEBUG) {
        ngx_log_error(level, ngx_cycle->log, 0,
                      "shared session: redis %V %*s%s", &rs->name,
                      rs->error_len, rs->error,
                      rs->state == NGX_HTTP_SHARED_SESSION_REDIS_CONNECTED
                      ? ", closing connection" : "");
    }

    if (rs->resolver_ctx) {
        ngx_resolve_name_done(rs->resolver_ctx);
        rs->resolver_ctx = NULL;
    }

    c = rs->peer.connection;

    if (c) {
#if (NGX_SSL)
        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;

            if (!rs->exiting) {
                /*
                 * An error or a stall: sending close_notify may block, and
                 * ngx_ssl_shutdown() would then keep the SSL object for a
                 * shutdown handler that never runs (the connection is
                 * closed below), as ngx_http_upstream_next() avoids.
                 */
                c->ssl->no_send_shutdown = 1;
            }

            if (ngx_ssl_shutdown(c) == NGX_AGAIN) {
                /* even at exit, nothing waits: drop the alert */
                c->ssl->no_send_shutdown = 1;
                (void) ngx_ssl_shutdown(c);
            }
        }
#endif
        pool = c->pool;
        ngx_close_connection(c);
        rs->peer.connection = NULL;

        if (pool) {
            ngx_destroy_pool(pool);
        }
    }

    if (rs->connect_timer.timer_set) {
        ngx_del_timer(&rs->connect_timer);
    }

    if (rs->watchdog.timer_set) {
        ngx_del_timer(&rs->watchdog);
    }

    ngx_http_shared_session_reply_reader_free(&rs->reply);

    if (rs->handing == 0) {
        /* else when the replies being handed out were */
        ngx_http_shared_session_reply_reset(&rs->reply);
    }

    rs->out.pos = rs->out.start;
    rs->out.last = rs->out.start;
    rs->held.pos = rs->held.start;
    rs->held.last = rs->held.start;

    rs->state = NGX_HTTP_SHARED_SESSION_REDIS_IDLE;

    if (rs->ready) {
        /* a working connection went away: reconnect on the next request */
        rs->ready = 0;
        rs->failures = 0;

    } else {
        ngx_http_shared_session_redis_backoff(rs);
    }

    ngx_http_shared_session_metrics_node_closed(rs, rs->failures,
                                                rs->queued + rs->nheld);

    if (ngx_queue_empty(&rs->commands)) {
        return;
    }

    /* the queue moves to the stack: handlers may queue new commands */

    commands = rs->commands;
    commands.next->prev = &commands;
    commands.prev->next = &commands;
    ngx_queue_init(&rs->commands);
    rs->queued = 0;
    rs->nheld = 0;

    error.data = rs->error;
    error.len = rs->error_len;

    ngx_http_shared_session_redis_fail(&commands, &error);

    ngx_http_shared_session_redis_burst_done(rs);
}


static void
ngx_http_shared_session_redis_fail(ngx_queue_t *commands, ngx_str_t *error)
{
    u_char                                    buf[
                                          NGX_HTTP_SHARED_SESSION_REDIS_ERRLEN];
    ngx_str_t                                 cause;
    ngx_queue_t                              *q;
    ngx_http_shared_session_redis_cmd_t      *cmd;
    ngx_http_shared_session_redis_handler_pt  handler;

    /* the server's buffer may be rewritten by a handler that sends */

    cause.data = buf;
    cause.len = ngx_cpymem(buf, error->data, error->len) - buf;

    while (!ngx_queue_empty(commands)) {
        q = ngx_queue_head(commands);
        cmd = ngx_queue_data(q, ngx_http_shared_session_redis_cmd_t, queue);
        ngx_queue_remove(q);

        if (cmd->timer.timer_set) {
            ngx_del_timer(&cmd->timer);
        }

        handler = cmd->handler;

        if (handler && cmd->init == NULL) {
            handler(cmd->data, NULL, &cause);
        }

        ngx_http_shared_session_redis_cmd_free(cmd->rs, cmd);
    }
}


/* 100 ms after the first failure, doubling up to 1 s */

static void
ngx_http_shared_session_redis_backoff(ngx_http_shared_session_redis_t *rs)
{
    ngx_msec_t  delay;

    rs->failures++;

    delay = (ngx_msec_t) NGX_HTTP_SHARED_SESSION_REDIS_BACKOFF
            << ngx_min(rs->failures - 1, 4);

    rs->retry_at = ngx_current_msec
                   + ngx_min(delay, NGX_HTTP_SHARED_SESSION_REDIS_BACKOFF_MAX);
}


static void
ngx_http_shared_session_redis_set_error(ngx_http_shared_session_redis_t *rs,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(rs->error, rs->error + sizeof(rs->error), fmt, args);
    va_end(args);

    rs->error_len = p - rs->error;
}


/* the connection interface (ngx_http_shared_session_conn.h) of one server */

static void *
ngx_http_shared_session_redis_conn_send(void *peer, ngx_log_t *log,
    ngx_msec_t timeout, ngx_uint_t key, int argc, const char **argv,
    const size_t *argvlen, ngx_http_shared_session_redis_handler_pt handler,
    void *data, ngx_str_t *error)
{
    return ngx_http_shared_session_redis_send(peer, log, timeout, timeout,
                                              argc, argv, argvlen, handler,
                                              data, error);
}


static void
ngx_http_shared_session_redis_conn_cancel(void *cmd)
{
    ngx_http_shared_session_redis_cancel(cmd);
}


static ngx_str_t *
ngx_http_shared_session_redis_conn_name(void *peer)
{
    return ngx_http_shared_session_redis_name(peer);
}


ngx_http_shared_session_conn_ops_t
    ngx_http_shared_session_redis_conn_ops =
{
    ngx_http_shared_session_redis_conn_send,
    ngx_http_shared_session_redis_conn_cancel,
    ngx_http_shared_session_redis_conn_name,
    NGX_HTTP_SHARED_SESSION_CONN_ONE_SERVER
};
