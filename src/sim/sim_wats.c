/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_wats.c: the `wats` provider simulator: the public asset API of a
 * Virinco WATS server as described by the contract sheet
 * (shared/providers/wats.md) and the server's Swagger export
 * (docs/sim/wats.md): /api/Asset (OData lists, upsert, delete, status,
 * state, counts, calibration, maintenance, log, messages, sub-assets,
 * types), the 25.3 additions behind --server-version, /api/App/Version,
 * Basic token auth, `{"Message":...}` errors and 429 throttling. WSJF
 * reports and the report header query live in sim_wats_report.c; the OData
 * compiler in sim_wats_odata.c. Only the framework (sim.c) calls in, through
 * sim_wats and sim_wats_configure.
 */
#include <ctype.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "http/json.h"
#include "sim/sim.h"
#include "sim/sim_wats_int.h"
#include "sim/sim_wats_odata.h"

#define DEFAULT_VERSION "2025.3.9.824"
#define DEFAULT_TOKEN "c2ltOnNpbS10b2tlbg==" /* base64("sim:sim-token") */
#define LOG_USER "API"

/* ---- options ------------------------------------------------------------------ */

static bool on_off(const char *v, bool *out)
{
    if (strcmp(v, "on") == 0)
        *out = true;
    else if (strcmp(v, "off") == 0)
        *out = false;
    else
        return false;
    return true;
}

static enum ab_rc parse_version(const char *v, struct wats_cfg *c)
{
    size_t n = strlen(v);
    int64_t parts[4] = {0};
    int k = 0;
    const char *p = v;
    if (n == 0 || n >= sizeof(c->version))
        return AB_EINVAL;
    while (k < 4) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len > 9 || str_to_i64n(p, len, &parts[k]) || parts[k] < 0)
            return AB_EINVAL;
        k++;
        if (!dot)
            break;
        p = dot + 1;
    }
    if (k < 2 || (k == 4 && strchr(p, '.')))
        return AB_EINVAL;
    str_lcpy(c->version, v, sizeof(c->version));
    c->year = (int)(parts[0] < 100 ? parts[0] + 2000 : parts[0]);
    c->minor = (int)parts[1];
    return AB_OK;
}

static enum ab_rc cfg_parse(const struct sim_opts *o, struct wats_cfg *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->skip = true;
    c->retry_after = true;
    c->path_lookup = WATS_LOOKUP_EITHER;
    const char *v = o->server_version ? o->server_version : DEFAULT_VERSION;
    if (parse_version(v, c)) {
        snprintf(err, errlen, "--server-version '%s' is not a version such as 2025.3.9.824 or 24.2",
                 v);
        return AB_EINVAL;
    }
    for (size_t i = 0; i < o->n_params; i++) {
        const char *eq = strchr(o->params[i], '=');
        char name[64];
        size_t nl = eq ? (size_t)(eq - o->params[i]) : 0;
        if (!eq || nl >= sizeof(name)) {
            snprintf(err, errlen, "--set '%s': expected NAME=VALUE", o->params[i]);
            return AB_EINVAL;
        }
        memcpy(name, o->params[i], nl);
        name[nl] = '\0';
        const char *val = eq + 1;
        bool ok;
        if (strcmp(name, "skip") == 0)
            ok = on_off(val, &c->skip);
        else if (strcmp(name, "status-enum") == 0)
            ok = (c->status_string = strcmp(val, "string") == 0) || strcmp(val, "int") == 0;
        else if (strcmp(name, "report-children") == 0)
            ok = on_off(val, &c->report_children);
        else if (strcmp(name, "report-unknown-asset") == 0)
            ok = (c->report_reject = strcmp(val, "reject") == 0) || strcmp(val, "ignore") == 0;
        else if (strcmp(name, "report-resubmit-counts") == 0)
            ok = on_off(val, &c->report_resubmit);
        else if (strcmp(name, "retry-after") == 0)
            ok = on_off(val, &c->retry_after);
        else if (strcmp(name, "calibration-resets-running") == 0)
            ok = on_off(val, &c->cal_resets_running);
        else if (strcmp(name, "asset-path-lookup") == 0) {
            ok = true;
            if (strcmp(val, "either") == 0)
                c->path_lookup = WATS_LOOKUP_EITHER;
            else if (strcmp(val, "id") == 0)
                c->path_lookup = WATS_LOOKUP_ID;
            else if (strcmp(val, "ambiguous") == 0)
                c->path_lookup = WATS_LOOKUP_AMBIGUOUS;
            else
                ok = false;
        } else {
            snprintf(err, errlen,
                     "--set %s: unknown wats option (skip, status-enum, report-children, "
                     "report-unknown-asset, report-resubmit-counts, retry-after, "
                     "calibration-resets-running, asset-path-lookup; docs/sim/wats.md)",
                     name);
            return AB_EINVAL;
        }
        if (!ok) {
            snprintf(err, errlen, "--set %s: invalid value '%s' (docs/sim/wats.md)", name, val);
            return AB_EINVAL;
        }
    }
    return AB_OK;
}

enum ab_rc sim_wats_configure(const struct sim_opts *opts, char *err, size_t errlen);

enum ab_rc sim_wats_configure(const struct sim_opts *opts, char *err, size_t errlen)
{
    struct wats_cfg c;
    return cfg_parse(opts, &c, err, errlen);
}

void wats_cfg_get(const struct sim *s, struct wats_cfg *out)
{
    char err[256];
    if (cfg_parse(sim_options(s), out, err, sizeof(err)))
        (void)parse_version(DEFAULT_VERSION, out); /* checked at start: cannot happen */
}

bool wats_at_least(const struct wats_cfg *c, int year, int minor)
{
    return c->year > year || (c->year == year && c->minor >= minor);
}

/* ---- errors, auth, throttling ----------------------------------------------------- */

void wats_fail(struct sim *s, struct http_request *req, struct http_response *resp, int status,
               const char *fmt, ...)
{
    (void)s;
    (void)req;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    http_resp_json(resp, status, json_pack("{s:s}", "Message", msg));
}

static void w_error(struct sim *s, struct http_request *req, struct http_response *resp, int status,
                    const char *code, const char *message)
{
    (void)code; /* the server's errors carry only a message */
    wats_fail(s, req, resp, status, "%s", message);
}

static void unauthorized(struct http_request *req, struct http_response *resp)
{
    http_resp_json(
        resp, 401,
        json_pack("{s:s}", "Message", "Authorization has been denied for this request."));
    if (http_resp_header(req, resp, "WWW-Authenticate", "Basic realm=\"WATS\""))
        resp->status = 500;
}

static void base64(const char *in, char *out, size_t outlen)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n && o + 5 < outlen; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Authorization: Basic <token>, the token as issued (not encoded again).
 * base64(user:password) is accepted only by servers before 2025.2 (P4). */
static bool w_auth(struct sim *s, struct http_request *req, struct http_response *resp)
{
    const char *h = http_header(req, "Authorization");
    if (!h || strncasecmp(h, "Basic ", 6) != 0) {
        unauthorized(req, resp);
        return false;
    }
    const char *cred = h + 6;
    while (*cred == ' ')
        cred++;
    const struct sim_opts *o = sim_options(s);
    if (o->token && strcmp(cred, o->token) == 0)
        return true;
    if (o->user && o->password) {
        char up[512], enc[700];
        snprintf(up, sizeof(up), "%s:%s", o->user, o->password);
        base64(up, enc, sizeof(enc));
        struct wats_cfg c;
        wats_cfg_get(s, &c);
        if (strcmp(cred, enc) == 0 && !wats_at_least(&c, 2025, 2))
            return true;
    }
    unauthorized(req, resp);
    return false;
}

static void w_expire(struct sim *s, struct http_request *req, struct http_response *resp)
{
    (void)s;
    unauthorized(req, resp); /* an expired token is refused like an unknown one */
}

static void w_rate_limited(struct sim *s, struct http_request *req, struct http_response *resp,
                           int64_t retry_after_s)
{
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    wats_fail(s, req, resp, 429, "Too many requests");
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)retry_after_s);
    if (c.retry_after && http_resp_header(req, resp, "Retry-After", v))
        resp->status = 500;
}

/* 404 as a server without this route answers (25.3 routes on older ones). */
static bool need_25_3(struct sim *s, struct http_request *req, struct http_response *resp)
{
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    if (wats_at_least(&c, 2025, 3))
        return true;
    wats_fail(s, req, resp, 404, "No HTTP resource was found that matches the request URI '%s'.",
              req->path);
    return false;
}

/* Answer a JSON scalar (a string or a number: http_resp_json takes only
 * objects and arrays). */
static void resp_scalar(struct http_response *resp, json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    http_resp_text(resp, t ? 200 : 500, "application/json", t ? t : "");
    free(t);
}

/* ---- JSON of columns ---------------------------------------------------------------- */

json_t *wats_text(sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    return v ? json_string(v) : json_null();
}

json_t *wats_time(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    char t[TIME_RFC3339_MAX];
    time_format_rfc3339(sqlite3_column_int64(st, col), t);
    return json_string(t);
}

json_t *wats_int(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_integer(sqlite3_column_int64(st, col));
}

json_t *wats_real(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_real(sqlite3_column_double(st, col));
}

static json_t *id_text(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)sqlite3_column_int64(st, col));
    return json_string(v);
}

/* ---- assets: rows ---------------------------------------------------------------- */

#define ASSET_COLS                                                                                 \
    "a.n, a.serial, a.name, a.part, a.rev, a.type_id, a.parent_n,"                                 \
    " (SELECT p.serial FROM wats_assets p WHERE p.n = a.parent_n), a.state, a.description,"        \
    " a.location, a.first_seen, a.last_seen, a.last_maint, a.next_maint, a.last_cal, a.next_cal,"  \
    " a.total, a.running, a.tags, a.client_id"

