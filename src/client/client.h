/* SPDX-License-Identifier: Apache-2.0
 *
 * client.h: outbound HTTP for the connectors, on libcurl's multi interface.
 * One struct client per provider owns one CURLM handle, so connections to
 * the provider are kept alive and reused across requests; it carries the
 * provider's options from its configuration section: base URL, TLS
 * verification (on unless the configuration turns it off, which is logged
 * loudly), CA file, client certificate and key, proxy and no_proxy, connect
 * and total timeouts, and the ceiling of a response body.
 *
 * The client moves bytes and maps transport failures to result codes; it
 * never interprets an HTTP status (a 429 or a 500 is AB_OK with that status:
 * the connector decides what it means). It never logs headers or bodies;
 * messages pass through log_scrub().
 *
 * Transport failures (docs/internals/sync.md, "HTTP client"):
 *   connection refused, DNS, proxy unreachable ... AB_ENETWORK   (not sent)
 *   connect timeout, or total timeout before the request was sent
 *                                              ... AB_ETIMEOUT   (not sent)
 *   timeout, reset or an empty/partial answer after the request was sent
 *                                              ... AB_EUNKNOWN   (may have happened)
 *   certificate verification, bad CA file, bad client certificate or key
 *                                              ... AB_EAUTH      (permanent)
 *   other TLS handshake failures                ... AB_ENETWORK
 *   response body past the ceiling              ... AB_ETOOLARGE
 *   malformed URL or unsupported scheme         ... AB_EINVAL
 *
 * Thread-safety: client_request() may be called from any thread. Up to
 * `parallel` requests of one client are in flight at once, each on its own
 * libcurl multi handle (a "lane" with its own connection cache, so a reused
 * read connection stays with the lane that opened it); a further caller
 * waits for a free lane.
 */
#ifndef AB_CLIENT_CLIENT_H
#define AB_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/result.h"

#define CLIENT_MAX_RESPONSE_DEFAULT (16u * 1024 * 1024)
#define CLIENT_MAX_HEADERS 64 /* response headers kept; more is AB_ETOOLARGE */

struct client_opts {
    const char *name;     /* provider name, for logs */
    const char *base_url; /* "https://sap.example.com/api"; paths are appended */
    bool verify;          /* verify the peer's certificate and host name */
    const char *ca_file;
    const char *client_cert;
    const char *client_key;
    const char *proxy;          /* NULL: libcurl's environment (http_proxy, ...) applies */
    const char *no_proxy;       /* hosts that bypass the proxy */
    int64_t connect_timeout_ms; /* <= 0: 10 s */
    int64_t timeout_ms;         /* whole request; <= 0: 60 s */
    size_t max_response;        /* body ceiling; 0: CLIENT_MAX_RESPONSE_DEFAULT */
    unsigned parallel;          /* requests in flight at once (1..CLIENT_PARALLEL_MAX); 0: 1 */
};

#define CLIENT_PARALLEL_MAX 32

/* Options from a provider's configuration section (timeouts and ceiling at
 * their defaults). Strings point into cfg. */
void client_opts_from_config(const struct config_provider *cfg, struct client_opts *out /* OUT */);

struct client;

/* A client for one provider. Copies the options. AB_EINVAL with a reason in
 * err when base_url is missing; AB_EINTERNAL when libcurl cannot start. When
 * verify is false a warning naming the provider is logged. */
enum ab_rc client_new(const struct client_opts *opts, struct client **out /* OUT */, char *err,
                      size_t errlen) AB_MUST_CHECK;

/* Close every connection and free the client. NULL accepted. */
void client_free(struct client *c);

struct client_header {
    const char *name;
    const char *value;
};

struct client_request {
    const char *method;                  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;                    /* appended to base_url; "" or NULL for the base itself */
    const char *query;                   /* already encoded, without '?'; NULL for none */
    const struct client_header *headers; /* e.g. Authorization (never logged) */
    size_t n_headers;
    const char *body; /* NULL: none */
    size_t body_len;
    const char *correlation_id; /* sent as X-Correlation-Id when set */
    int64_t timeout_ms;         /* this request's total timeout; <= 0: the client's */
};

struct client_response {
    int status; /* 0 when no response arrived */
    struct client_header *headers;
    size_t n_headers;
    const char *body; /* NUL-terminated; "" when empty */
    size_t body_len;
    bool sent;            /* the request went out (so a failure may have an effect) */
    long new_connections; /* connections this request had to open (0: reused) */
    const char *error;    /* on failure: one line for logs (scrubbed), else NULL */
};

/* Perform one request and wait for the whole answer. On AB_OK out has the
 * status, headers and body (in arena a); any HTTP status is AB_OK. On a
 * transport failure out->error says why and out->sent whether the request
 * had gone out; codes as in the table above. */
enum ab_rc client_request(struct client *c, const struct client_request *req, struct arena *a,
                          struct client_response *out /* OUT */) AB_MUST_CHECK;

/* The first response header with this name (case-insensitive), or NULL:
 * e.g. "Retry-After" (parse it with retry_after_parse in src/sync/retry.h)
 * or "Link" (paging). */
const char *client_response_header(const struct client_response *r, const char *name);

#endif
