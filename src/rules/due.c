/* SPDX-License-Identifier: Apache-2.0
 *
 * due.c: due-date arithmetic of calibration records and maintenance plans
 * (see due.h). Times are ms since the epoch; due dates given as bare days
 * are made the end of the site's local day when they are pulled
 * (sync_normalize_doc), so "past the due date" is a plain comparison here.
 */
#include <math.h>

#include "rules/due.h"

#define DAY_MS INT64_C(86400000)

enum ab_rc rules_cal_schedule(const struct rules_cal_input *in, const struct config_rules_cal *rc,
                              int64_t *due_at, int64_t *soon_at)
{
    int64_t days = in->interval_days > 0 ? in->interval_days : rc->interval_days;
    int64_t due = in->due_at;
    if (due == INT64_MIN && days > 0 && in->last_calibrated_at != INT64_MIN)
        due = in->last_calibrated_at + days * DAY_MS;
    if (due == INT64_MIN)
        return AB_ENOTFOUND;
    int64_t lead;
    if (days > 0) {
        double rest = (100.0 - rc->due_soon_pct) / 100.0;
        if (rest < 0)
            rest = 0;
        lead = (int64_t)llround(rest * (double)(days * DAY_MS));
    } else {
        lead = rc->due_soon_window_ms;
    }
    *due_at = due;
    *soon_at = due - lead;
    return AB_OK;
}

enum model_due_state rules_cal_state(int64_t due_at, int64_t soon_at, int64_t now)
{
    if (now >= due_at)
        return MODEL_DUE_OVERDUE;
    if (now >= soon_at)
        return MODEL_DUE_SOON;
    return MODEL_DUE_OK;
}

bool rules_plan_time_due(int64_t next_due_at, int64_t lead_time_ms, int64_t now)
{
    return next_due_at != INT64_MIN && now >= next_due_at - lead_time_ms;
}

bool rules_plan_usage_due(double next_due_reading, double lead_usage, double reading)
{
    return isfinite(next_due_reading) && isfinite(reading) &&
           reading >= next_due_reading - lead_usage;
}

enum model_due_state rules_cal_usage_state(double used, double interval_usage, double due_soon_pct)
{
    if (!(interval_usage > 0) || !isfinite(used))
        return MODEL_DUE_OK;
    if (used >= interval_usage)
        return MODEL_DUE_OVERDUE;
    if (used >= interval_usage * due_soon_pct / 100.0)
        return MODEL_DUE_SOON;
    return MODEL_DUE_OK;
}
