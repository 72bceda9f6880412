/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_sap_pm.c: Plant Maintenance behaviour of the `sap_pm` simulator
 * (docs/sim/sap_pm.md): numbering and checks on create (equipment,
 * notifications, measurement documents with counter readings, order
 * confirmations with final confirmation), the notification status actions
 * SetMaintNotifToInProcess and CompleteMaintNotification, and deterministic
 * seeding. Called by sim_sap_entity.c (create hooks) and sim_sap.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "http/json.h"
#include "sim/sim_sap_int.h"

#define EQUIPMENT_BASE 10000000LL
#define MPOINT_BASE 1LL
#define MDOC_BASE 1000000LL
#define PLAN_BASE 1LL
#define ORDER_BASE 4000000LL
#define NOTIF_BASE 10000000LL
#define CONF_BASE 1000000LL

static const char *num(struct sap_ctx *c, const char *counter)
{
    return arena_printf(c->req->arena, "%lld", (long long)sap_next_number(c->s, counter, 1));
}

static int64_t today(struct sim *s)
{
    int64_t now = sim_now_ms(s);
    return now - now % SAP_DAY_MS;
}

static const char *str_of(json_t *e, const char *name)
{
    const char *v = json_string_value(json_object_get(e, name));
    return v ? v : "";
}

static void set_str(json_t *e, const char *name, const char *v)
{
    json_object_set_new(e, name, json_string(v));
}

/* ---- create hooks -----------------------------------------------------------------------------
 */

bool sap_equipment_create(struct sap_ctx *c, json_t *e)
{
    if (!*str_of(e, "EquipmentCategory")) {
        sap_fail(c, 400, "SIM/REQUIRED", "Property 'EquipmentCategory' is required");
        return false;
    }
    if (!*str_of(e, "Equipment"))
        set_str(e, "Equipment", num(c, "equipment"));
    if (!json_object_get(e, "ValidityEndDate"))
        json_object_set_new(e, "ValidityEndDate", json_integer(SAP_MAX_DATE_MS));
    if (json_integer_value(json_object_get(e, "ValidityEndDate")) != SAP_MAX_DATE_MS) {
        sap_fail(c, 400, "SIM/VALIDITY",
                 "The simulator keeps one usage period: ValidityEndDate must be 9999-12-31");
        return false;
    }
    if (!json_object_get(e, "ValidityStartDate"))
        json_object_set_new(e, "ValidityStartDate", json_integer(today(c->s)));
    return true;
}

/* NotifProcessingPhase with its description and the system status. */
static void notif_phase(json_t *e, const char *phase)
{
    static const struct {
        const char *phase, *desc, *status;
    } phases[] = {
        {"1", "Outstanding", "OSNO"},
        {"3", "In process", "NOPR"},
        {"4", "Completed", "NOCO"},
    };
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
        if (strcmp(phases[i].phase, phase) == 0) {
            set_str(e, "NotifProcessingPhase", phases[i].phase);
            set_str(e, "NotifProcessingPhaseDesc", phases[i].desc);
            set_str(e, "ConcatenatedActiveSystStsName", phases[i].status);
        }
}

static bool equipment_exists(struct sim *s, const char *eq)
{
    struct arena *a = arena_new(256, 0);
    json_t *e = sap_load(s, "Equipment", arena_printf(a, "%s|%lld", eq, SAP_MAX_DATE_MS));
    arena_free(a);
    json_decref(e);
    return e != NULL;
}

bool sap_notification_create(struct sap_ctx *c, json_t *e)
{
    if (!*str_of(e, "NotificationText")) {
        sap_fail(c, 400, "SIM/REQUIRED", "Property 'NotificationText' is required");
        return false;
    }
    const char *to = str_of(e, "TechnicalObject");
    const char *kind = str_of(e, "TechObjIsEquipOrFuncnlLoc");
    if (*to && strcmp(kind, "EAMS_EQUI") == 0 && !equipment_exists(c->s, to)) {
        sap_fail(c, 400, "SIM/TECHNICAL_OBJECT", "Equipment %s does not exist", to);
        return false;
    }
    if (*to && !*kind) {
        sap_fail(c, 400, "SIM/TECHNICAL_OBJECT",
                 "TechObjIsEquipOrFuncnlLoc (EAMS_EQUI or EAMS_FL) is required with "
                 "TechnicalObject");
        return false;
    }
    set_str(e, "MaintenanceNotification", num(c, "notification"));
    notif_phase(e, "1");
    if (!json_object_get(e, "NotificationCreationDate"))
        json_object_set_new(e, "NotificationCreationDate", json_integer(today(c->s)));
    if (!*str_of(e, "ReportedByUser"))
        set_str(e, "ReportedByUser", sim_options(c->s)->user ? sim_options(c->s)->user : "");
    return true;
}

