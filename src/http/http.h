/* SPDX-License-Identifier: Apache-2.0
 *
 * http.h: the HTTP server adapter (libmicrohttpd underneath) and the router.
 *
 * The API layer describes its routes as a table of struct http_route; the
 * server matches each request against it, collects the body into a bounded
 * buffer, and calls the handler on a connection thread with a per-request
 * arena. Nothing above this layer sees libmicrohttpd.
 *
 * Route patterns are paths whose segments are literals, `{name}` (any one
 * segment, percent-decoded) or `{name}:verb` (a segment ending in ":verb",
 * the action form of the API, e.g. /v1/work-orders/{id}:complete). A
 * pattern may end in a literal ending with ":verb" too
 * (/v1/assets:lookup), or in a final segment that is a single star (the
 * pattern "/api/" followed by "*"): a catch-all that matches the rest of
 * the path, however many segments (possibly none: it matches "/api/" but
 * not "/api"); the rest is
 * given raw (not decoded) as the parameter named "*". Routes are tried in
 * table order, so list action routes before plain ones that could also
 * match.
 */
#ifndef AB_HTTP_HTTP_H
#define AB_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/result.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_CORR_ID_MAX 64

struct http_request {
    struct arena *arena; /* dies with the request */
    const char *method;  /* "GET", "POST", ... */
    const char *path;    /* raw path, without the query string */
    const char *query;   /* raw query string without '?', or "" */
    const char *route;   /* the matched route's pattern (metrics label) */
    const char *param_names[HTTP_MAX_PARAMS];
    const char *params[HTTP_MAX_PARAMS]; /* decoded path parameters */
    size_t n_params;
    const char *body; /* NUL-terminated; "" when there is none */
    size_t body_len;
    char correlation_id[HTTP_CORR_ID_MAX + 1];
    void *user;         /* free for the before hook (the API's principal) */
    int64_t started_us; /* monotonic time the headers were complete */
    void *conn;         /* internal */
};

struct http_header {
    const char *name;
    const char *value;
};

#define HTTP_MAX_RESP_HEADERS 8

struct http_response {
    int status;
    const char *content_type; /* default "application/json" */
    struct buf body;          /* bounded by the server's response ceiling */
    struct http_header headers[HTTP_MAX_RESP_HEADERS];
    size_t n_headers;
    /* Failure simulation (provider simulators); both false normally.
     * drop: send nothing and close the connection (with a TCP reset where
     * the socket allows it), as a peer that crashed mid-request would.
     * truncate: send the status and headers with the Content-Length of the
     * whole body, then only the first truncate_at bytes of it, then close. */
    bool drop;
    bool truncate;
    size_t truncate_at;
};

/* A handler fills resp (status, body, headers). It runs on a connection
 * thread and may block (for durability or a long poll). ctx is the server's
 * user context. */
typedef void (*http_handler_fn)(struct http_request *req, struct http_response *resp, void *ctx);

struct http_route {
    const char *method;
    const char *pattern;
    http_handler_fn handler;
    size_t max_body; /* 0: the server's default body limit */
    unsigned flags;  /* free for the API layer (scopes) */
};

/* Runs once the headers are complete and the route is known, before any
 * body is read: authentication, authorization, rate limits, admission of
 * large bodies. Returning false refuses the request with the response the
 * hook filled (status, error body, headers). */
typedef bool (*http_before_fn)(struct http_request *req, struct http_response *resp,
                               const struct http_route *route, void *ctx);

/* Runs after every response is queued (also refusals and 404s, whose route
 * is NULL): metrics, releases taken in the before hook. */
typedef void (*http_after_fn)(const struct http_request *req, const struct http_response *resp,
                              const struct http_route *route, void *ctx);

struct http_server_opts {
    const char *listen; /* "HOST:PORT"; port 0 picks a free one */
    bool use_listen_fd; /* serve listen_fd (from http_listen) instead of binding */
    int listen_fd;
    const struct http_route *routes;
    size_t n_routes;
    void *ctx;             /* passed to every handler */
    http_before_fn before; /* may be NULL */
    http_after_fn after;   /* may be NULL */
    size_t max_body;       /* default body ceiling (bytes) */
    unsigned max_connections;
    unsigned threads;          /* event-loop threads (default 4) */
    unsigned idle_timeout_s;   /* a keep-alive connection idle this long is closed */
    unsigned header_timeout_s; /* a request that stalls this long is dropped (0: idle) */
    size_t max_header_bytes;   /* per-connection memory for the request head (0: 16 KiB);
                                  libmicrohttpd zeroes all of it before each request on a
                                  connection, so it costs time as well as memory */
    const char *tls_cert_pem;  /* PEM text, or NULL for plain HTTP */
    const char *tls_key_pem;
};

