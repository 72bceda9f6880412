/* SPDX-License-Identifier: Apache-2.0
 *
 * batch.h: framing and parsing of reading batches (POST /v1/readings and
 * POST /v1/readings:batch). Internal to src/api; also driven by the
 * fuzz_ndjson fuzzer and tests/unit/api/test_batch.c.
 *
 * A batch body is never parsed as one JSON document: batch_split() finds
 * the byte span of each item (NDJSON lines, or the top-level elements of a
 * JSON array found by a small tokenizer that respects strings, escapes and
 * nesting), and batch_item_parse() parses one span on its own. This bounds
 * the memory a batch costs to the body plus one item's tree, and lets one
 * bad item be rejected alone.
 *
 * The API names of a reading differ from the model's (src/model/meter.h):
 * "meter" is the model's "meter_type" and "key" its "idempotency_key".
 * batch_reading_from_json() translates both ways, so errors name the
 * fields as the client wrote them.
 */
#ifndef AB_API_BATCH_H
#define AB_API_BATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/meter.h"
#include "model/model.h"

#define BATCH_MAX_ITEMS 10000 /* items of one batch */
#define BATCH_MAX_DEPTH 256   /* nesting inside one array element */
#define BATCH_ERR_MAX 160

enum batch_format {
    BATCH_NDJSON,     /* application/x-ndjson: one JSON object per line */
    BATCH_JSON_ARRAY, /* application/json: one top-level array of objects */
};

/* One item: body[off .. off + len). */
struct batch_span {
    size_t off;
    size_t len;
};

/* Find the items of body[0..len) (body need not be NUL-terminated).
 *
 * NDJSON: each line ("\n", an optional "\r" before it dropped) is an item;
 * lines holding only whitespace are skipped and do not count. Whether a
 * line is valid JSON is left to batch_item_parse(), so a bad line rejects
 * just that item.
 *
 * JSON array: optional whitespace, '[', elements separated by ',', ']',
 * optional whitespace. Each element's span covers a string, a number or
 * literal, or a bracketed value whose brackets must match (strings and
 * escapes inside are skipped). Framing errors (no array, a missing or
 * trailing comma, an unterminated string, mismatched brackets, nesting
 * deeper than BATCH_MAX_DEPTH, anything after the closing ']') are
 * AB_EPARSE with a reason in err.
 *
 * More than max_items items is AB_ETOOLARGE. On success *spans (owned by a;
 * NULL when *n is 0) and *n describe the items in order. Thread-safe. */
enum ab_rc batch_split(struct arena *a, enum batch_format fmt, const char *body, size_t len,
                       size_t max_items, struct batch_span **spans /* OUT */, size_t *n /* OUT */,
                       char err[BATCH_ERR_MAX] /* OUT */) AB_MUST_CHECK;

/* Translate one reading in API form ({"asset_ref", "meter", "value" |
 * "increment", "read_at"?, "source"?, "key"?}) and validate it with
 * model_reading_from_json_at(now_ms, max_future_ms). header_key (NULL when
 * absent) is the Idempotency-Key header: it is the reading's key when the
 * body has none; a body key that differs from it is a value error on
 * "key". Strings of *out are copied into a. Errors are those of the model
 * (AB_EPARSE for a wrong type or an unknown field, AB_EINVAL for a bad
 * value) with err->field in API names. Thread-safe. */
enum ab_rc batch_reading_from_json(struct arena *a, const json_t *in, const char *header_key,
                                   int64_t now_ms, int64_t max_future_ms,
                                   struct model_reading *out /* OUT */,
                                   struct model_error *err /* OUT */) AB_MUST_CHECK;

/* Parse text[0..len) as one JSON object (duplicate keys and invalid UTF-8
 * refused: AB_EPARSE, a type error with an empty field) and then as
 * batch_reading_from_json() without a header key. Thread-safe. */
enum ab_rc batch_item_parse(struct arena *a, const char *text, size_t len, int64_t now_ms,
                            int64_t max_future_ms, struct model_reading *out /* OUT */,
                            struct model_error *err /* OUT */) AB_MUST_CHECK;

#endif
