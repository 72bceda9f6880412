/* SPDX-License-Identifier: Apache-2.0
 *
 * plan.h: maintenance plans: what triggers preventive maintenance of an
 * asset (time, usage or condition), its interval and the next due point.
 * Used by the API, the store, the maintenance connectors and the rules.
 */
#ifndef AB_MODEL_PLAN_H
#define AB_MODEL_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

enum model_plan_trigger {
    MODEL_TRIGGER_TIME = 0,
    MODEL_TRIGGER_USAGE,
    MODEL_TRIGGER_CONDITION,
    MODEL_TRIGGER_COUNT
};

/* Names: "time", "usage", "condition". */
const char *model_plan_trigger_name(enum model_plan_trigger v);
bool model_plan_trigger_parse(const char *s, enum model_plan_trigger *out /* OUT */);

/* A maintenance plan. Rules between fields (checked by from_json):
 * time: interval required, a whole number of days; interval_unit "days"
 *       (the default); next_due_reading not allowed.
 * usage: interval and interval_unit (a registered meter type) required.
 * condition: interval and interval_unit optional; next_due_reading not
 *       allowed. */
struct model_plan {
    const char *plan_id;             /* required, identifier syntax */
    const char *asset_ref;           /* required */
    enum model_plan_trigger trigger; /* required */
    double interval;                 /* > 0, NaN when unset */
    const char *interval_unit;       /* "days" or a meter type */
    int64_t next_due_at;
    double next_due_reading;              /* usage plans; NaN when unset */
    const char *description;              /* up to 4096 bytes */
    enum model_provider system_of_record; /* default hub */
};

/* Parse and validate a plan (strict). Strings are copied into a. Errors as
 * model_asset_from_json. Thread-safe on distinct arenas. */
enum ab_rc model_plan_from_json(struct arena *a, const json_t *in, struct model_plan *out /* OUT */,
                                struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it), unset fields omitted. */
json_t *model_plan_to_json(const struct model_plan *in);

#endif
