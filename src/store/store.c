/* SPDX-License-Identifier: Apache-2.0
 *
 * store.c: opening the store, migrations, the writer thread with group
 * commit, the read-connection pool and the statement cache. See store.h.
 *
 * Group commit: callers enqueue jobs; the writer takes every queued job (up
 * to STORE_GROUP_MAX), runs them in one BEGIN IMMEDIATE transaction, each in
 * a savepoint so a failing job rolls back alone, runs the group's pre-commit
 * work (one meter.reading event per meter touched, see readings.c), commits
 * once (one fsync under synchronous=FULL) and only then wakes the callers.
 * Throughput therefore grows with the number of concurrent writers while
 * every acknowledgement still follows its fsync.
 */
#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clock.h"
#include "core/crash.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "store/events_int.h"
#include "store/readings_int.h"
#include "store/store_int.h"

#define STORE_GROUP_MAX 512  /* jobs per group commit */
#define STORE_QUEUE_MAX 8192 /* jobs waiting; more are refused with AB_EAGAIN */
#define STORE_READ_POOL_MAX 32
#define STORE_IDLE_CHECKPOINT_MS 5000

struct store_job {
    store_job_fn fn;
    void *arg;
    const char *correlation_id;
    enum ab_rc rc;
    bool done;
    struct store_job *next;
    pthread_cond_t cond;   /* store_write: signalled when done */
    store_done_fn on_done; /* store_write_async: called when done (then freed) */
    void *done_arg;
    char corr[72]; /* store_write_async keeps its own copy */
};

struct store_read {
    struct store *store;
    struct store_db *db;
};

struct store {
    const struct store_ops *ops;
    struct store_open_opts open_opts;
    char path[4096];
    char synchronous[8];
    int schema_version;

    /* the writer */
    struct store_db *wdb;
    pthread_t writer;
    pthread_mutex_t lock;
    pthread_cond_t work; /* jobs queued or stopping */
    struct store_job *head, *tail;
    size_t queued;
    bool stopping;

    /* read pool */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_free;
    struct store_db *pool[STORE_READ_POOL_MAX];
    size_t pool_n;    /* idle connections in pool[] */
    size_t pool_open; /* connections opened in all */

    /* stats */
    atomic_uint_fast64_t commits, jobs, jobs_failed, commit_us;

    /* signalled after every group commit (store_events_wait, events.c) */
    struct store_events_notify events;

    const struct config *cfg; /* store_set_config; may be NULL */
};

void store_set_config(struct store *s, const struct config *cfg)
{
    s->cfg = cfg;
}

const struct config *store_config(const struct store *s)
{
    return s->cfg;
}

/* ---- connections and statements ---------------------------------------- */

static struct store_db *db_new(const struct store_ops *ops, struct store_conn *c)
{
    struct store_db *db = xcalloc(1, sizeof(*db));
    db->ops = ops;
    db->conn = c;
    return db;
}

static void db_free(struct store_db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < STORE_STMT_CACHE; i++)
        if (db->cache[i].stmt)
            db->ops->finalize(db->cache[i].stmt);
    db->ops->close(db->conn);
    free(db);
}

enum ab_rc store_db_stmt(struct store_db *db, const char *sql, struct store_stmt **out)
{
    size_t h = ((uintptr_t)sql >> 3) % STORE_STMT_CACHE;
    for (size_t k = 0; k < STORE_STMT_CACHE; k++) {
        size_t i = (h + k) % STORE_STMT_CACHE;
        if (db->cache[i].sql == sql) {
            db->ops->reset(db->cache[i].stmt);
            *out = db->cache[i].stmt;
            return AB_OK;
        }
        if (!db->cache[i].sql) {
            enum ab_rc rc = db->ops->prepare(db->conn, sql, &db->cache[i].stmt);
            if (rc)
                return rc;
            db->cache[i].sql = sql;
            *out = db->cache[i].stmt;
            return AB_OK;
        }
    }
    /* the cache is sized for every statement the code has; reaching here is a bug */
    log_error(NULL, "statement cache full", LOG_STR("sql", sql));
    return AB_EINTERNAL;
}

