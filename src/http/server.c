/* SPDX-License-Identifier: Apache-2.0
 *
 * server.c: libmicrohttpd adapter. See http.h.
 *
 * Threading: libmicrohttpd runs a small pool of event-driven threads (epoll),
 * each serving many connections. A handler that would wait (for a group
 * commit, a long poll) does not block its thread: it calls http_defer(),
 * the connection is suspended, and whoever finishes the work fills the
 * response and calls http_complete(), which resumes it. Handlers that block
 * briefly (a read, a small write) may still do so; the pool has
 * opts->threads of them.
 *
 * Request life: the URI log callback creates the per-request context (arena,
 * raw URI) before any header is parsed. The access handler is then called
 * once with the headers (route matching, Content-Length check), once per
 * chunk of body (appended to a bounded buffer) and once at the end (handler
 * runs, response queued). The completion callback frees the arena.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

#define RESPONSE_MAX (64u * 1024 * 1024)

/* A connection the header watchdog follows. MHD's connection timeout is
 * about inactivity only: a client that trickles one header byte at a time
 * never trips it. The watchdog drops a connection whose request has not
 * got all its headers within header_timeout of starting, or that stays
 * between requests longer than idle_timeout whatever it sends. */
struct conn_watch {
    int fd;
    int64_t header_since; /* mono ms the request's header phase began; 0: not in it */
    int64_t idle_since;   /* mono ms the connection went idle between requests; 0: not */
    bool dropped;
    struct conn_watch *prev, *next;
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_server_opts opts;
    int listen_fd;
    atomic_uint in_flight;
    atomic_uint suspended; /* deferred requests waiting for http_complete */
    /* the header watchdog (header_timeout_s > 0) */
    pthread_mutex_t watch_mu;
    pthread_cond_t watch_cv;
    struct conn_watch *watched; /* every open connection */
    pthread_t watchdog;
    bool watchdog_running, watchdog_stop;
    atomic_uint_fast64_t dropped_slow; /* connections the watchdog dropped */
};

struct req_ctx {
    struct http_request req;
    struct buf body;
    const struct http_route *route;
    struct http_response resp; /* filled by a refusal or the handler */
    bool refused;              /* answered before the handler: 404, 405, 413, the before hook */
    bool finished;             /* the after hook ran */
    bool counted;
    atomic_int defer; /* enum defer_state */
    struct http_server *server;
    http_handler_fn resume; /* builds the deferred response on a server thread */
    void *resume_arg;
};

/* A deferred request's life (http_defer / http_complete). The handler and
 * the completion may race: whoever comes second resumes the connection. */
enum defer_state {
    DEFER_NONE = 0,
    DEFER_RUNNING,    /* the handler asked to answer later and has not returned */
    DEFER_DONE_EARLY, /* completed before the connection was suspended */
    DEFER_SUSPENDED,  /* waiting for http_complete */
    DEFER_DONE,       /* completed; the connection was resumed */
};

/* ---- helpers ------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum ab_rc http_url_decode(struct arena *a, const char *s, size_t n, bool plus_is_space, char **out)
{
    char *d = arena_alloc(a, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (n - i < 3)
                return AB_EINVAL;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return AB_EINVAL;
            d[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus_is_space && s[i] == '+') {
            d[j++] = ' ';
        } else {
            d[j++] = s[i];
        }
    }
    d[j] = '\0';
    *out = d;
    return AB_OK;
}

bool http_route_match(struct arena *a, const char *pattern, const char *path, const char **names,
                      const char **params, size_t *n)
{
    const char *p = pattern, *s = path;
    size_t np = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        if (p[1] == '*' && p[2] == '\0') {
            /* catch-all: the rest of the path, raw */
            if (np == HTTP_MAX_PARAMS)
                return false;
            names[np] = "*";
            params[np] = arena_strdup(a, s + 1);
            *n = np + 1;
            return true;
        }
        p++;
        s++;
        const char *pend = strchr(p, '/');
        const char *send = strchr(s, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        size_t slen = send ? (size_t)(send - s) : strlen(s);
        if (p[0] == '{') {
            const char *close = memchr(p, '}', plen);
            if (!close || np == HTTP_MAX_PARAMS)
                return false;
            const char *verb = close + 1; /* "" or ":verb" */
            size_t vlen = plen - (size_t)(verb - p);
            if (slen <= vlen || memcmp(s + slen - vlen, verb, vlen) != 0)
                return false;
            char *val;
            if (http_url_decode(a, s, slen - vlen, false, &val) || !*val)
                return false;
            names[np] = arena_strndup(a, p + 1, (size_t)(close - p - 1));
            params[np] = val;
            np++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    if (*p || *s)
        return false;
    *n = np;
    return true;
}

bool http_peer_is_loopback(const struct http_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(in6->sin6_addr.s6_addr, v4mapped, 12) == 0)
            return in6->sin6_addr.s6_addr[12] == 127;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

const char *http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct header_walk {
    struct http_header *out;
    size_t max, n;
};

static enum MHD_Result header_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct header_walk *w = cls;
    (void)kind;
    if (w->n < w->max) {
        w->out[w->n].name = key;
        w->out[w->n].value = value ? value : "";
    }
    w->n++;
    return MHD_YES;
}

