/* SPDX-License-Identifier: Apache-2.0
 *
 * rules.h: what the rules engine (src/rules) keeps in and reads from the
 * store: the rule state table (`rule_state`: per tenant, kind, subject and
 * rule id the occurrence watched, the state reached in it and the
 * idempotency key of the request opened for it), and the scans it runs to
 * find what to evaluate: objects of a kind changed since a time, meters
 * changed since a time, and work orders still open past their SLA.
 *
 * Thread-safety: as store.h (the rules thread is the only caller).
 */
#ifndef AB_STORE_RULES_H
#define AB_STORE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/result.h"
#include "store/store.h"
#include "store/workorders.h"

/* One rule_state row. */
struct store_rule_state {
    const char *kind;        /* "calibration", "maintenance", "sla", "sync_lag" */
    const char *subject;     /* asset_ref, plan object id, work order id, provider */
    const char *rule_id;     /* "calibration", the plan id, "sla", "sync_lag" */
    const char *occurrence;  /* what starts a new occurrence: a due date, a reading */
    const char *state;       /* "ok", "due_soon", "overdue", "due", "breached", "lagging" */
    const char *request_key; /* idempotency key of the request opened, or NULL */
    const char *detail;      /* JSON text or NULL */
    int64_t updated_at;
    /* when the request of request_key was closed (the loop closed); INT64_MIN
     * (or 0 when written) while it is open or none was opened */
    int64_t request_closed_at;
};

/* Read the row of (kind, subject, rule_id) in the running write job.
 * *found false (and out zeroed) when there is none. Strings live in a. */
enum ab_rc store_rule_state_get(struct store_tx *tx, const char *tenant, const char *kind,
                                const char *subject, const char *rule_id, struct arena *a,
                                struct store_rule_state *out /* OUT */,
                                bool *found /* OUT */) AB_MUST_CHECK;

/* The same in a read session (to skip write jobs that would change
 * nothing). */
enum ab_rc store_rule_state_read(struct store_read *r, const char *tenant, const char *kind,
                                 const char *subject, const char *rule_id, struct arena *a,
                                 struct store_rule_state *out /* OUT */,
                                 bool *found /* OUT */) AB_MUST_CHECK;

/* Insert or replace the row of (s->kind, s->subject, s->rule_id);
 * updated_at is set to now. */
enum ab_rc store_rule_state_put(struct store_tx *tx, const char *tenant,
                                const struct store_rule_state *s) AB_MUST_CHECK;

/* Rows of tenant of kind (NULL: any) in (kind, subject, rule_id) order, at
 * most limit, for tests and the CLI. Strings live in a. */
enum ab_rc store_rule_states_list(struct store_read *r, const char *tenant, const char *kind,
                                  size_t limit, struct arena *a,
                                  struct store_rule_state **out /* OUT */,
                                  size_t *n /* OUT */) AB_MUST_CHECK;

/* Rows of tenant whose request is still open (request_key set,
 * request_closed_at unset), of kinds calibration, maintenance and condition,
 * in (kind, subject, rule_id) order after the row `after` (NULL: from the
 * start), at most limit (1..1000); *more when more follow. */
enum ab_rc store_rules_open_requests(struct store_read *r, const char *tenant,
                                     const struct store_rule_state *after, size_t limit,
                                     struct arena *a, struct store_rule_state **out /* OUT */,
                                     size_t *n /* OUT */, bool *more /* OUT */) AB_MUST_CHECK;

/* The record a provider holds as work_order or notification native_id, as
 * the last pull stored it: *doc the canonical document (owned by a),
 * *subject the hub object's id. AB_ENOTFOUND when the hub has none. */
enum ab_rc store_rules_source_doc(struct store_read *r, const char *tenant, const char *provider,
                                  const char *native_id, struct arena *a,
                                  const json_t **doc /* OUT */,
                                  const char **subject /* OUT */) AB_MUST_CHECK;

/* The newest uses of an asset in test reports (objects of kind "report"
 * with its asset_ref), newest stored first, at most limit (1..1000). */
enum ab_rc store_rules_asset_uses(struct store_read *r, const char *tenant, const char *asset_ref,
                                  size_t limit, struct arena *a,
                                  struct store_object **out /* OUT */,
                                  size_t *n /* OUT */) AB_MUST_CHECK;

/* What the rules watch, counted for /metrics: work orders open past their
 * SLA at now, requests opened and not closed yet. */
struct store_rules_counts {
    int64_t past_sla;
    int64_t open_requests;
};
enum ab_rc store_rules_counts(struct store_read *r, const char *tenant, int64_t now,
                              struct store_rules_counts *out /* OUT */) AB_MUST_CHECK;

/* Objects of kind with updated_at >= since (INT64_MIN: all) and id >
 * after_id (NULL or "": from the start), in id order, at most limit
 * (1..1000); *more when more follow (continue after the last id). */
enum ab_rc store_rules_objects_since(struct store_read *r, const char *tenant, const char *kind,
                                     int64_t since, const char *after_id, size_t limit,
                                     struct arena *a, struct store_object **out /* OUT */,
                                     size_t *n /* OUT */, bool *more /* OUT */) AB_MUST_CHECK;

/* Asset references of meters updated at or after since, with meter id >
 * after_id, in meter id order, at most limit; ids[i] is the meter id of
 * refs[i] (continue after the last). *more when more follow. */
enum ab_rc store_rules_meters_since(struct store_read *r, const char *tenant, int64_t since,
                                    int64_t after_id, size_t limit, struct arena *a,
                                    const char ***refs /* OUT */, int64_t **ids /* OUT */,
                                    size_t *n /* OUT */, bool *more /* OUT */) AB_MUST_CHECK;

/* The value of the asset's meter of meter_type; AB_ENOTFOUND when none. */
enum ab_rc store_rules_meter_value(struct store_read *r, const char *tenant, const char *asset_ref,
                                   const char *meter_type, double *value /* OUT */) AB_MUST_CHECK;

/* Work orders whose due_at (sla_due_at) is before now and whose status is
 * not completed, closed or cancelled, in id order after after_id, at most
 * limit; *more when more follow. */
enum ab_rc store_rules_wo_past_sla(struct store_read *r, const char *tenant, int64_t now,
                                   const char *after_id, size_t limit, struct arena *a,
                                   struct store_object **out /* OUT */, size_t *n /* OUT */,
                                   bool *more /* OUT */) AB_MUST_CHECK;

#endif
