/* SPDX-License-Identifier: Apache-2.0
 *
 * bench_store.c: store ingest benchmark (prints figures; not a test).
 *
 * Inserts meter readings through the store API (store_readings_append) with
 * 1, 4 and 32 concurrent producers appending batches of 1 and of 1,000, each
 * waiting for durability, and prints readings/s, commits/s, readings per
 * commit, the synchronous setting in force and peak RSS (VmHWM) per
 * configuration. Each configuration runs in a fresh process and database.
 *
 * Durability is checked independently of the store: a thin SQLite VFS shim
 * counts xSync calls. A producer notes the count before submitting a batch;
 * when the batch is acknowledged at least one sync must have completed
 * since, otherwise the run fails. The benchmark refuses synchronous below
 * FULL.
 *
 *   bench_store [--readings N] [--max-seconds S] [--no-keys] [--dir DIR]
 *               [--synchronous full|extra] [--only P:B]
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "model/asset.h"
#include "store/assets.h"
#include "store/readings.h"
#include "store/store.h"

/* ---- a VFS that counts syncs ------------------------------------------- */

static sqlite3_vfs *base_vfs;
static sqlite3_vfs count_vfs;
static atomic_long syncs_done;

struct cfile {
    sqlite3_file base;  /* must be first */
    sqlite3_file *real; /* follows this struct in memory */
};

static sqlite3_io_methods cio;

static int c_close(sqlite3_file *f)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xClose(c->real);
}
static int c_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xRead(c->real, b, n, o);
}
static int c_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xWrite(c->real, b, n, o);
}
static int c_truncate(sqlite3_file *f, sqlite3_int64 s)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xTruncate(c->real, s);
}
static int c_sync(sqlite3_file *f, int flags)
{
    struct cfile *c = (struct cfile *)f;
    int rc = c->real->pMethods->xSync(c->real, flags);
    if (rc == SQLITE_OK)
        atomic_fetch_add(&syncs_done, 1);
    return rc;
}
static int c_size(sqlite3_file *f, sqlite3_int64 *s)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xFileSize(c->real, s);
}
static int c_lock(sqlite3_file *f, int l)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xLock(c->real, l);
}
static int c_unlock(sqlite3_file *f, int l)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xUnlock(c->real, l);
}
static int c_check(sqlite3_file *f, int *r)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xCheckReservedLock(c->real, r);
}
static int c_fcntl(sqlite3_file *f, int op, void *a)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xFileControl(c->real, op, a);
}
static int c_sector(sqlite3_file *f)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xSectorSize(c->real);
}
static int c_devchar(sqlite3_file *f)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xDeviceCharacteristics(c->real);
}
static int c_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xShmMap(c->real, pg, sz, ext, p);
}
static int c_shmlock(sqlite3_file *f, int o, int n, int fl)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xShmLock(c->real, o, n, fl);
}
static void c_shmbarrier(sqlite3_file *f)
{
    struct cfile *c = (struct cfile *)f;
    c->real->pMethods->xShmBarrier(c->real);
}
static int c_shmunmap(sqlite3_file *f, int d)
{
    struct cfile *c = (struct cfile *)f;
    return c->real->pMethods->xShmUnmap(c->real, d);
}

static int c_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)v;
    struct cfile *c = (struct cfile *)f;
    c->real = (sqlite3_file *)(c + 1);
    int rc = base_vfs->xOpen(base_vfs, name, c->real, flags, out);
    c->base.pMethods = rc == SQLITE_OK ? &cio : NULL;
    return rc;
}

static void vfs_install(void)
{
    /* looking up the VFS initialises SQLite: apply the store's process-wide
     * setting (no memory statistics) first, as store_open would */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    base_vfs = sqlite3_vfs_find(NULL);
    count_vfs = *base_vfs;
    count_vfs.zName = "count-syncs";
    count_vfs.szOsFile = (int)sizeof(struct cfile) + base_vfs->szOsFile;
    count_vfs.xOpen = c_open;
    cio = (sqlite3_io_methods){3,         c_close,  c_read,    c_write,      c_truncate, c_sync,
                               c_size,    c_lock,   c_unlock,  c_check,      c_fcntl,    c_sector,
                               c_devchar, c_shmmap, c_shmlock, c_shmbarrier, c_shmunmap, NULL,
                               NULL};
    sqlite3_vfs_register(&count_vfs, 1);
}

/* ---- the run ------------------------------------------------------------ */

struct run {
    struct store *s;
    int producers;
    int batch;
    long per_producer;
    int64_t deadline_ms;
    int keys;
    atomic_long done;
    atomic_long early_acks;
    atomic_long rejected;
};

struct producer {
    struct run *run;
    int id;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    struct run *r = p->run;
    char ref[32];
    snprintf(ref, sizeof(ref), "BENCH-%d", p->id);
    struct model_reading *rv = calloc((size_t)r->batch, sizeof(*rv));
    struct store_reading_result *res = calloc((size_t)r->batch, sizeof(*res));
    char(*keys)[48] = calloc((size_t)r->batch, sizeof(*keys));
    long sent = 0;
    while (sent < r->per_producer && clock_mono_ms() < r->deadline_ms) {
        int n = r->batch;
        if (n > r->per_producer - sent)
            n = (int)(r->per_producer - sent);
        int64_t now = clock_now_ms();
        for (int i = 0; i < n; i++) {
            rv[i].asset_ref = ref;
            rv[i].meter_type = "cycles";
            rv[i].amount = 1;
            rv[i].mode = MODEL_READING_INCREMENT;
            rv[i].source = MODEL_SOURCE_TESTER;
            rv[i].read_at = now;
            if (r->keys) {
                snprintf(keys[i], sizeof(keys[i]), "p%d-%ld", p->id, sent + i);
                rv[i].idempotency_key = keys[i];
            }
        }
        long before = atomic_load(&syncs_done);
        enum ab_rc rc = store_readings_append(r->s, "bench", rv, (size_t)n, NULL, res, NULL);
        if (rc) {
            fprintf(stderr, "append failed: %s\n", ab_rc_name(rc));
            exit(1);
        }
        if (atomic_load(&syncs_done) <= before)
            atomic_fetch_add(&r->early_acks, 1);
        for (int i = 0; i < n; i++)
            if (res[i].status != STORE_READING_ACCEPTED)
                atomic_fetch_add(&r->rejected, 1);
        sent += n;
        atomic_fetch_add(&r->done, n);
    }
    free(rv);
    free(res);
    free(keys);
    return NULL;
}

