/* SPDX-License-Identifier: Apache-2.0
 *
 * jobs.c: the sync engine's job runner (one thread per engine): queued sync
 * and reconcile jobs run one at a time, oldest first, with their progress in
 * the store; scheduled reconciliations are queued when due. A sync job runs
 * the engine's pull pass one page at a time (so that a cancel takes effect
 * at the next page; the pass resumes at its checkpoint like any pull); a
 * reconcile job fetches the provider's full set page by page without storing
 * it and compares it with the hub in one store job per page. See jobs.h and
 * docs/internals/sync.md ("Jobs and reconciliation").
 */
#include "sync/jobs.h"
#include "sync/engine_int.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "model/digest.h"
#include "store/journal.h"
#include "store/records.h"

#define PAGE_ARENA_BLOCK (64 * 1024)
#define PROGRESS_EVERY_MS 1000
#define EAGAIN_BUDGET_MS (10 * 60 * 1000) /* a job waits this long in all for the provider */
#define EAGAIN_WAIT_MAX_MS 2000
#define STORE_RETRIES 50

struct sched {
    struct prov *p;
    struct ent_sched *es;
    int64_t interval_ms;
    int64_t next_due;
    bool repair;
};

struct sync_jobs {
    struct sync_engine *e;
    pthread_t th;
    bool started;
    bool stop; /* guarded by e->mu */
    struct sched *sched;
    size_t n_sched;
};

/* ---- waiting and stopping ---------------------------------------------------------- */

static bool stopping(struct sync_jobs *j)
{
    pthread_mutex_lock(&j->e->mu);
    bool s = j->stop || j->e->stopping;
    pthread_mutex_unlock(&j->e->mu);
    return s;
}

/* Wait up to ms of real time, or until woken (a submission, stop). */
static void jobs_wait(struct sync_jobs *j, int64_t ms)
{
    struct sync_engine *e = j->e;
    struct timespec ts = clock_deadline_in(ms);
    pthread_mutex_lock(&e->mu);
    if (!e->stopping && !j->stop)
        (void)pthread_cond_timedwait(&e->cond, &e->mu, &ts);
    pthread_mutex_unlock(&e->mu);
}

void sync_jobs_notify(struct sync_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->mu);
}

/* store_write, retried while the store's queue is full (the job did not run). */
static enum ab_rc write_retry(struct sync_jobs *j, store_job_fn fn, void *arg, const char *corr)
{
    enum ab_rc rc = AB_EAGAIN;
    for (int i = 0; i < STORE_RETRIES && rc == AB_EAGAIN; i++) {
        rc = store_write(j->e->store, fn, arg, corr);
        if (rc == AB_EAGAIN)
            jobs_wait(j, 100);
    }
    return rc;
}

/* ---- one running job ---------------------------------------------------------------- */

enum stop_why { GO_ON, STOP_CANCEL, STOP_SHUTDOWN };

struct run {
    struct sync_jobs *j;
    struct store_job job;
    struct arena *a; /* lives as long as the run */
    struct prov *p;
    int64_t pages, records, total;
    int64_t last_progress; /* clock_mono_ms of the last progress write */
    char error[300];
};

struct progress_job {
    struct run *run;
};

static enum ab_rc progress_fn(struct store_tx *tx, void *arg)
{
    struct run *run = ((struct progress_job *)arg)->run;
    return store_job_progress(tx, run->job.tenant, run->job.id, run->pages, run->records,
                              run->total);
}

/* Write the progress when about a second has passed (or force). */
static void checkpoint(struct run *run, bool force)
{
    int64_t now = clock_mono_ms();
    if (!force && now - run->last_progress < PROGRESS_EVERY_MS)
        return;
    run->last_progress = now;
    struct progress_job pj = {run};
    enum ab_rc rc = write_retry(run->j, progress_fn, &pj, run->job.correlation_id);
    if (rc)
        log_warn(run->job.correlation_id, "jobs: cannot record progress",
                 LOG_STR("job", run->job.id), LOG_STR("error", ab_rc_name(rc)));
}

