/* SPDX-License-Identifier: Apache-2.0
 *
 * model.c: the shared parts of the canonical model: errors, provider /
 * entity / domain names, identifier syntax, and the table-driven JSON field
 * reader and writer of model_int.h. See model.h and docs/internals/model.md.
 */
#include "model/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "core/timefmt.h"
#include "model/model_int.h"

_Static_assert(sizeof(enum model_provider) == sizeof(int), "enum fields are written as int");

const char *const model_provider_names[] = {
    "hub",        "wats",     "sap_pm",   "generic", "maximo", "hxgn_eam",
    "servicenow", "fiix",     "limble",   "upkeep",  "ultimo", "maintenance_connection",
    "met_team",   "gagetrak", "indysoft",
};
_Static_assert(MODEL_NELEM(model_provider_names) == MODEL_PROVIDER_COUNT, "provider names");

const char *const model_entity_names[] = {
    "asset",      "asset_type",   "meter",  "reading", "calibration", "maintenance_plan",
    "work_order", "notification", "report",
};
_Static_assert(MODEL_NELEM(model_entity_names) == MODEL_ENTITY_COUNT, "entity names");

static const char *const domain_names[] = {
    "asset_master", "calibration", "maintenance", "work_orders", "usage",
};
_Static_assert(MODEL_NELEM(domain_names) == MODEL_DOMAIN_COUNT, "domain names");

const char *model_enum_name(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "invalid";
}

