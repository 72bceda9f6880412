/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_wats_map.c: the pure half of the WATS connector: server version
 * parsing, the lifecycle state table, asset type keywords, OData query and
 * literal building, WATS date-times (with and without a zone), the mapping
 * of HTTP answers to push outcomes, the warning/alarm derivation from type
 * limits, and the translation of WATS assets, asset types and report headers
 * into canonical records (and of canonical assets into the PUT body). No
 * network, no state: everything here is thread-safe. conn_wats.c (the
 * network half) and the unit tests call it; contracts are in conn_wats.h and
 * the tables in docs/connectors/wats.md.
 */
#include "conn/conn_wats.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn/conn_util.h"
#include "core/str.h"
#include "core/retry_after.h"
#include "core/timefmt.h"
#include "model/asset.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))
#define WATS_RETRY_AFTER_CEILING_MS (60 * 60 * 1000)
#define ATTR_STR_MAX 1024 /* MODEL_ASSET_ATTRIBUTE_STR_MAX */

/* ---- options -------------------------------------------------------------------- */

void conn_wats_opts_default(struct conn_wats_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->page_size = 1000;
    o->log_page_size = 200;
    o->report_page_size = 500;
    o->lookup_batch = 20;
    o->paging = CONN_WATS_PAGING_SKIP;
    o->incremental_via_log = true;
    o->log_tiebreak = true;
    o->status_for_changed = true;
    o->derive_status = true;
    o->default_warning_pct = 80;
    o->default_alarm_pct = 100;
    o->send_dates = CONN_WATS_DATE_UTC_Z;
    o->naive_offset_min = 0;
    o->usage_endpoint = CONN_WATS_USAGE_COUNT;
    o->set_total_param = "totalCount";
    o->set_running_param = "runningCount";
    o->external_from_param = "fromDate";
    o->external_to_param = "toDate";
    o->report_cursor_field = "timeStamp";
    o->external_sentinel = false;
    o->external_sentinel_value = -2;
    o->due_tolerance_ms = 24 * 60 * 60 * 1000LL;
    o->requests_per_minute = 500;
    o->max_retries = 2;
    o->retry_base_ms = 500;
    o->retry_cap_ms = 10000;
    o->version_ttl_ms = 60 * 60 * 1000LL;
    o->types_ttl_ms = 5 * 60 * 1000LL;
}

bool conn_wats_types_has(const struct conn_wats_types *l, const char *type_id,
                         const char *type_name)
{
    for (size_t i = 0; l && i < l->n; i++) {
        if (!l->v[i])
            continue;
        if ((type_id && strcasecmp(l->v[i], type_id) == 0) ||
            (type_name && strcasecmp(l->v[i], type_name) == 0))
            return true;
    }
    return false;
}

/* ---- version -------------------------------------------------------------------- */

enum ab_rc conn_wats_version_parse(const char *body, size_t len, struct conn_wats_version *out)
{
    memset(out, 0, sizeof(*out));
    if (!body)
        return AB_EPARSE;
    const char *p = body, *end = body + len;
    /* XML: the text of the first element */
    const char *lt = memchr(p, '<', len);
    if (lt) {
        const char *gt = memchr(lt, '>', (size_t)(end - lt));
        if (!gt)
            return AB_EPARSE;
        p = gt + 1;
        const char *close = memchr(p, '<', (size_t)(end - p));
        if (close)
            end = close;
    }
    while (p < end && !isdigit((unsigned char)*p))
        p++;
    if (p == end)
        return AB_EPARSE;
    int parts[4] = {0, 0, 0, 0};
    int n = 0;
    while (p < end && n < 4) {
        if (!isdigit((unsigned char)*p))
            break;
        long v = 0;
        while (p < end && isdigit((unsigned char)*p)) {
            v = v * 10 + (*p - '0');
            if (v > 100000)
                return AB_EPARSE;
            p++;
        }
        parts[n++] = (int)v;
        if (p < end && *p == '.')
            p++;
        else
            break;
    }
    if (n == 0)
        return AB_EPARSE;
    out->major = parts[0] >= 2000 ? parts[0] - 2000 : parts[0];
    out->minor = parts[1];
    out->patch = parts[2];
    out->build = parts[3];
    return AB_OK;
}