/* Should the job stop before its next page? */
static enum stop_why should_stop(struct run *run)
{
    if (stopping(run->j))
        return STOP_SHUTDOWN;
    bool cancel = false;
    enum ab_rc rc =
        store_job_cancel_requested(run->j->e->store, run->job.tenant, run->job.id, &cancel);
    if (rc)
        log_warn(run->job.correlation_id, "jobs: cannot read the cancel flag",
                 LOG_STR("job", run->job.id), LOG_STR("error", ab_rc_name(rc)));
    return cancel ? STOP_CANCEL : GO_ON;
}

static void fail(struct run *run, const char *fmt, ...) AB_PRINTF(2, 3);

static void fail(struct run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->error, sizeof(run->error), fmt, ap);
    va_end(ap);
}

/* Wait out an AB_EAGAIN: false when the job has waited too long in all. */
static bool wait_again(struct run *run, int64_t *waited, int64_t wait_ms)
{
    if (*waited >= EAGAIN_BUDGET_MS)
        return false;
    if (wait_ms <= 0)
        wait_ms = 100;
    if (wait_ms > EAGAIN_WAIT_MAX_MS)
        wait_ms = EAGAIN_WAIT_MAX_MS;
    jobs_wait(run->j, wait_ms);
    *waited += wait_ms;
    return true;
}

/* ---- sync jobs -------------------------------------------------------------------- */

struct sync_progress {
    struct run *run;
    int64_t base_pages, base_records;
};

static void on_pull_progress(void *arg, int pages, int64_t records)
{
    struct sync_progress *sp = arg;
    sp->run->pages = sp->base_pages + pages;
    sp->run->records = sp->base_records + records;
    checkpoint(sp->run, false);
}

/* True when (provider, entity) has no checkpoint: no pass is under way. */
static enum ab_rc pass_done(struct run *run, const char *entity, bool *done)
{
    struct store_read *r = NULL;
    struct store_sync_state st;
    memset(&st, 0, sizeof(st));
    struct arena *a = arena_new(0, 0);
    *done = false;
    enum ab_rc rc = store_read_begin(run->j->e->store, &r);
    if (!rc) {
        rc = store_sync_state_get(r, run->job.tenant, run->job.provider, entity, a, &st);
        store_read_end(r);
    }
    if (!rc)
        *done = st.page_token == NULL;
    arena_free(a);
    return rc;
}

/* One entity's pass, a page per call. */
static enum stop_why sync_entity(struct run *run, struct ent_sched *es, bool full, json_t *out)
{
    int64_t waited = 0, backoff = 100;
    int64_t pages0 = run->pages, records0 = run->records;
    bool started = false;
    enum stop_why why = GO_ON;
    for (;;) {
        why = should_stop(run);
        if (why != GO_ON)
            break;
        struct sync_progress sp = {run, run->pages, run->records};
        int pages = 0;
        enum ab_rc rc = sync_pull_pass(run->p, es, full, 1, &pages, on_pull_progress, &sp);
        if (rc == AB_EAGAIN) {
            bool done = false;
            if (started && !pass_done(run, es->name, &done) && done)
                break; /* a scheduled pull finished the pass begun here */
            if (!wait_again(run, &waited, backoff)) {
                fail(run,
                     "%s: the provider stayed busy or unavailable (breaker open, no "
                     "rate-limit token, or a pull of it running) for too long",
                     es->name);
                break;
            }
            backoff = backoff * 2 > EAGAIN_WAIT_MAX_MS ? EAGAIN_WAIT_MAX_MS : backoff * 2;
            continue;
        }
        if (rc) {
            fail(run, "pull of %s failed: %s (details in the sync log)", es->name, ab_rc_name(rc));
            break;
        }
        started = true;
        waited = 0;
        backoff = 100;
        bool done = false;
        rc = pass_done(run, es->name, &done);
        if (rc) {
            fail(run, "cannot read the sync state of %s: %s", es->name, ab_rc_name(rc));
            break;
        }
        if (done)
            break;
        /* not done: the next page (no page and not done means stopping, which
         * the top of the loop sees) */
    }
    json_t *o =
        json_pack("{s:s, s:I, s:I}", "entity", es->name, "pages", (json_int_t)(run->pages - pages0),
                  "records", (json_int_t)(run->records - records0));
    json_object_set_new(o, "outcome",
                        json_string(why == STOP_CANCEL     ? "cancelled"
                                    : why == STOP_SHUTDOWN ? "interrupted"
                                    : run->error[0]        ? "failed"
                                                           : "succeeded"));
    if (run->error[0] && why == GO_ON)
        json_object_set_new(o, "error", json_string(run->error));
    json_array_append_new(out, o);
    return why;
}

