/* SPDX-License-Identifier: Apache-2.0
 *
 * breaker.h: a circuit breaker per provider. After `failure_threshold`
 * consecutive failures the breaker opens: the engine stops calling the
 * provider for `cooldown_ms`. Then it goes half-open and lets exactly one
 * probe through; the probe's success closes it, its failure opens it again
 * for another cool-down. The state and its name are shown by the health API
 * and the metrics.
 *
 *   closed --N failures--> open --cool-down--> half_open --success--> closed
 *                            ^                     |
 *                            +------failure--------+
 *
 * Time comes from clock_now_ms() (fake in tests). All functions are
 * thread-safe; one breaker is shared by every worker of its provider.
 */
#ifndef AB_SYNC_BREAKER_H
#define AB_SYNC_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker_opts {
    int failure_threshold; /* consecutive failures that open it; <= 0: 5 */
    int64_t cooldown_ms;   /* open this long before a probe; <= 0: 30 s */
};

struct breaker;

/* A closed breaker. opts may be NULL (defaults). Never NULL; free with
 * breaker_free(). */
struct breaker *breaker_new(const struct breaker_opts *opts);
void breaker_free(struct breaker *b);

/* May the caller call the provider now? Closed: true. Open: false until the
 * cool-down has passed; then the breaker turns half-open and this call (only
 * this one) gets true: it is the probe, and must report its outcome with
 * breaker_success() or breaker_failure(). Half-open with the probe
 * outstanding: false. When false and retry_at is not NULL, *retry_at is the
 * earliest time worth asking again (ms since epoch). */
bool breaker_allow(struct breaker *b, int64_t *retry_at /* OUT, may be NULL */);

/* Report a call's outcome. Only failures of the provider count (timeouts,
 * 5xx, connection errors), not permanent answers about one item. */
void breaker_success(struct breaker *b);
void breaker_failure(struct breaker *b);

struct breaker_status {
    enum breaker_state state;
    int consecutive_failures;
    int64_t opened_at; /* when it last opened, or INT64_MIN */
    int64_t retry_at;  /* open: when a probe will be allowed; else INT64_MIN */
    uint64_t trips;    /* how many times it has opened */
};

/* A snapshot for health and metrics. Does not change the state (an open
 * breaker past its cool-down still reads "open" until someone asks to call). */
void breaker_status(struct breaker *b, struct breaker_status *out /* OUT */);

/* "closed", "open", "half_open". Never NULL. */
const char *breaker_state_name(enum breaker_state s);

#endif
