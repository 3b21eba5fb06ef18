
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_shared_session_redis.h"


/* exported by hiredis 0.14 (async.c) but not declared in its async.h */
void redisProcessCallbacks(redisAsyncContext *ac);


/* where commands are formatted: hiredis copies them at once */
static ngx_str_t                   ngx_http_shared_session_redis_buf;

static void *ngx_http_shared_session_redis_count_string(
    const redisReadTask *task, char *str, size_t len);
static void *ngx_http_shared_session_redis_count_array(
    const redisReadTask *task, int elements);
static void *ngx_http_shared_session_redis_count_integer(
    const redisReadTask *task, long long value);
static void *ngx_http_shared_session_redis_count_nil(
    const redisReadTask *task);
static void *ngx_http_shared_session_redis_count_value(
    const redisReadTask *task);
static void ngx_http_shared_session_redis_count_free(void *obj);


/*
 * The reader that only counts replies builds no objects: every value is
 * this one; the text of a top-level error reply is kept for the log.
 */
static u_char                      ngx_http_shared_session_redis_error[128];
static ngx_str_t                   ngx_http_shared_session_redis_counted;

static redisReplyObjectFunctions   ngx_http_shared_session_redis_count_fn = {
    ngx_http_shared_session_redis_count_string,
    ngx_http_shared_session_redis_count_array,
    ngx_http_shared_session_redis_count_integer,
    ngx_http_shared_session_redis_count_nil,
    ngx_http_shared_session_redis_count_free
};

static redisReplyObjectFunctions   ngx_http_shared_session_redis_reply_fn;
static void                     *(*ngx_http_shared_session_redis_array)(
                                    const redisReadTask *task, int elements);


#define NGX_HTTP_SHARED_SESSION_REDIS_PORT         6379
#define NGX_HTTP_SHARED_SESSION_REDIS_BACKOFF      100
#define NGX_HTTP_SHARED_SESSION_REDIS_BACKOFF_MAX  1000
#define NGX_HTTP_SHARED_SESSION_REDIS_ERRLEN       256
#define NGX_HTTP_SHARED_SESSION_REDIS_MAX_BUFFER   (64 * 1024 * 1024)

/* the scripts' replies have a dozen elements: far larger ones are hostile */
#define NGX_HTTP_SHARED_SESSION_REDIS_MAX_ELEMENTS 1024


struct ngx_http_shared_session_redis_s {
    ngx_str_t                  name;         /* for logs: "host:port" */
    ngx_str_t                  peer;         /* address or path, NUL-ended */
    int                        port;
    ngx_uint_t                 unix_socket;
    ngx_str_t                  username;
    ngx_str_t                  password;
    ngx_int_t                  database;
    ngx_flag_t                 scripts_wanted;
    ngx_msec_t                 connect_timeout;
    ngx_str_t                 *scripts;
    ngx_uint_t                 nscripts;

    /* this worker's connection */

    redisAsyncContext         *ac;
    ngx_connection_t          *connection;
    redisReader               *replies;      /* counts complete replies */
    ngx_uint_t                 inflight;     /* callbacks hiredis holds */
    ngx_event_t                connect_timer;
    ngx_queue_t                commands;
    ngx_uint_t                 init_pending;
    ngx_uint_t                 ready;
    ngx_uint_t                 failures;
    ngx_msec_t                 retry_at;
    ngx_msec_t                 progress;     /* last reply, or first send */

    u_char                     error[NGX_HTTP_SHARED_SESSION_REDIS_ERRLEN];
    size_t                     error_len;
};


struct ngx_http_shared_session_redis_cmd_s {
    ngx_http_shared_session_redis_t          *rs;
    ngx_http_shared_session_redis_handler_pt  handler;
    void                                     *data;
    ngx_msec_t                                timeout;
    ngx_event_t                               timer;
    ngx_queue_t                               queue;
};


