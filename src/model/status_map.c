/* SPDX-License-Identifier: Apache-2.0
 *
 * status_map.c: the in-memory status / priority map. See status_map.h.
 * Lookups scan linearly: maps hold tens of entries per provider.
 */
#include "model/status_map.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "model/model_int.h"

static const char *const kind_names[] = {"status", "priority"};
_Static_assert(MODEL_NELEM(kind_names) == MODEL_MAP_KIND_COUNT, "map kind names");

MODEL_ENUM_FUNCS(model_map_kind, enum model_map_kind, kind_names)

struct model_status_map {
    struct model_status_map_entry *entries;
    size_t n, cap;
};

struct model_status_map *model_status_map_new(void)
{
    return xcalloc(1, sizeof(struct model_status_map));
}

void model_status_map_free(struct model_status_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free((char *)m->entries[i].source_value);
    free(m->entries);
    free(m);
}

static int common_count(enum model_map_kind kind)
{
    return kind == MODEL_MAP_STATUS ? MODEL_WO_STATUS_COUNT : MODEL_PRIORITY_COUNT;
}

static const char *common_name(enum model_map_kind kind, int v)
{
    return kind == MODEL_MAP_STATUS ? model_wo_status_name((enum model_wo_status)v)
                                    : model_priority_name((enum model_priority)v);
}

enum ab_rc model_status_map_add(struct model_status_map *m, enum model_provider provider,
                                enum model_map_kind kind, const char *source_value,
                                int common_value)
{
    if ((unsigned)provider >= MODEL_PROVIDER_COUNT || (unsigned)kind >= MODEL_MAP_KIND_COUNT ||
        common_value < 0 || common_value >= common_count(kind) || !source_value || !*source_value ||
        strlen(source_value) > MODEL_STATUS_MAP_VALUE_MAX)
        return AB_EINVAL;
    for (size_t i = 0; i < m->n; i++) {
        const struct model_status_map_entry *e = &m->entries[i];
        if (e->provider == provider && e->kind == kind &&
            strcmp(e->source_value, source_value) == 0)
            return e->common_value == common_value ? AB_OK : AB_ECONFLICT;
    }
    if (m->n == MODEL_STATUS_MAP_MAX)
        return AB_ETOOLARGE;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->entries = xrealloc(m->entries, m->cap * sizeof(*m->entries));
    }
    m->entries[m->n++] =
        (struct model_status_map_entry){provider, kind, xstrdup(source_value), common_value};
    return AB_OK;
}

size_t model_status_map_count(const struct model_status_map *m)
{
    return m->n;
}

const struct model_status_map_entry *model_status_map_at(const struct model_status_map *m, size_t i)
{
    return i < m->n ? &m->entries[i] : NULL;
}

enum ab_rc model_status_map_to_common(const struct model_status_map *m,
                                      enum model_provider provider, enum model_map_kind kind,
                                      const char *source_value, int *common,
                                      struct model_error *err)
{
    model_error_clear(err);
    for (size_t i = 0; source_value && i < m->n; i++) {
        const struct model_status_map_entry *e = &m->entries[i];
        if (e->provider == provider && e->kind == kind &&
            strcmp(e->source_value, source_value) == 0) {
            *common = e->common_value;
            return AB_OK;
        }
    }
    model_err_value(err, "", kind == MODEL_MAP_STATUS ? "source_status" : "source_priority",
                    "mapping exception: no %s mapping for %s value '%s'", model_map_kind_name(kind),
                    model_provider_name(provider), source_value ? source_value : "(none)");
    return AB_ENOTFOUND;
}

enum ab_rc model_status_map_to_source(const struct model_status_map *m,
                                      enum model_provider provider, enum model_map_kind kind,
                                      int common_value, const char **source_value,
                                      struct model_error *err)
{
    model_error_clear(err);
    for (size_t i = 0; i < m->n; i++) {
        const struct model_status_map_entry *e = &m->entries[i];
        if (e->provider == provider && e->kind == kind && e->common_value == common_value) {
            *source_value = e->source_value;
            return AB_OK;
        }
    }
    model_err_value(err, "", kind == MODEL_MAP_STATUS ? "common_status" : "priority",
                    "mapping exception: no %s %s value for common %s '%s'",
                    model_provider_name(provider), model_map_kind_name(kind),
                    model_map_kind_name(kind), common_name(kind, common_value));
    return AB_ENOTFOUND;
}