size_t http_headers(const struct http_request *req, struct http_header *out, size_t max)
{
    struct header_walk w = {out, max, 0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_cb, &w);
    return w.n;
}

/* One raw key=value pair of a query string (not decoded). */
struct query_pair {
    const char *key;
    size_t key_len;
    const char *value; /* NULL: the pair has no '=' */
    size_t value_len;
};

/* The pair at *q, advancing *q past it and its '&'; false at the end. */
static bool query_next(const char **q, struct query_pair *p)
{
    if (!*q || !**q)
        return false;
    const char *amp = strchr(*q, '&');
    size_t len = amp ? (size_t)(amp - *q) : strlen(*q);
    const char *eq = memchr(*q, '=', len);
    p->key = *q;
    p->key_len = eq ? (size_t)(eq - *q) : len;
    p->value = eq ? eq + 1 : NULL;
    p->value_len = eq ? len - p->key_len - 1 : 0;
    *q += len + (amp ? 1 : 0);
    return true;
}

const char *http_query(const struct http_request *req, const char *name)
{
    const char *q = req->query;
    size_t nlen = strlen(name);
    struct query_pair p;
    while (query_next(&q, &p)) {
        char *key, *val;
        if (http_url_decode(req->arena, p.key, p.key_len, true, &key) == AB_OK &&
            strlen(key) == nlen && memcmp(key, name, nlen) == 0) {
            if (!p.value)
                return "";
            if (http_url_decode(req->arena, p.value, p.value_len, true, &val))
                return NULL;
            return val;
        }
    }
    return NULL;
}

const char *http_param(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->param_names[i], name) == 0)
            return req->params[i];
    return NULL;
}

enum ab_rc http_resp_header(struct http_request *req, struct http_response *resp, const char *name,
                            const char *value)
{
    if (resp->n_headers == HTTP_MAX_RESP_HEADERS)
        return AB_ETOOLARGE;
    resp->headers[resp->n_headers].name = arena_strdup(req->arena, name);
    resp->headers[resp->n_headers].value = arena_strdup(req->arena, value);
    resp->n_headers++;
    return AB_OK;
}

void http_resp_text(struct http_response *resp, int status, const char *content_type,
                    const char *text)
{
    resp->status = status;
    resp->content_type = content_type;
    buf_reset(&resp->body);
    if (buf_append_str(&resp->body, text)) {
        resp->status = 500;
        buf_reset(&resp->body);
    }
}

void http_resp_error(struct http_request *req, struct http_response *resp, int status,
                     const char *cls, const char *field, const char *message)
{
    struct buf *b = &resp->body;
    enum ab_rc rc;
    buf_reset(b);
    resp->status = status;
    resp->content_type = "application/json";
    rc = buf_append_str(b, "{\"error\":{\"class\":\"");
    if (!rc)
        rc = str_json_escape(b, cls, strlen(cls));
    if (!rc)
        rc = buf_append_str(b, "\",\"message\":\"");
    if (!rc) {
        char *clean = log_scrub(message);
        rc = str_json_escape(b, clean, strlen(clean));
        free(clean);
    }
    if (!rc && field) {
        rc = buf_append_str(b, "\",\"field\":\"");
        if (!rc)
            rc = str_json_escape(b, field, strlen(field));
    }
    if (!rc)
        rc = buf_append_str(b, "\",\"correlation_id\":\"");
    if (!rc)
        rc = str_json_escape(b, req->correlation_id, strlen(req->correlation_id));
    if (!rc)
        rc = buf_append_str(b, "\"}}");
    if (rc) {
        buf_reset(b);
        resp->status = 500;
    }
}

