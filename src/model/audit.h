/* SPDX-License-Identifier: Apache-2.0
 *
 * audit.h: the audit record written for every change: who (API key id or
 * connector) did what to which subject, with content digests (digest.h) of
 * the record before and after. Written by the API and the sync engine, kept
 * by the store.
 */
#ifndef AB_MODEL_AUDIT_H
#define AB_MODEL_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

struct model_audit {
    const char *actor;         /* required: "key:01J...", "conn:sap_pm" (up to 128 bytes) */
    const char *action;        /* required: "asset.put", "work_order.close" (up to 64) */
    const char *subject;       /* required: "asset/FX-1001" (up to 256) */
    const char *before_digest; /* 64 lower-case hex; NULL on create */
    const char *after_digest;  /* 64 lower-case hex; NULL on delete */
    const char *correlation_id;
    int64_t at; /* required */
};

/* Parse and validate an audit record (strict). Errors as
 * model_asset_from_json. Thread-safe on distinct arenas. */
enum ab_rc model_audit_from_json(struct arena *a, const json_t *in,
                                 struct model_audit *out /* OUT */,
                                 struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it), unset fields omitted. */
json_t *model_audit_to_json(const struct model_audit *in);

#endif
