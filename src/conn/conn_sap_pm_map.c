/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_sap_pm_map.c: the pure half of the SAP PM connector: OData V2/V4
 * values and literals, the configurable value maps (order and notification
 * phases, priorities, types), SAP's error bodies, HTTP outcome
 * classification, native -> canonical records for equipment, orders,
 * notifications, measuring points and maintenance plans, and the
 * notification create body. No I/O; everything is documented in
 * conn_sap_pm.h and docs/connectors/sap-pm.md.
 */
#include "conn/conn_sap_pm.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn/conn_util.h"
#include "core/retry_after.h"
#include "core/timefmt.h"

/* ---- small helpers ------------------------------------------------------------------ */

/* A number given as a JSON number or as a V2 decimal/double string. */
static bool jnum(const json_t *o, const char *k, double *out)
{
    const json_t *v = json_object_get(o, k);
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (!s || !*s)
        return false;
    char *end;
    double d = strtod(s, &end);
    if (*end || !isfinite(d))
        return false;
    *out = d;
    return true;
}

static bool jtrue(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (json_is_boolean(v))
        return json_is_true(v);
    const char *s = json_string_value(v);
    return s && (strcmp(s, "X") == 0 || strcmp(s, "true") == 0);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static void set_time(json_t *o, const char *k, int64_t ms)
{
    char b[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, b);
    json_object_set_new(o, k, json_string(b));
}

/* A bare day for a *due_at field (the engine turns it into the end of that
 * day at the site). */
static void set_day(json_t *o, const char *k, int64_t ms)
{
    char b[11];
    conn_sap_pm_day(ms, b);
    json_object_set_new(o, k, json_string(b));
}

static bool field_time(const json_t *in, const char *k, int64_t *ms)
{
    return conn_sap_pm_time(json_object_get(in, k), ms) == AB_OK;
}

/* Copy s cut at max bytes (never in the middle of a UTF-8 sequence). */
static const char *cut(struct arena *a, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return arena_strdup(a, s);
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return arena_strndup(a, s, max);
}

/* ---- value maps ------------------------------------------------------------------- */

enum ab_rc conn_sap_pm_map_parse(struct arena *a, const char *const *items, size_t n,
                                 const char *const *allowed, struct conn_sap_pm_map *m, char *err,
                                 size_t errlen)
{
    const char **nat = n ? arena_zalloc(a, n * sizeof(*nat)) : NULL;
    const char **com = n ? arena_zalloc(a, n * sizeof(*com)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char *s = items[i] ? items[i] : "";
        const char *eq = strchr(s, '=');
        if (!eq || eq == s || !eq[1]) {
            snprintf(err, errlen, "'%s' is not NATIVE=common", s);
            return AB_EINVAL;
        }
        size_t kl = (size_t)(eq - s);
        while (kl && isspace((unsigned char)s[kl - 1]))
            kl--;
        const char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        bool ok = false;
        for (size_t k = 0; allowed && allowed[k]; k++)
            ok = ok || strcmp(allowed[k], v) == 0;
        if (!ok) {
            snprintf(err, errlen, "'%s': '%s' is not a common value", s, v);
            return AB_EINVAL;
        }
        nat[i] = arena_strndup(a, s, kl);
        com[i] = arena_strdup(a, v);
    }
    m->native = nat;
    m->common = com;
    m->n = n;
    return AB_OK;
}

const char *conn_sap_pm_map_common(const struct conn_sap_pm_map *m, const char *native)
{
    for (size_t i = 0; native && i < m->n; i++)
        if (strcmp(m->native[i], native) == 0)
            return m->common[i];
    return NULL;
}

const char *conn_sap_pm_map_native(const struct conn_sap_pm_map *m, const char *common)
{
    for (size_t i = 0; common && i < m->n; i++)
        if (strcmp(m->common[i], common) == 0)
            return m->native[i];
    return NULL;
}

/* ---- defaults ------------------------------------------------------------------------- */

#define MAP(nat, com) ((struct conn_sap_pm_map){(nat), (com), sizeof(nat) / sizeof((nat)[0])})

static const char *const prio_nat[] = {"1", "2", "3", "4"};
static const char *const prio_com[] = {"urgent", "high", "medium", "low"};
/* SAP's process phases of a maintenance order (the sheet lists none:
 * [inferred] from SAP's phase model; configurable) */
static const char *const ophase_nat[] = {"01", "02", "03", "04", "05", "06", "07", "08", "09"};
static const char *const ophase_com[] = {
    "open", "open", "open", "open", "assigned", "assigned", "in_progress", "completed", "closed"};
/* NotifProcessingPhase: 1 Outstanding is [confirmed] (sandbox capture); the
 * others follow SAP's notification phases ([inferred], configurable) */
static const char *const nphase_nat[] = {"1", "2", "3", "4"};
static const char *const nphase_com[] = {"open", "on_hold", "in_progress", "completed"};
static const char *const otype_nat[] = {"PM01", "PM02"};
static const char *const otype_com[] = {"corrective", "preventive"};
static const char *const ntype_nat[] = {"M1", "M2"};
static const char *const ntype_com[] = {"corrective", "corrective"};

void conn_sap_pm_opts_default(struct conn_sap_pm_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->page_size = 500;
    o->lookup_batch = 40;
    o->notification_type = "M1";
    o->priority = MAP(prio_nat, prio_com);
    o->order_phase = MAP(ophase_nat, ophase_com);
    o->notification_phase = MAP(nphase_nat, nphase_com);
    o->order_type = MAP(otype_nat, otype_com);
    o->notification_type_map = MAP(ntype_nat, ntype_com);
    o->default_type = "corrective";
    o->deleted_status = "retired";
    o->inactive_status = "in_storage";
    o->meter_key = "MeasuringPointPositionNumber";
    o->counter_field = "MeasurementCounterReading";
    o->meter_totals = true;
    o->final_confirmation = true;
    o->max_retries = 2;
    o->retry_base_ms = 500;
    o->retry_cap_ms = 10000;
}

/* ---- OData values --------------------------------------------------------------------- */

enum ab_rc conn_sap_pm_time(const json_t *v, int64_t *ms)
{
    if (json_is_integer(v)) {
        *ms = (int64_t)json_integer_value(v);
        return AB_OK;
    }
    const char *s = json_string_value(v);
    if (!s || !*s)
        return AB_EINVAL;
    if (strncmp(s, "/Date(", 6) == 0) {
        const char *p = s + 6;
        char *end;
        long long t = strtoll(p, &end, 10);
        if (end == p)
            return AB_EINVAL;
        if (*end == '+' || *end == '-') {
            /* an offset in minutes: the value is UTC already (OData V2 JSON) */
            char *e2;
            (void)strtol(end + 1, &e2, 10);
            end = e2;
        }
        if (strcmp(end, ")/") != 0)
            return AB_EINVAL;
        *ms = (int64_t)t;
        return AB_OK;
    }
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        int y, m, d;
        char tail;
        if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
            d > 31)
            return AB_EINVAL;
        *ms = time_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400000LL;
        return AB_OK;
    }
    return time_parse_rfc3339(s, ms);
}

