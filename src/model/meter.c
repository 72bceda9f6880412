/* SPDX-License-Identifier: Apache-2.0
 *
 * meter.c: meters, readings and the meter-type registry. See meter.h.
 */
#include "model/meter.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/str.h"
#include "model/model_int.h"

static const char *const kind_names[] = {"counter", "gauge"};
_Static_assert(MODEL_NELEM(kind_names) == MODEL_METER_KIND_COUNT, "meter kind names");
static const char *const source_names[] = {"tester", "plc", "manual", "provider"};
_Static_assert(MODEL_NELEM(source_names) == MODEL_SOURCE_COUNT, "source names");
_Static_assert(sizeof(struct model_reading) <= 48 || sizeof(void *) != 8, "keep readings compact");

MODEL_ENUM_FUNCS(model_meter_kind, enum model_meter_kind, kind_names)
MODEL_ENUM_FUNCS(model_reading_source, enum model_reading_source, source_names)

/* ---- registry ----------------------------------------------------------- */

#define BUILTIN_TYPES 4
static struct model_meter_type types[MODEL_METER_TYPES_MAX] = {
    {.name = "cycles", .kind = MODEL_METER_COUNTER, .unit = "cycles"},
    {.name = "run_hours", .kind = MODEL_METER_COUNTER, .unit = "h"},
    {.name = "shots", .kind = MODEL_METER_COUNTER, .unit = "shots"},
    {.name = "units_tested", .kind = MODEL_METER_COUNTER, .unit = "units"},
};
static size_t n_types = BUILTIN_TYPES;

static bool type_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MODEL_METER_TYPE_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool unit_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MODEL_METER_UNIT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

enum ab_rc model_meter_type_register(const char *name, enum model_meter_kind kind, const char *unit)
{
    if (!type_name_valid(name) || !unit_valid(unit) || (unsigned)kind >= MODEL_METER_KIND_COUNT)
        return AB_EINVAL;
    const struct model_meter_type *t = model_meter_type_find(name);
    if (t)
        return t->kind == kind && strcmp(t->unit, unit) == 0 ? AB_OK : AB_ECONFLICT;
    if (n_types == MODEL_METER_TYPES_MAX)
        return AB_ETOOLARGE;
    struct model_meter_type *nt = &types[n_types];
    str_lcpy(nt->name, name, sizeof(nt->name));
    str_lcpy(nt->unit, unit, sizeof(nt->unit));
    nt->kind = kind;
    n_types++;
    return AB_OK;
}

const struct model_meter_type *model_meter_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < n_types; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

size_t model_meter_type_count(void)
{
    return n_types;
}

const struct model_meter_type *model_meter_type_at(size_t i)
{
    return i < n_types ? &types[i] : NULL;
}

void model_meter_type_reset(void)
{
    memset(&types[BUILTIN_TYPES], 0, sizeof(types) - BUILTIN_TYPES * sizeof(types[0]));
    n_types = BUILTIN_TYPES;
}

/* Look up a meter type named by a parsed field, or fail naming it. */
static enum ab_rc find_type(const char *name, const char *prefix, const char *key,
                            const struct model_meter_type **out, struct model_error *err)
{
    *out = model_meter_type_find(name);
    if (*out)
        return AB_OK;
    char known[160];
    size_t len = 0;
    known[0] = '\0';
    for (size_t i = 0; i < n_types && len + 1 < sizeof(known); i++) {
        int w = snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "", types[i].name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return model_err_value(err, prefix, key, "unknown meter type (known: %s)", known);
}

/* ---- meter -------------------------------------------------------------- */

#define M(name_, ...)                                                                              \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_meter, name_), __VA_ARGS__                    \
    }
static const struct model_field meter_fields[] = {
    M(asset_ref, .kind = MODEL_F_REF, .flags = MODEL_F_REQUIRED),
    M(meter_type, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = MODEL_METER_TYPE_NAME_MAX),
    M(unit, .kind = MODEL_F_STR, .max = MODEL_METER_UNIT_MAX),
    M(kind, .kind = MODEL_F_ENUM, .names = kind_names, .n = MODEL_METER_KIND_COUNT, .def = -1),
    M(value, .kind = MODEL_F_DOUBLE),
    M(last_read_at, .kind = MODEL_F_TIME),
    M(last_source, .kind = MODEL_F_ENUM, .names = source_names, .n = MODEL_SOURCE_COUNT,
      .def = MODEL_SOURCE_MANUAL),
    M(reading_count, .kind = MODEL_F_I64, .lo = 0, .hi = INT64_MAX),
};
#undef M

enum ab_rc model_meter_from_json(struct arena *a, const json_t *in, struct model_meter *out,
                                 struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc =
        model_fields_parse(a, in, "", meter_fields, MODEL_NELEM(meter_fields), NULL, out, err);
    if (rc)
        return rc;
    const struct model_meter_type *t;
    rc = find_type(out->meter_type, "", "meter_type", &t, err);
    if (rc)
        return rc;
    if ((int)out->kind == -1)
        out->kind = t->kind;
    else if (out->kind != t->kind)
        return model_err_value(err, "", "kind", "meter type '%s' is a %s", t->name,
                               kind_names[t->kind]);
    if (!out->unit)
        out->unit = arena_strdup(a, t->unit);
    if (!model_value_is_set(out->value))
        out->value = 0;
    return AB_OK;
}

