/* SPDX-License-Identifier: Apache-2.0
 *
 * bench_sync.c: sync engine benchmark (prints figures; not a test). Driven by
 * bench/bench_sync.sh, which starts the HTTP peers. Two phases, each meant
 * to run in its own process (peak RSS is per process):
 *
 *   --phase deliver --url URL --items N: a fresh store gets N open_request
 *     outbox items for a generic provider whose base_url is URL (nginx
 *     answering 202 with a small JSON body for every path); the engine runs
 *     with its threads (sync_engine_start_with) until every item is done.
 *     Prints items/s, the process's CPU time per item (getrusage: the outbox
 *     worker, the store's writer thread, libcurl), commits, and the peak RSS.
 *   --phase pull --url URL --records N: a fresh store; sync_engine_pull of
 *     the generic simulator's assets (seeded with N by the script) in one
 *     full pass, pages as the connector asks for them. Prints records/s,
 *     pages, CPU time per record and peak RSS (VmHWM).
 *
 *   bench_sync --phase deliver|pull --url URL [--items N] [--records N]
 *              [--batch B] [--dir DIR] [--synchronous full|normal]
 *              [--max-seconds S]
 * Output lines start with "sync:" (parsed by scripts/bench).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include "store/journal.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/synclog.h"
#include "sync/engine.h"

#define TENANT "bench"
#define PROVIDER "generic"
#define FILL_PER_JOB 1000

struct opts {
    const char *phase, *url, *dir, *synchronous;
    long items, records;
    size_t batch;
    int max_seconds;
};

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* VmHWM of this process in MiB, or -1. */
static double peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    double kib = -1;
    while (fgets(line, sizeof(line), f)) {
        long long v;
        if (sscanf(line, "VmHWM: %lld kB", &v) == 1)
            kib = (double)v;
    }
    fclose(f);
    return kib < 0 ? -1 : kib / 1024.0;
}

static struct config *load_config(const struct opts *o)
{
    char text[2048];
    /* no entities for delivery (no pull thread); the rate limiter lifted */
    int n = snprintf(text, sizeof(text),
                     "store:\n"
                     "  data_dir: %s\n"
                     "  path: bench-sync-%s.db\n"
                     "  synchronous: %s\n"
                     "log:\n"
                     "  level: warn\n"
                     "tenants:\n"
                     "  " TENANT ":\n"
                     "    providers:\n"
                     "      " PROVIDER ":\n"
                     "        type: generic\n"
                     "        base_url: %s\n"
                     "        auth: {scheme: bearer, token: sim-token}\n"
                     "        mode: write_back\n"
                     "        rate_limit: {requests_per_second: 1000000, burst: 1000000}\n"
                     "%s",
                     o->dir, o->phase, o->synchronous, o->url,
                     strcmp(o->phase, "pull") == 0 ? "        entities:\n"
                                                     "          asset: {interval: 24h}\n"
                                                   : "");
    if (n < 0 || (size_t)n >= sizeof(text))
        return NULL;
    struct config *cfg = NULL;
    struct config_errors errs;
    if (config_load_buffer("bench_sync.yaml", text, (size_t)n, &cfg, &errs) != AB_OK) {
        config_errors_print(&errs, stderr);
        config_errors_cleanup(&errs);
        return NULL;
    }
    config_errors_cleanup(&errs);
    return cfg;
}

static struct store *open_store(const struct config *cfg, const struct opts *o)
{
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/bench-sync-%s.db", o->dir, o->phase);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bench-sync-%s.db-wal", o->dir, o->phase);
    unlink(path);
    struct store *s = NULL;
    if (store_open(&cfg->store, &s, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "bench_sync: %s\n", err);
        return NULL;
    }
    store_set_config(s, cfg);
    return s;
}

/* ---- deliver -------------------------------------------------------------------- */

struct fill {
    long from, to;
};

