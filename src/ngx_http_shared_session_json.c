
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <cjson/cJSON.h>

#include "ngx_http_shared_session_json.h"
#include "ngx_http_shared_session_num.h"


static ngx_int_t ngx_http_shared_session_json_begin(ngx_pool_t *pool);
static void ngx_http_shared_session_json_end(ngx_pool_t *pool);
static void ngx_http_shared_session_json_exit(void *data);
static void *ngx_http_shared_session_json_alloc(size_t size);
static void ngx_http_shared_session_json_free(void *p);
static ngx_int_t ngx_http_shared_session_json_host_written(
    ngx_str_t *attribute, ngx_str_t *host);
static u_char *ngx_http_shared_session_json_skip(u_char *p, u_char *last,
    u_char *text, size_t len);
static cJSON *ngx_http_shared_session_json_string(ngx_str_t *s,
    size_t *len);
static cJSON *ngx_http_shared_session_json_parse(ngx_str_t *in);
static ngx_int_t ngx_http_shared_session_json_copy(ngx_pool_t *pool,
    cJSON *item, ngx_str_t *out);
static size_t ngx_http_shared_session_utf8_len(u_char *p, u_char *last);
static cJSON *ngx_http_shared_session_json_number(int64_t n);
static ngx_int_t ngx_http_shared_session_json_print(ngx_pool_t *pool,
    cJSON *json, size_t len, size_t fixed, ngx_str_t *out);


/*
 * cJSON allocates through process-wide hooks (libcjson may be shared with
 * other modules of the same nginx).  Ours serve from the worker's scratch
 * pool between json_begin() and json_end(), and are malloc() and free() at
 * any other time.  Such a stretch is synchronous: the trees made in it,
 * and the strings they refer to, are deleted in it, before control
 * returns to the event loop; what outlives it (a printed document, a
 * decoded string) is copied into the request's pool.  The scratch pool is
 * reset at the end of every stretch, so the request's pool never holds a
 * tree, and no request allocates for one; one that needed more than a
 * block is freed whole, so that a worker keeps one block at most.  The
 * count of blocks still held at json_end() makes a breach of the rule
 * loud: such a tree would be used after its pool, or freed with free().
 */
#define NGX_HTTP_SHARED_SESSION_JSON_SCRATCH  4096

static ngx_pool_t  *ngx_http_shared_session_json_pool;
static ngx_pool_t  *ngx_http_shared_session_json_scratch;
static ngx_int_t    ngx_http_shared_session_json_held;
static ngx_uint_t   ngx_http_shared_session_json_hooked;


