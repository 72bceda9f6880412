/* SPDX-License-Identifier: Apache-2.0
 *
 * sync_state.c: sync status validation and JSON form. See sync_state.h.
 */
#include "model/sync_state.h"

#include <stddef.h>
#include <string.h>

#include "model/model_int.h"

#define S(name_, ...)                                                                              \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_sync_status, name_), __VA_ARGS__              \
    }
#define COUNTER .kind = MODEL_F_I64, .lo = 0, .hi = INT64_MAX
static const struct model_field sync_fields[] = {
    S(provider, .kind = MODEL_F_ENUM, .flags = MODEL_F_REQUIRED, .names = model_provider_names,
      .n = MODEL_PROVIDER_COUNT),
    S(entity, .kind = MODEL_F_ENUM, .flags = MODEL_F_REQUIRED, .names = model_entity_names,
      .n = MODEL_ENTITY_COUNT),
    S(watermark, .kind = MODEL_F_STR, .max = 1024),
    S(last_success_at, .kind = MODEL_F_TIME),
    S(last_error, .kind = MODEL_F_STR, .max = 2048),
    S(pulled, COUNTER),
    S(pushed, COUNTER),
    S(failed, COUNTER),
};
#undef COUNTER
#undef S

enum ab_rc model_sync_status_from_json(struct arena *a, const json_t *in,
                                       struct model_sync_status *out, struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    return model_fields_parse(a, in, "", sync_fields, MODEL_NELEM(sync_fields), NULL, out, err);
}

json_t *model_sync_status_to_json(const struct model_sync_status *in)
{
    json_t *o = json_object();
    model_fields_emit(o, sync_fields, MODEL_NELEM(sync_fields), in);
    return o;
}