bool conn_wats_version_at_least(const struct conn_wats_version *v, int major, int minor)
{
    if (!v)
        return false;
    return v->major > major || (v->major == major && v->minor >= minor);
}

/* ---- value lists ---------------------------------------------------------------- */

/* WATS state -> canonical status; index = state. */
static const char *const state_status[] = {
    NULL,             /* 0 Unknown: left out */
    "active",         /* 1 In Operation */
    "in_transit",     /* 2 In Transit */
    "in_maintenance", /* 3 In Maintenance */
    "in_calibration", /* 4 In Calibration */
    "in_storage",     /* 5 In Storage */
    "scrapped",       /* 6 Scrapped */
};

/* Canonical status -> WATS state (two lossy rows: in_repair, retired). */
static const struct {
    const char *status;
    int state;
} status_state[] = {
    {"active", 1},         {"in_transit", 2}, {"in_maintenance", 3}, {"in_repair", 3},
    {"in_calibration", 4}, {"in_storage", 5}, {"scrapped", 6},       {"retired", 6},
};

enum ab_rc conn_wats_state_to_status(int state, const char **status)
{
    *status = state >= 0 && (size_t)state < NELEM(state_status) ? state_status[state] : NULL;
    return *status ? AB_OK : AB_ENOTFOUND;
}

enum ab_rc conn_wats_status_to_state(const char *status, int *state)
{
    for (size_t i = 0; status && i < NELEM(status_state); i++)
        if (strcmp(status_state[i].status, status) == 0) {
            *state = status_state[i].state;
            return AB_OK;
        }
    *state = -1;
    return AB_ENOTFOUND;
}

static bool has_word(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return false;
}

const char *conn_wats_type_to_canonical(const char *type_name)
{
    static const struct {
        const char *word, *type;
    } words[] = {
        {"station", "station"},
        {"tester", "station"},
        {"rack", "station"},
        {"fixture", "fixture"},
        {"jig", "fixture"},
        {"adapter", "fixture"},
        {"nest", "fixture"},
        {"instrument", "instrument"},
        {"dmm", "instrument"},
        {"meter", "instrument"},
        {"scope", "instrument"},
        {"supply", "instrument"},
        {"analyzer", "instrument"},
        {"analyser", "instrument"},
        {"generator", "instrument"},
        {"load", "instrument"},
        {"tool", "tool"},
        {"torque", "tool"},
        {"driver", "tool"},
    };
    for (size_t i = 0; type_name && i < NELEM(words); i++)
        if (has_word(type_name, words[i].word))
            return words[i].type;
    return "other";
}

/* ---- OData, query strings --------------------------------------------------------- */

const char *conn_wats_odata_query(struct arena *a, const char *filter, const char *orderby, int top,
                                  long long skip, const char *expand)
{
    const char *q = "";
    const char *sep = "";
    if (filter) {
        q = arena_printf(a, "%s%s$filter=%s", q, sep, conn_qenc(a, filter));
        sep = "&";
    }
    if (orderby) {
        q = arena_printf(a, "%s%s$orderby=%s", q, sep, conn_qenc(a, orderby));
        sep = "&";
    }
    if (top > 0) {
        q = arena_printf(a, "%s%s$top=%d", q, sep, top);
        sep = "&";
    }
    if (skip > 0) {
        q = arena_printf(a, "%s%s$skip=%lld", q, sep, skip);
        sep = "&";
    }
    if (expand)
        q = arena_printf(a, "%s%s$expand=%s", q, sep, conn_qenc(a, expand));
    return q;
}

/* ---- dates ---------------------------------------------------------------------- */

enum ab_rc conn_wats_time_parse(const char *s, int naive_offset_min, int64_t *ms)
{
    *ms = INT64_MIN;
    if (!s)
        return AB_EINVAL;
    size_t n = strlen(s);
    if (n == 10 && s[4] == '-' && s[7] == '-') { /* a bare date */
        char buf[32];
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        int64_t v;
        if (time_parse_rfc3339(buf, &v) != AB_OK)
            return AB_EINVAL;
        *ms = v - (int64_t)naive_offset_min * 60000;
        return AB_OK;
    }
    if (n < 19 || n > 40)
        return AB_EINVAL;
    /* the zone, if any, follows the seconds and an optional fraction */
    size_t i = 19;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    }
    int64_t v;
    if (i == n) {
        char buf[48];
        snprintf(buf, sizeof(buf), "%sZ", s);
        if (time_parse_rfc3339(buf, &v) != AB_OK)
            return AB_EINVAL;
        *ms = v - (int64_t)naive_offset_min * 60000;
        return AB_OK;
    }
    if (time_parse_rfc3339(s, &v) != AB_OK)
        return AB_EINVAL;
    *ms = v;
    return AB_OK;
}

