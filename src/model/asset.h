/* SPDX-License-Identifier: Apache-2.0
 *
 * asset.h: the canonical asset (a test station, fixture, instrument or
 * tool), its JSON form, validation and the merge behind `PUT` ("creates or
 * merges"). Used by the API, the store and the connectors.
 */
#ifndef AB_MODEL_ASSET_H
#define AB_MODEL_ASSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

#define MODEL_ASSET_ATTRIBUTES_MAX 100     /* keys in attributes */
#define MODEL_ASSET_ATTRIBUTE_STR_MAX 1024 /* bytes of a string attribute value */

enum model_asset_type {
    MODEL_ASSET_STATION = 0,
    MODEL_ASSET_FIXTURE,
    MODEL_ASSET_INSTRUMENT,
    MODEL_ASSET_TOOL,
    MODEL_ASSET_OTHER,
    MODEL_ASSET_TYPE_COUNT
};

/* Lifecycle status of an asset. */
enum model_asset_status {
    MODEL_ASSET_ACTIVE = 0,
    MODEL_ASSET_IN_REPAIR,
    MODEL_ASSET_IN_CALIBRATION,
    MODEL_ASSET_IN_MAINTENANCE,
    MODEL_ASSET_IN_STORAGE,
    MODEL_ASSET_IN_TRANSIT,
    MODEL_ASSET_RETIRED,
    MODEL_ASSET_SCRAPPED,
    MODEL_ASSET_STATUS_COUNT
};

/* Where an asset is: JSON "location": {"site", "line", "cell"}. */
struct model_location {
    const char *site; /* when both set, equal to model_asset.site */
    const char *line;
    const char *cell;
};

/* An asset. Strings are owned by the arena given to from_json/merge (NULL
 * when unset); times are ms since the epoch or MODEL_TIME_UNSET. */
struct model_asset {
    const char *asset_ref; /* required; model_asset_ref_valid() */
    const char *tenant;    /* identifier syntax; usually set by the API */
    const char *site;
    const char *serial_number;
    const char *part_number;   /* the model / part number */
    const char *part_revision; /* JSON "part_revision": hardware revision (see model.md) */
    const char *name;
    enum model_asset_type type;     /* default other */
    const char *parent;             /* asset_ref of the parent, never itself */
    struct model_location location; /* JSON object; omitted when all unset */
    const char *owner_org;
    const char *criticality;        /* free text, 1..32 bytes ("A", "high") */
    enum model_asset_status status; /* default active */
    int64_t commissioned_at;
    json_t *attributes; /* object of key -> string/number/bool, or NULL;
                           one reference held by the arena */
    int64_t created_at; /* set by the store */
    int64_t updated_at; /* set by the store */
};

const char *model_asset_type_name(enum model_asset_type v);
bool model_asset_type_parse(const char *s, enum model_asset_type *out /* OUT */);
const char *model_asset_status_name(enum model_asset_status v);
bool model_asset_status_parse(const char *s, enum model_asset_status *out /* OUT */);

/* True when s is a valid asset_ref: 1..64 characters of [A-Za-z0-9._:-].
 * NULL is false. Thread-safe. */
bool model_asset_ref_valid(const char *s);

/* Parse and validate an asset from the JSON object in (strict: an unknown
 * field is an error). Strings and attributes are copied into a, so in may be
 * freed afterwards; out is valid as long as a. Returns AB_OK, or AB_EPARSE
 * (err->kind MODEL_ERR_TYPE) / AB_EINVAL (MODEL_ERR_VALUE) with err naming
 * the field. out is unspecified after a failure. Thread-safe on distinct
 * arenas. */
enum ab_rc model_asset_from_json(struct arena *a, const json_t *in,
                                 struct model_asset *out /* OUT */,
                                 struct model_error *err /* OUT */) AB_MUST_CHECK;

/* The JSON form of in: a new object (caller owns the reference) with unset
 * optional fields omitted and times in RFC 3339 UTC. Never NULL. */
json_t *model_asset_to_json(const struct model_asset *in);

/* Merge a PUT body into base: fields present in patch replace, absent fields
 * keep base, null clears an optional field (clearing a required one is a
 * value error), attributes merge key by key (a null value deletes the key;
 * "attributes": null clears them all), location is replaced as a whole.
 * base may be NULL (create: the patch alone must be a valid asset).
 * asset_ref may be repeated but not changed. The result is validated like
 * model_asset_from_json and owned by a. Errors as model_asset_from_json. */
enum ab_rc model_asset_merge(struct arena *a, const struct model_asset *base, const json_t *patch,
                             struct model_asset *out /* OUT */,
                             struct model_error *err /* OUT */) AB_MUST_CHECK;

#endif
