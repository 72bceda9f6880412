/* SPDX-License-Identifier: Apache-2.0
 *
 * suggest.h: the calibration interval suggestion method of the rules engine
 * (docs/rules.md, "Interval suggestions"): a conservative fixed-step
 * response to an instrument's as-found history. After an out-of-tolerance
 * as-found result the interval is shortened by suggest_decrease_pct (never
 * below suggest_min_days); after suggest_after in-tolerance as-found
 * results in a row it is lengthened by suggest_increase_pct (never above
 * suggest_max_days). Only the results after the last decided suggestion
 * count (the engine passes those), so every step needs fresh evidence. No
 * I/O; thread-safe.
 */
#ifndef AB_RULES_SUGGEST_H
#define AB_RULES_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "model/calibration.h"
#include "store/store.h"

/* One as-found result of the history. */
struct rules_cal_result {
    int64_t performed_at;           /* ms */
    enum model_cal_result as_found; /* unknown breaks a run of in-tolerance results */
};

/* What the method suggests. */
struct rules_suggestion {
    int64_t current_days;   /* the interval it starts from */
    int64_t suggested_days; /* the interval it suggests */
    const char *direction;  /* "increase" or "decrease" (static) */
    const char *reason;     /* the reasoning, in a */
    int64_t basis_at;       /* performed_at of the newest result it used */
    size_t n_used;          /* results it used: the newest n_used of h */
};

/* Suggest from h[0..n) (oldest first; the results since the last decided
 * suggestion) and the current interval in days, with the method's
 * parameters in rc. Returns true and fills *out (strings in a) when the
 * method suggests a different interval; false when it does not (no
 * interval, too little evidence, already at the floor or the cap). The
 * newest result decides: out of tolerance shortens (floor of current *
 * (100 - decrease) / 100, at least suggest_min_days); otherwise, when the
 * newest suggest_after results are all in tolerance, lengthens (floor of
 * current * (100 + increase) / 100, at most suggest_max_days). */
bool rules_suggest_interval(const struct rules_cal_result *h, size_t n, int64_t current_days,
                            const struct config_rules_cal *rc, struct arena *a,
                            struct rules_suggestion *out /* OUT */);

/* What one suggestion pass did. */
struct rules_suggest_stats {
    uint64_t results;   /* as-found results added to the history */
    uint64_t opened;    /* suggestions opened */
    uint64_t applied;   /* suggestions applied by policy (apply_suggestions) */
    uint64_t evaluated; /* assets evaluated */
};

/* One suggestion pass for tenant t on store s (the rules engine's thread
 * only): the calibration.completed events after the tenant's cursor and
 * the provider calibration records changed since its checkpoint become
 * as-found history; every asset with new history is evaluated in one write
 * job (history, supersede, open, apply by policy); then the cursor moves.
 * Idempotent: a pass repeated after a crash adds and opens nothing twice.
 * *st (may be NULL) is added to. */
enum ab_rc rules_suggest_pass(struct store *s, const struct config_tenant *t,
                              struct rules_suggest_stats *st /* OUT */) AB_MUST_CHECK;

#endif