void conn_wats_time_format(int64_t ms, enum conn_wats_date_style style, int naive_offset_min,
                           char out[32])
{
    char buf[TIME_RFC3339_MAX];
    int64_t t = ms - (ms % 1000 + 1000) % 1000; /* whole seconds */
    if (style == CONN_WATS_DATE_NAIVE)
        t += (int64_t)naive_offset_min * 60000;
    time_format_rfc3339(t, buf);
    size_t n = strlen(buf);
    if (style == CONN_WATS_DATE_NAIVE && n && buf[n - 1] == 'Z')
        buf[n - 1] = '\0';
    snprintf(out, 32, "%s", buf);
}

/* ---- outcomes ------------------------------------------------------------------- */

void conn_wats_http_outcome(int status, const char *retry_after, int64_t now_ms,
                            struct conn_result *out)
{
    out->retry_after_ms = -1;
    if (status >= 200 && status < 300) {
        out->outcome = CONN_OK;
        out->error_class = NULL;
        out->message = NULL;
        return;
    }
    out->outcome = CONN_PERMANENT;
    switch (status) {
    case 400:
    case 422:
        out->error_class = "validation";
        out->message = "WATS rejected the request as invalid";
        break;
    case 401:
        out->error_class = "auth";
        out->message = "WATS refused the credentials (401): check the provider's auth.token "
                       "(a WATS API token, sent as 'Basic <token>'; username/password is "
                       "refused since WATS 2025.2)";
        break;
    case 403:
        out->error_class = "forbidden";
        out->message = "WATS refused the operation (403): the token lacks the permission";
        break;
    case 404:
        out->error_class = "not_found";
        out->message = "WATS does not know the target (404)";
        break;
    case 405:
        out->error_class = "unsupported";
        out->message = "WATS does not allow this method here (405)";
        break;
    case 409:
        out->error_class = "conflict";
        out->message = "WATS reported a conflict (409)";
        break;
    case 408:
    case 429:
        out->outcome = CONN_RETRYABLE;
        out->error_class = status == 429 ? "throttled" : "timeout";
        out->message =
            status == 429 ? "WATS throttled the request (429)" : "WATS timed the request out (408)";
        break;
    default:
        if (status >= 500 && status < 600) {
            out->outcome = CONN_RETRYABLE;
            out->error_class = "unavailable";
            out->message = "WATS failed (5xx)";
        } else {
            out->error_class = "http_error";
            out->message = "WATS answered an unexpected status";
        }
        break;
    }
    if (out->outcome == CONN_RETRYABLE && retry_after) {
        int64_t ms;
        if (retry_after_parse(retry_after, now_ms, WATS_RETRY_AFTER_CEILING_MS, &ms) == AB_OK)
            out->retry_after_ms = ms;
    }
}

/* ---- JSON helpers ----------------------------------------------------------------- */

