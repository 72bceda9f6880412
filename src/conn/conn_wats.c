/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_wats.c: the network half of the WATS connector (provider type
 * `wats`), written from the contract sheet providers/wats.md: Basic token
 * authentication, the server version from /api/App/Version choosing the
 * 25.3 endpoints, a connector-wide request ceiling (500/min by default) with
 * bounded retries of reads on 429/5xx, and the slots:
 *
 *   pull   asset_type  GET /api/Asset/Types (paged)
 *          asset       full pass: types, the log head (the next watermark),
 *                      GET /api/Asset by $top/$skip (or keyset) pages;
 *                      incremental: GET /api/Asset/Log since the watermark,
 *                      the changed assets by `or` filters and their /Status
 *          report      report headers since the last timeStamp, one
 *                      "asset use" record per asset of a report
 *   push   push_reading        absolute totals (Count?totalCount= or SetTotalCount)
 *          record_calibration  Calibration|Maintenance[/External], due-date check
 *          record_maintenance, upsert_asset, set_state, asset_message,
 *          reset_running_count (ResetRunningCount)
 *   resolve  absolute and create-or-update calls are safe to resend; log
 *            entries are looked up by the idempotency key in their comment.
 *
 * The pure mapping lives in conn_wats_map.c; the mapping tables and every
 * decision are in docs/connectors/wats.md.
 */
#include "conn/conn_wats.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conn/conn_util.h"
#include "client/client.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "core/xmalloc.h"

#define WATS_RESPONSE_KEEP 2048
#define WATS_BURST 10.0
#define WATS_TYPE_CACHE_MAX 100000
#define WATS_TYPES_MAX_PAGES 20
#define WATS_LOG_EMPTY "1970-01-01T00:00:00Z|0"

struct wats_ctx {
    struct client *client, *own_client;
    char *auth_header;
    char *prefix; /* "" when base_url ends in /api, else "/api" */
    bool https;
    struct conn_wats_opts o; /* strings and lists in strs */
    struct arena *strs;

    pthread_mutex_t mu; /* everything below */
    bool version_known;
    int64_t version_at; /* mono ms of the last attempt; INT64_MIN never */
    struct conn_wats_version ver;
    char version_str[64];
    json_t *types;       /* last GET /api/Asset/Types answer (array) or NULL */
    int64_t types_at;    /* mono ms */
    json_t *serial_type; /* serialNumber -> typeId, filled by pulls and lookups */
    double tokens;
    int64_t tokens_at;
    int64_t requests;
    bool report_cursor_known;
    long long report_cursor;
};

/* ---- small helpers --------------------------------------------------------------- */

/* Wait for a token of the connector-wide request ceiling. */
static void rate_wait(struct wats_ctx *w)
{
    double per_ms = w->o.requests_per_minute / 60000.0;
    for (;;) {
        int64_t wait = 0;
        pthread_mutex_lock(&w->mu);
        int64_t now = clock_mono_ms();
        if (per_ms <= 0) {
            w->requests++;
            pthread_mutex_unlock(&w->mu);
            return;
        }
        w->tokens += (double)(now - w->tokens_at) * per_ms;
        w->tokens_at = now;
        if (w->tokens > WATS_BURST)
            w->tokens = WATS_BURST;
        if (w->tokens >= 1.0) {
            w->tokens -= 1.0;
            w->requests++;
        } else {
            wait = (int64_t)ceil((1.0 - w->tokens) / per_ms);
        }
        pthread_mutex_unlock(&w->mu);
        if (!wait)
            return;
        conn_sleep_ms(wait);
    }
}