struct http_server;

/* Bind the listen address and start serving on internal threads (one per
 * connection). On success *out is the server and bound (if not NULL)
 * receives "HOST:PORT" with the actual port. A malformed address is
 * AB_EINVAL; a port in use, an unknown host or a failed start are AB_EIO;
 * both with a one-line reason in errbuf. */
enum ab_rc http_server_start(const struct http_server_opts *opts,
                             struct http_server **out /* OUT */, char *bound /* OUT */,
                             size_t bound_len, char *errbuf, size_t errlen) AB_MUST_CHECK;

/* Bind and listen on spec ("HOST:PORT", "[v6]:PORT"), so a caller can claim
 * the port before starting anything else. Returns the socket, or -1 with a
 * one-line reason in errbuf and *why = AB_EINVAL (malformed) or AB_EIO (in
 * use, unknown host). bound receives the actual "HOST:PORT". */
int http_listen(const char *spec, char *bound /* OUT */, size_t bound_len, char *errbuf,
                size_t errlen, enum ab_rc *why /* OUT */);

/* Stop accepting connections, let requests in flight finish for up to
 * grace_ms, then close everything and free the server. */
void http_server_stop(struct http_server *s, int64_t grace_ms);

/* Requests currently being handled. */
unsigned http_server_in_flight(const struct http_server *s);

/* ---- helpers for handlers ------------------------------------------------ */

/* Answer later: called by a handler that hands the work to another thread
 * (a store commit, a long poll). When the handler returns, the connection
 * is suspended (it costs no thread) until http_complete(). Then resume
 * (may be NULL) runs on a server thread to build the response, with arg,
 * and the response is sent. The request and response stay valid until then;
 * the handler's thread must not touch them after the hand-over. */
void http_defer(struct http_request *req, http_handler_fn resume, void *arg);

/* Called from any thread, exactly once, when the deferred work is done
 * (its result kept where resume will find it): the connection resumes. */
void http_complete(struct http_request *req);

/* True when the client connected from a loopback address. */
bool http_peer_is_loopback(const struct http_request *req);

/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/* Copy up to max request headers (name, value; valid for the request's
 * life) into out, in arrival order. Returns how many there are in all. */
size_t http_headers(const struct http_request *req, struct http_header *out /* OUT */, size_t max);

/* A decoded query parameter, or NULL. Repeated keys: the first. */
const char *http_query(const struct http_request *req, const char *name);

/* The named path parameter, or NULL. */
const char *http_param(const struct http_request *req, const char *name);

/* Add a response header (copied into the request arena). Past
 * HTTP_MAX_RESP_HEADERS the header is dropped and AB_ETOOLARGE returned. */
enum ab_rc http_resp_header(struct http_request *req, struct http_response *resp, const char *name,
                            const char *value) AB_MUST_CHECK;

/* Set status and the standard error body
 * {"error":{"class":...,"message":...,"field":...,"correlation_id":...}}.
 * field may be NULL. */
void http_resp_error(struct http_request *req, struct http_response *resp, int status,
                     const char *cls, const char *field, const char *message);

/* Set status and a body of text (copied). */
void http_resp_text(struct http_response *resp, int status, const char *content_type,
                    const char *text);

/* Decode %XX and (when plus_is_space) '+' in s[0..n) into a new arena
 * string. A bad escape or an encoded NUL is AB_EINVAL. */
enum ab_rc http_url_decode(struct arena *a, const char *s, size_t n, bool plus_is_space,
                           char **out /* OUT */) AB_MUST_CHECK;

/* The field name of the first path parameter (decoded) or query parameter
 * (key: "query"; decoded value: "query.<key>") of req that is not valid
 * UTF-8, or NULL. The server refuses such a request with 400 before its
 * handler runs; a query pair that does not decode is left to http_query,
 * which answers NULL for it. names/params: the route's path parameters. */
const char *http_bad_utf8(struct http_request *req, const char *const *names,
                          const char *const *params, size_t n);

/* Match path against pattern; on success fills names/params (decoded into
 * arena a) and returns true. Exposed for tests. */
bool http_route_match(struct arena *a, const char *pattern, const char *path,
                      const char **names /* OUT */, const char **params /* OUT */,
                      size_t *n /* OUT */);

#endif