enum ab_rc store_bind_text(struct store_db *db, struct store_stmt *s, int i, const char *v)
{
    return v ? db->ops->bind_text(s, i, v, strlen(v)) : db->ops->bind_null(s, i);
}

enum ab_rc store_bind_int(struct store_db *db, struct store_stmt *s, int i, int64_t v)
{
    return db->ops->bind_int(s, i, v);
}

enum ab_rc store_bind_real(struct store_db *db, struct store_stmt *s, int i, double v)
{
    return db->ops->bind_real(s, i, v);
}

enum ab_rc store_bind_time(struct store_db *db, struct store_stmt *s, int i, int64_t v)
{
    return v == INT64_MIN ? db->ops->bind_null(s, i) : db->ops->bind_int(s, i, v);
}

enum ab_rc store_bind_all(struct store_db *db, struct store_stmt *s, const char *fmt, ...)
{
    va_list ap;
    enum ab_rc rc = AB_OK;
    va_start(ap, fmt);
    for (int i = 0; fmt[i] && !rc; i++) {
        switch (fmt[i]) {
        case 't': rc = store_bind_text(db, s, i + 1, va_arg(ap, const char *)); break;
        case 'i': rc = store_bind_int(db, s, i + 1, va_arg(ap, int64_t)); break;
        case 'T': rc = store_bind_time(db, s, i + 1, va_arg(ap, int64_t)); break;
        case 'r': rc = store_bind_real(db, s, i + 1, va_arg(ap, double)); break;
        default: rc = AB_EINTERNAL;
        }
    }
    va_end(ap);
    return rc;
}

enum ab_rc store_step_done(struct store_db *db, struct store_stmt *s)
{
    bool row = false;
    enum ab_rc rc;
    do
        rc = db->ops->step(s, &row);
    while (!rc && row);
    return rc;
}

enum ab_rc store_step_row(struct store_db *db, struct store_stmt *s, bool *row)
{
    return db->ops->step(s, row);
}

const char *store_col_text(struct store_db *db, struct store_stmt *s, int i, struct arena *a)
{
    if (db->ops->column_type(s, i) == STORE_NULL)
        return NULL;
    const char *t = db->ops->column_text(s, i);
    return t ? arena_strdup(a, t) : NULL;
}

int64_t store_col_int(struct store_db *db, struct store_stmt *s, int i)
{
    return db->ops->column_int(s, i);
}

double store_col_real(struct store_db *db, struct store_stmt *s, int i)
{
    return db->ops->column_real(s, i);
}

int64_t store_col_time(struct store_db *db, struct store_stmt *s, int i)
{
    return db->ops->column_type(s, i) == STORE_NULL ? INT64_MIN : db->ops->column_int(s, i);
}

bool store_col_null(struct store_db *db, struct store_stmt *s, int i)
{
    return db->ops->column_type(s, i) == STORE_NULL;
}

/* ---- writer ----------------------------------------------------------------- */

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT job";
static const char SQL_RELEASE[] = "RELEASE job";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO job";

static enum ab_rc run_stmt(struct store_db *db, const char *sql)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, sql, &st);
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

static void finish_jobs(struct store *s, struct store_job *list, enum ab_rc override)
{
    struct store_job *async = NULL, **tail = &async;
    pthread_mutex_lock(&s->lock);
    for (struct store_job *j = list, *next; j; j = next) {
        next = j->next;
        if (override)
            j->rc = override;
        if (j->on_done) {
            /* collected and called after the lock is dropped */
            j->next = NULL;
            *tail = j;
            tail = &j->next;
            continue;
        }
        j->done = true;
        pthread_cond_signal(&j->cond);
    }
    pthread_mutex_unlock(&s->lock);
    for (struct store_job *j = async, *next; j; j = next) {
        next = j->next;
        j->on_done(j->done_arg, j->rc);
        free(j);
    }
}

