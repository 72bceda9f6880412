/* SPDX-License-Identifier: Apache-2.0
 *
 * ops.c: operations endpoints. /healthz answers as long as the process
 * serves HTTP; readiness and metrics arrive with the store and the API.
 */
#include <jansson.h>

#include "api/api.h"
#include "api/api_int.h"
#include "core/clock.h"
#include "core/timefmt.h"
#include "http/json.h"

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

const struct http_route api_ops_routes[] = {
    {"GET", "/healthz", healthz, 0, 0},
};
const size_t api_ops_routes_n = sizeof(api_ops_routes) / sizeof(api_ops_routes[0]);
