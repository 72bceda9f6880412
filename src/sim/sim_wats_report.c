/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_wats_report.c: test reports in the `wats` simulator
 * (docs/sim/wats.md, "Reports"): POST /api/Report/WSJF validates a WSJF
 * report (400 with a validation text), adds each `assets[]` usageCount to
 * the asset's running and total counts as the server does when it processes
 * a report, snapshots the asset statistics, and stores the header;
 * GET /api/Report/Query/Header serves the headers with OData $filter, $top
 * (default 10, at most 10000), $skip, $orderby (start, uuid, serialNumber,
 * timeStamp), $select and $expand=assets. Called from sim_wats.c's route
 * table only.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/timefmt.h"
#include "http/json.h"
#include "sim/sim.h"
#include "sim/sim_wats_int.h"
#include "sim/sim_wats_odata.h"

#define HEADER_TOP_DEFAULT 10
#define HEADER_TOP_MAX 10000
#define FIELD_MAX 100
#define ASSETS_MAX 1000

/* ---- POST /api/Report/WSJF ------------------------------------------------------- */

static bool bad(struct sim *s, struct http_request *req, struct http_response *resp,
                const char *what)
{
    wats_fail(s, req, resp, 400, "Report validation failed: %s", what);
    return false;
}

/* An optional string member (absent, null or a string of at most max). */
static bool opt_str(json_t *o, const char *key, size_t max, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) > max)
        return false;
    *out = json_string_value(v);
    return true;
}

static bool opt_int(json_t *o, const char *key, bool *has, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    *has = v && !json_is_null(v);
    if (!*has)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < -WATS_INT32_MAX - 1 ||
        json_integer_value(v) > WATS_INT32_MAX)
        return false;
    *out = json_integer_value(v);
    return true;
}

static const char *result_word(const char *r)
{
    if (!r)
        return NULL;
    if (strcmp(r, "P") == 0)
        return "Passed";
    if (strcmp(r, "F") == 0)
        return "Failed";
    if (strcmp(r, "E") == 0)
        return "Error";
    if (strcmp(r, "T") == 0)
        return "Terminated";
    return NULL;
}

/* The stats of one report asset (ReportHeader assets[] item). */
static json_t *usage_entry(struct sim *s, const char *serial, int64_t n)
{
    struct wats_stats x;
    if (!n || !wats_stats_get(s, n, &x))
        return json_pack("{s:s,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}", "serialNumber", serial,
                         "runningCount", "runningCountExceeded", "totalCount", "totalCountExceeded",
                         "daysSinceMaintenance", "maintenanceDaysOverdue", "daysSinceCalibration",
                         "calibrationDaysOverdue");
    return json_pack(
        "{s:s,s:I,s:o,s:I,s:o,s:o,s:o,s:o,s:o}", "serialNumber", serial, "runningCount",
        (json_int_t)x.running, "runningCountExceeded",
        x.has_running_limit ? json_integer(x.running_exceeded) : json_null(), "totalCount",
        (json_int_t)x.total, "totalCountExceeded",
        x.has_total_limit ? json_integer(x.total_exceeded) : json_null(), "daysSinceMaintenance",
        x.maint_known ? json_real(x.days_since_maint) : json_null(), "maintenanceDaysOverdue",
        x.has_maint_due ? json_real(x.maint_overdue) : json_null(), "daysSinceCalibration",
        x.cal_known ? json_real(x.days_since_cal) : json_null(), "calibrationDaysOverdue",
        x.has_cal_due ? json_real(x.cal_overdue) : json_null());
}

struct wsjf {
    const char *type, *sn, *pn, *rev, *result, *process_name, *station, *location, *purpose;
    const char *user, *batch, *fixture, *error_message, *comment;
    char id[37];
    int64_t start, process_code, socket, error_code;
    bool has_socket, has_error_code, has_exec;
    double exec_time;
    json_t *assets;
};

