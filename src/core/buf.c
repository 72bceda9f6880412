/* SPDX-License-Identifier: Apache-2.0
 *
 * buf.c: bounded growable byte buffer. See buf.h.
 */
#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_cleanup(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Make room for n more bytes plus the terminator. */
static enum ab_rc buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return AB_ETOOLARGE;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return AB_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return AB_OK;
}

enum ab_rc buf_append(struct buf *b, const void *data, size_t n)
{
    enum ab_rc rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return AB_OK;
}

enum ab_rc buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum ab_rc buf_append_char(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

enum ab_rc buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return AB_EINVAL;
    enum ab_rc rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return AB_OK;
}

enum ab_rc buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum ab_rc rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *buf_str(const struct buf *b)
{
    return b->data ? b->data : "";
}

char *buf_take(struct buf *b, size_t *len)
{
    char *p = b->data ? b->data : xstrdup("");
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
