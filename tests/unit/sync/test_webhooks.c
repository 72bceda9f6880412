/* SPDX-License-Identifier: Apache-2.0
 *
 * test_webhooks.c: unit tests for src/sync/webhooks.c, the webhook
 * deliverer, driven manually (webhooks_drain) and once through its thread,
 * against a real SQLite store and a small HTTP receiver on 127.0.0.1 in a
 * thread of this test that answers from a script of statuses: deliveries
 * arrive signed (verified with webhook_verify) with the event, delivery and
 * correlation headers; 5xx is retried and delivered once it succeeds (same
 * delivery id); 4xx is a dead letter with the receiver's answer and an owner
 * action, delivered after replay; 410 completes with a note; a deleted
 * subscription completes without a request; max attempts dead-letter;
 * http:// is refused when not allowed; a refused connection is retried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../store/store_test.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/webhook_sig.h"
#include "store/apikeys.h"
#include "store/events.h"
#include "store/outbox.h"
#include "store/synclog.h"
#include "sync/webhooks.h"

#define T0 INT64_C(1800000000000)
#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MAX_REQ 16

/* ---- the receiver ------------------------------------------------------------ */

struct request {
    char body[4096];
    char timestamp[32], signature[80], event[64], delivery[128], correlation[64], ctype[64];
};

static struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    int script[8]; /* statuses to answer in turn; 0 (or past the end): 200 */
    size_t n_script, next;
    struct request req[MAX_REQ];
    size_t n_req;
    volatile int stop;
} rx;

static void header(const char *head, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t nl = strlen(name);
    for (const char *p = head; (p = strstr(p, "\r\n")) != NULL;) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r");
            snprintf(out, outlen, "%.*s", (int)len, v);
            return;
        }
    }
}

static void *rx_main(void *arg)
{
    (void)arg;
    while (!rx.stop) {
        int c = accept(rx.fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[16384];
        size_t n = 0;
        char *end = NULL;
        while (n < sizeof(buf) - 1) {
            ssize_t k = read(c, buf + n, sizeof(buf) - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            buf[n] = '\0';
            end = strstr(buf, "\r\n\r\n");
            if (end) {
                char cl[32];
                header(buf, "Content-Length", cl, sizeof(cl));
                size_t want = (size_t)strtoul(cl, NULL, 10);
                if (n - (size_t)(end + 4 - buf) >= want)
                    break;
            }
        }
        if (!end) {
            close(c);
            continue;
        }
        pthread_mutex_lock(&rx.mu);
        int status = rx.next < rx.n_script ? rx.script[rx.next] : 200;
        rx.next++;
        if (rx.n_req < MAX_REQ) {
            struct request *r = &rx.req[rx.n_req++];
            *end = '\0';
            snprintf(r->body, sizeof(r->body), "%s", end + 4);
            header(buf, "X-Assetbridge-Timestamp", r->timestamp, sizeof(r->timestamp));
            header(buf, "X-Assetbridge-Signature", r->signature, sizeof(r->signature));
            header(buf, "X-Assetbridge-Event", r->event, sizeof(r->event));
            header(buf, "X-Assetbridge-Delivery", r->delivery, sizeof(r->delivery));
            header(buf, "X-Correlation-Id", r->correlation, sizeof(r->correlation));
            header(buf, "Content-Type", r->ctype, sizeof(r->ctype));
        }
        pthread_mutex_unlock(&rx.mu);
        if (status == 0)
            status = 200;
        char resp[256];
        int len = snprintf(resp, sizeof(resp),
                           "HTTP/1.1 %d X\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
                           "{\"status\":%3d}",
                           status, status);
        if (write(c, resp, (size_t)len) < 0)
            perror("write");
        close(c);
    }
    return NULL;
}

static void rx_start(void)
{
    memset(&rx, 0, sizeof(rx));
    pthread_mutex_init(&rx.mu, NULL);
    rx.fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(rx.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(rx.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(rx.fd, (struct sockaddr *)&sa, &sl), 0);
    rx.port = ntohs(sa.sin_port);
    assert_int_equal(listen(rx.fd, 8), 0);
    pthread_create(&rx.thread, NULL, rx_main, NULL);
}

static void rx_stop(void)
{
    rx.stop = 1;
    /* wake accept() with a connection of our own */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)rx.port);
    if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        close(c);
    else
        close(c);
    pthread_join(rx.thread, NULL);
    close(rx.fd);
    pthread_mutex_destroy(&rx.mu);
}

static size_t rx_count(void)
{
    pthread_mutex_lock(&rx.mu);
    size_t n = rx.n_req;
    pthread_mutex_unlock(&rx.mu);
    return n;
}

/* ---- fixture ------------------------------------------------------------------- */

struct fixture {
    struct test_db db;
    struct config *cfg;
    struct webhooks *w;
};

static struct config *load(bool plain_http)
{
    char text[512];
    snprintf(text, sizeof(text),
             "webhooks:\n"
             "  timeout: 2s\n"
             "  max_attempts: 3\n"
             "  max_age: 1h\n"
             "  allow_plain_http: %s\n",
             plain_http ? "true" : "false");
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    if (config_load_buffer("test.yaml", text, strlen(text), &cfg, &errs) != AB_OK) {
        config_errors_print(&errs, stderr);
        config_errors_cleanup(&errs);
        return NULL;
    }
    return cfg;
}

static int setup_with(void **state, bool plain_http)
{
    clock_set_fake(T0, true);
    struct fixture *f = calloc(1, sizeof(*f));
    f->cfg = load(plain_http);
    if (!f->cfg)
        return -1;
    test_db_open(&f->db);
    rx_start();
    struct webhooks_opts o = {.manual = true};
    if (webhooks_start_with(f->cfg, f->db.s, &o, &f->w) != AB_OK)
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, true);
}

