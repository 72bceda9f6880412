/* SPDX-License-Identifier: Apache-2.0
 *
 * conn.h: the connector interface. One `const struct conn_ops` per provider
 * (conn_wats.c, conn_sap_pm.c, conn_generic.c, ... in later issues), listed in
 * the static registry conn_registry[]. A connector knows its provider's wire
 * format and nothing else: it never includes the store, and the sync engine
 * (src/sync) never sees a wire format. The engine calls connectors only
 * through the inline wrappers below (conn_pull, conn_push, ...), which check
 * the ABI, the capability flag and the slot before calling.
 *
 * Every slot's contract is documented in struct conn_ops; docs/internals/conn.md
 * explains the design. Thread-safety: a connector context (the ctx init
 * returns) may be used by several engine threads at once; a connector that
 * cannot allow that must serialise internally. Slots may block (they do
 * network I/O) and are never called with a store lock or transaction held.
 */
#ifndef AB_CONN_CONN_H
#define AB_CONN_CONN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/result.h"

#define CONN_ABI_V1 1

struct client; /* src/client/client.h: the provider's HTTP client */

/* ---- capabilities ----------------------------------------------------------- */

#define CONN_CAP_PULL_ASSETS (1u << 0)         /* pull entity "asset" (and "asset_type") */
#define CONN_CAP_PULL_METERS (1u << 1)         /* pull entities "meter", "reading" */
#define CONN_CAP_PULL_PLANS (1u << 2)          /* pull entity "maintenance_plan" */
#define CONN_CAP_PULL_WORK_ORDERS (1u << 3)    /* pull entities "work_order", "notification" */
#define CONN_CAP_PULL_CALIBRATION (1u << 4)    /* pull entity "calibration" */
#define CONN_CAP_PUSH_READINGS (1u << 5)       /* push action "push_reading" */
#define CONN_CAP_OPEN_REQUEST (1u << 6)        /* push action "open_request" */
#define CONN_CAP_UPDATE_WORK_ORDER (1u << 7)   /* push action "update_work_order" */
#define CONN_CAP_RECORD_CALIBRATION (1u << 8)  /* push action "record_calibration" */
#define CONN_CAP_WEBHOOKS_IN (1u << 9)         /* the provider calls us (webhooks) */
#define CONN_CAP_ATTACHMENTS (1u << 10)        /* push action "attachment" */
#define CONN_CAP_PULL_REPORTS (1u << 11)       /* pull entity "report": test reports' asset uses */
#define CONN_CAP_WRITE_ASSETS (1u << 12)       /* push actions "upsert_asset", "set_state" */
#define CONN_CAP_ASSET_LOG (1u << 13)          /* push action "asset_message" */
#define CONN_CAP_RESET_COUNT (1u << 14)        /* push action "reset_running_count" */
#define CONN_CAP_RECORD_MAINTENANCE (1u << 15) /* push action "record_maintenance" */

/* The capability needed to pull entity (a config_entity_names value), or 0
 * when no capability covers it. */
static inline unsigned conn_entity_cap(const char *entity)
{
    static const struct {
        const char *name;
        unsigned cap;
    } map[] = {
        {"asset", CONN_CAP_PULL_ASSETS},
        {"asset_type", CONN_CAP_PULL_ASSETS},
        {"meter", CONN_CAP_PULL_METERS},
        {"reading", CONN_CAP_PULL_METERS},
        {"maintenance_plan", CONN_CAP_PULL_PLANS},
        {"work_order", CONN_CAP_PULL_WORK_ORDERS},
        {"notification", CONN_CAP_PULL_WORK_ORDERS},
        {"calibration", CONN_CAP_PULL_CALIBRATION},
        {"report", CONN_CAP_PULL_REPORTS},
    };
    for (size_t i = 0; entity && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, entity) == 0)
            return map[i].cap;
    return 0;
}

/* The capability needed to push an outbox item with this action, or 0. */
static inline unsigned conn_action_cap(const char *action)
{
    static const struct {
        const char *name;
        unsigned cap;
    } map[] = {
        {"push_reading", CONN_CAP_PUSH_READINGS},
        {"open_request", CONN_CAP_OPEN_REQUEST},
        {"update_work_order", CONN_CAP_UPDATE_WORK_ORDER},
        {"record_calibration", CONN_CAP_RECORD_CALIBRATION},
        {"attachment", CONN_CAP_ATTACHMENTS},
        {"upsert_asset", CONN_CAP_WRITE_ASSETS},
        {"set_state", CONN_CAP_WRITE_ASSETS},
        {"asset_message", CONN_CAP_ASSET_LOG},
        {"reset_running_count", CONN_CAP_RESET_COUNT},
        {"record_maintenance", CONN_CAP_RECORD_MAINTENANCE},
    };
    for (size_t i = 0; action && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, action) == 0)
            return map[i].cap;
    return 0;
}

/* ---- what flows through the slots ------------------------------------------ */

/* One step of a health check. */
enum conn_check { CONN_CHECK_SKIPPED, CONN_CHECK_OK, CONN_CHECK_FAILED };