static const struct odata_field asset_fields[] = {
    {"assetId", "CAST(a.n AS TEXT)", ODATA_STRING, true, "a.n"},
    {"parentAssetId", "CAST(a.parent_n AS TEXT)", ODATA_STRING, true, "a.parent_n"},
    {"assetName", "a.name", ODATA_STRING, true, NULL},
    {"serialNumber", "a.serial", ODATA_STRING, true, NULL},
    {"parentSerialNumber", "(SELECT p.serial FROM wats_assets p WHERE p.n = a.parent_n)",
     ODATA_STRING, true, NULL},
    {"partNumber", "a.part", ODATA_STRING, true, NULL},
    {"revision", "a.rev", ODATA_STRING, true, NULL},
    {"typeId", "a.type_id", ODATA_GUID, true, NULL},
    {"state", "a.state", ODATA_INT, true, NULL},
    {"description", "a.description", ODATA_STRING, true, NULL},
    {"location", "a.location", ODATA_STRING, true, NULL},
    {"firstSeenDate", "a.first_seen", ODATA_DATETIME, true, NULL},
    {"lastSeenDate", "a.last_seen", ODATA_DATETIME, true, NULL},
    {"lastMaintenanceDate", "a.last_maint", ODATA_DATETIME, true, NULL},
    {"nextMaintenanceDate", "a.next_maint", ODATA_DATETIME, true, NULL},
    {"lastCalibrationDate", "a.last_cal", ODATA_DATETIME, true, NULL},
    {"nextCalibrationDate", "a.next_cal", ODATA_DATETIME, true, NULL},
    {"totalCount", "a.total", ODATA_INT, true, NULL},
    {"runningCount", "a.running", ODATA_INT, true, NULL},
    {"xmlData", "a.tags", ODATA_XML, false, NULL},
};

static bool xml_name(const char *k)
{
    if (!k || !(isalpha((unsigned char)k[0]) || k[0] == '_'))
        return false;
    for (const char *p = k; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.'))
            return false;
    return strlen(k) <= 100 && strncasecmp(k, "xml", 3) != 0;
}

/* Tags as the server returns them in xmlData: <Tags><Key Value="v" /></Tags>. */
static json_t *tags_xml(const char *tags_json)
{
    json_t *tags = json_loads(tags_json ? tags_json : "[]", 0, NULL);
    if (!json_is_array(tags) || json_array_size(tags) == 0) {
        json_decref(tags);
        return json_null();
    }
    struct buf b;
    buf_init(&b, 256 * 1024);
    enum ab_rc rc = buf_append_str(&b, "<Tags>");
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *v = json_string_value(json_object_get(t, "value"));
        if (!k)
            continue;
        if (!rc)
            rc = buf_printf(&b, "<%s Value=\"", k);
        for (const char *p = v ? v : ""; !rc && *p; p++) {
            switch (*p) {
            case '&': rc = buf_append_str(&b, "&amp;"); break;
            case '<': rc = buf_append_str(&b, "&lt;"); break;
            case '>': rc = buf_append_str(&b, "&gt;"); break;
            case '"': rc = buf_append_str(&b, "&quot;"); break;
            default: rc = buf_append_char(&b, *p);
            }
        }
        if (!rc)
            rc = buf_append_str(&b, "\" />");
    }
    if (!rc)
        rc = buf_append_str(&b, "</Tags>");
    json_t *out = rc ? json_null() : json_string(buf_str(&b));
    buf_cleanup(&b);
    json_decref(tags);
    return out;
}

/* The OData Asset (GET /api/Asset, SubAssets). */
static json_t *asset_odata_row(struct sim *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    (void)ctx;
    json_t *o = json_object();
    json_object_set_new(o, "assetId", id_text(st, 0));
    json_object_set_new(o, "parentAssetId", id_text(st, 6));
    json_object_set_new(o, "assetName", wats_text(st, 2));
    json_object_set_new(o, "serialNumber", wats_text(st, 1));
    json_object_set_new(o, "parentSerialNumber", wats_text(st, 7));
    json_object_set_new(o, "partNumber", wats_text(st, 3));
    json_object_set_new(o, "revision", wats_text(st, 4));
    json_object_set_new(o, "typeId", wats_text(st, 5));
    json_object_set_new(o, "state", wats_int(st, 8));
    json_object_set_new(o, "description", wats_text(st, 9));
    json_object_set_new(o, "location", wats_text(st, 10));
    json_object_set_new(o, "firstSeenDate", wats_time(st, 11));
    json_object_set_new(o, "lastSeenDate", wats_time(st, 12));
    json_object_set_new(o, "lastMaintenanceDate", wats_time(st, 13));
    json_object_set_new(o, "nextMaintenanceDate", wats_time(st, 14));
    json_object_set_new(o, "lastCalibrationDate", wats_time(st, 15));
    json_object_set_new(o, "nextCalibrationDate", wats_time(st, 16));
    json_object_set_new(o, "totalCount", wats_int(st, 17));
    json_object_set_new(o, "runningCount", wats_int(st, 18));
    json_object_set_new(o, "xmlData", tags_xml((const char *)sqlite3_column_text(st, 19)));
    return o;
}

/* The external Asset model (GET /api/Asset/{id}, PUT and DELETE answers). */
static json_t *asset_full_row(sqlite3_stmt *st)
{
    json_t *o = asset_odata_row(NULL, st, NULL);
    json_object_del(o, "xmlData");
    json_object_set_new(o, "ClientId", wats_int(st, 20));
    json_t *tags = json_loads((const char *)sqlite3_column_text(st, 19), 0, NULL);
    if (!json_is_array(tags)) {
        json_decref(tags);
        tags = json_array();
    }
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        json_object_set_new(t, "change", json_integer(0));
    }
    json_object_set_new(o, "tags", tags);
    return o;
}

static json_t *asset_full(struct sim *s, int64_t n)
{
    sqlite3_stmt *st;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(sim_db(s), "SELECT " ASSET_COLS " FROM wats_assets a WHERE a.n = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, 1, n);
    if (sqlite3_step(st) == SQLITE_ROW)
        out = asset_full_row(st);
    sqlite3_finalize(st);
    return out;
}

static bool step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE;
}

