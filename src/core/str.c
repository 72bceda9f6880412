/* SPDX-License-Identifier: Apache-2.0
 *
 * str.c: small string helpers. See str.h.
 */
#include "core/str.h"

#include "core/arena.h"

#include <string.h>

enum ab_rc str_to_i64n(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n == 0)
        return AB_EINVAL;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (n == 1)
            return AB_EINVAL;
    }
    uint64_t v = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return AB_EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return AB_EINVAL;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return AB_OK;
}

enum ab_rc str_to_i64(const char *s, int64_t *out)
{
    return str_to_i64n(s, strlen(s), out);
}

size_t str_lcpy(char *dst, const char *src, size_t dstsize)
{
    size_t len = strlen(src);
    if (dstsize) {
        size_t n = len < dstsize - 1 ? len : dstsize - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The length of the valid UTF-8 sequence at s (n bytes left; s[0] >=
 * 0x80), or 0 when it is not one (no overlong forms, no surrogates). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

enum ab_rc str_json_escape(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    enum ab_rc rc = AB_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t len = utf8_seq((const unsigned char *)s + i, n - i);
            if (len) {
                i += len - 1; /* a whole character: copied as it is */
                continue;
            }
            rc = buf_append(b, s + start, i - start); /* not UTF-8: U+FFFD */
            if (!rc)
                rc = buf_append(b, "\\ufffd", 6);
            start = i + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = buf_append(b, s + start, i - start);
        if (rc)
            break;
        start = i + 1;
        switch (c) {
        case '"': rc = buf_append(b, "\\\"", 2); break;
        case '\\': rc = buf_append(b, "\\\\", 2); break;
        case '\n': rc = buf_append(b, "\\n", 2); break;
        case '\r': rc = buf_append(b, "\\r", 2); break;
        case '\t': rc = buf_append(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = buf_append(b, u, sizeof(u));
        }
        }
    }
    if (!rc)
        rc = buf_append(b, s + start, n - start);
    return rc;
}

size_t str_edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap + 1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        size_t best = row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = diag + cost;
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > cap)
            return cap + 1;
    }
    return row[lb] > cap ? cap + 1 : row[lb];
}

bool str_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_seq(s + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

const char *str_utf8_clean(struct arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    char *out = arena_alloc(a, n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = u[i] < 0x80 ? (u[i] ? 1 : 0) : utf8_seq(u + i, n - i);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD (a NUL too: it would cut the text) */
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}
