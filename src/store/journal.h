/* SPDX-License-Identifier: Apache-2.0
 *
 * journal.h: the store's records of what happened and what must happen:
 * the transactional outbox, audit records, sync state per (provider,
 * entity), sync log lines and mapping exceptions. Writes take a struct
 * store_tx, so they commit with the change that caused them.
 */
#ifndef AB_STORE_JOURNAL_H
#define AB_STORE_JOURNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "store/store.h"

/* ---- outbox ------------------------------------------------------------- */

enum store_outbox_state {
    OUTBOX_PENDING,    /* waiting for delivery */
    OUTBOX_IN_FLIGHT,  /* claimed by a worker (lease) */
    OUTBOX_DONE,       /* delivered */
    OUTBOX_DEAD,       /* dead letter: a person must act */
    OUTBOX_SUPPRESSED, /* held back by a read_only mode; released by replay */
    OUTBOX_REFUSED,    /* refused by the system-of-record policy (audited); final */
};

const char *store_outbox_state_name(enum store_outbox_state s);

struct store_outbox_item {
    int64_t id; /* set by the store */
    const char *tenant;
    const char *provider;
    const char *entity;
    const char *action;          /* e.g. "upsert", "push_reading", "open_request" */
    const char *subject;         /* e.g. "asset/FX-1001" */
    const char *payload;         /* canonical JSON text */
    const char *idempotency_key; /* stable across retries; unique per tenant */
    const char *coalesce_key;    /* usage coalescing group, or NULL */
    enum store_outbox_state state;
    int priority; /* lower first: 0 plant_critical, 1 reporting; < 0: from the
                     configuration (store_set_config, config_outbox_priority) */
    int attempts;
    int64_t next_attempt_at;
    const char *last_error;
    const char *correlation_id;
    int64_t created_at, updated_at;
};

/* Add an item in the running write job. An item whose idempotency key exists
 * already for the tenant is not added again (*added false). The job's
 * correlation id is stored with it. */
enum ab_rc store_outbox_add(struct store_tx *tx, const struct store_outbox_item *item,
                            bool *added /* OUT, may be NULL */) AB_MUST_CHECK;

/* Items of tenant in a state, oldest first (after_id for paging). */
enum ab_rc store_outbox_list(struct store_read *r, const char *tenant,
                             enum store_outbox_state state, int64_t after_id, size_t limit,
                             struct arena *a, struct store_outbox_item **out /* OUT */,
                             size_t *n /* OUT */) AB_MUST_CHECK;

/* ---- audit -------------------------------------------------------------- */

struct store_audit {
    int64_t id;
    const char *tenant;
    const char *actor;  /* API key id, "connector:sap_pm", "system" */
    const char *action; /* "asset.put", "record.conflict", ... */
    const char *subject;
    const char *before_digest;  /* may be NULL */
    const char *after_digest;   /* may be NULL */
    const char *correlation_id; /* NULL: the job's */
    const char *detail;         /* JSON text or NULL */
    int64_t at;
};

enum ab_rc store_audit_add(struct store_tx *tx, const struct store_audit *a) AB_MUST_CHECK;

/* Query by any of subject, actor, correlation id (NULL = any) and a time
 * range [from, to) (INT64_MIN/INT64_MAX = open); newest first; before_id > 0
 * pages backwards. */
enum ab_rc store_audit_query(struct store_read *r, const char *tenant, const char *subject,
                             const char *actor, const char *correlation_id, int64_t from,
                             int64_t to, int64_t before_id, size_t limit, struct arena *a,
                             struct store_audit **out /* OUT */, size_t *n /* OUT */) AB_MUST_CHECK;

/* ---- sync state and log ------------------------------------------------- */

struct store_sync_state {
    const char *tenant, *provider, *entity;
    const char *watermark;  /* opaque to the store */
    const char *page_token; /* checkpoint inside a pass; NULL between passes */
    int64_t last_success_at;
    const char *last_error;
    int64_t last_error_at;
    int64_t pulled, pushed, failed;
};

/* Read one row; a missing row reads as zeros/NULLs (not an error). */
enum ab_rc store_sync_state_get(struct store_read *r, const char *tenant, const char *provider,
                                const char *entity, struct arena *a,
                                struct store_sync_state *out /* OUT */) AB_MUST_CHECK;