void conn_sap_pm_day(int64_t ms, char out[11])
{
    char b[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, b);
    memcpy(out, b, 10);
    out[10] = '\0';
}

const char *conn_sap_pm_time_literal(struct arena *a, int64_t ms, bool datetime)
{
    char b[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, b); /* 2026-01-01T00:00:00[.mmm]Z */
    size_t n = strlen(b);
    if (datetime)
        return arena_printf(a, "datetime'%.*s'", (int)(n - 1), b);
    return arena_printf(a, "datetimeoffset'%s'", b);
}

void conn_sap_pm_ext_ref(const char *key, char out[21])
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)(key ? key : ""); *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    snprintf(out, 21, "AB%016llX", (unsigned long long)h);
}

const char *conn_sap_pm_error_text(const json_t *j)
{
    const json_t *e = json_object_get(j, "error");
    const json_t *m = json_object_get(e, "message");
    if (json_is_string(m))
        return json_string_value(m);
    return conn_jstr(m, "value");
}

/* ---- outcomes ------------------------------------------------------------------------- */

/* Retry-After in delta seconds (SAP's form) or an HTTP date, at most an
 * hour; -1 without one (core/retry_after.c parses it). */
static int64_t retry_after_ms(const char *ra, int64_t now_ms)
{
    int64_t ms;
    if (!ra || retry_after_parse(ra, now_ms, 3600000, &ms) != AB_OK)
        return -1;
    return ms;
}