json_t *model_meter_to_json(const struct model_meter *in)
{
    json_t *o = json_object();
    model_fields_emit(o, meter_fields, MODEL_NELEM(meter_fields), in);
    if (in->last_read_at == MODEL_TIME_UNSET)
        json_object_del(o, "last_source");
    return o;
}

/* ---- reading ------------------------------------------------------------ */

static const char *const reading_keys[] = {"asset_ref", "meter_type",      "value", "increment",
                                           "read_at",   "idempotency_key", "source"};

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

static enum ab_rc reading_amount(const json_t *v, const char *key, double *out,
                                 struct model_error *err)
{
    if (!json_is_number(v))
        return model_err_type(err, "", key, "must be a number");
    *out = json_number_value(v);
    if (!isfinite(*out))
        return model_err_value(err, "", key, "must be a finite number");
    return AB_OK;
}

enum ab_rc model_reading_from_json_at(struct arena *a, const json_t *in, int64_t now_ms,
                                      int64_t max_future_ms, struct model_reading *out,
                                      struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    if (!json_is_object(in))
        return model_err_type(err, "", NULL, "must be a JSON object");
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)in, key, v) {
        bool known = false;
        for (size_t i = 0; i < MODEL_NELEM(reading_keys) && !known; i++)
            known = strcmp(reading_keys[i], key) == 0;
        if (!known)
            return model_err_type(err, "", key, "unknown field");
    }
    enum ab_rc rc;
    if (!(v = model_json_get(in, "asset_ref")))
        return model_err_value(err, "", "asset_ref", "is required");
    if ((rc = model_json_string(a, v, "", "asset_ref", 64, &out->asset_ref, err)))
        return rc;
    if (!model_ref_valid(out->asset_ref))
        return model_err_value(err, "", "asset_ref",
                               "must be 1-64 characters of A-Z a-z 0-9 . _ : -");
    if (!(v = model_json_get(in, "meter_type")))
        return model_err_value(err, "", "meter_type", "is required");
    if ((rc = model_json_string(a, v, "", "meter_type", MODEL_METER_TYPE_NAME_MAX, &out->meter_type,
                                err)))
        return rc;
    const struct model_meter_type *t;
    if ((rc = find_type(out->meter_type, "", "meter_type", &t, err)))
        return rc;

    const json_t *value = model_json_get(in, "value");
    const json_t *inc = model_json_get(in, "increment");
    if (value && inc)
        return model_err_value(err, "", "increment", "send either value or increment, not both");
    if (value) {
        out->mode = MODEL_READING_VALUE;
        if ((rc = reading_amount(value, "value", &out->amount, err)))
            return rc;
        if (t->kind == MODEL_METER_COUNTER && out->amount < 0)
            return model_err_value(err, "", "value", "a counter total must be 0 or greater");
    } else if (inc) {
        out->mode = MODEL_READING_INCREMENT;
        if ((rc = reading_amount(inc, "increment", &out->amount, err)))
            return rc;
        if (t->kind == MODEL_METER_GAUGE)
            return model_err_value(err, "", "increment",
                                   "meter type '%s' is a gauge: send value instead", t->name);
        if (out->amount < 0)
            return model_err_value(err, "", "increment", "must be 0 or greater");
    } else {
        return model_err_value(err, "", "value", "is required (or send increment)");
    }

    out->read_at = now_ms;
    if ((v = model_json_get(in, "read_at"))) {
        if ((rc = model_json_time(v, "", "read_at", &out->read_at, err)))
            return rc;
        if (out->read_at > now_ms && out->read_at - now_ms > max_future_ms)
            return model_err_value(err, "", "read_at",
                                   "is more than %lld ms in the future (check the clock)",
                                   (long long)max_future_ms);
    }
    out->source = MODEL_SOURCE_MANUAL;
    if ((v = model_json_get(in, "source"))) {
        if (!json_is_string(v))
            return model_err_type(err, "", "source", "must be a string");
        enum model_reading_source src;
        if (!model_reading_source_parse(json_string_value(v), &src))
            return model_err_value(err, "", "source",
                                   "must be one of: tester, plc, manual, provider");
        out->source = (uint8_t)src;
    }
    if ((v = model_json_get(in, "idempotency_key"))) {
        if ((rc = model_json_string(a, v, "", "idempotency_key", MODEL_IDEMPOTENCY_KEY_MAX,
                                    &out->idempotency_key, err)))
            return rc;
        if (!printable_ascii(out->idempotency_key))
            return model_err_value(err, "", "idempotency_key",
                                   "must be printable ASCII characters");
    }
    return AB_OK;
}

enum ab_rc model_reading_from_json(struct arena *a, const json_t *in, struct model_reading *out,
                                   struct model_error *err)
{
    return model_reading_from_json_at(a, in, clock_now_ms(), MODEL_READING_MAX_FUTURE_MS, out, err);
}

json_t *model_reading_to_json(const struct model_reading *in)
{
    json_t *o = json_object();
    model_json_put_str(o, "asset_ref", in->asset_ref);
    model_json_put_str(o, "meter_type", in->meter_type);
    json_object_set_new(o, in->mode == MODEL_READING_INCREMENT ? "increment" : "value",
                        json_real(in->amount));
    model_json_put_time(o, "read_at", in->read_at);
    json_object_set_new(o, "source", json_string(model_reading_source_name(in->source)));
    model_json_put_str(o, "idempotency_key", in->idempotency_key);
    return o;
}
