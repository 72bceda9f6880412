/* SPDX-License-Identifier: Apache-2.0
 *
 * json.c: the JSON facade over jansson. See json.h.
 */
#include "http/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void decref_cb(void *v)
{
    json_decref(v);
}

json_t *json_arena_own(struct arena *a, json_t *v)
{
    if (v)
        arena_on_cleanup(a, decref_cb, v);
    return v;
}

enum ab_rc json_parse_object(struct arena *a, const char *text, size_t len, json_t **out,
                             char err[JSON_ERR_MAX])
{
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        snprintf(err, JSON_ERR_MAX, "malformed JSON at line %d, column %d: %.100s", je.line,
                 je.column, je.text);
        return AB_EPARSE;
    }
    json_arena_own(a, v);
    if (!json_is_object(v)) {
        snprintf(err, JSON_ERR_MAX, "the body must be a JSON object");
        return AB_EINVAL;
    }
    *out = v;
    return AB_OK;
}

void http_resp_json(struct http_response *resp, int status, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    buf_reset(&resp->body);
    resp->content_type = "application/json";
    if (!s || buf_append_str(&resp->body, s)) {
        /* v was NULL (a string that is not UTF-8 reached json_pack) or the
         * answer is over the body limit: still the API's error shape */
        resp->status = 500;
        buf_reset(&resp->body);
        if (buf_append_str(&resp->body, "{\"error\":{\"class\":\"internal\","
                                        "\"message\":\"the answer could not be encoded\"}}"))
            buf_reset(&resp->body);
    } else {
        resp->status = status;
    }
    free(s);
}
