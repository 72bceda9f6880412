/* SPDX-License-Identifier: Apache-2.0
 *
 * digest.h: the content digest of a canonical record: SHA-256 over its
 * canonical JSON text, leaving out the fields that change with
 * synchronisation rather than with content. Reconciliation and the store's
 * change detection compare digests, so the text is fully determined by the
 * JSON value: key order, whitespace and number spelling of the input do not
 * matter. The rules are in docs/internals/model.md.
 */
#ifndef AB_MODEL_DIGEST_H
#define AB_MODEL_DIGEST_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/result.h"

#define MODEL_DIGEST_HEX_LEN 64
#define MODEL_DIGEST_MAX_BYTES (16u * 1024 * 1024) /* canonical text ceiling */
#define MODEL_DIGEST_MAX_DEPTH 64                  /* nesting ceiling */

/* True when key is left out of the digest at the top level of a record:
 * sync_state, last_synced_at, revision, created_at, updated_at, and any key
 * starting with '_'. Thread-safe. */
bool model_digest_key_excluded(const char *key);

/* Append the canonical text of v to out: objects with keys sorted by byte
 * value, no whitespace, strings escaped as str_json_escape() does, integers
 * (and reals with an integral value below 2^53 in magnitude) as decimal
 * integers, other reals as "%.17g". When v is an object, its top-level keys
 * for which model_digest_key_excluded() is true are skipped (nested objects
 * are written whole). AB_ETOOLARGE past out's ceiling or
 * MODEL_DIGEST_MAX_DEPTH levels (out then holds a partial text). */
enum ab_rc model_canonical_json(const json_t *v, struct buf *out) AB_MUST_CHECK;

/* SHA-256 of model_canonical_json(canonical) as 64 lower-case hex digits
 * and a terminator in out. AB_ETOOLARGE as above (text over
 * MODEL_DIGEST_MAX_BYTES), AB_EINTERNAL if libcrypto fails. Thread-safe. */
enum ab_rc model_digest(const json_t *canonical,
                        char out[MODEL_DIGEST_HEX_LEN + 1] /* OUT */) AB_MUST_CHECK;

#endif
