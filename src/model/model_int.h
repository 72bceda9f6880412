/* SPDX-License-Identifier: Apache-2.0
 *
 * model_int.h: the table-driven JSON field reader and writer shared by the
 * files of src/model. Not for use outside src/model: other layers go through
 * the per-entity model_X_from_json / model_X_to_json functions.
 *
 * An entity describes its scalar fields in a static table of struct
 * model_field (name, kind, offset into the struct, flags, limits);
 * model_fields_parse() applies defaults, reads every key of the input object
 * (refusing unknown ones), validates and copies strings into the arena;
 * model_fields_emit() writes the set fields back. Nested values (attributes,
 * comments, lists) are handled by the entity itself and named in `extra`.
 */
#ifndef AB_MODEL_MODEL_INT_H
#define AB_MODEL_MODEL_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

#define MODEL_STR_DEFAULT_MAX 256 /* bytes, when a string field gives no max */

enum model_field_kind {
    MODEL_F_STR,    /* const char *, 1..max bytes, no NUL */
    MODEL_F_REF,    /* const char *, model_ref_valid() */
    MODEL_F_TIME,   /* int64_t ms, RFC 3339 string, MODEL_TIME_UNSET when absent */
    MODEL_F_ENUM,   /* an enum (int sized), name from names[0..n), def when absent */
    MODEL_F_BOOL,   /* bool, def when absent */
    MODEL_F_I64,    /* int64_t JSON integer in [lo, hi], 0 when absent */
    MODEL_F_DOUBLE, /* double, finite, NaN when absent; flags bound it */
};

#define MODEL_F_REQUIRED 0x1u  /* absent or null is an error */
#define MODEL_F_OMIT_ZERO 0x2u /* MODEL_F_I64: 0 means unset, omitted on output */
#define MODEL_F_NONNEG 0x4u    /* MODEL_F_DOUBLE: must be >= 0 */
#define MODEL_F_POSITIVE 0x8u  /* MODEL_F_DOUBLE: must be > 0 */

struct model_field {
    const char *name;
    const char *const *names; /* MODEL_F_ENUM: name table */
    size_t off;               /* offsetof() the field in its struct */
    size_t max;               /* MODEL_F_STR: longest accepted (bytes) */
    int64_t lo, hi;           /* MODEL_F_I64: inclusive range */
    enum model_field_kind kind;
    unsigned flags; /* MODEL_F_REQUIRED, ... */
    int n;          /* MODEL_F_ENUM: entries in names */
    int def;        /* MODEL_F_ENUM / MODEL_F_BOOL: default */
};

/* The provider name table (MODEL_PROVIDER_COUNT entries), for enum fields. */
extern const char *const model_provider_names[];

/* The entity name table (MODEL_ENTITY_COUNT entries). */
extern const char *const model_entity_names[];

/* Join prefix and key into a field path: "" + "a" = "a", "p" + "a" =
 * "p.a", "p" + "[2]" = "p[2]". Untrusted bytes become '?'. */
void model_path(char *out, size_t n, const char *prefix, const char *key);

/* Record an error at prefix/key and return its code (AB_EPARSE for a type
 * error, AB_EINVAL for a value error). */
enum ab_rc model_err_type(struct model_error *err, const char *prefix, const char *key,
                          const char *fmt, ...) AB_PRINTF(4, 5);
enum ab_rc model_err_value(struct model_error *err, const char *prefix, const char *key,
                           const char *fmt, ...) AB_PRINTF(4, 5);

/* Parse the object in into out following fields[0..nf). Keys listed in the
 * NULL-terminated extra (may be NULL) are skipped for the caller to read;
 * any other unknown key is a type error. Defaults are applied first. */
enum ab_rc model_fields_parse(struct arena *a, const json_t *in, const char *prefix,
                              const struct model_field *fields, size_t nf, const char *const *extra,
                              void *out, struct model_error *err) AB_MUST_CHECK;

/* Add the set fields of in to the object obj. */
void model_fields_emit(json_t *obj, const struct model_field *fields, size_t nf, const void *in);

/* The value of key in obj, or NULL when absent or JSON null. */
const json_t *model_json_get(const json_t *obj, const char *key);

/* Read one string (1..max bytes, no NUL) into the arena. */
enum ab_rc model_json_string(struct arena *a, const json_t *v, const char *prefix, const char *key,
                             size_t max, const char **out /* OUT */,
                             struct model_error *err) AB_MUST_CHECK;

/* Read one RFC 3339 time. */
enum ab_rc model_json_time(const json_t *v, const char *prefix, const char *key,
                           int64_t *out /* OUT */, struct model_error *err) AB_MUST_CHECK;

/* Add key: s (skipped when s is NULL) / key: time (skipped when unset). */
void model_json_put_str(json_t *obj, const char *key, const char *s);
void model_json_put_time(json_t *obj, const char *key, int64_t ms);

/* Make the arena hold one reference to v (dropped by arena_free); returns v. */
json_t *model_json_own(struct arena *a, json_t *v);

/* Name-table helpers behind the public model_X_name / model_X_parse. */
const char *model_enum_name(const char *const *names, int n, int v);
bool model_enum_parse(const char *const *names, int n, const char *s, int *out /* OUT */);

/* Define model_PREFIX_name() and model_PREFIX_parse() over a name table.
 * (type is a type name, so it cannot be parenthesised.) */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define MODEL_ENUM_FUNCS(prefix, type, table)                                                      \
    const char *prefix##_name(type v)                                                              \
    {                                                                                              \
        return model_enum_name(table, (int)(sizeof(table) / sizeof(table[0])), (int)v);            \
    }                                                                                              \
    bool prefix##_parse(const char *s, type *out)                                                  \
    {                                                                                              \
        int v;                                                                                     \
        if (!model_enum_parse(table, (int)(sizeof(table) / sizeof(table[0])), s, &v))              \
            return false;                                                                          \
        *out = (type)v;                                                                            \
        return true;                                                                               \
    }

/* NOLINTEND(bugprone-macro-parentheses) */

#define MODEL_NELEM(t) (sizeof(t) / sizeof((t)[0]))

#endif
