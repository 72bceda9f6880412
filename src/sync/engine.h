/* SPDX-License-Identifier: Apache-2.0
 *
 * engine.h: the sync engine: for every configured provider whose type has a
 * connector, a pull thread (one schedule per entity: a pull every interval
 * with +-10 % jitter, a full pass every `full_pass_every` passes after which
 * records not seen are marked missing) and `concurrency` outbox worker
 * threads (claim a batch, resolve-before-resend, push, record the batch's
 * outcomes in one job). Each provider has its own circuit breaker and adaptive
 * rate limiter guarding every provider call.
 *
 * Nothing here holds a store lock or transaction across a provider call: a
 * pull page is fetched, then committed (records + checkpoint) in one job; an
 * outbox item is claimed in one job, pushed, then its outcome recorded in
 * another. docs/internals/sync.md describes the behaviour.
 *
 * Thread-safety: start and stop from one thread; the status functions and
 * sync_engine_pull/sync_engine_drain may be called from any thread.
 */
#ifndef AB_SYNC_ENGINE_H
#define AB_SYNC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn/conn.h"
#include "core/config.h"
#include "core/result.h"
#include "store/store.h"
#include "sync/breaker.h"
#include "sync/ratelimit.h"
#include "sync/retry.h"

struct sync_engine;

#define SYNC_CONCURRENCY_MAX 16

struct sync_engine_opts {
    bool manual;                 /* no threads: the caller drives pulls and drains (tests) */
    int64_t poll_ms;             /* idle wait of the threads (real time); <= 0: 1000 */
    uint64_t seed;               /* jitter PRNG seed; 0: from the clock */
    int full_pass_every;         /* a full pass every N passes; <= 0: 24 */
    size_t batch;                /* outbox items per claim; 0: 10 */
    unsigned concurrency;        /* outbox workers (and requests in flight) of every provider;
                                    0: each provider's `concurrency` (default 4); at most
                                    SYNC_CONCURRENCY_MAX */
    int64_t lease_ms;            /* outbox lease; <= 0: 5 min */
    struct retry_policy retry;   /* all zero: retry_policy_default() */
    struct breaker_opts breaker; /* zero: the breaker's defaults */
    retry_rand_fn rnd;           /* retry jitter source; NULL: the default */
};

/* The options the configuration's `sync` section gives (zeros elsewhere). */
void sync_engine_opts_from_config(const struct config *cfg, struct sync_engine_opts *out /* OUT */);

/* Start the engine with the built-in connector registry (conn_find) and the
 * options of the configuration's `sync` section. Providers whose type has no connector are logged
 * once and skipped (GET /v1/providers shows them without a connector). A connector whose init fails
 * is logged and skipped the same way. AB_ENOMEM / AB_EINTERNAL when a thread cannot start (nothing
 * is left running). */
enum ab_rc sync_engine_start(const struct config *cfg, struct store *store,
                             struct sync_engine **out /* OUT */) AB_MUST_CHECK;

/* The same with an explicit registry (NULL-terminated; NULL: conn_registry
 * through conn_find) and options (NULL: defaults). */
enum ab_rc sync_engine_start_with(const struct config *cfg, struct store *store,
                                  const struct conn_ops *const *registry,
                                  const struct sync_engine_opts *opts,
                                  struct sync_engine **out /* OUT */) AB_MUST_CHECK;

/* Stop: no new work, provider calls in flight finish, threads are joined,
 * connectors cleaned up, everything freed. NULL accepted. */
void sync_engine_stop(struct sync_engine *e);

/* Run one pull pass of (tenant, provider, entity) now in the calling thread,
 * resuming at the stored page token when there is one. full forces a full
 * pass (no watermark; records not seen are marked missing at its end, when
 * the pass ran from its first page in this process). max_pages > 0 stops
 * after that many pages (the checkpoint stays: a later pass resumes there).
 * *pages (may be NULL) gets the pages committed. AB_ENOTFOUND for a provider
 * or entity the engine does not run; AB_EAGAIN when the breaker is open, no
 * rate-limit token is there, or a pull of it is already running; the
 * connector's error otherwise (recorded in sync_state and the sync log). */
enum ab_rc sync_engine_pull(struct sync_engine *e, const char *tenant, const char *provider,
                            const char *entity, bool full, int max_pages,
                            int *pages /* OUT, may be NULL */) AB_MUST_CHECK;

/* Claim and process one batch of (tenant, provider)'s ready outbox items in
 * the calling thread. *processed (may be NULL) gets how many were claimed.
 * AB_ENOTFOUND for a provider the engine does not run. */
enum ab_rc sync_engine_drain(struct sync_engine *e, const char *tenant, const char *provider,
                             size_t *processed /* OUT, may be NULL */) AB_MUST_CHECK;

/* Outbox outcomes of one provider since the engine started (for /metrics). */
struct sync_counters {
    int64_t delivered;  /* the provider accepted the item (or resolve found it) */
    int64_t retried;    /* a failed attempt rescheduled */
    int64_t dead;       /* dead-lettered */
    int64_t suppressed; /* held back by a mode */
    int64_t refused;    /* refused by the system of record */
    int64_t deferred;   /* put back without an attempt (rate limit, open breaker) */
    int64_t pulled;     /* records pulled */
};

/* What GET /v1/providers shows of one provider. */
struct sync_provider_status {
    bool running;          /* a connector is registered and initialised */
    const char *connector; /* connector name, or NULL */
    struct breaker_status breaker;
    struct ratelimit_status ratelimit;
    struct sync_counters counters;
};

/* Status of (tenant, provider). false when the engine does not run it (no
 * connector, or e is NULL). */
bool sync_engine_provider_status(struct sync_engine *e, const char *tenant, const char *provider,
                                 struct sync_provider_status *out /* OUT */);

/* A provider type's documented request rate (requests per second, from the
 * contract sheets), used when `rate_limit.requests_per_second` is 0: wats
 * 500/min, limble 240/min, maintenance_connection 200/min, ultimo 10/s,
 * fiix 200/min, generic 50/s; SYNC_UNDOCUMENTED_RATE for the others (SAP PM,
 * Maximo, HxGN EAM, ServiceNow, UpKeep document none). The rate limiter then
 * adapts to 429 / throttling answers. */
#define SYNC_UNDOCUMENTED_RATE 10.0
double sync_documented_rate(const char *type);

/* The domain an outbox item belongs to (for modes), from its action and
 * entity: work orders and open requests -> work_orders, push_reading and
 * usage -> usage, record_calibration / calibration -> calibration,
 * maintenance plans -> maintenance, everything else -> asset_master. */
enum domain sync_item_domain(const char *entity, const char *action);

/* May an item with this action be pushed under mode? read_only: never;
 * draft: only "open_request"; write_back: always. */
bool sync_mode_allows(enum provider_mode mode, const char *action);

#endif
