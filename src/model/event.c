/* SPDX-License-Identifier: Apache-2.0
 *
 * event.c: the table of known event types, event-type syntax, and event
 * validation and JSON form. See event.h. To add an event type, add it to
 * known_types below and to docs/internals/model.md.
 */
#include "model/event.h"

#include <stddef.h>
#include <string.h>

#include "model/model_int.h"

static const char *const known_types[] = {
    "asset.created",         "asset.updated",           "asset.moved",
    "asset.retired",         "asset.missing_at_source", "asset.out_of_spec",
    "meter.reading",         "calibration.due",         "calibration.overdue",
    "calibration.completed", "maintenance.due",         "maintenance.opened",
    "maintenance.completed", "work_order.created",      "work_order.updated",
    "work_order.completed",  "work_order.closed",       "attachment.added",
    "sync.failed",           "mapping.exception",
};

bool model_event_type_known(const char *s)
{
    for (size_t i = 0; s && i < MODEL_NELEM(known_types); i++)
        if (strcmp(known_types[i], s) == 0)
            return true;
    return false;
}

const char *model_event_type_at(size_t i)
{
    return i < MODEL_NELEM(known_types) ? known_types[i] : NULL;
}

bool model_event_type_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > MODEL_EVENT_TYPE_MAX)
        return false;
    int segments = 0;
    bool start = true;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (start) {
            if (c < 'a' || c > 'z')
                return false;
            start = false;
            segments++;
        } else if (c == '.') {
            start = true;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return !start && segments >= 2;
}

#define E(name_, ...)                                                                              \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_event, name_), __VA_ARGS__                    \
    }
static const struct model_field event_fields[] = {
    E(tenant, .kind = MODEL_F_REF, .flags = MODEL_F_REQUIRED),
    E(seq, .kind = MODEL_F_I64, .flags = MODEL_F_OMIT_ZERO, .lo = 1, .hi = INT64_MAX),
    E(type, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = MODEL_EVENT_TYPE_MAX),
    E(subject, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = MODEL_SUBJECT_MAX),
    E(correlation_id, .kind = MODEL_F_STR, .max = MODEL_CORRELATION_MAX),
    E(occurred_at, .kind = MODEL_F_TIME, .flags = MODEL_F_REQUIRED),
};
#undef E

static const char *const event_extra[] = {"payload", NULL};

enum ab_rc model_event_from_json(struct arena *a, const json_t *in, struct model_event *out,
                                 struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = model_fields_parse(a, in, "", event_fields, MODEL_NELEM(event_fields),
                                       event_extra, out, err);
    if (rc)
        return rc;
    if (!model_event_type_valid(out->type))
        return model_err_value(err, "", "type",
                               "must be dot-separated lower-case segments like asset.created");
    const char *slash = strchr(out->subject, '/');
    if (!slash || slash == out->subject || !slash[1])
        return model_err_value(err, "", "subject", "must look like kind/id (asset/FX-1001)");
    for (const char *p = out->subject; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return model_err_value(err, "", "subject", "must not contain control characters");
    for (const char *p = out->correlation_id; p && *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return model_err_value(err, "", "correlation_id", "must be printable ASCII");
    const json_t *payload = model_json_get(in, "payload");
    if (payload) {
        if (!json_is_object(payload))
            return model_err_type(err, "", "payload", "must be a JSON object");
        out->payload = model_json_own(a, json_deep_copy(payload));
    }
    return AB_OK;
}

json_t *model_event_to_json(const struct model_event *in)
{
    json_t *o = json_object();
    model_fields_emit(o, event_fields, MODEL_NELEM(event_fields), in);
    json_object_set_new(o, "payload", in->payload ? json_deep_copy(in->payload) : json_object());
    return o;
}