static ngx_int_t ngx_http_shared_session_redis_connect(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_init(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_init_handler(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_shared_session_redis_connect_handler(
    const redisAsyncContext *ac, int status);
static void ngx_http_shared_session_redis_disconnect_handler(
    const redisAsyncContext *ac, int status);
static void ngx_http_shared_session_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_shared_session_redis_reply_handler(
    redisAsyncContext *ac, void *r, void *privdata);
static void ngx_http_shared_session_redis_cmd_timeout(ngx_event_t *ev);
static void ngx_http_shared_session_redis_abort(
    ngx_http_shared_session_redis_t *rs, const char *reason);
static void ngx_http_shared_session_redis_backoff(
    ngx_http_shared_session_redis_t *rs);
static void ngx_http_shared_session_redis_set_error(
    ngx_http_shared_session_redis_t *rs, const char *fmt, ...);

static int ngx_http_shared_session_redis_command(redisAsyncContext *ac,
    redisCallbackFn *fn, void *privdata, int argc, const char **argv,
    const size_t *argvlen);
static void ngx_http_shared_session_redis_limit_reader(redisReader *r);
static void *ngx_http_shared_session_redis_create_array(
    const redisReadTask *task, int elements);
static void ngx_http_shared_session_redis_read_handler(ngx_event_t *ev);
static void ngx_http_shared_session_redis_write_handler(ngx_event_t *ev);
static void ngx_http_shared_session_redis_add_read(void *privdata);
static void ngx_http_shared_session_redis_del_read(void *privdata);
static void ngx_http_shared_session_redis_add_write(void *privdata);
static void ngx_http_shared_session_redis_del_write(void *privdata);
static void ngx_http_shared_session_redis_cleanup(void *privdata);


ngx_http_shared_session_redis_t *
ngx_http_shared_session_redis_add(ngx_conf_t *cf, ngx_array_t *servers,
    ngx_str_t *address, ngx_str_t *username, ngx_str_t *password,
    ngx_int_t database, ngx_flag_t scripts, ngx_msec_t connect_timeout)
{
    u_char                            *p;
    ngx_url_t                          u;
    ngx_str_t                          name;
    ngx_uint_t                         i;
    struct sockaddr_un                *sun;
    ngx_http_shared_session_redis_t  **rsp, *rs;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *address;
    u.default_port = NGX_HTTP_SHARED_SESSION_REDIS_PORT;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in redis address \"%V\"", u.err, &u.url);
        }

        return NULL;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for redis \"%V\"", &u.url);
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

        if (rs->name.len == name.len
            && ngx_strncmp(rs->name.data, name.data, name.len) == 0
            && rs->database == database
            && rs->scripts_wanted == scripts
            && rs->username.len == username->len
            && ngx_strncmp(rs->username.data, username->data,
                           username->len) == 0
            && rs->password.len == password->len
            && ngx_strncmp(rs->password.data, password->data,
                           password->len) == 0)
        {
            rs->connect_timeout = ngx_max(rs->connect_timeout,
                                          connect_timeout);
            return rs;
        }
    }

    rs = ngx_pcalloc(cf->pool, sizeof(ngx_http_shared_session_redis_t));
    if (rs == NULL) {
        return NULL;
    }

    rs->name = name;
    rs->username = *username;
    rs->password = *password;
    rs->database = database;
    rs->scripts_wanted = scripts;
    rs->connect_timeout = connect_timeout;

    if (u.family == AF_UNIX) {
        sun = (struct sockaddr_un *) u.addrs[0].sockaddr;
        rs->unix_socket = 1;
        rs->peer.len = ngx_strlen(sun->sun_path);
        rs->peer.data = ngx_pnalloc(cf->pool, rs->peer.len + 1);
        if (rs->peer.data == NULL) {
            return NULL;
        }

        ngx_memcpy(rs->peer.data, sun->sun_path, rs->peer.len + 1);

    } else {
        /* hiredis gets a numeric address: it never resolves in a worker */

        rs->peer.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (rs->peer.data == NULL) {
            return NULL;
        }

        rs->peer.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                     rs->peer.data, NGX_SOCKADDR_STRLEN, 0);
        rs->peer.data[rs->peer.len] = '\0';
        rs->port = u.port;

        if (u.naddrs > 1) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "redis \"%V\" resolves to several addresses, "
                               "using %V", &u.url, &u.addrs[0].name);
        }
    }

    /* the timer's log is set when connecting: cf->cycle->log is not final */

    rs->connect_timer.handler = ngx_http_shared_session_redis_connect_timeout;
    rs->connect_timer.data = rs;
    rs->connect_timer.cancelable = 1;

    ngx_queue_init(&rs->commands);

    p = ngx_cpymem(rs->error, "not connected", sizeof("not connected") - 1);
    rs->error_len = p - rs->error;

    rsp = ngx_array_push(servers);
    if (rsp == NULL) {
        return NULL;
    }

    *rsp = rs;

    return rs;
}


