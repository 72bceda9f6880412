/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_util.h: small helpers every connector needs (and wrote for itself
 * before): reading JSON members, classifying an HTTP status, keeping a
 * provider's answer for a dead letter with its secrets scrubbed, sleeping
 * and jittering between a connector's own read retries, filling a failed
 * result. Connectors only; the engine never calls these.
 *
 * Thread-safety: all of them may be called from any thread.
 */
#ifndef AB_CONN_CONN_UTIL_H
#define AB_CONN_CONN_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"
#include "conn/conn.h"
#include "core/arena.h"

/* The string member k of o when it is a non-empty string, else NULL. */
const char *conn_jstr(const json_t *o, const char *k);

/* True for 200..299. */
bool conn_is_2xx(int status);

/* Sleep ms milliseconds of real time (restarted after a signal); <= 0: none. */
void conn_sleep_ms(int64_t ms);

/* A uniformly distributed 64-bit value from a per-thread xorshift, for
 * full-jitter backoff of a connector's own retries (not cryptographic). */
uint64_t conn_jitter(void);

/* out->outcome, error_class and message in one call. */
void conn_fail(struct conn_result *out, enum conn_outcome outcome, const char *error_class,
               const char *message);

/* An OData string literal: 'value' with single quotes doubled. In a. */
const char *conn_odata_quote(struct arena *a, const char *s);

/* s percent-encoded for a query value: RFC 3986 unreserved characters kept,
 * everything else (spaces too) as %XX. In a. */
const char *conn_qenc(struct arena *a, const char *s);

/* The transport part of a health check: after a request whose transport
 * result is rc (AB_OK: an HTTP answer came), fill out's dns and tls steps
 * (tls OK for https, skipped for http) and, on failure, a message naming
 * what (e.g. "WATS") could not be reached with error (the client's text,
 * may be NULL). Returns rc as a health check reports it: AB_OK, or the
 * failure (an unknown outcome counts as a network failure). */
enum ab_rc conn_health_transport(enum ab_rc rc, const char *error, bool https, const char *what,
                                 struct arena *a, struct conn_health *out);

/* The provider's answer r, secrets scrubbed (log_scrub) and cut to at most
 * max bytes, in arena a; NULL when there is no body. For conn_result.response
 * (what a dead letter shows a person). */
const char *conn_keep_response(struct arena *a, const struct client_response *r, size_t max);

#endif
