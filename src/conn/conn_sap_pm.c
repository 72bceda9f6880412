/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_sap_pm.c: the network half of the SAP S/4HANA PM connector (provider
 * type `sap_pm`), written from the contract sheet providers/sap-pm.md and
 * the OpenAPI files of the eight PM services: Basic authentication and
 * sap-client, a session cookie jar and the Gateway's CSRF token (fetched
 * with X-CSRF-Token: Fetch, sent on every write, fetched again once when a
 * write answers 403 x-csrf-token: Required), bounded retries of reads, and
 * the slots:
 *
 *   pull   asset             Equipment (V2): a full pass by key with $skip
 *                            (the newest LastChangeDateTime read first is
 *                            the watermark), increments by a keyset on
 *                            (LastChangeDateTime, Equipment); match keys and
 *                            SAP's counter totals (usage baselines) batched
 *          meter             MeasuringPoint (V4), full passes
 *          maintenance_plan  MaintenancePlan (V2, as assets) with items,
 *                            cycles, schedules and counter points, batched
 *          work_order        MaintenanceOrder (V2, as assets)
 *          notification      MaintenanceNotification (V2, as assets)
 *   push   push_reading       one measurement document with the absolute total
 *          open_request       a notification carrying MaintNotifExtReferenceNumber,
 *                             put in process unless draft
 *          update_work_order  notification in process / complete; final
 *                             confirmations of a completed order's operations
 *   resolve  readings by the measuring point's latest document, requests by
 *            their external reference; updates check state before acting.
 *
 * The pure mapping lives in conn_sap_pm_map.c; docs/connectors/sap-pm.md
 * has the tables and every decision.
 */
#include "conn/conn_sap_pm.h"

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

#define SAP_RESPONSE_KEEP 2048
#define SAP_COOKIES_MAX 32
#define SAP_CACHE_MAX 200000
#define SAP_LOOKUP_TOP 5000
#define SAP_LOOKUP_PAGES 20

#define SAP_V2 "/sap/opu/odata/sap/"
#define SAP_MP "/sap/opu/odata4/sap/api_measuringpoint/srvd_a2x/sap/measuringpoint/0001"
#define SAP_MD "/sap/opu/odata4/sap/api_measurementdocument/srvd_a2x/sap/measurementdocument/0001"

struct sap_ctx {
    struct client *client, *own_client;
    char *auth_header;
    bool https;
    struct conn_sap_pm_opts o; /* strings and maps in strs */
    struct arena *strs;

    pthread_mutex_t mu; /* everything below */
    char *csrf;         /* the session's token, or NULL */
    json_t *jar;        /* cookie name -> value */
    json_t *points;     /* "EQ|TARGET" -> {"mp","unit"} */
    json_t *totals;     /* "EQ|HUB_METER" -> SAP's total first seen by this process */
    int64_t requests, csrf_fetches;
};

/* ---- small helpers --------------------------------------------------------------- */

int64_t conn_sap_pm_requests(void *ctx)
{
    struct sap_ctx *s = ctx;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    int64_t n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int64_t conn_sap_pm_csrf_fetches(void *ctx)
{
    struct sap_ctx *s = ctx;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    int64_t n = s->csrf_fetches;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The root of a V2 service (with the configured version suffix). */
static const char *v2_root(struct sap_ctx *s, struct arena *a, const char *service)
{
    if (s->o.service_version && *s->o.service_version)
        return arena_printf(a, SAP_V2 "%s;v=%s", service, s->o.service_version);
    return arena_printf(a, SAP_V2 "%s", service);
}

/* ---- session: cookies and the CSRF token ------------------------------------------- */

static const char *cookie_header(struct sap_ctx *s, struct arena *a)
{
    const char *h = NULL;
    pthread_mutex_lock(&s->mu);
    const char *k;
    json_t *v;
    json_object_foreach (s->jar, k, v)
        h = h ? arena_printf(a, "%s; %s=%s", h, k, json_string_value(v))
              : arena_printf(a, "%s=%s", k, json_string_value(v));
    pthread_mutex_unlock(&s->mu);
    return h;
}

static void absorb_cookies(struct sap_ctx *s, const struct client_response *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, "Set-Cookie") != 0)
            continue;
        const char *v = r->headers[i].value;
        const char *eq = strchr(v, '=');
        if (!eq || eq == v)
            continue;
        size_t vl = strcspn(eq + 1, ";");
        char name[128], val[1024];
        size_t nl = (size_t)(eq - v);
        if (nl >= sizeof(name) || vl >= sizeof(val))
            continue;
        memcpy(name, v, nl);
        name[nl] = '\0';
        memcpy(val, eq + 1, vl);
        val[vl] = '\0';
        pthread_mutex_lock(&s->mu);
        if (json_object_size(s->jar) < SAP_COOKIES_MAX || json_object_get(s->jar, name))
            json_object_set_new(s->jar, name, json_string(val));
        pthread_mutex_unlock(&s->mu);
    }
}

static const char *csrf_get(struct sap_ctx *s, struct arena *a)
{
    pthread_mutex_lock(&s->mu);
    const char *t = s->csrf ? arena_strdup(a, s->csrf) : NULL;
    pthread_mutex_unlock(&s->mu);
    return t;
}

/* Drop the token (only when it is still `stale`: another thread may have
 * fetched a new one meanwhile). */
static void csrf_drop(struct sap_ctx *s, const char *stale)
{
    pthread_mutex_lock(&s->mu);
    if (s->csrf && (!stale || strcmp(s->csrf, stale) == 0)) {
        free(s->csrf);
        s->csrf = NULL;
    }
    pthread_mutex_unlock(&s->mu);
}

static const char *with_client(struct sap_ctx *s, struct arena *a, const char *query)
{
    if (!s->o.sap_client)
        return query;
    const char *c = arena_printf(a, "sap-client=%s", conn_qenc(a, s->o.sap_client));
    return query && *query ? arena_printf(a, "%s&%s", query, c) : c;
}

/* Fetch a token for the session: GET (or HEAD) <root>/ with X-CSRF-Token:
 * Fetch. AB_OK with the token stored; transport codes, AB_EAUTH on 401, or
 * AB_EUNAVAILABLE when the answer carries no token. */
static enum ab_rc csrf_fetch(struct sap_ctx *s, const char *root, const char *corr, struct arena *a)
{
    struct client_header h[4];
    size_t n = 0;
    h[n++] = (struct client_header){"Authorization", s->auth_header};
    h[n++] = (struct client_header){"Accept", "application/json"};
    h[n++] = (struct client_header){"X-CSRF-Token", "Fetch"};
    const char *ck = cookie_header(s, a);
    if (ck)
        h[n++] = (struct client_header){"Cookie", ck};
    struct client_request req = {.method = s->o.csrf_head ? "HEAD" : "GET",
                                 .path = arena_printf(a, "%s/", root),
                                 .query = with_client(s, a, NULL),
                                 .headers = h,
                                 .n_headers = n,
                                 .correlation_id = corr};
    struct client_response r;
    pthread_mutex_lock(&s->mu);
    s->requests++;
    s->csrf_fetches++;
    pthread_mutex_unlock(&s->mu);
    enum ab_rc rc = client_request(s->client, &req, a, &r);
    if (rc)
        return rc == AB_EUNKNOWN ? AB_ENETWORK : rc;
    absorb_cookies(s, &r);
    if (r.status == 401)
        return AB_EAUTH;
    const char *t = client_response_header(&r, "x-csrf-token");
    if (!t || !*t || strcasecmp(t, "Required") == 0 || strcasecmp(t, "Fetch") == 0) {
        log_warn(corr, "sap_pm: the CSRF token fetch returned no token", LOG_STR("path", root),
                 LOG_INT("status", r.status));
        return r.status == 429 ? AB_ERATELIMIT : AB_EUNAVAILABLE;
    }
    pthread_mutex_lock(&s->mu);
    free(s->csrf);
    s->csrf = xstrdup(t);
    pthread_mutex_unlock(&s->mu);
    return AB_OK;
}

/* ---- HTTP ------------------------------------------------------------------------ */

struct scall {
    const char *method;
    const char *root;  /* service root: the CSRF token is fetched there */
    const char *path;  /* below root, e.g. "/Equipment" */
    const char *query; /* encoded, or NULL */
    const json_t *body;
    const char *correlation_id;
    bool read; /* a GET: retried here on 429/408/5xx/not sent, once on 401 */
};

struct sans {
    enum ab_rc rc; /* transport, or the CSRF fetch's failure */
    struct client_response resp;
    json_t *json;       /* parsed body (arena-owned) or NULL */
    bool csrf_required; /* the final answer was 403 x-csrf-token: Required */
};