static enum stop_why run_sync(struct run *run, json_t *result)
{
    json_t *params = json_loads(run->job.params ? run->job.params : "{}", 0, NULL);
    bool full = json_is_true(json_object_get(params, "full"));
    json_decref(params);
    json_t *ents = json_array();
    json_object_set_new(result, "full", json_boolean(full));
    json_object_set_new(result, "entities", ents);
    enum stop_why why = GO_ON;
    for (size_t i = 0; i < run->p->n_ents && why == GO_ON && !run->error[0]; i++) {
        struct ent_sched *es = &run->p->ents[i];
        if (run->job.entity ? strcmp(run->job.entity, es->name) != 0 : es->unsupported)
            continue;
        if (es->unsupported) {
            fail(run, "the %s connector cannot pull %s", run->p->ops->name, es->name);
            break;
        }
        why = sync_entity(run, es, full, ents);
    }
    if (run->job.entity && json_array_size(ents) == 0 && !run->error[0])
        fail(run, "entity %s is not configured for provider %s", run->job.entity,
             run->job.provider);
    return why;
}

/* ---- reconcile jobs ------------------------------------------------------------- */

struct idlist {
    const char **v;
    size_t n;
};

struct recon {
    struct run *run;
    const char *entity;
    bool repair;
    int64_t missing, extra, different, same, skipped, duplicates;
    int64_t created, updated, unchanged, conflicts, exceptions, invalid, marked_missing;
    struct idlist missing_ids, different_ids;
};

static void note_id(struct recon *rc, struct idlist *l, const char *id)
{
    if (l->n < RECONCILE_MAX_IDS)
        l->v[l->n++] = arena_strdup(rc->run->a, id);
}

struct recon_page {
    struct recon *rc;
    const struct conn_page *page;
    struct arena *a;
};

/* One page: note the ids seen, compare, and with repair upsert what differs. */
static enum ab_rc recon_page_fn(struct store_tx *tx, void *arg)
{
    struct recon_page *pj = arg;
    struct recon *rc = pj->rc;
    const struct store_job *job = &rc->run->job;
    enum ab_rc r;
    for (size_t i = 0; i < pj->page->n_records; i++) {
        const struct conn_record *cr = &pj->page->records[i];
        if (!cr->native_id || !json_is_object(cr->doc) || cr->deleted) {
            rc->skipped++;
            continue;
        }
        bool added = false;
        r = store_job_seen_add(tx, job->id, cr->native_id, &added);
        if (r)
            return r;
        if (!added) {
            rc->duplicates++; /* served twice: compared once */
            continue;
        }
        char digest[MODEL_DIGEST_HEX_LEN + 1];
        if (model_digest(cr->doc, digest) != AB_OK) {
            rc->skipped++;
            continue;
        }
        struct store_hub_record hub;
        r = store_hub_record_get(tx, job->tenant, job->provider, rc->entity, cr->native_id, &hub);
        if (r)
            return r;
        if (!hub.found) {
            rc->missing++;
            note_id(rc, &rc->missing_ids, cr->native_id);
        } else if (hub.missing_at_source || strcmp(hub.digest, digest) != 0) {
            rc->different++;
            note_id(rc, &rc->different_ids, cr->native_id);
        } else {
            rc->same++;
            continue;
        }
        if (!rc->repair)
            continue;
        struct store_record rec = sync_record_of(job->tenant, job->provider, rc->entity, cr);
        struct store_upsert_result res;
        r = store_record_upsert(tx, &rec, pj->a, &res);
        if (r == AB_EINVAL) {
            rc->invalid++;
            r = store_sync_log_add(
                tx, job->tenant, job->provider, rc->entity, cr->native_id, "warn",
                arena_printf(pj->a, "reconcile repair: invalid record refused: %s", res.message));
            if (r)
                return r;
            continue;
        }
        if (r)
            return r;
        switch (res.outcome) {
        case STORE_UPSERT_CREATED: rc->created++; break;
        case STORE_UPSERT_UPDATED: rc->updated++; break;
        case STORE_UPSERT_UNCHANGED: rc->unchanged++; break;
        case STORE_UPSERT_CONFLICT: rc->conflicts++; break;
        case STORE_UPSERT_EXCEPTION: rc->exceptions++; break;
        default: break;
        }
    }
    return AB_OK;
}

