/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_sap_pm.h: the connector for SAP S/4HANA Plant Maintenance (provider
 * type `sap_pm`), written from the contract sheet providers/sap-pm.md and
 * the eight OpenAPI files of the PM services (OData V2 and V4), and the pure
 * helpers behind it (OData dates and literals, value maps, the error shapes,
 * HTTP outcome classification, native -> canonical records, the
 * notification body), exported so unit tests can check them without a
 * network.
 *
 * What the sheet marks [inferred] or leaves open is held in struct
 * conn_sap_pm_opts; init fills it from the provider's `sap_pm:` section
 * (struct config_sap_pm), conn_sap_pm_init_with() takes explicit options
 * (tests). docs/connectors/sap-pm.md documents endpoints, maps and options.
 *
 * Thread-safety: the helpers are pure; a connector context may be shared by
 * engine threads (its session, CSRF token and caches are locked).
 */
#ifndef AB_CONN_CONN_SAP_PM_H
#define AB_CONN_CONN_SAP_PM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn/conn.h"
#include "core/arena.h"
#include "core/result.h"

/* The connector (registered in conn_registry[] as "sap_pm"). */
extern const struct conn_ops conn_sap_pm;

/* ---- value maps ------------------------------------------------------------------ */

/* NATIVE=common pairs, in order (native -> common: exact match; common ->
 * native: the first pair naming it). */
struct conn_sap_pm_map {
    const char *const *native;
    const char *const *common;
    size_t n;
};

/* Parse "NATIVE=common" items into m (strings in a). Each common value must
 * be one of allowed (NULL-terminated). AB_EINVAL with the offending item in
 * err otherwise. */
enum ab_rc conn_sap_pm_map_parse(struct arena *a, const char *const *items, size_t n,
                                 const char *const *allowed, struct conn_sap_pm_map *m /* OUT */,
                                 char *err, size_t errlen) AB_MUST_CHECK;

/* The common value of native, or NULL when the map has none. */
const char *conn_sap_pm_map_common(const struct conn_sap_pm_map *m, const char *native);

/* The first native value of common, or NULL. */
const char *conn_sap_pm_map_native(const struct conn_sap_pm_map *m, const char *common);

/* ---- options ([inferred] behaviour made configurable) ------------------------------ */

enum conn_sap_pm_match {
    CONN_SAP_MATCH_SERIAL = 0,
    CONN_SAP_MATCH_MFR_SERIAL,
    CONN_SAP_MATCH_CHARC
};

/* A hub meter pushed to this provider: its usage.meters entry. */
struct conn_sap_pm_meter {
    const char *hub_meter; /* hub meter type, e.g. "cycles" */
    const char *target;    /* value of meter_key on the measuring point, e.g. "CYCLES" */
};

struct conn_sap_pm_opts {
    const char *sap_client;        /* sap-client query parameter; NULL: none */
    const char *service_version;   /* V2 path suffix ";v=X"; NULL: none */
    int page_size;                 /* $top of pages; default 500 */
    int lookup_batch;              /* keys per `or` filter; default 40 */
    bool filter_datetime;          /* datetime'...' literals; default false: datetimeoffset'...Z' */
    bool csrf_head;                /* fetch the token with HEAD <service>/; default GET */
    const char *notification_type; /* default "M1" */
    struct conn_sap_pm_map priority;              /* MaintPriority <-> priority */
    struct conn_sap_pm_map order_phase;           /* MaintOrdProcessPhaseCode -> common status */
    struct conn_sap_pm_map notification_phase;    /* NotifProcessingPhase -> common status */
    struct conn_sap_pm_map order_type;            /* MaintenanceOrderType -> work order type */
    struct conn_sap_pm_map notification_type_map; /* NotificationType -> work order type */
    const char *default_type;                     /* type of unmapped order/notification types */
    enum conn_sap_pm_match match;                 /* the asset match key */
    const char *match_characteristic;             /* CONN_SAP_MATCH_CHARC: characteristic name */
    const char *deleted_status;                   /* default "retired" */
    const char *inactive_status;                  /* default "in_storage" */
    const char *meter_key;                        /* default "MeasuringPointPositionNumber" */
    const char *counter_field;                    /* default "MeasurementCounterReading" */
    bool meter_totals;                            /* provider_meters in asset pulls; default true */
    bool final_confirmation;                      /* default true */
    bool draft;                             /* open requests without putting them in process */
    int max_retries;                        /* read retries; default 2 */
    int64_t retry_base_ms, retry_cap_ms;    /* default 500 ms, 10 s */
    const struct conn_sap_pm_meter *meters; /* hub meters pushed here (init: usage.meters) */
    size_t n_meters;
};

/* The defaults listed above, maps included (static strings). */
void conn_sap_pm_opts_default(struct conn_sap_pm_opts *o /* OUT */);

/* init with explicit options (copied). client as for conn_ops.init (NULL:
 * the connector makes its own from cfg). AB_ECONFIG with one line in err. */
enum ab_rc conn_sap_pm_init_with(const struct config_provider *cfg, struct client *client,
                                 const struct conn_sap_pm_opts *opts, void **ctx /* OUT */,
                                 char *err, size_t errlen) AB_MUST_CHECK;

/* Requests the context has sent (retries and CSRF fetches included), and
 * CSRF token fetches alone. Thread-safe. */
int64_t conn_sap_pm_requests(void *ctx);
int64_t conn_sap_pm_csrf_fetches(void *ctx);

/* ---- OData values ----------------------------------------------------------------- */

/* Parse an OData date or date-time value into ms since the epoch: V2
 * "/Date(1492098664000)/", "/Date(1542801052000+0000)/" (offset in
 * minutes, as SAP writes it), V4 "2017-04-13", RFC 3339, or a JSON number
 * of ms. AB_EINVAL for anything else, null and "" included. */