static void sap_do(struct sap_ctx *s, const struct scall *c, struct arena *a, struct sans *ans)
{
    const char *body = NULL;
    size_t body_len = 0;
    if (c->body) {
        char *t = json_dumps(c->body, JSON_COMPACT | JSON_SORT_KEYS);
        if (t) {
            body = arena_strdup(a, t);
            body_len = strlen(body);
            free(t);
        }
    }
    bool csrf_refreshed = false, session_refreshed = false;
    int tries = c->read ? s->o.max_retries + 1 : 1;
    for (int attempt = 1;;) {
        memset(ans, 0, sizeof(*ans));
        const char *token = NULL;
        if (!c->read) {
            token = csrf_get(s, a);
            if (!token) {
                ans->rc = csrf_fetch(s, c->root, c->correlation_id, a);
                if (ans->rc)
                    return;
                token = csrf_get(s, a);
            }
        }
        struct client_header h[6];
        size_t n = 0;
        h[n++] = (struct client_header){"Authorization", s->auth_header};
        h[n++] = (struct client_header){"Accept", "application/json"};
        const char *ck = cookie_header(s, a);
        if (ck)
            h[n++] = (struct client_header){"Cookie", ck};
        if (token)
            h[n++] = (struct client_header){"X-CSRF-Token", token};
        if (body)
            h[n++] = (struct client_header){"Content-Type", "application/json"};
        struct client_request req = {.method = c->method,
                                     .path = arena_printf(a, "%s%s", c->root, c->path),
                                     .query = with_client(s, a, c->query),
                                     .headers = h,
                                     .n_headers = n,
                                     .body = body,
                                     .body_len = body_len,
                                     .correlation_id = c->correlation_id};
        pthread_mutex_lock(&s->mu);
        s->requests++;
        pthread_mutex_unlock(&s->mu);
        ans->rc = client_request(s->client, &req, a, &ans->resp);
        int st = ans->resp.status;
        if (ans->rc == AB_OK)
            absorb_cookies(s, &ans->resp);
        const char *xt =
            ans->rc == AB_OK ? client_response_header(&ans->resp, "x-csrf-token") : NULL;
        ans->csrf_required = st == 403 && xt && strcasecmp(xt, "Required") == 0;
        if (ans->rc == AB_OK && ans->csrf_required && !c->read && !csrf_refreshed) {
            /* the token expired or the session changed: fetch again once (the
             * write was refused before it was applied) */
            csrf_refreshed = true;
            log_info(c->correlation_id, "sap_pm: CSRF token refused; fetching a new one",
                     LOG_STR("path", c->path));
            csrf_drop(s, token);
            continue;
        }
        if (ans->rc == AB_OK && st == 401 && c->read && !session_refreshed) {
            /* an expired session: drop its cookies, log on again once */
            session_refreshed = true;
            pthread_mutex_lock(&s->mu);
            json_object_clear(s->jar);
            pthread_mutex_unlock(&s->mu);
            csrf_drop(s, NULL);
            continue;
        }
        bool again;
        if (ans->rc != AB_OK)
            again = !ans->resp.sent && ans->rc != AB_EAUTH && ans->rc != AB_EINVAL &&
                    ans->rc != AB_ETOOLARGE;
        else
            again = st == 429 || st == 408 || (st >= 500 && st < 600);
        if (!again || attempt >= tries)
            break;
        int64_t cap = s->o.retry_base_ms << (attempt - 1);
        if (cap > s->o.retry_cap_ms || cap <= 0)
            cap = s->o.retry_cap_ms;
        int64_t delay = cap > 0 ? (int64_t)(conn_jitter() % (uint64_t)(cap + 1)) : 0;
        if (ans->rc == AB_OK) {
            struct conn_result tmp;
            conn_sap_pm_http_outcome(st, client_response_header(&ans->resp, "Retry-After"), false,
                                     clock_now_ms(), &tmp);
            if (tmp.retry_after_ms > delay)
                delay = tmp.retry_after_ms;
        }
        if (delay > s->o.retry_cap_ms)
            break;
        log_info(c->correlation_id, "sap_pm: retrying a read", LOG_STR("path", c->path),
                 LOG_INT("status", st), LOG_INT("attempt", attempt), LOG_INT("delay_ms", delay));
        conn_sleep_ms(delay);
        attempt++;
    }
    if (ans->rc == AB_OK && ans->resp.body_len) {
        json_error_t je;
        ans->json =
            conn_arena_own(a, json_loadb(ans->resp.body, ans->resp.body_len, JSON_DECODE_ANY, &je));
    }
}

/* An ab_rc for a failed read. */
static enum ab_rc read_rc(const struct sans *ans)
{
    if (ans->rc != AB_OK)
        return ans->rc == AB_EUNKNOWN ? AB_ENETWORK : ans->rc;
    int st = ans->resp.status;
    if (conn_is_2xx(st))
        return json_is_object(ans->json) ? AB_OK : AB_EUNAVAILABLE;
    if (st == 401)
        return AB_EAUTH;
    if (st == 403)
        return AB_EFORBIDDEN;
    if (st == 404)
        return AB_ENOTFOUND;
    if (st == 429)
        return AB_ERATELIMIT;
    if (st == 408 || st >= 500)
        return AB_EUNAVAILABLE;
    return AB_EINVAL;
}

/* The entries of a collection answer (V2 d.results or V4 value) and whether
 * the server says more follow (__next / @odata.nextLink). */
static const json_t *entries(const json_t *j, bool *more)
{
    const json_t *d = json_object_get(j, "d");
    if (d) {
        *more = json_object_get(d, "__next") != NULL;
        const json_t *r = json_object_get(d, "results");
        return json_is_array(r) ? r : json_is_array(d) ? d : NULL;
    }
    *more = json_object_get(j, "@odata.nextLink") != NULL;
    const json_t *v = json_object_get(j, "value");
    return json_is_array(v) ? v : NULL;
}

/* The query of a list request. */
static const char *list_query(struct arena *a, const char *filter, const char *orderby,
                              const char *select, int top, long long skip)
{
    const char *q = "";
    if (filter)
        q = arena_printf(a, "%s&$filter=%s", q, conn_qenc(a, filter));
    if (orderby)
        q = arena_printf(a, "%s&$orderby=%s", q, conn_qenc(a, orderby));
    if (select)
        q = arena_printf(a, "%s&$select=%s", q, conn_qenc(a, select));
    if (top > 0)
        q = arena_printf(a, "%s&$top=%d", q, top);
    if (skip > 0)
        q = arena_printf(a, "%s&$skip=%lld", q, skip);
    return *q ? q + 1 : NULL;
}

/* GET one page of a collection. */
static enum ab_rc get_page(struct sap_ctx *s, const char *root, const char *set, const char *filter,
                           const char *orderby, const char *select, int top, long long skip,
                           const char *corr, struct arena *a, const json_t **arr /* OUT */,
                           bool *more /* OUT */)
{
    struct scall c = {.method = "GET",
                      .root = root,
                      .path = arena_printf(a, "/%s", set),
                      .query = list_query(a, filter, orderby, select, top, skip),
                      .correlation_id = corr,
                      .read = true};
    struct sans ans;
    sap_do(s, &c, a, &ans);
    enum ab_rc rc = read_rc(&ans);
    *arr = NULL;
    *more = false;
    if (!rc) {
        *arr = entries(ans.json, more);
        if (!*arr)
            rc = AB_EUNAVAILABLE;
    }
    if (rc)
        log_warn(
            corr, "sap_pm: read failed", LOG_STR("set", set), LOG_INT("status", ans.resp.status),
            LOG_STR("rc", ab_rc_name(rc)),
            LOG_STR("error", ans.resp.error ? ans.resp.error : conn_sap_pm_error_text(ans.json)));
    return rc;
}

/* Every entry matching filter (paged by $skip, bounded), appended to all. */
static enum ab_rc get_all(struct sap_ctx *s, const char *root, const char *set, const char *filter,
                          const char *orderby, const char *select, const char *corr,
                          struct arena *a, json_t *all)
{
    for (int page = 0; page < SAP_LOOKUP_PAGES; page++) {
        const json_t *arr;
        bool more;
        enum ab_rc rc = get_page(s, root, set, filter, orderby, select, SAP_LOOKUP_TOP,
                                 (long long)page * SAP_LOOKUP_TOP, corr, a, &arr, &more);
        if (rc)
            return rc;
        json_array_extend(all, (json_t *)arr);
        if (json_array_size(arr) < SAP_LOOKUP_TOP && !more)
            return AB_OK;
    }
    return AB_OK;
}

/* "F eq 'a' or F eq 'b' ..." for keys[from, to). */
static const char *or_filter(struct arena *a, const char *field, const char *const *keys,
                             size_t from, size_t to)
{
    const char *f = NULL;
    for (size_t i = from; i < to; i++) {
        const char *one = arena_printf(a, "%s eq %s", field, conn_odata_quote(a, keys[i]));
        f = f ? arena_printf(a, "%s or %s", f, one) : one;
    }
    return f;
}

/* ---- pull: V2 sets with LastChangeDateTime ------------------------------------------- */

struct v2set {
    const char *service, *set, *key;
};

static const struct v2set SET_EQUIPMENT = {"API_EQUIPMENT", "Equipment", "Equipment"};
static const struct v2set SET_PLAN = {"API_MAINTENANCEPLAN", "MaintenancePlan", "MaintenancePlan"};
static const struct v2set SET_ORDER = {"API_MAINTENANCEORDER", "MaintenanceOrder",
                                       "MaintenanceOrder"};
static const struct v2set SET_NOTIF = {"API_MAINTNOTIFICATION", "MaintenanceNotification",
                                       "MaintenanceNotification"};

typedef void (*records_fn)(struct sap_ctx *s, const json_t *arr, struct arena *a,
                           struct conn_page *out, enum ab_rc *rc);

/* Split "MS|KEY". */
static bool wm_parse(struct arena *a, const char *s, int64_t *ms, const char **key)
{
    const char *bar = s ? strchr(s, '|') : NULL;
    if (!bar)
        return false;
    if (str_to_i64n(s, (size_t)(bar - s), ms) != AB_OK)
        return false;
    *key = arena_strdup(a, bar + 1);
    return true;
}

static const char *wm_of(struct arena *a, const json_t *e, const char *key)
{
    int64_t t;
    if (conn_sap_pm_time(json_object_get(e, "LastChangeDateTime"), &t) != AB_OK ||
        !conn_jstr(e, key))
        return NULL;
    return arena_printf(a, "%lld|%s", (long long)t, conn_jstr(e, key));
}

