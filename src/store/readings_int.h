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
 */
#ifndef AB_STORE_READINGS_INT_H
#define AB_STORE_READINGS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
