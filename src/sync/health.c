/* SPDX-License-Identifier: Apache-2.0
 *
 * health.c: a provider's health check through its connector's health slot,
 * and the verdict for a person. See health.h.
 */
#include "sync/health.h"
#include "sync/engine_int.h"

#include <string.h>

const char *sync_verdict_name(enum sync_verdict v)
{
    switch (v) {
    case SYNC_HEALTH_OK: return "ok";
    case SYNC_HEALTH_DEGRADED: return "degraded";
    case SYNC_HEALTH_FAILED:
    default: return "failed";
    }
}

enum sync_verdict sync_health_verdict(enum ab_rc rc, const struct conn_health *h)
{
    if (h->dns == CONN_CHECK_FAILED || h->tls == CONN_CHECK_FAILED || h->auth == CONN_CHECK_FAILED)
        return SYNC_HEALTH_FAILED;
    if (rc == AB_OK)
        return h->version == CONN_CHECK_FAILED ? SYNC_HEALTH_DEGRADED : SYNC_HEALTH_OK;
    if (rc == AB_EUNSUPPORTED || ab_rc_retryable(rc))
        return h->dns == CONN_CHECK_OK || rc == AB_EUNSUPPORTED ? SYNC_HEALTH_DEGRADED
                                                                : SYNC_HEALTH_FAILED;
    return SYNC_HEALTH_FAILED; /* a permanent refusal (auth, forbidden, config) */
}

enum ab_rc sync_provider_health(struct sync_engine *e, const char *tenant, const char *provider,
                                struct arena *a, struct sync_health *out)
{
    memset(out, 0, sizeof(*out));
    if (!e)
        return AB_EUNAVAILABLE;
    struct prov *p = sync_find_prov(e, tenant, provider);
    if (!p)
        return AB_ENOTFOUND;
    out->rc = conn_health(p->ops, p->ctx, a, &out->checks);
    if (out->rc == AB_EUNSUPPORTED && !p->ops->health && !out->checks.message)
        out->checks.message = arena_printf(a, "the %s connector has no health check", p->ops->name);
    out->verdict = sync_health_verdict(out->rc, &out->checks);
    return AB_OK;
}
