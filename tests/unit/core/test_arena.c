/* SPDX-License-Identifier: Apache-2.0
 *
 * test_arena.c: unit tests for src/core/arena.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"

static int cleanup_order[8];
static int cleanup_count;

static void record(void *arg)
{
    cleanup_order[cleanup_count++] = (int)(intptr_t)arg;
}

static void test_alloc_aligned_and_distinct(void **state)
{
    (void)state;
    struct arena *a = arena_new(256, 0);
    char *prev = NULL;
    for (int i = 0; i < 1000; i++) {
        char *p = arena_alloc(a, (size_t)(i % 37) + 1);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
        assert_ptr_not_equal(p, prev);
        prev = p;
    }
    /* a big allocation gets its own block and stays usable */
    char *big = arena_alloc(a, 100000);
    memset(big, 1, 100000);
    assert_true(arena_used(a) >= 100000);
    arena_free(a);
}

static void test_zalloc_strdup_printf(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    unsigned char *z = arena_zalloc(a, 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    assert_string_equal(arena_strdup(a, "fixture"), "fixture");
    assert_string_equal(arena_strndup(a, "fixture-7", 7), "fixture");
    assert_string_equal(arena_printf(a, "%s-%d", "FX", 1001), "FX-1001");
    arena_free(a);
}

static void test_cleanups_run_in_reverse(void **state)
{
    (void)state;
    cleanup_count = 0;
    struct arena *a = arena_new(0, 0);
    arena_on_cleanup(a, record, (void *)1);
    arena_on_cleanup(a, record, (void *)2);
    arena_on_cleanup(a, record, (void *)3);
    assert_int_equal(cleanup_count, 0);
    arena_free(a);
    assert_int_equal(cleanup_count, 3);
    assert_int_equal(cleanup_order[0], 3);
    assert_int_equal(cleanup_order[1], 2);
    assert_int_equal(cleanup_order[2], 1);
    arena_free(NULL); /* accepted */
}

static void test_grow_keeps_elements(void **state)
{
    (void)state;
    struct arena *a = arena_new(256, 0);
    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        v = arena_grow(a, v, n, &cap, sizeof(*v));
        assert_true(cap > n);
        v[n++] = i;
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], i);
    int *same = arena_grow(a, v, n - 1, &cap, sizeof(*v)); /* room left: no copy */
    assert_ptr_equal(same, v);
    arena_free(a);
}

/* The ceiling is enforced with abort(): run the overflow in a child. */
static void test_ceiling_aborts(void **state)
{
    (void)state;
    struct arena *a = arena_new(64, 1024);
    (void)arena_alloc(a, 512);
    (void)arena_alloc(a, 496);
    assert_true(arena_used(a) <= 1024);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        (void)arena_alloc(a, 64); /* 512 + 496 + 64 > 1024 */
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_aligned_and_distinct),
        cmocka_unit_test(test_zalloc_strdup_printf),
        cmocka_unit_test(test_cleanups_run_in_reverse),
        cmocka_unit_test(test_grow_keeps_elements),
        cmocka_unit_test(test_ceiling_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