static json_t *repair_counts(const struct recon *rc)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "created", (json_int_t)rc->created,
                     "updated", (json_int_t)rc->updated, "unchanged", (json_int_t)rc->unchanged,
                     "conflicts", (json_int_t)rc->conflicts, "exceptions",
                     (json_int_t)rc->exceptions, "invalid", (json_int_t)rc->invalid,
                     "marked_missing", (json_int_t)rc->marked_missing);
}

struct recon_end {
    struct recon *rc;
    bool complete; /* the whole provider set was read: extras may be marked */
    int64_t since;
};

/* The end of a repair: mark the extra records missing at the source (the
 * way a full pass marks them), audit the repair, drop the scratch set. */
static enum ab_rc recon_end_fn(struct store_tx *tx, void *arg)
{
    struct recon_end *en = arg;
    struct recon *rc = en->rc;
    const struct store_job *job = &rc->run->job;
    enum ab_rc r = AB_OK;
    rc->marked_missing = 0;
    if (en->complete) {
        r = store_job_seen_touch(tx, job->tenant, job->provider, rc->entity, job->id, en->since,
                                 NULL);
        if (!r)
            r = store_records_mark_missing(tx, job->tenant, job->provider, rc->entity, en->since,
                                           &rc->marked_missing);
    }
    if (!r) {
        json_t *d = repair_counts(rc);
        json_object_set_new(d, "job_id", json_string(job->id));
        json_object_set_new(d, "provider", json_string(job->provider));
        json_object_set_new(d, "entity", json_string(rc->entity));
        json_object_set_new(d, "missing", json_integer(rc->missing));
        json_object_set_new(d, "extra", json_integer(rc->extra));
        json_object_set_new(d, "different", json_integer(rc->different));
        json_object_set_new(d, "complete", json_boolean(en->complete));
        char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(d);
        struct store_audit au = {0};
        au.tenant = job->tenant;
        au.actor = job->created_by ? job->created_by : "system";
        au.action = "reconcile.repair";
        au.subject = arena_printf(rc->run->a, "job/%s", job->id);
        au.detail = detail;
        r = detail ? store_audit_add(tx, &au) : AB_EINTERNAL;
        free(detail);
    }
    if (!r)
        r = store_job_seen_clear(tx, job->id);
    return r;
}

static enum ab_rc seen_clear_fn(struct store_tx *tx, void *arg)
{
    return store_job_seen_clear(tx, (const char *)arg);
}

static json_t *ids_json(const struct idlist *l)
{
    json_t *v = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(v, json_string(l->v[i]));
    return v;
}

