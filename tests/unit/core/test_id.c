/* SPDX-License-Identifier: Apache-2.0
 *
 * test_id.c: unit tests for src/core/id.c: ULIDs are unique, sortable and
 * carry their time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/id.h"

#define N 20000

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_unique_and_strictly_increasing(void **state)
{
    (void)state;
    char(*ids)[ID_ULID_LEN + 1] = malloc(N * sizeof(*ids));
    for (int i = 0; i < N; i++) {
        id_ulid_new(ids[i]);
        assert_int_equal(strlen(ids[i]), ID_ULID_LEN);
        if (i)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0); /* many share a millisecond */
    }
    qsort(ids, N, sizeof(*ids), cmp);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
    free(ids);
}

static void test_time_is_encoded_and_sorts(void **state)
{
    (void)state;
    char a[ID_ULID_LEN + 1], b[ID_ULID_LEN + 1];
    clock_set_fake(5000000000000, true);
    id_ulid_new(a);
    assert_int_equal(id_ulid_time_ms(a), 5000000000000);
    clock_advance_ms(86400000);
    id_ulid_new(b);
    assert_int_equal(id_ulid_time_ms(b), 5000000000000 + 86400000);
    assert_true(strcmp(a, b) < 0);
    clock_set_real();
    assert_int_equal(id_ulid_time_ms("not-a-ulid"), -1);
    assert_int_equal(id_ulid_time_ms("0000000000000000000000000I"), -1); /* I is not Crockford */
}

static void test_clock_step_back_keeps_order(void **state)
{
    (void)state;
    char a[ID_ULID_LEN + 1], b[ID_ULID_LEN + 1];
    clock_set_fake(7000000000000, true);
    id_ulid_new(a);
    clock_set_fake(6000000000000, true); /* the clock jumps back */
    id_ulid_new(b);
    assert_true(strcmp(a, b) < 0);
    clock_set_real();
}

static void *worker(void *arg)
{
    char(*ids)[ID_ULID_LEN + 1] = arg;
    for (int i = 0; i < N / 4; i++)
        id_ulid_new(ids[i]);
    return NULL;
}

static void test_threads_never_collide(void **state)
{
    (void)state;
    char(*ids)[ID_ULID_LEN + 1] = malloc(N * sizeof(*ids));
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, ids + i * (N / 4));
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    qsort(ids, N, sizeof(*ids), cmp);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    free(ids);
}

static void test_random_bytes_vary(void **state)
{
    (void)state;
    unsigned char a[32], b[32];
    id_random_bytes(a, sizeof(a));
    id_random_bytes(b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unique_and_strictly_increasing),
        cmocka_unit_test(test_time_is_encoded_and_sorts),
        cmocka_unit_test(test_clock_step_back_keeps_order),
        cmocka_unit_test(test_threads_never_collide),
        cmocka_unit_test(test_random_bytes_vary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