/* A client-supplied correlation id is kept only if it is short and made of
 * safe characters; otherwise a ULID is generated. */
static void set_correlation_id(struct http_request *req, const char *given)
{
    bool ok = given && *given && strlen(given) <= HTTP_CORR_ID_MAX;
    for (const char *c = given; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             strchr("._:-", *c);
    if (ok)
        str_lcpy(req->correlation_id, given, sizeof(req->correlation_id));
    else
        id_ulid_new(req->correlation_id);
}

/* ---- the header watchdog ------------------------------------------------- */

static struct conn_watch *watch_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? (struct conn_watch *)ci->socket_context : NULL;
}

/* The request phase of conn moves: header_since / idle_since (0 clears). */
static void watch_phase(struct http_server *s, struct MHD_Connection *conn, int64_t header_since,
                        int64_t idle_since)
{
    if (!s->watchdog_running)
        return;
    struct conn_watch *w = watch_of(conn);
    if (!w)
        return;
    pthread_mutex_lock(&s->watch_mu);
    w->header_since = header_since;
    w->idle_since = idle_since;
    pthread_mutex_unlock(&s->watch_mu);
}

static void notify_conn_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
                           enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    if (!s->watchdog_running)
        return;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_watch *w = xcalloc(1, sizeof(*w));
        w->fd = ci ? ci->connect_fd : -1;
        w->header_since = clock_mono_ms(); /* the first request's headers are due */
        pthread_mutex_lock(&s->watch_mu);
        w->next = s->watched;
        if (s->watched)
            s->watched->prev = w;
        s->watched = w;
        pthread_mutex_unlock(&s->watch_mu);
        *socket_context = w;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        struct conn_watch *w = *socket_context;
        pthread_mutex_lock(&s->watch_mu);
        if (w->prev)
            w->prev->next = w->next;
        else
            s->watched = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&s->watch_mu);
        free(w);
        *socket_context = NULL;
    }
}

/* Every 250 ms: shut down the sockets of connections past their deadline
 * (MHD then sees the connection end and closes it on its own thread). */
static void *watchdog_main(void *arg)
{
    struct http_server *s = arg;
    int64_t header_ms = (int64_t)s->opts.header_timeout_s * 1000;
    int64_t idle_ms = (int64_t)(s->opts.idle_timeout_s ? s->opts.idle_timeout_s : 60u) * 1000;
    pthread_mutex_lock(&s->watch_mu);
    while (!s->watchdog_stop) {
        int64_t now = clock_mono_ms();
        for (struct conn_watch *w = s->watched; w; w = w->next) {
            bool late = (w->header_since && now - w->header_since > header_ms) ||
                        (w->idle_since && now - w->idle_since > idle_ms);
            if (late && !w->dropped && w->fd >= 0) {
                w->dropped = true;
                (void)shutdown(w->fd, SHUT_RDWR);
                atomic_fetch_add(&s->dropped_slow, 1);
                log_info(NULL, "http: slow client dropped",
                         LOG_STR("phase", w->header_since ? "headers" : "idle"),
                         LOG_INT("ms", now - (w->header_since ? w->header_since : w->idle_since)));
            }
        }
        struct timespec ts = clock_deadline_in(250);
        (void)pthread_cond_timedwait(&s->watch_cv, &s->watch_mu, &ts);
    }
    pthread_mutex_unlock(&s->watch_mu);
    return NULL;
}