/* Run one group: returns the commit's result (jobs keep their own rc). */
static enum ab_rc run_group(struct store *s, struct store_job *list)
{
    struct store_db *db = s->wdb;
    struct store_group group;
    store_group_init(&group);
    enum ab_rc rc;
    int tries = 0;
    while ((rc = run_stmt(db, SQL_BEGIN)) == AB_EAGAIN && tries++ < 100) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc) {
        store_group_cleanup(&group);
        return rc;
    }
    size_t ok = 0;
    for (struct store_job *j = list; j; j = j->next) {
        struct store_tx tx = {s, db, &group, j->correlation_id};
        store_group_job_begin(&group);
        rc = run_stmt(db, SQL_SAVEPOINT);
        if (rc)
            break;
        j->rc = j->fn(&tx, j->arg);
        if (j->rc) {
            store_group_job_abort(&group);
            rc = run_stmt(db, SQL_ROLLBACK_TO);
            if (!rc)
                rc = run_stmt(db, SQL_RELEASE);
            atomic_fetch_add(&s->jobs_failed, 1);
        } else {
            store_group_job_commit(&group);
            rc = run_stmt(db, SQL_RELEASE);
            ok++;
        }
        if (rc)
            break;
    }
    if (!rc) {
        struct store_tx tx = {s, db, &group, NULL};
        rc = store_group_precommit(&tx);
    }
    crash_point("store.before_commit");
    if (!rc) {
        int64_t t0 = clock_mono_ms();
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        rc = run_stmt(db, SQL_COMMIT);
        clock_gettime(CLOCK_MONOTONIC, &b);
        (void)t0;
        atomic_fetch_add(&s->commit_us, (uint64_t)((b.tv_sec - a.tv_sec) * 1000000 +
                                                   (b.tv_nsec - a.tv_nsec) / 1000));
    }
    if (rc) {
        log_error(NULL, "group commit failed; rolling back", LOG_STR("error", ab_rc_name(rc)),
                  LOG_STR("detail", db->ops->errmsg(db->conn)));
        if (run_stmt(db, SQL_ROLLBACK))
            log_error(NULL, "rollback failed", LOG_STR("detail", db->ops->errmsg(db->conn)));
        store_group_cleanup(&group);
        return rc;
    }
    crash_point("store.after_commit");
    store_group_cleanup(&group);
    atomic_fetch_add(&s->commits, 1);
    atomic_fetch_add(&s->jobs, ok);
    store_events_notify_commit(&s->events);
    return AB_OK;
}

static void *writer_main(void *arg)
{
    struct store *s = arg;
    int64_t last_work = clock_mono_ms();
    bool checkpointed = true;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->head && !s->stopping) {
            if (!checkpointed && clock_mono_ms() - last_work >= STORE_IDLE_CHECKPOINT_MS) {
                /* idle: fold the WAL back into the database and truncate it */
                pthread_mutex_unlock(&s->lock);
                if (s->ops->checkpoint(s->wdb->conn, true))
                    log_warn(NULL, "checkpoint failed",
                             LOG_STR("detail", s->ops->errmsg(s->wdb->conn)));
                pthread_mutex_lock(&s->lock);
                checkpointed = true;
                continue;
            }
            struct timespec ts = clock_deadline_in(1000);
            pthread_cond_timedwait(&s->work, &s->lock, &ts);
        }
        if (!s->head && s->stopping)
            break;
        /* take up to STORE_GROUP_MAX jobs */
        struct store_job *list = s->head, *last = s->head;
        size_t n = 1;
        while (last->next && n < STORE_GROUP_MAX) {
            last = last->next;
            n++;
        }
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        s->queued -= n;
        pthread_mutex_unlock(&s->lock);

        enum ab_rc rc = run_group(s, list);
        finish_jobs(s, list, rc);
        last_work = clock_mono_ms();
        checkpointed = false;

        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