int64_t wats_asset_by_serial(struct sim *s, const char *serial)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    if (!serial || sqlite3_prepare_v2(sim_db(s), "SELECT n FROM wats_assets WHERE serial = ?", -1,
                                      &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int64_t asset_by_id(struct sim *s, const char *id)
{
    int64_t n;
    if (!id || str_to_i64(id, &n) || n <= 0)
        return 0;
    sqlite3_stmt *st;
    int64_t found = 0;
    if (sqlite3_prepare_v2(sim_db(s), "SELECT n FROM wats_assets WHERE n = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, n);
    if (sqlite3_step(st) == SQLITE_ROW)
        found = n;
    sqlite3_finalize(st);
    return found;
}

/* The asset named by ?id= or ?serialNumber=; 0 with resp filled (400/404). */
static int64_t target_asset(struct sim *s, struct http_request *req, struct http_response *resp)
{
    const char *id = http_query(req, "id"), *sn = http_query(req, "serialNumber");
    if ((!id || !*id) && (!sn || !*sn)) {
        wats_fail(s, req, resp, 400, "Id or serialNumber is required");
        return 0;
    }
    int64_t n = id && *id ? asset_by_id(s, id) : wats_asset_by_serial(s, sn);
    if (!n)
        wats_fail(s, req, resp, 404, "Asset not found: %s '%s'", id && *id ? "id" : "serialNumber",
                  id && *id ? id : sn);
    return n;
}

static void asset_answer(struct sim *s, struct http_request *req, struct http_response *resp,
                         int64_t n)
{
    json_t *a = asset_full(s, n);
    if (!a)
        wats_fail(s, req, resp, 500, "An error has occurred.");
    else
        http_resp_json(resp, 200, a);
}

static bool log_add(struct sim *s, int64_t n, int type, const char *property, const char *value,
                    const char *comment, int64_t date)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT INTO wats_log(asset_n, serial, date, user, type, property, "
                           "value, comment) SELECT n, serial, ?, ?, ?, ?, ?, ? FROM wats_assets "
                           "WHERE n = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, date);
    sqlite3_bind_text(st, 2, LOG_USER, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, type);
    if (property)
        sqlite3_bind_text(st, 4, property, -1, SQLITE_TRANSIENT);
    if (value)
        sqlite3_bind_text(st, 5, value, -1, SQLITE_TRANSIENT);
    if (comment)
        sqlite3_bind_text(st, 6, comment, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, n);
    return step_done(st);
}

/* ---- query parameters --------------------------------------------------------------- */

/* An int32 query parameter: false with a 400 when present but invalid. */
static bool q_int(struct sim *s, struct http_request *req, struct http_response *resp,
                  const char *name, bool *present, int64_t *v)
{
    const char *t = http_query(req, name);
    *present = t && *t;
    if (!*present)
        return true;
    if (str_to_i64(t, v) || *v < -WATS_INT32_MAX - 1 || *v > WATS_INT32_MAX) {
        wats_fail(s, req, resp, 400, "The value '%s' is not valid for %s.", t, name);
        return false;
    }
    return true;
}

static bool q_bool(struct sim *s, struct http_request *req, struct http_response *resp,
                   const char *name, bool *v)
{
    const char *t = http_query(req, name);
    if (!t || !*t)
        return true;
    if (strcasecmp(t, "true") == 0)
        *v = true;
    else if (strcasecmp(t, "false") == 0)
        *v = false;
    else {
        wats_fail(s, req, resp, 400, "The value '%s' is not valid for %s.", t, name);
        return false;
    }
    return true;
}

/* A date-time: RFC 3339, or without a zone (read as UTC), or a date. */
static bool parse_when(const char *t, int64_t *ms)
{
    char buf[64];
    size_t n = strlen(t);
    if (n == 10)
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", t);
    else if (n >= 19 && n < 40 && !strchr(t + 19, 'Z') && !strchr(t + 19, 'z') &&
             !strchr(t + 19, '+') && !strchr(t + 19, '-'))
        snprintf(buf, sizeof(buf), "%sZ", t);
    else
        str_lcpy(buf, t, sizeof(buf));
    return time_parse_rfc3339(buf, ms) == AB_OK;
}

static bool q_time(struct sim *s, struct http_request *req, struct http_response *resp,
                   const char *name, bool *present, int64_t *ms)
{
    const char *t = http_query(req, name);
    *present = t && *t;
    if (*present && !parse_when(t, ms)) {
        wats_fail(s, req, resp, 400, "The value '%s' is not valid for %s.", t, name);
        return false;
    }
    return true;
}

/* ---- status ----------------------------------------------------------------------------- */

static int level(double pct, bool has_warn, double warn, double alarm)
{
    if (pct >= alarm)
        return 3;
    if (has_warn && pct >= warn)
        return 2;
    return 0;
}

static void add_msg(struct wats_stats *o, const char *fmt, ...) AB_PRINTF(2, 3);

static void add_msg(struct wats_stats *o, const char *fmt, ...)
{
    size_t n = strlen(o->message);
    if (n + 3 >= sizeof(o->message))
        return;
    if (n) {
        o->message[n++] = ';';
        o->message[n++] = ' ';
        o->message[n] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->message + n, sizeof(o->message) - n, fmt, ap);
    va_end(ap);
}

bool wats_stats_get(struct sim *s, int64_t n, struct wats_stats *o)
{
    sqlite3_stmt *st;
    memset(o, 0, sizeof(*o));
    if (sqlite3_prepare_v2(sim_db(s),
                           "SELECT a.running, a.total, a.last_cal, a.next_cal, a.last_maint, "
                           "a.next_maint, t.running_limit, t.total_limit, t.cal_interval, "
                           "t.maint_interval, t.warning, t.alarm FROM wats_assets a LEFT JOIN "
                           "wats_types t ON t.type_id = a.type_id WHERE a.n = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, n);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return false;
    }
    int64_t now = sim_now_ms(s);
    bool has_warn = sqlite3_column_type(st, 10) != SQLITE_NULL;
    double warn = sqlite3_column_double(st, 10);
    double alarm = sqlite3_column_type(st, 11) != SQLITE_NULL ? sqlite3_column_double(st, 11) : 100;
    int worst = 0, l;
    o->running = sqlite3_column_int64(st, 0);
    o->total = sqlite3_column_int64(st, 1);
    int64_t rl = sqlite3_column_int64(st, 6), tl = sqlite3_column_int64(st, 7);
    if (rl > 0) {
        o->has_running_limit = true;
        o->running_exceeded = o->running - rl;
        l = level((double)o->running * 100.0 / (double)rl, has_warn, warn, alarm);
        if (l)
            add_msg(o, "Running count %lld of limit %lld", (long long)o->running, (long long)rl);
        worst = l > worst ? l : worst;
    }
    if (tl > 0) {
        o->has_total_limit = true;
        o->total_exceeded = o->total - tl;
        l = level((double)o->total * 100.0 / (double)tl, has_warn, warn, alarm);
        if (l)
            add_msg(o, "Total count %lld of limit %lld", (long long)o->total, (long long)tl);
        worst = l > worst ? l : worst;
    }
    for (int k = 0; k < 2; k++) { /* calibration, maintenance */
        int cl = k == 0 ? 2 : 4, ci = k == 0 ? 8 : 9;
        bool has_last = sqlite3_column_type(st, cl) != SQLITE_NULL;
        bool has_next = sqlite3_column_type(st, cl + 1) != SQLITE_NULL;
        int64_t last = sqlite3_column_int64(st, cl), next = sqlite3_column_int64(st, cl + 1);
        double interval = sqlite3_column_double(st, ci);
        if (!has_next && has_last && interval > 0) {
            next = last + (int64_t)(interval * (double)WATS_DAY_MS);
            has_next = true;
        }
        double since = has_last ? (double)(now - last) / (double)WATS_DAY_MS : 0;
        double overdue = has_next ? (double)(now - next) / (double)WATS_DAY_MS : 0;
        if (k == 0) {
            o->cal_known = has_last;
            o->days_since_cal = since;
            o->has_cal_due = has_next;
            o->cal_overdue = overdue;
        } else {
            o->maint_known = has_last;
            o->days_since_maint = since;
            o->has_maint_due = has_next;
            o->maint_overdue = overdue;
        }
        if (!has_next)
            continue;
        double pct = has_last && next > last ? (double)(now - last) * 100.0 / (double)(next - last)
                     : now >= next           ? 100.0
                                             : 0.0;
        l = level(pct, has_warn, warn, alarm);
        if (l && overdue >= 0)
            add_msg(o, "%s overdue by %.1f days", k == 0 ? "Calibration" : "Maintenance", overdue);
        else if (l)
            add_msg(o, "%s due in %.1f days", k == 0 ? "Calibration" : "Maintenance", -overdue);
        worst = l > worst ? l : worst;
    }
    sqlite3_finalize(st);
    o->status = worst;
    return true;
}

json_t *wats_status_json(const struct wats_cfg *c, int status)
{
    static const char *const names[] = {"OK",    "NotRegistered", "Warning",
                                        "Alarm", "SystemError",   "AssetError"};
    if (c->status_string)
        return json_string(status >= 0 && status < 6 ? names[status] : "SystemError");
    return json_integer(status);
}

static void asset_status(struct sim *s, struct http_request *req, struct http_response *resp)
{
    bool translate = true;
    if (!q_bool(s, req, resp, "translate", &translate))
        return;
    int64_t n = target_asset(s, req, resp);
    struct wats_stats x;
    if (!n)
        return;
    if (!wats_stats_get(s, n, &x)) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    json_t *o = json_object();
    json_object_set_new(o, "status", wats_status_json(&c, x.status));
    json_object_set_new(o, "message", json_string(x.message));
    json_object_set_new(o, "calibrationDaysOverdue",
                        x.has_cal_due ? json_real(x.cal_overdue) : json_null());
    json_object_set_new(o, "maintenanceDaysOverdue",
                        x.has_maint_due ? json_real(x.maint_overdue) : json_null());
    json_object_set_new(o, "totalCount", json_integer(x.total));
    json_object_set_new(o, "totalCountExceeded",
                        x.has_total_limit ? json_integer(x.total_exceeded) : json_null());
    json_object_set_new(o, "runningCount", json_integer(x.running));
    json_object_set_new(o, "runningCountExceeded",
                        x.has_running_limit ? json_integer(x.running_exceeded) : json_null());
    http_resp_json(resp, 200, o);
}

/* ---- lists -------------------------------------------------------------------------- */

void wats_list_run(struct sim *s, struct http_request *req, struct http_response *resp,
                   const struct wats_list *l, const char *where, const int64_t *where_params,
                   size_t n_where_params, void *ctx)
{
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    char err[ODATA_ERR_MAX];
    struct odata_sql *f = arena_zalloc(req->arena, sizeof(*f));
    const char *order;
    if (odata_filter_compile(req->arena, http_query(req, "$filter"), l->fields, l->n_fields, f,
                             err) ||
        odata_orderby_compile(req->arena, http_query(req, "$orderby"), l->fields, l->n_fields,
                              &order, err)) {
        wats_fail(s, req, resp, 400, "The query specified in the URI is not valid. %s", err);
        return;
    }
    int64_t top = l->default_top, skip = 0;
    const char *t = http_query(req, "$top");
    if (t && (str_to_i64(t, &top) || top < 0 || top > WATS_INT32_MAX)) {
        wats_fail(s, req, resp, 400,
                  "The query specified in the URI is not valid. Invalid value '%s' for $top "
                  "query option found.",
                  t);
        return;
    }
    if (l->max_top && top > l->max_top) {
        wats_fail(s, req, resp, 400,
                  "The query specified in the URI is not valid. The limit of '%lld' for Top "
                  "query has been exceeded. The value from the incoming request is '%lld'.",
                  (long long)l->max_top, (long long)top);
        return;
    }
    t = http_query(req, "$skip");
    if (t && (str_to_i64(t, &skip) || skip < 0 || skip > WATS_INT32_MAX)) {
        wats_fail(s, req, resp, 400,
                  "The query specified in the URI is not valid. Invalid value '%s' for $skip "
                  "query option found.",
                  t);
        return;
    }
    if (!c.skip && !l->skip_always)
        skip = 0; /* skip=off: the server ignores $skip */
    char *sql = arena_printf(req->arena,
                             "SELECT %s FROM %s WHERE 1=1%s%s%s%s%s ORDER BY %s, %s "
                             "LIMIT ? OFFSET ?",
                             l->select, l->from, where ? " AND (" : "", where ? where : "",
                             where ? ")" : "", *f->sql ? " AND " : "", f->sql,
                             *order ? order : l->default_order, l->tiebreak);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
        wats_fail(s, req, resp, 500, "An error has occurred. (%s)", sqlite3_errmsg(sim_db(s)));
        return;
    }
    int i = 1;
    for (size_t k = 0; k < n_where_params; k++)
        sqlite3_bind_int64(st, i++, where_params[k]);
    i = odata_bind(st, f, i);
    sqlite3_bind_int64(st, i++, top);
    sqlite3_bind_int64(st, i, skip);
    json_t *items = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, l->row(s, st, ctx));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    http_resp_json(resp, 200, items);
}

static const struct wats_list assets_list = {
    ASSET_COLS, "wats_assets a", asset_fields, sizeof(asset_fields) / sizeof(asset_fields[0]),
    "a.n ASC",  "a.n ASC",       1000,         0,
    false,      asset_odata_row,
};

static void asset_list(struct sim *s, struct http_request *req, struct http_response *resp)
{
    wats_list_run(s, req, resp, &assets_list, NULL, NULL, 0, NULL);
}

/* GET /api/Asset/{x}: by id or serial number (one route template for both). */
static void asset_get(struct sim *s, struct http_request *req, struct http_response *resp)
{
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    const char *x = http_param(req, "assetId");
    if (c.path_lookup == WATS_LOOKUP_AMBIGUOUS) {
        wats_fail(s, req, resp, 500,
                  "Multiple actions were found that match the request: GetAssetByAssetId, "
                  "GetAssetBySerialNumber");
        return;
    }
    int64_t n = asset_by_id(s, x);
    if (!n && c.path_lookup == WATS_LOOKUP_EITHER)
        n = wats_asset_by_serial(s, x);
    if (!n) {
        wats_fail(s, req, resp, 404, "Asset not found: '%s'", x);
        return;
    }
    asset_answer(s, req, resp, n);
}

static const struct odata_field log_fields[] = {
    {"logId", "l.log_id", ODATA_INT, true, NULL},
    {"assetId", "CAST(l.asset_n AS TEXT)", ODATA_STRING, true, "l.asset_n"},
    {"serialNumber", "l.serial", ODATA_STRING, true, NULL},
    {"date", "l.date", ODATA_DATETIME, true, NULL},
    {"user", "l.user", ODATA_STRING, true, NULL},
    {"type", "l.type", ODATA_INT, true, NULL},
    {"property", "l.property", ODATA_STRING, true, NULL},
    {"value", "l.value", ODATA_STRING, true, NULL},
    {"comment", "l.comment", ODATA_STRING, true, NULL},
};

static json_t *log_row(struct sim *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    (void)ctx;
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "logId", wats_int(st, 0), "assetId",
                     id_text(st, 1), "serialNumber", wats_text(st, 2), "date", wats_time(st, 3),
                     "user", wats_text(st, 4), "type", wats_int(st, 5), "property",
                     wats_text(st, 6), "value", wats_text(st, 7), "comment", wats_text(st, 8));
}

static const struct wats_list log_list_def = {
    "l.log_id, l.asset_n, l.serial, l.date, l.user, l.type, l.property, l.value, l.comment",
    "wats_log l",
    log_fields,
    sizeof(log_fields) / sizeof(log_fields[0]),
    "l.date DESC",
    "l.log_id DESC",
    1000,
    0,
    false,
    log_row,
};

static void log_list(struct sim *s, struct http_request *req, struct http_response *resp)
{
    wats_list_run(s, req, resp, &log_list_def, NULL, NULL, 0, NULL);
}

/* ---- types ------------------------------------------------------------------------------ */

static const struct odata_field type_fields[] = {
    {"typeId", "t.type_id", ODATA_GUID, true, NULL},
    {"typeName", "t.name", ODATA_STRING, true, NULL},
    {"runningCountLimit", "t.running_limit", ODATA_INT, true, NULL},
    {"totalCountLimit", "t.total_limit", ODATA_INT, true, NULL},
    {"maintenanceInterval", "t.maint_interval", ODATA_DOUBLE, true, NULL},
    {"calibrationInterval", "t.cal_interval", ODATA_DOUBLE, true, NULL},
    {"warningThreshold", "t.warning", ODATA_DOUBLE, true, NULL},
    {"alarmThreshold", "t.alarm", ODATA_DOUBLE, true, NULL},
    {"isReadonly", "t.readonly", ODATA_BOOL, true, NULL},
    {"icon", "t.icon", ODATA_STRING, true, NULL},
};

#define TYPE_COLS                                                                                  \
    "t.type_id, t.name, t.running_limit, t.total_limit, t.maint_interval, t.cal_interval,"         \
    " t.warning, t.alarm, t.readonly, t.icon"

static json_t *type_row(struct sim *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    (void)ctx;
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "typeId", wats_text(st, 0),
                     "typeName", wats_text(st, 1), "runningCountLimit", wats_int(st, 2),
                     "totalCountLimit", wats_int(st, 3), "maintenanceInterval", wats_real(st, 4),
                     "calibrationInterval", wats_real(st, 5), "warningThreshold", wats_real(st, 6),
                     "alarmThreshold", wats_real(st, 7), "isReadonly",
                     sqlite3_column_int(st, 8) != 0, "icon", wats_text(st, 9));
}

static const struct wats_list types_list_def = {
    TYPE_COLS,    "wats_types t",  type_fields, sizeof(type_fields) / sizeof(type_fields[0]),
    "t.name ASC", "t.type_id ASC", 1000,        0,
    false,        type_row,
};

static void types_list(struct sim *s, struct http_request *req, struct http_response *resp)
{
    wats_list_run(s, req, resp, &types_list_def, NULL, NULL, 0, NULL);
}

static json_t *type_get(struct sim *s, const char *type_id)
{
    sqlite3_stmt *st;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(sim_db(s), "SELECT " TYPE_COLS " FROM wats_types t WHERE type_id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, type_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        out = type_row(s, st, NULL);
    sqlite3_finalize(st);
    return out;
}

static void guid_from(uint64_t a, uint64_t b, char out[37])
{
    snprintf(out, 37, "%08llx-%04llx-4%03llx-%04llx-%012llx", (unsigned long long)(a >> 32),
             (unsigned long long)((a >> 16) & 0xffff), (unsigned long long)(a & 0xfff),
             (unsigned long long)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

/* A JSON value that must be absent, null or a number (integer when whole). */
static bool opt_number(json_t *v, bool whole, bool *present, double *out)
{
    *present = v && !json_is_null(v);
    if (!*present)
        return true;
    if (whole ? !json_is_integer(v) : !json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static void types_put(struct sim *s, struct http_request *req, struct http_response *resp)
{
    json_t *o;
    char jerr[JSON_ERR_MAX];
    if (json_parse_object(req->arena, req->body, req->body_len, &o, jerr)) {
        wats_fail(s, req, resp, 400, "The request is invalid: %s", jerr);
        return;
    }
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    const char *name = json_string_value(json_object_get(o, "typeName"));
    if (!name || !*name) {
        wats_fail(s, req, resp, 400, "The typeName field is required.");
        return;
    }
    static const char *const nums[] = {"runningCountLimit",   "totalCountLimit",
                                       "maintenanceInterval", "calibrationInterval",
                                       "warningThreshold",    "alarmThreshold"};
    bool has[6];
    double v[6] = {0};
    for (int i = 0; i < 6; i++) {
        if (!opt_number(json_object_get(o, nums[i]), i < 2, &has[i], &v[i]) ||
            (i < 2 && has[i] && (v[i] < 0 || v[i] > (double)WATS_INT32_MAX))) {
            wats_fail(s, req, resp, 400, "The value of %s is not valid.", nums[i]);
            return;
        }
    }
    for (int i = 2; i < 4; i++) {
        /* -1 Unlimited, -2 External: 25.3 */
        bool sentinel = has[i] && (v[i] == -1 || v[i] == -2);
        if (has[i] && v[i] < 0 && !(sentinel && wats_at_least(&c, 2025, 3))) {
            wats_fail(s, req, resp, 400, "The value of %s is not valid.", nums[i]);
            return;
        }
    }
    for (int i = 4; i < 6; i++) {
        if (has[i] && (v[i] < 0 || v[i] > 100)) {
            wats_fail(s, req, resp, 400, "%s must be between 0 and 100.", nums[i]);
            return;
        }
    }
    if (has[4] && has[5] && v[5] < v[4]) {
        wats_fail(s, req, resp, 400,
                  "The alarm threshold can not be lower than the warning "
                  "threshold.");
        return;
    }
    if (has[0] && has[1] && v[0] > 0 && v[1] > 0 && v[1] < v[0])
        v[1] = v[0]; /* P2: the total count limit is raised to the running count limit */
    json_t *ro = json_object_get(o, "isReadonly"), *icon = json_object_get(o, "icon");
    if ((ro && !json_is_boolean(ro) && !json_is_null(ro)) ||
        (icon && !json_is_string(icon) && !json_is_null(icon))) {
        wats_fail(s, req, resp, 400,
                  "The request is invalid: isReadonly must be a boolean and "
                  "icon a string.");
        return;
    }
    char tid[37];
    const char *given = json_string_value(json_object_get(o, "typeId"));
    bool create = true;
    if (given && *given && strcmp(given, "00000000-0000-0000-0000-000000000000") != 0) {
        if (!odata_guid_normalize(given, tid)) {
            wats_fail(s, req, resp, 400, "The value '%s' is not valid for typeId.", given);
            return;
        }
        json_t *old = type_get(s, tid);
        if (old) {
            create = false;
            bool readonly = json_is_true(json_object_get(old, "isReadonly"));
            json_decref(old);
            if (readonly) {
                wats_fail(s, req, resp, 400, "The asset type '%s' is read-only.", tid);
                return;
            }
        }
    } else {
        sqlite3_stmt *st;
        int64_t count = 0;
        if (sqlite3_prepare_v2(sim_db(s), "SELECT count(*) FROM wats_types", -1, &st, NULL) ==
            SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                count = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
        struct sim_prng r;
        sim_prng_seed(&r, (uint64_t)sim_stamp(s) ^ ((uint64_t)count << 40));
        guid_from(sim_prng_next(&r), sim_prng_next(&r), tid);
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT OR REPLACE INTO wats_types(type_id, name, running_limit, "
                           "total_limit, maint_interval, cal_interval, warning, alarm, readonly, "
                           "icon) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sqlite3_bind_text(st, 1, tid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    for (int i = 0; i < 6; i++) {
        if (!has[i])
            continue;
        if (i < 2)
            sqlite3_bind_int64(st, 3 + i, (int64_t)v[i]);
        else
            sqlite3_bind_double(st, 3 + i, v[i]);
    }
    sqlite3_bind_int(st, 9, json_is_true(ro));
    if (json_is_string(icon))
        sqlite3_bind_text(st, 10, json_string_value(icon), -1, SQLITE_TRANSIENT);
    if (!step_done(st)) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sim_effect(s, create ? "types_created" : "types_updated", 1);
    http_resp_json(resp, 200, type_get(s, tid));
}

/* ---- PUT /api/Asset ----------------------------------------------------------------------------
 */

static bool opt_string(json_t *o, const char *key, bool *present, const char **out)
{
    json_t *v = json_object_get(o, key);
    *present = v != NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    *out = json_string_value(v);
    return true;
}

/* Validate the body's tags; the stored form is [{"key","value"}]. */
static json_t *tags_from(json_t *tags, char *why, size_t whylen)
{
    if (!json_is_array(tags)) {
        snprintf(why, whylen, "tags must be an array");
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        json_t *v = json_object_get(t, "value"), *ch = json_object_get(t, "change");
        if (!json_is_object(t) || !xml_name(k) || (v && !json_is_string(v) && !json_is_null(v)) ||
            (ch && !json_is_null(ch) &&
             (!json_is_integer(ch) || json_integer_value(ch) < 0 || json_integer_value(ch) > 6))) {
            snprintf(why, whylen,
                     "tag %zu is invalid: a key must be an XML element name, value a string, "
                     "change 0..6",
                     i);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, json_pack("{s:s,s:o}", "key", k, "value",
                                             json_is_string(v) ? json_copy(v) : json_null()));
    }
    return out;
}

/* True when making parent the parent of n would create a cycle. */
static bool creates_cycle(struct sim *s, int64_t n, int64_t parent)
{
    sqlite3_stmt *st;
    bool cycle = false;
    for (int guard = 0; parent && guard < 100000; guard++) {
        if (parent == n)
            return true;
        if (sqlite3_prepare_v2(sim_db(s), "SELECT parent_n FROM wats_assets WHERE n = ?", -1, &st,
                               NULL) != SQLITE_OK)
            return true;
        sqlite3_bind_int64(st, 1, parent);
        parent = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
    }
    return cycle;
}

static void asset_put(struct sim *s, struct http_request *req, struct http_response *resp)
{
    json_t *o;
    char jerr[JSON_ERR_MAX];
    if (json_parse_object(req->arena, req->body, req->body_len, &o, jerr)) {
        wats_fail(s, req, resp, 400, "The request is invalid: %s", jerr);
        return;
    }
    const char *serial = json_string_value(json_object_get(o, "serialNumber"));
    const char *type = json_string_value(json_object_get(o, "typeId"));
    char tid[37];
    if (!serial || !*serial) {
        wats_fail(s, req, resp, 400, "The serialNumber field is required.");
        return;
    }
    if (strlen(serial) > 100) {
        wats_fail(s, req, resp, 400, "The serialNumber field is longer than 100 characters.");
        return;
    }
    if (!type || !*type) {
        wats_fail(s, req, resp, 400, "The typeId field is required.");
        return;
    }
    if (!odata_guid_normalize(type, tid)) {
        wats_fail(s, req, resp, 400, "The value '%s' is not valid for typeId.", type);
        return;
    }
    json_t *ty = type_get(s, tid);
    if (!ty) {
        wats_fail(s, req, resp, 400, "Asset type '%s' does not exist.", tid);
        return;
    }
    json_decref(ty);
    static const char *const strs[] = {"assetName", "partNumber", "revision", "description",
                                       "location"};
    static const char *const cols[] = {"name", "part", "rev", "description", "location"};
    bool has[5];
    const char *val[5];
    for (int i = 0; i < 5; i++)
        if (!opt_string(o, strs[i], &has[i], &val[i])) {
            wats_fail(s, req, resp, 400, "The value of %s must be a string.", strs[i]);
            return;
        }
    json_t *state = json_object_get(o, "state"), *client = json_object_get(o, "ClientId");
    if (state && !json_is_null(state) &&
        (!json_is_integer(state) || json_integer_value(state) < 0 ||
         json_integer_value(state) > 6)) {
        wats_fail(s, req, resp, 400, "The value of state is not valid (0..6).");
        return;
    }
    if (client && !json_is_null(client) && !json_is_integer(client)) {
        wats_fail(s, req, resp, 400, "The value of ClientId is not valid.");
        return;
    }
    json_t *tags = NULL;
    char why[160];
    if (json_object_get(o, "tags") && !json_is_null(json_object_get(o, "tags"))) {
        tags = tags_from(json_object_get(o, "tags"), why, sizeof(why));
        if (!tags) {
            wats_fail(s, req, resp, 400, "The request is invalid: %s", why);
            return;
        }
        json_arena_own(req->arena, tags);
    }
    /* which asset: assetId, else the serial number */
    const char *aid = json_string_value(json_object_get(o, "assetId"));
    int64_t n = 0;
    if (aid && *aid) {
        n = asset_by_id(s, aid);
        if (!n) {
            wats_fail(s, req, resp, 404, "Asset not found: id '%s'", aid);
            return;
        }
    } else {
        n = wats_asset_by_serial(s, serial);
    }
    int64_t other = wats_asset_by_serial(s, serial);
    if (other && n && other != n) {
        wats_fail(s, req, resp, 400, "The serial number '%s' is already used by another asset.",
                  serial);
        return;
    }
    /* the parent: parentAssetId when given, else parentSerialNumber (empty: none) */
    const char *pid = json_string_value(json_object_get(o, "parentAssetId"));
    const char *psn = json_string_value(json_object_get(o, "parentSerialNumber"));
    int64_t parent = 0;
    if (pid && *pid) {
        parent = asset_by_id(s, pid);
        if (!parent) {
            wats_fail(s, req, resp, 400, "Parent asset not found: id '%s'", pid);
            return;
        }
    } else if (psn && *psn) {
        parent = wats_asset_by_serial(s, psn);
        if (!parent) {
            wats_fail(s, req, resp, 400, "Parent asset not found: serial number '%s'", psn);
            return;
        }
    }
    if (n && parent && creates_cycle(s, n, parent)) {
        wats_fail(s, req, resp, 400, "An asset can not be its own parent or ancestor.");
        return;
    }
    json_t *before = n ? json_arena_own(req->arena, asset_full(s, n)) : NULL;
    int64_t now = sim_now_ms(s);
    sqlite3_stmt *st;
    bool ok = true;
    if (!n) {
        ok = sqlite3_prepare_v2(
                 sim_db(s),
                 "INSERT INTO wats_assets(serial, type_id, state, first_seen, "
                 "last_seen, total, running, tags) VALUES (?, ?, 0, ?, ?, 0, 0, '[]')",
                 -1, &st, NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, tid, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 3, now);
            sqlite3_bind_int64(st, 4, now);
            ok = step_done(st);
        }
        n = sqlite3_last_insert_rowid(sim_db(s));
    }
    struct buf sql;
    buf_init(&sql, 4096);
    enum ab_rc rc = buf_append_str(&sql, "UPDATE wats_assets SET serial = ?1, type_id = ?2, "
                                         "parent_n = ?3");
    for (int i = 0; i < 5 && !rc; i++)
        if (has[i])
            rc = buf_printf(&sql, ", %s = ?%d", cols[i], 4 + i);
    if (!rc && state)
        rc = buf_append_str(&sql, ", state = coalesce(?9, 0)");
    if (!rc && client)
        rc = buf_append_str(&sql, ", client_id = ?10");
    if (!rc && tags)
        rc = buf_append_str(&sql, ", tags = ?11");
    if (!rc)
        rc = buf_append_str(&sql, " WHERE n = ?12");
    ok = ok && !rc && sqlite3_prepare_v2(sim_db(s), buf_str(&sql), -1, &st, NULL) == SQLITE_OK;
    buf_cleanup(&sql);
    if (ok) {
        sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, tid, -1, SQLITE_TRANSIENT);
        if (parent)
            sqlite3_bind_int64(st, 3, parent);
        for (int i = 0; i < 5; i++)
            if (has[i] && val[i])
                sqlite3_bind_text(st, 4 + i, val[i], -1, SQLITE_TRANSIENT);
        if (json_is_integer(state))
            sqlite3_bind_int64(st, 9, json_integer_value(state));
        if (json_is_integer(client))
            sqlite3_bind_int64(st, 10, json_integer_value(client));
        if (tags) {
            char *t = json_dumps(tags, JSON_COMPACT);
            sqlite3_bind_text(st, 11, t ? t : "[]", -1, SQLITE_TRANSIENT);
            free(t);
        }
        sqlite3_bind_int64(st, 12, n);
        ok = step_done(st);
    }
    json_t *after = ok ? json_arena_own(req->arena, asset_full(s, n)) : NULL;
    if (!after) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    if (!before) {
        ok = log_add(s, n, 1, NULL, NULL, "Asset registered", now);
        sim_effect(s, "assets_created", 1);
    } else {
        static const char *const watched[] = {"serialNumber", "typeId",      "parentSerialNumber",
                                              "assetName",    "partNumber",  "revision",
                                              "state",        "description", "location",
                                              "ClientId",     "tags"};
        bool changed = false;
        for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]) && ok; i++) {
            json_t *b = json_object_get(before, watched[i]),
                   *a = json_object_get(after, watched[i]);
            if (json_equal(a, b))
                continue;
            changed = true;
            char *txt = json_is_string(a) ? NULL : json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
            ok = log_add(s, n, 2, watched[i], json_is_string(a) ? json_string_value(a) : txt, NULL,
                         now);
            free(txt);
        }
        if (changed)
            sim_effect(s, "assets_updated", 1);
    }
    if (!ok) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    http_resp_json(resp, 200, json_incref(after));
}

static void asset_delete(struct sim *s, struct http_request *req, struct http_response *resp)
{
    int64_t n = target_asset(s, req, resp);
    if (!n)
        return;
    json_t *a = asset_full(s, n);
    sqlite3_stmt *st;
    bool ok = a != NULL;
    /* children are not deleted: they move to the deleted asset's parent */
    if (ok && sqlite3_prepare_v2(sim_db(s),
                                 "UPDATE wats_assets SET parent_n = (SELECT parent_n FROM "
                                 "wats_assets WHERE n = ?1) WHERE parent_n = ?1",
                                 -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, n);
        ok = step_done(st);
    }
    if (ok && sqlite3_prepare_v2(sim_db(s), "DELETE FROM wats_log WHERE asset_n = ?", -1, &st,
                                 NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, n);
        ok = step_done(st);
    }
    if (ok && sqlite3_prepare_v2(sim_db(s), "DELETE FROM wats_assets WHERE n = ?", -1, &st, NULL) ==
                  SQLITE_OK) {
        sqlite3_bind_int64(st, 1, n);
        ok = step_done(st);
    }
    if (!ok) {
        json_decref(a);
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sim_effect(s, "assets_deleted", 1);
    http_resp_json(resp, 200, a);
}

/* ---- counts, state, calibration, maintenance, messages ----------------------------------- */

/* Run "UPDATE wats_assets SET <set> WHERE n = ?" with up to two int64 values
 * bound first (b_n of them) and n last. */
static bool update_asset(struct sim *s, int64_t n, const char *set, const int64_t *b, int b_n,
                         const bool *b_null)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "UPDATE wats_assets SET %s WHERE n = ?", set);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    for (int i = 0; i < b_n; i++) {
        if (b_null && b_null[i])
            sqlite3_bind_null(st, i + 1);
        else
            sqlite3_bind_int64(st, i + 1, b[i]);
    }
    sqlite3_bind_int64(st, b_n + 1, n);
    return step_done(st);
}

enum ab_rc wats_add_usage(struct sim *s, int64_t n, int64_t inc, bool children)
{
    sqlite3_stmt *st;
    const char *where = children ? "WITH RECURSIVE d(n) AS (SELECT ?2 UNION SELECT a.n FROM "
                                   "wats_assets a JOIN d ON a.parent_n = d.n) "
                                   "SELECT max(total) FROM wats_assets WHERE n IN d"
                                 : "SELECT max(total) FROM wats_assets WHERE n = ?2";
    int64_t max = 0;
    if (sqlite3_prepare_v2(sim_db(s), where, -1, &st, NULL) != SQLITE_OK)
        return AB_EINTERNAL;
    sqlite3_bind_int64(st, 2, n);
    if (sqlite3_step(st) == SQLITE_ROW)
        max = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (max + inc > WATS_INT32_MAX)
        return AB_ETOOLARGE;
    const char *sql = children ? "WITH RECURSIVE d(n) AS (SELECT ?2 UNION SELECT a.n FROM "
                                 "wats_assets a JOIN d ON a.parent_n = d.n) "
                                 "UPDATE wats_assets SET running = running + ?1, total = total + "
                                 "?1, last_seen = ?3 WHERE n IN d"
                               : "UPDATE wats_assets SET running = running + ?1, total = total + "
                                 "?1, last_seen = ?3 WHERE n = ?2";
    if (sqlite3_prepare_v2(sim_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        return AB_EINTERNAL;
    sqlite3_bind_int64(st, 1, inc);
    sqlite3_bind_int64(st, 2, n);
    sqlite3_bind_int64(st, 3, sim_now_ms(s));
    return step_done(st) ? AB_OK : AB_EINTERNAL;
}

static void asset_count(struct sim *s, struct http_request *req, struct http_response *resp)
{
    bool has_inc, has_total, children = false;
    int64_t inc = 0, total = 0;
    if (!q_int(s, req, resp, "incrementBy", &has_inc, &inc) ||
        !q_int(s, req, resp, "totalCount", &has_total, &total) ||
        !q_bool(s, req, resp, "incrementChildren", &children))
        return;
    if (has_inc == has_total) {
        wats_fail(s, req, resp, 400, "Use either the totalCount or the incrementBy parameter.");
        return;
    }
    int64_t n = target_asset(s, req, resp);
    if (!n)
        return;
    struct wats_stats x;
    if (!wats_stats_get(s, n, &x)) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    if (has_total)
        inc = total - x.total; /* the difference to the previous total */
    if (inc < 0) {
        wats_fail(s, req, resp, 400,
                  has_total ? "The total count can not be decreased (current total %lld)."
                            : "incrementBy can not be negative (%lld).",
                  has_total ? (long long)x.total : (long long)inc);
        return;
    }
    enum ab_rc rc = wats_add_usage(s, n, inc, children);
    if (rc) {
        wats_fail(s, req, resp, rc == AB_ETOOLARGE ? 400 : 500,
                  rc == AB_ETOOLARGE ? "The count would exceed the largest int32 value."
                                     : "An error has occurred.");
        return;
    }
    sim_effect(s, "count_calls", 1);
    sim_effect(s, "usage_added", inc);
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    (void)wats_stats_get(s, n, &x);
    resp_scalar(resp, wats_status_json(&c, x.status));
}

static void asset_state(struct sim *s, struct http_request *req, struct http_response *resp)
{
    bool has;
    int64_t v;
    if (!q_int(s, req, resp, "state", &has, &v))
        return;
    if (!has || v < 0 || v > 6) {
        wats_fail(s, req, resp, 400,
                  has ? "The value of state is not valid (0..6)."
                      : "The state parameter is "
                        "required.");
        return;
    }
    int64_t n = target_asset(s, req, resp);
    if (!n)
        return;
    char value[8];
    snprintf(value, sizeof(value), "%lld", (long long)v);
    if (!update_asset(s, n, "state = ?", &v, 1, NULL) ||
        !log_add(s, n, 2, "state", value, NULL, sim_now_ms(s))) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sim_effect(s, "states_set", 1);
    asset_answer(s, req, resp, n);
}

static void asset_reset_running(struct sim *s, struct http_request *req, struct http_response *resp)
{
    int64_t n = target_asset(s, req, resp);
    if (!n)
        return;
    if (!update_asset(s, n, "running = 0", NULL, 0, NULL) ||
        !log_add(s, n, 3, NULL, NULL, http_query(req, "comment"), sim_now_ms(s))) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sim_effect(s, "running_count_resets", 1);
    asset_answer(s, req, resp, n);
}

/* The type's interval (days) for calibration (cal) or maintenance. */
static bool type_interval(struct sim *s, int64_t n, bool cal, double *days)
{
    sqlite3_stmt *st;
    bool has = false;
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT t.%s FROM wats_assets a JOIN wats_types t ON t.type_id = a.type_id "
             "WHERE a.n = ?",
             cal ? "cal_interval" : "maint_interval");
    if (sqlite3_prepare_v2(sim_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, n);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *days = sqlite3_column_double(st, 0);
        has = true;
    }
    sqlite3_finalize(st);
    return has;
}

static int64_t column_of(struct sim *s, int64_t n, const char *col, bool *is_null)
{
    sqlite3_stmt *st;
    char sql[128];
    int64_t v = 0;
    *is_null = true;
    snprintf(sql, sizeof(sql), "SELECT %s FROM wats_assets WHERE n = ?", col);
    if (sqlite3_prepare_v2(sim_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, n);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        v = sqlite3_column_int64(st, 0);
        *is_null = false;
    }
    sqlite3_finalize(st);
    return v;
}

/* POST Calibration / Maintenance (external: the 25.3 .../External form with
 * fromDate and toDate). */
static void record_service(struct sim *s, struct http_request *req, struct http_response *resp,
                           bool cal, bool external)
{
    if (external && !need_25_3(s, req, resp))
        return;
    bool has_from, has_to;
    int64_t from = sim_now_ms(s), to = 0;
    if (!q_time(s, req, resp, external ? "fromDate" : "dateTime", &has_from, &from) ||
        (external && !q_time(s, req, resp, "toDate", &has_to, &to)))
        return;
    if (!has_from)
        from = sim_now_ms(s);
    if (external && !has_to) {
        wats_fail(s, req, resp, 400, "The toDate parameter is required.");
        return;
    }
    if (external && to < from) {
        wats_fail(s, req, resp, 400, "toDate can not be earlier than fromDate.");
        return;
    }
    int64_t n = target_asset(s, req, resp);
    if (!n)
        return;
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    bool last_null;
    int64_t last = column_of(s, n, cal ? "last_cal" : "last_maint", &last_null);
    int64_t b[2] = {from, 0};
    bool nulls[2] = {false, true};
    double days;
    if (external) {
        b[1] = to;
        nulls[1] = false;
    } else if (type_interval(s, n, cal, &days) && days > 0) {
        b[1] = from + (int64_t)(days * (double)WATS_DAY_MS);
        nulls[1] = false;
    }
    /* 25.3: no duplicate entry when the date is unchanged (S6) */
    bool duplicate = wats_at_least(&c, 2025, 3) && !last_null && last == from;
    bool ok = update_asset(
        s, n, cal ? "last_cal = ?, next_cal = ?" : "last_maint = ?, next_maint = ?", b, 2, nulls);
    if (ok && cal && c.cal_resets_running)
        ok = update_asset(s, n, "running = 0", NULL, 0, NULL);
    if (ok && !duplicate)
        ok = log_add(s, n, cal ? 4 : 5, NULL, NULL, http_query(req, "comment"), from);
    if (!ok) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    if (!duplicate)
        sim_effect(s, cal ? "calibrations_recorded" : "maintenance_recorded", 1);
    asset_answer(s, req, resp, n);
}

static void asset_calibration(struct sim *s, struct http_request *req, struct http_response *resp)
{
    record_service(s, req, resp, true, false);
}

static void asset_maintenance(struct sim *s, struct http_request *req, struct http_response *resp)
{
    record_service(s, req, resp, false, false);
}

static void asset_cal_external(struct sim *s, struct http_request *req, struct http_response *resp)
{
    record_service(s, req, resp, true, true);
}

static void asset_maint_external(struct sim *s, struct http_request *req,
                                 struct http_response *resp)
{
    record_service(s, req, resp, false, true);
}

/* PUT SetRunningCount / SetTotalCount (25.3). */
static void set_count(struct sim *s, struct http_request *req, struct http_response *resp,
                      bool running)
{
    if (!need_25_3(s, req, resp))
        return;
    const char *param = running ? "runningCount" : "totalCount";
    bool has;
    int64_t v;
    if (!q_int(s, req, resp, param, &has, &v))
        return;
    if (!has || v < 0) {
        wats_fail(s, req, resp, 400,
                  has ? "The value of %s can not be negative." : "The %s parameter is required.",
                  param);
        return;
    }
    int64_t n = target_asset(s, req, resp);
    if (!n)
        return;
    char value[24];
    snprintf(value, sizeof(value), "%lld", (long long)v);
    if (!update_asset(s, n, running ? "running = ?" : "total = ?", &v, 1, NULL) ||
        !log_add(s, n, 2, param, value, NULL, sim_now_ms(s))) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sim_effect(s, "counts_set", 1);
    asset_answer(s, req, resp, n);
}

static void asset_set_running(struct sim *s, struct http_request *req, struct http_response *resp)
{
    set_count(s, req, resp, true);
}

static void asset_set_total(struct sim *s, struct http_request *req, struct http_response *resp)
{
    set_count(s, req, resp, false);
}

static void asset_message(struct sim *s, struct http_request *req, struct http_response *resp)
{
    json_t *o;
    char jerr[JSON_ERR_MAX];
    if (json_parse_object(req->arena, req->body, req->body_len, &o, jerr)) {
        wats_fail(s, req, resp, 400, "The request is invalid: %s", jerr);
        return;
    }
    const char *content = json_string_value(json_object_get(o, "content"));
    if (!content || !*content) {
        wats_fail(s, req, resp, 400, "The message content is required.");
        return;
    }
    int64_t n = target_asset(s, req, resp);
    if (!n)
        return;
    if (!log_add(s, n, 0, NULL, NULL, content, sim_now_ms(s))) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sim_effect(s, "messages_posted", 1);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "SELECT " /* the new record */
                           "log_id, asset_n, serial, date, user, type, property, value, comment "
                           "FROM wats_log WHERE log_id = last_insert_rowid()",
                           -1, &st, NULL) != SQLITE_OK) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    json_t *rec = sqlite3_step(st) == SQLITE_ROW ? log_row(s, st, NULL) : json_object();
    sqlite3_finalize(st);
    http_resp_json(resp, 200, rec);
}

static void sub_assets(struct sim *s, struct http_request *req, struct http_response *resp)
{
    bool has;
    int64_t lvl = 0;
    if (!q_int(s, req, resp, "level", &has, &lvl))
        return;
    if (lvl < 0) {
        wats_fail(s, req, resp, 400, "The value of level can not be negative.");
        return;
    }
    int64_t n = target_asset(s, req, resp);
    if (!n)
        return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "WITH RECURSIVE d(n, lvl) AS (SELECT n, 1 FROM wats_assets WHERE "
                           "parent_n = ?1 UNION SELECT a.n, d.lvl + 1 FROM wats_assets a JOIN d ON "
                           "a.parent_n = d.n WHERE ?2 = 0 OR d.lvl < ?2) SELECT " ASSET_COLS
                           " FROM wats_assets a WHERE a.n IN (SELECT n FROM d) ORDER BY a.n",
                           -1, &st, NULL) != SQLITE_OK) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sqlite3_bind_int64(st, 1, n);
    sqlite3_bind_int64(st, 2, lvl);
    json_t *items = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(items, asset_odata_row(s, st, NULL));
    sqlite3_finalize(st);
    http_resp_json(resp, 200, items);
}

