
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * fuzz_json: the JSON of src/ngx_http_shared_session_json.c.
 *
 *   - ngx_http_shared_session_json_host() on the input as a stored
 *     attribute (what Redis hands back: any bytes at all).  A host found
 *     must be what cJSON itself finds there, and must survive being
 *     written into a new attribute and read back.
 *   - ngx_http_shared_session_json_attribute() and _json_body() with the
 *     input's bytes as the class, host, session id and previous host.
 *     They must always succeed; the document must be valid UTF-8 and
 *     valid JSON; each string in it must read back as the input with NUL
 *     bytes turned into '?' and every byte that does not start a valid
 *     UTF-8 sequence turned into U+FFFD (a reference written here, strict
 *     RFC 3629); the numbers must be the exact decimal text.
 */


#include "ngx_fuzz.h"
#include <cjson/cJSON.h>

#include "ngx_http_shared_session_json.h"


/* the input as the module should write it into a JSON string */

static void
ref_sanitize(ngx_pool_t *pool, ngx_str_t *in, ngx_str_t *out)
{
    u_char  *d;
    size_t   i, len;

    out->data = ngx_pnalloc(pool, in->len * 3 + 1);
    if (out->data == NULL) {
        abort();
    }

    d = out->data;

    for (i = 0; i < in->len; /* void */) {

        if (in->data[i] == '\0') {
            *d++ = '?';
            i++;
            continue;
        }

        len = ngx_fuzz_utf8_len(in->data + i, in->len - i);

        if (len == 0) {
            *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
            i++;
            continue;
        }

        d = ngx_cpymem(d, in->data + i, len);
        i += len;
    }

    out->len = d - out->data;
}


/* a string member of a parsed document equals the sanitized input */

static void
check_string(ngx_pool_t *pool, cJSON *obj, const char *name, ngx_str_t *in)
{
    cJSON      *item;
    ngx_str_t   want;

    item = cJSON_GetObjectItemCaseSensitive(obj, name);
    ngx_fuzz_check(cJSON_IsString(item));

    ref_sanitize(pool, in, &want);

    ngx_fuzz_check(strlen(item->valuestring) == want.len
                   && memcmp(item->valuestring, want.data, want.len) == 0);
}


static void
check_number(ngx_str_t *doc, const char *name, int64_t n)
{
    char  text[64];

    snprintf(text, sizeof(text), "\"%s\":%lld", name, (long long) n);

    ngx_fuzz_check(ngx_strnstr(doc->data, text, doc->len) != NULL);
}


static cJSON *
parse_doc(ngx_str_t *doc)
{
    cJSON  *json;

    ngx_fuzz_check(ngx_fuzz_utf8_valid(doc->data, doc->len));

    ngx_fuzz_check(memchr(doc->data, '\0', doc->len) == NULL);

    json = cJSON_ParseWithLength((const char *) doc->data, doc->len);
    ngx_fuzz_check(cJSON_IsObject(json));

    return json;
}


static void
fuzz_attribute(ngx_pool_t *pool, ngx_str_t *class, ngx_str_t *host,
    int64_t now)
{
    cJSON      *json, *date;
    ngx_str_t   out, back, want;

    ngx_fuzz_check(ngx_http_shared_session_json_attribute(pool, class, host,
                                                          now, &out)
                   == NGX_OK);

    json = parse_doc(&out);

    check_string(pool, json, "@class", class);
    check_string(pool, json, "host", host);

    date = cJSON_GetObjectItemCaseSensitive(json, "lastUpdatedAt");
    ngx_fuzz_check(cJSON_IsArray(date) && cJSON_GetArraySize(date) == 2);
    ngx_fuzz_check(cJSON_IsString(cJSON_GetArrayItem(date, 0)));
    ngx_fuzz_check(strcmp(cJSON_GetArrayItem(date, 0)->valuestring,
                          "java.util.Date") == 0);
    ngx_fuzz_check(cJSON_IsNumber(cJSON_GetArrayItem(date, 1)));

    cJSON_Delete(json);

    /* and the decoder finds the host again */

    ngx_fuzz_check(ngx_http_shared_session_json_host(pool, &out, &back)
                   == NGX_OK);

    ref_sanitize(pool, host, &want);
    ngx_fuzz_check(back.len == want.len
                   && memcmp(back.data, want.data, want.len) == 0);
}