enum ab_rc store_write(struct store *s, store_job_fn fn, void *arg, const char *correlation_id)
{
    struct store_job job = {
        fn, arg, correlation_id, AB_OK, false, NULL, PTHREAD_COND_INITIALIZER, NULL, NULL, ""};
    pthread_mutex_lock(&s->lock);
    if (s->stopping || s->queued >= STORE_QUEUE_MAX) {
        pthread_mutex_unlock(&s->lock);
        return AB_EAGAIN;
    }
    /* the job lives on this stack frame until the writer has signalled it
     * done, and is unlinked from the queue before that */
    if (s->tail)
        s->tail->next = &job; // cppcheck-suppress autoVariables
    else
        s->head = &job; // cppcheck-suppress autoVariables
    s->tail = &job;     // cppcheck-suppress autoVariables
    s->queued++;
    pthread_cond_signal(&s->work);
    while (!job.done)
        pthread_cond_wait(&job.cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    pthread_cond_destroy(&job.cond);
    return job.rc;
}

enum ab_rc store_write_async(struct store *s, store_job_fn fn, void *arg,
                             const char *correlation_id, store_done_fn on_done, void *done_arg)
{
    struct store_job *job = xcalloc(1, sizeof(*job));
    job->fn = fn;
    job->arg = arg;
    job->on_done = on_done;
    job->done_arg = done_arg;
    if (correlation_id) {
        str_lcpy(job->corr, correlation_id, sizeof(job->corr));
        job->correlation_id = job->corr;
    }
    pthread_mutex_lock(&s->lock);
    if (s->stopping || s->queued >= STORE_QUEUE_MAX) {
        pthread_mutex_unlock(&s->lock);
        free(job);
        return AB_EAGAIN;
    }
    if (s->tail)
        s->tail->next = job;
    else
        s->head = job;
    s->tail = job;
    s->queued++;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    return AB_OK;
}

const char *store_tx_correlation_id(const struct store_tx *tx)
{
    return tx->correlation_id;
}

const char *store_tx_set_correlation_id(struct store_tx *tx, const char *id)
{
    const char *prev = tx->correlation_id;
    tx->correlation_id = id;
    return prev;
}

/* ---- open / close -------------------------------------------------------- */

static enum ab_rc migrate(struct store *s, char *err, size_t errlen)
{
    struct store_db *db = s->wdb;
    int have;
    enum ab_rc rc = s->ops->schema_get(db->conn, &have);
    if (rc) {
        snprintf(err, errlen, "cannot read the schema version of '%s'", s->path);
        return rc;
    }
    int latest = s->ops->schema_latest();
    if (have > latest) {
        snprintf(err, errlen,
                 "database '%s' has schema version %d, newer than this assetbridge knows (%d); "
                 "run a newer assetbridge or restore a backup",
                 s->path, have, latest);
        return AB_ECONFIG;
    }
    if (have == latest) {
        s->schema_version = have;
        return AB_OK;
    }
    rc = s->ops->exec(db->conn, "BEGIN IMMEDIATE");
    if (rc) {
        snprintf(err, errlen, "cannot lock '%s' to migrate it", s->path);
        return rc;
    }
    for (int v = have; v < latest && !rc; v++)
        rc = s->ops->migrate_step(db->conn, v, err, errlen);
    if (!rc)
        rc = s->ops->exec(db->conn, "COMMIT");
    if (rc) {
        if (s->ops->exec(db->conn, "ROLLBACK"))
            log_warn(NULL, "rollback after failed migration failed");
        return rc;
    }
    log_info(NULL, "store migrated", LOG_INT("from", have), LOG_INT("to", latest),
             LOG_STR("path", s->path));
    s->schema_version = latest;
    return AB_OK;
}

static bool sync_valid(const char *v)
{
    return str_eq(v, "normal") || str_eq(v, "full") || str_eq(v, "extra");
}

enum ab_rc store_open(const struct config_store *cfg, struct store **out, char *err, size_t errlen)
{
    const char *backend = cfg->backend ? cfg->backend : "sqlite";
    if (strcmp(backend, "sqlite") != 0) {
        snprintf(err, errlen, "store backend '%s' is not available in this build", backend);
        return AB_ECONFIG;
    }
    const char *sync = cfg->synchronous ? cfg->synchronous : "full";
    if (!sync_valid(sync)) {
        snprintf(err, errlen, "store.synchronous '%s' is not one of normal, full, extra", sync);
        return AB_ECONFIG;
    }
    struct store *s = xcalloc(1, sizeof(*s));
    s->ops = &store_sqlite_ops;
    const char *path = cfg->path ? cfg->path : "assetbridge.db";
    int n;
    if (path[0] == '/' || !cfg->data_dir || str_eq(path, ":memory:"))
        n = snprintf(s->path, sizeof(s->path), "%s", path);
    else
        n = snprintf(s->path, sizeof(s->path), "%s/%s", cfg->data_dir, path);
    if (n < 0 || (size_t)n >= sizeof(s->path)) {
        snprintf(err, errlen, "store path too long");
        free(s);
        return AB_ECONFIG;
    }
    str_lcpy(s->synchronous, sync, sizeof(s->synchronous));
    s->open_opts = (struct store_open_opts){s->path, s->synchronous, false, true};

