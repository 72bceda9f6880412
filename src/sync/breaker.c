/* SPDX-License-Identifier: Apache-2.0
 *
 * breaker.c: the per-provider circuit breaker (closed, open, half-open with
 * one probe). See breaker.h.
 */
#include "sync/breaker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xmalloc.h"

struct breaker {
    pthread_mutex_t mu;
    int threshold;
    int64_t cooldown_ms;
    enum breaker_state state;
    int failures;
    int64_t opened_at;
    bool probe_out; /* half-open: the probe was handed out */
    uint64_t trips;
};

struct breaker *breaker_new(const struct breaker_opts *opts)
{
    struct breaker *b = xcalloc(1, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = opts && opts->failure_threshold > 0 ? opts->failure_threshold : 5;
    b->cooldown_ms = opts && opts->cooldown_ms > 0 ? opts->cooldown_ms : 30000;
    b->state = BREAKER_CLOSED;
    b->opened_at = INT64_MIN;
    return b;
}

void breaker_free(struct breaker *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static void trip(struct breaker *b, int64_t now)
{
    b->state = BREAKER_OPEN;
    b->opened_at = now;
    b->probe_out = false;
    b->trips++;
}

bool breaker_allow(struct breaker *b, int64_t *retry_at)
{
    int64_t now = clock_now_ms();
    bool ok = false;
    int64_t again = INT64_MIN;
    pthread_mutex_lock(&b->mu);
    switch (b->state) {
    case BREAKER_CLOSED: ok = true; break;
    case BREAKER_OPEN:
        if (now >= b->opened_at + b->cooldown_ms) {
            b->state = BREAKER_HALF_OPEN;
            b->probe_out = true;
            ok = true;
        } else {
            again = b->opened_at + b->cooldown_ms;
        }
        break;
    case BREAKER_HALF_OPEN:
        if (!b->probe_out) {
            b->probe_out = true;
            ok = true;
        } else {
            /* the probe is out; ask again soon */
            again = now + (b->cooldown_ms < 1000 ? b->cooldown_ms : 1000);
        }
        break;
    }
    pthread_mutex_unlock(&b->mu);
    if (!ok && retry_at)
        *retry_at = again;
    return ok;
}

void breaker_success(struct breaker *b)
{
    pthread_mutex_lock(&b->mu);
    b->state = BREAKER_CLOSED;
    b->failures = 0;
    b->probe_out = false;
    pthread_mutex_unlock(&b->mu);
}

void breaker_failure(struct breaker *b)
{
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&b->mu);
    if (b->failures < INT32_MAX)
        b->failures++;
    if (b->state == BREAKER_HALF_OPEN)
        trip(b, now);
    else if (b->state == BREAKER_CLOSED && b->failures >= b->threshold)
        trip(b, now);
    /* already open: a late answer from before the trip changes nothing */
    pthread_mutex_unlock(&b->mu);
}

void breaker_status(struct breaker *b, struct breaker_status *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&b->mu);
    out->state = b->state;
    out->consecutive_failures = b->failures;
    out->opened_at = b->opened_at;
    out->retry_at = b->state == BREAKER_OPEN ? b->opened_at + b->cooldown_ms : INT64_MIN;
    out->trips = b->trips;
    pthread_mutex_unlock(&b->mu);
}

const char *breaker_state_name(enum breaker_state s)
{
    static const char *const names[] = {"closed", "open", "half_open"};
    return (unsigned)s < 3 ? names[s] : "invalid";
}