bool model_enum_parse(const char *const *names, int n, const char *s, int *out)
{
    if (!s)
        return false;
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

MODEL_ENUM_FUNCS(model_provider, enum model_provider, model_provider_names)
MODEL_ENUM_FUNCS(model_entity, enum model_entity, model_entity_names)
MODEL_ENUM_FUNCS(model_domain, enum model_domain, domain_names)

bool model_ref_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

void model_error_clear(struct model_error *err)
{
    err->kind = MODEL_ERR_NONE;
    err->field[0] = '\0';
    err->message[0] = '\0';
}

enum ab_rc model_error_rc(const struct model_error *err)
{
    switch (err->kind) {
    case MODEL_ERR_NONE: return AB_OK;
    case MODEL_ERR_TYPE: return AB_EPARSE;
    case MODEL_ERR_VALUE: return AB_EINVAL;
    }
    return AB_EINVAL;
}

/* Append s to out[*len..n), replacing bytes outside printable ASCII. */
static void path_append(char *out, size_t n, size_t *len, const char *s)
{
    for (; *s && *len + 1 < n; s++) {
        unsigned char c = (unsigned char)*s;
        out[(*len)++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[*len] = '\0';
}

void model_path(char *out, size_t n, const char *prefix, const char *key)
{
    size_t len = 0;
    out[0] = '\0';
    if (prefix && *prefix)
        path_append(out, n, &len, prefix);
    if (key && *key) {
        if (len && key[0] != '[')
            path_append(out, n, &len, ".");
        path_append(out, n, &len, key);
    }
}

static enum ab_rc verr(struct model_error *err, enum model_err_kind kind, const char *prefix,
                       const char *key, const char *fmt, va_list ap) AB_PRINTF(5, 0);

static enum ab_rc verr(struct model_error *err, enum model_err_kind kind, const char *prefix,
                       const char *key, const char *fmt, va_list ap)
{
    err->kind = kind;
    model_path(err->field, sizeof(err->field), prefix, key);
    char msg[MODEL_MESSAGE_MAX];
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = 0;
    path_append(err->message, sizeof(err->message), &len, msg);
    return model_error_rc(err);
}

enum ab_rc model_err_type(struct model_error *err, const char *prefix, const char *key,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum ab_rc rc = verr(err, MODEL_ERR_TYPE, prefix, key, fmt, ap);
    va_end(ap);
    return rc;
}

enum ab_rc model_err_value(struct model_error *err, const char *prefix, const char *key,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum ab_rc rc = verr(err, MODEL_ERR_VALUE, prefix, key, fmt, ap);
    va_end(ap);
    return rc;
}

static void decref_cb(void *v)
{
    json_decref(v);
}

json_t *model_json_own(struct arena *a, json_t *v)
{
    if (v)
        arena_on_cleanup(a, decref_cb, v);
    return v;
}

const json_t *model_json_get(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

enum ab_rc model_json_string(struct arena *a, const json_t *v, const char *prefix, const char *key,
                             size_t max, const char **out, struct model_error *err)
{
    if (!json_is_string(v))
        return model_err_type(err, prefix, key, "must be a string");
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0)
        return model_err_value(err, prefix, key, "must not be empty (omit the field instead)");
    if (memchr(s, '\0', n))
        return model_err_value(err, prefix, key, "must not contain NUL characters");
    if (n > max)
        return model_err_value(err, prefix, key, "must be at most %zu bytes long", max);
    *out = arena_strndup(a, s, n);
    return AB_OK;
}

enum ab_rc model_json_time(const json_t *v, const char *prefix, const char *key, int64_t *out,
                           struct model_error *err)
{
    if (!json_is_string(v))
        return model_err_type(err, prefix, key, "must be an RFC 3339 timestamp string");
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || time_parse_rfc3339(s, out) != AB_OK)
        return model_err_value(err, prefix, key,
                               "must be an RFC 3339 timestamp with an offset, "
                               "like 2026-01-31T08:00:00Z");
    return AB_OK;
}

void model_json_put_str(json_t *obj, const char *key, const char *s)
{
    if (s)
        json_object_set_new(obj, key, json_string(s));
}

void model_json_put_time(json_t *obj, const char *key, int64_t ms)
{
    if (ms == MODEL_TIME_UNSET)
        return;
    char t[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, t);
    json_object_set_new(obj, key, json_string(t));
}

static void field_default(const struct model_field *f, char *base)
{
    void *p = base + f->off;
    switch (f->kind) {
    case MODEL_F_STR:
    case MODEL_F_REF: *(const char **)p = NULL; break;
    case MODEL_F_TIME: *(int64_t *)p = MODEL_TIME_UNSET; break;
    case MODEL_F_ENUM: *(int *)p = f->def; break;
    case MODEL_F_BOOL: *(bool *)p = f->def != 0; break;
    case MODEL_F_I64: *(int64_t *)p = 0; break;
    case MODEL_F_DOUBLE: *(double *)p = NAN; break;
    }
}

/* Write the accepted names of an enum field into msg. */
static void enum_choices(const struct model_field *f, char *msg, size_t n)
{
    size_t len = 0;
    msg[0] = '\0';
    for (int i = 0; i < f->n && len + 1 < n; i++) {
        int w = snprintf(msg + len, n - len, "%s%s", i ? ", " : "", f->names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static enum ab_rc field_parse(struct arena *a, const struct model_field *f, const json_t *v,
                              const char *prefix, char *base, struct model_error *err)
{
    void *p = base + f->off;
    enum ab_rc rc;
    switch (f->kind) {
    case MODEL_F_STR:
        return model_json_string(a, v, prefix, f->name, f->max ? f->max : MODEL_STR_DEFAULT_MAX,
                                 (const char **)p, err);
    case MODEL_F_REF: {
        const char *s = NULL;
        rc = model_json_string(a, v, prefix, f->name, 64, &s, err);
        if (rc)
            return rc;
        if (!model_ref_valid(s))
            return model_err_value(err, prefix, f->name,
                                   "must be 1-64 characters of A-Z a-z 0-9 . _ : -");
        *(const char **)p = s;
        return AB_OK;
    }
    case MODEL_F_TIME: return model_json_time(v, prefix, f->name, (int64_t *)p, err);
    case MODEL_F_ENUM: {
        if (!json_is_string(v))
            return model_err_type(err, prefix, f->name, "must be a string");
        int e;
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v) || !model_enum_parse(f->names, f->n, s, &e)) {
            char choices[200];
            enum_choices(f, choices, sizeof(choices));
            return model_err_value(err, prefix, f->name, "must be one of: %s", choices);
        }
        *(int *)p = e;
        return AB_OK;
    }
    case MODEL_F_BOOL:
        if (!json_is_boolean(v))
            return model_err_type(err, prefix, f->name, "must be true or false");
        *(bool *)p = json_is_true(v);
        return AB_OK;
    case MODEL_F_I64: {
        if (!json_is_integer(v))
            return model_err_type(err, prefix, f->name, "must be an integer");
        int64_t i = (int64_t)json_integer_value(v);
        if (i < f->lo || i > f->hi)
            return model_err_value(err, prefix, f->name, "must be between %lld and %lld",
                                   (long long)f->lo, (long long)f->hi);
        *(int64_t *)p = i;
        return AB_OK;
    }
    case MODEL_F_DOUBLE: {
        if (!json_is_number(v))
            return model_err_type(err, prefix, f->name, "must be a number");
        double d = json_number_value(v);
        if (!isfinite(d))
            return model_err_value(err, prefix, f->name, "must be a finite number");
        if ((f->flags & MODEL_F_POSITIVE) && !(d > 0))
            return model_err_value(err, prefix, f->name, "must be greater than 0");
        if ((f->flags & MODEL_F_NONNEG) && d < 0)
            return model_err_value(err, prefix, f->name, "must be 0 or greater");
        *(double *)p = d;
        return AB_OK;
    }
    }
    return model_err_value(err, prefix, f->name, "unsupported field kind");
}

/* The closest known name to key, for a "did you mean" hint; NULL if none. */
static const char *closest(const char *key, const struct model_field *fields, size_t nf,
                           const char *const *extra)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < nf; i++) {
        size_t d = str_edit_distance(key, fields[i].name, 2);
        if (d < best_d) {
            best_d = d;
            best = fields[i].name;
        }
    }
    for (size_t i = 0; extra && extra[i]; i++) {
        size_t d = str_edit_distance(key, extra[i], 2);
        if (d < best_d) {
            best_d = d;
            best = extra[i];
        }
    }
    return best;
}

enum ab_rc model_fields_parse(struct arena *a, const json_t *in, const char *prefix,
                              const struct model_field *fields, size_t nf, const char *const *extra,
                              void *out, struct model_error *err)
{
    char *base = out;
    if (!json_is_object(in))
        return model_err_type(err, prefix, NULL, "must be a JSON object");
    for (size_t i = 0; i < nf; i++)
        field_default(&fields[i], base);
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)in, key, v) {
        const struct model_field *f = NULL;
        for (size_t i = 0; i < nf && !f; i++)
            if (strcmp(fields[i].name, key) == 0)
                f = &fields[i];
        if (!f) {
            bool known = false;
            for (size_t i = 0; extra && extra[i] && !known; i++)
                known = strcmp(extra[i], key) == 0;
            if (known)
                continue;
            const char *hint = closest(key, fields, nf, extra);
            if (hint)
                return model_err_type(err, prefix, key, "unknown field (did you mean '%s'?)", hint);
            return model_err_type(err, prefix, key, "unknown field");
        }
        if (json_is_null(v))
            continue; /* null is absent; required fields are checked below */
        enum ab_rc rc = field_parse(a, f, v, prefix, base, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < nf; i++) {
        if ((fields[i].flags & MODEL_F_REQUIRED) && !model_json_get(in, fields[i].name))
            return model_err_value(err, prefix, fields[i].name, "is required");
    }
    return AB_OK;
}

