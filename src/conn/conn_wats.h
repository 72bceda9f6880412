/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_wats.h: the connector for WATS (Virinco's test-data system, provider
 * type `wats`), written from the contract sheet providers/wats.md and the
 * server's Swagger export, and the pure helpers behind it (version parsing,
 * lifecycle state mapping, OData query building, date handling, HTTP outcome
 * classification, native <-> canonical translation, the warning/alarm
 * derivation), exported so unit tests can check them without a network.
 *
 * The connector's behaviour for what the contract marks [inferred] is held
 * in struct conn_wats_opts. init fills it from the provider's `wats:`
 * section (struct config_wats; the defaults below where a key is unset);
 * conn_wats_init_with() takes explicit options (tests).
 * docs/connectors/wats.md documents the mapping, endpoints and options.
 *
 * Thread-safety: the helpers are pure unless noted; a connector context may
 * be shared by engine threads (its caches and rate bucket are locked).
 */
#ifndef AB_CONN_CONN_WATS_H
#define AB_CONN_CONN_WATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn/conn.h"
#include "core/arena.h"
#include "core/result.h"

/* The connector (registered in conn_registry[] as "wats"). */
extern const struct conn_ops conn_wats;

/* ---- options ([inferred] behaviour made configurable) ------------------------ */

enum conn_wats_paging {
    CONN_WATS_PAGING_SKIP = 0, /* $orderby=assetId&$top=N&$skip=K (default) */
    CONN_WATS_PAGING_KEYSET,   /* $filter=assetId gt 'LAST'&$orderby=assetId&$top=N */
};

enum conn_wats_date_style {
    CONN_WATS_DATE_UTC_Z = 0, /* 2024-06-15T10:30:00Z (default) */
    CONN_WATS_DATE_NAIVE,     /* 2024-06-15T10:30:00 in the server's offset (as S3 sends) */
};

enum conn_wats_usage_endpoint {
    CONN_WATS_USAGE_COUNT = 0, /* PUT Asset/Count?totalCount= on every server (default) */
    CONN_WATS_USAGE_SET_TOTAL, /* PUT Asset/SetTotalCount (25.3+ only; else permanent) */
    CONN_WATS_USAGE_AUTO,      /* SetTotalCount on 25.3+, Count?totalCount= before */
};

/* A list of WATS asset type names or type ids (compared case-insensitively). */
struct conn_wats_types {
    const char *const *v;
    size_t n;
};

/* A hub meter pushed to this provider (the provider's usage.meters): pulled
 * assets declare WATS's count for it as provider_meters.HUB.total, which the
 * store keeps as the usage baseline (docs/connectors/wats.md, "Usage
 * baseline"). */
struct conn_wats_meter {
    const char *hub_meter; /* hub meter type, e.g. "cycles" */
    bool running;          /* target running_count: WATS's runningCount, else totalCount */
};

struct conn_wats_opts {
    int page_size;        /* $top of asset pages; default 1000 (the server's default) */
    int log_page_size;    /* $top of Asset/Log pages; default 200 */
    int report_page_size; /* $top of report header pages; default 500 */
    int lookup_batch;     /* serial numbers per `or` filter; 1: one GET per asset; default 20 */
    enum conn_wats_paging paging;
    bool
        incremental_via_log; /* with a watermark, read Asset/Log (default true); false: full pass */
    bool log_tiebreak;       /* log filter `date gt D or (date eq D and logId gt N)`, ordered by
                                date then logId (default true); false: `date ge D` */
    bool status_for_changed; /* GET Asset/Status for assets the log names (default true) */
    bool derive_status;      /* warning/alarm from counts, dates and type limits (default true) */
    double default_warning_pct;           /* when a type has no threshold; default 80 */
    double default_alarm_pct;             /* default 100 */
    enum conn_wats_date_style send_dates; /* dateTime query parameters */
    int naive_offset_min; /* offset (minutes east of UTC) of dates the server sends without a
                             zone, and of dates sent as CONN_WATS_DATE_NAIVE; default 0 */
    enum conn_wats_usage_endpoint usage_endpoint;
    const char *set_total_param;     /* SetTotalCount value parameter; default "totalCount" */
    const char *set_running_param;   /* SetRunningCount value parameter; default "runningCount" */
    const char *external_from_param; /* Calibration|Maintenance/External; default "fromDate" */
    const char *external_to_param;   /* default "toDate" */
    const char *report_cursor_field; /* report header cursor; default "timeStamp" */
    struct conn_wats_types reports_count_usage;  /* types whose usage WATS reports count */
    struct conn_wats_types calibration_external; /* types with an External calibration interval */
    struct conn_wats_types maintenance_external; /* types with an External maintenance interval */
    bool external_sentinel;         /* also treat interval == external_sentinel_value as External */
    double external_sentinel_value; /* default -2 (pyWATS IntervalMode.EXTERNAL) */
    int64_t due_tolerance_ms;       /* next-date comparison tolerance; default 24 h */
    double requests_per_minute;     /* connector-wide ceiling; default 500 */
    int max_retries;                /* retries of a GET on 429/5xx/network; default 2 */
    int64_t retry_base_ms;          /* first retry delay; default 500 ms (full jitter) */
    int64_t retry_cap_ms;           /* longest wait, Retry-After included; default 10 s */
    int64_t version_ttl_ms;         /* re-read /api/App/Version after this; default 1 h */
    int64_t types_ttl_ms;           /* re-read asset types after this; default 5 min */
    const char *server_version;     /* skip /api/App/Version and assume this (NULL: ask) */
    const char *default_type;       /* WATS type name for assets pushed without one (NULL) */
    /* "asset_type=WATS type name" pairs: the type of an asset pushed without
     * one, by its canonical type, before default_type */
    struct conn_wats_types register_types;
    const struct conn_wats_meter *meters; /* hub meters pushed here; init fills them from
                                             usage.meters when n_meters is 0 */
    size_t n_meters;
};