int64_t conn_wats_requests(void *ctx)
{
    struct wats_ctx *w = ctx;
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    int64_t n = w->requests;
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* ---- HTTP ------------------------------------------------------------------------ */

struct wcall {
    const char *method;
    const char *path;  /* contract path without /api, e.g. "/Asset/Log" */
    const char *query; /* encoded, or NULL */
    const json_t *body;
    const char *correlation_id;
    bool retry; /* a read (or an absolute write): retry 429/5xx/not-sent here */
};

struct wans {
    enum ab_rc rc; /* transport */
    struct client_response resp;
    json_t *json; /* parsed body (arena-owned) or NULL */
};

static void wats_do(struct wats_ctx *w, const struct wcall *c, struct arena *a,
                    struct wans *ans /* OUT */)
{
    struct client_header h[3];
    size_t n = 0;
    if (w->auth_header)
        h[n++] = (struct client_header){"Authorization", w->auth_header};
    h[n++] = (struct client_header){"Accept", "application/json"};
    const char *body = NULL;
    size_t body_len = 0;
    if (c->body) {
        char *s = json_dumps(c->body, JSON_COMPACT | JSON_SORT_KEYS);
        if (s) {
            body = arena_strdup(a, s);
            body_len = strlen(body);
            free(s);
        }
        h[n++] = (struct client_header){"Content-Type", "application/json"};
    }
    struct client_request req = {
        .method = c->method,
        .path = arena_printf(a, "%s%s", w->prefix, c->path),
        .query = c->query,
        .headers = h,
        .n_headers = n,
        .body = body,
        .body_len = body_len,
        .correlation_id = c->correlation_id,
    };
    int tries = c->retry ? w->o.max_retries + 1 : 1;
    for (int attempt = 1;; attempt++) {
        memset(ans, 0, sizeof(*ans));
        rate_wait(w);
        ans->rc = client_request(w->client, &req, a, &ans->resp);
        int s = ans->resp.status;
        bool again;
        if (ans->rc != AB_OK)
            again = !ans->resp.sent && ans->rc != AB_EAUTH && ans->rc != AB_EINVAL &&
                    ans->rc != AB_ETOOLARGE;
        else
            again = s == 429 || s == 408 || (s >= 500 && s < 600);
        if (!again || attempt >= tries)
            break;
        /* full jitter, Retry-After as a floor, everything under the cap */
        int64_t cap = w->o.retry_base_ms << (attempt - 1);
        if (cap > w->o.retry_cap_ms || cap <= 0)
            cap = w->o.retry_cap_ms;
        int64_t delay = cap > 0 ? (int64_t)(conn_jitter() % (uint64_t)(cap + 1)) : 0;
        const char *ra =
            ans->rc == AB_OK ? client_response_header(&ans->resp, "Retry-After") : NULL;
        struct conn_result tmp;
        if (ra) {
            conn_wats_http_outcome(s, ra, clock_now_ms(), &tmp);
            if (tmp.retry_after_ms > delay)
                delay = tmp.retry_after_ms;
        }
        if (delay > w->o.retry_cap_ms)
            break; /* the server asks for longer than we hold a request: give up here */
        log_info(c->correlation_id, "wats: retrying", LOG_STR("path", c->path),
                 LOG_INT("status", s), LOG_INT("attempt", attempt), LOG_INT("delay_ms", delay));
        conn_sleep_ms(delay);
    }
    if (ans->rc == AB_OK && ans->resp.body_len) {
        json_error_t je;
        json_t *j = json_loadb(ans->resp.body, ans->resp.body_len, JSON_DECODE_ANY, &je);
        ans->json = conn_arena_own(a, j);
    }
}

/* An ab_rc for a failed read (pull, lookup, health); want_array: a 2xx must
 * carry a JSON array (else an object). */
static enum ab_rc read_rc(const struct wans *ans, bool want_array)
{
    if (ans->rc != AB_OK)
        return ans->rc == AB_EUNKNOWN ? AB_ENETWORK : ans->rc;
    int s = ans->resp.status;
    if (conn_is_2xx(s)) {
        bool ok = want_array ? json_is_array(ans->json) : json_is_object(ans->json);
        return ok ? AB_OK : AB_EUNAVAILABLE; /* malformed: transient */
    }
    if (s == 401)
        return AB_EAUTH;
    if (s == 403)
        return AB_EFORBIDDEN;
    if (s == 404)
        return AB_ENOTFOUND;
    if (s == 429)
        return AB_ERATELIMIT;
    if (s == 408 || s >= 500)
        return AB_EUNAVAILABLE;
    return AB_EINVAL;
}

static void log_read_failure(const char *what, const struct wans *ans, enum ab_rc rc)
{
    if (rc == AB_EAUTH)
        log_error(NULL,
                  "wats: WATS refused the credentials (401); check auth.token (a WATS API "
                  "token, sent as 'Basic <token>'); no retry",
                  LOG_STR("call", what));
    else
        log_warn(NULL, "wats: read failed", LOG_STR("call", what),
                 LOG_INT("status", ans->resp.status), LOG_STR("rc", ab_rc_name(rc)),
                 LOG_STR("error", ans->resp.error));
}

/* GET path?query expecting an array (or an object). */
static enum ab_rc get_json(struct wats_ctx *w, const char *path, const char *query, bool array,
                           const char *corr, struct arena *a, json_t **out, struct wans *ans)
{
    struct wcall c = {
        .method = "GET", .path = path, .query = query, .correlation_id = corr, .retry = true};
    wats_do(w, &c, a, ans);
    enum ab_rc rc = read_rc(ans, array);
    if (rc)
        log_read_failure(path, ans, rc);
    *out = rc ? NULL : ans->json;
    return rc;
}

/* ---- version, types, serial -> type ------------------------------------------------- */

/* The server version (known=false when it could not be read: then 25.3
 * endpoints stay off). AB_EAUTH when the server refused the token. */
static enum ab_rc version_get(struct wats_ctx *w, struct arena *a, struct conn_wats_version *v,
                              bool *known)
{
    pthread_mutex_lock(&w->mu);
    bool fresh =
        w->version_at != INT64_MIN && clock_mono_ms() - w->version_at < w->o.version_ttl_ms;
    *v = w->ver;
    *known = w->version_known;
    pthread_mutex_unlock(&w->mu);
    if (fresh)
        return AB_OK;
    struct wcall c = {.method = "GET", .path = "/App/Version", .retry = true};
    struct wans ans;
    wats_do(w, &c, a, &ans);
    if (ans.rc == AB_OK && ans.resp.status == 401)
        return AB_EAUTH;
    struct conn_wats_version nv;
    bool ok = ans.rc == AB_OK && conn_is_2xx(ans.resp.status) &&
              conn_wats_version_parse(ans.resp.body, ans.resp.body_len, &nv) == AB_OK;
    if (!ok) {
        log_warn(NULL, "wats: the server version could not be read; 25.3 endpoints stay off",
                 LOG_INT("status", ans.resp.status));
        if (ans.rc != AB_OK || ans.resp.status == 429 || ans.resp.status >= 500)
            return ans.rc ? (ans.rc == AB_EUNKNOWN ? AB_ENETWORK : ans.rc) : AB_EUNAVAILABLE;
    }
    pthread_mutex_lock(&w->mu);
    w->version_at = clock_mono_ms();
    w->version_known = ok;
    if (ok) {
        w->ver = nv;
        snprintf(w->version_str, sizeof(w->version_str), "%d.%d.%d.%d", nv.major, nv.minor,
                 nv.patch, nv.build);
    }
    *v = w->ver;
    *known = w->version_known;
    pthread_mutex_unlock(&w->mu);
    return AB_OK;
}

static bool is_25_3(struct wats_ctx *w, struct arena *a, enum ab_rc *rc)
{
    struct conn_wats_version v;
    bool known;
    *rc = version_get(w, a, &v, &known);
    return !*rc && known && conn_wats_version_at_least(&v, 25, 3);
}

/* Refresh the type cache when it is older than the TTL (or force). */
static enum ab_rc types_refresh(struct wats_ctx *w, bool force, struct arena *a)
{
    pthread_mutex_lock(&w->mu);
    bool fresh = w->types && clock_mono_ms() - w->types_at < w->o.types_ttl_ms;
    pthread_mutex_unlock(&w->mu);
    if (fresh && !force)
        return AB_OK;
    json_t *all = json_array();
    enum ab_rc rc = AB_OK;
    for (int page = 0; page < WATS_TYPES_MAX_PAGES; page++) {
        json_t *arr;
        struct wans ans;
        rc = get_json(w, "/Asset/Types",
                      conn_wats_odata_query(a, NULL, NULL, 1000, (long long)page * 1000, NULL),
                      true, NULL, a, &arr, &ans);
        if (rc)
            break;
        json_array_extend(all, arr);
        if (json_array_size(arr) < 1000)
            break;
    }
    if (rc) {
        json_decref(all);
        return rc;
    }
    pthread_mutex_lock(&w->mu);
    json_decref(w->types);
    w->types = all;
    w->types_at = clock_mono_ms();
    pthread_mutex_unlock(&w->mu);
    return AB_OK;
}

/* Copy the type with this id (or name) into out (strings in a). */
static bool type_find(struct wats_ctx *w, const char *type_id, const char *name, struct arena *a,
                      struct conn_wats_type *out)
{
    bool found = false;
    pthread_mutex_lock(&w->mu);
    size_t i;
    json_t *t;
    json_array_foreach (w->types, i, t) {
        const char *id = conn_jstr(t, "typeId"), *n = conn_jstr(t, "typeName");
        if ((type_id && id && strcasecmp(id, type_id) == 0) ||
            (!type_id && name && n && strcasecmp(n, name) == 0)) {
            json_t *copy = conn_arena_own(a, json_deep_copy(t));
            found = conn_wats_type_read(copy, out) == AB_OK;
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return found;
}

static void remember_type(struct wats_ctx *w, const char *serial, const char *type_id)
{
    if (!serial || !type_id)
        return;
    pthread_mutex_lock(&w->mu);
    if (json_object_size(w->serial_type) >= WATS_TYPE_CACHE_MAX)
        json_object_clear(w->serial_type);
    json_object_set_new(w->serial_type, serial, json_string(type_id));
    pthread_mutex_unlock(&w->mu);
}

static const char *cached_type(struct wats_ctx *w, const char *serial, struct arena *a)
{
    pthread_mutex_lock(&w->mu);
    const char *t = json_string_value(json_object_get(w->serial_type, serial));
    const char *o = t ? arena_strdup(a, t) : NULL;
    pthread_mutex_unlock(&w->mu);
    return o;
}

/* ---- pull: asset types --------------------------------------------------------------- */

static enum ab_rc pull_types(struct wats_ctx *w, const char *token, struct arena *a,
                             struct conn_page *out)
{
    int64_t skip = 0;
    if (token && (str_to_i64(token, &skip) != AB_OK || skip < 0))
        return AB_EINVAL;
    json_t *arr;
    struct wans ans;
    enum ab_rc rc = get_json(w, "/Asset/Types",
                             conn_wats_odata_query(a, NULL, NULL, 1000, (long long)skip, NULL),
                             true, NULL, a, &arr, &ans);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    out->records = n ? arena_zalloc(a, n * sizeof(*out->records)) : NULL;
    for (size_t i = 0; i < n; i++)
        if (conn_wats_type_record(json_array_get(arr, i), a, &out->records[out->n_records]) ==
            AB_OK)
            out->n_records++;
    if (n == 1000)
        out->next_page_token = arena_printf(a, "%lld", (long long)skip + 1000);
    if (!skip && n < 1000) { /* the whole list: refresh the cache for free */
        pthread_mutex_lock(&w->mu);
        json_decref(w->types);
        w->types = json_deep_copy(arr);
        w->types_at = clock_mono_ms();
        pthread_mutex_unlock(&w->mu);
    }
    return AB_OK;
}

/* ---- pull: assets ------------------------------------------------------------------- */

/* Records for an array of WATS assets; statuses: parallel array of /Status
 * answers or NULL. */
static void asset_records(struct wats_ctx *w, const json_t *arr, json_t *const *statuses,
                          struct arena *a, struct conn_page *out)
{
    size_t n = json_array_size(arr);
    struct conn_record *r = arena_zalloc(a, (out->n_records + n + 1) * sizeof(*r));
    if (out->n_records)
        memcpy(r, out->records, out->n_records * sizeof(*r));
    out->records = r;
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < n; i++) {
        const json_t *as = json_array_get(arr, i);
        const char *tid = conn_jstr(as, "typeId");
        struct conn_wats_type t;
        bool has_t = tid && type_find(w, tid, NULL, a, &t);
        remember_type(w, conn_jstr(as, "serialNumber"), tid);
        if (conn_wats_asset_record(as, has_t ? &t : NULL, statuses ? statuses[i] : NULL, &w->o, now,
                                   a, &out->records[out->n_records]) == AB_OK)
            out->n_records++;
    }
}

/* The newest log entry as a watermark "DATE|LOGID" (WATS_LOG_EMPTY when the
 * log is empty). */
static enum ab_rc log_head(struct wats_ctx *w, struct arena *a, const char **wm)
{
    json_t *arr;
    struct wans ans;
    enum ab_rc rc =
        get_json(w, "/Asset/Log", conn_wats_odata_query(a, NULL, "date desc", 1, 0, NULL), true,
                 NULL, a, &arr, &ans);
    if (rc)
        return rc;
    const json_t *e = json_array_get(arr, 0);
    int64_t ms;
    if (!e || conn_wats_time_parse(conn_jstr(e, "date"), w->o.naive_offset_min, &ms) != AB_OK) {
        *wm = WATS_LOG_EMPTY;
        return AB_OK;
    }
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, buf);
    const json_t *id = json_object_get(e, "logId");
    *wm = arena_printf(a, "%s|%lld", buf,
                       json_is_integer(id) ? (long long)json_integer_value(id) : 0LL);
    return AB_OK;
}

/* Split "a|b|c|..." into at most max fields (in a). Returns the count. */
static size_t split(struct arena *a, const char *s, const char **f, size_t max)
{
    size_t n = 0;
    while (s && n < max) {
        const char *bar = n + 1 < max ? strchr(s, '|') : NULL;
        f[n++] = bar ? arena_strndup(a, s, (size_t)(bar - s)) : arena_strdup(a, s);
        s = bar ? bar + 1 : NULL;
    }
    return n;
}

/* Undo conn_wats_qenc for a token field. */
static const char *unenc(struct arena *a, const char *s)
{
    size_t n = strlen(s);
    char *o = arena_alloc(a, n + 1), *p = o;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 1 && s[i + 1] && s[i + 2]) {
            char hx[3] = {s[i + 1], s[i + 2], 0};
            *p++ = (char)strtol(hx, NULL, 16);
            i += 2;
        } else {
            *p++ = s[i];
        }
    }
    *p = '\0';
    return o;
}

