/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_sap_url.c: resource paths and literals of the `sap_pm` simulator
 * (SAP Gateway OData V2 and V4). See sim_sap_url.h. Hand-written scanner:
 * every refusal names what is wrong; nothing is copied without a bound.
 */
#include "sim/sim_sap_url.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"
#include "core/timefmt.h"

#define V2_PREFIX "/sap/opu/odata/sap/"
#define V4_PREFIX "/sap/opu/odata4/sap/"

static enum ab_rc bad(char err[SAP_ERR_MAX], const char *fmt, ...) AB_PRINTF(2, 3);

static enum ab_rc bad(char err[SAP_ERR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SAP_ERR_MAX, fmt, ap);
    va_end(ap);
    return AB_EINVAL;
}

bool sap_json_date_parse(const char *s, int64_t *ms)
{
    if (strncmp(s, "/Date(", 6) != 0)
        return false;
    const char *p = s + 6;
    size_t k = 0;
    if (p[k] == '-')
        k++;
    while (isdigit((unsigned char)p[k]))
        k++;
    int64_t v, off = 0;
    if (k == 0 || k > 16 || str_to_i64n(p, k, &v))
        return false;
    p += k;
    if (*p == '+' || *p == '-') {
        bool neg = *p == '-';
        p++;
        size_t d = 0;
        while (isdigit((unsigned char)p[d]))
            d++;
        if (d == 0 || d > 4 || str_to_i64n(p, d, &off))
            return false;
        if (neg)
            off = -off;
        p += d;
    }
    (void)off; /* the ms are UTC already; the offset only says how to display them */
    if (strcmp(p, ")/") != 0)
        return false;
    *ms = v;
    return true;
}

bool sap_duration_parse(const char *s, int64_t *ms)
{
    if (strncmp(s, "PT", 2) != 0 || strlen(s) > 32)
        return false;
    int64_t v;
    if (duration_parse_iso8601(s, &v) != AB_OK || v < 0 || v >= 86400000LL)
        return false;
    *ms = v;
    return true;
}

/* datetime'2017-12-31T00:00[:00[.fff]]' (no zone: UTC) or
 * datetimeoffset'...Z|+hh:mm' into ms. */
static bool datetime_text(const char *v, bool offset, int64_t *ms)
{
    char buf[48];
    size_t n = strlen(v);
    if (n < 16 || n > 40 || v[10] != 'T')
        return false;
    memcpy(buf, v, n + 1);
    if (n == 16) {
        memcpy(buf + 16, ":00", 4);
        n = 19;
    }
    bool zone = buf[n - 1] == 'Z' || strchr(buf + 19, '+') || strchr(buf + 19, '-');
    if (!zone) {
        if (n + 2 > sizeof(buf))
            return false;
        buf[n] = 'Z';
        buf[n + 1] = '\0';
    } else if (!offset) {
        return false;
    }
    return time_parse_rfc3339(buf, ms) == AB_OK;
}

/* One literal at s[0..n) (the whole span). */
static enum ab_rc literal(struct arena *a, const char *s, size_t n, struct sap_lit_val *out,
                          char err[SAP_ERR_MAX])
{
    if (n == 0)
        return bad(err, "empty literal");
    size_t q = 0;
    while (q < n && s[q] != '\'')
        q++;
    if (q == n) {
        for (size_t i = 0; i < n; i++)
            if (!(isalnum((unsigned char)s[i]) || strchr(".:+-_", s[i])))
                return bad(err, "invalid character in literal '%.*s'", (int)(n > 40 ? 40 : n), s);
        out->kind = SAP_LIT_BARE;
        out->text = arena_strndup(a, s, n);
        return AB_OK;
    }
    if (n < q + 2 || s[n - 1] != '\'')
        return bad(err, "unterminated string literal");
    /* the quoted text, '' as a quote */
    char *v = arena_alloc(a, n);
    size_t o = 0;
    for (size_t i = q + 1; i < n - 1; i++) {
        if (s[i] == '\'') {
            if (i + 1 < n - 1 && s[i + 1] == '\'') {
                v[o++] = '\'';
                i++;
                continue;
            }
            return bad(err, "unescaped quote inside a string literal");
        }
        v[o++] = s[i];
    }
    v[o] = '\0';
    out->text = v;
    if (q == 0) {
        out->kind = SAP_LIT_STRING;
        return AB_OK;
    }
    if ((q == 8 && strncasecmp(s, "datetime", 8) == 0) ||
        (q == 14 && strncasecmp(s, "datetimeoffset", 14) == 0)) {
        out->kind = SAP_LIT_DATETIME;
        if (!datetime_text(v, q == 14, &out->ms))
            return bad(err, "invalid %.*s literal '%s'", (int)q, s, v);
        return AB_OK;
    }
    if (q == 4 && strncasecmp(s, "time", 4) == 0) {
        out->kind = SAP_LIT_TIME;
        if (!sap_duration_parse(v, &out->ms))
            return bad(err, "invalid time literal '%s' (expected time'PT15H51M04S')", v);
        return AB_OK;
    }
    if (q == 4 && strncasecmp(s, "guid", 4) == 0 && strlen(v) == 36) {
        out->kind = SAP_LIT_GUID;
        return AB_OK;
    }
    return bad(err, "unknown literal prefix '%.*s'", (int)(q > 30 ? 30 : q), s);
}