static enum stop_why run_reconcile(struct run *run, json_t *result)
{
    struct sync_jobs *j = run->j;
    struct recon rc;
    memset(&rc, 0, sizeof(rc));
    rc.run = run;
    rc.entity = run->job.entity;
    rc.missing_ids.v = arena_zalloc(run->a, RECONCILE_MAX_IDS * sizeof(char *));
    rc.different_ids.v = arena_zalloc(run->a, RECONCILE_MAX_IDS * sizeof(char *));
    json_t *params = json_loads(run->job.params ? run->job.params : "{}", 0, NULL);
    rc.repair = json_is_true(json_object_get(params, "repair"));
    json_decref(params);
    struct ent_sched *es = rc.entity ? sync_find_ent(run->p, rc.entity) : NULL;
    if (!es) {
        fail(run, "entity %s is not configured for provider %s", rc.entity ? rc.entity : "(none)",
             run->job.provider);
        return GO_ON;
    }
    if (es->unsupported) {
        fail(run, "the %s connector cannot pull %s", run->p->ops->name, rc.entity);
        return GO_ON;
    }
    int64_t since = clock_now_ms();
    struct store_read *r = NULL;
    enum ab_rc e = store_read_begin(j->e->store, &r);
    if (!e) {
        e = store_hub_record_count(r, run->job.tenant, run->job.provider, rc.entity, &run->total);
        store_read_end(r);
    }
    if (e)
        run->total = -1;
    checkpoint(run, true);

    char *token = NULL;
    bool complete = false;
    int64_t waited = 0;
    enum stop_why why = GO_ON;
    for (;;) {
        why = should_stop(run);
        if (why != GO_ON)
            break;
        struct arena *a = arena_new(PAGE_ARENA_BLOCK, 0);
        struct conn_page page;
        int64_t wait = 0;
        e = sync_fetch_page(run->p, rc.entity, token, a, &page, &wait);
        if (e == AB_EAGAIN) {
            arena_free(a);
            if (!wait_again(run, &waited, wait)) {
                fail(run, "the provider stayed unavailable (breaker open or no rate-limit token) "
                          "for too long");
                break;
            }
            continue;
        }
        if (e) {
            arena_free(a);
            fail(run, "fetching a page of %s failed: %s", rc.entity, ab_rc_name(e));
            break;
        }
        waited = 0;
        struct recon_page pj = {&rc, &page, a};
        e = write_retry(j, recon_page_fn, &pj, run->job.correlation_id);
        if (e) {
            arena_free(a);
            fail(run, "comparing a page of %s failed: %s", rc.entity, ab_rc_name(e));
            break;
        }
        run->pages++;
        run->records += (int64_t)page.n_records;
        checkpoint(run, false);
        free(token);
        token = page.next_page_token ? xstrdup(page.next_page_token) : NULL;
        arena_free(a);
        if (!token) {
            complete = true;
            break;
        }
    }
    free(token);

    const char **extra_ids = NULL;
    size_t n_extra = 0;
    if (complete) {
        e = store_read_begin(j->e->store, &r);
        if (!e) {
            e = store_job_unseen(r, run->job.tenant, run->job.provider, rc.entity, run->job.id,
                                 RECONCILE_MAX_IDS, run->a, &rc.extra, &extra_ids, &n_extra);
            store_read_end(r);
        }
        if (e)
            fail(run, "cannot find the hub's extra records: %s", ab_rc_name(e));
    }
    if (rc.repair && (complete || rc.created + rc.updated + rc.exceptions + rc.conflicts)) {
        struct recon_end en = {&rc, complete && !run->error[0], since};
        e = write_retry(j, recon_end_fn, &en, run->job.correlation_id);
        if (e && !run->error[0])
            fail(run, "marking the extra records missing failed: %s", ab_rc_name(e));
    }
    e = write_retry(j, seen_clear_fn, (void *)run->job.id, run->job.correlation_id);
    if (e)
        log_warn(run->job.correlation_id, "jobs: cannot drop a reconciliation's scratch set",
                 LOG_STR("job", run->job.id), LOG_STR("error", ab_rc_name(e)));

