/* SPDX-License-Identifier: Apache-2.0
 *
 * readings_int.h: per-group state of the writer (store.c) that readings.c
 * uses, so the work that does not depend on each reading is done once per
 * group commit instead of once per job:
 *   - the meters touched by the group: their rows are written once, and one
 *     meter.reading event per meter is emitted per commit (not per reading);
 *   - the reading id counter: read once, written back once;
 *   - asset references found to be exact asset_refs (assets are never
 *     deleted, so a hit stays valid for the group).
 * A running job works on its own copy (the `job` lists); store_group_job_commit
 * merges it when the job's savepoint is released, store_group_job_abort drops
 * it, so a job that rolls back leaves no trace. Writer thread only.
 *
 * It also declares the usage routing of readings jobs (usage.c): which
 * providers are owed a meter's total, and the one waiting outbox item per
 * (provider, native id, target meter) that a job inserts or updates.
 */
#ifndef AB_STORE_READINGS_INT_H
#define AB_STORE_READINGS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/result.h"

struct store_tx;
struct store_db;

struct store_group_meter {
    int64_t meter_id;
    char tenant[65];
    char asset_ref[65];
    char meter_type[65];
    int kind;             /* enum model_meter_kind */
    double value;         /* the meter's value after the jobs so far */
    int64_t last_read_at; /* INT64_MIN: none */
    int last_source;      /* enum model_reading_source, -1: none */
    int64_t added;        /* readings stored on it by the group's (or job's) jobs */
};

struct store_group {
    bool webhooks_changed;            /* a job changed webhook subscriptions */
    bool job_webhooks_changed;        /* the running job did */
    struct store_group_meter *meters; /* merged from committed jobs */
    size_t n, cap;
    struct store_group_meter *job; /* the running job's meters */
    size_t job_n, job_cap;
    int64_t next_reading_id;     /* 0 until loaded */
    int64_t loaded_reading_id;   /* as read from the store */
    int64_t job_next_reading_id; /* the running job's; 0: untouched */
    char *refs;                  /* "tenant\tref\n" exact asset_ref hits */
    size_t refs_len, refs_cap;
};

void store_group_init(struct store_group *g);
void store_group_cleanup(struct store_group *g);
void store_group_job_begin(struct store_group *g);
void store_group_job_abort(struct store_group *g);
void store_group_job_commit(struct store_group *g);

/* The group's state of a meter (from committed jobs), or NULL. */
const struct store_group_meter *store_group_meter_find(const struct store_group *g,
                                                       const char *tenant, const char *asset_ref,
                                                       const char *meter_type);

/* Record the running job's state of a meter (m->added: the job's readings). */
void store_group_meter_put(struct store_group *g, const struct store_group_meter *m);

/* The next reading id for the running job: loads the counter on first use. */
enum ab_rc store_group_reading_id(struct store_tx *tx, int64_t *next /* OUT */) AB_MUST_CHECK;

/* The running job used reading ids up to next - 1. */
void store_group_reading_id_set(struct store_group *g, int64_t next);

/* Exact asset_ref hits. */
bool store_group_ref_known(const struct store_group *g, const char *tenant, const char *ref);
void store_group_ref_add(struct store_group *g, const char *tenant, const char *ref);

/* Before COMMIT: write the touched meters and the counter, and emit one
 * meter.reading event per touched meter. */
enum ab_rc store_group_precommit(struct store_tx *tx) AB_MUST_CHECK;

/* The running job changed webhook subscriptions (apikeys.c): the writer's
 * cache of which tenants have subscriptions is dropped when the job rolls
 * back and when the group ends, so a cache entry never outlives a change
 * that did not commit. */
void store_group_webhooks_changed(struct store_group *g);

/* ---- usage routing (usage.c) -------------------------------------------------
 *
 * A readings job asks store_usage_begin() once, from the configuration only
 * (no SQL): NULL when no provider of the tenant lists a usage meter, which
 * is the common case and costs one tenant lookup. Otherwise, for every meter
 * whose total the job changed, store_usage_queue() finds the providers whose
 * usage.meters list the meter type and to which the asset is linked (links
 * read once per asset per job) and inserts or updates the one waiting item
 * of each coalesce key "usage|PROVIDER|NATIVE_ID|TARGET". */

struct store_usage_links; /* per-job state, in the job's arena */

/* The job's usage routing for tenant, or NULL when nothing is pushed. */
struct store_usage_links *store_usage_begin(const struct config *cfg, const char *tenant,
                                            struct arena *a);

/* A meter whose total a job changed. */
struct store_usage_meter {
    const char *asset_ref;
    const char *meter_type; /* the hub's meter type */
    double value;           /* the meter's total after the job */
    int64_t read_at;        /* its newest reading */
    int64_t first_id;       /* the first reading the job stored on it */
};

/* Queue or update the usage items m is owed (see above and store.md). */
enum ab_rc store_usage_queue(struct store_tx *tx, struct store_usage_links *u,
                             const struct store_usage_meter *m) AB_MUST_CHECK;

#endif