/* The defaults listed above. */
void conn_wats_opts_default(struct conn_wats_opts *o /* OUT */);

/* init with explicit options (copied, strings included). client as for
 * conn_ops.init (NULL: the connector makes its own from cfg). Errors as
 * init: AB_ECONFIG with one line in err. */
enum ab_rc conn_wats_init_with(const struct config_provider *cfg, struct client *client,
                               const struct conn_wats_opts *opts, void **ctx /* OUT */, char *err,
                               size_t errlen) AB_MUST_CHECK;

/* Requests the context has sent (retries included), for tests and the
 * request-count figures of docs/connectors/wats.md. Thread-safe. */
int64_t conn_wats_requests(void *ctx);

/* ---- version ---------------------------------------------------------------- */

struct conn_wats_version {
    int major; /* 25 for "25.3.9.824" and for "2025.3.9.824" */
    int minor;
    int patch;
    int build;
};

/* Parse what /api/App/Version answers: a JSON string ("\"25.3.9.824\""),
 * plain text, or XML (<string ...>25.3.9</string>); leading "v" and a year
 * form (2025.3) accepted. AB_EPARSE when no version is found. */
enum ab_rc conn_wats_version_parse(const char *body, size_t len,
                                   struct conn_wats_version *out /* OUT */) AB_MUST_CHECK;

/* True when v is major.minor or newer. */
bool conn_wats_version_at_least(const struct conn_wats_version *v, int major, int minor);

/* ---- value lists -------------------------------------------------------------- */

/* WATS state 0..6 -> canonical asset status. 0 (Unknown) and values out of
 * range answer AB_ENOTFOUND with *status NULL (the pull then leaves status
 * out: the hub keeps its own). */
enum ab_rc conn_wats_state_to_status(int state, const char **status /* OUT */) AB_MUST_CHECK;

/* Canonical asset status -> WATS state 1..6. AB_ENOTFOUND for an unknown
 * status. in_repair answers 3 (In Maintenance) and retired 6 (Scrapped):
 * those two do not survive a round trip (docs/connectors/wats.md). */
enum ab_rc conn_wats_status_to_state(const char *status, int *state /* OUT */) AB_MUST_CHECK;

/* A WATS asset type name -> canonical asset type ("station", "fixture",
 * "instrument", "tool", "other") by keywords in the name (case-insensitive):
 * station/tester/rack -> station; fixture/jig/adapter/nest -> fixture;
 * instrument/dmm/meter/scope/supply/analyzer/generator/load -> instrument;
 * tool/torque/driver -> tool; else other. Never NULL. */
const char *conn_wats_type_to_canonical(const char *type_name);

/* ---- OData, dates ------------------------------------------------------------- */

/* The encoded query string of an OData list request: $filter (NULL: none),
 * $orderby (NULL: none), $top (<= 0: none), $skip (<= 0: none), $expand
 * (NULL: none), in that order. In a. */
const char *conn_wats_odata_query(struct arena *a, const char *filter, const char *orderby, int top,
                                  long long skip, const char *expand);

/* Parse a WATS date-time: RFC 3339 with Z or an offset, or without a zone
 * ("2024-06-15T10:30:00", ".NET" fractions of up to 7 digits), which is read
 * at naive_offset_min minutes east of UTC. AB_EINVAL otherwise. */
enum ab_rc conn_wats_time_parse(const char *s, int naive_offset_min,
                                int64_t *ms /* OUT */) AB_MUST_CHECK;

/* Format ms for a dateTime query parameter in the given style (seconds
 * precision). out holds at least 32 bytes. */
void conn_wats_time_format(int64_t ms, enum conn_wats_date_style style, int naive_offset_min,
                           char out[32]);