/* Validate the report; false with the 400 answered. */
static bool wsjf_parse(struct sim *s, struct http_request *req, struct http_response *resp,
                       json_t *o, struct wsjf *w)
{
    memset(w, 0, sizeof(*w));
    w->type = json_string_value(json_object_get(o, "type"));
    if (!w->type || (strcmp(w->type, "T") != 0 && strcmp(w->type, "R") != 0))
        return bad(s, req, resp, "'type' must be \"T\" (test) or \"R\" (repair)");
    const char *id = json_string_value(json_object_get(o, "id"));
    if (!id || !odata_guid_normalize(id, w->id))
        return bad(s, req, resp, "'id' must be a GUID");
    if (!opt_str(o, "sn", FIELD_MAX, &w->sn) || !w->sn || !*w->sn)
        return bad(s, req, resp, "'sn' (serial number) is required, at most 100 characters");
    if (!opt_str(o, "pn", FIELD_MAX, &w->pn) || !w->pn || !*w->pn)
        return bad(s, req, resp, "'pn' (part number) is required, at most 100 characters");
    if (!opt_str(o, "rev", FIELD_MAX, &w->rev) || !w->rev)
        return bad(s, req, resp, "'rev' (revision) is required, at most 100 characters");
    bool has;
    if (!opt_int(o, "processCode", &has, &w->process_code) || !has)
        return bad(s, req, resp, "'processCode' is required and must be an integer");
    const char *r;
    if (!opt_str(o, "result", 1, &r) || (r && !result_word(r)) || (!r && *w->type == 'T'))
        return bad(s, req, resp, "'result' must be one of P, F, E, T");
    w->result = result_word(r);
    const char *start, *start_utc;
    if (!opt_str(o, "start", 64, &start) || !opt_str(o, "startUTC", 64, &start_utc))
        return bad(s, req, resp, "'start' and 'startUTC' must be date-time strings");
    const char *when = start_utc ? start_utc : start;
    if (!when || time_parse_rfc3339(when, &w->start))
        return bad(s, req, resp,
                   "'start' or 'startUTC' is required: a date-time with a zone, e.g. "
                   "2026-01-30T22:01:41.47+01:00");
    if (!opt_str(o, "processName", FIELD_MAX, &w->process_name) ||
        !opt_str(o, "machineName", FIELD_MAX, &w->station) ||
        !opt_str(o, "location", FIELD_MAX, &w->location) ||
        !opt_str(o, "purpose", FIELD_MAX, &w->purpose))
        return bad(s, req, resp,
                   "'processName', 'machineName', 'location' and 'purpose' are strings of at "
                   "most 100 characters");
    json_t *uut = json_object_get(o, "uut");
    if (uut && !json_is_null(uut)) {
        if (!json_is_object(uut))
            return bad(s, req, resp, "'uut' must be an object");
        json_t *et = json_object_get(uut, "execTime");
        if (et && !json_is_null(et) && !json_is_number(et))
            return bad(s, req, resp, "'uut.execTime' must be a number");
        w->has_exec = json_is_number(et);
        w->exec_time = json_number_value(et);
        if (!opt_str(uut, "user", FIELD_MAX, &w->user) ||
            !opt_str(uut, "batchSN", FIELD_MAX, &w->batch) ||
            !opt_str(uut, "fixtureId", FIELD_MAX, &w->fixture) ||
            !opt_str(uut, "errorMessage", 10000, &w->error_message) ||
            !opt_str(uut, "comment", 10000, &w->comment) ||
            !opt_int(uut, "testSocketIndex", &w->has_socket, &w->socket) ||
            !opt_int(uut, "errorCode", &w->has_error_code, &w->error_code))
            return bad(s, req, resp, "a 'uut' field has the wrong type or is too long");
    }
    json_t *assets = json_object_get(o, "assets");
    if (assets && !json_is_null(assets)) {
        if (!json_is_array(assets) || json_array_size(assets) > ASSETS_MAX)
            return bad(s, req, resp, "'assets' must be an array (at most 1000 items)");
        size_t i;
        json_t *a;
        json_array_foreach (assets, i, a) {
            const char *sn, *fmt;
            bool hu;
            int64_t u = 0;
            char what[160];
            if (!json_is_object(a) || !opt_str(a, "assetSN", FIELD_MAX, &sn) || !sn || !*sn ||
                !opt_int(a, "usageCount", &hu, &u) || u < 0 ||
                !opt_str(a, "usageCountFormat", FIELD_MAX, &fmt)) {
                snprintf(what, sizeof(what),
                         "assets[%zu]: 'assetSN' (1..100 characters) is required and "
                         "'usageCount' must be an integer >= 0",
                         i);
                return bad(s, req, resp, what);
            }
        }
        w->assets = assets;
    }
    return true;
}

