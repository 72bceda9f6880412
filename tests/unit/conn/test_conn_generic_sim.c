/* SPDX-License-Identifier: Apache-2.0
 *
 * test_conn_generic_sim.c: the generic connector against the real provider
 * simulator (`assetbridge sim generic`), started as a child process. The
 * binary is $ASSETBRIDGE_BIN, else "assetbridge" next to this test
 * executable (unit tests and the binary share the build directory in every
 * preset); when neither exists every test is skipped with a message.
 *
 * Covered: health; a full pull of 250 assets in pages with writes between
 * pages (pages disjoint, the watermark only on the last page, the records
 * changed meanwhile in the next incremental pull: nothing lost, nothing
 * twice); an incremental pull after one change returns exactly that record;
 * a reading pushed twice with one Idempotency-Key is applied once; a reset
 * after apply gives an unknown outcome that resolve finds (applied once),
 * and so does a malformed 2xx answer;
 * a 429 is retryable with its Retry-After; a wrong token is permanent auth;
 * open_request creates a work order, update_work_order patches it with
 * If-Match, and a stale revision is a permanent conflict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client.h"
#include "conn/conn.h"
#include "conn/conn_generic.h"

static pid_t sim_pid = -1;
static char base_url[64];
static struct client *sim; /* plain client for /_sim/ and API writes */
static void *gen;          /* connector context (token sim-token) */
static char skip_reason[PATH_MAX + 64];
static FILE *sim_out; /* the simulator's stdout, open until it stops */

/* ---- the simulator -------------------------------------------------------------- */

static bool find_binary(char *out, size_t n)
{
    const char *env = getenv("ASSETBRIDGE_BIN");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return access(out, X_OK) == 0;
    }
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0)
        return false;
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    int w = snprintf(out, n, "%s/assetbridge", self);
    if (w < 0 || (size_t)w >= n)
        return false; /* the path does not fit */
    return access(out, X_OK) == 0;
}

