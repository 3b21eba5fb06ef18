
/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * The codec of src/ngx_http_shared_session_jdk.c against Java's own bytes:
 *
 *     check MANIFEST DIR      every line of MANIFEST (fuzz/jdk/golden.txt,
 *                             written by Golden.java) against its file in
 *                             DIR: decode(Java's bytes) == the value, and
 *                             for all but the "-read" kinds, encode(value)
 *                             == Java's bytes, byte for byte; every proper
 *                             prefix of a file is declined
 *     check --lua             prints NGX_HTTP_SHARED_SESSION_JDK_LUA
 *
 * One TAP-like line per file ("ok - ..." or "not ok - ...: why"); exits
 * 1 if any failed.  Built by t/055-jdk-codec.t with nginx's headers and
 * the codec alone (it calls nothing else of nginx).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_shared_session_jdk.h"


typedef struct {
    u_char  *data;
    size_t   len;
    int      null;
} value_t;


static int  failed;


static void *
xmalloc(size_t n)
{
    void  *p;

    p = malloc(n ? n : 1);
    if (p == NULL) {
        perror("malloc");
        exit(2);
    }

    return p;
}


/* "null", or "x<hex>" or "x<hex>*<count>" */

static int
parse_text(const char *s, value_t *v)
{
    size_t       unit, i, count;
    const char  *star;
    u_char      *u;
    unsigned     b;

    if (strcmp(s, "null") == 0) {
        v->null = 1;
        v->data = NULL;
        v->len = 0;
        return 0;
    }

    if (s[0] != 'x') {
        return -1;
    }

    s++;
    star = strchr(s, '*');
    unit = (star ? (size_t) (star - s) : strlen(s)) / 2;
    count = star ? strtoul(star + 1, NULL, 10) : 1;

    u = xmalloc(unit);

    for (i = 0; i < unit; i++) {
        if (sscanf(s + 2 * i, "%2x", &b) != 1) {
            return -1;
        }

        u[i] = (u_char) b;
    }

    v->null = 0;
    v->len = unit * count;
    v->data = xmalloc(v->len);

    for (i = 0; i < count; i++) {
        memcpy(v->data + i * unit, u, unit);
    }

    free(u);

    return 0;
}


static u_char *
load(const char *dir, const char *name, size_t *len)
{
    FILE    *f;
    long     n;
    u_char  *p;
    char     path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    /* exactly its size: a read past the end is one past an allocation */
    p = xmalloc((size_t) n);

    if (fread(p, 1, (size_t) n, f) != (size_t) n) {
        fclose(f);
        free(p);
        return NULL;
    }

    fclose(f);
    *len = (size_t) n;

    return p;
}


static int
same(u_char *a, size_t alen, u_char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}


/* the decoder for this kind; NGX_OK or NGX_DECLINED */

static ngx_int_t
decode(const char *kind, u_char *p, size_t len)
{
    int32_t                                i;
    int64_t                                n;
    u_char                                *buf;
    ngx_int_t                              rc;
    ngx_str_t                              s;
    ngx_http_shared_session_jdk_session_t  session;

    if (strcmp(kind, "long") == 0) {
        return ngx_http_shared_session_jdk_long(p, len, &n);
    }

    if (strcmp(kind, "integer") == 0) {
        return ngx_http_shared_session_jdk_integer(p, len, &i);
    }

    buf = xmalloc(len);

    if (strncmp(kind, "string", 6) == 0) {
        rc = ngx_http_shared_session_jdk_string(p, len, buf, &s);

    } else {
        rc = ngx_http_shared_session_jdk_session(p, len, buf, &session);
    }

    free(buf);

    return rc;
}


static const char *
check_long(u_char *p, size_t len, const char *arg)
{
    int64_t  want, n;
    u_char   out[NGX_HTTP_SHARED_SESSION_JDK_LONG_LEN];

    want = strtoll(arg, NULL, 10);

    if (ngx_http_shared_session_jdk_long(p, len, &n) != NGX_OK) {
        return "declined";
    }

    if (n != want) {
        return "decoded another number";
    }

    if (ngx_http_shared_session_jdk_write_long(out, want)
        != out + sizeof(out) || !same(out, sizeof(out), p, len))
    {
        return "encoded other bytes";
    }

    return NULL;
}


static const char *
check_integer(u_char *p, size_t len, const char *arg)
{
    int32_t  want, n;
    u_char   out[NGX_HTTP_SHARED_SESSION_JDK_INTEGER_LEN];

    want = (int32_t) strtol(arg, NULL, 10);

    if (ngx_http_shared_session_jdk_integer(p, len, &n) != NGX_OK) {
        return "declined";
    }

    if (n != want) {
        return "decoded another number";
    }

    if (ngx_http_shared_session_jdk_write_integer(out, want)
        != out + sizeof(out) || !same(out, sizeof(out), p, len))
    {
        return "encoded other bytes";
    }

    return NULL;
}


static const char *
check_string(u_char *p, size_t len, const char *arg, int encode)
{
    u_char      *buf, *out;
    value_t      want;
    ngx_str_t    s;
    const char  *err;

    if (parse_text(arg, &want) != 0 || want.null) {
        return "bad manifest line";
    }

    buf = xmalloc(len);
    err = NULL;

    if (ngx_http_shared_session_jdk_string(p, len, buf, &s) != NGX_OK) {
        err = "declined";

    } else if (!same(s.data, s.len, want.data, want.len)) {
        err = "decoded another text";

    } else if (encode) {
        s.data = want.data;
        s.len = want.len;

        out = xmalloc(ngx_http_shared_session_jdk_string_len(&s));

        if (ngx_http_shared_session_jdk_string_len(&s) != len
            || ngx_http_shared_session_jdk_write_string(out, &s) != out + len
            || !same(out, len, p, len))
        {
            err = "encoded other bytes";
        }

        free(out);
    }

    free(buf);
    free(want.data);

    return err;
}


static const char *
check_session(u_char *p, size_t len, char *args, int encode)
{
    char                                   *class, *suid, *host, *ms;
    u_char                                 *buf, *out;
    value_t                                 wclass, whost;
    const char                             *err;
    ngx_http_shared_session_jdk_session_t   got, want;

    class = strtok(args, " ");
    suid = strtok(NULL, " ");
    host = strtok(NULL, " ");
    ms = strtok(NULL, " \n");

    if (ms == NULL || parse_text(class, &wclass) != 0 || wclass.null
        || parse_text(host, &whost) != 0)
    {
        return "bad manifest line";
    }

    want.class.data = wclass.data;
    want.class.len = wclass.len;
    want.suid = strtoll(suid, NULL, 10);
    want.host.data = whost.data;
    want.host.len = whost.len;
    want.no_date = strcmp(ms, "null") == 0;
    want.last_updated = want.no_date ? 0 : strtoll(ms, NULL, 10);

    buf = xmalloc(len);
    err = NULL;

    if (ngx_http_shared_session_jdk_session(p, len, buf, &got) != NGX_OK) {
        err = "declined";

    } else if (!same(got.class.data, got.class.len, want.class.data,
                     want.class.len))
    {
        err = "decoded another class";

    } else if (got.suid != want.suid) {
        err = "decoded another serialVersionUID";

    } else if ((got.host.data == NULL) != (want.host.data == NULL)
               || !same(got.host.data, got.host.len, want.host.data,
                        want.host.len))
    {
        err = "decoded another host";

    } else if (got.no_date != want.no_date
               || got.last_updated != want.last_updated)
    {
        err = "decoded another lastUpdatedAt";

    } else if (encode) {
        out = xmalloc(ngx_http_shared_session_jdk_session_len(&want));

        if (ngx_http_shared_session_jdk_session_len(&want) != len
            || ngx_http_shared_session_jdk_write_session(out, &want)
               != out + len
            || !same(out, len, p, len))
        {
            err = "encoded other bytes";
        }

        free(out);
    }

    free(buf);
    free(wclass.data);
    free(whost.data);

    return err;
}


/* strict: no proper prefix of a stream is a value (each in its own buffer) */

static const char *
check_prefixes(const char *kind, u_char *p, size_t len)
{
    size_t   n, step;
    u_char  *q;

    /* every length for the short ones, a sample of the long ones */
    step = len > 4096 ? 997 : 1;

    for (n = 0; n < len; n += step) {
        q = xmalloc(n);
        memcpy(q, p, n);

        if (decode(kind, q, n) != NGX_DECLINED) {
            free(q);
            return "a prefix decodes";
        }

        free(q);
    }

    return NULL;
}


static int
run(const char *manifest, const char *dir)
{
    int          lines;
    char        *file, *kind, *args;
    FILE        *f;
    size_t       len;
    u_char      *p;
    const char  *err;
    static char  line[1 << 20];

    f = fopen(manifest, "r");
    if (f == NULL) {
        perror(manifest);
        return 2;
    }

    lines = 0;

    while (fgets(line, sizeof(line), f)) {
        file = strtok(line, " ");
        kind = strtok(NULL, " ");
        args = strtok(NULL, "\n");

        if (args == NULL) {
            continue;
        }

        lines++;

        p = load(dir, file, &len);

        if (p == NULL) {
            err = "cannot read the file";

        } else if (strcmp(kind, "long") == 0) {
            err = check_long(p, len, args);

        } else if (strcmp(kind, "integer") == 0) {
            err = check_integer(p, len, args);

        } else if (strcmp(kind, "string") == 0
                   || strcmp(kind, "string-read") == 0)
        {
            err = check_string(p, len, args, kind[6] == '\0');

        } else if (strcmp(kind, "session") == 0
                   || strcmp(kind, "session-read") == 0)
        {
            err = check_session(p, len, args, kind[7] == '\0');

        } else {
            err = "unknown kind";
        }

        if (err == NULL) {
            err = check_prefixes(kind, p, len);
        }

        if (err) {
            failed = 1;
            printf("not ok - %s %s: %s\n", file, kind, err);

        } else {
            printf("ok - %s %s\n", file, kind);
        }

        free(p);
    }

    fclose(f);

    printf("# %d files\n", lines);

    return failed || lines == 0;
}


int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--lua") == 0) {
        fputs(NGX_HTTP_SHARED_SESSION_JDK_LUA, stdout);
        return 0;
    }

    if (argc != 3) {
        fprintf(stderr, "usage: check MANIFEST DIR | check --lua\n");
        return 2;
    }

    return run(argv[1], argv[2]);
}
