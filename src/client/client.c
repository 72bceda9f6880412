/* SPDX-License-Identifier: Apache-2.0
 *
 * client.c: the outbound HTTP client on libcurl's multi interface (one
 * CURLM per provider: its connection cache keeps connections alive across
 * requests). See client.h for the contract and the failure mapping.
 */
#include "client/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"

#define HEADER_BYTES_MAX (64u * 1024)

struct lane {
    CURLM *multi;
    bool busy; /* guarded by client.mu */
};

struct client {
    pthread_mutex_t mu;  /* guards lanes[].busy */
    pthread_cond_t free; /* a lane became free */
    struct lane lanes[CLIENT_PARALLEL_MAX];
    unsigned n_lanes;
    char *name, *base_url, *ca_file, *client_cert, *client_key, *proxy, *no_proxy;
    bool verify;
    int64_t connect_timeout_ms, timeout_ms;
    size_t max_response;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void client_opts_from_config(const struct config_provider *cfg, struct client_opts *out)
{
    memset(out, 0, sizeof(*out));
    out->name = cfg->name;
    out->base_url = cfg->base_url;
    out->verify = cfg->tls.verify;
    out->ca_file = cfg->tls.ca_file;
    out->client_cert = cfg->tls.client_cert;
    out->client_key = cfg->tls.client_key;
    out->proxy = cfg->proxy.url;
    out->no_proxy = cfg->proxy.no_proxy;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

enum ab_rc client_new(const struct client_opts *o, struct client **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!o->base_url || !*o->base_url) {
        snprintf(err, errlen, "provider %s: base_url is required", o->name ? o->name : "?");
        return AB_EINVAL;
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(curl_init_rc));
        return AB_EINTERNAL;
    }
    struct client *c = xcalloc(1, sizeof(*c));
    c->n_lanes = o->parallel == 0                    ? 1
                 : o->parallel > CLIENT_PARALLEL_MAX ? CLIENT_PARALLEL_MAX
                                                     : o->parallel;
    for (unsigned i = 0; i < c->n_lanes; i++) {
        c->lanes[i].multi = curl_multi_init();
        if (!c->lanes[i].multi) {
            for (unsigned k = 0; k < i; k++)
                curl_multi_cleanup(c->lanes[k].multi);
            free(c);
            snprintf(err, errlen, "libcurl: cannot create a multi handle");
            return AB_EINTERNAL;
        }
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->free, NULL);
    c->name = xstrdup(o->name ? o->name : "provider");
    c->base_url = xstrdup(o->base_url);
    c->ca_file = dup_or_null(o->ca_file);
    c->client_cert = dup_or_null(o->client_cert);
    c->client_key = dup_or_null(o->client_key);
    c->proxy = dup_or_null(o->proxy);
    c->no_proxy = dup_or_null(o->no_proxy);
    c->verify = o->verify;
    c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
    c->max_response = o->max_response ? o->max_response : CLIENT_MAX_RESPONSE_DEFAULT;
    if (!c->verify)
        log_warn(NULL,
                 "TLS VERIFICATION IS OFF for this provider: its certificate and host name "
                 "are not checked; anyone on the path can read and change its traffic",
                 LOG_STR("provider", c->name));
    *out = c;
    return AB_OK;
}

void client_free(struct client *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n_lanes; i++)
        curl_multi_cleanup(c->lanes[i].multi);
    pthread_cond_destroy(&c->free);
    pthread_mutex_destroy(&c->mu);
    free(c->name);
    free(c->base_url);
    free(c->ca_file);
    free(c->client_cert);
    free(c->client_key);
    free(c->proxy);
    free(c->no_proxy);
    free(c);
}

/* ---- one transfer ----------------------------------------------------------- */

struct xfer {
    struct arena *a;
    struct buf body;
    bool too_large;
    bool sent;
    struct client_header *headers;
    size_t n_headers, cap_headers, header_bytes;
    bool headers_too_large;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (buf_append(&x->body, p, len) != AB_OK) {
        x->too_large = true;
        return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    x->header_bytes += len;
    if (x->header_bytes > HEADER_BYTES_MAX) {
        x->headers_too_large = true;
        return 0;
    }
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue): forget the interim headers */
        x->n_headers = 0;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len; /* the blank line ending the headers */
    if (x->n_headers >= CLIENT_MAX_HEADERS) {
        x->headers_too_large = true;
        return 0;
    }
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    x->headers = arena_grow(x->a, x->headers, x->n_headers, &x->cap_headers, sizeof(*x->headers));
    x->headers[x->n_headers].name = arena_strndup(x->a, p, (size_t)(colon - p));
    x->headers[x->n_headers].value = arena_strndup(x->a, v, (size_t)(end - v));
    x->n_headers++;
    return len;
}

/* Sees CURLINFO_HEADER_OUT once the request line and headers went out. */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    (void)h, (void)data, (void)size;
    struct xfer *x = arg;
    if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT)
        x->sent = true;
    return 0;
}

