/* SPDX-License-Identifier: Apache-2.0
 *
 * buf.h: bounded growable byte buffer.
 *
 * Every buffer gets a ceiling when it is initialised. Appending past the
 * ceiling fails with AB_ETOOLARGE and leaves the buffer unchanged: it never
 * truncates silently. The contents are always NUL-terminated (the terminator
 * is not counted in len and does not count against the ceiling), so text can
 * be used as a C string directly.
 *
 * The struct is public so buffers can live on the stack; touch its fields
 * only through these functions. Not thread-safe.
 */
#ifndef AB_CORE_BUF_H
#define AB_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/result.h"

struct buf {
    char *data; /* NULL until the first append */
    size_t len; /* bytes used, excluding the terminator */
    size_t cap; /* bytes allocated, including the terminator */
    size_t max; /* ceiling on len, fixed by buf_init() */
};

/* Prepare an empty buffer that may hold up to max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Release the memory; the buffer is empty (same ceiling) afterwards. */
void buf_cleanup(struct buf *b);

/* Forget the contents but keep the allocation. */
void buf_reset(struct buf *b);

/* Append n bytes / a C string / one byte / formatted text.
 * AB_ETOOLARGE when the result would pass the ceiling (buffer unchanged). */
enum ab_rc buf_append(struct buf *b, const void *data, size_t n) AB_MUST_CHECK;
enum ab_rc buf_append_str(struct buf *b, const char *s) AB_MUST_CHECK;
enum ab_rc buf_append_char(struct buf *b, char c) AB_MUST_CHECK;
enum ab_rc buf_printf(struct buf *b, const char *fmt, ...) AB_PRINTF(2, 3) AB_MUST_CHECK;
enum ab_rc buf_vprintf(struct buf *b, const char *fmt, va_list ap) AB_PRINTF(2, 0) AB_MUST_CHECK;

/* The contents as a NUL-terminated string ("" when empty). Valid until the
 * next modification. */
const char *buf_str(const struct buf *b);

/* Hand the allocation to the caller (free() it); the buffer becomes empty.
 * Returns a freshly allocated "" when the buffer was empty. */
char *buf_take(struct buf *b, size_t *len /* OUT, may be NULL */);

#endif