static void app_version(struct sim *s, struct http_request *req, struct http_response *resp)
{
    (void)req;
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    resp_scalar(resp, json_string(c.version));
}

/* ---- seeding -------------------------------------------------------------------------------- */

static const char w_ddl[] =
    "CREATE TABLE IF NOT EXISTS wats_types(type_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " running_limit INTEGER, total_limit INTEGER, maint_interval REAL, cal_interval REAL,"
    " warning REAL, alarm REAL, readonly INTEGER NOT NULL DEFAULT 0, icon TEXT);"
    "CREATE TABLE IF NOT EXISTS wats_assets(n INTEGER PRIMARY KEY, serial TEXT NOT NULL UNIQUE,"
    " name TEXT, part TEXT, rev TEXT, type_id TEXT NOT NULL, parent_n INTEGER, client_id INTEGER,"
    " state INTEGER NOT NULL, description TEXT, location TEXT, first_seen INTEGER,"
    " last_seen INTEGER, last_maint INTEGER, next_maint INTEGER, last_cal INTEGER,"
    " next_cal INTEGER, total INTEGER NOT NULL, running INTEGER NOT NULL, tags TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS wats_assets_parent ON wats_assets(parent_n);"
    "CREATE TABLE IF NOT EXISTS wats_log(log_id INTEGER PRIMARY KEY, asset_n INTEGER NOT NULL,"
    " serial TEXT NOT NULL, date INTEGER NOT NULL, user TEXT, type INTEGER NOT NULL,"
    " property TEXT, value TEXT, comment TEXT);"
    "CREATE INDEX IF NOT EXISTS wats_log_asset ON wats_log(asset_n);"
    "CREATE INDEX IF NOT EXISTS wats_log_date ON wats_log(date, log_id);"
    "CREATE TABLE IF NOT EXISTS wats_reports(n INTEGER PRIMARY KEY, ts INTEGER NOT NULL UNIQUE,"
    " uuid TEXT NOT NULL UNIQUE, type TEXT NOT NULL, sn TEXT NOT NULL, pn TEXT NOT NULL,"
    " rev TEXT, result TEXT, start INTEGER NOT NULL, process_code INTEGER, process_name TEXT,"
    " station TEXT, location TEXT, purpose TEXT, user TEXT, batch TEXT, fixture TEXT,"
    " socket INTEGER, exec_time REAL, error_code INTEGER, error_message TEXT, comment TEXT,"
    " receive_count INTEGER NOT NULL, assets TEXT NOT NULL);";

