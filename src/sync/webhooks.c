/* SPDX-License-Identifier: Apache-2.0
 *
 * webhooks.c: the webhook deliverer: claims outbox items of provider
 * STORE_WEBHOOK_PROVIDER per tenant, POSTs each signed event to its
 * subscription's URL with a fresh HTTP client (libcurl; TLS verification on;
 * the subscription URL is the client's base), and records the outcome in a
 * job of its own; no store handle is held across the request. See
 * webhooks.h and docs/internals/sync.md ("Usage and webhook delivery").
 */
#include "sync/webhooks.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/webhook_sig.h"
#include "core/xmalloc.h"
#include "store/apikeys.h"
#include "store/journal.h"
#include "store/outbox.h"
#include "store/synclog.h"

#define DEFAULT_POLL_MS 1000
#define DEFAULT_BATCH 10
#define MIN_LEASE_MS (5 * 60 * 1000)
#define MAX_TENANTS 1000
#define RESPONSE_MAX (64 * 1024) /* a receiver's answer is kept for dead letters only */
#define RESPONSE_KEPT 1024       /* of which this much goes into the item */
#define ENTITY "webhook"

struct webhooks {
    const struct config *cfg;
    struct store *store;
    struct webhooks_opts o;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stopping;
};

static bool stopping(struct webhooks *w)
{
    pthread_mutex_lock(&w->mu);
    bool s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* ---- outcomes --------------------------------------------------------------- */

enum kind { K_COMPLETE, K_RESCHEDULE, K_DEAD, K_DEFER };

struct outcome {
    const struct store_outbox_item *it;
    int64_t lease;
    enum kind kind;
    int64_t at;
    const char *cls, *msg, *response, *owner, *note;
    struct arena *a;
};

static enum ab_rc outcome_fn(struct store_tx *tx, void *arg)
{
    struct outcome *o = arg;
    const struct store_outbox_item *it = o->it;
    enum ab_rc rc;
    switch (o->kind) {
    case K_COMPLETE: return store_outbox_complete_note(tx, it->tenant, it->id, o->lease, o->note);
    case K_DEFER: return store_outbox_defer(tx, it->tenant, it->id, o->lease, o->at);
    case K_RESCHEDULE:
        rc = store_outbox_reschedule(tx, it->tenant, it->id, o->lease, o->at, o->cls, o->msg,
                                     o->response);
        if (!rc)
            rc = store_sync_log_add(tx, it->tenant, STORE_WEBHOOK_PROVIDER, ENTITY, it->subject,
                                    "warn",
                                    arena_printf(o->a, "outbox #%lld: %s (%s); retry later",
                                                 (long long)it->id, o->msg, o->cls));
        return rc;
    case K_DEAD:
    default:
        /* no sync.failed event: it would be fanned out to webhooks again */
        rc = store_outbox_dead_letter(tx, it->tenant, it->id, o->lease, o->cls, o->msg, o->response,
                                      o->owner);
        if (!rc)
            rc = store_sync_log_add(tx, it->tenant, STORE_WEBHOOK_PROVIDER, ENTITY, it->subject,
                                    "error",
                                    arena_printf(o->a, "outbox #%lld dead-lettered: %s (%s)",
                                                 (long long)it->id, o->msg, o->cls));
        return rc;
    }
}

static void record(struct webhooks *w, struct outcome *o)
{
    enum ab_rc rc = store_write(w->store, outcome_fn, o, o->it->correlation_id);
    if (rc)
        log_warn(o->it->correlation_id, "webhooks: cannot record a delivery outcome",
                 LOG_STR("tenant", o->it->tenant), LOG_INT("outbox_id", o->it->id),
                 LOG_STR("error", ab_rc_name(rc)));
}

/* The URL without its query or fragment (which may carry a token), for
 * logs and owner actions. */
static const char *shown_url(struct arena *a, const char *url)
{
    size_t n = strcspn(url, "?#");
    return arena_printf(a, "%.*s%s", (int)n, url, url[n] ? "?..." : "");
}

/* A failed attempt: retry by the policy, or dead-letter. */
static void fail(struct webhooks *w, struct outcome *o, bool retryable, int64_t retry_after_ms,
                 const char *url)
{
    struct retry_decision d;
    retry_decide(&w->o.retry, retryable, o->it->attempts, o->it->created_at, clock_now_ms(),
                 retry_after_ms, w->o.rnd, NULL, &d);
    if (d.action == RETRY_AT) {
        o->kind = K_RESCHEDULE;
        o->at = d.at;
    } else {
        o->kind = K_DEAD;
        if (retryable && d.reason)
            o->msg = arena_printf(o->a, "%s (gave up: %s)", o->msg, d.reason);
        o->owner =
            url ? arena_printf(o->a, "check the receiver at %s, then replay", shown_url(o->a, url))
                : "report a bug: the delivery cannot be read, then replay or discard";
    }
    log_warn(o->it->correlation_id, "webhook delivery failed", LOG_STR("tenant", o->it->tenant),
             LOG_STR("subject", o->it->subject), LOG_INT("outbox_id", o->it->id),
             LOG_INT("attempt", o->it->attempts), LOG_STR("error_class", o->cls),
             LOG_STR("error", o->msg),
             LOG_STR("outcome", o->kind == K_DEAD ? "dead_letter" : "retry"));
    record(w, o);
}

/* ---- one delivery ------------------------------------------------------------- */

static bool retryable_status(int status)
{
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static void deliver(struct webhooks *w, const struct store_outbox_item *it, int64_t lease)
{
    struct arena *a = arena_new(0, 0);
    struct outcome o = {.it = it, .lease = lease, .a = a};
    const char *corr = it->correlation_id;

    json_error_t jerr;
    json_t *pl = json_loads(it->payload ? it->payload : "", 0, &jerr);
    const char *sub_id = json_string_value(json_object_get(pl, "subscription"));
    json_t *event = json_object_get(pl, "event");
    if (!sub_id || !json_is_object(event)) {
        o.cls = "invalid_payload";
        o.msg = "the stored delivery is not {subscription, event}";
        fail(w, &o, false, -1, NULL);
        goto out;
    }
    sub_id = arena_strdup(a, sub_id);
    const char *type = json_string_value(json_object_get(event, "type"));
    type = arena_strdup(a, type ? type : "");
    char *body_text = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
    const char *body = body_text ? arena_strdup(a, body_text) : NULL;
    free(body_text);
    json_decref(pl);
    pl = NULL;
    if (!body) {
        o.cls = "invalid_payload";
        o.msg = "the stored event cannot be serialised";
        fail(w, &o, false, -1, NULL);
        goto out;
    }

    struct store_webhook sub;
    struct store_read *r = NULL;
    enum ab_rc rc = store_read_begin(w->store, &r);
    if (!rc) {
        rc = store_webhook_get_secret(r, it->tenant, sub_id, a, &sub);
        store_read_end(r);
    }
    if (rc == AB_ENOTFOUND) {
        o.kind = K_COMPLETE;
        o.note = "subscription deleted";
        log_info(corr, "webhook not delivered: subscription deleted", LOG_STR("tenant", it->tenant),
                 LOG_STR("subscription", sub_id), LOG_INT("outbox_id", it->id));
        record(w, &o);
        goto out;
    }
    if (rc) {
        o.kind = K_DEFER; /* the store is busy: try again soon, no attempt counted */
        o.at = clock_now_ms() + w->o.poll_ms;
        record(w, &o);
        goto out;
    }
    if (!w->cfg->webhooks.allow_plain_http && strncmp(sub.url, "https://", 8) != 0) {
        o.cls = "plain_http";
        o.msg = "the subscription's URL is not https:// and webhooks.allow_plain_http is false";
        fail(w, &o, false, -1, sub.url);
        goto out;
    }

    char sig[WEBHOOK_SIG_MAX];
    int64_t ts = clock_now_ms() / 1000;
    if (webhook_sign(sub.secret, ts, body, strlen(body), sig)) {
        o.kind = K_DEFER;
        o.at = clock_now_ms() + w->o.poll_ms;
        log_error(corr, "webhooks: cannot sign a delivery", LOG_INT("outbox_id", it->id));
        record(w, &o);
        goto out;
    }
    struct client_opts co = {
        .name = "webhook",
        .base_url = sub.url,
        .verify = true,
        .connect_timeout_ms = w->cfg->webhooks.timeout_ms,
        .timeout_ms = w->cfg->webhooks.timeout_ms,
        .max_response = RESPONSE_MAX,
    };
    struct client *c = NULL;
    char err[256] = "";
    rc = client_new(&co, &c, err, sizeof(err));
    if (rc) {
        o.cls = "invalid_url";
        o.msg = arena_printf(a, "cannot send to the subscription's URL: %s", err);
        fail(w, &o, false, -1, sub.url);
        goto out;
    }
    const struct client_header hdrs[] = {
        {"Content-Type", "application/json"},
        {WEBHOOK_HEADER_TIMESTAMP, arena_printf(a, "%lld", (long long)ts)},
        {WEBHOOK_HEADER_SIGNATURE, sig},
        {WEBHOOK_HEADER_EVENT, type},
        {WEBHOOK_HEADER_DELIVERY, it->idempotency_key},
        {"User-Agent", "assetbridge/" AB_VERSION},
    };
    struct client_request req = {
        .method = "POST",
        .path = "",
        .headers = hdrs,
        .n_headers = sizeof(hdrs) / sizeof(hdrs[0]),
        .body = body,
        .body_len = strlen(body),
        .correlation_id = corr,
    };
    struct client_response resp;
    int64_t t0 = clock_mono_ms();
    rc = client_request(c, &req, a, &resp);
    client_free(c);
    int64_t took = clock_mono_ms() - t0;
    const char *url = shown_url(a, sub.url);

    if (rc && !(rc == AB_ETOOLARGE && resp.status > 0)) {
        o.cls = ab_rc_name(rc);
        o.msg = arena_printf(a, "no answer from %s: %s", url, resp.error ? resp.error : o.cls);
        /* a malformed URL never gets better; everything else may */
        fail(w, &o, rc != AB_EINVAL, -1, sub.url);
        goto out;
    }
    int status = resp.status;
    log_info(corr, "webhook delivery", LOG_STR("tenant", it->tenant),
             LOG_STR("subscription", sub_id), LOG_STR("event_type", type),
             LOG_INT("outbox_id", it->id), LOG_INT("attempt", it->attempts), LOG_STR("url", url),
             LOG_INT("status", status), LOG_INT("ms", took));
    if (status >= 200 && status <= 299) {
        o.kind = K_COMPLETE;
        record(w, &o);
        goto out;
    }
    if (status == 410) {
        o.kind = K_COMPLETE;
        o.note = "receiver answered 410 Gone";
        log_warn(corr, "webhook receiver answered 410 Gone; consider deleting the subscription",
                 LOG_STR("tenant", it->tenant), LOG_STR("subscription", sub_id),
                 LOG_STR("url", url));
        record(w, &o);
        goto out;
    }
    o.cls = arena_printf(a, "http_%d", status);
    o.msg = arena_printf(a, "the receiver answered HTTP %d", status);
    size_t keep = resp.body_len < RESPONSE_KEPT ? resp.body_len : RESPONSE_KEPT;
    o.response = arena_printf(a, "HTTP %d\n%.*s", status, (int)keep, resp.body ? resp.body : "");
    int64_t retry_after = -1;
    const char *ra = client_response_header(&resp, "Retry-After");
    if (ra && retry_after_parse(ra, clock_now_ms(), w->o.retry.retry_after_ceiling_ms,
                                &retry_after) != AB_OK)
        retry_after = -1;
    fail(w, &o, retryable_status(status), retry_after, sub.url);
out:
    json_decref(pl);
    arena_free(a);
}

/* ---- claiming ---------------------------------------------------------------------- */

static enum ab_rc drain_tenant(struct webhooks *w, const char *tenant, size_t *processed)
{
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c = {
        .tenant = tenant,
        .provider = STORE_WEBHOOK_PROVIDER,
        .max = w->o.batch,
        .lease_ms = w->o.lease_ms,
        .a = a,
    };
    enum ab_rc rc = store_outbox_claim(w->store, &c);
    for (size_t i = 0; !rc && i < c.n; i++) {
        if (stopping(w)) {
            /* give the rest back at once instead of waiting out the lease */
            struct outcome o = {.it = &c.items[i],
                                .lease = c.lease_until,
                                .kind = K_DEFER,
                                .at = clock_now_ms(),
                                .a = a};
            record(w, &o);
            continue;
        }
        deliver(w, &c.items[i], c.lease_until);
    }
    if (!rc)
        *processed += c.n;
    arena_free(a);
    return rc;
}

enum ab_rc webhooks_drain(struct webhooks *w, const char *tenant, size_t *processed)
{
    size_t done = 0;
    enum ab_rc rc = AB_OK;
    if (tenant) {
        rc = drain_tenant(w, tenant, &done);
    } else {
        /* only tenants with deliveries waiting: an idle service writes nothing */
        struct arena *a = arena_new(0, 0);
        const char **tenants = NULL;
        size_t n = 0;
        struct store_read *r = NULL;
        rc = store_read_begin(w->store, &r);
        if (!rc) {
            rc = store_webhook_tenants(r, MAX_TENANTS, a, &tenants, &n);
            store_read_end(r);
        }
        for (size_t i = 0; !rc && i < n; i++)
            rc = drain_tenant(w, tenants[i], &done);
        arena_free(a);
    }
    if (processed)
        *processed = done;
    return rc;
}

static void idle_wait(struct webhooks *w, int64_t ms)
{
    struct timespec ts = clock_deadline_in(ms);
    pthread_mutex_lock(&w->mu);
    if (!w->stopping)
        (void)pthread_cond_timedwait(&w->cond, &w->mu, &ts);
    pthread_mutex_unlock(&w->mu);
}

static void *deliverer_main(void *arg)
{
    struct webhooks *w = arg;
    while (!stopping(w)) {
        size_t n = 0;
        enum ab_rc rc = webhooks_drain(w, NULL, &n);
        if (rc)
            log_warn(NULL, "webhooks: drain failed", LOG_STR("error", ab_rc_name(rc)));
        if (n == 0 || rc)
            idle_wait(w, w->o.poll_ms);
    }
    return NULL;
}

/* ---- start / stop ------------------------------------------------------------------- */

enum ab_rc webhooks_start_with(const struct config *cfg, struct store *store,
                               const struct webhooks_opts *opts, struct webhooks **out)
{
    struct webhooks *w = xcalloc(1, sizeof(*w));
    w->cfg = cfg;
    w->store = store;
    if (opts)
        w->o = *opts;
    if (w->o.poll_ms <= 0)
        w->o.poll_ms = DEFAULT_POLL_MS;
    if (w->o.batch == 0)
        w->o.batch = DEFAULT_BATCH;
    if (w->o.lease_ms <= 0) {
        int64_t per = cfg->webhooks.timeout_ms + 5000;
        int64_t need = (int64_t)w->o.batch * per;
        w->o.lease_ms = need > MIN_LEASE_MS ? need : MIN_LEASE_MS;
    }
    const struct retry_policy *r = &w->o.retry;
    if (r->base_ms == 0 && r->cap_ms == 0 && r->max_attempts == 0 && r->max_age_ms == 0 &&
        r->retry_after_ceiling_ms == 0) {
        retry_policy_default(&w->o.retry);
        w->o.retry.max_attempts = (int)cfg->webhooks.max_attempts;
        w->o.retry.max_age_ms = cfg->webhooks.max_age_ms;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (!w->o.manual) {
        if (pthread_create(&w->thread, NULL, deliverer_main, w) != 0) {
            pthread_cond_destroy(&w->cond);
            pthread_mutex_destroy(&w->mu);
            free(w);
            return AB_EINTERNAL;
        }
        w->started = true;
        log_info(NULL, "webhook deliverer started", LOG_INT("timeout_ms", cfg->webhooks.timeout_ms),
                 LOG_INT("max_attempts", cfg->webhooks.max_attempts),
                 LOG_BOOL("allow_plain_http", cfg->webhooks.allow_plain_http));
    }
    *out = w;
    return AB_OK;
}

enum ab_rc webhooks_start(const struct config *cfg, struct store *store, struct webhooks **out)
{
    return webhooks_start_with(cfg, store, NULL, out);
}

void webhooks_stop(struct webhooks *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