static enum ab_rc pull_v2(struct sap_ctx *s, const struct v2set *vs, const char *watermark,
                          const char *token, records_fn fn, struct arena *a, struct conn_page *out)
{
    const char *root = v2_root(s, a, vs->service);
    int top = s->o.page_size;
    enum ab_rc rc = AB_OK;
    const json_t *arr;
    bool more;
    int64_t ms;
    const char *key;
    bool full = false;
    long long skip = 0;
    const char *w0 = NULL;
    if (token && token[0] == 'f' && token[1] == '|') {
        char *end;
        skip = strtoll(token + 2, &end, 10);
        if (*end != '|' || skip < 0)
            return AB_EINVAL;
        full = true;
        w0 = arena_strdup(a, end + 1);
    } else if (token && token[0] == 'i' && token[1] == '|') {
        if (!wm_parse(a, token + 2, &ms, &key))
            return AB_EINVAL;
    } else if (token) {
        return AB_EINVAL;
    } else if (!watermark || !wm_parse(a, watermark, &ms, &key)) {
        /* a full pass: the newest change now is where increments start */
        full = true;
        rc = get_page(
            s, root, vs->set, NULL, arena_printf(a, "LastChangeDateTime desc,%s desc", vs->key),
            arena_printf(a, "%s,LastChangeDateTime", vs->key), 1, 0, NULL, a, &arr, &more);
        if (rc)
            return rc;
        w0 = json_array_size(arr) ? wm_of(a, json_array_get(arr, 0), vs->key) : NULL;
        if (!w0)
            w0 = "0|";
    }
    if (full) {
        rc = get_page(s, root, vs->set, NULL, vs->key, NULL, top, skip, NULL, a, &arr, &more);
        if (rc)
            return rc;
        size_t n = json_array_size(arr);
        fn(s, arr, a, out, &rc);
        if (rc)
            return rc;
        if ((int)n >= top || (more && n))
            out->next_page_token = arena_printf(a, "f|%lld|%s", skip + (long long)n, w0);
        else
            out->new_watermark = w0;
        return AB_OK;
    }
    const char *lit = conn_sap_pm_time_literal(a, ms, s->o.filter_datetime);
    const char *filter =
        arena_printf(a, "LastChangeDateTime gt %s or (LastChangeDateTime eq %s and %s gt %s)", lit,
                     lit, vs->key, conn_odata_quote(a, key));
    rc = get_page(s, root, vs->set, filter,
                  arena_printf(a, "LastChangeDateTime asc,%s asc", vs->key), NULL, top, 0, NULL, a,
                  &arr, &more);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    fn(s, arr, a, out, &rc);
    if (rc)
        return rc;
    const char *last = NULL;
    for (size_t i = n; i > 0 && !last; i--)
        last = wm_of(a, json_array_get(arr, i - 1), vs->key);
    if (last) {
        out->new_watermark = last;
        if ((int)n >= top || more)
            out->next_page_token = arena_printf(a, "i|%s", last);
    }
    return AB_OK;
}

static struct conn_record *grow(struct arena *a, struct conn_page *out, size_t extra)
{
    struct conn_record *r = arena_zalloc(a, (out->n_records + extra + 1) * sizeof(*r));
    if (out->n_records)
        memcpy(r, out->records, out->n_records * sizeof(*r));
    out->records = r;
    return r;
}

/* ---- equipment: match keys and counter totals ------------------------------------------- */

/* The measuring points of equipment for the pushed meters, batched: fills
 * the point cache ("EQ|TARGET" -> {mp, unit}). */
static enum ab_rc points_for(struct sap_ctx *s, const char *const *eqs, size_t n, struct arena *a)
{
    size_t batch = (size_t)s->o.lookup_batch;
    const char *tf = NULL;
    for (size_t m = 0; m < s->o.n_meters; m++) {
        const char *one =
            arena_printf(a, "%s eq %s", s->o.meter_key, conn_odata_quote(a, s->o.meters[m].target));
        tf = tf ? arena_printf(a, "%s or %s", tf, one) : one;
    }
    for (size_t i = 0; i < n; i += batch) {
        size_t to = i + batch < n ? i + batch : n;
        json_t *all = conn_arena_own(a, json_array());
        const char *filter =
            arena_printf(a, "(%s) and (%s)", or_filter(a, "Equipment", eqs, i, to), tf);
        enum ab_rc rc =
            get_all(s, SAP_MP, "MeasuringPoint", filter, "MeasuringPoint",
                    arena_printf(a, "MeasuringPoint,Equipment,CharcValueUnit,%s", s->o.meter_key),
                    NULL, a, all);
        if (rc)
            return rc;
        size_t k;
        json_t *p;
        pthread_mutex_lock(&s->mu);
        if (json_object_size(s->points) > SAP_CACHE_MAX)
            json_object_clear(s->points);
        json_array_foreach (all, k, p) {
            const char *eq = conn_jstr(p, "Equipment"), *t = conn_jstr(p, s->o.meter_key);
            const char *mp = conn_jstr(p, "MeasuringPoint");
            if (!eq || !t || !mp)
                continue;
            const char *ck = arena_printf(a, "%s|%s", eq, t);
            if (json_object_get(s->points, ck))
                continue; /* two points with one name: the first (lowest) counts */
            json_object_set_new(
                s->points, ck,
                json_pack("{s:s,s:s}", "mp", mp, "unit",
                          conn_jstr(p, "CharcValueUnit") ? conn_jstr(p, "CharcValueUnit") : ""));
        }
        pthread_mutex_unlock(&s->mu);
    }
    return AB_OK;
}

/* The cached point of (equipment, target): mp and unit in a; false when
 * none is cached. */
static bool point_cached(struct sap_ctx *s, const char *eq, const char *target, struct arena *a,
                         const char **mp, const char **unit)
{
    pthread_mutex_lock(&s->mu);
    const json_t *p = json_object_get(s->points, arena_printf(a, "%s|%s", eq, target));
    if (p) {
        *mp = arena_strdup(a, conn_jstr(p, "mp"));
        *unit = conn_jstr(p, "unit") ? arena_strdup(a, conn_jstr(p, "unit")) : NULL;
    }
    pthread_mutex_unlock(&s->mu);
    return p != NULL;
}

/* The total of a measurement document (counter field, else the reading in
 * entry unit, else the SI reading). */
static bool doc_total(const struct sap_ctx *s, const json_t *d, double *v)
{
    const char *fields[] = {s->o.counter_field, "MeasurementCounterReading",
                            "MeasurementReadingInEntryUoM", "MeasurementReading"};
    for (size_t i = 0; i < 4; i++) {
        const json_t *x = json_object_get(d, fields[i]);
        if (json_is_number(x)) {
            *v = json_number_value(x);
            return true;
        }
    }
    return false;
}

/* The latest document of a measuring point; *doc NULL when it has none. */
static enum ab_rc latest_doc(struct sap_ctx *s, const char *mp, const char *corr, struct arena *a,
                             const json_t **doc)
{
    const json_t *arr;
    bool more;
    enum ab_rc rc =
        get_page(s, SAP_MD, "MeasurementDocument",
                 arena_printf(a, "MeasuringPoint eq %s", conn_odata_quote(a, mp)),
                 "MsmtRdngDate desc,MeasurementDocument desc", NULL, 1, 0, corr, a, &arr, &more);
    *doc = rc ? NULL : json_array_get(arr, 0);
    return rc;
}

/* {HUB_METER: total} of one equipment for the pushed meters (NULL: none). */
static enum ab_rc meter_totals(struct sap_ctx *s, const char *eq, struct arena *a, json_t **out)
{
    *out = NULL;
    for (size_t m = 0; m < s->o.n_meters; m++) {
        const char *hub = s->o.meters[m].hub_meter;
        const char *tk = arena_printf(a, "%s|%s", eq, hub);
        double total;
        bool have = false;
        pthread_mutex_lock(&s->mu);
        const json_t *c = json_object_get(s->totals, tk);
        if (json_is_number(c)) {
            total = json_number_value(c);
            have = true;
        }
        pthread_mutex_unlock(&s->mu);
        if (!have) {
            const char *mp, *unit;
            if (!point_cached(s, eq, s->o.meters[m].target, a, &mp, &unit))
                continue;
            const json_t *d;
            enum ab_rc rc = latest_doc(s, mp, NULL, a, &d);
            if (rc)
                return rc;
            total = 0; /* a point without documents has counted nothing */
            if (d && !doc_total(s, d, &total))
                continue;
            pthread_mutex_lock(&s->mu);
            if (json_object_size(s->totals) > SAP_CACHE_MAX)
                json_object_clear(s->totals);
            json_object_set_new(s->totals, tk, json_real(total));
            pthread_mutex_unlock(&s->mu);
        }
        if (!*out)
            *out = conn_arena_own(a, json_object());
        json_object_set_new(*out, hub, json_real(total));
    }
    return AB_OK;
}