void
ngx_http_shared_session_redis_set_scripts(ngx_http_shared_session_redis_t *rs,
    ngx_str_t *scripts, ngx_uint_t n)
{
    rs->scripts = scripts;
    rs->nscripts = n;
}


ngx_str_t *
ngx_http_shared_session_redis_name(ngx_http_shared_session_redis_t *rs)
{
    return &rs->name;
}


ngx_http_shared_session_redis_cmd_t *
ngx_http_shared_session_redis_send(ngx_http_shared_session_redis_t *rs,
    ngx_log_t *log, ngx_msec_t timeout, int argc, const char **argv,
    const size_t *argvlen, ngx_http_shared_session_redis_handler_pt handler,
    void *data, ngx_str_t *error)
{
    ngx_http_shared_session_redis_cmd_t  *cmd;

    if (rs->ac == NULL) {

        if (rs->failures
            && (ngx_msec_int_t) (rs->retry_at - ngx_current_msec) > 0)
        {
            /* backing off: answer at once with the last cause */
            goto failed;
        }

        if (ngx_http_shared_session_redis_connect(rs) != NGX_OK) {
            goto failed;
        }
    }

    if (rs->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)) {
        goto failed;
    }

    cmd = ngx_alloc(sizeof(ngx_http_shared_session_redis_cmd_t), log);
    if (cmd == NULL) {
        ngx_http_shared_session_redis_set_error(rs, "out of memory");
        goto failed;
    }

    ngx_memzero(cmd, sizeof(ngx_http_shared_session_redis_cmd_t));

    cmd->rs = rs;
    cmd->handler = handler;
    cmd->data = data;
    cmd->timeout = timeout;
    cmd->timer.handler = ngx_http_shared_session_redis_cmd_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = log;

    if (ngx_http_shared_session_redis_command(rs->ac,
                                   ngx_http_shared_session_redis_reply_handler,
                                   cmd, argc, argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(cmd);
        ngx_http_shared_session_redis_set_error(rs, "command not queued");
        goto failed;
    }

    rs->inflight++;

    if (ngx_queue_empty(&rs->commands)) {
        rs->progress = ngx_current_msec;
    }

    ngx_queue_insert_tail(&rs->commands, &cmd->queue);

    ngx_add_timer(&cmd->timer, timeout);

    return cmd;

failed:

    error->data = rs->error;
    error->len = rs->error_len;

    return NULL;
}


/*
 * redisAsyncCommandArgv() without its sds formatting, the costliest part of
 * a request's Redis work in nginx: every length is known, so the RESP text
 * is written in one pass into a buffer that hiredis copies at once.
 */

