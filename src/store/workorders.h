/* SPDX-License-Identifier: Apache-2.0
 *
 * workorders.h: work orders, calibration records and maintenance plans the
 * hub keeps in the `objects` table (kind "work_order", "calibration",
 * "maintenance_plan"; id a ULID; columns asset_ref, status, due_at; doc the
 * canonical JSON with "id" and "provider_id", as records.c stores provider
 * objects), file attachments (`attachments`) and the per-provider status
 * and priority mappings (`status_maps`). Used by the API (src/api/workorders.c).
 *
 * Every write takes a struct store_tx and emits its events, audit record and
 * outbox rows in the same job, so they commit together or not at all. All
 * functions take the tenant and never touch another tenant's rows: an object
 * of another tenant is AB_ENOTFOUND, exactly like one that does not exist.
 */
#ifndef AB_STORE_WORKORDERS_H
#define AB_STORE_WORKORDERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/attachment.h"
#include "model/calibration.h"
#include "model/work_order.h"
#include "store/store.h"

#define STORE_KIND_WORK_ORDER "work_order"
#define STORE_KIND_CALIBRATION "calibration"
#define STORE_KIND_PLAN "maintenance_plan"

/* One row of `objects`. doc is owned by the arena it was read into (its
 * reference is dropped when the arena is freed); callers must not decref. */
struct store_object {
    const char *kind;
    const char *id;
    const char *asset_ref; /* NULL when none */
    const char *status;    /* NULL when none */
    int64_t due_at;        /* INT64_MIN when none */
    json_t *doc;
    const char *digest; /* content digest of doc (model_digest) */
    int64_t revision;
    int64_t created_at, updated_at;
};

/* Read one object by (kind, id). AB_ENOTFOUND when the tenant has none. */
enum ab_rc store_object_get(struct store_read *r, const char *tenant, const char *kind,
                            const char *id, struct arena *a,
                            struct store_object *out /* OUT */) AB_MUST_CHECK;

struct store_object_filter {
    const char *kind;      /* required */
    const char *asset_ref; /* NULL: any */
    const char *status;    /* NULL: any (the status column) */
    int64_t due_before;    /* INT64_MIN: any; else due_at set and < due_before */
    const char *type;      /* NULL: any; else the document's "type" must equal it */
    const char *provider;  /* NULL: any; else the document's "provider_id" */
    const char *after;     /* cursor: continue after this id (NULL or "": from the start) */
    size_t limit;          /* 1..1000 */
};

/* Objects matching f in id order (ULIDs: creation order), at most f->limit,
 * copied into a. *more is true when further objects match (the caller's
 * next cursor is then the last id). type and provider are matched against
 * the document after the indexed filters, scanning as many rows as needed. */
enum ab_rc store_objects_list(struct store_read *r, const char *tenant,
                              const struct store_object_filter *f, struct arena *a,
                              struct store_object **out /* OUT */, size_t *n /* OUT */,
                              bool *more /* OUT */) AB_MUST_CHECK;

/* The common work order of a stored object: the document with its id as
 * common_work_order_id and the row's revision, parsed strictly. AB_ECONFLICT
 * (err says why) when the stored document is not a common work order (a
 * provider record the hub only mirrors). Strings live in a. */
enum ab_rc store_work_order_decode(const struct store_object *o, struct arena *a,
                                   struct model_work_order *wo /* OUT */,
                                   struct model_error *err /* OUT */) AB_MUST_CHECK;

/* The API form of a stored work order: a new JSON object (caller owns it)
 * with common_work_order_id and revision set and the internal "id" left out. */
json_t *store_work_order_json(const struct store_object *o);

/* What a work-order write did. */
struct store_wo_result {
    struct store_object obj; /* the work order after the write (doc in the arena) */
    bool changed;            /* false: identical content, nothing written */
    bool stale;              /* AB_ECONFLICT because if_revision did not match */
    struct model_error err;  /* AB_EINVAL / AB_ECONFLICT: the field and the reason */
};

