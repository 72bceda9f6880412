/* SPDX-License-Identifier: Apache-2.0
 *
 * baselines.c: usage baselines (the usage_baselines table, migration 6),
 * captured by records.c when a pulled asset document that declares the
 * provider's counts is linked, and read by usage.c for the payload of usage
 * items. See baselines.h.
 */
#include "store/baselines.h"

#include <math.h>
#include <string.h>

#include "core/clock.h"
#include "store/readings_int.h"
#include "store/store_int.h"

#define BASELINE_METER_MAX 64 /* hub meter type names are at most this long */

/* Keeps a stored row for the same asset unless ?10 (replace) is set. */
static const char SQL_BASELINE_PUT[] =
    "INSERT INTO usage_baselines(tenant, provider, native_id, meter, asset_ref, provider_total,"
    " hub_value, baseline, captured_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT (tenant, provider, native_id, meter) DO UPDATE SET"
    " asset_ref = excluded.asset_ref, provider_total = excluded.provider_total,"
    " hub_value = excluded.hub_value, baseline = excluded.baseline,"
    " captured_at = excluded.captured_at"
    " WHERE ?10 <> 0 OR usage_baselines.asset_ref <> excluded.asset_ref";

static const char SQL_METER_VALUE[] =
    "SELECT value FROM meters WHERE tenant = ? AND asset_ref = ? AND type = ?";

static const char SQL_BASELINE_GET[] =
    "SELECT baseline FROM usage_baselines WHERE tenant = ? AND provider = ? AND native_id = ?"
    " AND meter = ?";

/* The hub meter's value now: the commit group's, else the stored one, else 0. */
static enum ab_rc hub_value(struct store_tx *tx, const char *tenant, const char *asset_ref,
                            const char *meter, double *out)
{
    *out = 0;
    const struct store_group_meter *gm =
        tx->group ? store_group_meter_find(tx->group, tenant, asset_ref, meter) : NULL;
    if (gm) {
        *out = gm->value;
        return AB_OK;
    }
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_METER_VALUE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttt", tenant, asset_ref, meter);
    if (!rc)
        rc = store_step_row(tx->db, st, &row);
    if (!rc && row)
        *out = store_col_real(tx->db, st, 0);
    if (!rc && row)
        rc = store_step_done(tx->db, st);
    return rc;
}

enum ab_rc store_usage_baselines_capture(struct store_tx *tx, const char *tenant,
                                         const char *provider, const char *native_id,
                                         const char *asset_ref, const json_t *provider_meters,
                                         bool relinked)
{
    if (!json_is_object(provider_meters))
        return AB_OK;
    const char *meter;
    const json_t *v;
    int64_t now = clock_now_ms();
    json_object_foreach ((json_t *)provider_meters, meter, v) {
        const json_t *t = json_object_get(v, "total");
        size_t mlen = strlen(meter);
        if (!json_is_number(t) || mlen == 0 || mlen > BASELINE_METER_MAX)
            continue;
        double total = json_number_value(t);
        if (!isfinite(total) || total < 0)
            continue;
        double hub;
        enum ab_rc rc = hub_value(tx, tenant, asset_ref, meter, &hub);
        struct store_stmt *st;
        if (!rc)
            rc = store_db_stmt(tx->db, SQL_BASELINE_PUT, &st);
        if (!rc)
            rc = store_bind_all(tx->db, st, "tttttrrrii", tenant, provider, native_id, meter,
                                asset_ref, total, hub, total - hub, now, (int64_t)relinked);
        if (!rc)
            rc = store_step_done(tx->db, st);
        if (rc)
            return rc;
    }
    return AB_OK;
}

static enum ab_rc baseline_get(struct store_db *db, const char *tenant, const char *provider,
                               const char *native_id, const char *meter, double *baseline,
                               bool *found)
{
    struct store_stmt *st;
    *baseline = 0;
    *found = false;
    enum ab_rc rc = store_db_stmt(db, SQL_BASELINE_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttt", tenant, provider, native_id, meter);
    if (!rc)
        rc = store_step_row(db, st, found);
    if (!rc && *found) {
        *baseline = store_col_real(db, st, 0);
        rc = store_step_done(db, st);
    }
    return rc;
}

enum ab_rc store_usage_baseline_get(struct store_tx *tx, const char *tenant, const char *provider,
                                    const char *native_id, const char *meter, double *baseline,
                                    bool *found)
{
    return baseline_get(tx->db, tenant, provider, native_id, meter, baseline, found);
}

enum ab_rc store_usage_baseline_get_read(struct store_read *r, const char *tenant,
                                         const char *provider, const char *native_id,
                                         const char *meter, double *baseline, bool *found)
{
    return baseline_get(store_read_db(r), tenant, provider, native_id, meter, baseline, found);
}