static int
ngx_http_shared_session_redis_command(redisAsyncContext *ac,
    redisCallbackFn *fn, void *privdata, int argc, const char **argv,
    const size_t *argvlen)
{
    int        i;
    u_char    *p, *buf;
    size_t     len;

    len = 1 + NGX_INT_T_LEN + 2;

    for (i = 0; i < argc; i++) {
        len += 1 + NGX_SIZE_T_LEN + 2 + argvlen[i] + 2;
    }

    if (len > ngx_http_shared_session_redis_buf.len) {
        ngx_free(ngx_http_shared_session_redis_buf.data);
        ngx_str_null(&ngx_http_shared_session_redis_buf);

        len = ngx_max(len, 4096);

        buf = ngx_alloc(len, ngx_cycle->log);
        if (buf == NULL) {
            return REDIS_ERR;
        }

        ngx_http_shared_session_redis_buf.data = buf;
        ngx_http_shared_session_redis_buf.len = len;
    }

    buf = ngx_http_shared_session_redis_buf.data;

    p = ngx_sprintf(buf, "*%d\r\n", argc);

    for (i = 0; i < argc; i++) {
        p = ngx_sprintf(p, "$%uz\r\n", argvlen[i]);
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = '\r'; *p++ = '\n';
    }

    return redisAsyncFormattedCommand(ac, fn, privdata, (char *) buf,
                                      p - buf);
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
    ngx_uint_t                            i;
    ngx_queue_t                          *q;
    ngx_http_shared_session_redis_t     **rsp, *rs;
    ngx_http_shared_session_redis_cmd_t  *cmd;

    rsp = servers->elts;

    for (i = 0; i < servers->nelts; i++) {
        rs = rsp[i];

        for (q = ngx_queue_head(&rs->commands);
             q != ngx_queue_sentinel(&rs->commands);
             q = ngx_queue_next(q))
        {
            cmd = ngx_queue_data(q, ngx_http_shared_session_redis_cmd_t,
                                 queue);
            ngx_http_shared_session_redis_cancel(cmd);
        }

        if (rs->ac) {
            ngx_http_shared_session_redis_set_error(rs, "worker exiting");
            redisAsyncFree(rs->ac);
        }
    }

    ngx_free(ngx_http_shared_session_redis_buf.data);
    ngx_str_null(&ngx_http_shared_session_redis_buf);
}


static ngx_int_t
ngx_http_shared_session_redis_connect(ngx_http_shared_session_redis_t *rs)
{
    ngx_log_t          *log;
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    log = ngx_cycle->log;

    if (rs->unix_socket) {
        ac = redisAsyncConnectUnix((const char *) rs->peer.data);

    } else {
        ac = redisAsyncConnect((const char *) rs->peer.data, rs->port);
    }

    if (ac == NULL) {
        ngx_http_shared_session_redis_set_error(rs, "out of memory");
        goto failed;
    }

    if (ac->err) {
        ngx_http_shared_session_redis_set_error(rs, "connect failed: %s",
                                                ac->errstr);
        redisAsyncFree(ac);
        goto failed;
    }

    rs->replies = redisReaderCreateWithFunctions(
                                    &ngx_http_shared_session_redis_count_fn);
    if (rs->replies == NULL) {
        ngx_http_shared_session_redis_set_error(rs, "out of memory");
        redisAsyncFree(ac);
        goto failed;
    }

    ngx_http_shared_session_redis_limit_reader(ac->c.reader);

    c = ngx_get_connection(ac->c.fd, log);
    if (c == NULL) {
        ngx_http_shared_session_redis_set_error(rs, "no free connection");
        redisReaderFree(rs->replies);
        rs->replies = NULL;
        redisAsyncFree(ac);
        goto failed;
    }

    if (!rs->unix_socket) {
        (void) redisEnableKeepAlive(&ac->c);
    }

    c->data = rs;
    c->read->handler = ngx_http_shared_session_redis_read_handler;
    c->write->handler = ngx_http_shared_session_redis_write_handler;
    c->read->log = log;
    c->write->log = log;

    ac->data = rs;
    ac->ev.data = c;
    ac->ev.addRead = ngx_http_shared_session_redis_add_read;
    ac->ev.delRead = ngx_http_shared_session_redis_del_read;
    ac->ev.addWrite = ngx_http_shared_session_redis_add_write;
    ac->ev.delWrite = ngx_http_shared_session_redis_del_write;
    ac->ev.cleanup = ngx_http_shared_session_redis_cleanup;

    (void) redisAsyncSetConnectCallback(ac,
                               ngx_http_shared_session_redis_connect_handler);
    (void) redisAsyncSetDisconnectCallback(ac,
                            ngx_http_shared_session_redis_disconnect_handler);

    rs->ac = ac;
    rs->connection = c;
    rs->ready = 0;
    rs->inflight = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "shared session: redis %V connecting, fd:%d",
                   &rs->name, c->fd);

    rs->connect_timer.log = log;
    ngx_add_timer(&rs->connect_timer, rs->connect_timeout);

    ngx_http_shared_session_redis_init(rs);

    return NGX_OK;