ngx_int_t
ngx_http_shared_session_json_attribute(ngx_pool_t *pool, ngx_str_t *class,
    ngx_str_t *host, int64_t now, ngx_str_t *out)
{
    cJSON      *attr, *date, *item;
    size_t      len;
    ngx_int_t   rc;

    if (ngx_http_shared_session_json_begin(pool) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;
    len = 0;

    attr = cJSON_CreateObject();
    date = cJSON_CreateArray();

    if (attr == NULL || date == NULL) {
        goto done;
    }

    item = ngx_http_shared_session_json_string(class, &len);
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToObjectCS(attr, "@class", item);

    item = ngx_http_shared_session_json_string(host, &len);
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToObjectCS(attr, "host", item);

    /* java.util.Date is not final: Jackson writes it as [class, millis] */

    item = cJSON_CreateStringReference("java.util.Date");
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToArray(date, item);

    item = ngx_http_shared_session_json_number(now);
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToArray(date, item);

    cJSON_AddItemToObjectCS(attr, "lastUpdatedAt", date);
    date = NULL;

    rc = ngx_http_shared_session_json_print(pool, attr, len, 96, out);

done:

    cJSON_Delete(attr);
    cJSON_Delete(date);

    ngx_http_shared_session_json_end(pool);

    return rc;
}


ngx_int_t
ngx_http_shared_session_json_host(ngx_pool_t *pool, ngx_str_t *attribute,
    ngx_str_t *host)
{
    cJSON      *attr, *item;
    ngx_int_t   rc;

    if (attribute->len == 0
        || attribute->len > NGX_HTTP_SHARED_SESSION_ATTR_PARSE_MAX
        || attribute->data[0] != '{')
    {
        /* absent, too large, or not JSON (e.g. JDK serialization) */
        return NGX_DECLINED;
    }

    if (ngx_http_shared_session_json_host_written(attribute, host) == NGX_OK) {
        return NGX_OK;
    }

    if (ngx_http_shared_session_json_begin(pool) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = NGX_DECLINED;

    attr = cJSON_ParseWithLength((const char *) attribute->data,
                                 attribute->len);

    item = cJSON_GetObjectItemCaseSensitive(attr, "host");

    if (cJSON_IsString(item)) {
        host->len = ngx_strlen(item->valuestring);
        host->data = ngx_pnalloc(pool, host->len);

        if (host->data == NULL) {
            rc = NGX_ERROR;

        } else {
            ngx_memcpy(host->data, item->valuestring, host->len);
            rc = NGX_OK;
        }
    }

    cJSON_Delete(attr);

    ngx_http_shared_session_json_end(pool);

    return rc;
}


/*
 * The attribute exactly as json_attribute() writes it, without escapes:
 * the host is then the bytes between its quotes, as cJSON would return
 * them.  Anything else is left to cJSON.
 */

static ngx_int_t
ngx_http_shared_session_json_host_written(ngx_str_t *attribute,
    ngx_str_t *host)
{
    u_char  *p, *last, *h;

    static u_char  class[] = "{\"@class\":\"";
    static u_char  name[] = "\",\"host\":\"";
    static u_char  date[] = "\",\"lastUpdatedAt\":[\"java.util.Date\",";

    p = attribute->data;
    last = p + attribute->len;

    p = ngx_http_shared_session_json_skip(p, last, class, sizeof(class) - 1);
    p = ngx_http_shared_session_json_skip(p, last, NULL, 0);
    p = ngx_http_shared_session_json_skip(p, last, name, sizeof(name) - 1);

    h = p;

    p = ngx_http_shared_session_json_skip(p, last, NULL, 0);
    p = ngx_http_shared_session_json_skip(p, last, date, sizeof(date) - 1);

    if (p == NULL) {
        return NGX_DECLINED;
    }

    if (p < last && *p == '-') {
        p++;
    }

    if (p == last || *p < '0' || *p > '9') {
        return NGX_DECLINED;
    }

    while (p < last && *p >= '0' && *p <= '9') {
        p++;
    }

    if (last - p != 2 || p[0] != ']' || p[1] != '}') {
        return NGX_DECLINED;
    }

    host->data = h;
    host->len = ngx_strlchr(h, last, '"') - h;

    return NGX_OK;
}


/*
 * With "text": p past that literal text; without: p at the end of a JSON
 * string body without escapes or control characters.  NULL if it does not
 * match (or p is NULL).
 */

static u_char *
ngx_http_shared_session_json_skip(u_char *p, u_char *last, u_char *text,
    size_t len)
{
    if (p == NULL) {
        return NULL;
    }

    if (text) {
        if ((size_t) (last - p) < len || ngx_memcmp(p, text, len) != 0) {
            return NULL;
        }

        return p + len;
    }

    while (p < last && *p != '"') {
        if (*p == '\\' || *p < 0x20) {
            return NULL;
        }

        p++;
    }

    return (p < last) ? p : NULL;
}


ngx_int_t
ngx_http_shared_session_json_text(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out)
{
    cJSON      *json;
    ngx_int_t   rc;

    if (in->len == 0 || in->data[0] != '"') {
        return NGX_DECLINED;
    }

    if (ngx_http_shared_session_json_begin(pool) != NGX_OK) {
        return NGX_ERROR;
    }

    json = ngx_http_shared_session_json_parse(in);

    rc = ngx_http_shared_session_json_copy(pool, json, out);

    cJSON_Delete(json);

    ngx_http_shared_session_json_end(pool);

    return rc;
}


ngx_int_t
ngx_http_shared_session_json_principal(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out)
{
    cJSON      *json, *auth, *item;
    ngx_int_t   rc;

    if (in->len == 0 || in->data[0] != '{') {
        return NGX_DECLINED;
    }

    if (ngx_http_shared_session_json_begin(pool) != NGX_OK) {
        return NGX_ERROR;
    }

    json = ngx_http_shared_session_json_parse(in);

    auth = cJSON_GetObjectItemCaseSensitive(json, "authentication");
    item = cJSON_GetObjectItemCaseSensitive(auth, "name");

    if (!cJSON_IsString(item)) {
        item = cJSON_GetObjectItemCaseSensitive(auth, "principal");

        if (cJSON_IsObject(item)) {
            item = cJSON_GetObjectItemCaseSensitive(item, "username");
        }
    }

    rc = ngx_http_shared_session_json_copy(pool, item, out);

    cJSON_Delete(json);

    ngx_http_shared_session_json_end(pool);

    return rc;
}


/*
 * cJSON's strings end at their first NUL: a value that escapes one
 * (\u0000) is not read at all rather than read cut short.
 */

static cJSON *
ngx_http_shared_session_json_parse(ngx_str_t *in)
{
    if (in->len > NGX_HTTP_SHARED_SESSION_ATTR_PARSE_MAX
        || ngx_strlcasestrn(in->data, in->data + in->len,
                            (u_char *) "\\u0000", sizeof("\\u0000") - 2)
           != NULL)
    {
        return NULL;
    }

    return cJSON_ParseWithLength((const char *) in->data, in->len);
}


static ngx_int_t
ngx_http_shared_session_json_copy(ngx_pool_t *pool, cJSON *item,
    ngx_str_t *out)
{
    size_t  len;

    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return NGX_DECLINED;
    }

    len = ngx_strlen(item->valuestring);

    out->data = ngx_pnalloc(pool, len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, item->valuestring, len);
    out->len = len;

    return NGX_OK;
}


ngx_int_t
ngx_http_shared_session_json_body(ngx_pool_t *pool,
    ngx_http_shared_session_json_body_t *body, ngx_str_t *out)
{
    cJSON      *json, *item;
    size_t      len;
    ngx_int_t   rc;

    if (ngx_http_shared_session_json_begin(pool) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;
    len = 0;

    json = cJSON_CreateObject();
    if (json == NULL) {
        goto done;
    }

    item = ngx_http_shared_session_json_string(&body->id, &len);
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToObjectCS(json, "sessionId", item);

    item = ngx_http_shared_session_json_string(&body->host, &len);
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToObjectCS(json, "host", item);

    item = ngx_http_shared_session_json_number(body->last_updated);
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToObjectCS(json, "lastUpdatedAt", item);

    if (body->previous_host.data) {
        item = ngx_http_shared_session_json_string(&body->previous_host,
                                                   &len);
    } else {
        item = cJSON_CreateNull();
    }

    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToObjectCS(json, "previousHost", item);

    item = ngx_http_shared_session_json_number(body->creation_time);
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToObjectCS(json, "creationTime", item);

    item = cJSON_CreateBool(body->is_new ? 1 : 0);
    if (item == NULL) {
        goto done;
    }

    cJSON_AddItemToObjectCS(json, "new", item);

    rc = ngx_http_shared_session_json_print(pool, json, len, 160, out);

done:

    cJSON_Delete(json);

    ngx_http_shared_session_json_end(pool);

    return rc;
}


/*
 * A JSON string from arbitrary bytes: cJSON escapes quotes, backslashes and
 * control characters but passes other bytes through, so each byte that does
 * not start a well-formed UTF-8 sequence is replaced with U+FFFD here, and
 * the document stays valid for any reader (Jackson included).
 */

static cJSON *
ngx_http_shared_session_json_string(ngx_str_t *s, size_t *len)
{
    u_char  *p, *last, *d, *buf;
    size_t   n;

    p = s->data;
    last = p + s->len;

    /* the common case: printable ASCII, copied as is */

    while (p < last && *p >= 0x20 && *p < 0x80) {
        p++;
    }

    /* past it, a byte may become three (U+FFFD) */

    buf = ngx_pnalloc(ngx_http_shared_session_json_pool,
                      (p == last) ? s->len + 1 : s->len * 3 + 1);
    if (buf == NULL) {
        return NULL;
    }

    d = buf;

    if (p != s->data) {
        d = ngx_cpymem(d, s->data, p - s->data);
    }

    while (p < last) {

        if (*p == '\0') {
            /* cJSON strings are NUL-terminated: keep the rest */
            *d++ = '?';
            p++;
            continue;
        }

        n = ngx_http_shared_session_utf8_len(p, last);

        if (n == 0) {
            *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
            p++;
            continue;
        }

        while (n--) {
            *d++ = *p++;
        }
    }

    *d = '\0';
    *len += d - buf;

    /* the buffer lives as long as the tree: cJSON need not copy it */

    return cJSON_CreateStringReference((const char *) buf);
}


/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629, table 3-7
 * of Unicode: no overlong forms, no surrogates, nothing past U+10FFFF),
 * or 0.
 */

static size_t
ngx_http_shared_session_utf8_len(u_char *p, u_char *last)
{
    size_t  n, i;
    u_char  lo, hi;

    if (*p < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2;

    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3;

        if (*p == 0xe0) {
            lo = 0xa0;

        } else if (*p == 0xed) {
            hi = 0x9f;
        }

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4;

        if (*p == 0xf0) {
            lo = 0x90;

        } else if (*p == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if ((size_t) (last - p) < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


static cJSON *
ngx_http_shared_session_json_number(int64_t n)
{
    u_char  buf[NGX_INT64_LEN + 1];

    /* raw text: a double would lose exactness past 2^53 */

    *ngx_http_shared_session_int(buf, n) = '\0';

    return cJSON_CreateRaw((const char *) buf);
}


/*
 * Into a buffer of the pool: cJSON's own printing reallocates as it goes,
 * which with our hooks (cJSON then has no realloc) is an allocation and a
 * copy per step.  "len" is the length of the document's strings, "fixed"
 * enough for the rest: most documents are near "len + fixed"; escapes
 * make a byte at most 6 ("\u001f"), the second try's size.
 */

static ngx_int_t
ngx_http_shared_session_json_print(ngx_pool_t *pool, cJSON *json,
    size_t len, size_t fixed, ngx_str_t *out)
{
    u_char      *buf;
    size_t       size;
    ngx_uint_t   i;

    size = len + len / 8 + fixed;

    for (i = 0; i < 2; i++) {

        if (size > NGX_MAX_INT32_VALUE) {
            break;
        }

        buf = ngx_pnalloc(pool, size);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        if (cJSON_PrintPreallocated(json, (char *) buf, (int) size, 0)) {
            out->data = buf;
            out->len = ngx_strlen(buf);
            return NGX_OK;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                       "shared session: JSON of %uz string bytes "
                       "exceeded %uz bytes", len, size);

        ngx_pfree(pool, buf);

        size = len * 6 + fixed;
    }

    ngx_log_error(NGX_LOG_ALERT, pool->log, 0,
                  "shared session: a JSON document of %uz string bytes "
                  "did not fit in %uz bytes", len, size);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_shared_session_json_decode_string(ngx_pool_t *pool, ngx_str_t *in,
    u_char *buf, ngx_str_t *out)
{
    cJSON      *json;
    ngx_int_t   rc;

    if (ngx_http_shared_session_json_begin(pool) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = NGX_DECLINED;

    json = cJSON_ParseWithLength((const char *) in->data, in->len);

    if (cJSON_IsString(json)) {
        out->len = ngx_strlen(json->valuestring);
        out->data = buf;
        ngx_memcpy(buf, json->valuestring, out->len);
        rc = NGX_OK;
    }

    cJSON_Delete(json);

    ngx_http_shared_session_json_end(pool);

    return rc;
}


static ngx_int_t
ngx_http_shared_session_json_begin(ngx_pool_t *pool)
{
    cJSON_Hooks          hooks;
    ngx_pool_cleanup_t  *cln;

    if (ngx_http_shared_session_json_pool) {
        ngx_log_error(NGX_LOG_ALERT, pool->log, 0,
                      "shared session: a cJSON pool stretch inside another");
        return NGX_ERROR;
    }

    /*
     * Installed in a worker, at its first stretch: never in the master,
     * where the hooks would point into this module after a reload had
     * unloaded it.
     */

    if (!ngx_http_shared_session_json_hooked) {

        /* the worker's scratch pool goes with its cycle's pool, at exit */

        if (ngx_cycle) {
            cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
            if (cln == NULL) {
                return NGX_ERROR;
            }

            cln->handler = ngx_http_shared_session_json_exit;
        }

        hooks.malloc_fn = ngx_http_shared_session_json_alloc;
        hooks.free_fn = ngx_http_shared_session_json_free;

        cJSON_InitHooks(&hooks);

        ngx_http_shared_session_json_hooked = 1;
    }

    if (ngx_http_shared_session_json_scratch == NULL) {
        ngx_http_shared_session_json_scratch =
            ngx_create_pool(NGX_HTTP_SHARED_SESSION_JSON_SCRATCH, pool->log);

        if (ngx_http_shared_session_json_scratch == NULL) {
            return NGX_ERROR;
        }
    }

    /* the request's log, alive for the stretch */
    ngx_http_shared_session_json_scratch->log = pool->log;

    ngx_http_shared_session_json_pool = ngx_http_shared_session_json_scratch;
    ngx_http_shared_session_json_held = 0;

    return NGX_OK;
}


static void
ngx_http_shared_session_json_end(ngx_pool_t *pool)
{
    ngx_pool_t  *scratch;

    scratch = ngx_http_shared_session_json_scratch;

    if (ngx_http_shared_session_json_pool != scratch
        || ngx_http_shared_session_json_held != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, pool->log, 0,
                      "shared session: %i cJSON blocks outlive their pool",
                      ngx_http_shared_session_json_held);
    }

    ngx_http_shared_session_json_pool = NULL;
    ngx_http_shared_session_json_held = 0;

    if (scratch->d.next) {
        ngx_destroy_pool(scratch);
        ngx_http_shared_session_json_scratch = NULL;
        return;
    }

    ngx_reset_pool(scratch);
}


static void
ngx_http_shared_session_json_exit(void *data)
{
    /* cJSON's own allocator again: ours go with this module */

    cJSON_InitHooks(NULL);

    ngx_http_shared_session_json_hooked = 0;

    if (ngx_http_shared_session_json_scratch) {
        /* the log of its last request is gone */
        ngx_http_shared_session_json_scratch->log = ngx_cycle->log;

        ngx_destroy_pool(ngx_http_shared_session_json_scratch);
        ngx_http_shared_session_json_scratch = NULL;
    }
}


static void *
ngx_http_shared_session_json_alloc(size_t size)
{
    void  *p;

    if (ngx_http_shared_session_json_pool == NULL) {
        return malloc(size);
    }

    p = ngx_palloc(ngx_http_shared_session_json_pool, size);

    if (p) {
        ngx_http_shared_session_json_held++;
    }

    return p;
}


static void
ngx_http_shared_session_json_free(void *p)
{
    if (ngx_http_shared_session_json_pool == NULL || p == NULL) {
        free(p);
        return;
    }

    /* a large block goes back now, the others with the pool */

    (void) ngx_pfree(ngx_http_shared_session_json_pool, p);

    ngx_http_shared_session_json_held--;
}