/* Full pass. Token "f|SKIP|FIRST|LAST|WM": the next $skip, the first and
 * last assetId of the previous page (qenc'd) and the watermark to commit on
 * the last page. */
static enum ab_rc pull_assets_full(struct wats_ctx *w, const char *token, struct arena *a,
                                   struct conn_page *out)
{
    long long skip = 0;
    const char *prev_first = NULL, *prev_last = NULL, *wm = NULL;
    enum ab_rc rc;
    if (token) {
        const char *f[5];
        int64_t k;
        if (split(a, token, f, 5) != 5 || strcmp(f[0], "f") != 0 || str_to_i64(f[1], &k) != AB_OK ||
            k < 0)
            return AB_EINVAL;
        skip = k;
        prev_first = *f[2] ? unenc(a, f[2]) : NULL;
        prev_last = *f[3] ? unenc(a, f[3]) : NULL;
        wm = f[4];
        rc = types_refresh(w, false, a);
    } else {
        rc = types_refresh(w, true, a);
        if (!rc)
            rc = w->o.incremental_via_log ? log_head(w, a, &wm) : AB_OK;
        if (!rc && !w->o.incremental_via_log)
            wm = "full";
    }
    if (rc)
        return rc;
    const char *q;
    int top = w->o.page_size;
    if (w->o.paging == CONN_WATS_PAGING_KEYSET && prev_last) {
        const char *filter = arena_printf(a, "assetId gt %s", conn_odata_quote(a, prev_last));
        q = conn_wats_odata_query(a, filter, "assetId", top, 0, NULL);
    } else {
        q = conn_wats_odata_query(a, NULL, "assetId", top,
                                  w->o.paging == CONN_WATS_PAGING_SKIP ? skip : 0, NULL);
    }
    json_t *arr;
    struct wans ans;
    rc = get_json(w, "/Asset", q, true, NULL, a, &arr, &ans);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    const char *first = n ? conn_jstr(json_array_get(arr, 0), "assetId") : NULL;
    const char *last = n ? conn_jstr(json_array_get(arr, n - 1), "assetId") : NULL;
    if (prev_first && first && strcmp(prev_first, first) == 0) {
        log_error(NULL,
                  "wats: the server ignored $skip (the same page came back); set the "
                  "provider's wats paging to keyset",
                  LOG_INT("skip", skip));
        return AB_EUNSUPPORTED;
    }
    asset_records(w, arr, NULL, a, out);
    if ((int)n >= top) {
        out->next_page_token =
            arena_printf(a, "f|%lld|%s|%s|%s", skip + (long long)n,
                         first ? conn_qenc(a, first) : "", last ? conn_qenc(a, last) : "", wm);
    } else {
        out->new_watermark = wm;
    }
    return AB_OK;
}

/* Parse a log position "DATE|ID". */
static enum ab_rc log_pos(struct arena *a, const char *s, int64_t *date, int64_t *id)
{
    const char *f[2];
    if (split(a, s, f, 2) != 2 || time_parse_rfc3339(f[0], date) != AB_OK ||
        str_to_i64(f[1], id) != AB_OK)
        return AB_EINVAL;
    return AB_OK;
}

/* Look up assets by serial number (batched `or` filters) and append their
 * records; /Status for each when configured. */
static enum ab_rc lookup_changed(struct wats_ctx *w, const char **serials, size_t ns,
                                 struct arena *a, struct conn_page *out)
{
    size_t batch = w->o.lookup_batch > 0 ? (size_t)w->o.lookup_batch : 1;
    for (size_t i = 0; i < ns; i += batch) {
        const char *filter = NULL;
        size_t k;
        for (k = i; k < ns && k < i + batch; k++) {
            const char *one =
                arena_printf(a, "serialNumber eq %s", conn_odata_quote(a, serials[k]));
            filter = filter ? arena_printf(a, "%s or %s", filter, one) : one;
        }
        json_t *arr;
        struct wans ans;
        enum ab_rc rc =
            get_json(w, "/Asset", conn_wats_odata_query(a, filter, NULL, (int)(k - i), 0, NULL),
                     true, NULL, a, &arr, &ans);
        if (rc)
            return rc;
        size_t n = json_array_size(arr);
        json_t **st = NULL;
        if (w->o.status_for_changed && n) {
            st = arena_zalloc(a, n * sizeof(*st));
            for (size_t j = 0; j < n; j++) {
                const char *sn = conn_jstr(json_array_get(arr, j), "serialNumber");
                if (!sn)
                    continue;
                struct wans sa;
                json_t *o;
                rc = get_json(w, "/Asset/Status",
                              arena_printf(a, "serialNumber=%s&translate=false", conn_qenc(a, sn)),
                              false, NULL, a, &o, &sa);
                if (rc == AB_EAUTH)
                    return rc;
                st[j] = rc ? NULL : o; /* no status: the derived one stands */
            }
        }
        asset_records(w, arr, st, a, out);
    }
    return AB_OK;
}

/* Incremental pass from the asset log. Token "l|DATE|ID" continues. */
static enum ab_rc pull_assets_log(struct wats_ctx *w, const char *watermark, const char *token,
                                  struct arena *a, struct conn_page *out)
{
    int64_t pdate, pid;
    const char *pos = token ? token + 2 : watermark;
    if (token && strncmp(token, "l|", 2) != 0)
        return AB_EINVAL;
    if (log_pos(a, pos, &pdate, &pid) != AB_OK) {
        log_warn(NULL, "wats: unreadable asset watermark; starting a full pass",
                 LOG_STR("watermark", pos));
        return pull_assets_full(w, NULL, a, out);
    }
    enum ab_rc rc = types_refresh(w, false, a);
    if (rc)
        return rc;
    char d[TIME_RFC3339_MAX];
    time_format_rfc3339(pdate, d);
    int top = w->o.log_page_size;
    json_t *arr;
    struct wans ans;
    /* with the tie-break, entries in the same instant as the watermark but
     * after its log id still come; without it, `ge` re-reads that instant
     * and the log ids filter what was seen */
    const char *filter =
        w->o.log_tiebreak && pid > 0
            ? arena_printf(a, "date gt %s or (date eq %s and logId gt %lld)", d, d, (long long)pid)
            : arena_printf(a, "date ge %s", d);
    rc = get_json(w, "/Asset/Log",
                  conn_wats_odata_query(a, filter,
                                        w->o.log_tiebreak ? "date asc,logId asc" : "date asc", top,
                                        0, NULL),
                  true, NULL, a, &arr, &ans);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    const char **serials = n ? arena_zalloc(a, n * sizeof(*serials)) : NULL;
    size_t ns = 0;
    int64_t ndate = pdate, nid = pid;
    json_t *seen = conn_arena_own(a, json_object());
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        int64_t ed;
        if (conn_wats_time_parse(conn_jstr(e, "date"), w->o.naive_offset_min, &ed) != AB_OK)
            continue;
        const json_t *idj = json_object_get(e, "logId");
        int64_t eid = json_is_integer(idj) ? (int64_t)json_integer_value(idj) : 0;
        if (ed < pdate || (ed == pdate && eid <= pid))
            continue; /* at or before the watermark */
        if (ed > ndate || (ed == ndate && eid > nid)) {
            ndate = ed;
            nid = eid;
        }
        const json_t *ty = json_object_get(e, "type");
        if (json_is_integer(ty) && json_integer_value(ty) == 0)
            continue; /* a message changes no asset field */
        const char *sn = conn_jstr(e, "serialNumber");
        if (!sn || json_object_get(seen, sn))
            continue;
        json_object_set_new(seen, sn, json_true());
        serials[ns++] = sn;
    }
    if (n >= (size_t)top && ndate == pdate && nid == pid) {
        log_error(NULL,
                  "wats: a whole asset log page lies at the watermark; raise the log page "
                  "size",
                  LOG_STR("date", d), LOG_INT("page", top));
        return AB_EINTERNAL;
    }
    rc = lookup_changed(w, serials, ns, a, out);
    if (rc)
        return rc;
    if (ndate != pdate || nid != pid) {
        char nd[TIME_RFC3339_MAX];
        time_format_rfc3339(ndate, nd);
        out->new_watermark = arena_printf(a, "%s|%lld", nd, (long long)nid);
        if (n >= (size_t)top)
            out->next_page_token = arena_printf(a, "l|%s", out->new_watermark);
    }
    return AB_OK;
}

