/* SPDX-License-Identifier: Apache-2.0
 *
 * status_map.h: per-provider mapping between a provider's own work-order
 * status / priority values and the common ones. An unmapped value is a
 * mapping exception (AB_ENOTFOUND), never a silent default. The store loads
 * the entries; connectors and the sync engine look values up.
 */
#ifndef AB_MODEL_STATUS_MAP_H
#define AB_MODEL_STATUS_MAP_H

#include <stddef.h>

#include "core/result.h"
#include "model/model.h"
#include "model/work_order.h"

#define MODEL_STATUS_MAP_MAX 4096     /* entries in one map */
#define MODEL_STATUS_MAP_VALUE_MAX 64 /* bytes of a source value */

enum model_map_kind { MODEL_MAP_STATUS = 0, MODEL_MAP_PRIORITY, MODEL_MAP_KIND_COUNT };

/* Names: "status", "priority". */
const char *model_map_kind_name(enum model_map_kind v);
bool model_map_kind_parse(const char *s, enum model_map_kind *out /* OUT */);

/* One mapping: provider's source_value <-> common_value, where common_value
 * is an enum model_wo_status (kind status) or enum model_priority (kind
 * priority). */
struct model_status_map_entry {
    enum model_provider provider;
    enum model_map_kind kind;
    const char *source_value; /* owned by the map */
    int common_value;
};

/* An in-memory map: build with model_status_map_add(), then look values up.
 * Lookups do not modify the map, so once built it may be shared by any
 * number of threads; building is not thread-safe. */
struct model_status_map;

/* A new empty map. Never NULL; free with model_status_map_free(). */
struct model_status_map *model_status_map_new(void);

/* Free the map and its strings. NULL is accepted. */
void model_status_map_free(struct model_status_map *m);

/* Add one entry (source_value is copied; exact, case-sensitive match).
 * Several source values may map to one common value: the first one added is
 * what model_status_map_to_source() answers. AB_EINVAL for an out-of-range
 * provider, kind or common value, or a source value that is empty or longer
 * than MODEL_STATUS_MAP_VALUE_MAX; AB_ECONFLICT when the source value is
 * already mapped to a different common value (the same mapping again is
 * AB_OK); AB_ETOOLARGE past MODEL_STATUS_MAP_MAX entries. */
enum ab_rc model_status_map_add(struct model_status_map *m, enum model_provider provider,
                                enum model_map_kind kind, const char *source_value,
                                int common_value) AB_MUST_CHECK;

/* Number of entries and the i-th (in order of addition; NULL past the end). */
size_t model_status_map_count(const struct model_status_map *m);
const struct model_status_map_entry *model_status_map_at(const struct model_status_map *m,
                                                         size_t i);

/* Source value -> common value (an enum model_wo_status or model_priority,
 * by kind). AB_ENOTFOUND when the provider has no mapping for the value (a
 * mapping exception): err (kind MODEL_ERR_VALUE, field "source_status" or
 * "source_priority") says which provider and value. */
enum ab_rc model_status_map_to_common(const struct model_status_map *m,
                                      enum model_provider provider, enum model_map_kind kind,
                                      const char *source_value, int *common /* OUT */,
                                      struct model_error *err /* OUT */) AB_MUST_CHECK;

/* Common value -> the provider's source value (first added). The string
 * belongs to the map. AB_ENOTFOUND as above (field "common_status" or
 * "priority"). */
enum ab_rc model_status_map_to_source(const struct model_status_map *m,
                                      enum model_provider provider, enum model_map_kind kind,
                                      int common_value, const char **source_value /* OUT */,
                                      struct model_error *err /* OUT */) AB_MUST_CHECK;

#endif
