/* SPDX-License-Identifier: Apache-2.0
 *
 * fault.h: fault rules of the provider simulators, and the seeded PRNG they
 * draw from.
 *
 * A rule says which requests it matches (method, path exact or a prefix
 * ending in '*') and what to do to them (answer a status, add latency, hold
 * and drop, reset the connection, truncate or garble the body, repeat the
 * previous page, expire the token), how often (probability, drawn from the
 * seeded PRNG) and how many times (count). Rules come from untrusted JSON
 * (the --faults file, POST /_sim/faults), so the parser is strict and fuzzed.
 * The rule set is not thread-safe: the simulator holds its lock around it.
 */
#ifndef AB_SIM_FAULT_H
#define AB_SIM_FAULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

/* ---- deterministic PRNG (splitmix64) -------------------------------------- */

struct sim_prng {
    uint64_t state;
};

/* Seed a generator; the same seed gives the same sequence on every platform. */
static inline void sim_prng_seed(struct sim_prng *r, uint64_t seed)
{
    r->state = seed;
}

/* Next 64 random bits. */
static inline uint64_t sim_prng_next(struct sim_prng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double sim_prng_unit(struct sim_prng *r)
{
    return (double)(sim_prng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [lo, hi] (lo <= hi). */
static inline int64_t sim_prng_range(struct sim_prng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(sim_prng_next(r) % (uint64_t)(hi - lo + 1));
}

/* ---- rules ------------------------------------------------------------------ */

enum sim_fault_action {
    SIM_FAULT_STATUS,            /* answer `status` with the provider's error body */
    SIM_FAULT_LATENCY,           /* serve normally after `ms` */
    SIM_FAULT_TIMEOUT,           /* hold `ms` (default 60000), then drop; nothing applied */
    SIM_FAULT_RESET,             /* drop the connection; nothing applied */
    SIM_FAULT_RESET_AFTER_APPLY, /* apply, then drop the connection */
    SIM_FAULT_TRUNCATE,          /* apply; send part of the body, then close */
    SIM_FAULT_MALFORMED,         /* apply; answer 200 with a body that is not JSON */
    SIM_FAULT_REPEAT_PAGE,       /* a list request gets the previous page again */
    SIM_FAULT_EXPIRE_TOKEN,      /* the presented token expires (provider's auth flow) */
};

#define SIM_FAULT_TIMEOUT_DEFAULT_MS 60000
#define SIM_FAULT_MS_MAX (3600 * 1000)
#define SIM_FAULT_RULES_MAX 256

struct sim_fault_rule {
    uint64_t id;     /* assigned by sim_fault_set_add (1, 2, ...) */
    char method[16]; /* "" matches any method */
    char path[512];  /* "" matches any path; see prefix */
    bool prefix;     /* path ended in '*' (stored without it) */
    enum sim_fault_action action;
    int status;         /* SIM_FAULT_STATUS: 100..599 */
    int64_t ms;         /* latency / timeout */
    double probability; /* 0..1, default 1 */
    int64_t count;      /* remaining firings; -1 unlimited */
    int64_t fired;      /* how many times it fired */
};

struct sim_fault_set {
    struct sim_fault_rule *rules;
    size_t n, cap;
    uint64_t next_id;
};

/* The action's name as written in rules ("status", "reset_after_apply"). */
const char *sim_fault_action_name(enum sim_fault_action a);

/* Parse text[0..len): one rule object or an array of them. On success
 * *rules (xmalloc'd, free() it) holds *n rules (ids 0). On failure returns
 * AB_EPARSE (not JSON) or AB_EINVAL (a rule is invalid: unknown field or
 * action, wrong type, status out of range, probability outside 0..1, count
 * < 1, path not starting with '/' or with '*' elsewhere than at the end,
 * more than SIM_FAULT_RULES_MAX rules) with a one-line reason naming the
 * rule and field in err. Thread-safe. */
enum ab_rc sim_fault_parse(const char *text, size_t len, struct sim_fault_rule **rules /* OUT */,
                           size_t *n /* OUT */, char *err /* OUT */, size_t errlen) AB_MUST_CHECK;

/* True when rule r's match covers this method and path. */
bool sim_fault_matches(const struct sim_fault_rule *r, const char *method, const char *path);

/* Append rules to the set (assigning ids). AB_ETOOLARGE (nothing added)
 * past SIM_FAULT_RULES_MAX. */
enum ab_rc sim_fault_set_add(struct sim_fault_set *set, const struct sim_fault_rule *rules,
                             size_t n) AB_MUST_CHECK;

/* Remove every rule (ids keep increasing). */
void sim_fault_set_clear(struct sim_fault_set *set);

/* Release the set's memory. */
void sim_fault_set_cleanup(struct sim_fault_set *set);

/* Decide the fault for one request: the first rule, in order, that matches,
 * has firings left and whose probability draw succeeds (a draw is made for
 * each matching rule with 0 < probability < 1, so the outcome depends only on
 * the seed and the request sequence). Its count is decremented and a copy
 * written to *out. Returns false when no rule fires. */
bool sim_fault_pick(struct sim_fault_set *set, struct sim_prng *rng, const char *method,
                    const char *path, struct sim_fault_rule *out /* OUT */);

/* The rule as JSON (new reference), with "id", "remaining" (null when
 * unlimited) and "fired". */
json_t *sim_fault_to_json(const struct sim_fault_rule *r);

#endif
