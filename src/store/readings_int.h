/* SPDX-License-Identifier: Apache-2.0
 *
 * readings_int.h: per-group state of the writer (store.c) that readings.c
 * fills: the meters touched by the jobs of one group commit, so that one
 * meter.reading event per meter is emitted per commit, not per reading.
 *
 * A job's touches are kept apart until the job's savepoint is released
 * (store_group_job_commit); a job that rolls back leaves no trace
 * (store_group_job_abort). Used only by the writer thread.
 */
#ifndef AB_STORE_READINGS_INT_H
#define AB_STORE_READINGS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct store_tx;

struct store_meter_touch {
    int64_t meter_id;
    char tenant[64];
    char asset_ref[65];
    char meter_type[64];
    double value; /* the meter's value after the job */
    int64_t last_read_at;
    int64_t readings; /* readings stored by the job(s) */
};

struct store_group {
    struct store_meter_touch *touches; /* merged, committed jobs */
    size_t n, cap;
    struct store_meter_touch *job; /* the running job's touches */
    size_t job_n, job_cap;
};

void store_group_init(struct store_group *g);
void store_group_cleanup(struct store_group *g);
void store_group_job_begin(struct store_group *g);
void store_group_job_abort(struct store_group *g);
void store_group_job_commit(struct store_group *g);

/* Record that the running job stored `readings` readings on a meter whose
 * value is now `value`. */
void store_group_touch(struct store_group *g, int64_t meter_id, const char *tenant,
                       const char *asset_ref, const char *meter_type, double value,
                       int64_t last_read_at, int64_t readings);

/* Before COMMIT: emit one meter.reading event per touched meter. */
enum ab_rc store_group_precommit(struct store_tx *tx) AB_MUST_CHECK;

#endif
