/* SPDX-License-Identifier: Apache-2.0
 *
 * due.h: the pure due-date arithmetic of the rules engine: where a
 * calibration stands against its due date (ok, due_soon, overdue) and
 * whether a maintenance plan has fallen due (time or usage). No I/O; the
 * engine (rules.c) feeds it what the store holds. Thread-safe.
 */
#ifndef AB_RULES_DUE_H
#define AB_RULES_DUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/result.h"
#include "model/calibration.h"

/* What the calibration rules know of one calibration record. */
struct rules_cal_input {
    int64_t due_at;             /* INT64_MIN when the record gives none */
    int64_t last_calibrated_at; /* INT64_MIN when unknown */
    int64_t interval_days;      /* the record's; 0: none */
};

/* The due date and the moment the calibration becomes due soon:
 * due_at is the record's, else last_calibrated_at + interval (the record's,
 * else the rule's interval_days). The interval is the record's, else the
 * rule's; soon_at = due_at - (100 - due_soon_pct)% of the interval, or
 * due_at - due_soon_window without an interval. AB_ENOTFOUND when no due
 * date can be known (the calibration is not evaluated). */
enum ab_rc rules_cal_schedule(const struct rules_cal_input *in, const struct config_rules_cal *rc,
                              int64_t *due_at /* OUT */, int64_t *soon_at /* OUT */) AB_MUST_CHECK;

/* The state at now: overdue from due_at on, due_soon from soon_at on. */
enum model_due_state rules_cal_state(int64_t due_at, int64_t soon_at, int64_t now);

/* The state by use: overdue once used >= interval_usage, due_soon once
 * used >= due_soon_pct % of it; ok otherwise (and without an interval). */
enum model_due_state rules_cal_usage_state(double used, double interval_usage, double due_soon_pct);

/* A time-based plan is due once now >= next_due_at - lead_time_ms. */
bool rules_plan_time_due(int64_t next_due_at, int64_t lead_time_ms, int64_t now);

/* A usage-based plan is due once reading >= next_due_reading - lead_usage. */
bool rules_plan_usage_due(double next_due_reading, double lead_usage, double reading);

#endif
