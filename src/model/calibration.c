/* SPDX-License-Identifier: Apache-2.0
 *
 * calibration.c: calibration record validation and JSON form. See
 * calibration.h.
 */
#include "model/calibration.h"

#include <stddef.h>
#include <string.h>

#include "model/meter.h"
#include "model/model_int.h"

static const char *const result_names[] = {"unknown", "in_tolerance", "out_of_tolerance"};
_Static_assert(MODEL_NELEM(result_names) == MODEL_CAL_RESULT_COUNT, "result names");
static const char *const due_names[] = {"ok", "due_soon", "overdue"};
_Static_assert(MODEL_NELEM(due_names) == MODEL_DUE_STATE_COUNT, "due state names");

MODEL_ENUM_FUNCS(model_cal_result, enum model_cal_result, result_names)
MODEL_ENUM_FUNCS(model_due_state, enum model_due_state, due_names)

#define C(name_, ...)                                                                              \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_calibration, name_), __VA_ARGS__              \
    }
#define RESULT .kind = MODEL_F_ENUM, .names = result_names, .n = MODEL_CAL_RESULT_COUNT
static const struct model_field cal_fields[] = {
    C(asset_ref, .kind = MODEL_F_REF, .flags = MODEL_F_REQUIRED),
    C(required, .kind = MODEL_F_BOOL, .def = 1),
    C(interval_days, .kind = MODEL_F_I64, .flags = MODEL_F_OMIT_ZERO, .lo = 1, .hi = 36500),
    C(interval_usage, .kind = MODEL_F_DOUBLE, .flags = MODEL_F_POSITIVE),
    C(usage_meter_type, .kind = MODEL_F_STR, .max = 32),
    C(last_calibrated_at, .kind = MODEL_F_TIME),
    C(due_at, .kind = MODEL_F_TIME),
    C(result, RESULT),
    C(due_state, .kind = MODEL_F_ENUM, .names = due_names, .n = MODEL_DUE_STATE_COUNT),
    C(as_found, RESULT),
    C(as_left, RESULT),
    C(certificate_id, .kind = MODEL_F_STR, .max = 128),
    C(certificate_url, .kind = MODEL_F_STR, .max = 2048),
    C(performed_by, .kind = MODEL_F_STR, .max = 256),
    C(system_of_record, .kind = MODEL_F_ENUM, .names = model_provider_names,
      .n = MODEL_PROVIDER_COUNT),
};
#undef RESULT
#undef C

enum ab_rc model_calibration_from_json(struct arena *a, const json_t *in,
                                       struct model_calibration *out, struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc =
        model_fields_parse(a, in, "", cal_fields, MODEL_NELEM(cal_fields), NULL, out, err);
    if (rc)
        return rc;
    bool usage = model_value_is_set(out->interval_usage);
    if (usage && !out->usage_meter_type)
        return model_err_value(err, "", "usage_meter_type", "is required with interval_usage");
    if (!usage && out->usage_meter_type)
        return model_err_value(err, "", "interval_usage", "is required with usage_meter_type");
    if (out->usage_meter_type && !model_meter_type_find(out->usage_meter_type))
        return model_err_value(err, "", "usage_meter_type", "unknown meter type");
    const char *url = out->certificate_url;
    if (url && !(strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0))
        return model_err_value(err, "", "certificate_url", "must be an http:// or https:// URL");
    return AB_OK;
}

json_t *model_calibration_to_json(const struct model_calibration *in)
{
    json_t *o = json_object();
    model_fields_emit(o, cal_fields, MODEL_NELEM(cal_fields), in);
    return o;
}