void conn_sap_pm_http_outcome(int status, const char *retry_after, bool csrf_required,
                              int64_t now_ms, struct conn_result *out)
{
    out->retry_after_ms = -1;
    out->outcome = CONN_PERMANENT;
    if (status >= 200 && status < 300) {
        out->outcome = CONN_OK;
        out->error_class = NULL;
        out->message = NULL;
        return;
    }
    switch (status) {
    case 400:
    case 422:
        out->error_class = "validation";
        out->message = "SAP refused the request (400)";
        return;
    case 401:
        out->error_class = "auth";
        out->message = "SAP refused the credentials (401): check the provider's auth.user and "
                       "auth.password and the sap-client";
        return;
    case 403:
        if (csrf_required) {
            out->outcome = CONN_RETRYABLE;
            out->error_class = "csrf";
            out->message = "SAP refused the CSRF token twice (403, x-csrf-token: Required)";
        } else {
            out->error_class = "forbidden";
            out->message = "SAP refused the request (403): the user lacks an authorization";
        }
        return;
    case 404:
        out->error_class = "not_found";
        out->message = "SAP does not know the object or service (404)";
        return;
    case 405:
        out->error_class = "unsupported";
        out->message = "SAP does not offer this method here (405)";
        return;
    case 409:
    case 412:
    case 428:
        out->error_class = "conflict";
        out->message = "SAP refused the change as a conflict";
        return;
    case 408:
        out->outcome = CONN_RETRYABLE;
        out->error_class = "timeout";
        out->message = "SAP timed out (408)";
        out->retry_after_ms = retry_after_ms(retry_after, now_ms);
        return;
    case 429:
        out->outcome = CONN_RETRYABLE;
        out->error_class = "throttled";
        out->message = "SAP throttled the request (429)";
        out->retry_after_ms = retry_after_ms(retry_after, now_ms);
        return;
    default: break;
    }
    if (status >= 500 && status < 600) {
        out->outcome = CONN_RETRYABLE;
        out->error_class = "unavailable";
        out->message = "SAP is unavailable (5xx)";
        out->retry_after_ms = retry_after_ms(retry_after, now_ms);
        return;
    }
    out->error_class = "http_error";
    out->message = "SAP answered with an unexpected status";
}

/* ---- records ----------------------------------------------------------------------------- */

static void record_init(struct conn_record *r, const char *id, json_t *doc, struct arena *a)
{
    memset(r, 0, sizeof(*r));
    r->native_id = arena_strdup(a, id);
    r->revision = -1;
    r->modified_at = INT64_MIN;
    r->doc = conn_arena_own(a, doc);
}