enum ab_rc conn_sap_pm_time(const json_t *v, int64_t *ms /* OUT */) AB_MUST_CHECK;

/* "YYYY-MM-DD" (UTC) of ms. out holds at least 11 bytes. */
void conn_sap_pm_day(int64_t ms, char out[11]);

/* A filter literal for LastChangeDateTime: datetimeoffset'2026-01-01T00:00:00Z'
 * (fraction only when ms has one) or, with datetime, datetime'2026-01-01T00:00:00'.
 * In a. */
const char *conn_sap_pm_time_literal(struct arena *a, int64_t ms, bool datetime);

/* The MaintNotifExtReferenceNumber (at most 20 characters) of an
 * idempotency key: "AB" and 16 hex digits of its FNV-1a 64 hash. out holds
 * at least 21 bytes. Stable across processes and versions. */
void conn_sap_pm_ext_ref(const char *key, char out[21]);

/* The text of an SAP error body: V2 error.message.value, V4 error.message
 * as a string or {value}; NULL when there is none. Points into j. */
const char *conn_sap_pm_error_text(const json_t *j);

/* ---- outcomes ----------------------------------------------------------------------- */

/* The outcome of an SAP answer with HTTP status status (2xx: CONN_OK): 400
 * and 422 validation, 401 auth, 403 forbidden (a CSRF refusal that survived
 * one token refresh: class csrf, retryable), 404 not_found, 405 unsupported,
 * 409/412/428 conflict: permanent; 408 timeout, 429 throttled, 5xx
 * unavailable: retryable with Retry-After (-1 without). csrf_required: the
 * answer carried x-csrf-token: Required. */
void conn_sap_pm_http_outcome(int status, const char *retry_after, bool csrf_required,
                              int64_t now_ms, struct conn_result *out /* OUT */);

/* ---- records (native -> canonical) -------------------------------------------------- */

/* One Equipment entry -> an asset record (native_id Equipment). match_value
 * is the match key the caller read (a characteristic), or NULL to take the
 * serial number the options name; ambiguous non-NULL makes the record a
 * mapping exception naming it. meters: {"HUB_METER": total} or NULL, added
 * as provider_meters.HUB_METER.total. AB_EINVAL without Equipment. */
enum ab_rc conn_sap_pm_equipment_record(const json_t *in, const struct conn_sap_pm_opts *o,
                                        const char *match_value, const char *ambiguous,
                                        const json_t *meters, struct arena *a,
                                        struct conn_record *out /* OUT */) AB_MUST_CHECK;

/* One MaintenanceOrder -> a work_order record (strict common work order:
 * provider_id sap_pm, source_work_order_id the order, asset_native_id the
 * equipment, status by the phase map: unmapped is a mapping exception).
 * AB_EINVAL without MaintenanceOrder. */
enum ab_rc conn_sap_pm_order_record(const json_t *in, const struct conn_sap_pm_opts *o,
                                    struct arena *a,
                                    struct conn_record *out /* OUT */) AB_MUST_CHECK;

/* One MaintenanceNotification -> a notification record (work-order shape,
 * status by the phase map: unmapped is a mapping exception).
 * AB_EINVAL without MaintenanceNotification. */
enum ab_rc conn_sap_pm_notification_record(const json_t *in, const struct conn_sap_pm_opts *o,
                                           struct arena *a,
                                           struct conn_record *out /* OUT */) AB_MUST_CHECK;

/* One MeasuringPoint (V4) -> a meter record (native_id MeasuringPoint,
 * meter_type the options' meter_key field). AB_EINVAL without the key. */
enum ab_rc conn_sap_pm_point_record(const json_t *in, const struct conn_sap_pm_opts *o,
                                    struct arena *a,
                                    struct conn_record *out /* OUT */) AB_MUST_CHECK;

/* One MaintenancePlan with its items, cycles and schedules (arrays of the
 * entries of this plan; may be NULL) -> a maintenance_plan record. points:
 * {"MEASURING_POINT": point entry} for counter cycles, or NULL. */
enum ab_rc conn_sap_pm_plan_record(const json_t *plan, const json_t *items, const json_t *cycles,
                                   const json_t *schedules, const json_t *points,
                                   const struct conn_sap_pm_opts *o, struct arena *a,
                                   struct conn_record *out /* OUT */) AB_MUST_CHECK;

/* The MaintenanceNotification create body of an open_request payload (a
 * common work order): NotificationText (first line of notes, at most 40
 * bytes; else "TYPE request"), MaintNotifLongTextForEdit (the notes, cut at
 * 1333 bytes), NotificationType (options), MaintPriority (priority map),
 * TechnicalObject + TechObjIsEquipOrFuncnlLoc EAMS_EQUI when equipment is
 * given, RequiredEndDate from sla_due_at, MaintNotifExtReferenceNumber
 * ext_ref. AB_EINVAL and *why when a value cannot be sent. */
enum ab_rc conn_sap_pm_notification_body(const json_t *payload, const struct conn_sap_pm_opts *o,
                                         const char *equipment, const char *ext_ref,
                                         struct arena *a, json_t **out /* OUT */,
                                         const char **why /* OUT */) AB_MUST_CHECK;

/* The absolute counter total of a push_reading payload: provider_baseline +
 * value (value alone without a baseline). AB_EINVAL and *why when value is
 * missing or negative, or an increment is given. */
enum ab_rc conn_sap_pm_usage_total(const json_t *payload, double *total /* OUT */,
                                   const char **why /* OUT */) AB_MUST_CHECK;

#endif
