/* SPDX-License-Identifier: Apache-2.0
 *
 * cli_http.c: the API client and job waiting shared by the commands that
 * drive a running service. See cli_http.h.
 */
#include "cli/cli_http.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"

#define RESP_MAX (16u * 1024u * 1024u)
#define POLL_MS 500
#define BAR_WIDTH 28

int cli_api_open(struct cli_api *api, const char *prog, const char *url)
{
    memset(api, 0, sizeof(*api));
    api->prog = prog;
    if (!url || !*url)
        url = getenv("ASSETBRIDGE_URL");
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strlen(url) > CLI_URL_MAX / 2) {
        fprintf(stderr, "%s: --url must name the service, e.g. http://127.0.0.1:8440\n", prog);
        return CLI_USAGE;
    }
    const char *key = getenv("ASSETBRIDGE_API_KEY");
    if (!key || !*key || strlen(key) > 128) {
        fprintf(stderr, "%s: set ASSETBRIDGE_API_KEY to an API key of the tenant\n", prog);
        return CLI_USAGE;
    }
    api->key = key;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    snprintf(api->base, sizeof(api->base), "%.*s", (int)n, url);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: cannot initialise libcurl\n", prog);
        return CLI_FAILURE;
    }
    api->open = true;
    return CLI_OK;
}

void cli_api_close(struct cli_api *api)
{
    if (api->open) {
        api->open = false;
        curl_global_cleanup();
    }
}

char *cli_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    s = s ? s : "";
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *cli_api_escape(struct cli_api *api, const char *s)
{
    (void)api;
    return cli_escape(s);
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct buf *b = userp;
    return buf_append(b, data, size * n) ? 0 : size * n;
}

