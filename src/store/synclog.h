/* SPDX-License-Identifier: Apache-2.0
 *
 * synclog.h: what the sync engine and its API need from the store beyond
 * outbox.h and journal.h: reading the sync log (newest first) and every
 * sync_state row of a tenant, counting a provider's outbox by state, and
 * three fenced transitions of a claimed item the engine uses: suppress (a
 * mode forbids the write), defer (not attempted: the breaker is open or no
 * rate-limit token; the attempt the claim counted is given back) and the
 * replay of one dead letter by id (audited "outbox.replay").
 *
 * Thread-safety: as store.h.
 */
#ifndef AB_STORE_SYNCLOG_H
#define AB_STORE_SYNCLOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/outbox.h"
#include "store/store.h"

/* One sync log line. */
struct store_sync_log {
    int64_t id;
    const char *provider, *entity, *native_id; /* native_id may be NULL */
    const char *level;                         /* "info", "warn", "error" */
    const char *message;
    const char *correlation_id; /* may be NULL */
    int64_t at;
};

/* Sync log lines of tenant, newest first (highest id first), with
 * id < before_id (before_id <= 0: from the newest); provider NULL = any. At
 * most limit (1..1000). Strings live in a. */
enum ab_rc store_sync_log_list(struct store_read *r, const char *tenant, const char *provider,
                               int64_t before_id, size_t limit, struct arena *a,
                               struct store_sync_log **out /* OUT */,
                               size_t *n /* OUT */) AB_MUST_CHECK;

/* Every sync_state row of tenant, ordered by provider then entity, at most
 * limit. Strings live in a. */
enum ab_rc store_sync_state_list(struct store_read *r, const char *tenant, size_t limit,
                                 struct arena *a, struct store_sync_state **out /* OUT */,
                                 size_t *n /* OUT */) AB_MUST_CHECK;

/* How many outbox items of (tenant, provider) are in each state. */
struct store_outbox_counts {
    int64_t pending, in_flight, done, dead, suppressed, refused;
};
enum ab_rc store_outbox_counts(struct store_read *r, const char *tenant, const char *provider,
                               struct store_outbox_counts *out /* OUT */) AB_MUST_CHECK;

/* Items of tenant in a state with id > after_id, oldest first, with the
 * failure details (error class, response, owner action, dead_at). */
enum ab_rc store_outbox_rows(struct store_read *r, const char *tenant,
                             enum store_outbox_state state, int64_t after_id, size_t limit,
                             struct arena *a, struct store_outbox_row **out /* OUT */,
                             size_t *n /* OUT */) AB_MUST_CHECK;

/* in_flight (under lease_until) -> suppressed with reason as last_error and
 * error_class "mode"; the claim's attempt is given back. Fenced as
 * store_outbox_complete (AB_ECONFLICT / AB_ENOTFOUND). */
enum ab_rc store_outbox_suppress(struct store_tx *tx, const char *tenant, int64_t id,
                                 int64_t lease_until, const char *reason) AB_MUST_CHECK;

/* in_flight (under lease_until) -> refused: the system of record for the
 * item's site and domain is another provider (sor, or NULL when the policy
 * refused it for another reason). A policy decision, not an error: no retry,
 * no dead letter; one audit record "outbox.refused" (actor "system") with the
 * reason, and the reason as last_error, error_class "policy". Fenced as
 * store_outbox_complete. */
enum ab_rc store_outbox_refuse(struct store_tx *tx, const char *tenant, int64_t id,
                               int64_t lease_until, const char *reason) AB_MUST_CHECK;

/* in_flight (under lease_until) -> pending at `at`, the claim's attempt
 * given back, the last error untouched. Fenced as store_outbox_complete. */
enum ab_rc store_outbox_defer(struct store_tx *tx, const char *tenant, int64_t id,
                              int64_t lease_until, int64_t at) AB_MUST_CHECK;

/* Replay the dead letter id of tenant (dead -> pending now, attempts 0), one
 * audit record "outbox.replay" by actor. *n = 1, or 0 when tenant has no
 * such dead letter (not an error). */
enum ab_rc store_outbox_replay_id(struct store_tx *tx, const char *tenant, int64_t id,
                                  const char *actor, int64_t *n /* OUT */) AB_MUST_CHECK;

#endif
