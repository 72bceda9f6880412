/* SPDX-License-Identifier: Apache-2.0
 *
 * retry.c: backoff with full jitter, Retry-After and HTTP-date parsing, and
 * the retry-or-dead-letter decision. See retry.h. The parsers read provider
 * answers (untrusted) and are fuzzed by fuzz/fuzz_retry_after.c.
 */
#include "sync/retry.h"

#include <stddef.h>
#include <string.h>

#include "core/id.h"

#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

void retry_policy_default(struct retry_policy *p)
{
    p->base_ms = 1 * SEC;
    p->cap_ms = 15 * MIN;
    p->max_attempts = 20;
    p->max_age_ms = 7 * DAY;
    p->retry_after_ceiling_ms = 1 * HOUR;
}

uint64_t retry_rand_default(void *arg)
{
    static _Thread_local uint64_t state;
    (void)arg;
    while (state == 0)
        id_random_bytes(&state, sizeof(state));
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * UINT64_C(2685821657736338717);
}

int64_t retry_backoff_ms(const struct retry_policy *p, int attempt, retry_rand_fn rnd, void *arg)
{
    int64_t base = p->base_ms > 0 ? p->base_ms : 1;
    int64_t cap = p->cap_ms > 0 ? p->cap_ms : base;
    int64_t ceil = base;
    for (int i = 1; i < attempt && ceil < cap; i++)
        ceil = ceil > INT64_MAX / 2 ? INT64_MAX : ceil * 2;
    if (ceil > cap)
        ceil = cap;
    uint64_t r = (rnd ? rnd : retry_rand_default)(arg);
    return (int64_t)(r % ((uint64_t)ceil + 1));
}

/* ---- decision ----------------------------------------------------------------- */

void retry_decide(const struct retry_policy *p, bool retryable, int attempts, int64_t created_at,
                  int64_t now_ms, int64_t retry_after_ms, retry_rand_fn rnd, void *arg,
                  struct retry_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->action = RETRY_DEAD;
    if (!retryable) {
        out->reason = "permanent";
        return;
    }
    if (p->max_attempts > 0 && attempts >= p->max_attempts) {
        out->reason = "max_attempts";
        return;
    }
    int64_t delay = retry_backoff_ms(p, attempts, rnd, arg);
    if (retry_after_ms >= 0) {
        int64_t ra = retry_after_ms;
        if (p->retry_after_ceiling_ms > 0 && ra > p->retry_after_ceiling_ms)
            ra = p->retry_after_ceiling_ms;
        if (ra > delay)
            delay = ra;
    }
    int64_t at = now_ms > INT64_MAX - delay ? INT64_MAX : now_ms + delay;
    if (p->max_age_ms > 0 && at - created_at > p->max_age_ms) {
        out->reason = "max_age";
        return;
    }
    out->action = RETRY_AT;
    out->at = at;
}
