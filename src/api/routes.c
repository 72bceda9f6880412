/* SPDX-License-Identifier: Apache-2.0
 *
 * routes.c: the service's route table, assembled from each API module's
 * table. The order matters: action routes (`{id}:verb`) come before the
 * plain routes they would otherwise shadow (see http.h).
 */
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "core/xmalloc.h"

struct http_route *api_routes_new(const struct api_ctx *ctx, size_t *n)
{
    size_t total = api_ops_routes_n + (ctx->fake_clock ? api_test_routes_n : 0);
    struct http_route *r = xcalloc(total, sizeof(*r));
    size_t k = 0;
    memcpy(r + k, api_ops_routes, api_ops_routes_n * sizeof(*r));
    k += api_ops_routes_n;
    if (ctx->fake_clock) {
        memcpy(r + k, api_test_routes, api_test_routes_n * sizeof(*r));
        k += api_test_routes_n;
    }
    *n = k;
    return r;
}
