/* SPDX-License-Identifier: Apache-2.0
 *
 * clock.c: real and fake wall clocks. See clock.h.
 *
 * The fake clock is kept as an offset from the real clock (ticking) or as a
 * fixed instant (frozen), in atomics so readers never take a lock.
 */
#include "core/clock.h"

#include <stdatomic.h>
#include <time.h>

static atomic_int fake_mode;       /* 0 real, 1 ticking, 2 frozen */
static _Atomic int64_t fake_value; /* offset (ticking) or instant (frozen) */

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_now_ms(void)
{
    switch (atomic_load(&fake_mode)) {
    case 1: return real_now_ms() + atomic_load(&fake_value);
    case 2: return atomic_load(&fake_value);
    default: return real_now_ms();
    }
}

void clock_set_fake(int64_t start_ms, bool frozen)
{
    atomic_store(&fake_value, frozen ? start_ms : start_ms - real_now_ms());
    atomic_store(&fake_mode, frozen ? 2 : 1);
}

void clock_set_real(void)
{
    atomic_store(&fake_mode, 0);
    atomic_store(&fake_value, 0);
}

bool clock_is_fake(void)
{
    return atomic_load(&fake_mode) != 0;
}

bool clock_advance_ms(int64_t delta_ms)
{
    if (delta_ms < 0 || !clock_is_fake())
        return false;
    atomic_fetch_add(&fake_value, delta_ms);
    return true;
}

struct timespec clock_deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ms < 0)
        ms = 0;
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
