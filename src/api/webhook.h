/* SPDX-License-Identifier: Apache-2.0
 *
 * webhook.h: webhook subscriptions' rules (secrets, event types, URLs) for
 * the API. The signature every delivery carries (webhook_sign,
 * webhook_verify, the header names) lives in core/webhook_sig.h, included
 * here, so the deliverer in src/sync can use it without the API layer.
 * Thread-safe.
 */
#ifndef AB_API_WEBHOOK_H
#define AB_API_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "core/webhook_sig.h"

/* Bytes of randomness in a subscription secret (hex-encoded: twice as many
 * characters). */
#define WEBHOOK_SECRET_BYTES 32
#define WEBHOOK_URL_MAX 2048

/* A new subscription secret: WEBHOOK_SECRET_BYTES from the CSPRNG as
 * lower-case hex (out: 2 * WEBHOOK_SECRET_BYTES + 1 bytes). */
void webhook_secret_new(char out[2 * WEBHOOK_SECRET_BYTES + 1] /* OUT */);

/* True for an event type a subscription may name: "*" (every type), or
 * [a-z_]+ "." [a-z_.]+ (e.g. "asset.created", "work_order.completed"),
 * at most 64 characters. */
bool webhook_event_type_valid(const char *type);

/* True when url is an absolute http:// or https:// URL with a host (name,
 * IPv4 or [IPv6]) and an optional port 1..65535, at most WEBHOOK_URL_MAX
 * characters, without spaces, control characters or user info. On false
 * *why names the problem (a static string). */
bool webhook_url_valid(const char *url, const char **why /* OUT */);

#endif