/* ---- outcomes ----------------------------------------------------------------- */

/* The outcome of a WATS answer with HTTP status `status` (2xx: CONN_OK).
 * 400/422 validation, 401 auth (permanent, message names the token and the
 * 2025.2 end of username/password auth), 403 forbidden, 404 not_found, 405
 * unsupported, 409 conflict: permanent; 408 timeout, 429 throttled, 5xx
 * unavailable: retryable with retry_after_ms from Retry-After (-1 without).
 * Sets outcome, error_class, retry_after_ms and a constant message. */
void conn_wats_http_outcome(int status, const char *retry_after, int64_t now_ms,
                            struct conn_result *out /* OUT */);

/* ---- translation -------------------------------------------------------------- */

/* What a type says about limits (from GET /api/Asset/Types). Numbers are
 * NAN when absent. */
struct conn_wats_type {
    const char *type_id;
    const char *name;
    double running_count_limit, total_count_limit;
    double calibration_interval_days, maintenance_interval_days;
    double warning_pct, alarm_pct;
};

/* Read one AssetType object into t (strings point into in). AB_EINVAL
 * without a typeId. */
enum ab_rc conn_wats_type_read(const json_t *in, struct conn_wats_type *t /* OUT */) AB_MUST_CHECK;

/* Warning/alarm of an asset from its counts, calibration and maintenance
 * dates and its type's limits at now_ms ([inferred] formula, see
 * docs/connectors/wats.md): *level 0 ok, 2 warning, 3 alarm (the
 * Asset_Status numbering); *why names the measures over the threshold
 * ("running_count,calibration"; arena a; NULL when ok). t NULL: ok. */
void conn_wats_derive_status(const json_t *asset, const struct conn_wats_type *t,
                             const struct conn_wats_opts *o, int64_t now_ms, struct arena *a,
                             int *level /* OUT */, const char **why /* OUT */);

/* The Asset_Status of a /api/Asset/Status answer: "status" or "Status", an
 * int (0 OK, 1 NotRegistered, 2 Warning, 3 Alarm, 4 SystemError, 5
 * AssetError) or the name. -1 when absent or unknown. */
int conn_wats_status_level(const json_t *status_answer);

/* Stable name of an Asset_Status level ("ok", "not_registered", "warning",
 * "alarm", "system_error", "asset_error"), or "unknown". */
const char *conn_wats_level_name(int level);

/* Translate one WATS asset (GET /api/Asset item) into a canonical record:
 * native_id = serialNumber, revision -1, modified_at INT64_MIN, doc in a.
 * For each of o->meters the doc declares WATS's count as
 * provider_meters.HUB_METER.total (the store's usage baseline; left out when
 * the asset has no such count).
 * t is the asset's type (NULL when unknown), status_answer the asset's
 * /Status answer or NULL. AB_EINVAL without a serialNumber. */
enum ab_rc conn_wats_asset_record(const json_t *in, const struct conn_wats_type *t,
                                  const json_t *status_answer, const struct conn_wats_opts *o,
                                  int64_t now_ms, struct arena *a,
                                  struct conn_record *out /* OUT */) AB_MUST_CHECK;

/* Translate one AssetType into a canonical asset_type record (native_id =
 * typeId). AB_EINVAL without typeId. */
enum ab_rc conn_wats_type_record(const json_t *in, struct arena *a,
                                 struct conn_record *out /* OUT */) AB_MUST_CHECK;

/* Translate one report header (with $expand=assets) into one "report" use
 * record per asset entry: *out gets n records in a (0 when the header
 * lists no assets). */
enum ab_rc conn_wats_report_records(const json_t *header, const struct conn_wats_opts *o,
                                    struct arena *a, struct conn_record **out /* OUT */,
                                    size_t *n /* OUT */) AB_MUST_CHECK;

/* A canonical asset (as the API and the upsert_asset payload carry it) ->
 * the PUT /api/Asset body. typeId from attributes.wats_type_id or type_id
 * (NULL: left out; the caller fills it). *why names a value that cannot be
 * sent (AB_EINVAL). New reference owned by a. */
enum ab_rc conn_wats_asset_to_native(const json_t *canonical, const char *type_id, struct arena *a,
                                     json_t **out /* OUT */,
                                     const char **why /* OUT */) AB_MUST_CHECK;

/* The absolute WATS total of a push_reading payload: provider_baseline +
 * value when provider_baseline is present, else value; floored to an
 * integer. AB_EINVAL (and *why) when value is missing, negative, or the total
 * is past int32. */
enum ab_rc conn_wats_usage_total(const json_t *payload, long long *total /* OUT */,
                                 const char **why /* OUT */) AB_MUST_CHECK;

/* True when type (name or id, either may be NULL) is in the list. */
bool conn_wats_types_has(const struct conn_wats_types *l, const char *type_id,
                         const char *type_name);

#endif
