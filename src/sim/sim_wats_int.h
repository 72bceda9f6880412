/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_wats_int.h: internals shared by the files of the `wats` simulator
 * (sim_wats.c: options, auth, assets, types, log; sim_wats_report.c: WSJF
 * reports and the report header query). Not for use outside src/sim/sim_wats*.c.
 * Everything here runs under the simulator's lock (see sim.h).
 */
#ifndef AB_SIM_SIM_WATS_INT_H
#define AB_SIM_SIM_WATS_INT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/result.h"
#include "http/http.h"
#include "sim/sim.h"
#include "sim/sim_wats_odata.h"

#define WATS_DAY_MS (24LL * 3600 * 1000)
#define WATS_INT32_MAX 2147483647LL

/* The run's options (docs/sim/wats.md, "Options"), from sim_options(). */
struct wats_cfg {
    char version[64];        /* as reported by GET /api/App/Version */
    int year, minor;         /* 2025, 3 */
    bool skip;               /* skip=on: $skip honoured on asset lists */
    bool status_string;      /* status-enum=string: "Warning" instead of 2 */
    bool report_children;    /* report-children=on: report usage also counts sub-assets */
    bool report_reject;      /* report-unknown-asset=reject: 400 instead of ignoring */
    bool report_resubmit;    /* report-resubmit-counts=on: a resubmitted report counts again */
    bool retry_after;        /* retry-after=on: 429 carries Retry-After */
    bool cal_resets_running; /* calibration-resets-running=on */
    int path_lookup;         /* WATS_LOOKUP_* (asset-path-lookup=) */
};

#define WATS_LOOKUP_EITHER 0    /* GET /api/Asset/{x}: assetId, then serialNumber */
#define WATS_LOOKUP_ID 1        /* assetId only */
#define WATS_LOOKUP_AMBIGUOUS 2 /* 500: two actions match the route */

/* The options of this run (validated at start by sim_wats_configure). */
void wats_cfg_get(const struct sim *s, struct wats_cfg *out /* OUT */);

/* True when the imitated server is year.minor or newer. */
bool wats_at_least(const struct wats_cfg *c, int year, int minor);

/* The server's error answer: status with {"Message": text}. */
void wats_fail(struct sim *s, struct http_request *req, struct http_response *resp, int status,
               const char *fmt, ...) AB_PRINTF(5, 6);

/* An asset's counters and due dates judged against its type's limits
 * (docs/sim/wats.md, "Status"). Optional values have a has_ flag. */
struct wats_stats {
    int status; /* 0 OK, 2 Warning, 3 Alarm (Asset_Status order) */
    char message[256];
    int64_t running, total;
    bool has_running_limit, has_total_limit;
    int64_t running_exceeded, total_exceeded; /* negative while within the limit */
    bool cal_known, maint_known;              /* a last date exists */
    double days_since_cal, days_since_maint;
    bool has_cal_due, has_maint_due;
    double cal_overdue, maint_overdue; /* days; negative while within */
};

/* Compute the stats of asset n now; false when there is no such asset. */
bool wats_stats_get(struct sim *s, int64_t n, struct wats_stats *out /* OUT */);

/* The status value as the API shows it (2 or "Warning", per status-enum). */
json_t *wats_status_json(const struct wats_cfg *c, int status);

/* The asset numbered n by serial number; 0 when none. */
int64_t wats_asset_by_serial(struct sim *s, const char *serial);

/* Add inc (>= 0) to the running and total counts of asset n (and of all its
 * descendants when children), marking them seen now. AB_ETOOLARGE when a count
 * would pass int32; AB_EINTERNAL on a database failure. */
enum ab_rc wats_add_usage(struct sim *s, int64_t n, int64_t inc, bool children) AB_MUST_CHECK;

/* A paged OData list: SELECT select FROM from [WHERE where AND filter]
 * ORDER BY (orderby or default_order), tiebreak LIMIT top OFFSET skip, one
 * row() per result, answered as a JSON array. */
struct wats_list {
    const char *select, *from;
    const struct odata_field *fields;
    size_t n_fields;
    const char *default_order, *tiebreak;
    int64_t default_top, max_top; /* max_top 0: no maximum */
    bool skip_always;             /* $skip honoured whatever skip= says */
    json_t *(*row)(struct sim *s, sqlite3_stmt *st, void *ctx);
};

/* Answer a list request (400 on a bad $filter/$orderby/$top/$skip). where
 * (may be NULL) is an extra SQL condition with where_params bound first. */
void wats_list_run(struct sim *s, struct http_request *req, struct http_response *resp,
                   const struct wats_list *l, const char *where, const int64_t *where_params,
                   size_t n_where_params, void *ctx);

/* JSON of a column: text/null, time/null, integer/null, real/null. */
json_t *wats_text(sqlite3_stmt *st, int col);
json_t *wats_time(sqlite3_stmt *st, int col);
json_t *wats_int(sqlite3_stmt *st, int col);
json_t *wats_real(sqlite3_stmt *st, int col);

/* ---- sim_wats_report.c ---------------------------------------------------- */

/* POST /api/Report/WSJF and GET /api/Report/Query/Header. */
void wats_report_post(struct sim *s, struct http_request *req, struct http_response *resp);
void wats_report_headers(struct sim *s, struct http_request *req, struct http_response *resp);

/* Every stored report header with its assets (for /_sim/state). */
json_t *wats_report_dump(struct sim *s);

#endif