/* ---- libmicrohttpd callbacks ------------------------------------------- */

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *s = cls;
    /* a request has begun: until it is answered, stalling for
     * header_timeout_s disconnects the client (idle_timeout_s applies only
     * between requests) */
    if (s->opts.header_timeout_s)
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, s->opts.header_timeout_s);
    int64_t now = clock_mono_ms();
    watch_phase(s, conn, now, 0);
    struct arena *a = arena_new(8192, 0);
    struct req_ctx *rc = arena_zalloc(a, sizeof(*rc));
    rc->req.arena = a;
    rc->req.conn = conn;
    const char *q = strchr(uri, '?');
    rc->req.path = q ? arena_strndup(a, uri, (size_t)(q - uri)) : arena_strdup(a, uri);
    rc->req.query = q ? arena_strdup(a, q + 1) : "";
    rc->req.body = "";
    buf_init(&rc->body, 0);
    return rc;
}

static void finish(struct http_server *s, struct req_ctx *rc);

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    (void)toe;
    struct req_ctx *rc = *con_cls;
    if (!rc)
        return;
    if (s->opts.header_timeout_s)
        watch_phase(s, conn, 0, clock_mono_ms()); /* the response is out: idle until the next */
    /* a client that went away before its response still releases what the
     * before hook took (batch slots) and is counted, as 499 */
    if (rc->req.method && !rc->finished) {
        rc->resp.status = 499;
        finish(s, rc);
    }
    if (rc->counted)
        atomic_fetch_sub(&s->in_flight, 1);
    buf_cleanup(&rc->body);
    buf_cleanup(&rc->resp.body);
    arena_free(rc->req.arena);
    *con_cls = NULL;
}

/* A truncated response (http_response.truncate): the reader hands out the
 * first `at` bytes and then ends with an error, so libmicrohttpd closes the
 * connection short of the declared Content-Length. */
struct trunc_body {
    char *data;
    size_t at;
};

static ssize_t trunc_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct trunc_body *t = cls;
    if (pos >= t->at)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->at - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(out, t->data + pos, n);
    return (ssize_t)n;
}

static void trunc_free(void *cls)
{
    struct trunc_body *t = cls;
    free(t->data);
    free(t);
}

static struct MHD_Response *truncated_response(const struct http_response *resp)
{
    struct trunc_body *t = xcalloc(1, sizeof(*t));
    size_t len = resp->body.len;
    t->data = xmalloc(len + 1);
    if (len)
        memcpy(t->data, resp->body.data, len);
    t->at = resp->truncate_at < len ? resp->truncate_at : len;
    struct MHD_Response *r =
        MHD_create_response_from_callback(len, 4096, trunc_read, t, trunc_free);
    if (!r)
        trunc_free(t);
    return r;
}

/* Close the connection without an answer; SO_LINGER 0 turns the close into
 * a TCP reset, which is what a crashed peer or a middlebox looks like. */
static void drop_connection(struct req_ctx *rc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rc->req.conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        struct linger lg = {1, 0};
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
}