static double jnum(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

/* A string attribute cut to the model's ceiling (at a UTF-8 boundary). */
static void set_attr_str(json_t *o, const char *k, const char *v)
{
    if (!v || !*v)
        return;
    size_t n = strlen(v);
    if (n <= ATTR_STR_MAX) {
        json_object_set_new(o, k, json_string(v));
        return;
    }
    n = ATTR_STR_MAX;
    while (n && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    json_object_set_new(o, k, json_stringn(v, n));
}

static void set_num(json_t *o, const char *k, double v)
{
    if (isnan(v))
        return;
    if (v == floor(v) && fabs(v) < 9e15)
        json_object_set_new(o, k, json_integer((json_int_t)v));
    else
        json_object_set_new(o, k, json_real(v));
}

/* A WATS date as RFC 3339 UTC (arena), or NULL. */
static const char *date_attr(const json_t *in, const char *k, int off, struct arena *a, int64_t *ms)
{
    int64_t v;
    const char *s = conn_jstr(in, k);
    if (ms)
        *ms = INT64_MIN;
    if (!s || conn_wats_time_parse(s, off, &v) != AB_OK)
        return NULL;
    if (ms)
        *ms = v;
    char buf[TIME_RFC3339_MAX];
    time_format_rfc3339(v, buf);
    return arena_strdup(a, buf);
}

/* ---- types, status -------------------------------------------------------------- */

enum ab_rc conn_wats_type_read(const json_t *in, struct conn_wats_type *t)
{
    memset(t, 0, sizeof(*t));
    t->type_id = conn_jstr(in, "typeId");
    t->name = conn_jstr(in, "typeName");
    t->running_count_limit = jnum(in, "runningCountLimit");
    t->total_count_limit = jnum(in, "totalCountLimit");
    t->calibration_interval_days = jnum(in, "calibrationInterval");
    t->maintenance_interval_days = jnum(in, "maintenanceInterval");
    t->warning_pct = jnum(in, "warningThreshold");
    t->alarm_pct = jnum(in, "alarmThreshold");
    return t->type_id ? AB_OK : AB_EINVAL;
}

static double pct_of_days(int64_t last, int64_t next, double interval_days, int64_t now)
{
    if (last == INT64_MIN)
        return NAN; /* never done: unknown, not overdue */
    double span;
    if (next != INT64_MIN && next > last)
        span = (double)(next - last);
    else if (!isnan(interval_days) && interval_days > 0)
        span = interval_days * 86400000.0;
    else
        return NAN;
    return (double)(now - last) / span * 100.0;
}

void conn_wats_derive_status(const json_t *asset, const struct conn_wats_type *t,
                             const struct conn_wats_opts *o, int64_t now_ms, struct arena *a,
                             int *level, const char **why)
{
    *level = 0;
    *why = NULL;
    if (!t)
        return;
    double warn =
        !isnan(t->warning_pct) && t->warning_pct > 0 ? t->warning_pct : o->default_warning_pct;
    double alarm = !isnan(t->alarm_pct) && t->alarm_pct > 0 ? t->alarm_pct : o->default_alarm_pct;
    if (alarm < warn) /* P2: alarm is never below warning */
        alarm = warn;
    int64_t lc, nc, lm, nm;
    int off = o->naive_offset_min;
    (void)date_attr(asset, "lastCalibrationDate", off, a, &lc);
    (void)date_attr(asset, "nextCalibrationDate", off, a, &nc);
    (void)date_attr(asset, "lastMaintenanceDate", off, a, &lm);
    (void)date_attr(asset, "nextMaintenanceDate", off, a, &nm);
    double rc = jnum(asset, "runningCount"), tc = jnum(asset, "totalCount");
    struct {
        const char *name;
        double pct;
    } m[4] = {
        {"running_count",
         !isnan(rc) && t->running_count_limit > 0 ? rc / t->running_count_limit * 100.0 : NAN},
        {"total_count",
         !isnan(tc) && t->total_count_limit > 0 ? tc / t->total_count_limit * 100.0 : NAN},
        {"calibration", pct_of_days(lc, nc, t->calibration_interval_days, now_ms)},
        {"maintenance", pct_of_days(lm, nm, t->maintenance_interval_days, now_ms)},
    };
    const char *list = NULL;
    for (size_t i = 0; i < NELEM(m); i++) {
        if (isnan(m[i].pct) || m[i].pct < warn)
            continue;
        int l = m[i].pct >= alarm ? 3 : 2;
        if (l > *level)
            *level = l;
        list = list ? arena_printf(a, "%s,%s", list, m[i].name) : m[i].name;
    }
    *why = list;
}

int conn_wats_status_level(const json_t *st)
{
    const json_t *v = json_object_get(st, "status");
    if (!v)
        v = json_object_get(st, "Status");
    static const char *const names[] = {"OK",    "NotRegistered", "Warning",
                                        "Alarm", "SystemError",   "AssetError"};
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i >= 0 && i < (json_int_t)NELEM(names) ? (int)i : -1;
    }
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < NELEM(names); i++)
        if (strcasecmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

const char *conn_wats_level_name(int level)
{
    static const char *const names[] = {"ok",    "not_registered", "warning",
                                        "alarm", "system_error",   "asset_error"};
    return level >= 0 && level < (int)NELEM(names) ? names[level] : "unknown";
}

/* ---- records ------------------------------------------------------------------- */

enum ab_rc conn_wats_asset_record(const json_t *in, const struct conn_wats_type *t,
                                  const json_t *status_answer, const struct conn_wats_opts *o,
                                  int64_t now_ms, struct arena *a, struct conn_record *out)
{
    memset(out, 0, sizeof(*out));
    out->revision = -1;
    out->modified_at = INT64_MIN;
    const char *sn = conn_jstr(in, "serialNumber");
    if (!json_is_object(in) || !sn)
        return AB_EINVAL;
    out->native_id = arena_strdup(a, sn);
    json_t *d = json_object();
    json_t *at = json_object();
    if (model_asset_ref_valid(sn))
        json_object_set_new(d, "asset_ref", json_string(sn));
    json_object_set_new(d, "serial_number", json_string(sn));
    set_str(d, "name", conn_jstr(in, "assetName"));
    set_str(d, "part_number", conn_jstr(in, "partNumber"));
    set_str(d, "part_revision", conn_jstr(in, "revision"));
    const char *tname = t ? t->name : NULL;
    json_object_set_new(d, "type", json_string(conn_wats_type_to_canonical(tname)));
    const json_t *st = json_object_get(in, "state");
    const char *status;
    if (json_is_integer(st) &&
        conn_wats_state_to_status((int)json_integer_value(st), &status) == AB_OK)
        json_object_set_new(d, "status", json_string(status));
    if (json_is_integer(st))
        json_object_set_new(at, "wats_state", json_integer(json_integer_value(st)));

    set_attr_str(at, "wats_asset_id", conn_jstr(in, "assetId"));
    set_attr_str(at, "wats_type_id", conn_jstr(in, "typeId"));
    set_attr_str(at, "wats_type_name", tname);
    set_attr_str(at, "wats_parent_serial_number", conn_jstr(in, "parentSerialNumber"));
    /* the hierarchy: the parent by its native id (the serial number), which
     * the hub resolves through its links (null: a top-level asset) */
    if (json_object_get(in, "parentSerialNumber")) {
        const char *psn = conn_jstr(in, "parentSerialNumber");
        json_object_set_new(d, "parent_native_id", psn && *psn ? json_string(psn) : json_null());
    }
    set_attr_str(at, "wats_parent_asset_id", conn_jstr(in, "parentAssetId"));
    set_attr_str(at, "description", conn_jstr(in, "description"));
    set_attr_str(at, "wats_location", conn_jstr(in, "location"));
    set_num(at, "wats_total_count", jnum(in, "totalCount"));
    set_num(at, "wats_running_count", jnum(in, "runningCount"));
    int off = o->naive_offset_min;
    set_str(at, "last_calibrated_at", date_attr(in, "lastCalibrationDate", off, a, NULL));
    set_str(at, "calibration_due_at", date_attr(in, "nextCalibrationDate", off, a, NULL));
    set_str(at, "last_maintained_at", date_attr(in, "lastMaintenanceDate", off, a, NULL));
    set_str(at, "maintenance_due_at", date_attr(in, "nextMaintenanceDate", off, a, NULL));
    set_str(at, "wats_first_seen_at", date_attr(in, "firstSeenDate", off, a, NULL));
    /* lastSeenDate is left out: it moves with every report that uses the
     * asset, which would make an unchanged asset look changed */

    int level = -1;
    const char *why = NULL;
    if (status_answer)
        level = conn_wats_status_level(status_answer);
    if (level >= 0) {
        json_object_set_new(at, "wats_status_source", json_string("server"));
        const char *msg = conn_jstr(status_answer, "message");
        if (!msg)
            msg = conn_jstr(status_answer, "Message");
        set_attr_str(at, "wats_status_message", msg);
    } else if (o->derive_status && t) {
        conn_wats_derive_status(in, t, o, now_ms, a, &level, &why);
        json_object_set_new(at, "wats_status_source", json_string("derived"));
        set_attr_str(at, "wats_status_reason", why);
    }
    if (level >= 0)
        json_object_set_new(at, "wats_status", json_string(conn_wats_level_name(level)));
    json_object_set_new(d, "attributes", at);
    /* WATS's counts for the hub meters pushed here: the store records them
     * as the usage baseline when the asset is linked (store.md) */
    json_t *pm = NULL;
    for (size_t i = 0; i < o->n_meters; i++) {
        const struct conn_wats_meter *m = &o->meters[i];
        double v = jnum(in, m->running ? "runningCount" : "totalCount");
        if (!m->hub_meter || isnan(v) || v < 0)
            continue;
        if (!pm)
            pm = json_object();
        json_t *one = json_object();
        set_num(one, "total", v);
        json_object_set_new(pm, m->hub_meter, one);
    }
    if (pm)
        json_object_set_new(d, "provider_meters", pm);
    out->doc = conn_arena_own(a, d);
    return AB_OK;
}

enum ab_rc conn_wats_type_record(const json_t *in, struct arena *a, struct conn_record *out)
{
    memset(out, 0, sizeof(*out));
    out->revision = -1;
    out->modified_at = INT64_MIN;
    struct conn_wats_type t;
    if (!json_is_object(in) || conn_wats_type_read(in, &t) != AB_OK)
        return AB_EINVAL;
    out->native_id = arena_strdup(a, t.type_id);
    json_t *d = json_object();
    set_str(d, "type_id", t.type_id);
    set_str(d, "name", t.name);
    json_object_set_new(d, "canonical_type", json_string(conn_wats_type_to_canonical(t.name)));
    set_num(d, "running_count_limit", t.running_count_limit);
    set_num(d, "total_count_limit", t.total_count_limit);
    set_num(d, "calibration_interval_days", t.calibration_interval_days);
    set_num(d, "maintenance_interval_days", t.maintenance_interval_days);
    set_num(d, "warning_threshold_pct", t.warning_pct);
    set_num(d, "alarm_threshold_pct", t.alarm_pct);
    const json_t *ro = json_object_get(in, "isReadonly");
    if (json_is_boolean(ro))
        json_object_set_new(d, "read_only", json_boolean(json_is_true(ro)));
    json_object_set_new(d, "system_of_record", json_string("wats"));
    out->doc = conn_arena_own(a, d);
    return AB_OK;
}

/* "Passed" / "P" ... -> a stable word. */
static const char *result_word(const char *r)
{
    static const struct {
        const char *in, *out;
    } m[] = {
        {"Passed", "passed"}, {"P", "passed"}, {"Failed", "failed"},         {"F", "failed"},
        {"Error", "error"},   {"E", "error"},  {"Terminated", "terminated"}, {"T", "terminated"}};
    for (size_t i = 0; r && i < NELEM(m); i++)
        if (strcasecmp(m[i].in, r) == 0)
            return m[i].out;
    return NULL;
}

enum ab_rc conn_wats_report_records(const json_t *h, const struct conn_wats_opts *o,
                                    struct arena *a, struct conn_record **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const char *uuid = conn_jstr(h, "uuid");
    if (!json_is_object(h) || !uuid)
        return AB_EINVAL;
    const json_t *assets = json_object_get(h, "assets");
    size_t na = json_array_size(assets);
    if (!na)
        return AB_OK;
    *out = arena_zalloc(a, na * sizeof(**out));
    int64_t start = INT64_MIN;
    const char *start_s = date_attr(h, "start", o->naive_offset_min, a, &start);
    const char *res = result_word(conn_jstr(h, "result"));
    const json_t *ts = json_object_get(h, o->report_cursor_field);
    for (size_t i = 0; i < na; i++) {
        const json_t *as = json_array_get(assets, i);
        const char *sn = conn_jstr(as, "serialNumber");
        if (!sn)
            continue;
        struct conn_record *r = &(*out)[*n];
        r->native_id = arena_printf(a, "%s/%s/%zu", uuid, sn, i);
        r->revision = -1;
        r->modified_at = start;
        json_t *d = json_object();
        json_object_set_new(d, "asset_native_id", json_string(sn));
        json_object_set_new(d, "kind", json_string("asset_use"));
        json_object_set_new(d, "report_id", json_string(uuid));
        set_str(d, "report_type", conn_jstr(h, "reportType"));
        set_str(d, "result", res ? res : conn_jstr(h, "result"));
        if (res)
            json_object_set_new(d, "passed", json_boolean(strcmp(res, "passed") == 0));
        set_str(d, "started_at", start_s);
        set_str(d, "uut_serial_number", conn_jstr(h, "serialNumber"));
        set_str(d, "part_number", conn_jstr(h, "partNumber"));
        set_num(d, "process_code", jnum(h, "processCode"));
        set_str(d, "process_name", conn_jstr(h, "processName"));
        set_str(d, "station_name", conn_jstr(h, "stationName"));
        set_str(d, "location", conn_jstr(h, "location"));
        set_str(d, "purpose", conn_jstr(h, "purpose"));
        set_str(d, "fixture_id", conn_jstr(h, "fixtureId"));
        if (json_is_integer(ts))
            json_object_set_new(d, "report_cursor", json_integer(json_integer_value(ts)));
        set_num(d, "asset_running_count", jnum(as, "runningCount"));
        set_num(d, "asset_total_count", jnum(as, "totalCount"));
        /* WATS counted this use already when it processed the report */
        json_object_set_new(d, "counted_by", json_string("wats"));
        r->doc = conn_arena_own(a, d);
        (*n)++;
    }
    return AB_OK;
}

/* ---- canonical -> native ----------------------------------------------------------- */

enum ab_rc conn_wats_asset_to_native(const json_t *c, const char *type_id, struct arena *a,
                                     json_t **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    if (!json_is_object(c)) {
        *why = "asset";
        return AB_EINVAL;
    }
    const json_t *at = json_object_get(c, "attributes");
    const char *sn = conn_jstr(c, "serial_number");
    if (!sn) {
        *why = "serial_number";
        return AB_EINVAL;
    }
    json_t *d = json_object();
    const char *id = conn_jstr(at, "wats_asset_id");
    json_object_set_new(d, "assetId", json_string(id ? id : ""));
    json_object_set_new(d, "serialNumber", json_string(sn));
    const char *tid = type_id ? type_id : conn_jstr(at, "wats_type_id");
    set_str(d, "typeId", tid);
    set_str(d, "assetName", conn_jstr(c, "name"));
    set_str(d, "partNumber", conn_jstr(c, "part_number"));
    set_str(d, "revision", conn_jstr(c, "part_revision"));
    set_str(d, "description", conn_jstr(at, "description"));
    const char *loc = conn_jstr(at, "wats_location");
    if (!loc) {
        const json_t *l = json_object_get(c, "location");
        const char *parts[3] = {conn_jstr(l, "site"), conn_jstr(l, "line"), conn_jstr(l, "cell")};
        for (int i = 0; i < 3; i++)
            if (parts[i])
                loc = loc ? arena_printf(a, "%s/%s", loc, parts[i]) : parts[i];
    }
    set_str(d, "location", loc);
    const char *status = conn_jstr(c, "status");
    if (status) {
        int state;
        if (conn_wats_status_to_state(status, &state) != AB_OK) {
            json_decref(d);
            *why = "status";
            return AB_EINVAL;
        }
        json_object_set_new(d, "state", json_integer(state));
    }
    /* parent: an explicit parent_serial_number (null or "" removes the
     * parent), else the one the pull recorded */
    const json_t *ps = json_object_get(c, "parent_serial_number");
    if (ps && (json_is_null(ps) || json_is_string(ps)))
        json_object_set_new(d, "parentSerialNumber",
                            json_string(json_is_string(ps) ? json_string_value(ps) : ""));
    else
        set_str(d, "parentSerialNumber", conn_jstr(at, "wats_parent_serial_number"));
    *out = conn_arena_own(a, d);
    return AB_OK;
}

enum ab_rc conn_wats_usage_total(const json_t *p, long long *total, const char **why)
{
    *total = 0;
    *why = NULL;
    const json_t *v = json_object_get(p, "value");
    if (json_object_get(p, "increment")) {
        *why = "WATS usage is pushed as absolute totals, not increments";
        return AB_EINVAL;
    }
    if (!json_is_number(v) || json_number_value(v) < 0) {
        *why = "a usage item needs a numeric value >= 0 (the hub meter's total)";
        return AB_EINVAL;
    }
    double t = json_number_value(v);
    const json_t *b = json_object_get(p, "provider_baseline");
    if (b && !json_is_null(b)) {
        if (!json_is_number(b)) {
            *why = "provider_baseline must be a number";
            return AB_EINVAL;
        }
        t += json_number_value(b);
    }
    t = floor(t + 1e-9); /* never count a partial use */
    if (t < 0 || t > 2147483647.0) {
        *why = "the total is outside WATS's int32 count range";
        return AB_EINVAL;
    }
    *total = (long long)t;
    return AB_OK;
}