static int setup_https_only(void **state)
{
    return setup_with(state, false);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    webhooks_stop(f->w);
    rx_stop();
    test_db_close(&f->db);
    config_free(f->cfg);
    free(f);
    clock_set_real();
    return 0;
}

struct job {
    const char *add_id, *url, *del_id, *event;
};

static enum ab_rc job_fn(struct store_tx *tx, void *arg)
{
    const struct job *j = arg;
    enum ab_rc rc = AB_OK;
    if (j->add_id) {
        struct store_webhook w = {.id = j->add_id,
                                  .tenant = "t1",
                                  .url = j->url,
                                  .event_types = "[\"*\"]",
                                  .secret = SECRET};
        rc = store_webhook_add(tx, &w, "tester");
    }
    if (!rc && j->del_id)
        rc = store_webhook_delete(tx, "t1", j->del_id, "tester");
    if (!rc && j->event) {
        json_t *pl = json_pack("{s:s}", "asset_ref", "A1");
        rc = store_event_append(tx, "t1", j->event, "asset/A1", pl, NULL);
        json_decref(pl);
    }
    return rc;
}

static void subscribe(struct fixture *f, const char *id)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook?token=abc", rx.port);
    struct job j = {.add_id = id, .url = url};
    assert_int_equal(store_write(f->db.s, job_fn, &j, NULL), AB_OK);
}

static void event(struct fixture *f, const char *type)
{
    struct job j = {.event = type};
    assert_int_equal(store_write(f->db.s, job_fn, &j, "corr-42"), AB_OK);
}

static size_t drain(struct fixture *f)
{
    size_t n = 0;
    assert_int_equal(webhooks_drain(f->w, "t1", &n), AB_OK);
    return n;
}

