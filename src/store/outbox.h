/* SPDX-License-Identifier: Apache-2.0
 *
 * outbox.h: the outbox lifecycle the sync engine drives (journal.h adds
 * rows and lists them): claim a batch with a lease, then complete,
 * reschedule or dead-letter each claimed item; suppress and release items
 * held back by a read_only mode; replay dead letters by filter (audited);
 * the last usage total each provider acknowledged per meter (coalescing).
 *
 *   pending --claim--> in_flight --complete--> done
 *      ^                 |  |
 *      +--reschedule-----+  +--dead_letter--> dead --replay--> pending
 *      ^  (or lease expiry: claimed again)
 *   suppressed --release--> pending
 *
 * Every write here is a plain store job function (`*_job`, to pass to
 * store_write or store_write_async, so claims and completions group-commit
 * with everything else) or a function taking the running job's struct
 * store_tx. The convenience wrappers store_outbox_claim() etc. run one job
 * and wait for it.
 *
 * Leases fence completions: a claim sets lease_until; completing,
 * rescheduling or dead-lettering names the lease it holds and fails with
 * AB_ECONFLICT when the item was reclaimed meanwhile (the lease expired and
 * another worker has it), so a slow worker cannot overwrite a newer outcome.
 *
 * Thread-safety: as store.h (any thread; jobs run on the writer thread).
 */
#ifndef AB_STORE_OUTBOX_H
#define AB_STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/store.h"

/* The error class of an item whose last attempt has an unknown outcome (a
 * timeout or reset after sending, or a lease that expired mid-attempt): the
 * engine resolves such an item with the provider before it sends it again. */
#define STORE_OUTBOX_UNKNOWN_CLASS "unknown_outcome"

/* One outbox row with everything the engine and the API show. */
struct store_outbox_row {
    struct store_outbox_item item; /* state, attempts, next_attempt_at, last_error, ... */
    int64_t lease_until;           /* INT64_MIN when not leased */
    const char *error_class;       /* of the last failure, or NULL */
    const char *last_response;     /* the provider's answer, secrets scrubbed, or NULL */
    const char *owner_action;      /* dead letters: what a person should do, or NULL */
    int64_t dead_at;               /* INT64_MIN unless dead */
    const char *result_native_id;  /* the provider's id of what it created, or NULL */
};

/* ---- claim -------------------------------------------------------------- */

/* Arguments and results of a claim job. */
struct store_outbox_claim {
    const char *tenant;
    const char *provider;
    size_t max;       /* at most this many items (1..1000) */
    int64_t lease_ms; /* lease length (> 0) */
    struct arena *a;  /* the items live here */
    /* OUT */
    struct store_outbox_item *items; /* state in_flight, attempts incremented */
    size_t n;
    int64_t lease_until; /* the lease all claimed items carry (fencing token) */
    size_t coalesced;    /* older usage items superseded by this claim */
};

/* Job: claim up to c->max items of (tenant, provider) that are ready: state
 * pending, or in_flight with an expired lease (a worker crashed or hung:
 * such an item gets error class STORE_OUTBOX_UNKNOWN_CLASS, since its last
 * attempt may have reached the provider), and next_attempt_at <= now;
 * ordered by priority (lower first), then id.
 * Each becomes in_flight with lease_until = now + lease_ms and attempts + 1.
 *
 * Usage coalescing happens first: a ready item (pending, or in_flight with
 * an expired lease) with a coalesce_key is marked done (last_error
 * "coalesced") when a newer row (higher id) of the same key is pending,
 * in_flight or done. A usage item carries an absolute total and the newest
 * row of a key carries the newest total (readings jobs update a waiting row
 * in place only while it is the newest), so the newest says everything the
 * older ones did, and a replayed old dead letter cannot overwrite a newer
 * total the provider already has. c->coalesced counts them.
 * arg is a struct store_outbox_claim. */
enum ab_rc store_outbox_claim_job(struct store_tx *tx, void *arg) AB_MUST_CHECK;

/* Run the claim job (waits for its commit). */
enum ab_rc store_outbox_claim(struct store *s, struct store_outbox_claim *c) AB_MUST_CHECK;

/* ---- outcomes (inside a job; lease_until from the claim) ------------------- */

/* in_flight -> done. AB_ECONFLICT when the item is not in_flight under this
 * lease any more; AB_ENOTFOUND when there is no such item. */
enum ab_rc store_outbox_complete(struct store_tx *tx, const char *tenant, int64_t id,
                                 int64_t lease_until) AB_MUST_CHECK;

/* The same, keeping a note on the done item as its last_error (e.g.
 * "subscription deleted", "receiver answered 410 Gone"); NULL: no note. */
