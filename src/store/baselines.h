/* SPDX-License-Identifier: Apache-2.0
 *
 * baselines.h: usage baselines. A provider that counted usage before the
 * hub linked one of its assets (WATS's totalCount) must be sent its own
 * total plus the hub's usage since, not the hub's total. When a pulled asset
 * document declares the provider's counts for hub meters
 * (`provider_meters: {"HUB_METER": {"total": N}}`) and the asset is linked,
 * the store keeps, per (tenant, provider, native id, hub meter):
 *
 *   baseline = the provider's total then - the hub meter's value then
 *
 * and usage items for that key carry it as `provider_baseline` (usage.c), so
 * the connector sends baseline + value. A meter without a baseline gets no
 * `provider_baseline` (the connector then sends value as the total).
 * docs/internals/store.md ("Usage baselines") has the rules. Writer thread
 * only (functions take the running job's struct store_tx).
 */
#ifndef AB_STORE_BASELINES_H
#define AB_STORE_BASELINES_H

#include <jansson.h>
#include <stdbool.h>

#include "core/result.h"
#include "store/store.h"

struct store_tx;

/* Record the baselines of provider_meters (an object HUB_METER ->
 * {"total": number >= 0}; other shapes and entries are ignored) for the
 * asset asset_ref linked to (provider, native_id). relinked true (the job
 * created the link) replaces stored baselines; otherwise a meter that has a
 * baseline for the same asset keeps it (the first total seen after the link
 * counts), and a baseline captured for another asset (the native id was
 * linked elsewhere since) is replaced. The hub meter's value is the
 * group's current value (readings of this commit group included), 0 when
 * the asset has no such meter. Storage errors only. */
enum ab_rc store_usage_baselines_capture(struct store_tx *tx, const char *tenant,
                                         const char *provider, const char *native_id,
                                         const char *asset_ref, const json_t *provider_meters,
                                         bool relinked) AB_MUST_CHECK;

/* The baseline of (provider, native_id, hub meter). *found false (and
 * *baseline 0) when none was captured. */
enum ab_rc store_usage_baseline_get(struct store_tx *tx, const char *tenant, const char *provider,
                                    const char *native_id, const char *meter,
                                    double *baseline /* OUT */,
                                    bool *found /* OUT */) AB_MUST_CHECK;

/* The same in a read session (tests, diagnostics). */
enum ab_rc store_usage_baseline_get_read(struct store_read *r, const char *tenant,
                                         const char *provider, const char *native_id,
                                         const char *meter, double *baseline /* OUT */,
                                         bool *found /* OUT */) AB_MUST_CHECK;

#endif