/* The only webhook item's row. */
static struct store_outbox_row item(struct fixture *f, struct arena *a)
{
    int64_t id = test_count(&f->db, "SELECT MAX(id) FROM outbox WHERE provider = '@webhook'");
    struct store_read *r;
    struct store_outbox_row row;
    assert_int_equal(store_read_begin(f->db.s, &r), AB_OK);
    assert_int_equal(store_outbox_get(r, "t1", id, a, &row), AB_OK);
    store_read_end(r);
    return row;
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_delivered_signed(void **state)
{
    struct fixture *f = *state;
    subscribe(f, "S1");
    event(f, "asset.created");
    assert_int_equal(drain(f), 1);
    assert_int_equal(rx_count(), 1);
    const struct request *r = &rx.req[0];
    assert_string_equal(r->ctype, "application/json");
    assert_string_equal(r->event, "asset.created");
    assert_string_equal(r->delivery, "webhook:S1:1");
    assert_string_equal(r->correlation, "corr-42");
    int64_t ts = strtoll(r->timestamp, NULL, 10);
    assert_int_equal(ts, T0 / 1000);
    assert_true(webhook_verify(SECRET, ts, r->body, strlen(r->body), r->signature, T0 / 1000, 300));
    assert_false(
        webhook_verify("wrong", ts, r->body, strlen(r->body), r->signature, T0 / 1000, 300));
    /* the body is the event as GET /v1/events shows it */
    json_error_t jerr;
    json_t *ev = json_loads(r->body, 0, &jerr);
    assert_non_null(ev);
    assert_int_equal(json_integer_value(json_object_get(ev, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "asset.created");
    assert_string_equal(json_string_value(json_object_get(ev, "correlation_id")), "corr-42");
    assert_non_null(json_object_get(ev, "payload"));
    assert_null(json_object_get(ev, "subscription"));
    json_decref(ev);
    struct arena *a = arena_new(0, 0);
    assert_int_equal(item(f, a).item.state, OUTBOX_DONE);
    arena_free(a);
    /* nothing left */
    assert_int_equal(drain(f), 0);
    assert_int_equal(rx_count(), 1);
}

static void test_retry_then_delivered_once(void **state)
{
    struct fixture *f = *state;
    rx.script[0] = 500;
    rx.n_script = 1;
    subscribe(f, "S1");
    event(f, "asset.updated");
    assert_int_equal(drain(f), 1);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_row row = item(f, a);
    assert_int_equal(row.item.state, OUTBOX_PENDING);
    assert_int_equal(row.item.attempts, 1);
    assert_string_equal(row.error_class, "http_500");
    clock_advance_ms(5000); /* past the first backoff (at most 1 s) */
    assert_int_equal(drain(f), 1);
    assert_int_equal(item(f, a).item.state, OUTBOX_DONE);
    assert_int_equal(rx_count(), 2);
    assert_string_equal(rx.req[0].delivery, rx.req[1].delivery);
    assert_int_equal(drain(f), 0);
    assert_int_equal(rx_count(), 2);
    arena_free(a);
}

static enum ab_rc replay_job(struct store_tx *tx, void *arg)
{
    int64_t n = 0;
    enum ab_rc rc = store_outbox_replay_id(tx, "t1", *(int64_t *)arg, "tester", &n);
    return rc ? rc : n == 1 ? AB_OK : AB_ENOTFOUND;
}

static void test_4xx_dead_letter_then_replay(void **state)
{
    struct fixture *f = *state;
    rx.script[0] = 400;
    rx.n_script = 1;
    subscribe(f, "S1");
    event(f, "asset.created");
    assert_int_equal(drain(f), 1);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_row row = item(f, a);
    assert_int_equal(row.item.state, OUTBOX_DEAD);
    assert_string_equal(row.error_class, "http_400");
    assert_non_null(strstr(row.last_response, "HTTP 400"));
    assert_non_null(strstr(row.last_response, "{\"status\":400}"));
    char want[128];
    snprintf(want, sizeof(want), "check the receiver at http://127.0.0.1:%d/hook?..., then replay",
             rx.port);
    assert_string_equal(row.owner_action, want);
    assert_null(strstr(row.owner_action, "token")); /* the query may hold a secret */
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM sync_log WHERE provider ="
                                        " '@webhook' AND level = 'error'"),
                     1);
    /* the receiver is fixed; replay delivers it */
    int64_t id = row.item.id;
    assert_int_equal(store_write(f->db.s, replay_job, &id, NULL), AB_OK);
    assert_int_equal(drain(f), 1);
    assert_int_equal(item(f, a).item.state, OUTBOX_DONE);
    assert_int_equal(rx_count(), 2);
    arena_free(a);
}

static void test_gone_and_deleted(void **state)
{
    struct fixture *f = *state;
    rx.script[0] = 410;
    rx.n_script = 1;
    subscribe(f, "S1");
    event(f, "asset.created");
    assert_int_equal(drain(f), 1);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_row row = item(f, a);
    assert_int_equal(row.item.state, OUTBOX_DONE);
    assert_string_equal(row.item.last_error, "receiver answered 410 Gone");
    /* queued, then the subscription is deleted: completed without a request */
    event(f, "asset.updated");
    struct job j = {.del_id = "S1"};
    assert_int_equal(store_write(f->db.s, job_fn, &j, NULL), AB_OK);
    assert_int_equal(drain(f), 1);
    row = item(f, a);
    assert_int_equal(row.item.state, OUTBOX_DONE);
    assert_string_equal(row.item.last_error, "subscription deleted");
    assert_int_equal(rx_count(), 1);
    /* and no more deliveries are queued */
    event(f, "asset.updated");
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE provider = '@webhook'"),
                     2);
    arena_free(a);
}