/* Create a work order (the hub's own or one to be created in a provider).
 * wo->common_work_order_id is assigned when NULL; revision becomes 1,
 * sync_state pending, opened_at now when the status is open and it is
 * unset. The asset must exist (AB_EINVAL, field asset_ref, otherwise).
 * Emits work_order.created, audits ("work_order.create" by actor), and when
 * the provider is not the hub adds an outbox row (action
 * "open_request": the provider opens it; idempotency key "wo:<id>:create"). */
enum ab_rc store_work_order_create(struct store_tx *tx, const char *tenant,
                                   const struct model_work_order *wo, const char *actor,
                                   struct arena *a,
                                   struct store_wo_result *res /* OUT */) AB_MUST_CHECK;

/* Apply a change to a decoded work order. Returns AB_OK, or AB_EINVAL /
 * AB_ECONFLICT / AB_EPARSE with err filled (the write is then abandoned). */
typedef enum ab_rc (*store_wo_edit_fn)(struct model_work_order *wo, struct arena *a, void *arg,
                                       struct model_error *err);

struct store_wo_change {
    const char *tenant;
    const char *id;
    int64_t if_revision; /* > 0: the stored revision must equal it (else stale) */
    const char *actor;   /* audit actor */
    const char *action;  /* audit action, e.g. "work_order.complete" */
    store_wo_edit_fn edit;
    void *arg;
};

/* Load the work order, check if_revision (AB_ECONFLICT with res->stale),
 * decode it, run c->edit, and when the content changed write it with the
 * revision bumped and sync_state pending. Emits work_order.completed or
 * work_order.closed when the status became completed or closed, otherwise
 * work_order.updated; audits c->action; for a provider's work order adds an
 * outbox row ("update_work_order", key "wo:<id>:r<revision>"). No change:
 * AB_OK with res->changed false and nothing written. AB_ENOTFOUND for an
 * unknown id. */
enum ab_rc store_work_order_change(struct store_tx *tx, const struct store_wo_change *c,
                                   struct arena *a,
                                   struct store_wo_result *res /* OUT */) AB_MUST_CHECK;

/* Record what delivering work order id to its provider came to (the sync
 * engine calls this in the job that records an outbox item's outcome):
 * state is synchronized (then last_synced_at = now), retrying, rejected or
 * suppressed; source_id (may be NULL) is the id the provider gave the work
 * order it created, kept when the work order has none yet (that bumps the
 * revision: the ETag changes). Neither queues an outbox item nor emits an
 * event; sync.failed covers failures. A work order that does not exist, or
 * is a provider's record the hub only mirrors, is left alone (AB_OK). */
enum ab_rc store_work_order_sync_outcome(struct store_tx *tx, const char *tenant, const char *id,
                                         enum model_sync_state state, const char *source_id,
                                         struct arena *a) AB_MUST_CHECK;

/* ---- attachments ---------------------------------------------------------- */

struct store_attachment_row {
    const char *id; /* ULID */
    struct model_attachment meta;
    int64_t created_at;
};

/* Store a file for an owner: meta gives owner_kind, owner_id, file_name,
 * media_type (NULL: application/octet-stream) and optionally provider_ref;
 * size and sha256 are computed here from content[0..len). The owner must
 * exist for the tenant (AB_ENOTFOUND). Emits attachment.added (subject the
 * owner, "work-order/<id>", "calibration/<id>" or "asset/<ref>"), audited
 * ("attachment.add"). out (strings in a) describes the stored attachment. */
enum ab_rc store_attachment_add(struct store_tx *tx, const char *tenant,
                                const struct model_attachment *meta, const void *content,
                                size_t len, const char *actor, struct arena *a,
                                struct store_attachment_row *out /* OUT */) AB_MUST_CHECK;

/* ---- calibration ---------------------------------------------------------- */

