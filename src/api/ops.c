/* SPDX-License-Identifier: Apache-2.0
 *
 * ops.c: operations endpoints.
 *   /healthz  the process serves HTTP (no key)
 *   /readyz   the store is reachable and its schema is the one this build
 *             knows (no key; 503 otherwise)
 *   /metrics  Prometheus text; open from loopback, a key with `read` otherwise
 */
#include <jansson.h>

#include "api/api.h"
#include "api/api_int.h"
#include "core/clock.h"
#include "core/timefmt.h"
#include "api/api_util.h"
#include "api/metrics.h"
#include "http/json.h"
#include "store/events.h"
#include "store/store.h"

static void healthz(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    (void)req;
    char now[TIME_RFC3339_MAX];
    time_format_rfc3339(clock_now_ms(), now);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:I, s:b}", "status", "ok", "version", AB_VERSION, "time", now,
                  "uptime_s", (json_int_t)((clock_mono_ms() - ctx->started_mono_ms) / 1000),
                  "fake_clock", ctx->fake_clock);
    http_resp_json(resp, 200, o);
}

static void readyz(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    (void)req;
    struct store_read *r;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    int64_t seq = 0;
    if (!rc) {
        /* a real query: the file is there and readable */
        rc = store_events_last_seq(r, "default", &seq);
        store_read_end(r);
    }
    json_t *o = json_pack("{s:s, s:i}", "status", rc ? "unavailable" : "ready", "schema_version",
                          store_schema_version(ctx->store));
    if (rc)
        json_object_set_new(o, "error", json_string(ab_rc_name(rc)));
    http_resp_json(resp, rc ? 503 : 200, o);
}

static void metrics(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    struct store_stats st;
    store_stats(ctx->store, &st);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    enum ab_rc rc = metrics_render(&resp->body);
    if (!rc)
        rc = api_sync_metrics(ctx, &resp->body);
    if (!rc)
        rc = buf_printf(&resp->body,
                        "# TYPE assetbridge_store_commits_total counter\n"
                        "assetbridge_store_commits_total %llu\n"
                        "# TYPE assetbridge_store_jobs_total counter\n"
                        "assetbridge_store_jobs_total %llu\n"
                        "# TYPE assetbridge_store_jobs_failed_total counter\n"
                        "assetbridge_store_jobs_failed_total %llu\n"
                        "# TYPE assetbridge_store_commit_seconds_total counter\n"
                        "assetbridge_store_commit_seconds_total %.6f\n"
                        "# TYPE assetbridge_store_queue_depth gauge\n"
                        "assetbridge_store_queue_depth %llu\n",
                        (unsigned long long)st.commits, (unsigned long long)st.jobs,
                        (unsigned long long)st.jobs_failed, (double)st.commit_us_total / 1e6,
                        (unsigned long long)st.queue_depth);
    if (rc)
        api_error_rc(req, resp, rc, NULL, NULL);
}

const struct http_route api_ops_routes[] = {
    {"GET", "/healthz", healthz, 0, API_PUBLIC},
    {"GET", "/readyz", readyz, 0, API_PUBLIC},
    {"GET", "/metrics", metrics, 0, SCOPE_READ | API_OPEN_ON_LOOPBACK},
    {NULL, NULL, NULL, 0, 0},
};
