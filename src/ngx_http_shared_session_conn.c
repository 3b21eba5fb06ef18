
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_sha1.h>

#include "ngx_http_shared_session_conn.h"
#include "ngx_http_shared_session_num.h"


static ngx_int_t ngx_http_shared_session_conn_resend(
    ngx_http_shared_session_conn_cmd_t *cmd, ngx_str_t *error);
static void ngx_http_shared_session_conn_handler(void *data,
    redisReply *reply, ngx_str_t *error);


ngx_int_t
ngx_http_shared_session_args_init(ngx_http_shared_session_args_t *args,
    ngx_pool_t *pool, ngx_uint_t n)
{
    args->argc = 0;
    args->nalloc = (int) n;
    args->pool = pool;
    args->script = NULL;
    args->failed = 0;

    args->argv = ngx_palloc(pool, n * sizeof(char *));
    args->argvlen = ngx_palloc(pool, n * sizeof(size_t));

    if (args->argv == NULL || args->argvlen == NULL) {
        args->failed = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_shared_session_args_add(ngx_http_shared_session_args_t *args,
    const char *p, size_t len)
{
    if (args->argc == args->nalloc) {
        args->failed = 1;
        return;
    }

    args->argv[args->argc] = p;
    args->argvlen[args->argc++] = len;
}


void
ngx_http_shared_session_args_push(ngx_http_shared_session_args_t *args,
    const char *s)
{
    ngx_http_shared_session_args_add(args, s, ngx_strlen(s));
}


void
ngx_http_shared_session_args_push_str(ngx_http_shared_session_args_t *args,
    ngx_str_t *s)
{
    ngx_http_shared_session_args_add(args, (const char *) s->data, s->len);
}


void
ngx_http_shared_session_args_push_int(ngx_http_shared_session_args_t *args,
    int64_t n)
{
    u_char  *p;

    p = ngx_pnalloc(args->pool, NGX_INT64_LEN);
    if (p == NULL) {
        args->failed = 1;
        return;
    }

    ngx_http_shared_session_args_add(args, (const char *) p,
                                     ngx_http_shared_session_int(p, n) - p);
}


void
ngx_http_shared_session_args_script(ngx_http_shared_session_args_t *args,
    ngx_http_shared_session_script_t *script)
{
    args->script = script;

    ngx_http_shared_session_args_add(args, "EVALSHA", 7);
    ngx_http_shared_session_args_add(args, (const char *) script->sha1, 40);
}


void
ngx_http_shared_session_script_init(ngx_http_shared_session_script_t *script)
{
    u_char      digest[20];
    ngx_sha1_t  sha1;

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, script->text.data, script->text.len);
    ngx_sha1_final(digest, &sha1);

    ngx_hex_dump(script->sha1, digest, sizeof(digest));
}


ngx_int_t
ngx_http_shared_session_conn_send(ngx_http_shared_session_conn_cmd_t *cmd,
    ngx_http_shared_session_args_t *args, ngx_uint_t key, ngx_str_t *error)
{
    if (args->failed || args->argc == 0) {
        return NGX_ERROR;
    }

    cmd->args = args;
    cmd->key = key;
    cmd->retried = 0;

    return ngx_http_shared_session_conn_resend(cmd, error);
}


static ngx_int_t
ngx_http_shared_session_conn_resend(ngx_http_shared_session_conn_cmd_t *cmd,
    ngx_str_t *error)
{
    ngx_http_shared_session_args_t  *args;

    args = cmd->args;

    cmd->inner = cmd->conn->ops->send(cmd->conn->peer, cmd->log,
                                      cmd->timeout, cmd->key, args->argc,
                                      args->argv, args->argvlen,
                                      ngx_http_shared_session_conn_handler,
                                      cmd, error);

    return cmd->inner ? NGX_OK : NGX_DECLINED;
}


void
ngx_http_shared_session_conn_cancel(ngx_http_shared_session_conn_cmd_t *cmd)
{
    if (cmd->inner) {
        cmd->conn->ops->cancel(cmd->inner);
        cmd->inner = NULL;
    }
}


static void
ngx_http_shared_session_conn_handler(void *data, redisReply *reply,
    ngx_str_t *error)
{
    ngx_http_shared_session_conn_cmd_t  *cmd = data;

    ngx_str_t                        err;
    ngx_http_shared_session_args_t  *args;

    cmd->inner = NULL;
    args = cmd->args;

    if (reply != NULL
        && reply->type == REDIS_REPLY_ERROR
        && args->script != NULL
        && !cmd->retried
        && reply->len >= 8 && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0)
    {
        /* the server's script cache was flushed: the script itself, once */

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                       "shared session: NOSCRIPT, sending the script");

        cmd->retried = 1;

        args->argv[0] = "EVAL";
        args->argvlen[0] = 4;
        args->argv[1] = (const char *) args->script->text.data;
        args->argvlen[1] = args->script->text.len;

        if (ngx_http_shared_session_conn_resend(cmd, &err) == NGX_OK) {
            return;
        }

        cmd->handler(cmd->data, NULL, &err);
        return;
    }

    cmd->handler(cmd->data, reply, error);
}
