
/*
 * Copyright (C) ngx_http_shared_session_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <cjson/cJSON.h>

#include "ngx_http_shared_session_json.h"


static cJSON *ngx_http_shared_session_json_string(ngx_pool_t *pool,
    ngx_str_t *s);
static cJSON *ngx_http_shared_session_json_number(int64_t n);
static ngx_int_t ngx_http_shared_session_json_print(ngx_pool_t *pool,
    cJSON *json, size_t size, ngx_str_t *out);


ngx_int_t
ngx_http_shared_session_json_attribute(ngx_pool_t *pool, ngx_str_t *class,
    ngx_str_t *host, int64_t now, ngx_str_t *out)
{
    cJSON      *attr, *date, *item;
    ngx_int_t   rc;

    attr = cJSON_CreateObject();
    date = cJSON_CreateArray();

    if (attr == NULL || date == NULL) {
        goto failed;
    }

    item = ngx_http_shared_session_json_string(pool, class);
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToObject(attr, "@class", item);

    item = ngx_http_shared_session_json_string(pool, host);
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToObject(attr, "host", item);

    /* java.util.Date is not final: Jackson writes it as [class, millis] */

    item = cJSON_CreateString("java.util.Date");
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToArray(date, item);

    item = ngx_http_shared_session_json_number(now);
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToArray(date, item);

    cJSON_AddItemToObject(attr, "lastUpdatedAt", date);

    rc = ngx_http_shared_session_json_print(pool, attr,
                                            (class->len + host->len) * 6 + 96,
                                            out);
    cJSON_Delete(attr);

    return rc;

failed:

    cJSON_Delete(attr);
    cJSON_Delete(date);

    return NGX_ERROR;
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

    attr = cJSON_ParseWithLength((const char *) attribute->data,
                                 attribute->len);
    if (attr == NULL) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

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

    return rc;
}


ngx_int_t
ngx_http_shared_session_json_body(ngx_pool_t *pool,
    ngx_http_shared_session_json_body_t *body, ngx_str_t *out)
{
    cJSON      *json, *item;
    size_t      size;
    ngx_int_t   rc;

    json = cJSON_CreateObject();
    if (json == NULL) {
        return NGX_ERROR;
    }

    item = ngx_http_shared_session_json_string(pool, &body->id);
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToObject(json, "sessionId", item);

    item = ngx_http_shared_session_json_string(pool, &body->host);
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToObject(json, "host", item);

    item = ngx_http_shared_session_json_number(body->last_updated);
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToObject(json, "lastUpdatedAt", item);

    if (body->previous_host.data) {
        item = ngx_http_shared_session_json_string(pool,
                                                   &body->previous_host);
    } else {
        item = cJSON_CreateNull();
    }

    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToObject(json, "previousHost", item);

    item = ngx_http_shared_session_json_number(body->creation_time);
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToObject(json, "creationTime", item);

    item = cJSON_CreateBool(body->is_new ? 1 : 0);
    if (item == NULL) {
        goto failed;
    }

    cJSON_AddItemToObject(json, "new", item);

    size = (body->id.len + body->host.len + body->previous_host.len) * 6
           + 160;

    rc = ngx_http_shared_session_json_print(pool, json, size, out);

    cJSON_Delete(json);

    return rc;

failed:

    cJSON_Delete(json);

    return NGX_ERROR;
}


/*
 * A JSON string from arbitrary bytes: cJSON escapes quotes, backslashes and
 * control characters but passes other bytes through, so invalid UTF-8 is
 * replaced with U+FFFD here to keep the document valid.
 */

static cJSON *
ngx_http_shared_session_json_string(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char    *p, *last, *d, *buf, *next;
    uint32_t   ch;

    buf = ngx_pnalloc(pool, s->len * 3 + 1);
    if (buf == NULL) {
        return NULL;
    }

    d = buf;
    p = s->data;
    last = p + s->len;

    while (p < last) {

        if (*p < 0x80) {
            if (*p == '\0') {
                /* cJSON strings are NUL-terminated: keep the rest */
                *d++ = '?';
                p++;
                continue;
            }

            *d++ = *p++;
            continue;
        }

        next = p;
        ch = ngx_utf8_decode(&next, last - p);

        if (ch > 0x10ffff || (ch >= 0xd800 && ch <= 0xdfff)) {
            *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
            p++;
            continue;
        }

        d = ngx_cpymem(d, p, next - p);
        p = next;
    }

    *d = '\0';

    return cJSON_CreateString((const char *) buf);
}


static cJSON *
ngx_http_shared_session_json_number(int64_t n)
{
    u_char  buf[NGX_INT64_LEN + 1];

    /* raw text: a double would lose exactness past 2^53 */

    *ngx_sprintf(buf, "%L", n) = '\0';

    return cJSON_CreateRaw((const char *) buf);
}


static ngx_int_t
ngx_http_shared_session_json_print(ngx_pool_t *pool, cJSON *json,
    size_t size, ngx_str_t *out)
{
    u_char  *buf;

    buf = ngx_pnalloc(pool, size);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    if (!cJSON_PrintPreallocated(json, (char *) buf, (int) size, 0)) {
        return NGX_ERROR;
    }

    out->data = buf;
    out->len = ngx_strlen(buf);

    return NGX_OK;
}
