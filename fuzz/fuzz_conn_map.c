/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_conn_map.c: libFuzzer driver for the connectors' parsers of provider
 * answers that are exported as pure functions: the WATS records (assets
 * with their type and /Status answer, asset types, report headers), its
 * version, date and Asset_Status parsers; the SAP PM records (equipment,
 * measuring points, notifications, orders, plans with items, cycles,
 * schedules and points), OData dates and error bodies; the generic
 * provider's records; each connector's HTTP outcome classifier (status,
 * Retry-After, error code) and translate slot in both directions (the
 * canonical side comes from API bodies by way of the outbox).
 *
 * Input: one selector byte, then the text the parser reads (JSON for the
 * records; where a parser takes several documents, a JSON array of them).
 * Checks: an accepted record has a non-empty native id and an object
 * document that serialises; a mapping exception is never empty; an outcome
 * has a class and a Retry-After within the connector's ceiling. Documents
 * are also handed to the canonical model's parser, as the engine does.
 * fuzz/fuzz_conn_http.c drives the same connectors through real HTTP.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"
#include "conn/conn_generic.h"
#include "conn/conn_sap_pm.h"
#include "conn/conn_wats.h"
#include "core/arena.h"
#include "core/log.h"
#include "model/asset.h"
#include "model/meter.h"
#include "model/plan.h"
#include "model/work_order.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1795262400000LL /* 2026-11-21T12:00:00Z */

enum mode {
    M_WATS_ASSET,
    M_WATS_TYPE,
    M_WATS_REPORT,
    M_WATS_TEXT, /* version, date, Asset_Status */
    M_WATS_OUTCOME,
    M_SAP_EQUIPMENT,
    M_SAP_ORDER,
    M_SAP_NOTIFICATION,
    M_SAP_POINT,
    M_SAP_PLAN,
    M_SAP_VALUES, /* OData dates, error bodies */
    M_SAP_OUTCOME,
    M_GENERIC_RECORD,
    M_GENERIC_OUTCOME,
    M_TRANSLATE,
    M_COUNT
};

/* The model parser the engine would hand a record's document to. */
enum model_kind { K_NONE, K_ASSET, K_METER, K_PLAN, K_WORK_ORDER };

static void to_model(struct arena *a, const json_t *doc, enum model_kind k)
{
    struct model_error e;
    switch (k) {
    case K_ASSET: {
        struct model_asset x;
        (void)model_asset_from_json(a, doc, &x, &e);
        break;
    }
    case K_METER: {
        struct model_meter x;
        (void)model_meter_from_json(a, doc, &x, &e);
        break;
    }
    case K_PLAN: {
        struct model_plan x;
        (void)model_plan_from_json(a, doc, &x, &e);
        break;
    }
    case K_WORK_ORDER: {
        struct model_work_order x;
        (void)model_work_order_from_json(a, doc, &x, &e);
        break;
    }
    case K_NONE: break;
    }
}

/* The invariants of an accepted record. */
static void check_record(struct arena *a, const struct conn_record *r, enum model_kind k)
{
    if (!r->native_id || !r->native_id[0] || !json_is_object(r->doc))
        abort();
    if (r->mapping_exception && !r->mapping_exception[0])
        abort();
    char *s = json_dumps(r->doc, JSON_COMPACT);
    if (!s)
        abort();
    free(s);
    to_model(a, r->doc, k);
}

static void check_outcome(const struct conn_result *r, int64_t ceiling_ms)
{
    if (r->outcome != CONN_OK && !r->error_class)
        abort();
    if (r->retry_after_ms < -1 || r->retry_after_ms > ceiling_ms)
        abort();
}

/* Element i of an array, or the document itself for i == 0 when it is not
 * an array (a single document). */
static const json_t *part(const json_t *j, size_t i)
{
    if (json_is_array(j))
        return json_array_get(j, i);
    return i == 0 ? j : NULL;
}

/* "NNN rest": an HTTP status from the first three characters (200 when
 * they are not digits) and the rest as a header value. */
static int status_of(const char *s, const char **rest)
{
    int st = 0;
    size_t i = 0;
    for (; i < 3 && s[i] >= '0' && s[i] <= '9'; i++)
        st = st * 10 + (s[i] - '0');
    if (i < 3) {
        *rest = s;
        return 200;
    }
    *rest = s[3] == ' ' ? s + 4 : s + 3;
    return st;
}

