/* SPDX-License-Identifier: Apache-2.0
 *
 * ratelimit.h: a token bucket per provider that adapts to the provider's
 * throttling. Every outbound call takes one token; tokens refill at the
 * current rate up to the burst. A throttling answer (HTTP 429, or a 403 the
 * connector classifies as throttling) pauses the bucket until its
 * Retry-After has passed and halves the current rate (never below the
 * floor); every success afterwards raises the rate again by a fixed step
 * (additive increase) until it is back at the configured rate.
 *
 * Time comes from clock_now_ms() (fake in tests). All functions are
 * thread-safe; one bucket is shared by every worker of its provider.
 */
#ifndef AB_SYNC_RATELIMIT_H
#define AB_SYNC_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"

struct ratelimit_opts {
    double rate;     /* tokens per second when nothing throttles; > 0 */
    double burst;    /* bucket size; <= 0: max(1, rate) */
    double min_rate; /* floor of the adapted rate; <= 0: rate / 32 (at least 0.01/s) */
    double increase; /* added to the rate per success; <= 0: rate / 20 */
};

/* Options from a provider's rate_limit section; default_rate is used when
 * the configuration leaves requests_per_second at 0 (the provider's
 * documented default, known to its connector). */
void ratelimit_opts_from_config(const struct config_rate_limit *cfg, double default_rate,
                                struct ratelimit_opts *out /* OUT */);

struct ratelimit;

/* A full bucket. Never NULL; free with ratelimit_free(). */
struct ratelimit *ratelimit_new(const struct ratelimit_opts *opts);
void ratelimit_free(struct ratelimit *rl);

/* Take one token if there is one (true). Otherwise false and *wait_ms (may be
 * NULL) says how long until one will be there (the pause included). */
bool ratelimit_acquire(struct ratelimit *rl, int64_t *wait_ms /* OUT, may be NULL */);

/* The provider throttled us. retry_after_ms < 0: no Retry-After (the bucket
 * is emptied but not paused). Halves the rate (floor min_rate). */
void ratelimit_throttled(struct ratelimit *rl, int64_t retry_after_ms);

/* A call succeeded: the rate grows by `increase`, up to the configured rate. */
void ratelimit_success(struct ratelimit *rl);

struct ratelimit_status {
    double rate;          /* current (adapted) tokens per second */
    double configured;    /* the rate without throttling */
    double tokens;        /* tokens in the bucket now */
    int64_t paused_until; /* INT64_MIN when not paused */
    uint64_t throttled;   /* throttling answers seen */
};

void ratelimit_status(struct ratelimit *rl, struct ratelimit_status *out /* OUT */);

#endif