static void
fuzz_body(ngx_pool_t *pool, ngx_http_shared_session_json_body_t *body)
{
    cJSON      *json, *item;
    ngx_str_t   out;

    ngx_fuzz_check(ngx_http_shared_session_json_body(pool, body, &out)
                   == NGX_OK);

    json = parse_doc(&out);

    check_string(pool, json, "sessionId", &body->id);
    check_string(pool, json, "host", &body->host);

    if (body->previous_host.data) {
        check_string(pool, json, "previousHost", &body->previous_host);

    } else {
        item = cJSON_GetObjectItemCaseSensitive(json, "previousHost");
        ngx_fuzz_check(cJSON_IsNull(item));
    }

    check_number(&out, "lastUpdatedAt", body->last_updated);
    check_number(&out, "creationTime", body->creation_time);

    item = cJSON_GetObjectItemCaseSensitive(json, "new");
    ngx_fuzz_check(body->is_new ? cJSON_IsTrue(item) : cJSON_IsFalse(item));

    cJSON_Delete(json);
}


/* the input as a stored attribute */

static void
fuzz_host(ngx_pool_t *pool, const uint8_t *data, size_t size)
{
    int64_t     now;
    cJSON      *json, *item;
    ngx_int_t   rc;
    ngx_str_t   attr, host, class;

    attr.data = ngx_pnalloc(pool, size);
    if (attr.data == NULL) {
        abort();
    }

    ngx_memcpy(attr.data, data, size);
    attr.len = size;

    ngx_memzero(&host, sizeof(ngx_str_t));

    rc = ngx_http_shared_session_json_host(pool, &attr, &host);

    ngx_fuzz_check(rc == NGX_OK || rc == NGX_DECLINED);

    /* what cJSON itself makes of it */

    item = NULL;
    json = NULL;

    if (size && size <= NGX_HTTP_SHARED_SESSION_ATTR_PARSE_MAX
        && data[0] == '{')
    {
        json = cJSON_ParseWithLength((const char *) data, size);
        item = cJSON_GetObjectItemCaseSensitive(json, "host");
    }

    ngx_fuzz_check((rc == NGX_OK) == (cJSON_IsString(item) != 0));

    if (rc == NGX_OK) {
        ngx_fuzz_check(host.len == strlen(item->valuestring)
                       && memcmp(host.data, item->valuestring, host.len)
                          == 0);
        ngx_fuzz_check(memchr(host.data, '\0', host.len) == NULL);

        /* the next request writes the host back into a new attribute */

        ngx_str_set(&class, "sample.SampleSession");
        now = 1700000000000LL;

        fuzz_attribute(pool, &class, &host, now);
    }

    cJSON_Delete(json);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                               split, i;
    uint64_t                             u;
    int64_t                              now;
    ngx_str_t                            a, b, whole;
    ngx_pool_t                          *pool;
    ngx_http_shared_session_json_body_t  body;

    ngx_fuzz_init();

    pool = ngx_fuzz_pool();

    fuzz_host(pool, data, size);

    /* the bytes as strings, each in a buffer of its own */

    whole.data = ngx_pnalloc(pool, size);
    if (whole.data == NULL) {
        abort();
    }

    ngx_memcpy(whole.data, data, size);
    whole.len = size;

    split = size ? data[0] % (size + 1) : 0;

    a.len = split;
    a.data = ngx_pnalloc(pool, a.len);
    b.len = size - split;
    b.data = ngx_pnalloc(pool, b.len);
    if (a.data == NULL || b.data == NULL) {
        abort();
    }

    ngx_memcpy(a.data, data, a.len);
    ngx_memcpy(b.data, data + split, b.len);

    /*
     * Times from the last 8 bytes.  INT64_MIN is left out: the module
     * never has it (times are the clock's or parsed from Redis into
     * -2^63+1..2^63-1) and nginx's "%L" cannot print it without overflow.
     */

    u = 0;
    for (i = 0; i < 8 && i < size; i++) {
        u = (u << 8) | data[size - 1 - i];
    }

    now = (int64_t) u;
    if (now == INT64_MIN) {
        now++;
    }

    fuzz_attribute(pool, &a, &b, now);
    fuzz_attribute(pool, &b, &whole, -now);

    ngx_memzero(&body, sizeof(body));
    body.id = a;
    body.host = b;
    body.last_updated = now;
    body.creation_time = (int64_t) (u >> 1) * ((u & 1) ? -1 : 1);
    body.is_new = size & 1;

    if (size & 2) {
        body.previous_host = whole;
    }

    fuzz_body(pool, &body);

    ngx_destroy_pool(pool);

    return 0;
}