failed:

    ngx_http_shared_session_redis_backoff(rs);

    return NGX_ERROR;
}


/* AUTH, SELECT and SCRIPT LOAD, pipelined ahead of the first command */

static void
ngx_http_shared_session_redis_init(ngx_http_shared_session_redis_t *rs)
{
    int          argc;
    u_char       db[NGX_INT_T_LEN];
    size_t       argvlen[3];
    ngx_uint_t   i;
    const char  *argv[3];

    rs->init_pending = 0;

    if (rs->password.len) {
        argc = 0;
        argv[argc] = "AUTH";
        argvlen[argc++] = 4;

        if (rs->username.len) {
            argv[argc] = (const char *) rs->username.data;
            argvlen[argc++] = rs->username.len;
        }

        argv[argc] = (const char *) rs->password.data;
        argvlen[argc++] = rs->password.len;

        if (redisAsyncCommandArgv(rs->ac,
                                  ngx_http_shared_session_redis_init_handler,
                                  "AUTH", argc, argv, argvlen)
            == REDIS_OK)
        {
            rs->init_pending++;
            rs->inflight++;
        }
    }

    if (rs->database) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", rs->database) - db;

        if (redisAsyncCommandArgv(rs->ac,
                                  ngx_http_shared_session_redis_init_handler,
                                  "SELECT", 2, argv, argvlen)
            == REDIS_OK)
        {
            rs->init_pending++;
            rs->inflight++;
        }
    }

    for (i = 0; i < rs->nscripts; i++) {
        argv[0] = "SCRIPT";
        argvlen[0] = 6;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = (const char *) rs->scripts[i].data;
        argvlen[2] = rs->scripts[i].len;

        if (redisAsyncCommandArgv(rs->ac,
                                  ngx_http_shared_session_redis_init_handler,
                                  "SCRIPT LOAD", 3, argv, argvlen)
            == REDIS_OK)
        {
            rs->init_pending++;
            rs->inflight++;
        }
    }

    if (rs->init_pending == 0) {
        rs->ready = 1;
    }
}


static void
ngx_http_shared_session_redis_init_handler(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                       *reply = r;
    ngx_http_shared_session_redis_t  *rs;

    rs = ac->data;
    rs->inflight--;

    if (reply == NULL) {
        /* the connection is going away; pending commands report why */
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_shared_session_redis_set_error(rs, "%s failed: %s",
                                                (char *) privdata,
                                                reply->str);

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "shared session: redis %V %*s",
                      &rs->name, rs->error_len, rs->error);

        /* deferred by hiredis until this callback returns */
        redisAsyncFree(ac);
        return;
    }

    if (--rs->init_pending == 0) {
        rs->ready = 1;
        rs->failures = 0;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "shared session: redis %V ready", &rs->name);
    }
}


static void
ngx_http_shared_session_redis_connect_handler(const redisAsyncContext *ac,
    int status)
{
    ngx_http_shared_session_redis_t  *rs;

    rs = ac->data;

    if (rs->connect_timer.timer_set) {
        ngx_del_timer(&rs->connect_timer);
    }

    if (status != REDIS_OK) {
        ngx_http_shared_session_redis_set_error(rs, "connect failed: %s",
                                                ac->errstr);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "shared session: redis %V connected", &rs->name);
}


static void
ngx_http_shared_session_redis_disconnect_handler(const redisAsyncContext *ac,
    int status)
{
    ngx_http_shared_session_redis_t  *rs;

    rs = ac->data;

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "shared session: redis %V connection lost: %s",
                      &rs->name, ac->errstr);
    }
}


static void
ngx_http_shared_session_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_shared_session_redis_t  *rs;

    rs = ev->data;

    if (rs->ac) {
        ngx_http_shared_session_redis_abort(rs, "connect timed out");
    }
}


