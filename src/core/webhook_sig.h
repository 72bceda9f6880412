/* SPDX-License-Identifier: Apache-2.0
 *
 * webhook_sig.h: the signature every webhook delivery carries, shared by
 * the API (src/api/webhook.c: subscriptions) and the deliverer
 * (src/sync/webhooks.c: signing each POST). It lives in core because both
 * layers use it and neither may include the other.
 *
 * A delivery is a POST whose body is the event as JSON, with headers
 *   X-Assetbridge-Timestamp: <Unix seconds when signed>
 *   X-Assetbridge-Signature: v1=<hex HMAC-SHA256(secret, timestamp "." body)>
 * The HMAC key is the subscription's secret exactly as the API returned it
 * (64 hex characters, used as text, not decoded). A receiver recomputes the
 * HMAC, compares in constant time and refuses timestamps too far from now
 * (README.md, "Verifying webhook signatures"). Thread-safe.
 */
#ifndef AB_CORE_WEBHOOK_SIG_H
#define AB_CORE_WEBHOOK_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define WEBHOOK_HEADER_TIMESTAMP "X-Assetbridge-Timestamp"
#define WEBHOOK_HEADER_SIGNATURE "X-Assetbridge-Signature"
#define WEBHOOK_HEADER_EVENT "X-Assetbridge-Event"
#define WEBHOOK_HEADER_DELIVERY "X-Assetbridge-Delivery"

/* "v1=" + 64 hex digits + NUL */
#define WEBHOOK_SIG_MAX (3 + 64 + 1)

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

#endif
