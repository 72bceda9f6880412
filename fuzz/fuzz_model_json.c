/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_model_json.c: libFuzzer driver for the canonical model's JSON parsers
 * (they read API bodies and provider payloads). The input is parsed with
 * jansson and handed to every model_X_from_json; whatever parses must
 * serialise, parse back and keep its digest (to_json/from_json round trip),
 * and an asset merge of the input onto a fixed base must not crash.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "model/asset.h"
#include "model/attachment.h"
#include "model/audit.h"
#include "model/calibration.h"
#include "model/digest.h"
#include "model/event.h"
#include "model/meter.h"
#include "model/plan.h"
#include "model/sync_state.h"
#include "model/work_order.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1767225600000LL

/* Check that j parses back (via parse) to something whose JSON has the same
 * digest. Aborts on a violation. Consumes j. */
#define ROUND_TRIP(type, fn, a, x)                                                                 \
    do {                                                                                           \
        struct model_error e2;                                                                     \
        struct type back;                                                                          \
        json_t *j1 = fn##_to_json(&(x));                                                           \
        char d1[65], d2[65];                                                                       \
        if (fn##_from_json((a), j1, &back, &e2) != AB_OK)                                          \
            abort();                                                                               \
        json_t *j2 = fn##_to_json(&back);                                                          \
        if (model_digest(j1, d1) != AB_OK || model_digest(j2, d2) != AB_OK || strcmp(d1, d2) != 0) \
            abort();                                                                               \
        json_decref(j1);                                                                           \
        json_decref(j2);                                                                           \
    } while (0)

#define TRY(type, fn, a, in)                                                                       \
    do {                                                                                           \
        struct type x;                                                                             \
        struct model_error e;                                                                      \
        enum ab_rc rc = fn##_from_json((a), (in), &x, &e);                                         \
        if (rc != model_error_rc(&e))                                                              \
            abort();                                                                               \
        if (rc == AB_OK)                                                                           \
            ROUND_TRIP(type, fn, a, x);                                                            \
        else if (!e.field[0] && !e.message[0])                                                     \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int registered;
    if (!registered) {
        registered = 1;
        if (model_meter_type_register("temperature", MODEL_METER_GAUGE, "degC") != AB_OK)
            abort();
    }
    json_t *in =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    if (!in)
        return 0;
    struct arena *a = arena_new(0, 64u * 1024 * 1024);
    TRY(model_asset, model_asset, a, in);
    TRY(model_meter, model_meter, a, in);
    TRY(model_calibration, model_calibration, a, in);
    TRY(model_plan, model_plan, a, in);
    TRY(model_work_order, model_work_order, a, in);
    TRY(model_attachment, model_attachment, a, in);
    TRY(model_event, model_event, a, in);
    TRY(model_audit, model_audit, a, in);
    TRY(model_sync_status, model_sync_status, a, in);

    struct model_reading r, rback;
    struct model_error err;
    if (model_reading_from_json_at(a, in, NOW, MODEL_READING_MAX_FUTURE_MS, &r, &err) == AB_OK) {
        json_t *j = model_reading_to_json(&r);
        if (model_reading_from_json_at(a, j, NOW, MODEL_READING_MAX_FUTURE_MS, &rback, &err) !=
                AB_OK ||
            rback.amount != r.amount || rback.read_at != r.read_at || rback.mode != r.mode)
            abort();
        json_decref(j);
    }

    struct model_asset base, merged;
    json_t *bj = json_pack("{s:s, s:s, s:{s:i, s:s}}", "asset_ref", "FX-1", "name", "base",
                           "attributes", "a", 1, "b", "x");
    if (model_asset_from_json(a, bj, &base, &err) != AB_OK)
        abort();
    if (model_asset_merge(a, &base, in, &merged, &err) == AB_OK)
        ROUND_TRIP(model_asset, model_asset, a, merged);
    json_decref(bj);

    char d[65];
    (void)model_digest(in, d);
    json_decref(in);
    arena_free(a);
    return 0;
}
