/* SPDX-License-Identifier: Apache-2.0
 *
 * webhook.h: webhook subscriptions' rules and the signature every delivery
 * carries. The delivery itself belongs to the sync engine; this module is
 * what the API (subscription checks) and the deliverer (signing) share.
 *
 * A delivery is a POST whose body is the event as JSON, with headers
 *   X-Assetbridge-Timestamp: <Unix seconds when signed>
 *   X-Assetbridge-Signature: v1=<hex HMAC-SHA256(secret, timestamp "." body)>
 * The HMAC key is the subscription's secret exactly as the API returned it
 * (64 hex characters, used as text, not decoded). A receiver recomputes the
 * HMAC, compares in constant time and refuses timestamps too far from now
 * (README.md, "Verifying webhook signatures"). Thread-safe.
 */
#ifndef AB_API_WEBHOOK_H
#define AB_API_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define WEBHOOK_HEADER_TIMESTAMP "X-Assetbridge-Timestamp"
#define WEBHOOK_HEADER_SIGNATURE "X-Assetbridge-Signature"

/* "v1=" + 64 hex digits + NUL */
#define WEBHOOK_SIG_MAX (3 + 64 + 1)

/* Bytes of randomness in a subscription secret (hex-encoded: twice as many
 * characters). */
#define WEBHOOK_SECRET_BYTES 32
#define WEBHOOK_URL_MAX 2048

/* Sign body[0..body_len) sent at timestamp (Unix seconds) with secret (a
 * NUL-terminated string, its bytes are the key): out receives
 * "v1=<64 lower-case hex digits>". AB_EINTERNAL when libcrypto fails (out is
 * then ""). */
enum ab_rc webhook_sign(const char *secret, int64_t timestamp, const char *body, size_t body_len,
                        char out[WEBHOOK_SIG_MAX] /* OUT */) AB_MUST_CHECK;

/* What a receiver does, for tests and for tools: true when signature is the
 * v1 signature of (timestamp, body) under secret (compared in constant time)
 * and |now_s - timestamp| <= tolerance_s. */
bool webhook_verify(const char *secret, int64_t timestamp, const char *body, size_t body_len,
                    const char *signature, int64_t now_s, int64_t tolerance_s);

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
