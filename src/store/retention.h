/* SPDX-License-Identifier: Apache-2.0
 *
 * retention.h: pruning old rows in small batches.
 *
 * Each batch (at most STORE_PRUNE_BATCH rows of one kind) is its own short
 * write job, so writers queued meanwhile get their group commits between
 * batches: pruning never holds the writer for long. Kinds and their clocks:
 * readings (read_at), events (occurred_at), done outbox rows (updated_at),
 * idempotency keys (created_at), sync log lines (at). Audit records and
 * dead letters are never pruned here.
 */
#ifndef AB_STORE_RETENTION_H
#define AB_STORE_RETENTION_H

#include <stdint.h>

#include "core/config.h"
#include "core/result.h"
#include "store/store.h"

#define STORE_PRUNE_BATCH 1000

struct store_prune_stats {
    int64_t readings, events, outbox_done, idempotency_keys, sync_log;
    int64_t batches;
};

/* Delete everything older than its retention at time now. Returns when
 * nothing is left to prune or on the first failure. */
enum ab_rc store_prune(struct store *s, const struct config_retention *r, int64_t now,
                       struct store_prune_stats *out /* OUT */) AB_MUST_CHECK;

/* Run store_prune() every interval_ms on a background thread until
 * store_retention_stop(). */
struct store_retention;
enum ab_rc store_retention_start(struct store *s, const struct config_retention *r,
                                 int64_t interval_ms,
                                 struct store_retention **out /* OUT */) AB_MUST_CHECK;
void store_retention_stop(struct store_retention *t);

#endif
