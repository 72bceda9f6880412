/* SPDX-License-Identifier: Apache-2.0
 *
 * webhooks.h: the webhook deliverer. Events fan out to subscriptions as
 * outbox items of provider STORE_WEBHOOK_PROVIDER ("@webhook", store/
 * apikeys.h) in the job that appends the event; one thread per service
 * claims them (for every tenant that has some waiting), POSTs each event to
 * its subscription's URL, signed (core/webhook_sig.h), and records the
 * outcome:
 *
 *   2xx                              done
 *   410 Gone                         done, noted "receiver answered 410 Gone"
 *   subscription deleted meanwhile   done, noted "subscription deleted"
 *   408, 429, 5xx, network errors,
 *   timeouts, resets                 retried with backoff (full jitter;
 *                                    Retry-After honoured as a floor)
 *   other statuses, a malformed URL,
 *   http:// when not allowed         dead letter (permanent)
 *   attempts >= webhooks.max_attempts or older than webhooks.max_age
 *                                    dead letter
 *
 * A dead letter keeps the receiver's answer (scrubbed) and the owner action
 * "check the receiver at URL, then replay"; POST /v1/dead-letters:replay with
 * provider "@webhook" sends it again. Delivery is at least once: a receiver
 * deduplicates by the X-Assetbridge-Delivery header (the item's idempotency
 * key, stable across attempts). Every delivery is logged with the event's
 * correlation id (also sent as X-Correlation-Id); the secret never is.
 *
 * Thread-safety: start and stop from one thread; webhooks_drain may be
 * called from any thread.
 */
#ifndef AB_SYNC_WEBHOOKS_H
#define AB_SYNC_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/result.h"
#include "store/store.h"
#include "sync/retry.h"

struct webhooks;

struct webhooks_opts {
    bool manual;               /* no thread: the caller runs webhooks_drain (tests) */
    int64_t poll_ms;           /* idle wait of the thread (real time); <= 0: 1000 */
    size_t batch;              /* items per claim; 0: 10 */
    int64_t lease_ms;          /* claim lease; <= 0: max(5 min, batch x (timeout + 5 s)) */
    struct retry_policy retry; /* all zero: retry_policy_default() with max_attempts and
                                  max_age from cfg->webhooks */
    retry_rand_fn rnd;         /* retry jitter source; NULL: the default */
};

/* Start the deliverer with default options: one thread. AB_EINTERNAL when
 * the thread cannot start. cfg and store must outlive it. */
enum ab_rc webhooks_start(const struct config *cfg, struct store *store,
                          struct webhooks **out /* OUT */) AB_MUST_CHECK;

/* The same with options (NULL: defaults). */
enum ab_rc webhooks_start_with(const struct config *cfg, struct store *store,
                               const struct webhooks_opts *opts,
                               struct webhooks **out /* OUT */) AB_MUST_CHECK;

/* Stop: a delivery in flight finishes and its outcome is recorded; items
 * claimed but not started are given back at once; the thread is joined and
 * everything freed. NULL accepted. */
void webhooks_stop(struct webhooks *w);

/* Claim and deliver one batch of tenant's ready deliveries in the calling
 * thread (tenant NULL: one batch of every tenant that has some waiting).
 * *processed (may be NULL) gets how many items were claimed. */
enum ab_rc webhooks_drain(struct webhooks *w, const char *tenant,
                          size_t *processed /* OUT, may be NULL */) AB_MUST_CHECK;

#endif
