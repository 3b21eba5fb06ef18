
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * Shared HTTP sessions in Redis, byte-compatible with Spring Session:
 * directives, configuration and handler registration.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session.h"
#include "ngx_http_shared_session_access.h"
#include "ngx_http_shared_session_store.h"
#include "ngx_http_shared_session_upstream.h"
#include "ngx_http_shared_session_variables.h"


/*
 * A setter whose error message names the value: see shared_session_slot().
 * nginx's setters call "check" as their post handler: it must be set.
 */
typedef struct {
    ngx_conf_post_handler_pt   check;     /* ngx_conf_post_t's layout */
    char                    *(*set)(ngx_conf_t *cf, ngx_command_t *cmd,
                                    void *conf);
} ngx_http_shared_session_slot_t;


static char *ngx_http_shared_session(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_shared_session_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_shared_session_methods(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_shared_session_samesite(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_shared_session_check_msec(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_shared_session_check_sec(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_shared_session_check_database(ngx_conf_t *cf,
    void *post, void *data);
static char *ngx_http_shared_session_check_text(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_shared_session_check_secret(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_shared_session_check_cookie_name(ngx_conf_t *cf,
    void *post, void *data);
static char *ngx_http_shared_session_check_cookie_attr(ngx_conf_t *cf,
    void *post, void *data);
static char *ngx_http_shared_session_secure(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_shared_session_enum(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_shared_session_check_suid(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_shared_session_parse_suid(ngx_str_t *s,
    int64_t *suid);
static char *ngx_http_shared_session_merge_spring(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf);
static char *ngx_http_shared_session_on_error(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

static void *ngx_http_shared_session_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_shared_session_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_shared_session_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_shared_session_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_shared_session_concat(ngx_conf_t *cf,
    ngx_str_t *dst, ngx_str_t *a, ngx_str_t *b, ngx_str_t *c);
static ngx_int_t ngx_http_shared_session_init_process(ngx_cycle_t *cycle);
static void ngx_http_shared_session_exit_process(ngx_cycle_t *cycle);


static ngx_http_shared_session_slot_t  ngx_http_shared_session_msec_slot = {
    ngx_http_shared_session_check_msec, ngx_conf_set_msec_slot
};

static ngx_http_shared_session_slot_t  ngx_http_shared_session_sec_slot = {
    ngx_http_shared_session_check_sec, ngx_conf_set_sec_slot
};

static ngx_http_shared_session_slot_t  ngx_http_shared_session_num_slot = {
    ngx_http_shared_session_check_database, ngx_conf_set_num_slot
};

static ngx_http_shared_session_slot_t  ngx_http_shared_session_text_slot = {
    ngx_http_shared_session_check_text, ngx_conf_set_str_slot
};

static ngx_http_shared_session_slot_t  ngx_http_shared_session_name_slot = {
    ngx_http_shared_session_check_cookie_name, ngx_conf_set_str_slot
};

static ngx_http_shared_session_slot_t  ngx_http_shared_session_attr_slot = {
    ngx_http_shared_session_check_cookie_attr, ngx_conf_set_str_slot
};

static ngx_http_shared_session_slot_t  ngx_http_shared_session_secret_slot = {
    ngx_http_shared_session_check_secret, ngx_conf_set_str_slot
};

static ngx_http_shared_session_slot_t  ngx_http_shared_session_suid_slot = {
    ngx_http_shared_session_check_suid, ngx_conf_set_str_slot
};


static ngx_conf_enum_t  ngx_http_shared_session_serializers[] = {
    { ngx_string("json"), NGX_HTTP_SHARED_SESSION_JSON },
    { ngx_string("jdk"), NGX_HTTP_SHARED_SESSION_JDK },
    { ngx_null_string, 0 }
};

static ngx_conf_enum_t  ngx_http_shared_session_repositories[] = {
    { ngx_string("indexed"), NGX_HTTP_SHARED_SESSION_REPO_INDEXED },
    { ngx_string("default"), NGX_HTTP_SHARED_SESSION_REPO_DEFAULT },
    { ngx_null_string, 0 }
};

static ngx_conf_enum_t  ngx_http_shared_session_expiration_stores[] = {
    { ngx_string("buckets"), NGX_HTTP_SHARED_SESSION_EXPIRY_BUCKETS },
    { ngx_string("sorted_set"), NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET },
    { ngx_null_string, 0 }
};



static ngx_command_t  ngx_http_shared_session_commands[] = {

    { ngx_string("shared_session"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_shared_session,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("shared_session_invalidate"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_shared_session,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("shared_session_invalidate_redirect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, invalidate_redirect),
      &ngx_http_shared_session_attr_slot },

    { ngx_string("shared_session_invalidate_methods"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_shared_session_methods,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, invalidate_methods),
      NULL },

    { ngx_string("shared_session_invalidate_check_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, invalidate_check_origin),
      NULL },

    { ngx_string("shared_session_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, require),
      NULL },

    { ngx_string("shared_session_require_redirect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, require_redirect),
      NULL },

    { ngx_string("shared_session_load"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, load),
      NULL },

    { ngx_string("shared_session_touch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, touch),
      NULL },

    { ngx_string("shared_session_touch_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, touch_interval),
      NULL },

    { ngx_string("shared_session_on_error"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_on_error,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, on_error),
      NULL },

    { ngx_string("shared_session_redis_upstream"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_shared_session_upstream_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("shared_session_redis"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_upstream_redis,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis),
      NULL },

    { ngx_string("shared_session_redis_cluster"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_cluster),
      NULL },

    { ngx_string("shared_session_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_timeout),
      &ngx_http_shared_session_msec_slot },

    { ngx_string("shared_session_redis_password"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_password),
      &ngx_http_shared_session_secret_slot },

    { ngx_string("shared_session_redis_username"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_username),
      &ngx_http_shared_session_text_slot },

    { ngx_string("shared_session_redis_database"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_database),
      &ngx_http_shared_session_num_slot },

    { ngx_string("shared_session_redis_scripts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_scripts),
      NULL },

    { ngx_string("shared_session_redis_tls"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_tls),
      NULL },

    { ngx_string("shared_session_redis_tls_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t,
               redis_tls_trusted_certificate),
      &ngx_http_shared_session_text_slot },

    { ngx_string("shared_session_redis_tls_verify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_tls_verify),
      NULL },

    { ngx_string("shared_session_redis_tls_server_name"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_tls_server_name),
      &ngx_http_shared_session_text_slot },

    { ngx_string("shared_session_redis_tls_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_tls_certificate),
      &ngx_http_shared_session_text_slot },

    { ngx_string("shared_session_redis_tls_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, redis_tls_certificate_key),
      &ngx_http_shared_session_text_slot },

    { ngx_string("shared_session_host"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, host),
      NULL },

    { ngx_string("shared_session_namespace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, namespace),
      &ngx_http_shared_session_text_slot },

    { ngx_string("shared_session_max_inactive_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, max_inactive_interval),
      &ngx_http_shared_session_sec_slot },

    { ngx_string("shared_session_attribute"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, attribute),
      &ngx_http_shared_session_text_slot },

    { ngx_string("shared_session_attribute_class"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, attribute_class),
      &ngx_http_shared_session_text_slot },

    { ngx_string("shared_session_serializer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, serializer),
      &ngx_http_shared_session_serializers },

    { ngx_string("shared_session_jdk_serial_version_uid"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, jdk_serial_version_uid),
      &ngx_http_shared_session_suid_slot },

    { ngx_string("shared_session_repository"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, repository),
      &ngx_http_shared_session_repositories },

    { ngx_string("shared_session_expiration_store"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, expiration_store),
      &ngx_http_shared_session_expiration_stores },

    { ngx_string("shared_session_cookie_name"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, cookie.name),
      &ngx_http_shared_session_name_slot },

    { ngx_string("shared_session_cookie_path"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, cookie.path),
      &ngx_http_shared_session_attr_slot },

    { ngx_string("shared_session_cookie_domain"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, cookie.domain),
      &ngx_http_shared_session_attr_slot },

    { ngx_string("shared_session_cookie_secure"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_secure,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, cookie.secure),
      NULL },

    { ngx_string("shared_session_cookie_httponly"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, cookie.httponly),
      NULL },

    { ngx_string("shared_session_cookie_samesite"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shared_session_samesite,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, cookie.samesite),
      NULL },

    { ngx_string("shared_session_cookie_base64"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shared_session_loc_conf_t, cookie.base64),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shared_session_module_ctx = {
    ngx_http_shared_session_variables_add, /* preconfiguration */
    ngx_http_shared_session_access_init,   /* postconfiguration */

    ngx_http_shared_session_create_main_conf, /* create main configuration */
    ngx_http_shared_session_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_shared_session_create_loc_conf, /* create location configuration */
    ngx_http_shared_session_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_shared_session_module = {
    NGX_MODULE_V1,
    &ngx_http_shared_session_module_ctx,   /* module context */
    ngx_http_shared_session_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_shared_session_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_shared_session_exit_process,  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static char *
ngx_http_shared_session(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_shared_session_loc_conf_t *sscf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (sscf->endpoint != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (cmd->name.len == sizeof("shared_session") - 1) {
        sscf->endpoint = NGX_HTTP_SHARED_SESSION_ENDPOINT;
        clcf->handler = ngx_http_shared_session_handler;

    } else {
        sscf->endpoint = NGX_HTTP_SHARED_SESSION_INVALIDATE;
        clcf->handler = ngx_http_shared_session_invalidate_handler;
    }

    return NGX_CONF_OK;
}


/*
 * Runs nginx's own setter and check; on failure, the message names the
 * directive and the value, which nginx's generic messages do not.
 */

static char *
ngx_http_shared_session_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                            *rv;
    ngx_str_t                       *value;
    ngx_http_shared_session_slot_t  *slot;

    slot = cmd->post;

    rv = slot->set(cf, cmd, conf);

    if (rv == NGX_CONF_OK || rv == NGX_CONF_ERROR
        || ngx_strcmp(rv, "is duplicate") == 0)
    {
        return rv;
    }

    value = cf->args->elts;

    /* a password is never printed; "env:NAME" names only its variable */

    if (slot == &ngx_http_shared_session_secret_slot
        && !(value[1].len > sizeof("env:") - 1
             && ngx_strncmp(value[1].data, "env:", sizeof("env:") - 1) == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value in \"%V\" directive: %s",
                           &cmd->name, rv);
        return NGX_CONF_ERROR;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive: %s",
                       &value[1], &cmd->name, rv);

    return NGX_CONF_ERROR;
}


/* as dav_methods: "GET" stands for GET and HEAD, as in limit_except */

static char *
ngx_http_shared_session_methods(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t   *value;
    ngx_uint_t  *field, i, m;

    static ngx_conf_bitmask_t  methods[] = {
        { ngx_string("GET"), NGX_HTTP_GET|NGX_HTTP_HEAD },
        { ngx_string("POST"), NGX_HTTP_POST },
        { ngx_null_string, 0 }
    };

    field = (ngx_uint_t *) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    *field = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        for (m = 0; methods[m].name.len; m++) {
            if (value[i].len == methods[m].name.len
                && ngx_strncasecmp(value[i].data, methods[m].name.data,
                                   value[i].len)
                   == 0)
            {
                break;
            }
        }

        if (methods[m].name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive, "
                               "it must be \"GET\" or \"POST\"",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        *field |= methods[m].mask;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_shared_session_samesite(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t   *field, *value;
    ngx_uint_t   i;

    static ngx_str_t  values[] = {
        ngx_string("Strict"), ngx_string("Lax"), ngx_string("None")
    };

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(field, "");
        return NGX_CONF_OK;
    }

    for (i = 0; i < sizeof(values) / sizeof(ngx_str_t); i++) {
        if (value[1].len == values[i].len
            && ngx_strncasecmp(value[1].data, values[i].data, value[1].len)
               == 0)
        {
            *field = values[i];
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be \"Strict\", \"Lax\", \"None\" or \"off\"",
                       &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_shared_session_secure(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t   *value;
    ngx_uint_t  *field, i;

    static ngx_conf_enum_t  values[] = {
        { ngx_string("off"), NGX_HTTP_SHARED_SESSION_SECURE_OFF },
        { ngx_string("on"), NGX_HTTP_SHARED_SESSION_SECURE_ON },
        { ngx_string("auto"), NGX_HTTP_SHARED_SESSION_SECURE_AUTO },
        { ngx_null_string, 0 }
    };

    field = (ngx_uint_t *) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 0; values[i].name.len; i++) {
        if (value[1].len == values[i].name.len
            && ngx_strcmp(value[1].data, values[i].name.data) == 0)
        {
            *field = values[i].value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be \"on\", \"off\" or \"auto\"",
                       &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


/*
 * One of a few words (cmd->post: the ngx_conf_enum_t table); unlike
 * ngx_conf_set_enum_slot(), the message names the directive and the words.
 */

static char *
ngx_http_shared_session_enum(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    u_char           *last, *q, buf[NGX_MAX_CONF_ERRSTR];
    ngx_str_t        *value;
    ngx_uint_t       *field, i;
    ngx_conf_enum_t  *e;

    field = (ngx_uint_t *) (p + cmd->offset);
    e = cmd->post;

    if (*field != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 0; e[i].name.len; i++) {
        if (value[1].len == e[i].name.len
            && ngx_strcmp(value[1].data, e[i].name.data) == 0)
        {
            *field = e[i].value;
            return NGX_CONF_OK;
        }
    }

    q = buf;
    last = buf + sizeof(buf);

    for (i = 0; e[i].name.len; i++) {
        q = ngx_slprintf(q, last, "%s\"%V\"",
                         i == 0 ? "" : (e[i + 1].name.len ? ", " : " or "),
                         &e[i].name);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be %*s", &value[1], &cmd->name, q - buf, buf);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_shared_session_on_error(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t   *value;
    ngx_uint_t  *field;

    field = (ngx_uint_t *) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "fail") == 0) {
        *field = NGX_HTTP_SHARED_SESSION_ON_ERROR_FAIL;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "pass") == 0) {
        *field = NGX_HTTP_SHARED_SESSION_ON_ERROR_PASS;
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be \"fail\" or \"pass\"",
                       &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_shared_session_check_msec(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    return (*ms == 0) ? "must be positive" : NGX_CONF_OK;
}


static char *
ngx_http_shared_session_check_sec(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *sec = data;

    return (*sec <= 0) ? "must be positive" : NGX_CONF_OK;
}


static char *
ngx_http_shared_session_check_database(ngx_conf_t *cf, void *post,
    void *data)
{
    ngx_int_t  *n = data;

    /* Redis's own limit is its "databases" setting: SELECT reports it */

    return (*n < 0 || *n > NGX_MAX_INT32_VALUE) ? "out of range"
                                                 : NGX_CONF_OK;
}


static char *
ngx_http_shared_session_check_text(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    u_char  *p, *last;

    if (s->len == 0) {
        return "must not be empty";
    }

    last = s->data + s->len;

    for (p = s->data; p < last; p++) {
        if (*p < ' ' || *p == 0x7f) {
            return "must not contain control characters";
        }
    }

    return NGX_CONF_OK;
}


/* a Java long: what serialVersionUID is declared as */

static char *
ngx_http_shared_session_check_suid(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    int64_t  suid;

    if (ngx_http_shared_session_parse_suid(s, &suid) != NGX_OK) {
        return "must be an integer from -9223372036854775808 to "
               "9223372036854775807";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_shared_session_parse_suid(ngx_str_t *s, int64_t *suid)
{
    u_char      *p, *last;
    uint64_t     v, max;
    ngx_uint_t   minus;

    p = s->data;
    last = p + s->len;
    minus = (p < last && *p == '-');
    p += minus;

    if (p == last) {
        return NGX_ERROR;
    }

    /* the magnitude, up to 2^63 for a negative number */

    max = (uint64_t) 0x7fffffffffffffffLL + minus;
    v = 0;

    for ( /* void */ ; p < last; p++) {
        if (*p < '0' || *p > '9'
            || v > (max - (*p - '0')) / 10)
        {
            return NGX_ERROR;
        }

        v = v * 10 + (*p - '0');
    }

    *suid = minus ? (int64_t) (0 - v) : (int64_t) v;

    return NGX_OK;
}


/*
 * "env:NAME" takes the secret from the environment nginx was started with,
 * read when the configuration is loaded, so that it need not be written in
 * the configuration file.
 */

static char *
ngx_http_shared_session_check_secret(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    char  *name, *value;

    if (s->len > sizeof("env:") - 1
        && ngx_strncmp(s->data, "env:", sizeof("env:") - 1) == 0)
    {
        name = (char *) s->data + sizeof("env:") - 1;   /* NUL-terminated */
        value = getenv(name);

        if (value == NULL || *value == '\0') {
            return "names an environment variable that is not set";
        }

        s->len = ngx_strlen(value);
        s->data = ngx_pstrdup(cf->pool, &(ngx_str_t) { s->len,
                                                        (u_char *) value });
        if (s->data == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_shared_session_check_text(cf, post, data);
}


static char *
ngx_http_shared_session_check_cookie_name(ngx_conf_t *cf, void *post,
    void *data)
{
    if (ngx_http_shared_session_cookie_valid_attr(data, 1) != NGX_OK) {
        return "not a valid cookie name";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_shared_session_check_cookie_attr(ngx_conf_t *cf, void *post,
    void *data)
{
    if (ngx_http_shared_session_cookie_valid_attr(data, 0) != NGX_OK) {
        return "must be printable ASCII without spaces, \";\" or \",\"";
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_shared_session_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_shared_session_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_shared_session_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&smcf->servers, cf->pool, 1,
                       sizeof(ngx_http_shared_session_redis_t *))
        != NGX_OK
        || ngx_array_init(&smcf->clusters, cf->pool, 1,
                          sizeof(ngx_http_shared_session_cluster_t *))
           != NGX_OK
        || ngx_array_init(&smcf->redis_confs, cf->pool, 1,
                          sizeof(ngx_http_shared_session_redis_conf_t *))
           != NGX_OK
        || ngx_array_init(&smcf->upstreams, cf->pool, 1,
                          sizeof(ngx_http_shared_session_upstream_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static char *
ngx_http_shared_session_init_main_conf(ngx_conf_t *cf, void *conf)
{
    return ngx_http_shared_session_upstream_init_main_conf(cf, conf);
}


static void *
ngx_http_shared_session_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_shared_session_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_shared_session_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->invalidate_redirect = { 0, NULL };
     *     conf->redis_password = { 0, NULL };
     *     conf->redis_username = { 0, NULL };
     *     conf->redis_tls_trusted_certificate = { 0, NULL };
     *     conf->redis_tls_server_name = { 0, NULL };
     *     conf->redis_tls_certificate = { 0, NULL };
     *     conf->redis_tls_certificate_key = { 0, NULL };
     *     conf->namespace = { 0, NULL };
     *     conf->attribute = { 0, NULL };
     *     conf->attribute_class = { 0, NULL };
     *     conf->jdk_serial_version_uid = { 0, NULL };
     *     conf->cookie.name = { 0, NULL };
     *     conf->cookie.path = { 0, NULL };
     *     conf->cookie.domain = { 0, NULL };
     *     conf->cookie.samesite = { 0, NULL };
     *     conf->prefix = { 0, NULL };
     *     conf->field = { 0, NULL };
     *     conf->redis_shorthand = NULL;
     *     conf->conn = { NULL, NULL };
     *     conf->store = NULL;
     */

    conf->endpoint = NGX_CONF_UNSET_UINT;
    conf->invalidate_methods = NGX_CONF_UNSET_UINT;
    conf->invalidate_check_origin = NGX_CONF_UNSET;
    conf->require = NGX_CONF_UNSET;
    conf->require_redirect = NGX_CONF_UNSET_PTR;
    conf->load = NGX_CONF_UNSET;
    conf->touch = NGX_CONF_UNSET;
    conf->touch_interval = NGX_CONF_UNSET_MSEC;
    conf->on_error = NGX_CONF_UNSET_UINT;
    conf->redis = NGX_CONF_UNSET_PTR;
    conf->redis_upstream = NGX_CONF_UNSET_PTR;
    conf->redis_cluster = NGX_CONF_UNSET;
    conf->redis_timeout = NGX_CONF_UNSET_MSEC;
    conf->redis_database = NGX_CONF_UNSET;
    conf->redis_scripts = NGX_CONF_UNSET;
    conf->redis_tls = NGX_CONF_UNSET;
    conf->redis_tls_verify = NGX_CONF_UNSET;
    conf->host = NGX_CONF_UNSET_PTR;
    conf->max_inactive_interval = NGX_CONF_UNSET;
    conf->serializer = NGX_CONF_UNSET_UINT;
    conf->repository = NGX_CONF_UNSET_UINT;
    conf->expiration_store = NGX_CONF_UNSET_UINT;
    conf->cookie.secure = NGX_CONF_UNSET_UINT;
    conf->cookie.httponly = NGX_CONF_UNSET;
    conf->cookie.base64 = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_shared_session_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_shared_session_loc_conf_t *prev = parent;
    ngx_http_shared_session_loc_conf_t *conf = child;

    ngx_str_t  colon, attr;

    /* the endpoint itself is not inherited, as content handlers are not */

    if (conf->endpoint == NGX_CONF_UNSET_UINT) {
        conf->endpoint = NGX_HTTP_SHARED_SESSION_OFF;
    }

    ngx_conf_merge_str_value(conf->invalidate_redirect,
                             prev->invalidate_redirect, "/index.html");
    ngx_conf_merge_uint_value(conf->invalidate_methods,
                              prev->invalidate_methods,
                              NGX_HTTP_GET|NGX_HTTP_HEAD);
    ngx_conf_merge_value(conf->invalidate_check_origin,
                         prev->invalidate_check_origin, 0);
    ngx_conf_merge_value(conf->require, prev->require, 0);
    ngx_conf_merge_ptr_value(conf->require_redirect, prev->require_redirect,
                             NULL);
    ngx_conf_merge_value(conf->load, prev->load, 0);
    ngx_conf_merge_value(conf->touch, prev->touch, 1);
    ngx_conf_merge_msec_value(conf->touch_interval, prev->touch_interval, 0);
    ngx_conf_merge_uint_value(conf->on_error, prev->on_error,
                              NGX_HTTP_SHARED_SESSION_ON_ERROR_FAIL);
    ngx_conf_merge_ptr_value(conf->host, prev->host, NULL);
    ngx_conf_merge_str_value(conf->namespace, prev->namespace,
                             "spring:session");
    ngx_conf_merge_sec_value(conf->max_inactive_interval,
                             prev->max_inactive_interval, 1800);
    ngx_conf_merge_str_value(conf->attribute, prev->attribute,
                             "scopedTarget.sampleSession");
    ngx_conf_merge_str_value(conf->attribute_class, prev->attribute_class,
        "org.debugroom.mynavi.sample.aws.elasticache.app.web.model."
        "SampleSession");
    ngx_conf_merge_uint_value(conf->serializer, prev->serializer,
                              NGX_HTTP_SHARED_SESSION_JSON);
    ngx_conf_merge_str_value(conf->jdk_serial_version_uid,
                             prev->jdk_serial_version_uid,
                             "2326897810215790710");
    ngx_conf_merge_uint_value(conf->repository, prev->repository,
                              NGX_HTTP_SHARED_SESSION_REPO_INDEXED);
    ngx_conf_merge_uint_value(conf->expiration_store, prev->expiration_store,
                              NGX_HTTP_SHARED_SESSION_EXPIRY_BUCKETS);
    ngx_conf_merge_str_value(conf->cookie.name, prev->cookie.name,
                             "SESSION");
    ngx_conf_merge_str_value(conf->cookie.path, prev->cookie.path, "/");
    ngx_conf_merge_str_value(conf->cookie.domain, prev->cookie.domain, "");
    ngx_conf_merge_uint_value(conf->cookie.secure, prev->cookie.secure,
                              NGX_HTTP_SHARED_SESSION_SECURE_AUTO);
    ngx_conf_merge_value(conf->cookie.httponly, prev->cookie.httponly, 1);
    ngx_conf_merge_str_value(conf->cookie.samesite, prev->cookie.samesite,
                             "Lax");
    ngx_conf_merge_value(conf->cookie.base64, prev->cookie.base64, 1);

    /* the Redis servers too, for a location with an endpoint */

    if (ngx_http_shared_session_upstream_merge(cf, prev, conf)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (!ngx_http_shared_session_asks_redis(conf)) {
        return NGX_CONF_OK;
    }

    ngx_str_set(&colon, ":");
    ngx_str_set(&attr, "sessionAttr:");

    if (ngx_http_shared_session_concat(cf, &conf->prefix, &conf->namespace,
                                       &colon, NULL)
        != NGX_OK
        || ngx_http_shared_session_concat(cf, &conf->field, &attr,
                                          &conf->attribute, NULL)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return ngx_http_shared_session_merge_spring(cf, conf);
}


/* what the serializer, repository and expiration store directives imply */

static char *
ngx_http_shared_session_merge_spring(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf)
{
    if (conf->repository == NGX_HTTP_SHARED_SESSION_REPO_DEFAULT
        && conf->expiration_store == NGX_HTTP_SHARED_SESSION_EXPIRY_ZSET)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"shared_session_expiration_store sorted_set\" "
                           "requires \"shared_session_repository indexed\": "
                           "the default repository keeps no expirations");
        return NGX_CONF_ERROR;
    }

    /* Spring's maxInactiveInterval is a java.lang.Integer, in seconds */

    if (conf->max_inactive_interval > NGX_MAX_INT32_VALUE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"shared_session_max_inactive_interval\" %T: "
                           "must be at most 2147483647 seconds, as Spring "
                           "stores it (a java.lang.Integer)",
                           conf->max_inactive_interval);
        return NGX_CONF_ERROR;
    }

    /* checked when set; the default is the seed class's */

    if (ngx_http_shared_session_parse_suid(&conf->jdk_serial_version_uid,
                                           &conf->ser.suid)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    conf->ser.format = conf->serializer;
    conf->ser.class = conf->attribute_class;

    return NGX_CONF_OK;
}



static ngx_int_t
ngx_http_shared_session_concat(ngx_conf_t *cf, ngx_str_t *dst, ngx_str_t *a,
    ngx_str_t *b, ngx_str_t *c)
{
    u_char  *p;

    dst->len = a->len + b->len + (c ? c->len : 0);

    dst->data = ngx_pnalloc(cf->pool, dst->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(dst->data, a->data, a->len);
    p = ngx_cpymem(p, b->data, b->len);

    if (c) {
        ngx_memcpy(p, c->data, c->len);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_init_process(ngx_cycle_t *cycle)
{
    ngx_http_shared_session_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_shared_session_module);
    if (smcf == NULL) {
        return NGX_OK;
    }

    ngx_http_shared_session_cluster_init_all(&smcf->clusters, cycle->log);

    return NGX_OK;
}


static void
ngx_http_shared_session_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_shared_session_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_shared_session_module);
    if (smcf == NULL) {
        return;
    }

    ngx_http_shared_session_cluster_close_all(&smcf->clusters);
    ngx_http_shared_session_redis_close_all(&smcf->servers);
}
