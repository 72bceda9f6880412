/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_sap_url.h: the resource-path and literal parser of the `sap_pm`
 * simulator (SAP Gateway OData V2 under /sap/opu/odata/sap/SERVICE[;v=N]/
 * and V4 under /sap/opu/odata4/sap/API/srvd_a2x/sap/NAME/VERSION/): the
 * service, the entity set or function import, the key predicate
 * `(Equipment='1',ValidityEndDate=datetime'9999-12-31T00:00:00')` and one
 * navigation or bound-action segment; and single literals as function-import
 * parameters carry them (`'10000020'`, `datetime'2017-12-31T00:00'`,
 * `time'PT23H59M59S'`). Paths come from untrusted URLs: the parser is strict,
 * bounded and fuzzed (fuzz/fuzz_sap_odata.c). Pure functions; thread-safe.
 */
#ifndef AB_SIM_SIM_SAP_URL_H
#define AB_SIM_SIM_SAP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"

#define SAP_KEYS_MAX 8
#define SAP_PATH_MAX 2048
#define SAP_ERR_MAX 256

/* The kind of a literal. */
enum sap_lit {
    SAP_LIT_STRING,   /* 'text' ('' is a quote) */
    SAP_LIT_BARE,     /* 123, 1.5, 2017-04-13, 15:51:04, true (V4 keys, numbers) */
    SAP_LIT_DATETIME, /* datetime'...' or datetimeoffset'...': ms in .ms */
    SAP_LIT_TIME,     /* time'PT15H51M04S': seconds of the day in .ms (ms / 1000) */
    SAP_LIT_GUID,     /* guid'...' */
};

struct sap_lit_val {
    const char *name; /* key name; NULL for the single unnamed key */
    enum sap_lit kind;
    const char *text; /* decoded string / raw bare token / the text inside the quotes */
    int64_t ms;       /* SAP_LIT_DATETIME: ms since the epoch; SAP_LIT_TIME: ms of the day */
};

struct sap_path {
    bool v4;
    const char *service;  /* V2 "API_EQUIPMENT"; V4 "api_measuringpoint" */
    const char *version;  /* V2 ";v=" value (NULL without); V4 the version segment ("0001") */
    const char *v4_name;  /* V4 the service name segment ("measuringpoint"); NULL for V2 */
    const char *resource; /* entity set, function import, "$metadata", "$batch" or "" (root) */
    bool has_key;
    struct sap_lit_val keys[SAP_KEYS_MAX];
    size_t n_keys;
    const char *nav; /* the segment after the key (to_Item, SAP__self.X, $count), or NULL */
};

/* Parse a decoded request path. Returns AB_OK and fills out (strings in a);
 * AB_ENOTFOUND when the path is not under an OData prefix at all;
 * AB_EINVAL with a one-line reason in err when the resource path is
 * malformed (bad key predicate, too many segments, over SAP_PATH_MAX). */
enum ab_rc sap_path_parse(struct arena *a, const char *path, struct sap_path *out /* OUT */,
                          char err[SAP_ERR_MAX] /* OUT */) AB_MUST_CHECK;

/* Parse one literal (a function-import parameter value or a key value):
 * the whole of text must be one literal. AB_EINVAL with a reason in err. */
enum ab_rc sap_literal_parse(struct arena *a, const char *text, struct sap_lit_val *out /* OUT */,
                             char err[SAP_ERR_MAX] /* OUT */) AB_MUST_CHECK;

/* Parse an OData V2 JSON date "/Date(1492041600000)/" or
 * "/Date(1542801052000+0000)/" (offset in minutes) into ms. False when s is
 * not one. */
bool sap_json_date_parse(const char *s, int64_t *ms /* OUT */);

/* Parse an xsd duration of the day "PT15H51M04S" (also PT1H, PT23H59M59.999S)
 * into ms of the day (0..86399999). False when s is not one. */
bool sap_duration_parse(const char *s, int64_t *ms /* OUT */);

#endif
