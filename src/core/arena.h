/* SPDX-License-Identifier: Apache-2.0
 *
 * arena.h: region allocator with cleanup handlers.
 *
 * Each request and each job attempt owns one arena. Everything allocated from
 * it (temporary strings, parsed JSON, headers) is released at once by
 * arena_free(), which first runs the registered cleanup handlers in reverse
 * order of registration (close file descriptors, free CURL handles, finalize
 * statements). An arena has a ceiling fixed at creation: an allocation past
 * it aborts like an out-of-memory, so callers that take sizes from untrusted
 * input must check them against their own limits first (see buf.h).
 *
 * An arena is not thread-safe; one owner uses it at a time.
 */
#ifndef AB_CORE_ARENA_H
#define AB_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "core/result.h"

struct arena;

typedef void (*arena_cleanup_fn)(void *arg);

/* Create an arena whose blocks are at least block_size bytes (0 picks
 * 4 KiB) and whose total allocation may not exceed max_bytes (0 means
 * no ceiling beyond memory). Never NULL; free with arena_free(). */
struct arena *arena_new(size_t block_size, size_t max_bytes);

/* Run cleanup handlers (last registered first), then release all memory.
 * NULL is accepted. */
void arena_free(struct arena *a);

/* Allocate size bytes aligned for any type; contents undefined. Aborts if the
 * arena's ceiling would be passed. Never NULL. */
void *arena_alloc(struct arena *a, size_t size) __attribute__((malloc, returns_nonnull));

/* Like arena_alloc() but zero-filled. */
void *arena_zalloc(struct arena *a, size_t size) __attribute__((malloc, returns_nonnull));

/* Copy a string (or its first n bytes, always terminated) into the arena. */
char *arena_strdup(struct arena *a, const char *s) __attribute__((returns_nonnull));
char *arena_strndup(struct arena *a, const char *s, size_t n) __attribute__((returns_nonnull));

/* printf into a fresh arena string. */
char *arena_printf(struct arena *a, const char *fmt, ...) AB_PRINTF(2, 3);
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap) AB_PRINTF(2, 0);

/* Room for element n of an arena array of elements of size elem with *cap
 * slots: returns v itself while n < *cap, else a copy of the n elements in
 * twice the room (at least 8 slots; *cap updated). Use as
 *   v = arena_grow(a, v, n, &cap, sizeof(*v)); v[n++] = x; */
void *arena_grow(struct arena *a, void *v, size_t n, size_t *cap, size_t elem);

/* Register fn(arg) to run when the arena is freed. Handlers run in reverse
 * order of registration. */
void arena_on_cleanup(struct arena *a, arena_cleanup_fn fn, void *arg);

/* Bytes handed out so far (excluding block overhead). */
size_t arena_used(const struct arena *a);

#endif