static enum ab_rc map_curl(CURLcode cc, bool sent, bool too_large)
{
    if (too_large)
        return AB_ETOOLARGE;
    switch (cc) {
    case CURLE_OK: return AB_OK;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return AB_EINVAL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return AB_ENETWORK;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: return AB_EAUTH;
    case CURLE_FILESIZE_EXCEEDED: return AB_ETOOLARGE;
    case CURLE_OPERATION_TIMEDOUT: return sent ? AB_EUNKNOWN : AB_ETIMEOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return sent ? AB_EUNKNOWN : AB_ENETWORK;
    default: return sent ? AB_EUNKNOWN : AB_ENETWORK;
    }
}

/* Drive the multi handle until the one transfer on it is done. */
static CURLcode drive(CURLM *m, CURL *h)
{
    int running = 1;
    CURLMcode mc = CURLM_OK;
    while (running && mc == CURLM_OK) {
        mc = curl_multi_perform(m, &running);
        if (mc == CURLM_OK && running)
            mc = curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    CURLcode cc = mc == CURLM_OK ? CURLE_OK : CURLE_FAILED_INIT;
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
            cc = msg->data.result;
    return cc;
}

enum ab_rc client_request(struct client *c, const struct client_request *req, struct arena *a,
                          struct client_response *out)
{
    memset(out, 0, sizeof(*out));
    out->body = "";
    struct xfer x;
    memset(&x, 0, sizeof(x));
    x.a = a;
    buf_init(&x.body, c->max_response);

    char *url = arena_printf(a, "%s%s%s%s", c->base_url, req->path ? req->path : "",
                             req->query && *req->query ? "?" : "",
                             req->query && *req->query ? req->query : "");
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; i < req->n_headers; i++)
        hdrs = curl_slist_append(
            hdrs, arena_printf(a, "%s: %s", req->headers[i].name, req->headers[i].value));
    if (req->correlation_id && *req->correlation_id)
        hdrs =
            curl_slist_append(hdrs, arena_printf(a, "X-Correlation-Id: %s", req->correlation_id));
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */

    CURL *h = curl_easy_init();
    if (!h) {
        curl_slist_free_all(hdrs);
        buf_cleanup(&x.body);
        out->error = "libcurl: cannot create a handle";
        return AB_EINTERNAL;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    int64_t timeout = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
    const char *method = req->method ? req->method : "GET";

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->client_cert)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
    if (c->client_key)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
    if (c->proxy)
        curl_easy_setopt(h, CURLOPT_PROXY, c->proxy);
    if (c->no_proxy)
        curl_easy_setopt(h, CURLOPT_NOPROXY, c->no_proxy);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &x);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* feeds on_debug only; nothing is printed */
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        /* A write never rides a reused connection: when a reused connection
         * dies without an answer, libcurl silently sends the request again
         * on a new one, and a write the provider applied before the drop
         * would be applied twice. On a fresh connection a drop surfaces as
         * an unknown outcome, which the engine resolves before any resend. */
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        if (req->body || strcmp(method, "DELETE") != 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        }
    }

    struct lane *lane = NULL;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        for (unsigned i = 0; i < c->n_lanes && !lane; i++)
            if (!c->lanes[i].busy)
                lane = &c->lanes[i];
        if (lane)
            break;
        pthread_cond_wait(&c->free, &c->mu);
    }
    lane->busy = true;
    pthread_mutex_unlock(&c->mu);
    CURLcode cc;
    if (curl_multi_add_handle(lane->multi, h) != CURLM_OK) {
        cc = CURLE_FAILED_INIT;
    } else {
        cc = drive(lane->multi, h);
        curl_multi_remove_handle(lane->multi, h);
    }
    pthread_mutex_lock(&c->mu);
    lane->busy = false;
    pthread_cond_signal(&c->free);
    pthread_mutex_unlock(&c->mu);

    long status = 0, conns = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);

    out->sent = x.sent;
    out->new_connections = conns;
    enum ab_rc rc = map_curl(cc, x.sent, x.too_large || x.headers_too_large);
    if (rc) {
        char *msg = log_scrub(x.too_large           ? "response body exceeds the ceiling"
                              : x.headers_too_large ? "response headers exceed the ceiling"
                              : *errbuf             ? errbuf
                                                    : curl_easy_strerror(cc));
        out->error = arena_strdup(a, msg);
        free(msg);
        out->status = (int)status;
        buf_cleanup(&x.body);
        return rc;
    }
    out->status = (int)status;
    out->headers = x.headers;
    out->n_headers = x.n_headers;
    out->body_len = x.body.len;
    char *body = arena_alloc(a, x.body.len + 1); /* the body may hold NUL bytes */
    memcpy(body, buf_str(&x.body), x.body.len + 1);
    out->body = body;
    buf_cleanup(&x.body);
    return AB_OK;
}

const char *client_response_header(const struct client_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}
