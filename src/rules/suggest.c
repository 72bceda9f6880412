/* SPDX-License-Identifier: Apache-2.0
 *
 * suggest.c: the fixed-step calibration interval suggestion method (see
 * suggest.h and docs/rules.md). Pure arithmetic and the reasoning text.
 */
#include <math.h>
#include <string.h>

#include "core/timefmt.h"
#include "rules/suggest.h"

static const char *date_of(struct arena *a, int64_t ms)
{
    char b[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, b);
    b[10] = '\0'; /* YYYY-MM-DD */
    return arena_strdup(a, b);
}

bool rules_suggest_interval(const struct rules_cal_result *h, size_t n, int64_t current_days,
                            const struct config_rules_cal *rc, struct arena *a,
                            struct rules_suggestion *out)
{
    memset(out, 0, sizeof(*out));
    if (!h || n == 0 || current_days <= 0)
        return false;
    const struct rules_cal_result *last = &h[n - 1];
    out->current_days = current_days;
    out->basis_at = last->performed_at;
    if (last->as_found == MODEL_CAL_OUT_OF_TOLERANCE) {
        double v = floor((double)current_days * (100.0 - rc->suggest_decrease_pct) / 100.0);
        int64_t next = (int64_t)v;
        if (next < rc->suggest_min_days)
            next = rc->suggest_min_days;
        if (next >= current_days)
            return false; /* at (or below) the floor already */
        out->suggested_days = next;
        out->direction = "decrease";
        out->n_used = 1;
        out->reason = arena_printf(
            a,
            "The as-found result of the calibration on %s was out of tolerance: shorten the "
            "interval by %g %% from %lld to %lld days (fixed-step method, floor %lld days).",
            date_of(a, last->performed_at), rc->suggest_decrease_pct, (long long)current_days,
            (long long)next, (long long)rc->suggest_min_days);
        return true;
    }
    size_t run = 0;
    while (run < n && h[n - 1 - run].as_found == MODEL_CAL_IN_TOLERANCE)
        run++;
    if (rc->suggest_after < 1 || run < (size_t)rc->suggest_after)
        return false;
    run = (size_t)rc->suggest_after;
    double v = floor((double)current_days * (100.0 + rc->suggest_increase_pct) / 100.0);
    int64_t next = v > 36500.0 ? 36500 : (int64_t)v;
    if (next > rc->suggest_max_days)
        next = rc->suggest_max_days;
    if (next <= current_days)
        return false; /* at (or above) the cap already, or too short to grow */
    out->suggested_days = next;
    out->direction = "increase";
    out->n_used = run;
    out->reason = arena_printf(
        a,
        "The last %zu as-found results (%s to %s) were in tolerance: lengthen the interval by "
        "%g %% from %lld to %lld days (fixed-step method, cap %lld days).",
        run, date_of(a, h[n - run].performed_at), date_of(a, last->performed_at),
        rc->suggest_increase_pct, (long long)current_days, (long long)next,
        (long long)rc->suggest_max_days);
    return true;
}