    struct idlist xl = {extra_ids, n_extra};
    json_object_set_new(result, "entity", json_string(rc.entity));
    json_object_set_new(result, "repair", json_boolean(rc.repair));
    json_object_set_new(result, "complete", json_boolean(complete));
    json_object_set_new(result, "provider_records", json_integer(run->records));
    json_object_set_new(result, "missing", json_integer(rc.missing));
    json_object_set_new(result, "extra", complete ? json_integer(rc.extra) : json_null());
    json_object_set_new(result, "different", json_integer(rc.different));
    json_object_set_new(result, "same", json_integer(rc.same));
    json_object_set_new(result, "skipped", json_integer(rc.skipped));
    json_object_set_new(result, "duplicates", json_integer(rc.duplicates));
    json_object_set_new(result, "missing_ids", ids_json(&rc.missing_ids));
    json_object_set_new(result, "extra_ids", ids_json(&xl));
    json_object_set_new(result, "different_ids", ids_json(&rc.different_ids));
    json_object_set_new(result, "max_ids", json_integer(RECONCILE_MAX_IDS));
    json_object_set_new(result, "repaired", rc.repair ? repair_counts(&rc) : json_null());
    return why;
}

/* ---- running a claimed job -------------------------------------------------------------- */

struct finish_job {
    struct run *run;
    enum store_job_state state;
    const char *result, *error;
};

static enum ab_rc finish_fn(struct store_tx *tx, void *arg)
{
    struct finish_job *f = arg;
    return store_job_finish(tx, f->run->job.tenant, f->run->job.id, f->state, f->run->pages,
                            f->run->records, f->result, f->error);
}

static void run_job(struct sync_jobs *j, const struct store_job *job, struct arena *a)
{
    struct run run;
    memset(&run, 0, sizeof(run));
    run.j = j;
    run.job = *job;
    run.a = a;
    run.total = -1;
    run.last_progress = clock_mono_ms();
    const char *corr = job->correlation_id;
    log_info(corr, "jobs: job started", LOG_STR("job", job->id), LOG_STR("kind", job->kind),
             LOG_STR("tenant", job->tenant), LOG_STR("provider", job->provider),
             LOG_STR("entity", job->entity ? job->entity : ""));
    json_t *result = json_object();
    enum stop_why why = GO_ON;
    run.p = sync_find_prov(j->e, job->tenant, job->provider);
    if (!run.p)
        fail(&run, "provider %s is not running (not configured, or no connector)", job->provider);
    else if (strcmp(job->kind, "sync") == 0)
        why = run_sync(&run, result);
    else if (strcmp(job->kind, "reconcile") == 0)
        why = run_reconcile(&run, result);
    else
        fail(&run, "unknown job kind %s", job->kind);

    struct finish_job f = {&run, JOB_SUCCEEDED, NULL, NULL};
    if (why == STOP_CANCEL) {
        f.state = JOB_CANCELLED;
        f.error = "cancelled on request";
    } else if (why == STOP_SHUTDOWN) {
        f.state = JOB_FAILED;
        f.error = "interrupted: the service stopped";
    } else if (run.error[0]) {
        f.state = JOB_FAILED;
        f.error = run.error;
    }
    char *text = json_dumps(result, JSON_COMPACT);
    json_decref(result);
    f.result = text;
    enum ab_rc rc = write_retry(j, finish_fn, &f, corr);
    free(text);
    if (rc)
        log_error(corr, "jobs: cannot record the end of a job", LOG_STR("job", job->id),
                  LOG_STR("error", ab_rc_name(rc)));
    log_info(corr, "jobs: job ended", LOG_STR("job", job->id),
             LOG_STR("state", store_job_state_name(f.state)), LOG_INT("pages", run.pages),
             LOG_INT("records", run.records), LOG_STR("error", f.error ? f.error : ""));
}

struct claim_job {
    struct arena *a;
    struct store_job job;
    bool found;
};

static enum ab_rc claim_fn(struct store_tx *tx, void *arg)
{
    struct claim_job *c = arg;
    return store_job_claim(tx, c->a, &c->job, &c->found);
}

/* Claim and run one queued job; *ran false when none was queued. */
static enum ab_rc run_one(struct sync_jobs *j, bool *ran)
{
    *ran = false;
    struct arena *a = arena_new(0, 0);
    struct claim_job c = {a, {0}, false};
    enum ab_rc rc = write_retry(j, claim_fn, &c, NULL);
    if (!rc && c.found) {
        run_job(j, &c.job, a);
        *ran = true;
    }
    arena_free(a);
    return rc;
}