static void
ngx_http_shared_session_redis_reply_handler(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_shared_session_redis_cmd_t  *cmd = privdata;

    ngx_str_t                                 error;
    redisReply                               *reply = r;
    ngx_http_shared_session_redis_t          *rs;
    ngx_http_shared_session_redis_handler_pt  handler;

    rs = cmd->rs;
    rs->inflight--;

    ngx_queue_remove(&cmd->queue);

    if (reply) {
        rs->progress = ngx_current_msec;

    } else if (ac->err && (ac->c.flags & REDIS_CONNECTED)) {
        /* before connecting, the connect handler has recorded the cause */
        ngx_http_shared_session_redis_set_error(rs, "connection lost: %s",
                                                ac->errstr);
    }

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    handler = cmd->handler;

    if (handler) {
        cmd->handler = NULL;
        error.data = rs->error;
        error.len = rs->error_len;

        handler(cmd->data, reply, reply ? NULL : &error);
    }

    ngx_free(cmd);
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

    ngx_str_set(&error, "timed out");

    if (handler) {
        handler(cmd->data, NULL, &error);
    }

    /*
     * Replies come in order: if nothing at all arrived for a whole timeout,
     * the connection is stalled (a paused or vanished peer) and every
     * command behind this one would time out too.
     */

    if (rs->ac
        && !(rs->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING))
        && ngx_current_msec - rs->progress >= cmd->timeout)
    {
        ngx_http_shared_session_redis_abort(rs, "timed out");
    }
}


static void
ngx_http_shared_session_redis_abort(ngx_http_shared_session_redis_t *rs,
    const char *reason)
{
    if (reason) {
        ngx_http_shared_session_redis_set_error(rs, "%s", reason);
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "shared session: redis %V %*s, closing connection",
                  &rs->name, rs->error_len, rs->error);

    /* not connected or not answering: back off as after a failed connect */
    rs->ready = 0;

    redisAsyncFree(rs->ac);
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


/*
 * hiredis allocates an array of the size the peer declares before a single
 * element arrives, and frees it slot by slot: "*2000000000" would cost
 * gigabytes and seconds.  Larger arrays make the reader fail ("Out of
 * memory"), which closes the connection.
 */

static void
ngx_http_shared_session_redis_limit_reader(redisReader *r)
{
    if (ngx_http_shared_session_redis_array == NULL) {
        ngx_http_shared_session_redis_reply_fn = *r->fn;
        ngx_http_shared_session_redis_array = r->fn->createArray;
        ngx_http_shared_session_redis_reply_fn.createArray =
                                  ngx_http_shared_session_redis_create_array;
    }

    r->fn = &ngx_http_shared_session_redis_reply_fn;
}


static void *
ngx_http_shared_session_redis_create_array(const redisReadTask *task,
    int elements)
{
    if (elements > NGX_HTTP_SHARED_SESSION_REDIS_MAX_ELEMENTS) {
        return NULL;
    }

    return ngx_http_shared_session_redis_array(task, elements);
}


static void *
ngx_http_shared_session_redis_count_string(const redisReadTask *task,
    char *str, size_t len)
{
    ngx_str_t  *counted = &ngx_http_shared_session_redis_counted;

    if (task->parent == NULL) {
        counted->data = ngx_http_shared_session_redis_error;
        counted->len = 0;

        if (task->type == REDIS_REPLY_ERROR) {
            counted->len = ngx_min(len,
                                   sizeof(ngx_http_shared_session_redis_error));
            ngx_memcpy(counted->data, str, counted->len);
        }
    }

    return counted;
}


static void *
ngx_http_shared_session_redis_count_array(const redisReadTask *task,
    int elements)
{
    if (elements > NGX_HTTP_SHARED_SESSION_REDIS_MAX_ELEMENTS) {
        return NULL;
    }

    return ngx_http_shared_session_redis_count_value(task);
}


static void *
ngx_http_shared_session_redis_count_integer(const redisReadTask *task,
    long long value)
{
    return ngx_http_shared_session_redis_count_value(task);
}


static void *
ngx_http_shared_session_redis_count_nil(const redisReadTask *task)
{
    return ngx_http_shared_session_redis_count_value(task);
}


/* any value but an error: a top-level one has no text to keep */

static void *
ngx_http_shared_session_redis_count_value(const redisReadTask *task)
{
    if (task->parent == NULL) {
        ngx_http_shared_session_redis_counted.len = 0;
    }

    return &ngx_http_shared_session_redis_counted;
}


static void
ngx_http_shared_session_redis_count_free(void *obj)
{
    /* nothing was allocated */
}


/*
 * The event hooks.  Events are level-triggered: hiredis reads at most 16K
 * per call, and under edge triggering whatever it left in the socket would
 * never be reported again.
 */

static void
ngx_http_shared_session_redis_read_handler(ngx_event_t *ev)
{
    void                             *reply;
    size_t                            old;
    ngx_uint_t                        n;
    redisReader                      *r;
    ngx_connection_t                 *c;
    redisAsyncContext                *ac;
    ngx_http_shared_session_redis_t  *rs;

    c = ev->data;
    rs = c->data;
    ac = rs->ac;

    if (!(ac->c.flags & REDIS_CONNECTED)) {
        /* completes or fails the connect, as the write handler would */
        redisAsyncHandleRead(ac);
        return;
    }

    /*
     * redisAsyncHandleRead() would do the two steps below, but hiredis
     * asserts (aborting the worker) on a reply nobody asked for: count the
     * complete replies first, with a second reader fed the same bytes.
     */

    r = ac->c.reader;
    old = r->len;

    if (redisBufferRead(&ac->c) != REDIS_OK) {
        ngx_http_shared_session_redis_set_error(rs, "connection lost: %s",
                                                ac->c.errstr);
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "shared session: redis %V %*s",
                      &rs->name, rs->error_len, rs->error);
        redisAsyncFree(ac);
        return;
    }

    r = ac->c.reader;

    if (r->len - r->pos > NGX_HTTP_SHARED_SESSION_REDIS_MAX_BUFFER) {
        ngx_http_shared_session_redis_abort(rs, "sent a reply over 64M");
        return;
    }

    if (r->len > old
        && redisReaderFeed(rs->replies, r->buf + old, r->len - old)
           != REDIS_OK)
    {
        ngx_http_shared_session_redis_abort(rs, "out of memory");
        return;
    }

    n = 0;

    for ( ;; ) {
        if (redisReaderGetReply(rs->replies, &reply) != REDIS_OK) {

            if (rs->replies->err == REDIS_ERR_OOM) {
                ngx_http_shared_session_redis_abort(rs,
                    "sent an invalid reply: an array over 1024 elements");
                return;
            }

            /* a protocol error: hiredis's reader finds it too, and closes */
            break;
        }

        if (reply == NULL) {
            break;
        }

        if (++n > rs->inflight) {
            ngx_http_shared_session_redis_set_error(rs,
                                  "sent an unexpected reply%s%V",
                                  ngx_http_shared_session_redis_counted.len
                                  ? ": " : "",
                                  &ngx_http_shared_session_redis_counted);
            ngx_http_shared_session_redis_abort(rs, NULL);
            return;
        }
    }

    redisProcessCallbacks(ac);
}


