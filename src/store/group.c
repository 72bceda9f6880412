/* SPDX-License-Identifier: Apache-2.0
 *
 * group.c: per-group state of the writer for readings. See readings_int.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "core/xmalloc.h"
#include "model/meter.h"
#include "store/events.h"
#include "store/readings_int.h"
#include "store/store_int.h"
#include "store/webhooks_int.h"

static const char SQL_READING_ID_GET[] = "SELECT value FROM counters WHERE name = 'reading_id'";
static const char SQL_READING_ID_SET[] = "UPDATE counters SET value = ? WHERE name = 'reading_id'";
static const char SQL_METER_SAVE[] =
    "UPDATE meters SET value = ?, last_read_at = ?, last_source = ?,"
    " reading_count = reading_count + ?, updated_at = ? WHERE id = ?";

void store_group_init(struct store_group *g)
{
    memset(g, 0, sizeof(*g));
}

void store_group_cleanup(struct store_group *g)
{
    /* the group committed or failed: either way a cache entry read while a
     * subscription change was uncommitted must not survive it */
    if (g->webhooks_changed || g->job_webhooks_changed)
        store_webhook_cache_drop();
    free(g->meters);
    free(g->job);
    free(g->refs);
    memset(g, 0, sizeof(*g));
}

void store_group_job_begin(struct store_group *g)
{
    g->job_n = 0;
    g->job_next_reading_id = 0;
    g->job_webhooks_changed = false;
}

void store_group_job_abort(struct store_group *g)
{
    g->job_n = 0;
    g->job_next_reading_id = 0;
    if (g->job_webhooks_changed)
        store_webhook_cache_drop(); /* the change is rolled back */
    g->job_webhooks_changed = false;
}

void store_group_webhooks_changed(struct store_group *g)
{
    g->job_webhooks_changed = true;
}

static struct store_group_meter *find(struct store_group_meter *v, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].meter_id == id)
            return &v[i];
    return NULL;
}

static struct store_group_meter *append(struct store_group_meter **v, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = xrealloc(*v, *cap * sizeof(**v));
    }
    return &(*v)[(*n)++];
}

void store_group_job_commit(struct store_group *g)
{
    for (size_t i = 0; i < g->job_n; i++) {
        const struct store_group_meter *t = &g->job[i];
        struct store_group_meter *m = find(g->meters, g->n, t->meter_id);
        if (m) {
            int64_t added = m->added + t->added;
            *m = *t;
            m->added = added;
        } else {
            *append(&g->meters, &g->n, &g->cap) = *t;
        }
    }
    if (g->job_next_reading_id)
        g->next_reading_id = g->job_next_reading_id;
    if (g->job_webhooks_changed)
        g->webhooks_changed = true;
    g->job_n = 0;
    g->job_next_reading_id = 0;
    g->job_webhooks_changed = false;
}

const struct store_group_meter *store_group_meter_find(const struct store_group *g,
                                                       const char *tenant, const char *asset_ref,
                                                       const char *meter_type)
{
    for (size_t i = 0; i < g->n; i++) {
        const struct store_group_meter *m = &g->meters[i];
        if (strcmp(m->asset_ref, asset_ref) == 0 && strcmp(m->meter_type, meter_type) == 0 &&
            strcmp(m->tenant, tenant) == 0)
            return m;
    }
    return NULL;
}

void store_group_meter_put(struct store_group *g, const struct store_group_meter *m)
{
    struct store_group_meter *t = find(g->job, g->job_n, m->meter_id);
    if (!t)
        t = append(&g->job, &g->job_n, &g->job_cap);
    *t = *m;
}

enum ab_rc store_group_reading_id(struct store_tx *tx, int64_t *next)
{
    struct store_group *g = tx->group;
    if (g->job_next_reading_id) {
        *next = g->job_next_reading_id;
        return AB_OK;
    }
    if (!g->next_reading_id) {
        struct store_stmt *st;
        bool row = false;
        enum ab_rc rc = store_db_stmt(tx->db, SQL_READING_ID_GET, &st);
        if (!rc)
            rc = store_step_row(tx->db, st, &row);
        if (!rc && !row)
            rc = AB_EINTERNAL;
        if (rc)
            return rc;
        g->next_reading_id = g->loaded_reading_id = store_col_int(tx->db, st, 0);
        rc = store_step_done(tx->db, st);
        if (rc)
            return rc;
    }
    *next = g->next_reading_id;
    return AB_OK;
}

void store_group_reading_id_set(struct store_group *g, int64_t next)
{
    g->job_next_reading_id = next;
}

bool store_group_ref_known(const struct store_group *g, const char *tenant, const char *ref)
{
    if (!g->refs)
        return false;
    size_t lt = strlen(tenant), lr = strlen(ref);
    for (const char *p = g->refs; p < g->refs + g->refs_len;) {
        const char *nl = memchr(p, '\n', (size_t)(g->refs + g->refs_len - p));
        if (!nl)
            break;
        size_t len = (size_t)(nl - p);
        if (len == lt + 1 + lr && memcmp(p, tenant, lt) == 0 && p[lt] == '\t' &&
            memcmp(p + lt + 1, ref, lr) == 0)
            return true;
        p = nl + 1;
    }
    return false;
}

void store_group_ref_add(struct store_group *g, const char *tenant, const char *ref)
{
    size_t need = strlen(tenant) + strlen(ref) + 3; /* tab, newline, terminator */
    if (g->refs_len + need > g->refs_cap) {
        g->refs_cap = (g->refs_len + need) * 2;
        g->refs = xrealloc(g->refs, g->refs_cap);
    }
    int n = snprintf(g->refs + g->refs_len, g->refs_cap - g->refs_len, "%s\t%s\n", tenant, ref);
    if (n > 0 && (size_t)n < g->refs_cap - g->refs_len)
        g->refs_len += (size_t)n;
}

enum ab_rc store_group_precommit(struct store_tx *tx)
{
    struct store_group *g = tx->group;
    struct store_db *db = tx->db;
    struct store_stmt *st;
    enum ab_rc rc = AB_OK;
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < g->n && !rc; i++) {
        const struct store_group_meter *m = &g->meters[i];
        rc = store_db_stmt(db, SQL_METER_SAVE, &st);
        if (!rc)
            rc = store_bind_all(db, st, "rTtiii", m->value, m->last_read_at,
                                m->last_source >= 0 ? model_reading_source_name(
                                                          (enum model_reading_source)m->last_source)
                                                    : NULL,
                                m->added, now, m->meter_id);
        if (!rc)
            rc = store_step_done(db, st);
        if (rc)
            break;
        json_t *payload =
            json_pack("{s:s, s:s, s:f, s:I}", "asset_ref", m->asset_ref, "meter", m->meter_type,
                      "value", m->value, "readings", (json_int_t)m->added);
        if (m->last_read_at != INT64_MIN) {
            char ts[TIME_RFC3339_MAX];
            time_format_rfc3339(m->last_read_at, ts);
            json_object_set_new(payload, "last_read_at", json_string(ts));
        }
        char subject[220];
        snprintf(subject, sizeof(subject), "asset/%s/meters/%s", m->asset_ref, m->meter_type);
        rc = store_event_append(tx, m->tenant, "meter.reading", subject, payload, NULL);
        json_decref(payload);
    }
    if (!rc && g->next_reading_id && g->next_reading_id != g->loaded_reading_id) {
        rc = store_db_stmt(db, SQL_READING_ID_SET, &st);
        if (!rc)
            rc = store_bind_all(db, st, "i", g->next_reading_id);
        if (!rc)
            rc = store_step_done(db, st);
    }
    return rc;
}
