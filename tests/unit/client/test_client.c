/* SPDX-License-Identifier: Apache-2.0
 *
 * test_client.c: unit tests for src/client/client.c against a real HTTP
 * server: our own src/http server on 127.0.0.1 (a free port) in-process.
 * Covers a successful request with keep-alive reuse (the second request
 * opens no new connection and leaves from the same local port), the
 * correlation id and custom headers reaching the server, a request body,
 * Retry-After and Link headers handed to the caller (and Retry-After parsed
 * by src/sync/retry.c), a total timeout after the request was sent
 * (AB_EUNKNOWN: a handler that defers and completes only at the end), a
 * connection the server drops (AB_EUNKNOWN), the response ceiling
 * (AB_ETOOLARGE), connection refused (AB_ENETWORK), a connect timeout before
 * anything was sent (AB_ETIMEOUT, against a listener whose backlog is full)
 * and a missing base URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client.h"
#include "core/clock.h"
#include "http/http.h"
#include "sync/retry.h"

/* ---- the server side ---------------------------------------------------------- */

static atomic_int n_requests;
static pthread_mutex_t parked_mu = PTHREAD_MUTEX_INITIALIZER;
static struct http_request *parked[4];
static size_t n_parked;

static void h_ok(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&n_requests, 1);
    if (http_resp_header(req, resp, "Retry-After", "120") ||
        http_resp_header(req, resp, "Link", "</items?page=2>; rel=\"next\""))
        abort();
    http_resp_text(resp, 200, "text/plain", "hello");
}

static void h_echo(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)ctx;
    const char *custom = http_header(req, "X-Custom");
    const char *body = arena_printf(req->arena, "%s|%s|%s|%s", req->method, req->correlation_id,
                                    custom ? custom : "-", req->body);
    http_resp_text(resp, 201, "text/plain", body);
}

static void resume_parked(struct http_request *req, struct http_response *resp, void *arg)
{
    (void)req, (void)arg;
    http_resp_text(resp, 200, "text/plain", "late");
}

static void h_hang(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)resp, (void)ctx;
    pthread_mutex_lock(&parked_mu);
    if (n_parked < 4)
        parked[n_parked++] = req;
    pthread_mutex_unlock(&parked_mu);
    http_defer(req, resume_parked, NULL);
}

static void h_drop(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)req, (void)ctx;
    resp->status = 200;
    resp->drop = true;
}

static void h_big(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)req, (void)ctx;
    char *s = arena_alloc(req->arena, 200001);
    memset(s, 'x', 200000);
    s[200000] = '\0';
    http_resp_text(resp, 200, "text/plain", s);
}

static void h_status(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)ctx;
    if (http_resp_header(req, resp, "Retry-After", "Sat, 21 Nov 2026 12:00:30 GMT"))
        abort();
    http_resp_text(resp, 429, "application/json", "{\"error\":\"slow down\"}");
}

static const struct http_route routes[] = {
    {"GET", "/ok", h_ok, 0, 0},     {"POST", "/echo", h_echo, 0, 0},
    {"GET", "/hang", h_hang, 0, 0}, {"GET", "/drop", h_drop, 0, 0},
    {"GET", "/big", h_big, 0, 0},   {"GET", "/status", h_status, 0, 0},
};

struct env {
    struct http_server *srv;
    char base[128];
};

static int setup(void **state)
{
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    struct env *e = calloc(1, sizeof(*e));
    struct http_server_opts o = {0};
    o.listen = "127.0.0.1:0";
    o.routes = routes;
    o.n_routes = sizeof(routes) / sizeof(routes[0]);
    o.max_body = 1 << 20;
    o.threads = 2;
    char bound[64], err[256];
    if (http_server_start(&o, &e->srv, bound, sizeof(bound), err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "server: %s\n", err);
        return -1;
    }
    snprintf(e->base, sizeof(e->base), "http://%s", bound);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    pthread_mutex_lock(&parked_mu);
    for (size_t i = 0; i < n_parked; i++)
        http_complete(parked[i]);
    n_parked = 0;
    pthread_mutex_unlock(&parked_mu);
    http_server_stop(e->srv, 2000);
    free(e);
    return 0;
}

