/* SPDX-License-Identifier: Apache-2.0
 *
 * xmalloc.h: allocation that never returns NULL.
 *
 * The daemon cannot do anything useful after running out of memory, so these
 * wrappers print one line to stderr and abort(). Raw malloc() and friends are
 * used only inside src/core/. All functions are thread-safe.
 */
#ifndef AB_CORE_XMALLOC_H
#define AB_CORE_XMALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc, but abort on failure. A size of 0 returns a
 * unique, freeable pointer. The caller frees with free(). */
void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t size) __attribute__((returns_nonnull));

/* Copy a NUL-terminated string, or its first n bytes (always terminated). */
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));

/* Abort the process with "assetbridge: out of memory (N bytes)". */
_Noreturn void xmalloc_oom(size_t size);

#endif