static enum MHD_Result queue(struct req_ctx *rc, struct http_response *resp)
{
    if (resp->drop) {
        drop_connection(rc);
        return MHD_NO;
    }
    struct MHD_Response *r =
        resp->truncate
            ? truncated_response(resp)
            : MHD_create_response_from_buffer(resp->body.len,
                                              resp->body.data ? resp->body.data : (void *)"",
                                              MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type",
                            resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, "X-Correlation-Id", rc->req.correlation_id);
    for (size_t i = 0; i < resp->n_headers; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(rc->req.conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void finish(struct http_server *s, struct req_ctx *rc)
{
    rc->finished = true;
    if (s->opts.header_timeout_s && rc->req.conn) {
        MHD_set_connection_option(rc->req.conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  s->opts.idle_timeout_s ? s->opts.idle_timeout_s : 60u);
    }
    if (s->opts.after)
        s->opts.after(&rc->req, &rc->resp, rc->route, s->opts.ctx);
    log_debug(rc->req.correlation_id, "request", LOG_STR("method", rc->req.method),
              LOG_STR("path", rc->req.path), LOG_INT("status", rc->resp.status),
              LOG_INT("us", clock_mono_us() - rc->req.started_us));
}

/* Refuse before the handler runs (the body, if any, is discarded). */
static void refuse(struct req_ctx *rc, int status, const char *cls, const char *message)
{
    if (rc->refused)
        return;
    rc->refused = true;
    http_resp_error(&rc->req, &rc->resp, status, cls, NULL, message);
}

static const char *allowed_methods(struct http_server *s, struct req_ctx *rc);

const char *http_bad_utf8(struct http_request *req, const char *const *names,
                          const char *const *params, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!str_utf8_valid(params[i], strlen(params[i])))
            return names[i];
    const char *q = req->query;
    struct query_pair p;
    while (query_next(&q, &p)) {
        char *key = NULL, *val;
        if (http_url_decode(req->arena, p.key, p.key_len, true, &key) == AB_OK &&
            !str_utf8_valid(key, strlen(key)))
            return "query";
        if (p.value && http_url_decode(req->arena, p.value, p.value_len, true, &val) == AB_OK &&
            !str_utf8_valid(val, strlen(val)))
            return arena_printf(req->arena, "query.%s", key ? key : "?");
    }
    return NULL;
}

/* Find the route; sets rc->route, or an early refusal (404/405). */
static void route_request(struct http_server *s, struct req_ctx *rc)
{
    struct http_request *req = &rc->req;
    bool path_matched = false;
    for (size_t i = 0; i < s->opts.n_routes; i++) {
        const struct http_route *r = &s->opts.routes[i];
        size_t n;
        const char *names[HTTP_MAX_PARAMS], *params[HTTP_MAX_PARAMS];
        if (!http_route_match(req->arena, r->pattern, req->path, names, params, &n))
            continue;
        path_matched = true;
        if (strcmp(r->method, req->method) != 0 &&
            !(strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
            continue;
        /* handlers echo path and query values into JSON answers and store
         * them: text that is not UTF-8 stops here, named */
        const char *bad = http_bad_utf8(req, names, params, n);
        if (bad) {
            rc->refused = true;
            http_resp_error(req, &rc->resp, 400, "validation", bad, "not valid UTF-8");
            return;
        }
        rc->route = r;
        req->route = r->pattern;
        req->n_params = n;
        memcpy(req->param_names, names, n * sizeof(*names));
        memcpy(req->params, params, n * sizeof(*params));
        return;
    }
    if (path_matched) {
        refuse(rc, 405, "not_found", "method not allowed on this path");
        if (http_resp_header(&rc->req, &rc->resp, "Allow", allowed_methods(s, rc)))
            rc->resp.status = 500;
    } else {
        refuse(rc, 404, "not_found", "no such route");
    }
}

static const char *allowed_methods(struct http_server *s, struct req_ctx *rc)
{
    struct buf b;
    buf_init(&b, 256);
    for (size_t i = 0; i < s->opts.n_routes; i++) {
        size_t n;
        const char *names[HTTP_MAX_PARAMS], *params[HTTP_MAX_PARAMS];
        if (!http_route_match(rc->req.arena, s->opts.routes[i].pattern, rc->req.path, names, params,
                              &n))
            continue;
        if (strstr(buf_str(&b), s->opts.routes[i].method))
            continue;
        if ((b.len && buf_append_str(&b, ", ")) || buf_append_str(&b, s->opts.routes[i].method))
            break;
    }
    char *out = arena_strdup(rc->req.arena, buf_str(&b));
    buf_cleanup(&b);
    return out;
}

/* A request refused when its headers are in (404, 405, 413 by
 * Content-Length, the before hook). A client that sent "Expect:
 * 100-continue" waits for "100 Continue" before sending its body: it gets
 * the refusal now instead, so a body that would be discarded is never sent
 * (libmicrohttpd then closes the connection). Any other client's body is
 * read and discarded first, and the refusal answered after it, on a
 * connection that stays open. */
static enum MHD_Result refuse_early(struct http_server *s, struct req_ctx *rc)
{
    const char *expect = http_header(&rc->req, "Expect");
    if (!expect || strcasecmp(expect, "100-continue") != 0)
        return MHD_YES;
    enum MHD_Result ret = queue(rc, &rc->resp);
    finish(s, rc);
    return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct req_ctx *rc = *con_cls;
    (void)url;
    (void)version;

    if (!rc->req.method) {
        rc->server = s;
        /* first call: headers are complete */
        watch_phase(s, conn, 0, 0);
        rc->req.method = arena_strdup(rc->req.arena, method);
        rc->req.started_us = clock_mono_us();
        rc->counted = true;
        atomic_fetch_add(&s->in_flight, 1);
        buf_init(&rc->resp.body, RESPONSE_MAX);
        rc->resp.status = 200;
        set_correlation_id(&rc->req, http_header(&rc->req, "X-Correlation-Id"));
        route_request(s, rc);
        if (!rc->route)
            return refuse_early(s, rc);
        size_t max = rc->route->max_body ? rc->route->max_body : s->opts.max_body;
        buf_init(&rc->body, max);
        const char *cl = http_header(&rc->req, "Content-Length");
        int64_t len;
        if (s->opts.before && !s->opts.before(&rc->req, &rc->resp, rc->route, s->opts.ctx))
            rc->refused = true;
        else if (cl && str_to_i64(cl, &len) == AB_OK && (len < 0 || (uint64_t)len > max))
            refuse(rc, 413, "too_large", "request body exceeds the limit for this route");
        return rc->refused ? refuse_early(s, rc) : MHD_YES;
    }

    if (*upload_data_size) {
        if (!rc->refused && buf_append(&rc->body, upload_data, *upload_data_size))
            refuse(rc, 413, "too_large", "request body exceeds the limit for this route");
        *upload_data_size = 0;
        return MHD_YES;
    }

    int state = atomic_load(&rc->defer);
    if (state != DEFER_NONE && rc->resume)
        rc->resume(&rc->req, &rc->resp, rc->resume_arg);
    if (!rc->refused && state == DEFER_NONE) {
        rc->req.body = buf_str(&rc->body);
        rc->req.body_len = rc->body.len;
        rc->route->handler(&rc->req, &rc->resp, s->opts.ctx);
        if (atomic_load(&rc->defer) != DEFER_NONE) {
            /* answered later: park the connection until http_complete() */
            MHD_suspend_connection(conn);
            atomic_fetch_add(&s->suspended, 1);
            int expected = DEFER_RUNNING;
            if (!atomic_compare_exchange_strong(&rc->defer, &expected, DEFER_SUSPENDED)) {
                atomic_store(&rc->defer, DEFER_DONE);
                atomic_fetch_sub(&s->suspended, 1);
                MHD_resume_connection(conn); /* it finished already */
            }
            return MHD_YES;
        }
    }
    enum MHD_Result ret = queue(rc, &rc->resp);
    finish(s, rc);
    return ret;
}

void http_defer(struct http_request *req, http_handler_fn resume, void *arg)
{
    struct req_ctx *rc = (struct req_ctx *)req;
    rc->resume = resume;
    rc->resume_arg = arg;
    atomic_store(&rc->defer, DEFER_RUNNING);
}

void http_complete(struct http_request *req)
{
    struct req_ctx *rc = (struct req_ctx *)req;
    int expected = DEFER_RUNNING;
    if (atomic_compare_exchange_strong(&rc->defer, &expected, DEFER_DONE_EARLY))
        return; /* the server has not suspended it yet and will see this */
    expected = DEFER_SUSPENDED;
    if (atomic_compare_exchange_strong(&rc->defer, &expected, DEFER_DONE)) {
        atomic_fetch_sub(&rc->server->suspended, 1);
        MHD_resume_connection(rc->req.conn);
    }
}

static void mhd_log_cb(void *cls, const char *fmt, va_list ap) AB_PRINTF(2, 0);

static void mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug(NULL, "http server", LOG_STR("detail", line));
}

/* ---- start / stop --------------------------------------------------------- */

static enum ab_rc split_hostport(const char *spec, char *host, size_t hostlen, char *port,
                                 size_t portlen)
{
    const char *colon;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= hostlen)
            return AB_EINVAL;
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || colon == spec || (size_t)(colon - spec) >= hostlen)
            return AB_EINVAL;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    int64_t p;
    if (str_to_i64(colon + 1, &p) || p < 0 || p > 65535 ||
        str_lcpy(port, colon + 1, portlen) >= portlen)
        return AB_EINVAL;
    return AB_OK;
}

int http_listen(const char *spec, char *bound, size_t bound_len, char *errbuf, size_t errlen,
                enum ab_rc *why)
{
    char host[256], port[8];
    *why = AB_EINVAL;
    if (split_hostport(spec, host, sizeof(host), port, sizeof(port))) {
        snprintf(errbuf, errlen, "invalid listen address '%s' (expected HOST:PORT)", spec);
        return -1;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai) {
        snprintf(errbuf, errlen, "cannot resolve listen host '%s': %s", host, gai_strerror(gai));
        *why = AB_EIO;
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 511) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(errbuf, errlen, "cannot listen on %s: %s", spec, strerror(err));
        *why = AB_EIO;
        return -1;
    }
    struct sockaddr_storage ss = {0};
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned p = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
            p = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
            p = ntohs(in6->sin6_port);
        }
    }
    if (bound)
        snprintf(bound, bound_len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, p);
    return fd;
}

