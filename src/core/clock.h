/* SPDX-License-Identifier: Apache-2.0
 *
 * clock.h: the service's notion of "now".
 *
 * Every piece of code that needs wall-clock time (due dates, timestamps,
 * retention, ULIDs) asks clock_now_ms(). By default that is the system clock.
 * Tests and `serve --fake-clock` switch to a fake clock: it starts at a given
 * instant and then either keeps ticking with real time or stays frozen, and
 * clock_advance_ms() moves it forward. Timeouts and latencies use
 * clock_mono_ms(), which is never faked. All functions are thread-safe.
 */
#ifndef AB_CORE_CLOCK_H
#define AB_CORE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch, UTC (fake when a fake clock is set). */
int64_t clock_now_ms(void);

/* Milliseconds of a monotonic clock with an arbitrary origin (never fake). */
int64_t clock_mono_ms(void);

/* The same in microseconds. */
int64_t clock_mono_us(void);

/* The real-time instant ms milliseconds from now, as pthread_cond_timedwait
 * wants its deadline (never fake: an idle wait is real time). */
struct timespec clock_deadline_in(int64_t ms);

/* Switch to a fake clock that reads start_ms now. When frozen is true it does
 * not move by itself; otherwise it advances with real time. */
void clock_set_fake(int64_t start_ms, bool frozen);

/* Return to the system clock. */
void clock_set_real(void);

/* True while a fake clock is in force. */
bool clock_is_fake(void);

/* Move the fake clock forward by delta_ms (>= 0). Returns false (and does
 * nothing) when the clock is real or delta_ms is negative. */
bool clock_advance_ms(int64_t delta_ms);

#endif
