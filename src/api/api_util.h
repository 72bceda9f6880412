/* SPDX-License-Identifier: Apache-2.0
 *
 * api_util.h: what every API handler uses: the caller's principal, body
 * parsing with the API's 400/422 split, mapping result codes to the error
 * classes, cursors and limits. Internal to src/api.
 */
#ifndef AB_API_API_UTIL_H
#define AB_API_API_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/auth.h"
#include "core/result.h"
#include "http/http.h"
#include "model/model.h"

/* Route flags: the low byte is the scope a route requires (enum api_scope);
 * these bits add behaviour. */
#define API_PUBLIC 0u                  /* no key */
#define API_OPEN_ON_LOOPBACK (1u << 8) /* no key needed from 127.0.0.1 / ::1 (/metrics) */
#define API_BATCH_BODY (1u << 9)       /* counts against server.limits.batch_bodies_in_flight */
#define API_SCOPE_MASK 0xffu

/* The caller, set by the before hook on authenticated routes. */
struct api_caller {
    struct api_principal p;
    bool holds_batch_slot;
};

/* The caller of an authenticated route (never NULL there). */
const struct api_principal *api_principal(const struct http_request *req);

/* Answer an error for a result code: AB_ENOTFOUND -> 404 not_found,
 * AB_ECONFLICT -> 409 conflict, AB_EINVAL -> 422 validation, AB_EPARSE ->
 * 400 validation, AB_EIDENTITY -> 422 identity, AB_EAGAIN -> 503
 * provider_unavailable with Retry-After, storage failures -> 503/500. */
void api_error_rc(struct http_request *req, struct http_response *resp, enum ab_rc rc,
                  const char *field, const char *message);

/* Answer a model validation error (400 for a wrong JSON type, 422 for a bad
 * value), naming the field. */
void api_error_model(struct http_request *req, struct http_response *resp,
                     const struct model_error *err);

/* Parse the body as a JSON object; on failure answers 400 and returns NULL. */
json_t *api_body_object(struct http_request *req, struct http_response *resp);

/* ?limit= (default 100, 1..1000); false after answering 422. */
bool api_limit(struct http_request *req, struct http_response *resp, size_t *limit /* OUT */);

/* Opaque cursors: base64url of a short text. api_cursor_encode returns an
 * arena string; api_cursor_decode answers 422 and returns false when the
 * cursor is malformed. A missing cursor decodes to "". */
const char *api_cursor_encode(struct arena *a, const char *text);
bool api_cursor_decode(struct http_request *req, struct http_response *resp,
                       const char **text /* OUT */);

/* {"items":[...],"next_cursor":...} (steals items). */
json_t *api_page(json_t *items, const char *next_cursor);

/* RFC 3339 string for a time, or JSON null for INT64_MIN. */
json_t *api_time(int64_t ms);

#endif
