/* SPDX-License-Identifier: Apache-2.0
 *
 * jobs.h: the sync engine's job runner. A job is a durable row
 * (store/jobs.h): a sync of one provider (one entity, or each configured
 * one) or a reconciliation of one provider entity, submitted through the
 * API or by the reconcile schedule (config providers.P.entities.E.
 * reconcile_interval / reconcile_repair). One runner thread per engine
 * claims queued jobs oldest first and runs them one at a time, records
 * their progress at most about once a second, stops a job asked to cancel
 * at its next page, and queues the scheduled reconciliations when they are
 * due.
 *
 * A reconciliation pages through the provider's full set (unstored fetches,
 * rate-limited and breaker-guarded like every provider call), compares each
 * record with the hub's record of the same native id by content digest, and
 * reports the records missing in the hub, extra in the hub and different
 * (counts and the first RECONCILE_MAX_IDS ids of each). Memory stays bounded
 * whatever the number of records: the seen ids go to a scratch table, one
 * page is held at a time. With repair, missing and different records go
 * through the normal upsert (mapping exceptions are recorded as a pull
 * records them) and, when the whole set was read, the extra ones are marked
 * missing at the source as a full pass marks them; the repair is audited
 * (action "reconcile.repair": actor, job id, counts). Without repair the
 * hub's data is not changed. docs/internals/sync.md, "Jobs and
 * reconciliation", describes it.
 *
 * Thread-safety: sync_jobs_start/stop from the thread that starts and stops
 * the engine; sync_jobs_submit and sync_jobs_notify from any thread.
 */
#ifndef AB_SYNC_JOBS_H
#define AB_SYNC_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "store/jobs.h"
#include "sync/engine.h"

#define RECONCILE_MAX_IDS 100 /* ids of each kind a reconcile report lists */

struct sync_jobs;

/* Start e's job runner: jobs left running by a process that died are marked
 * failed ("interrupted by a restart"), the reconcile schedule is set up
 * (first run one interval after the last reconciliation of the entity, or
 * after now), and, unless e runs in manual mode, the runner thread starts.
 * *out is the runner (free it with sync_jobs_stop). AB_EINTERNAL when the
 * thread cannot start; store errors as store_write. */
enum ab_rc sync_jobs_start(struct sync_engine *e, struct sync_jobs **out /* OUT */) AB_MUST_CHECK;

/* Stop and free the runner (NULL accepted): call it after
 * sync_engine_stop has set the stopping flag (sync_stopping(e) true) and
 * before the providers are cleaned up. A job in progress stops at its next
 * page and is recorded failed ("interrupted: the service stopped"). */
void sync_jobs_stop(struct sync_jobs *j);

/* Manual mode (tests): run every queued job in the calling thread, then
 * return; *ran (may be NULL) gets how many jobs ran. */
enum ab_rc sync_jobs_run_pending(struct sync_jobs *j,
                                 int *ran /* OUT, may be NULL */) AB_MUST_CHECK;

/* Manual mode (tests): queue the scheduled reconciliations that are due now
 * (clock_now_ms); *queued (may be NULL) gets how many. */
enum ab_rc sync_jobs_schedule_tick(struct sync_jobs *j,
                                   int *queued /* OUT, may be NULL */) AB_MUST_CHECK;

/* What a job submission asks for. */
struct sync_job_request {
    const char *tenant;
    const char *kind;     /* "sync" or "reconcile" */
    const char *provider; /* required */
    const char *entity;   /* required for reconcile; NULL for sync: every configured entity */
    bool full;            /* sync: a full pass */
    bool repair;          /* reconcile: repair what it finds */
    const char *created_by;
    const char *correlation_id;
};

/* Check req against the engine and queue it as a job, then wake the
 * runner. *out gets the stored job (strings in a). Errors, with *field (may
 * be NULL) naming the request field at fault: AB_EUNAVAILABLE when e is
 * NULL; AB_ENOTFOUND when e does not run the provider; AB_EINVAL when the
 * entity is missing (reconcile) or not configured for the provider;
 * AB_EUNSUPPORTED when the provider's connector cannot pull it; store
 * errors. Thread-safe. */
enum ab_rc sync_jobs_submit(struct sync_engine *e, const struct sync_job_request *req,
                            struct arena *a, struct store_job *out /* OUT */,
                            const char **field /* OUT, may be NULL */) AB_MUST_CHECK;

/* Wake the runner (and the engine's idle loops) at once. NULL accepted. */
void sync_jobs_notify(struct sync_engine *e);

#endif