static void equipment_records(struct sap_ctx *s, const json_t *arr, struct arena *a,
                              struct conn_page *out, enum ab_rc *rc)
{
    size_t n = json_array_size(arr);
    const char **eqs = n ? arena_zalloc(a, n * sizeof(*eqs)) : NULL;
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        if (conn_jstr(json_array_get(arr, i), "Equipment"))
            eqs[ne++] = conn_jstr(json_array_get(arr, i), "Equipment");
    /* the match characteristic's values, batched */
    json_t *charc = conn_arena_own(a, json_object());
    if (s->o.match == CONN_SAP_MATCH_CHARC && ne) {
        size_t batch = (size_t)s->o.lookup_batch;
        for (size_t i = 0; i < ne; i += batch) {
            size_t to = i + batch < ne ? i + batch : ne;
            json_t *all = conn_arena_own(a, json_array());
            const char *filter = arena_printf(a, "(%s) and Characteristic eq %s",
                                              or_filter(a, "Equipment", eqs, i, to),
                                              conn_odata_quote(a, s->o.match_characteristic));
            *rc = get_all(s, v2_root(s, a, "API_EQUIPMENT"), "EquipClassCharacteristicValue",
                          filter, NULL, "Equipment,CharcValue", NULL, a, all);
            if (*rc)
                return;
            size_t k;
            json_t *v;
            json_array_foreach (all, k, v) {
                const char *eq = conn_jstr(v, "Equipment"), *cv = conn_jstr(v, "CharcValue");
                if (!eq || !cv)
                    continue;
                json_t *l = json_object_get(charc, eq);
                if (!l) {
                    l = json_array();
                    json_object_set_new(charc, eq, l);
                }
                bool dup = false;
                size_t q;
                json_t *x;
                json_array_foreach (l, q, x)
                    dup = dup || strcmp(json_string_value(x), cv) == 0;
                if (!dup)
                    json_array_append_new(l, json_string(cv));
            }
        }
    }
    bool totals = s->o.meter_totals && s->o.n_meters > 0;
    if (totals && ne) {
        *rc = points_for(s, eqs, ne, a);
        if (*rc)
            return;
    }
    struct conn_record *r = grow(a, out, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        const char *eq = conn_jstr(e, "Equipment");
        if (!eq)
            continue;
        const char *match = NULL, *ambiguous = NULL;
        const json_t *l = json_object_get(charc, eq);
        if (json_array_size(l) == 1) {
            match = json_string_value(json_array_get(l, 0));
        } else if (json_array_size(l) > 1) {
            const char *all = NULL;
            size_t q;
            json_t *x;
            json_array_foreach ((json_t *)l, q, x)
                all = all ? arena_printf(a, "%s, %s", all, json_string_value(x))
                          : json_string_value(x);
            ambiguous = all;
        }
        json_t *m = NULL;
        if (totals) {
            *rc = meter_totals(s, eq, a, &m);
            if (*rc)
                return;
        }
        if (conn_sap_pm_equipment_record(e, &s->o, match, ambiguous, m, a, &r[out->n_records]) ==
            AB_OK)
            out->n_records++;
    }
}

/* ---- plans, orders, notifications ---------------------------------------------------------- */

static void order_records(struct sap_ctx *s, const json_t *arr, struct arena *a,
                          struct conn_page *out, enum ab_rc *rc)
{
    (void)rc;
    size_t n = json_array_size(arr);
    struct conn_record *r = grow(a, out, n);
    for (size_t i = 0; i < n; i++)
        if (conn_sap_pm_order_record(json_array_get(arr, i), &s->o, a, &r[out->n_records]) == AB_OK)
            out->n_records++;
}

static void notification_records(struct sap_ctx *s, const json_t *arr, struct arena *a,
                                 struct conn_page *out, enum ab_rc *rc)
{
    (void)rc;
    size_t n = json_array_size(arr);
    struct conn_record *r = grow(a, out, n);
    for (size_t i = 0; i < n; i++)
        if (conn_sap_pm_notification_record(json_array_get(arr, i), &s->o, a, &r[out->n_records]) ==
            AB_OK)
            out->n_records++;
}

/* The entries of all whose field equals v (a new array in a). */
static json_t *select_eq(struct arena *a, const json_t *all, const char *field, const char *v)
{
    json_t *o = conn_arena_own(a, json_array());
    size_t i;
    json_t *e;
    json_array_foreach ((json_t *)all, i, e) {
        const char *x = conn_jstr(e, field);
        if (x && strcmp(x, v) == 0)
            json_array_append(o, e);
    }
    return o;
}

static void plan_records(struct sap_ctx *s, const json_t *arr, struct arena *a,
                         struct conn_page *out, enum ab_rc *rc)
{
    size_t n = json_array_size(arr);
    const char **ids = n ? arena_zalloc(a, n * sizeof(*ids)) : NULL;
    size_t ni = 0;
    for (size_t i = 0; i < n; i++)
        if (conn_jstr(json_array_get(arr, i), "MaintenancePlan"))
            ids[ni++] = conn_jstr(json_array_get(arr, i), "MaintenancePlan");
    const char *root = v2_root(s, a, "API_MAINTENANCEPLAN");
    json_t *items = conn_arena_own(a, json_array());
    json_t *cycles = conn_arena_own(a, json_array());
    json_t *scheds = conn_arena_own(a, json_array());
    json_t *points = conn_arena_own(a, json_object());
    size_t batch = (size_t)s->o.lookup_batch;
    for (size_t i = 0; i < ni; i += batch) {
        size_t to = i + batch < ni ? i + batch : ni;
        const char *f = or_filter(a, "MaintenancePlan", ids, i, to);
        *rc = get_all(s, root, "MaintenanceItem", f, "MaintenanceItem", NULL, NULL, a, items);
        if (!*rc)
            *rc = get_all(s, root, "MaintenancePlanCycle", f, NULL, NULL, NULL, a, cycles);
        if (!*rc)
            *rc = get_all(s, root, "MaintenancePlanSchedule", f, NULL, NULL, NULL, a, scheds);
        if (*rc)
            return;
    }
    /* the measuring points of counter cycles: their meter names */
    size_t nc = json_array_size(cycles);
    const char **mps = nc ? arena_zalloc(a, nc * sizeof(*mps)) : NULL;
    size_t nm = 0;
    for (size_t i = 0; i < nc; i++) {
        const char *mp = conn_jstr(json_array_get(cycles, i), "MeasuringPoint");
        if (mp)
            mps[nm++] = mp;
    }
    for (size_t i = 0; i < nm; i += batch) {
        size_t to = i + batch < nm ? i + batch : nm;
        json_t *all = conn_arena_own(a, json_array());
        *rc = get_all(s, SAP_MP, "MeasuringPoint", or_filter(a, "MeasuringPoint", mps, i, to), NULL,
                      arena_printf(a, "MeasuringPoint,Equipment,%s", s->o.meter_key), NULL, a, all);
        if (*rc)
            return;
        size_t k;
        json_t *p;
        json_array_foreach (all, k, p)
            if (conn_jstr(p, "MeasuringPoint"))
                json_object_set(points, conn_jstr(p, "MeasuringPoint"), p);
    }
    struct conn_record *r = grow(a, out, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_array_get(arr, i);
        const char *id = conn_jstr(p, "MaintenancePlan");
        if (!id)
            continue;
        if (conn_sap_pm_plan_record(p, select_eq(a, items, "MaintenancePlan", id),
                                    select_eq(a, cycles, "MaintenancePlan", id),
                                    select_eq(a, scheds, "MaintenancePlan", id), points, &s->o, a,
                                    &r[out->n_records]) == AB_OK)
            out->n_records++;
    }
}

/* ---- measuring points (V4): full passes --------------------------------------------------- */

static enum ab_rc pull_points(struct sap_ctx *s, const char *token, struct arena *a,
                              struct conn_page *out)
{
    int64_t skip = 0;
    if (token && (str_to_i64(token, &skip) != AB_OK || skip < 0))
        return AB_EINVAL;
    const json_t *arr;
    bool more;
    int top = s->o.page_size;
    enum ab_rc rc = get_page(s, SAP_MP, "MeasuringPoint", NULL, "MeasuringPoint", NULL, top,
                             (long long)skip, NULL, a, &arr, &more);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    struct conn_record *r = grow(a, out, n);
    for (size_t i = 0; i < n; i++)
        if (conn_sap_pm_point_record(json_array_get(arr, i), &s->o, a, &r[out->n_records]) == AB_OK)
            out->n_records++;
    if ((int)n >= top || (more && n))
        out->next_page_token = arena_printf(a, "%lld", (long long)skip + (long long)n);
    return AB_OK;
}

static enum ab_rc sap_pull(void *ctx, const char *entity, const char *watermark,
                           const char *page_token, struct arena *a, struct conn_page *out)
{
    struct sap_ctx *s = ctx;
    memset(out, 0, sizeof(*out));
    if (!entity)
        return AB_EUNSUPPORTED;
    if (strcmp(entity, "asset") == 0)
        return pull_v2(s, &SET_EQUIPMENT, watermark, page_token, equipment_records, a, out);
    if (strcmp(entity, "maintenance_plan") == 0)
        return pull_v2(s, &SET_PLAN, watermark, page_token, plan_records, a, out);
    if (strcmp(entity, "work_order") == 0)
        return pull_v2(s, &SET_ORDER, watermark, page_token, order_records, a, out);
    if (strcmp(entity, "notification") == 0)
        return pull_v2(s, &SET_NOTIF, watermark, page_token, notification_records, a, out);
    if (strcmp(entity, "meter") == 0)
        return pull_points(s, page_token, a, out);
    return AB_EUNSUPPORTED; /* asset_type, reading, calibration */
}

/* ---- push: outcomes ----------------------------------------------------------------------- */

