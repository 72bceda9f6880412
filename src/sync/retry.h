/* SPDX-License-Identifier: Apache-2.0
 *
 * retry.h: the sync engine's retry policy for outbox items: exponential
 * backoff with full jitter, Retry-After parsing (delta-seconds and the three
 * HTTP-date forms of RFC 9110 section 5.6.7, with a ceiling), and the
 * decision after a failed attempt: retry at a time, or dead-letter (a
 * permanent failure, too many attempts, or too old).
 *
 * Pure functions apart from the default random source; the random source is
 * injectable so tests can pin the jitter. Thread-safe. Used by the outbox
 * workers (src/sync) and the HTTP client (Retry-After hand-off).
 */
#ifndef AB_SYNC_RETRY_H
#define AB_SYNC_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/result.h"
#include "core/retry_after.h"

struct retry_policy {
    int64_t base_ms;                /* first backoff ceiling; default 1 s */
    int64_t cap_ms;                 /* backoff ceiling; default 15 min */
    int max_attempts;               /* 0: unlimited; default 20 */
    int64_t max_age_ms;             /* 0: unlimited; default 7 d (from the item's creation) */
    int64_t retry_after_ceiling_ms; /* a longer Retry-After is clamped; default 1 h */
};

/* Fill p with the defaults above. */
void retry_policy_default(struct retry_policy *p /* OUT */);

/* A source of uniformly distributed 64-bit values. */
typedef uint64_t (*retry_rand_fn)(void *arg);

/* The default source: a per-thread xorshift generator seeded from the
 * system's random bytes. arg is ignored. */
uint64_t retry_rand_default(void *arg);

/* Full-jitter backoff after `attempt` failed attempts (attempt >= 1; values
 * below 1 count as 1): a uniformly random delay in
 * [0, min(cap, base * 2^(attempt - 1))] milliseconds, inclusive. rnd NULL
 * uses retry_rand_default. Never overflows. */
int64_t retry_backoff_ms(const struct retry_policy *p, int attempt, retry_rand_fn rnd, void *arg);

/* Retry-After parsing: core/retry_after.h (included above). */

enum retry_action {
    RETRY_AT,   /* try again at `at` */
    RETRY_DEAD, /* dead-letter now */
};

struct retry_decision {
    enum retry_action action;
    int64_t at;         /* RETRY_AT: when (ms since epoch) */
    const char *reason; /* RETRY_DEAD: "permanent", "max_attempts", "max_age" */
};

/* Decide what happens after a failed attempt of an item created at
 * created_at that has now been attempted `attempts` times (this one
 * included). retryable is the connector's verdict (false: permanent).
 * retry_after_ms (< 0: none) is the provider's wish: the next attempt is no
 * earlier than that, however small the backoff. */
void retry_decide(const struct retry_policy *p, bool retryable, int attempts, int64_t created_at,
                  int64_t now_ms, int64_t retry_after_ms, retry_rand_fn rnd, void *arg,
                  struct retry_decision *out /* OUT */);

#endif
