/* SPDX-License-Identifier: Apache-2.0
 *
 * suggestions.h: calibration interval suggestions in the store: the
 * as-found history the rules engine collects per asset
 * (`calibration_history`) and the suggestions made from it (`suggestions`:
 * open, approved, rejected or superseded; at most one open per asset and
 * kind). Approving applies the suggested interval to the asset's hub
 * calibration record (docs/rules.md, "Interval suggestions").
 *
 * Thread-safety: as store.h.
 */
#ifndef AB_STORE_SUGGESTIONS_H
#define AB_STORE_SUGGESTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/calibration.h"
#include "store/store.h"

#define STORE_SUGGESTION_CAL_INTERVAL "calibration_interval"

/* One as-found result of an asset (several sources on one performed_at
 * are merged: out of tolerance wins over in tolerance over unknown). */
struct store_cal_history {
    int64_t performed_at;
    enum model_cal_result as_found;
};

struct store_suggestion {
    const char *id; /* ULID */
    const char *asset_ref;
    const char *kind;  /* STORE_SUGGESTION_CAL_INTERVAL */
    const char *state; /* "open", "approved", "rejected", "superseded" */
    int64_t current_days, suggested_days;
    const char *direction; /* "increase", "decrease" */
    const char *reason;
    const char *evidence; /* JSON text or NULL */
    int64_t basis_at;     /* performed_at of the newest result used */
    int64_t created_at;
    int64_t decided_at;     /* INT64_MIN while open */
    const char *decided_by; /* actor, NULL while open */
};

/* Record one as-found result of asset_ref seen from source (the hub, a
 * provider): ignored when (asset_ref, performed_at, source) is there
 * already. *added (may be NULL) says whether a row was added. */
enum ab_rc store_cal_history_add(struct store_tx *tx, const char *tenant, const char *asset_ref,
                                 int64_t performed_at, const char *source,
                                 enum model_cal_result as_found,
                                 bool *added /* OUT */) AB_MUST_CHECK;

/* The newest results of asset_ref with performed_at > after (INT64_MIN:
 * all), at most limit (1..1000) after merging, oldest first, into a. */
enum ab_rc store_cal_history_since(struct store_tx *tx, const char *tenant, const char *asset_ref,
                                   int64_t after, size_t limit, struct arena *a,
                                   struct store_cal_history **out /* OUT */,
                                   size_t *n /* OUT */) AB_MUST_CHECK;

/* The open suggestion of (asset_ref, kind); *found false when none. */
enum ab_rc store_suggestion_open_get(struct store_tx *tx, const char *tenant, const char *asset_ref,
                                     const char *kind, struct arena *a,
                                     struct store_suggestion *out /* OUT */,
                                     bool *found /* OUT */) AB_MUST_CHECK;

/* The newest basis_at of the approved or rejected suggestions of
 * (asset_ref, kind); INT64_MIN when none. */
enum ab_rc store_suggestion_last_basis(struct store_tx *tx, const char *tenant,
                                       const char *asset_ref, const char *kind,
                                       int64_t *basis /* OUT */) AB_MUST_CHECK;

/* Close the open suggestion of (asset_ref, kind), if any, as superseded
 * (the evidence no longer supports it). */
enum ab_rc store_suggestion_supersede(struct store_tx *tx, const char *tenant,
                                      const char *asset_ref, const char *kind) AB_MUST_CHECK;

/* The calibration interval of asset_ref the stored records give: the hub
 * record's interval_days, else the first non-zero one of a provider's
 * record; 0 when none. */
enum ab_rc store_cal_interval(struct store_tx *tx, const char *tenant, const char *asset_ref,
                              int64_t *days /* OUT */) AB_MUST_CHECK;

/* Insert s as open (s->id NULL: a new ULID; created_at now); the open one of
 * the same asset and kind, if any, becomes superseded first. *id (may be
 * NULL) receives the id, in a. */
enum ab_rc store_suggestion_open(struct store_tx *tx, const char *tenant,
                                 const struct store_suggestion *s, struct arena *a,
                                 const char **id /* OUT */) AB_MUST_CHECK;

/* One suggestion by id (in a read session); AB_ENOTFOUND when tenant has
 * none of that id. */
enum ab_rc store_suggestion_get(struct store_read *r, const char *tenant, const char *id,
                                struct arena *a,
                                struct store_suggestion *out /* OUT */) AB_MUST_CHECK;

/* Suggestions of tenant in state (NULL: any), id order after after_id (NULL
 * or "": from the start), at most limit (1..1000); *more when more follow. */
enum ab_rc store_suggestions_list(struct store_read *r, const char *tenant, const char *state,
                                  const char *after_id, size_t limit, struct arena *a,
                                  struct store_suggestion **out /* OUT */, size_t *n /* OUT */,
                                  bool *more /* OUT */) AB_MUST_CHECK;

/* Why store_suggestion_decide refused. */
enum store_decide_refusal {
    STORE_DECIDE_OK = 0,
    STORE_DECIDE_NOT_FOUND, /* no such suggestion (AB_ENOTFOUND) */
    STORE_DECIDE_NOT_OPEN,  /* decided already (AB_ECONFLICT) */
    STORE_DECIDE_NO_RECORD, /* approve: the asset has no hub calibration record (AB_ECONFLICT) */
};

/* Approve or reject the open suggestion id by actor. Approving sets the
 * asset's hub calibration record's interval_days to the suggested interval
 * and, when its last calibration is known, its due_at to that plus the new
 * interval (revision + 1), and emits calibration.interval_changed. Both
 * audit ("suggestion.approve" / "suggestion.reject", subject
 * "suggestion/ID") and emit suggestion.approved / suggestion.rejected.
 * *out (may be NULL) is the suggestion after the change, in a; *why says
 * why it refused. */
enum ab_rc store_suggestion_decide(struct store_tx *tx, const char *tenant, const char *id,
                                   bool approve, const char *actor, struct arena *a,
                                   struct store_suggestion *out /* OUT */,
                                   enum store_decide_refusal *why /* OUT */) AB_MUST_CHECK;

#endif
