/* SPDX-License-Identifier: Apache-2.0
 *
 * attachment.c: attachment metadata validation and JSON form. See
 * attachment.h.
 */
#include "model/attachment.h"

#include <stddef.h>
#include <string.h>

#include "model/model_int.h"

static const char *const owner_names[] = {"work_order", "calibration", "asset"};
_Static_assert(MODEL_NELEM(owner_names) == MODEL_OWNER_KIND_COUNT, "owner kind names");

MODEL_ENUM_FUNCS(model_owner_kind, enum model_owner_kind, owner_names)

#define A(name_, ...)                                                                              \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_attachment, name_), __VA_ARGS__               \
    }
static const struct model_field att_fields[] = {
    A(owner_kind, .kind = MODEL_F_ENUM, .flags = MODEL_F_REQUIRED, .names = owner_names,
      .n = MODEL_OWNER_KIND_COUNT),
    A(owner_id, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = 128),
    A(file_name, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = 255),
    A(media_type, .kind = MODEL_F_STR, .max = 255),
    A(size, .kind = MODEL_F_I64, .flags = MODEL_F_REQUIRED, .lo = 0, .hi = INT64_MAX),
    A(sha256, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = 64),
    A(provider_ref, .kind = MODEL_F_STR, .max = 256),
};
#undef A

bool model_sha256_hex_valid(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

/* "type/subtype": RFC 6838 restricted name characters on both sides. */
static bool media_type_valid(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (c && strchr("!#$&-^_.+/", c));
        if (!ok)
            return false;
    }
    return true;
}

enum ab_rc model_attachment_from_json(struct arena *a, const json_t *in,
                                      struct model_attachment *out, struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc =
        model_fields_parse(a, in, "", att_fields, MODEL_NELEM(att_fields), NULL, out, err);
    if (rc)
        return rc;
    const char *f = out->file_name;
    if (strchr(f, '/') || strchr(f, '\\') || strcmp(f, ".") == 0 || strcmp(f, "..") == 0)
        return model_err_value(err, "", "file_name", "must be a plain file name (no / or \\)");
    for (const char *p = f; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return model_err_value(err, "", "file_name", "must not contain control characters");
    if (!out->media_type)
        out->media_type = "application/octet-stream";
    else if (!media_type_valid(out->media_type))
        return model_err_value(err, "", "media_type", "must look like type/subtype");
    if (!model_sha256_hex_valid(out->sha256))
        return model_err_value(err, "", "sha256", "must be 64 hexadecimal digits");
    char *lower = (char *)out->sha256; /* our own arena copy */
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return AB_OK;
}

json_t *model_attachment_to_json(const struct model_attachment *in)
{
    json_t *o = json_object();
    model_fields_emit(o, att_fields, MODEL_NELEM(att_fields), in);
    return o;
}