/* Fill out from an answer (transport or HTTP) of a write. */
static void write_outcome(const struct sans *ans, struct arena *a, struct conn_result *out)
{
    out->retry_after_ms = -1;
    if (ans->rc != AB_OK) {
        const char *err = ans->resp.error;
        if (ans->rc == AB_EAUTH && !ans->resp.sent && !err) {
            conn_fail(out, CONN_PERMANENT, "auth",
                      "SAP refused the credentials while fetching a CSRF token (401)");
        } else if (ans->rc == AB_EAUTH) {
            conn_fail(out, CONN_PERMANENT, "tls", "TLS verification or client certificate failed");
        } else if (ans->rc == AB_EINVAL) {
            conn_fail(out, CONN_PERMANENT, "config", "the provider's URL is invalid");
        } else if (ans->rc == AB_EUNKNOWN || ans->resp.sent) {
            conn_fail(out, CONN_UNKNOWN, "unknown_outcome",
                      "the request was sent but its answer was lost");
        } else if (ans->rc == AB_ERATELIMIT) {
            conn_fail(out, CONN_RETRYABLE, "throttled", "SAP throttled the CSRF token fetch");
        } else {
            conn_fail(out, CONN_RETRYABLE, ans->rc == AB_ETIMEOUT ? "timeout" : "unavailable",
                      "SAP could not be reached");
        }
        if (err)
            out->message = arena_printf(a, "%s (%s)", out->message, err);
        return;
    }
    conn_sap_pm_http_outcome(ans->resp.status, client_response_header(&ans->resp, "Retry-After"),
                             ans->csrf_required, clock_now_ms(), out);
    out->response = conn_keep_response(a, &ans->resp, SAP_RESPONSE_KEEP);
    if (out->outcome != CONN_OK) {
        const char *m = conn_sap_pm_error_text(ans->json);
        if (!m && ans->resp.body_len && ans->resp.body_len < 300 && !ans->json)
            m = out->response;
        if (m)
            out->message = arena_printf(a, "%s: %s", out->message, m);
    }
}

/* A failed lookup (a GET: never an unknown outcome). */
static void lookup_outcome(enum ab_rc rc, struct arena *a, const char *what,
                           struct conn_result *out)
{
    out->retry_after_ms = -1;
    switch (rc) {
    case AB_EAUTH:
        conn_fail(out, CONN_PERMANENT, "auth", "SAP refused the credentials (401)");
        break;
    case AB_EFORBIDDEN:
        conn_fail(out, CONN_PERMANENT, "forbidden", "SAP refused the lookup (403)");
        break;
    case AB_ENOTFOUND:
        conn_fail(out, CONN_PERMANENT, "not_found", "SAP does not know the service or set");
        break;
    case AB_EINVAL:
        conn_fail(out, CONN_PERMANENT, "validation", "SAP refused the lookup (400)");
        break;
    case AB_ERATELIMIT:
        conn_fail(out, CONN_RETRYABLE, "throttled", "SAP throttled a lookup");
        break;
    default: conn_fail(out, CONN_RETRYABLE, "unavailable", "SAP could not answer a lookup"); break;
    }
    out->message = arena_printf(a, "%s (%s)", out->message, what);
}

static void do_write(struct sap_ctx *s, const char *method, const char *root, const char *path,
                     const char *query, const json_t *body, const struct conn_item *item,
                     struct arena *a, struct conn_result *out, const json_t **answer)
{
    struct scall c = {.method = method,
                      .root = root,
                      .path = path,
                      .query = query,
                      .body = body,
                      .correlation_id = item->correlation_id};
    struct sans ans;
    sap_do(s, &c, a, &ans);
    write_outcome(&ans, a, out);
    if (answer) {
        const json_t *d = json_object_get(ans.json, "d");
        *answer = d ? d : ans.json;
    }
}

/* ---- push: readings -------------------------------------------------------------------------- */

/* The measuring point of (equipment, target): the cache, else one lookup. */
static enum ab_rc find_point(struct sap_ctx *s, const char *eq, const char *target,
                             const char *corr, struct arena *a, const char **mp, const char **unit)
{
    if (point_cached(s, eq, target, a, mp, unit))
        return AB_OK;
    const json_t *arr;
    bool more;
    enum ab_rc rc = get_page(
        s, SAP_MP, "MeasuringPoint",
        arena_printf(a, "Equipment eq %s and %s eq %s", conn_odata_quote(a, eq), s->o.meter_key,
                     conn_odata_quote(a, target)),
        "MeasuringPoint", "MeasuringPoint,Equipment,CharcValueUnit", 1, 0, corr, a, &arr, &more);
    if (rc)
        return rc;
    const json_t *p = json_array_get(arr, 0);
    if (!p || !conn_jstr(p, "MeasuringPoint"))
        return AB_ENOTFOUND;
    *mp = conn_jstr(p, "MeasuringPoint");
    *unit = conn_jstr(p, "CharcValueUnit");
    pthread_mutex_lock(&s->mu);
    json_object_set_new(s->points, arena_printf(a, "%s|%s", eq, target),
                        json_pack("{s:s,s:s}", "mp", *mp, "unit", *unit ? *unit : ""));
    pthread_mutex_unlock(&s->mu);
    return AB_OK;
}

static bool reading_target(const struct conn_item *item, struct conn_result *out, const char **eq,
                           const char **target)
{
    *eq = conn_jstr(item->payload, "asset_native_id");
    *target = conn_jstr(item->payload, "meter_type");
    if (!*eq || !*target) {
        conn_fail(
            out, CONN_PERMANENT, "validation",
            "the usage item names no SAP equipment (asset_native_id) or meter (meter_type: the "
            "measuring point's name from usage.meters target)");
        return false;
    }
    return true;
}

static void push_reading(struct sap_ctx *s, const struct conn_item *item, struct arena *a,
                         struct conn_result *out)
{
    const char *eq, *target, *why;
    if (!reading_target(item, out, &eq, &target))
        return;
    double total;
    if (conn_sap_pm_usage_total(item->payload, &total, &why) != AB_OK) {
        conn_fail(out, CONN_PERMANENT, "validation", why);
        return;
    }
    const char *mp, *unit;
    enum ab_rc rc = find_point(s, eq, target, item->correlation_id, a, &mp, &unit);
    if (rc == AB_ENOTFOUND) {
        conn_fail(out, CONN_PERMANENT, "not_found",
                  arena_printf(a, "equipment '%s' has no measuring point whose %s is '%s'", eq,
                               s->o.meter_key, target));
        return;
    }
    if (rc) {
        lookup_outcome(rc, a, "measuring point", out);
        return;
    }
    int64_t at = clock_now_ms();
    const char *ra = conn_jstr(item->payload, "read_at");
    if (ra && time_parse_rfc3339(ra, &at) != AB_OK)
        at = clock_now_ms();
    char ts[TIME_RFC3339_MAX];
    time_format_rfc3339(at - at % 1000, ts); /* 2026-01-01T08:00:00Z */
    json_t *b = conn_arena_own(a, json_object());
    json_object_set_new(b, "MeasuringPoint", json_string(mp));
    json_object_set_new(b, "MsmtRdngDate", json_string(arena_strndup(a, ts, 10)));
    json_object_set_new(b, "MsmtRdngTime", json_string(arena_strndup(a, ts + 11, 8)));
    json_object_set_new(b, s->o.counter_field, json_real(total));
    if (unit && *unit)
        json_object_set_new(b, "MeasurementReadingEntryUoM", json_string(unit));
    json_object_set_new(b, "MeasurementDocumentText", json_string("assetbridge usage total"));
    const json_t *ans;
    do_write(s, "POST", SAP_MD, "/MeasurementDocument", NULL, b, item, a, out, &ans);
    if (out->outcome == CONN_OK && conn_jstr(ans, "MeasurementDocument"))
        out->native_id = arena_strdup(a, conn_jstr(ans, "MeasurementDocument"));
}

/* ---- push: notifications and orders -------------------------------------------------------- */

static const char *notif_root(struct sap_ctx *s, struct arena *a)
{
    return v2_root(s, a, "API_MAINTNOTIFICATION");
}

/* The notification with this external reference (NULL: none). */
static enum ab_rc notif_by_ref(struct sap_ctx *s, const char *ref, const char *corr,
                               struct arena *a, const json_t **n)
{
    const json_t *arr;
    bool more;
    enum ab_rc rc =
        get_page(s, notif_root(s, a), "MaintenanceNotification",
                 arena_printf(a, "MaintNotifExtReferenceNumber eq %s", conn_odata_quote(a, ref)),
                 "MaintenanceNotification",
                 "MaintenanceNotification,NotifProcessingPhase,NotificationText,MaintPriority,"
                 "MaintenanceOrder",
                 1, 0, corr, a, &arr, &more);
    *n = rc ? NULL : json_array_get(arr, 0);
    return rc;
}

/* The equipment of a work-order payload: asset_native_id, else the
 * equipment whose match field equals asset_ref. */
static enum ab_rc equipment_of(struct sap_ctx *s, const struct conn_item *item, struct arena *a,
                               const char **eq, struct conn_result *out)
{
    *eq = conn_jstr(item->payload, "asset_native_id");
    if (*eq)
        return AB_OK;
    const char *ref = conn_jstr(item->payload, "asset_ref");
    if (!ref || s->o.match == CONN_SAP_MATCH_CHARC) {
        conn_fail(out, CONN_PERMANENT, "validation",
                  "the request names no SAP equipment (asset_native_id)");
        return AB_EINVAL;
    }
    const char *field =
        s->o.match == CONN_SAP_MATCH_MFR_SERIAL ? "ManufacturerSerialNumber" : "SerialNumber";
    const json_t *arr;
    bool more;
    enum ab_rc rc = get_page(s, v2_root(s, a, "API_EQUIPMENT"), "Equipment",
                             arena_printf(a, "%s eq %s", field, conn_odata_quote(a, ref)),
                             "Equipment", "Equipment", 2, 0, item->correlation_id, a, &arr, &more);
    if (rc) {
        lookup_outcome(rc, a, "equipment", out);
        return rc;
    }
    if (json_array_size(arr) != 1) {
        conn_fail(out, CONN_PERMANENT, json_array_size(arr) ? "ambiguous" : "not_found",
                  arena_printf(a, "%s SAP equipment has %s '%s'",
                               json_array_size(arr) ? "more than one" : "no", field, ref));
        return AB_ENOTFOUND;
    }
    *eq = conn_jstr(json_array_get(arr, 0), "Equipment");
    return AB_OK;
}

