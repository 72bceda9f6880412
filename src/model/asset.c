/* SPDX-License-Identifier: Apache-2.0
 *
 * asset.c: asset validation, JSON form and PUT merge. See asset.h.
 */
#include "model/asset.h"

#include <stddef.h>
#include <string.h>

#include "model/model_int.h"

static const char *const type_names[] = {"station", "fixture", "instrument", "tool", "other"};
_Static_assert(MODEL_NELEM(type_names) == MODEL_ASSET_TYPE_COUNT, "asset type names");

static const char *const status_names[] = {
    "active",     "in_repair",  "in_calibration", "in_maintenance",
    "in_storage", "in_transit", "retired",        "scrapped",
};
_Static_assert(MODEL_NELEM(status_names) == MODEL_ASSET_STATUS_COUNT, "asset status names");

MODEL_ENUM_FUNCS(model_asset_type, enum model_asset_type, type_names)
MODEL_ENUM_FUNCS(model_asset_status, enum model_asset_status, status_names)

#define F(name_, ...)                                                                              \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_asset, name_), __VA_ARGS__                    \
    }

static const struct model_field asset_fields[] = {
    F(asset_ref, .kind = MODEL_F_REF, .flags = MODEL_F_REQUIRED),
    F(tenant, .kind = MODEL_F_REF),
    F(site, .kind = MODEL_F_STR, .max = 64),
    F(serial_number, .kind = MODEL_F_STR, .max = 128),
    F(part_number, .kind = MODEL_F_STR, .max = 128),
    F(part_revision, .kind = MODEL_F_STR, .max = 32),
    F(name, .kind = MODEL_F_STR, .max = 256),
    F(type, .kind = MODEL_F_ENUM, .names = type_names, .n = MODEL_ASSET_TYPE_COUNT,
      .def = MODEL_ASSET_OTHER),
    F(parent, .kind = MODEL_F_REF),
    F(owner_org, .kind = MODEL_F_STR, .max = 128),
    F(criticality, .kind = MODEL_F_STR, .max = 32),
    F(status, .kind = MODEL_F_ENUM, .names = status_names, .n = MODEL_ASSET_STATUS_COUNT,
      .def = MODEL_ASSET_ACTIVE),
    F(commissioned_at, .kind = MODEL_F_TIME),
    F(created_at, .kind = MODEL_F_TIME),
    F(updated_at, .kind = MODEL_F_TIME),
};
#undef F

#define L(name_)                                                                                   \
    {                                                                                              \
        .name = #name_, .kind = MODEL_F_STR, .off = offsetof(struct model_location, name_),        \
        .max = 64                                                                                  \
    }
static const struct model_field location_fields[] = {L(site), L(line), L(cell)};
#undef L

static const char *const asset_extra[] = {"location", "attributes", NULL};

bool model_asset_ref_valid(const char *s)
{
    return model_ref_valid(s);
}

static enum ab_rc parse_attributes(struct arena *a, const json_t *in, json_t **out,
                                   struct model_error *err)
{
    if (!json_is_object(in))
        return model_err_type(err, "attributes", NULL, "must be a JSON object");
    if (json_object_size(in) > MODEL_ASSET_ATTRIBUTES_MAX)
        return model_err_value(err, "attributes", NULL, "must have at most %d keys",
                               MODEL_ASSET_ATTRIBUTES_MAX);
    json_t *copy = model_json_own(a, json_object());
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)in, key, v) {
        if (!model_ref_valid(key))
            return model_err_value(
                err, "attributes", key,
                "attribute names must be 1-64 characters of A-Z a-z 0-9 . _ : -");
        if (json_is_string(v)) {
            const char *s = NULL;
            enum ab_rc rc =
                model_json_string(a, v, "attributes", key, MODEL_ASSET_ATTRIBUTE_STR_MAX, &s, err);
            if (rc)
                return rc;
        } else if (!json_is_number(v) && !json_is_boolean(v)) {
            return model_err_type(err, "attributes", key,
                                  "must be a string, a number or a boolean");
        }
        json_object_set_new(copy, key, json_deep_copy(v));
    }
    *out = copy;
    return AB_OK;
}

enum ab_rc model_asset_from_json(struct arena *a, const json_t *in, struct model_asset *out,
                                 struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = model_fields_parse(a, in, "", asset_fields, MODEL_NELEM(asset_fields),
                                       asset_extra, out, err);
    if (rc)
        return rc;
    const json_t *loc = model_json_get(in, "location");
    memset(&out->location, 0, sizeof(out->location));
    if (loc) {
        rc = model_fields_parse(a, loc, "location", location_fields, MODEL_NELEM(location_fields),
                                NULL, &out->location, err);
        if (rc)
            return rc;
    }
    const json_t *attrs = model_json_get(in, "attributes");
    out->attributes = NULL;
    if (attrs) {
        rc = parse_attributes(a, attrs, &out->attributes, err);
        if (rc)
            return rc;
    }
    if (out->parent && strcmp(out->parent, out->asset_ref) == 0)
        return model_err_value(err, "", "parent", "an asset cannot be its own parent");
    if (out->site && out->location.site && strcmp(out->site, out->location.site) != 0)
        return model_err_value(err, "location", "site", "differs from site '%s'", out->site);
    return AB_OK;
}

json_t *model_asset_to_json(const struct model_asset *in)
{
    json_t *o = json_object();
    model_fields_emit(o, asset_fields, MODEL_NELEM(asset_fields), in);
    if (in->location.site || in->location.line || in->location.cell) {
        json_t *loc = json_object();
        model_fields_emit(loc, location_fields, MODEL_NELEM(location_fields), &in->location);
        json_object_set_new(o, "location", loc);
    }
    if (in->attributes && json_object_size(in->attributes))
        json_object_set_new(o, "attributes", json_deep_copy(in->attributes));
    return o;
}

enum ab_rc model_asset_merge(struct arena *a, const struct model_asset *base, const json_t *patch,
                             struct model_asset *out, struct model_error *err)
{
    model_error_clear(err);
    if (!json_is_object(patch))
        return model_err_type(err, "", NULL, "must be a JSON object");
    if (!base)
        return model_asset_from_json(a, patch, out, err);
    json_t *merged = model_json_own(a, model_asset_to_json(base));
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)patch, key, v) {
        if (strcmp(key, "asset_ref") == 0 && json_is_string(v) &&
            strcmp(json_string_value(v), base->asset_ref) != 0)
            return model_err_value(err, "", key, "cannot be changed (is '%s')", base->asset_ref);
        if (strcmp(key, "attributes") == 0 && !json_is_null(v)) {
            if (!json_is_object(v))
                return model_err_type(err, "", key, "must be a JSON object");
            json_t *attrs = json_object_get(merged, key);
            if (!attrs) {
                attrs = json_object();
                json_object_set_new(merged, key, attrs);
            }
            const char *k;
            json_t *av;
            json_object_foreach (v, k, av) {
                if (json_is_null(av))
                    json_object_del(attrs, k);
                else
                    json_object_set(attrs, k, av);
            }
            continue;
        }
        if (json_is_null(v))
            json_object_del(merged, key);
        else
            json_object_set(merged, key, v);
    }
    return model_asset_from_json(a, merged, out, err);
}
