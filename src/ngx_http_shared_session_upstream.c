
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * Named Redis blocks (shared_session_redis_upstream), as nginx names its
 * upstreams: parsing, lookup by name, and the implicit blocks made by a
 * location's own shared_session_redis* directives.
 *
 * A block keeps its settings in a location configuration of this module
 * that belongs to no location, set by the location-level directives under
 * their short names ("timeout" runs shared_session_redis_timeout's setter):
 * each setting is parsed, checked and defaulted in one place for both.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shared_session.h"
#include "ngx_http_shared_session_store.h"
#include "ngx_http_shared_session_upstream.h"


#define NGX_HTTP_SHARED_SESSION_UPSTREAM_PORT  6379


struct ngx_http_shared_session_upstream_s {
    ngx_str_t                              name;     /* empty: implicit */
    ngx_http_shared_session_loc_conf_t    *conf;     /* NULL: used, no block
                                                        yet */
    u_char                                *file_name;
    ngx_uint_t                             line;     /* the block, or the
                                                        first use */
    ngx_resolver_t                        *resolver;
    ngx_msec_t                             resolver_timeout;

    ngx_http_shared_session_conn_t         conn;     /* server, cluster */
    ngx_http_shared_session_store_ops_t   *store;    /* the back end */
};


/* a directive of the block, and the location-level one it stands for */
typedef struct {
    ngx_str_t                              name;
    ngx_str_t                              shorthand;
    char                                *(*set)(ngx_conf_t *cf,
                                               ngx_command_t *cmd,
                                               void *conf);
} ngx_http_shared_session_upstream_directive_t;


static ngx_uint_t ngx_http_shared_session_upstream_is_name(ngx_str_t *s);
static ngx_http_shared_session_upstream_t *
    ngx_http_shared_session_upstream_add(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t block);
static char *ngx_http_shared_session_upstream_directive(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_shared_session_upstream_address(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_shared_session_upstream_finish(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us);
static ngx_int_t ngx_http_shared_session_upstream_default(ngx_conf_t *cf,
    ngx_http_shared_session_main_conf_t *smcf);
static ngx_int_t ngx_http_shared_session_upstream_init_named(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us);
static char *ngx_http_shared_session_upstream_shorthand(
    ngx_http_shared_session_loc_conf_t *conf);
static ngx_int_t ngx_http_shared_session_upstream_check_mixed(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf);
static void ngx_http_shared_session_upstream_merge_settings(
    ngx_http_shared_session_loc_conf_t *prev,
    ngx_http_shared_session_loc_conf_t *conf);
static ngx_int_t ngx_http_shared_session_upstream_check_auth(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf, char *prefix);
static ngx_int_t ngx_http_shared_session_upstream_check_seeds(
    ngx_conf_t *cf, ngx_http_shared_session_loc_conf_t *conf, char *server,
    char *prefix);
static char *ngx_http_shared_session_upstream_implicit(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf);
static void ngx_http_shared_session_upstream_resolver(
    ngx_http_shared_session_upstream_t *us, ngx_http_core_loc_conf_t *clcf);
static ngx_int_t ngx_http_shared_session_upstream_build(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us);
static ngx_http_shared_session_redis_conf_t *
    ngx_http_shared_session_upstream_redis_conf(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us, ngx_str_t *seed);
static void ngx_http_shared_session_upstream_scripts(
    ngx_http_shared_session_upstream_t *us,
    ngx_http_shared_session_redis_conf_t *rc);
static ngx_int_t ngx_http_shared_session_upstream_seed_name(ngx_conf_t *cf,
    ngx_str_t *seed, ngx_str_t *name);
static ngx_int_t ngx_http_shared_session_upstream_servers(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us,
    ngx_http_shared_session_redis_conf_t *rcp, ngx_str_t *address,
    ngx_uint_t n);


static ngx_http_shared_session_upstream_directive_t
    ngx_http_shared_session_upstream_directives[] =
{
    /* an address, never a block's name */
    { ngx_string("server"), ngx_string("shared_session_redis"),
      ngx_http_shared_session_upstream_address },

    { ngx_string("cluster"), ngx_string("shared_session_redis_cluster"),
      NULL },
    { ngx_string("timeout"), ngx_string("shared_session_redis_timeout"),
      NULL },
    { ngx_string("password"), ngx_string("shared_session_redis_password"),
      NULL },
    { ngx_string("username"), ngx_string("shared_session_redis_username"),
      NULL },
    { ngx_string("database"), ngx_string("shared_session_redis_database"),
      NULL },
    { ngx_string("scripts"), ngx_string("shared_session_redis_scripts"),
      NULL },
    { ngx_string("tls"), ngx_string("shared_session_redis_tls"), NULL },
    { ngx_string("tls_trusted_certificate"),
      ngx_string("shared_session_redis_tls_trusted_certificate"), NULL },
    { ngx_string("tls_verify"), ngx_string("shared_session_redis_tls_verify"),
      NULL },
    { ngx_string("tls_server_name"),
      ngx_string("shared_session_redis_tls_server_name"), NULL },
    { ngx_string("tls_certificate"),
      ngx_string("shared_session_redis_tls_certificate"), NULL },
    { ngx_string("tls_certificate_key"),
      ngx_string("shared_session_redis_tls_certificate_key"), NULL },

    { ngx_null_string, ngx_null_string, NULL }
};


/*
 * A name is a word of letters, digits, "_" and "-".  An address has a ":"
 * (a port, "unix:", IPv6) or a "." (IPv4, a domain name), so that neither
 * passes for the other.
 */

static ngx_uint_t
ngx_http_shared_session_upstream_is_name(ngx_str_t *s)
{
    u_char  *p, *last;

    if (s->len == 0) {
        return 0;
    }

    last = s->data + s->len;

    for (p = s->data; p < last; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * As ngx_http_upstream_add(): a use may come before its block, and leaves
 * an entry that the block fills in; one never filled is an error once
 * http{} is read.
 */

static ngx_http_shared_session_upstream_t *
ngx_http_shared_session_upstream_add(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t block)
{
    ngx_uint_t                             i;
    ngx_http_shared_session_upstream_t   **usp, *us;
    ngx_http_shared_session_main_conf_t   *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shared_session_module);

    usp = smcf->upstreams.elts;

    for (i = 0; i < smcf->upstreams.nelts; i++) {
        us = usp[i];

        if (us->name.len != name->len
            || ngx_strncmp(us->name.data, name->data, name->len) != 0)
        {
            continue;
        }

        if (!block) {
            return us;
        }

        if (us->conf) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate shared_session_redis_upstream "
                               "\"%V\"", name);
            return NULL;
        }

        us->file_name = cf->conf_file->file.name.data;
        us->line = cf->conf_file->line;

        return us;
    }

    us = ngx_pcalloc(cf->pool, sizeof(ngx_http_shared_session_upstream_t));
    if (us == NULL) {
        return NULL;
    }

    us->name = *name;
    us->file_name = cf->conf_file->file.name.data;
    us->line = cf->conf_file->line;

    usp = ngx_array_push(&smcf->upstreams);
    if (usp == NULL) {
        return NULL;
    }

    *usp = us;

    return us;
}


char *
ngx_http_shared_session_upstream_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char                                *rv;
    ngx_str_t                           *value;
    ngx_conf_t                           pcf;
    ngx_http_module_t                   *module;
    ngx_http_shared_session_upstream_t  *us;

    value = cf->args->elts;

    if (!ngx_http_shared_session_upstream_is_name(&value[1])) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid name \"%V\" in \"%V\" directive: "
                           "letters, digits, \"_\" and \"-\" only",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    us = ngx_http_shared_session_upstream_add(cf, &value[1], 1);
    if (us == NULL) {
        return NGX_CONF_ERROR;
    }

    module = ngx_http_shared_session_module.ctx;

    us->conf = module->create_loc_conf(cf);
    if (us->conf == NULL) {
        return NGX_CONF_ERROR;
    }

    /* as "types" and "map": the block's own directives, one handler */

    pcf = *cf;
    cf->handler = ngx_http_shared_session_upstream_directive;
    cf->handler_conf = us;

    rv = ngx_conf_parse(cf, NULL);

    *cf = pcf;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    return ngx_http_shared_session_upstream_finish(cf, us);
}


static char *
ngx_http_shared_session_upstream_directive(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf)
{
    ngx_http_shared_session_upstream_t  *us = conf;

    char                                          *rv;
    ngx_str_t                                     *value;
    ngx_command_t                                  cmd, *c;
    ngx_http_shared_session_upstream_directive_t  *d;

    value = cf->args->elts;

    for (d = ngx_http_shared_session_upstream_directives; d->name.len; d++) {
        if (d->name.len == value[0].len
            && ngx_strncmp(d->name.data, value[0].data, value[0].len) == 0)
        {
            break;
        }
    }

    if (d->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown directive \"%V\" in "
                           "shared_session_redis_upstream \"%V\"",
                           &value[0], &us->name);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts != 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in \"%V\" directive",
                           &value[0]);
        return NGX_CONF_ERROR;
    }

    for (c = ngx_http_shared_session_module.commands; c->name.len; c++) {
        if (c->name.len == d->shorthand.len
            && ngx_strncmp(c->name.data, d->shorthand.data, c->name.len) == 0)
        {
            break;
        }
    }

    if (c->name.len == 0) {
        return NGX_CONF_ERROR;
    }

    /* the location's directive, under the block's name for its messages */

    cmd = *c;
    cmd.name = value[0];

    rv = d->set ? d->set(cf, &cmd, us->conf) : cmd.set(cf, &cmd, us->conf);

    if (rv == NGX_CONF_OK || rv == NGX_CONF_ERROR) {
        return rv;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive %s",
                       &value[0], rv);

    return NGX_CONF_ERROR;
}


