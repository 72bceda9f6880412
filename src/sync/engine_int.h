/* SPDX-License-Identifier: Apache-2.0
 *
 * engine_int.h: the sync engine's internals, shared by the files of
 * src/sync that extend it (jobs and reconciliation run on the engine's
 * providers). Nothing outside src/sync includes this; everyone else uses
 * engine.h.
 *
 * Locking: engine.mu guards engine.stopping (and is the mutex of
 * engine.cond, which wakes idle loops); prov.mu guards the schedule fields
 * of its ent_sched entries (running, next_due). Everything else in struct
 * prov and struct sync_engine is set before any thread starts and read-only
 * afterwards (the breaker, rate limiter, client and connector context have
 * their own locking).
 */
#ifndef AB_SYNC_ENGINE_INT_H
#define AB_SYNC_ENGINE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn/conn.h"
#include "core/arena.h"
#include "store/records.h"
#include "sync/engine.h"

struct ent_sched {
    const char *name;
    int64_t interval_ms;
    int64_t next_due;
    int passes;
    bool running;            /* a pull of it is running (guarded by prov.mu) */
    bool unsupported;        /* the connector cannot pull it: never scheduled */
    int64_t full_started_at; /* a full pass begun from its first page here, else INT64_MIN */
    const struct config_entity *cfg;
};

struct prov {
    struct sync_engine *e;
    const char *tenant;
    const struct config_provider *cfg;
    const struct conn_ops *ops;
    void *ctx;
    struct client *client;
    struct breaker *br;
    struct ratelimit *rl;
    struct ent_sched *ents;
    size_t n_ents;
    pthread_mutex_t mu;
    uint64_t prng;
    pthread_t puller;
    bool puller_started;
    pthread_t workers[SYNC_CONCURRENCY_MAX]; /* outbox workers: n_workers started */
    unsigned n_workers;
    /* Work orders name their provider by type (the model's provider id):
     * when this is the tenant's only provider of its type and it is named
     * otherwise, it also delivers the items queued under the type. */
    const char *type_alias;
    struct sync_counters counters; /* updated with __atomic builtins */
};

struct sync_engine {
    const struct config *cfg;
    struct store *store;
    struct sync_engine_opts o;
    struct prov *provs;
    size_t n;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stopping;
    struct sync_jobs *jobs; /* jobs.c: sync and reconcile jobs, the reconcile schedule */
};

/* Progress of a pull pass, reported after every committed page. */
typedef void (*sync_progress_fn)(void *arg, int pages, int64_t records);

/* The running provider (tenant, provider), or NULL. */
struct prov *sync_find_prov(struct sync_engine *e, const char *tenant, const char *provider);

/* p's schedule entry for entity, or NULL when entity is not configured. */
struct ent_sched *sync_find_ent(struct prov *p, const char *entity);

/* True once sync_engine_stop has begun. */
bool sync_stopping(struct sync_engine *e);

/* sync_engine_pull for one provider and entity, reporting progress through
 * progress(progress_arg, ...) after each committed page (progress may be
 * NULL). Errors as sync_engine_pull. */
enum ab_rc sync_pull_pass(struct prov *p, struct ent_sched *es, bool full, int max_pages,
                          int *pages /* OUT, may be NULL */, sync_progress_fn progress,
                          void *progress_arg) AB_MUST_CHECK;

/* The store's record for a pulled record cr of (tenant, provider, entity):
 * what a pull's page job and a reconciliation's repair upsert. */
struct store_record sync_record_of(const char *tenant, const char *provider, const char *entity,
                                   const struct conn_record *cr);

/* Bring a pulled canonical document into tenant t's terms (pulls and
 * reconciliation apply it to every record): the provider's plant code
 * becomes the site (site value map "plant"), its object type the asset type
 * ("object_type"), its meter name the hub's meter type ("meter"), looked up
 * in the document's site first, then in any site; and a due date given as a
 * bare day ("2026-12-01" in a top-level field ending in "due_at") becomes
 * the instant that day ends at the site (local midnight in its IANA time
 * zone; UTC when the site has none or is unknown). Values no map names stay
 * as they are, except an asset's type that is none of the hub's asset types:
 * the asset becomes "other" and attributes.source_type keeps the value. */
void sync_normalize_doc(const struct config_tenant *t, const char *entity, json_t *doc);

/* Fetch one page of entity from p's provider without storing anything (a
 * full set: no watermark), guarded by p's rate limiter and breaker like any
 * provider call: AB_EAGAIN when no token is there or the breaker is open
 * (*wait_ms, may be NULL, says how long to wait); otherwise conn_pull's
 * result. The page lives in arena a. Does not touch the entity's schedule
 * or checkpoint: reconciliation runs beside the scheduled pulls. */
enum ab_rc sync_fetch_page(struct prov *p, const char *entity, const char *page_token,
                           struct arena *a, struct conn_page *out /* OUT */,
                           int64_t *wait_ms /* OUT, may be NULL */) AB_MUST_CHECK;

#endif
