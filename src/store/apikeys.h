/* SPDX-License-Identifier: Apache-2.0
 *
 * apikeys.h: API keys and webhook subscriptions in the store.
 *
 * Only the SHA-256 of an API key is stored; the key itself is shown once, by
 * whoever created it. A key belongs to one tenant and carries its scopes.
 * Webhook subscriptions keep their signing secret (it must sign every
 * delivery), which is returned only when the subscription is created.
 */
#ifndef AB_STORE_APIKEYS_H
#define AB_STORE_APIKEYS_H

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

#endif
