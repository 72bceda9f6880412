/* SPDX-License-Identifier: Apache-2.0
 *
 * events.h: the append-only event log. Each tenant has its own monotonically
 * increasing sequence (1, 2, 3, ... without gaps), allocated inside the
 * writing transaction, so an event becomes visible only with the change that
 * caused it and a reader that pages by sequence never skips one that
 * commits late. Types are strings (model/event.h lists the known ones);
 * nothing in the schema limits them.
 */
#ifndef AB_STORE_EVENTS_H
#define AB_STORE_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "store/store.h"

struct store_event {
    int64_t seq;
    const char *type;
    const char *subject;
    const char *payload;        /* JSON text */
    const char *correlation_id; /* may be NULL */
    int64_t occurred_at;        /* ms */
};

/* Append an event in the running write job; payload is serialised (not
 * stolen). The correlation id is the job's. *seq (may be NULL) receives the
 * sequence number. In the same job, one webhook delivery is queued in the
 * outbox per subscription of the tenant that wants the event's type
 * (apikeys.h); a tenant without subscriptions costs a cache lookup. */
enum ab_rc store_event_append(struct store_tx *tx, const char *tenant, const char *type,
                              const char *subject, const json_t *payload,
                              int64_t *seq /* OUT */) AB_MUST_CHECK;

/* Events of tenant with seq > after, oldest first, at most limit, copied
 * into a. */
enum ab_rc store_events_list(struct store_read *r, const char *tenant, int64_t after, size_t limit,
                             struct arena *a, struct store_event **out /* OUT */,
                             size_t *n /* OUT */) AB_MUST_CHECK;

/* The highest sequence number of tenant (0 when none). */
enum ab_rc store_events_last_seq(struct store_read *r, const char *tenant,
                                 int64_t *seq /* OUT */) AB_MUST_CHECK;

/* ---- waiting for new events (long polls) ------------------------------------
 *
 * Every successful group commit bumps a per-store generation counter and
 * wakes the waiters. A long poll reads the generation BEFORE it reads the
 * events, and waits only if it found none; a commit between the read and the
 * wait has already moved the generation, so no wake-up is lost:
 *
 *     uint64_t gen = store_events_gen(s);
 *     for (;;) {
 *         read the events after `after`; if there are any, answer them
 *         if out of time, answer none
 *         (void)store_events_wait(s, gen, remaining_ms, &gen);
 *     }
 *
 * A commit need not have appended events for this tenant (or any): a waiter
 * re-reads and waits again. Thread-safe. */

/* The current commit generation of s. */
uint64_t store_events_gen(struct store *s);

/* Block until the generation of s differs from seen_gen, or timeout_ms
 * (monotonic milliseconds; <= 0 does not block) has passed. AB_OK with *gen
 * = the generation now when it moved; AB_ETIMEOUT (and *gen unchanged from
 * seen_gen) otherwise. gen may be NULL. */
enum ab_rc store_events_wait(struct store *s, uint64_t seen_gen, int64_t timeout_ms,
                             uint64_t *gen /* OUT */) AB_MUST_CHECK;

/* Wake every waiter now by bumping the generation as a commit would (they
 * return AB_OK, re-read and find what is there). Harmless at any time. */
void store_events_wake_all(struct store *s);

#endif