/* A calibration result to record for an asset. */
struct store_cal_record {
    const char *tenant;
    const char *asset_ref; /* resolved, must exist */
    int64_t performed_at;  /* required */
    enum model_cal_result result, as_found, as_left;
    const char *certificate_id, *certificate_url, *performed_by; /* NULL: keep the stored one */
    int64_t next_due_at; /* MODEL_TIME_UNSET: performed_at + interval_days when known */
    const char *actor;
    /* the certificate file, optional (cert_file_name NULL: none) */
    const char *cert_file_name, *cert_media_type;
    const void *cert_content;
    size_t cert_len;
    /* NULL, or the provider where the calibration was done (the rules
     * engine closing the loop on a request completed in the calibration
     * system of record): it is carried to every other linked provider
     * whose calibration mode is not read_only, with "origin" in the
     * payload, and never back to the origin */
    const char *origin;
    const char *comment; /* NULL: "assetbridge calibration RESULT, certificate ..." */
};

struct store_cal_result {
    struct store_object obj;          /* the hub calibration object after the write */
    bool created;                     /* the hub had no calibration object for the asset */
    struct store_attachment_row cert; /* cert.id NULL when no certificate */
    struct model_error err;           /* AB_EINVAL: the field and the reason */
};

/* Record a calibration: update (or create) the asset's hub calibration
 * object (provider_id "hub"): last_calibrated_at, result, as_found, as_left,
 * certificate fields, due_state ok and due_at = next_due_at, else
 * performed_at + interval_days (the hub record's interval, else one a
 * provider's record of the asset gives), else unset. Stores the
 * certificate as an attachment of the calibration, emits
 * calibration.completed, audits ("calibration.record") and queues a
 * record_calibration outbox item (entity "calibration", idempotency key
 * "calibration:PROVIDER:ID:REVISION") for the calibration system of record
 * of the asset's site when the configuration names one and the asset is
 * linked to it, else for every provider linked to the asset whose
 * calibration mode is not read_only (store.md); with in->origin, every
 * linked provider but the origin whose calibration mode is not read_only.
 * The event carries "origin" too. AB_ENOTFOUND for
 * an unknown asset; AB_EINVAL when the resulting record does not validate. */
enum ab_rc store_calibration_record(struct store_tx *tx, const struct store_cal_record *in,
                                    struct arena *a,
                                    struct store_cal_result *res /* OUT */) AB_MUST_CHECK;

/* ---- status mappings ------------------------------------------------------ */

struct store_status_map_row {
    const char *provider;     /* provider id (model_provider_name) */
    const char *kind;         /* "status" or "priority" */
    const char *source_value; /* the provider's value, exact */
    const char *common_value; /* a common status or priority name */
};

/* Mappings of tenant (provider NULL: every provider) in (provider, kind,
 * source_value) order, after the key in `after` (NULL: from the start), at
 * most limit; *more when further rows exist. Strings in a. */
enum ab_rc store_status_maps_list(struct store_read *r, const char *tenant, const char *provider,
                                  const struct store_status_map_row *after, size_t limit,
                                  struct arena *a, struct store_status_map_row **out /* OUT */,
                                  size_t *n /* OUT */, bool *more /* OUT */) AB_MUST_CHECK;

/* Create or replace one mapping. AB_EINVAL when provider, kind or
 * common_value is not a known name (for kind) or source_value is not 1..64
 * bytes without control characters. *created says whether it is new.
 * Audited ("status_map.put") when something changed. */
enum ab_rc store_status_map_put(struct store_tx *tx, const char *tenant,
                                const struct store_status_map_row *m, const char *actor,
                                bool *created /* OUT */) AB_MUST_CHECK;

/* Delete one mapping; AB_ENOTFOUND when there is none. Audited. */
enum ab_rc store_status_map_delete(struct store_tx *tx, const char *tenant, const char *provider,
                                   const char *kind, const char *source_value,
                                   const char *actor) AB_MUST_CHECK;

#endif