static void wats(enum mode m, unsigned variant, const char *text, const json_t *j, struct arena *a)
{
    static const struct conn_wats_meter meters[] = {{"cycles", false}, {"runs", true}};
    struct conn_wats_opts o;
    conn_wats_opts_default(&o);
    static const int offsets[] = {0, 60, -300, 840};
    o.naive_offset_min = offsets[variant % 4];
    o.derive_status = !(variant & 4);
    o.meters = meters;
    o.n_meters = 2;
    struct conn_record r;
    switch (m) {
    case M_WATS_ASSET: {
        /* [asset, type, status answer] or one object used as all three */
        const json_t *asset = part(j, 0), *type = json_is_array(j) ? part(j, 1) : j,
                     *st = json_is_array(j) ? part(j, 2) : j;
        struct conn_wats_type t;
        bool has_t = json_is_object(type) && conn_wats_type_read(type, &t) == AB_OK;
        if (conn_wats_asset_record(asset, has_t ? &t : NULL, st, &o, NOW, a, &r) == AB_OK)
            check_record(a, &r, K_ASSET);
        if (has_t) {
            int level;
            const char *why;
            conn_wats_derive_status(asset, &t, &o, NOW, a, &level, &why);
            if (level != 0 && level != 2 && level != 3)
                abort();
            if ((level == 0) != (why == NULL))
                abort();
        }
        break;
    }
    case M_WATS_TYPE:
        for (size_t i = 0; i < 4 && part(j, i); i++)
            if (conn_wats_type_record(part(j, i), a, &r) == AB_OK)
                check_record(a, &r, K_NONE);
        break;
    case M_WATS_REPORT:
        for (size_t i = 0; i < 4 && part(j, i); i++) {
            struct conn_record *rs;
            size_t n;
            if (conn_wats_report_records(part(j, i), &o, a, &rs, &n) != AB_OK)
                continue;
            if (n > json_array_size(json_object_get(part(j, i), "assets")))
                abort();
            for (size_t k = 0; k < n; k++)
                check_record(a, &rs[k], K_NONE);
        }
        break;
    case M_WATS_TEXT: {
        struct conn_wats_version v;
        if (conn_wats_version_parse(text, strlen(text), &v) == AB_OK) {
            if (v.major < 0 || v.minor < 0)
                abort();
            (void)conn_wats_version_at_least(&v, 25, 3);
        }
        int64_t ms;
        if (conn_wats_time_parse(text, o.naive_offset_min, &ms) == AB_OK) {
            char back[32];
            conn_wats_time_format(ms, CONN_WATS_DATE_NAIVE, o.naive_offset_min, back);
            conn_wats_time_format(ms, CONN_WATS_DATE_UTC_Z, 0, back);
        }
        int level = conn_wats_status_level(j);
        if (level < -1 || level > 5)
            abort();
        (void)conn_wats_level_name(level);
        (void)conn_wats_type_to_canonical(text);
        break;
    }
    case M_WATS_OUTCOME: {
        const char *ra;
        int st = status_of(text, &ra);
        struct conn_result res = {0};
        conn_wats_http_outcome(st, *ra ? ra : NULL, NOW, &res);
        check_outcome(&res, 3600000);
        break;
    }
    default: break;
    }
}

static void sap(enum mode m, unsigned variant, const char *text, const json_t *j, struct arena *a)
{
    struct conn_sap_pm_opts o;
    conn_sap_pm_opts_default(&o);
    o.match = (enum conn_sap_pm_match)(variant % 3);
    o.match_characteristic = "SERIAL";
    o.meter_totals = !(variant & 4);
    struct conn_record r;
    switch (m) {
    case M_SAP_EQUIPMENT: {
        /* [equipment, meters, match value, ambiguous] or one object */
        const json_t *meters = part(j, 1);
        const char *mv = json_string_value(part(j, 2)), *amb = json_string_value(part(j, 3));
        if (conn_sap_pm_equipment_record(part(j, 0), &o, mv, amb,
                                         json_is_object(meters) ? meters : NULL, a, &r) == AB_OK) {
            check_record(a, &r, K_ASSET);
            if (amb && !r.mapping_exception)
                abort();
        }
        break;
    }
    case M_SAP_ORDER:
        for (size_t i = 0; i < 4 && part(j, i); i++)
            if (conn_sap_pm_order_record(part(j, i), &o, a, &r) == AB_OK)
                check_record(a, &r, K_WORK_ORDER);
        break;
    case M_SAP_NOTIFICATION:
        for (size_t i = 0; i < 4 && part(j, i); i++)
            if (conn_sap_pm_notification_record(part(j, i), &o, a, &r) == AB_OK)
                check_record(a, &r, K_WORK_ORDER);
        break;
    case M_SAP_POINT:
        for (size_t i = 0; i < 4 && part(j, i); i++)
            if (conn_sap_pm_point_record(part(j, i), &o, a, &r) == AB_OK)
                check_record(a, &r, K_METER);
        break;
    case M_SAP_PLAN: {
        /* [plan, items, cycles, schedules, points] or one object */
        if (conn_sap_pm_plan_record(part(j, 0), part(j, 1), part(j, 2), part(j, 3), part(j, 4), &o,
                                    a, &r) == AB_OK)
            check_record(a, &r, K_PLAN);
        break;
    }
    case M_SAP_VALUES: {
        json_t *s = json_string(text);
        int64_t ms;
        const json_t *vals[] = {j, s, json_object_get(j, "d")};
        for (size_t i = 0; i < 3; i++) {
            if (conn_sap_pm_time(vals[i], &ms) != AB_OK)
                continue;
            char day[11];
            conn_sap_pm_day(ms, day);
            (void)conn_sap_pm_time_literal(a, ms, false);
            (void)conn_sap_pm_time_literal(a, ms, true);
        }
        json_decref(s);
        const char *t = conn_sap_pm_error_text(j);
        if (t && strlen(t) > 1u << 24)
            abort();
        char ext[21];
        conn_sap_pm_ext_ref(text, ext);
        if (strlen(ext) != 18)
            abort();
        break;
    }
    case M_SAP_OUTCOME: {
        const char *ra;
        int st = status_of(text, &ra);
        struct conn_result res = {0};
        conn_sap_pm_http_outcome(st, *ra ? ra : NULL, variant & 1, NOW, &res);
        check_outcome(&res, 3600000);
        break;
    }
    default: break;
    }
}

