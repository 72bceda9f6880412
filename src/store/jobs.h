/* SPDX-License-Identifier: Apache-2.0
 *
 * jobs.h: durable jobs (a sync or a reconciliation of one provider, started
 * through the API or by the reconcile schedule) and the scratch set a
 * reconciliation keeps of the native ids it saw at the provider. The job
 * runner (src/sync/jobs.c) claims queued jobs, records their progress and
 * outcome here; the API (src/api/jobs.c) adds, lists, reads and cancels
 * them. Every function that takes a tenant filters by it: another tenant's
 * job is AB_ENOTFOUND.
 *
 * States: queued -> running -> succeeded | failed | cancelled, and queued ->
 * cancelled. A running job asked to cancel keeps running until the runner
 * sees cancel_requested (at its next page).
 *
 * Thread-safety: as store.h.
 */
#ifndef AB_STORE_JOBS_H
#define AB_STORE_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/id.h"
#include "core/result.h"
#include "store/store.h"

enum store_job_state {
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    JOB_FAILED,
    JOB_CANCELLED,
};

/* "queued", "running", "succeeded", "failed", "cancelled"; never NULL. */
const char *store_job_state_name(enum store_job_state s);

/* The state named s; false when s names none. */
bool store_job_state_parse(const char *s, enum store_job_state *out /* OUT */);

/* True for succeeded, failed and cancelled. */
bool store_job_state_final(enum store_job_state s);

struct store_job {
    const char *id; /* ULID */
    const char *tenant;
    const char *kind;     /* "sync", "reconcile" */
    const char *provider; /* provider name */
    const char *entity;   /* NULL: every configured entity (sync) */
    const char *params;   /* JSON object text */
    enum store_job_state state;
    bool cancel_requested;
    int64_t pages, records;
    int64_t total;              /* expected records, or -1 when unknown */
    const char *result;         /* JSON text, or NULL */
    const char *error;          /* why it failed, or NULL */
    const char *created_by;     /* API key id, or "scheduler" */
    const char *correlation_id; /* may be NULL */
    int64_t created_at, started_at, finished_at, updated_at; /* INT64_MIN: not yet */
};

/* Add job j (queued; id, tenant, kind, provider and params required,
 * created_at/updated_at set to now). AB_ECONFLICT when the id exists. */
enum ab_rc store_job_add(struct store_tx *tx, const struct store_job *j) AB_MUST_CHECK;

/* Tenant's job id, strings in a. AB_ENOTFOUND when tenant has no such job. */
enum ab_rc store_job_get(struct store_read *r, const char *tenant, const char *id, struct arena *a,
                         struct store_job *out /* OUT */) AB_MUST_CHECK;

/* Filters for store_job_list; NULL / has_state false = any. */
struct store_job_filter {
    const char *tenant; /* required */
    bool has_state;
    enum store_job_state state;
    const char *provider;
    const char *kind;
};

/* Jobs matching f, newest first, with id < before_id (NULL or "": from the
 * newest), at most limit (1..1000). Strings live in a. */
enum ab_rc store_job_list(struct store_read *r, const struct store_job_filter *f,
                          const char *before_id, size_t limit, struct arena *a,
                          struct store_job **out /* OUT */, size_t *n /* OUT */) AB_MUST_CHECK;

/* The newest job of (tenant, kind, provider, entity) whatever its state;
 * *found false when there is none. Strings live in a. */
enum ab_rc store_job_last(struct store_read *r, const char *tenant, const char *kind,
                          const char *provider, const char *entity, struct arena *a,
                          struct store_job *out /* OUT */, bool *found /* OUT */) AB_MUST_CHECK;

/* True (in *busy) when (tenant, kind, provider, entity) has a queued or
 * running job. */
enum ab_rc store_job_busy(struct store_read *r, const char *tenant, const char *kind,
                          const char *provider, const char *entity,
                          bool *busy /* OUT */) AB_MUST_CHECK;

/* Claim the oldest queued job of any tenant: it becomes running with
 * started_at now. *found false when none is queued. Strings live in a. */
enum ab_rc store_job_claim(struct store_tx *tx, struct arena *a, struct store_job *out /* OUT */,
                           bool *found /* OUT */) AB_MUST_CHECK;