enum ab_rc conn_sap_pm_equipment_record(const json_t *in, const struct conn_sap_pm_opts *o,
                                        const char *match_value, const char *ambiguous,
                                        const json_t *meters, struct arena *a,
                                        struct conn_record *out)
{
    const char *eq = conn_jstr(in, "Equipment");
    if (!eq)
        return AB_EINVAL;
    json_t *doc = json_object();
    record_init(out, eq, doc, a);
    int64_t t;
    if (field_time(in, "LastChangeDateTime", &t))
        out->modified_at = t;
    const char *serial = match_value;
    if (!serial && o->match == CONN_SAP_MATCH_SERIAL)
        serial = conn_jstr(in, "SerialNumber");
    if (!serial && o->match != CONN_SAP_MATCH_CHARC)
        serial = conn_jstr(in, "ManufacturerSerialNumber");
    if (serial)
        set_str(doc, "serial_number", cut(a, serial, 128));
    set_str(doc, "name", conn_jstr(in, "EquipmentName"));
    const char *pn = conn_jstr(in, "ManufacturerPartNmbr");
    set_str(doc, "part_number", pn ? pn : conn_jstr(in, "Material"));
    /* the engine maps the object type (site value map object_type) and the
     * plant (value map plant) to the hub's terms */
    set_str(doc, "type", conn_jstr(in, "TechnicalObjectType"));
    const char *plant = conn_jstr(in, "MaintenancePlant");
    if (!plant)
        plant = conn_jstr(in, "MaintenancePlanningPlant");
    set_str(doc, "site", plant);
    const char *status = "active";
    if (jtrue(in, "EquipmentIsMarkedForDeletion"))
        status = o->deleted_status;
    else if (jtrue(in, "EquipmentIsInactive"))
        status = o->inactive_status;
    set_str(doc, "status", status);
    json_t *at = json_object();
    static const struct {
        const char *native, *attr;
    } attrs[] = {
        {"Equipment", "sap_equipment"},
        {"TechnicalObjectType", "sap_object_type"},
        {"EquipmentCategory", "sap_equipment_category"},
        {"FunctionalLocation", "sap_functional_location"},
        {"FunctionalLocationLabelName", "sap_functional_location_label"},
        {"MaintenancePlant", "sap_plant"},
        {"MaintenancePlanningPlant", "sap_planning_plant"},
        {"WorkCenter", "sap_work_center"},
        {"MainWorkCenter", "sap_main_work_center"},
        {"SuperordinateEquipment", "sap_superordinate_equipment"},
        {"SerialNumber", "sap_serial_number"},
        {"ManufacturerSerialNumber", "sap_manufacturer_serial_number"},
        {"AssetManufacturerName", "manufacturer"},
        {"ManufacturerPartTypeName", "sap_model"},
        {"CostCenter", "sap_cost_center"},
    };
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        const char *v = conn_jstr(in, attrs[i].native);
        if (v)
            json_object_set_new(at, attrs[i].attr, json_string(cut(a, v, 1024)));
    }
    json_object_set_new(at, "sap_installed", json_boolean(jtrue(in, "EquipmentIsInstalled")));
    json_object_set_new(doc, "attributes", at);
    if (meters && json_object_size(meters)) {
        json_t *pm = json_object();
        const char *k;
        const json_t *v;
        json_object_foreach ((json_t *)meters, k, v)
            if (json_is_number(v))
                json_object_set_new(pm, k, json_pack("{s:f}", "total", json_number_value(v)));
        json_object_set_new(doc, "provider_meters", pm);
    }
    if (ambiguous)
        out->mapping_exception =
            arena_printf(a,
                         "sap_pm equipment '%s': characteristic '%s' has several values (%s); "
                         "the match key is ambiguous",
                         eq, o->match_characteristic ? o->match_characteristic : "?", ambiguous);
    return AB_OK;
}

/* Status and priority of an order or a notification; sets the mapping
 * exception of out for an unmapped value. */
static void map_status_priority(json_t *doc, const char *what, const char *id, const char *phase,
                                const struct conn_sap_pm_map *phases,
                                const struct conn_sap_pm_opts *o, const json_t *in, struct arena *a,
                                struct conn_record *out)
{
    set_str(doc, "source_status", phase);
    const char *st = conn_sap_pm_map_common(phases, phase);
    if (st)
        json_object_set_new(doc, "common_status", json_string(st));
    else
        out->mapping_exception =
            arena_printf(a, "sap_pm %s '%s': phase '%s' has no common status (add it to the %s)",
                         what, id, phase ? phase : "(none)",
                         phases == &o->order_phase ? "order_phase_map" : "notification_phase_map");
    const char *prio = conn_jstr(in, "MaintPriority");
    if (prio) {
        set_str(doc, "source_priority", prio);
        const char *p = conn_sap_pm_map_common(&o->priority, prio);
        if (p)
            json_object_set_new(doc, "priority", json_string(p));
        else if (!out->mapping_exception)
            out->mapping_exception =
                arena_printf(a,
                             "sap_pm %s '%s': priority '%s' has no common priority (add it to the "
                             "priority_map)",
                             what, id, prio);
    }
}

enum ab_rc conn_sap_pm_order_record(const json_t *in, const struct conn_sap_pm_opts *o,
                                    struct arena *a, struct conn_record *out)
{
    const char *id = conn_jstr(in, "MaintenanceOrder");
    if (!id)
        return AB_EINVAL;
    json_t *doc = json_object();
    record_init(out, id, doc, a);
    int64_t t;
    if (field_time(in, "LastChangeDateTime", &t))
        out->modified_at = t;
    json_object_set_new(doc, "provider_id", json_string("sap_pm"));
    set_str(doc, "source_work_order_id", id);
    set_str(doc, "asset_native_id", conn_jstr(in, "Equipment"));
    const char *ty = conn_sap_pm_map_common(&o->order_type, conn_jstr(in, "MaintenanceOrderType"));
    json_object_set_new(doc, "type", json_string(ty ? ty : o->default_type));
    map_status_priority(doc, "work_order", id, conn_jstr(in, "MaintOrdProcessPhaseCode"),
                        &o->order_phase, o, in, a, out);
    if (field_time(in, "LatestAcceptableCompletionDate", &t))
        set_day(doc, "sla_due_at", t);
    else if (field_time(in, "MaintOrdBasicEndDateTime", &t))
        set_time(doc, "sla_due_at", t);
    const char *desc = conn_jstr(in, "MaintenanceOrderDesc");
    set_str(doc, "notes", desc);
    json_object_set_new(doc, "sync_state", json_string("imported"));
    return AB_OK;
}