char *
ngx_http_shared_session_upstream_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_shared_session_loc_conf_t *sscf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (sscf->redis_upstream != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    if (!ngx_http_shared_session_upstream_is_name(&value[1])) {
        return ngx_http_shared_session_upstream_address(cf, cmd, conf);
    }

    if (sscf->redis != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    sscf->redis_upstream = ngx_http_shared_session_upstream_add(cf, &value[1],
                                                                0);
    if (sscf->redis_upstream == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the syntax only: names are resolved when the block is built */

static char *
ngx_http_shared_session_upstream_address(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_shared_session_loc_conf_t *sscf = conf;

    ngx_url_t   u;
    ngx_str_t  *value, *address;

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = NGX_HTTP_SHARED_SESSION_UPSTREAM_PORT;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive: %s",
                           &value[1], &cmd->name,
                           u.err ? u.err : "invalid address");
        return NGX_CONF_ERROR;
    }

    if (sscf->redis == NGX_CONF_UNSET_PTR) {
        sscf->redis = ngx_array_create(cf->pool, 1, sizeof(ngx_str_t));
        if (sscf->redis == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    address = ngx_array_push(sscf->redis);
    if (address == NULL) {
        return NGX_CONF_ERROR;
    }

    *address = value[1];

    return NGX_CONF_OK;
}


/* at the block's "}": what it lacks and what contradicts itself */

static char *
ngx_http_shared_session_upstream_finish(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us)
{
    ngx_http_module_t                   *module;
    ngx_http_shared_session_loc_conf_t  *none;

    if (us->conf->redis == NGX_CONF_UNSET_PTR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"server\" in shared_session_redis_upstream "
                           "\"%V\"", &us->name);
        return NGX_CONF_ERROR;
    }

    /* a block inherits nothing: what it does not set takes the default */

    module = ngx_http_shared_session_module.ctx;

    none = module->create_loc_conf(cf);
    if (none == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_http_shared_session_upstream_merge_settings(none, us->conf);

    if (ngx_http_shared_session_upstream_check_auth(cf, us->conf, "")
        != NGX_OK
        || ngx_http_shared_session_upstream_check_seeds(cf, us->conf,
                                                        "server", "")
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_shared_session_upstream_init_main_conf(ngx_conf_t *cf,
    ngx_http_shared_session_main_conf_t *smcf)
{
    ngx_uint_t                             i;
    ngx_http_core_loc_conf_t              *clcf;
    ngx_http_shared_session_loc_conf_t    *sscf;
    ngx_http_shared_session_upstream_t   **usp;

    if (ngx_http_shared_session_upstream_default(cf, smcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the http level is never merged: what it sets is known from here */

    sscf = ngx_http_conf_get_module_loc_conf(cf,
                                             ngx_http_shared_session_module);
    sscf->redis_shorthand = ngx_http_shared_session_upstream_shorthand(sscf);

    /* the blocks are at http level, and so is their resolver */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    usp = smcf->upstreams.elts;

    for (i = 0; i < smcf->upstreams.nelts; i++) {

        if (usp[i]->conf == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no shared_session_redis_upstream \"%V\" "
                          "(an address needs its port: \"%V:6379\") "
                          "in %s:%ui", &usp[i]->name, &usp[i]->name,
                          usp[i]->file_name, usp[i]->line);
            return NGX_CONF_ERROR;
        }

        ngx_http_shared_session_upstream_resolver(usp[i], clcf);

        if (ngx_http_shared_session_upstream_init_named(cf, usp[i])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * The implicit blocks' address when a location names none: from the
 * environment nginx was started with, as the seed's ECS task sets it.
 */

static ngx_int_t
ngx_http_shared_session_upstream_default(ngx_conf_t *cf,
    ngx_http_shared_session_main_conf_t *smcf)
{
    char    *host, *port;
    size_t   len;

    host = getenv("REDIS_CLUSTER_ENDPOINT");

    if (host == NULL || *host == '\0') {
        ngx_str_set(&smcf->default_redis, "127.0.0.1:6379");
        return NGX_OK;
    }

    port = getenv("REDIS_CLUSTER_PORT");

    if (port == NULL || *port == '\0') {
        port = "6379";
    }

    len = ngx_strlen(host) + sizeof(":") - 1 + ngx_strlen(port);

    smcf->default_redis.data = ngx_pnalloc(cf->pool, len);
    if (smcf->default_redis.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(smcf->default_redis.data, "%s:%s", host, port);
    smcf->default_redis.len = len;

    return NGX_OK;
}


/*
 * A block is built once http{} is read, when the resolver is known; what
 * fails then (a name that does not resolve, a certificate) is reported at
 * the block's line rather than at the end of http{}.
 */

static ngx_int_t
ngx_http_shared_session_upstream_init_named(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us)
{
    ngx_int_t         rc;
    ngx_conf_file_t  *saved, file;

    saved = cf->conf_file;

    file = *saved;
    file.file.name.data = us->file_name;
    file.file.name.len = ngx_strlen(us->file_name);
    file.line = us->line;

    cf->conf_file = &file;

    rc = ngx_http_shared_session_upstream_build(cf, us);

    cf->conf_file = saved;

    return rc;
}


char *
ngx_http_shared_session_upstream_merge(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *prev,
    ngx_http_shared_session_loc_conf_t *conf)
{
    ngx_http_shared_session_upstream_t  *us;

    /* a name and addresses replace each other, as one directive's values */

    if (conf->redis == NGX_CONF_UNSET_PTR
        && conf->redis_upstream == NGX_CONF_UNSET_PTR)
    {
        conf->redis = prev->redis;
        conf->redis_upstream = prev->redis_upstream;
    }

    ngx_conf_init_ptr_value(conf->redis, NULL);
    ngx_conf_init_ptr_value(conf->redis_upstream, NULL);

    conf->redis_shorthand = ngx_http_shared_session_upstream_shorthand(conf);

    if (conf->redis_shorthand == NULL) {
        conf->redis_shorthand = prev->redis_shorthand;
    }

    if (ngx_http_shared_session_upstream_check_mixed(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_http_shared_session_upstream_merge_settings(prev, conf);

    if (ngx_http_shared_session_upstream_check_auth(cf, conf,
                                                    "shared_session_redis_")
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (!ngx_http_shared_session_asks_redis(conf)) {
        return NGX_CONF_OK;
    }

    us = conf->redis_upstream;

    if (us == NULL) {
        return ngx_http_shared_session_upstream_implicit(cf, conf);
    }

    /* the block's, where the handler reads them */

    conf->redis_timeout = us->conf->redis_timeout;
    conf->redis_scripts = us->conf->redis_scripts;
    conf->redis_cluster = us->conf->redis_cluster;
    conf->redis_database = us->conf->redis_database;   /* event channel */
    conf->conn = us->conn;
    conf->store = us->store;

    return NGX_CONF_OK;
}


/* a named Redis has all its settings in its block */

static ngx_int_t
ngx_http_shared_session_upstream_check_mixed(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (conf->redis_upstream == NULL || conf->redis_shorthand == NULL) {
        return NGX_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%s\" cannot be used with "
                       "\"shared_session_redis %V\"%s%V%s: the settings of "
                       "a shared_session_redis_upstream are inside its block",
                       conf->redis_shorthand, &conf->redis_upstream->name,
                       clcf->name.len ? " in location \"" : "", &clcf->name,
                       clcf->name.len ? "\"" : "");

    return NGX_ERROR;
}


/* the first connection setting a level sets itself, before merging */

static char *
ngx_http_shared_session_upstream_shorthand(
    ngx_http_shared_session_loc_conf_t *conf)
{
    if (conf->redis_cluster != NGX_CONF_UNSET) {
        return "shared_session_redis_cluster";
    }

    if (conf->redis_timeout != NGX_CONF_UNSET_MSEC) {
        return "shared_session_redis_timeout";
    }

    if (conf->redis_password.data) {
        return "shared_session_redis_password";
    }

    if (conf->redis_username.data) {
        return "shared_session_redis_username";
    }

    if (conf->redis_database != NGX_CONF_UNSET) {
        return "shared_session_redis_database";
    }

    if (conf->redis_scripts != NGX_CONF_UNSET) {
        return "shared_session_redis_scripts";
    }

    if (conf->redis_tls != NGX_CONF_UNSET) {
        return "shared_session_redis_tls";
    }

    if (conf->redis_tls_trusted_certificate.data) {
        return "shared_session_redis_tls_trusted_certificate";
    }

    if (conf->redis_tls_verify != NGX_CONF_UNSET) {
        return "shared_session_redis_tls_verify";
    }

    if (conf->redis_tls_server_name.data) {
        return "shared_session_redis_tls_server_name";
    }

    if (conf->redis_tls_certificate.data) {
        return "shared_session_redis_tls_certificate";
    }

    if (conf->redis_tls_certificate_key.data) {
        return "shared_session_redis_tls_certificate_key";
    }

    return NULL;
}


static void
ngx_http_shared_session_upstream_merge_settings(
    ngx_http_shared_session_loc_conf_t *prev,
    ngx_http_shared_session_loc_conf_t *conf)
{
    ngx_conf_merge_value(conf->redis_cluster, prev->redis_cluster, 0);
    ngx_conf_merge_msec_value(conf->redis_timeout, prev->redis_timeout, 1000);
    ngx_conf_merge_str_value(conf->redis_password, prev->redis_password, "");
    ngx_conf_merge_str_value(conf->redis_username, prev->redis_username, "");
    ngx_conf_merge_value(conf->redis_database, prev->redis_database, 0);
    ngx_conf_merge_value(conf->redis_scripts, prev->redis_scripts, 1);
    ngx_conf_merge_value(conf->redis_tls, prev->redis_tls, 0);
    ngx_conf_merge_str_value(conf->redis_tls_trusted_certificate,
                             prev->redis_tls_trusted_certificate, "");
    ngx_conf_merge_value(conf->redis_tls_verify, prev->redis_tls_verify, 1);
    ngx_conf_merge_str_value(conf->redis_tls_server_name,
                             prev->redis_tls_server_name, "");
    ngx_conf_merge_str_value(conf->redis_tls_certificate,
                             prev->redis_tls_certificate, "");
    ngx_conf_merge_str_value(conf->redis_tls_certificate_key,
                             prev->redis_tls_certificate_key, "");
}


/* "prefix": "shared_session_redis_" at a location, "" in a block */

static ngx_int_t
ngx_http_shared_session_upstream_check_auth(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf, char *prefix)
{
    if (conf->redis_username.len && conf->redis_password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%susername\" \"%V\" requires \"%spassword\"",
                           prefix, &conf->redis_username, prefix);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_shared_session_upstream_check_seeds(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf, char *server, char *prefix)
{
    ngx_str_t  *address;

    if (conf->redis && conf->redis->nelts > 1 && !conf->redis_cluster) {
        address = conf->redis->elts;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" \"%V\" is duplicate: several seed nodes "
                           "need \"%scluster on\"", server, &address[1],
                           prefix);
        return NGX_ERROR;
    }

    if (conf->redis_cluster && conf->redis_database) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%sdatabase\" %i: a Redis Cluster has only "
                           "database 0", prefix, conf->redis_database);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A location without a named block has an implicit one: its own settings
 * and addresses, or the environment's.  Implicit blocks with the same
 * settings share their servers, and so a worker's connections.
 */

static char *
ngx_http_shared_session_upstream_implicit(ngx_conf_t *cf,
    ngx_http_shared_session_loc_conf_t *conf)
{
    ngx_http_core_loc_conf_t            *clcf;
    ngx_http_shared_session_upstream_t   us;

    if (ngx_http_shared_session_upstream_check_seeds(cf, conf,
                                                     "shared_session_redis",
                                                     "shared_session_redis_")
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&us, sizeof(ngx_http_shared_session_upstream_t));
    us.conf = conf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    ngx_http_shared_session_upstream_resolver(&us, clcf);

    if (ngx_http_shared_session_upstream_build(cf, &us) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    conf->conn = us.conn;
    conf->store = us.store;

    return NGX_CONF_OK;
}


/* nginx's "resolver", when there is one, resolves names on connecting */

static void
ngx_http_shared_session_upstream_resolver(
    ngx_http_shared_session_upstream_t *us, ngx_http_core_loc_conf_t *clcf)
{
    if (clcf->resolver == NULL || clcf->resolver->connections.nelts == 0) {
        return;
    }

    us->resolver = clcf->resolver;

    /* unset at http level unless set there: nginx's default */

    us->resolver_timeout = (clcf->resolver_timeout == NGX_CONF_UNSET_MSEC)
                           ? 30000 : clcf->resolver_timeout;
}


/* the settings shared with identical blocks, then the servers */

static ngx_int_t
ngx_http_shared_session_upstream_build(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us)
{
    ngx_str_t                             *address;
    ngx_uint_t                             n;
    ngx_http_shared_session_main_conf_t   *smcf;
    ngx_http_shared_session_redis_conf_t  *rcp;

    if (us->conf->redis) {
        address = us->conf->redis->elts;
        n = us->conf->redis->nelts;

    } else {
        smcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_shared_session_module);
        address = &smcf->default_redis;
        n = 1;
    }

    rcp = ngx_http_shared_session_upstream_redis_conf(cf, us, &address[0]);
    if (rcp == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_shared_session_upstream_servers(cf, us, rcp, address, n);
}


static ngx_http_shared_session_redis_conf_t *
ngx_http_shared_session_upstream_redis_conf(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us, ngx_str_t *seed)
{
    ngx_http_shared_session_loc_conf_t    *conf;
    ngx_http_shared_session_main_conf_t   *smcf;
    ngx_http_shared_session_redis_conf_t   rc;

    conf = us->conf;

    ngx_memzero(&rc, sizeof(ngx_http_shared_session_redis_conf_t));

    rc.username = conf->redis_username;
    rc.password = conf->redis_password;
    rc.database = conf->redis_database;
    rc.connect_timeout = conf->redis_timeout;
    rc.resolver = us->resolver;
    rc.resolver_timeout = us->resolver_timeout;
    rc.tls = conf->redis_tls;
    rc.tls_verify = conf->redis_tls_verify;
    rc.tls_trusted_certificate = conf->redis_tls_trusted_certificate;
    rc.tls_certificate = conf->redis_tls_certificate;
    rc.tls_certificate_key = conf->redis_tls_certificate_key;
    rc.tls_server_name = conf->redis_tls_server_name;

    ngx_http_shared_session_upstream_scripts(us, &rc);

    if (conf->redis_cluster && rc.tls && rc.tls_server_name.len == 0
        && ngx_http_shared_session_upstream_seed_name(cf, seed,
                                                      &rc.tls_server_name)
           != NGX_OK)
    {
        return NULL;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shared_session_module);

    return ngx_http_shared_session_redis_conf_add(cf, &smcf->redis_confs, &rc);
}


/*
 * The store's back end, and the scripts it loads on every connection.  A
 * cluster uses plain commands, its scripts could not reach all keys: only
 * the hash's one-key script.
 */

static void
ngx_http_shared_session_upstream_scripts(
    ngx_http_shared_session_upstream_t *us,
    ngx_http_shared_session_redis_conf_t *rc)
{
    if (!us->conf->redis_scripts) {
        us->store = &ngx_http_shared_session_store_plain_ops;

    } else if (us->conf->redis_cluster) {
        us->store = &ngx_http_shared_session_store_hash_ops;

    } else {
        us->store = &ngx_http_shared_session_store_script_ops;
    }

    rc->scripts = us->store->scripts(&rc->nscripts);
}


/*
 * Cluster nodes are announced by address: each is verified, as the seeds
 * are, against the first seed's name (ElastiCache's configuration
 * endpoint, which its certificates name).  A seed given by address leaves
 * "name" empty: each node is then verified against its own.
 */

static ngx_int_t
ngx_http_shared_session_upstream_seed_name(ngx_conf_t *cf, ngx_str_t *seed,
    ngx_str_t *name)
{
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *seed;
    u.default_port = NGX_HTTP_SHARED_SESSION_UPSTREAM_PORT;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.family == AF_UNIX
        || u.host.len == 0
        || ngx_inet_addr(u.host.data, u.host.len) != INADDR_NONE
        || u.host.data[0] == '[')
    {
        return NGX_OK;
    }

    name->data = ngx_pnalloc(cf->pool, u.host.len + 1);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(name->data, u.host.data, u.host.len) = '\0';
    name->len = u.host.len;

    return NGX_OK;
}


/* one server, or a cluster through its seeds */

static ngx_int_t
ngx_http_shared_session_upstream_servers(ngx_conf_t *cf,
    ngx_http_shared_session_upstream_t *us,
    ngx_http_shared_session_redis_conf_t *rcp, ngx_str_t *address,
    ngx_uint_t n)
{
    ngx_uint_t                             i;
    ngx_array_t                            seeds;
    ngx_http_shared_session_redis_t      **seed;
    ngx_http_shared_session_main_conf_t   *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shared_session_module);

    if (ngx_array_init(&seeds, cf->temp_pool, n,
                       sizeof(ngx_http_shared_session_redis_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        seed = ngx_array_push(&seeds);
        if (seed == NULL) {
            return NGX_ERROR;
        }

        *seed = ngx_http_shared_session_redis_add(cf, &smcf->servers,
                                                  &address[i], rcp);
        if (*seed == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"%s\" address \"%V\"%s",
                               us->name.len ? "server"
                                            : "shared_session_redis",
                               &address[i],
                               us->conf->redis ? ""
                                   : " (from REDIS_CLUSTER_ENDPOINT and "
                                     "REDIS_CLUSTER_PORT)");
            return NGX_ERROR;
        }
    }

    seed = seeds.elts;

    if (!us->conf->redis_cluster) {
        us->conn.ops = &ngx_http_shared_session_redis_conn_ops;
        us->conn.peer = seed[0];
        return NGX_OK;
    }

    us->conn.ops = &ngx_http_shared_session_cluster_conn_ops;
    us->conn.peer = ngx_http_shared_session_cluster_add(cf, &smcf->clusters,
                                                        &seeds, rcp);
    if (us->conn.peer == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}