enum ab_rc sync_jobs_run_pending(struct sync_jobs *j, int *ran)
{
    int n = 0;
    bool one = true;
    enum ab_rc rc = AB_OK;
    while (!rc && one && !stopping(j)) {
        rc = run_one(j, &one);
        n += one;
    }
    if (ran)
        *ran = n;
    return rc;
}

/* ---- submission ---------------------------------------------------------------------- */

struct add_job {
    const struct store_job *job;
};

static enum ab_rc add_fn(struct store_tx *tx, void *arg)
{
    return store_job_add(tx, ((struct add_job *)arg)->job);
}

enum ab_rc sync_jobs_submit(struct sync_engine *e, const struct sync_job_request *req,
                            struct arena *a, struct store_job *out, const char **field)
{
    const char *dummy;
    if (!field)
        field = &dummy;
    *field = NULL;
    memset(out, 0, sizeof(*out));
    bool reconcile = strcmp(req->kind, "reconcile") == 0;
    if (!reconcile && strcmp(req->kind, "sync") != 0) {
        *field = "kind";
        return AB_EINVAL;
    }
    if (!e)
        return AB_EUNAVAILABLE;
    struct prov *p = sync_find_prov(e, req->tenant, req->provider);
    if (!p) {
        *field = "provider";
        return AB_ENOTFOUND;
    }
    if (reconcile && !req->entity) {
        *field = "entity";
        return AB_EINVAL;
    }
    if (req->entity) {
        struct ent_sched *es = sync_find_ent(p, req->entity);
        *field = "entity";
        if (!es)
            return AB_EINVAL;
        if (es->unsupported)
            return AB_EUNSUPPORTED;
        *field = NULL;
    }
    char id[ID_ULID_LEN + 1];
    id_ulid_new(id);
    json_t *params = reconcile ? json_pack("{s:b}", "repair", req->repair)
                               : json_pack("{s:b}", "full", req->full);
    if (req->entity)
        json_object_set_new(params, "entity", json_string(req->entity));
    char *ptext = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(params);
    if (!ptext)
        return AB_EINTERNAL;
    out->id = arena_strdup(a, id);
    out->tenant = arena_strdup(a, req->tenant);
    out->kind = reconcile ? "reconcile" : "sync";
    out->provider = arena_strdup(a, req->provider);
    out->entity = req->entity ? arena_strdup(a, req->entity) : NULL;
    out->params = arena_strdup(a, ptext);
    out->state = JOB_QUEUED;
    out->total = -1;
    out->created_by = req->created_by ? arena_strdup(a, req->created_by) : NULL;
    out->correlation_id = req->correlation_id ? arena_strdup(a, req->correlation_id) : NULL;
    free(ptext);
    struct add_job aj = {out};
    enum ab_rc rc = store_write(e->store, add_fn, &aj, req->correlation_id);
    if (rc)
        return rc;
    out->created_at = out->updated_at = clock_now_ms();
    out->started_at = out->finished_at = INT64_MIN;
    sync_jobs_notify(e);
    return AB_OK;
}

/* ---- the reconcile schedule ----------------------------------------------------------------- */

static void sched_init(struct sync_jobs *j)
{
    struct sync_engine *e = j->e;
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        for (size_t k = 0; k < e->provs[i].n_ents; k++)
            if (e->provs[i].ents[k].cfg && e->provs[i].ents[k].cfg->reconcile_interval_ms > 0 &&
                !e->provs[i].ents[k].unsupported)
                n++;
    j->sched = xcalloc(n ? n : 1, sizeof(*j->sched));
    struct arena *a = arena_new(0, 0);
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < e->n; i++) {
        struct prov *p = &e->provs[i];
        for (size_t k = 0; k < p->n_ents; k++) {
            struct ent_sched *es = &p->ents[k];
            if (!es->cfg || es->cfg->reconcile_interval_ms <= 0 || es->unsupported)
                continue;
            struct sched *s = &j->sched[j->n_sched++];
            s->p = p;
            s->es = es;
            s->interval_ms = es->cfg->reconcile_interval_ms;
            s->repair = es->cfg->reconcile_repair;
            s->next_due = now + s->interval_ms;
            struct store_read *r = NULL;
            struct store_job last;
            bool found = false;
            if (store_read_begin(e->store, &r) == AB_OK) {
                if (store_job_last(r, p->tenant, "reconcile", p->cfg->name, es->name, a, &last,
                                   &found) == AB_OK &&
                    found && last.created_at != INT64_MIN)
                    s->next_due = last.created_at + s->interval_ms;
                store_read_end(r);
            }
        }
    }
    arena_free(a);
}