/* The same inside a write job (to commit a page with its checkpoint). */
enum ab_rc store_sync_state_get_tx(struct store_tx *tx, const char *tenant, const char *provider,
                                   const char *entity, struct arena *a,
                                   struct store_sync_state *out /* OUT */) AB_MUST_CHECK;
/* Replace the row (counters are stored as given). */
enum ab_rc store_sync_state_put(struct store_tx *tx,
                                const struct store_sync_state *s) AB_MUST_CHECK;

enum ab_rc store_sync_log_add(struct store_tx *tx, const char *tenant, const char *provider,
                              const char *entity, const char *native_id, const char *level,
                              const char *message) AB_MUST_CHECK;

/* ---- mapping exceptions -------------------------------------------------- */

struct store_mapping_exception {
    const char *id; /* ULID */
    const char *tenant, *provider, *entity, *native_id;
    const char *reason;     /* "ambiguous_native_id", "serial_collision", "unmapped_status", ... */
    const char *message;    /* for a person */
    const char *candidates; /* JSON array text */
    const char *change;     /* the held change, JSON text */
    const char *state;      /* open, resolved, ignored */
    const char *resolution; /* JSON text or NULL */
    int64_t created_at, resolved_at;
};

/* Record an exception (id generated when NULL; *id_out may be NULL) and a
 * mapping.exception event. An open exception for the same (provider, entity,
 * native_id, reason) is updated with the newer change instead of repeated. */
enum ab_rc store_mapping_exception_add(struct store_tx *tx, const struct store_mapping_exception *e,
                                       const char **id_out /* OUT */,
                                       struct arena *a) AB_MUST_CHECK;

enum ab_rc store_mapping_exception_get(struct store_read *r, const char *tenant, const char *id,
                                       struct arena *a,
                                       struct store_mapping_exception *out /* OUT */) AB_MUST_CHECK;
enum ab_rc
store_mapping_exception_get_tx(struct store_tx *tx, const char *tenant, const char *id,
                               struct arena *a,
                               struct store_mapping_exception *out /* OUT */) AB_MUST_CHECK;

/* Exceptions of tenant in a state (NULL = any), oldest first (created_at,
 * id), after the cursor (after_created_at, after_id); pass INT64_MIN, NULL
 * for the first page. At most limit. */
enum ab_rc store_mapping_exceptions_list(struct store_read *r, const char *tenant,
                                         const char *state, int64_t after_created_at,
                                         const char *after_id, size_t limit, struct arena *a,
                                         struct store_mapping_exception **out /* OUT */,
                                         size_t *n /* OUT */) AB_MUST_CHECK;

/* An outbox item the provider accepted whose effect does not match the hub
 * (a connector's conn_result.mapping_exception, e.g. WATS computed another
 * next calibration date than the system of record's). */
struct store_outbox_mismatch {
    const char *tenant, *provider;
    int64_t outbox_id;
    const char *entity, *action, *subject; /* the item's */
    const char *payload;                   /* the item's payload (JSON text) */
    const char *reason;                    /* the connector's error_class, e.g. "due_date_mismatch";
                                              NULL: "effect_mismatch" */
    const char *message;                   /* conn_result.mapping_exception: for a person */
    const char *response; /* conn_result.response (JSON or text, may be NULL); scrubbed here */
};

/* Record an open mapping exception for m in the running job (the job that
 * completes the item): provider, entity, native_id = the payload's
 * asset_native_id (else "outbox/ID"), reason, message, candidates [] and
 * change {"outbox_id", "action", "subject", "payload", "response"}; a
 * mapping.exception event (store_mapping_exception_add: an open exception
 * of the same provider, entity, native id and reason is updated instead of
 * repeated) and a "warn" sync-log line naming the item. Such an exception
 * is closed with action ignore once a person has reconciled the provider
 * and the system of record; link and create do not apply (AB_EINVAL).
 * *id_out (may be NULL) gets its id in a. Storage errors only. */
enum ab_rc store_mapping_exception_outbox(struct store_tx *tx,
                                          const struct store_outbox_mismatch *m,
                                          const char **id_out /* OUT */,
                                          struct arena *a) AB_MUST_CHECK;

/* Mark resolved or ignored with a resolution document. */
enum ab_rc store_mapping_exception_close(struct store_tx *tx, const char *tenant, const char *id,
                                         const char *state, const char *resolution) AB_MUST_CHECK;

#endif