static struct client *new_client(const char *base, int64_t timeout_ms, size_t max_response)
{
    struct client_opts o = {0};
    o.name = "test";
    o.base_url = base;
    o.verify = true;
    o.timeout_ms = timeout_ms;
    o.connect_timeout_ms = timeout_ms;
    o.max_response = max_response;
    struct client *c = NULL;
    char err[256];
    assert_int_equal(client_new(&o, &c, err, sizeof(err)), AB_OK);
    return c;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_success_and_reuse(void **state)
{
    struct env *e = *state;
    struct client *c = new_client(e->base, 5000, 0);
    struct arena *a = arena_new(0, 0);
    struct client_request rq = {0};
    rq.method = "GET";
    rq.path = "/ok";
    struct client_response r1, r2;
    atomic_store(&n_requests, 0);
    assert_int_equal(client_request(c, &rq, a, &r1), AB_OK);
    assert_int_equal(r1.status, 200);
    assert_string_equal(r1.body, "hello");
    assert_int_equal(r1.body_len, 5);
    assert_true(r1.sent);
    assert_int_equal(r1.new_connections, 1);
    assert_int_equal(client_request(c, &rq, a, &r2), AB_OK);
    assert_int_equal(r2.status, 200);
    assert_int_equal(r2.new_connections, 0); /* kept alive and reused */
    assert_int_equal(atomic_load(&n_requests), 2);
    /* a write never rides a reused connection (libcurl would resend it on a
     * new one if the old one died without an answer: a double apply) */
    struct client_request wr = {0};
    wr.method = "POST";
    wr.path = "/ok";
    wr.body = "{}";
    wr.body_len = 2;
    struct client_response r3;
    assert_int_equal(client_request(c, &wr, a, &r3), AB_OK);
    assert_int_equal(r3.new_connections, 1);

    /* headers for the connector: Retry-After (parsed by the retry policy), Link */
    const char *ra = client_response_header(&r2, "retry-after");
    assert_non_null(ra);
    int64_t delay = 0;
    assert_int_equal(retry_after_parse(ra, clock_now_ms(), 0, &delay), AB_OK);
    assert_int_equal(delay, 120000);
    assert_string_equal(client_response_header(&r2, "LINK"), "</items?page=2>; rel=\"next\"");
    assert_null(client_response_header(&r2, "X-Nothing"));
    arena_free(a);
    client_free(c);
}

static void test_body_headers_correlation(void **state)
{
    struct env *e = *state;
    struct client *c = new_client(e->base, 5000, 0);
    struct arena *a = arena_new(0, 0);
    struct client_header h[] = {{"X-Custom", "yes"}, {"Authorization", "Bearer s3cr3t-token"}};
    struct client_request rq = {0};
    rq.method = "POST";
    rq.path = "/echo";
    rq.headers = h;
    rq.n_headers = 2;
    rq.body = "{\"a\":1}";
    rq.body_len = 7;
    rq.correlation_id = "corr-0042";
    struct client_response r;
    assert_int_equal(client_request(c, &rq, a, &r), AB_OK);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "POST|corr-0042|yes|{\"a\":1}");
    assert_string_equal(client_response_header(&r, "X-Correlation-Id"), "corr-0042");
    arena_free(a);
    client_free(c);
}

static void test_http_error_status_is_ok(void **state)
{
    struct env *e = *state;
    struct client *c = new_client(e->base, 5000, 0);
    struct arena *a = arena_new(0, 0);
    struct client_request rq = {"GET", "/status", NULL, NULL, 0, NULL, 0, NULL, 0};
    struct client_response r;
    assert_int_equal(client_request(c, &rq, a, &r), AB_OK);
    assert_int_equal(r.status, 429);
    int64_t delay = -1;
    int64_t now = INT64_C(1795262400000); /* 2026-11-21T12:00:00Z */
    assert_int_equal(retry_after_parse(client_response_header(&r, "Retry-After"), now, 0, &delay),
                     AB_OK);
    assert_int_equal(delay, 30000);
    /* unknown path: the server's 404 is an answer too */
    rq.path = "/nothing";
    assert_int_equal(client_request(c, &rq, a, &r), AB_OK);
    assert_int_equal(r.status, 404);
    arena_free(a);
    client_free(c);
}