/* Record the progress of running job id (total -1: unknown). */
enum ab_rc store_job_progress(struct store_tx *tx, const char *tenant, const char *id,
                              int64_t pages, int64_t records, int64_t total) AB_MUST_CHECK;

/* Whether running job id has been asked to cancel (*cancel), read in a
 * session of its own. AB_ENOTFOUND when it does not exist. */
enum ab_rc store_job_cancel_requested(struct store *s, const char *tenant, const char *id,
                                      bool *cancel /* OUT */) AB_MUST_CHECK;

/* End running job id in state (succeeded, failed or cancelled) with result
 * (JSON text, may be NULL) and error (may be NULL), finished_at now, and the
 * final progress. AB_ECONFLICT when it is not running. */
enum ab_rc store_job_finish(struct store_tx *tx, const char *tenant, const char *id,
                            enum store_job_state state, int64_t pages, int64_t records,
                            const char *result, const char *error) AB_MUST_CHECK;

/* Cancel tenant's job id: a queued job becomes cancelled at once, a running
 * one is marked cancel_requested (the runner stops it at its next page).
 * *state (may be NULL) gets the state after the call. AB_ENOTFOUND when
 * tenant has no such job, AB_ECONFLICT when it has ended already. */
enum ab_rc store_job_cancel(struct store_tx *tx, const char *tenant, const char *id,
                            enum store_job_state *state /* OUT, may be NULL */) AB_MUST_CHECK;

/* At start: every running job (of any tenant) was left by a process that
 * died: it becomes failed with the error "interrupted by a restart", and
 * its scratch set is dropped. *n (may be NULL) gets how many. */
enum ab_rc store_jobs_interrupt(struct store_tx *tx,
                                int64_t *n /* OUT, may be NULL */) AB_MUST_CHECK;

/* ---- the scratch set of a reconciliation ------------------------------------------- */

/* Note native_id as seen at the provider by job_id. *added false when it
 * was noted already (a record served twice). */
enum ab_rc store_job_seen_add(struct store_tx *tx, const char *job_id, const char *native_id,
                              bool *added /* OUT */) AB_MUST_CHECK;

/* Drop job_id's scratch set. */
enum ab_rc store_job_seen_clear(struct store_tx *tx, const char *job_id) AB_MUST_CHECK;

/* The hub's record of (tenant, provider, entity, native_id) as a
 * reconciliation compares it: its content digest and whether it is marked
 * missing at the source. *found false when the hub has none. Inside a write
 * job (the reconciliation compares and repairs a page in one job). */
struct store_hub_record {
    bool found;
    bool missing_at_source;
    char digest[65];
};
enum ab_rc store_hub_record_get(struct store_tx *tx, const char *tenant, const char *provider,
                                const char *entity, const char *native_id,
                                struct store_hub_record *out /* OUT */) AB_MUST_CHECK;

/* How many records of (tenant, provider, entity) the hub holds that are not
 * marked missing at the source (*n). */
enum ab_rc store_hub_record_count(struct store_read *r, const char *tenant, const char *provider,
                                  const char *entity, int64_t *n /* OUT */) AB_MUST_CHECK;

/* The hub's records of (tenant, provider, entity), not marked missing at the
 * source, that job_id did not see: *count gets how many, ids the first
 * max_ids of them in native id order (strings in a; *n_ids how many). */
enum ab_rc store_job_unseen(struct store_read *r, const char *tenant, const char *provider,
                            const char *entity, const char *job_id, size_t max_ids, struct arena *a,
                            int64_t *count /* OUT */, const char ***ids /* OUT */,
                            size_t *n_ids /* OUT */) AB_MUST_CHECK;

/* Record that job_id saw its scratch set at the provider: the hub's records
 * of (tenant, provider, entity) among them get seen_at = now (what a full
 * pull records for a record it sees), so that store_records_mark_missing
 * with a `since` taken before the reconciliation began marks exactly the
 * records nobody saw since. *n (may be NULL) gets how many were touched. */
enum ab_rc store_job_seen_touch(struct store_tx *tx, const char *tenant, const char *provider,
                                const char *entity, const char *job_id, int64_t since,
                                int64_t *n /* OUT, may be NULL */) AB_MUST_CHECK;

#endif
