/* SPDX-License-Identifier: Apache-2.0
 *
 * api_int.h: what the API modules share inside src/api: each module's route
 * table, terminated by an entry whose method is NULL, assembled in order by
 * routes.c.
 */
#ifndef AB_API_API_INT_H
#define AB_API_API_INT_H

#include "http/http.h"

extern const struct http_route api_ops_routes[];      /* ops.c: /healthz, /readyz, /metrics */
extern const struct http_route api_readings_routes[]; /* readings.c: readings, meters */
extern const struct http_route api_assets_routes[]; /* assets.c: assets, links, exceptions, audit */
extern const struct http_route api_workorders_routes[]; /* workorders.c: work orders, calibration,
                                                           plans, status mappings */
extern const struct http_route api_events_routes[];     /* events.c: events, webhooks, OpenAPI */
extern const struct http_route api_sync_routes[];       /* sync.c: providers, sync state, outbox,
                                                           dead letters */
extern const struct http_route api_jobs_routes[];       /* jobs.c: jobs, reconcile, provider
                                                           sync and health */
/* suggestions.c: calibration interval suggestions */
extern const struct http_route api_suggestions_routes[];
extern const struct http_route api_test_routes[]; /* testclock.c: /_test/clock */

struct buf;
/* sync.c: append the sync engine's metrics (deliveries by provider and
 * outcome, records pulled, queue depth, dead letters, lag, breaker state) for
 * every configured provider, in Prometheus text format. */
enum ab_rc api_sync_metrics(const struct api_ctx *ctx, struct buf *out) AB_MUST_CHECK;

#endif