struct conn_health {
    enum conn_check dns, tls, auth, version;
    const char *provider_version; /* what the provider reports, or NULL */
    const char *message;          /* first failure for a person, or NULL; secrets scrubbed */
};

/* One canonical record of a pull page. */
struct conn_record {
    const char *native_id; /* the provider's id; never NULL */
    int64_t revision;      /* the provider's revision, or -1 when it has none */
    int64_t modified_at;   /* last-modified (ms since epoch), or INT64_MIN */
    bool deleted;          /* the provider reports the record deleted */
    json_t *doc;           /* canonical JSON document; owned by the page's arena */
    /* NULL, or why doc could not be fully mapped to the canonical model (e.g.
     * "generic work_order status 'x' has no common status"): the engine must
     * record a mapping exception for the record instead of upserting doc (doc
     * then carries what could be mapped, the native value kept as source_*). */
    const char *mapping_exception;
};

/* One page of a pull. Everything lives in the arena passed to pull. */
struct conn_page {
    struct conn_record *records;
    size_t n_records;
    const char *next_page_token; /* NULL on the last page of the pass */
    const char *new_watermark;   /* commit with this page; NULL keeps the old one */
};

/* An outbox item as a connector sees it (no store types here). */
struct conn_item {
    int64_t id;
    const char *tenant;
    const char *entity;
    const char *action;          /* "push_reading", "open_request", ... */
    const char *subject;         /* e.g. "asset/FX-1001" */
    const json_t *payload;       /* canonical JSON */
    const char *idempotency_key; /* stable across attempts: send it to the provider */
    const char *correlation_id;  /* send as X-Correlation-Id (or the provider's field) */
    int attempts;                /* attempts so far, this one included */
};

enum conn_outcome {
    CONN_OK,        /* the provider accepted the effect */
    CONN_RETRYABLE, /* failed, the effect did not happen; try again later */
    CONN_PERMANENT, /* failed, the effect did not happen; retrying cannot help */
    CONN_UNKNOWN,   /* the effect may have happened (timeout or reset after sending) */
};

struct conn_result {
    enum conn_outcome outcome;
    int64_t retry_after_ms;  /* from Retry-After or the provider's hint; -1 when none */
    const char *error_class; /* stable class for dead letters and replay filters,
                                e.g. "validation", "auth", "throttled", "not_found" */
    const char *message;     /* for a person; secrets scrubbed */
    const char *response;    /* the provider's answer, secrets scrubbed; may be NULL */
    const char *native_id;   /* id of what the provider created, or NULL */
    /* NULL, or (outcome CONN_OK only) why the effect the provider accepted
     * does not match the hub (e.g. "Calibration recorded, but WATS computed
     * the next date ... while the system of record says ..."): the engine
     * completes the item (never retries it) and records a mapping exception
     * for a person with this text; error_class then names the reason
     * ("due_date_mismatch") and response may carry both values. */
    const char *mapping_exception;
};

enum conn_resolution {
    CONN_RESOLVED_FOUND,     /* the effect exists at the provider: done */
    CONN_RESOLVED_NOT_FOUND, /* it does not: safe to send again */
    CONN_RESOLVED_UNKNOWN,   /* cannot tell (yet): try resolving later */
};

enum conn_direction { CONN_TO_CANONICAL, CONN_TO_NATIVE };

/* ---- the interface ------------------------------------------------------------- */

struct conn_ops {
    int abi;          /* CONN_ABI_V1 */
    const char *name; /* provider type, as in config_provider_types ("sap_pm") */
    unsigned caps;    /* CONN_CAP_* */

    /* Prepare a context from the provider's configuration section. client is
     * the provider's HTTP client (owned by the engine, outlives the ctx).
     * AB_ECONFIG (a setting the connector cannot use) or AB_EINVAL with one
     * line in err. */
    enum ab_rc (*init)(const struct config_provider *cfg, struct client *client,
                       void **ctx /* OUT */, char *err, size_t errlen);

    /* Release ctx (NULL accepted). */
    void (*cleanup)(void *ctx);

    /* Check DNS, TLS, authentication and the provider's version. Strings in
     * out live in arena a. AB_OK when every step that ran is OK; otherwise
     * the first failure's code (retryable or permanent as usual). */
    enum ab_rc (*health)(void *ctx, struct arena *a, struct conn_health *out /* OUT */);

    /* Pull one page of entity changed since watermark (NULL: everything),
     * continuing at page_token (NULL: the first page). Records, tokens and
     * documents live in arena a. Never touches the store. */
    enum ab_rc (*pull)(void *ctx, const char *entity, const char *watermark, const char *page_token,
                       struct arena *a, struct conn_page *out /* OUT */);

    /* Deliver one outbox item. The return code is about the call itself
     * (AB_OK when out describes the outcome, including failures the provider
     * reported); out->outcome decides what the engine does with the item. */
    enum ab_rc (*push)(void *ctx, const struct conn_item *item, struct arena *a,
                       struct conn_result *out /* OUT */);