/* Stop the watchdog thread (when it runs) and release its state. */
static void watchdog_end(struct http_server *s)
{
    if (s->watchdog_running) {
        pthread_mutex_lock(&s->watch_mu);
        s->watchdog_stop = true;
        pthread_cond_broadcast(&s->watch_cv);
        pthread_mutex_unlock(&s->watch_mu);
        pthread_join(s->watchdog, NULL);
        s->watchdog_running = false;
    }
    pthread_cond_destroy(&s->watch_cv);
    pthread_mutex_destroy(&s->watch_mu);
}

enum ab_rc http_server_start(const struct http_server_opts *opts, struct http_server **out,
                             char *bound, size_t bound_len, char *errbuf, size_t errlen)
{
    enum ab_rc why = AB_EINVAL;
    int fd = opts->use_listen_fd
                 ? opts->listen_fd
                 : http_listen(opts->listen, bound, bound_len, errbuf, errlen, &why);
    if (fd < 0)
        return why;
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->opts = *opts;
    s->listen_fd = fd;
    pthread_mutex_init(&s->watch_mu, NULL);
    pthread_cond_init(&s->watch_cv, NULL);
    if (opts->header_timeout_s) {
        s->watchdog_running = pthread_create(&s->watchdog, NULL, watchdog_main, s) == 0;
        if (!s->watchdog_running)
            log_warn(NULL, "http: the header watchdog did not start; slow clients are dropped "
                           "on inactivity only");
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (opts->tls_cert_pem)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {opts->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
         (void *)opts->tls_cert_pem},
        {opts->tls_key_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0,
         (void *)opts->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_cb, s, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, s, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
        MHD_OPTION_NOTIFY_CONNECTION, notify_conn_cb, s, MHD_OPTION_THREAD_POOL_SIZE,
        opts->threads ? opts->threads : 4u, MHD_OPTION_CONNECTION_LIMIT,
        opts->max_connections ? opts->max_connections : 256u, MHD_OPTION_CONNECTION_TIMEOUT,
        opts->idle_timeout_s ? opts->idle_timeout_s : 60u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        opts->max_header_bytes ? opts->max_header_bytes : (size_t)16384, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log_cb, NULL, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(errbuf, errlen, "cannot start the HTTP server on %s%s", opts->listen,
                 opts->tls_cert_pem ? " (check the TLS certificate and key)" : "");
        close(fd);
        watchdog_end(s);
        free(s);
        return AB_EIO;
    }
    *out = s;
    return AB_OK;
}

unsigned http_server_in_flight(const struct http_server *s)
{
    return atomic_load(&s->in_flight);
}

void http_server_stop(struct http_server *s, int64_t grace_ms)
{
    if (!s)
        return;
    /* stop accepting; connections already open keep being served */
    MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    int64_t deadline = clock_mono_ms() + grace_ms;
    while (atomic_load(&s->in_flight) > 0 && clock_mono_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    unsigned left = atomic_load(&s->in_flight);
    if (left)
        log_warn(NULL, "shutdown grace period over, closing connections",
                 LOG_INT("in_flight", left));
    /* libmicrohttpd must not be stopped with connections suspended: deferred
     * work (a store commit, a long poll told to stop) finishes shortly */
    int64_t hard = clock_mono_ms() + 30000;
    while (atomic_load(&s->suspended) > 0 && clock_mono_ms() < hard) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->suspended))
        log_error(NULL, "deferred requests did not finish; stopping anyway",
                  LOG_INT("suspended", atomic_load(&s->suspended)));
    MHD_stop_daemon(s->daemon);
    watchdog_end(s);
    free(s);
}
