/* SPDX-License-Identifier: Apache-2.0
 *
 * metrics.c: request counters, latency histograms and named counters. See
 * metrics.h. Series are kept in small fixed tables found by linear search
 * on pointer identity: the number of route templates is bounded by the
 * route table.
 */
#include "api/metrics.h"

#include <pthread.h>
#include <string.h>

#define MAX_SERIES 512
#define MAX_COUNTERS 64

static const double bucket_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                  0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKETS (sizeof(bucket_s) / sizeof(bucket_s[0]))

struct series {
    const char *route;
    const char *method;
    int status;
    uint64_t count;
    uint64_t sum_us;
    uint64_t buckets[N_BUCKETS];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series series[MAX_SERIES];
static size_t n_series;
static uint64_t dropped;
struct counter {
    const char *name;
    int64_t value;
};
static struct counter counters[MAX_COUNTERS];
static size_t n_counters;

void metrics_request(const char *route, const char *method, int status, int64_t micros)
{
    pthread_mutex_lock(&lock);
    struct series *s = NULL;
    for (size_t i = 0; i < n_series && !s; i++)
        if (series[i].route == route && series[i].status == status &&
            strcmp(series[i].method, method) == 0)
            s = &series[i];
    if (!s && n_series < MAX_SERIES) {
        s = &series[n_series++];
        memset(s, 0, sizeof(*s));
        s->route = route;
        s->status = status;
        /* methods are a handful of literals; keep a stable copy */
        static const char *const known[] = {"GET",    "POST", "PUT",    "PATCH",
                                            "DELETE", "HEAD", "OPTIONS"};
        s->method = "OTHER";
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (strcmp(known[k], method) == 0)
                s->method = known[k];
    }
    if (s) {
        s->count++;
        s->sum_us += (uint64_t)(micros > 0 ? micros : 0);
        for (size_t b = 0; b < N_BUCKETS; b++)
            if ((double)micros <= bucket_s[b] * 1e6)
                s->buckets[b]++;
    } else {
        dropped++;
    }
    pthread_mutex_unlock(&lock);
}

void metrics_add(const char *name, int64_t n)
{
    pthread_mutex_lock(&lock);
    size_t i = 0;
    while (i < n_counters && counters[i].name != name && strcmp(counters[i].name, name) != 0)
        i++;
    if (i == n_counters && n_counters < MAX_COUNTERS)
        counters[n_counters++] = (struct counter){name, 0};
    if (i < n_counters)
        counters[i].value += n;
    pthread_mutex_unlock(&lock);
}

void metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    n_series = 0;
    n_counters = 0;
    dropped = 0;
    pthread_mutex_unlock(&lock);
}

enum ab_rc metrics_render(struct buf *out)
{
    enum ab_rc rc = AB_OK;
    pthread_mutex_lock(&lock);
    rc = buf_append_str(out, "# HELP assetbridge_http_requests_total HTTP requests by route "
                             "template, method and status.\n"
                             "# TYPE assetbridge_http_requests_total counter\n");
    for (size_t i = 0; i < n_series && !rc; i++)
        rc = buf_printf(
            out, "assetbridge_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
            series[i].route, series[i].method, series[i].status,
            (unsigned long long)series[i].count);
    if (!rc)
        rc = buf_append_str(out,
                            "# HELP assetbridge_http_request_duration_seconds Request latency.\n"
                            "# TYPE assetbridge_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n_series && !rc; i++) {
        const struct series *s = &series[i];
        for (size_t b = 0; b < N_BUCKETS && !rc; b++)
            rc = buf_printf(
                out,
                "assetbridge_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                "status=\"%d\",le=\"%g\"} %llu\n",
                s->route, s->method, s->status, bucket_s[b], (unsigned long long)s->buckets[b]);
        if (!rc)
            rc = buf_printf(
                out,
                "assetbridge_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                "status=\"%d\",le=\"+Inf\"} %llu\n"
                "assetbridge_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\","
                "status=\"%d\"} %.6f\n"
                "assetbridge_http_request_duration_seconds_count{route=\"%s\",method=\"%s\","
                "status=\"%d\"} %llu\n",
                s->route, s->method, s->status, (unsigned long long)s->count, s->route, s->method,
                s->status, (double)s->sum_us / 1e6, s->route, s->method, s->status,
                (unsigned long long)s->count);
    }
    for (size_t i = 0; i < n_counters && !rc; i++)
        rc = buf_printf(out, "# TYPE %s counter\n%s %lld\n", counters[i].name, counters[i].name,
                        (long long)counters[i].value);
    if (!rc && dropped)
        rc = buf_printf(out,
                        "# TYPE assetbridge_metrics_series_dropped_total counter\n"
                        "assetbridge_metrics_series_dropped_total %llu\n",
                        (unsigned long long)dropped);
    pthread_mutex_unlock(&lock);
    return rc;
}
