/* SPDX-License-Identifier: Apache-2.0
 *
 * health.h: the health check of one running provider (GET
 * /v1/providers/{name}/health, `assetbridge providers check`): the
 * connector's health slot (DNS, TLS, authentication, version) and a verdict
 * for a person. The check is an operator's probe: it does not take a
 * rate-limit token and does not count for or against the circuit breaker.
 *
 * Thread-safety: callable from any thread while the engine runs.
 */
#ifndef AB_SYNC_HEALTH_H
#define AB_SYNC_HEALTH_H

#include "conn/conn.h"
#include "core/arena.h"
#include "core/result.h"
#include "sync/engine.h"

enum sync_verdict {
    SYNC_HEALTH_OK,       /* every step that ran passed */
    SYNC_HEALTH_DEGRADED, /* reachable and accepted, but not fully usable (busy, throttled,
                             unexpected version, no health check in the connector) */
    SYNC_HEALTH_FAILED,   /* unreachable, TLS or credentials refused */
};

/* "ok", "degraded", "failed"; never NULL. */
const char *sync_verdict_name(enum sync_verdict v);

struct sync_health {
    enum sync_verdict verdict;
    struct conn_health checks; /* the connector's answer (steps, version, message) */
    enum ab_rc rc;             /* the connector's result code */
};

/* Check (tenant, provider) now, in the calling thread (it blocks for the
 * provider's answer). Strings in out live in a. AB_ENOTFOUND when e (may be
 * NULL: AB_EUNAVAILABLE) does not run the provider; otherwise AB_OK with the
 * outcome in out, whatever the provider answered. */
enum ab_rc sync_provider_health(struct sync_engine *e, const char *tenant, const char *provider,
                                struct arena *a, struct sync_health *out /* OUT */) AB_MUST_CHECK;

/* The verdict for a connector's health answer (exposed for tests). */
enum sync_verdict sync_health_verdict(enum ab_rc rc, const struct conn_health *h);

#endif