    /* The item's last attempt has an unknown outcome: ask the provider
     * whether its effect already exists (by idempotency key or a natural
     * key). Called before any resend of such an item. */
    enum ab_rc (*resolve)(void *ctx, const struct conn_item *item, struct arena *a,
                          enum conn_resolution *out /* OUT */);

    /* Translate one payload of entity between the provider's native JSON and
     * the canonical JSON. *out is a new reference owned by arena a.
     * AB_EINVAL when in cannot be translated (message in the log). */
    enum ab_rc (*translate)(void *ctx, enum conn_direction dir, const char *entity,
                            const json_t *in, struct arena *a, json_t **out /* OUT */);
};

/* The registry: every connector this build knows, NULL-terminated. */
extern const struct conn_ops *const conn_registry[];

/* The connector for a provider type, or NULL when none is registered (or
 * its ABI is not CONN_ABI_V1). Thread-safe. */
const struct conn_ops *conn_find(const char *name);

/* ---- wrappers: what the engine calls ------------------------------------------- */

/* True when ops is usable (right ABI) and has every capability in caps. */
static inline bool conn_has(const struct conn_ops *ops, unsigned caps)
{
    return ops && ops->abi == CONN_ABI_V1 && (ops->caps & caps) == caps;
}

/* Give json v (a new reference) to arena a: it is released with the arena.
 * For connectors filling pages and translations. Returns v. */
static inline void conn_json_decref_cb(void *v)
{
    json_decref(v);
}
static inline json_t *conn_arena_own(struct arena *a, json_t *v)
{
    if (v)
        arena_on_cleanup(a, conn_json_decref_cb, v);
    return v;
}

static inline enum ab_rc conn_init(const struct conn_ops *ops, const struct config_provider *cfg,
                                   struct client *client, void **ctx /* OUT */, char *err,
                                   size_t errlen)
{
    *ctx = NULL;
    if (!ops || ops->abi != CONN_ABI_V1)
        return AB_EUNSUPPORTED;
    return ops->init ? ops->init(cfg, client, ctx, err, errlen) : AB_OK;
}

static inline void conn_cleanup(const struct conn_ops *ops, void *ctx)
{
    if (ops && ops->abi == CONN_ABI_V1 && ops->cleanup)
        ops->cleanup(ctx);
}

/* AB_EUNSUPPORTED when the connector has no health slot. */
static inline enum ab_rc conn_health(const struct conn_ops *ops, void *ctx, struct arena *a,
                                     struct conn_health *out /* OUT */)
{
    memset(out, 0, sizeof(*out));
    if (!ops || ops->abi != CONN_ABI_V1 || !ops->health)
        return AB_EUNSUPPORTED;
    return ops->health(ctx, a, out);
}

/* AB_EUNSUPPORTED when the connector cannot pull entity. */
static inline enum ab_rc conn_pull(const struct conn_ops *ops, void *ctx, const char *entity,
                                   const char *watermark, const char *page_token, struct arena *a,
                                   struct conn_page *out /* OUT */)
{
    memset(out, 0, sizeof(*out));
    unsigned cap = conn_entity_cap(entity);
    if (!cap || !conn_has(ops, cap) || !ops->pull)
        return AB_EUNSUPPORTED;
    return ops->pull(ctx, entity, watermark, page_token, a, out);
}

/* AB_EUNSUPPORTED when the connector cannot perform item->action. */
static inline enum ab_rc conn_push(const struct conn_ops *ops, void *ctx,
                                   const struct conn_item *item, struct arena *a,
                                   struct conn_result *out /* OUT */)
{
    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    unsigned cap = conn_action_cap(item->action);
    if (!cap || !conn_has(ops, cap) || !ops->push)
        return AB_EUNSUPPORTED;
    return ops->push(ctx, item, a, out);
}

/* Without a resolve slot the answer is CONN_RESOLVED_UNKNOWN and AB_OK: the
 * engine then never resends blindly (the item waits for a person). */
static inline enum ab_rc conn_resolve(const struct conn_ops *ops, void *ctx,
                                      const struct conn_item *item, struct arena *a,
                                      enum conn_resolution *out /* OUT */)
{
    *out = CONN_RESOLVED_UNKNOWN;
    if (!ops || ops->abi != CONN_ABI_V1)
        return AB_EUNSUPPORTED;
    if (!ops->resolve)
        return AB_OK;
    return ops->resolve(ctx, item, a, out);
}

/* AB_EUNSUPPORTED when the connector has no translate slot. */
static inline enum ab_rc conn_translate(const struct conn_ops *ops, void *ctx,
                                        enum conn_direction dir, const char *entity,
                                        const json_t *in, struct arena *a, json_t **out /* OUT */)
{
    *out = NULL;
    if (!ops || ops->abi != CONN_ABI_V1 || !ops->translate)
        return AB_EUNSUPPORTED;
    return ops->translate(ctx, dir, entity, in, a, out);
}

/* Stable names for logs, metrics and the API. Never NULL. */
const char *conn_outcome_name(enum conn_outcome o);
const char *conn_resolution_name(enum conn_resolution r);
const char *conn_check_name(enum conn_check c);

#endif
