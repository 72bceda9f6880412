/* SPDX-License-Identifier: Apache-2.0
 *
 * group.c: per-group accumulation of meter touches for the writer. See
 * readings_int.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/timefmt.h"
#include "core/xmalloc.h"
#include "store/events.h"
#include "store/readings_int.h"
#include "store/store_int.h"

void store_group_init(struct store_group *g)
{
    memset(g, 0, sizeof(*g));
}

void store_group_cleanup(struct store_group *g)
{
    free(g->touches);
    free(g->job);
    memset(g, 0, sizeof(*g));
}

void store_group_job_begin(struct store_group *g)
{
    g->job_n = 0;
}

void store_group_job_abort(struct store_group *g)
{
    g->job_n = 0;
}

static struct store_meter_touch *find(struct store_meter_touch *v, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].meter_id == id)
            return &v[i];
    return NULL;
}

void store_group_job_commit(struct store_group *g)
{
    for (size_t i = 0; i < g->job_n; i++) {
        struct store_meter_touch *t = &g->job[i];
        struct store_meter_touch *m = find(g->touches, g->n, t->meter_id);
        if (m) {
            m->value = t->value;
            if (t->last_read_at > m->last_read_at)
                m->last_read_at = t->last_read_at;
            m->readings += t->readings;
            continue;
        }
        if (g->n == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 16;
            g->touches = xrealloc(g->touches, g->cap * sizeof(*g->touches));
        }
        g->touches[g->n++] = *t;
    }
    g->job_n = 0;
}

void store_group_touch(struct store_group *g, int64_t meter_id, const char *tenant,
                       const char *asset_ref, const char *meter_type, double value,
                       int64_t last_read_at, int64_t readings)
{
    struct store_meter_touch *t = find(g->job, g->job_n, meter_id);
    if (!t) {
        if (g->job_n == g->job_cap) {
            g->job_cap = g->job_cap ? g->job_cap * 2 : 8;
            g->job = xrealloc(g->job, g->job_cap * sizeof(*g->job));
        }
        t = &g->job[g->job_n++];
        memset(t, 0, sizeof(*t));
        t->meter_id = meter_id;
        t->last_read_at = INT64_MIN;
        str_lcpy(t->tenant, tenant, sizeof(t->tenant));
        str_lcpy(t->asset_ref, asset_ref, sizeof(t->asset_ref));
        str_lcpy(t->meter_type, meter_type, sizeof(t->meter_type));
    }
    t->value = value;
    if (last_read_at > t->last_read_at)
        t->last_read_at = last_read_at;
    t->readings += readings;
}

enum ab_rc store_group_precommit(struct store_tx *tx)
{
    struct store_group *g = tx->group;
    enum ab_rc rc = AB_OK;
    for (size_t i = 0; i < g->n && !rc; i++) {
        struct store_meter_touch *t = &g->touches[i];
        json_t *payload =
            json_pack("{s:s, s:s, s:f, s:I}", "asset_ref", t->asset_ref, "meter", t->meter_type,
                      "value", t->value, "readings", (json_int_t)t->readings);
        if (t->last_read_at != INT64_MIN) {
            char ts[32];
            time_format_rfc3339(t->last_read_at, ts);
            json_object_set_new(payload, "last_read_at", json_string(ts));
        }
        char subject[160];
        snprintf(subject, sizeof(subject), "asset/%s/meters/%s", t->asset_ref, t->meter_type);
        rc = store_event_append(tx, t->tenant, "meter.reading", subject, payload, NULL);
        json_decref(payload);
    }
    return rc;
}