static enum ab_rc fill_job(struct store_tx *tx, void *arg)
{
    const struct fill *f = arg;
    enum ab_rc rc = store_tenant_ensure(tx, TENANT);
    for (long i = f->from; !rc && i < f->to; i++) {
        char subject[64], key[64], payload[256];
        snprintf(subject, sizeof(subject), "work-order/BENCH-%ld", i);
        snprintf(key, sizeof(key), "bench:%ld:create", i);
        snprintf(payload, sizeof(payload),
                 "{\"asset_native_id\":\"A-%06ld\",\"type\":\"corrective\","
                 "\"notes\":\"bench work order %ld\",\"priority\":\"medium\"}",
                 i % 1000 + 1, i);
        struct store_outbox_item it = {
            .tenant = TENANT,
            .provider = PROVIDER,
            .entity = "work_order",
            .action = "open_request",
            .subject = subject,
            .payload = payload,
            .idempotency_key = key,
            .priority = 1,
        };
        rc = store_outbox_add(tx, &it, NULL);
    }
    return rc;
}

static bool counts(struct store *s, struct store_outbox_counts *c)
{
    struct store_read *r = NULL;
    if (store_read_begin(s, &r) != AB_OK)
        return false;
    enum ab_rc rc = store_outbox_counts(r, TENANT, PROVIDER, c);
    store_read_end(r);
    return rc == AB_OK;
}

static int deliver(const struct opts *o, const struct config *cfg, struct store *s)
{
    int64_t t0 = clock_mono_ms();
    for (long i = 0; i < o->items; i += FILL_PER_JOB) {
        struct fill f = {i, i + FILL_PER_JOB < o->items ? i + FILL_PER_JOB : o->items};
        if (store_write(s, fill_job, &f, NULL) != AB_OK) {
            fprintf(stderr, "bench_sync: cannot fill the outbox\n");
            return 1;
        }
    }
    printf("sync: deliver_fill items=%ld secs=%.2f\n", o->items,
           (double)(clock_mono_ms() - t0) / 1000.0);
    fflush(stdout);

    struct store_stats st0, st1;
    store_stats(s, &st0);
    struct sync_engine_opts eo = {.poll_ms = 5, .batch = o->batch, .seed = 1};
    struct sync_engine *e = NULL;
    double c0 = cpu_seconds();
    t0 = clock_mono_ms();
    if (sync_engine_start_with(cfg, s, NULL, &eo, &e) != AB_OK) {
        fprintf(stderr, "bench_sync: the engine did not start\n");
        return 1;
    }
    struct store_outbox_counts c = {0};
    int64_t deadline = t0 + (int64_t)o->max_seconds * 1000;
    bool capped = false;
    for (;;) {
        struct timespec ts = {0, 250 * 1000000L}; /* counting scans the outbox */
        nanosleep(&ts, NULL);
        if (!counts(s, &c)) {
            fprintf(stderr, "bench_sync: cannot count the outbox\n");
            break;
        }
        if (c.pending + c.in_flight == 0)
            break;
        if (clock_mono_ms() > deadline) {
            capped = true;
            break;
        }
    }
    int64_t t1 = clock_mono_ms();
    double c1 = cpu_seconds();
    sync_engine_stop(e);
    store_stats(s, &st1);
    (void)counts(s, &c);
    double secs = (double)(t1 - t0) / 1000.0;
    long done = (long)c.done;
    printf("sync: deliver items=%ld done=%ld dead=%" PRId64 " batch=%zu secs=%.2f items_per_s=%.0f "
           "cpu_us_per_item=%.1f cpu_util=%.2f commits=%" PRId64
           " commit_us_per_item=%.1f synchronous=%s "
           "peak_rss_mib=%.1f%s\n",
           o->items, done, c.dead, o->batch, secs, done / (secs > 0 ? secs : 1),
           (c1 - c0) * 1e6 / (double)(done > 0 ? done : 1), (c1 - c0) / (secs > 0 ? secs : 1),
           (int64_t)(st1.commits - st0.commits),
           (double)(st1.commit_us_total - st0.commit_us_total) / (double)(done > 0 ? done : 1),
           o->synchronous, peak_rss_mib(), capped ? " (stopped at the time cap)" : "");
    return done == o->items ? 0 : 1;
}