static enum ab_rc pull_assets(struct wats_ctx *w, const char *watermark, const char *token,
                              struct arena *a, struct conn_page *out)
{
    if (token && token[0] == 'f')
        return pull_assets_full(w, token, a, out);
    if (token && token[0] == 'l')
        return pull_assets_log(w, watermark, token, a, out);
    if (token)
        return AB_EINVAL;
    if (watermark && *watermark && w->o.incremental_via_log && strcmp(watermark, "full") != 0)
        return pull_assets_log(w, watermark, NULL, a, out);
    return pull_assets_full(w, NULL, a, out);
}

/* ---- pull: report uses -------------------------------------------------------------- */

static enum ab_rc pull_reports(struct wats_ctx *w, const char *watermark, const char *token,
                               struct arena *a, struct conn_page *out)
{
    const char *pos = token ? token : watermark;
    int64_t cur = 0;
    bool have = false;
    if (pos && *pos) {
        if (str_to_i64(pos, &cur) != AB_OK)
            return AB_EINVAL;
        have = true;
    } else {
        /* no watermark: the engine's full pass, or the very first pull. A
         * cursor this process holds continues; otherwise start at the head
         * (reports before the link are not uses we were told about) */
        pthread_mutex_lock(&w->mu);
        if (w->report_cursor_known) {
            cur = w->report_cursor;
            have = true;
        }
        pthread_mutex_unlock(&w->mu);
    }
    const char *field = w->o.report_cursor_field;
    json_t *arr;
    struct wans ans;
    enum ab_rc rc;
    if (!have) {
        rc = get_json(w, "/Report/Query/Header",
                      conn_wats_odata_query(a, NULL, arena_printf(a, "%s desc", field), 1, 0, NULL),
                      true, NULL, a, &arr, &ans);
        if (rc)
            return rc;
        const json_t *ts = json_object_get(json_array_get(arr, 0), field);
        cur = json_is_integer(ts) ? (int64_t)json_integer_value(ts) : 0;
        out->new_watermark = arena_printf(a, "%lld", (long long)cur);
    } else {
        int top = w->o.report_page_size;
        rc = get_json(w, "/Report/Query/Header",
                      conn_wats_odata_query(a, arena_printf(a, "%s gt %lld", field, (long long)cur),
                                            arena_printf(a, "%s asc", field), top, 0, "assets"),
                      true, NULL, a, &arr, &ans);
        if (rc)
            return rc;
        size_t n = json_array_size(arr);
        for (size_t i = 0; i < n; i++) {
            const json_t *h = json_array_get(arr, i);
            const json_t *ts = json_object_get(h, field);
            if (json_is_integer(ts) && json_integer_value(ts) > cur)
                cur = (int64_t)json_integer_value(ts);
            struct conn_record *r;
            size_t nr;
            if (conn_wats_report_records(h, &w->o, a, &r, &nr) != AB_OK || !nr)
                continue;
            struct conn_record *all = arena_zalloc(a, (out->n_records + nr) * sizeof(*all));
            if (out->n_records)
                memcpy(all, out->records, out->n_records * sizeof(*all));
            memcpy(all + out->n_records, r, nr * sizeof(*all));
            out->records = all;
            out->n_records += nr;
        }
        if (n) {
            out->new_watermark = arena_printf(a, "%lld", (long long)cur);
            if (n >= (size_t)top)
                out->next_page_token = out->new_watermark;
        }
    }
    pthread_mutex_lock(&w->mu);
    w->report_cursor = cur;
    w->report_cursor_known = true;
    pthread_mutex_unlock(&w->mu);
    return AB_OK;
}

static enum ab_rc wats_pull(void *ctx, const char *entity, const char *watermark,
                            const char *page_token, struct arena *a, struct conn_page *out)
{
    struct wats_ctx *w = ctx;
    memset(out, 0, sizeof(*out));
    if (!entity)
        return AB_EUNSUPPORTED;
    if (strcmp(entity, "asset") == 0)
        return pull_assets(w, watermark, page_token, a, out);
    if (strcmp(entity, "asset_type") == 0)
        return pull_types(w, page_token, a, out);
    if (strcmp(entity, "report") == 0)
        return pull_reports(w, watermark, page_token, a, out);
    return AB_EUNSUPPORTED;
}

/* ---- push ------------------------------------------------------------------------ */

static void transport_outcome(enum ab_rc rc, bool sent, const char *error, struct arena *a,
                              struct conn_result *out)
{
    out->retry_after_ms = -1;
    if (rc == AB_EAUTH) {
        out->outcome = CONN_PERMANENT;
        out->error_class = "tls";
        out->message = "TLS verification or client certificate failed";
    } else if (rc == AB_EINVAL) {
        out->outcome = CONN_PERMANENT;
        out->error_class = "config";
        out->message = "the provider's URL is invalid";
    } else if (rc == AB_EUNKNOWN || sent) {
        out->outcome = CONN_UNKNOWN;
        out->error_class = "unknown_outcome";
        out->message = "the request was sent but its answer was lost";
    } else {
        out->outcome = CONN_RETRYABLE;
        out->error_class = rc == AB_ETIMEOUT ? "timeout" : "unavailable";
        out->message = "WATS could not be reached";
    }
    if (error)
        out->message = arena_printf(a, "%s (%s)", out->message, error);
}

/* Fill out from an answer (transport or HTTP). */
static void answer_outcome(const struct wans *ans, struct arena *a, struct conn_result *out)
{
    if (ans->rc != AB_OK) {
        transport_outcome(ans->rc, ans->resp.sent, ans->resp.error, a, out);
        return;
    }
    conn_wats_http_outcome(ans->resp.status, client_response_header(&ans->resp, "Retry-After"),
                           clock_now_ms(), out);
    out->response = conn_keep_response(a, &ans->resp, WATS_RESPONSE_KEEP);
    if (out->outcome != CONN_OK) {
        const char *m = conn_jstr(ans->json, "Message");
        if (!m)
            m = conn_jstr(ans->json, "message");
        if (!m && ans->resp.body_len && ans->resp.body_len < 300 && !ans->json)
            m = out->response; /* a short text answer (400 with a validation text) */
        if (m)
            out->message = arena_printf(a, "%s: %s", out->message, m);
    }
}

/* A failed lookup (read) as a push outcome: never OK. */
static void lookup_outcome(const struct wans *ans, enum ab_rc rc, struct arena *a,
                           struct conn_result *out)
{
    if (ans->rc == AB_OK && conn_is_2xx(ans->resp.status)) {
        out->outcome = CONN_RETRYABLE;
        out->error_class = "malformed_response";
        out->message = "WATS answered a lookup with a body that is not the expected JSON";
        out->retry_after_ms = -1;
        return;
    }
    if (ans->rc != AB_OK) {
        /* a GET has no effect: never unknown */
        out->outcome = rc == AB_EAUTH || rc == AB_EINVAL ? CONN_PERMANENT : CONN_RETRYABLE;
        out->error_class = ans->rc == AB_ETIMEOUT ? "timeout" : "unavailable";
        out->message = "WATS could not be reached for a lookup";
        out->retry_after_ms = -1;
        return;
    }
    answer_outcome(ans, a, out);
}

/* GET the asset with this serial number. *asset NULL (and out filled) on
 * failure or when there is none (not_found, permanent). */
static enum ab_rc get_asset(struct wats_ctx *w, const char *serial, const char *corr,
                            struct arena *a, const json_t **asset, struct conn_result *out)
{
    *asset = NULL;
    json_t *arr;
    struct wans ans;
    const char *filter = arena_printf(a, "serialNumber eq %s", conn_odata_quote(a, serial));
    enum ab_rc rc = get_json(w, "/Asset", conn_wats_odata_query(a, filter, NULL, 1, 0, NULL), true,
                             corr, a, &arr, &ans);
    if (rc) {
        lookup_outcome(&ans, rc, a, out);
        return rc;
    }
    *asset = json_array_get(arr, 0);
    if (!*asset) {
        conn_fail(out, CONN_PERMANENT, "not_found",
                  arena_printf(a, "WATS has no asset with serial number '%s'", serial));
        return AB_ENOTFOUND;
    }
    remember_type(w, serial, conn_jstr(*asset, "typeId"));
    return AB_OK;
}

/* The type of an asset (cache, else a lookup). */
static enum ab_rc asset_type_of(struct wats_ctx *w, const char *serial, const char *corr,
                                struct arena *a, struct conn_wats_type *t, bool *found,
                                struct conn_result *out)
{
    *found = false;
    const char *tid = cached_type(w, serial, a);
    if (!tid) {
        const json_t *as;
        enum ab_rc rc = get_asset(w, serial, corr, a, &as, out);
        if (rc)
            return rc;
        tid = conn_jstr(as, "typeId");
    }
    if (!tid)
        return AB_OK;
    if (!type_find(w, tid, NULL, a, t)) {
        enum ab_rc rc = types_refresh(w, true, a);
        if (rc) {
            conn_fail(out, rc == AB_EAUTH ? CONN_PERMANENT : CONN_RETRYABLE,
                      rc == AB_EAUTH ? "auth" : "unavailable",
                      "reading the WATS asset types failed");
            return rc;
        }
        if (!type_find(w, tid, NULL, a, t)) {
            t->type_id = tid;
            t->name = NULL;
            *found = true; /* an id without a type: lists by id still apply */
            return AB_OK;
        }
    }
    *found = true;
    return AB_OK;
}