enum ab_rc conn_sap_pm_notification_record(const json_t *in, const struct conn_sap_pm_opts *o,
                                           struct arena *a, struct conn_record *out)
{
    const char *id = conn_jstr(in, "MaintenanceNotification");
    if (!id)
        return AB_EINVAL;
    json_t *doc = json_object();
    record_init(out, id, doc, a);
    int64_t t;
    if (field_time(in, "LastChangeDateTime", &t))
        out->modified_at = t;
    json_object_set_new(doc, "provider_id", json_string("sap_pm"));
    set_str(doc, "source_work_order_id", id);
    const char *obj = conn_jstr(in, "TechnicalObject");
    const char *kind = conn_jstr(in, "TechObjIsEquipOrFuncnlLoc");
    if (obj && (!kind || strcmp(kind, "EAMS_EQUI") == 0))
        set_str(doc, "asset_native_id", obj);
    const char *ty =
        conn_sap_pm_map_common(&o->notification_type_map, conn_jstr(in, "NotificationType"));
    json_object_set_new(doc, "type", json_string(ty ? ty : o->default_type));
    map_status_priority(doc, "notification", id, conn_jstr(in, "NotifProcessingPhase"),
                        &o->notification_phase, o, in, a, out);
    if (field_time(in, "CreationDate", &t))
        set_time(doc, "opened_at", t);
    if (field_time(in, "NotificationCompletionDate", &t))
        set_time(doc, "completed_at", t);
    if (field_time(in, "RequiredEndDate", &t))
        set_day(doc, "sla_due_at", t);
    const char *text = conn_jstr(in, "NotificationText");
    const char *lt = conn_jstr(in, "MaintNotifLongTextForEdit");
    if (text && lt)
        json_object_set_new(doc, "notes", json_string(arena_printf(a, "%s\n%s", text, lt)));
    else
        set_str(doc, "notes", text ? text : lt);
    set_str(doc, "sap_notification_type", conn_jstr(in, "NotificationType"));
    set_str(doc, "sap_system_status", conn_jstr(in, "ConcatenatedActiveSystStsName"));
    set_str(doc, "sap_order", conn_jstr(in, "MaintenanceOrder"));
    set_str(doc, "sap_external_reference", conn_jstr(in, "MaintNotifExtReferenceNumber"));
    json_object_set_new(doc, "sync_state", json_string("imported"));
    return AB_OK;
}

enum ab_rc conn_sap_pm_point_record(const json_t *in, const struct conn_sap_pm_opts *o,
                                    struct arena *a, struct conn_record *out)
{
    const char *id = conn_jstr(in, "MeasuringPoint");
    if (!id)
        return AB_EINVAL;
    json_t *doc = json_object();
    record_init(out, id, doc, a);
    set_str(doc, "asset_native_id", conn_jstr(in, "Equipment"));
    const char *mt = conn_jstr(in, o->meter_key);
    set_str(doc, "meter_type", mt ? mt : id);
    set_str(doc, "unit", conn_jstr(in, "CharcValueUnit"));
    json_object_set_new(doc, "kind",
                        json_string(jtrue(in, "MeasuringPointIsCounter") ? "counter" : "gauge"));
    set_str(doc, "name", conn_jstr(in, "MeasuringPointDescription"));
    set_str(doc, "measuring_point", id);
    set_str(doc, "sap_functional_location", conn_jstr(in, "FunctionalLocation"));
    json_object_set_new(doc, "active", json_boolean(!jtrue(in, "MeasuringPointIsInactive")));
    return AB_OK;
}

/* A plan interval in days for time units, or -1. */
static double days_of(double qty, const char *unit)
{
    if (!unit)
        return -1;
    if (!strcasecmp(unit, "DAY") || !strcasecmp(unit, "TAG") || !strcasecmp(unit, "D"))
        return qty;
    if (!strcasecmp(unit, "WK") || !strcasecmp(unit, "WCH") || !strcasecmp(unit, "WEE"))
        return qty * 7;
    return -1;
}

