/* SPDX-License-Identifier: Apache-2.0
 *
 * calibration.h: the calibration record of an asset: whether calibration is
 * required, its intervals (time and/or usage), the last result and the due
 * state kept apart, as-found / as-left results and the certificate. Used by
 * the API, the store, the calibration connectors and the due-date rules.
 */
#ifndef AB_MODEL_CALIBRATION_H
#define AB_MODEL_CALIBRATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

/* Outcome of a calibration (also as_found / as_left). */
enum model_cal_result {
    MODEL_CAL_UNKNOWN = 0,
    MODEL_CAL_IN_TOLERANCE,
    MODEL_CAL_OUT_OF_TOLERANCE,
    MODEL_CAL_RESULT_COUNT
};

/* Where the asset stands against its due date; computed by the rules. */
enum model_due_state { MODEL_DUE_OK = 0, MODEL_DUE_SOON, MODEL_DUE_OVERDUE, MODEL_DUE_STATE_COUNT };

/* Names: "unknown", "in_tolerance", "out_of_tolerance"; "ok", "due_soon",
 * "overdue". */
const char *model_cal_result_name(enum model_cal_result v);
bool model_cal_result_parse(const char *s, enum model_cal_result *out /* OUT */);
const char *model_due_state_name(enum model_due_state v);
bool model_due_state_parse(const char *s, enum model_due_state *out /* OUT */);

struct model_calibration {
    const char *asset_ref;        /* required */
    bool required;                /* default true */
    int64_t interval_days;        /* 1..36500, 0 = no time interval */
    double interval_usage;        /* > 0, NaN = no usage interval */
    const char *usage_meter_type; /* a registered meter type; iff interval_usage */
    int64_t last_calibrated_at;
    int64_t due_at;
    enum model_cal_result result;   /* default unknown */
    enum model_due_state due_state; /* default ok */
    enum model_cal_result as_found; /* default unknown */
    enum model_cal_result as_left;  /* default unknown */
    const char *certificate_id;
    const char *certificate_url; /* http:// or https:// */
    const char *performed_by;
    enum model_provider system_of_record; /* default hub */
};

/* Parse and validate a calibration record (strict). Strings are copied into
 * a. Errors as model_asset_from_json. Thread-safe on distinct arenas. */
enum ab_rc model_calibration_from_json(struct arena *a, const json_t *in,
                                       struct model_calibration *out /* OUT */,
                                       struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it), unset fields omitted. */
json_t *model_calibration_to_json(const struct model_calibration *in);

#endif