enum ab_rc store_outbox_complete_note(struct store_tx *tx, const char *tenant, int64_t id,
                                      int64_t lease_until, const char *note) AB_MUST_CHECK;

/* in_flight -> pending at next_attempt_at, with the failure's class and
 * message (and the provider's response, scrubbed here with log_scrub; may be
 * NULL). Errors as store_outbox_complete. */
enum ab_rc store_outbox_reschedule(struct store_tx *tx, const char *tenant, int64_t id,
                                   int64_t lease_until, int64_t next_attempt_at,
                                   const char *error_class, const char *last_error,
                                   const char *response) AB_MUST_CHECK;

/* in_flight -> dead, with the last error's class and message, the
 * provider's response (scrubbed here) and the action the owner should take
 * ("fix the asset's serial number and replay"); dead_at = now. Errors as
 * store_outbox_complete. */
enum ab_rc store_outbox_dead_letter(struct store_tx *tx, const char *tenant, int64_t id,
                                    int64_t lease_until, const char *error_class,
                                    const char *last_error, const char *response,
                                    const char *owner_action) AB_MUST_CHECK;

/* ---- suppression, replay ------------------------------------------------- */

/* Which items a release or replay takes. NULL / INT64_MIN / INT64_MAX = any. */
struct store_outbox_filter {
    const char *tenant; /* required */
    const char *provider;
    const char *entity;
    const char *error_class; /* replay only */
    int64_t from, to;        /* [from, to) on dead_at (replay) or created_at (release) */
};

/* suppressed -> pending (ready now) for the items the filter takes, when a
 * provider's mode is raised from read_only. *n = how many; one audit record
 * "outbox.release" by actor with the filter and count. */
enum ab_rc store_outbox_release(struct store_tx *tx, const struct store_outbox_filter *f,
                                const char *actor, int64_t *n /* OUT */) AB_MUST_CHECK;

/* dead -> pending (ready now, attempts reset to 0, dead_at cleared, the last
 * error kept for history) for the items the filter takes. *n = how many; one
 * audit record "outbox.replay" by actor with the filter and count. */
enum ab_rc store_outbox_replay(struct store_tx *tx, const struct store_outbox_filter *f,
                               const char *actor, int64_t *n /* OUT */) AB_MUST_CHECK;

/* ---- reads ---------------------------------------------------------------- */

/* One item of tenant by id; AB_ENOTFOUND when absent (or another tenant's). */
enum ab_rc store_outbox_get(struct store_read *r, const char *tenant, int64_t id, struct arena *a,
                            struct store_outbox_row *out /* OUT */) AB_MUST_CHECK;

/* The item of tenant with idempotency key, as store_outbox_get;
 * AB_ENOTFOUND when there is none. */
enum ab_rc store_outbox_get_by_key(struct store_read *r, const char *tenant, const char *key,
                                   struct arena *a,
                                   struct store_outbox_row *out /* OUT */) AB_MUST_CHECK;

/* Remember the provider's id of what delivered item id created (what
 * conn_result.native_id said), in the job that completes it. */
enum ab_rc store_outbox_set_result(struct store_tx *tx, const char *tenant, int64_t id,
                                   const char *native_id) AB_MUST_CHECK;

/* Dead letters the filter takes (error_class, entity, provider, dead_at
 * range), oldest id first after after_id, at most limit. */
enum ab_rc store_outbox_dead_list(struct store_read *r, const struct store_outbox_filter *f,
                                  int64_t after_id, size_t limit, struct arena *a,
                                  struct store_outbox_row **out /* OUT */,
                                  size_t *n /* OUT */) AB_MUST_CHECK;

/* ---- usage acknowledgements (coalescing) ----------------------------------- */

/* The last total provider acknowledged for meter_key. *found false (and
 * *total 0) when it never acknowledged one. acked_at may be NULL. */
enum ab_rc store_usage_ack_get(struct store_tx *tx, const char *tenant, const char *provider,
                               const char *meter_key, double *total /* OUT */,
                               int64_t *acked_at /* OUT, may be NULL */,
                               bool *found /* OUT */) AB_MUST_CHECK;

/* The same in a read session. */
enum ab_rc store_usage_ack_get_read(struct store_read *r, const char *tenant, const char *provider,
                                    const char *meter_key, double *total /* OUT */,
                                    int64_t *acked_at /* OUT, may be NULL */,
                                    bool *found /* OUT */) AB_MUST_CHECK;

/* Record that provider acknowledged total for meter_key (now). Commit it in
 * the same job as the item's completion. */
enum ab_rc store_usage_ack_put(struct store_tx *tx, const char *tenant, const char *provider,
                               const char *meter_key, double total) AB_MUST_CHECK;

#endif