enum ab_rc sync_jobs_schedule_tick(struct sync_jobs *j, int *queued)
{
    int n = 0;
    enum ab_rc rc = AB_OK;
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < j->n_sched && !rc; i++) {
        struct sched *s = &j->sched[i];
        if (now < s->next_due)
            continue;
        s->next_due = now + s->interval_ms;
        bool busy = false;
        struct store_read *r = NULL;
        rc = store_read_begin(j->e->store, &r);
        if (!rc) {
            rc = store_job_busy(r, s->p->tenant, "reconcile", s->p->cfg->name, s->es->name, &busy);
            store_read_end(r);
        }
        if (rc || busy)
            continue;
        struct sync_job_request req = {
            .tenant = s->p->tenant,
            .kind = "reconcile",
            .provider = s->p->cfg->name,
            .entity = s->es->name,
            .repair = s->repair,
            .created_by = "scheduler",
        };
        struct arena *a = arena_new(0, 0);
        struct store_job job;
        rc = sync_jobs_submit(j->e, &req, a, &job, NULL);
        if (!rc) {
            n++;
            log_info(NULL, "jobs: scheduled reconciliation queued", LOG_STR("job", job.id),
                     LOG_STR("tenant", job.tenant), LOG_STR("provider", job.provider),
                     LOG_STR("entity", job.entity));
        }
        arena_free(a);
    }
    if (queued)
        *queued = n;
    return rc;
}

/* ---- the thread ---------------------------------------------------------------------------- */

static void *runner_main(void *arg)
{
    struct sync_jobs *j = arg;
    while (!stopping(j)) {
        int queued = 0;
        enum ab_rc rc = sync_jobs_schedule_tick(j, &queued);
        if (rc)
            log_warn(NULL, "jobs: cannot queue a scheduled reconciliation",
                     LOG_STR("error", ab_rc_name(rc)));
        bool ran = false;
        rc = run_one(j, &ran);
        if (rc)
            log_warn(NULL, "jobs: cannot claim a job", LOG_STR("error", ab_rc_name(rc)));
        if (!ran && !stopping(j))
            jobs_wait(j, j->e->o.poll_ms);
    }
    return NULL;
}

static enum ab_rc interrupt_fn(struct store_tx *tx, void *arg)
{
    return store_jobs_interrupt(tx, (int64_t *)arg);
}

enum ab_rc sync_jobs_start(struct sync_engine *e, struct sync_jobs **out)
{
    *out = NULL;
    int64_t n = 0;
    enum ab_rc rc = store_write(e->store, interrupt_fn, &n, NULL);
    if (rc)
        return rc;
    if (n)
        log_warn(NULL, "jobs: jobs left running by a stopped process marked failed",
                 LOG_INT("jobs", n));
    struct sync_jobs *j = xcalloc(1, sizeof(*j));
    j->e = e;
    sched_init(j);
    if (!e->o.manual) {
        if (pthread_create(&j->th, NULL, runner_main, j) != 0) {
            log_error(NULL, "jobs: cannot start the runner thread",
                      LOG_STR("error", strerror(errno)));
            free(j->sched);
            free(j);
            return AB_EINTERNAL;
        }
        j->started = true;
    }
    *out = j;
    return AB_OK;
}

void sync_jobs_stop(struct sync_jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->e->mu);
    j->stop = true;
    pthread_cond_broadcast(&j->e->cond);
    pthread_mutex_unlock(&j->e->mu);
    if (j->started)
        pthread_join(j->th, NULL);
    free(j->sched);
    free(j);
}