static void
ngx_http_shared_session_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t                 *c;
    ngx_http_shared_session_redis_t  *rs;

    c = ev->data;
    rs = c->data;

    redisAsyncHandleWrite(rs->ac);
}


static void
ngx_http_shared_session_redis_add_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (!c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "shared session: adding read event failed");
        }
    }
}


static void
ngx_http_shared_session_redis_del_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_shared_session_redis_add_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (!c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "shared session: adding write event failed");
        }
    }
}


static void
ngx_http_shared_session_redis_del_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


/*
 * hiredis is about to close the socket: nginx lets go of it without
 * closing it, so the descriptor has exactly one owner.
 */

static void
ngx_http_shared_session_redis_cleanup(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_http_shared_session_redis_t  *rs;

    if (c == NULL) {
        return;
    }

    rs = c->data;
    rs->ac->ev.data = NULL;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);

    if (rs->connect_timer.timer_set) {
        ngx_del_timer(&rs->connect_timer);
    }

    rs->ac = NULL;
    rs->connection = NULL;

    if (rs->replies) {
        redisReaderFree(rs->replies);
        rs->replies = NULL;
    }

    if (rs->ready) {
        /* a working connection went away: reconnect on the next request */
        rs->ready = 0;
        rs->failures = 0;

    } else {
        ngx_http_shared_session_redis_backoff(rs);
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
