/* SPDX-License-Identifier: Apache-2.0
 *
 * plan.c: maintenance plan validation and JSON form. See plan.h.
 */
#include "model/plan.h"

#include <stddef.h>
#include <string.h>

#include "model/meter.h"
#include "model/model_int.h"

static const char *const trigger_names[] = {"time", "usage", "condition"};
_Static_assert(MODEL_NELEM(trigger_names) == MODEL_TRIGGER_COUNT, "trigger names");

MODEL_ENUM_FUNCS(model_plan_trigger, enum model_plan_trigger, trigger_names)

#define P(name_, ...)                                                                              \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_plan, name_), __VA_ARGS__                     \
    }
static const struct model_field plan_fields[] = {
    P(plan_id, .kind = MODEL_F_REF, .flags = MODEL_F_REQUIRED),
    P(asset_ref, .kind = MODEL_F_REF, .flags = MODEL_F_REQUIRED),
    P(trigger, .kind = MODEL_F_ENUM, .flags = MODEL_F_REQUIRED, .names = trigger_names,
      .n = MODEL_TRIGGER_COUNT),
    P(interval, .kind = MODEL_F_DOUBLE, .flags = MODEL_F_POSITIVE),
    P(interval_unit, .kind = MODEL_F_STR, .max = 32),
    P(next_due_at, .kind = MODEL_F_TIME),
    P(next_due_reading, .kind = MODEL_F_DOUBLE),
    P(description, .kind = MODEL_F_STR, .max = 4096),
    P(system_of_record, .kind = MODEL_F_ENUM, .names = model_provider_names,
      .n = MODEL_PROVIDER_COUNT),
};
#undef P

enum ab_rc model_plan_from_json(struct arena *a, const json_t *in, struct model_plan *out,
                                struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc =
        model_fields_parse(a, in, "", plan_fields, MODEL_NELEM(plan_fields), NULL, out, err);
    if (rc)
        return rc;
    bool has_interval = model_value_is_set(out->interval);
    switch (out->trigger) {
    case MODEL_TRIGGER_TIME:
        if (!has_interval)
            return model_err_value(err, "", "interval", "is required for a time trigger");
        if (out->interval != floor(out->interval) || out->interval > 36500)
            return model_err_value(err, "", "interval",
                                   "must be a whole number of days up to 36500");
        if (!out->interval_unit)
            out->interval_unit = "days";
        else if (strcmp(out->interval_unit, "days") != 0)
            return model_err_value(err, "", "interval_unit", "must be 'days' for a time trigger");
        break;
    case MODEL_TRIGGER_USAGE:
        if (!has_interval)
            return model_err_value(err, "", "interval", "is required for a usage trigger");
        if (!out->interval_unit)
            return model_err_value(err, "", "interval_unit",
                                   "is required for a usage trigger (a meter type)");
        if (!model_meter_type_find(out->interval_unit))
            return model_err_value(err, "", "interval_unit",
                                   "must be a registered meter type for a usage trigger");
        break;
    default:
        if (has_interval && !out->interval_unit)
            return model_err_value(err, "", "interval_unit", "is required with interval");
        if (out->interval_unit && strcmp(out->interval_unit, "days") != 0 &&
            !model_meter_type_find(out->interval_unit))
            return model_err_value(err, "", "interval_unit",
                                   "must be 'days' or a registered meter type");
        break;
    }
    if (out->trigger != MODEL_TRIGGER_USAGE && model_value_is_set(out->next_due_reading))
        return model_err_value(err, "", "next_due_reading", "is only allowed for a usage trigger");
    return AB_OK;
}

json_t *model_plan_to_json(const struct model_plan *in)
{
    json_t *o = json_object();
    model_fields_emit(o, plan_fields, MODEL_NELEM(plan_fields), in);
    return o;
}