static const char *ident_query(struct arena *a, const char *serial)
{
    return arena_printf(a, "serialNumber=%s", conn_qenc(a, serial));
}

/* Perform one write and fill out from its answer. */
static void do_write(struct wats_ctx *w, const char *method, const char *path, const char *query,
                     const json_t *body, const struct conn_item *item, struct arena *a,
                     struct conn_result *out)
{
    struct wcall c = {.method = method,
                      .path = path,
                      .query = query,
                      .body = body,
                      .correlation_id = item->correlation_id};
    struct wans ans;
    wats_do(w, &c, a, &ans);
    answer_outcome(&ans, a, out);
}

static const char *asset_of(const struct conn_item *item, struct conn_result *out)
{
    const char *sn = conn_jstr(item->payload, "asset_native_id");
    if (!sn)
        conn_fail(out, CONN_PERMANENT, "validation",
                  "the item names no WATS asset (asset_native_id: the WATS serial number the asset "
                  "is linked to)");
    return sn;
}

static void push_reading(struct wats_ctx *w, const struct conn_item *item, struct arena *a,
                         struct conn_result *out)
{
    const json_t *p = item->payload;
    const char *sn = asset_of(item, out);
    if (!sn)
        return;
    const char *target = conn_jstr(p, "meter_type");
    bool running =
        target && (strcmp(target, "running_count") == 0 || strcmp(target, "runningCount") == 0);
    bool total = !target || strcmp(target, "count") == 0 || strcmp(target, "total_count") == 0 ||
                 strcmp(target, "totalCount") == 0;
    if (!running && !total) {
        conn_fail(out, CONN_PERMANENT, "validation",
                  arena_printf(a, "WATS has no counter '%s' (count, total_count or running_count)",
                               target));
        return;
    }
    long long n;
    const char *why;
    if (conn_wats_usage_total(p, &n, &why) != AB_OK) {
        conn_fail(out, CONN_PERMANENT, "validation", why);
        return;
    }
    if (w->o.reports_count_usage.n) {
        struct conn_wats_type t;
        bool found;
        if (asset_type_of(w, sn, item->correlation_id, a, &t, &found, out) != AB_OK)
            return;
        if (found && conn_wats_types_has(&w->o.reports_count_usage, t.type_id, t.name)) {
            out->outcome = CONN_OK;
            out->message = arena_printf(a,
                                        "not sent: WATS reports count the usage of asset type "
                                        "'%s' (the hub reads WATS counts instead)",
                                        t.name ? t.name : t.type_id);
            return;
        }
    }
    enum ab_rc rc = AB_OK;
    bool new_api = (running || w->o.usage_endpoint != CONN_WATS_USAGE_COUNT) && is_25_3(w, a, &rc);
    if (rc) {
        conn_fail(out, rc == AB_EAUTH ? CONN_PERMANENT : CONN_RETRYABLE,
                  rc == AB_EAUTH ? "auth" : "unavailable",
                  "reading the WATS server version failed");
        return;
    }
    const char *q;
    const char *path;
    if (running) {
        if (!new_api) {
            conn_fail(out, CONN_PERMANENT, "unsupported",
                      "setting the running count needs WATS 25.3 (SetRunningCount)");
            return;
        }
        path = "/Asset/SetRunningCount";
        q = arena_printf(a, "%s&%s=%lld", ident_query(a, sn), w->o.set_running_param, n);
    } else if (w->o.usage_endpoint == CONN_WATS_USAGE_SET_TOTAL ||
               (w->o.usage_endpoint == CONN_WATS_USAGE_AUTO && new_api)) {
        if (!new_api) {
            conn_fail(out, CONN_PERMANENT, "unsupported",
                      "usage_endpoint set_total_count needs WATS 25.3 (SetTotalCount)");
            return;
        }
        path = "/Asset/SetTotalCount";
        q = arena_printf(a, "%s&%s=%lld", ident_query(a, sn), w->o.set_total_param, n);
    } else {
        path = "/Asset/Count";
        q = arena_printf(a, "%s&totalCount=%lld", ident_query(a, sn), n);
    }
    do_write(w, "PUT", path, q, NULL, item, a, out);
    if (out->outcome == CONN_OK)
        out->native_id = arena_strdup(a, sn);
}

/* The first present string of keys. */
static const char *first_str(const json_t *p, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++) {
        const char *v = conn_jstr(p, keys[i]);
        if (v)
            return v;
    }
    return NULL;
}

static bool type_external(const struct wats_ctx *w, const struct conn_wats_type *t, bool maint)
{
    const struct conn_wats_types *l =
        maint ? &w->o.maintenance_external : &w->o.calibration_external;
    if (conn_wats_types_has(l, t->type_id, t->name))
        return true;
    double iv = maint ? t->maintenance_interval_days : t->calibration_interval_days;
    return w->o.external_sentinel && !isnan(iv) && iv == w->o.external_sentinel_value;
}

static void push_done(struct wats_ctx *w, const struct conn_item *item, bool maint, struct arena *a,
                      struct conn_result *out)
{
    const json_t *p = item->payload;
    const char *sn = asset_of(item, out);
    if (!sn)
        return;
    static const char *const done_keys[] = {"performed_at", "completed_at", "last_calibrated_at",
                                            "last_maintained_at", NULL};
    static const char *const due_keys[] = {"next_due_at", "due_at", NULL};
    static const char *const comment_keys[] = {"comment", "work_order_id", "notes", NULL};
    int64_t done = INT64_MIN, due = INT64_MIN;
    const char *ds = first_str(p, done_keys), *dues = first_str(p, due_keys);
    if ((ds && time_parse_rfc3339(ds, &done) != AB_OK) ||
        (dues && time_parse_rfc3339(dues, &due) != AB_OK)) {
        conn_fail(out, CONN_PERMANENT, "validation",
                  "performed_at and next_due_at must be RFC 3339 times");
        return;
    }
    const char *comment = first_str(p, comment_keys);
    /* the key in the comment lets resolve find the log entry */
    const char *c = item->idempotency_key
                        ? arena_printf(a, "%s%s[assetbridge %s]", comment ? comment : "",
                                       comment ? " " : "", item->idempotency_key)
                        : comment;
    const char *kind = maint ? "Maintenance" : "Calibration";
    enum ab_rc rc;
    bool v253 = is_25_3(w, a, &rc);
    if (rc) {
        conn_fail(out, rc == AB_EAUTH ? CONN_PERMANENT : CONN_RETRYABLE,
                  rc == AB_EAUTH ? "auth" : "unavailable",
                  "reading the WATS server version failed");
        return;
    }
    bool external = false;
    if (v253) {
        struct conn_wats_type t;
        bool found;
        if (asset_type_of(w, sn, item->correlation_id, a, &t, &found, out) != AB_OK)
            return;
        external = found && type_external(w, &t, maint);
    }
    char db[32], nb[32];
    if (external) {
        if (due == INT64_MIN) {
            conn_fail(out, CONN_PERMANENT, "validation",
                      arena_printf(a,
                                   "the asset type's %s interval is External: the item must carry "
                                   "the system of record's next_due_at",
                                   maint ? "maintenance" : "calibration"));
            return;
        }
        conn_wats_time_format(done == INT64_MIN ? clock_now_ms() : done, w->o.send_dates,
                              w->o.naive_offset_min, db);
        conn_wats_time_format(due, w->o.send_dates, w->o.naive_offset_min, nb);
        const char *q =
            arena_printf(a, "%s&%s=%s&%s=%s", ident_query(a, sn), w->o.external_from_param,
                         conn_qenc(a, db), w->o.external_to_param, conn_qenc(a, nb));
        if (c)
            q = arena_printf(a, "%s&comment=%s", q, conn_qenc(a, c));
        do_write(w, "POST", arena_printf(a, "/Asset/%s/External", kind), q, NULL, item, a, out);
        return;
    }
    const char *q = ident_query(a, sn);
    if (done != INT64_MIN) {
        conn_wats_time_format(done, w->o.send_dates, w->o.naive_offset_min, db);
        q = arena_printf(a, "%s&dateTime=%s", q, conn_qenc(a, db));
    }
    if (c)
        q = arena_printf(a, "%s&comment=%s", q, conn_qenc(a, c));
    do_write(w, "POST", arena_printf(a, "/Asset/%s", kind), q, NULL, item, a, out);
    if (out->outcome != CONN_OK || due == INT64_MIN)
        return;
    /* the server derived the next date from the type's interval: compare it
     * with the system of record's (a difference is for a person, not for a
     * retry: the calibration itself is recorded) */
    const json_t *as;
    struct conn_result look;
    memset(&look, 0, sizeof(look));
    if (get_asset(w, sn, item->correlation_id, a, &as, &look) != AB_OK) {
        out->error_class = "due_date_unchecked";
        out->message = arena_printf(a, "%s recorded; the next date could not be read back (%s)",
                                    kind, look.message ? look.message : "lookup failed");
        return;
    }
    const char *next_s = conn_jstr(as, maint ? "nextMaintenanceDate" : "nextCalibrationDate");
    int64_t next;
    char want[TIME_RFC3339_MAX], got[TIME_RFC3339_MAX];
    time_format_rfc3339(due, want);
    if (!next_s || conn_wats_time_parse(next_s, w->o.naive_offset_min, &next) != AB_OK) {
        out->error_class = "due_date_mismatch";
        out->message = arena_printf(a,
                                    "%s recorded, but WATS computed no next date while the "
                                    "system of record says %s",
                                    kind, want);
        out->mapping_exception = out->message;
        out->response =
            arena_printf(a, "{\"wats_next_due_at\":null,\"sor_next_due_at\":\"%s\"}", want);
        return;
    }
    if (llabs((long long)(next - due)) > w->o.due_tolerance_ms) {
        time_format_rfc3339(next, got);
        out->error_class = "due_date_mismatch";
        out->message = arena_printf(a,
                                    "%s recorded, but WATS computed the next date %s while the "
                                    "system of record says %s",
                                    kind, got, want);
        out->response =
            arena_printf(a, "{\"wats_next_due_at\":\"%s\",\"sor_next_due_at\":\"%s\"}", got, want);
        out->mapping_exception = out->message;
    }
}