static void test_max_attempts(void **state)
{
    struct fixture *f = *state;
    rx.script[0] = rx.script[1] = rx.script[2] = 503;
    rx.n_script = 3;
    subscribe(f, "S1");
    event(f, "asset.created");
    struct arena *a = arena_new(0, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(drain(f), 1);
        clock_advance_ms(20 * 60 * 1000); /* past the longest backoff (cap 15 min) */
    }
    struct store_outbox_row row = item(f, a);
    assert_int_equal(row.item.state, OUTBOX_DEAD);
    assert_non_null(strstr(row.item.last_error, "max_attempts"));
    assert_int_equal(rx_count(), 3);
    arena_free(a);
}

static void test_refused_connection_retried(void **state)
{
    struct fixture *f = *state;
    struct job j = {.add_id = "S1", .url = "http://127.0.0.1:9/nothing-listens"};
    assert_int_equal(store_write(f->db.s, job_fn, &j, NULL), AB_OK);
    event(f, "asset.created");
    assert_int_equal(drain(f), 1);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_row row = item(f, a);
    assert_int_equal(row.item.state, OUTBOX_PENDING);
    assert_string_equal(row.error_class, "network");
    arena_free(a);
}

static void test_plain_http_refused(void **state)
{
    struct fixture *f = *state;
    subscribe(f, "S1");
    event(f, "asset.created");
    assert_int_equal(drain(f), 1);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_row row = item(f, a);
    assert_int_equal(row.item.state, OUTBOX_DEAD);
    assert_string_equal(row.error_class, "plain_http");
    assert_int_equal(rx_count(), 0);
    arena_free(a);
}

static void test_thread_delivers(void **state)
{
    struct fixture *f = *state;
    clock_set_real();
    struct webhooks *w = NULL;
    struct webhooks_opts o = {.poll_ms = 20};
    assert_int_equal(webhooks_start_with(f->cfg, f->db.s, &o, &w), AB_OK);
    subscribe(f, "S1");
    event(f, "asset.created");
    event(f, "asset.updated");
    int64_t deadline = clock_mono_ms() + 10000;
    while (rx_count() < 2 && clock_mono_ms() < deadline)
        usleep(10000);
    webhooks_stop(w);
    assert_int_equal(rx_count(), 2);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE provider = '@webhook'"
                                        " AND state = 'done'"),
                     2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivered_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_delivered_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_4xx_dead_letter_then_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_and_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_connection_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_http_refused, setup_https_only, teardown),
        cmocka_unit_test_setup_teardown(test_thread_delivers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
