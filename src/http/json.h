/* SPDX-License-Identifier: Apache-2.0
 *
 * json.h: the JSON facade over jansson used by the API layer.
 *
 * Parsed documents are owned by an arena (their reference is dropped when the
 * arena is freed), so handlers never call json_decref on what they parse.
 * Parse errors come back with a message fit for a 400 body. Thread-safe as
 * long as one document is used by one thread.
 */
#ifndef AB_HTTP_JSON_H
#define AB_HTTP_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/result.h"
#include "http/http.h"

#define JSON_ERR_MAX 160

/* Parse text[0..len) as one JSON object (duplicate keys refused, invalid
 * UTF-8 refused). On success *out is owned by a. On failure returns AB_EPARSE
 * (malformed) or AB_EINVAL (not an object) with a reason in err. */
enum ab_rc json_parse_object(struct arena *a, const char *text, size_t len, json_t **out /* OUT */,
                             char err[JSON_ERR_MAX] /* OUT */) AB_MUST_CHECK;

/* Make a own one reference to v (json_decref when a is freed); returns v. */
json_t *json_arena_own(struct arena *a, json_t *v);

/* Serialise v compactly as the response body with the given status, and
 * drop the caller's reference to v (a steals it). */
void http_resp_json(struct http_response *resp, int status, json_t *v);

#endif
