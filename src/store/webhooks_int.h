/* SPDX-License-Identifier: Apache-2.0
 *
 * webhooks_int.h: the fan-out of events to webhook subscriptions, shared by
 * events.c (store_event_append calls it) and apikeys.c (which owns the
 * subscriptions and the cache below). Not for use outside src/store/.
 *
 * Every appended event is offered to store_webhook_fanout(), which inserts,
 * in the same job, one outbox item (provider STORE_WEBHOOK_PROVIDER) per
 * subscription of the tenant whose event types match. So that a tenant
 * without subscriptions pays nothing on the ingest path, the writer thread
 * caches per tenant whether it has any subscription (a thread-local table:
 * every write runs on the store's one writer thread, and each store has its
 * own writer thread, so the table is per store). The cache is dropped
 * whenever a job adds or deletes a subscription, again when such a job rolls
 * back and when its group ends (committed or failed: store_group_cleanup),
 * so an entry read while a change was uncommitted never outlives it.
 * Entries also expire after STORE_WEBHOOK_CACHE_TTL_MS, which bounds how
 * long a change written by another process (another instance sharing the
 * database) goes unseen. Writer thread only.
 */
#ifndef AB_STORE_WEBHOOKS_INT_H
#define AB_STORE_WEBHOOKS_INT_H

#include <jansson.h>
#include <stdint.h>

#include "core/result.h"

struct store_tx;

#define STORE_WEBHOOK_CACHE_TTL_MS 5000

/* Forget every cached "has subscriptions" answer of this thread. */
void store_webhook_cache_drop(void);

/* Queue the deliveries of one event just appended (seq, type, subject,
 * payload as stored, occurred_at in ms) to the tenant's matching
 * subscriptions. Costs a cache lookup when the tenant has none. */
enum ab_rc store_webhook_fanout(struct store_tx *tx, const char *tenant, int64_t seq,
                                const char *type, const char *subject, const json_t *payload,
                                int64_t occurred_at) AB_MUST_CHECK;

#endif
