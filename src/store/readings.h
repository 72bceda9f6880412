/* SPDX-License-Identifier: Apache-2.0
 *
 * readings.h: meters and meter readings in the store.
 *
 * store_readings_append() stores a batch of readings as one write job and
 * returns once they are durable (group commit: concurrent callers share the
 * fsync). Each reading resolves its asset reference (asset_ref, serial
 * number, provider:native_id), finds or creates the meter (a known meter type
 * the asset does not have yet creates it), checks its idempotency key (a key
 * seen before answers with the original outcome and stores nothing), and
 * checks monotonicity in read_at order: a cumulative total that goes down is
 * rejected or recorded as a reset, as the policy says, never silently taken.
 * A reading is one compact row; the meter's current value is updated once per
 * job and one meter.reading event per meter is emitted per commit.
 */
#ifndef AB_STORE_READINGS_H
#define AB_STORE_READINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/result.h"
#include "model/meter.h"
#include "store/store.h"

enum store_backwards_policy {
    STORE_BACKWARDS_REJECT, /* a lower total is rejected (conflict) */
    STORE_BACKWARDS_RESET,  /* a lower total is stored as a counter reset */
};

struct store_readings_policy {
    enum store_backwards_policy backwards;
    /* The service's configuration (usage pushed to providers follows each
     * provider's `usage` section), or NULL: no usage is queued. */
    const struct config *cfg;
};

enum store_reading_status {
    STORE_READING_ACCEPTED,
    STORE_READING_DUPLICATE,
    STORE_READING_REJECTED
};

#define STORE_READING_RESET 1 /* flags: the reading reset the counter */

struct store_reading_result {
    enum store_reading_status status;
    enum ab_rc rc;  /* why rejected: AB_EIDENTITY, AB_EINVAL, AB_ECONFLICT */
    char field[32]; /* the field at fault ("asset_ref", "meter", "value") */
    char message[200];
    char asset_ref[65]; /* resolved asset */
    int64_t reading_id; /* accepted (or original, for a duplicate) */
    double total;       /* the meter's total after this reading */
    unsigned flags;     /* STORE_READING_RESET */
};

/* Store n readings of tenant (in order) and wait until they are durable.
 * results[i] tells each reading's fate. Returns AB_OK when the batch was
 * processed (individual readings may still be rejected), AB_EAGAIN when the
 * store is overloaded or closing, or a storage failure (then nothing of the
 * batch is stored). */
enum ab_rc store_readings_append(struct store *s, const char *tenant, const struct model_reading *r,
                                 size_t n, const struct store_readings_policy *policy,
                                 struct store_reading_result *results /* OUT */,
                                 const char *correlation_id) AB_MUST_CHECK;

/* The same without waiting: on_done(done_arg, rc) is called on the store's
 * writer thread once the batch is durable (or failed); results are filled by
 * then. tenant, r and results must stay valid until on_done. AB_EAGAIN (and
 * no call) when the store is overloaded or closing. */
enum ab_rc store_readings_append_async(struct store *s, const char *tenant,
                                       const struct model_reading *r, size_t n,
                                       const struct store_readings_policy *policy,
                                       struct store_reading_result *results,
                                       const char *correlation_id, store_done_fn on_done,
                                       void *done_arg) AB_MUST_CHECK;

struct store_meter_row {
    int64_t id;
    const char *asset_ref;
    const char *meter_type;
    const char *unit;
    const char *kind;
    double value;
    int64_t last_read_at; /* INT64_MIN before the first reading */
    const char *last_source;
    int64_t reading_count;
};

/* The meters of an asset, by type name. */
enum ab_rc store_meters_list(struct store_read *r, const char *tenant, const char *asset_ref,
                             struct arena *a, struct store_meter_row **out /* OUT */,
                             size_t *n /* OUT */) AB_MUST_CHECK;

struct store_reading_row {
    int64_t id;
    int64_t read_at;
    double amount;
    bool is_increment;
    double total;
    const char *source;
    unsigned flags;
    int64_t ingested_at;
};

/* A meter's readings in read_at order (then id), after the cursor
 * (after_read_at, after_id); pass INT64_MIN, 0 for the first page. */
enum ab_rc store_readings_list(struct store_read *r, const char *tenant, const char *asset_ref,
                               const char *meter_type, int64_t after_read_at, int64_t after_id,
                               size_t limit, struct arena *a,
                               struct store_reading_row **out /* OUT */,
                               size_t *n /* OUT */) AB_MUST_CHECK;

#endif