/* The WATS type register_types names for a canonical asset type, or NULL. */
static const char *register_type(const struct wats_ctx *w, const char *type, struct arena *a)
{
    size_t n = type ? strlen(type) : 0;
    for (size_t i = 0; n && i < w->o.register_types.n; i++) {
        const char *e = w->o.register_types.v[i];
        if (e && strncmp(e, type, n) == 0 && e[n] == '=' && e[n + 1])
            return arena_strdup(a, e + n + 1);
    }
    return NULL;
}

static void push_asset(struct wats_ctx *w, const struct conn_item *item, struct arena *a,
                       struct conn_result *out)
{
    const json_t *p = item->payload;
    const json_t *at = json_object_get(p, "attributes");
    const char *tid = conn_jstr(at, "wats_type_id");
    if (!tid)
        tid = conn_jstr(p, "wats_type_id");
    /* an asset the lifecycle rules carry from the asset master system: one
     * WATS knows by its serial number already is linked, never overwritten
     * (registered: nothing to write; moved or changed: its WATS type stays) */
    const char *lc = conn_jstr(p, "lifecycle");
    const char *sn = conn_jstr(p, "asset_native_id");
    if (!sn)
        sn = conn_jstr(p, "serial_number");
    if (lc && sn) {
        const json_t *cur;
        struct conn_result look;
        memset(&look, 0, sizeof(look));
        look.retry_after_ms = -1;
        enum ab_rc rc = get_asset(w, sn, item->correlation_id, a, &cur, &look);
        if (rc && rc != AB_ENOTFOUND) {
            *out = look;
            return;
        }
        if (!rc && strcmp(lc, "created") == 0) {
            out->outcome = CONN_OK;
            out->native_id = arena_strdup(a, conn_jstr(cur, "serialNumber"));
            out->message = "WATS has the asset already: linked, not changed";
            return;
        }
        if (!rc && !tid)
            tid = conn_jstr(cur, "typeId");
    }
    if (!tid) {
        const char *name = conn_jstr(p, "wats_type");
        if (!name)
            name = conn_jstr(at, "wats_type_name");
        if (!name)
            name = register_type(w, conn_jstr(p, "type"), a);
        if (!name)
            name = w->o.default_type;
        struct conn_wats_type t;
        if (name) {
            if (!type_find(w, NULL, name, a, &t)) {
                enum ab_rc rc = types_refresh(w, true, a);
                if (rc) {
                    conn_fail(out, rc == AB_EAUTH ? CONN_PERMANENT : CONN_RETRYABLE,
                              rc == AB_EAUTH ? "auth" : "unavailable",
                              "reading the WATS asset types failed");
                    return;
                }
            }
            if (type_find(w, NULL, name, a, &t))
                tid = t.type_id;
        }
        if (!tid) {
            conn_fail(out, CONN_PERMANENT, "validation",
                      name ? arena_printf(a, "WATS has no asset type '%s'", name)
                           : "a WATS asset needs a type: attributes.wats_type_id, wats_type or the "
                             "connector's default_type");
            return;
        }
    }
    json_t *body;
    const char *why;
    if (conn_wats_asset_to_native(p, tid, a, &body, &why) != AB_OK) {
        conn_fail(out, CONN_PERMANENT, "validation",
                  arena_printf(a, "the asset cannot be sent to WATS: %s", why));
        return;
    }
    do_write(w, "PUT", "/Asset", NULL, body, item, a, out);
    if (out->outcome == CONN_OK)
        out->native_id = arena_strdup(a, conn_jstr(body, "serialNumber"));
}

static void push_state(struct wats_ctx *w, const struct conn_item *item, struct arena *a,
                       struct conn_result *out)
{
    const json_t *p = item->payload;
    const char *sn = asset_of(item, out);
    if (!sn)
        return;
    int state = -1;
    const json_t *sj = json_object_get(p, "state");
    if (json_is_integer(sj) && json_integer_value(sj) >= 0 && json_integer_value(sj) <= 6)
        state = (int)json_integer_value(sj);
    else if (conn_wats_status_to_state(conn_jstr(p, "status"), &state) != AB_OK) {
        conn_fail(out, CONN_PERMANENT, "validation",
                  arena_printf(a, "status '%s' has no WATS state",
                               conn_jstr(p, "status") ? conn_jstr(p, "status") : "(none)"));
        return;
    }
    do_write(w, "PUT", "/Asset/State", arena_printf(a, "%s&state=%d", ident_query(a, sn), state),
             NULL, item, a, out);
}

static void push_message(struct wats_ctx *w, const struct conn_item *item, struct arena *a,
                         struct conn_result *out)
{
    const json_t *p = item->payload;
    const char *sn = asset_of(item, out);
    if (!sn)
        return;
    const char *text = conn_jstr(p, "message");
    if (!text)
        text = conn_jstr(p, "content");
    if (!text) {
        conn_fail(out, CONN_PERMANENT, "validation", "an asset message needs 'message'");
        return;
    }
    json_t *body = conn_arena_own(a, json_pack("{s:s}", "content", text));
    do_write(w, "POST", "/Asset/Message", ident_query(a, sn), body, item, a, out);
}

/* Running count back to 0 (after a calibration or maintenance done
 * elsewhere, where the rules say so): POST Asset/ResetRunningCount. */
static void push_reset(struct wats_ctx *w, const struct conn_item *item, struct arena *a,
                       struct conn_result *out)
{
    const char *sn = asset_of(item, out);
    if (!sn)
        return;
    const char *q = ident_query(a, sn);
    const char *comment = conn_jstr(item->payload, "comment");
    if (comment)
        q = arena_printf(a, "%s&comment=%s", q, conn_qenc(a, comment));
    do_write(w, "POST", "/Asset/ResetRunningCount", q, NULL, item, a, out);
}

static enum ab_rc wats_push(void *ctx, const struct conn_item *item, struct arena *a,
                            struct conn_result *out)
{
    struct wats_ctx *w = ctx;
    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    if (!json_is_object(item->payload)) {
        conn_fail(out, CONN_PERMANENT, "validation", "the payload is not a JSON object");
        return AB_OK;
    }
    const char *act = item->action ? item->action : "";
    const char *kind = conn_jstr(item->payload, "kind");
    if (strcmp(act, "push_reading") == 0)
        push_reading(w, item, a, out);
    else if (strcmp(act, "record_calibration") == 0)
        push_done(w, item, kind && strcmp(kind, "maintenance") == 0, a, out);
    else if (strcmp(act, "record_maintenance") == 0)
        push_done(w, item, true, a, out);
    else if (strcmp(act, "upsert_asset") == 0)
        push_asset(w, item, a, out);
    else if (strcmp(act, "set_state") == 0)
        push_state(w, item, a, out);
    else if (strcmp(act, "asset_message") == 0)
        push_message(w, item, a, out);
    else if (strcmp(act, "reset_running_count") == 0)
        push_reset(w, item, a, out);
    else
        conn_fail(out, CONN_PERMANENT, "unsupported",
                  "the WATS connector cannot perform this action");
    return AB_OK;
}

/* ---- resolve --------------------------------------------------------------------- */

/* Is there a log entry of type `type` for the asset whose comment contains
 * needle? */
