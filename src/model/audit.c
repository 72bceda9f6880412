/* SPDX-License-Identifier: Apache-2.0
 *
 * audit.c: audit record validation and JSON form. See audit.h.
 */
#include "model/audit.h"

#include <stddef.h>
#include <string.h>

#include "model/model_int.h"

#define AU(name_, ...)                                                                             \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_audit, name_), __VA_ARGS__                    \
    }
static const struct model_field audit_fields[] = {
    AU(actor, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = 128),
    AU(action, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = 64),
    AU(subject, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = 256),
    AU(before_digest, .kind = MODEL_F_STR, .max = 64),
    AU(after_digest, .kind = MODEL_F_STR, .max = 64),
    AU(correlation_id, .kind = MODEL_F_STR, .max = 64),
    AU(at, .kind = MODEL_F_TIME, .flags = MODEL_F_REQUIRED),
};
#undef AU

static bool lower_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

enum ab_rc model_audit_from_json(struct arena *a, const json_t *in, struct model_audit *out,
                                 struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc =
        model_fields_parse(a, in, "", audit_fields, MODEL_NELEM(audit_fields), NULL, out, err);
    if (rc)
        return rc;
    if (out->before_digest && !lower_hex64(out->before_digest))
        return model_err_value(err, "", "before_digest", "must be 64 lower-case hex digits");
    if (out->after_digest && !lower_hex64(out->after_digest))
        return model_err_value(err, "", "after_digest", "must be 64 lower-case hex digits");
    return AB_OK;
}

json_t *model_audit_to_json(const struct model_audit *in)
{
    json_t *o = json_object();
    model_fields_emit(o, audit_fields, MODEL_NELEM(audit_fields), in);
    return o;
}