/* The latest counter reading of a measuring point (by date, time, number);
 * false when it has none. */
static bool last_counter(struct sim *s, const char *mp, double *out)
{
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(
            sim_db(s),
            "SELECT json_extract(data, '$.MeasurementCounterReading') FROM sap_entities "
            "WHERE set_name = 'MeasurementDocument' AND json_extract(data, '$.MeasuringPoint') = ? "
            "AND json_extract(data, '$.MeasurementCounterReading') IS NOT NULL "
            "AND NOT COALESCE(json_extract(data, '$.MsmtRdngIsReversed'), 0) "
            "ORDER BY json_extract(data, '$.MsmtRdngDate') DESC, "
            "json_extract(data, '$.MsmtRdngTime') DESC, CAST(key AS INTEGER) DESC LIMIT 1",
            -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, mp, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_double(st, 0);
        found = true;
    }
    sqlite3_finalize(st);
    return found;
}

static bool number(json_t *e, const char *name, double *out)
{
    json_t *v = json_object_get(e, name);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

bool sap_mdoc_create(struct sap_ctx *c, json_t *e)
{
    if (!*str_of(e, "MeasurementDocument")) {
        if (c->cfg.mdoc_key_required) {
            sap_fail(c, 400, "SIM/REQUIRED",
                     "Property 'MeasurementDocument' is required (measurement-document-key="
                     "require)");
            return false;
        }
        set_str(e, "MeasurementDocument", num(c, "mdoc"));
    }
    const char *mpn = str_of(e, "MeasuringPoint");
    if (!*mpn) {
        sap_fail(c, 400, "SIM/REQUIRED", "Property 'MeasuringPoint' is required");
        return false;
    }
    json_t *mp = sap_load(c->s, "MeasuringPoint", mpn);
    if (!mp) {
        sap_fail(c, 400, "SIM/MEASURING_POINT", "Measuring point %s does not exist", mpn);
        return false;
    }
    json_arena_own(c->req->arena, mp);
    if (json_is_true(json_object_get(mp, "MeasuringPointIsInactive"))) {
        sap_fail(c, 400, "SIM/MEASURING_POINT", "Measuring point %s is inactive", mpn);
        return false;
    }
    const char *unit = str_of(mp, "CharcValueUnit");
    const char *entry = str_of(e, "MeasurementReadingEntryUoM");
    if (!*entry) {
        set_str(e, "MeasurementReadingEntryUoM", unit);
    } else if (strcmp(entry, unit) != 0) {
        sap_fail(c, 400, "SIM/UNIT",
                 "Unit %s cannot be converted to the measuring point's unit %s (the simulator "
                 "does not convert units)",
                 entry, unit);
        return false;
    }
    set_str(e, "CharcValueUnit", unit);
    set_str(e, "MeasuringPointPositionNumber", str_of(mp, "MeasuringPointPositionNumber"));
    int64_t now = sim_now_ms(c->s);
    if (!json_object_get(e, "MsmtRdngDate"))
        json_object_set_new(e, "MsmtRdngDate", json_integer(now - now % SAP_DAY_MS));
    if (!json_object_get(e, "MsmtRdngTime"))
        json_object_set_new(e, "MsmtRdngTime", json_integer((now % SAP_DAY_MS) / 1000 * 1000));
    if (!*str_of(e, "MsmtRdngByUser"))
        set_str(e, "MsmtRdngByUser", sim_options(c->s)->user ? sim_options(c->s)->user : "");
    double v;
    if (json_is_true(json_object_get(mp, "MeasuringPointIsCounter"))) {
        double total = 0, diff = 0, prev = 0;
        bool has_total = number(e, "MeasurementCounterReading", &total) ||
                         number(e, "MeasurementReadingInEntryUoM", &total) ||
                         number(e, "MeasurementReading", &total);
        bool has_diff = json_is_true(json_object_get(e, "MsmtCntrReadingDiffIsEntered")) &&
                        number(e, "MsmtCounterReadingDifference", &diff);
        if (!has_total && !has_diff) {
            sap_fail(c, 400, "SIM/READING",
                     "A counter reading needs MeasurementCounterReading (or "
                     "MeasurementReadingInEntryUoM), or MsmtCounterReadingDifference with "
                     "MsmtCntrReadingDiffIsEntered");
            return false;
        }
        bool known = last_counter(c->s, mpn, &prev);
        if (has_diff && (!has_total || c->cfg.counter_diff_wins))
            total = prev + diff;
        else
            diff = known ? total - prev : 0;
        bool backwards = json_is_true(json_object_get(mp, "MsrgPtIsCountingBackwards"));
        if (known && (backwards ? total > prev : total < prev) && !c->cfg.counter_decrease_ok) {
            sap_fail(c, 400, "SIM/COUNTER",
                     "Counter reading %.15g is %s than the previous reading %.15g of measuring "
                     "point %s",
                     total, backwards ? "higher" : "lower", prev, mpn);
            return false;
        }
        json_object_set_new(e, "MeasurementCounterReading", json_real(total));
        json_object_set_new(e, "MsmtCounterReadingDifference", json_real(diff));
        json_object_set_new(e, "MeasurementReading", json_real(total));
        json_object_set_new(e, "MeasurementReadingInEntryUoM", json_real(total));
        sim_effect(c->s, "counter_readings_posted", 1);
    } else if (number(e, "MeasurementReadingInEntryUoM", &v) ||
               number(e, "MeasurementReading", &v)) {
        json_object_set_new(e, "MeasurementReading", json_real(v));
        json_object_set_new(e, "MeasurementReadingInEntryUoM", json_real(v));
    } else if (!*str_of(e, "MsmtValuationCode")) {
        sap_fail(c, 400, "SIM/READING",
                 "A reading needs MeasurementReadingInEntryUoM (or a valuation code)");
        return false;
    }
    return true;
}

/* Every operation of order ord but op (being confirmed now) finally confirmed? */
static bool order_fully_confirmed(struct sim *s, const char *ord, const char *op)
{
    sqlite3_stmt *st;
    bool all = false;
    if (sqlite3_prepare_v2(
            sim_db(s),
            "SELECT count(*) FROM sap_entities o WHERE o.set_name = 'MaintenanceOrderOperation' "
            "AND json_extract(o.data, '$.MaintenanceOrder') = ?1 "
            "AND json_extract(o.data, '$.MaintenanceOrderOperation') <> ?2 AND NOT EXISTS (SELECT "
            "1 FROM "
            "sap_entities c WHERE c.set_name = 'MaintOrderConfirmation' AND "
            "json_extract(c.data, '$.MaintenanceOrder') = ?1 AND "
            "json_extract(c.data, '$.MaintenanceOrderOperation') = "
            "json_extract(o.data, '$.MaintenanceOrderOperation') AND "
            "json_extract(c.data, '$.IsFinalConfirmation'))",
            -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, ord, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, op, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        all = sqlite3_column_int64(st, 0) == 0;
    sqlite3_finalize(st);
    return all;
}

/* The confirmation number of an operation (shared by its confirmations)
 * and the next counter value. */
static void conf_number(struct sap_ctx *c, const char *ord, const char *op, const char **conf,
                        const char **cntr)
{
    sqlite3_stmt *st;
    *conf = NULL;
    int64_t max = 0;
    if (sqlite3_prepare_v2(sim_db(c->s),
                           "SELECT json_extract(data, '$.MaintOrderConf'), "
                           "max(CAST(json_extract(data, '$.MaintOrderConfCntrValue') AS INTEGER)) "
                           "FROM sap_entities WHERE set_name = 'MaintOrderConfirmation' AND "
                           "json_extract(data, '$.MaintenanceOrder') = ? AND "
                           "json_extract(data, '$.MaintenanceOrderOperation') = ? "
                           "GROUP BY 1 LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, ord, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, op, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
            *conf = arena_strdup(c->req->arena, (const char *)sqlite3_column_text(st, 0));
            max = sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    }
    if (!*conf)
        *conf = num(c, "confirmation");
    *cntr = arena_printf(c->req->arena, "%lld", (long long)max + 1);
}

bool sap_confirmation_create(struct sap_ctx *c, json_t *e)
{
    const char *ord = str_of(e, "MaintenanceOrder"), *op = str_of(e, "MaintenanceOrderOperation");
    if (!*ord || !*op) {
        sap_fail(c, 400, "SIM/REQUIRED",
                 "Properties 'MaintenanceOrder' and 'MaintenanceOrderOperation' are required");
        return false;
    }
    struct arena *a = c->req->arena;
    json_t *order = sap_load(c->s, "MaintenanceOrder", ord);
    if (!order) {
        sap_fail(c, 400, "SIM/ORDER", "Order %s does not exist", ord);
        return false;
    }
    json_arena_own(a, order);
    const char *sub = str_of(e, "MaintenanceOrderSubOperation");
    const char *opkey = arena_printf(a, "%s|%s|%s", ord, op, sub);
    json_t *oper = sap_load(c->s, "MaintenanceOrderOperation", opkey);
    if (!oper) {
        sap_fail(c, 400, "SIM/OPERATION", "Operation %s of order %s does not exist", op, ord);
        return false;
    }
    json_arena_own(a, oper);
    const char *phase = str_of(order, "MaintOrdProcessPhaseCode");
    if (strcmp(phase, c->cfg.final_phase) >= 0 && *phase) {
        sap_fail(c, 400, "SIM/ORDER_STATUS", "Order %s is already completed (phase %s)", ord,
                 phase);
        return false;
    }
    const char *conf, *cntr;
    conf_number(c, ord, op, &conf, &cntr);
    if (!*str_of(e, "MaintOrderConf"))
        set_str(e, "MaintOrderConf", conf);
    if (!*str_of(e, "MaintOrderConfCntrValue"))
        set_str(e, "MaintOrderConfCntrValue", cntr);
    if (!json_object_get(e, "PostingDate"))
        json_object_set_new(e, "PostingDate", json_integer(today(c->s)));
    /* the operation's actual work and dates */
    double work = 0, have = 0;
    if (number(e, "ActualWorkQuantity", &work)) {
        (void)number(oper, "ActualWorkQuantity", &have);
        json_object_set_new(oper, "ActualWorkQuantity", json_real(have + work));
    }
    json_t *sd = json_object_get(e, "OperationConfirmedStartDate");
    json_t *ed = json_object_get(e, "OperationConfirmedEndDate");
    if (sd && !json_object_get(oper, "OpActualExecutionStartDate"))
        json_object_set(oper, "OpActualExecutionStartDate", sd);
    if (ed)
        json_object_set(oper, "OpActualExecutionEndDate", ed);
    const struct sap_set *opset = sap_set_any("MaintenanceOrderOperation");
    if (sap_store(c->s, opset, opkey, oper))
        goto fail;
    if (json_is_true(json_object_get(e, "IsFinalConfirmation"))) {
        sim_effect(c->s, "final_confirmations_posted", 1);
        if (order_fully_confirmed(c->s, ord, op)) {
            set_str(order, "MaintOrdProcessPhaseCode", c->cfg.final_phase);
            set_str(order, "MaintOrdProcessSubPhaseCode", "");
            const struct sap_set *oset = sap_set_any("MaintenanceOrder");
            sap_stamp(c, oset, order, false);
            if (sap_store(c->s, oset, ord, order))
                goto fail;
        }
    }
    return true;
fail:
    sap_fail(c, 500, "SIM/INTERNAL", "cannot store the confirmation");
    return false;
}

/* ---- notification actions
 * ------------------------------------------------------------------------ */

/* A function-import parameter: its literal, or NULL (400 answered). */
static const struct sap_lit_val *param(struct sap_ctx *c, const char *name, enum sap_lit kind,
                                       bool required)
{
    const char *raw = http_query(c->req, name);
    if (!raw) {
        if (required)
            sap_fail(c, 400, "SIM/PARAMETER", "Parameter '%s' is required", name);
        return NULL;
    }
    struct sap_lit_val *v = arena_zalloc(c->req->arena, sizeof(*v));
    char err[SAP_ERR_MAX];
    if (sap_literal_parse(c->req->arena, raw, v, err) || v->kind != kind) {
        sap_fail(c, 400, "SIM/PARAMETER", "Parameter '%s' has an invalid value '%s'%s%s", name, raw,
                 v->kind != kind ? "" : ": ", v->kind != kind ? "" : err);
        return NULL;
    }
    return v;
}

void sap_notif_action(struct sap_ctx *c, bool complete)
{
    const struct sap_set *set = sap_set_any("MaintenanceNotification");
    c->set = set;
    const struct sap_lit_val *id = param(c, "MaintenanceNotification", SAP_LIT_STRING, true);
    if (!id)
        return;
    const struct sap_lit_val *rd = NULL, *rt = NULL;
    if (complete) {
        if (http_query(c->req, "NotificationReferenceDate") &&
            !(rd = param(c, "NotificationReferenceDate", SAP_LIT_DATETIME, false)))
            return;
        if (http_query(c->req, "NotificationReferenceTime") &&
            !(rt = param(c, "NotificationReferenceTime", SAP_LIT_TIME, false)))
            return;
    }
    json_t *e = sap_load(c->s, set->table, id->text);
    if (!e) {
        sap_fail(c, 404, "SIM/NOT_FOUND", "Notification %s does not exist", id->text);
        return;
    }
    json_arena_own(c->req->arena, e);
    const char *phase = str_of(e, "NotifProcessingPhase");
    if (strcmp(phase, "4") == 0) {
        sap_fail(c, 400, "SIM/NOTIFICATION_STATUS", "Notification %s is already completed",
                 id->text);
        return;
    }
    if (complete) {
        notif_phase(e, "4");
        int64_t now = sim_now_ms(c->s);
        int64_t date = rd ? rd->ms - rd->ms % SAP_DAY_MS : now - now % SAP_DAY_MS;
        int64_t time = rt ? rt->ms : now % SAP_DAY_MS / 1000 * 1000;
        json_object_set_new(e, "NotificationReferenceDate", json_integer(date));
        json_object_set_new(e, "NotificationReferenceTime", json_integer(time));
        json_object_set_new(e, "NotificationCompletionDate", json_integer(date));
        json_object_set_new(e, "CompletionTime", json_integer(time));
        sim_effect(c->s, "notifications_completed", 1);
    } else if (strcmp(phase, "3") != 0) {
        notif_phase(e, "3");
        sim_effect(c->s, "notifications_in_process", 1);
    }
    sap_stamp(c, set, e, false);
    if (sap_store(c->s, set, id->text, e)) {
        sap_fail(c, 500, "SIM/INTERNAL", "cannot store the notification");
        return;
    }
    sap_answer_entity(c, set, e, 200);
}

/* ---- seeding
 * ------------------------------------------------------------------------------------- */

struct seeder {
    struct sim *s;
    sqlite3_stmt *ins;
    enum ab_rc rc;
};

static void put(struct seeder *sd, const char *table, const char *key, json_t *e)
{
    char *text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    if (sd->rc || !text) {
        free(text);
        sd->rc = AB_EINTERNAL;
        return;
    }
    sqlite3_reset(sd->ins);
    sqlite3_bind_text(sd->ins, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(sd->ins, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(sd->ins, 3, text, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(sd->ins) != SQLITE_DONE)
        sd->rc = AB_EINTERNAL;
    free(text);
}

static void counter_set(struct sim *s, const char *name, int64_t v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT OR REPLACE INTO sap_counters(name, value) VALUES (?,?)", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    (void)sqlite3_step(st);
    sqlite3_finalize(st);
}

enum ab_rc sap_seed(struct sim *s, struct sim_prng *rng, unsigned n_assets)
{
    static const char *const kinds[] = {"Pump",         "Compressor",  "Conveyor",
                                        "Test station", "Torque tool", "Press"};
    static const char *const makers[] = {"KSB",           "Atlas Copco", "Siemens",
                                         "Bosch Rexroth", "Keysight",    "Schuler"};
    struct seeder sd = {.s = s};
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT INTO sap_entities(set_name, key, data) VALUES (?, ?, ?)", -1,
                           &sd.ins, NULL) != SQLITE_OK)
        return AB_EINTERNAL;
    int64_t now = sim_now_ms(s), day0 = now - now % SAP_DAY_MS;
    int64_t mp_n = 0, doc_n = 0, order_n = 0, notif_n = 0;
    char eq[32], key[64], mp[32], plan[32], buf[64];
    for (unsigned i = 0; i < n_assets && !sd.rc; i++) {
        size_t k = (size_t)sim_prng_range(rng, 0, 5);
        snprintf(eq, sizeof(eq), "%lld", EQUIPMENT_BASE + i + 1);
        int64_t created = day0 - sim_prng_range(rng, 400, 2000) * SAP_DAY_MS;
        int64_t changed = now - sim_prng_range(rng, 3600, 300LL * 86400) * 1000;
        snprintf(buf, sizeof(buf), "%s %u", kinds[k], i + 1);
        json_t *e = json_pack(
            "{s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:I,"
            "s:b,s:b,s:b,s:b}",
            "Equipment", eq, "ValidityEndDate", (json_int_t)SAP_MAX_DATE_MS, "ValidityStartDate",
            (json_int_t)created, "EquipmentName", buf, "EquipmentCategory", "M",
            "TechnicalObjectType", k == 3 ? "TEST" : "MACH", "AssetManufacturerName", makers[k],
            "ManufacturerPartTypeName", "MODEL-1", "ManufacturerSerialNumber", "", "SerialNumber",
            "", "MaintenancePlant", "1010", "MaintenancePlanningPlant", "1010", "WorkCenter",
            "MECH", "MainWorkCenter", "MECH", "CompanyCode", "1010", "CostCenter", "10101301",
            "CreationDate", (json_int_t)created, "CreatedByUser", "SEED", "LastChangedByUser",
            "SEED", "LastChangeDateTime", (json_int_t)changed, "EquipmentIsMarkedForDeletion",
            i % 97 == 96, "EquipmentIsInactive", i % 53 == 52, "EquipmentIsInstalled", 0,
            "EquipmentIsAvailable", 1);
        snprintf(buf, sizeof(buf), "MS-%06u", i + 1);
        json_object_set_new(e, "ManufacturerSerialNumber", json_string(buf));
        json_object_set_new(e, "SerialNumber", json_string(buf));
        snprintf(key, sizeof(key), "%s|%lld", eq, SAP_MAX_DATE_MS);
        put(&sd, "Equipment", key, e);

        /* a cycle counter with two readings */
        snprintf(mp, sizeof(mp), "%lld", MPOINT_BASE + mp_n++);
        double total = (double)sim_prng_range(rng, 1000, 500000);
        put(&sd, "MeasuringPoint", mp,
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:b,s:s,s:f}", "MeasuringPoint", mp,
                      "MeasuringPointDescription", "Cycle count", "MeasuringPointPositionNumber",
                      "CYCLES", "MeasuringPointCategory", "M", "TechnicalObjectType", "MACH",
                      "MeasuringPointIsCounter", 1, "MsrgPtInternalCharacteristic", "0000000100",
                      "CharcValueUnit", "EA", "Equipment", eq, "MeasurementTransferIsSupported", 0,
                      "MeasuringPointShortText", "Cycle count", "CounterOverflowRdngThreshold",
                      99999999.0));
        for (int r = 0; r < 2; r++) {
            double rd = total - (1 - r) * 250.0;
            char doc[32];
            snprintf(doc, sizeof(doc), "%lld", MDOC_BASE + doc_n++);
            int64_t when = day0 - (2 - r) * 7 * SAP_DAY_MS;
            put(&sd, "MeasurementDocument", doc,
                json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:f,s:f,s:s,s:f,s:f,s:s}",
                          "MeasurementDocument", doc, "MeasuringPoint", mp,
                          "MeasuringPointPositionNumber", "CYCLES", "MsmtRdngDate",
                          (json_int_t)when, "MsmtRdngTime", (json_int_t)(8 * 3600 * 1000),
                          "Characteristic", "CYCLES", "CharcValueUnit", "EA", "MeasurementReading",
                          rd, "MeasurementReadingInEntryUoM", rd, "MeasurementReadingEntryUoM",
                          "EA", "MeasurementCounterReading", rd, "MsmtCounterReadingDifference",
                          r ? 250.0 : 0.0, "MsmtRdngByUser", "SEED"));
        }
        char cmp[32];
        str_lcpy(cmp, mp, sizeof(cmp));
        /* every other asset: a temperature point with one reading */
        if (i % 2 == 0) {
            snprintf(mp, sizeof(mp), "%lld", MPOINT_BASE + mp_n++);
            put(&sd, "MeasuringPoint", mp,
                json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:f,s:f,s:s}", "MeasuringPoint", mp,
                          "MeasuringPointDescription", "Bearing temperature",
                          "MeasuringPointPositionNumber", "TEMP", "MeasuringPointCategory", "M",
                          "TechnicalObjectType", "MACH", "MeasuringPointIsCounter", 0,
                          "MsrgPtInternalCharacteristic", "0000000101", "CharcValueUnit", "CEL",
                          "Equipment", eq, "MeasuringPointMaximumThreshold", 90.0,
                          "MeasuringPointMinimumThreshold", -10.0, "MeasuringPointShortText",
                          "Bearing temperature"));
            char doc[32];
            snprintf(doc, sizeof(doc), "%lld", MDOC_BASE + doc_n++);
            double t = (double)sim_prng_range(rng, 200, 800) / 10.0;
            put(&sd, "MeasurementDocument", doc,
                json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:f,s:f,s:s,s:s}", "MeasurementDocument",
                          doc, "MeasuringPoint", mp, "MeasuringPointPositionNumber", "TEMP",
                          "MsmtRdngDate", (json_int_t)(day0 - SAP_DAY_MS), "MsmtRdngTime",
                          (json_int_t)(10 * 3600 * 1000), "Characteristic", "TEMPERATURE",
                          "CharcValueUnit", "CEL", "MeasurementReading", t,
                          "MeasurementReadingInEntryUoM", t, "MeasurementReadingEntryUoM", "CEL",
                          "MsmtRdngByUser", "SEED"));
        }

        /* a plan: counter-based on odd assets (every 10,000 cycles), else every 90 days */
        bool by_counter = i % 2 == 1;
        snprintf(plan, sizeof(plan), "%lld", PLAN_BASE + i);
        int64_t last = day0 - sim_prng_range(rng, 10, 120) * SAP_DAY_MS;
        int64_t next = last + 90 * SAP_DAY_MS;
        snprintf(buf, sizeof(buf), "%s service %s", kinds[k],
                 by_counter ? "10000 cycles" : "90 days");
        put(&sd, "MaintenancePlan", plan,
            json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:I,s:i}", "MaintenancePlan", plan,
                      "MaintenancePlanDesc", buf, "MaintenancePlanCategory", "PM", "BasicStartDate",
                      (json_int_t)created, "SchedulingStartDate", (json_int_t)created,
                      "LastChangeDateTime", (json_int_t)changed, "CreatedByUser", "SEED",
                      "LastChangedByUser", "SEED", "CreationDate", (json_int_t)created,
                      "MaintenanceCall", 2));
        snprintf(key, sizeof(key), "%s|1", plan);
        json_t *cyc = json_pack(
            "{s:s,s:s,s:f,s:s,s:s,s:b,s:I}", "MaintenancePlan", plan, "MaintenancePlanCycle", "1",
            "MaintPlanCycRcrrcIntervalQty", by_counter ? 10000.0 : 90.0,
            "MaintPlanCycRcrrcIntervalUnit", by_counter ? "EA" : "DAY", "MaintPlanCycleDesc",
            by_counter ? "Every 10000 cycles" : "Every 90 days", "MaintenancePlanCycleIsInactive",
            0, "LASTCHANGEDATETIME", (json_int_t)changed);
        if (by_counter) {
            int64_t next_count = ((int64_t)total / 10000 + 1) * 10000;
            json_object_set_new(cyc, "MeasuringPoint", json_string(cmp));
            json_object_set_new(cyc, "MaintCycleNextPlndCntrRdng", json_real((double)next_count));
        }
        put(&sd, "MaintenancePlanCycle", key, cyc);
        for (int call = 1; call <= 2; call++) {
            snprintf(key, sizeof(key), "%s|%d|", plan, call);
            json_t *sc = json_pack(
                "{s:s,s:i,s:s,s:I,s:b}", "MaintenancePlan", plan, "MaintenancePlanCallNumber", call,
                "MaintenancePackage", "", "MaintenanceCallNextPlannedDate",
                (json_int_t)(call == 1 ? last : next), "MaintenanceCallIsOutstanding", call == 2);
            if (call == 1) {
                json_object_set_new(sc, "MaintenanceCallDate", json_integer(last));
                json_object_set_new(sc, "CompletionDate", json_integer(last));
            }
            if (by_counter)
                json_object_set_new(sc, "MeasuringPoint", json_string(cmp));
            put(&sd, "MaintenancePlanSchedule", key, sc);
        }
        put(&sd, "MaintenanceItem", plan,
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "MaintenanceItem", plan,
                      "MaintenanceItemDescription", buf, "MaintenancePlanCategory", "PM",
                      "MaintenancePlan", plan, "Equipment", eq, "MaintenancePlanningPlant", "1010",
                      "MaintenanceOrderType", "PM02", "NotificationType", "M2", "MainWorkCenter",
                      "MECH", "LastChangeDateTime", (json_int_t)changed, "CreatedByUser", "SEED"));

        /* every third asset: an open order with one operation */
        if (i % 3 == 0) {
            char ord[32];
            static const char *const phases[] = {"03", "05", "07"};
            snprintf(ord, sizeof(ord), "%lld", ORDER_BASE + order_n++);
            int64_t start = day0 + sim_prng_range(rng, -10, 20) * SAP_DAY_MS;
            put(&sd, "MaintenanceOrder", ord,
                json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s}",
                          "MaintenanceOrder", ord, "MaintenanceOrderType", "PM02",
                          "MaintenanceOrderDesc", buf, "MaintOrdBasicStartDateTime",
                          (json_int_t)start, "MaintOrdBasicEndDateTime",
                          (json_int_t)(start + SAP_DAY_MS), "MaintenancePlanningPlant", "1010",
                          "MaintenancePlant", "1010", "MaintOrdProcessPhaseCode",
                          phases[order_n % 3], "Equipment", eq, "MainWorkCenter", "MECH",
                          "MaintPriority", "3", "TechnicalObject", eq, "LastChangeDateTime",
                          (json_int_t)changed, "CreatedByUser", "SEED", "TechObjIsEquipOrFuncnlLoc",
                          "EAMS_EQUI", "MaintenanceActivityType", "001"));
            snprintf(key, sizeof(key), "%s|0010|", ord);
            put(&sd, "MaintenanceOrderOperation", key,
                json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:s}", "MaintenanceOrder", ord,
                          "MaintenanceOrderOperation", "0010", "MaintenanceOrderSubOperation", "",
                          "OperationControlKey", "PM01", "OperationDescription",
                          "Inspect and service", "WorkCenter", "MECH", "Equipment", eq,
                          "MaintOrderOperationDuration", 2.0, "MaintOrdOperationDurationUnit",
                          "H"));
        }
        /* every fourth asset: an outstanding notification */
        if (i % 4 == 1) {
            char nt[32];
            snprintf(nt, sizeof(nt), "%lld", NOTIF_BASE + notif_n++);
            json_t *n =
                json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "MaintenanceNotification", nt,
                          "NotificationText", "Unusual noise", "NotificationType", "M2",
                          "MaintPriority", "3", "TechnicalObject", eq, "TechObjIsEquipOrFuncnlLoc",
                          "EAMS_EQUI", "CreationDate", (json_int_t)(changed - changed % SAP_DAY_MS),
                          "LastChangeDateTime", (json_int_t)changed, "ReportedByUser", "SEED");
            notif_phase(n, "1");
            put(&sd, "MaintenanceNotification", nt, n);
        }
    }
    sqlite3_finalize(sd.ins);
    if (sd.rc)
        return sd.rc;
    counter_set(s, "equipment", EQUIPMENT_BASE + n_assets);
    counter_set(s, "mdoc", MDOC_BASE + doc_n - 1);
    counter_set(s, "notification", NOTIF_BASE + notif_n - 1);
    counter_set(s, "confirmation", CONF_BASE);
    sim_effect(s, "seeded_equipment", n_assets);
    return AB_OK;
}