static void set_in_process(struct sap_ctx *s, const char *id, const struct conn_item *item,
                           struct arena *a, struct conn_result *out)
{
    do_write(s, "POST", notif_root(s, a), "/SetMaintNotifToInProcess",
             arena_printf(a, "MaintenanceNotification=%s", conn_qenc(a, conn_odata_quote(a, id))),
             NULL, item, a, out, NULL);
}

static void complete_notification(struct sap_ctx *s, const char *id, const struct conn_item *item,
                                  struct arena *a, struct conn_result *out)
{
    int64_t now = clock_now_ms();
    const char *done = conn_jstr(item->payload, "completed_at");
    if (done && time_parse_rfc3339(done, &now) != AB_OK)
        now = clock_now_ms();
    char ts[TIME_RFC3339_MAX];
    time_format_rfc3339(now - now % 1000, ts);
    const char *date = arena_printf(a, "datetime'%.10sT00:00'", ts);
    const char *time = arena_printf(a, "time'PT%.2sH%.2sM%.2sS'", ts + 11, ts + 14, ts + 17);
    do_write(s, "POST", notif_root(s, a), "/CompleteMaintNotification",
             arena_printf(a,
                          "MaintenanceNotification=%s&NotificationReferenceDate=%s&"
                          "NotificationReferenceTime=%s",
                          conn_qenc(a, conn_odata_quote(a, id)), conn_qenc(a, date),
                          conn_qenc(a, time)),
             NULL, item, a, out, NULL);
}

static bool want_draft(const struct sap_ctx *s, const json_t *p)
{
    const char *st = conn_jstr(p, "common_status");
    return s->o.draft || (st && strcmp(st, "draft") == 0);
}

static void open_request(struct sap_ctx *s, const struct conn_item *item, struct arena *a,
                         struct conn_result *out)
{
    if (!item->idempotency_key) {
        conn_fail(out, CONN_PERMANENT, "validation", "the request has no idempotency key");
        return;
    }
    char ref[21];
    conn_sap_pm_ext_ref(item->idempotency_key, ref);
    const char *id = NULL, *phase = "1";
    if (item->attempts > 1) {
        /* an earlier attempt may have created it (and failed to put it in
         * process): never create a second one */
        const json_t *n;
        enum ab_rc rc = notif_by_ref(s, ref, item->correlation_id, a, &n);
        if (rc) {
            lookup_outcome(rc, a, "notification by external reference", out);
            return;
        }
        if (n) {
            id = conn_jstr(n, "MaintenanceNotification");
            phase =
                conn_jstr(n, "NotifProcessingPhase") ? conn_jstr(n, "NotifProcessingPhase") : "1";
        }
    }
    if (!id) {
        const char *eq, *why;
        if (equipment_of(s, item, a, &eq, out) != AB_OK)
            return;
        json_t *body;
        if (conn_sap_pm_notification_body(item->payload, &s->o, eq, ref, a, &body, &why) != AB_OK) {
            conn_fail(out, CONN_PERMANENT, "validation", why);
            return;
        }
        const json_t *ans;
        do_write(s, "POST", notif_root(s, a), "/MaintenanceNotification", NULL, body, item, a, out,
                 &ans);
        if (out->outcome != CONN_OK)
            return;
        id = conn_jstr(ans, "MaintenanceNotification");
        if (!id) {
            conn_fail(
                out, CONN_UNKNOWN, "malformed_response",
                "SAP created the notification but its answer names no MaintenanceNotification");
            return;
        }
        phase =
            conn_jstr(ans, "NotifProcessingPhase") ? conn_jstr(ans, "NotifProcessingPhase") : "1";
    }
    id = arena_strdup(a, id);
    if (!want_draft(s, item->payload) && strcmp(phase, "1") == 0) {
        set_in_process(s, id, item, a, out);
        if (out->outcome != CONN_OK) {
            /* created: a later attempt finds it by its reference (resolve
             * answers not_found until it is in process) */
            out->message = arena_printf(a, "notification %s created; putting it in process: %s", id,
                                        out->message ? out->message : "failed");
            return;
        }
    }
    memset(out, 0, sizeof(*out));
    out->outcome = CONN_OK;
    out->retry_after_ms = -1;
    out->native_id = id;
}

/* Final confirmations for every operation of order id that has none. */
static void confirm_order(struct sap_ctx *s, const char *id, const struct conn_item *item,
                          struct arena *a, struct conn_result *out)
{
    json_t *ops = conn_arena_own(a, json_array());
    json_t *confs = conn_arena_own(a, json_array());
    const char *f = arena_printf(a, "MaintenanceOrder eq %s", conn_odata_quote(a, id));
    enum ab_rc rc = get_all(s, v2_root(s, a, "API_MAINTENANCEORDER"), "MaintenanceOrderOperation",
                            f, NULL, NULL, item->correlation_id, a, ops);
    const char *croot = v2_root(s, a, "API_MAINTORDERCONFIRMATION");
    if (!rc)
        rc = get_all(s, croot, "MaintOrderConfirmation", f, NULL, NULL, item->correlation_id, a,
                     confs);
    if (rc) {
        lookup_outcome(rc, a, "order operations and confirmations", out);
        return;
    }
    char ref[21];
    conn_sap_pm_ext_ref(item->idempotency_key, ref);
    size_t i, k;
    json_t *op, *cf;
    int posted = 0;
    json_array_foreach (ops, i, op) {
        const char *opn = conn_jstr(op, "MaintenanceOrderOperation");
        const char *sub = conn_jstr(op, "MaintenanceOrderSubOperation");
        if (!opn)
            continue;
        bool done = false;
        json_array_foreach (confs, k, cf) {
            const char *co = conn_jstr(cf, "MaintenanceOrderOperation");
            const json_t *fin = json_object_get(cf, "IsFinalConfirmation");
            if (co && strcmp(co, opn) == 0 && json_is_true(fin))
                done = true;
        }
        if (done)
            continue;
        json_t *b = conn_arena_own(a, json_object());
        json_object_set_new(b, "MaintenanceOrder", json_string(id));
        json_object_set_new(b, "MaintenanceOrderOperation", json_string(opn));
        if (sub)
            json_object_set_new(b, "MaintenanceOrderSubOperation", json_string(sub));
        json_object_set_new(b, "IsFinalConfirmation", json_true());
        json_object_set_new(b, "ConfirmationText",
                            json_string(arena_printf(a, "assetbridge %s", ref)));
        do_write(s, "POST", croot, "/MaintOrderConfirmation", NULL, b, item, a, out, NULL);
        if (out->outcome != CONN_OK)
            return;
        posted++;
    }
    memset(out, 0, sizeof(*out));
    out->outcome = CONN_OK;
    out->retry_after_ms = -1;
    out->message = posted ? arena_printf(a, "%d final confirmation(s) posted", posted)
                          : "every operation was finally confirmed already";
}

static void update_work_order(struct sap_ctx *s, const struct conn_item *item, struct arena *a,
                              struct conn_result *out)
{
    const json_t *p = item->payload;
    const char *st = conn_jstr(p, "common_status");
    const char *wo = conn_jstr(p, "common_work_order_id");
    const json_t *n = NULL;
    if (wo) {
        char ref[21];
        conn_sap_pm_ext_ref(arena_printf(a, "wo:%s:create", wo), ref);
        enum ab_rc rc = notif_by_ref(s, ref, item->correlation_id, a, &n);
        if (rc) {
            lookup_outcome(rc, a, "notification by external reference", out);
            return;
        }
    }
    out->outcome = CONN_OK;
    if (n) {
        /* a request the hub opened: a notification */
        const char *id = arena_strdup(a, conn_jstr(n, "MaintenanceNotification"));
        const char *phase =
            conn_jstr(n, "NotifProcessingPhase") ? conn_jstr(n, "NotifProcessingPhase") : "1";
        const char *text = conn_jstr(p, "notes");
        const char *prio = conn_jstr(p, "priority");
        const char *nat = prio ? conn_sap_pm_map_native(&s->o.priority, prio) : NULL;
        const char *title = NULL;
        if (text) {
            const char *nl = strchr(text, '\n');
            title = nl ? arena_strndup(a, text, (size_t)(nl - text)) : text;
            if (strlen(title) > 40)
                title = arena_strndup(a, title, 40);
        }
        bool open = strcmp(phase, "4") != 0;
        json_t *patch = conn_arena_own(a, json_object());
        if (open && title && *title && !str_eq(title, conn_jstr(n, "NotificationText")))
            json_object_set_new(patch, "NotificationText", json_string(title));
        if (open && nat && !str_eq(nat, conn_jstr(n, "MaintPriority")))
            json_object_set_new(patch, "MaintPriority", json_string(nat));
        if (json_object_size(patch)) {
            do_write(s, "PATCH", notif_root(s, a),
                     arena_printf(a, "/MaintenanceNotification(%s)",
                                  conn_qenc(a, conn_odata_quote(a, id))),
                     NULL, patch, item, a, out, NULL);
            if (out->outcome != CONN_OK)
                return;
        }
        if (!st)
            return;
        bool done = !strcmp(st, "completed") || !strcmp(st, "closed");
        /* open (a draft approved with :submit), assigned, in progress: SAP's
         * "in process" */
        bool work = !strcmp(st, "open") || !strcmp(st, "in_progress") || !strcmp(st, "assigned");
        if ((work || done) && strcmp(phase, "1") == 0 && !want_draft(s, p)) {
            set_in_process(s, id, item, a, out);
            if (out->outcome != CONN_OK)
                return;
        }
        if (done && open) {
            complete_notification(s, id, item, a, out);
            if (out->outcome != CONN_OK)
                return;
        }
        const char *ord = conn_jstr(n, "MaintenanceOrder");
        if (done && ord && s->o.final_confirmation)
            confirm_order(s, ord, item, a, out);
        if (!strcmp(st, "cancelled"))
            out->message = "SAP PM has no cancel action for notifications (nothing sent)";
        return;
    }
    const char *src = conn_jstr(p, "source_work_order_id");
    if (!src) {
        conn_fail(out, CONN_PERMANENT, "not_found",
                  "the work order has no SAP order or notification yet (source_work_order_id)");
        return;
    }
    /* a maintenance order: read-only in API_MAINTENANCEORDER v0001; its
     * completion is posted as final confirmations */
    if (st && (!strcmp(st, "completed") || !strcmp(st, "closed")) && s->o.final_confirmation) {
        confirm_order(s, src, item, a, out);
        return;
    }
    out->message = "SAP's order API is read-only: nothing to send for this change";
}

