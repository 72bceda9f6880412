/* SPDX-License-Identifier: Apache-2.0
 *
 * rules_int.h: what the passes of the rules engine share (rules.c: due
 * dates, requests, SLA; loop.c: closing the loop and station lockout;
 * condition.c: out-of-spec from test results; lifecycle.c: asset lifecycle
 * propagation). Not part of the engine's interface (rules.h).
 *
 * Every pass follows the same discipline: decide in read sessions, then
 * record each transition in one write job that compares with the stored
 * rule_state row again, so a crash between jobs repeats nothing and loses
 * nothing. Only the rules thread (or a test in manual mode) runs passes.
 */
#ifndef AB_RULES_RULES_INT_H
#define AB_RULES_RULES_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "rules/rules.h"
#include "store/rules.h"
#include "store/store.h"

#define RULES_ACTOR "rules"
#define RULES_PAGE 200                  /* objects read per page of a scan */
#define RULES_LOOKBACK_MS INT64_C(5000) /* changes committed late are still seen */

struct rules_tenant_pass {
    int64_t last_full;  /* INT64_MIN: never */
    int64_t checkpoint; /* start of the last pass */
    int64_t reports_at; /* start of the last out-of-spec scan; INT64_MIN: never */
};

struct rules {
    const struct config *cfg;
    struct store *store;
    struct rules_opts opts;
    struct rules_tenant_pass *tp; /* per tenant of cfg */
    pthread_t th;
    bool thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool force_full;
    struct rules_stats stats;
};

/* Add n to a counter of r->stats (thread-safe). */
void rules_count(struct rules *r, uint64_t *field, uint64_t n);

/* ms as RFC 3339 in a; NULL for INT64_MIN. */
const char *rules_fmt_time(struct arena *a, int64_t ms);

/* One link of an asset, with what its provider's connector can do. */
struct rules_link {
    const char *provider;  /* configured provider name */
    const char *native_id; /* the asset's id there */
    unsigned caps;         /* CONN_CAP_* of its type's connector; 0 without one */
    const struct config_provider *cfg;
};

/* What is known of an asset. */
struct rules_asset {
    const char *ref;
    const char *site;                   /* may be NULL */
    const char *type;                   /* asset type name */
    const char *status;                 /* asset status name */
    const char *serial;                 /* may be NULL */
    const char *sor[DOMAIN_COUNT];      /* provider owning the domain, or NULL */
    const char *native[DOMAIN_COUNT];   /* the asset's native id there, or NULL */
    bool sor_can_request[DOMAIN_COUNT]; /* that provider has a connector opening requests */
    struct rules_link *links;
    size_t n_links;
};

/* Load asset ref of tenant t (strings in a). AB_ENOTFOUND when it is gone. */
enum ab_rc rules_asset_load(struct store_read *rd, const struct config_tenant *t, const char *ref,
                            struct arena *a, struct rules_asset *out /* OUT */) AB_MUST_CHECK;

/* A request for what fell due. */
struct rules_request {
    bool open;           /* open a request with this transition */
    enum domain domain;  /* DOMAIN_CALIBRATION or DOMAIN_MAINTENANCE */
    const char *kind;    /* "calibration", "maintenance" or "condition" */
    const char *type;    /* the work order type asked for: "calibration", "maintenance",
                            "corrective" */
    const char *rule_id; /* "calibration", the plan id, "failure_rate" */
    const char *plan_id; /* NULL unless a plan */
    const char *reason;  /* "due_soon", "overdue", "due", "usage", "out_of_spec" */
    int64_t due_at;      /* INT64_MIN when unknown */
    const char *title, *description;
};

/* One evaluation's outcome, recorded by rules_run_transition. */
struct rules_transition {
    struct rules *r;
    const struct config_tenant *t;
    const struct rules_asset *asset; /* NULL for sla / sync_lag */
    struct store_rule_state next;    /* the state to record (request_key filled here) */
    const char *events[2]; /* event types emitted on entering rank 1 and 2 (one: rank 2) */
    json_t *payload;       /* event payload (borrowed) */
    const char *subject;   /* event subject */
    struct rules_request req;
    /* station lockout (calibration): lock the asset on entering overdue,
     * release a lock on entering ok */
    bool lockout;
    struct arena *a;
    /* results */
    unsigned n_events;
    bool requested, hub_wo;
};

/* Zero x and set who evaluates (r, t, the asset or NULL, the arena) and
 * the rule_state row it is about (kind, subject, rule_id). */
void rules_transition_init(struct rules_transition *x, struct rules *r,
                           const struct config_tenant *t, const struct rules_asset *asset,
                           struct arena *a, const char *kind, const char *subject,
                           const char *rule_id);

/* Record x when it changes the stored row: the events of the state
 * entered, the request, the lockout, the row; one write job. Counts and
 * logs failures (retried on the next pass). */
enum ab_rc rules_run_transition(struct rules_transition *x) AB_MUST_CHECK;

/* Open the hub's own work order for x's request in the running job (the
 * fallback when no provider can take it); *key gets "wo:ID". */
enum ab_rc rules_open_hub_work_order(struct store_tx *tx, struct rules_transition *x,
                                     const char **key /* OUT */) AB_MUST_CHECK;

/* One page of objects (strings and documents in a, freed after the call). */
typedef enum ab_rc (*rules_page_fn)(void *arg, const struct store_object *v, size_t n,
                                    struct arena *a);

/* Page through tenant t's objects of kind updated at or after since
 * (INT64_MIN: all), RULES_PAGE at a time, each page in a read session of
 * its own, calling fn on each. A read failure ends the scan with its code;
 * otherwise the first failure fn returned (the scan goes on past it). */
enum ab_rc rules_scan_since(struct rules *r, const struct config_tenant *t, const char *kind,
                            int64_t since, rules_page_fn fn, void *arg) AB_MUST_CHECK;

/* ---- loop.c ------------------------------------------------------------------- */

/* Follow every open request of tenant t: a request completed in its
 * provider (or a hub work order completed) closes the loop: the work is
 * recorded in the hub and carried to the other systems (calibration done in
 * WATS with the next due date, running count reset where configured, an
 * asset-log message with the certificate reference), completion events,
 * the request closed. A request its provider refused or suppressed becomes
 * a hub work order, so nothing falls through. */
enum ab_rc rules_loop_pass(struct rules *r, const struct config_tenant *t,
                           int64_t now) AB_MUST_CHECK;

/* In x's write job: lock the asset (on entering overdue, when x->lockout)
 * or release its lock (on entering ok): set_state items for the providers
 * whose connector can write asset state, the lockout row, audit. */
enum ab_rc rules_lockout_apply(struct store_tx *tx, struct rules_transition *x, int from,
                               int to) AB_MUST_CHECK;

/* ---- condition.c ---------------------------------------------------------------- */

/* Out-of-spec from test results: the failure rate of every fixture or
 * instrument whose report uses changed since the last scan. */
enum ab_rc rules_condition_pass(struct rules *r, const struct config_tenant *t, size_t ti,
                                int64_t now) AB_MUST_CHECK;

/* ---- lifecycle.c ---------------------------------------------------------------- */

/* Asset lifecycle propagation: asset events after the tenant's cursor
 * (created, moved, retired) made by the asset master system of record are
 * carried to the other systems that can write assets. */
enum ab_rc rules_lifecycle_pass(struct rules *r, const struct config_tenant *t) AB_MUST_CHECK;

#endif