static long vmhwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static enum ab_rc make_asset(struct store_tx *tx, void *arg)
{
    const char *ref = arg;
    struct model_asset a = {0};
    a.asset_ref = ref;
    a.type = MODEL_ASSET_FIXTURE;
    a.status = MODEL_ASSET_ACTIVE;
    a.commissioned_at = INT64_MIN;
    a.created_at = a.updated_at = INT64_MIN;
    struct store_put_result res;
    return store_asset_put(tx, "bench", &a, 0, 0, "bench", &res);
}

static int run_one(const char *dir, const char *sync, int producers, int batch, long total,
                   int max_s, int keys)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/bench-%d-%d.db", dir, producers, batch);
    unlink(path);
    struct config_store cfg = {0};
    cfg.backend = "sqlite";
    cfg.path = path;
    cfg.synchronous = sync;
    char err[256];
    struct run r = {0};
    if (store_open(&cfg, &r.s, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (int p = 0; p < producers; p++) {
        char ref[32];
        snprintf(ref, sizeof(ref), "BENCH-%d", p);
        if (store_write(r.s, make_asset, ref, NULL)) {
            fprintf(stderr, "cannot create bench asset\n");
            return 1;
        }
    }
    struct store_stats s0;
    store_stats(r.s, &s0);
    r.producers = producers;
    r.batch = batch;
    r.per_producer = total / producers;
    r.keys = keys;
    int64_t t0 = clock_mono_ms();
    r.deadline_ms = t0 + (int64_t)max_s * 1000;
    pthread_t th[64];
    struct producer pr[64];
    for (int p = 0; p < producers; p++) {
        pr[p] = (struct producer){&r, p};
        pthread_create(&th[p], NULL, produce, &pr[p]);
    }
    for (int p = 0; p < producers; p++)
        pthread_join(th[p], NULL);
    double secs = (double)(clock_mono_ms() - t0) / 1000.0;
    struct store_stats s1;
    store_stats(r.s, &s1);
    long done = atomic_load(&r.done);
    double commits = (double)(s1.commits - s0.commits);
    printf("producers=%-2d batch=%-4d readings=%-8ld secs=%6.2f readings/s=%9.0f commits/s=%8.0f "
           "readings/commit=%7.1f synchronous=%s keys=%s peak_rss_mib=%.1f early_acks=%ld "
           "rejected=%ld%s\n",
           producers, batch, done, secs, done / secs, commits / secs,
           commits > 0 ? done / commits : 0.0, s1.synchronous, keys ? "yes" : "no",
           vmhwm_kib() / 1024.0, atomic_load(&r.early_acks), atomic_load(&r.rejected),
           done < total ? " (stopped at the time cap)" : "");
    fflush(stdout);
    store_close(r.s);
    unlink(path);
    char side[600];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    return atomic_load(&r.early_acks) || atomic_load(&r.rejected) ? 2 : 0;
}

int main(int argc, char **argv)
{
    long total = 1000000;
    int max_s = 30, keys = 1;
    const char *dir = "/tmp", *sync = "full", *only = NULL;
    for (int i = 1; i < argc; i++) {
        int64_t v;
        if (strcmp(argv[i], "--readings") == 0 && i + 1 < argc && !str_to_i64(argv[++i], &v) &&
            v > 0)
            total = (long)v;
        else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc &&
                 !str_to_i64(argv[++i], &v) && v > 0)
            max_s = (int)v;
        else if (strcmp(argv[i], "--no-keys") == 0)
            keys = 0;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--synchronous") == 0 && i + 1 < argc)
            sync = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr,
                    "usage: bench_store [--readings N] [--max-seconds S] [--no-keys] [--dir DIR]"
                    " [--synchronous full|extra] [--only P:B]\n");
            return 2;
        }
    }
    if (strcmp(sync, "full") != 0 && strcmp(sync, "extra") != 0) {
        fprintf(stderr, "bench_store: refusing synchronous=%s: figures below FULL do not count\n",
                sync);
        return 2;
    }
    log_configure(LOG_WARN, LOG_FORMAT_JSON, 2); /* store errors are shown */
    vfs_install();
    static const int cfgs[][2] = {{1, 1}, {4, 1}, {32, 1}, {1, 1000}, {4, 1000}, {32, 1000}};
    int status = 0;
    for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
        char tag[32];
        snprintf(tag, sizeof(tag), "%d:%d", cfgs[i][0], cfgs[i][1]);
        if (only && strcmp(only, tag) != 0)
            continue;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0)
            _exit(run_one(dir, sync, cfgs[i][0], cfgs[i][1], total, max_s, keys));
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) {
            fprintf(stderr, "bench_store: configuration %s failed (%s)\n", tag,
                    WIFEXITED(st) && WEXITSTATUS(st) == 2
                        ? "an acknowledgement preceded its fsync, or readings were rejected"
                        : "crashed");
            status = 1;
        }
    }
    return status;
}