enum ab_rc sap_literal_parse(struct arena *a, const char *text, struct sap_lit_val *out,
                             char err[SAP_ERR_MAX])
{
    memset(out, 0, sizeof(*out));
    size_t n = strlen(text);
    if (n > SAP_PATH_MAX)
        return bad(err, "literal too long");
    return literal(a, text, n, out, err);
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The key predicate s[0..n) (without the parentheses). */
static enum ab_rc predicate(struct arena *a, const char *s, size_t n, struct sap_path *out,
                            char err[SAP_ERR_MAX])
{
    size_t i = 0;
    while (i < n) {
        if (out->n_keys == SAP_KEYS_MAX)
            return bad(err, "too many key properties");
        struct sap_lit_val *k = &out->keys[out->n_keys];
        memset(k, 0, sizeof(*k));
        size_t nm = i;
        while (nm < n && name_char(s[nm]))
            nm++;
        size_t vstart = i;
        if (nm < n && s[nm] == '=' && nm > i) {
            k->name = arena_strndup(a, s + i, nm - i);
            vstart = nm + 1;
        }
        /* the value runs to the next comma outside quotes */
        size_t j = vstart;
        bool inq = false;
        while (j < n && (inq || s[j] != ',')) {
            if (s[j] == '\'')
                inq = !inq;
            j++;
        }
        if (inq)
            return bad(err, "unterminated string literal in the key");
        enum ab_rc rc = literal(a, s + vstart, j - vstart, k, err);
        if (rc)
            return rc;
        out->n_keys++;
        if (j < n) {
            j++; /* the comma */
            if (j == n)
                return bad(err, "key predicate ends with a comma");
        }
        i = j;
    }
    if (out->n_keys == 0)
        return bad(err, "empty key predicate");
    if (out->n_keys > 1)
        for (size_t k = 0; k < out->n_keys; k++)
            if (!out->keys[k].name)
                return bad(err, "a key predicate with several values must name each one");
    return AB_OK;
}

/* The next '/'-separated segment at *p (advancing past the slash). */
static const char *segment(struct arena *a, const char **p)
{
    const char *s = *p;
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    *p = slash ? slash + 1 : s + n;
    return arena_strndup(a, s, n);
}

enum ab_rc sap_path_parse(struct arena *a, const char *path, struct sap_path *out,
                          char err[SAP_ERR_MAX])
{
    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    if (strlen(path) > SAP_PATH_MAX)
        return bad(err, "the resource path is longer than %d characters", SAP_PATH_MAX);
    const char *p;
    if (str_has_prefix(path, V2_PREFIX)) {
        p = path + strlen(V2_PREFIX);
        const char *svc = segment(a, &p);
        char *semi = strchr(svc, ';');
        if (semi) {
            *semi = '\0';
            if (strncmp(semi + 1, "v=", 2) != 0 || !semi[3])
                return bad(err, "invalid service path parameter ';%s'", semi + 1);
            out->version = semi + 3;
        }
        out->service = svc;
    } else if (str_has_prefix(path, V4_PREFIX)) {
        out->v4 = true;
        p = path + strlen(V4_PREFIX);
        out->service = segment(a, &p);
        const char *srvd = segment(a, &p), *sap = segment(a, &p);
        out->v4_name = segment(a, &p);
        out->version = segment(a, &p);
        if (strcmp(srvd, "srvd_a2x") != 0 || strcmp(sap, "sap") != 0 || !*out->v4_name ||
            !*out->version)
            return AB_ENOTFOUND;
    } else {
        return AB_ENOTFOUND;
    }
    if (!*out->service)
        return AB_ENOTFOUND;
    /* the resource: Name, Name(key), Name(key)/nav */
    const char *r = p;
    size_t n = strlen(r);
    if (n && r[n - 1] == '/')
        n--; /* the service root with a trailing slash */
    size_t k = 0;
    while (k < n && r[k] != '(' && r[k] != '/')
        k++;
    out->resource = arena_strndup(a, r, k);
    if (k == n)
        return AB_OK;
    if (r[k] == '(') {
        size_t j = k + 1;
        bool inq = false;
        while (j < n && (inq || r[j] != ')')) {
            if (r[j] == '\'')
                inq = !inq;
            j++;
        }
        if (j >= n)
            return bad(err, "unterminated key predicate");
        out->has_key = true;
        if (j == k + 1) {
            out->has_key = false; /* Name() : a function call form, no key */
        } else {
            enum ab_rc rc = predicate(a, r + k + 1, j - k - 1, out, err);
            if (rc)
                return rc;
        }
        k = j + 1;
        if (k == n)
            return AB_OK;
    }
    if (r[k] != '/' || k + 1 >= n)
        return bad(err, "unexpected '%.*s' after the resource", (int)(n - k > 40 ? 40 : n - k),
                   r + k);
    const char *nav = r + k + 1;
    size_t nl = n - k - 1;
    if (memchr(nav, '/', nl) || memchr(nav, '(', nl))
        return bad(err, "the simulator supports one navigation segment after a key");
    out->nav = arena_strndup(a, nav, nl);
    return AB_OK;
}