static enum ab_rc log_has(struct wats_ctx *w, const char *sn, int type, const char *needle,
                          struct arena *a, enum conn_resolution *out)
{
    const char *filter =
        arena_printf(a, "serialNumber eq %s and type eq %d", conn_odata_quote(a, sn), type);
    json_t *arr;
    struct wans ans;
    if (get_json(w, "/Asset/Log", conn_wats_odata_query(a, filter, "date desc", 50, 0, NULL), true,
                 NULL, a, &arr, &ans) != AB_OK)
        return AB_OK; /* unknown */
    size_t i;
    json_t *e;
    json_array_foreach (arr, i, e) {
        const char *cm = conn_jstr(e, "comment");
        if (cm && strstr(cm, needle)) {
            *out = CONN_RESOLVED_FOUND;
            return AB_OK;
        }
    }
    *out = CONN_RESOLVED_NOT_FOUND;
    return AB_OK;
}

static enum ab_rc wats_resolve(void *ctx, const struct conn_item *item, struct arena *a,
                               enum conn_resolution *out)
{
    struct wats_ctx *w = ctx;
    *out = CONN_RESOLVED_UNKNOWN;
    const char *act = item->action ? item->action : "";
    const json_t *p = item->payload;
    /* absolute totals, states and create-or-update by serial number: sending
     * again has no second effect; a reset sent again (it is queued only
     * right after a completed calibration or maintenance) at most drops the
     * uses counted in between */
    if (strcmp(act, "push_reading") == 0 || strcmp(act, "set_state") == 0 ||
        strcmp(act, "upsert_asset") == 0 || strcmp(act, "reset_running_count") == 0) {
        *out = CONN_RESOLVED_NOT_FOUND;
        return AB_OK;
    }
    const char *sn = conn_jstr(p, "asset_native_id");
    if (!sn)
        return AB_OK;
    if (strcmp(act, "record_calibration") == 0 || strcmp(act, "record_maintenance") == 0) {
        if (!item->idempotency_key)
            return AB_OK;
        const char *kind = conn_jstr(p, "kind");
        bool maint =
            strcmp(act, "record_maintenance") == 0 || (kind && !strcmp(kind, "maintenance"));
        return log_has(w, sn, maint ? 5 : 4,
                       arena_printf(a, "[assetbridge %s]", item->idempotency_key), a, out);
    }
    if (strcmp(act, "asset_message") == 0) {
        const char *text = conn_jstr(p, "message");
        if (!text)
            text = conn_jstr(p, "content");
        return text ? log_has(w, sn, 0, text, a, out) : AB_OK;
    }
    return AB_OK;
}

/* ---- translate ----------------------------------------------------------------------- */

static enum ab_rc wats_translate(void *ctx, enum conn_direction dir, const char *entity,
                                 const json_t *in, struct arena *a, json_t **out)
{
    struct wats_ctx *w = ctx;
    *out = NULL;
    if (!json_is_object(in) || !entity)
        return AB_EINVAL;
    struct conn_wats_opts def;
    conn_wats_opts_default(&def);
    const struct conn_wats_opts *o = w ? &w->o : &def;
    if (dir == CONN_TO_CANONICAL) {
        struct conn_record r;
        enum ab_rc rc;
        if (strcmp(entity, "asset") == 0) {
            struct conn_wats_type t;
            const char *tid = conn_jstr(in, "typeId");
            bool has_t = w && tid && type_find(w, tid, NULL, a, &t);
            rc = conn_wats_asset_record(in, has_t ? &t : NULL, NULL, o, clock_now_ms(), a, &r);
        } else if (strcmp(entity, "asset_type") == 0) {
            rc = conn_wats_type_record(in, a, &r);
        } else {
            return AB_EUNSUPPORTED;
        }
        if (rc)
            return rc;
        *out = r.doc;
        return AB_OK;
    }
    if (strcmp(entity, "asset") == 0) {
        const char *why;
        return conn_wats_asset_to_native(in, NULL, a, out, &why);
    }
    return AB_EUNSUPPORTED;
}

/* ---- init / cleanup / health --------------------------------------------------------- */

static char *base64(const char *s)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *o = xmalloc((n + 2) / 3 * 4 + 1), *p = o;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)u[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)u[i + 1] << 8;
        if (i + 2 < n)
            v |= u[i + 2];
        *p++ = tbl[(v >> 18) & 63];
        *p++ = tbl[(v >> 12) & 63];
        *p++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *p++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *p = '\0';
    return o;
}

static void copy_types(struct arena *a, struct conn_wats_types *dst,
                       const struct conn_wats_types *src)
{
    dst->n = src->n;
    const char **v = src->n ? arena_zalloc(a, src->n * sizeof(*v)) : NULL;
    for (size_t i = 0; i < src->n; i++)
        v[i] = src->v[i] ? arena_strdup(a, src->v[i]) : NULL;
    dst->v = v;
}

/* The hub meters pushed here: opts's, else the provider's usage.meters. */
static void copy_meters(struct arena *a, struct conn_wats_opts *dst,
                        const struct conn_wats_opts *src, const struct config_provider *cfg)
{
    size_t n = src->n_meters ? src->n_meters : cfg->usage.n_meters;
    struct conn_wats_meter *v = n ? arena_zalloc(a, n * sizeof(*v)) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (src->n_meters) {
            v[i].hub_meter =
                src->meters[i].hub_meter ? arena_strdup(a, src->meters[i].hub_meter) : NULL;
            v[i].running = src->meters[i].running;
            continue;
        }
        const struct config_usage_meter *m = &cfg->usage.meters[i];
        const char *target = m->target ? m->target : m->name;
        v[i].hub_meter = m->name ? arena_strdup(a, m->name) : NULL;
        v[i].running =
            target && (strcmp(target, "running_count") == 0 || strcmp(target, "runningCount") == 0);
    }
    dst->meters = v;
    dst->n_meters = n;
}

static const char *copy_str(struct arena *a, const char *s, const char *def)
{
    return arena_strdup(a, s && *s ? s : def);
}

enum ab_rc conn_wats_init_with(const struct config_provider *cfg, struct client *client,
                               const struct conn_wats_opts *opts, void **ctx, char *err,
                               size_t errlen)
{
    *ctx = NULL;
    const char *name = cfg->name ? cfg->name : "?";
    const char *scheme = cfg->auth.scheme ? cfg->auth.scheme : "none";
    bool token_scheme = strcmp(scheme, "basic") == 0 || strcmp(scheme, "token") == 0;
    if (!token_scheme && strcmp(scheme, "none") != 0) {
        snprintf(err, errlen,
                 "provider %s: WATS takes auth scheme basic (or token) with auth.token, not %s",
                 name, scheme);
        return AB_ECONFIG;
    }
    bool has_token = cfg->auth.token && *cfg->auth.token;
    bool has_user = cfg->auth.user && *cfg->auth.user;
    if (token_scheme && !has_token && !has_user) {
        snprintf(err, errlen, "provider %s: auth scheme %s needs auth.token (a WATS API token)",
                 name, scheme);
        return AB_ECONFIG;
    }
    if (!cfg->base_url || !*cfg->base_url) {
        snprintf(err, errlen, "provider %s: base_url is required", name);
        return AB_ECONFIG;
    }
    struct wats_ctx *w = xcalloc(1, sizeof(*w));
    w->client = client;
    if (!client) {
        struct client_opts co;
        client_opts_from_config(cfg, &co);
        enum ab_rc rc = client_new(&co, &w->own_client, err, errlen);
        if (rc) {
            free(w);
            return rc;
        }
        w->client = w->own_client;
    }
    if (token_scheme) {
        /* the token goes as-is after "Basic " (the server hands it out
         * ready to use); user:password is the pre-2025.2 form */
        char *cred = NULL;
        if (has_token) {
            cred = xstrdup(cfg->auth.token);
        } else {
            size_t n =
                strlen(cfg->auth.user) + (cfg->auth.password ? strlen(cfg->auth.password) : 0) + 2;
            char *up = xmalloc(n);
            snprintf(up, n, "%s:%s", cfg->auth.user, cfg->auth.password ? cfg->auth.password : "");
            cred = base64(up);
            free(up);
            log_warn(NULL,
                     "wats: username/password authentication is refused by WATS 2025.2 "
                     "and later; use an API token",
                     LOG_STR("provider", name));
        }
        size_t n = strlen(cred) + 7;
        w->auth_header = xmalloc(n);
        snprintf(w->auth_header, n, "Basic %s", cred);
        free(cred);
    }
    size_t bl = strlen(cfg->base_url);
    while (bl && cfg->base_url[bl - 1] == '/')
        bl--;
    bool has_api = bl >= 4 && strncasecmp(cfg->base_url + bl - 4, "/api", 4) == 0;
    w->prefix = xstrdup(has_api ? "" : "/api");
    w->https = strncmp(cfg->base_url, "https:", 6) == 0;

    w->strs = arena_new(0, 0);
    w->o = *opts;
    struct arena *s = w->strs;
    w->o.set_total_param = copy_str(s, opts->set_total_param, "totalCount");
    w->o.set_running_param = copy_str(s, opts->set_running_param, "runningCount");
    w->o.external_from_param = copy_str(s, opts->external_from_param, "fromDate");
    w->o.external_to_param = copy_str(s, opts->external_to_param, "toDate");
    w->o.report_cursor_field = copy_str(s, opts->report_cursor_field, "timeStamp");
    w->o.server_version = opts->server_version ? arena_strdup(s, opts->server_version) : NULL;
    w->o.default_type = opts->default_type ? arena_strdup(s, opts->default_type) : NULL;
    copy_types(s, &w->o.reports_count_usage, &opts->reports_count_usage);
    copy_types(s, &w->o.calibration_external, &opts->calibration_external);
    copy_types(s, &w->o.register_types, &opts->register_types);
    copy_types(s, &w->o.maintenance_external, &opts->maintenance_external);
    copy_meters(s, &w->o, opts, cfg);
    if (w->o.page_size <= 0)
        w->o.page_size = 1000;
    if (w->o.log_page_size <= 0)
        w->o.log_page_size = 200;
    if (w->o.report_page_size <= 0 || w->o.report_page_size > 10000)
        w->o.report_page_size = 500;
    if (w->o.max_retries < 0)
        w->o.max_retries = 0;

    pthread_mutex_init(&w->mu, NULL);
    w->version_at = INT64_MIN;
    w->serial_type = json_object();
    w->tokens = WATS_BURST;
    w->tokens_at = clock_mono_ms();
    if (w->o.server_version) {
        if (conn_wats_version_parse(w->o.server_version, strlen(w->o.server_version), &w->ver) !=
            AB_OK) {
            snprintf(err, errlen, "provider %s: server_version '%s' is not a version", name,
                     w->o.server_version);
            json_decref(w->serial_type);
            pthread_mutex_destroy(&w->mu);
            arena_free(w->strs);
            client_free(w->own_client);
            free(w->auth_header);
            free(w->prefix);
            free(w);
            return AB_ECONFIG;
        }
        w->version_known = true;
        w->version_at = INT64_MAX / 2; /* never re-read */
        w->o.version_ttl_ms = INT64_MAX / 2;
        snprintf(w->version_str, sizeof(w->version_str), "%s", w->o.server_version);
    }
    *ctx = w;
    return AB_OK;
}

