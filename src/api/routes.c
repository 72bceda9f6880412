/* SPDX-License-Identifier: Apache-2.0
 *
 * routes.c: the service's route table, assembled from each API module's
 * table. The order matters: action routes (`{id}:verb`) come before the
 * plain routes they would otherwise shadow (see http.h), so each module
 * lists its action routes first.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/api_util.h"
#include "core/xmalloc.h"

static size_t count(const struct http_route *t)
{
    size_t n = 0;
    while (t[n].method)
        n++;
    return n;
}

struct http_route *api_routes_new(const struct api_ctx *ctx, size_t *n)
{
    const struct http_route *tables[] = {
        api_ops_routes,        api_readings_routes,    api_assets_routes,
        api_workorders_routes, api_events_routes,      api_sync_routes,
        api_jobs_routes,       api_suggestions_routes, ctx->fake_clock ? api_test_routes : NULL,
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (tables[i])
            total += count(tables[i]);
    struct http_route *r = xcalloc(total ? total : 1, sizeof(*r));
    size_t k = 0;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if (!tables[i])
            continue;
        size_t c = count(tables[i]);
        memcpy(r + k, tables[i], c * sizeof(*r));
        k += c;
    }
    /* batch bodies take their ceiling from the configuration */
    for (size_t i = 0; i < k; i++)
        if ((r[i].flags & API_BATCH_BODY) && ctx->cfg)
            r[i].max_body = (size_t)ctx->cfg->server.limits.max_batch_body;
    *n = k;
    return r;
}