static enum ab_rc sap_push(void *ctx, const struct conn_item *item, struct arena *a,
                           struct conn_result *out)
{
    struct sap_ctx *s = ctx;
    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    if (!json_is_object(item->payload)) {
        conn_fail(out, CONN_PERMANENT, "validation", "the payload is not a JSON object");
        return AB_OK;
    }
    const char *act = item->action ? item->action : "";
    if (strcmp(act, "push_reading") == 0)
        push_reading(s, item, a, out);
    else if (strcmp(act, "open_request") == 0)
        open_request(s, item, a, out);
    else if (strcmp(act, "update_work_order") == 0)
        update_work_order(s, item, a, out);
    else
        conn_fail(out, CONN_PERMANENT, "unsupported",
                  "the SAP PM connector cannot perform this action");
    return AB_OK;
}

/* ---- resolve ------------------------------------------------------------------------------- */

static enum ab_rc sap_resolve(void *ctx, const struct conn_item *item, struct arena *a,
                              enum conn_resolution *out)
{
    struct sap_ctx *s = ctx;
    *out = CONN_RESOLVED_UNKNOWN;
    const char *act = item->action ? item->action : "";
    if (!json_is_object(item->payload))
        return AB_OK;
    if (strcmp(act, "push_reading") == 0) {
        struct conn_result tmp;
        memset(&tmp, 0, sizeof(tmp));
        const char *eq, *target, *why, *mp, *unit;
        double total, have;
        if (!reading_target(item, &tmp, &eq, &target) ||
            conn_sap_pm_usage_total(item->payload, &total, &why) != AB_OK) {
            *out = CONN_RESOLVED_NOT_FOUND; /* the push refuses it again, permanently */
            return AB_OK;
        }
        if (find_point(s, eq, target, item->correlation_id, a, &mp, &unit) != AB_OK)
            return AB_OK;
        const json_t *d;
        if (latest_doc(s, mp, item->correlation_id, a, &d) != AB_OK)
            return AB_OK;
        /* the latest reading holds our total (or a newer, larger one, which
         * a resend could only contradict) */
        *out = d && doc_total(s, d, &have) && have >= total - 1e-9 ? CONN_RESOLVED_FOUND
                                                                   : CONN_RESOLVED_NOT_FOUND;
        return AB_OK;
    }
    if (strcmp(act, "open_request") == 0) {
        if (!item->idempotency_key)
            return AB_OK;
        char ref[21];
        conn_sap_pm_ext_ref(item->idempotency_key, ref);
        const json_t *n;
        if (notif_by_ref(s, ref, item->correlation_id, a, &n) != AB_OK)
            return AB_OK;
        if (!n) {
            *out = CONN_RESOLVED_NOT_FOUND;
            return AB_OK;
        }
        /* It exists. conn_resolve cannot hand the notification number back
         * (the engine would complete the item without a source id), so the
         * answer is not_found: the resend (attempts > 1) finds it by its
         * reference, creates nothing and finishes it (in process) with its
         * number. An item whose notification is missing is not_found too. */
        *out = CONN_RESOLVED_NOT_FOUND;
        return AB_OK;
    }
    if (strcmp(act, "update_work_order") == 0) {
        *out = CONN_RESOLVED_NOT_FOUND; /* each step checks SAP's state first */
        return AB_OK;
    }
    return AB_OK;
}

/* ---- translate ------------------------------------------------------------------------------ */

static enum ab_rc sap_translate(void *ctx, enum conn_direction dir, const char *entity,
                                const json_t *in, struct arena *a, json_t **out)
{
    struct sap_ctx *s = ctx;
    *out = NULL;
    if (!json_is_object(in) || !entity)
        return AB_EINVAL;
    struct conn_sap_pm_opts def;
    conn_sap_pm_opts_default(&def);
    const struct conn_sap_pm_opts *o = s ? &s->o : &def;
    struct conn_record r;
    enum ab_rc rc;
    if (dir == CONN_TO_CANONICAL) {
        if (strcmp(entity, "asset") == 0)
            rc = conn_sap_pm_equipment_record(in, o, NULL, NULL, NULL, a, &r);
        else if (strcmp(entity, "work_order") == 0)
            rc = conn_sap_pm_order_record(in, o, a, &r);
        else if (strcmp(entity, "notification") == 0)
            rc = conn_sap_pm_notification_record(in, o, a, &r);
        else if (strcmp(entity, "meter") == 0)
            rc = conn_sap_pm_point_record(in, o, a, &r);
        else if (strcmp(entity, "maintenance_plan") == 0)
            rc = conn_sap_pm_plan_record(in, NULL, NULL, NULL, NULL, o, a, &r);
        else
            return AB_EUNSUPPORTED;
        if (!rc)
            *out = r.doc;
        return rc;
    }
    if (strcmp(entity, "work_order") == 0 || strcmp(entity, "notification") == 0) {
        const char *why;
        return conn_sap_pm_notification_body(in, o, conn_jstr(in, "asset_native_id"), NULL, a, out,
                                             &why);
    }
    return AB_EUNSUPPORTED;
}

/* ---- init / cleanup / health ----------------------------------------------------------------- */

static char *base64(const char *in)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in);
    char *o = xmalloc((n + 2) / 3 * 4 + 1), *p = o;
    const unsigned char *u = (const unsigned char *)in;
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

static const char *dup_or(struct arena *a, const char *v, const char *def)
{
    return v && *v ? arena_strdup(a, v) : def ? arena_strdup(a, def) : NULL;
}

static struct conn_sap_pm_map copy_map(struct arena *a, const struct conn_sap_pm_map *m)
{
    const char **nat = m->n ? arena_zalloc(a, m->n * sizeof(*nat)) : NULL;
    const char **com = m->n ? arena_zalloc(a, m->n * sizeof(*com)) : NULL;
    for (size_t i = 0; i < m->n; i++) {
        nat[i] = arena_strdup(a, m->native[i]);
        com[i] = arena_strdup(a, m->common[i]);
    }
    return (struct conn_sap_pm_map){nat, com, m->n};
}

enum ab_rc conn_sap_pm_init_with(const struct config_provider *cfg, struct client *client,
                                 const struct conn_sap_pm_opts *opts, void **ctx, char *err,
                                 size_t errlen)
{
    *ctx = NULL;
    const char *name = cfg->name ? cfg->name : "?";
    const char *scheme = cfg->auth.scheme ? cfg->auth.scheme : "none";
    if (strcmp(scheme, "basic") != 0) {
        snprintf(err, errlen,
                 "provider %s: SAP PM takes auth scheme basic (auth.user, auth.password), not %s",
                 name, scheme);
        return AB_ECONFIG;
    }
    if (!cfg->auth.user || !*cfg->auth.user) {
        snprintf(err, errlen, "provider %s: auth scheme basic needs auth.user", name);
        return AB_ECONFIG;
    }
    if (!cfg->base_url || !*cfg->base_url) {
        snprintf(err, errlen, "provider %s: base_url is required", name);
        return AB_ECONFIG;
    }
    if (opts->match == CONN_SAP_MATCH_CHARC &&
        !(opts->match_characteristic && *opts->match_characteristic)) {
        snprintf(err, errlen, "provider %s: match_key characteristic needs match_characteristic",
                 name);
        return AB_ECONFIG;
    }
    struct sap_ctx *s = xcalloc(1, sizeof(*s));
    s->client = client;
    if (!client) {
        struct client_opts co;
        client_opts_from_config(cfg, &co);
        enum ab_rc rc = client_new(&co, &s->own_client, err, errlen);
        if (rc) {
            free(s);
            return rc;
        }
        s->client = s->own_client;
    }
    size_t n = strlen(cfg->auth.user) + (cfg->auth.password ? strlen(cfg->auth.password) : 0) + 2;
    char *up = xmalloc(n);
    snprintf(up, n, "%s:%s", cfg->auth.user, cfg->auth.password ? cfg->auth.password : "");
    char *b64 = base64(up);
    free(up);
    n = strlen(b64) + 7;
    s->auth_header = xmalloc(n);
    snprintf(s->auth_header, n, "Basic %s", b64);
    free(b64);
    s->https = strncmp(cfg->base_url, "https:", 6) == 0;

    s->strs = arena_new(0, 0);
    struct arena *a = s->strs;
    s->o = *opts;
    s->o.sap_client = dup_or(a, opts->sap_client, NULL);
    s->o.service_version = dup_or(a, opts->service_version, NULL);
    s->o.notification_type = dup_or(a, opts->notification_type, "M1");
    s->o.default_type = dup_or(a, opts->default_type, "corrective");
    s->o.match_characteristic = dup_or(a, opts->match_characteristic, NULL);
    s->o.deleted_status = dup_or(a, opts->deleted_status, "retired");
    s->o.inactive_status = dup_or(a, opts->inactive_status, "in_storage");
    s->o.meter_key = dup_or(a, opts->meter_key, "MeasuringPointPositionNumber");
    s->o.counter_field = dup_or(a, opts->counter_field, "MeasurementCounterReading");
    s->o.priority = copy_map(a, &opts->priority);
    s->o.order_phase = copy_map(a, &opts->order_phase);
    s->o.notification_phase = copy_map(a, &opts->notification_phase);
    s->o.order_type = copy_map(a, &opts->order_type);
    s->o.notification_type_map = copy_map(a, &opts->notification_type_map);
    if (s->o.page_size <= 0)
        s->o.page_size = 500;
    if (s->o.lookup_batch <= 0)
        s->o.lookup_batch = 40;
    if (s->o.max_retries < 0)
        s->o.max_retries = 0;
    if (s->o.retry_cap_ms <= 0)
        s->o.retry_cap_ms = 10000;
    if (s->o.retry_base_ms <= 0)
        s->o.retry_base_ms = 500;
    /* the pushed meters: the options', else the provider's usage.meters */
    size_t nm = opts->n_meters ? opts->n_meters : cfg->usage.n_meters;
    struct conn_sap_pm_meter *m = nm ? arena_zalloc(a, nm * sizeof(*m)) : NULL;
    for (size_t i = 0; i < nm; i++) {
        const char *hub = opts->n_meters ? opts->meters[i].hub_meter : cfg->usage.meters[i].name;
        const char *t = opts->n_meters ? opts->meters[i].target : cfg->usage.meters[i].target;
        m[i].hub_meter = dup_or(a, hub, "");
        m[i].target = dup_or(a, t, m[i].hub_meter);
    }
    s->o.meters = m;
    s->o.n_meters = nm;
    pthread_mutex_init(&s->mu, NULL);
    s->jar = json_object();
    s->points = json_object();
    s->totals = json_object();
    *ctx = s;
    return AB_OK;
}

