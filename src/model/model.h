/* SPDX-License-Identifier: Apache-2.0
 *
 * model.h: what every canonical entity shares: the unset-time sentinel, the
 * validation error (field path + reason + whether the JSON type or the value
 * was wrong), and the provider, entity and domain enums with their name
 * tables. Any layer above core may include it; the per-entity headers
 * (asset.h, meter.h, work_order.h, ...) include it. See docs/internals/model.md.
 *
 * Conventions shared by every model_X_from_json / model_X_to_json pair:
 * times are int64 milliseconds since the epoch (UTC), MODEL_TIME_UNSET when
 * absent; optional doubles are NaN when absent (model_value_is_set());
 * strings are `const char *` owned by the arena handed to from_json, NULL when
 * absent; to_json omits unset optional fields and writes times as RFC 3339
 * UTC. Parsing is strict: an unknown field is an error naming it.
 */
#ifndef AB_MODEL_MODEL_H
#define AB_MODEL_MODEL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define MODEL_TIME_UNSET INT64_MIN /* a time field that is not set */
#define MODEL_FIELD_MAX 128        /* bytes of struct model_error.field */
#define MODEL_MESSAGE_MAX 256      /* bytes of struct model_error.message */

/* True when an optional double field holds a value (unset is NaN). */
static inline bool model_value_is_set(double v)
{
    return !isnan(v);
}

/* What was wrong with the input. The API answers 400 for MODEL_ERR_TYPE
 * (wrong JSON type, unknown field, not an object) and 422 for
 * MODEL_ERR_VALUE (right type, unacceptable value: bad enum name, length,
 * format, range, a required field missing or null, a rule between fields). */
enum model_err_kind {
    MODEL_ERR_NONE = 0,
    MODEL_ERR_TYPE,
    MODEL_ERR_VALUE,
};

/* A validation error. field is the path of the offending field
 * ("comments[2].text", "attributes.voltage"; "" for the document itself);
 * message says why ("must be a string", "unknown field"). Both are always
 * terminated; bytes of untrusted keys outside printable ASCII are written
 * as '?', so both are safe to put into a JSON error body as they are. */
struct model_error {
    enum model_err_kind kind;
    char field[MODEL_FIELD_MAX];
    char message[MODEL_MESSAGE_MAX];
};

/* Reset err to "no error". */
void model_error_clear(struct model_error *err /* OUT */);

/* The result code that goes with err->kind: AB_EPARSE for MODEL_ERR_TYPE,
 * AB_EINVAL for MODEL_ERR_VALUE, AB_OK for MODEL_ERR_NONE. Every from_json
 * function returns exactly this code. */
enum ab_rc model_error_rc(const struct model_error *err);

/* Systems records come from. MODEL_PROVIDER_HUB marks records the hub
 * itself owns (system_of_record "hub"). Names are the enumerator names in
 * lower case ("wats", "sap_pm", "maintenance_connection", ...). */
enum model_provider {
    MODEL_PROVIDER_HUB = 0,
    MODEL_PROVIDER_WATS,
    MODEL_PROVIDER_SAP_PM,
    MODEL_PROVIDER_GENERIC,
    MODEL_PROVIDER_MAXIMO,
    MODEL_PROVIDER_HXGN_EAM,
    MODEL_PROVIDER_SERVICENOW,
    MODEL_PROVIDER_FIIX,
    MODEL_PROVIDER_LIMBLE,
    MODEL_PROVIDER_UPKEEP,
    MODEL_PROVIDER_ULTIMO,
    MODEL_PROVIDER_MAINTENANCE_CONNECTION,
    MODEL_PROVIDER_MET_TEAM,
    MODEL_PROVIDER_GAGETRAK,
    MODEL_PROVIDER_INDYSOFT,
    MODEL_PROVIDER_COUNT
};

/* Kinds of record synchronised between systems. */
enum model_entity {
    MODEL_ENTITY_ASSET = 0,
    MODEL_ENTITY_ASSET_TYPE,
    MODEL_ENTITY_METER,
    MODEL_ENTITY_READING,
    MODEL_ENTITY_CALIBRATION,
    MODEL_ENTITY_MAINTENANCE_PLAN,
    MODEL_ENTITY_WORK_ORDER,
    MODEL_ENTITY_NOTIFICATION,
    MODEL_ENTITY_REPORT,
    MODEL_ENTITY_COUNT
};

/* Areas of responsibility a provider can be the system of record for. */
enum model_domain {
    MODEL_DOMAIN_ASSET_MASTER = 0,
    MODEL_DOMAIN_CALIBRATION,
    MODEL_DOMAIN_MAINTENANCE,
    MODEL_DOMAIN_WORK_ORDERS,
    MODEL_DOMAIN_USAGE,
    MODEL_DOMAIN_COUNT
};

/* Name tables. Every model_X_name() returns a static lower-case name, or
 * "invalid" for a value outside the enum; every model_X_parse() sets *out and
 * returns true for an exact (case-sensitive) name, false otherwise (also for
 * NULL). All are thread-safe. */
const char *model_provider_name(enum model_provider v);
bool model_provider_parse(const char *s, enum model_provider *out /* OUT */);
const char *model_entity_name(enum model_entity v);
bool model_entity_parse(const char *s, enum model_entity *out /* OUT */);
const char *model_domain_name(enum model_domain v);
bool model_domain_parse(const char *s, enum model_domain *out /* OUT */);

/* True when s is 1..64 characters of [A-Za-z0-9._:-]: the syntax of
 * asset_ref, plan ids, tenant ids and other identifiers. NULL is false.
 * Thread-safe. */
bool model_ref_valid(const char *s);

#endif
