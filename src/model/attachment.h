/* SPDX-License-Identifier: Apache-2.0
 *
 * attachment.h: metadata of a file attached to a work order, calibration or
 * asset (certificates, photos, reports). The content itself is the store's
 * business; the model validates the metadata and the SHA-256 of the content.
 */
#ifndef AB_MODEL_ATTACHMENT_H
#define AB_MODEL_ATTACHMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

enum model_owner_kind {
    MODEL_OWNER_WORK_ORDER = 0,
    MODEL_OWNER_CALIBRATION,
    MODEL_OWNER_ASSET,
    MODEL_OWNER_KIND_COUNT
};

/* Names: "work_order", "calibration", "asset". */
const char *model_owner_kind_name(enum model_owner_kind v);
bool model_owner_kind_parse(const char *s, enum model_owner_kind *out /* OUT */);

struct model_attachment {
    enum model_owner_kind owner_kind; /* required */
    const char *owner_id;             /* required: asset_ref, work order id, ... */
    const char *file_name;            /* required, 1..255 bytes, no / or \, not . or .. */
    const char *media_type;           /* "type/subtype", default application/octet-stream */
    int64_t size;                     /* required, bytes, >= 0 */
    const char *sha256;               /* required, 64 hex digits, stored in lower case */
    const char *provider_ref;         /* the provider's id for the file, if any */
};

/* Parse and validate attachment metadata (strict). Strings are copied into
 * a. Errors as model_asset_from_json. Thread-safe on distinct arenas. */
enum ab_rc model_attachment_from_json(struct arena *a, const json_t *in,
                                      struct model_attachment *out /* OUT */,
                                      struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it), unset fields omitted. */
json_t *model_attachment_to_json(const struct model_attachment *in);

/* True when s is exactly 64 hexadecimal digits (either case). */
bool model_sha256_hex_valid(const char *s);

#endif