static const char *const status_names[] = {"draft",       "open",      "assigned",
                                           "in_progress", "on_hold",   "completed",
                                           "closed",      "cancelled", NULL};
static const char *const priority_names[] = {"low", "medium", "high", "urgent", NULL};
static const char *const type_names[] = {"preventive", "corrective", "calibration", "inspection",
                                         NULL};

/* Options from the provider's `sap_pm:` section; AB_ECONFIG for a map
 * item naming no common value. */
static enum ab_rc opts_from_config(const struct config_provider *cfg, struct arena *a,
                                   struct conn_sap_pm_opts *o, char *err, size_t errlen)
{
    const struct config_sap_pm *c = &cfg->sap_pm;
    conn_sap_pm_opts_default(o);
    o->draft = cfg->mode[DOMAIN_WORK_ORDERS] == MODE_DRAFT;
    if (!c->filter_literal) /* a zeroed config_provider (tests): the defaults */
        return AB_OK;
    o->sap_client = c->sap_client;
    o->service_version = c->service_version;
    o->page_size = (int)c->page_size;
    o->lookup_batch = (int)c->lookup_batch;
    o->filter_datetime = strcmp(c->filter_literal, "datetime") == 0;
    o->csrf_head = c->csrf_fetch && strcmp(c->csrf_fetch, "head") == 0;
    if (c->notification_type)
        o->notification_type = c->notification_type;
    if (c->default_type)
        o->default_type = c->default_type;
    o->match = !c->match_key                                      ? CONN_SAP_MATCH_SERIAL
               : strcmp(c->match_key, "manufacturer_serial") == 0 ? CONN_SAP_MATCH_MFR_SERIAL
               : strcmp(c->match_key, "characteristic") == 0      ? CONN_SAP_MATCH_CHARC
                                                                  : CONN_SAP_MATCH_SERIAL;
    o->match_characteristic = c->match_characteristic;
    if (c->deleted_status)
        o->deleted_status = c->deleted_status;
    if (c->inactive_status)
        o->inactive_status = c->inactive_status;
    if (c->meter_key)
        o->meter_key = c->meter_key;
    if (c->counter_field)
        o->counter_field = c->counter_field;
    o->meter_totals = c->meter_totals;
    o->final_confirmation = c->final_confirmation;
    o->max_retries = (int)c->max_retries;
    o->retry_base_ms = c->retry_base_ms;
    o->retry_cap_ms = c->retry_cap_ms;
    const struct {
        const struct config_string_list *l;
        struct conn_sap_pm_map *m;
        const char *const *allowed;
        const char *key;
    } maps[] = {
        {&c->priority_map, &o->priority, priority_names, "priority_map"},
        {&c->order_phase_map, &o->order_phase, status_names, "order_phase_map"},
        {&c->notification_phase_map, &o->notification_phase, status_names,
         "notification_phase_map"},
        {&c->order_type_map, &o->order_type, type_names, "order_type_map"},
        {&c->notification_type_map, &o->notification_type_map, type_names, "notification_type_map"},
    };
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        if (!maps[i].l->n)
            continue; /* the default map */
        char why[160];
        if (conn_sap_pm_map_parse(a, maps[i].l->v, maps[i].l->n, maps[i].allowed, maps[i].m, why,
                                  sizeof(why)) != AB_OK) {
            snprintf(err, errlen, "provider %s: sap_pm.%s: %s", cfg->name ? cfg->name : "?",
                     maps[i].key, why);
            return AB_ECONFIG;
        }
    }
    return AB_OK;
}

static enum ab_rc sap_init(const struct config_provider *cfg, struct client *client, void **ctx,
                           char *err, size_t errlen)
{
    struct arena *a = arena_new(0, 0);
    struct conn_sap_pm_opts o;
    enum ab_rc rc = opts_from_config(cfg, a, &o, err, errlen);
    if (!rc)
        rc = conn_sap_pm_init_with(cfg, client, &o, ctx, err, errlen);
    arena_free(a);
    return rc;
}

static void sap_cleanup(void *ctx)
{
    struct sap_ctx *s = ctx;
    if (!s)
        return;
    client_free(s->own_client);
    json_decref(s->jar);
    json_decref(s->points);
    json_decref(s->totals);
    pthread_mutex_destroy(&s->mu);
    arena_free(s->strs);
    free(s->csrf);
    free(s->auth_header);
    free(s);
}

static enum ab_rc sap_health(void *ctx, struct arena *a, struct conn_health *out)
{
    struct sap_ctx *s = ctx;
    memset(out, 0, sizeof(*out));
    struct scall c = {.method = "GET",
                      .root = v2_root(s, a, "API_EQUIPMENT"),
                      .path = "/Equipment",
                      .query = "$top=1&$select=Equipment"};
    struct sans ans;
    sap_do(s, &c, a, &ans);
    enum ab_rc trc = conn_health_transport(ans.rc, ans.resp.error, s->https, "SAP", a, out);
    if (trc)
        return trc;
    int st = ans.resp.status;
    if (st == 401 || st == 403) {
        out->auth = CONN_CHECK_FAILED;
        out->message = st == 401 ? "SAP refused the credentials (401): check auth.user, "
                                   "auth.password and sap_client"
                                 : "SAP refused the equipment list (403): missing authorization";
        return st == 401 ? AB_EAUTH : AB_EFORBIDDEN;
    }
    if (st == 429 || st >= 500) {
        out->message = arena_printf(a, "SAP is unavailable (%d)", st);
        return st == 429 ? AB_ERATELIMIT : AB_EUNAVAILABLE;
    }
    bool more;
    if (!conn_is_2xx(st) || !entries(ans.json, &more)) {
        out->auth = conn_is_2xx(st) ? CONN_CHECK_OK : CONN_CHECK_FAILED;
        out->version = CONN_CHECK_FAILED;
        out->message = arena_printf(a,
                                    "SAP answered the equipment list with HTTP %d and no "
                                    "OData V2 JSON collection",
                                    st);
        return AB_EUNSUPPORTED;
    }
    out->auth = CONN_CHECK_OK;
    /* writes need a CSRF token: the version step is that the Gateway hands
     * one out (csrf_fetch) */
    enum ab_rc rc = csrf_fetch(s, c.root, NULL, a);
    if (rc) {
        out->version = CONN_CHECK_FAILED;
        out->message = "SAP Gateway handed out no CSRF token (X-CSRF-Token: Fetch); writes would "
                       "fail (try sap_pm.csrf_fetch: head)";
        return rc;
    }
    out->version = CONN_CHECK_OK;
    out->provider_version = "S/4HANA PM OData (API_EQUIPMENT V2, measurement documents V4)";
    return AB_OK;
}

const struct conn_ops conn_sap_pm = {
    CONN_ABI_V1, /* abi */
    "sap_pm",    /* name: provider type "sap_pm" */
    CONN_CAP_PULL_ASSETS | CONN_CAP_PULL_METERS | CONN_CAP_PULL_PLANS | CONN_CAP_PULL_WORK_ORDERS |
        CONN_CAP_PUSH_READINGS | CONN_CAP_OPEN_REQUEST | CONN_CAP_UPDATE_WORK_ORDER, /* caps */
    sap_init,      /* init: Basic user/password, sap_pm options, maps */
    sap_cleanup,   /* cleanup */
    sap_health,    /* health: authenticated equipment list, then a CSRF token */
    sap_pull,      /* pull: asset, meter, maintenance_plan, work_order, notification */
    sap_push,      /* push: measurement documents, notifications, final confirmations */
    sap_resolve,   /* resolve: latest document; notification by external reference */
    sap_translate, /* translate: native <-> canonical for one payload */
};
