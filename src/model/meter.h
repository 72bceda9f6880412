/* SPDX-License-Identifier: Apache-2.0
 *
 * meter.h: usage meters on assets (cycles, run hours, ...), the readings
 * that move them, and the registry of meter types. Readings arrive at up to
 * 300,000/s, so struct model_reading is compact: fixed fields and pointers.
 * Used by the API (readings), the store and the rules (usage thresholds).
 */
#ifndef AB_MODEL_METER_H
#define AB_MODEL_METER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

#define MODEL_METER_TYPES_MAX 64           /* registered meter types, built-ins included */
#define MODEL_METER_TYPE_NAME_MAX 32       /* bytes of a meter type name */
#define MODEL_METER_UNIT_MAX 32            /* bytes of a unit */
#define MODEL_READING_MAX_FUTURE_MS 300000 /* default: 5 minutes */
#define MODEL_IDEMPOTENCY_KEY_MAX 128

/* counter: a cumulative total that readings set (value) or advance
 * (increment); gauge: a level that only `value` readings set. */
enum model_meter_kind { MODEL_METER_COUNTER = 0, MODEL_METER_GAUGE, MODEL_METER_KIND_COUNT };

/* Where a reading came from. The default when a reading names none is
 * manual (see docs/internals/model.md). */
enum model_reading_source {
    MODEL_SOURCE_TESTER = 0,
    MODEL_SOURCE_PLC,
    MODEL_SOURCE_MANUAL,
    MODEL_SOURCE_PROVIDER,
    MODEL_SOURCE_COUNT
};

/* Whether a reading's amount sets the meter or adds to it. */
enum model_reading_mode {
    MODEL_READING_VALUE = 0,
    MODEL_READING_INCREMENT,
    MODEL_READING_MODE_COUNT
};

const char *model_meter_kind_name(enum model_meter_kind v);
bool model_meter_kind_parse(const char *s, enum model_meter_kind *out /* OUT */);
const char *model_reading_source_name(enum model_reading_source v);
bool model_reading_source_parse(const char *s, enum model_reading_source *out /* OUT */);

/* A registered meter type: its name, kind and default unit. */
struct model_meter_type {
    enum model_meter_kind kind;
    char name[MODEL_METER_TYPE_NAME_MAX + 1];
    char unit[MODEL_METER_UNIT_MAX + 1];
};

/* Add a meter type to the registry, which starts with the built-ins
 * cycles, run_hours (unit h), shots and units_tested, all counters. name is
 * 1..32 characters of [a-z0-9_] starting with a letter; unit 1..32 printable
 * ASCII characters. Registering a type again with the same kind and unit is
 * AB_OK; with another kind or unit AB_ECONFLICT; a bad name or unit
 * AB_EINVAL; a full registry AB_ETOOLARGE. The strings are copied.
 * Not thread-safe: call at start-up (configuration load) before any thread
 * looks types up; lookups are then safe from any thread. */
enum ab_rc model_meter_type_register(const char *name, enum model_meter_kind kind,
                                     const char *unit) AB_MUST_CHECK;

/* The registered type called name, or NULL. The pointer stays valid until
 * model_meter_type_reset(). */
const struct model_meter_type *model_meter_type_find(const char *name);

/* Number of registered types, and the i-th (registration order; NULL past
 * the end), for listings and error messages. */
size_t model_meter_type_count(void);
const struct model_meter_type *model_meter_type_at(size_t i);

/* Forget added types, keeping the built-ins (tests, configuration reload
 * before serving). Not thread-safe. */
void model_meter_type_reset(void);

/* A meter on an asset. */
struct model_meter {
    const char *asset_ref;                 /* required */
    const char *meter_type;                /* required, a registered type */
    const char *unit;                      /* default: the type's unit */
    enum model_meter_kind kind;            /* the type's kind; JSON may repeat it, not change it */
    double value;                          /* current value, default 0 */
    int64_t last_read_at;                  /* MODEL_TIME_UNSET before the first reading */
    enum model_reading_source last_source; /* meaningful when last_read_at is set */
    int64_t reading_count;                 /* >= 0 */
};

/* Parse and validate a meter (strict). Strings are copied into a. Errors as
 * model_asset_from_json (AB_EPARSE type / AB_EINVAL value, err names the
 * field). Thread-safe once the registry is set up. */
enum ab_rc model_meter_from_json(struct arena *a, const json_t *in,
                                 struct model_meter *out /* OUT */,
                                 struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it); last_source and last_read_at are
 * omitted before the first reading. Never NULL. */
json_t *model_meter_to_json(const struct model_meter *in);

/* One reading. 48 bytes on LP64; strings are owned by the parsing arena. */
struct model_reading {
    const char *asset_ref;
    const char *meter_type;
    const char *idempotency_key; /* NULL when the client sent none */
    double amount;               /* the value, or the increment (>= 0) */
    int64_t read_at;             /* default: now */
    uint8_t mode;                /* enum model_reading_mode */
    uint8_t source;              /* enum model_reading_source, default manual */
};

/* Parse and validate a reading: {"asset_ref", "meter_type", exactly one of
 * "value" / "increment", "read_at"?, "source"?, "idempotency_key"?}. An
 * increment must be >= 0 and is refused for gauge types; a counter value
 * must be >= 0; read_at defaults to now_ms and may lie at most max_future_ms
 * after it (clock skew allowance). Errors as model_asset_from_json.
 * Thread-safe once the registry is set up. */
enum ab_rc model_reading_from_json_at(struct arena *a, const json_t *in, int64_t now_ms,
                                      int64_t max_future_ms, struct model_reading *out /* OUT */,
                                      struct model_error *err /* OUT */) AB_MUST_CHECK;

/* model_reading_from_json_at() with now = clock_now_ms() and the default
 * allowance MODEL_READING_MAX_FUTURE_MS. */
enum ab_rc model_reading_from_json(struct arena *a, const json_t *in,
                                   struct model_reading *out /* OUT */,
                                   struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it). Never NULL. */
json_t *model_reading_to_json(const struct model_reading *in);

#endif
