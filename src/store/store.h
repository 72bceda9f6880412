/* SPDX-License-Identifier: Apache-2.0
 *
 * store.h: the durable store, the only place assetbridge keeps state.
 *
 * One interface for every backend (SQLite now, PostgreSQL later). Writes run
 * as jobs on the store's writer thread: many concurrent callers share one
 * transaction and one fsync (group commit), each job in its own savepoint so
 * a failing job rolls back alone, and store_write() returns only once the
 * job's effects are durable. A job's state change, the events it emits and
 * the outbox rows it adds therefore commit together or not at all. Reads use
 * a pool of separate connections and never wait for the writer (WAL).
 *
 * Domain operations (readings, assets, events, outbox, ...) are declared in
 * the headers next to this one and take a struct store_tx (inside a write
 * job) or a struct store_read (a read session).
 *
 * Thread-safety: every function here may be called from any thread.
 */
#ifndef AB_STORE_STORE_H
#define AB_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/result.h"

struct store;
struct store_tx;   /* a write job's view: see store_int.h (opaque here) */
struct store_read; /* a read session */

/* Open (creating when missing) the database that cfg names, apply pending
 * migrations and start the writer thread. Refuses a database whose schema is
 * newer than this build knows (AB_ECONFIG), an unknown backend (AB_ECONFIG)
 * or a file that cannot be opened (AB_EUNAVAILABLE); err gets one line. */
enum ab_rc store_open(const struct config_store *cfg, struct store **out /* OUT */, char *err,
                      size_t errlen) AB_MUST_CHECK;

/* Give the store the service's configuration (it must outlive the store):
 * outbox items added with a negative priority take their priority from it
 * (config_outbox_priority). Call before the first write; NULL: priority 0. */
void store_set_config(struct store *s, const struct config *cfg);

/* Stop the writer after the jobs already queued, close every connection. */
void store_close(struct store *s);

/* The schema version of the open database. */
int store_schema_version(const struct store *s);

/* A write job: runs on the writer thread inside a transaction, in a
 * savepoint of its own. Returning non-zero rolls back just this job. The job
 * must not block on anything but the database. */
typedef enum ab_rc (*store_job_fn)(struct store_tx *tx, void *arg);

/* Run fn(tx, arg) in the next group commit and wait until it is durable.
 * Returns fn's result, or the commit's failure (then nothing of the job is
 * stored). AB_EAGAIN when the queue is full (the caller answers 503) or the
 * store is closing. correlation_id (may be NULL) goes to events and audit. */
enum ab_rc store_write(struct store *s, store_job_fn fn, void *arg,
                       const char *correlation_id) AB_MUST_CHECK;

/* Called on the writer thread once an asynchronous job's group is durable
 * (rc AB_OK) or failed (the job's own result, or the commit's failure). It
 * must not block; it typically hands a response back to the HTTP layer. */
typedef void (*store_done_fn)(void *done_arg, enum ab_rc rc);

/* Like store_write(), without waiting: fn(tx, arg) runs in a coming group
 * commit and on_done(done_arg, rc) is called when that group is durable. arg
 * must stay valid until then. AB_EAGAIN (and no call) when the queue is full
 * or the store is closing. */
enum ab_rc store_write_async(struct store *s, store_job_fn fn, void *arg,
                             const char *correlation_id, store_done_fn on_done,
                             void *done_arg) AB_MUST_CHECK;

/* The correlation id of the job running in tx (NULL when none). */
const char *store_tx_correlation_id(const struct store_tx *tx);

/* Set the correlation id the rest of the running job records (events,
 * audit, outbox rows), for a job that applies several callers' changes;
 * returns the previous one. id must live until the job ends. */
const char *store_tx_set_correlation_id(struct store_tx *tx, const char *id);

/* Begin a read session (a consistent snapshot until store_read_end). */
enum ab_rc store_read_begin(struct store *s, struct store_read **out /* OUT */) AB_MUST_CHECK;
void store_read_end(struct store_read *r);

/* Counters for metrics and benchmarks. */
struct store_stats {
    uint64_t commits;         /* group commits done */
    uint64_t jobs;            /* jobs committed */
    uint64_t jobs_failed;     /* jobs rolled back */
    uint64_t commit_us_total; /* time spent in COMMIT (fsync included) */
    uint64_t queue_depth;     /* jobs waiting now */
    const char *synchronous;  /* in force */
};
void store_stats(struct store *s, struct store_stats *out /* OUT */);

/* Copy the whole database to path with the backend's online backup; safe
 * while the service runs. AB_EIO with a reason in err. */
enum ab_rc store_backup(struct store *s, const char *path, char *err, size_t errlen) AB_MUST_CHECK;

/* Checkpoint and truncate the write-ahead log now (also done periodically). */
enum ab_rc store_checkpoint(struct store *s) AB_MUST_CHECK;

#endif