/* The options of a provider's `wats:` section (config.h struct config_wats;
 * its defaults are the connector's). */
static void opts_from_config(const struct config_provider *cfg, struct conn_wats_opts *o)
{
    const struct config_wats *c = &cfg->wats;
    conn_wats_opts_default(o);
    if (!c->paging) /* a zeroed config_provider (tests): the defaults */
        return;
    o->paging = strcmp(c->paging, "keyset") == 0 ? CONN_WATS_PAGING_KEYSET : CONN_WATS_PAGING_SKIP;
    o->page_size = (int)c->page_size;
    o->log_page_size = (int)c->log_page_size;
    o->report_page_size = (int)c->report_page_size;
    o->lookup_batch = (int)c->lookup_batch;
    o->incremental_via_log = c->incremental_via_log;
    o->log_tiebreak = c->log_tiebreak;
    o->status_for_changed = c->status_for_changed;
    o->derive_status = c->derive_status;
    o->default_warning_pct = c->default_warning_pct;
    o->default_alarm_pct = c->default_alarm_pct;
    o->send_dates = c->send_dates && strcmp(c->send_dates, "naive") == 0 ? CONN_WATS_DATE_NAIVE
                                                                         : CONN_WATS_DATE_UTC_Z;
    o->naive_offset_min = (int)c->naive_offset_min;
    o->usage_endpoint = !c->usage_endpoint                       ? CONN_WATS_USAGE_COUNT
                        : strcmp(c->usage_endpoint, "auto") == 0 ? CONN_WATS_USAGE_AUTO
                        : strcmp(c->usage_endpoint, "set_total_count") == 0
                            ? CONN_WATS_USAGE_SET_TOTAL
                            : CONN_WATS_USAGE_COUNT;
    o->set_total_param = c->set_total_param;
    o->set_running_param = c->set_running_param;
    o->external_from_param = c->external_from_param;
    o->external_to_param = c->external_to_param;
    o->report_cursor_field = c->report_cursor_field;
    o->reports_count_usage =
        (struct conn_wats_types){c->reports_count_usage_types.v, c->reports_count_usage_types.n};
    o->calibration_external =
        (struct conn_wats_types){c->calibration_external_types.v, c->calibration_external_types.n};
    o->maintenance_external =
        (struct conn_wats_types){c->maintenance_external_types.v, c->maintenance_external_types.n};
    o->external_sentinel = c->external_sentinel;
    o->external_sentinel_value = c->external_sentinel_value;
    o->due_tolerance_ms = c->due_tolerance_ms;
    o->max_retries = (int)c->max_retries;
    o->retry_base_ms = c->retry_base_ms;
    o->retry_cap_ms = c->retry_cap_ms;
    o->server_version = c->server_version;
    o->default_type = c->default_type;
    o->register_types = (struct conn_wats_types){c->register_types.v, c->register_types.n};
    if (c->requests_per_minute > 0)
        o->requests_per_minute = c->requests_per_minute;
    else if (cfg->rate_limit.requests_per_second > 0)
        o->requests_per_minute = cfg->rate_limit.requests_per_second * 60.0;
}

static enum ab_rc wats_init(const struct config_provider *cfg, struct client *client, void **ctx,
                            char *err, size_t errlen)
{
    struct conn_wats_opts o;
    opts_from_config(cfg, &o);
    if (!cfg->wats.paging && cfg->rate_limit.requests_per_second > 0)
        o.requests_per_minute = cfg->rate_limit.requests_per_second * 60.0;
    return conn_wats_init_with(cfg, client, &o, ctx, err, errlen);
}

static void wats_cleanup(void *ctx)
{
    struct wats_ctx *w = ctx;
    if (!w)
        return;
    client_free(w->own_client);
    json_decref(w->types);
    json_decref(w->serial_type);
    pthread_mutex_destroy(&w->mu);
    arena_free(w->strs);
    free(w->auth_header);
    free(w->prefix);
    free(w);
}

static enum ab_rc wats_health(void *ctx, struct arena *a, struct conn_health *out)
{
    struct wats_ctx *w = ctx;
    memset(out, 0, sizeof(*out));
    /* authentication first: an authenticated one-row type list */
    struct wcall c = {.method = "GET", .path = "/Asset/Types", .query = "$top=1"};
    struct wans ans;
    wats_do(w, &c, a, &ans);
    enum ab_rc trc = conn_health_transport(ans.rc, ans.resp.error, w->https, "WATS", a, out);
    if (trc)
        return trc;
    int s = ans.resp.status;
    if (s == 401 || s == 403) {
        out->auth = CONN_CHECK_FAILED;
        out->message = s == 401 ? "WATS refused the credentials (401): check auth.token (a WATS "
                                  "API token; username/password is refused since 2025.2)"
                                : "WATS refused the token (403): it lacks asset permissions";
        return s == 401 ? AB_EAUTH : AB_EFORBIDDEN;
    }
    if (s == 429 || s >= 500) {
        out->message = arena_printf(a, "WATS is unavailable (%d)", s);
        return s == 429 ? AB_ERATELIMIT : AB_EUNAVAILABLE;
    }
    out->auth = conn_is_2xx(s) ? CONN_CHECK_OK : CONN_CHECK_FAILED;
    if (!conn_is_2xx(s)) {
        out->message = arena_printf(a, "WATS answered the asset type list with HTTP %d", s);
        return AB_EUNSUPPORTED;
    }
    struct conn_wats_version v;
    bool known;
    enum ab_rc rc = version_get(w, a, &v, &known);
    if (rc || !known) {
        out->version = CONN_CHECK_FAILED;
        out->message = "WATS did not report its version (/api/App/Version)";
        return rc ? rc : AB_EUNSUPPORTED;
    }
    out->version = CONN_CHECK_OK;
    pthread_mutex_lock(&w->mu);
    out->provider_version = arena_strdup(a, w->version_str);
    pthread_mutex_unlock(&w->mu);
    return AB_OK;
}

const struct conn_ops conn_wats = {
    CONN_ABI_V1, /* abi */
    "wats",      /* name: provider type "wats" */
    CONN_CAP_PULL_ASSETS | CONN_CAP_PULL_REPORTS | CONN_CAP_PUSH_READINGS |
        CONN_CAP_RECORD_CALIBRATION | CONN_CAP_RECORD_MAINTENANCE | CONN_CAP_WRITE_ASSETS |
        CONN_CAP_ASSET_LOG | CONN_CAP_RESET_COUNT, /* caps */
    wats_init,      /* init: Basic token, base URL (/api appended unless present), defaults */
    wats_cleanup,   /* cleanup */
    wats_health,    /* health: authenticated type list, then /api/App/Version */
    wats_pull,      /* pull: asset_type, asset (full pass / asset log), report uses */
    wats_push,      /* push: usage totals, calibration/maintenance, asset, state, message */
    wats_resolve,   /* resolve: absolute writes resend; log entries by key */
    wats_translate, /* translate: asset and asset_type native <-> canonical */
};
