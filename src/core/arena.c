/* SPDX-License-Identifier: Apache-2.0
 *
 * arena.c: region allocator with cleanup handlers. See arena.h.
 *
 * Memory comes in singly linked blocks; an allocation larger than a quarter
 * of the block size gets a block of its own so that big objects do not waste
 * the tail of the current block.
 */
#include "core/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    arena_cleanup_fn fn;
    void *arg;
};

struct arena {
    struct arena_block *head;
    struct arena_cleanup *cleanups;
    size_t block_size;
    size_t max_bytes;
    size_t used;
};

#define ARENA_ALIGN (alignof(max_align_t))

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
}

struct arena *arena_new(size_t block_size, size_t max_bytes)
{
    struct arena *a = xcalloc(1, sizeof(*a));
    a->block_size = block_size ? block_size : 4096;
    a->max_bytes = max_bytes;
    return a;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    while (a->cleanups) {
        struct arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg); /* c itself lives in the arena: freed below */
    }
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

static struct arena_block *block_new(size_t size)
{
    struct arena_block *b = xmalloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void *arena_alloc(struct arena *a, size_t size)
{
    size_t need = align_up(size ? size : 1);
    if (need < size)
        xmalloc_oom(size);
    if (a->max_bytes && (need > a->max_bytes || a->used > a->max_bytes - need)) {
        fprintf(stderr, "assetbridge: arena ceiling of %zu bytes exceeded\n", a->max_bytes);
        abort();
    }
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        if (need > a->block_size / 4) {
            /* big allocation: own block, linked behind the current one */
            struct arena_block *big = block_new(need);
            big->used = need;
            if (b) {
                big->next = b->next;
                b->next = big;
            } else {
                a->head = big;
            }
            a->used += need;
            return big->data;
        }
        b = block_new(a->block_size);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += need;
    return p;
}

void *arena_zalloc(struct arena *a, size_t size)
{
    void *p = arena_alloc(a, size);
    memset(p, 0, size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = arena_alloc(a, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, SIZE_MAX);
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *s = arena_alloc(a, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return s;
}

void *arena_grow(struct arena *a, void *v, size_t n, size_t *cap, size_t elem)
{
    if (v && n < *cap)
        return v;
    size_t room = *cap ? *cap * 2 : 8;
    if (room < n + 1)
        room = n + 1;
    if (elem && room > SIZE_MAX / elem)
        xmalloc_oom(SIZE_MAX);
    void *w = arena_alloc(a, room * elem);
    if (n && v)
        memcpy(w, v, n * elem);
    *cap = room;
    return w;
}

void arena_on_cleanup(struct arena *a, arena_cleanup_fn fn, void *arg)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
}

size_t arena_used(const struct arena *a)
{
    return a->used;
}