bool cli_api_call(struct cli_api *api, const char *method, const char *path, const json_t *body,
                  long *status, json_t **out)
{
    bool ok = false;
    *status = 0;
    *out = NULL;
    char url[CLI_URL_MAX * 2];
    int un = snprintf(url, sizeof(url), "%s%s", api->base, path);
    if (un < 0 || (size_t)un >= sizeof(url)) {
        fprintf(stderr, "%s: the request URL is too long\n", api->prog);
        return false;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct buf b;
    buf_init(&b, RESP_MAX);
    char auth[256];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", api->key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Accept: application/json");
    if (text)
        h = curl_slist_append(h, "Content-Type: application/json");
    memset(auth, 0, sizeof(auth));
    CURL *c = curl_easy_init();
    if (!c || !h || (body && !text)) {
        fprintf(stderr, "%s: cannot set up the HTTP client\n", api->prog);
        goto out;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (text) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(stderr, "%s: %s: %s\n", api->prog, api->base,
                errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    *out = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    ok = true;
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(h);
    buf_cleanup(&b);
    free(text);
    return ok;
}

void cli_api_print_error(const struct cli_api *api, long status, const json_t *body)
{
    const json_t *e = json_object_get(body, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    fprintf(stderr, "%s: HTTP %ld: %s%s%s%s\n", api->prog, status,
            msg ? msg : "the service answered an error", field ? " (" : "", field ? field : "",
            field ? ")" : "");
}

const char *cli_str(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

long long cli_int(const json_t *o, const char *key, long long def)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

/* ---- waiting for a job --------------------------------------------------------------- */

static bool final_state(const char *s)
{
    return strcmp(s, "succeeded") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "cancelled") == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void fmt_duration(char *out, size_t n, long long s)
{
    if (s >= 3600)
        snprintf(out, n, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(out, n, "%lld:%02lld", s / 60, s % 60);
}

/* One progress display of job j; tty: redraw one line. */
static void show(const json_t *j, bool tty, double elapsed_s)
{
    const json_t *p = json_object_get(j, "progress");
    long long pages = cli_int(p, "pages", 0), records = cli_int(p, "records", 0);
    long long total = cli_int(p, "total", -1);
    const char *state = cli_str(j, "state", "?");
    double rate = elapsed_s > 0.5 ? (double)records / elapsed_s : 0;
    if (!tty) {
        fprintf(stderr, "job %s: %s: %lld pages, %lld records", cli_str(j, "id", "?"), state, pages,
                records);
        if (total >= 0)
            fprintf(stderr, " of about %lld", total);
        fputc('\n', stderr);
        return;
    }
    char bar[BAR_WIDTH + 1];
    char eta[32] = "";
    if (total > 0) {
        double f = (double)records / (double)total;
        if (f > 0.99 && !final_state(state))
            f = 0.99; /* the total is an estimate */
        if (f > 1)
            f = 1;
        int filled = (int)(f * BAR_WIDTH);
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        if (rate > 0 && records < total) {
            char d[24];
            fmt_duration(d, sizeof(d), (long long)((double)(total - records) / rate));
            snprintf(eta, sizeof(eta), "  ETA %s", d);
        }
        fprintf(stderr, "\r[%s] %3d%%  %lld/%lld records  %lld pages  %.0f rec/s%s\033[K", bar,
                (int)(f * 100), records, total, pages, rate, eta);
    } else {
        static const char spin[] = "|/-\\";
        static unsigned turn;
        fprintf(stderr, "\r[%c] %s  %lld records  %lld pages  %.0f rec/s\033[K", spin[turn++ % 4],
                state, records, pages, rate);
    }
    fflush(stderr);
}

bool cli_job_wait(struct cli_api *api, const json_t *job, bool quiet, json_t **final)
{
    *final = NULL;
    const char *id = cli_str(job, "id", NULL);
    if (!id) {
        fprintf(stderr, "%s: the service's answer names no job\n", api->prog);
        return false;
    }
    char *eid = cli_api_escape(api, id);
    char path[256];
    snprintf(path, sizeof(path), "/v1/jobs/%s", eid);
    free(eid);
    bool tty = !quiet && isatty(STDERR_FILENO);
    int64_t t0 = clock_mono_ms();
    json_t *cur = json_deep_copy(job);
    long long last_pages = -1, last_records = -1;
    const char *last_state = NULL;
    char state_buf[16] = "";
    for (;;) {
        const char *state = cli_str(cur, "state", "?");
        const json_t *p = json_object_get(cur, "progress");
        long long pages = cli_int(p, "pages", 0), records = cli_int(p, "records", 0);
        bool changed = pages != last_pages || records != last_records || !last_state ||
                       strcmp(state, state_buf) != 0;
        if (!quiet && (tty || changed))
            show(cur, tty, (double)(clock_mono_ms() - t0) / 1000.0);
        last_pages = pages;
        last_records = records;
        snprintf(state_buf, sizeof(state_buf), "%s", state);
        last_state = state_buf;
        if (final_state(state))
            break;
        sleep_ms(POLL_MS);
        long status = 0;
        json_t *next = NULL;
        if (!cli_api_call(api, "GET", path, NULL, &status, &next)) {
            json_decref(cur);
            if (tty)
                fputc('\n', stderr);
            return false;
        }
        if (status != 200 || !json_is_object(next)) {
            if (tty)
                fputc('\n', stderr);
            cli_api_print_error(api, status, next);
            json_decref(next);
            json_decref(cur);
            return false;
        }
        json_decref(cur);
        cur = next;
    }
    if (tty)
        fputc('\n', stderr);
    *final = cur;
    return true;
}

int cli_job_exit(const struct cli_api *api, const json_t *job)
{
    const char *state = cli_str(job, "state", "?");
    if (strcmp(state, "succeeded") == 0)
        return CLI_OK;
    fprintf(stderr, "%s: job %s %s%s%s\n", api->prog, cli_str(job, "id", "?"), state,
            cli_str(job, "error", NULL) ? ": " : "", cli_str(job, "error", ""));
    return CLI_FAILURE;
}

int cli_job_run(const char *prog, const char *url, const char *method, const char *path,
                const json_t *body, const struct cli_job_opts *o)
{
    struct cli_api api;
    int rc = cli_api_open(&api, prog, url);
    if (rc)
        return rc;
    long status = 0;
    json_t *job = NULL, *final = NULL;
    rc = CLI_FAILURE;
    if (!cli_api_call(&api, method, path, body, &status, &job))
        goto out;
    if (status != 202) {
        cli_api_print_error(&api, status, job);
        goto out;
    }
    if (o->no_wait) {
        printf("%s\n", cli_str(job, "id", "?"));
        rc = CLI_OK;
        goto out;
    }
    if (!cli_job_wait(&api, job, o->quiet, &final))
        goto out;
    if (o->json) {
        char *t = json_dumps(final, JSON_INDENT(2));
        if (t)
            puts(t);
        free(t);
    } else if (o->summary) {
        o->summary(final);
    }
    rc = cli_job_exit(&api, final);
out:
    json_decref(job);
    json_decref(final);
    cli_api_close(&api);
    return rc;
}