static void generic(enum mode m, unsigned variant, const char *text, const json_t *j,
                    struct arena *a)
{
    static const struct {
        const char *entity;
        enum model_kind k;
    } ents[] = {{"asset", K_ASSET},
                {"meter", K_METER},
                {"maintenance_plan", K_PLAN},
                {"work_order", K_WORK_ORDER}};
    if (m == M_GENERIC_RECORD) {
        for (size_t i = 0; i < 4 && part(j, i); i++) {
            struct conn_record r;
            size_t e = (variant + i) % 4;
            if (conn_generic_record(ents[e].entity, part(j, i), a, &r) == AB_OK)
                check_record(a, &r, ents[e].k);
        }
        return;
    }
    /* "NNN CODE\nRETRY-AFTER" */
    const char *rest;
    int st = status_of(text, &rest);
    const char *nl = strchr(rest, '\n');
    const char *code = nl ? arena_strndup(a, rest, (size_t)(nl - rest)) : rest;
    struct conn_result res = {0};
    conn_generic_http_outcome(st, *code ? code : NULL, nl ? nl + 1 : NULL, NOW, &res);
    check_outcome(&res, 3600000);
}

static void translate(unsigned variant, const json_t *j, struct arena *a)
{
    static const struct conn_ops *const ops[] = {&conn_wats, &conn_sap_pm, &conn_generic};
    /* variant < 18: three connectors times six entities */
    static const char *const entities[] = {"asset", "work_order",       "notification",
                                           "meter", "maintenance_plan", "reading"};
    const struct conn_ops *op = ops[variant % 3];
    const char *entity = entities[(variant / 3) % 6];
    for (int dir = 0; dir < 2; dir++) {
        json_t *out = NULL;
        if (op->translate(NULL, dir ? CONN_TO_NATIVE : CONN_TO_CANONICAL, entity, j, a, &out) ==
                AB_OK &&
            !out)
            abort();
    }
    /* what a push reads from a canonical payload */
    long long total;
    double dtotal;
    const char *why = NULL;
    if (conn_wats_usage_total(j, &total, &why) != AB_OK && !why)
        abort();
    why = NULL;
    if (conn_sap_pm_usage_total(j, &dtotal, &why) != AB_OK && !why)
        abort();
    json_t *body = NULL;
    struct conn_sap_pm_opts so;
    conn_sap_pm_opts_default(&so);
    why = NULL;
    if (conn_sap_pm_notification_body(j, &so, variant & 1 ? "10000001" : NULL, "AB0123456789ABCDEF",
                                      a, &body, &why) == AB_OK) {
        if (!json_is_object(body))
            abort();
    } else if (!why) {
        abort();
    }
    why = NULL;
    if (conn_wats_asset_to_native(j, variant & 2 ? "type-1" : NULL, a, &body, &why) == AB_OK) {
        if (!json_is_object(body))
            abort();
    } else if (!why) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        init = true;
        /* log everything (the log's scrubbing reads provider text too), to nowhere */
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0)
            abort();
        log_configure(LOG_DEBUG, LOG_FORMAT_JSON, fd);
    }
    if (size < 1)
        return 0;
    enum mode m = (enum mode)(data[0] % M_COUNT);
    unsigned variant = data[0] / M_COUNT;
    struct arena *a = arena_new(0, 64u * 1024 * 1024);
    const char *text = arena_strndup(a, (const char *)data + 1, size - 1);
    json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
    if (m <= M_WATS_OUTCOME)
        wats(m, variant, text, j, a);
    else if (m <= M_SAP_OUTCOME)
        sap(m, variant, text, j, a);
    else if (m <= M_GENERIC_OUTCOME)
        generic(m, variant, text, j, a);
    else if (j)
        translate(variant, j, a);
    json_decref(j);
    arena_free(a);
    return 0;
}