struct seed_type {
    const char *name, *prefix, *part, *icon;
    int running_limit, total_limit;
    double maint, cal, warning, alarm;
};

static const struct seed_type seed_types[] = {
    {"Test station", "ST", "TS-1000", "station", 0, 0, 180, 0, 80, 100},
    {"ICT fixture", "FX", "i3070-FX", "fixture", 10000, 100000, 90, 0, 80, 100},
    {"Pogo pin head", "PH", "PH-200", "pins", 5000, 50000, 0, 0, 90, 100},
    {"Digital multimeter", "DMM", "Keithley 2000", "instrument", 0, 0, 0, 365, 90, 100},
    {"Oscilloscope", "OSC", "MSO54", "instrument", 0, 0, 0, 365, 90, 100},
    {"Torque tool", "TQ", "STB34", "tool", 2000, 20000, 0, 180, 80, 100},
};
#define N_SEED_TYPES (sizeof(seed_types) / sizeof(seed_types[0]))

static const char *const seed_lines[] = {"Line 1", "Line 2", "Line 3", "SMT hall", "Repair bay"};

static enum ab_rc w_seed(struct sim *s, struct sim_prng *rng, unsigned n_assets)
{
    sqlite3 *db = sim_db(s);
    int64_t now = sim_now_ms(s);
    char tids[N_SEED_TYPES][37];
    sqlite3_stmt *ins_t, *ins_a, *ins_l;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO wats_types(type_id, name, running_limit, total_limit,"
                           " maint_interval, cal_interval, warning, alarm, readonly, icon)"
                           " VALUES (?,?,?,?,?,?,?,?,0,?)",
                           -1, &ins_t, NULL) != SQLITE_OK)
        return AB_EINTERNAL;
    enum ab_rc rc = AB_OK;
    for (size_t i = 0; i < N_SEED_TYPES && !rc; i++) {
        const struct seed_type *t = &seed_types[i];
        guid_from(sim_prng_next(rng), sim_prng_next(rng), tids[i]);
        sqlite3_reset(ins_t);
        sqlite3_clear_bindings(ins_t);
        sqlite3_bind_text(ins_t, 1, tids[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_t, 2, t->name, -1, SQLITE_STATIC);
        if (t->running_limit)
            sqlite3_bind_int(ins_t, 3, t->running_limit);
        if (t->total_limit)
            sqlite3_bind_int(ins_t, 4, t->total_limit);
        if (t->maint > 0)
            sqlite3_bind_double(ins_t, 5, t->maint);
        if (t->cal > 0)
            sqlite3_bind_double(ins_t, 6, t->cal);
        sqlite3_bind_double(ins_t, 7, t->warning);
        sqlite3_bind_double(ins_t, 8, t->alarm);
        sqlite3_bind_text(ins_t, 9, t->icon, -1, SQLITE_STATIC);
        if (sqlite3_step(ins_t) != SQLITE_DONE)
            rc = AB_EINTERNAL;
    }
    sqlite3_finalize(ins_t);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO wats_assets(serial, name, part, rev, type_id, parent_n,"
                           " state, description, location, first_seen, last_seen, last_maint,"
                           " next_maint, last_cal, next_cal, total, running, tags)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &ins_a, NULL) != SQLITE_OK)
        return AB_EINTERNAL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO wats_log(asset_n, serial, date, user, type, comment)"
                           " VALUES (?,?,?,'" LOG_USER "',?,?)",
                           -1, &ins_l, NULL) != SQLITE_OK) {
        sqlite3_finalize(ins_a);
        return AB_EINTERNAL;
    }
    int64_t last_station = 0, last_fixture = 0;
    for (unsigned i = 0; i < n_assets && !rc; i++) {
        size_t k = sim_prng_next(rng) % N_SEED_TYPES;
        const struct seed_type *t = &seed_types[k];
        char serial[32], name[96], tags[96];
        snprintf(serial, sizeof(serial), "%s-%05u", t->prefix, i + 1);
        snprintf(name, sizeof(name), "%s %u", t->name, i + 1);
        int64_t parent = 0;
        if (k == 1 && last_station && sim_prng_range(rng, 0, 1))
            parent = last_station;
        if (k == 2 && last_fixture)
            parent = last_fixture;
        int64_t first = now - 400 * WATS_DAY_MS + (int64_t)i * 1000;
        int64_t running = 0, total = 0;
        if (t->running_limit) {
            /* most well inside the limit, some past the warning, a few past it */
            int64_t roll = sim_prng_range(rng, 0, 99);
            running = roll < 80 ? sim_prng_range(rng, 0, t->running_limit * 7 / 10)
                      : roll < 95
                          ? sim_prng_range(rng, t->running_limit * 8 / 10, t->running_limit - 1)
                          : sim_prng_range(rng, t->running_limit, t->running_limit * 11 / 10);
            total = running + sim_prng_range(rng, 0, t->total_limit / 2);
        } else {
            total = running = sim_prng_range(rng, 0, 50000);
        }
        sqlite3_reset(ins_a);
        sqlite3_clear_bindings(ins_a);
        sqlite3_bind_text(ins_a, 1, serial, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins_a, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins_a, 3, t->part, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_a, 4, "A", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_a, 5, tids[k], -1, SQLITE_STATIC);
        if (parent)
            sqlite3_bind_int64(ins_a, 6, parent);
        int64_t roll = sim_prng_range(rng, 0, 99);
        sqlite3_bind_int(ins_a, 7, roll < 85 ? 1 : roll < 92 ? 5 : roll < 97 ? 3 : 6);
        sqlite3_bind_text(ins_a, 8, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_a, 9, seed_lines[sim_prng_next(rng) % 5], -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins_a, 10, first);
        sqlite3_bind_int64(ins_a, 11, now - sim_prng_range(rng, 0, 30) * WATS_DAY_MS);
        int64_t last_cal = 0;
        for (int m = 0; m < 2; m++) { /* maintenance, calibration */
            double iv = m ? t->cal : t->maint;
            if (iv <= 0)
                continue;
            /* due between 20 days ago and most of an interval ahead */
            int64_t next = now + sim_prng_range(rng, -20, (int64_t)iv - 10) * WATS_DAY_MS;
            int64_t last = next - (int64_t)iv * WATS_DAY_MS;
            sqlite3_bind_int64(ins_a, m ? 14 : 12, last);
            sqlite3_bind_int64(ins_a, m ? 15 : 13, next);
            if (m)
                last_cal = last;
        }
        sqlite3_bind_int64(ins_a, 16, total);
        sqlite3_bind_int64(ins_a, 17, running);
        if (k != 0 && sim_prng_range(rng, 0, 2) == 0)
            snprintf(tags, sizeof(tags), "[{\"key\":\"SAPEquipment\",\"value\":\"1000%04u\"}]",
                     i + 1);
        else
            snprintf(tags, sizeof(tags), "[]");
        sqlite3_bind_text(ins_a, 18, tags, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins_a) != SQLITE_DONE) {
            rc = AB_EINTERNAL;
            break;
        }
        int64_t n = sqlite3_last_insert_rowid(db);
        if (k == 0)
            last_station = n;
        if (k == 1)
            last_fixture = n;
        for (int e = 0; e < (last_cal ? 2 : 1) && !rc; e++) {
            sqlite3_reset(ins_l);
            sqlite3_bind_int64(ins_l, 1, n);
            sqlite3_bind_text(ins_l, 2, serial, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(ins_l, 3, e ? last_cal : first);
            sqlite3_bind_int(ins_l, 4, e ? 4 : 1);
            sqlite3_bind_text(ins_l, 5, e ? "Calibrated (seeded)" : "Asset registered", -1,
                              SQLITE_STATIC);
            if (sqlite3_step(ins_l) != SQLITE_DONE)
                rc = AB_EINTERNAL;
        }
        sim_effect(s, "seeded_assets", 1);
    }
    sqlite3_finalize(ins_a);
    sqlite3_finalize(ins_l);
    return rc;
}

