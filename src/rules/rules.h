/* SPDX-License-Identifier: Apache-2.0
 *
 * rules.h: the rules engine: one thread that watches the store and the
 * clock and acts on the tenants' `rules` configuration (docs/rules.md):
 *   - calibration due state (ok, due_soon, overdue) of every asset with a
 *     calibration record: calibration.due / calibration.overdue once per
 *     occurrence (a new due date starts a new one);
 *   - maintenance plans falling due (time or usage): maintenance.due once
 *     per occurrence;
 *   - a request for what fell due: an open_request outbox item for the
 *     provider the system of record names for the asset's site and domain,
 *     or the hub's own work order when no provider with a connector owns
 *     it; one per (asset, kind, plan or rule, occurrence);
 *   - SLA watch: work_order.sla_breached once per work order and SLA date,
 *     sync.lagging once per lag episode of a provider.
 * What changed since the last pass is evaluated on every tick; everything
 * is re-evaluated every rules.evaluate_every, since time moves when
 * nothing else does. State lives in the store (store/rules.h), so a
 * restart neither repeats nor loses an event or a request.
 * docs/internals/rules.md describes the design.
 */
#ifndef AB_RULES_RULES_H
#define AB_RULES_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/result.h"
#include "store/store.h"

struct rules;

struct rules_opts {
    bool manual;     /* no thread: the caller drives rules_run_once() (tests) */
    int64_t tick_ms; /* thread wake-up period in real time; 0: 1 s */
};

/* What the engine did since it started (for tests and metrics). */
struct rules_stats {
    uint64_t passes;          /* rules_run_once calls that completed */
    uint64_t events;          /* events emitted */
    uint64_t requests;        /* open_request outbox items queued */
    uint64_t hub_work_orders; /* hub work orders opened instead */
    uint64_t errors;          /* evaluations that failed (logged, retried next pass) */
    uint64_t loops_closed;    /* requests closed (completed or cancelled where opened) */
    uint64_t lifecycle;       /* asset lifecycle changes carried to other systems */
};

/* Start the engine for cfg (must outlive it) on store s with default
 * options (a thread ticking every second). *out owns the engine; stop it
 * with rules_stop() before closing the store. AB_EINTERNAL when the
 * thread cannot be started. */
enum ab_rc rules_start(const struct config *cfg, struct store *s,
                       struct rules **out /* OUT */) AB_MUST_CHECK;

/* The same with options (o NULL: defaults). */
enum ab_rc rules_start_ex(const struct config *cfg, struct store *s, const struct rules_opts *o,
                          struct rules **out /* OUT */) AB_MUST_CHECK;

/* Stop the thread (after the pass running now) and free the engine. NULL
 * is a no-op. */
void rules_stop(struct rules *r);

/* Run one pass at time now (ms) for every tenant: the objects and meters
 * changed since the previous pass, and everything when evaluate_every has
 * passed since the last full pass (the first pass is always full). Returns
 * the first failure (the others are logged); the pass continues past
 * failures. Must not run concurrently with itself (manual mode: the
 * caller's thread only). */
enum ab_rc rules_run_once(struct rules *r, int64_t now) AB_MUST_CHECK;

/* Force the next pass to be a full one (every tenant). Thread-safe. */
void rules_request_full(struct rules *r);

/* A copy of the counters. Thread-safe. */
void rules_get_stats(struct rules *r, struct rules_stats *out /* OUT */);

#endif
