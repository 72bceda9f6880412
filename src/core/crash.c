/* SPDX-License-Identifier: Apache-2.0
 *
 * crash.c: named crash points. See crash.h.
 */
#include "core/crash.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/str.h"

static char crash_name[128];
static atomic_int crash_armed;
static atomic_long crash_countdown;

void crash_init(void)
{
    const char *v = getenv("ASSETBRIDGE_CRASH_AT");
    atomic_store(&crash_armed, 0);
    if (!v || !*v)
        return;
    str_lcpy(crash_name, v, sizeof(crash_name));
    long n = 1;
    char *colon = strchr(crash_name, ':');
    if (colon) {
        int64_t k;
        if (str_to_i64(colon + 1, &k) == AB_OK && k > 0)
            n = (long)k;
        *colon = '\0';
    }
    atomic_store(&crash_countdown, n);
    atomic_store(&crash_armed, 1);
}

void crash_point(const char *name)
{
    if (!atomic_load_explicit(&crash_armed, memory_order_relaxed))
        return;
    if (strcmp(name, crash_name) != 0)
        return;
    if (atomic_fetch_sub(&crash_countdown, 1) == 1) {
        static const char msg[] = "assetbridge: crash point reached, killing myself\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
        kill(getpid(), SIGKILL);
        _exit(137);
    }
}
