/* SPDX-License-Identifier: Apache-2.0
 *
 * work_order.h: the common work-order contract every provider's work orders
 * are mapped to, and its lifecycle: the allowed status transitions are data
 * (a static table in work_order.c, printed in docs/internals/model.md), and
 * the API's action verbs (:assign, :start, ...) map to target statuses.
 * Used by the API, the store, the connectors and the sync engine.
 */
#ifndef AB_MODEL_WORK_ORDER_H
#define AB_MODEL_WORK_ORDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

#define MODEL_WO_FAILURE_CODES_MAX 32
#define MODEL_WO_COMMENTS_MAX 1000
#define MODEL_WO_NOTES_MAX 65536
#define MODEL_WO_COMMENT_MAX 8192

enum model_wo_type {
    MODEL_WO_PREVENTIVE = 0,
    MODEL_WO_CORRECTIVE,
    MODEL_WO_CALIBRATION,
    MODEL_WO_INSPECTION,
    MODEL_WO_TYPE_COUNT
};

/* The common status (names: the enumerator suffixes in lower case). */
enum model_wo_status {
    MODEL_WO_DRAFT = 0,
    MODEL_WO_OPEN,
    MODEL_WO_ASSIGNED,
    MODEL_WO_IN_PROGRESS,
    MODEL_WO_ON_HOLD,
    MODEL_WO_COMPLETED,
    MODEL_WO_CLOSED,
    MODEL_WO_CANCELLED,
    MODEL_WO_STATUS_COUNT
};

enum model_priority {
    MODEL_PRIORITY_LOW = 0,
    MODEL_PRIORITY_MEDIUM,
    MODEL_PRIORITY_HIGH,
    MODEL_PRIORITY_URGENT,
    MODEL_PRIORITY_COUNT
};

/* Where a record stands in synchronisation with its provider. */
enum model_sync_state {
    MODEL_SYNC_IMPORTED = 0,
    MODEL_SYNC_PENDING,
    MODEL_SYNC_SYNCHRONIZED,
    MODEL_SYNC_RETRYING,
    MODEL_SYNC_REJECTED,
    MODEL_SYNC_STALE,
    MODEL_SYNC_SUPPRESSED,
    MODEL_SYNC_STATE_COUNT
};

/* The API's action verbs: POST /v1/work-orders/{id}:VERB. */
enum model_wo_verb {
    MODEL_WO_VERB_ASSIGN = 0, /* -> assigned */
    MODEL_WO_VERB_START,      /* -> in_progress */
    MODEL_WO_VERB_HOLD,       /* -> on_hold */
    MODEL_WO_VERB_COMPLETE,   /* -> completed */
    MODEL_WO_VERB_CLOSE,      /* -> closed */
    MODEL_WO_VERB_REOPEN,     /* -> open, only from completed or closed */
    MODEL_WO_VERB_CANCEL,     /* -> cancelled */
    MODEL_WO_VERB_SUBMIT,     /* -> open, only from draft (a draft approved for the provider) */
    MODEL_WO_VERB_COUNT
};

const char *model_wo_type_name(enum model_wo_type v);
bool model_wo_type_parse(const char *s, enum model_wo_type *out /* OUT */);
const char *model_wo_status_name(enum model_wo_status v);
bool model_wo_status_parse(const char *s, enum model_wo_status *out /* OUT */);
const char *model_priority_name(enum model_priority v);
bool model_priority_parse(const char *s, enum model_priority *out /* OUT */);
const char *model_sync_state_name(enum model_sync_state v);
bool model_sync_state_parse(const char *s, enum model_sync_state *out /* OUT */);
const char *model_wo_verb_name(enum model_wo_verb v);
bool model_wo_verb_parse(const char *s, enum model_wo_verb *out /* OUT */);

/* True when the lifecycle table allows a work order to move from `from` to
 * `to`. A status never "transitions" to itself (false): callers treat an
 * unchanged status as no transition. Out-of-range values are false.
 * Thread-safe. */
bool model_wo_transition_allowed(enum model_wo_status from, enum model_wo_status to);

/* Write the statuses reachable from `from` into out[0..n) in enum order and
 * return how many there are (which may exceed n: only n are written).
 * Thread-safe. */
size_t model_wo_allowed_next(enum model_wo_status from, enum model_wo_status *out /* OUT */,
                             size_t n);

/* The same list as text for error messages: "open, cancelled" ("none" for a
 * terminal status), truncated to fit size bytes. Returns out. */
char *model_wo_allowed_next_str(enum model_wo_status from, char *out /* OUT */, size_t size);

/* The status a verb leads to. */
enum model_wo_status model_wo_verb_target(enum model_wo_verb verb);

/* Apply an action verb to a work order in status from: on AB_OK *to is the
 * new status. AB_ECONFLICT when the table does not allow it (reopen is also
 * refused unless from is completed or closed); err then says which
 * transitions are allowed (field "common_status"). AB_EINVAL for an
 * out-of-range verb. Thread-safe. */
enum ab_rc model_wo_verb_apply(enum model_wo_verb verb, enum model_wo_status from,
                               enum model_wo_status *to /* OUT */,
                               struct model_error *err /* OUT */) AB_MUST_CHECK;

struct model_wo_comment {
    const char *author; /* required, up to 128 bytes */
    const char *text;   /* required, up to MODEL_WO_COMMENT_MAX bytes */
    int64_t at;         /* MODEL_TIME_UNSET until the store stamps it */
};

struct model_work_order {
    const char *common_work_order_id; /* ULID; NULL until the store assigns one */
    enum model_provider provider_id;  /* default hub */
    /* The configured provider (its name under tenants.T.providers) that
     * delivers this work order, or NULL: the tenant's only provider of type
     * provider_id. The API checks it against the configuration. */
    const char *provider;
    const char *source_work_order_id; /* required unless provider_id is hub */
    const char *asset_ref;            /* required */
    enum model_wo_type type;          /* required */
    const char *source_status;
    enum model_wo_status common_status; /* default open */
    enum model_priority priority;       /* default medium */
    const char *source_priority;
    int64_t sla_due_at;
    int64_t opened_at;
    int64_t started_at;
    int64_t completed_at;
    int64_t closed_at;
    const char **failure_codes; /* n_failure_codes entries, each 1..64 bytes */
    size_t n_failure_codes;
    const char *notes;
    struct model_wo_comment *comments; /* n_comments entries */
    size_t n_comments;
    const char *assignee;
    enum model_sync_state sync_state; /* default pending */
    int64_t last_synced_at;
    int64_t revision; /* >= 0, default 0 */
};

/* Parse and validate a work order (strict). Strings and arrays are copied
 * into a. Errors as model_asset_from_json; list items are named like
 * "comments[2].text" and "failure_codes[0]". Thread-safe on distinct arenas. */
enum ab_rc model_work_order_from_json(struct arena *a, const json_t *in,
                                      struct model_work_order *out /* OUT */,
                                      struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it); unset fields and empty lists are
 * omitted. */
json_t *model_work_order_to_json(const struct model_work_order *in);

#endif
