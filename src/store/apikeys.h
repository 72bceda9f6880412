/* SPDX-License-Identifier: Apache-2.0
 *
 * apikeys.h: API keys and webhook subscriptions in the store.
 *
 * Only the SHA-256 of an API key is stored; the key itself is shown once, by
 * whoever created it. A key belongs to one tenant and carries its scopes.
 * Webhook subscriptions keep their signing secret (it must sign every
 * delivery), which the API returns only when the subscription is created;
 * the deliverer reads it with store_webhook_get_secret().
 *
 * Every event appended (store_event_append) is fanned out, in the same job,
 * to the tenant's subscriptions whose event types match: one outbox item per
 * (subscription, event) with provider STORE_WEBHOOK_PROVIDER, entity
 * "webhook", action "deliver_webhook", subject "webhook/<subscription id>",
 * idempotency key "webhook:<subscription id>:<event seq>", the event's
 * correlation id, and payload {"subscription": ID, "event": EVENT} where
 * EVENT is the event as GET /v1/events shows it (seq, type, subject,
 * payload, correlation_id, occurred_at). src/sync/webhooks.c delivers them.
 */
#ifndef AB_STORE_APIKEYS_H
#define AB_STORE_APIKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "store/store.h"

struct store_apikey {
    const char *id; /* ULID: the actor in audit records */
    const char *tenant;
    const char *name;   /* may be NULL */
    const char *scopes; /* "read,ingest,write,admin" subset */
    int64_t created_at;
    int64_t revoked_at; /* INT64_MIN while valid */
};

/* Store a key by the hex SHA-256 of its secret (creating the tenant when
 * new). Audited by actor. */
enum ab_rc store_apikey_add(struct store_tx *tx, const struct store_apikey *k, const char *hash_hex,
                            const char *actor) AB_MUST_CHECK;

/* The key with this hash; AB_ENOTFOUND when unknown. Revoked keys are found
 * (revoked_at set) so the caller can say so. */
enum ab_rc store_apikey_by_hash(struct store_read *r, const char *hash_hex, struct arena *a,
                                struct store_apikey *out /* OUT */) AB_MUST_CHECK;

/* Keys of a tenant (NULL: all tenants), oldest first. */
enum ab_rc store_apikeys_list(struct store_read *r, const char *tenant, struct arena *a,
                              struct store_apikey **out /* OUT */,
                              size_t *n /* OUT */) AB_MUST_CHECK;

/* Revoke by id; AB_ENOTFOUND when unknown, AB_ECONFLICT when revoked already.
 * Audited by actor. */
enum ab_rc store_apikey_revoke(struct store_tx *tx, const char *id,
                               const char *actor) AB_MUST_CHECK;

/* The outbox provider name of webhook deliveries. Provider names in the
 * configuration are letters, digits, '_', '-' and '.', so no configured
 * provider can take it. */
#define STORE_WEBHOOK_PROVIDER "@webhook"

struct store_webhook {
    const char *id;
    const char *tenant;
    const char *url;
    const char *event_types; /* JSON array text */
    const char *secret;      /* only filled by store_webhook_get_secret */
    int64_t created_at;
};

/* Add a subscription (w->created_at is used when set, else now); audited by
 * actor. */
enum ab_rc store_webhook_add(struct store_tx *tx, const struct store_webhook *w,
                             const char *actor) AB_MUST_CHECK;
enum ab_rc store_webhooks_list(struct store_read *r, const char *tenant, struct arena *a,
                               struct store_webhook **out /* OUT */,
                               size_t *n /* OUT */) AB_MUST_CHECK;
/* Delete a subscription, audited by actor. AB_ENOTFOUND when the tenant has
 * no such subscription. */
enum ab_rc store_webhook_delete(struct store_tx *tx, const char *tenant, const char *id,
                                const char *actor) AB_MUST_CHECK;

/* One subscription of tenant with its secret (for signing a delivery; never
 * log it). AB_ENOTFOUND when the tenant has no such subscription (deleted). */
enum ab_rc store_webhook_get_secret(struct store_read *r, const char *tenant, const char *id,
                                    struct arena *a,
                                    struct store_webhook *out /* OUT */) AB_MUST_CHECK;

/* The tenants with webhook deliveries waiting or in flight (the deliverer
 * claims for each), at most max, names in a. */
enum ab_rc store_webhook_tenants(struct store_read *r, size_t max, struct arena *a,
                                 const char ***out /* OUT */, size_t *n /* OUT */) AB_MUST_CHECK;

/* True when a subscription listing event_types (the stored JSON array text)
 * wants an event of type ("*" matches every type). */
bool store_webhook_wants(const char *event_types, const char *type);

#endif
