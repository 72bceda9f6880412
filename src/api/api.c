/* SPDX-License-Identifier: Apache-2.0
 *
 * api.c: the middleware every route passes: authentication and scope checks,
 * per-key rate limits, admission of batch bodies, and request metrics.
 * Installed as the HTTP server's before/after hooks by api_hooks().
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_util.h"
#include "api/metrics.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"

/* ---- per-key token buckets ------------------------------------------------ */

#define BUCKETS 1024

struct bucket {
    char key_id[27];
    double tokens;
    int64_t last_us;
};

static pthread_mutex_t bucket_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket buckets[BUCKETS];

/* Take one token for key_id; false with *retry_s when the bucket is empty. */
static bool bucket_take(const char *key_id, double rate, double burst, int *retry_s)
{
    size_t h = 0;
    for (const char *c = key_id; *c; c++)
        h = h * 31 + (unsigned char)*c;
    int64_t now = clock_mono_us();
    pthread_mutex_lock(&bucket_lock);
    struct bucket *b = &buckets[h % BUCKETS];
    if (strcmp(b->key_id, key_id) != 0) {
        /* a new key (or a colliding one) starts full */
        str_lcpy(b->key_id, key_id, sizeof(b->key_id));
        b->tokens = burst;
        b->last_us = now;
    }
    b->tokens += (double)(now - b->last_us) / 1e6 * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_us = now;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else
        *retry_s = (int)((1.0 - b->tokens) / rate) + 1;
    pthread_mutex_unlock(&bucket_lock);
    return ok;
}

/* ---- batch admission ---------------------------------------------------- */

static pthread_mutex_t batch_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t batches_in_flight;

static bool batch_admit(int64_t max)
{
    pthread_mutex_lock(&batch_lock);
    bool ok = batches_in_flight < max;
    if (ok)
        batches_in_flight++;
    pthread_mutex_unlock(&batch_lock);
    return ok;
}

static void batch_release(void)
{
    pthread_mutex_lock(&batch_lock);
    batches_in_flight--;
    pthread_mutex_unlock(&batch_lock);
}

/* ---- hooks ----------------------------------------------------------------- */

static bool before(struct http_request *req, struct http_response *resp,
                   const struct http_route *route, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    unsigned scope = route->flags & API_SCOPE_MASK;
    if (scope == API_PUBLIC)
        return true;
    if ((route->flags & API_OPEN_ON_LOOPBACK) && http_peer_is_loopback(req))
        return true;

    struct api_caller *caller = arena_zalloc(req->arena, sizeof(*caller));
    char why[160];
    enum ab_rc rc = api_authenticate(ctx->store, http_header(req, "Authorization"), &caller->p, why,
                                     sizeof(why));
    if (rc == AB_EAUTH) {
        http_resp_error(req, resp, 401, "authentication", NULL, why);
        if (http_resp_header(req, resp, "WWW-Authenticate", "Bearer realm=\"assetbridge\""))
            resp->status = 500;
        return false;
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot check the API key now");
        return false;
    }
    if (!(caller->p.scopes & scope)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "this API key lacks the '%s' scope this operation needs",
                 api_scope_name(scope));
        http_resp_error(req, resp, 403, "authorization", NULL, msg);
        return false;
    }
    const struct config_server_limits *lim = &ctx->cfg->server.limits;
    int retry = 1;
    if (!bucket_take(caller->p.key_id, lim->requests_per_second_per_key, (double)lim->burst_per_key,
                     &retry)) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%d", retry);
        http_resp_error(req, resp, 429, "rate_limited", NULL,
                        "rate limit of this API key exceeded");
        if (http_resp_header(req, resp, "Retry-After", secs))
            resp->status = 500;
        return false;
    }
    if (route->flags & API_BATCH_BODY) {
        if (!batch_admit(lim->batch_bodies_in_flight)) {
            http_resp_error(req, resp, 503, "provider_unavailable", NULL,
                            "too many batch bodies in flight; retry shortly");
            if (http_resp_header(req, resp, "Retry-After", "1"))
                resp->status = 500;
            return false;
        }
        caller->holds_batch_slot = true;
    }
    req->user = caller;
    return true;
}

static void after(const struct http_request *req, const struct http_response *resp,
                  const struct http_route *route, void *ctxp)
{
    (void)ctxp;
    const struct api_caller *caller = req->user;
    if (caller && caller->holds_batch_slot)
        batch_release();
    metrics_request(route ? route->pattern : "unmatched", req->method, resp->status,
                    clock_mono_us() - req->started_us);
}

void api_hooks(http_before_fn *b, http_after_fn *a)
{
    *b = before;
    *a = after;
}