void model_fields_emit(json_t *obj, const struct model_field *fields, size_t nf, const void *in)
{
    const char *base = in;
    for (size_t i = 0; i < nf; i++) {
        const struct model_field *f = &fields[i];
        const void *p = base + f->off;
        switch (f->kind) {
        case MODEL_F_STR:
        case MODEL_F_REF: model_json_put_str(obj, f->name, *(const char *const *)p); break;
        case MODEL_F_TIME: model_json_put_time(obj, f->name, *(const int64_t *)p); break;
        case MODEL_F_ENUM:
            json_object_set_new(obj, f->name,
                                json_string(model_enum_name(f->names, f->n, *(const int *)p)));
            break;
        case MODEL_F_BOOL: json_object_set_new(obj, f->name, json_boolean(*(const bool *)p)); break;
        case MODEL_F_I64: {
            int64_t i64 = *(const int64_t *)p;
            if (i64 != 0 || !(f->flags & MODEL_F_OMIT_ZERO))
                json_object_set_new(obj, f->name, json_integer((json_int_t)i64));
            break;
        }
        case MODEL_F_DOUBLE: {
            double d = *(const double *)p;
            if (model_value_is_set(d))
                json_object_set_new(obj, f->name, json_real(d));
            break;
        }
        }
    }
}