    struct store_conn *c;
    enum ab_rc rc = s->ops->open(&s->open_opts, &c, err, errlen);
    if (rc) {
        free(s);
        return rc;
    }
    s->wdb = db_new(s->ops, c);
    rc = migrate(s, err, errlen);
    if (rc) {
        db_free(s->wdb);
        free(s);
        return rc;
    }
    s->open_opts.create = false;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_free, NULL);
    store_events_notify_init(&s->events);
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the store writer thread: %s", strerror(errno));
        db_free(s->wdb);
        free(s);
        return AB_EINTERNAL;
    }
    log_info(NULL, "store open", LOG_STR("backend", s->ops->name), LOG_STR("path", s->path),
             LOG_STR("synchronous", s->synchronous), LOG_INT("schema_version", s->schema_version));
    *out = s;
    return AB_OK;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->writer, NULL);
    if (s->ops->checkpoint(s->wdb->conn, true))
        log_warn(NULL, "final checkpoint failed");
    db_free(s->wdb);
    for (size_t i = 0; i < s->pool_n; i++)
        db_free(s->pool[i]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->pool_free);
    store_events_notify_cleanup(&s->events);
    log_info(NULL, "store closed", LOG_STR("path", s->path));
    free(s);
}

int store_schema_version(const struct store *s)
{
    return s->schema_version;
}

/* ---- reads -------------------------------------------------------------------- */