enum ab_rc conn_sap_pm_plan_record(const json_t *plan, const json_t *items, const json_t *cycles,
                                   const json_t *schedules, const json_t *points,
                                   const struct conn_sap_pm_opts *o, struct arena *a,
                                   struct conn_record *out)
{
    const char *id = conn_jstr(plan, "MaintenancePlan");
    if (!id)
        return AB_EINVAL;
    json_t *doc = json_object();
    record_init(out, id, doc, a);
    int64_t t;
    if (field_time(plan, "LastChangeDateTime", &t))
        out->modified_at = t;
    set_str(doc, "plan_id", id);
    set_str(doc, "name", conn_jstr(plan, "MaintenancePlanDesc"));
    set_str(doc, "source_status", conn_jstr(plan, "MaintenancePlanSystemStatus"));
    json_object_set_new(doc, "system_of_record", json_string("sap_pm"));
    json_t *its = json_array();
    size_t i;
    const json_t *it;
    const char *equipment = NULL;
    json_array_foreach ((json_t *)items, i, it) {
        const char *eq = conn_jstr(it, "Equipment");
        if (eq && !equipment)
            equipment = eq;
        json_t *x = json_object();
        set_str(x, "item", conn_jstr(it, "MaintenanceItem"));
        set_str(x, "description", conn_jstr(it, "MaintenanceItemDescription"));
        set_str(x, "equipment", eq);
        set_str(x, "functional_location", conn_jstr(it, "FunctionalLocationLabelName"));
        set_str(x, "order_type", conn_jstr(it, "MaintenanceOrderType"));
        set_str(x, "notification_type", conn_jstr(it, "NotificationType"));
        set_str(x, "priority", conn_jstr(it, "MaintPriority"));
        json_array_append_new(its, x);
    }
    set_str(doc, "asset_native_id", equipment);
    json_object_set_new(doc, "items", its);
    /* the first active cycle decides the trigger; counter cycles are tied
     * to a measuring point (the link between readings and due plans) */
    const json_t *cy = NULL;
    json_array_foreach ((json_t *)cycles, i, it) {
        if (!jtrue(it, "MaintenancePlanCycleIsInactive")) {
            cy = it;
            break;
        }
    }
    json_t *cyc = json_array();
    json_array_foreach ((json_t *)cycles, i, it) {
        json_t *x = json_object();
        set_str(x, "cycle", conn_jstr(it, "MaintenancePlanCycle"));
        double q;
        if (jnum(it, "MaintPlanCycRcrrcIntervalQty", &q))
            json_object_set_new(x, "interval", json_real(q));
        set_str(x, "unit", conn_jstr(it, "MaintPlanCycRcrrcIntervalUnit"));
        set_str(x, "measuring_point", conn_jstr(it, "MeasuringPoint"));
        if (jnum(it, "MaintCycleNextPlndCntrRdng", &q))
            json_object_set_new(x, "next_reading", json_real(q));
        json_object_set_new(x, "active",
                            json_boolean(!jtrue(it, "MaintenancePlanCycleIsInactive")));
        json_array_append_new(cyc, x);
    }
    json_object_set_new(doc, "cycles", cyc);
    if (cy) {
        double q = 0;
        bool has_q = jnum(cy, "MaintPlanCycRcrrcIntervalQty", &q);
        const char *unit = conn_jstr(cy, "MaintPlanCycRcrrcIntervalUnit");
        const char *mp = conn_jstr(cy, "MeasuringPoint");
        if (mp) {
            json_object_set_new(doc, "trigger", json_string("usage"));
            set_str(doc, "measuring_point", mp);
            const json_t *pt = json_object_get(points, mp);
            const char *mt = pt ? conn_jstr(pt, o->meter_key) : NULL;
            set_str(doc, "meter_type", mt);
            set_str(doc, "interval_unit", unit);
            if (has_q)
                json_object_set_new(doc, "interval", json_real(q));
            double nr;
            if (jnum(cy, "MaintCycleNextPlndCntrRdng", &nr))
                json_object_set_new(doc, "next_due_reading", json_real(nr));
        } else {
            json_object_set_new(doc, "trigger", json_string("time"));
            double d = has_q ? days_of(q, unit) : -1;
            if (d > 0 && d == floor(d)) {
                json_object_set_new(doc, "interval", json_integer((json_int_t)d));
                json_object_set_new(doc, "interval_unit", json_string("days"));
            } else {
                if (has_q)
                    json_object_set_new(doc, "interval", json_real(q));
                set_str(doc, "interval_unit", unit);
            }
        }
    }
    /* due dates: the earliest outstanding call; the last completion */
    int64_t next = INT64_MAX, done = INT64_MIN;
    json_array_foreach ((json_t *)schedules, i, it) {
        int64_t d;
        if (jtrue(it, "MaintenanceCallIsOutstanding") &&
            field_time(it, "MaintenanceCallNextPlannedDate", &d) && d < next)
            next = d;
        if (field_time(it, "CompletionDate", &d) && d > done)
            done = d;
    }
    if (next != INT64_MAX)
        set_day(doc, "next_due_at", next);
    if (done != INT64_MIN)
        set_time(doc, "last_done_at", done);
    return AB_OK;
}

