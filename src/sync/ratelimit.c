/* SPDX-License-Identifier: Apache-2.0
 *
 * ratelimit.c: the adaptive per-provider token bucket (multiplicative
 * decrease on throttling, additive increase on success). See ratelimit.h.
 */
#include "sync/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/xmalloc.h"

struct ratelimit {
    pthread_mutex_t mu;
    double configured, rate, burst, min_rate, increase;
    double tokens;
    int64_t refilled_at;
    int64_t paused_until;
    uint64_t throttled;
};

void ratelimit_opts_from_config(const struct config_rate_limit *cfg, double default_rate,
                                struct ratelimit_opts *out)
{
    memset(out, 0, sizeof(*out));
    out->rate = cfg && cfg->requests_per_second > 0 ? cfg->requests_per_second : default_rate;
    if (!(out->rate > 0))
        out->rate = 10;
    out->burst = cfg && cfg->burst > 0 ? (double)cfg->burst : 0;
}

struct ratelimit *ratelimit_new(const struct ratelimit_opts *o)
{
    struct ratelimit *rl = xcalloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->mu, NULL);
    rl->configured = o->rate > 0 ? o->rate : 10;
    rl->rate = rl->configured;
    rl->burst = o->burst > 0 ? o->burst : fmax(1.0, rl->configured);
    rl->min_rate = o->min_rate > 0 ? o->min_rate : fmax(0.01, rl->configured / 32);
    if (rl->min_rate > rl->configured)
        rl->min_rate = rl->configured;
    rl->increase = o->increase > 0 ? o->increase : rl->configured / 20;
    rl->tokens = rl->burst;
    rl->refilled_at = clock_now_ms();
    rl->paused_until = INT64_MIN;
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

/* Add the tokens earned since the last refill (none while paused). */
static void refill(struct ratelimit *rl, int64_t now)
{
    if (rl->paused_until != INT64_MIN) {
        if (now < rl->paused_until) {
            rl->refilled_at = now;
            return;
        }
        rl->refilled_at = rl->paused_until;
        rl->paused_until = INT64_MIN;
    }
    if (now > rl->refilled_at) {
        rl->tokens += (double)(now - rl->refilled_at) * rl->rate / 1000.0;
        if (rl->tokens > rl->burst)
            rl->tokens = rl->burst;
    }
    rl->refilled_at = now;
}

/* Milliseconds until the bucket holds one token (at least 1); the epsilon
 * keeps 0.99 tokens at 10/s from reading as 2 ms. */
static int64_t ms_until_token(const struct ratelimit *rl)
{
    int64_t w = (int64_t)ceil((1.0 - rl->tokens) * 1000.0 / rl->rate - 1e-6);
    return w < 1 ? 1 : w;
}

bool ratelimit_acquire(struct ratelimit *rl, int64_t *wait_ms)
{
    int64_t now = clock_now_ms();
    bool ok = false;
    int64_t wait = 0;
    pthread_mutex_lock(&rl->mu);
    refill(rl, now);
    if (rl->paused_until != INT64_MIN) {
        wait = rl->paused_until - now;
        /* after the pause the bucket is empty: one token more to wait for */
        wait += ms_until_token(rl);
    } else if (rl->tokens >= 1.0) {
        rl->tokens -= 1.0;
        ok = true;
    } else {
        wait = ms_until_token(rl);
    }
    pthread_mutex_unlock(&rl->mu);
    if (wait_ms)
        *wait_ms = ok ? 0 : wait;
    return ok;
}

void ratelimit_throttled(struct ratelimit *rl, int64_t retry_after_ms)
{
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&rl->mu);
    refill(rl, now);
    rl->throttled++;
    rl->tokens = 0;
    rl->rate = fmax(rl->min_rate, rl->rate / 2);
    if (retry_after_ms > 0) {
        int64_t until = now + retry_after_ms;
        if (rl->paused_until == INT64_MIN || until > rl->paused_until)
            rl->paused_until = until;
    }
    pthread_mutex_unlock(&rl->mu);
}

void ratelimit_success(struct ratelimit *rl)
{
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&rl->mu);
    refill(rl, now); /* tokens earned so far count at the old rate */
    rl->rate = fmin(rl->configured, rl->rate + rl->increase);
    pthread_mutex_unlock(&rl->mu);
}

void ratelimit_status(struct ratelimit *rl, struct ratelimit_status *out)
{
    int64_t now = clock_now_ms();
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&rl->mu);
    refill(rl, now);
    out->rate = rl->rate;
    out->configured = rl->configured;
    out->tokens = rl->tokens;
    out->paused_until = rl->paused_until;
    out->throttled = rl->throttled;
    pthread_mutex_unlock(&rl->mu);
}