static int group_setup(void **state)
{
    (void)state;
    char bin[PATH_MAX];
    if (!find_binary(bin, sizeof(bin))) {
        snprintf(skip_reason, sizeof(skip_reason),
                 "assetbridge binary not found (%s): set ASSETBRIDGE_BIN", bin);
        return 0;
    }
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    sim_pid = fork();
    if (sim_pid < 0)
        return -1;
    if (sim_pid == 0) {
        dup2(fds[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        close(fds[0]);
        close(fds[1]);
        /* --rate-limit 0: the tests make bursts of requests; 429 is tested
         * with a fault rule instead */
        execl(bin, "assetbridge", "sim", "generic", "--listen", "127.0.0.1:0", "--seed", "1",
              "--assets", "250", "--rate-limit", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256] = "";
    if (!f || !fgets(line, sizeof(line), f)) {
        snprintf(skip_reason, sizeof(skip_reason), "the simulator did not start (%s)", bin);
        if (f)
            fclose(f);
        return -1;
    }
    sim_out = f; /* kept open: the simulator may write more */
    char *hp = strstr(line, "listening on ");
    if (!hp)
        return -1;
    hp += strlen("listening on ");
    hp[strcspn(hp, "\r\n")] = '\0';
    snprintf(base_url, sizeof(base_url), "http://%s", hp);

    struct client_opts o = {.name = "sim", .base_url = base_url, .verify = true};
    char err[256];
    if (client_new(&o, &sim, err, sizeof(err)) != AB_OK)
        return -1;
    struct config_provider cfg = {
        .name = "gen",
        .type = "generic",
        .base_url = base_url,
        .auth = {.scheme = "bearer", .token = "sim-token"},
        .tls = {.verify = true},
    };
    if (conn_init(&conn_generic, &cfg, NULL, &gen, err, sizeof(err)) != AB_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    conn_cleanup(&conn_generic, gen);
    client_free(sim);
    if (sim_pid > 0) {
        kill(sim_pid, SIGTERM);
        int st;
        waitpid(sim_pid, &st, 0);
    }
    if (sim_out)
        fclose(sim_out);
    return 0;
}

#define NEED_SIM()                                                                                 \
    do {                                                                                           \
        if (!gen) {                                                                                \
            print_message("skipped: %s\n", skip_reason);                                           \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* One request to the simulator; returns the parsed JSON body (owned by a) or
 * NULL, and the status. */
static json_t *simreq(struct arena *a, const char *method, const char *path, const char *query,
                      const char *body, int *status)
{
    struct client_header h[2] = {{"Authorization", "Bearer sim-token"},
                                 {"Content-Type", "application/json"}};
    struct client_request r = {.method = method,
                               .path = path,
                               .query = query,
                               .headers = h,
                               .n_headers = body ? 2 : 1,
                               .body = body,
                               .body_len = body ? strlen(body) : 0};
    struct client_response resp;
    assert_int_equal(client_request(sim, &r, a, &resp), AB_OK);
    if (status)
        *status = resp.status;
    json_error_t e;
    return conn_arena_own(a, json_loadb(resp.body, resp.body_len, 0, &e));
}

static int64_t effect(const char *name)
{
    struct arena *a = arena_new(0, 0);
    json_t *e = simreq(a, "GET", "/_sim/effects", NULL, NULL, NULL);
    assert_non_null(e);
    int64_t v = json_integer_value(json_object_get(e, name));
    arena_free(a);
    return v;
}

static void add_fault(const char *rule)
{
    struct arena *a = arena_new(0, 0);
    int st;
    simreq(a, "POST", "/_sim/faults", NULL, rule, &st);
    assert_int_equal(st, 201);
    arena_free(a);
}

static void patch_asset(const char *id, const char *body)
{
    struct arena *a = arena_new(0, 0);
    int st;
    simreq(a, "PATCH", arena_printf(a, "/api/v1/assets/%s", id), NULL, body, &st);
    assert_int_equal(st, 200);
    arena_free(a);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_health(void **state)
{
    (void)state;
    NEED_SIM();
    struct arena *a = arena_new(0, 0);
    struct conn_health h;
    assert_int_equal(conn_health(&conn_generic, gen, a, &h), AB_OK);
    assert_int_equal(h.dns, CONN_CHECK_OK);
    assert_int_equal(h.tls, CONN_CHECK_SKIPPED); /* plain http */
    assert_int_equal(h.auth, CONN_CHECK_OK);
    assert_int_equal(h.version, CONN_CHECK_OK);
    assert_string_equal(h.provider_version, "generic/v1");
    arena_free(a);
}

static bool has_id(char ids[][16], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static char last_watermark[64];

static void test_full_pull_with_writes_between_pages(void **state)
{
    (void)state;
    NEED_SIM();
    static char ids[400][16];
    size_t n = 0, pages = 0;
    const char *token = NULL;
    char tokbuf[512];
    char changed_unserved[16] = "", changed_served[16] = "";
    char wm[64] = "";
    do {
        struct arena *a = arena_new(0, 0);
        struct conn_page p;
        assert_int_equal(conn_pull(&conn_generic, gen, "asset", NULL, token, a, &p), AB_OK);
        assert_true(p.n_records <= CONN_GENERIC_PAGE_SIZE);
        for (size_t i = 0; i < p.n_records; i++) {
            assert_false(has_id(ids, n, p.records[i].native_id)); /* disjoint */
            assert_null(p.records[i].mapping_exception);
            assert_true(p.records[i].revision >= 1);
            assert_true(p.records[i].modified_at != INT64_MIN);
            snprintf(ids[n++], sizeof(ids[0]), "%s", p.records[i].native_id);
        }
        pages++;
        if (p.next_page_token) {
            assert_null(p.new_watermark); /* only the last page commits it */
            snprintf(tokbuf, sizeof(tokbuf), "%s", p.next_page_token);
            token = tokbuf;
        } else {
            assert_non_null(p.new_watermark);
            snprintf(wm, sizeof(wm), "%s", p.new_watermark);
            token = NULL;
        }
        if (pages == 1) {
            /* writes between pages: one served record, one not yet served,
             * and a new asset */
            snprintf(changed_served, sizeof(changed_served), "%s", ids[0]);
            for (int k = 1; k <= 250 && !changed_unserved[0]; k++) {
                char id[16];
                snprintf(id, sizeof(id), "A-%06d", k);
                if (!has_id(ids, n, id))
                    snprintf(changed_unserved, sizeof(changed_unserved), "%s", id);
            }
            assert_true(changed_unserved[0] != '\0');
            patch_asset(changed_served, "{\"location\":\"Line 9\"}");
            patch_asset(changed_unserved, "{\"location\":\"Line 8\"}");
            struct arena *b = arena_new(0, 0);
            int st;
            simreq(b, "POST", "/api/v1/assets", NULL,
                   "{\"tag\":\"NEW-0001\",\"name\":\"New fixture\",\"type\":\"ict_fixture\"}", &st);
            assert_int_equal(st, 201);
            arena_free(b);
        }
        arena_free(a);
    } while (token);
    assert_true(pages >= 2);
    /* the chain shows records changed at or before its watermark: the record
     * changed before it was served moved past it (and the new one too) */
    assert_int_equal(n, 249);
    assert_false(has_id(ids, n, changed_unserved));
    assert_true(has_id(ids, n, changed_served));

    /* the next incremental pull brings exactly the three changes */
    struct arena *a = arena_new(0, 0);
    struct conn_page p;
    assert_int_equal(conn_pull(&conn_generic, gen, "asset", wm, NULL, a, &p), AB_OK);
    assert_null(p.next_page_token);
    assert_non_null(p.new_watermark);
    assert_int_equal(p.n_records, 3);
    size_t seen = 0;
    for (size_t i = 0; i < p.n_records; i++) {
        const char *id = p.records[i].native_id;
        if (strcmp(id, changed_served) == 0 || strcmp(id, changed_unserved) == 0)
            seen++;
        else
            assert_string_equal(json_string_value(json_object_get(p.records[i].doc, "asset_ref")),
                                "NEW-0001");
        if (!has_id(ids, n, id))
            snprintf(ids[n++], sizeof(ids[0]), "%s", id);
    }
    assert_int_equal(seen, 2);
    assert_int_equal(n, 251); /* complete: 250 seeded + 1 created */
    snprintf(last_watermark, sizeof(last_watermark), "%s", p.new_watermark);
    arena_free(a);
}

static void test_incremental_after_change(void **state)
{
    (void)state;
    NEED_SIM();
    struct arena *a = arena_new(0, 0);
    struct conn_page p;
    const char *wm = last_watermark[0] ? last_watermark : NULL;
    if (!wm) { /* run alone: take the current watermark first */
        assert_int_equal(
            conn_pull(&conn_generic, gen, "asset", "2100-01-01T00:00:00Z", NULL, a, &p), AB_OK);
        wm = arena_strdup(a, p.new_watermark);
    }
    patch_asset("A-000042", "{\"name\":\"Renamed 42\"}");
    assert_int_equal(conn_pull(&conn_generic, gen, "asset", wm, NULL, a, &p), AB_OK);
    assert_int_equal(p.n_records, 1);
    assert_string_equal(p.records[0].native_id, "A-000042");
    assert_string_equal(json_string_value(json_object_get(p.records[0].doc, "name")), "Renamed 42");
    assert_true(p.records[0].revision >= 2);
    const char *wm2 = arena_strdup(a, p.new_watermark);
    assert_int_equal(conn_pull(&conn_generic, gen, "asset", wm2, NULL, a, &p), AB_OK);
    assert_int_equal(p.n_records, 0);
    assert_non_null(p.new_watermark);
    arena_free(a);
}

/* A counter meter: its asset's tag and its last value. */
static void counter_meter(struct arena *a, const char **tag, double *last)
{
    json_t *m = simreq(a, "GET", "/api/v1/meters", "limit=200", NULL, NULL);
    size_t i;
    json_t *it;
    json_array_foreach (json_object_get(m, "items"), i, it) {
        if (strcmp(json_string_value(json_object_get(it, "name")), "cycles") == 0) {
            *last = json_number_value(json_object_get(it, "last_value"));
            json_t *as = simreq(a, "GET",
                                arena_printf(a, "/api/v1/assets/%s",
                                             json_string_value(json_object_get(it, "asset_id"))),
                                NULL, NULL, NULL);
            *tag = arena_strdup(a, json_string_value(json_object_get(as, "tag")));
            return;
        }
    }
    fail_msg("no cycles meter in the seeded data");
}

static struct conn_item reading_item(struct arena *a, const char *tag, double value,
                                     const char *key)
{
    json_t *p =
        json_pack("{s:s, s:s, s:f}", "asset_ref", tag, "meter_type", "cycles", "value", value);
    conn_arena_own(a, p);
    return (struct conn_item){.id = 1,
                              .tenant = "default",
                              .entity = "reading",
                              .action = "push_reading",
                              .subject = arena_printf(a, "asset/%s", tag),
                              .payload = p,
                              .idempotency_key = key,
                              .correlation_id = "test-corr",
                              .attempts = 1};
}

static void test_push_reading_idempotent(void **state)
{
    (void)state;
    NEED_SIM();
    struct arena *a = arena_new(0, 0);
    const char *tag;
    double last;
    counter_meter(a, &tag, &last);
    int64_t before = effect("readings_posted");
    struct conn_item it = reading_item(a, tag, last + 10, "rd-key-1");
    struct conn_result r;
    assert_int_equal(conn_push(&conn_generic, gen, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_non_null(r.native_id);
    const char *first = arena_strdup(a, r.native_id);
    it.attempts = 2;
    assert_int_equal(conn_push(&conn_generic, gen, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_string_equal(r.native_id, first); /* the replayed first answer */
    assert_int_equal(effect("readings_posted"), before + 1);
    arena_free(a);
}

static void test_reset_after_apply_then_resolve(void **state)
{
    (void)state;
    NEED_SIM();
    struct arena *a = arena_new(0, 0);
    const char *tag;
    double last;
    counter_meter(a, &tag, &last);
    int64_t before = effect("readings_posted");
    add_fault("{\"match\":{\"method\":\"POST\",\"path\":\"/api/v1/meters/*\"},"
              "\"action\":\"reset_after_apply\",\"count\":2}");
    /* count 2: libcurl silently resends a request once when a reused
     * connection dies before any answer (the second attempt, a replay of the
     * key, applies nothing); the rule is cleared before resolving */
    struct conn_item it = reading_item(a, tag, last + 20, "rd-key-reset");
    struct conn_result r;
    assert_int_equal(conn_push(&conn_generic, gen, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_UNKNOWN);
    struct arena *d = arena_new(0, 0);
    int st;
    simreq(d, "DELETE", "/_sim/faults", NULL, NULL, &st);
    assert_int_equal(st, 204);
    arena_free(d);
    enum conn_resolution res;
    assert_int_equal(conn_resolve(&conn_generic, gen, &it, a, &res), AB_OK);
    assert_int_equal(res, CONN_RESOLVED_FOUND);
    assert_int_equal(effect("readings_posted"), before + 1);
    /* a key never sent: resolve applies it now (the contract processes an
     * unknown key), so the effect then exists exactly once */
    struct conn_item fresh = reading_item(a, tag, last + 30, "rd-key-never-sent");
    assert_int_equal(conn_resolve(&conn_generic, gen, &fresh, a, &res), AB_OK);
    assert_int_equal(res, CONN_RESOLVED_FOUND);
    assert_int_equal(effect("readings_posted"), before + 2);
    arena_free(a);
}

static void test_malformed_answer_is_unknown(void **state)
{
    (void)state;
    NEED_SIM();
    struct arena *a = arena_new(0, 0);
    const char *tag;
    double last;
    counter_meter(a, &tag, &last);
    int64_t before = effect("readings_posted");
    add_fault("{\"match\":{\"method\":\"POST\",\"path\":\"/api/v1/meters/*\"},"
              "\"action\":\"malformed\",\"count\":1}");
    struct conn_item it = reading_item(a, tag, last + 25, "rd-key-malformed");
    struct conn_result r;
    assert_int_equal(conn_push(&conn_generic, gen, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_UNKNOWN); /* applied, but unreadable */
    assert_string_equal(r.error_class, "malformed_response");
    enum conn_resolution res;
    assert_int_equal(conn_resolve(&conn_generic, gen, &it, a, &res), AB_OK);
    assert_int_equal(res, CONN_RESOLVED_FOUND);
    assert_int_equal(effect("readings_posted"), before + 1);
    arena_free(a);
}

static void test_throttled(void **state)
{
    (void)state;
    NEED_SIM();
    struct arena *a = arena_new(0, 0);
    const char *tag;
    double last;
    counter_meter(a, &tag, &last);
    int64_t before = effect("readings_posted");
    add_fault("{\"match\":{\"method\":\"POST\",\"path\":\"/api/v1/meters/*\"},"
              "\"action\":\"status\",\"status\":429,\"count\":1}");
    struct conn_item it = reading_item(a, tag, last + 40, "rd-key-429");
    struct conn_result r;
    assert_int_equal(conn_push(&conn_generic, gen, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    assert_string_equal(r.error_class, "throttled");
    assert_int_equal(r.retry_after_ms, 1000);
    assert_int_equal(effect("readings_posted"), before);
    arena_free(a);
}

static void test_wrong_token(void **state)
{
    (void)state;
    NEED_SIM();
    struct config_provider cfg = {
        .name = "bad",
        .type = "generic",
        .base_url = base_url,
        .auth = {.scheme = "bearer", .token = "not-the-token"},
        .tls = {.verify = true},
    };
    void *bad;
    char err[256];
    assert_int_equal(conn_init(&conn_generic, &cfg, NULL, &bad, err, sizeof(err)), AB_OK);
    struct arena *a = arena_new(0, 0);
    struct conn_item it = reading_item(a, "PSU-1001", 1, "rd-key-401");
    struct conn_result r;
    assert_int_equal(conn_push(&conn_generic, bad, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "auth");
    struct conn_health h;
    assert_int_equal(conn_health(&conn_generic, bad, a, &h), AB_EAUTH);
    assert_int_equal(h.auth, CONN_CHECK_FAILED);
    assert_non_null(h.message);
    struct conn_page p;
    assert_int_equal(conn_pull(&conn_generic, bad, "asset", NULL, NULL, a, &p), AB_EAUTH);
    arena_free(a);
    conn_cleanup(&conn_generic, bad);

    cfg.auth.scheme = "basic";
    assert_int_equal(conn_init(&conn_generic, &cfg, NULL, &bad, err, sizeof(err)), AB_ECONFIG);
}

static void test_open_request_and_update(void **state)
{
    (void)state;
    NEED_SIM();
    struct arena *a = arena_new(0, 0);
    int64_t created = effect("work_orders_created"), updated = effect("work_orders_updated");
    json_t *p = conn_arena_own(
        a, json_pack("{s:s, s:s, s:s, s:s}", "asset_ref", "PSU-1001", "type", "corrective", "notes",
                     "Output drifts\nSeen on line 2 after warm-up", "priority", "high"));
    struct conn_item it = {.id = 7,
                           .tenant = "default",
                           .entity = "work_order",
                           .action = "open_request",
                           .subject = "asset/PSU-1001",
                           .payload = p,
                           .idempotency_key = "wo-open-1",
                           .correlation_id = "corr-wo",
                           .attempts = 1};
    struct conn_result r;
    assert_int_equal(conn_push(&conn_generic, gen, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_non_null(r.native_id);
    const char *wo = arena_strdup(a, r.native_id);
    assert_int_equal(effect("work_orders_created"), created + 1);
    json_t *got = simreq(a, "GET", arena_printf(a, "/api/v1/work-orders/%s", wo), NULL, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(got, "title")), "Output drifts");
    assert_string_equal(json_string_value(json_object_get(got, "asset_id")), "A-000001");
    assert_int_equal(json_integer_value(json_object_get(got, "priority")), 2);

    /* update with If-Match: the provider's version we know (1) */
    json_t *u = conn_arena_own(a, json_pack("{s:s, s:s, s:i, s:i}", "source_work_order_id", wo,
                                            "common_status", "in_progress", "provider_version", 1,
                                            "revision", 7 /* the hub's: not sent */));
    struct conn_item up = {.id = 8,
                           .tenant = "default",
                           .entity = "work_order",
                           .action = "update_work_order",
                           .subject = "asset/PSU-1001",
                           .payload = u,
                           .idempotency_key = "wo-upd-1",
                           .correlation_id = "corr-wo",
                           .attempts = 1};
    assert_int_equal(conn_push(&conn_generic, gen, &up, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_int_equal(effect("work_orders_updated"), updated + 1);
    got = simreq(a, "GET", arena_printf(a, "/api/v1/work-orders/%s", wo), NULL, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(got, "status")), "in_progress");

    /* the same revision again (another key): stale -> permanent conflict */
    up.idempotency_key = "wo-upd-2";
    json_object_set_new(u, "common_status", json_string("on_hold"));
    assert_int_equal(conn_push(&conn_generic, gen, &up, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "conflict");
    assert_int_equal(effect("work_orders_updated"), updated + 1);

    /* a status the provider cannot take: permanent validation, nothing sent */
    json_object_set_new(u, "common_status", json_string("draft"));
    up.idempotency_key = "wo-upd-3";
    assert_int_equal(conn_push(&conn_generic, gen, &up, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "validation");

    /* the work order comes back in a pull with its mapped status */
    const char *tok = NULL;
    bool found = false;
    do {
        struct conn_page pg;
        assert_int_equal(conn_pull(&conn_generic, gen, "work_order", NULL, tok, a, &pg), AB_OK);
        for (size_t i = 0; i < pg.n_records; i++) {
            if (strcmp(pg.records[i].native_id, wo) != 0)
                continue;
            found = true;
            assert_null(pg.records[i].mapping_exception);
            assert_int_equal(pg.records[i].revision, 2);
            const json_t *d = pg.records[i].doc;
            assert_string_equal(json_string_value(json_object_get(d, "common_status")),
                                "in_progress");
            assert_string_equal(json_string_value(json_object_get(d, "asset_native_id")),
                                "A-000001");
            assert_string_equal(json_string_value(json_object_get(d, "priority")), "high");
        }
        tok = pg.next_page_token;
    } while (tok);
    assert_true(found);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_full_pull_with_writes_between_pages),
        cmocka_unit_test(test_incremental_after_change),
        cmocka_unit_test(test_push_reading_idempotent),
        cmocka_unit_test(test_reset_after_apply_then_resolve),
        cmocka_unit_test(test_malformed_answer_is_unknown),
        cmocka_unit_test(test_throttled),
        cmocka_unit_test(test_wrong_token),
        cmocka_unit_test(test_open_request_and_update),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