/* ---- pull ------------------------------------------------------------------------ */

static int pull(const struct opts *o, const struct config *cfg, struct store *s)
{
    struct sync_engine_opts eo = {.manual = true, .seed = 1};
    struct sync_engine *e = NULL;
    if (sync_engine_start_with(cfg, s, NULL, &eo, &e) != AB_OK) {
        fprintf(stderr, "bench_sync: the engine did not start\n");
        return 1;
    }
    double rss0 = peak_rss_mib();
    double c0 = cpu_seconds();
    int64_t t0 = clock_mono_ms();
    int pages = 0;
    enum ab_rc rc = sync_engine_pull(e, TENANT, PROVIDER, "asset", true, 0, &pages);
    int64_t t1 = clock_mono_ms();
    double c1 = cpu_seconds();
    sync_engine_stop(e);
    int64_t pulled = 0;
    struct store_read *r = NULL;
    if (store_read_begin(s, &r) == AB_OK) {
        struct arena *a = arena_new(0, 0);
        struct store_sync_state st;
        if (store_sync_state_get(r, TENANT, PROVIDER, "asset", a, &st) == AB_OK)
            pulled = st.pulled;
        arena_free(a);
        store_read_end(r);
    }
    double secs = (double)(t1 - t0) / 1000.0;
    printf(
        "sync: pull records=%" PRId64 " expected=%ld pages=%d rc=%s secs=%.2f records_per_s=%.0f "
        "cpu_us_per_record=%.1f synchronous=%s rss_before_mib=%.1f peak_rss_mib=%.1f\n",
        pulled, o->records, pages, ab_rc_name(rc), secs, (double)pulled / (secs > 0 ? secs : 1),
        (c1 - c0) * 1e6 / (double)(pulled > 0 ? pulled : 1), o->synchronous, rss0, peak_rss_mib());
    return rc == AB_OK && pulled == o->records ? 0 : 1;
}

/* ---- main ------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: bench_sync --phase deliver|pull --url URL [--items N] [--records N]\n"
                    "                  [--batch B] [--dir DIR] [--synchronous full|normal]\n"
                    "                  [--max-seconds S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct opts o = {.dir = ".",
                     .synchronous = "full",
                     .items = 100000,
                     .records = 100000,
                     .batch = 100,
                     .max_seconds = 300};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n = 0;
        if (!v)
            return usage();
        if (strcmp(a, "--phase") == 0)
            o.phase = v;
        else if (strcmp(a, "--url") == 0)
            o.url = v;
        else if (strcmp(a, "--dir") == 0)
            o.dir = v;
        else if (strcmp(a, "--synchronous") == 0)
            o.synchronous = v;
        else if (str_to_i64(v, &n) != AB_OK || n <= 0)
            return usage();
        else if (strcmp(a, "--items") == 0)
            o.items = (long)n;
        else if (strcmp(a, "--records") == 0)
            o.records = (long)n;
        else if (strcmp(a, "--batch") == 0)
            o.batch = (size_t)n;
        else if (strcmp(a, "--max-seconds") == 0)
            o.max_seconds = (int)n;
        else
            return usage();
        i++;
    }
    if (!o.phase || !o.url || (strcmp(o.phase, "deliver") != 0 && strcmp(o.phase, "pull") != 0))
        return usage();
    log_configure(LOG_WARN, LOG_FORMAT_JSON, 2);
    struct config *cfg = load_config(&o);
    if (!cfg)
        return 1;
    struct store *s = open_store(cfg, &o);
    if (!s) {
        config_free(cfg);
        return 1;
    }
    int status = strcmp(o.phase, "deliver") == 0 ? deliver(&o, cfg, s) : pull(&o, cfg, s);
    store_close(s);
    config_free(cfg);
    return status;
}