/* ---- dump --------------------------------------------------------------------------------------
 */

static json_t *dump_query(struct sim *s, const char *sql,
                          json_t *(*row)(struct sim *s, sqlite3_stmt *st, void *ctx))
{
    json_t *items = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s), sql, -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(items, row(s, st, NULL));
        sqlite3_finalize(st);
    }
    return items;
}

static json_t *w_dump(struct sim *s)
{
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    return json_pack(
        "{s:s,s:o,s:o,s:o,s:o}", "server_version", c.version, "types",
        dump_query(s, "SELECT " TYPE_COLS " FROM wats_types t ORDER BY t.name, t.type_id",
                   type_row),
        "assets",
        dump_query(s, "SELECT " ASSET_COLS " FROM wats_assets a ORDER BY a.n", asset_odata_row),
        "log",
        dump_query(s,
                   "SELECT l.log_id, l.asset_n, l.serial, l.date, l.user, l.type, l.property, "
                   "l.value, l.comment FROM wats_log l ORDER BY l.log_id",
                   log_row),
        "reports", wats_report_dump(s));
}

/* ---- the provider -------------------------------------------------------------------------------
 */

static const struct sim_route w_routes[] = {
    {"GET", "/api/App/Version", app_version, 0},
    {"GET", "/api/Asset", asset_list, SIM_ROUTE_LIST},
    {"PUT", "/api/Asset", asset_put, 0},
    {"DELETE", "/api/Asset", asset_delete, 0},
    {"GET", "/api/Asset/Status", asset_status, 0},
    {"PUT", "/api/Asset/State", asset_state, 0},
    {"PUT", "/api/Asset/Count", asset_count, 0},
    {"POST", "/api/Asset/ResetRunningCount", asset_reset_running, 0},
    {"POST", "/api/Asset/Calibration/External", asset_cal_external, 0},
    {"POST", "/api/Asset/Maintenance/External", asset_maint_external, 0},
    {"POST", "/api/Asset/Calibration", asset_calibration, 0},
    {"POST", "/api/Asset/Maintenance", asset_maintenance, 0},
    {"PUT", "/api/Asset/SetRunningCount", asset_set_running, 0},
    {"PUT", "/api/Asset/SetTotalCount", asset_set_total, 0},
    {"GET", "/api/Asset/Log", log_list, SIM_ROUTE_LIST},
    {"POST", "/api/Asset/Message", asset_message, 0},
    {"GET", "/api/Asset/SubAssets", sub_assets, SIM_ROUTE_LIST},
    {"GET", "/api/Asset/Types", types_list, SIM_ROUTE_LIST},
    {"PUT", "/api/Asset/Types", types_put, 0},
    {"GET", "/api/Asset/{assetId}", asset_get, 0},
    {"POST", "/api/Report/WSJF", wats_report_post, 0},
    {"GET", "/api/Report/Query/Header", wats_report_headers, SIM_ROUTE_LIST},
    {NULL, NULL, NULL, 0},
};

