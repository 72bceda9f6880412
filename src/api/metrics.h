/* SPDX-License-Identifier: Apache-2.0
 *
 * metrics.h: in-process counters for /metrics (Prometheus text format).
 *
 * Requests and their latency are recorded per (route template, method,
 * status); a request that matched no route is recorded as route
 * "unmatched". Other modules add named counters (readings ingested, ...).
 * Thread-safe; each instance counts its own traffic.
 */
#ifndef AB_API_METRICS_H
#define AB_API_METRICS_H

#include <stdint.h>

#include "core/buf.h"
#include "core/result.h"

/* Record one request. route must be a string that lives for the process
 * (a route pattern). */
void metrics_request(const char *route, const char *method, int status, int64_t micros);

/* Add to a named counter (name must live for the process), e.g.
 * metrics_add("assetbridge_readings_ingested_total", n). */
void metrics_add(const char *name, int64_t n);

/* Append every metric in Prometheus text format. */
enum ab_rc metrics_render(struct buf *out) AB_MUST_CHECK;

/* Forget everything (tests). */
void metrics_reset(void);

#endif
