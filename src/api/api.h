/* SPDX-License-Identifier: Apache-2.0
 *
 * api.h: the HTTP routes of the service: operations endpoints (/healthz)
 * now, the /v1 resources as they land, and the test-only routes that exist
 * only when the service runs with a fake clock.
 */
#ifndef AB_API_API_H
#define AB_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "http/http.h"
#include "store/store.h"

struct sync_engine; /* sync/engine.h */

/* Everything handlers share. Lives as long as the server. */
struct api_ctx {
    const struct config *cfg;
    struct store *store;
    bool fake_clock; /* serve --fake-clock: /_test/ routes exist */
    int64_t started_mono_ms;
    struct sync_engine *sync; /* the sync engine (health for GET /v1/providers); may be NULL */
};

/* Build the route table for ctx into a new array (free() it after the server
 * has stopped); *n receives its length. Test routes are included only when
 * ctx->fake_clock is set. */
struct http_route *api_routes_new(const struct api_ctx *ctx, size_t *n /* OUT */);

/* The middleware for the HTTP server: authentication and scopes, per-key
 * rate limits, batch admission (before); metrics (after). */
void api_hooks(http_before_fn *before /* OUT */, http_after_fn *after /* OUT */);

/* Tell long-running handlers the service is stopping: pending long polls
 * (GET /v1/events?wait=) answer what they have within about a second
 * instead of waiting out their time. Call before http_server_stop(); it
 * cannot be undone. Thread-safe. */
void api_shutdown_begin(void);

/* After the HTTP server has stopped and before the store closes: wait for
 * the long-poll waiter thread to finish with the store. */
void api_shutdown_end(void);

#endif