static const char *const w_effects[] = {
    "assets_created",
    "assets_updated",
    "assets_deleted",
    "types_created",
    "types_updated",
    "count_calls",
    "usage_added",
    "counts_set",
    "running_count_resets",
    "states_set",
    "calibrations_recorded",
    "maintenance_recorded",
    "messages_posted",
    "reports_received",
    "report_usage_added",
    "seeded_assets",
    NULL,
};

const struct sim_provider sim_wats = {
    SIM_ABI_V1, /* abi */
    "wats",     /* name */
    "Virinco WATS public asset API + WSJF reports (docs/sim/wats.md)",
    w_ddl,          /* ddl: provider tables */
    w_effects,      /* effects: counter names */
    w_routes,       /* routes (no Idempotency-Key: WATS documents none) */
    DEFAULT_TOKEN,  /* default_token: Basic <token>, sent as issued */
    "sim",          /* default_user: user:password Basic, servers before 2025.2 only */
    "sim-password", /* default_password */
    0.0,            /* default_rate_limit: WATS documents none (--rate-limit to throttle) */
    50,             /* default_assets */
    w_seed,         /* seed: 6 asset types, --assets assets, register/calibration log */
    w_auth,         /* authenticate: Basic token */
    w_expire,       /* expire_token: 401 as for an unknown token */
    w_error,        /* error: {"Message": text} */
    w_rate_limited, /* rate_limited: 429 + Retry-After (retry-after=off drops it) */
    w_dump,         /* dump */
};