void wats_report_post(struct sim *s, struct http_request *req, struct http_response *resp)
{
    json_t *o;
    char jerr[JSON_ERR_MAX];
    if (json_parse_object(req->arena, req->body, req->body_len, &o, jerr)) {
        bad(s, req, resp, jerr);
        return;
    }
    struct wsjf w;
    if (!wsjf_parse(s, req, resp, o, &w))
        return;
    struct wats_cfg c;
    wats_cfg_get(s, &c);
    sqlite3 *db = sim_db(s);
    sqlite3_stmt *st;
    /* a resubmitted report (same id) replaces its header */
    int64_t receive = 1;
    char *old_assets = NULL;
    if (sqlite3_prepare_v2(db, "SELECT receive_count, assets FROM wats_reports WHERE uuid = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sqlite3_bind_text(st, 1, w.id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        receive = sqlite3_column_int64(st, 0) + 1;
        old_assets = arena_strdup(req->arena, (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    size_t i;
    json_t *a;
    if (c.report_reject) {
        json_array_foreach (w.assets, i, a) {
            const char *sn = json_string_value(json_object_get(a, "assetSN"));
            if (!wats_asset_by_serial(s, sn)) {
                wats_fail(s, req, resp, 400, "Report validation failed: asset '%s' does not exist",
                          sn);
                return;
            }
        }
    }
    json_t *stats = json_arena_own(req->arena, json_array());
    if (old_assets && !c.report_resubmit) {
        json_t *prev = json_loads(old_assets, 0, NULL);
        if (json_is_array(prev))
            json_array_extend(stats, prev);
        json_decref(prev);
    } else {
        int64_t applied = 0;
        json_array_foreach (w.assets, i, a) {
            const char *sn = json_string_value(json_object_get(a, "assetSN"));
            int64_t use = json_integer_value(json_object_get(a, "usageCount"));
            int64_t n = wats_asset_by_serial(s, sn);
            if (n) {
                enum ab_rc rc = wats_add_usage(s, n, use, c.report_children);
                if (rc) {
                    wats_fail(s, req, resp, rc == AB_ETOOLARGE ? 400 : 500,
                              rc == AB_ETOOLARGE ? "Report validation failed: the usage of asset "
                                                   "'%s' would pass the largest int32 count"
                                                 : "An error has occurred. (%s)",
                              sn);
                    return;
                }
                applied += use;
            }
            json_array_append_new(stats, usage_entry(s, sn, n));
        }
        sim_effect(s, "report_usage_added", applied);
    }
    char *assets_text = json_dumps(stats, JSON_COMPACT);
    bool ok = assets_text != NULL;
    if (ok && sqlite3_prepare_v2(db, "DELETE FROM wats_reports WHERE uuid = ?", -1, &st, NULL) ==
                  SQLITE_OK) {
        sqlite3_bind_text(st, 1, w.id, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    if (ok)
        ok = sqlite3_prepare_v2(
                 db,
                 "INSERT INTO wats_reports(ts, uuid, type, sn, pn, rev, result, start, "
                 "process_code, process_name, station, location, purpose, user, batch, fixture, "
                 "socket, exec_time, error_code, error_message, comment, receive_count, assets) "
                 "VALUES ((SELECT coalesce(max(ts), 0) + 1 FROM wats_reports), ?,?,?,?,?,?,?,?,?,"
                 "?,?,?,?,?,?,?,?,?,?,?,?,?)",
                 -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        const char *texts[] = {w.id, w.type, w.sn, w.pn, w.rev, w.result};
        for (int k = 0; k < 6; k++)
            if (texts[k])
                sqlite3_bind_text(st, 1 + k, texts[k], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, w.start);
        sqlite3_bind_int64(st, 8, w.process_code);
        const char *more[] = {w.process_name, w.station, w.location, w.purpose,
                              w.user,         w.batch,   w.fixture};
        for (int k = 0; k < 7; k++)
            if (more[k])
                sqlite3_bind_text(st, 9 + k, more[k], -1, SQLITE_STATIC);
        if (w.has_socket)
            sqlite3_bind_int64(st, 16, w.socket);
        if (w.has_exec)
            sqlite3_bind_double(st, 17, w.exec_time);
        if (w.has_error_code)
            sqlite3_bind_int64(st, 18, w.error_code);
        if (w.error_message)
            sqlite3_bind_text(st, 19, w.error_message, -1, SQLITE_STATIC);
        if (w.comment)
            sqlite3_bind_text(st, 20, w.comment, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 21, receive);
        sqlite3_bind_text(st, 22, assets_text, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    free(assets_text);
    int64_t n = sqlite3_last_insert_rowid(db);
    if (!ok) {
        wats_fail(s, req, resp, 500, "An error has occurred.");
        return;
    }
    sim_effect(s, "reports_received", 1);
    http_resp_json(
        resp, 200,
        json_pack("{s:s,s:s,s:I}", "ID", w.id, "uuid", w.id, "Report_ID", (json_int_t)n));
}

/* ---- GET /api/Report/Query/Header ----------------------------------------------------- */

static const struct odata_field header_fields[] = {
    {"uuid", "r.uuid", ODATA_GUID, true, NULL},
    {"serialNumber", "r.sn", ODATA_STRING, true, NULL},
    {"partNumber", "r.pn", ODATA_STRING, false, NULL},
    {"reportType", "r.type", ODATA_STRING, false, NULL},
    {"start", "r.start", ODATA_DATETIME, true, NULL},
    {"revision", "r.rev", ODATA_STRING, false, NULL},
    {"result", "r.result", ODATA_STRING, false, NULL},
    {"batchNumber", "r.batch", ODATA_STRING, false, NULL},
    {"userName", "r.user", ODATA_STRING, false, NULL},
    {"stationName", "r.station", ODATA_STRING, false, NULL},
    {"location", "r.location", ODATA_STRING, false, NULL},
    {"purpose", "r.purpose", ODATA_STRING, false, NULL},
    {"timeStamp", "r.ts", ODATA_INT, true, NULL},
    {"processCode", "r.process_code", ODATA_INT, false, NULL},
    {"processName", "r.process_name", ODATA_STRING, false, NULL},
    {"comment", "r.comment", ODATA_STRING, false, NULL},
    {"executionTime", "r.exec_time", ODATA_DOUBLE, false, NULL},
    {"testSocketIndex", "r.socket", ODATA_INT, false, NULL},
    {"fixtureId", "r.fixture", ODATA_STRING, false, NULL},
    {"errorCode", "r.error_code", ODATA_INT, false, NULL},
    {"errorMessage", "r.error_message", ODATA_STRING, false, NULL},
    {"receiveCount", "r.receive_count", ODATA_INT, false, NULL},
};

#define HEADER_COLS                                                                                \
    "r.n, r.ts, r.uuid, r.type, r.sn, r.pn, r.rev, r.result, r.start, r.process_code,"             \
    " r.process_name, r.station, r.location, r.purpose, r.user, r.batch, r.fixture, r.socket,"     \
    " r.exec_time, r.error_code, r.error_message, r.comment, r.receive_count, r.assets"

static const char *const expandable[] = {"subUnits",      "miscInfo",    "assets",
                                         "attachments",   "uurSubUnits", "uurMiscInfo",
                                         "uurAttachments"};
#define N_EXPANDABLE (sizeof(expandable) / sizeof(expandable[0]))
#define SELECT_MAX 64

struct header_ctx {
    bool expand[N_EXPANDABLE];
    bool all; /* no $select */
    const char *select[SELECT_MAX];
    size_t n_select;
};

static json_t *header_row(struct sim *s, sqlite3_stmt *st, void *arg)
{
    (void)s;
    struct header_ctx *x = arg;
    json_t *o = json_object();
    json_object_set_new(o, "uuid", wats_text(st, 2));
    json_object_set_new(o, "serialNumber", wats_text(st, 4));
    json_object_set_new(o, "partNumber", wats_text(st, 5));
    json_object_set_new(o, "reportType", wats_text(st, 3));
    json_object_set_new(o, "start", wats_time(st, 8));
    json_object_set_new(o, "revision", wats_text(st, 6));
    json_object_set_new(o, "result", wats_text(st, 7));
    json_object_set_new(o, "batchNumber", wats_text(st, 15));
    json_object_set_new(o, "userName", wats_text(st, 14));
    json_object_set_new(o, "stationName", wats_text(st, 11));
    json_object_set_new(o, "location", wats_text(st, 12));
    json_object_set_new(o, "purpose", wats_text(st, 13));
    json_object_set_new(o, "measuresDeleted", json_false());
    json_object_set_new(o, "timeStamp", wats_int(st, 1));
    json_object_set_new(o, "processCode", wats_int(st, 9));
    json_object_set_new(o, "processName", wats_text(st, 10));
    json_object_set_new(o, "comment", wats_text(st, 21));
    json_object_set_new(o, "executionTime", wats_real(st, 18));
    json_object_set_new(o, "testSocketIndex", wats_int(st, 17));
    json_object_set_new(o, "fixtureId", wats_text(st, 16));
    json_object_set_new(o, "errorCode", wats_int(st, 19));
    json_object_set_new(o, "errorMessage", wats_text(st, 20));
    json_object_set_new(o, "run", json_integer(1));
    json_object_set_new(o, "receiveCount", wats_int(st, 22));
    if (x && !x->all) {
        json_t *sel = json_object();
        for (size_t i = 0; i < x->n_select; i++) {
            json_t *v = json_object_get(o, x->select[i]);
            if (v)
                json_object_set(sel, x->select[i], v);
        }
        json_decref(o);
        o = sel;
    }
    for (size_t i = 0; i < N_EXPANDABLE; i++) {
        if (x && !x->expand[i])
            continue;
        json_t *v = NULL;
        if (strcmp(expandable[i], "assets") == 0)
            v = json_loads((const char *)sqlite3_column_text(st, 23), 0, NULL);
        json_object_set_new(o, expandable[i], json_is_array(v) ? v : json_array());
        if (v && !json_is_array(v))
            json_decref(v);
    }
    return o;
}

/* Split a comma list into names (arena copies, trimmed). */
static size_t split_list(struct arena *a, const char *text, const char **out, size_t max)
{
    size_t n = 0;
    while (text && *text && n < max) {
        const char *comma = strchr(text, ',');
        size_t len = comma ? (size_t)(comma - text) : strlen(text);
        const char *b = text, *e = text + len;
        while (b < e && *b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            e--;
        out[n++] = arena_strndup(a, b, (size_t)(e - b));
        text = comma ? comma + 1 : text + len;
    }
    return n;
}

void wats_report_headers(struct sim *s, struct http_request *req, struct http_response *resp)
{
    if (http_query(req, "$count")) {
        wats_fail(s, req, resp, 400,
                  "The query specified in the URI is not valid. Query option 'Count' is not "
                  "allowed. To allow it, set the 'AllowedQueryOptions' property on "
                  "EnableQueryAttribute or QueryValidationSettings.");
        return;
    }
    struct header_ctx *x = arena_zalloc(req->arena, sizeof(*x));
    const char *names[SELECT_MAX];
    size_t n = split_list(req->arena, http_query(req, "$expand"), names, SELECT_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < N_EXPANDABLE && strcasecmp(names[i], expandable[k]) != 0)
            k++;
        if (k == N_EXPANDABLE) {
            wats_fail(s, req, resp, 400,
                      "The query specified in the URI is not valid. Could not find a property "
                      "named '%s' on type 'Virinco.WATS.Web.Dashboard.Models.OData.ReportHeader'.",
                      names[i]);
            return;
        }
        x->expand[k] = true;
    }
    const char *sel = http_query(req, "$select");
    x->all = !sel || !*sel || strcmp(sel, "*") == 0;
    if (!x->all) {
        x->n_select = split_list(req->arena, sel, x->select, SELECT_MAX);
        for (size_t i = 0; i < x->n_select; i++) {
            bool found =
                strcmp(x->select[i], "measuresDeleted") == 0 || strcmp(x->select[i], "run") == 0;
            for (size_t k = 0; !found && k < sizeof(header_fields) / sizeof(header_fields[0]); k++)
                if (strcasecmp(header_fields[k].name, x->select[i]) == 0) {
                    x->select[i] = header_fields[k].name;
                    found = true;
                }
            if (!found) {
                wats_fail(s, req, resp, 400,
                          "The query specified in the URI is not valid. Could not find a "
                          "property named '%s' on type "
                          "'Virinco.WATS.Web.Dashboard.Models.OData.ReportHeader'.",
                          x->select[i]);
                return;
            }
        }
    }
    static const struct wats_list headers = {
        HEADER_COLS,
        "wats_reports r",
        header_fields,
        sizeof(header_fields) / sizeof(header_fields[0]),
        "r.start DESC",
        "r.ts DESC",
        HEADER_TOP_DEFAULT,
        HEADER_TOP_MAX,
        true,
        header_row,
    };
    wats_list_run(s, req, resp, &headers, NULL, NULL, 0, x);
}

json_t *wats_report_dump(struct sim *s)
{
    struct header_ctx all = {.all = true};
    for (size_t i = 0; i < N_EXPANDABLE; i++)
        all.expand[i] = strcmp(expandable[i], "assets") == 0;
    json_t *items = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s), "SELECT " HEADER_COLS " FROM wats_reports r ORDER BY r.ts",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(items, header_row(s, st, &all));
        sqlite3_finalize(st);
    }
    return items;
}
