/* SPDX-License-Identifier: Apache-2.0
 *
 * sync_state.h: how far synchronisation with one provider has come for one
 * entity: the pull watermark, the last success and error, and counters.
 * Kept by the store, advanced by the sync engine, shown by the API.
 */
#ifndef AB_MODEL_SYNC_STATE_H
#define AB_MODEL_SYNC_STATE_H

#include <jansson.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

struct model_sync_status {
    enum model_provider provider; /* required */
    enum model_entity entity;     /* required */
    const char *watermark; /* opaque to the hub, up to 1024 bytes; NULL before the first pull */
    int64_t last_success_at;
    const char *last_error; /* up to 2048 bytes */
    int64_t pulled;         /* >= 0 */
    int64_t pushed;         /* >= 0 */
    int64_t failed;         /* >= 0 */
};

/* Parse and validate a sync status (strict). Errors as
 * model_asset_from_json. Thread-safe on distinct arenas. */
enum ab_rc model_sync_status_from_json(struct arena *a, const json_t *in,
                                       struct model_sync_status *out /* OUT */,
                                       struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it); counters are always written. */
json_t *model_sync_status_to_json(const struct model_sync_status *in);

#endif