enum ab_rc store_read_begin(struct store *s, struct store_read **out)
{
    struct store_db *db = NULL;
    pthread_mutex_lock(&s->pool_lock);
    while (!s->pool_n && s->pool_open >= STORE_READ_POOL_MAX)
        pthread_cond_wait(&s->pool_free, &s->pool_lock);
    if (s->pool_n) {
        db = s->pool[--s->pool_n];
    } else {
        s->pool_open++;
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (!db) {
        struct store_conn *c;
        char err[256];
        struct store_open_opts o = s->open_opts;
        enum ab_rc rc = s->ops->open(&o, &c, err, sizeof(err));
        if (rc) {
            log_error(NULL, "cannot open a read connection", LOG_STR("detail", err));
            pthread_mutex_lock(&s->pool_lock);
            s->pool_open--;
            pthread_cond_signal(&s->pool_free);
            pthread_mutex_unlock(&s->pool_lock);
            return rc;
        }
        db = db_new(s->ops, c);
    }
    enum ab_rc rc = s->ops->exec(db->conn, "BEGIN");
    if (rc) {
        db_free(db);
        pthread_mutex_lock(&s->pool_lock);
        s->pool_open--;
        pthread_cond_signal(&s->pool_free);
        pthread_mutex_unlock(&s->pool_lock);
        return rc;
    }
    struct store_read *r = xcalloc(1, sizeof(*r));
    r->store = s;
    r->db = db;
    *out = r;
    return AB_OK;
}

void store_read_end(struct store_read *r)
{
    if (!r)
        return;
    struct store *s = r->store;
    /* a statement left mid-result would keep the snapshot (and block
     * checkpoints); finish them all before ending the transaction */
    for (size_t i = 0; i < STORE_STMT_CACHE; i++)
        if (r->db->cache[i].stmt)
            s->ops->reset(r->db->cache[i].stmt);
    if (s->ops->exec(r->db->conn, "COMMIT")) {
        /* a connection in an odd state is not reused */
        db_free(r->db);
        r->db = NULL;
    }
    pthread_mutex_lock(&s->pool_lock);
    if (r->db)
        s->pool[s->pool_n++] = r->db;
    else
        s->pool_open--;
    pthread_cond_signal(&s->pool_free);
    pthread_mutex_unlock(&s->pool_lock);
    free(r);
}

struct store_db *store_read_db(struct store_read *r)
{
    return r->db;
}

struct store_events_notify *store_events_notify_of(struct store *s)
{
    return &s->events;
}

/* ---- misc ------------------------------------------------------------------ */

void store_stats(struct store *s, struct store_stats *out)
{
    out->commits = atomic_load(&s->commits);
    out->jobs = atomic_load(&s->jobs);
    out->jobs_failed = atomic_load(&s->jobs_failed);
    out->commit_us_total = atomic_load(&s->commit_us);
    pthread_mutex_lock(&s->lock);
    out->queue_depth = s->queued;
    pthread_mutex_unlock(&s->lock);
    out->synchronous = s->synchronous;
}

struct backup_arg {
    const char *path;
    char *err;
    size_t errlen;
};

enum ab_rc store_backup(struct store *s, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        snprintf(err, errlen, "backup file '%s' already exists; choose a new name", path);
        return AB_EIO;
    }
    struct store_read *r;
    enum ab_rc rc = store_read_begin(s, &r);
    if (rc) {
        snprintf(err, errlen, "cannot open the store for backup");
        return rc;
    }
    /* the backup API needs no open transaction on the source connection */
    if (s->ops->exec(r->db->conn, "COMMIT"))
        log_warn(NULL, "backup: ending the read transaction failed");
    rc = s->ops->backup(r->db->conn, path, err, errlen);
    if (s->ops->exec(r->db->conn, "BEGIN"))
        log_warn(NULL, "backup: restarting the read transaction failed");
    store_read_end(r);
    return rc;
}

static enum ab_rc checkpoint_job(struct store_tx *tx, void *arg)
{
    (void)tx;
    (void)arg;
    return AB_OK;
}

enum ab_rc store_checkpoint(struct store *s)
{
    /* run behind any queued work, then checkpoint from this thread */
    enum ab_rc rc = store_write(s, checkpoint_job, NULL, NULL);
    if (rc)
        return rc;
    struct store_read *r;
    rc = store_read_begin(s, &r);
    if (rc)
        return rc;
    if (s->ops->exec(r->db->conn, "COMMIT"))
        log_warn(NULL, "checkpoint: ending the read transaction failed");
    rc = s->ops->checkpoint(r->db->conn, true);
    if (s->ops->exec(r->db->conn, "BEGIN"))
        log_warn(NULL, "checkpoint: restarting the read transaction failed");
    store_read_end(r);
    return rc;
}