/* ---- push bodies ------------------------------------------------------------------------ */

enum ab_rc conn_sap_pm_notification_body(const json_t *payload, const struct conn_sap_pm_opts *o,
                                         const char *equipment, const char *ext_ref,
                                         struct arena *a, json_t **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    const char *notes = conn_jstr(payload, "notes");
    const char *type = conn_jstr(payload, "type");
    const char *title;
    if (notes) {
        const char *nl = strchr(notes, '\n');
        title = nl ? arena_strndup(a, notes, (size_t)(nl - notes)) : notes;
        if (!*title)
            title = arena_printf(a, "%s request", type ? type : "maintenance");
    } else {
        title = arena_printf(a, "%s request", type ? type : "maintenance");
    }
    json_t *b = conn_arena_own(a, json_object());
    json_object_set_new(b, "NotificationText", json_string(cut(a, title, 40)));
    if (notes)
        json_object_set_new(b, "MaintNotifLongTextForEdit", json_string(cut(a, notes, 1333)));
    json_object_set_new(b, "NotificationType", json_string(o->notification_type));
    const char *prio = conn_jstr(payload, "priority");
    if (prio) {
        const char *sp = conn_jstr(payload, "source_priority");
        const char *nat = conn_sap_pm_map_native(&o->priority, prio);
        const char *spc = sp ? conn_sap_pm_map_common(&o->priority, sp) : NULL;
        if (spc && strcmp(spc, prio) == 0)
            nat = sp; /* keep SAP's own value when it means the same */
        if (!nat) {
            *why = arena_printf(a, "priority '%s' has no SAP MaintPriority (priority_map)", prio);
            return AB_EINVAL;
        }
        json_object_set_new(b, "MaintPriority", json_string(nat));
    }
    if (equipment) {
        json_object_set_new(b, "TechnicalObject", json_string(equipment));
        json_object_set_new(b, "TechObjIsEquipOrFuncnlLoc", json_string("EAMS_EQUI"));
    }
    int64_t due;
    const char *ds = conn_jstr(payload, "sla_due_at");
    if (ds && time_parse_rfc3339(ds, &due) == AB_OK)
        json_object_set_new(
            b, "RequiredEndDate",
            json_string(arena_printf(a, "/Date(%lld)/", (long long)(due - due % 86400000LL))));
    if (ext_ref)
        json_object_set_new(b, "MaintNotifExtReferenceNumber", json_string(ext_ref));
    *out = b;
    return AB_OK;
}

enum ab_rc conn_sap_pm_usage_total(const json_t *payload, double *total, const char **why)
{
    *why = NULL;
    if (json_object_get(payload, "increment")) {
        *why = "SAP counters take absolute totals; an increment cannot be posted";
        return AB_EINVAL;
    }
    double v, base = 0;
    if (!jnum(payload, "value", &v) || v < 0) {
        *why = "the usage item carries no total (value >= 0)";
        return AB_EINVAL;
    }
    if (json_object_get(payload, "provider_baseline") &&
        !jnum(payload, "provider_baseline", &base)) {
        *why = "provider_baseline is not a number";
        return AB_EINVAL;
    }
    *total = v + base;
    if (*total < 0) {
        *why = "the total would be negative";
        return AB_EINVAL;
    }
    return AB_OK;
}