static void test_timeout_after_send_is_unknown(void **state)
{
    struct env *e = *state;
    struct client *c = new_client(e->base, 300, 0);
    struct arena *a = arena_new(0, 0);
    struct client_request rq = {"GET", "/hang", NULL, NULL, 0, NULL, 0, NULL, 0};
    struct client_response r;
    assert_int_equal(client_request(c, &rq, a, &r), AB_EUNKNOWN);
    assert_true(r.sent);
    assert_int_equal(r.status, 0);
    assert_non_null(r.error);
    /* the client still works afterwards */
    rq.path = "/ok";
    assert_int_equal(client_request(c, &rq, a, &r), AB_OK);
    assert_int_equal(r.status, 200);
    arena_free(a);
    client_free(c);
}

static void test_dropped_connection_is_unknown(void **state)
{
    struct env *e = *state;
    struct client *c = new_client(e->base, 5000, 0);
    struct arena *a = arena_new(0, 0);
    struct client_request rq = {"GET", "/drop", NULL, NULL, 0, NULL, 0, NULL, 0};
    struct client_response r;
    enum ab_rc rc = client_request(c, &rq, a, &r);
    assert_int_equal(rc, AB_EUNKNOWN);
    assert_true(r.sent);
    arena_free(a);
    client_free(c);
}

static void test_response_ceiling(void **state)
{
    struct env *e = *state;
    struct client *c = new_client(e->base, 5000, 100000);
    struct arena *a = arena_new(0, 0);
    struct client_request rq = {"GET", "/big", NULL, NULL, 0, NULL, 0, NULL, 0};
    struct client_response r;
    assert_int_equal(client_request(c, &rq, a, &r), AB_ETOOLARGE);
    assert_non_null(r.error);
    client_free(c);
    c = new_client(e->base, 5000, 200000); /* exactly the size: fine */
    assert_int_equal(client_request(c, &rq, a, &r), AB_OK);
    assert_int_equal(r.body_len, 200000);
    arena_free(a);
    client_free(c);
}

static void test_connection_refused(void **state)
{
    (void)state;
    /* a port that was free a moment ago */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", ntohs(sa.sin_port));
    struct client *c = new_client(base, 2000, 0);
    struct arena *a = arena_new(0, 0);
    struct client_request rq = {"GET", "/ok", NULL, NULL, 0, NULL, 0, NULL, 0};
    struct client_response r;
    assert_int_equal(client_request(c, &rq, a, &r), AB_ENETWORK);
    assert_false(r.sent);
    arena_free(a);
    client_free(c);
}

static void test_connect_timeout_not_sent(void **state)
{
    (void)state;
    /* a listener that never accepts, its backlog filled: further SYNs are
     * dropped and the connect cannot complete */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 0), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
    }
    usleep(50000);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", ntohs(sa.sin_port));
    struct client *c = new_client(base, 300, 0);
    struct arena *a = arena_new(0, 0);
    struct client_request rq = {"POST", "/x", NULL, NULL, 0, "{}", 2, NULL, 0};
    struct client_response r;
    assert_int_equal(client_request(c, &rq, a, &r), AB_ETIMEOUT);
    assert_false(r.sent);
    arena_free(a);
    client_free(c);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

static void test_bad_options(void **state)
{
    (void)state;
    struct client_opts o = {0};
    struct client *c = (struct client *)&o;
    char err[128] = "";
    assert_int_equal(client_new(&o, &c, err, sizeof(err)), AB_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err, "base_url"));
    client_free(NULL);

    struct config_provider p = {0};
    p.name = "sap";
    p.base_url = "https://sap.example";
    p.tls.verify = true;
    p.proxy.url = "http://proxy:3128";
    p.proxy.no_proxy = "localhost";
    client_opts_from_config(&p, &o);
    assert_string_equal(o.base_url, "https://sap.example");
    assert_true(o.verify);
    assert_string_equal(o.proxy, "http://proxy:3128");
    assert_string_equal(o.no_proxy, "localhost");

    /* an unsupported scheme */
    c = new_client("ftp://127.0.0.1:1", 1000, 0);
    struct arena *a = arena_new(0, 0);
    struct client_request rq = {"GET", "/", NULL, NULL, 0, NULL, 0, NULL, 0};
    struct client_response r;
    assert_int_equal(client_request(c, &rq, a, &r), AB_EINVAL);
    arena_free(a);
    client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_and_reuse),
        cmocka_unit_test(test_body_headers_correlation),
        cmocka_unit_test(test_http_error_status_is_ok),
        cmocka_unit_test(test_timeout_after_send_is_unknown),
        cmocka_unit_test(test_dropped_connection_is_unknown),
        cmocka_unit_test(test_response_ceiling),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_connect_timeout_not_sent),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
